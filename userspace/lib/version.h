/* SPDX-License-Identifier: MIT */
/*
 * The tree's version (the top-level VERSION file, plus the git commit when
 * built from a checkout), passed by the Makefile; `PROGRAM --version`.
 */
#ifndef MESHNET_VERSION_H
#define MESHNET_VERSION_H

#ifndef MESHNET_VERSION
#define MESHNET_VERSION "unknown"
#endif

#endif

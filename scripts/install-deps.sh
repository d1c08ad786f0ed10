#!/usr/bin/env bash
# Installs every Debian package the project needs to build, test, lint and demo.
# Idempotent: does nothing when all packages are present. Run as root (or via sudo).
set -euo pipefail

PKGS=(
	# toolchain and build
	build-essential pkg-config bc flex bison libelf-dev ccache cpio xz-utils kmod
	# kernel for the QEMU guest and its headers
	linux-image-amd64 linux-headers-amd64 linux-source-6.1
	# VM and networking inside it
	qemu-system-x86 busybox-static wireguard-tools iproute2 nftables
	# userspace libraries
	libmicrohttpd-dev libjson-c-dev libssl-dev libnl-3-dev libnl-genl-3-dev
	libcurl4-openssl-dev openssl curl ca-certificates
	# PostgreSQL backend (libpq) and the real server its tests start
	libpq-dev postgresql-15
	# tests and lint
	clang clang-tools libclang-rt-14-dev sparse cppcheck valgrind
	# deployment checks
	docker-compose dkms groff-base shellcheck
	# the web console's browser test (headless Chromium driven over WebDriver)
	chromium chromium-driver python3
	# promtool (Prometheus's exposition checker) for the metrics suites
	prometheus
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

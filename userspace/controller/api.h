/* SPDX-License-Identifier: MIT */
/* meshnetd's HTTP API on libmicrohttpd: one route table, uniform errors. */
#ifndef MESHNETD_API_H
#define MESHNETD_API_H

#include <stddef.h>

#include "controller.h"

struct api_server;

struct api_route_info {
	const char *method;
	const char *path;
};

/* The route table, for `meshnetd routes` and the OpenAPI test. */
const struct api_route_info *api_routes(size_t *count);

/* Starts listening; NULL (after logging why) on error. */
struct api_server *api_start(struct controller *c, const struct controller_config *cfg);
/* Wakes every long-poll waiter, stops the daemon. */
void api_stop(struct api_server *s);

#endif

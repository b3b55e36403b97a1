/*
 * route.h - the REST API's route table and its matcher.
 *
 * Every endpoint is one row of api_routes[] (api.c): method, path pattern
 * with {param} segments, handler, the roles that may call it, whether it
 * mutates (and so is audited), its name, and whether it runs without the
 * controller lock (flags). tests/unit/test_ctrl_routes.c checks the
 * table against schemas/openapi.yaml in both directions, so the spec and
 * the code cannot drift.
 */
#ifndef FC_CTRL_ROUTE_H
#define FC_CTRL_ROUTE_H

#include "common/fc.h"

struct api_ctx;

typedef void (*route_fn)(struct api_ctx *c);

/* Pseudo role for routes that need no token (/healthz, registration, where
 * the join token travels in the body). */
#define ROUTE_PUBLIC (1u << 16)
/* Flag: the dispatcher runs the handler without taking the controller
 * lock, and so without authentication (the route must be ROUTE_PUBLIC):
 * /healthz answers while a long request holds the lock; /metrics takes
 * the lock itself only around its reads of the store. */
#define ROUTE_UNLOCKED (1u << 0)
/* Flag: the body is an upload of any size up to image_max_size, streamed
 * to a file (image.h) instead of the capped buffer of max_body; the
 * caller is authenticated and its role checked before the first byte is
 * stored (api_upload_allowed()). The handler finds it in api_ctx.upload. */
#define ROUTE_UPLOAD (1u << 1)

struct route {
	const char *method;
	const char *pattern; /* "/v1/vms/{id}/start" */
	route_fn fn;
	unsigned roles;      /* enum auth_role bits, or ROUTE_PUBLIC */
	bool mutating;
	const char *name;    /* "vm.start": audit action and metric label */
	unsigned flags;      /* ROUTE_UNLOCKED, ROUTE_UPLOAD, or 0 (left out) */
};

#define ROUTE_PARAMS_MAX 3
#define ROUTE_PARAM_LEN 128

struct route_match {
	const struct route *route;
	size_t index;
	size_t nparams;
	char params[ROUTE_PARAMS_MAX][ROUTE_PARAM_LEN];
};

enum route_result {
	ROUTE_FOUND = 0,
	ROUTE_NO_PATH = -1,    /* 404 */
	ROUTE_NO_METHOD = -2,  /* 405: the path exists with other methods */
};

/* Match method + path (no query string) against table[0..n). A path
 * segment longer than ROUTE_PARAM_LEN - 1 never matches a {param}. */
enum route_result route_match(const struct route *table, size_t n,
			      const char *method, const char *path,
			      struct route_match *m);

#endif

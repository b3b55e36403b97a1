/*
 * ctrl_fixture.h - the one fixture of the controller's unit tests: a fresh
 * SQLite store (every migration applied) in a temporary directory of its
 * own, a struct ctrl around it (as the daemon has, without its threads),
 * the API's request path, and the removal of it all afterwards. Include
 * after tests/unit/fc_test.h.
 */
#ifndef FC_TEST_CTRL_FIXTURE_H
#define FC_TEST_CTRL_FIXTURE_H

#include <cjson/cJSON.h>

#include "common/fc.h"
#include "controller/auth.h"
#include "controller/ctrl.h"

struct store;

struct ctrl_fixture {
	char dir[64];        /* /tmp/fc-NAME-XXXXXX, ctrl.cfg.state_dir */
	struct store *st;    /* the same as ctrl.st */
	struct ctrl ctrl;    /* initialised, with per-route stats; heartbeat
			      * interval 5 s, timeout 30 s */
};

/* Create the directory (NAME names the test, a few letters) and open its
 * store and ctrl. 0, or -1 with the reason printed. */
int ctrl_fixture_open(struct ctrl_fixture *fx, const char *name);
/* Close the store, release the ctrl and remove the directory. */
void ctrl_fixture_close(struct ctrl_fixture *fx);

/* A cmocka setup: *state becomes a new struct ctrl_fixture (calloc'd),
 * opened under name. 0 or -1. */
int ctrl_fixture_setup(void **state, const char *name);
/* The matching cmocka teardown: closes and frees *state. Returns 0. */
int ctrl_fixture_teardown(void **state);

/* Run sql on the store (fails the test when it fails). */
void ctrl_fixture_exec(struct ctrl_fixture *fx, const char *sql);
/* The integer in the first column of the first row sql answers. */
int ctrl_fixture_count(struct ctrl_fixture *fx, const char *sql);

/* Make the first admin token (api_bootstrap_admin()) and read it from the
 * state directory into admin. Fails the test when it cannot. */
void ctrl_fixture_admin(struct ctrl_fixture *fx,
			char admin[AUTH_TOKEN_LEN + 1]);
/* Run one request through api_handle(): method and path, body (NULL:
 * none), token (NULL: no Authorization header), no query parameters.
 * Returns the status; *out (when out is not NULL) the JSON answer, which
 * the caller frees with cJSON_Delete() (NULL when there is none). */
int ctrl_fixture_req(struct ctrl_fixture *fx, const char *method,
		     const char *path, const char *body, const char *token,
		     cJSON **out);

#endif

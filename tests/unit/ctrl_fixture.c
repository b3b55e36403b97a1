#include <stdlib.h>

#include "tests/unit/fc_test.h"

#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "controller/api.h"
#include "controller/db.h"
#include "controller/store.h"
#include "tests/unit/ctrl_fixture.h"

int ctrl_fixture_open(struct ctrl_fixture *fx, const char *name)
{
	char path[128];

	log_init("test", LOG_LVL_ERROR, LOG_TO_STDERR);
	if (ctrl_init(&fx->ctrl) < 0) {
		fprintf(stderr, "%s\n", err_msg());
		return -1;
	}
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/fc-%.16s-XXXXXX", name);
	if (mkdtemp(fx->dir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/state.db", fx->dir);
	if (store_open(path, &fx->st) < 0) {
		fprintf(stderr, "%s\n", err_msg());
		return -1;
	}
	fx->ctrl.st = fx->st;
	snprintf(fx->ctrl.cfg.state_dir, sizeof(fx->ctrl.cfg.state_dir), "%s",
		 fx->dir);
	fx->ctrl.cfg.heartbeat_interval_s = 5;
	fx->ctrl.cfg.heartbeat_timeout_s = 30;
	fx->ctrl.stats = calloc(api_nroutes, sizeof(*fx->ctrl.stats));
	return fx->ctrl.stats ? 0 : -1;
}

void ctrl_fixture_close(struct ctrl_fixture *fx)
{
	char cmd[128];

	store_close(fx->st);
	fx->st = NULL;
	fx->ctrl.st = NULL;
	ctrl_fini(&fx->ctrl);
	free(fx->ctrl.stats);
	fx->ctrl.stats = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", fx->dir);
}

int ctrl_fixture_setup(void **state, const char *name)
{
	struct ctrl_fixture *fx = calloc(1, sizeof(*fx));

	*state = fx;
	return fx ? ctrl_fixture_open(fx, name) : -1;
}

int ctrl_fixture_teardown(void **state)
{
	ctrl_fixture_close(*state);
	free(*state);
	return 0;
}

void ctrl_fixture_exec(struct ctrl_fixture *fx, const char *sql)
{
	assert_int_equal(db_exec(store_db(fx->st), sql), 0);
}

int ctrl_fixture_count(struct ctrl_fixture *fx, const char *sql)
{
	struct db_stmt *s;
	int n;

	assert_int_equal(db_prepare(store_db(fx->st), sql, &s), 0);
	assert_int_equal(db_step(s), DB_ROW);
	n = db_col_int(s, 0);
	db_finalize(s);
	return n;
}

void ctrl_fixture_admin(struct ctrl_fixture *fx,
			char admin[AUTH_TOKEN_LEN + 1])
{
	char path[128], *tok = NULL;
	size_t len;

	assert_int_equal(api_bootstrap_admin(&fx->ctrl), 0);
	snprintf(path, sizeof(path), "%s/admin.token", fx->dir);
	assert_int_equal(file_read_all(path, 4096, &tok, &len), 0);
	snprintf(admin, AUTH_TOKEN_LEN + 1, "%s", str_trim(tok));
	free(tok);
}

int ctrl_fixture_req(struct ctrl_fixture *fx, const char *method,
		     const char *path, const char *body, const char *token,
		     cJSON **out)
{
	struct api_ctx c;
	char auth[128];
	int status;

	memset(&c, 0, sizeof(c));
	c.ctrl = &fx->ctrl;
	c.method = method;
	c.path = path;
	if (token) {
		snprintf(auth, sizeof(auth), "Bearer %s", token);
		c.authorization = auth;
	}
	c.body = body;
	c.body_len = body ? strlen(body) : 0;
	api_handle(&c);
	status = c.status;
	if (out) {
		*out = c.resp;
		c.resp = NULL;
	}
	api_ctx_release(&c);
	return status;
}

/* Rebalancing and drain: POST /v1/pools/{name}/rebalance,
 * POST /v1/hosts/{name}/drain, POST /v1/hosts/{name}/resume. The runs
 * themselves are in rebalance.c. */

#include "common/err.h"
#include "common/util.h"
#include "controller/api.h"
#include "controller/db.h"
#include "controller/rebalance.h"
#include "controller/store.h"

/* Answer with the task `task` as GET /v1/tasks/{id} would, with status. */
static void task_reply(struct api_ctx *c, const char *task, int status)
{
	const struct route_match *saved = c->m;
	struct route_match m = *c->m;

	str_copy(m.params[0], sizeof(m.params[0]), task);
	c->m = &m;
	h_task_get(c);
	c->m = saved;
	if (c->status == 200)
		c->status = status;
}

static int get_concurrency(struct api_ctx *c, int *out)
{
	int64_t k = RB_DEFAULT_CONCURRENCY;

	if (c->json && api_get_int(c, "concurrency", false, 1,
				   RB_MAX_CONCURRENCY, RB_DEFAULT_CONCURRENCY,
				   &k) < 0)
		return -1;
	*out = (int)k;
	return 0;
}

static void busy(struct api_ctx *c, const char *pool, const char *task)
{
	api_err(c, 409, "busy", NULL, "a rebalance or drain of pool '%s' is "
		"running as task '%s': wait for it ('finctl task show %s "
		"--wait') before starting another", pool, task, task);
}

static int start(struct api_ctx *c, struct rb_run *run)
{
	char task[40];

	if (rb_run_start(c->ctrl, run, c->request_id, task, sizeof(task)) < 0) {
		api_err_internal(c, "starting the run");
		return -1;
	}
	task_reply(c, task, 202);
	return 0;
}

void h_pool_rebalance(struct api_ctx *c)
{
	static const char *const keys[] = {"policy", "max_moves", "min_gain",
					   "dry_run", "concurrency", NULL};
	const char *pool = c->m->params[0], *policy = NULL;
	struct rb_request r = {0};
	struct rb_run *run = NULL;
	int64_t max_moves = 0;
	double min_gain = 0;
	bool dry = false;
	char task[40];
	cJSON *plan = NULL;
	struct db_stmt *s;
	int rc;

	snprintf(c->audit_target, sizeof(c->audit_target), "pool:%s", pool);
	if (c->json) {
		if (api_body_object(c, keys) < 0 ||
		    api_get_str(c, "policy", false, NULL, &policy) < 0 ||
		    api_get_int(c, "max_moves", false, 0, 100000, 0,
				&max_moves) < 0 ||
		    api_get_double(c, "min_gain", false, 0, 1e9, 0,
				   &min_gain) < 0 ||
		    api_get_bool(c, "dry_run", false, false, &dry) < 0)
			return;
	}
	if (get_concurrency(c, &r.concurrency) < 0)
		return;
	if (policy && strcmp(policy, "spread") != 0 &&
	    strcmp(policy, "pack") != 0) {
		api_err(c, 400, "invalid_field", "policy", "$.policy: expected "
			"\"spread\" or \"pack\", got \"%.64s\"", policy);
		return;
	}
	if (api_begin(c) < 0)
		return;
	if (policy == NULL) {
		/* the pool's own placement policy */
		/* no such pool: rb_plan() below answers 404 */
		rc = api_find(c, "SELECT policy FROM pools WHERE name = ?", pool,
			      &s, "reading the pool");
		if (rc < 0)
			return;
		if (rc > 0) {
			r.pack = strcmp(store_col_text(s, 0), "pack") == 0;
			db_reset(s);
		}
	} else {
		r.pack = strcmp(policy, "pack") == 0;
	}
	if (!dry && rb_busy(c->ctrl, pool, task, sizeof(task))) {
		busy(c, pool, task);
		return;
	}
	r.pool = pool;
	r.max_moves = max_moves;
	r.min_gain = min_gain;
	rc = rb_plan(c->ctrl, &r, &plan, dry ? NULL : &run);
	if (rc < 0) {
		api_err_internal(c, "planning the rebalance");
		return;
	}
	if (rc > 0) {
		api_err(c, 404, "not_found", NULL, "pool '%s' does not exist: "
			"see 'finctl pool list'", pool);
		return;
	}
	if (dry) {
		api_ok(c, 200, plan);
		return;
	}
	cJSON_Delete(plan);
	start(c, run);
}

/* The host's pool and state; 0, or -1 with the answer set (404, or 500
 * when it cannot be read). */
static int host_load(struct api_ctx *c, const char *host, char *pool,
		     size_t size, bool *up)
{
	struct db_stmt *s;

	if (api_find_host(c, "SELECT pool, state FROM hosts WHERE name = ?",
			  host, &s) < 0)
		return -1;
	str_copy(pool, size, store_col_text(s, 0));
	*up = strcmp(store_col_text(s, 1), "up") == 0;
	db_reset(s);
	return 0;
}

static int set_maintenance(struct api_ctx *c, const char *host, bool on)
{
	struct db_stmt *s = store_stmt(c->ctrl->st, "UPDATE hosts SET "
						  "maintenance = ? WHERE name = ?");

	if (s == NULL || (db_bind_int64(s, 1, on),
			  store_bind_text(s, 2, host),
			  db_step(s) != DB_DONE)) {
		if (s)
			db_reset(s);
		store_err(c->ctrl->st, "updating the host");
		api_err_internal(c, "updating the host");
		return -1;
	}
	db_reset(s);
	return 0;
}

void h_host_drain(struct api_ctx *c)
{
	static const char *const keys[] = {"concurrency", NULL};
	const char *host = c->m->params[0];
	char pool[128], task[40], why[160];
	struct rb_request r = {0};
	struct rb_run *run = NULL;
	cJSON *plan = NULL;
	bool up;
	int rc;

	snprintf(c->audit_target, sizeof(c->audit_target), "host:%s", host);
	if (c->json && api_body_object(c, keys) < 0)
		return;
	if (get_concurrency(c, &r.concurrency) < 0)
		return;
	if (api_begin(c) < 0)
		return;
	if (host_load(c, host, pool, sizeof(pool), &up) < 0)
		return;
	if (!up) {
		api_err(c, 409, "host_down", NULL, "host '%s' is down: its VMs "
			"cannot leave by live migration; bring its agent back "
			"first", host);
		return;
	}
	snprintf(why, sizeof(why), "drain host '%s'", host);
	if (api_may_leave(c, host, why) < 0)
		return;
	if (rb_busy(c->ctrl, pool, task, sizeof(task))) {
		busy(c, pool, task);
		return;
	}
	if (set_maintenance(c, host, true) < 0)
		return;
	r.pool = pool;
	r.drain_host = host;
	rc = rb_plan(c->ctrl, &r, &plan, &run);
	if (rc != 0) {
		if (rc > 0)
			err_set("pool '%s' of host '%s' does not exist", pool,
				host);
		api_err_internal(c, "planning the drain");
		return;
	}
	cJSON_Delete(plan);
	start(c, run);
}

void h_host_resume(struct api_ctx *c)
{
	const char *host = c->m->params[0];
	char pool[128], task[40];
	bool up;

	snprintf(c->audit_target, sizeof(c->audit_target), "host:%s", host);
	if (c->json && !(cJSON_IsObject(c->json) && c->json->child == NULL)) {
		api_err(c, 400, "invalid_body", NULL, "resume takes no body "
			"(or an empty object)");
		return;
	}
	if (api_begin(c) < 0)
		return;
	if (host_load(c, host, pool, sizeof(pool), &up) < 0)
		return;
	if (rb_draining(c->ctrl, host, task, sizeof(task))) {
		api_err(c, 409, "busy", NULL, "host '%s' is being drained by "
			"task '%s': wait for it ('finctl task show %s --wait') "
			"before resuming the host", host, task, task);
		return;
	}
	if (set_maintenance(c, host, false) < 0)
		return;
	h_host_get(c);
}

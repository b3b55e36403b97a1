#include <ctype.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "controller/api.h"
#include "controller/audit.h"
#include "controller/db.h"
#include "controller/place.h"
#include "controller/store.h"
#include "controller/ui.h"

#define R_READ (ROLE_ADMIN | ROLE_OPERATOR | ROLE_VIEWER)
#define R_READ_T (R_READ | ROLE_TENANT)
#define R_OPS (ROLE_ADMIN | ROLE_OPERATOR)
#define R_OPS_T (R_OPS | ROLE_TENANT)

/* The one route table of the REST API; checked against
 * schemas/openapi.yaml by tests/unit/test_ctrl_routes.c. */
const struct route api_routes[] = {
	{"GET", "/healthz", h_healthz, ROUTE_PUBLIC, false, "healthz",
	 ROUTE_UNLOCKED},
	{"GET", "/metrics", h_metrics, ROUTE_PUBLIC, false, "metrics",
	 ROUTE_UNLOCKED},
	{"GET", "/", h_ui_root, ROUTE_PUBLIC, false, "ui.root", ROUTE_UNLOCKED},
	{"GET", "/ui", h_ui_root, ROUTE_PUBLIC, false, "ui.slash",
	 ROUTE_UNLOCKED},
	{"GET", "/ui/", h_ui_index, ROUTE_PUBLIC, false, "ui.index",
	 ROUTE_UNLOCKED},
	{"GET", "/ui/{file}", h_ui_file, ROUTE_PUBLIC, false, "ui.file",
	 ROUTE_UNLOCKED},
	{"GET", "/v1/pools", h_pool_list, R_READ, false, "pool.list"},
	{"POST", "/v1/pools", h_pool_create, R_OPS, true, "pool.create"},
	{"GET", "/v1/pools/{name}", h_pool_get, R_READ, false, "pool.get"},
	{"PATCH", "/v1/pools/{name}", h_pool_patch, R_OPS, true, "pool.update"},
	{"DELETE", "/v1/pools/{name}", h_pool_delete, R_OPS, true, "pool.delete"},
	{"POST", "/v1/pools/{name}/rebalance", h_pool_rebalance, R_OPS, true,
	 "pool.rebalance"},
	{"GET", "/v1/pools/{name}/utilization", h_pool_util, R_READ, false,
	 "pool.utilization"},
	{"GET", "/v1/hosts", h_host_list, R_READ, false, "host.list"},
	{"GET", "/v1/hosts/{name}", h_host_get, R_READ, false, "host.get"},
	{"GET", "/v1/hosts/{name}/utilization", h_host_util, R_READ, false,
	 "host.utilization"},
	{"PATCH", "/v1/hosts/{name}", h_host_patch, R_OPS, true, "host.update"},
	{"POST", "/v1/hosts/{name}/drain", h_host_drain, R_OPS, true,
	 "host.drain"},
	{"POST", "/v1/hosts/{name}/resume", h_host_resume, R_OPS, true,
	 "host.resume"},
	{"POST", "/v1/hosts/{name}/approve", h_host_approve, R_OPS, true,
	 "host.approve"},
	{"POST", "/v1/hosts/{name}/reject", h_host_reject, R_OPS, true,
	 "host.reject"},
	{"POST", "/v1/hosts/{name}/evacuate", h_host_evacuate, R_OPS, true,
	 "host.evacuate"},
	{"POST", "/v1/hosts/{name}/unfence", h_host_unfence, R_OPS, true,
	 "host.unfence"},
	{"GET", "/v1/tenants", h_tenant_list, R_READ_T, false, "tenant.list"},
	{"POST", "/v1/tenants", h_tenant_create, R_OPS, true, "tenant.create"},
	{"GET", "/v1/tenants/{name}", h_tenant_get, R_READ_T, false,
	 "tenant.get"},
	{"PATCH", "/v1/tenants/{name}", h_tenant_patch, R_OPS, true,
	 "tenant.update"},
	{"DELETE", "/v1/tenants/{name}", h_tenant_delete, R_OPS, true,
	 "tenant.delete"},
	{"GET", "/v1/groups", h_group_list, R_READ_T, false, "group.list"},
	{"POST", "/v1/groups", h_group_create, R_OPS_T, true, "group.create"},
	{"GET", "/v1/groups/{name}", h_group_get, R_READ_T, false, "group.get"},
	{"DELETE", "/v1/groups/{name}", h_group_delete, R_OPS_T, true,
	 "group.delete"},
	{"GET", "/v1/flavors", h_flavor_list, R_READ_T, false, "flavor.list"},
	{"POST", "/v1/flavors", h_flavor_create, R_OPS, true, "flavor.create"},
	{"GET", "/v1/flavors/{name}", h_flavor_get, R_READ_T, false,
	 "flavor.get"},
	{"DELETE", "/v1/flavors/{name}", h_flavor_delete, R_OPS, true,
	 "flavor.delete"},
	{"GET", "/v1/storage", h_storage_list, R_READ_T, false,
	 "storage.list"},
	{"POST", "/v1/storage", h_storage_create, R_OPS, true,
	 "storage.create"},
	{"GET", "/v1/storage/{name}", h_storage_get, R_READ_T, false,
	 "storage.get"},
	{"DELETE", "/v1/storage/{name}", h_storage_delete, R_OPS, true,
	 "storage.delete"},
	{"GET", "/v1/vms", h_vm_list, R_READ_T, false, "vm.list"},
	{"POST", "/v1/vms", h_vm_create, R_OPS_T, true, "vm.create"},
	{"GET", "/v1/vms/{id}", h_vm_get, R_READ_T, false, "vm.get"},
	{"PATCH", "/v1/vms/{id}", h_vm_patch, R_OPS_T, true, "vm.update"},
	{"DELETE", "/v1/vms/{id}", h_vm_delete, R_OPS_T, true, "vm.delete"},
	{"POST", "/v1/vms/{id}/start", h_vm_start, R_OPS_T, true, "vm.start"},
	{"POST", "/v1/vms/{id}/stop", h_vm_stop, R_OPS_T, true, "vm.stop"},
	{"POST", "/v1/vms/{id}/reboot", h_vm_reboot, R_OPS_T, true,
	 "vm.reboot"},
	{"POST", "/v1/vms/{id}/migrate", h_vm_migrate, R_OPS, true,
	 "vm.migrate"},
	{"GET", "/v1/networks", h_network_list, R_READ_T, false,
	 "network.list"},
	{"POST", "/v1/networks", h_network_create, R_OPS_T, true,
	 "network.create"},
	{"GET", "/v1/networks/{name}", h_network_get, R_READ_T, false,
	 "network.get"},
	{"DELETE", "/v1/networks/{name}", h_network_delete, R_OPS_T, true,
	 "network.delete"},
	{"PATCH", "/v1/networks/{name}", h_network_patch, R_OPS, true,
	 "network.update"},
	{"GET", "/v1/ports", h_port_list, R_READ_T, false, "port.list"},
	{"GET", "/v1/secgroups", h_secgroup_list, R_READ_T, false,
	 "secgroup.list"},
	{"POST", "/v1/secgroups", h_secgroup_create, R_OPS_T, true,
	 "secgroup.create"},
	{"GET", "/v1/secgroups/{name}", h_secgroup_get, R_READ_T, false,
	 "secgroup.get"},
	{"DELETE", "/v1/secgroups/{name}", h_secgroup_delete, R_OPS_T, true,
	 "secgroup.delete"},
	{"POST", "/v1/secgroups/{name}/rules", h_secgroup_rule_add, R_OPS_T,
	 true, "secgroup.rule.add"},
	{"DELETE", "/v1/secgroups/{name}/rules/{id}", h_secgroup_rule_delete,
	 R_OPS_T, true, "secgroup.rule.delete"},
	{"GET", "/v1/images", h_image_list, R_READ_T, false, "image.list"},
	{"POST", "/v1/images", h_image_create, R_OPS_T, true, "image.create",
	 ROUTE_UPLOAD},
	{"GET", "/v1/images/{id}", h_image_get, R_READ_T, false, "image.get"},
	{"DELETE", "/v1/images/{id}", h_image_delete, R_OPS_T, true,
	 "image.delete"},
	{"GET", "/v1/vms/{id}/console", h_vm_console, R_OPS_T, true,
	 "vm.console"},
	{"GET", "/v1/vms/{id}/console-log", h_vm_console_log, R_OPS_T, true,
	 "vm.console_log"},
	{"GET", "/v1/tasks", h_task_list, R_READ_T, false, "task.list"},
	{"GET", "/v1/tasks/{id}", h_task_get, R_READ_T, false, "task.get"},
	{"GET", "/v1/audit", h_audit_list, R_READ, false, "audit.list"},
	{"GET", "/v1/audit/verify", h_audit_verify, R_READ, false,
	 "audit.verify"},
	{"GET", "/v1/tokens", h_token_list, ROLE_ADMIN, false, "token.list"},
	{"POST", "/v1/tokens", h_token_create, ROLE_ADMIN, true,
	 "token.create"},
	{"GET", "/v1/tokens/{id}", h_token_get, ROLE_ADMIN, false, "token.get"},
	{"DELETE", "/v1/tokens/{id}", h_token_delete, ROLE_ADMIN, true,
	 "token.delete"},
	{"POST", "/v1/tokens/{id}/rotate", h_token_rotate, ROLE_ADMIN, true,
	 "token.rotate"},
	{"POST", "/v1/agents/register", h_agent_register, ROUTE_PUBLIC, true,
	 "agent.register"},
	{"POST", "/v1/agents/{node}/heartbeat", h_agent_heartbeat, ROLE_AGENT,
	 false, "agent.heartbeat"},
	{"POST", "/v1/agents/{node}/events", h_agent_events, ROLE_AGENT, false,
	 "agent.events"},
	{"GET", "/v1/agents/{node}/images/{sha256}", h_agent_image, ROLE_AGENT,
	 false, "agent.image"},
	{"GET", "/v1/agents/{node}/consoles/{session}", h_agent_console,
	 ROLE_AGENT, false, "agent.console"},
};
const size_t api_nroutes = FC_ARRAY_LEN(api_routes);

void api_err(struct api_ctx *c, int status, const char *code,
	     const char *field, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	cJSON *root, *e;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* it may quote the request: no raw byte that is not UTF-8 */
	utf8_scrub(msg);
	cJSON_Delete(c->resp);
	root = cJSON_CreateObject();
	e = cJSON_AddObjectToObject(root, "error");
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", msg);
	if (field)
		cJSON_AddStringToObject(e, "field", field);
	else
		cJSON_AddNullToObject(e, "field");
	c->resp = root;
	c->status = status;
}

void api_err_internal(struct api_ctx *c, const char *what)
{
	log_error("request %s %s (%s): %s: %s", c->method, c->path,
		  c->request_id, what, err_msg());
	if (db_unreachable(store_db(c->ctrl->st))) {
		api_err(c, 503, "unavailable", NULL,
			"%s failed: the database cannot be reached (%s); %s "
			"(request %s)", what, err_msg(),
			strncmp(what, "committing", 10) == 0 ?
				"the connection broke during the commit, so the "
				"change may or may not have been made: read it "
				"back, or send the request again with the same "
				"Idempotency-Key, once the database answers" :
				"the request changed nothing: retry in a few "
				"seconds",
			c->request_id);
		return;
	}
	api_err(c, 500, "internal", NULL,
		"%s failed: %s; the request changed nothing, retry later or "
		"see the controller log (request %s)",
		what, err_msg(), c->request_id);
}

void api_err_field(struct api_ctx *c, const char *field)
{
	api_err(c, 400, "invalid_field", field, "%s", err_msg());
}

void api_ok(struct api_ctx *c, int status, cJSON *body)
{
	cJSON_Delete(c->resp);
	c->resp = body;
	c->status = status;
}

int api_body_object(struct api_ctx *c, const char *const *allowed)
{
	if (c->json == NULL || !cJSON_IsObject(c->json)) {
		api_err(c, 400, "invalid_body", NULL,
			"the request body must be a JSON object");
		return -1;
	}
	for (const cJSON *it = c->json->child; it; it = it->next) {
		bool ok = false;

		for (size_t i = 0; allowed[i]; i++)
			if (it->string && strcmp(it->string, allowed[i]) == 0)
				ok = true;
		if (!ok) {
			api_err(c, 400, "unknown_field", it->string,
				"unknown field '%s': remove it (see "
				"schemas/openapi.yaml for the fields of this "
				"request)",
				it->string ? it->string : "");
			return -1;
		}
	}
	return 0;
}

int api_get_str(struct api_ctx *c, const char *key, bool required,
		const char *def, const char **out)
{
	if (json_get_string(c->json, "$", key, required, def, out) < 0) {
		api_err_field(c, key);
		return -1;
	}
	return 0;
}

int api_get_name(struct api_ctx *c, const char *key, const char *what,
		 bool required, const char **out)
{
	if (api_get_str(c, key, required, NULL, out) < 0)
		return -1;
	if (*out && name_validate(what, *out) < 0) {
		api_err_field(c, key);
		return -1;
	}
	return 0;
}

int api_get_int(struct api_ctx *c, const char *key, bool required,
		int64_t min, int64_t max, int64_t def, int64_t *out)
{
	if (json_get_int(c->json, "$", key, required, min, max, def, out) < 0) {
		api_err_field(c, key);
		return -1;
	}
	return 0;
}

int api_get_double(struct api_ctx *c, const char *key, bool required,
		   double min, double max, double def, double *out)
{
	if (json_get_double(c->json, "$", key, required, min, max, def, out) <
	    0) {
		api_err_field(c, key);
		return -1;
	}
	return 0;
}

int api_get_bool(struct api_ctx *c, const char *key, bool required, bool def,
		 bool *out)
{
	if (json_get_bool(c->json, "$", key, required, def, out) < 0) {
		api_err_field(c, key);
		return -1;
	}
	return 0;
}

const char *api_query(struct api_ctx *c, const char *key)
{
	return c->query ? c->query(c->query_ud, key) : NULL;
}

int api_page_open(struct api_ctx *c, struct api_page *pg, int key_col,
		  bool seq)
{
	const char *l = api_query(c, "limit");

	memset(pg, 0, sizeof(*pg));
	pg->key_col = key_col;
	pg->limit = 100;
	pg->after = api_query(c, "after");
	if (l && (parse_int64(l, &pg->limit) < 0 || pg->limit < 1 ||
		  pg->limit > 1000)) {
		api_err(c, 400, "invalid_query", "limit",
			"query parameter 'limit' must be an integer from 1 to "
			"1000, got '%.32s'", l);
		pg->failed = true;
	} else if (pg->after && (strlen(pg->after) > 128 ||
				 (seq && parse_int64(pg->after,
						     &pg->after_seq) < 0))) {
		api_err(c, 400, "invalid_query", "after",
			"query parameter 'after' must be the 'next' value of "
			"the previous page");
		pg->failed = true;
	}
	if (pg->after == NULL)
		pg->after = "";
	return pg->failed ? -1 : 0;
}

int api_page_step(struct api_ctx *c, struct api_page *pg, struct db_stmt *s)
{
	int rc;

	if (pg->items == NULL)
		pg->items = cJSON_CreateArray();
	/* the row handed out last is still the current one */
	if (pg->n > 0)
		str_copy(pg->next, sizeof(pg->next),
			 store_col_text(s, pg->key_col));
	rc = db_step(s);
	if (rc == DB_ROW && pg->n < pg->limit) {
		pg->n++;
		rc = 1;
	} else if (rc == DB_ROW || rc == DB_DONE) {
		pg->more = rc == DB_ROW;
		rc = 0;
	} else {
		store_err(c->ctrl->st, "reading a list");
		api_err_internal(c, "reading the list");
		pg->failed = true;
		rc = -1;
	}
	return rc;
}

void api_page_close(struct api_ctx *c, struct api_page *pg)
{
	if (pg->failed)
		cJSON_Delete(pg->items);
	else
		api_list(c, pg->items ? pg->items : cJSON_CreateArray(),
			 pg->more ? pg->next : NULL);
	pg->items = NULL;
}

void api_list(struct api_ctx *c, cJSON *items, const char *next)
{
	cJSON *root = cJSON_CreateObject();

	cJSON_AddItemToObject(root, "items", items);
	if (next)
		cJSON_AddStringToObject(root, "next", next);
	else
		cJSON_AddNullToObject(root, "next");
	api_ok(c, 200, root);
}

struct db_stmt *api_stmt(struct api_ctx *c, const char *sql)
{
	struct db_stmt *s = store_stmt(c->ctrl->st, sql);

	if (s == NULL)
		api_err_internal(c, "preparing a query");
	return s;
}

int api_row(struct api_ctx *c, struct db_stmt *s, const char *what)
{
	int rc = store_row(c->ctrl->st, s, what);

	if (rc < 0)
		api_err_internal(c, what);
	return rc;
}

int api_find(struct api_ctx *c, const char *sql, const char *key,
	     struct db_stmt **s, const char *what)
{
	int rc = store_find(c->ctrl->st, sql, key, s, what);

	if (rc < 0)
		api_err_internal(c, what);
	return rc;
}

int api_find_host(struct api_ctx *c, const char *sql, const char *host,
		  struct db_stmt **s)
{
	int rc = api_find(c, sql, host, s, "reading the host");

	if (rc == 0)
		api_err(c, 404, "not_found", NULL, "host '%s' does not exist: "
			"see 'finctl host list'", host);
	return rc > 0 ? 0 : -1;
}

static int api_step(struct api_ctx *c, struct db_stmt *s, const char *what,
		    bool constraint_conflict)
{
	int rc = db_step(s);

	if (rc == DB_DONE)
		return 0;
	if (constraint_conflict && (rc & 0xff) == DB_CONSTRAINT) {
		api_err(c, 409, "conflict", NULL, "%s: %s", what,
			db_errmsg(store_db(c->ctrl->st)));
		return -1;
	}
	store_err(c->ctrl->st, what);
	api_err_internal(c, what);
	return -1;
}

int api_step_done(struct api_ctx *c, struct db_stmt *s, const char *what)
{
	return api_step(c, s, what, false);
}

int api_step_write(struct api_ctx *c, struct db_stmt *s, const char *what)
{
	return api_step(c, s, what, true);
}

int api_may_leave(struct api_ctx *c, const char *host, const char *what)
{
	char why[1024];
	int rc = place_leave_check(c->ctrl->st, host, why, sizeof(why));

	if (rc < 0)
		api_err_internal(c, "reading the host's health");
	else if (rc > 0)
		api_err(c, 409, "host_degraded", NULL, "cannot %s: %s", what,
			why);
	return rc == 0 ? 0 : -1;
}

int api_begin(struct api_ctx *c)
{
	/* NORMAL here; api_handle() syncs the WAL before answering */
	if (store_begin(c->ctrl->st, false) < 0) {
		api_err_internal(c, "starting a transaction");
		return -1;
	}
	c->tx_open = true;
	return 0;
}

bool api_is_tenant(const struct api_ctx *c)
{
	return c->who.role == ROLE_TENANT;
}

bool api_hidden_tenant(const struct api_ctx *c, const char *tenant)
{
	return c->who.role == ROLE_TENANT &&
	       (tenant == NULL || strcmp(tenant, c->who.tenant) != 0);
}

/* last_used_ms moves at most this often (ms): one write a minute per
 * token, not one per request */
#define API_LAST_USED_MS 60000

/* Record that the caller's token was used at now_ms. A failure is logged
 * only: the request goes on. */
static void api_token_used(struct api_ctx *c, int64_t now_ms)
{
	struct store *st = c->ctrl->st;
	struct db_stmt *s;

	s = store_stmt(st, "UPDATE tokens SET last_used_ms = ? WHERE id = ?");
	if (s == NULL)
		goto failed;
	db_bind_int64(s, 1, now_ms);
	store_bind_text(s, 2, c->who.token_id);
	if (store_done(st, s, "recording when the token was used") < 0)
		goto failed;
	return;
failed:
	log_warn("%s", err_msg());
}

int api_auth_limited(struct api_ctx *c)
{
	struct ctrl *ctrl = c->ctrl;

	c->retry_after_s = authlimit_check(&ctrl->authlimit, c->client_addr,
					   ctrl->cfg.auth_fail_limit,
					   time_wall_ms());
	if (c->retry_after_s <= 0)
		return 0;
	api_err(c, 429, "rate_limited", NULL,
		"too many failed authentications from this address: retry in "
		"%" PRId64 " s with a valid token", c->retry_after_s);
	return -1;
}

void api_auth_failed(struct api_ctx *c)
{
	authlimit_fail(&c->ctrl->authlimit, c->client_addr, time_wall_ms());
}

/* Find the caller's token. 0 with c->who filled, -1 with a 401 answer
 * (or a 500 when the store fails); a 401 counts as a failure of the
 * client's address (authlimit.h). */
static int api_authenticate(struct api_ctx *c)
{
	const char *tok = auth_bearer(c->authorization);
	char hash[AUTH_HASH_LEN + 1];
	int64_t now = time_wall_ms(), expires, used;
	struct db_stmt *s;
	int rc;

	if (tok == NULL) {
		api_err(c, 401, "unauthenticated", NULL,
			"missing bearer token: send 'Authorization: Bearer "
			"TOKEN' (finctl reads FINCLOUD_TOKEN or "
			"~/.config/fincloud/token)");
		goto failed;
	}
	if (strlen(tok) > 256 || auth_sha256_hex(tok, strlen(tok), hash) < 0)
		goto bad;
	s = store_stmt(c->ctrl->st,
		       "SELECT id, role, tenant, node, expires_ms, last_used_ms "
		       "FROM tokens WHERE hash = ?");
	if (s == NULL) {
		api_err_internal(c, "looking up the token");
		return -1;
	}
	store_bind_text(s, 1, hash);
	rc = db_step(s);
	if (rc != DB_ROW && rc != DB_DONE) {
		store_err(c->ctrl->st, "looking up the token");
		db_reset(s);
		api_err_internal(c, "looking up the token");
		return -1;
	}
	if (rc != DB_ROW) {
		db_reset(s);
		goto bad;
	}
	str_copy(c->who.token_id, sizeof(c->who.token_id), store_col_text(s, 0));
	c->who.role = auth_role_parse(store_col_text(s, 1));
	str_copy(c->who.tenant, sizeof(c->who.tenant), store_col_text(s, 2));
	str_copy(c->who.node, sizeof(c->who.node), store_col_text(s, 3));
	expires = db_col_type(s, 4) == DB_NULL
			  ? INT64_MAX : db_col_int64(s, 4);
	used = db_col_int64(s, 5);
	db_reset(s);
	if (c->who.role == ROLE_JOIN) /* join tokens only go in a body */
		goto bad;
	if (now >= expires) {
		api_err(c, 401, "unauthenticated", NULL,
			"the bearer token '%s' expired at %" PRId64 " (ms since "
			"the epoch): ask an administrator to rotate it ('finctl "
			"token rotate %s') or for a new one",
			c->who.token_id, expires, c->who.token_id);
		goto failed;
	}
	if (now - used >= API_LAST_USED_MS)
		api_token_used(c, now);
	return 0;
bad:
	api_err(c, 401, "unauthenticated", NULL,
		"the bearer token is not valid (unknown or revoked): ask an "
		"administrator for a new one");
failed:
	authlimit_fail(&c->ctrl->authlimit, c->client_addr, now);
	return -1;
}

/* Audit the answer of a mutating request to route r (a parked one when
 * its wait is over). */
static void api_audit_request(struct api_ctx *c, const struct route *r)
{
	char actor[128], action[96], target[256];
	struct store *st = c->ctrl->st;

	snprintf(actor, sizeof(actor), "%s:%s", auth_role_name(c->who.role),
		 c->who.token_id[0] ? c->who.token_id : "-");
	snprintf(action, sizeof(action), "%s", r->name);
	snprintf(target, sizeof(target), "%s",
		 c->audit_target[0] ? c->audit_target : c->path);
	if (c->tx_open && c->status < 400) {
		if (audit_append(st, actor, action, target, c->status,
				 c->request_id) < 0 ||
		    store_commit(st) < 0) {
			store_rollback(st);
			c->tx_open = false;
			api_err_internal(c, "committing");
			goto failed;
		}
		c->tx_open = false;
		c->sync_seq = ctrl_committed(c->ctrl);
		return;
	}
	if (c->tx_open) {
		store_rollback(st);
		c->tx_open = false;
	}
failed:
	/* the failure itself is audited in a transaction of its own */
	if (store_begin(st, false) < 0)
		return;
	if (audit_append(st, actor, action, target, c->status, c->request_id) <
		    0 ||
	    store_commit(st) < 0) {
		log_error("cannot audit request %s: %s", c->request_id,
			  err_msg());
		store_rollback(st);
	}
}

/* The field a JSON syntax error is in or after: the last object key
 * before the place err_msg() names ("line L, column C"). 0 with its name
 * in field, -1 when there is none (or it is not a plain name). */
static int json_error_field(const char *text, size_t len, char *field,
			    size_t size)
{
	const char *m = strstr(err_msg(), "line ");
	int line, col, ln = 1;
	size_t off = 0;

	if (m == NULL || sscanf(m, "line %d, column %d", &line, &col) != 2)
		return -1;
	while (off < len && ln < line)
		if (text[off++] == '\n')
			ln++;
	off += (size_t)(col > 0 ? col - 1 : 0);
	if (off > len)
		off = len;
	while (off > 0) {
		const char *end, *start;

		off--;
		if (text[off] != ':')
			continue;
		end = text + off;
		while (end > text && (end[-1] == ' ' || end[-1] == '\t' ||
				      end[-1] == '\n' || end[-1] == '\r'))
			end--;
		if (end == text || end[-1] != '"')
			continue;
		start = end - 1;
		while (start > text && start[-1] != '"')
			start--;
		if (start == text || end - 1 - start == 0 ||
		    (size_t)(end - 1 - start) >= size)
			return -1;
		for (const char *p = start; p < end - 1; p++)
			if (!isalnum((unsigned char)*p) && *p != '_')
				return -1;
		snprintf(field, size, "%.*s", (int)(end - 1 - start), start);
		return 0;
	}
	return -1;
}

/* Release the lock a request holds: roll back what it left open. */
/* Take the controller lock for c, counting the statements it runs from
 * here to unlock() (the lock keeps every other user of the store out). */
static void lock(struct api_ctx *c)
{
	pthread_mutex_lock(&c->ctrl->lock);
	c->lock_t0 = time_mono_ns();
	c->stmt0 = db_statements(store_db(c->ctrl->st));
}

static void unlock(struct api_ctx *c)
{
	struct ctrl *ctrl = c->ctrl;
	uint64_t n;

	if (c->tx_open) {
		store_rollback(ctrl->st);
		c->tx_open = false;
	}
	store_reset_all(ctrl->st);
	n = db_statements(store_db(ctrl->st)) - c->stmt0;
	c->statements += n;
	c->locked_statements += n;
	c->lock_ns += time_mono_ns() - c->lock_t0;
	pthread_mutex_unlock(&ctrl->lock);
}

/* The end of every answered request (no lock held): make its commit
 * durable, check there is an answer, count it in its route's statistics
 * (when a route was found). */
static void finish(struct api_ctx *c, bool found)
{
	struct ctrl *ctrl = c->ctrl;

	if (c->sync_seq && ctrl_make_durable(ctrl, c->sync_seq) < 0) {
		log_error("request %s: %s", c->request_id, err_msg());
		api_err(c, 500, "internal", NULL,
			"the change was committed but could not be flushed to "
			"disk (%s): check the controller's disk, then check "
			"whether it took effect (request %s)",
			err_msg(), c->request_id);
	}
	/* a 204, a 304 and a 101 (the connection switches) have no body; a
	 * file answer's body is the file */
	if (c->resp == NULL && c->text == NULL && !c->has_file &&
	    c->status != 204 && c->status != 304 && c->status != 101)
		api_err(c, 500, "internal", NULL, "no answer was produced");
	pthread_mutex_lock(&ctrl->stats_lock);
	if (ctrl->stats && found) {
		struct ctrl_route_stats *rs = &ctrl->stats[c->route_index];
		double sec = (double)(time_mono_ns() - c->t0_ns) / 1e9;
		int cls = c->status / 100, k = 0;

		if (cls >= 0 && cls < 6)
			rs->by_class[cls]++;
		while (k < CTRL_LAT_BUCKETS && sec > ctrl_lat_bounds[k])
			k++;
		rs->lat[k]++;
		rs->lat_sum += sec;
		rs->db_statements += c->statements;
		rs->locked_statements += c->locked_statements;
		rs->lock_ns += c->lock_ns;
	}
	pthread_mutex_unlock(&ctrl->stats_lock);
}

/* The caller of c's route (c->m, lock held): rate limit, token, role.
 * 0, or -1 with the error answered (and audited for a mutating route). */
static int check_caller(struct api_ctx *c)
{
	const struct route *rt = c->m->route;

	if (rt->roles & ROUTE_PUBLIC)
		return 0;
	if (api_auth_limited(c) < 0)
		return -1;
	if (api_authenticate(c) < 0) {
		/* attempts without a valid token are audited too */
		if (rt->mutating)
			api_audit_request(c, rt);
		return -1;
	}
	if (!(rt->roles & c->who.role)) {
		if (c->who.role == ROLE_AGENT)
			api_err(c, 403, "forbidden", NULL,
				"an agent credential reaches only "
				"/v1/agents/%s/...", c->who.node);
		else
			api_err(c, 403, "forbidden", NULL,
				"role '%s' may not call %s %s: ask an "
				"administrator for a token with the right role",
				auth_role_name(c->who.role), c->method,
				rt->pattern);
		if (rt->mutating)
			api_audit_request(c, rt);
		return -1;
	}
	return 0;
}

bool api_upload_route(const char *method, const char *path)
{
	struct route_match m;

	return route_match(api_routes, api_nroutes, method, path, &m) ==
		       ROUTE_FOUND &&
	       (m.route->flags & ROUTE_UPLOAD);
}

bool api_upload_allowed(struct api_ctx *c)
{
	struct route_match m;
	bool ok;

	random_hex(c->request_id, sizeof(c->request_id), 16);
	c->content_type = "application/json";
	if (route_match(api_routes, api_nroutes, c->method, c->path, &m) !=
	    ROUTE_FOUND)
		return true; /* api_handle() answers the 404 */
	c->m = &m;
	lock(c);
	ok = check_caller(c) == 0;
	unlock(c);
	c->m = NULL;
	return ok;
}

/* The step c's handler left to run without the lock (api_ctx.unlocked),
 * once. */
static void run_unlocked(struct api_ctx *c)
{
	route_fn fn = c->unlocked;

	c->unlocked = NULL;
	if (fn)
		fn(c);
}

void api_handle(struct api_ctx *c)
{
	struct route_match m;
	enum route_result r;
	struct ctrl *ctrl = c->ctrl;
	bool locked = false;
	uint64_t t0 = time_mono_ns();

	random_hex(c->request_id, sizeof(c->request_id), 16);
	c->content_type = "application/json";
	c->statements = c->locked_statements = c->lock_ns = 0;
	r = route_match(api_routes, api_nroutes, c->method, c->path, &m);
	if (r == ROUTE_NO_PATH) {
		api_err(c, 404, "not_found", NULL,
			"no such endpoint '%.200s': see schemas/openapi.yaml "
			"for the API", c->path);
		return;
	}
	if (r == ROUTE_NO_METHOD) {
		api_err(c, 405, "method_not_allowed", NULL,
			"'%.200s' does not accept %s", c->path, c->method);
		return;
	}
	c->m = &m;
	if (c->body_len > 0) {
		if (json_parse(c->body, c->body_len, "request body", &c->json) <
		    0) {
			char field[64];

			if (json_error_field(c->body, c->body_len, field,
					     sizeof(field)) == 0)
				api_err(c, 400, "invalid_json", field,
					"%s (in or after field '%s')", err_msg(),
					field);
			else
				api_err(c, 400, "invalid_json", NULL, "%s",
					err_msg());
			goto out;
		}
	}
	if (m.route->flags & ROUTE_UNLOCKED) {
		m.route->fn(c);
		goto out;
	}
	lock(c);
	locked = true;
	if (check_caller(c) < 0)
		goto out;
	m.route->fn(c);
	/* a parked request is audited with its answer (api_resume()) */
	if (m.route->mutating && c->parked == NULL)
		api_audit_request(c, m.route);
	else if (c->tx_open) {
		if (c->status < 400) {
			if (store_commit(ctrl->st) < 0)
				api_err_internal(c, "committing");
		} else {
			store_rollback(ctrl->st);
		}
		c->tx_open = false;
	}
out:
	c->m = NULL;
	c->route_index = m.index;
	c->t0_ns = t0;
	if (locked)
		unlock(c);
	if (c->parked == NULL) {
		run_unlocked(c);
		finish(c, r == ROUTE_FOUND);
	}
}

int api_park(struct api_ctx *c, const char *node, int64_t wait_s,
	     route_fn resume)
{
	if (c->wake == NULL)
		return -1;
	c->parked = ctrl_park(c->ctrl, node, wait_s, c->wake, c->wake_arg);
	if (c->parked == NULL)
		return -1;
	c->resume = resume;
	snprintf(c->park_node, sizeof(c->park_node), "%s", node);
	return 0;
}

void api_resume(struct api_ctx *c)
{
	const struct route *r = &api_routes[c->route_index];

	c->parked = NULL;
	lock(c);
	c->resume(c);
	if (r->mutating)
		api_audit_request(c, r);
	unlock(c);
	run_unlocked(c);
	finish(c, true);
}

void api_ctx_release(struct api_ctx *c)
{
	cJSON_Delete(c->json);
	cJSON_Delete(c->resp);
	free(c->text);
	c->json = NULL;
	c->resp = NULL;
	c->text = NULL;
	if (c->has_file)
		close(c->file_fd);
	c->has_file = false;
}

void h_healthz(struct api_ctx *c)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "status", "ok");
	api_ok(c, 200, o);
}

int api_bootstrap_admin(struct ctrl *ctrl)
{
	char token[AUTH_TOKEN_LEN + 1], hash[AUTH_HASH_LEN + 1], id[37];
	char path[CTRL_PATH_MAX + 32], line[AUTH_TOKEN_LEN + 2];
	struct store *st = ctrl->st;
	struct db_stmt *s;
	int n;

	/* counted inside the transaction: controllers starting at once on
	 * one new PostgreSQL database make one first token, not one each */
	if (store_begin(st, true) < 0)
		return -1;
	s = store_stmt(st, "SELECT count(*) FROM tokens WHERE role = 'admin'");
	if (s == NULL || db_step(s) != DB_ROW) {
		store_err(st, "counting admin tokens");
		goto fail;
	}
	n = db_col_int(s, 0);
	db_reset(s);
	if (n > 0) {
		store_rollback(st);
		return 0;
	}
	if (auth_token_new(token, hash) < 0 || uuid_generate_v4(id) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/admin.token", ctrl->cfg.state_dir);
	snprintf(line, sizeof(line), "%s\n", token);
	s = store_stmt(st, "INSERT INTO tokens(id, hash, role, description, "
			   "created_ms) VALUES (?, ?, 'admin', 'first admin "
			   "token', ?)");
	if (s == NULL)
		goto fail;
	store_bind_text(s, 1, id);
	store_bind_text(s, 2, hash);
	db_bind_int64(s, 3, time_wall_ms());
	if (store_done(st, s, "creating the admin token") < 0)
		goto fail;
	if (audit_append(st, "controller", "token.bootstrap", id, 201, "") < 0)
		goto fail;
	/* the file first: a token nobody can read would lock everyone out */
	if (file_write_atomic(path, line, strlen(line), 0600) < 0) {
		err_prefix("writing the admin token");
		goto fail;
	}
	if (store_commit(st) < 0)
		goto fail;
	log_info("created the first admin token in '%s' (mode 0600)", path);
	return 0;
fail:
	store_rollback(st);
	return -1;
}

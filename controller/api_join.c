/* How a node joins and what of its word is trusted: registration with a
 * bounded-use join token, the operator's approval (or rejection) of a
 * known node's re-registration, and the reported inventory, bounded and
 * checked against the host's first registered figures. The decisions
 * are enrol.c's; this file reads and writes the rows they need. See
 * docs/agent-protocol.md "Joining". */

#include "common/err.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "controller/api.h"
#include "controller/audit.h"
#include "controller/db.h"
#include "controller/enrol.h"
#include "controller/resource.h"
#include "controller/store.h"

#define JOIN_HINT "create a join token with 'finctl token create --role " \
	"join [--uses N] [--ttl S]' and put it in the agent's join_token_file"

static const char *const inv_keys[] = {"vcpus", "mem_mib", "mem_free_mib",
				       "disk_gib", "disk_free_gib", "cpu_model",
				       "virt_type", "libvirt_version",
				       "virt_type_reason", NULL};

int api_inventory_read(struct api_ctx *c, struct api_inventory *inv)
{
	const cJSON *o;
	const char *path = "$.inventory";
	char field[40];

	if (json_get_object(c->json, "$", "inventory", true, &o) < 0 ||
	    json_check_keys(o, path, inv_keys) < 0) {
		api_err_field(c, "inventory");
		return -1;
	}
	for (int i = 0; i < ENROL_NINV; i++) {
		if (json_get_int(o, path, enrol_inv_names[i], true, 0,
				 enrol_inv_max[i], 0, &inv->n[i]) == 0)
			continue;
		snprintf(field, sizeof(field), "inventory.%s",
			 enrol_inv_names[i]);
		api_err(c, 400, "invalid_field", field, "%s (a node reports at "
			"most %s; check what libvirt reports on the node)",
			err_msg(), enrol_inv_max_text[i]);
		return -1;
	}
	if (json_get_string(o, path, "cpu_model", true, NULL,
			    &inv->cpu_model) < 0 ||
	    json_get_string(o, path, "virt_type", true, NULL,
			    &inv->virt_type) < 0 ||
	    json_get_string(o, path, "libvirt_version", true, NULL,
			    &inv->libvirt_version) < 0 ||
	    json_get_string(o, path, "virt_type_reason", false, "",
			    &inv->virt_type_reason) < 0) {
		api_err_field(c, "inventory");
		return -1;
	}
	if (strlen(inv->cpu_model) > 128 || strlen(inv->virt_type) > 16 ||
	    strlen(inv->libvirt_version) > 32 ||
	    strlen(inv->virt_type_reason) > 256) {
		api_err(c, 400, "invalid_field", "inventory", "$.inventory: a "
			"string field is too long");
		return -1;
	}
	return 0;
}

bool api_cert_acts_for(struct api_ctx *c, const char *node)
{
	if (peercert_check(c->peer, c->ctrl->cfg.require_client_cert,
			   node) == 0)
		return true;
	api_err(c, 403, "forbidden", NULL, "%s", err_msg());
	return false;
}

/* Log and audit a change of node's inventory flag (was -> now, "" for
 * none). -1 with a 500 answer. */
static int flag_changed(struct api_ctx *c, const char *node, const char *was,
			const char *now)
{
	char target[96];

	if ((was[0] != '\0') == (now[0] != '\0'))
		return 0;
	snprintf(target, sizeof(target), "host:%.63s", node);
	if (now[0])
		log_warn("host '%s' reports an inventory it did not register "
			 "with (%s): the scheduler keeps the registered figures "
			 "until an operator runs 'finctl host approve %s'",
			 node, now, node);
	else
		log_info("host '%s' reports an inventory within its registered "
			 "figures again", node);
	if (audit_event(c->ctrl->st, now[0] ? "host.inventory.jump"
					    : "host.inventory.trusted",
			target, c->request_id) < 0) {
		api_err_internal(c, "auditing the host's inventory");
		return -1;
	}
	return 0;
}

int api_inventory_apply(struct api_ctx *c, const char *node,
			const struct api_inventory *inv, bool reset)
{
	struct enrol_figures base, rep = {inv->n[ENROL_VCPUS],
					  inv->n[ENROL_MEM_MIB]};
	char why[256], was[256];
	struct db_stmt *s;
	bool jump;
	int rc;

	rc = api_find(c, "SELECT base_vcpus, base_mem_mib, inventory_flag "
		      "FROM hosts WHERE name = ?", node, &s,
		      "reading the host's inventory");
	if (rc <= 0) {
		if (rc == 0) {
			err_set("host '%s' vanished", node);
			api_err_internal(c, "reading the host's inventory");
		}
		return -1;
	}
	base.vcpus = db_col_int64(s, 0);
	base.mem_mib = db_col_int64(s, 1);
	str_copy(was, sizeof(was), store_col_text(s, 2));
	db_reset(s);
	/* the first figures known are the ones later reports answer to */
	if (reset || base.vcpus == 0)
		base.vcpus = rep.vcpus;
	if (reset || base.mem_mib == 0)
		base.mem_mib = rep.mem_mib;
	jump = enrol_jump(&base, &rep, why, sizeof(why)) > 0;
	s = api_stmt(c, "UPDATE hosts SET vcpus = ?, mem_mib = ?, "
		     "mem_free_mib = ?, disk_gib = ?, disk_free_gib = ?, "
		     "reported_vcpus = ?, reported_mem_mib = ?, base_vcpus = ?, "
		     "base_mem_mib = ?, cpu_model = ?, virt_type = ?, "
		     "libvirt_version = ?, virt_type_reason = ?, "
		     "inventory_flag = ? WHERE name = ?");
	if (s == NULL)
		return -1;
	store_bind_int64s(s, 1, inv->n, ENROL_NINV);
	if (jump)
		store_bind_int64s(s, 1, (const int64_t[]){base.vcpus,
				  base.mem_mib}, 2);
	store_bind_int64s(s, 6, (const int64_t[]){rep.vcpus, rep.mem_mib,
			  base.vcpus, base.mem_mib}, 4);
	store_bind_texts(s, 10, (const char *const[]){inv->cpu_model,
			 inv->virt_type, inv->libvirt_version,
			 inv->virt_type_reason, why, node}, 6);
	if (api_step_done(c, s, "recording the inventory") < 0)
		return -1;
	return flag_changed(c, node, was, why);
}

/* The join token of a registration: 0 with c->who its principal (the
 * audit's actor), or -1 with a 401 naming why (unknown or revoked,
 * expired, no use left) and the fix, or a 500. In the request's
 * transaction: a use is taken later, by join_token_take(). */
static int join_token_check(struct api_ctx *c, const char *join)
{
	char hash[AUTH_HASH_LEN + 1];
	int64_t now = time_wall_ms(), expires;
	struct db_stmt *s;
	bool spent;
	int rc = 0;

	if (strlen(join) <= 256 &&
	    auth_sha256_hex(join, strlen(join), hash) == 0)
		rc = api_find(c, "SELECT id, expires_ms, coalesce(uses_left, 0) "
			      "<= 0 FROM tokens WHERE hash = ? AND role = "
			      "'join'", hash, &s, "looking up the join token");
	if (rc < 0)
		return -1;
	if (rc == 0) {
		api_err(c, 401, "unauthenticated", "join_token", "the join "
			"token is not valid (unknown or revoked): " JOIN_HINT);
		return -1;
	}
	str_copy(c->who.token_id, sizeof(c->who.token_id), store_col_text(s, 0));
	expires = db_col_type(s, 1) == DB_NULL
			  ? INT64_MAX : db_col_int64(s, 1);
	spent = db_col_int(s, 2);
	db_reset(s);
	c->who.role = ROLE_JOIN;
	if (now >= expires) {
		api_err(c, 401, "unauthenticated", "join_token", "join token "
			"'%s' expired at %" PRId64 " (ms since the epoch): "
			JOIN_HINT, c->who.token_id, expires);
		return -1;
	}
	if (spent) {
		api_err(c, 401, "unauthenticated", "join_token", "join token "
			"'%s' has no registration left (each node that joins "
			"uses one): " JOIN_HINT, c->who.token_id);
		return -1;
	}
	return 0;
}

/* Take one use of the caller's join token: 0, or -1 with a 401 (no use
 * left) or a 500. The decrement and its check are one statement in the
 * request's write transaction: of two registrations racing for the last
 * use, exactly one gets it. */
static int join_token_take(struct api_ctx *c)
{
	struct db_stmt *s = api_stmt(c, "UPDATE tokens SET uses_left = uses_left "
				   "- 1, last_used_ms = ? WHERE id = ? AND "
				   "uses_left > 0");

	if (s == NULL)
		return -1;
	db_bind_int64(s, 1, time_wall_ms());
	store_bind_text(s, 2, c->who.token_id);
	if (api_step_done(c, s, "using the join token") < 0)
		return -1;
	if (db_changes(store_db(c->ctrl->st)) == 1)
		return 0;
	api_err(c, 401, "unauthenticated", "join_token", "join token '%s' has "
		"no registration left (each node that joins uses one): "
		JOIN_HINT, c->who.token_id);
	return -1;
}

/* store_run() of sql with key as ?1 in the request's transaction: 0, or
 * -1 with a 500 naming what. */
static int run_keyed(struct api_ctx *c, const char *sql, const char *key,
		     const char *what)
{
	if (store_run(c->ctrl->st, sql, key, what) == 0)
		return 0;
	api_err_internal(c, what);
	return -1;
}

/* A known host and its registration request, copied out of the row. */
struct known {
	struct enrol_known k;
	char machine[72], uri[1032], pool[NAME_MAX_LEN + 1];
	char request[16], rmachine[72], ruri[1032], rpool[NAME_MAX_LEN + 1];
};

/* Read node's host into *kn: 1, 0 when there is none, -1 with a 500. */
static int known_load(struct api_ctx *c, const char *node, struct known *kn)
{
	struct db_stmt *s;
	int rc;

	rc = api_find(c, "SELECT h.machine_id, h.migration_uri, h.pool, "
		      "h.base_vcpus, h.base_mem_mib, EXISTS (SELECT 1 FROM "
		      "tokens WHERE role = 'agent' AND node = h.name), "
		      "coalesce(q.state, ''), coalesce(q.machine_id, ''), "
		      "coalesce(q.migration_uri, ''), coalesce(q.pool, '') "
		      "FROM hosts h LEFT JOIN host_requests q ON q.host = "
		      "h.name WHERE h.name = ?", node, &s, "reading the host");
	if (rc <= 0)
		return rc;
	str_copy(kn->machine, sizeof(kn->machine), store_col_text(s, 0));
	str_copy(kn->uri, sizeof(kn->uri), store_col_text(s, 1));
	str_copy(kn->pool, sizeof(kn->pool), store_col_text(s, 2));
	kn->k.base.vcpus = db_col_int64(s, 3);
	kn->k.base.mem_mib = db_col_int64(s, 4);
	kn->k.has_credential = db_col_int(s, 5);
	str_copy(kn->request, sizeof(kn->request), store_col_text(s, 6));
	str_copy(kn->rmachine, sizeof(kn->rmachine), store_col_text(s, 7));
	str_copy(kn->ruri, sizeof(kn->ruri), store_col_text(s, 8));
	str_copy(kn->rpool, sizeof(kn->rpool), store_col_text(s, 9));
	db_reset(s);
	kn->k.host = (struct enrol_where){kn->machine, kn->uri, kn->pool};
	kn->k.req = (struct enrol_where){kn->rmachine, kn->ruri, kn->rpool};
	kn->k.request = kn->request;
	return 1;
}

/* Record (or refresh) node's registration request from w, pending an
 * operator's decision, and answer 202 saying so. */
static void request_pending(struct api_ctx *c, const char *node,
			    const struct known *kn, const struct enrol_where *w,
			    const struct api_inventory *inv)
{
	struct enrol_figures f = {inv->n[ENROL_VCPUS], inv->n[ENROL_MEM_MIB]};
	char changes[1024];
	struct db_stmt *s;
	cJSON *o;

	enrol_changes(&kn->k, w, &f, changes, sizeof(changes));
	/* the same request again keeps its first time and counts; another
	 * one replaces it (an approval was of what the operator saw) */
	s = api_stmt(c, "INSERT INTO host_requests AS r(host, state, machine_id, "
		     "migration_uri, pool, changes, attempts, requested_ms) "
		     "VALUES (?1, 'pending', ?2, ?3, ?4, ?5, 1, ?6) ON CONFLICT"
		     "(host) DO UPDATE SET state = 'pending', attempts = CASE "
		     "WHEN r.machine_id = ?2 AND r.migration_uri = ?3 AND "
		     "r.pool = ?4 THEN r.attempts + 1 ELSE 1 END, requested_ms "
		     "= CASE WHEN r.machine_id = ?2 AND r.migration_uri = ?3 AND "
		     "r.pool = ?4 THEN r.requested_ms ELSE ?6 END, machine_id "
		     "= ?2, migration_uri "
		     "= ?3, pool = ?4, changes = ?5, decided_ms = NULL");
	if (s == NULL)
		return;
	store_bind_texts(s, 1, (const char *const[]){node, w->machine_id,
			 w->migration_uri, w->pool, changes}, 5);
	db_bind_int64(s, 6, time_wall_ms());
	if (api_step_done(c, s, "recording the registration request") < 0)
		return;
	if (strcmp(kn->request, "pending") != 0 ||
	    strcmp(kn->rmachine, w->machine_id) != 0 ||
	    strcmp(kn->ruri, w->migration_uri) != 0 ||
	    strcmp(kn->rpool, w->pool) != 0)
		log_warn("host '%s' already has a credential and registers "
			 "again (%s): waiting for an operator to run 'finctl "
			 "host approve %s' (or 'finctl host reject %s')",
			 node, changes, node, node);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "node", node);
	cJSON_AddStringToObject(o, "registration", "pending");
	cJSON_AddStringToObject(o, "changes", changes);
	{
		char msg[1400];

		snprintf(msg, sizeof(msg), "node '%s' is already registered "
			 "and has a credential; this registration (%s) waits "
			 "for an operator to run 'finctl host approve %s' on "
			 "the controller: retry later", node, changes, node);
		cJSON_AddStringToObject(o, "message", msg);
	}
	api_ok(c, 202, o);
}

/* Write node's host row from a registration taken (w, inventory inv;
 * reset: inv becomes the figures later reports answer to; its next
 * heartbeat worked through in full, steady.h) and issue its
 * credential into the 201 answer; the node's earlier credential and its
 * registration request go. */
static void register_take(struct api_ctx *c, const char *node,
			  const struct enrol_where *w,
			  const struct api_inventory *inv, bool reset)
{
	char cred[AUTH_TOKEN_LEN + 1], chash[AUTH_HASH_LEN + 1], id[37];
	struct db_stmt *s;
	cJSON *o;

	s = api_stmt(c, "INSERT INTO hosts(name, pool, state, migration_uri, "
		    "last_seen_ms, registered_ms, machine_id) VALUES (?1, ?2, "
		    "'up', ?3, ?4, ?4, ?5) ON CONFLICT(name) DO UPDATE SET pool "
		    "= CASE WHEN (SELECT count(*) FROM vms WHERE host = ?1) = 0 "
		    "THEN ?2 ELSE hosts.pool END, migration_uri = ?3, state = "
		    "'up', last_seen_ms = ?4, machine_id = CASE WHEN ?5 = '' "
		    "THEN hosts.machine_id ELSE ?5 END, steady_ms = 0");
	if (s == NULL)
		return;
	store_bind_texts(s, 1, (const char *const[]){node, w->pool,
			 w->migration_uri}, 3);
	db_bind_int64(s, 4, time_wall_ms());
	store_bind_text(s, 5, w->machine_id);
	if (api_step_done(c, s, "recording the host") < 0 ||
	    api_inventory_apply(c, node, inv, reset) < 0 ||
	    join_token_take(c) < 0)
		return;
	/* a new credential replaces any earlier one of this node */
	if (run_keyed(c, "DELETE FROM tokens WHERE role = 'agent' AND node = ?",
		      node, "revoking the old credential") < 0 ||
	    run_keyed(c, "DELETE FROM host_requests WHERE host = ?", node,
		      "closing the registration request") < 0)
		return;
	if (auth_token_new(cred, chash) < 0 || uuid_generate_v4(id) < 0) {
		api_err_internal(c, "making a credential");
		return;
	}
	s = api_stmt(c, "INSERT INTO tokens(id, hash, role, node, description, "
		    "created_ms) VALUES (?, ?, 'agent', ?, 'agent credential', ?)");
	if (s == NULL)
		return;
	store_bind_texts(s, 1, (const char *const[]){id, chash, node}, 3);
	db_bind_int64(s, 4, time_wall_ms());
	if (api_step_done(c, s, "recording the credential") < 0)
		return;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "node", node);
	cJSON_AddStringToObject(o, "credential", cred);
	cJSON_AddNumberToObject(o, "heartbeat_interval_s",
				(double)c->ctrl->cfg.heartbeat_interval_s);
	api_ok(c, 201, o);
	explicit_bzero(cred, sizeof(cred));
}

void h_agent_register(struct api_ctx *c)
{
	/* "migrations" (the agent's migration journal) is accepted and not
	 * read yet */
	static const char *const keys[] = {"join_token", "node", "pool",
					   "migration_uri", "inventory",
					   "machine_id", "migrations", NULL};
	const char *join, *node;
	struct enrol_where w;
	struct api_inventory inv;
	struct known kn;
	int rc;

	if (api_body_object(c, keys) < 0 ||
	    api_get_str(c, "join_token", true, NULL, &join) < 0 ||
	    api_get_name(c, "node", "node", true, &node) < 0 ||
	    api_get_name(c, "pool", "pool", true, &w.pool) < 0 ||
	    api_get_str(c, "migration_uri", true, NULL, &w.migration_uri) < 0 ||
	    api_get_str(c, "machine_id", false, "", &w.machine_id) < 0 ||
	    api_inventory_read(c, &inv) < 0)
		return;
	snprintf(c->audit_target, sizeof(c->audit_target), "host:%s", node);
	if (!api_cert_acts_for(c, node))
		return;
	if (strlen(w.machine_id) > 64) {
		api_err(c, 400, "invalid_field", "machine_id",
			"$.machine_id: at most 64 characters");
		return;
	}
	if (strlen(w.migration_uri) > 1024) {
		api_err(c, 400, "invalid_field", "migration_uri",
			"$.migration_uri: at most 1024 characters");
		return;
	}
	if (api_auth_limited(c) < 0)
		return;
	if (api_begin(c) < 0)
		return;
	if (join_token_check(c, join) < 0) {
		if (c->status == 401)
			api_auth_failed(c);
		return;
	}
	rc = res_exists(c, &res_pools, w.pool);
	if (rc < 0)
		return;
	if (rc == 0) {
		api_err(c, 404, "not_found", "pool", "$.pool: pool '%s' "
			"does not exist: create it with 'finctl pool create "
			"%s' or set the agent's 'pool'", w.pool, w.pool);
		return;
	}
	rc = known_load(c, node, &kn);
	if (rc < 0)
		return;
	switch (enrol_decide(rc ? &kn.k : NULL, &w)) {
	case ENROL_NEW:
		register_take(c, node, &w, &inv, true);
		break;
	case ENROL_TAKE:
		/* approved: what the operator saw is the new baseline; a
		 * revoked credential: the old one still holds */
		register_take(c, node, &w, &inv, kn.k.has_credential);
		break;
	case ENROL_PENDING:
		request_pending(c, node, &kn, &w, &inv);
		break;
	case ENROL_REJECTED:
		api_err(c, 403, "forbidden", "node", "an operator rejected "
			"this re-registration of node '%s' (machine '%s', "
			"migration URI '%s'): if this agent is that node, an "
			"operator runs 'finctl host approve %s'; otherwise give "
			"it a node_name of its own", node, w.machine_id,
			w.migration_uri, node);
		break;
	}
}

/* The state of host name's registration request into state (size
 * bytes; "" when there is none) and whether its inventory is flagged:
 * 0, or -1 with the answer set (404, 500). */
static int host_decision(struct api_ctx *c, const char *name, char *state,
			 size_t size, bool *flagged)
{
	struct db_stmt *s;
	int rc;

	res_target(c, &res_hosts, name);
	if (api_begin(c) < 0 || res_must_exist(c, &res_hosts, name, NULL) < 0)
		return -1;
	rc = api_find(c, "SELECT coalesce((SELECT state FROM host_requests "
		      "WHERE host = h.name), ''), inventory_flag != '' FROM "
		      "hosts h WHERE name = ?", name, &s, "reading the host");
	if (rc <= 0)
		return -1;
	str_copy(state, size, store_col_text(s, 0));
	*flagged = db_col_int(s, 1);
	db_reset(s);
	return 0;
}

/* An operator's decision (state: approved or rejected) on host name's
 * registration request: 0, or -1 with a 500. */
static int request_decide(struct api_ctx *c, const char *name,
			  const char *state)
{
	struct db_stmt *s = api_stmt(c, "UPDATE host_requests SET state = ?, "
				   "decided_ms = ? WHERE host = ?");

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, state);
	db_bind_int64(s, 2, time_wall_ms());
	store_bind_text(s, 3, name);
	return api_step_done(c, s, "recording the decision");
}

void h_host_approve(struct api_ctx *c)
{
	const char *name = c->m->params[0];
	char state[16];
	bool flagged, request;

	if (host_decision(c, name, state, sizeof(state), &flagged) < 0)
		return;
	request = strcmp(state, "pending") == 0 ||
		  strcmp(state, "rejected") == 0;
	if (!request && !flagged) {
		api_err(c, 409, "conflict", NULL, "host '%s' has nothing to "
			"approve: %s and its inventory is within its "
			"registered figures", name, state[0]
			? "its approved registration waits for the agent's "
			  "next attempt"
			: "no registration of it waits");
		return;
	}
	if (request) {
		if (request_decide(c, name, "approved") < 0)
			return;
		log_info("host '%s': registration approved; the agent's next "
			 "attempt gets a new credential", name);
	}
	/* what the node reports becomes what it answers to */
	if (flagged) {
		if (run_keyed(c, "UPDATE hosts SET vcpus = reported_vcpus, "
			      "mem_mib = reported_mem_mib, base_vcpus = "
			      "reported_vcpus, base_mem_mib = reported_mem_mib, "
			      "inventory_flag = '' WHERE name = ?", name,
			      "approving the inventory") < 0)
			return;
		log_info("host '%s': reported inventory approved", name);
	}
	res_answer(c, &res_hosts, name, 200);
}

void h_host_reject(struct api_ctx *c)
{
	const char *name = c->m->params[0];
	char state[16];
	bool flagged;

	if (host_decision(c, name, state, sizeof(state), &flagged) < 0)
		return;
	if (strcmp(state, "pending") != 0 && strcmp(state, "approved") != 0) {
		api_err(c, 409, "conflict", NULL, "host '%s' has no "
			"registration waiting for a decision%s", name,
			state[0] ? " (it was rejected already)" : "");
		return;
	}
	if (request_decide(c, name, "rejected") < 0)
		return;
	log_warn("host '%s': registration rejected; attempts saying the same "
		 "are refused until an operator approves", name);
	res_answer(c, &res_hosts, name, 200);
}

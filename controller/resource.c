/* The operators' resources described once each, and their shared list,
 * get and delete handlers (see resource.h). */

#include "common/err.h"
#include "common/json.h"
#include "common/util.h"
#include "controller/db.h"
#include "controller/report.h"
#include "controller/resource.h"
#include "controller/storage.h"
#include "controller/store.h"

/* An integer column that may be NULL (JSON null). */
static void add_opt_int(cJSON *o, const char *key, struct db_stmt *s, int i)
{
	if (db_col_type(s, i) == DB_NULL)
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddNumberToObject(o, key,
					(double)db_col_int64(s, i));
}

/* A column that may be NULL (JSON null), as a number when it holds an
 * integer, else as a string. */
static void add_opt(cJSON *o, const char *key, struct db_stmt *s, int i)
{
	switch (db_col_type(s, i)) {
	case DB_NULL:
		cJSON_AddNullToObject(o, key);
		break;
	case DB_INTEGER:
		cJSON_AddNumberToObject(o, key,
					(double)db_col_int64(s, i));
		break;
	default:
		cJSON_AddStringToObject(o, key, store_col_text(s, i));
	}
}

/* ------------------------------------------------------------------ pools */

static cJSON *pool_json(struct store *st, struct db_stmt *s)
{
	cJSON *o = cJSON_CreateObject();

	(void)st;
	cJSON_AddStringToObject(o, "name", store_col_text(s, 0));
	cJSON_AddNumberToObject(o, "cpu_ratio", db_col_double(s, 1));
	cJSON_AddNumberToObject(o, "mem_ratio", db_col_double(s, 2));
	cJSON_AddNumberToObject(o, "disk_ratio", db_col_double(s, 3));
	cJSON_AddStringToObject(o, "policy", store_col_text(s, 4));
	cJSON_AddItemToObject(o, "compliance_classes",
			      json_csv_array(store_col_text(s, 5)));
	cJSON_AddNumberToObject(o, "created_ms",
				(double)db_col_int64(s, 6));
	cJSON_AddBoolToObject(o, "migration_postcopy",
			      db_col_int(s, 7));
	cJSON_AddStringToObject(o, "ha_reserve", store_col_text(s, 8));
	return o;
}

const struct res_kind res_pools = {
	.noun = "pool",
	.path = "/v1/pools",
	RES_SQL("pools", "name",
		"name, ratio_vcpus, ratio_mem, ratio_disk, policy, compliance, "
		"created_ms, migration_postcopy, ha_reserve", "NULL", ""),
	.to_json = pool_json,
	.hint = ": list pools with 'finctl pool list'",
	.in_use_sql = "SELECT 1 FROM hosts WHERE pool = ?1 UNION ALL "
		      "SELECT 1 FROM tenant_pools WHERE pool = ?1 UNION ALL "
		      "SELECT 1 FROM networks WHERE pool = ?1",
	.in_use_msg = "still has hosts, tenants allowed in it or provider "
		      "networks: move or remove them first",
};

/* ------------------------------------------------------------------ hosts */

/* Host name's registration into o: "registration" (registered, or the
 * state of its request: pending, approved, rejected) and
 * "registration_request" (null, or what the request says). -1 with
 * err_set() when it cannot be read. */
static int host_registration(struct store *st, const char *name, cJSON *o)
{
	struct db_stmt *s;
	cJSON *r;
	int rc = store_find(st, "SELECT state, machine_id, migration_uri, "
			    "pool, changes, attempts, requested_ms, decided_ms "
			    "FROM host_requests WHERE host = ?", name, &s,
			    "reading the host's registration request");

	if (rc < 0)
		return -1;
	if (rc == 0) {
		cJSON_AddStringToObject(o, "registration", "registered");
		cJSON_AddNullToObject(o, "registration_request");
		return 0;
	}
	cJSON_AddStringToObject(o, "registration", store_col_text(s, 0));
	r = cJSON_AddObjectToObject(o, "registration_request");
	cJSON_AddStringToObject(r, "machine_id", store_col_text(s, 1));
	cJSON_AddStringToObject(r, "migration_uri", store_col_text(s, 2));
	cJSON_AddStringToObject(r, "pool", store_col_text(s, 3));
	cJSON_AddStringToObject(r, "changes", store_col_text(s, 4));
	cJSON_AddNumberToObject(r, "attempts", (double)db_col_int64(s, 5));
	cJSON_AddNumberToObject(r, "requested_ms",
				(double)db_col_int64(s, 6));
	add_opt_int(r, "decided_ms", s, 7);
	db_reset(s);
	return 0;
}

static cJSON *host_json(struct store *st, struct db_stmt *s)
{
	cJSON *o = cJSON_CreateObject(), *a;

	cJSON_AddStringToObject(o, "name", store_col_text(s, 0));
	cJSON_AddStringToObject(o, "pool", store_col_text(s, 1));
	cJSON_AddStringToObject(o, "state", store_col_text(s, 2));
	cJSON_AddBoolToObject(o, "maintenance", db_col_int(s, 3));
	cJSON_AddStringToObject(o, "status", store_col_text(s, 4));
	cJSON_AddStringToObject(o, "degraded_reason", store_col_text(s, 5));
	cJSON_AddStringToObject(o, "migration_uri", store_col_text(s, 6));
	cJSON_AddNumberToObject(o, "vcpus", (double)db_col_int64(s, 7));
	cJSON_AddNumberToObject(o, "mem_mib", (double)db_col_int64(s, 8));
	cJSON_AddNumberToObject(o, "disk_gib", (double)db_col_int64(s, 9));
	cJSON_AddNumberToObject(o, "mem_free_mib",
				(double)db_col_int64(s, 10));
	cJSON_AddNumberToObject(o, "disk_free_gib",
				(double)db_col_int64(s, 11));
	cJSON_AddStringToObject(o, "cpu_model", store_col_text(s, 12));
	cJSON_AddStringToObject(o, "virt_type", store_col_text(s, 13));
	cJSON_AddStringToObject(o, "virt_type_reason", store_col_text(s, 27));
	cJSON_AddStringToObject(o, "libvirt_version", store_col_text(s, 14));
	cJSON_AddNumberToObject(o, "cost", db_col_double(s, 15));
	cJSON_AddNumberToObject(o, "availability", db_col_double(s, 16));
	cJSON_AddNumberToObject(o, "generation",
				(double)db_col_int64(s, 17));
	cJSON_AddNumberToObject(o, "generation_seen",
				(double)db_col_int64(s, 18));
	cJSON_AddNumberToObject(o, "last_seen_ms",
				(double)db_col_int64(s, 19));
	cJSON_AddNumberToObject(o, "vm_count", (double)db_col_int64(s, 20));
	a = cJSON_AddObjectToObject(o, "allocated");
	cJSON_AddNumberToObject(a, "vcpus", db_col_double(s, 21));
	cJSON_AddNumberToObject(a, "mem_mib", db_col_double(s, 22));
	cJSON_AddNumberToObject(a, "disk_gib", db_col_double(s, 23));
	/* what the node last reported, and why its vcpus and mem_mib
	 * above are the registered figures instead (enrol.h) */
	a = cJSON_AddObjectToObject(o, "reported");
	cJSON_AddNumberToObject(a, "vcpus", (double)db_col_int64(s, 25));
	cJSON_AddNumberToObject(a, "mem_mib", (double)db_col_int64(s, 26));
	if (db_col_text(s, 24) && *db_col_text(s, 24))
		cJSON_AddStringToObject(o, "inventory_flag", store_col_text(s, 24));
	else
		cJSON_AddNullToObject(o, "inventory_flag");
	/* the links its agent reports free for provider networks, stored
	 * as the JSON array the agent sent (null: never reported) */
	a = cJSON_Parse(store_col_text(s, 28));
	cJSON_AddItemToObject(o, "interfaces", cJSON_IsArray(a) ? a
				      : cJSON_CreateNull());
	if (a && !cJSON_IsArray(a))
		cJSON_Delete(a);
	if (db_col_type(s, 29) == DB_NULL)
		cJSON_AddNullToObject(o, "vlan_capable");
	else
		cJSON_AddBoolToObject(o, "vlan_capable",
				      db_col_int(s, 29));
	/* when it dies (ha.h): its HA state and how it is fenced */
	a = cJSON_AddObjectToObject(o, "ha");
	cJSON_AddStringToObject(a, "state", store_col_text(s, 30));
	cJSON_AddStringToObject(a, "reason", store_col_text(s, 31));
	cJSON_AddNumberToObject(a, "since_ms", (double)db_col_int64(s, 32));
	cJSON_AddStringToObject(a, "storage_address", store_col_text(s, 33));
	cJSON_AddStringToObject(a, "fence_command", store_col_text(s, 34));
	cJSON_AddStringToObject(a, "fence_address", store_col_text(s, 35));
	cJSON_AddBoolToObject(a, "blocklisted", *store_col_text(s, 36) != 0);
	cJSON_AddNumberToObject(a, "evictions", (double)db_col_int64(s, 37));
	if (db_col_int64(s, 38) < 0)
		cJSON_AddNullToObject(a, "self_fence_s");
	else
		cJSON_AddNumberToObject(a, "self_fence_s",
					(double)db_col_int64(s, 38));
	cJSON_AddBoolToObject(a, "off", db_col_int(s, 39) != 0);
	if (host_registration(st, store_col_text(s, 0), o) < 0) {
		cJSON_Delete(o);
		return NULL;
	}
	/* fincloud domains it runs with no VM behind them (report.h); an
	 * unreadable list shows empty rather than failing the host */
	a = report_orphans_json(st, store_col_text(s, 0));
	cJSON_AddItemToObject(o, "orphans", a ? a : cJSON_CreateArray());
	return o;
}

/* The total of column col over what host r holds: its VMs and, as
 * placement counts them (model.c), the VMs migrating in to it. */
#define HOST_HOLDS(col)                                                     \
	"(SELECT total(" col ") FROM vms WHERE host = r.name) + (SELECT "   \
	"total(" col ") FROM tasks WHERE type = 'migrate' AND state IN "     \
	"('pending','running') AND target_host = r.name)"

/* No DELETE route: a host comes and goes with its agent. */
const struct res_kind res_hosts = {
	.noun = "host",
	RES_SQL("hosts", "name",
		"r.name, r.pool, r.state, r.maintenance, r.status, "
		"r.degraded_reason, r.migration_uri, r.vcpus, r.mem_mib, "
		"r.disk_gib, r.mem_free_mib, r.disk_free_gib, r.cpu_model, "
		"r.virt_type, r.libvirt_version, r.cost, r.availability, "
		"r.generation, r.generation_seen, r.last_seen_ms, "
		HOST_HOLDS("1") ", " HOST_HOLDS("vcpus") ", "
		HOST_HOLDS("mem_mib") ", " HOST_HOLDS("disk_gib") ", "
		"r.inventory_flag, r.reported_vcpus, r.reported_mem_mib, "
		"r.virt_type_reason, r.interfaces, r.vlan_capable, "
		"r.ha_state, r.ha_reason, r.ha_since_ms, r.storage_address, "
		"r.fence_command, r.fence_address, r.blocklisted, (SELECT "
		"count(*) FROM ha_evictions e WHERE e.host = r.name), "
		"r.self_fence_s, r.ha_off",
		"NULL",
		" AND (?4 IS NULL OR r.pool = ?4) AND (?5 IS NULL OR "
		"r.state = ?5 OR (?5 = 'maintenance' AND r.maintenance != 0))"),
	.to_json = host_json,
	.filters = {"pool", "state"},
	.hint = ": hosts appear when their agent registers",
};

/* ---------------------------------------------------------------- tenants */

static cJSON *tenant_json(struct store *st, struct db_stmt *s)
{
	cJSON *o = cJSON_CreateObject(), *q, *u;

	(void)st;
	cJSON_AddStringToObject(o, "name", store_col_text(s, 0));
	cJSON_AddStringToObject(o, "isolation", store_col_text(s, 1));
	cJSON_AddStringToObject(o, "compliance_class", store_col_text(s, 2));
	cJSON_AddItemToObject(o, "pools", json_csv_array(store_col_text(s, 8)));
	q = cJSON_AddObjectToObject(o, "quota");
	add_opt_int(q, "vcpus", s, 3);
	add_opt_int(q, "mem_mib", s, 4);
	add_opt_int(q, "disk_gib", s, 5);
	add_opt_int(q, "vms", s, 6);
	u = cJSON_AddObjectToObject(o, "usage");
	cJSON_AddNumberToObject(u, "vcpus", db_col_double(s, 9));
	cJSON_AddNumberToObject(u, "mem_mib", db_col_double(s, 10));
	cJSON_AddNumberToObject(u, "disk_gib", db_col_double(s, 11));
	cJSON_AddNumberToObject(u, "vms", (double)db_col_int64(s, 12));
	cJSON_AddBoolToObject(o, "wipe_on_delete",
			      db_col_int(s, 13) != 0);
	cJSON_AddNumberToObject(o, "created_ms",
				(double)db_col_int64(s, 7));
	return o;
}

/* A tenant is its own owner: a tenant principal sees only itself. */
const struct res_kind res_tenants = {
	.noun = "tenant",
	.path = "/v1/tenants",
	RES_SQL("tenants", "name",
		"r.name, r.isolation, r.compliance_class, r.quota_vcpus, "
		"r.quota_mem_mib, r.quota_disk_gib, r.quota_vms, r.created_ms, "
		"(SELECT group_concat(pool) FROM (SELECT pool FROM tenant_pools "
		" WHERE tenant = r.name ORDER BY pool) tp), "
		"(SELECT total(vcpus) FROM claims WHERE tenant = r.name), "
		"(SELECT total(mem_mib) FROM claims WHERE tenant = r.name), "
		"(SELECT total(disk_gib) FROM claims WHERE tenant = r.name), "
		"(SELECT CAST(total(n) AS INTEGER) FROM claims WHERE "
		"tenant = r.name), r.wipe_on_delete",
		"r.name", " AND (?3 IS NULL OR r.name = ?3)"),
	.to_json = tenant_json,
	.scoped = true,
	.owner_col = 0,
	.hint = ": list tenants with 'finctl tenant list'",
	.in_use_sql = "SELECT 1 FROM vms WHERE tenant = ?1 UNION ALL "
		      "SELECT 1 FROM groups WHERE tenant = ?1 UNION ALL "
		      "SELECT 1 FROM images WHERE tenant = ?1 UNION ALL "
		      "SELECT 1 FROM networks WHERE tenant = ?1 UNION ALL "
		      "SELECT 1 FROM network_shares WHERE tenant = ?1",
	.in_use_msg = "still has VMs, groups, images or networks, or shares "
		      "a provider network: delete them first",
};

/* ----------------------------------------------------------------- groups */

/* 1 - prod(1 - A_host) over the distinct hosts of the group's members
 * (0 without members) into *avail, their number into *hosts. 0, or -1
 * with err_set(). */
static int group_availability(struct store *st, const char *group,
			      double *avail, int64_t *hosts)
{
	struct db_stmt *q = store_stmt(st, "SELECT DISTINCT h.name, "
					 "h.availability FROM vms v JOIN hosts h "
					 "ON h.name = v.host WHERE v.grp = ? AND "
					 "v.desired != 'deleted'");
	double down = 1;
	int rc;

	*hosts = 0;
	*avail = 0;
	if (q == NULL)
		return -1;
	store_bind_text(q, 1, group);
	while ((rc = db_step(q)) == DB_ROW) {
		down *= 1 - db_col_double(q, 1);
		(*hosts)++;
	}
	if (rc != DB_DONE)
		store_err(st, "computing the group's availability");
	db_reset(q);
	if (rc != DB_DONE)
		return -1;
	if (*hosts)
		*avail = 1 - down;
	return 0;
}

/* The group's achieved availability is its hosts' and its storage's
 * (storage.h): its target is met only when both reach it. */
static cJSON *group_json(struct store *st, struct db_stmt *s)
{
	cJSON *o;
	int64_t hosts;
	double a, sa, target = db_col_double(s, 3);

	if (group_availability(st, store_col_text(s, 0), &a, &hosts) < 0 ||
	    storage_group_availability(st, store_col_text(s, 0), &sa) < 0)
		return NULL;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", store_col_text(s, 0));
	cJSON_AddStringToObject(o, "tenant", store_col_text(s, 1));
	cJSON_AddStringToObject(o, "policy", store_col_text(s, 2));
	cJSON_AddNumberToObject(o, "availability", target);
	cJSON_AddNumberToObject(o, "members", (double)db_col_int64(s, 5));
	cJSON_AddNumberToObject(o, "hosts", (double)hosts);
	cJSON_AddNumberToObject(o, "achieved_availability", a);
	cJSON_AddNumberToObject(o, "storage_availability", sa);
	cJSON_AddBoolToObject(o, "meets_target", a >= target && sa >= target);
	cJSON_AddNumberToObject(o, "created_ms",
				(double)db_col_int64(s, 4));
	return o;
}

const struct res_kind res_groups = {
	.noun = "group",
	.path = "/v1/groups",
	RES_SQL("groups", "name",
		"r.name, r.tenant, r.policy, r.availability, r.created_ms, "
		"(SELECT count(*) FROM vms WHERE grp = r.name)",
		"r.tenant", " AND (?3 IS NULL OR r.tenant = ?3)"),
	.to_json = group_json,
	.scoped = true,
	.owner_col = 1,
	.tenant_query = "tenant",
	.hint = ": list groups with 'finctl group list'",
	.in_use_sql = "SELECT 1 FROM vms WHERE grp = ?1",
	.in_use_msg = "still has VMs: delete them first",
};

/* ---------------------------------------------------------------- flavors */

static cJSON *flavor_json(struct store *st, struct db_stmt *s)
{
	static const char *const ints[] = {"vcpus", "mem_mib", "disk_gib",
					   "created_ms"};
	cJSON *o = cJSON_CreateObject();

	(void)st;
	cJSON_AddStringToObject(o, "name", store_col_text(s, 0));
	for (int i = 0; i < 4; i++)
		cJSON_AddNumberToObject(o, ints[i],
					(double)db_col_int64(s, 1 + i));
	cJSON_AddBoolToObject(o, "requires_image", db_col_int(s, 5));
	/* null: the default, "local" */
	add_opt(o, "storage", s, 6);
	return o;
}

const struct res_kind res_flavors = {
	.noun = "flavor",
	.path = "/v1/flavors",
	RES_SQL("flavors", "name", "name, vcpus, mem_mib, disk_gib, created_ms, "
		"requires_image, storage",
		"NULL", ""),
	.to_json = flavor_json,
	.hint = ": list flavors with 'finctl flavor list'",
	.in_use_sql = "SELECT 1 FROM vms WHERE flavor = ?1",
	.in_use_msg = "is used by VMs",
};

/* ---------------------------------------------------------- storage pools */

const struct res_kind res_storage = {
	.noun = "storage pool",
	.path = "/v1/storage",
	RES_SQL("storage_pools", "name", STORAGE_COLS, "NULL", ""),
	.to_json = storage_json,
	.redact = storage_redact,
	.hint = ": list storage pools with 'finctl storage list'",
	.in_use_sql = "SELECT 1 WHERE ?1 = 'local' UNION ALL "
		      "SELECT 1 FROM vms WHERE storage = ?1 UNION ALL "
		      "SELECT 1 FROM flavors WHERE storage = ?1",
	.in_use_msg = "is the default or is used by VMs or flavors",
};

/* ----------------------------------------------------------------- tokens */

/* Never the secret: only its hash is stored, and only create shows it. */
static cJSON *token_json(struct store *st, struct db_stmt *s)
{
	cJSON *o = cJSON_CreateObject();

	(void)st;
	cJSON_AddStringToObject(o, "id", store_col_text(s, 0));
	cJSON_AddStringToObject(o, "role", store_col_text(s, 1));
	add_opt(o, "tenant", s, 2);
	add_opt(o, "node", s, 3);
	cJSON_AddStringToObject(o, "description", store_col_text(s, 4));
	cJSON_AddNumberToObject(o, "created_ms",
				(double)db_col_int64(s, 5));
	add_opt(o, "expires_ms", s, 6);
	add_opt(o, "last_used_ms", s, 7);
	/* a join token's registrations left; null for the other roles */
	add_opt_int(o, "uses_left", s, 8);
	return o;
}

const struct res_kind res_tokens = {
	.noun = "token",
	RES_SQL("tokens", "id",
		"id, role, tenant, node, description, created_ms, expires_ms, "
		"last_used_ms, uses_left", "NULL", ""),
	.to_json = token_json,
	.hint = ": list tokens with 'finctl token list'",
};

/* ------------------------------------------------------------------ audit */

static cJSON *audit_json(struct store *st, struct db_stmt *s)
{
	cJSON *o = cJSON_CreateObject();

	(void)st;
	cJSON_AddNumberToObject(o, "seq", (double)db_col_int64(s, 0));
	cJSON_AddNumberToObject(o, "time_ms",
				(double)db_col_int64(s, 1));
	cJSON_AddStringToObject(o, "actor", store_col_text(s, 2));
	cJSON_AddStringToObject(o, "action", store_col_text(s, 3));
	cJSON_AddStringToObject(o, "target", store_col_text(s, 4));
	cJSON_AddNumberToObject(o, "result", db_col_int(s, 5));
	cJSON_AddStringToObject(o, "request_id", store_col_text(s, 6));
	cJSON_AddStringToObject(o, "prev_hash", store_col_text(s, 7));
	cJSON_AddStringToObject(o, "hash", store_col_text(s, 8));
	return o;
}

/* Only listed, by entry number: the log is append-only (audit.h). */
const struct res_kind res_audit = {
	.noun = "audit entry",
	.list_sql = "SELECT seq, time_ms, actor, action, target, result, "
		    "request_id, prev_hash, hash FROM audit r WHERE r.seq > ?1 "
		    "ORDER BY r.seq LIMIT ?2",
	.seq_key = true,
	.to_json = audit_json,
};

/* ------------------------------------------------------- generic handlers */

/* "reading the pool", "deleting the flavor"... */
static const char *res_what(char *buf, size_t size, const char *verb,
			    const struct res_kind *k)
{
	snprintf(buf, size, "%s the %s", verb, k->noun);
	return buf;
}

static void res_missing(struct api_ctx *c, const struct res_kind *k,
			const char *key)
{
	api_err(c, 404, "not_found", NULL, "%s '%s' does not exist%s", k->noun,
		key, k->hint ? k->hint : "");
}

/* api_find() of sql and key: 1 with s on its row, 0 (no row), -1 with
 * a 500 answer. */
static int res_step_key(struct api_ctx *c, const struct res_kind *k,
			const char *sql, const char *key, struct db_stmt **s)
{
	char what[64];

	return api_find(c, sql, key, s, res_what(what, sizeof(what),
						 "reading", k));
}

/* Whether the row on s is hidden from the caller (its owner, in column
 * col, is not the caller's tenant). */
static bool res_hidden(struct api_ctx *c, const struct res_kind *k,
		       struct db_stmt *s, int col)
{
	return k->scoped && api_hidden_tenant(c, store_col_text(s, col)) &&
	       !(k->shared && api_is_tenant(c) && k->shared(c, s));
}

/* The JSON of the row on s as the caller may see it, or NULL. */
static cJSON *res_json(struct api_ctx *c, const struct res_kind *k,
		       struct db_stmt *s)
{
	cJSON *o = k->to_json(c->ctrl->st, s);

	if (o && k->redact && api_is_tenant(c))
		k->redact(o);
	return o;
}

void res_list(struct api_ctx *c, const struct res_kind *k)
{
	const char *tenant = k->tenant_query ? api_query(c, k->tenant_query)
					     : NULL;
	struct api_page pg;
	struct db_stmt *s;

	if (api_page_open(c, &pg, 0, k->seq_key) < 0)
		goto out;
	if (k->scoped && api_is_tenant(c)) {
		/* another tenant's rows: an empty page */
		if (tenant && strcmp(tenant, c->who.tenant) != 0)
			goto out;
		tenant = c->who.tenant;
	}
	s = api_stmt(c, k->list_sql);
	if (s == NULL) {
		pg.failed = true;
		goto out;
	}
	if (k->seq_key)
		db_bind_int64(s, 1, pg.after_seq);
	else
		store_bind_text(s, 1, pg.after);
	db_bind_int64(s, 2, pg.limit + 1);
	if (k->scoped)
		store_bind_text(s, 3, tenant);
	for (int i = 0; i < 2 && k->filters[i]; i++)
		store_bind_text(s, 4 + i, api_query(c, k->filters[i]));
	while (api_page_step(c, &pg, s) > 0) {
		cJSON *o = res_json(c, k, s);

		if (o == NULL) {
			api_err_internal(c, "reading the list");
			pg.failed = true;
			break;
		}
		cJSON_AddItemToArray(pg.items, o);
	}
out:
	api_page_close(c, &pg);
}

void res_answer(struct api_ctx *c, const struct res_kind *k, const char *key,
		int status)
{
	char what[64];
	struct db_stmt *s;
	cJSON *o;
	int rc = res_step_key(c, k, k->get_sql, key, &s);

	if (rc == 0 || (rc > 0 && res_hidden(c, k, s, k->owner_col))) {
		res_missing(c, k, key);
	} else if (rc > 0) {
		o = res_json(c, k, s);
		if (o)
			api_ok(c, status, o);
		else
			api_err_internal(c, res_what(what, sizeof(what),
						     "reading", k));
	}
}

void res_created(struct api_ctx *c, const struct res_kind *k, const char *key)
{
	res_answer(c, k, key, 201);
	if (k->path && c->status == 201)
		snprintf(c->location, sizeof(c->location), "%s/%s", k->path,
			 key);
}

void res_target(struct api_ctx *c, const struct res_kind *k, const char *key)
{
	snprintf(c->audit_target, sizeof(c->audit_target), "%s:%s", k->noun,
		 key);
}

void res_get(struct api_ctx *c, const struct res_kind *k)
{
	res_answer(c, k, c->m->params[0], 200);
}

void res_delete(struct api_ctx *c, const struct res_kind *k)
{
	const char *key = c->m->params[0];
	char what[64];
	struct db_stmt *s;
	int rc;

	res_target(c, k, key);
	if (api_begin(c) < 0)
		goto out;
	rc = res_step_key(c, k, k->find_sql, key, &s);
	if (rc < 0)
		goto out;
	/* a row shared with the caller's tenant is still not its to delete */
	if (rc == 0 || (k->scoped && api_hidden_tenant(c, store_col_text(s, 0)))) {
		res_missing(c, k, key);
		goto out;
	}
	db_reset(s);
	rc = k->in_use_sql ? res_step_key(c, k, k->in_use_sql, key, &s) : 0;
	if (rc < 0)
		goto out;
	if (rc > 0) {
		api_err(c, 409, "in_use", NULL, "%s '%s' %s", k->noun, key,
			k->in_use_msg);
		goto out;
	}
	s = api_stmt(c, k->delete_sql);
	if (s == NULL)
		goto out;
	store_bind_text(s, 1, key);
	if (api_step_write(c, s, res_what(what, sizeof(what), "deleting", k)) ==
	    0)
		api_ok(c, 204, NULL);
out:
	return;
}

int res_exists(struct api_ctx *c, const struct res_kind *k, const char *key)
{
	struct db_stmt *s;
	int rc = res_step_key(c, k, k->find_sql, key, &s);

	if (rc > 0)
		db_reset(s);
	return rc;
}

int res_must_exist(struct api_ctx *c, const struct res_kind *k,
		   const char *key, const char *field)
{
	int rc = res_exists(c, k, key);

	if (rc == 0)
		api_err(c, 404, "not_found", field, "%s%s%s%s '%s' does not "
			"exist%s", field ? "$." : "", field ? field : "",
			field ? ": " : "", k->noun, key, k->hint);
	return rc > 0 ? 0 : -1;
}

/* ------------------------------------------------------ the routes' rows */

void h_pool_list(struct api_ctx *c)
{
	res_list(c, &res_pools);
}

void h_pool_get(struct api_ctx *c)
{
	res_get(c, &res_pools);
}

void h_pool_delete(struct api_ctx *c)
{
	res_delete(c, &res_pools);
}

void h_host_list(struct api_ctx *c)
{
	res_list(c, &res_hosts);
}

void h_host_get(struct api_ctx *c)
{
	res_get(c, &res_hosts);
}

void h_tenant_list(struct api_ctx *c)
{
	res_list(c, &res_tenants);
}

void h_tenant_get(struct api_ctx *c)
{
	res_get(c, &res_tenants);
}

void h_tenant_delete(struct api_ctx *c)
{
	res_delete(c, &res_tenants);
}

void h_group_list(struct api_ctx *c)
{
	res_list(c, &res_groups);
}

void h_group_get(struct api_ctx *c)
{
	res_get(c, &res_groups);
}

void h_group_delete(struct api_ctx *c)
{
	res_delete(c, &res_groups);
}

void h_flavor_list(struct api_ctx *c)
{
	res_list(c, &res_flavors);
}

void h_flavor_get(struct api_ctx *c)
{
	res_get(c, &res_flavors);
}

void h_flavor_delete(struct api_ctx *c)
{
	res_delete(c, &res_flavors);
}

void h_storage_list(struct api_ctx *c)
{
	res_list(c, &res_storage);
}

void h_storage_get(struct api_ctx *c)
{
	res_get(c, &res_storage);
}

void h_storage_delete(struct api_ctx *c)
{
	res_delete(c, &res_storage);
}

void h_token_list(struct api_ctx *c)
{
	res_list(c, &res_tokens);
}

void h_token_get(struct api_ctx *c)
{
	res_get(c, &res_tokens);
}

void h_audit_list(struct api_ctx *c)
{
	res_list(c, &res_audit);
}

/* What is particular to each of the operators' resources (creating and
 * updating pools, hosts, tenants, groups, flavors; token secrets), the
 * audit log and the utilisation series (GET /metrics is api_metrics.c's).
 * Their list, get and delete are resource.c's. */

#include "common/buf.h"
#include "common/err.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "controller/api.h"
#include "controller/audit.h"
#include "controller/db.h"
#include "controller/eta.h"
#include "controller/ha.h"
#include "controller/resource.h"
#include "controller/series.h"
#include "controller/store.h"

/* Refuse to create a k named name when one exists already: 0 when the
 * name is free, -1 with a 409 (or 500) answer. */
static int name_free(struct api_ctx *c, const struct res_kind *k,
		     const char *name)
{
	int rc = res_exists(c, k, name);

	if (rc > 0)
		api_err(c, 409, "exists", "name", "%s '%s' already exists",
			k->noun, name);
	return rc == 0 ? 0 : -1;
}

/* Validate an optional array of names (body field key) into a
 * comma-joined list in out. */
static int name_list(struct api_ctx *c, const char *key, const char *what,
		     struct buf *out, bool *present)
{
	const cJSON *arr, *it;
	char path[JSON_PATH_MAX];
	size_t i = 0;

	*present = false;
	if (json_get_array(c->json, "$", key, false, &arr) < 0) {
		api_err_field(c, key);
		return -1;
	}
	if (arr == NULL)
		return 0;
	*present = true;
	cJSON_ArrayForEach(it, arr) {
		json_path_index(path, sizeof(path), key, i++);
		if (!cJSON_IsString(it) || name_validate(what, it->valuestring) < 0) {
			if (!cJSON_IsString(it))
				err_set("%s: expected a %s name", path, what);
			else
				err_prefix("%s", path);
			api_err_field(c, key);
			return -1;
		}
		if ((out->len && buf_puts(out, ",") < 0) ||
		    buf_puts(out, it->valuestring) < 0) {
			api_err(c, 400, "invalid_field", key, "%s: too long", key);
			return -1;
		}
	}
	if (i > 64) {
		api_err(c, 400, "invalid_field", key, "%s: at most 64 entries", key);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ pools */

static int pool_fields(struct api_ctx *c, bool create)
{
	static const char *const keys[] = {"name", "cpu_ratio", "mem_ratio",
					   "disk_ratio", "policy",
					   "compliance_classes",
					   "migration_postcopy", "ha_reserve",
					   NULL};
	return api_body_object(c, create ? keys : keys + 1);
}

static int pool_policy(struct api_ctx *c, const char **policy, bool required)
{
	if (api_get_str(c, "policy", required, NULL, policy) < 0)
		return -1;
	if (*policy && strcmp(*policy, "pack") != 0 &&
	    strcmp(*policy, "spread") != 0) {
		api_err(c, 400, "invalid_field", "policy",
			"$.policy: expected 'pack' or 'spread', got '%.32s'",
			*policy);
		return -1;
	}
	return 0;
}

void h_pool_create(struct api_ctx *c)
{
	const char *name, *policy;
	double r[3];
	struct buf cl;
	bool have, postcopy;
	struct db_stmt *s;

	buf_init(&cl, 4096);
	if (pool_fields(c, true) < 0 ||
	    api_get_name(c, "name", "pool", true, &name) < 0 ||
	    api_get_bool(c, "migration_postcopy", false, false,
			 &postcopy) < 0 ||
	    api_get_double(c, "cpu_ratio", false, 0.01, 100, 1, &r[0]) < 0 ||
	    api_get_double(c, "mem_ratio", false, 0.01, 100, 1, &r[1]) < 0 ||
	    api_get_double(c, "disk_ratio", false, 0.01, 100, 1, &r[2]) < 0 ||
	    pool_policy(c, &policy, false) < 0 ||
	    name_list(c, "compliance_classes", "compliance class", &cl, &have) < 0)
		goto out;
	res_target(c, &res_pools, name);
	if (api_begin(c) < 0)
		goto out;
	if (name_free(c, &res_pools, name) < 0)
		goto out;
	s = api_stmt(c, "INSERT INTO pools(name, ratio_vcpus, ratio_mem, "
		    "ratio_disk, policy, compliance, created_ms, "
		    "migration_postcopy) VALUES (?,?,?,?,?,?,?,?)");
	if (s == NULL)
		goto out;
	store_bind_text(s, 1, name);
	for (int i = 0; i < 3; i++)
		db_bind_double(s, 2 + i, r[i]);
	store_bind_text(s, 5, policy ? policy : "pack");
	store_bind_text(s, 6, buf_str(&cl));
	db_bind_int64(s, 7, time_wall_ms());
	db_bind_int64(s, 8, postcopy);
	if (api_step_write(c, s, "creating the pool") < 0 ||
	    api_ha_pool_patch(c, name) < 0)
		goto out;
	res_created(c, &res_pools, name);
out:
	buf_free(&cl);
}

/* Whether a PATCH names key (a value, or null for the field's default). */
static bool patch_given(struct api_ctx *c, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(c->json, key) != NULL;
}

/* A PATCH changes the fields it names and nothing else: each column is
 * SET col = CASE WHEN ?given THEN ?value ELSE col END, so one statement
 * serves every combination of fields. */
#define PATCH_COL(col, given, value) \
	col " = CASE WHEN ?" given " THEN ?" value " ELSE " col " END"
/* The PATCH of five columns of the row named ?11. */
#define PATCH_SQL5(table, c1, c2, c3, c4, c5)                               \
	"UPDATE " table " SET " PATCH_COL(c1, "1", "2") ", "                 \
	PATCH_COL(c2, "3", "4") ", " PATCH_COL(c3, "5", "6") ", "            \
	PATCH_COL(c4, "7", "8") ", " PATCH_COL(c5, "9", "10")                \
	" WHERE name = ?11"
/* The PATCH of six columns of the row named ?13. */
#define PATCH_SQL6(table, c1, c2, c3, c4, c5, c6)                           \
	"UPDATE " table " SET " PATCH_COL(c1, "1", "2") ", "                 \
	PATCH_COL(c2, "3", "4") ", " PATCH_COL(c3, "5", "6") ", "            \
	PATCH_COL(c4, "7", "8") ", " PATCH_COL(c5, "9", "10") ", "           \
	PATCH_COL(c6, "11", "12") " WHERE name = ?13"

/* The "given" flags of a PATCH_COL statement: ?first, ?first+2, ...
 * (values in between) for each of the n keys. */
static void patch_bind_given(struct api_ctx *c, struct db_stmt *s, int first,
			     const char *const *keys, int n)
{
	for (int i = 0; i < n; i++)
		db_bind_int64(s, first + 2 * i, patch_given(c, keys[i]));
}

void h_pool_patch(struct api_ctx *c)
{
	static const char *const keys[] = {"cpu_ratio", "mem_ratio",
					   "disk_ratio", "policy",
					   "compliance_classes",
					   "migration_postcopy"};
	const char *name = c->m->params[0], *policy;
	struct buf cl;
	double r[3];
	bool have, postcopy;
	struct db_stmt *s;

	buf_init(&cl, 4096);
	res_target(c, &res_pools, name);
	/* null: a ratio of 1, policy pack, no compliance classes (any), no
	 * post-copy */
	if (pool_fields(c, false) < 0 ||
	    api_get_double(c, keys[0], false, 0.01, 100, 1, &r[0]) < 0 ||
	    api_get_double(c, keys[1], false, 0.01, 100, 1, &r[1]) < 0 ||
	    api_get_double(c, keys[2], false, 0.01, 100, 1, &r[2]) < 0 ||
	    pool_policy(c, &policy, false) < 0 ||
	    name_list(c, keys[4], "compliance class", &cl, &have) < 0 ||
	    api_get_bool(c, keys[5], false, false, &postcopy) < 0)
		goto out;
	if (api_begin(c) < 0 || res_must_exist(c, &res_pools, name, NULL) < 0)
		goto out;
	s = api_stmt(c, PATCH_SQL6("pools", "ratio_vcpus", "ratio_mem",
				   "ratio_disk", "policy", "compliance",
				   "migration_postcopy"));
	if (s == NULL)
		goto out;
	patch_bind_given(c, s, 1, keys, 6);
	for (int i = 0; i < 3; i++)
		db_bind_double(s, 2 + 2 * i, r[i]);
	store_bind_text(s, 8, policy ? policy : "pack");
	store_bind_text(s, 10, buf_str(&cl));
	db_bind_int64(s, 12, postcopy);
	store_bind_text(s, 13, name);
	if (api_step_write(c, s, "updating the pool") < 0 ||
	    api_ha_pool_patch(c, name) < 0)
		goto out;
	res_answer(c, &res_pools, name, 200);
out:
	buf_free(&cl);
}

/* ------------------------------------------------------------------ hosts */

void h_host_patch(struct api_ctx *c)
{
	static const char *const keys[] = {"maintenance", "cost",
					   "availability", "storage_address",
					   "fence_command", "fence_address",
					   NULL};
	const char *name = c->m->params[0];
	struct db_stmt *s;
	bool maint;
	double cost, avail;

	res_target(c, &res_hosts, name);
	/* null: out of maintenance, the defaults of a new host */
	if (api_body_object(c, keys) < 0 ||
	    api_get_bool(c, keys[0], false, false, &maint) < 0 ||
	    api_get_double(c, keys[1], false, 0, 1e9, 1, &cost) < 0 ||
	    api_get_double(c, keys[2], false, 0, 1, 0.999, &avail) < 0)
		return;
	if (api_begin(c) < 0 || res_must_exist(c, &res_hosts, name, NULL) < 0)
		return;
	s = api_stmt(c, "UPDATE hosts SET " PATCH_COL("maintenance", "1", "2")
		    ", " PATCH_COL("cost", "3", "4")
		    ", " PATCH_COL("availability", "5", "6") " WHERE name = ?7");
	if (s == NULL)
		return;
	patch_bind_given(c, s, 1, keys, 3);
	db_bind_int64(s, 2, maint);
	db_bind_double(s, 4, cost);
	db_bind_double(s, 6, avail);
	store_bind_text(s, 7, name);
	if (api_step_write(c, s, "updating the host") < 0 ||
	    api_ha_host_patch(c, name) < 0)
		return;
	res_answer(c, &res_hosts, name, 200);
}

/* ---------------------------------------------------------------- tenants */

/* The quota object (or null: every limit lifted) into four values in the
 * order of the tenants' quota columns: a limit, -1 for null (unlimited)
 * or -2 when the key is absent (a PATCH leaves that limit). */
static int tenant_quota(struct api_ctx *c, int64_t q[4])
{
	static const char *const keys[] = {"vcpus", "mem_mib", "disk_gib", "vms",
					   NULL};
	const cJSON *qo;

	for (int i = 0; i < 4; i++)
		q[i] = patch_given(c, "quota") ? -1 : -2;
	if (json_get_object(c->json, "$", "quota", false, &qo) < 0) {
		api_err_field(c, "quota");
		return -1;
	}
	if (qo == NULL)
		return 0;
	if (json_check_keys(qo, "$.quota", keys) < 0) {
		api_err_field(c, "quota");
		return -1;
	}
	for (int i = 0; i < 4; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(qo, keys[i]);

		if (v == NULL)
			q[i] = -2;
		else if (!cJSON_IsNull(v) &&
			 json_get_int(qo, "$.quota", keys[i], true, 0,
				      INT64_C(1) << 40, 0, &q[i]) < 0) {
			api_err_field(c, "quota");
			return -1;
		}
	}
	return 0;
}

static void bind_quota(struct db_stmt *s, int first, const int64_t q[4])
{
	for (int i = 0; i < 4; i++) {
		if (q[i] < 0)
			db_bind_null(s, first + i);
		else
			db_bind_int64(s, first + i, q[i]);
	}
}

static int tenant_set_pools(struct api_ctx *c, const char *tenant,
			    const char *csv)
{
	struct db_stmt *s = api_stmt(c, "DELETE FROM tenant_pools WHERE tenant = ?");
	const char *p = csv;

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, tenant);
	if (api_step_write(c, s, "updating the tenant's pools") < 0)
		return -1;
	while (*p) {
		char pool[NAME_MAX_LEN + 1];
		size_t len = strcspn(p, ",");

		snprintf(pool, sizeof(pool), "%.*s", (int)len, p);
		p += len + (p[len] == ',');
		if (res_must_exist(c, &res_pools, pool, "pools") < 0)
			return -1;
		s = api_stmt(c, "INSERT INTO tenant_pools(tenant, pool) "
			    "VALUES (?, ?) ON CONFLICT DO NOTHING");
		if (s == NULL)
			return -1;
		store_bind_text(s, 1, tenant);
		store_bind_text(s, 2, pool);
		if (api_step_write(c, s, "updating the tenant's pools") < 0)
			return -1;
	}
	return 0;
}

static int isolation_field(struct api_ctx *c, const char **iso)
{
	if (api_get_str(c, "isolation", false, NULL, iso) < 0)
		return -1;
	if (*iso && strcmp(*iso, "shared") != 0 && strcmp(*iso, "dedicated") != 0) {
		api_err(c, 400, "invalid_field", "isolation",
			"$.isolation: expected 'shared' or 'dedicated', got "
			"'%.32s'", *iso);
		return -1;
	}
	return 0;
}

void h_tenant_create(struct api_ctx *c)
{
	static const char *const keys[] = {"name", "isolation",
					   "compliance_class", "pools",
					   "quota", "wipe_on_delete", NULL};
	const char *name, *iso, *cls;
	int64_t q[4];
	bool have_p, wipe;
	struct buf pools;
	struct db_stmt *s;

	buf_init(&pools, 8192);
	if (api_body_object(c, keys) < 0 ||
	    api_get_name(c, "name", "tenant", true, &name) < 0 ||
	    isolation_field(c, &iso) < 0 ||
	    api_get_name(c, "compliance_class", "compliance class", false,
			 &cls) < 0 ||
	    name_list(c, "pools", "pool", &pools, &have_p) < 0 ||
	    tenant_quota(c, q) < 0 ||
	    api_get_bool(c, "wipe_on_delete", false, false, &wipe) < 0)
		goto out;
	res_target(c, &res_tenants, name);
	if (api_begin(c) < 0)
		goto out;
	if (name_free(c, &res_tenants, name) < 0)
		goto out;
	s = api_stmt(c, "INSERT INTO tenants(name, isolation, compliance_class, "
		    "quota_vcpus, quota_mem_mib, quota_disk_gib, quota_vms, "
		    "created_ms, wipe_on_delete) VALUES (?,?,?,?,?,?,?,?,?)");
	if (s == NULL)
		goto out;
	store_bind_text(s, 1, name);
	store_bind_text(s, 2, iso ? iso : "shared");
	store_bind_text(s, 3, cls ? cls : "standard");
	bind_quota(s, 4, q);
	db_bind_int64(s, 8, time_wall_ms());
	db_bind_int64(s, 9, wipe);
	if (api_step_write(c, s, "creating the tenant") < 0)
		goto out;
	if (tenant_set_pools(c, name, buf_str(&pools)) < 0)
		goto out;
	res_created(c, &res_tenants, name);
out:
	buf_free(&pools);
}

void h_tenant_patch(struct api_ctx *c)
{
	static const char *const keys[] = {"compliance_class", "pools", "quota",
					   "wipe_on_delete", NULL};
	const char *name = c->m->params[0], *cls;
	int64_t q[4];
	bool have_p, wipe;
	struct buf pools;
	struct db_stmt *s;

	buf_init(&pools, 8192);
	res_target(c, &res_tenants, name);
	/* null: class standard, every pool allowed, no limit */
	if (api_body_object(c, keys) < 0 ||
	    api_get_name(c, keys[0], "compliance class", false, &cls) < 0 ||
	    name_list(c, keys[1], "pool", &pools, &have_p) < 0 ||
	    tenant_quota(c, q) < 0 ||
	    api_get_bool(c, keys[3], false, false, &wipe) < 0)
		goto out;
	if (api_begin(c) < 0 || res_must_exist(c, &res_tenants, name, NULL) < 0)
		goto out;
	s = api_stmt(c, PATCH_SQL5("tenants", "compliance_class",
				   "quota_vcpus", "quota_mem_mib",
				   "quota_disk_gib", "quota_vms"));
	if (s == NULL)
		goto out;
	db_bind_int64(s, 1, patch_given(c, keys[0]));
	store_bind_text(s, 2, cls ? cls : "standard");
	for (int i = 0; i < 4; i++) {
		db_bind_int64(s, 3 + 2 * i, q[i] != -2);
		if (q[i] >= 0)
			db_bind_int64(s, 4 + 2 * i, q[i]);
		else
			db_bind_null(s, 4 + 2 * i);
	}
	store_bind_text(s, 11, name);
	if (api_step_write(c, s, "updating the tenant") < 0)
		goto out;
	if (patch_given(c, keys[1]) &&
	    tenant_set_pools(c, name, buf_str(&pools)) < 0)
		goto out;
	if (patch_given(c, keys[3])) {
		/* null: no wipe */
		s = api_stmt(c, "UPDATE tenants SET wipe_on_delete = ? "
			     "WHERE name = ?");
		if (s == NULL)
			goto out;
		db_bind_int64(s, 1, wipe);
		store_bind_text(s, 2, name);
		if (api_step_write(c, s, "updating the tenant") < 0)
			goto out;
	}
	res_answer(c, &res_tenants, name, 200);
out:
	buf_free(&pools);
}

/* ----------------------------------------------------------------- groups */

void h_group_create(struct api_ctx *c)
{
	static const char *const keys[] = {"name", "tenant", "policy",
					   "availability", NULL};
	const char *name, *tenant, *policy;
	double avail;
	struct db_stmt *s;

	if (api_body_object(c, keys) < 0 ||
	    api_get_name(c, "name", "group", true, &name) < 0 ||
	    api_get_name(c, "tenant", "tenant", !api_is_tenant(c), &tenant) < 0 ||
	    api_get_str(c, "policy", false, "anti-affinity", &policy) < 0 ||
	    api_get_double(c, "availability", false, 0, 1, 0, &avail) < 0)
		return;
	if (tenant == NULL)
		tenant = c->who.tenant;
	res_target(c, &res_groups, name);
	if (strcmp(policy, "affinity") != 0 && strcmp(policy, "anti-affinity") != 0) {
		api_err(c, 400, "invalid_field", "policy",
			"$.policy: expected 'affinity' or 'anti-affinity', got "
			"'%.32s'", policy);
		return;
	}
	if (api_begin(c) < 0)
		return;
	if (api_hidden_tenant(c, tenant)) {
		api_err(c, 404, "not_found", "tenant",
			"tenant '%s' does not exist", tenant);
		return;
	}
	if (res_must_exist(c, &res_tenants, tenant, "tenant") < 0 ||
	    name_free(c, &res_groups, name) < 0)
		return;
	s = api_stmt(c, "INSERT INTO groups(name, tenant, policy, availability, "
		    "created_ms) VALUES (?,?,?,?,?)");
	if (s == NULL)
		return;
	store_bind_text(s, 1, name);
	store_bind_text(s, 2, tenant);
	store_bind_text(s, 3, policy);
	db_bind_double(s, 4, avail);
	db_bind_int64(s, 5, time_wall_ms());
	if (api_step_write(c, s, "creating the group") < 0)
		return;
	res_created(c, &res_groups, name);
}

/* ---------------------------------------------------------------- flavors */

void h_flavor_create(struct api_ctx *c)
{
	static const char *const keys[] = {"name", "vcpus", "mem_mib",
					   "disk_gib", "requires_image", "storage",
					   NULL};
	const char *name, *storage;
	int64_t v, m, d;
	bool img;
	struct db_stmt *s;

	if (api_body_object(c, keys) < 0 ||
	    api_get_name(c, "name", "flavor", true, &name) < 0 ||
	    api_get_int(c, "vcpus", true, 1, 256, 1, &v) < 0 ||
	    api_get_int(c, "mem_mib", true, 16, 4194304, 1, &m) < 0 ||
	    api_get_int(c, "disk_gib", true, 1, 65536, 1, &d) < 0 ||
	    api_get_bool(c, "requires_image", false, false, &img) < 0 ||
	    api_get_name(c, "storage", "storage pool", false, &storage) < 0)
		return;
	res_target(c, &res_flavors, name);
	if (api_begin(c) < 0)
		return;
	if (name_free(c, &res_flavors, name) < 0 ||
	    (storage && res_must_exist(c, &res_storage, storage, "storage") < 0))
		return;
	s = api_stmt(c, "INSERT INTO flavors(name, vcpus, mem_mib, disk_gib, "
		    "created_ms, requires_image, storage) VALUES "
		    "(?,?,?,?,?,?,?)");
	if (s == NULL)
		return;
	store_bind_text(s, 1, name);
	db_bind_int64(s, 2, v);
	db_bind_int64(s, 3, m);
	db_bind_int64(s, 4, d);
	db_bind_int64(s, 5, time_wall_ms());
	db_bind_int64(s, 6, img);
	store_bind_text(s, 7, storage);
	if (api_step_write(c, s, "creating the flavor") < 0)
		return;
	res_created(c, &res_flavors, name);
}

/* ----------------------------------------------------------------- tokens */

/* The most registrations one join token may be made for. */
#define TOKEN_USES_MAX 10000

/* The body's "ttl_s" (seconds; 0: never, only when token_ttl_max is 0),
 * or token_ttl_default (also without a body), as the expiry: 0 with
 * *expires_ms set (ms since the epoch, -1: never), or -1 with a 400
 * answer. A join token (join) always expires: join_token_ttl, at most
 * join_token_ttl_max. */
static int token_expiry(struct api_ctx *c, bool join, int64_t now_ms,
			int64_t *expires_ms)
{
	const struct ctrl_config *cfg = &c->ctrl->cfg;
	int64_t max = cfg->token_ttl_max_s ? cfg->token_ttl_max_s
					   : 100LL * 365 * 86400;
	int64_t min = cfg->token_ttl_max_s ? 1 : 0;
	int64_t ttl = cfg->token_ttl_default_s;

	if (join) {
		min = 1;
		max = cfg->join_token_ttl_max_s;
		ttl = cfg->join_token_ttl_s;
	}
	if (c->json && api_get_int(c, "ttl_s", false, min, max, ttl, &ttl) < 0)
		return -1;
	*expires_ms = ttl == 0 ? -1 : now_ms + ttl * 1000;
	return 0;
}

/* Bind expires_ms (-1: NULL) to parameter i of s. */
static void bind_expiry(struct db_stmt *s, int i, int64_t expires_ms)
{
	if (expires_ms < 0)
		db_bind_null(s, i);
	else
		db_bind_int64(s, i, expires_ms);
}

void h_token_create(struct api_ctx *c)
{
	static const char *const keys[] = {"role", "tenant", "description",
					   "ttl_s", "uses", NULL};
	char token[AUTH_TOKEN_LEN + 1], hash[AUTH_HASH_LEN + 1], id[37];
	const char *role, *tenant, *desc;
	int64_t now = time_wall_ms(), expires, uses;
	enum auth_role r;
	struct db_stmt *s;

	if (api_body_object(c, keys) < 0 ||
	    api_get_str(c, "role", true, NULL, &role) < 0 ||
	    api_get_name(c, "tenant", "tenant", false, &tenant) < 0 ||
	    api_get_str(c, "description", false, "", &desc) < 0)
		return;
	r = auth_role_parse(role);
	if (r == ROLE_NONE || r == ROLE_AGENT) {
		api_err(c, 400, "invalid_field", "role",
			"$.role: expected one of admin, operator, tenant, "
			"viewer, join, got '%.32s' (agent credentials are "
			"issued at registration)", role);
		return;
	}
	/* a join token registers this many nodes, then stops working */
	if (r != ROLE_JOIN && patch_given(c, "uses")) {
		api_err(c, 400, "invalid_field", "uses", "$.uses: only a join "
			"token has a number of uses");
		return;
	}
	if (token_expiry(c, r == ROLE_JOIN, now, &expires) < 0 ||
	    api_get_int(c, "uses", false, 1, TOKEN_USES_MAX, 1, &uses) < 0)
		return;
	if ((r == ROLE_TENANT) != (tenant != NULL)) {
		api_err(c, 400, "invalid_field", "tenant",
			r == ROLE_TENANT ? "$.tenant: a tenant token needs "
					   "'tenant'"
					 : "$.tenant: only a tenant token is "
					   "scoped to a tenant");
		return;
	}
	if (strlen(desc) > 256) {
		api_err(c, 400, "invalid_field", "description",
			"$.description: at most 256 characters");
		return;
	}
	if (api_begin(c) < 0)
		return;
	if (tenant && res_must_exist(c, &res_tenants, tenant, "tenant") < 0)
		return;
	if (auth_token_new(token, hash) < 0 || uuid_generate_v4(id) < 0) {
		api_err_internal(c, "creating a token");
		return;
	}
	res_target(c, &res_tokens, id);
	s = api_stmt(c, "INSERT INTO tokens(id, hash, role, tenant, description, "
		    "created_ms, expires_ms, uses_left) VALUES (?,?,?,?,?,?,?,?)");
	if (s == NULL)
		return;
	store_bind_text(s, 1, id);
	store_bind_text(s, 2, hash);
	store_bind_text(s, 3, role);
	store_bind_text(s, 4, tenant);
	store_bind_text(s, 5, desc);
	db_bind_int64(s, 6, now);
	bind_expiry(s, 7, expires);
	if (r == ROLE_JOIN)
		db_bind_int64(s, 8, uses);
	else
		db_bind_null(s, 8);
	if (api_step_write(c, s, "creating the token") < 0)
		return;
	res_created(c, &res_tokens, id);
	/* the one time the secret is shown: only its hash is kept */
	if (c->status == 201)
		cJSON_AddStringToObject(c->resp, "token", token);
}

void h_token_delete(struct api_ctx *c)
{
	const char *id = c->m->params[0];

	if (strcmp(id, c->who.token_id) == 0) {
		res_target(c, &res_tokens, id);
		api_err(c, 409, "conflict", NULL, "refusing to revoke the token "
			"this request uses: use another admin token");
	} else {
		res_delete(c, &res_tokens);
	}
}

void h_token_rotate(struct api_ctx *c)
{
	static const char *const keys[] = {"ttl_s", NULL};
	const char *id = c->m->params[0];
	char token[AUTH_TOKEN_LEN + 1], hash[AUTH_HASH_LEN + 1];
	int64_t expires;
	struct db_stmt *s;
	bool join;
	int rc;

	res_target(c, &res_tokens, id);
	if ((c->json && api_body_object(c, keys) < 0) || api_begin(c) < 0 ||
	    res_must_exist(c, &res_tokens, id, NULL) < 0)
		return;
	rc = api_find(c, "SELECT role = 'join' FROM tokens WHERE id = ?", id,
		      &s, "reading the token");
	if (rc <= 0)
		return;
	join = db_col_int(s, 0);
	db_reset(s);
	/* a join token keeps its uses left */
	if (token_expiry(c, join, time_wall_ms(), &expires) < 0)
		return;
	if (auth_token_new(token, hash) < 0) {
		api_err_internal(c, "rotating a token");
		return;
	}
	s = api_stmt(c, "UPDATE tokens SET hash = ?, expires_ms = ? "
		     "WHERE id = ?");
	if (s == NULL)
		return;
	store_bind_text(s, 1, hash);
	bind_expiry(s, 2, expires);
	store_bind_text(s, 3, id);
	if (api_step_write(c, s, "rotating the token") < 0)
		return;
	res_answer(c, &res_tokens, id, 200);
	/* the new secret, shown this once; the old one no longer works */
	if (c->status == 200)
		cJSON_AddStringToObject(c->resp, "token", token);
}

/* ------------------------------------------------------------------ audit */

/* The anchor of ?seq=&hash= (both or neither): 1 with *a, 0 when none
 * was given, -1 with a 400 answer. */
static int audit_anchor_query(struct api_ctx *c, struct audit_head *a)
{
	const char *seq = api_query(c, "seq"), *hash = api_query(c, "hash");
	char text[AUDIT_HEAD_TEXT + 8];

	if (seq == NULL && hash == NULL)
		return 0;
	if (seq == NULL || hash == NULL) {
		api_err(c, 400, "invalid_query", seq ? "hash" : "seq",
			"an anchor is given with both query parameters 'seq' "
			"and 'hash'");
		return -1;
	}
	if (strlen(seq) > 20 || strlen(hash) > AUTH_HASH_LEN) {
		err_set("the anchor's 'seq' or 'hash' is too long");
	} else {
		snprintf(text, sizeof(text), "%s:%s", seq, hash);
		if (audit_head_parse(text, a) == 0)
			return 1;
	}
	api_err(c, 400, "invalid_query", "seq", "%s: 'seq' is an entry number "
		"and 'hash' its 64 lowercase hex digits, as in the state "
		"directory's audit.anchor", err_msg());
	return -1;
}

void h_audit_verify(struct api_ctx *c)
{
	struct audit_head anchor;
	struct audit_report r;
	cJSON *o, *h;
	int an = audit_anchor_query(c, &anchor);

	if (an < 0)
		return;
	if (audit_verify(c->ctrl->st, an ? &anchor : NULL, &r) < 0) {
		api_err_internal(c, "verifying the audit log");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", r.ok);
	cJSON_AddNumberToObject(o, "entries", (double)r.entries);
	if (r.ok) {
		cJSON_AddNullToObject(o, "bad_seq");
		cJSON_AddNullToObject(o, "reason");
	} else {
		cJSON_AddNumberToObject(o, "bad_seq", (double)r.bad_seq);
		cJSON_AddStringToObject(o, "reason", r.reason);
	}
	h = cJSON_AddObjectToObject(o, "head");
	cJSON_AddNumberToObject(h, "seq", (double)r.last.seq);
	cJSON_AddStringToObject(h, "hash", r.last.hash);
	cJSON_AddBoolToObject(o, "anchored", r.anchored);
	api_ok(c, 200, o);
}

/* ------------------------------------------------------------ utilisation */

/* Answer GET /v1/{pools,hosts}/{name}/utilization for the pool or host
 * (kind) named by the path: read_now reads it now, t holds its series. */
static void api_util(struct api_ctx *c, const char *kind,
		     int (*read_now)(struct store *, const char *,
				     struct eta_pool *),
		     const struct series_table *t)
{
	const char *name = c->m->params[0], *since_q = api_query(c, "since");
	int64_t now = time_wall_ms(), since = now - 3600 * 1000LL;
	struct eta_pool u;
	cJSON *o;

	if (since_q && parse_int64(since_q, &since) < 0) {
		api_err(c, 400, "invalid_query", "since",
			"query parameter 'since' must be a time in ms since "
			"the epoch");
	} else if (read_now(c->ctrl->st, name, &u) < 0) {
		api_err_internal(c, "computing utilisation");
	} else if (!u.found) {
		api_err(c, 404, "not_found", NULL, "%s '%s' does not exist",
			kind, name);
	} else {
		o = eta_now_json(kind, name, now, &u);
		if (strcmp(kind, "pool") == 0 &&
		    api_ha_reserve_json(c, name, o) < 0) {
			cJSON_Delete(o);
			return;
		}
		if (eta_series_json(c->ctrl->st, t, name, since,
				    cJSON_AddArrayToObject(o, "series")) == 0) {
			api_ok(c, 200, o);
		} else {
			cJSON_Delete(o);
			api_err_internal(c, "reading the utilisation series");
		}
	}
}

void h_pool_util(struct api_ctx *c)
{
	api_util(c, "pool", eta_pool_now, &series_pools);
}

void h_host_util(struct api_ctx *c)
{
	api_util(c, "host", eta_host_now, &series_hosts);
}

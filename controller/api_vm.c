/* VMs and tasks: create (placement + claim in one transaction), list,
 * show, lifecycle through the hosts' desired state, migrate and reboot
 * tasks. */
#include <ctype.h>

#include "common/err.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "controller/api.h"
#include "controller/db.h"
#include "controller/domname.h"
#include "controller/idem.h"
#include "controller/netstate.h"
#include "controller/place.h"
#include "controller/report.h"
#include "controller/resource.h"
#include "controller/storage.h"
#include "controller/store.h"
#include "controller/task.h"
#include "controller/vmref.h"

static void add_str_or_null(cJSON *o, const char *key, struct db_stmt *s, int i)
{
	if (db_col_type(s, i) == DB_NULL ||
	    store_col_text(s, i)[0] == '\0')
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddStringToObject(o, key, store_col_text(s, i));
}

cJSON *api_vm_json(struct db_stmt *s)
{
	cJSON *o = cJSON_CreateObject(), *u;

	cJSON_AddStringToObject(o, "id", store_col_text(s, 0));
	cJSON_AddStringToObject(o, "name", store_col_text(s, 1));
	cJSON_AddStringToObject(o, "tenant", store_col_text(s, 2));
	add_str_or_null(o, "group", s, 3);
	cJSON_AddStringToObject(o, "flavor", store_col_text(s, 4));
	if (db_col_type(s, 19) == DB_NULL) {
		cJSON_AddNullToObject(o, "image");
	} else {
		u = cJSON_AddObjectToObject(o, "image");
		cJSON_AddStringToObject(u, "id", store_col_text(s, 19));
		cJSON_AddStringToObject(u, "name", store_col_text(s, 21));
		cJSON_AddStringToObject(u, "sha256", store_col_text(s, 20));
	}
	cJSON_AddStringToObject(o, "pool", store_col_text(s, 5));
	cJSON_AddStringToObject(o, "storage", store_col_text(s, 23));
	cJSON_AddStringToObject(o, "host", store_col_text(s, 6));
	cJSON_AddNumberToObject(o, "vcpus", (double)db_col_int64(s, 7));
	cJSON_AddNumberToObject(o, "mem_mib", (double)db_col_int64(s, 8));
	cJSON_AddNumberToObject(o, "disk_gib", (double)db_col_int64(s, 9));
	cJSON_AddStringToObject(o, "desired_state", store_col_text(s, 10));
	cJSON_AddStringToObject(o, "state", store_col_text(s, 11));
	add_str_or_null(o, "error", s, 12);
	u = cJSON_AddObjectToObject(o, "usage");
	cJSON_AddNumberToObject(u, "cpu_pct", db_col_double(s, 16));
	cJSON_AddNumberToObject(u, "balloon_mib",
				(double)db_col_int64(s, 17));
	cJSON_AddNumberToObject(u, "disk_alloc_bytes",
				(double)db_col_int64(s, 18));
	if (db_col_type(s, 22) == DB_NULL)
		cJSON_AddNullToObject(o, "migration_postcopy");
	else
		cJSON_AddBoolToObject(o, "migration_postcopy",
				      db_col_int(s, 22) != 0);
	cJSON_AddStringToObject(o, "ha", store_col_text(s, 24));
	cJSON_AddNumberToObject(o, "ha_priority", (double)db_col_int64(s, 25));
	cJSON_AddNumberToObject(o, "created_ms",
				(double)db_col_int64(s, 13));
	cJSON_AddNumberToObject(o, "updated_ms",
				(double)db_col_int64(s, 14));
	return o;
}

static void vm_missing(struct api_ctx *c, const char *id)
{
	api_err(c, 404, "not_found", NULL, "VM '%.64s' does not exist: list "
		"VMs with 'finctl vm list'", id);
}

/* The row of VM id (API_VM_COLS) into *s: 1 (read it, then reset *s); 0
 * with a 404 answer when there is no such VM or it is another tenant's;
 * -1 with a 500 answer when it cannot be read. */
static int vm_find(struct api_ctx *c, const char *id, struct db_stmt **s)
{
	int rc = api_find(c, "SELECT " API_VM_COLS " FROM vms WHERE id = ?",
			  id, s, "reading the VM");

	if (rc > 0 && api_hidden_tenant(c, store_col_text(*s, 2))) {
		db_reset(*s);
		rc = 0;
	}
	if (rc == 0)
		vm_missing(c, id);
	return rc;
}

/* See api.h. */
struct db_stmt *api_vm_load(struct api_ctx *c)
{
	const char *ref = c->m->params[0];
	char id[VMREF_ID_LEN];
	struct db_stmt *s = NULL;

	snprintf(c->audit_target, sizeof(c->audit_target), "vm:%s", ref);
	if (vmref_resolve(c, ref, api_query(c, "tenant"), id) <= 0 ||
	    vm_find(c, id, &s) <= 0)
		return NULL;
	snprintf(c->audit_target, sizeof(c->audit_target), "vm:%s", id);
	return s;
}

/* What the lifecycle handlers read of a VM row. */
struct vm_row {
	char id[37];
	char tenant[NAME_MAX_LEN + 1];
	char group[NAME_MAX_LEN + 1];
	bool has_group;
	char host[NAME_MAX_LEN + 1];
	char pool[NAME_MAX_LEN + 1];
	char desired[16];
	char state[16];
	int64_t req[3];            /* vcpus, mem_mib, disk_gib */
};

/* Open the request's transaction and read the VM of path parameter 0
 * into *v. 0, or -1 with the answer set (404, 500). */
static int vm_begin(struct api_ctx *c, struct vm_row *v)
{
	struct db_stmt *s;

	if (api_begin(c) < 0 || (s = api_vm_load(c)) == NULL)
		return -1;
	str_copy(v->id, sizeof(v->id), store_col_text(s, 0));
	str_copy(v->tenant, sizeof(v->tenant), store_col_text(s, 2));
	v->has_group = db_col_type(s, 3) != DB_NULL;
	str_copy(v->group, sizeof(v->group), store_col_text(s, 3));
	str_copy(v->host, sizeof(v->host), store_col_text(s, 6));
	str_copy(v->pool, sizeof(v->pool), store_col_text(s, 5));
	str_copy(v->desired, sizeof(v->desired), store_col_text(s, 10));
	str_copy(v->state, sizeof(v->state), store_col_text(s, 11));
	for (int i = 0; i < 3; i++)
		v->req[i] = db_col_int64(s, 7 + i);
	db_reset(s);
	return 0;
}

static void vm_answer(struct api_ctx *c, const char *id, int status)
{
	struct db_stmt *s;

	if (vm_find(c, id, &s) > 0) {
		api_ok(c, status, api_vm_json(s));
		db_reset(s);
	}
}

void h_vm_get(struct api_ctx *c)
{
	struct db_stmt *s = api_vm_load(c);

	c->audit_target[0] = '\0';
	if (s)
		api_ok(c, 200, api_vm_json(s));
}

void h_vm_list(struct api_ctx *c)
{
	static const char *const filters[] = {"tenant", "host", "state", "pool",
					      "group", "flavor"};
	const char *f[FC_ARRAY_LEN(filters)];
	struct api_page pg;
	struct db_stmt *s;

	if (api_page_open(c, &pg, 15, true) < 0)
		return;
	for (size_t i = 0; i < FC_ARRAY_LEN(filters); i++) {
		f[i] = api_query(c, filters[i]);
		if (f[i] && strlen(f[i]) > 64) {
			api_err(c, 400, "invalid_query", filters[i],
				"query parameter '%s' is too long",
				filters[i]);
			return;
		}
	}
	if (api_is_tenant(c)) {
		if (f[0] && strcmp(f[0], c->who.tenant) != 0) {
			api_page_close(c, &pg);
			return;
		}
		f[0] = c->who.tenant;
	}
	s = api_stmt(c, "SELECT " API_VM_COLS " FROM vms WHERE seq > ?1 AND "
		    "(?2 IS NULL OR tenant = ?2) AND (?3 IS NULL OR host = ?3) "
		    "AND (?4 IS NULL OR state = ?4) AND (?5 IS NULL OR pool = ?5)"
		    " AND (?6 IS NULL OR grp = ?6) AND (?7 IS NULL OR flavor = ?7)"
		    " ORDER BY seq LIMIT ?8");
	if (s == NULL)
		return;
	db_bind_int64(s, 1, pg.after_seq);
	for (int i = 0; i < 6; i++)
		store_bind_text(s, 2 + i, f[i]);
	db_bind_int64(s, 8, pg.limit + 1);
	while (api_page_step(c, &pg, s) > 0)
		cJSON_AddItemToArray(pg.items, api_vm_json(s));
	api_page_close(c, &pg);
}

/* A controller-side task that follows a VM to the state it was asked for
 * (create, start, stop, delete): the agents never see it; their reports
 * end it (api_agent.c). An open one of the same VM is superseded. */
static int lifecycle_task(struct api_ctx *c, enum task_type type,
			  const char *vm, const char *tenant, const char *host,
			  const int64_t req[3], const char *cur_state)
{
	struct task_new t = {.type = type, .vm_id = vm, .tenant = tenant,
			     .source_host = host};
	char task[TASK_ID_LEN];

	memcpy(t.req, req, sizeof(t.req));
	if (task_supersede(c->ctrl->st, vm) < 0 ||
	    task_create(c->ctrl->st, &t, task) < 0)
		goto fail;
	/* already there (a stop of a VM that had shut down by itself) */
	if ((type == TASK_START && strcmp(cur_state, "running") == 0) ||
	    (type == TASK_STOP && strcmp(cur_state, "stopped") == 0)) {
		if (task_end(c->ctrl->st, task, TASK_DONE, NULL) != 0)
			goto fail;
	}
	return 0;
fail:
	api_err_internal(c, "recording the VM's task");
	return -1;
}

/* quota: -1 when it would be exceeded (answer set) */
static int vm_quota(struct api_ctx *c, const char *tenant, const int64_t req[3])
{
	static const char *const names[] = {"vCPUs", "MiB of memory",
					    "GiB of disk", "VMs"};
	struct db_stmt *s;
	int64_t use[4], quota[4];
	bool has[4];
	int rc;

	/* a VM counts until its host confirms it is gone (its claim) */
	rc = api_find(c, "SELECT t.quota_vcpus, t.quota_mem_mib, "
		      "t.quota_disk_gib, t.quota_vms, total(c.vcpus), "
		      "total(c.mem_mib), total(c.disk_gib), total(c.n) FROM "
		      "tenants t LEFT JOIN claims c ON c.tenant = t.name WHERE "
		      "t.name = ? GROUP BY t.name", tenant, &s,
		      "reading the quota");
	if (rc == 0) {
		/* the tenant was checked to exist before */
		err_set("no quota row for tenant '%s'", tenant);
		api_err_internal(c, "reading the quota");
	}
	if (rc <= 0)
		return -1;
	for (int i = 0; i < 4; i++) {
		has[i] = db_col_type(s, i) != DB_NULL;
		quota[i] = db_col_int64(s, i);
		use[i] = (int64_t)db_col_double(s, 4 + i);
	}
	db_reset(s);
	for (int i = 0; i < 4; i++) {
		int64_t want = i < 3 ? req[i] : 1;

		if (has[i] && use[i] + want > quota[i]) {
			api_err(c, 403, "quota_exceeded", NULL,
				"tenant '%s' would use %" PRId64 " %s, over "
				"its quota of %" PRId64 " (%" PRId64 " in use): "
				"delete VMs or ask an operator to raise the "
				"quota with 'finctl tenant set-quota'",
				tenant, use[i] + want, names[i], quota[i],
				use[i]);
			return -1;
		}
	}
	return 0;
}

/* The most a VM's first-boot settings may hold (docs/images.md): they
 * travel to its node in every desired state. */
#define VM_SSH_KEYS_MAX 32
#define VM_SSH_KEY_LEN 8192
#define VM_USER_DATA_MAX 65536

/* $.ssh_keys (optional): an array of at most VM_SSH_KEYS_MAX one-line
 * strings, into *out as JSON text (the caller frees it; "[]" when
 * absent). 0, or -1 with a 400 answer. */
static int vm_ssh_keys(struct api_ctx *c, char **out)
{
	const cJSON *a = NULL, *k;
	int i = 0;

	*out = NULL;
	if (json_get_array(c->json, "$", "ssh_keys", false, &a) < 0) {
		api_err_field(c, "ssh_keys");
		return -1;
	}
	if (cJSON_GetArraySize(a) > VM_SSH_KEYS_MAX) {
		api_err(c, 400, "invalid_field", "ssh_keys", "$.ssh_keys: at "
			"most %d keys", VM_SSH_KEYS_MAX);
		return -1;
	}
	cJSON_ArrayForEach(k, a) {
		if (!cJSON_IsString(k) || k->valuestring[0] == '\0' ||
		    strlen(k->valuestring) > VM_SSH_KEY_LEN ||
		    strpbrk(k->valuestring, "\r\n")) {
			api_err(c, 400, "invalid_field", "ssh_keys",
				"$.ssh_keys[%d]: a key is one line of text of "
				"1 to %d bytes", i, VM_SSH_KEY_LEN);
			return -1;
		}
		i++;
	}
	*out = a ? cJSON_PrintUnformatted(a) : strdup("[]");
	if (*out == NULL) {
		api_err_internal(c, "reading the SSH keys");
		return -1;
	}
	return 0;
}

/* The VM's image against its flavor (req: vcpus, mem_mib, disk_gib):
 * required when the flavor says so, found as the tenant sees it, and
 * fitting the flavor's memory and disk. 0 with *im (im->id "" when
 * none), or -1 answered. */
static int vm_image(struct api_ctx *c, const char *ref, const char *tenant,
		    const char *flavor, bool required, const int64_t *req,
		    struct api_image *im)
{
	memset(im, 0, sizeof(*im));
	if (ref == NULL) {
		if (required)
			api_err(c, 400, "invalid_field", "image", "$.image: "
				"flavor '%s' requires an image: add one "
				"('finctl image list', 'finctl vm create ... "
				"--image NAME')", flavor);
		return required ? -1 : 0;
	}
	if (strlen(ref) > 127) {
		api_err(c, 400, "invalid_field", "image", "$.image: at most "
			"127 characters");
		return -1;
	}
	if (api_image_find(c, ref, tenant, "image", im) < 0)
		return -1;
	if (im->virtual_size_bytes > req[2] * (int64_t)1073741824) {
		api_err(c, 400, "invalid_field", "image", "$.image: image '%s' "
			"is a %" PRId64 "-byte disk, larger than flavor '%s' "
			"(%" PRId64 " GiB): choose a larger flavor", im->name,
			im->virtual_size_bytes, flavor, req[2]);
		return -1;
	}
	if (im->min_mem_mib > req[1]) {
		api_err(c, 400, "invalid_field", "image", "$.image: image '%s' "
			"needs at least %" PRId64 " MiB of memory, flavor '%s' "
			"has %" PRId64 ": choose a larger flavor", im->name,
			im->min_mem_mib, flavor, req[1]);
		return -1;
	}
	return 0;
}

/* The VM's storage pool: it exists, and a ceph pool holds RBD clones of
 * an image, so a VM on one needs an image. 0, or -1 with the answer
 * set (404, 400, 500). */
static int vm_storage(struct api_ctx *c, const char *storage,
		      const char *image)
{
	struct db_stmt *s;
	int rc = api_find(c, "SELECT type FROM storage_pools WHERE name = ?",
			  storage, &s, "reading the storage pool");
	bool ceph;

	if (rc < 0)
		return -1;
	if (rc == 0) {
		api_err(c, 404, "not_found", "storage", "$.storage: storage "
			"pool '%s' does not exist: list them with 'finctl "
			"storage list'", storage);
		return -1;
	}
	ceph = strcmp(store_col_text(s, 0), "ceph") == 0;
	db_reset(s);
	if (ceph && image == NULL) {
		api_err(c, 400, "invalid_field", "image", "$.image: a VM on "
			"ceph storage pool '%s' is a clone of an image: add "
			"one ('finctl vm create ... --image NAME')", storage);
		return -1;
	}
	return 0;
}

/* The rest of h_vm_create, once the body's fields are read (postcopy:
 * $.migration_postcopy, 1 or 0, -1 when absent or null). */
static void vm_create_in(struct api_ctx *c, const char *tenant,
			 const char *flavor, const char *name,
			 const char *group, const char *pool, const char *image,
			 const char *storage, const char *ssh_keys,
			 const char *user_data, int postcopy)
{
	char storage_buf[NAME_MAX_LEN + 1];
	char gen_name[16], id[37], host[128], why[1024], first[IDEM_ID_LEN];
	char hpool[NAME_MAX_LEN + 1];
	struct place_request pr = {0};
	struct netstate_bind bind;
	struct api_image im;
	bool needs_image;
	int64_t req[3];
	struct db_stmt *s;
	int rc;

	if (tenant == NULL)
		tenant = c->who.tenant;
	if (api_hidden_tenant(c, tenant)) {
		api_err(c, 404, "not_found", "tenant",
			"tenant '%s' does not exist", tenant);
		return;
	}
	if (name == NULL) {
		char hex[9];

		if (random_hex(hex, sizeof(hex), 4) < 0) {
			api_err_internal(c, "naming the VM");
			return;
		}
		snprintf(gen_name, sizeof(gen_name), "vm-%s", hex);
		name = gen_name;
	}
	if (domname_check(tenant, name) < 0) {
		api_err(c, 400, "invalid_field", "name",
			"$.name: %s: choose a shorter VM name", err_msg());
		return;
	}
	if (uuid_generate_v4(id) < 0) {
		api_err_internal(c, "making a VM id");
		return;
	}
	snprintf(c->audit_target, sizeof(c->audit_target), "vm:%s", id);
	if (api_begin(c) < 0 || (rc = idem_check(c, first)) < 0)
		return;
	if (rc > 0) {  /* a retry: the first answer again, nothing created */
		snprintf(c->audit_target, sizeof(c->audit_target), "vm:%s",
			 first);
		vm_answer(c, first, 201);
		snprintf(c->location, sizeof(c->location), "/v1/vms/%s", first);
		return;
	}
	rc = res_exists(c, &res_tenants, tenant);
	if (rc < 0)
		return;
	if (rc == 0) {
		api_err(c, 404, "not_found", "tenant", "tenant '%s' does not "
			"exist: create it with 'finctl tenant create'", tenant);
		return;
	}
	rc = api_find(c, "SELECT vcpus, mem_mib, disk_gib, requires_image, "
		      "coalesce(storage, '" STORAGE_LOCAL "') FROM flavors WHERE "
		      "name = ?", flavor, &s, "reading the flavor");
	if (rc < 0)
		return;
	if (rc == 0) {
		api_err(c, 404, "not_found", "flavor", "$.flavor: flavor "
			"'%s' does not exist: list flavors with 'finctl flavor "
			"list'", flavor);
		return;
	}
	for (int i = 0; i < 3; i++)
		req[i] = db_col_int64(s, i);
	needs_image = db_col_int(s, 3) != 0;
	/* the VM's own choice, else its flavor's, else local */
	if (storage == NULL) {
		str_copy(storage_buf, sizeof(storage_buf), store_col_text(s, 4));
		storage = storage_buf;
	}
	db_reset(s);
	if (vm_storage(c, storage, image) < 0 ||
	    vm_image(c, image, tenant, flavor, needs_image, req, &im) < 0)
		return;
	if (group) {
		rc = api_find(c, "SELECT tenant FROM groups WHERE name = ?",
			      group, &s, "reading the group");
		if (rc < 0)
			return;
		if (rc == 0 || strcmp(store_col_text(s, 0), tenant) != 0) {
			if (rc > 0)
				db_reset(s);
			api_err(c, 404, "not_found", "group", "$.group: "
				"tenant '%s' has no group '%s': create it with "
				"'finctl group create'", tenant, group);
			return;
		}
		db_reset(s);
	}
	if (pool && res_must_exist(c, &res_pools, pool, "pool") < 0)
		return;
	s = api_stmt(c, "SELECT 1 FROM vms WHERE tenant = ? AND name = ?");
	if (s == NULL)
		return;
	store_bind_text(s, 1, tenant);
	store_bind_text(s, 2, name);
	rc = api_row(c, s, "reading the tenant's VMs");
	if (rc < 0)
		return;
	db_reset(s);
	if (rc > 0) {
		api_err(c, 409, "exists", "name", "tenant '%s' already has a VM "
			"named '%s'", tenant, name);
		return;
	}
	if (vm_quota(c, tenant, req) < 0)
		return;
	/* provider networks: their pool, on a node that has their links */
	if (netstate_bind_body(c, tenant, &bind) < 0)
		return;
	if (bind.pool[0] && pool && strcmp(pool, bind.pool) != 0) {
		api_err(c, 400, "invalid_field", "pool", "$.pool: its provider "
			"networks put the VM in pool '%s', not '%s': leave "
			"--pool out", bind.pool, pool);
		return;
	}
	pr.tenant = tenant;
	pr.group = group;
	pr.pool = bind.pool[0] ? bind.pool : pool;
	pr.ifaces = bind.ifaces;
	pr.nifaces = bind.nifaces;
	pr.vlan = bind.vlan;
	for (int i = 0; i < 3; i++)
		pr.req[i] = (double)req[i];
	rc = place_vm(c->ctrl->st, &pr, host, sizeof(host), hpool,
		      sizeof(hpool), why, sizeof(why));
	if (rc < 0) {
		api_err_internal(c, "placing the VM");
		return;
	}
	if (rc > 0) {
		api_err(c, 409, "no_capacity", NULL, "cannot place a '%s' VM "
			"for tenant '%s': %s%s%s%s%s%s", flavor, tenant, why,
			bind.nifaces ? "; its provider networks need a node "
			"of pool '" : "", bind.pool, bind.nifaces ? "' whose "
			"agent reports their interface free" : "", bind.vlan ?
			" and 802.1Q VLAN support (vlan_capable; the kernel's "
			"8021q)" : "", bind.nifaces ? " (see 'finctl host "
			"show')" : "");
		return;
	}
	s = api_stmt(c, "INSERT INTO vms(id, name, tenant, grp, flavor, pool, host, "
		    "vcpus, mem_mib, disk_gib, desired, state, created_ms, "
		    "updated_ms, image_id, image_sha256, ssh_keys, user_data, "
		    "migration_postcopy, storage) "
		    "VALUES (?,?,?,?,?,?,?,?,?,?,'running','pending',?12,?12,"
		    "?13,?14,?15,?16,?17,?18)");
	if (s == NULL)
		return;
	store_bind_text(s, 1, id);
	store_bind_text(s, 2, name);
	store_bind_text(s, 3, tenant);
	store_bind_text(s, 4, group);
	store_bind_text(s, 5, flavor);
	store_bind_text(s, 6, hpool);
	store_bind_text(s, 7, host);
	for (int i = 0; i < 3; i++)
		db_bind_int64(s, 8 + i, req[i]);
	db_bind_int64(s, 12, time_wall_ms());
	store_bind_texts(s, 13, (const char *const[]){im.id[0] ? im.id : NULL,
		im.id[0] ? im.sha256 : NULL, ssh_keys, user_data}, 4);
	if (postcopy >= 0)
		db_bind_int64(s, 17, postcopy);
	store_bind_text(s, 18, storage);
	if (api_step_done(c, s, "recording the VM") < 0 ||
	    api_ha_vm_fields(c, id, hpool) < 0 ||
	    netstate_ports_create(c, id, tenant) < 0)
		return;
	if (ctrl_bump_generation(c->ctrl, host) < 0) {
		api_err_internal(c, "updating the host");
		return;
	}
	if (lifecycle_task(c, TASK_CREATE, id, tenant, host, req, "pending") < 0 ||
	    idem_record(c, id) < 0)
		return;
	vm_answer(c, id, 201);
	snprintf(c->location, sizeof(c->location), "/v1/vms/%s", id);
}

void h_vm_create(struct api_ctx *c)
{
	static const char *const keys[] = {"tenant", "flavor", "name", "group",
					   "pool", "image", "ssh_keys",
					   "user_data", "networks", "secgroups",
					   "migration_postcopy", "storage",
					   "ha", "ha_priority", NULL};
	const char *tenant, *flavor, *name, *group, *pool, *image, *user_data;
	const char *storage;
	char *ssh_keys = NULL;
	bool postcopy;

	if (api_body_object(c, keys) < 0 ||
	    api_get_name(c, "tenant", "tenant", !api_is_tenant(c), &tenant) < 0 ||
	    api_get_name(c, "flavor", "flavor", true, &flavor) < 0 ||
	    api_get_name(c, "name", "VM", false, &name) < 0 ||
	    api_get_name(c, "group", "group", false, &group) < 0 ||
	    api_get_name(c, "pool", "pool", false, &pool) < 0 ||
	    api_get_str(c, "image", false, NULL, &image) < 0 ||
	    api_get_name(c, "storage", "storage pool", false, &storage) < 0 ||
	    api_get_str(c, "user_data", false, NULL, &user_data) < 0 ||
	    api_get_bool(c, "migration_postcopy", false, false, &postcopy) < 0)
		return;
	if (user_data && strlen(user_data) > VM_USER_DATA_MAX) {
		api_err(c, 400, "invalid_field", "user_data", "$.user_data: at "
			"most %d bytes", VM_USER_DATA_MAX);
		return;
	}
	if (vm_ssh_keys(c, &ssh_keys) < 0)
		return;
	/* migration_postcopy absent or null: the pool's, as for a VM
	 * created before the setting existed */
	vm_create_in(c, tenant, flavor, name, group, pool, image, storage,
		     ssh_keys, user_data,
		     cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(
			     c->json, "migration_postcopy"))
			     ? postcopy
			     : -1);
	free(ssh_keys);
}

/* 0 when VM vm has no migration or reboot in progress (or, with
 * migrations_only, no migration); -1 with the answer set (409 naming the
 * task when it has, 500 when that cannot be read). */
static int vm_idle(struct api_ctx *c, const char *vm, bool migrations_only)
{
	char id[TASK_ID_LEN];
	struct task t;
	bool busy;
	int rc;

	if (task_vm_busy(c->ctrl->st, vm, &busy, id) < 0) {
		api_err_internal(c, "reading the VM's tasks");
		return -1;
	}
	if (!busy)
		return 0;
	rc = task_load(c->ctrl->st, id, &t);
	if (rc < 0) {
		api_err_internal(c, "reading the VM's tasks");
		return -1;
	}
	if (rc > 0 || (migrations_only && t.type != TASK_MIGRATE))
		return 0;
	api_err(c, 409, "busy", NULL, "VM '%s' has a %s in progress (task %s): "
		"wait for it to end ('finctl task show %s')", vm,
		task_type_name(t.type), id, id);
	return -1;
}

/* Set the desired state of the loaded VM. A delete waits for no
 * migration: it is refused while one is in flight (the VM may be landing
 * on its target), a stop or start goes with the VM wherever it lands. */
static void vm_set_desired(struct api_ctx *c, const char *desired)
{
	struct vm_row v;
	const char *id = v.id, *host = v.host;
	struct db_stmt *s;

	if (vm_begin(c, &v) < 0)
		return;
	if (strcmp(v.desired, "deleted") == 0) {
		api_err(c, 409, "deleting", NULL, "VM '%s' is being deleted",
			id);
		return;
	}
	if (strcmp(desired, "deleted") == 0 && vm_idle(c, id, true) < 0)
		return;
	if (strcmp(v.desired, desired) != 0) {
		s = api_stmt(c, "UPDATE vms SET desired = ?, updated_ms = ?, "
			    "state = CASE WHEN ?1 = 'deleted' THEN 'deleting' "
			    "ELSE state END WHERE id = ?");
		if (s == NULL)
			return;
		store_bind_text(s, 1, desired);
		db_bind_int64(s, 2, time_wall_ms());
		store_bind_text(s, 3, id);
		if (api_step_done(c, s, "updating the VM") < 0)
			return;
		if (strcmp(desired, "deleted") == 0 &&
		    (task_cancel_vm(c->ctrl->st, id, "the VM was deleted") < 0 ||
		     report_bump_reporters(c->ctrl, id) < 0)) {
			api_err_internal(c, "cancelling the VM's tasks");
			return;
		}
		if (ctrl_bump_generation(c->ctrl, host) < 0) {
			api_err_internal(c, "updating the host");
			return;
		}
		if (lifecycle_task(c, strcmp(desired, "running") == 0 ? TASK_START
				      : strcmp(desired, "stopped") == 0
					      ? TASK_STOP
					      : TASK_DELETE,
				   id, v.tenant, host, v.req, v.state) < 0)
			return;
	}
	vm_answer(c, id, 202);
}

void h_vm_start(struct api_ctx *c)
{
	vm_set_desired(c, "running");
}

void h_vm_stop(struct api_ctx *c)
{
	vm_set_desired(c, "stopped");
}

void h_vm_delete(struct api_ctx *c)
{
	vm_set_desired(c, "deleted");
}

void h_vm_patch(struct api_ctx *c)
{
	static const char *const keys[] = {"migration_postcopy", "ha",
					   "ha_priority", NULL};
	const cJSON *pc;
	struct vm_row v;
	struct db_stmt *s;
	bool postcopy;

	if (api_body_object(c, keys) < 0 ||
	    api_get_bool(c, "migration_postcopy", false, false, &postcopy) < 0)
		return;
	pc = cJSON_GetObjectItemCaseSensitive(c->json, "migration_postcopy");
	if (vm_begin(c, &v) < 0)
		return;
	if (strcmp(v.desired, "deleted") == 0) {
		api_err(c, 409, "deleting", NULL, "VM '%s' is being deleted",
			v.id);
		return;
	}
	if (api_ha_vm_fields(c, v.id, v.pool) < 0)
		return;
	if (pc == NULL) { /* nothing else to change */
		vm_answer(c, v.id, 200);
		return;
	}
	/* read when a migration is handed to its source (task_orders()):
	 * one already running keeps what it started with */
	s = api_stmt(c, "UPDATE vms SET migration_postcopy = ?, updated_ms = ? "
		     "WHERE id = ?");
	if (s == NULL)
		return;
	if (cJSON_IsBool(pc))
		db_bind_int64(s, 1, postcopy);
	db_bind_int64(s, 2, time_wall_ms());
	store_bind_text(s, 3, v.id);
	if (api_step_done(c, s, "updating the VM") < 0)
		return;
	vm_answer(c, v.id, 200);
}

/* ------------------------------------------------------------------ tasks */

static void task_answer(struct api_ctx *c, const char *id, int status)
{
	cJSON *o;
	int rc = task_find_json(c->ctrl->st, id, &o);

	if (rc < 0) {
		api_err_internal(c, "reading the task");
	} else if (rc == 0 || api_hidden_tenant(c, cJSON_GetStringValue(
				     cJSON_GetObjectItem(o, "tenant")))) {
		api_err(c, 404, "not_found", NULL, "task '%.64s' does not exist",
			id);
	} else {
		api_ok(c, status, o);
		o = NULL;
	}
	cJSON_Delete(o);
}

void h_task_get(struct api_ctx *c)
{
	task_answer(c, c->m->params[0], 200);
}

void h_task_list(struct api_ctx *c)
{
	const char *vm = api_query(c, "vm"), *state = api_query(c, "state");
	char id[VMREF_ID_LEN];
	struct api_page pg;
	struct db_stmt *s;

	if (api_page_open(c, &pg, TASK_LIST_SEQ_COL, true) < 0 ||
	    (vm && !vmref_is_id(vm) &&
	     vmref_resolve(c, vm, api_query(c, "tenant"), id) <= 0))
		return;
	/* a full id stays as it is: the tasks of a VM gone are listed too */
	if (vm && !vmref_is_id(vm))
		vm = id;
	s = task_list_query(c->ctrl->st, pg.after_seq, pg.limit + 1,
			    api_is_tenant(c) ? c->who.tenant : NULL, vm, state);
	if (s == NULL) {
		api_err_internal(c, "reading the tasks");
		return;
	}
	while (api_page_step(c, &pg, s) > 0)
		cJSON_AddItemToArray(pg.items, task_row_json(s));
	api_page_close(c, &pg);
}


/* 0 when VM v runs and is meant to, or -1 with a 409 naming its state
 * and what only a running VM can be (verb: "rebooted"). */
static int vm_running(struct api_ctx *c, const struct vm_row *v,
		      const char *verb)
{
	if (strcmp(v->desired, "running") == 0 &&
	    strcmp(v->state, "running") == 0)
		return 0;
	api_err(c, 409, "not_running", NULL, "VM '%s' is %s (desired %s): "
		"only a running VM can be %s; start it with 'finctl vm start'",
		v->id, v->state, v->desired, verb);
	return -1;
}

void h_vm_reboot(struct api_ctx *c)
{
	struct task_new t = {.type = TASK_REBOOT};
	char task[TASK_ID_LEN];
	struct vm_row v;

	if (vm_begin(c, &v) < 0 || vm_running(c, &v, "rebooted") < 0 ||
	    vm_idle(c, v.id, false) < 0)
		return;
	t.vm_id = v.id;
	t.tenant = v.tenant;
	t.source_host = v.host;
	if (task_create(c->ctrl->st, &t, task) < 0 ||
	    ctrl_bump_generation(c->ctrl, v.host) < 0) {
		api_err_internal(c, "recording the reboot");
		return;
	}
	task_answer(c, task, 202);
}

void h_vm_migrate(struct api_ctx *c)
{
	static const char *const keys[] = {"target_host", "max_seconds",
					   "postcopy", NULL};
	char task[TASK_ID_LEN], target[128], why[1024];
	const char *want = NULL, *id, *host;
	struct place_request pr = {0};
	struct netstate_bind bind;
	struct task_new t = {.type = TASK_MIGRATE};
	struct vm_row v;
	int64_t max_s = 0;
	bool postcopy;
	int rc;

	/* max_seconds: the agent's migration_max_seconds when absent;
	 * postcopy, when absent or null: the VM's migration_postcopy, else
	 * (null) its pool's */
	if (c->json) {
		if (api_body_object(c, keys) < 0 ||
		    api_get_name(c, "target_host", "host", false, &want) < 0 ||
		    api_get_int(c, "max_seconds", false, 1, 7 * 86400, 0,
				&max_s) < 0 ||
		    api_get_bool(c, "postcopy", false, false, &postcopy) < 0)
			return;
		t.max_seconds = (int)max_s;
		if (cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(c->json,
								  "postcopy")))
			t.postcopy = postcopy ? TASK_POSTCOPY_YES
					      : TASK_POSTCOPY_NO;
	}
	if (vm_begin(c, &v) < 0)
		return;
	id = v.id;
	host = v.host;
	if (strcmp(v.desired, "deleted") == 0) {
		api_err(c, 409, "deleting", NULL, "VM '%s' is being deleted", id);
		return;
	}
	if (vm_idle(c, id, false) < 0 ||
	    (want && res_must_exist(c, &res_hosts, want, "target_host") < 0) ||
	    vm_running(c, &v, "migrated") < 0)
		return;
	if (want && strcmp(want, host) == 0) {
		api_err(c, 400, "invalid_field", "target_host",
			"$.target_host: VM '%s' already runs on '%s'", id, host);
		return;
	}
	snprintf(why, sizeof(why), "migrate VM '%s'", id);
	if (api_may_leave(c, host, why) < 0)
		return;
	pr.tenant = v.tenant;
	pr.group = v.has_group ? v.group : NULL;
	pr.exclude_host = host;
	if (netstate_bind_vm(c->ctrl->st, id, &bind) < 0) {
		api_err_internal(c, "reading the VM's networks");
		return;
	}
	pr.pool = bind.pool[0] ? bind.pool : NULL;
	pr.ifaces = bind.ifaces;
	pr.nifaces = bind.nifaces;
	pr.vlan = bind.vlan;
	for (int i = 0; i < 3; i++)
		pr.req[i] = (double)v.req[i];
	if (want) {
		rc = place_check(c->ctrl->st, &pr, want, why, sizeof(why));
		str_copy(target, sizeof(target), want);
	} else {
		rc = place_vm(c->ctrl->st, &pr, target, sizeof(target), NULL,
			      0, why, sizeof(why));
	}
	if (rc < 0) {
		api_err_internal(c, "placing the VM");
		return;
	}
	if (rc > 0) {
		api_err(c, 409, "no_capacity", want ? "target_host" : NULL,
			"cannot migrate VM '%s': %s", id, why);
		return;
	}
	t.vm_id = id;
	t.tenant = v.tenant;
	t.source_host = host;
	t.target_host = target;
	memcpy(t.req, v.req, sizeof(t.req));
	/* the target too: it prepares a VM from an image (vmimage.h) */
	if (task_create(c->ctrl->st, &t, task) < 0 ||
	    ctrl_bump_generation(c->ctrl, host) < 0 ||
	    ctrl_bump_generation(c->ctrl, target) < 0 ||
	    netstate_bump_vm(c->ctrl, id) < 0) {
		api_err_internal(c, "recording the migration");
		return;
	}
	snprintf(c->audit_target, sizeof(c->audit_target), "vm:%.36s->%.63s", id,
		 target);
	task_answer(c, task, 202);
}

/* Unit tests of the API dispatcher (controller/api.c) in process, on a
 * temporary SQLite store: body validation (malformed JSON, wrong types,
 * unknown fields, names) naming the field, role checks, tenant scoping
 * (404, not 403), and that failed requests leave no rows; and of the
 * utilisation eta (controller/eta.c) on the same store. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "controller/api.h"
#include "controller/db.h"
#include "controller/eta.h"
#include "controller/series.h"
#include "controller/auth.h"
#include "controller/store.h"
#include "tests/unit/ctrl_fixture.h"

struct fixture {
	struct ctrl_fixture fx;
	char admin[AUTH_TOKEN_LEN + 1];
	char viewer[AUTH_TOKEN_LEN + 1];
	char tenant_a[AUTH_TOKEN_LEN + 1];
};

/* Run one request; returns the status, *out the answer (caller frees). */
static int req(struct fixture *f, const char *method, const char *path,
	       const char *body, const char *token, cJSON **out)
{
	return ctrl_fixture_req(&f->fx, method, path, body, token, out);
}

static const char *err_field(const cJSON *o)
{
	const cJSON *f = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "error"),
					     "field");
	return cJSON_IsString(f) ? f->valuestring : NULL;
}

static const char *err_code(const cJSON *o)
{
	const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "error"),
					     "code");
	return cJSON_IsString(c) ? c->valuestring : "";
}

static void new_token(struct fixture *f, const char *body, char *out)
{
	cJSON *o;

	assert_int_equal(req(f, "POST", "/v1/tokens", body, f->admin, &o), 201);
	snprintf(out, AUTH_TOKEN_LEN + 1, "%s",
		 cJSON_GetObjectItem(o, "token")->valuestring);
	cJSON_Delete(o);
}

static int count(struct fixture *f, const char *sql)
{
	return ctrl_fixture_count(&f->fx, sql);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	if (f == NULL || ctrl_fixture_open(&f->fx, "api") < 0)
		return -1;
	ctrl_fixture_admin(&f->fx, f->admin);
	assert_int_equal(req(f, "POST", "/v1/tenants", "{\"name\":\"a\"}",
			     f->admin, NULL), 201);
	assert_int_equal(req(f, "POST", "/v1/tenants", "{\"name\":\"b\"}",
			     f->admin, NULL), 201);
	new_token(f, "{\"role\":\"viewer\"}", f->viewer);
	new_token(f, "{\"role\":\"tenant\",\"tenant\":\"a\"}", f->tenant_a);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ctrl_fixture_close(&f->fx);
	free(f);
	return 0;
}

static void test_admin_token_file(void **state)
{
	struct fixture *f = *state;
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/admin.token", f->fx.dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(strlen(f->admin), AUTH_TOKEN_LEN);
	/* only the hash is stored (in LIKE, '_' matches any character: a
	 * hash starting with "fc" would match 'fc_%') */
	assert_int_equal(count(f, "SELECT count(*) FROM tokens WHERE "
				  "substr(hash, 1, 3) = 'fc_'"), 0);
}

/* Bad bodies of POST /v1/flavors: each is a 400 naming its code (NULL:
 * any) and its field (NULL: none), and nothing is created. */
static void test_body_validation(void **state)
{
	static const struct {
		const char *body, *code, *field;
	} cases[] = {
		{"{\"name\": \"x\",", "invalid_json", "name"},
		{"{\"name\": \"x\", \"vcpus\": 1x}", NULL, "vcpus"},
		{"[1, 2", NULL, NULL},
		{"{\"name\":\"x\",\"vcpus\":1,\"mem_mib\":\"lots\",\"disk_gib\":1}",
		 NULL, "mem_mib"},
		{"{\"name\":\"x\",\"vcpus\":0,\"mem_mib\":64,\"disk_gib\":1}",
		 NULL, "vcpus"},
		{"{\"name\":\"x\",\"vcpus\":1,\"mem_mib\":64,\"disk_gib\":1,"
		 "\"color\":\"red\"}", "unknown_field", "color"},
		{"{\"name\":\"../etc\",\"vcpus\":1,\"mem_mib\":64,\"disk_gib\":1}",
		 NULL, "name"},
		{NULL, "invalid_body", NULL},
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < FC_ARRAY_LEN(cases); i++) {
		cJSON *o = NULL;

		assert_int_equal(req(f, "POST", "/v1/flavors", cases[i].body,
				     f->admin, &o), 400);
		if (cases[i].code != NULL)
			assert_string_equal(err_code(o), cases[i].code);
		if (cases[i].field != NULL)
			assert_string_equal(err_field(o), cases[i].field);
		else
			assert_null(err_field(o));
		cJSON_Delete(o);
	}
	assert_int_equal(count(f, "SELECT count(*) FROM flavors"), 0);
}

static void test_roles(void **state)
{
	struct fixture *f = *state;
	const char *flavor = "{\"name\":\"s\",\"vcpus\":1,\"mem_mib\":64,"
			     "\"disk_gib\":1}";

	assert_int_equal(req(f, "GET", "/v1/flavors", NULL, NULL, NULL), 401);
	assert_int_equal(req(f, "GET", "/v1/flavors", NULL, "fc_nope", NULL), 401);
	assert_int_equal(req(f, "GET", "/v1/flavors", NULL, f->viewer, NULL), 200);
	assert_int_equal(req(f, "POST", "/v1/flavors", flavor, f->viewer, NULL),
			 403);
	assert_int_equal(req(f, "POST", "/v1/flavors", flavor, f->tenant_a, NULL),
			 403);
	assert_int_equal(req(f, "GET", "/v1/tokens", NULL, f->viewer, NULL), 403);
	assert_int_equal(req(f, "POST", "/v1/flavors", flavor, f->admin, NULL),
			 201);
	assert_int_equal(req(f, "GET", "/healthz", NULL, NULL, NULL), 200);
	assert_int_equal(req(f, "DELETE", "/v1/vms", NULL, f->admin, NULL), 405);
	assert_int_equal(req(f, "GET", "/v2/vms", NULL, f->admin, NULL), 404);
}

static void test_tenant_scoping(void **state)
{
	struct fixture *f = *state;
	cJSON *o;

	assert_int_equal(req(f, "GET", "/v1/tenants/a", NULL, f->tenant_a, NULL),
			 200);
	assert_int_equal(req(f, "GET", "/v1/tenants/b", NULL, f->tenant_a, &o),
			 404);
	assert_string_equal(err_code(o), "not_found");
	cJSON_Delete(o);
	assert_int_equal(req(f, "GET", "/v1/tenants", NULL, f->tenant_a, &o), 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "items")), 1);
	cJSON_Delete(o);
	assert_int_equal(req(f, "POST", "/v1/groups",
			     "{\"name\":\"g\",\"tenant\":\"b\"}", f->tenant_a,
			     NULL), 404);
	assert_int_equal(req(f, "POST", "/v1/groups", "{\"name\":\"g\"}",
			     f->tenant_a, &o), 201);
	assert_string_equal(cJSON_GetObjectItem(o, "tenant")->valuestring, "a");
	cJSON_Delete(o);
	assert_int_equal(count(f, "SELECT count(*) FROM groups"), 1);
}

static void test_failures_audited_without_rows(void **state)
{
	struct fixture *f = *state;
	int before = count(f, "SELECT count(*) FROM audit");

	assert_int_equal(req(f, "POST", "/v1/tenants",
			     "{\"name\":\"c\",\"pools\":[\"default\",\"nope\"]}",
			     f->admin, NULL), 404);
	assert_int_equal(count(f, "SELECT count(*) FROM tenants WHERE name='c'"),
			 0);
	assert_int_equal(count(f, "SELECT count(*) FROM tenant_pools"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM audit"), before + 1);
	assert_int_equal(count(f, "SELECT result FROM audit ORDER BY seq DESC "
				  "LIMIT 1"), 404);
}

/* A successful DELETE answers 204 with no body (not a 500 for the body
 * it lacks), and the audit entry says 204. */
static void test_delete_answers_204(void **state)
{
	struct fixture *f = *state;
	cJSON *o = NULL;

	assert_int_equal(req(f, "DELETE", "/v1/tenants/b", NULL, f->admin, &o),
			 204);
	assert_null(o);
	assert_int_equal(count(f, "SELECT count(*) FROM tenants WHERE name='b'"),
			 0);
	assert_int_equal(count(f, "SELECT result FROM audit ORDER BY seq DESC "
				  "LIMIT 1"), 204);
	assert_int_equal(req(f, "DELETE", "/v1/tenants/b", NULL, f->admin, &o),
			 404);
	assert_string_equal(err_code(o), "not_found");
	cJSON_Delete(o);
}

/* A statement that fails (here: its table is gone) answers 500, and is
 * never read as "no such row": not as an empty list, a missing tenant,
 * or a pool that nothing refers to (and may be deleted). */
static void test_db_error_is_500(void **state)
{
	struct fixture *f = *state;
	cJSON *o;

	assert_int_equal(req(f, "POST", "/v1/pools", "{\"name\":\"p\"}",
			     f->admin, NULL), 201);
	assert_int_equal(req(f, "GET", "/v1/tenants", NULL, f->admin, NULL),
			 200);
	assert_int_equal(db_exec(store_db(f->fx.ctrl.st), "DROP TABLE tenant_pools"), 0);
	assert_int_equal(req(f, "DELETE", "/v1/pools/p", NULL, f->admin, &o),
			 500);
	assert_string_equal(err_code(o), "internal");
	cJSON_Delete(o);
	assert_int_equal(count(f, "SELECT count(*) FROM pools WHERE name='p'"),
			 1);
	assert_int_equal(req(f, "GET", "/v1/tenants", NULL, f->admin, &o), 500);
	assert_string_equal(err_code(o), "internal");
	cJSON_Delete(o);
	assert_int_equal(req(f, "GET", "/v1/tenants/a", NULL, f->admin, NULL),
			 500);
	assert_int_equal(req(f, "GET", "/v1/pools/p", NULL, f->admin, NULL),
			 200);
	/* nor is a token that cannot be looked up "not valid" (401) */
	assert_int_equal(db_exec(store_db(f->fx.ctrl.st), "DROP TABLE tokens"), 0);
	assert_int_equal(req(f, "GET", "/v1/pools/p", NULL, f->admin, &o), 500);
	assert_string_equal(err_code(o), "internal");
	cJSON_Delete(o);
}

/* Groups are scoped to their tenant: a tenant principal lists, reads and
 * deletes only its own; another tenant's group looks absent. */
static void test_group_scoping(void **state)
{
	struct fixture *f = *state;
	cJSON *o;

	assert_int_equal(req(f, "POST", "/v1/groups",
			     "{\"name\":\"ga\",\"tenant\":\"a\"}", f->admin,
			     NULL), 201);
	assert_int_equal(req(f, "POST", "/v1/groups",
			     "{\"name\":\"gb\",\"tenant\":\"b\"}", f->admin,
			     NULL), 201);
	assert_int_equal(req(f, "GET", "/v1/groups", NULL, f->tenant_a, &o),
			 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "items")), 1);
	cJSON_Delete(o);
	assert_int_equal(req(f, "GET", "/v1/groups/gb", NULL, f->tenant_a, NULL),
			 404);
	assert_int_equal(req(f, "DELETE", "/v1/groups/gb", NULL, f->tenant_a,
			     NULL), 404);
	assert_int_equal(count(f, "SELECT count(*) FROM groups"), 2);
	assert_int_equal(req(f, "DELETE", "/v1/groups/ga", NULL, f->tenant_a,
			     NULL), 204);
	assert_int_equal(req(f, "DELETE", "/v1/tenants/b", NULL, f->admin, &o),
			 409);
	assert_string_equal(err_code(o), "in_use");
	cJSON_Delete(o);
}

static void exec(struct fixture *f, const char *sql)
{
	ctrl_fixture_exec(&f->fx, sql);
}

/* Pool p (vCPU overcommit 2): h1 up with 8 vCPUs, 1000 MiB, 100 GiB and
 * one VM claiming 4 / 500 / 10 and using 2 / 250 / 5; h2 as large but
 * down (it counts for nothing). */
static void eta_pool(struct fixture *f)
{
	exec(f, "INSERT INTO pools(name, ratio_vcpus, ratio_mem, ratio_disk,"
		" policy, compliance, created_ms) VALUES ('p', 2, 1, 1, 'pack',"
		" '', 0);"
		"INSERT INTO hosts(name, pool, state, vcpus, mem_mib, disk_gib,"
		" registered_ms) VALUES ('h1', 'p', 'up', 8, 1000, 100, 0),"
		" ('h2', 'p', 'down', 8, 1000, 100, 0);"
		"INSERT INTO flavors(name, vcpus, mem_mib, disk_gib, created_ms) VALUES ('f', 4, 500, 10, 0);"
		"INSERT INTO vms(id, name, tenant, flavor, pool, host, vcpus,"
		" mem_mib, disk_gib, desired, state, cpu_pct, balloon_mib,"
		" disk_alloc_bytes, created_ms, updated_ms) VALUES ('v1', 'v1',"
		" 'a', 'f', 'p', 'h1', 4, 500, 10, 'running', 'running', 200,"
		" 250, 5368709120, 0, 0);");
}

/* The figures of h1 alone (pool p's, as h2 is down). */
static void eta_check_h1(const struct eta_pool *u)
{
	assert_true(u->found);
	assert_int_equal(u->hosts, 1);
	assert_true(u->total[0] == 8 && u->total[1] == 1000 &&
		    u->total[2] == 100);
	assert_true(u->usable[0] == 16 && u->usable[1] == 1000);
	assert_true(u->alloc[0] == 4 && u->alloc[1] == 500 &&
		    u->alloc[2] == 10);
	assert_true(u->used[0] == 2 && u->used[1] == 250 && u->used[2] == 5);
}

static void test_eta_pool_now(void **state)
{
	struct fixture *f = *state;
	struct eta_pool u;

	eta_pool(f);
	assert_int_equal(eta_pool_now(f->fx.ctrl.st, "p", &u), 0);
	eta_check_h1(&u);
	assert_true(eta_ratio(u.alloc[0], u.usable[0]) == 0.25);
	assert_true(eta_ratio(1, 0) == 0);
	assert_int_equal(eta_pool_now(f->fx.ctrl.st, "nope", &u), 0);
	assert_false(u.found);
	assert_int_equal(u.hosts, 0);
}

static void test_eta_sample_and_metrics(void **state)
{
	struct fixture *f = *state;
	struct buf b;

	eta_pool(f);
	assert_int_equal(eta_sample_pools(&f->fx.ctrl, false), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM util_samples WHERE "
				  "pool = 'p' AND v0 = 0.25 AND v3 = 0.25"), 1);
	buf_init(&b, 1 << 16);
	assert_int_equal(eta_metrics(f->fx.ctrl.st, &b), 0);
	assert_non_null(strstr(buf_str(&b),
			       "fincloud_pool_eta{pool=\"p\",dimension=\"vcpus\","
			       "kind=\"allocated\"} 0.250000\n"));
	assert_non_null(strstr(buf_str(&b),
			       "fincloud_pool_eta{pool=\"p\",dimension="
			       "\"mem_mib\",kind=\"used\"} 0.250000\n"));
	buf_free(&b);
}

/* A host's own figures: its capacity times its pool's ratios, its VMs'
 * claims and use; a host that is down is found but counts no host up. */
static void test_eta_host_now(void **state)
{
	struct fixture *f = *state;
	struct eta_pool u;

	eta_pool(f);
	assert_int_equal(eta_host_now(f->fx.ctrl.st, "h1", &u), 0);
	eta_check_h1(&u);
	assert_int_equal(eta_host_now(f->fx.ctrl.st, "h2", &u), 0);
	assert_true(u.found);
	assert_int_equal(u.hosts, 0);
	assert_true(u.total[0] == 8 && u.alloc[0] == 0);
	assert_int_equal(eta_host_now(f->fx.ctrl.st, "nope", &u), 0);
	assert_false(u.found);
}

/* Every host that is up is sampled with the pools; old samples of both
 * tables are compacted into minute buckets; a host's series goes with
 * it. */
static void test_eta_host_series(void **state)
{
	struct fixture *f = *state;
	char sql[512];
	int64_t t0 = series_bucket(time_wall_ms() - 7200 * 1000LL, 60000);
	cJSON *a = cJSON_CreateArray();

	eta_pool(f);
	assert_int_equal(eta_sample_pools(&f->fx.ctrl, false), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM host_util_samples "
				  "WHERE host = 'h1' AND level = 0 AND "
				  "v0 = 0.25 AND v3 = 0.25 AND v4 = 0.25"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM host_util_samples "
				  "WHERE host = 'h2'"), 0);
	assert_int_equal(eta_series_json(f->fx.ctrl.st, &series_hosts, "h1", 0,
					 a), 0);
	assert_int_equal(cJSON_GetArraySize(a), 1);
	cJSON_Delete(a);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO host_util_samples VALUES "
		 "('h1', 0, %lld, 1, 0.5, 0, 0, 0, 0, 0),"
		 "('h1', 0, %lld, 1, 1, 0, 0, 0, 0, 0);"
		 "INSERT INTO util_samples VALUES "
		 "('p', 0, %lld, 1, 0.5, 0, 0, 0, 0, 0);",
		 (long long)t0, (long long)t0 + 10000, (long long)t0);
	exec(f, sql);
	assert_int_equal(eta_sample_pools(&f->fx.ctrl, true), 0);
	assert_int_equal(count(f, "SELECT sum(n) FROM host_util_samples "
				  "WHERE level = 0"), 2);
	assert_int_equal(count(f, "SELECT count(*) FROM host_util_samples "
				  "WHERE host = 'h1' AND level = 1 AND n = 2 "
				  "AND v0 = 0.75"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM util_samples "
				  "WHERE pool = 'p' AND level = 1 AND n = 1 "
				  "AND v0 = 0.5"), 1);
	exec(f, "DELETE FROM vms; DELETE FROM hosts WHERE name = 'h1'");
	assert_int_equal(count(f, "SELECT count(*) FROM host_util_samples"), 0);
	assert_int_equal(count(f, "SELECT sum(n) FROM util_samples "
				  "WHERE pool = 'p'"), 3);
}

/* A failing store fails the reading, the sample and the metrics: it is
 * never an empty pool. */
static void test_eta_store_failure(void **state)
{
	struct fixture *f = *state;
	struct eta_pool u;
	struct buf b;

	eta_pool(f);
	exec(f, "DROP TABLE tasks; DROP TABLE vms");
	assert_int_equal(eta_pool_now(f->fx.ctrl.st, "p", &u), -1);
	assert_int_equal(eta_sample_pools(&f->fx.ctrl, false), -1);
	assert_int_equal(count(f, "SELECT count(*) FROM util_samples"), 0);
	buf_init(&b, 1 << 16);
	assert_int_equal(eta_metrics(f->fx.ctrl.st, &b), -1);
	buf_free(&b);
}

/* The VM that the store-failure tests work on: VM V1 of tenant a on host
 * n1 of pool p (n2 is a free host beside it), and n1's agent credential
 * into agent. */
#define V1 "11111111-2222-3333-4444-555555555555"
static void vm_fleet(struct fixture *f, char agent[AUTH_TOKEN_LEN + 1])
{
	char hash[AUTH_HASH_LEN + 1], sql[512];

	exec(f, "INSERT INTO pools(name, ratio_vcpus, ratio_mem, ratio_disk, "
		"policy, created_ms) VALUES ('p', 1, 1, 1, 'spread', 0);"
		"INSERT INTO hosts(name, pool, state, vcpus, mem_mib, disk_gib, "
		"registered_ms) VALUES ('n1', 'p', 'up', 8, 8192, 100, 0), "
		"('n2', 'p', 'up', 8, 8192, 100, 0);"
		"INSERT INTO flavors(name, vcpus, mem_mib, disk_gib, created_ms) VALUES ('small', 1, 512, 1, 0);"
		"INSERT INTO vms(id, name, tenant, flavor, pool, host, vcpus, "
		"mem_mib, disk_gib, desired, state, created_ms, updated_ms) "
		"VALUES ('" V1 "', 'web', 'a', 'small', 'p', 'n1', 1, 512, 1, "
		"'running', 'running', 0, 0)");
	assert_int_equal(auth_token_new(agent, hash), 0);
	snprintf(sql, sizeof(sql), "INSERT INTO tokens(id, hash, role, node, "
		 "created_ms) VALUES ('agent-n1', '%s', 'agent', 'n1', 0)", hash);
	exec(f, sql);
}

/* V1, its host and the tasks are as vm_fleet() left them. */
static void assert_vm_unchanged(struct fixture *f)
{
	assert_int_equal(count(f, "SELECT count(*) FROM vms WHERE id = '" V1
				  "' AND host = 'n1' AND desired = 'running' "
				  "AND state = 'running'"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM tasks"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM hosts WHERE "
				  "generation = 1 AND last_seen_ms = 0"), 2);
}

/* A request answers 500 "internal". */
static void assert_500(struct fixture *f, const char *method,
		       const char *path, const char *body, const char *token)
{
	cJSON *o;

	assert_int_equal(req(f, method, path, body, token, &o), 500);
	assert_string_equal(err_code(o), "internal");
	cJSON_Delete(o);
}

/* A VM that cannot be read is not "absent": get, delete, start, stop,
 * reboot and migrate answer 500 and change nothing. */
static void test_vm_db_error_is_500(void **state)
{
	static const char *const ops[][2] = {
		{"GET", ""},          {"DELETE", ""},       {"POST", "/start"},
		{"POST", "/stop"},    {"POST", "/reboot"},  {"POST", "/migrate"},
	};
	struct fixture *f = *state;
	char agent[AUTH_TOKEN_LEN + 1], path[128];

	vm_fleet(f, agent);
	assert_int_equal(req(f, "GET", "/v1/vms/" V1, NULL, f->admin, NULL),
			 200);
	exec(f, "ALTER TABLE vms RENAME TO vms_away");
	for (size_t i = 0; i < FC_ARRAY_LEN(ops); i++) {
		snprintf(path, sizeof(path), "/v1/vms/" V1 "%s", ops[i][1]);
		assert_500(f, ops[i][0], path, NULL, f->admin);
	}
	exec(f, "ALTER TABLE vms_away RENAME TO vms");
	assert_vm_unchanged(f);
	/* nor is a VM whose tasks cannot be read idle, nor such a task
	 * absent (the first lookup prepares the statement) */
	assert_int_equal(req(f, "GET", "/v1/tasks/" V1, NULL, f->admin, NULL),
			 404);
	exec(f, "ALTER TABLE tasks RENAME TO tasks_away");
	assert_500(f, "POST", "/v1/vms/" V1 "/migrate", NULL, f->admin);
	assert_500(f, "GET", "/v1/tasks/" V1, NULL, f->admin);
	exec(f, "ALTER TABLE tasks_away RENAME TO tasks");
	assert_vm_unchanged(f);
}

/* An agent's heartbeat: n1 has seen nothing yet, runs no domain. */
static const char hb_empty[] =
	"{\"generation_seen\": 0, \"status\": \"ok\", \"inventory\": "
	"{\"vcpus\": 8, \"mem_mib\": 8192, \"mem_free_mib\": 8192, "
	"\"disk_gib\": 100, \"disk_free_gib\": 100, \"cpu_model\": "
	"\"x\", \"virt_type\": \"kvm\", \"libvirt_version\": \"9\"}, "
	"\"domains\": [], \"foreign_domains\": [], \"tasks\": []}";

/* A tenant's wipe_on_delete (off by default, PATCHable alone) reaches
 * its node's desired state as the VM spec's "wipe", only when set. */
static void test_tenant_wipe_on_delete(void **state)
{
	struct fixture *f = *state;
	char agent[AUTH_TOKEN_LEN + 1];
	cJSON *o, *vm;

	assert_int_equal(req(f, "POST", "/v1/tenants",
			     "{\"name\": \"w\", \"wipe_on_delete\": true}",
			     f->admin, &o), 201);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "wipe_on_delete")));
	cJSON_Delete(o);
	assert_int_equal(req(f, "GET", "/v1/tenants/a", NULL, f->admin, &o),
			 200);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "wipe_on_delete")));
	cJSON_Delete(o);
	vm_fleet(f, agent);
	assert_int_equal(req(f, "POST", "/v1/agents/n1/heartbeat", hb_empty, agent,
			     &o), 200);
	vm = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "vms"), 0);
	assert_null(cJSON_GetObjectItem(vm, "wipe"));
	cJSON_Delete(o);
	assert_int_equal(req(f, "PATCH", "/v1/tenants/a",
			     "{\"wipe_on_delete\": true}", f->admin, &o), 200);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "wipe_on_delete")));
	cJSON_Delete(o);
	exec(f, "UPDATE vms SET desired = 'deleted'");
	assert_int_equal(req(f, "POST", "/v1/agents/n1/heartbeat", hb_empty, agent,
			     &o), 200);
	vm = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "vms"), 0);
	assert_string_equal(cJSON_GetObjectItem(vm, "state")->valuestring,
			    "deleted");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(vm, "wipe")));
	cJSON_Delete(o);
	/* a PATCH of another field keeps it; null clears it */
	assert_int_equal(req(f, "PATCH", "/v1/tenants/a",
			     "{\"compliance_class\": \"gold\"}", f->admin, &o),
			 200);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "wipe_on_delete")));
	cJSON_Delete(o);
	assert_int_equal(req(f, "PATCH", "/v1/tenants/a",
			     "{\"wipe_on_delete\": null}", f->admin, &o), 200);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "wipe_on_delete")));
	cJSON_Delete(o);
}

/* A heartbeat whose host or VMs cannot be read answers 500: never "host
 * unknown" (the agent would register again), never a desired state
 * without VMs (the agent would destroy them). */
static void test_heartbeat_db_error_is_500(void **state)
{
	static const char reg[] =
		"{\"join_token\": \"%s\", \"node\": \"n3\", \"pool\": \"p\", "
		"\"migration_uri\": \"tcp://n3\", \"inventory\": {\"vcpus\": 8, "
		"\"mem_mib\": 8192, \"mem_free_mib\": 8192, \"disk_gib\": 100, "
		"\"disk_free_gib\": 100, \"cpu_model\": \"x\", \"virt_type\": "
		"\"kvm\", \"libvirt_version\": \"9\"}}";
	struct fixture *f = *state;
	char agent[AUTH_TOKEN_LEN + 1], join[AUTH_TOKEN_LEN + 1];
	char body_reg[sizeof(reg) + AUTH_TOKEN_LEN];
	cJSON *o;

	vm_fleet(f, agent);
	/* the statements are prepared by a first heartbeat: it is their
	 * steps that fail */
	assert_int_equal(req(f, "POST", "/v1/agents/n1/heartbeat", hb_empty, agent,
			     &o), 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "vms")), 1);
	cJSON_Delete(o);
	exec(f, "UPDATE hosts SET last_seen_ms = 0");
	exec(f, "ALTER TABLE hosts RENAME TO hosts_away");
	assert_500(f, "POST", "/v1/agents/n1/heartbeat", hb_empty, agent);
	exec(f, "ALTER TABLE hosts_away RENAME TO hosts");
	assert_vm_unchanged(f);
	/* the node is behind (generation 1 > 0 seen): its VMs are only read */
	exec(f, "ALTER TABLE vms RENAME TO vms_away");
	assert_500(f, "POST", "/v1/agents/n1/heartbeat", hb_empty, agent);
	exec(f, "ALTER TABLE vms_away RENAME TO vms");
	assert_int_equal(count(f, "SELECT count(*) FROM vms WHERE id = '" V1
				  "' AND host = 'n1' AND desired = 'running' "
				  "AND state = 'running'"), 1);
	/* a join token that cannot be looked up is not "not valid" (401) */
	new_token(f, "{\"role\":\"join\"}", join);
	snprintf(body_reg, sizeof(body_reg), reg, join);
	assert_int_equal(req(f, "POST", "/v1/agents/register", body_reg, NULL,
			     NULL), 201);
	exec(f, "ALTER TABLE tokens RENAME TO tokens_away");
	assert_500(f, "POST", "/v1/agents/register", body_reg, NULL);
	exec(f, "ALTER TABLE tokens_away RENAME TO tokens");
	assert_int_equal(count(f, "SELECT count(*) FROM tokens WHERE node = "
				  "'n3'"), 1);
}

/* n1's agent reports V1 shut off for reason, by a domain event. */
static void post_shutoff(struct fixture *f, const char *agent,
			 const char *reason)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"events\": [{\"vm_id\": \"" V1 "\", "
		 "\"state\": \"shutoff\", \"reason\": \"%s\", "
		 "\"time_ms\": 1}]}", reason);
	assert_int_equal(req(f, "POST", "/v1/agents/n1/events", body, agent,
			     NULL), 200);
}

/* The source's "shutoff, migrated" event of a guest that left by live
 * migration is no stop: the VM stays running, nothing is audited; a real
 * shutdown still stops it. */
static void test_migrated_away_is_not_stopped(void **state)
{
	struct fixture *f = *state;
	char agent[AUTH_TOKEN_LEN + 1];

	vm_fleet(f, agent);
	post_shutoff(f, agent, "migrated");
	assert_int_equal(count(f, "SELECT count(*) FROM audit WHERE action "
				  "LIKE 'vm.state.%'"), 0);
	assert_vm_unchanged(f);
	post_shutoff(f, agent, "shutdown");
	assert_int_equal(count(f, "SELECT count(*) FROM vms WHERE id = '" V1
				  "' AND state = 'stopped'"), 1);
}

/* A host that cannot be read is not "absent" to a drain or a resume. */
static void test_host_db_error_is_500(void **state)
{
	struct fixture *f = *state;
	char agent[AUTH_TOKEN_LEN + 1];

	vm_fleet(f, agent);
	/* prepares the host lookup */
	assert_int_equal(req(f, "POST", "/v1/hosts/n2/resume", NULL, f->admin,
			     NULL), 200);
	exec(f, "ALTER TABLE hosts RENAME TO hosts_away");
	assert_500(f, "POST", "/v1/hosts/n1/drain", NULL, f->admin);
	assert_500(f, "POST", "/v1/hosts/n1/resume", NULL, f->admin);
	exec(f, "ALTER TABLE hosts_away RENAME TO hosts");
	assert_int_equal(count(f, "SELECT count(*) FROM hosts WHERE "
				  "maintenance = 0"), 2);
	assert_int_equal(count(f, "SELECT count(*) FROM tasks"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_admin_token_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_body_validation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_scoping, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failures_audited_without_rows,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_answers_204, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_db_error_is_500, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vm_db_error_is_500, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_heartbeat_db_error_is_500,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_wipe_on_delete,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_db_error_is_500,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrated_away_is_not_stopped,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_scoping, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_eta_pool_now, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_eta_sample_and_metrics,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_eta_host_now, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_eta_host_series, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_eta_store_failure, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests of the store-to-model loader (controller/model.c) and of
 * placement on it (controller/place.c), on a temporary SQLite store
 * filled with SQL: hosts in several pools (up, down, in maintenance),
 * tenants allowed some pools or all, compliance classes, a dedicated
 * tenant, groups, claims summed per host, tenant and group, VMs that may
 * or may not move, and migrations in flight. */
#include <stdlib.h>
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "controller/db.h"
#include "controller/model.h"
#include "controller/place.h"
#include "controller/store.h"
#include "tests/unit/ctrl_fixture.h"
#include "scheduler/problem.h"

/* The fleet every test starts from. Sorted by name: pools default, gold,
 * silver, vault; hosts a1 a2 b1 b2 c1 d1; tenants bank lonely retail
 * trade; groups db web. */
static const char fleet[] =
	"INSERT INTO pools(name, ratio_vcpus, ratio_mem, ratio_disk, policy,"
	" compliance, created_ms) VALUES"
	" ('vault', 1, 1, 1, 'pack', 'pci', 0),"
	" ('gold', 1, 1, 1, 'pack', 'pci,sox', 0),"
	" ('silver', 2, 1.5, 1, 'spread', '', 0);"
	"INSERT INTO hosts(name, pool, state, maintenance, vcpus, mem_mib,"
	" disk_gib, cost, availability, registered_ms) VALUES"
	" ('d1', 'default', 'up', 0, 4, 8192, 50, 1, 0.999, 0),"
	" ('a2', 'gold', 'up', 1, 16, 65536, 500, 2, 0.99, 0),"
	" ('a1', 'gold', 'up', 0, 16, 65536, 500, 2, 0.99, 0),"
	" ('b2', 'silver', 'down', 0, 8, 32768, 200, 1, 0.999, 0),"
	" ('b1', 'silver', 'up', 0, 8, 32768, 200, 1.5, 0.995, 0),"
	" ('c1', 'vault', 'up', 0, 32, 131072, 1000, 5, 0.9999, 0);"
	"INSERT INTO tenants(name, isolation, compliance_class, created_ms)"
	" VALUES ('trade', 'dedicated', 'sox', 0), ('bank', 'shared', 'pci', 0),"
	" ('retail', 'shared', 'none', 0), ('lonely', 'shared', 'x', 0);"
	"INSERT INTO tenant_pools VALUES ('bank', 'gold'), ('bank', 'silver'),"
	" ('lonely', 'vault');"
	"INSERT INTO groups(name, tenant, policy, availability, created_ms)"
	" VALUES ('web', 'bank', 'anti-affinity', 0.9999, 0),"
	" ('db', 'trade', 'affinity', 0, 0);"
	"INSERT INTO flavors(name, vcpus, mem_mib, disk_gib, created_ms) VALUES ('small', 1, 1024, 10, 0),"
	" ('big', 4, 8192, 40, 0);"
	"INSERT INTO vms(id, name, tenant, grp, flavor, pool, host, vcpus,"
	" mem_mib, disk_gib, desired, state, created_ms, updated_ms) VALUES"
	" ('v1', 'web1', 'bank', 'web', 'small', 'gold', 'a1', 1, 1024, 10,"
	"  'running', 'running', 0, 0),"
	" ('v2', 'web2', 'bank', 'web', 'big', 'gold', 'a1', 4, 8192, 40,"
	"  'running', 'running', 0, 0),"
	" ('v3', 'batch', 'bank', NULL, 'small', 'gold', 'a1', 1, 1024, 10,"
	"  'running', 'running', 0, 0),"
	" ('v4', 'shop', 'retail', NULL, 'small', 'silver', 'b1', 1, 1024, 10,"
	"  'running', 'running', 0, 0),"
	" ('v5', 'db1', 'trade', 'db', 'big', 'gold', 'a1', 4, 8192, 40,"
	"  'running', 'running', 0, 0),"
	" ('v6', 'orphan', 'retail', NULL, 'small', 'silver', 'b2', 1, 1024,"
	"  10, 'running', 'running', 0, 0),"
	" ('v7', 'gone', 'retail', NULL, 'small', 'silver', 'b1', 1, 1024, 10,"
	"  'deleted', 'deleting', 0, 0),"
	" ('v8', 'idle', 'retail', NULL, 'small', 'silver', 'b1', 1, 1024, 10,"
	"  'stopped', 'stopped', 0, 0),"
	" ('v9', 'boot', 'retail', NULL, 'small', 'silver', 'b1', 1, 1024, 10,"
	"  'running', 'running', 0, 0),"
	" ('v10', 'mover', 'bank', NULL, 'small', 'silver', 'b1', 1, 1024, 10,"
	"  'running', 'running', 0, 0),"
	" ('v11', 'moved', 'retail', NULL, 'small', 'silver', 'b1', 1, 1024,"
	"  10, 'running', 'running', 0, 0);"
	"INSERT INTO tasks(id, type, state, vm_id, tenant, source_host,"
	" target_host, vcpus, mem_mib, disk_gib, created_ms, updated_ms) VALUES"
	" ('t1', 'reboot', 'pending', 'v9', 'retail', 'b1', '', 1, 1024, 10, 0,"
	"  0),"
	" ('t2', 'migrate', 'pending', 'v10', 'bank', 'b1', 'a1', 1, 1024, 10,"
	"  0, 0),"
	" ('t3', 'migrate', 'done', 'v11', 'retail', 'b2', 'b1', 1, 1024, 10,"
	"  0, 0),"
	" ('t4', 'migrate', 'running', 'v3', 'bank', 'a1', 'b1', 1, 1024, 10,"
	"  0, 0),"
	" ('t5', 'migrate', 'failed', 'v4', 'retail', 'b1', 'a1', 1, 1024, 10,"
	"  0, 0);";

static int setup(void **state)
{
	struct ctrl_fixture *f;

	if (ctrl_fixture_setup(state, "model") < 0)
		return -1;
	f = *state;
	if (store_exec(f->st, fleet) < 0) {
		fprintf(stderr, "%s\n", err_msg());
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	return ctrl_fixture_teardown(state);
}

static struct model_scope tenant_scope(const char *tenant, const char *group,
				       const char *pool)
{
	struct model_scope sc = {.kind = MODEL_SCOPE_TENANT, .tenant = tenant,
				 .group = group, .pool = pool,
				 .req = {2, 4096, 20}};

	return sc;
}

static struct model_scope pool_scope(const char *pool)
{
	struct model_scope sc = {.kind = MODEL_SCOPE_POOL, .pool = pool};

	return sc;
}

static void load_ok(struct ctrl_fixture *f, const struct model_scope *sc,
		    struct model *m)
{
	char why[512] = "";
	int rc = model_load(f->st, sc, m, why, sizeof(why));

	if (rc != 0)
		fail_msg("model_load: %d: %s%s", rc, why, rc < 0 ? err_msg() : "");
}

/* The tenant's allowed pools as names, comma-separated ("" = all). */
static const char *pools_of(const struct model *m, const char *tenant,
			    char *buf, size_t size)
{
	const struct sched_problem *p = m->p;
	int t = sched_problem_find_tenant(p, tenant);
	size_t len = 0;

	assert_true(t >= 0);
	buf[0] = '\0';
	for (size_t i = 0; i < p->tenants[t].npools; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s",
					i ? "," : "",
					p->pools[p->tenants[t].pools[i]].name);
	return buf;
}

/* The model VM of kind CLAIMS on host for tenant (of the group or not). */
static const struct sched_vm *claims(const struct model *m, const char *host,
				     const char *tenant, bool in_group)
{
	const struct sched_problem *p = m->p;
	const struct sched_vm *found = NULL;

	for (size_t i = 0; i < m->nstored; i++) {
		const struct sched_vm *v = &p->vms[i];

		assert_int_equal(m->vm[i].kind, MODEL_VM_CLAIMS);
		if (strcmp(p->hosts[v->host].name, host) == 0 &&
		    strcmp(p->tenants[v->tenant].name, tenant) == 0 &&
		    (v->group == 0) == in_group) {
			assert_null(found); /* one per host, tenant, group */
			found = v;
		}
	}
	assert_non_null(found);
	return found;
}

static void assert_req(const struct sched_vm *v, double vcpus, double mem,
		       double disk)
{
	assert_true(v->req[DIM_VCPU] == vcpus);
	assert_true(v->req[DIM_MEM] == mem);
	assert_true(v->req[DIM_DISK] == disk);
}

static void test_tenant_scope(void **state)
{
	struct ctrl_fixture *f = *state;
	struct model_scope sc = tenant_scope("bank", "web", NULL);
	struct model m;
	const struct sched_problem *p;
	const char *pools[] = {"default", "gold", "silver", "vault"};
	const char *hosts[] = {"a1", "a2", "b1", "b2", "c1", "d1"};
	const int host_pool[] = {1, 1, 2, 2, 3, 0};
	const enum host_state host_state[] = {HOST_UP, HOST_MAINTENANCE,
					      HOST_UP, HOST_DOWN, HOST_UP,
					      HOST_UP};
	const struct sched_vm *v;
	char buf[256];

	load_ok(f, &sc, &m);
	p = m.p;
	assert_int_equal(p->npools, 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(p->pools[i].name, pools[i]);
	assert_true(p->pools[2].ratio[DIM_VCPU] == 2);
	assert_true(p->pools[2].ratio[DIM_MEM] == 1.5);
	assert_int_equal(p->pools[2].policy, POLICY_SPREAD);
	assert_int_equal(p->pools[1].policy, POLICY_PACK);
	assert_int_equal(p->nhosts, 6);
	for (size_t i = 0; i < 6; i++) {
		assert_string_equal(p->hosts[i].name, hosts[i]);
		assert_int_equal(p->hosts[i].pool, host_pool[i]);
		assert_int_equal(p->hosts[i].state, host_state[i]);
	}
	assert_true(p->hosts[2].cap[DIM_VCPU] == 8);
	assert_true(p->hosts[2].cap[DIM_MEM] == 32768);
	assert_true(p->hosts[2].cap[DIM_DISK] == 200);
	assert_true(p->hosts[2].cost == 1.5);
	assert_true(p->hosts[2].availability == 0.995);

	/* tenants; only bank's pools are restricted: its list, both of
	 * which admit class 'pci' */
	assert_int_equal(p->ntenants, 4);
	assert_string_equal(p->tenants[m.tenant].name, "bank");
	assert_string_equal(pools_of(&m, "bank", buf, sizeof(buf)),
			    "gold,silver");
	assert_string_equal(pools_of(&m, "trade", buf, sizeof(buf)), "");
	assert_int_equal(p->tenants[sched_problem_find_tenant(p, "trade")]
				 .isolation, ISOLATION_DEDICATED);
	assert_int_equal(p->tenants[m.tenant].isolation, ISOLATION_SHARED);

	/* the VM's group alone, without its availability target */
	assert_int_equal(p->ngroups, 1);
	assert_string_equal(p->groups[0].name, "web");
	assert_int_equal(p->groups[0].tenant, m.tenant);
	assert_int_equal(p->groups[0].policy, GROUP_ANTI_AFFINITY);
	assert_true(p->groups[0].availability == 0);

	/* claims summed per host, tenant and membership of 'web' */
	assert_int_equal(m.nstored, 6);
	assert_req(claims(&m, "a1", "bank", true), 5, 9216, 50);
	assert_req(claims(&m, "a1", "bank", false), 1, 1024, 10);
	assert_req(claims(&m, "a1", "trade", false), 4, 8192, 40);
	assert_req(claims(&m, "b1", "bank", false), 1, 1024, 10);
	assert_req(claims(&m, "b1", "retail", false), 5, 5120, 50);
	assert_req(claims(&m, "b2", "retail", false), 1, 1024, 10);

	/* migrations in flight claim their targets (done or failed ones
	 * do not) */
	assert_int_equal(p->nvms, 9);
	v = &p->vms[6];
	assert_int_equal(m.vm[6].kind, MODEL_VM_INFLIGHT);
	assert_string_equal(m.vm[6].id, "v10");
	assert_string_equal(p->hosts[v->host].name, "a1");
	assert_int_equal(v->group, -1);
	assert_req(v, 1, 1024, 10);
	assert_int_equal(m.vm[7].kind, MODEL_VM_INFLIGHT);
	assert_string_equal(m.vm[7].id, "v3");
	assert_string_equal(p->hosts[p->vms[7].host].name, "b1");

	/* the new VM, last */
	assert_int_equal(m.placing, 8);
	v = &p->vms[8];
	assert_int_equal(m.vm[8].kind, MODEL_VM_NEW);
	assert_int_equal(v->host, -1);
	assert_int_equal(v->tenant, m.tenant);
	assert_int_equal(v->group, 0);
	assert_req(v, 2, 4096, 20);
	assert_string_equal(v->name, "new VM of 'bank'");
	model_free(&m);
	assert_null(m.p);
}

static void test_tenant_pools(void **state)
{
	struct ctrl_fixture *f = *state;
	struct model_scope sc;
	struct model m;
	char buf[256], why[512];

	/* no list: every pool whose compliance classes admit the class */
	sc = tenant_scope("retail", NULL, NULL);
	load_ok(f, &sc, &m);
	assert_string_equal(pools_of(&m, "retail", buf, sizeof(buf)),
			    "default,silver");
	assert_int_equal(m.p->ngroups, 0);
	assert_int_equal(m.p->vms[m.placing].group, -1);
	/* without a group no claim is a member */
	for (size_t i = 0; i < m.nstored; i++)
		assert_int_equal(m.p->vms[i].group, -1);
	assert_int_equal(m.nstored, 5);
	model_free(&m);

	sc = tenant_scope("trade", "db", NULL);
	load_ok(f, &sc, &m);
	assert_string_equal(pools_of(&m, "trade", buf, sizeof(buf)),
			    "default,gold,silver");
	assert_int_equal(m.p->groups[0].policy, GROUP_AFFINITY);
	assert_req(claims(&m, "a1", "trade", true), 4, 8192, 40);
	assert_req(claims(&m, "a1", "bank", false), 6, 10240, 60);
	model_free(&m);

	/* narrowed to one pool */
	sc = tenant_scope("bank", NULL, "silver");
	load_ok(f, &sc, &m);
	assert_string_equal(pools_of(&m, "bank", buf, sizeof(buf)), "silver");
	assert_int_equal(m.p->nhosts, 6); /* every host is still read */
	model_free(&m);

	/* a pool its class may use but its list leaves out: the list is
	 * the cause, named with the way to change it */
	sc = tenant_scope("bank", NULL, "vault");
	assert_int_equal(model_load(f->st, &sc, &m, why, sizeof(why)), 1);
	assert_null(m.p);
	assert_string_equal(why, "tenant 'bank' may use only its allowed pools "
			    "(gold,silver), not 'vault': allow it with 'finctl "
			    "tenant update bank --pools gold,silver,vault'");

	/* a listed pool whose compliance classes leave out its class */
	sc = tenant_scope("lonely", NULL, "vault");
	assert_int_equal(model_load(f->st, &sc, &m, why, sizeof(why)), 1);
	assert_string_equal(why, "tenant 'lonely' (compliance class 'x') may "
			    "use no pool named 'vault': allow it a pool whose "
			    "compliance classes include 'x'");
	model_free(&m);

	/* its only listed pool does not admit its class */
	sc = tenant_scope("lonely", NULL, NULL);
	assert_int_equal(model_load(f->st, &sc, &m, why, sizeof(why)), 1);
	assert_string_equal(why, "tenant 'lonely' (compliance class 'x') may "
			    "use no pool: allow it a pool whose compliance "
			    "classes include 'x'");
	model_free(&m);
}

static void test_tenant_errors(void **state)
{
	struct ctrl_fixture *f = *state;
	struct model_scope sc;
	struct model m;
	char why[256];

	sc = tenant_scope("ghost", NULL, NULL);
	assert_int_equal(model_load(f->st, &sc, &m, why, sizeof(why)), -1);
	assert_string_equal(err_msg(), "tenant 'ghost' does not exist");
	assert_null(m.p);
	sc = tenant_scope("bank", "nope", NULL);
	assert_int_equal(model_load(f->st, &sc, &m, why, sizeof(why)), -1);
	assert_string_equal(err_msg(), "group 'nope' does not exist");
	assert_null(m.p);
	model_free(NULL);
}

static void test_exclude_host(void **state)
{
	struct ctrl_fixture *f = *state;
	struct model_scope sc = tenant_scope("bank", NULL, NULL);
	struct model m;

	sc.exclude_host = "a1";
	load_ok(f, &sc, &m);
	assert_int_equal(m.p->hosts[model_host(&m, "a1")].state,
			 HOST_MAINTENANCE);
	assert_int_equal(m.p->hosts[model_host(&m, "b1")].state, HOST_UP);
	/* a down host stays down */
	sc.exclude_host = "b2";
	model_free(&m);
	load_ok(f, &sc, &m);
	assert_int_equal(m.p->hosts[model_host(&m, "b2")].state, HOST_DOWN);
	model_free(&m);
}

static void test_pool_scope(void **state)
{
	struct ctrl_fixture *f = *state;
	struct model_scope sc = pool_scope("silver");
	struct model m;
	const struct sched_problem *p;
	char why[256];
	static const struct {
		const char *id, *fixed;
	} want[] = {
		{"v4", NULL},
		{"v6", "its host is down"},
		{"v7", "it is being deleted"},
		{"v8", "it is not running (only running VMs move live)"},
		{"v9", "it has a task in progress"},
		{"v10", "it has a task in progress"},
		{"v11", NULL}, /* its migration is done */
	};

	load_ok(f, &sc, &m);
	p = m.p;
	assert_int_equal(m.tenant, -1);
	assert_int_equal(m.placing, -1);
	assert_int_equal(p->npools, 1);
	assert_string_equal(p->pools[0].name, "silver");
	assert_int_equal(p->nhosts, 2);
	assert_string_equal(p->hosts[0].name, "b1");
	assert_string_equal(p->hosts[1].name, "b2");
	assert_int_equal(p->hosts[1].state, HOST_DOWN);
	assert_int_equal(p->hosts[0].pool, 0);

	/* every tenant may use it; every group, with its target */
	assert_int_equal(p->ntenants, 4);
	for (size_t i = 0; i < p->ntenants; i++)
		assert_int_equal(p->tenants[i].npools, 0);
	assert_int_equal(p->ngroups, 2);
	assert_string_equal(p->groups[1].name, "web");
	assert_string_equal(p->tenants[p->groups[1].tenant].name, "bank");
	assert_true(p->groups[1].availability == 0.9999);
	assert_string_equal(p->tenants[p->groups[0].tenant].name, "trade");

	/* the VMs one by one in creation order, and which may move */
	assert_int_equal(m.nstored, FC_ARRAY_LEN(want));
	for (size_t i = 0; i < m.nstored; i++) {
		assert_int_equal(m.vm[i].kind, MODEL_VM_STORED);
		assert_string_equal(m.vm[i].id, want[i].id);
		assert_string_equal(p->vms[i].name, want[i].id);
		if (want[i].fixed)
			assert_string_equal(m.vm[i].fixed, want[i].fixed);
		else
			assert_null(m.vm[i].fixed);
	}
	assert_string_equal(m.vm[0].name, "shop");
	assert_string_equal(m.vm[0].tenant, "retail");
	assert_string_equal(p->tenants[p->vms[0].tenant].name, "retail");
	assert_string_equal(p->hosts[p->vms[1].host].name, "b2");
	assert_req(&p->vms[0], 1, 1024, 10);

	/* the migration in flight to b1 (not the one to a1, elsewhere) */
	assert_int_equal(p->nvms, m.nstored + 1);
	assert_int_equal(m.vm[7].kind, MODEL_VM_INFLIGHT);
	assert_string_equal(m.vm[7].id, "v3");
	assert_string_equal(m.vm[7].tenant, "bank");
	assert_string_equal(m.vm[7].fixed, "it is migrating");
	assert_string_equal(p->vms[7].name, "inflight:v3");
	assert_string_equal(p->hosts[p->vms[7].host].name, "b1");

	assert_int_equal(model_stored_vm(&m, "v10"), 5);
	assert_int_equal(model_stored_vm(&m, "v3"), -1);
	assert_int_equal(model_host(&m, "b2"), 1);
	assert_int_equal(model_host(&m, "a1"), -1);
	model_free(&m);

	/* gold: a host in maintenance, VMs in groups */
	sc = pool_scope("gold");
	load_ok(f, &sc, &m);
	p = m.p;
	assert_int_equal(p->nhosts, 2);
	assert_int_equal(p->hosts[1].state, HOST_MAINTENANCE);
	assert_int_equal(m.nstored, 4); /* v1 v2 v3 v5 */
	assert_string_equal(p->groups[p->vms[0].group].name, "web");
	assert_string_equal(p->groups[p->vms[3].group].name, "db");
	assert_int_equal(p->vms[2].group, -1);
	assert_string_equal(m.vm[2].fixed, "it has a task in progress");
	assert_int_equal(p->nvms, 5);
	assert_string_equal(m.vm[4].id, "v10");
	model_free(&m);

	sc = pool_scope("nope");
	assert_int_equal(model_load(f->st, &sc, &m, why, sizeof(why)), 1);
	assert_string_equal(why, "pool 'nope' does not exist");
	assert_null(m.p);
	/* why may be left out */
	assert_int_equal(model_load(f->st, &sc, &m, NULL, 0), 1);
}

static void test_place_vm_pool(void **state)
{
	struct ctrl_fixture *f = *state;
	struct place_request r = {.tenant = "retail", .pool = "silver",
				  .req = {1, 1024, 10}};
	char host[NAME_MAX_LEN + 1], pool[NAME_MAX_LEN + 1], why[1024];

	assert_int_equal(place_vm(f->st, &r, host, sizeof(host), pool,
				  sizeof(pool), why, sizeof(why)), 0);
	assert_string_equal(host, "b1");
	assert_string_equal(pool, "silver");
	/* dedicated: only the empty d1 (pool default) is left to it */
	r.pool = NULL;
	r.tenant = "trade";
	assert_int_equal(place_vm(f->st, &r, host, sizeof(host), pool,
				  sizeof(pool), why, sizeof(why)), 0);
	assert_string_equal(host, "d1");
	assert_string_equal(pool, "default");
	/* the pool is optional */
	assert_int_equal(place_vm(f->st, &r, host, sizeof(host), NULL, 0, why,
				  sizeof(why)), 0);
	assert_string_equal(host, "d1");
	/* the source of a migration is not a target */
	r.exclude_host = "d1";
	assert_int_equal(place_vm(f->st, &r, host, sizeof(host), pool,
				  sizeof(pool), why, sizeof(why)), 1);

	/* a tenant with no pool */
	r.tenant = "lonely";
	assert_int_equal(place_vm(f->st, &r, host, sizeof(host), pool,
				  sizeof(pool), why, sizeof(why)), 1);
	assert_non_null(strstr(why, "may use no pool"));
}

static void test_place_check(void **state)
{
	struct ctrl_fixture *f = *state;
	struct place_request r = {.tenant = "bank", .req = {1, 1024, 10}};
	char why[1024];

	assert_int_equal(place_check(f->st, &r, "b1", why, sizeof(why)), 0);
	assert_int_equal(place_check(f->st, &r, "a2", why, sizeof(why)), 1);
	assert_int_equal(place_check(f->st, &r, "c1", why, sizeof(why)), 1);
	assert_int_equal(place_check(f->st, &r, "zz", why, sizeof(why)), 1);
	assert_string_equal(why, "host 'zz' does not exist");
	/* trade is dedicated and runs on a1 */
	assert_int_equal(place_check(f->st, &r, "a1", why, sizeof(why)), 1);
	r.tenant = "trade";
	assert_int_equal(place_check(f->st, &r, "a1", why, sizeof(why)), 1);
	assert_int_equal(place_check(f->st, &r, "d1", why, sizeof(why)), 0);
	/* bank's VMs on b1 keep the dedicated tenant out */
	assert_int_equal(place_check(f->st, &r, "b1", why, sizeof(why)), 1);
}

/* A host whose agent reports it degraded takes no VM, with its own
 * reason, and its VMs stay where they are (no rebalance moves them). */
static void test_degraded(void **state)
{
	struct ctrl_fixture *f = *state;
	struct place_request r = {.tenant = "bank", .req = {1, 1024, 10}};
	struct model_scope sc = pool_scope("silver");
	struct model m;
	char why[1024];

	assert_int_equal(store_exec(f->st, "UPDATE hosts SET status = "
				    "'degraded', degraded_reason = 'disk: "
				    "full' WHERE name = 'b1'"),
			 0);
	assert_int_equal(place_check(f->st, &r, "b1", why, sizeof(why)), 1);
	assert_string_equal(why, "host 'b1' is degraded (disk: full): only "
			    "healthy hosts take VMs");
	assert_int_equal(model_degraded(f->st, NULL, why, sizeof(why)), 1);
	assert_string_equal(why, "host 'b1' is degraded (disk: full)");
	assert_int_equal(model_degraded(f->st, "a1", why, sizeof(why)), 0);
	assert_string_equal(why, "");
	load_ok(f, &sc, &m);
	assert_int_equal(m.p->hosts[model_host(&m, "b1")].state, HOST_DOWN);
	assert_string_equal(m.vm[model_stored_vm(&m, "v4")].fixed,
			    "its host is degraded");
	assert_string_equal(m.vm[model_stored_vm(&m, "v6")].fixed,
			    "its host is down");
	model_free(&m);
}

/* The tags of sched_host or sched_vm x, joined by spaces, into out. */
#define TAGS(x, out) tags_join((x).tags, (x).ntags, out, sizeof(out))
static const char *tags_join(char **tags, size_t n, char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%s",
					i ? " " : "", tags[i]);
	return out;
}

/* Pool scope: what a VM's provider networks need (their interfaces,
 * 802.1Q for a VLAN one) and what each host reports are tags, so that a
 * rebalance never moves the VM to a host that cannot bridge them. */
static void test_provider_tags(void **state)
{
	struct ctrl_fixture *f = *state;
	struct model_scope sc = pool_scope("gold");
	struct model m;
	char t[256];

	assert_int_equal(store_exec(f->st,
		"INSERT INTO networks(name, tenant, net, prefix, vni, mtu,"
		" created_ms, provider, interface, vlan_id, pool) VALUES"
		" ('pub', NULL, 3232248320, 24, 16777216, 1500, 0, 'flat',"
		"  'eth1', NULL, 'gold'),"
		" ('v7', NULL, 3232248576, 24, 16777217, 1500, 0, 'vlan',"
		"  'eth2', 7, 'gold');"
		"INSERT INTO ports(id, vm_id, nic, network, mac, ip, created_ms)"
		" VALUES ('p1', 'v1', 0, 'pub', '02:fc:00:00:00:01', 2, 0),"
		" ('p2', 'v2', 0, 'v7', '02:fc:00:00:00:02', 2, 0),"
		" ('p3', 'v2', 1, 'pub', '02:fc:00:00:00:03', 3, 0);"
		"UPDATE hosts SET interfaces = '[\"eth0\",\"eth1\",\"eth2\"]',"
		" vlan_capable = 1 WHERE name = 'a1';"
		"UPDATE hosts SET interfaces = '[\"eth1\"]', vlan_capable = 0"
		" WHERE name = 'a2';"), 0);
	load_ok(f, &sc, &m);
	assert_string_equal(TAGS(m.p->vms[model_stored_vm(&m, "v1")], t),
			    "if:eth1");
	assert_string_equal(TAGS(m.p->vms[model_stored_vm(&m, "v2")], t),
			    "if:eth2 8021q if:eth1");
	assert_string_equal(TAGS(m.p->vms[model_stored_vm(&m, "v5")], t), "");
	assert_string_equal(TAGS(m.p->hosts[model_host(&m, "a1")], t),
			    "if:eth0 if:eth1 if:eth2 8021q");
	assert_string_equal(TAGS(m.p->hosts[model_host(&m, "a2")], t),
			    "if:eth1");
	model_free(&m);
}

/* More pools than placement once had room for (256): each admits only
 * its own tenant's class. */
static void test_many_pools(void **state)
{
	struct ctrl_fixture *f = *state;
	struct place_request r = {.tenant = "many", .req = {1, 1024, 10}};
	char host[NAME_MAX_LEN + 1], pool[NAME_MAX_LEN + 1], why[1024];

	assert_int_equal(store_exec(f->st,
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
		"WHERE i < 300) INSERT INTO pools(name, ratio_vcpus, ratio_mem, "
		"ratio_disk, policy, compliance, created_ms) SELECT "
		"printf('p%03d', i), 1, 1, 1, 'pack', 'c', 0 FROM n;"
		"INSERT INTO hosts(name, pool, state, vcpus, mem_mib, disk_gib, "
		"registered_ms) VALUES ('z1', 'p300', 'up', 8, 8192, 100, 0);"
		"INSERT INTO tenants(name, isolation, compliance_class, "
		"created_ms) VALUES ('many', 'shared', 'c', 0);"
		"INSERT INTO tenant_pools VALUES ('many', 'p300');"), 0);
	assert_int_equal(place_vm(f->st, &r, host, sizeof(host), pool,
				  sizeof(pool), why, sizeof(why)), 0);
	assert_string_equal(host, "z1");
	assert_string_equal(pool, "p300");
}

/* A database error while the claims are read fails the placement: read as
 * "no claims", it would put the VM on a host that is full. */
static void test_claims_read_error(void **state)
{
	struct ctrl_fixture *f = *state;
	struct place_request r = {.tenant = "retail", .pool = "silver",
				  .req = {12, 1024, 10}};
	char host[NAME_MAX_LEN + 1], why[1024];

	/* b1 has 16 vCPUs usable and 7 claimed: 12 more do not fit */
	assert_int_equal(place_vm(f->st, &r, host, sizeof(host), NULL, 0, why,
				  sizeof(why)), 1);
	assert_non_null(strstr(why, "12 vCPUs free"));
	/* the claims of b1 cannot be read any more */
	assert_int_equal(store_exec(f->st,
		"ALTER TABLE claims RENAME TO claims_t;"
		"CREATE VIEW claims AS SELECT host, tenant, grp, CASE WHEN "
		"host = 'b1' THEN abs(-9223372036854775807 - 1) ELSE vcpus END "
		"AS vcpus, mem_mib, disk_gib FROM claims_t;"), 0);
	assert_int_equal(place_vm(f->st, &r, host, sizeof(host), NULL, 0, why,
				  sizeof(why)), -1);
	assert_non_null(strstr(err_msg(), "reading the claims"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tenant_scope, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tenant_pools, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tenant_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_exclude_host, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pool_scope, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_place_vm_pool, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_place_check, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_provider_tags, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_degraded, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_many_pools, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_claims_read_error, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

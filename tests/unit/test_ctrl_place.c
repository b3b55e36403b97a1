/* Unit tests of placement (controller/place.c) on a temporary SQLite
 * store filled with SQL: hosts in several pools (up, down, in
 * maintenance), tenants allowed some pools or all, compliance classes, a
 * dedicated tenant, groups, claims and migrations in flight. */
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/unit/fc_test.h"
#include "tests/unit/fc_test_store.h"

#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "controller/place.h"
#include "controller/store.h"

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
	"INSERT INTO flavors VALUES ('small', 1, 1024, 10, 0),"
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
	struct fc_test_store *f;

	log_init("test", LOG_LVL_ERROR, LOG_TO_STDERR);
	if (fc_test_store_setup(state, "place") < 0)
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
	return fc_test_store_teardown(state);
}

/* More pools than placement once had room for (256): each admits only
 * its own tenant's class. */
static void test_many_pools(void **state)
{
	struct fc_test_store *f = *state;
	struct place_request r = {.tenant = "many", .req = {1, 1024, 10}};
	char host[NAME_MAX_LEN + 1], why[1024];

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
	assert_int_equal(place_vm(f->st, &r, host, sizeof(host), why,
				  sizeof(why)), 0);
	assert_string_equal(host, "z1");
}

/* A database error while the claims are read fails the placement: read as
 * "no claims", it would put the VM on a host that is full. */
static void test_claims_read_error(void **state)
{
	struct fc_test_store *f = *state;
	struct place_request r = {.tenant = "retail", .pool = "silver",
				  .req = {12, 1024, 10}};
	char host[NAME_MAX_LEN + 1], why[1024];

	/* b1 has 16 vCPUs usable and 7 claimed: 12 more do not fit */
	assert_int_equal(place_vm(f->st, &r, host, sizeof(host), why,
				  sizeof(why)), 1);
	assert_non_null(strstr(why, "12 vCPUs free"));
	/* the claims of b1 cannot be read any more */
	assert_int_equal(store_exec(f->st,
		"ALTER TABLE claims RENAME TO claims_t;"
		"CREATE VIEW claims AS SELECT host, tenant, grp, CASE WHEN "
		"host = 'b1' THEN abs(-9223372036854775807 - 1) ELSE vcpus END "
		"AS vcpus, mem_mib, disk_gib FROM claims_t;"), 0);
	assert_int_equal(place_vm(f->st, &r, host, sizeof(host), why,
				  sizeof(why)), -1);
	assert_non_null(strstr(err_msg(), "reading the claims"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_many_pools, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_claims_read_error, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

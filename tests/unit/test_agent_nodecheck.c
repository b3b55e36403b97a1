/* Unit tests of agents/agent_nodecheck.c: the node health verdict as a
 * pure function of the facts (libvirt connected, pool active, storage dir
 * writable, free MiB, threshold), and the facts of a real directory. */
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "agents/agent_nodecheck.h"

static struct agent_nodecheck_facts facts(bool conn, bool pool, bool dir,
					  int64_t free_mib, int64_t min)
{
	struct agent_nodecheck_facts f;

	memset(&f, 0, sizeof(f));
	f.connected = conn;
	f.pool_active = pool;
	f.dir_ok = dir;
	f.free_mib = free_mib;
	f.min_free_mib = min;
	f.storage_dir = "/srv/disks";
	return f;
}

static void judge(bool conn, bool pool, bool dir, int64_t free_mib,
		  int64_t min, struct agent_nodecheck_verdict *v)
{
	struct agent_nodecheck_facts f = facts(conn, pool, dir, free_mib, min);

	agent_nodecheck_judge(&f, v);
}

static void test_healthy(void **state)
{
	struct agent_nodecheck_verdict v;

	(void)state;
	judge(true, true, true, 5000, 1024, &v);
	assert_int_equal(v.repairs, 0);
	assert_string_equal(v.reasons, "");
	/* exactly at the threshold is enough */
	judge(true, true, true, 1024, 1024, &v);
	assert_string_equal(v.reasons, "");
	/* free space unknown is not judged */
	judge(true, true, true, -1, 1024, &v);
	assert_string_equal(v.reasons, "");
}

static void test_pool_inactive_is_repaired(void **state)
{
	struct agent_nodecheck_verdict v;

	(void)state;
	judge(true, false, true, 5000, 1024, &v);
	assert_int_equal(v.repairs, AGENT_NODECHECK_START_POOL);
	assert_string_equal(v.reasons, "");
	/* over a missing dir the pool cannot start: a reason, no repair */
	judge(true, false, false, -1, 1024, &v);
	assert_int_equal(v.repairs, 0);
	assert_non_null(strstr(v.reasons, "storage: '/srv/disks' is missing"));
}

static void test_not_connected(void **state)
{
	struct agent_nodecheck_verdict v;

	(void)state;
	judge(false, false, true, 5000, 1024, &v);
	assert_int_equal(v.repairs, 0);
	assert_string_equal(v.reasons, "libvirt: not connected");
}

static void test_disk_low(void **state)
{
	struct agent_nodecheck_verdict v;

	(void)state;
	judge(true, true, true, 100, 1024, &v);
	assert_int_equal(v.repairs, 0);
	assert_string_equal(v.reasons, "disk: 100 MiB free in '/srv/disks', "
			    "below min_free_disk_mib 1024");
	/* several reasons, all named */
	judge(false, false, true, 100, 1024, &v);
	assert_string_equal(v.reasons, "libvirt: not connected; disk: 100 MiB "
			    "free in '/srv/disks', below min_free_disk_mib "
			    "1024");
}

static void test_add_cuts(void **state)
{
	struct agent_nodecheck_verdict v;
	char big[2000];

	(void)state;
	memset(&v, 0, sizeof(v));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	agent_nodecheck_add(&v, "first");
	agent_nodecheck_add(&v, big);
	assert_true(strlen(v.reasons) < sizeof(v.reasons));
	assert_int_equal(strncmp(v.reasons, "first; xxx", 10), 0);
}

static void test_facts_of_a_dir(void **state)
{
	struct agent_nodecheck_facts f;
	char dir[64], gone[96];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/fc-test-nodecheck-XXXXXX");
	assert_non_null(mkdtemp(dir));
	agent_nodecheck_facts(NULL, false, dir, 1024, &f);
	assert_true(f.dir_ok);
	assert_false(f.connected);
	assert_false(f.pool_active);
	assert_true(f.free_mib >= 0);
	assert_int_equal(f.min_free_mib, 1024);
	snprintf(gone, sizeof(gone), "%s/none", dir);
	agent_nodecheck_facts(NULL, false, gone, 1024, &f);
	assert_false(f.dir_ok);
	assert_int_equal(f.free_mib, -1);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_healthy),
		cmocka_unit_test(test_pool_inactive_is_repaired),
		cmocka_unit_test(test_not_connected),
		cmocka_unit_test(test_disk_low),
		cmocka_unit_test(test_add_cuts),
		cmocka_unit_test(test_facts_of_a_dir),
	};

	return cmocka_run_group_tests_name("agent_nodecheck", tests, NULL,
					   NULL);
}

/* Unit tests of agents/agent_nodecheck.c: the node health verdict as a
 * pure function of the facts (libvirt connected, pool active, storage dir
 * writable, free MiB, threshold), and the facts of a real directory. */
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "agents/agent_nodecheck.h"

#define DISK_LOW "disk: 100 MiB free in '/srv/disks', below " \
		 "min_free_disk_mib 1024"
#define DIR_GONE "storage: '/srv/disks' is missing or not writable"

/* Each case: the facts, then the repairs and reasons wanted. */
static const struct {
	bool conn, pool, dir;
	int64_t free_mib, min;
	unsigned repairs;
	const char *reasons;
} cases[] = {
	{true, true, true, 5000, 1024, 0, ""},
	/* exactly at the threshold is enough */
	{true, true, true, 1024, 1024, 0, ""},
	/* free space unknown is not judged */
	{true, true, true, -1, 1024, 0, ""},
	/* an inactive pool over a usable dir is repaired, not a reason */
	{true, false, true, 5000, 1024, AGENT_NODECHECK_START_POOL, ""},
	/* over a missing dir the pool cannot start: a reason, no repair */
	{true, false, false, -1, 1024, 0, DIR_GONE},
	/* without libvirt the pool is unknown: no repair */
	{false, false, true, 5000, 1024, 0, "libvirt: not connected"},
	{true, true, true, 100, 1024, 0, DISK_LOW},
	/* several reasons, all named */
	{false, false, true, 100, 1024, 0,
	 "libvirt: not connected; " DISK_LOW},
	{false, false, false, -1, 1024, 0,
	 "libvirt: not connected; " DIR_GONE},
};

static void test_judge(void **state)
{
	struct agent_nodecheck_facts f;
	struct agent_nodecheck_verdict v;

	(void)state;
	for (size_t i = 0; i < FC_ARRAY_LEN(cases); i++) {
		memset(&f, 0, sizeof(f));
		f.connected = cases[i].conn;
		f.pool_active = cases[i].pool;
		f.dir_ok = cases[i].dir;
		f.free_mib = cases[i].free_mib;
		f.min_free_mib = cases[i].min;
		f.storage_dir = "/srv/disks";
		agent_nodecheck_judge(&f, &v);
		assert_int_equal(v.repairs, cases[i].repairs);
		assert_string_equal(v.reasons, cases[i].reasons);
	}
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
	assert_non_null(fc_test_mkdtemp(dir));
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
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_add_cuts),
		cmocka_unit_test(test_facts_of_a_dir),
	};

	return cmocka_run_group_tests_name("agent_nodecheck", tests, NULL,
					   NULL);
}

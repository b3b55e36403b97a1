/* Unit tests of scheduler/problem.c: the JSON reader, writer and errors. */
#include <fcntl.h>
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "common/err.h"
#include "common/json.h"
#include "scheduler/problem.h"

static const char *good =
	"{\"pools\": [{\"name\": \"prod\", \"cpu_ratio\": 4, \"mem_ratio\": 1.5,"
	"              \"policy\": \"spread\"},"
	"             {\"name\": \"batch\"}],"
	" \"hosts\": [{\"name\": \"h1\", \"pool\": \"prod\", \"vcpus\": 16,"
	"              \"mem_mib\": 65536, \"disk_gib\": 500, \"cost\": 3,"
	"              \"availability\": 0.999, \"tags\": [\"ssd\", \"pci\"],"
	"              \"state\": \"maintenance\"},"
	"             {\"name\": \"h2\", \"pool\": \"batch\", \"vcpus\": 8,"
	"              \"mem_mib\": 32768, \"disk_gib\": 100}],"
	" \"tenants\": [{\"name\": \"pay\", \"isolation\": \"dedicated\","
	"                \"pools\": [\"prod\"]},"
	"               {\"name\": \"risk\"}],"
	" \"groups\": [{\"name\": \"web\", \"tenant\": \"pay\","
	"               \"availability\": 0.9999},"
	"              {\"name\": \"pair\", \"tenant\": \"risk\","
	"               \"policy\": \"affinity\"}],"
	" \"vms\": [{\"name\": \"v1\", \"tenant\": \"pay\", \"group\": \"web\","
	"            \"vcpus\": 2, \"mem_mib\": 4096, \"disk_gib\": 20,"
	"            \"tags\": [\"ssd\"], \"host\": \"h1\"},"
	"           {\"name\": \"v2\", \"tenant\": \"risk\", \"vcpus\": 1,"
	"            \"mem_mib\": 512, \"disk_gib\": 0}]}";

static int parse(const char *text, struct sched_problem **p)
{
	cJSON *root = NULL;
	int r;

	assert_int_equal(json_parse(text, strlen(text), "t", &root), 0);
	r = sched_problem_from_json(root, p);
	cJSON_Delete(root);
	return r;
}

static void check_good(const struct sched_problem *p)
{
	assert_int_equal(p->npools, 2);
	assert_int_equal(p->nhosts, 2);
	assert_int_equal(p->ntenants, 2);
	assert_int_equal(p->ngroups, 2);
	assert_int_equal(p->nvms, 2);
	assert_string_equal(p->pools[0].name, "prod");
	assert_true(p->pools[0].ratio[DIM_VCPU] == 4);
	assert_true(p->pools[0].ratio[DIM_MEM] == 1.5);
	assert_true(p->pools[0].ratio[DIM_DISK] == 1);
	assert_int_equal(p->pools[0].policy, POLICY_SPREAD);
	assert_int_equal(p->pools[1].policy, POLICY_PACK);
	assert_int_equal(p->hosts[0].pool, 0);
	assert_int_equal(p->hosts[1].pool, 1);
	assert_true(p->hosts[0].cap[DIM_MEM] == 65536);
	assert_true(p->hosts[0].cost == 3);
	assert_true(p->hosts[1].cost == 1);
	assert_true(p->hosts[0].availability == 0.999);
	assert_true(p->hosts[1].availability == 0.99);
	assert_int_equal(p->hosts[0].ntags, 2);
	assert_string_equal(p->hosts[0].tags[1], "pci");
	assert_int_equal(p->hosts[0].state, HOST_MAINTENANCE);
	assert_int_equal(p->hosts[1].state, HOST_UP);
	assert_int_equal(p->tenants[0].isolation, ISOLATION_DEDICATED);
	assert_int_equal(p->tenants[0].npools, 1);
	assert_int_equal(p->tenants[0].pools[0], 0);
	assert_int_equal(p->tenants[1].npools, 0);
	assert_int_equal(p->groups[0].tenant, 0);
	assert_int_equal(p->groups[0].policy, GROUP_ANTI_AFFINITY);
	assert_true(p->groups[0].availability == 0.9999);
	assert_int_equal(p->groups[1].policy, GROUP_AFFINITY);
	assert_int_equal(p->vms[0].group, 0);
	assert_int_equal(p->vms[0].host, 0);
	assert_int_equal(p->vms[1].group, -1);
	assert_int_equal(p->vms[1].host, -1);
	assert_true(p->vms[0].req[DIM_DISK] == 20);
	assert_int_equal(p->vms[0].ntags, 1);
}

static void test_good_and_round_trip(void **state)
{
	struct sched_problem *p = NULL, *q = NULL;
	cJSON *out;
	char *text;
	(void)state;

	assert_int_equal(parse(good, &p), 0);
	check_good(p);
	assert_int_equal(sched_problem_find_host(p, "h2"), 1);
	assert_int_equal(sched_problem_find_vm(p, "nope"), -1);
	out = sched_problem_to_json(p);
	assert_non_null(out);
	text = cJSON_PrintUnformatted(out);
	assert_int_equal(parse(text, &q), 0);
	check_good(q);
	free(text);
	cJSON_Delete(out);
	sched_problem_free(p);
	sched_problem_free(q);
	sched_problem_free(NULL);
}

struct bad_case {
	const char *text;
	const char *msg;
};

#define H "\"hosts\": [{\"name\": \"h\", \"pool\": \"p\", \"vcpus\": 1, " \
	  "\"mem_mib\": 1, \"disk_gib\": 1}]"
#define P "\"pools\": [{\"name\": \"p\"}]"
#define T "\"tenants\": [{\"name\": \"t\"}]"

static const struct bad_case bad[] = {
	{"[]", "$: expected an object, got an array"},
	{"{" P "," H "}", "$: missing required field 'tenants'"},
	{"{" P "," H "," T ", \"extra\": 1}", "$: unknown field 'extra'"},
	{"{\"pools\": [{\"name\": \"p\", \"cpu_ratio\": 0}]," H "," T "}",
	 "$.pools[0].cpu_ratio: the overcommit ratio must be > 0 and <= 1000, "
	 "got 0"},
	{"{\"pools\": [{\"name\": \"p\", \"disk_ratio\": -1}]," H "," T "}",
	 "$.pools[0].disk_ratio: the overcommit ratio must be > 0"},
	{"{\"pools\": [{\"name\": \"p\", \"policy\": \"fast\"}]," H "," T "}",
	 "$.pools[0].policy: unknown value 'fast': use one of 'pack', "
	 "'spread'"},
	{"{\"pools\": [{\"name\": \"p\"}, {\"name\": \"p\"}]," H "," T "}",
	 "$.pools[1].name: pool 'p' is defined twice (also at index 0): names "
	 "must be unique"},
	{"{\"pools\": [{\"name\": \"a b\"}]," H "," T "}",
	 "$.pools[0].name: pool name 'a b' has a forbidden character"},
	{"{" P ", \"hosts\": [{\"name\": \"h\", \"pool\": \"q\", \"vcpus\": 1,"
	 " \"mem_mib\": 1, \"disk_gib\": 1}]," T "}",
	 "$.hosts[0].pool: unknown pool 'q': define it in the 'pools' list "
	 "first"},
	{"{" P ", \"hosts\": [{\"name\": \"h\", \"pool\": \"p\", \"vcpus\": -4,"
	 " \"mem_mib\": 1, \"disk_gib\": 1}]," T "}",
	 "$.hosts[0].vcpus: expected a number from 0 to 1e+12, got"},
	{"{" P ", \"hosts\": [{\"name\": \"h\", \"pool\": \"p\", \"vcpus\": 1,"
	 " \"disk_gib\": 1}]," T "}",
	 "$.hosts[0]: missing required field 'mem_mib'"},
	{"{" P ", \"hosts\": [{\"name\": \"h\", \"pool\": \"p\", \"vcpus\": 1,"
	 " \"mem_mib\": 1, \"disk_gib\": 1, \"availability\": 1.5}]," T "}",
	 "$.hosts[0].availability: expected a number from 0 to 1, got"},
	{"{" P ", \"hosts\": [{\"name\": \"h\", \"pool\": \"p\", \"vcpus\": 1,"
	 " \"mem_mib\": 1, \"disk_gib\": 1, \"state\": \"gone\"}]," T "}",
	 "$.hosts[0].state: unknown value 'gone': use one of 'up', "
	 "'maintenance', 'down'"},
	{"{" P ", \"hosts\": [{\"name\": \"h\", \"pool\": \"p\", \"vcpus\": 1,"
	 " \"mem_mib\": 1, \"disk_gib\": 1, \"tags\": [3]}]," T "}",
	 "$.hosts[0].tags[0]: expected a tag of 1-63 characters, got"},
	{"{" P ", \"hosts\": [{\"name\": \"h\", \"pool\": \"p\", \"vcpus\": 1,"
	 " \"mem_mib\": 1, \"disk_gib\": 1, \"cpus\": 2}]," T "}",
	 "$.hosts[0]: unknown field 'cpus'"},
	{"{" P "," H ", \"tenants\": [{\"name\": \"t\", \"pools\": [\"x\"]}]}",
	 "$.tenants[0].pools[0]: unknown pool 'x'"},
	{"{" P "," H ", \"tenants\": [{\"name\": \"t\", \"pools\": []}]}",
	 "$.tenants[0].pools: empty list: omit the field to allow every pool"},
	{"{" P "," H ", \"tenants\": [{\"name\": \"t\", \"isolation\": \"x\"}]}",
	 "$.tenants[0].isolation: unknown value 'x'"},
	{"{" P "," H "," T ", \"groups\": [{\"name\": \"g\", \"tenant\": \"u\"}]}",
	 "$.groups[0].tenant: unknown tenant 'u'"},
	{"{" P "," H "," T ", \"groups\": [{\"name\": \"g\", \"tenant\": \"t\","
	 " \"availability\": -0.5}]}",
	 "$.groups[0].availability: expected a number from 0 to 1, got"},
	{"{" P "," H "," T ", \"groups\": [{\"name\": \"g\", \"tenant\": \"t\","
	 " \"policy\": \"affinity\", \"availability\": 0.9}]}",
	 "$.groups[0].availability: an affinity group puts every member on one "
	 "host"},
	{"{" P "," H "," T ", \"vms\": [{\"name\": \"v\", \"tenant\": \"t\","
	 " \"group\": \"g\", \"vcpus\": 1, \"mem_mib\": 1, \"disk_gib\": 1}]}",
	 "$.vms[0].group: unknown group 'g'"},
	{"{" P "," H "," T ", \"vms\": [{\"name\": \"v\", \"tenant\": \"t\","
	 " \"host\": \"x\", \"vcpus\": 1, \"mem_mib\": 1, \"disk_gib\": 1}]}",
	 "$.vms[0].host: unknown host 'x'"},
	{"{" P "," H "," T ", \"vms\": [{\"name\": \"v\", \"tenant\": \"t\","
	 " \"vcpus\": 1, \"mem_mib\": -1, \"disk_gib\": 1}]}",
	 "$.vms[0].mem_mib: expected a number from 0 to 1e+12, got"},
	{"{" P "," H "," T ", \"vms\": [{\"name\": \"v\", \"tenant\": \"t\","
	 " \"vcpus\": 1, \"mem_mib\": 1, \"disk_gib\": 1},"
	 " {\"name\": \"v\", \"tenant\": \"t\","
	 " \"vcpus\": 1, \"mem_mib\": 1, \"disk_gib\": 1}]}",
	 "$.vms[1].name: vm 'v' is defined twice (also at index 0)"},
	{"{" P "," H ", \"tenants\": [{\"name\": \"t\"}, {\"name\": \"u\"}],"
	 " \"groups\": [{\"name\": \"g\", \"tenant\": \"u\"}],"
	 " \"vms\": [{\"name\": \"v\", \"tenant\": \"t\", \"group\": \"g\","
	 " \"vcpus\": 1, \"mem_mib\": 1, \"disk_gib\": 1}]}",
	 "$.vms[0].group: group 'g' belongs to tenant 'u', not to the vm's "
	 "tenant 't'"},
	{"{" P "," H "," T ", \"vms\": {}}",
	 "$.vms: expected an array, got"},
};

static void test_bad_inputs(void **state)
{
	(void)state;
	for (size_t i = 0; i < FC_ARRAY_LEN(bad); i++) {
		struct sched_problem *p = NULL;

		err_clear();
		if (parse(bad[i].text, &p) != -1 ||
		    strncmp(err_msg(), bad[i].msg, strlen(bad[i].msg)) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, err_msg(),
				 bad[i].msg);
		assert_null(p);
	}
}

static void test_load_json_file_errors(void **state)
{
	struct sched_problem *p = NULL;
	char path[] = "/tmp/test_sched_problemXXXXXX";
	int fd;
	(void)state;

	assert_int_equal(sched_problem_load_json("/nonexistent/x.json", &p),
			 -1);
	assert_non_null(strstr(err_msg(), "/nonexistent/x.json"));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"pools\": [}", 12), 12);
	close(fd);
	assert_int_equal(sched_problem_load_json(path, &p), -1);
	assert_non_null(strstr(err_msg(), "invalid JSON at line 1"));
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, good, strlen(good)), (ssize_t)strlen(good));
	close(fd);
	assert_int_equal(sched_problem_load_json(path, &p), 0);
	check_good(p);
	sched_problem_free(p);
	p = NULL;
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"pools\": 1}", 12), 12);
	close(fd);
	assert_int_equal(sched_problem_load_json(path, &p), -1);
	assert_true(strncmp(err_msg(), path, strlen(path)) == 0);
	assert_non_null(strstr(err_msg(), "$.pools: expected an array"));
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_and_round_trip),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_load_json_file_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

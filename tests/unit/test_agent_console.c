/* Unit tests of the agent's console sessions' pure parts: where the last
 * N lines of a log start (agent_console_tail_start()), and the
 * "consoles" of a desired state (agent_desired_parse()), whose bad
 * entries are dropped while the rest of the desired state applies. */
#include "tests/unit/fc_test.h"

#include "agents/agent_console.h"
#include "agents/agent_report.h"

#define SID "0123456789abcdef0123456789abcdef"
#define VM1 "0c6f8e9a-1111-4222-8333-444455556666"

static size_t tail_of(const char *text, int64_t lines)
{
	return agent_console_tail_start(text, strlen(text), lines);
}

static void test_tail_start(void **state)
{
	(void)state;
	assert_int_equal(tail_of("a\nbb\nccc\n", 1), 5);
	assert_int_equal(tail_of("a\nbb\nccc\n", 2), 2);
	assert_int_equal(tail_of("a\nbb\nccc\n", 3), 0);
	assert_int_equal(tail_of("a\nbb\nccc\n", 9), 0);
	/* a last line still being written counts as one */
	assert_int_equal(tail_of("a\nbb\nccc", 1), 5);
	assert_int_equal(tail_of("a\nbb\nccc", 2), 2);
	/* empty lines are lines */
	assert_int_equal(tail_of("a\n\n\n", 2), 2);
	assert_int_equal(tail_of("", 3), 0);
	assert_int_equal(tail_of("abc\n", 0), 0);
}

static void test_desired_consoles(void **state)
{
	const char *body =
		"{\"generation\":3,\"vms\":[],\"consoles\":["
		"{\"session_id\":\"" SID "\",\"vm_id\":\"" VM1 "\","
		"\"kind\":\"log\",\"follow\":true,\"tail\":20},"
		"{\"session_id\":\"" SID "\",\"vm_id\":\"" VM1 "\","
		"\"kind\":\"console\"},"
		"{\"session_id\":\"XYZ\",\"vm_id\":\"" VM1 "\",\"kind\":\"log\"},"
		"{\"session_id\":\"" SID "\",\"vm_id\":\"" VM1 "\","
		"\"kind\":\"shell\"},"
		"{\"session_id\":\"" SID "\",\"vm_id\":\"" VM1 "\","
		"\"kind\":\"log\",\"tail\":-1}]}";
	struct agent_desired d;

	(void)state;
	assert_int_equal(agent_desired_parse(body, strlen(body), &d), 0);
	assert_int_equal(d.generation, 3);
	assert_int_equal(d.nconsoles, 2);
	assert_string_equal(d.consoles[0].session_id, SID);
	assert_string_equal(d.consoles[0].vm_id, VM1);
	assert_false(d.consoles[0].interactive);
	assert_true(d.consoles[0].follow);
	assert_int_equal(d.consoles[0].tail, 20);
	assert_true(d.consoles[1].interactive);
	assert_false(d.consoles[1].follow);
	assert_int_equal(d.consoles[1].tail, 0);
	agent_desired_free(&d);
}

static void test_desired_without_consoles(void **state)
{
	const char *body = "{\"generation\":1,\"vms\":[]}";
	struct agent_desired d;

	(void)state;
	assert_int_equal(agent_desired_parse(body, strlen(body), &d), 0);
	assert_int_equal(d.nconsoles, 0);
	agent_desired_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tail_start),
		cmocka_unit_test(test_desired_consoles),
		cmocka_unit_test(test_desired_without_consoles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests of the decision whether a client certificate may act for a
 * node (controller/peercert.c): not required, anything goes; required,
 * only a verified certificate whose CN is the node, and each refusal says
 * why. peercert_read() over real TLS sessions is ctrl_mtls.sh's. */
#include "tests/unit/fc_test.h"

#include "common/err.h"
#include "controller/peercert.h"

static void test_not_required(void **state)
{
	struct peercert other = {.state = PEERCERT_VALID, .cn = "node2"};
	(void)state;

	assert_int_equal(peercert_check(NULL, false, "node1"), 0);
	assert_int_equal(peercert_check(&other, false, "node1"), 0);
}

static void test_required(void **state)
{
	struct peercert none = {.state = PEERCERT_NONE};
	struct peercert bad = {.state = PEERCERT_INVALID,
			       .why = "the client certificate is refused: "
				      "expired"};
	struct peercert mine = {.state = PEERCERT_VALID, .cn = "node1"};
	struct peercert other = {.state = PEERCERT_VALID, .cn = "node2"};
	struct peercert prefix = {.state = PEERCERT_VALID, .cn = "node"};
	(void)state;

	assert_int_equal(peercert_check(NULL, true, "node1"), -1);
	assert_non_null(strstr(err_msg(), "no client certificate"));
	assert_int_equal(peercert_check(&none, true, "node1"), -1);
	assert_non_null(strstr(err_msg(), "fincloud-ca.sh issue node1"));
	assert_int_equal(peercert_check(&bad, true, "node1"), -1);
	assert_non_null(strstr(err_msg(), "expired"));
	assert_int_equal(peercert_check(&other, true, "node1"), -1);
	assert_non_null(strstr(err_msg(), "names node 'node2'"));
	assert_int_equal(peercert_check(&prefix, true, "node1"), -1);
	assert_int_equal(peercert_check(&mine, true, "node1"), 0);
	/* a CN is compared whole, case and all */
	assert_int_equal(peercert_check(&mine, true, "Node1"), -1);
	assert_int_equal(peercert_check(&mine, true, "node10"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_required),
		cmocka_unit_test(test_required),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

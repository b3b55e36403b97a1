/* Unit tests of the domain-name rule (controller/domname.c): the name is
 * "TENANT.NAME", a VM is refused when it would be longer than
 * NAME_MAX_LEN (what the agent accepts), and formatting never cuts. */
#include <stdlib.h>

#include "tests/unit/fc_test.h"

#include "common/err.h"
#include "controller/domname.h"

static void test_format(void **state)
{
	char dom[DOMNAME_SIZE], small[9]; /* "loan.vm1" and its NUL */
	(void)state;

	assert_int_equal(domname_format("loan", "vm1", dom, sizeof(dom)), 0);
	assert_string_equal(dom, "loan.vm1");
	assert_int_equal(domname_format("loan", "vm1", small, sizeof(small)),
			 0);
	assert_string_equal(small, "loan.vm1");
	assert_int_equal(domname_format("loan", "vm12", small, sizeof(small)),
			 -1);
	assert_non_null(strstr(err_msg(), "does not fit"));
}

static void test_length_rule(void **state)
{
	char tenant[NAME_MAX_LEN + 1], name[NAME_MAX_LEN + 1];
	char dom[DOMNAME_SIZE];
	(void)state;

	/* 30 + 1 + 32 = 63: the longest that fits */
	memset(tenant, 't', 30);
	tenant[30] = '\0';
	memset(name, 'n', 32);
	name[32] = '\0';
	assert_int_equal(domname_check(tenant, name), 0);
	name[32] = 'n';
	name[33] = '\0';
	assert_int_equal(domname_check(tenant, name), -1);
	assert_non_null(strstr(err_msg(), "would be longer than 63 "
					  "characters"));
	/* the longest names still format whole */
	memset(tenant, 't', NAME_MAX_LEN);
	tenant[NAME_MAX_LEN] = '\0';
	memset(name, 'n', NAME_MAX_LEN);
	name[NAME_MAX_LEN] = '\0';
	assert_int_equal(domname_check(tenant, name), -1);
	assert_int_equal(domname_format(tenant, name, dom, sizeof(dom)), 0);
	assert_int_equal(strlen(dom), 2 * NAME_MAX_LEN + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_length_rule),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

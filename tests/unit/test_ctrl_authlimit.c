/* Unit tests of the failed-authentication limit (controller/authlimit.c):
 * limit failures a minute per address, then a wait until the minute is
 * over; other addresses are not affected; counters count. */
#include <stdlib.h>

#include "tests/unit/fc_test.h"

#include "controller/authlimit.h"

#define T0 1700000000000LL
#define A 0x7f000001u /* 127.0.0.1 */
#define B 0x0a000002u /* 10.0.0.2 */

static void test_limit(void **state)
{
	struct authlimit *al = calloc(1, sizeof(*al));
	(void)state;

	assert_non_null(al);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(authlimit_check(al, A, 3, T0 + i), 0);
		authlimit_fail(al, A, T0 + i);
	}
	/* the fourth attempt within the minute waits for its end */
	assert_int_equal(authlimit_check(al, A, 3, T0 + 10), 60);
	assert_int_equal(authlimit_check(al, A, 3, T0 + 59500), 1);
	assert_int_equal(authlimit_check(al, B, 3, T0 + 10), 0);
	assert_int_equal(al->failures_total, 3);
	assert_int_equal(al->limited_total, 2);
	/* a new minute, a new count */
	assert_int_equal(authlimit_check(al, A, 3, T0 + 60000), 0);
	authlimit_fail(al, A, T0 + 60000);
	assert_int_equal(authlimit_check(al, A, 3, T0 + 60001), 0);
	/* a clock stepped back ends the minute */
	authlimit_fail(al, A, T0 + 60000);
	authlimit_fail(al, A, T0 + 60000);
	assert_int_equal(authlimit_check(al, A, 3, T0 + 60002), 60);
	assert_int_equal(authlimit_check(al, A, 3, T0), 0);
	/* no limit */
	for (int i = 0; i < 10; i++)
		authlimit_fail(al, B, T0);
	assert_int_equal(authlimit_check(al, B, 0, T0), 0);
	assert_int_equal(authlimit_check(al, B, 10, T0), 60);
	free(al);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

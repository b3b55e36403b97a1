/* Unit tests of the availability of replicated storage
 * (controller/storage.c): 1 - prod(1 - A_i) over the replicas least
 * available holders, or replicas holders of one availability. */
#include <math.h>

#include "tests/unit/fc_test.h"

#include "controller/storage.h"

static void test_holders(void **state)
{
	const double a[] = {0.99, 0.9, 0.8};
	(void)state;

	/* size 3 on three hosts: all count */
	assert_float_equal(storage_availability(a, 3, 3, 0),
			   1 - 0.01 * 0.1 * 0.2, 1e-12);
	/* size 2: the two least available hosts are the ones to count on
	 * (the cluster may put a VM's replicas there) */
	assert_float_equal(storage_availability(a, 3, 2, 0), 1 - 0.1 * 0.2,
			   1e-12);
	/* more replicas than holders: every holder counts once */
	assert_float_equal(storage_availability(a, 3, 5, 0),
			   1 - 0.01 * 0.1 * 0.2, 1e-12);
	/* one replica: the least available host alone */
	assert_float_equal(storage_availability(a, 3, 1, 0), 0.8, 1e-12);
	assert_float_equal(storage_availability(a, 3, 0, 0), 0.8, 1e-12);
	/* a dead holder (0) adds nothing */
	assert_float_equal(storage_availability((const double[]){0, 0.9}, 2, 2,
						0), 0.9, 1e-12);
}

static void test_outside(void **state)
{
	(void)state;
	/* a cluster outside fincloud: replicas holders of each */
	assert_float_equal(storage_availability(NULL, 0, 3, 0.9),
			   1 - pow(0.1, 3), 1e-12);
	assert_float_equal(storage_availability(NULL, 0, 1, 0.999), 0.999,
			   1e-12);
	assert_float_equal(storage_availability(NULL, 0, 2, 1), 1, 1e-12);
	assert_float_equal(storage_availability(NULL, 0, 2, 0), 0, 1e-12);
}

static void test_many_holders(void **state)
{
	double a[STORAGE_HOLDERS_MAX + 10];
	(void)state;

	for (size_t i = 0; i < FC_ARRAY_LEN(a); i++)
		a[i] = 0.99;
	a[3] = 0.5;
	/* only the first STORAGE_HOLDERS_MAX count; the least available
	 * among them is taken first */
	assert_float_equal(storage_availability(a, FC_ARRAY_LEN(a), 2, 0),
			   1 - 0.5 * 0.01, 1e-12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_holders),
		cmocka_unit_test(test_outside),
		cmocka_unit_test(test_many_holders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

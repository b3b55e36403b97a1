/* Unit tests of controller/series.c: buckets, weighted merging and
 * downsampling of utilisation samples. */
#include "tests/unit/fc_test.h"

#include "controller/series.h"

static void test_bucket(void **state)
{
	(void)state;
	assert_int_equal(series_bucket(0, 60000), 0);
	assert_int_equal(series_bucket(59999, 60000), 0);
	assert_int_equal(series_bucket(60000, 60000), 60000);
	assert_int_equal(series_bucket(-1, 60000), -60000);
	assert_int_equal(series_bucket(12345, 0), 12345);
}

static void test_merge_weighted(void **state)
{
	struct series_sample a = {.time_ms = 0, .n = 3, .v = {1, 0, 0, 0, 0, 0}};
	struct series_sample b = {.time_ms = 5, .n = 1, .v = {5, 4, 0, 0, 0, 0}};
	(void)state;

	series_merge(&a, &b);
	assert_int_equal(a.n, 4);
	assert_true(a.v[0] == 2.0); /* (1*3 + 5*1) / 4 */
	assert_true(a.v[1] == 1.0);
	assert_int_equal(a.time_ms, 0);
}

static void test_downsample(void **state)
{
	struct series_sample in[6], out[6];
	size_t m;
	(void)state;

	/* 10-second samples 0..50 s and one at 61 s, into 1-minute buckets */
	for (int i = 0; i < 5; i++) {
		in[i] = (struct series_sample){.time_ms = i * 10000, .n = 1};
		for (int k = 0; k < SERIES_VALUES; k++)
			in[i].v[k] = i;
	}
	in[5] = (struct series_sample){.time_ms = 61000, .n = 2,
				       .v = {9, 9, 9, 9, 9, 9}};
	m = series_downsample(in, 6, 60000, out);
	assert_int_equal(m, 2);
	assert_int_equal(out[0].time_ms, 0);
	assert_int_equal(out[0].n, 5);
	assert_true(out[0].v[3] == 2.0); /* mean of 0..4 */
	assert_int_equal(out[1].time_ms, 60000);
	assert_int_equal(out[1].n, 2);
	assert_true(out[1].v[0] == 9.0);
}

static void test_levels_bounded(void **state)
{
	int64_t rows = 0;
	(void)state;

	/* with a sample every 10 s the table is bounded per pool */
	rows += series_levels[0].retention_ms / 10000;
	for (int l = 1; l < SERIES_LEVELS; l++) {
		assert_true(series_levels[l].width_ms > series_levels[l - 1].width_ms);
		rows += series_levels[l].retention_ms / series_levels[l].width_ms;
	}
	assert_true(rows <= 3000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_merge_weighted),
		cmocka_unit_test(test_downsample),
		cmocka_unit_test(test_levels_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

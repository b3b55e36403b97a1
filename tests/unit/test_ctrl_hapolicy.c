/* Unit tests of the pure decisions of "when a host dies"
 * (controller/hapolicy.c): suspect and failed by silence, never on one
 * missed beat, failed after fail_intervals (down or not); the partition
 * guard by pool and over all hosts; the N+1 reserve check. */
#include <string.h>

#include "tests/unit/fc_test.h"

#include "controller/hapolicy.h"

static const struct ha_rules rules = {
	.interval_ms = 1000, .suspect_intervals = 2, .fail_intervals = 4,
};

static void test_names(void **state)
{
	enum ha_state s;
	(void)state;

	for (int i = 0; i < HA_NSTATES; i++) {
		assert_int_equal(ha_state_parse(ha_state_name((enum ha_state)i),
						&s), 0);
		assert_int_equal(s, i);
	}
	assert_int_equal(ha_state_parse("dead", &s), -1);
	assert_string_equal(ha_state_name((enum ha_state)9), "?");
}

/* One host of pool p among four live ones of pool p, the others heard
 * from at now: what one host silent for `silent` ms in state st becomes. */
static struct ha_verdict one_silent(enum ha_state st, int64_t silent)
{
	int64_t now = 100000;
	struct ha_seen h[4] = {
		{"p", st, now - silent},
		{"p", HA_OK, now},
		{"p", HA_OK, now},
		{"p", HA_OK, now},
	};
	struct ha_verdict v[4];

	ha_detect(h, 4, now, &rules, v);
	for (int i = 1; i < 4; i++)
		assert_int_equal(v[i].to, HA_OK);
	return v[0];
}

static void test_silence(void **state)
{
	struct ha_verdict v;
	(void)state;

	/* one missed beat (and a bit) is nothing */
	v = one_silent(HA_OK, 1500);
	assert_int_equal(v.to, HA_OK);
	v = one_silent(HA_OK, 2000);
	assert_int_equal(v.to, HA_SUSPECT);
	assert_non_null(strstr(v.why, "no heartbeat for 2000 ms"));
	/* ok never jumps to failed, however long it was silent */
	v = one_silent(HA_OK, 60000);
	assert_int_equal(v.to, HA_SUSPECT);
	v = one_silent(HA_SUSPECT, 3999);
	assert_int_equal(v.to, HA_SUSPECT);
	/* failed after fail_intervals, without waiting for
	 * heartbeat_timeout's down (the caller no longer knows it) */
	v = one_silent(HA_SUSPECT, 4000);
	assert_int_equal(v.to, HA_FAILED);
	assert_false(v.held);
	/* heard again */
	v = one_silent(HA_SUSPECT, 500);
	assert_int_equal(v.to, HA_OK);
	/* failed and fenced stay as they are, heard or not */
	v = one_silent(HA_FAILED, 0);
	assert_int_equal(v.to, HA_FAILED);
	v = one_silent(HA_FENCED, 90000);
	assert_int_equal(v.to, HA_FENCED);
}

static void test_partition_guard(void **state)
{
	int64_t now = 100000;
	/* three of four hosts of pool p silent at once: held */
	struct ha_seen h[6] = {
		{"p", HA_SUSPECT, now - 5000},
		{"p", HA_SUSPECT, now - 5400},
		{"p", HA_SUSPECT, now - 4800},
		{"p", HA_OK, now},
		{"q", HA_OK, now},
		{"q", HA_FENCED, 0},
	};
	struct ha_verdict v[6];
	(void)state;

	ha_detect(h, 6, now, &rules, v);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(v[i].to, HA_SUSPECT);
		assert_true(v[i].held);
		assert_non_null(strstr(v[i].why, "partition guard: 3 of 4 live "
						 "hosts of pool 'p'"));
	}
	/* the same three dying one after another (not within one interval
	 * of each other): each fails */
	h[1].last_seen_ms = now - 9000;
	h[2].last_seen_ms = now - 14000;
	ha_detect(h, 6, now, &rules, v);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(v[i].to, HA_FAILED);
		assert_false(v[i].held);
	}
	/* a host held before stays held when the rest of its wave comes
	 * back first (a healed partition: agents return one by one) */
	h[1].last_seen_ms = now;
	h[2].last_seen_ms = now;
	h[0].held = true;
	ha_detect(h, 6, now, &rules, v);
	assert_int_equal(v[0].to, HA_SUSPECT);
	assert_true(v[0].held);
	assert_string_equal(v[0].why, "");
	/* ... until it heartbeats again */
	h[0].last_seen_ms = now - 500;
	ha_detect(h, 6, now, &rules, v);
	assert_int_equal(v[0].to, HA_OK);
	h[0].held = false;
	/* a pool of one host never fails by silence alone */
	h[0] = (struct ha_seen){"solo", HA_SUSPECT, now - 9000};
	ha_detect(h, 1, now, &rules, v);
	assert_true(v[0].held);
	/* over all hosts: two pools of two, one silent in each at once
	 * (half of each pool, so no pool's wave is a majority) */
	struct ha_seen g[5] = {
		{"a", HA_SUSPECT, now - 5000},
		{"a", HA_OK, now},
		{"b", HA_SUSPECT, now - 5000},
		{"b", HA_OK, now},
		{"c", HA_SUSPECT, now - 5000},
	};
	ha_detect(g, 5, now, &rules, v);
	assert_true(v[0].held);
	assert_non_null(strstr(v[0].why, "3 of 5 live hosts went silent"));
	assert_null(strstr(v[0].why, "of pool"));
}

static void test_reserve(void **state)
{
	/* two hosts of 8 vCPUs, 16 GiB, 100 GiB */
	struct ha_room r[3] = {
		{{8, 16384, 100}, {4, 8192, 10}},
		{{8, 16384, 100}, {4, 8192, 10}},
		{{8, 16384, 100}, {0, 0, 0}},
	};
	struct ha_claim c[3] = {
		{0, {4, 8192, 10}},
		{1, {4, 8192, 10}},
		{0, {4, 8192, 10}},
	};
	size_t bad = 99;
	(void)state;

	/* each host's HA VM fits on the other */
	assert_int_equal(ha_reserve_check(r, 2, c, 2, &bad), 0);
	/* a second HA VM on host 0: its 8 vCPUs do not fit on host 1 */
	r[0].used[0] = 8;
	r[0].used[1] = 16384;
	assert_int_equal(ha_reserve_check(r, 2, c, 3, &bad), 1);
	assert_int_equal(bad, 0); /* host 0's two do not fit on host 1 */
	/* a third, empty host takes any one host's HA VMs */
	assert_int_equal(ha_reserve_check(r, 3, c, 3, &bad), 0);
	/* no HA VM: it holds */
	assert_int_equal(ha_reserve_check(r, 3, c, 0, &bad), 0);
	/* one host: its HA VMs have nowhere to go */
	assert_int_equal(ha_reserve_check(r, 1, c, 1, &bad), 1);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_silence),
		cmocka_unit_test(test_partition_guard),
		cmocka_unit_test(test_reserve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

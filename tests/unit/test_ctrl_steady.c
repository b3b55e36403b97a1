/* Unit tests of the steady hosts (controller/steady.c): the
 * digests see every field they cover, the report's not the order of the
 * domains, a domain named twice has none; a host's steady row matches
 * only its digest and generation within STEADY_FULL_MS. */
#include <stdlib.h>
#include <string.h>

#include "tests/unit/fc_test.h"

#include "controller/report.h"
#include "controller/steady.h"

#define T0 1700000000000LL

static const struct report_dom D[2] = {
	{"vm-a", "fc-a", "running", 1.5, 512, 4096},
	{"vm-b", "fc-b", "shutoff", 0, 256, 8192},
};

/* The report digest of d (n), which must be computable. */
static uint64_t rd(const char *status, const char *reason, bool listed,
		   const struct report_dom *d, size_t n)
{
	uint64_t h = 0;

	assert_int_equal(steady_report_digest(status, reason, listed, d, n,
					      &h), 0);
	return h;
}

static void test_digests(void **state)
{
	struct report_dom d[2];
	uint64_t r, u, h;
	(void)state;

	memcpy(d, D, sizeof(d));
	r = rd("ok", "", true, d, 2);
	u = steady_usage_digest(d, 2);
	assert_true(r == rd("ok", "", true, D, 2));
	/* each field the report digest covers */
	assert_true(r != rd("degraded", "", true, d, 2));
	assert_true(r != rd("ok", "x", true, d, 2));
	assert_true(r != rd("ok", "", false, d, 2));
	assert_true(r != rd("ok", "", true, d, 1));
	assert_true(rd("ok", "", true, d, 0) != rd("ok", "", true, d, 1));
	d[1].state = "running";
	assert_true(r != rd("ok", "", true, d, 2));
	d[1] = D[1];
	d[0].name = "fc-a2";
	assert_true(r != rd("ok", "", true, d, 2));
	/* the boundary between two strings counts */
	d[0] = (struct report_dom){"vm-af", "c-a", "running", 1.5, 512, 4096};
	assert_true(r != rd("ok", "", true, d, 2));
	/* the order of the domains does not (libvirt's may change), and
	 * the usage digest's does */
	d[0] = D[1];
	d[1] = D[0];
	assert_true(r == rd("ok", "", true, d, 2));
	assert_true(u != steady_usage_digest(d, 2));
	/* a domain named twice: no digest (its last entry counts) */
	d[0] = D[0];
	d[1] = D[0];
	d[1].state = "shutoff";
	assert_int_equal(steady_report_digest("ok", "", true, d, 2, &h), -1);
	/* usage is not in the report digest, and is in its own */
	memcpy(d, D, sizeof(d));
	d[0].cpu_pct = 2.5;
	assert_true(r == rd("ok", "", true, d, 2));
	assert_true(u != steady_usage_digest(d, 2));
	d[0] = D[0];
	d[1].balloon_mib = 128;
	assert_true(u != steady_usage_digest(d, 2));
	d[1] = D[1];
	d[1].disk_bytes = 1;
	assert_true(u != steady_usage_digest(d, 2));
}

static void test_match(void **state)
{
	struct steady_row row = {7, 11, 3, T0};
	(void)state;

	assert_true(steady_match(&row, 7, 3, T0));
	assert_true(steady_match(&row, 7, 3, T0 + 1));
	/* another digest or generation does not match */
	assert_false(steady_match(&row, 8, 3, T0 + 1));
	assert_false(steady_match(&row, 7, 4, T0 + 1));
	assert_false(steady_match(&row, 7, 2, T0 + 1));
	/* a full pass at least every STEADY_FULL_MS; a clock stepped
	 * back ends it */
	assert_true(steady_match(&row, 7, 3, T0 + STEADY_FULL_MS - 1));
	assert_false(steady_match(&row, 7, 3, T0 + STEADY_FULL_MS));
	assert_false(steady_match(&row, 7, 3, T0 - 1));
	/* no steady state (0: never, or forgotten), even for a digest and
	 * generation of 0 and a clock near its start */
	row = (struct steady_row){0, 0, 0, 0};
	assert_false(steady_match(&row, 0, 0, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digests),
		cmocka_unit_test(test_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

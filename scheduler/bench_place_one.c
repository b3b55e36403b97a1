/*
 * sched-place-one - time sched_place_one(), the controller's per-request
 * fast path, on a loaded generated cluster (used by scripts/bench-sched.sh).
 *
 *   sched-place-one HOSTS VMS REQUESTS SEED
 *
 * Generates HOSTS x (VMS + REQUESTS), places everything with
 * sched_place_all(), takes REQUESTS VMs spread over the list off their
 * hosts again and places them back one at a time, timing each decision.
 * Prints one JSON line: median, p99 and max microseconds per decision,
 * and how many requests found a host.
 */
#include "common/fc.h"

#include "common/err.h"
#include "common/util.h"
#include "scheduler/gen.h"
#include "scheduler/place.h"
#include "scheduler/state.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int64_t hosts, vms, req, seed;
	struct sched_problem *p;
	struct sched_state *s;
	struct sched_result r;
	struct sched_place_opts o = {.time_limit = 1.0};
	uint64_t *t;
	size_t placed = 0, n, step;
	char why[512];

	if (argc != 5 || parse_int64(argv[1], &hosts) < 0 || hosts < 1 ||
	    parse_int64(argv[2], &vms) < 0 || vms < 0 ||
	    parse_int64(argv[3], &req) < 0 || req < 1 ||
	    parse_int64(argv[4], &seed) < 0) {
		fprintf(stderr, "usage: sched-place-one HOSTS VMS REQUESTS "
				"SEED\n");
		return 2;
	}
	p = sched_gen((size_t)hosts, (size_t)(vms + req), (uint64_t)seed,
		      false);
	if (p == NULL || (s = sched_state_new(p)) == NULL ||
	    sched_place_all(s, &o, &r) < 0) {
		fprintf(stderr, "sched-place-one: %s\n", err_msg());
		return 1;
	}
	sched_result_free(&r);
	n = (size_t)req;
	t = calloc(n, sizeof(*t));
	if (t == NULL)
		return 1;
	step = p->nvms / n;
	for (size_t i = 0; i < n; i++)
		sched_state_unassign(s, i * step);
	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = time_mono_ns();
		int h = sched_place_one(s, i * step, why, sizeof(why));

		t[i] = time_mono_ns() - t0;
		placed += h >= 0;
	}
	qsort(t, n, sizeof(*t), cmp_u64);
	printf("{\"hosts\": %zu, \"requests\": %zu, \"placed\": %zu, "
	       "\"median_us\": %.2f, \"p99_us\": %.2f, \"max_us\": %.2f}\n",
	       p->nhosts, n, placed, (double)t[n / 2] / 1e3,
	       (double)t[(n * 99) / 100] / 1e3, (double)t[n - 1] / 1e3);
	free(t);
	sched_state_free(s);
	sched_problem_free(p);
	return 0;
}

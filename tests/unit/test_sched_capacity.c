/* Unit tests of scheduler/capacity.c: the N+1 check gives the answers of
 * the plain simulation (every host's evacuation re-run after every
 * instance, each restarted instance placed by scanning every host) with
 * far less work, and the count keeps the memory of stopped instances as
 * hspace does. */
#include "tests/unit/fc_test.h"

#include "common/err.h"
#include "common/util.h"
#include "scheduler/capacity.h"
#include "scheduler/htools.h"
#include "scheduler/problem.h"

static uint64_t next(uint64_t *x)
{
	*x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
	return *x >> 33;
}

/* nh hosts in two pools (a tenth of them down), VMs of several sizes on
 * the up ones, local disk scarce enough to bind now and then. */
static struct sched_problem *cluster(size_t nh, uint64_t seed)
{
	struct sched_problem *p = sched_problem_new();
	uint64_t x = seed;
	size_t nv = nh * 6;

	assert_non_null(p);
	p->npools = 2;
	p->pools = calloc(2, sizeof(*p->pools));
	p->nhosts = nh;
	p->hosts = calloc(nh, sizeof(*p->hosts));
	p->ntenants = 1;
	p->tenants = calloc(1, sizeof(*p->tenants));
	p->vms = calloc(nv, sizeof(*p->vms));
	assert_true(p->pools && p->hosts && p->tenants && p->vms);
	for (size_t q = 0; q < 2; q++) {
		snprintf(p->pools[q].name, SCHED_NAME_MAX, "p%zu", q);
		for (int d = 0; d < DIM_COUNT; d++)
			p->pools[q].ratio[d] = 1;
		p->pools[q].ratio[DIM_VCPU] = 4;
	}
	str_copy(p->tenants[0].name, SCHED_NAME_MAX, "t");
	for (size_t h = 0; h < nh; h++) {
		struct sched_host *ho = &p->hosts[h];

		snprintf(ho->name, SCHED_NAME_MAX, "h%zu", h);
		ho->pool = h % 3 == 0;
		ho->cap[DIM_VCPU] = 32;
		ho->cap[DIM_MEM] = (double)(65536 << (next(&x) % 2));
		ho->cap[DIM_DISK] = (double)(200 + next(&x) % 400);
		ho->state = next(&x) % 10 == 0 ? HOST_DOWN : HOST_UP;
	}
	for (size_t v = 0; v < nv; v++) {
		struct sched_vm *vm = &p->vms[v];
		size_t h = next(&x) % nh;

		snprintf(vm->name, SCHED_NAME_MAX, "v%zu", v);
		vm->group = -1;
		vm->req[DIM_VCPU] = 1 + next(&x) % 4;
		vm->req[DIM_MEM] = (double)(1024 << (next(&x) % 4));
		vm->req[DIM_DISK] = (double)(10 * (next(&x) % 5));
		vm->host = p->hosts[h].state == HOST_UP ? (int)h : -1;
		p->nvms++;
	}
	return p;
}

/* ---- the plain simulation, as capacity.c did it before ------------- */

struct ref {
	const struct sched_problem *p;
	double (*room)[DIM_COUNT], (*scr)[DIM_COUNT], spec[DIM_COUNT];
	size_t *added;
};

static bool ref_survives(struct ref *c, size_t f)
{
	const struct sched_problem *p = c->p;
	size_t n = 0, *items = calloc(p->nvms + c->added[f] + 1, sizeof(*items));
	bool ok = true;

	assert_non_null(items);
	/* VM v is v + 1, a new instance 0; largest memory first, stable. */
	for (size_t v = 0; v < p->nvms; v++)
		if (p->vms[v].host == (int)f && p->vms[v].req[DIM_MEM] > 0)
			items[n++] = v + 1;
	for (size_t i = 0; i < c->added[f]; i++)
		items[n++] = 0;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0; j--) {
			double a = items[j - 1] ? p->vms[items[j - 1] - 1].req[DIM_MEM]
						: c->spec[DIM_MEM];
			double b = items[j] ? p->vms[items[j] - 1].req[DIM_MEM]
					    : c->spec[DIM_MEM];
			size_t t;

			if (a >= b)
				break;
			t = items[j];
			items[j] = items[j - 1];
			items[j - 1] = t;
		}
	memcpy(c->scr, c->room, p->nhosts * sizeof(*c->scr));
	for (size_t i = 0; i < n && ok; i++) {
		const double *req = items[i] ? p->vms[items[i] - 1].req : c->spec;
		size_t best = SIZE_MAX;

		for (size_t h = 0; h < p->nhosts; h++) {
			bool fits = h != f && p->hosts[h].state == HOST_UP &&
				    p->hosts[h].pool == p->hosts[f].pool &&
				    c->scr[h][DIM_MEM] - req[DIM_MEM] > 1e-9 &&
				    (req[DIM_DISK] <= 0 ||
				     c->scr[h][DIM_DISK] + 1e-9 >= req[DIM_DISK]);

			if (fits && (best == SIZE_MAX ||
				     c->scr[h][DIM_MEM] > c->scr[best][DIM_MEM]))
				best = h;
		}
		ok = best != SIZE_MAX;
		for (int d = 0; ok && d < DIM_COUNT; d++)
			c->scr[best][d] -= req[d];
	}
	free(items);
	return ok;
}

/* Host k takes one more instance under Ganeti's limits. */
static bool ref_takes(const struct ref *c, size_t k)
{
	const double *room = c->room[k], *spec = c->spec;

	return c->p->hosts[k].state == HOST_UP &&
	       room[DIM_MEM] - spec[DIM_MEM] > 1e-9 &&
	       room[DIM_VCPU] + 1e-9 >= spec[DIM_VCPU] &&
	       (spec[DIM_DISK] <= 0 || room[DIM_DISK] - spec[DIM_DISK] > 1e-9);
}

static double ref_share(const struct ref *c, size_t k)
{
	const struct sched_host *h = &c->p->hosts[k];

	return c->room[k][DIM_MEM] /
	       (h->cap[DIM_MEM] * c->p->pools[h->pool].ratio[DIM_MEM]);
}

static size_t ref_capacity(const struct sched_problem *p, const double *spec,
			   bool n1)
{
	size_t nh = p->nhosts, count = 0;
	struct ref c = {p, calloc(nh, sizeof(*c.room)), calloc(nh, sizeof(*c.scr)),
			{spec[0], spec[1], spec[2]}, calloc(nh, sizeof(size_t))};
	bool *skip = calloc(nh, sizeof(*skip));

	assert_true(c.room && c.scr && c.added && skip);
	for (size_t h = 0; h < nh; h++)
		for (int d = 0; d < DIM_COUNT; d++)
			c.room[h][d] = p->hosts[h].cap[d] *
				       p->pools[p->hosts[h].pool].ratio[d];
	for (size_t v = 0; v < p->nvms; v++)
		for (int d = 0; d < DIM_COUNT && p->vms[v].host >= 0; d++)
			c.room[p->vms[v].host][d] -= p->vms[v].req[d];
	for (size_t f = 0; f < nh && n1; f++)
		skip[f] = !ref_survives(&c, f);
	for (;;) {
		size_t best = SIZE_MAX;
		bool *tried = calloc(nh, sizeof(*tried));

		assert_non_null(tried);
		/* Candidates by share of free memory, lowest index first. */
		for (;;) {
			size_t h = SIZE_MAX;
			bool ok = true;

			for (size_t k = 0; k < nh; k++)
				if (!tried[k] && ref_takes(&c, k) &&
				    (h == SIZE_MAX || ref_share(&c, k) >
							      ref_share(&c, h)))
					h = k;
			if (h == SIZE_MAX)
				break;
			tried[h] = true;
			for (int d = 0; d < DIM_COUNT; d++)
				c.room[h][d] -= spec[d];
			c.added[h]++;
			for (size_t f = 0; f < nh && n1 && ok; f++)
				if (!skip[f] && p->hosts[f].pool == p->hosts[h].pool)
					ok = ref_survives(&c, f);
			for (int d = 0; d < DIM_COUNT; d++)
				c.room[h][d] += spec[d];
			c.added[h]--;
			if (ok) {
				best = h;
				break;
			}
		}
		free(tried);
		if (best == SIZE_MAX)
			break;
		for (int d = 0; d < DIM_COUNT; d++)
			c.room[best][d] -= spec[d];
		c.added[best]++;
		count++;
	}
	free(c.room);
	free(c.scr);
	free(c.added);
	free(skip);
	return count;
}

/* The N+1 count equals the plain simulation's, local disk binding or
 * not, on clusters of several sizes. */
static void test_n1_same_answers(void **state)
{
	static const char *const specs[] = {"10240,4096,2", "102400,8192,1",
					    "0,2048,4"};
	(void)state;

	for (uint64_t seed = 1; seed <= 4; seed++) {
		struct sched_problem *p = cluster(10 + 7 * seed, seed);

		for (size_t i = 0; i < FC_ARRAY_LEN(specs); i++) {
			struct sched_capacity_opts o = {0};
			struct sched_capacity_result r;
			double spec[DIM_COUNT];

			assert_int_equal(sched_capacity_parse_spec(specs[i], &o), 0);
			str_copy(o.disk_template, sizeof(o.disk_template), "plain");
			spec[DIM_VCPU] = o.vcpus;
			spec[DIM_MEM] = o.mem_mib;
			spec[DIM_DISK] = o.disk_mib / 1024;
			for (int n1 = 0; n1 < 2; n1++) {
				o.n_plus_one = n1;
				assert_int_equal(sched_capacity(p, &o, &r), 0);
				assert_int_equal(r.instances,
						 ref_capacity(p, spec, n1));
				sched_capacity_result_free(&r);
			}
		}
		sched_problem_free(p);
	}
}

/* Finding where a failed host's instance restarts looks at one host (the
 * one with the most free memory) unless its disk is short, not at every
 * host of the pool; and an added instance re-runs only the evacuations
 * it can change, not every host's. */
static void test_n1_work(void **state)
{
	struct sched_problem *p = cluster(120, 7);
	struct sched_capacity_opts o = {.n_plus_one = true};
	struct sched_capacity_result r;
	(void)state;

	assert_int_equal(sched_capacity_parse_spec("10240,4096,2", &o), 0);
	assert_int_equal(sched_capacity(p, &o, &r), 0);
	assert_true(r.instances > 100);
	assert_true(r.n1_items_moved > 0);
	/* One host per instance, a few more where disk runs short; the
	 * scan of every host looked at 39 or 79. */
	assert_true(r.n1_hosts_examined < r.n1_items_moved * 11 / 10);
	/* 120 hosts: two pools of 40 and 80. */
	assert_true(r.n1_evacuations < r.n1_checks * 40);
	sched_capacity_result_free(&r);
	sched_problem_free(p);
}

/* Two nodes of 64 GiB with one 8 GiB instance each, the second running.
 * The counts are hspace's (Ganeti 3.0, --standard-alloc=10240,4096,2
 * --no-capacity-checks): it keeps a stopped or forthcoming instance's
 * memory on its node, whatever the node reports free. */
static size_t two_nodes(const char *status, int fmem, const char *forth)
{
	char text[1024];
	struct sched_problem *p = NULL;
	struct sched_capacity_opts o = {0};
	struct sched_capacity_result r;
	size_t n;

	snprintf(text, sizeof(text),
		 "group-01|uuid-0001|preferred||\n\n"
		 "node-0001|65536|2048|%d|2097152|2097152|32|N|uuid-0001|1\n"
		 "node-0002|65536|2048|55296|2097152|2097152|32|N|uuid-0001|1\n"
		 "\n"
		 "inst-00001|8192|10240|2|%s|Y|node-0001||rbd||1|-|%s\n"
		 "inst-00002|8192|10240|2|running|Y|node-0002||rbd||1|-|N\n"
		 "\n",
		 fmem, status, forth);
	if (htools_parse("t.data", text, strlen(text), &p) < 0)
		fail_msg("%s", err_msg());
	assert_int_equal(sched_capacity_parse_spec("10240,4096,2", &o), 0);
	assert_int_equal(sched_capacity(p, &o, &r), 0);
	n = r.instances;
	sched_capacity_result_free(&r);
	sched_problem_free(p);
	return n;
}

static void test_stopped_memory_kept(void **state)
{
	(void)state;
	/* 13 per node: (55296 - 1) / 4096. */
	assert_int_equal(two_nodes("running", 55296, "N"), 26);
	/* Stopped: the node reports its 8 GiB free, hspace keeps them. */
	assert_int_equal(two_nodes("ADMIN_down", 63488, "N"), 26);
	assert_int_equal(two_nodes("ADMIN_offline", 63488, "N"), 26);
	assert_int_equal(two_nodes("USER_down", 63488, "N"), 26);
	assert_int_equal(two_nodes("ADMIN_down", 55296, "N"), 24);
	/* Forthcoming: not created yet, its memory kept all the same. */
	assert_int_equal(two_nodes("running", 55296, "Y"), 24);
	assert_int_equal(two_nodes("running", 63488, "Y"), 26);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_n1_same_answers),
		cmocka_unit_test(test_n1_work),
		cmocka_unit_test(test_stopped_memory_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests of scheduler/gen.c: every shape is reproducible, readable
 * back through the validating reader and has what its name says; the
 * default shape is what sched_gen() made before there were shapes. */
#include "tests/unit/fc_test.h"

#include "common/err.h"
#include "scheduler/gen.h"
#include "scheduler/problem.h"

static char *text_of(const struct sched_problem *p)
{
	cJSON *j = sched_problem_to_json(p);
	char *t;

	assert_non_null(j);
	t = cJSON_PrintUnformatted(j);
	assert_non_null(t);
	cJSON_Delete(j);
	return t;
}

/* a and b print the same JSON (want_same) or not. */
static void assert_text(const struct sched_problem *a,
			const struct sched_problem *b, bool want_same)
{
	char *ta = text_of(a), *tb = text_of(b);

	if (want_same)
		assert_string_equal(ta, tb);
	else
		assert_string_not_equal(ta, tb);
	free(ta);
	free(tb);
}

/* A shape's problem, checked to read back as the same problem. */
static struct sched_problem *gen_checked(const char *shape, size_t hosts,
					 size_t vms, uint64_t seed,
					 bool simple)
{
	struct sched_problem *p = sched_gen_shape(shape, hosts, vms, seed,
						  simple);
	struct sched_problem *back = NULL;
	cJSON *j;

	if (p == NULL)
		fail_msg("%s: %s", shape, err_msg());
	j = sched_problem_to_json(p);
	assert_non_null(j);
	if (sched_problem_from_json(j, &back) < 0)
		fail_msg("%s: %s", shape, err_msg());
	cJSON_Delete(j);
	assert_text(p, back, true);
	sched_problem_free(back);
	return p;
}

static void test_default_unchanged(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed < 4; seed++) {
		struct sched_problem *a = sched_gen(30, 400, seed, seed == 2);
		struct sched_problem *b =
			sched_gen_shape("default", 30, 400, seed, seed == 2);

		assert_non_null(a);
		assert_non_null(b);
		assert_text(a, b, true);
		sched_problem_free(a);
		sched_problem_free(b);
	}
	/* What the default shape made before shapes existed (gen --hosts 3
	 * --vms 4 --seed 1): first host and VM. */
	{
		struct sched_problem *p = sched_gen(3, 4, 1, false);

		assert_non_null(p);
		assert_true(p->hosts[0].cap[DIM_MEM] == 524288);
		assert_true(p->vms[0].req[DIM_MEM] == 8192);
		sched_problem_free(p);
	}
}

static void test_shapes_reproducible(void **state)
{
	(void)state;
	assert_true(sched_gen_shape_count() >= 9);
	assert_string_equal(sched_gen_shape_name(0), "default");
	assert_null(sched_gen_shape_name(sched_gen_shape_count()));
	for (size_t i = 0; i < sched_gen_shape_count(); i++) {
		const char *s = sched_gen_shape_name(i);
		struct sched_problem *a = gen_checked(s, 40, 500, 5, false);
		struct sched_problem *b = gen_checked(s, 40, 500, 5, false);
		struct sched_problem *c = gen_checked(s, 40, 500, 6, false);
		struct sched_problem *d = sched_gen(40, 500, 5, false);

		assert_non_null(sched_gen_shape_help(i));
		assert_text(a, b, true);
		assert_text(a, c, false);
		assert_text(a, d, i == 0);
		assert_int_equal(a->nvms, 500);
		assert_int_equal(a->nhosts, 40);
		sched_problem_free(a);
		sched_problem_free(b);
		sched_problem_free(c);
		sched_problem_free(d);
	}
}

static size_t count_hosts(const struct sched_problem *p, enum host_state s)
{
	size_t n = 0;

	for (size_t h = 0; h < p->nhosts; h++)
		n += p->hosts[h].state == s;
	return n;
}

static size_t count_groups(const struct sched_problem *p,
			   enum group_policy pol, bool target)
{
	size_t n = 0;

	for (size_t g = 0; g < p->ngroups; g++)
		n += p->groups[g].policy == pol &&
		     (p->groups[g].availability > 0) == target;
	return n;
}

static size_t count_dedicated(const struct sched_problem *p)
{
	size_t n = 0;

	for (size_t t = 0; t < p->ntenants; t++)
		n += p->tenants[t].isolation == ISOLATION_DEDICATED;
	return n;
}

/* Demand over usable capacity of the up hosts, in dimension d. */
static double load(const struct sched_problem *p, int d)
{
	double need = 0, have = 0;

	for (size_t v = 0; v < p->nvms; v++)
		need += p->vms[v].req[d];
	for (size_t h = 0; h < p->nhosts; h++)
		if (p->hosts[h].state == HOST_UP)
			have += p->hosts[h].cap[d] *
				p->pools[p->hosts[h].pool].ratio[d];
	return need / have;
}

static void test_shapes_have_their_feature(void **state)
{
	struct sched_problem *p;
	double max_mem = 0, min_gib_per_core = 1e9, max_gib_per_core = 0;
	(void)state;

	p = gen_checked("hosts-down", 200, 1000, 1, false);
	assert_true(count_hosts(p, HOST_DOWN) + count_hosts(p, HOST_MAINTENANCE) >
		    30);
	sched_problem_free(p);

	p = gen_checked("dedicated", 100, 1000, 1, false);
	assert_int_equal(p->npools, 3);
	assert_true(count_dedicated(p) >= 2);
	/* market-risk may use the 'mem' pool alone. */
	assert_int_equal(p->tenants[1].npools, 1);
	assert_int_equal(p->tenants[1].pools[0], 2);
	sched_problem_free(p);

	p = gen_checked("affinity", 100, 1000, 1, false);
	assert_true(count_groups(p, GROUP_AFFINITY, false) > 50);
	sched_problem_free(p);

	p = gen_checked("anti-affinity", 100, 1000, 1, false);
	assert_true(count_groups(p, GROUP_ANTI_AFFINITY, true) > 30);
	sched_problem_free(p);

	p = gen_checked("tiny", 100, 1000, 1, false);
	for (size_t v = 0; v < p->nvms; v++)
		if (p->vms[v].req[DIM_MEM] > max_mem)
			max_mem = p->vms[v].req[DIM_MEM];
	assert_true(max_mem <= 2048);
	sched_problem_free(p);

	p = gen_checked("huge", 100, 1000, 1, false);
	max_mem = 0;
	for (size_t v = 0; v < p->nvms; v++)
		if (p->vms[v].req[DIM_MEM] > max_mem)
			max_mem = p->vms[v].req[DIM_MEM];
	assert_true(max_mem >= 393216);
	sched_problem_free(p);

	p = gen_checked("hetero", 100, 1000, 1, false);
	for (size_t h = 0; h < p->nhosts; h++) {
		double r = p->hosts[h].cap[DIM_MEM] / 1024 /
			   p->hosts[h].cap[DIM_VCPU];

		min_gib_per_core = r < min_gib_per_core ? r : min_gib_per_core;
		max_gib_per_core = r > max_gib_per_core ? r : max_gib_per_core;
	}
	assert_true(max_gib_per_core >= 8 * min_gib_per_core);
	sched_problem_free(p);

	p = gen_checked("mem-tight", 100, 1000, 1, false);
	assert_true(load(p, DIM_MEM) > 0.7);
	assert_true(load(p, DIM_MEM) > 1.5 * load(p, DIM_VCPU));
	sched_problem_free(p);
}

/* simple keeps to what the exact MIP accepts, in every shape. */
static void test_shapes_simple(void **state)
{
	(void)state;
	for (size_t i = 0; i < sched_gen_shape_count(); i++) {
		struct sched_problem *p =
			gen_checked(sched_gen_shape_name(i), 10, 60, 3, true);

		assert_int_equal(count_dedicated(p), 0);
		for (size_t g = 0; g < p->ngroups; g++) {
			assert_int_equal(p->groups[g].policy,
					 GROUP_ANTI_AFFINITY);
			assert_true(p->groups[g].availability == 0);
		}
		sched_problem_free(p);
	}
}

static void test_unknown_shape(void **state)
{
	(void)state;
	assert_null(sched_gen_shape("round", 10, 10, 1, false));
	assert_non_null(strstr(err_msg(), "--shape 'round': unknown shape"));
	assert_non_null(strstr(err_msg(), "default, hetero"));
	assert_null(sched_gen_shape("tiny", 0, 10, 1, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_unchanged),
		cmocka_unit_test(test_shapes_reproducible),
		cmocka_unit_test(test_shapes_have_their_feature),
		cmocka_unit_test(test_shapes_simple),
		cmocka_unit_test(test_unknown_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests of scheduler/state.c and scheduler/metrics.c: every
 * constraint, incremental accounting, eta and availability. */
#include <math.h>

#include "tests/unit/fc_test.h"
#include "tests/unit/sched_fixture.h"

#include "common/err.h"
#include "common/json.h"
#include "scheduler/metrics.h"
#include "scheduler/problem.h"
#include "scheduler/state.h"


/* h0, h1 in prod (cpu ratio 2), h2 in batch; h3 down, h4 maintenance. */
static const char *base =
	"{\"pools\": [{\"name\": \"prod\", \"cpu_ratio\": 2},"
	"             {\"name\": \"batch\"}],"
	" \"hosts\": ["
	"  {\"name\": \"h0\", \"pool\": \"prod\", \"vcpus\": 4, \"mem_mib\": 8192,"
	"   \"disk_gib\": 100, \"cost\": 2, \"availability\": 0.9,"
	"   \"tags\": [\"ssd\"]},"
	"  {\"name\": \"h1\", \"pool\": \"prod\", \"vcpus\": 4, \"mem_mib\": 8192,"
	"   \"disk_gib\": 100, \"cost\": 3, \"availability\": 0.99},"
	"  {\"name\": \"h2\", \"pool\": \"batch\", \"vcpus\": 4,"
	"   \"mem_mib\": 8192, \"disk_gib\": 100, \"availability\": 0.5},"
	"  {\"name\": \"h3\", \"pool\": \"prod\", \"vcpus\": 4, \"mem_mib\": 8192,"
	"   \"disk_gib\": 100, \"state\": \"down\"},"
	"  {\"name\": \"h4\", \"pool\": \"prod\", \"vcpus\": 4, \"mem_mib\": 8192,"
	"   \"disk_gib\": 100, \"state\": \"maintenance\"}],"
	" \"tenants\": [{\"name\": \"pay\", \"isolation\": \"dedicated\"},"
	"               {\"name\": \"risk\", \"pools\": [\"prod\"]},"
	"               {\"name\": \"loan\"}],"
	" \"groups\": [{\"name\": \"anti\", \"tenant\": \"loan\","
	"               \"availability\": 0.999},"
	"              {\"name\": \"aff\", \"tenant\": \"loan\","
	"               \"policy\": \"affinity\"}],"
	" \"vms\": ["
	"  {\"name\": \"big\", \"tenant\": \"loan\", \"vcpus\": 6,"
	"   \"mem_mib\": 4096, \"disk_gib\": 10},"
	"  {\"name\": \"p1\", \"tenant\": \"pay\", \"vcpus\": 1,"
	"   \"mem_mib\": 1024, \"disk_gib\": 10},"
	"  {\"name\": \"r1\", \"tenant\": \"risk\", \"vcpus\": 1,"
	"   \"mem_mib\": 1024, \"disk_gib\": 10},"
	"  {\"name\": \"tagged\", \"tenant\": \"loan\", \"vcpus\": 1,"
	"   \"mem_mib\": 1024, \"disk_gib\": 10, \"tags\": [\"ssd\"]},"
	"  {\"name\": \"a1\", \"tenant\": \"loan\", \"group\": \"anti\","
	"   \"vcpus\": 1, \"mem_mib\": 512, \"disk_gib\": 1},"
	"  {\"name\": \"a2\", \"tenant\": \"loan\", \"group\": \"anti\","
	"   \"vcpus\": 1, \"mem_mib\": 512, \"disk_gib\": 1},"
	"  {\"name\": \"f1\", \"tenant\": \"loan\", \"group\": \"aff\","
	"   \"vcpus\": 1, \"mem_mib\": 512, \"disk_gib\": 1},"
	"  {\"name\": \"f2\", \"tenant\": \"loan\", \"group\": \"aff\","
	"   \"vcpus\": 1, \"mem_mib\": 512, \"disk_gib\": 1},"
	"  {\"name\": \"l1\", \"tenant\": \"loan\", \"vcpus\": 1,"
	"   \"mem_mib\": 1024, \"disk_gib\": 10},"
	"  {\"name\": \"notag\", \"tenant\": \"loan\", \"vcpus\": 1,"
	"   \"mem_mib\": 1, \"disk_gib\": 1, \"tags\": [\"gpu\"]}]}";

enum { H0, H1, H2, H3, H4 };
enum { BIG, P1, R1, TAGGED, A1, A2, F1, F2, L1, NOTAG };

struct fix {
	struct sched_problem *p;
	struct sched_state *s;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	f->p = sched_fixture_load(base);
	f->s = sched_state_new(f->p);
	assert_non_null(f->s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	sched_state_free(f->s);
	sched_problem_free(f->p);
	free(f);
	return 0;
}

static void expect(const struct sched_state *s, size_t vm, size_t host,
		   enum sched_reason code, const char *why_part)
{
	char why[512] = "";
	int r = sched_state_check(s, vm, host, why, sizeof(why));

	if (code == SCHED_OK) {
		if (r != 0)
			fail_msg("vm %zu host %zu: refused: %s", vm, host, why);
		return;
	}
	if (r != -1 || sched_state_check_code(s, vm, host, NULL) != code)
		fail_msg("vm %zu host %zu: want %s, got %s (%s)", vm, host,
			 sched_reason_name(code),
			 sched_reason_name(
				 sched_state_check_code(s, vm, host, NULL)),
			 why);
	if (strstr(why, why_part) == NULL)
		fail_msg("vm %zu host %zu: reason '%s' lacks '%s'", vm, host,
			 why, why_part);
}

static void test_host_state(void **state)
{
	struct fix *f = *state;

	expect(f->s, L1, H3, SCHED_X_STATE,
	       "host 'h3' is down: only hosts that are up take vms");
	expect(f->s, L1, H4, SCHED_X_STATE, "host 'h4' is in maintenance");
	/* A VM already there may stay. */
	sched_state_assign(f->s, L1, H4);
	expect(f->s, L1, H4, SCHED_OK, NULL);
	expect(f->s, L1, H1, SCHED_OK, NULL);
}

static void test_pool(void **state)
{
	struct fix *f = *state;

	expect(f->s, R1, H2, SCHED_X_POOL,
	       "tenant 'risk' may not use pool 'batch'");
	expect(f->s, R1, H0, SCHED_OK, NULL);
	expect(f->s, L1, H2, SCHED_OK, NULL);
}

static void test_tags(void **state)
{
	struct fix *f = *state;

	expect(f->s, TAGGED, H1, SCHED_X_TAGS,
	       "host 'h1' does not carry tag 'ssd'");
	expect(f->s, TAGGED, H0, SCHED_OK, NULL);
	expect(f->s, NOTAG, H0, SCHED_X_TAGS, "does not carry tag 'gpu'");
}

static void test_capacity_with_ratio(void **state)
{
	struct fix *f = *state;

	/* 6 vCPUs fit on 4 physical x ratio 2 in prod, not in batch. */
	expect(f->s, BIG, H0, SCHED_OK, NULL);
	expect(f->s, BIG, H2, SCHED_X_CAPACITY,
	       "host 'h2' has 4 vCPUs free (4 x ratio 1, 0 used), vm 'big' "
	       "needs 6");
	sched_state_assign(f->s, BIG, H0);
	assert_true(sched_state_used(f->s, H0, DIM_VCPU) == 6);
	assert_true(sched_state_usable(f->s, H0, DIM_VCPU) == 8);
	assert_true(sched_state_headroom(f->s, H0, DIM_VCPU) == 2);
	assert_true(sched_state_headroom(f->s, H0, DIM_MEM) == 4096);
	/* 2 more vCPUs fit exactly, a third does not. */
	sched_state_assign(f->s, L1, H0);
	expect(f->s, TAGGED, H0, SCHED_OK, NULL);
	sched_state_assign(f->s, TAGGED, H0);
	expect(f->s, A1, H0, SCHED_X_CAPACITY,
	       "host 'h0' has 0 vCPUs free (4 x ratio 2, 8 used), vm 'a1' "
	       "needs 1");
	/* The VM's own use does not count against itself. */
	expect(f->s, BIG, H0, SCHED_OK, NULL);
	sched_state_unassign(f->s, L1);
	expect(f->s, A1, H0, SCHED_OK, NULL);
	assert_true(sched_state_used(f->s, H0, DIM_MEM) == 5120);
	assert_int_equal(sched_state_nvms(f->s, H0), 2);
	assert_int_equal(sched_state_host_of(f->s, L1), -1);
	assert_int_equal(sched_state_host_of(f->s, BIG), H0);
}

static void test_dedicated_both_ways(void **state)
{
	struct fix *f = *state;

	sched_state_assign(f->s, P1, H1);
	expect(f->s, L1, H1, SCHED_X_DEDICATED,
	       "host 'h1' is dedicated to tenant 'pay'");
	expect(f->s, L1, H0, SCHED_OK, NULL);
	sched_state_assign(f->s, L1, H0);
	expect(f->s, P1, H0, SCHED_X_SHARED,
	       "tenant 'pay' is dedicated and host 'h0' runs vms of other "
	       "tenants");
	/* Staying alone on its host is fine; after the host empties the
	 * others may come back. */
	expect(f->s, P1, H1, SCHED_OK, NULL);
	sched_state_unassign(f->s, P1);
	expect(f->s, L1, H1, SCHED_OK, NULL);
	/* A current state that breaks isolation is seen on the VM's own
	 * host. */
	sched_state_assign(f->s, P1, H0);
	expect(f->s, P1, H0, SCHED_X_SHARED, "tenant 'pay' is dedicated");
	expect(f->s, L1, H0, SCHED_X_DEDICATED, "dedicated to tenant 'pay'");
}

static void test_anti_affinity_and_availability(void **state)
{
	struct fix *f = *state;

	sched_state_assign(f->s, A1, H0);
	expect(f->s, A2, H0, SCHED_X_ANTI_AFFINITY,
	       "host 'h0' already runs a member of anti-affinity group "
	       "'anti'");
	/* h0 (0.9) + h2 (0.5) = 0.95 < 0.999; h0 + h1 (0.99) = 0.999. */
	expect(f->s, A2, H2, SCHED_X_AVAILABILITY,
	       "group 'anti' would stay below its availability target 0.999");
	expect(f->s, A2, H1, SCHED_OK, NULL);
	sched_state_assign(f->s, A2, H1);
	assert_true(fabs(sched_state_group_availability(f->s, 0) - 0.999) <
		    1e-12);
	assert_int_equal(sched_state_group_placed(f->s, 0), 2);
	assert_int_equal(sched_state_group_size(f->s, 0), 2);
	/* Moving a member onto its partner's host, or to a worse host. */
	expect(f->s, A1, H1, SCHED_X_ANTI_AFFINITY, "group 'anti'");
	expect(f->s, A1, H2, SCHED_X_AVAILABILITY, "group 'anti'");
	/* A group already short may move to a host no worse. */
	sched_state_assign(f->s, A2, H2);
	expect(f->s, A1, H1, SCHED_OK, NULL);
	expect(f->s, A2, H1, SCHED_OK, NULL);
	expect(f->s, A2, H3, SCHED_X_STATE, "down");
}

static void test_affinity(void **state)
{
	struct fix *f = *state;

	expect(f->s, F1, H2, SCHED_OK, NULL);
	sched_state_assign(f->s, F1, H2);
	expect(f->s, F2, H1, SCHED_X_AFFINITY,
	       "affinity group 'aff' runs on host 'h2', not 'h1'");
	expect(f->s, F2, H2, SCHED_OK, NULL);
	/* The only member may move anywhere. */
	expect(f->s, F1, H1, SCHED_OK, NULL);
	sched_state_assign(f->s, F2, H2);
	expect(f->s, F1, H1, SCHED_X_AFFINITY, "runs on host 'h2'");
}

static void test_cost_clone_write_back(void **state)
{
	struct fix *f = *state;
	struct sched_state *c;

	assert_true(sched_state_cost(f->s) == 0);
	sched_state_assign(f->s, L1, H0);
	sched_state_assign(f->s, A1, H0);
	sched_state_assign(f->s, A2, H1);
	assert_true(sched_state_cost(f->s) == 5);
	assert_int_equal(sched_state_active_hosts(f->s), 2);
	c = sched_state_clone(f->s);
	assert_non_null(c);
	sched_state_unassign(f->s, A2);
	assert_true(sched_state_cost(f->s) == 2);
	assert_true(sched_state_used(f->s, H1, DIM_MEM) == 0);
	assert_true(sched_state_cost(c) == 5);
	assert_int_equal(sched_state_host_of(c, A2), H1);
	sched_state_write_back(c, f->p);
	assert_int_equal(f->p->vms[A2].host, H1);
	assert_int_equal(f->p->vms[P1].host, -1);
	sched_state_free(c);
	/* A state made from a placed problem starts with that placement. */
	c = sched_state_new(f->p);
	assert_true(sched_state_cost(c) == 5);
	assert_true(sched_state_used(c, H0, DIM_VCPU) == 2);
	sched_state_free(c);
}

static void test_eta(void **state)
{
	struct fix *f = *state;
	struct sched_eta eta[2];
	cJSON *j;

	f->p->vms[BIG].host = H0;   /* 6 vcpus, 4096 MiB */
	f->p->vms[L1].host = H2;    /* 1 vcpu, 1024 MiB */
	sched_eta_compute(f->p, eta);
	/* prod: 4 hosts x 4 vcpus x 2 = 32 usable, 6 used; h0 active. */
	assert_int_equal(eta[0].hosts, 4);
	assert_int_equal(eta[0].active_hosts, 1);
	assert_true(eta[0].total[DIM_VCPU] == 32);
	assert_true(eta[0].total_active[DIM_VCPU] == 8);
	assert_true(eta[0].eta[DIM_VCPU] == 6.0 / 32);
	assert_true(eta[0].eta_active[DIM_VCPU] == 6.0 / 8);
	assert_true(eta[0].eta[DIM_MEM] == 4096.0 / 32768);
	assert_true(eta[0].eta_active[DIM_MEM] == 0.5);
	assert_true(eta[1].eta[DIM_VCPU] == 0.25);
	assert_true(eta[1].eta_active[DIM_DISK] == 0.1);
	j = sched_eta_to_json(f->p, eta);
	assert_non_null(j);
	assert_true(cJSON_GetObjectItem(
			    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "prod"),
						"vcpus"),
			    "eta_active")
			    ->valuedouble == 0.75);
	cJSON_Delete(j);
	/* Empty pool: eta 0, no division by zero. */
	f->p->vms[L1].host = -1;
	sched_eta_compute(f->p, eta);
	assert_true(eta[1].eta[DIM_VCPU] == 0);
	assert_true(eta[1].eta_active[DIM_VCPU] == 0);
}

static void test_availability_formula(void **state)
{
	const double a[] = {0.99, 0.9, 0.5};
	(void)state;

	assert_true(sched_availability(a, 0) == 0);
	assert_true(fabs(sched_availability(a, 1) - 0.99) < 1e-15);
	assert_true(fabs(sched_availability(a, 2) - 0.999) < 1e-15);
	assert_true(fabs(sched_availability(a, 3) - 0.9995) < 1e-15);
	assert_int_equal(sched_availability_needed(a, 3, 0.98), 1);
	assert_int_equal(sched_availability_needed(a, 3, 0.999), 2);
	assert_int_equal(sched_availability_needed(a, 3, 0.9995), 3);
	assert_int_equal(sched_availability_needed(a, 3, 0.9999), 0);
	assert_int_equal(sched_availability_needed(a, 0, 0.5), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_host_state, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capacity_with_ratio, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dedicated_both_ways, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_anti_affinity_and_availability, setup, teardown),
		cmocka_unit_test_setup_teardown(test_affinity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cost_clone_write_back,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_eta, setup, teardown),
		cmocka_unit_test(test_availability_formula),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

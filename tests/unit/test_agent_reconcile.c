/* Unit tests of agents/agent_reconcile.c: the pure decision function. */
#include "tests/unit/fc_test.h"

#include "agents/agent_reconcile.h"
#include "tests/unit/agent_fixture.h"

#define S 1000000000ULL
#define ID1 "11111111-1111-4111-8111-111111111111"
#define ID2 "22222222-2222-4222-8222-222222222222"
#define ID3 "33333333-3333-4333-8333-333333333333"

static struct agent_observed dom(const char *id, const char *name,
				 bool managed, int state)
{
	struct agent_observed o;

	memset(&o, 0, sizeof(o));
	snprintf(o.uuid, sizeof(o.uuid), "%s", id);
	snprintf(o.name, sizeof(o.name), "%s", name);
	o.managed = managed;
	o.state = state;
	return o;
}

/* The single action planned for one spec against obs (-1: none). */
static int one(struct agent_vm_spec s, const struct agent_observed *obs,
	       size_t nobs, uint64_t now, char *error, size_t size)
{
	struct agent_action *acts = NULL;
	size_t n = 0;
	int type = -1;

	assert_int_equal(agent_reconcile_plan(&s, 1, obs, nobs, now, 60 * S,
					      &acts, &n),
			 0);
	assert_true(n <= 1);
	if (n == 1) {
		type = (int)acts[0].type;
		assert_int_equal(acts[0].spec, 0);
		if (error)
			snprintf(error, size, "%s", acts[0].error);
	}
	free(acts);
	return type;
}

static void test_missing_domain(void **state)
{
	(void)state;
	assert_int_equal(one(agent_fixture_spec(ID1, "a", AGENT_WANT_RUNNING),
			     NULL, 0, 0, NULL, 0),
			 AGENT_ACT_CREATE);
	assert_int_equal(one(agent_fixture_spec(ID1, "a", AGENT_WANT_STOPPED),
			     NULL, 0, 0, NULL, 0),
			 AGENT_ACT_DEFINE);
	assert_int_equal(one(agent_fixture_spec(ID1, "a", AGENT_WANT_DELETED),
			     NULL, 0, 0, NULL, 0),
			 -1);
}

static void test_want_running(void **state)
{
	static const struct {
		int state;
		int action;
	} cases[] = {
		{ AGENT_DOM_RUNNING, -1 },
		{ AGENT_DOM_BLOCKED, -1 },
		{ AGENT_DOM_SHUTDOWN, -1 }, /* let it finish, start next pass */
		{ AGENT_DOM_PMSUSPENDED, -1 },
		{ AGENT_DOM_PAUSED, AGENT_ACT_RESUME },
		{ AGENT_DOM_SHUTOFF, AGENT_ACT_START },
		{ AGENT_DOM_CRASHED, AGENT_ACT_START },
		{ AGENT_DOM_NOSTATE, AGENT_ACT_START },
	};
	(void)state;

	for (size_t i = 0; i < FC_ARRAY_LEN(cases); i++) {
		struct agent_observed o = dom(ID1, "a", true, cases[i].state);

		assert_int_equal(
			one(agent_fixture_spec(ID1, "a", AGENT_WANT_RUNNING),
			    &o, 1, 0, NULL, 0),
			cases[i].action);
	}
}

static void test_graceful_stop(void **state)
{
	struct agent_observed o = dom(ID1, "a", true, AGENT_DOM_RUNNING);
	struct agent_vm_spec s =
		agent_fixture_spec(ID1, "a", AGENT_WANT_STOPPED);
	(void)state;

	/* First an ACPI shutdown ... */
	assert_int_equal(one(s, &o, 1, 100 * S, NULL, 0), AGENT_ACT_SHUTDOWN);
	/* ... then wait for the guest ... */
	o.shutdown_sent_ns = 100 * S;
	assert_int_equal(one(s, &o, 1, 159 * S, NULL, 0), -1);
	/* ... and power it off when the timeout passed. */
	assert_int_equal(one(s, &o, 1, 160 * S, NULL, 0), AGENT_ACT_DESTROY);
	/* Stopped is stopped. */
	o = dom(ID1, "a", true, AGENT_DOM_SHUTOFF);
	assert_int_equal(one(s, &o, 1, 0, NULL, 0), -1);
	o = dom(ID1, "a", true, AGENT_DOM_CRASHED);
	assert_int_equal(one(s, &o, 1, 0, NULL, 0), -1);
	o = dom(ID1, "a", true, AGENT_DOM_PAUSED);
	assert_int_equal(one(s, &o, 1, 0, NULL, 0), AGENT_ACT_SHUTDOWN);
}

static void test_delete(void **state)
{
	struct agent_observed o = dom(ID1, "a", true, AGENT_DOM_RUNNING);
	(void)state;

	assert_int_equal(one(agent_fixture_spec(ID1, "a", AGENT_WANT_DELETED),
			     &o, 1, 0, NULL, 0),
			 AGENT_ACT_DELETE);
	o.state = AGENT_DOM_SHUTOFF;
	assert_int_equal(one(agent_fixture_spec(ID1, "a", AGENT_WANT_DELETED),
			     &o, 1, 0, NULL, 0),
			 AGENT_ACT_DELETE);
}

/* Foreign domains are never acted on, whatever the spec says. */
static void test_foreign_untouched(void **state)
{
	struct agent_observed o = dom(ID1, "other", false, AGENT_DOM_RUNNING);
	char err[512];
	(void)state;

	for (int w = AGENT_WANT_RUNNING; w <= AGENT_WANT_DELETED; w++) {
		assert_int_equal(
			one(agent_fixture_spec(ID1, "a", (enum agent_want)w),
			    &o, 1, 0, err, sizeof(err)),
			AGENT_ACT_ERROR);
		assert_string_equal(err, "vm 'a': uuid " ID1 " belongs to "
					 "foreign domain 'other' (no fincloud "
					 "metadata): it is left alone");
	}
	/* Same name, another uuid: refused, not redefined over it. */
	o = dom(ID2, "a", false, AGENT_DOM_RUNNING);
	assert_int_equal(one(agent_fixture_spec(ID1, "a", AGENT_WANT_RUNNING),
			     &o, 1, 0, err, sizeof(err)),
			 AGENT_ACT_ERROR);
	assert_string_equal(err, "vm 'a': the name is taken by foreign domain "
				 ID2 ": rename one of them");
}

static void test_duplicates_and_unlisted(void **state)
{
	struct agent_vm_spec specs[3] = {
		agent_fixture_spec(ID1, "a", AGENT_WANT_RUNNING),
		agent_fixture_spec(ID1, "b", AGENT_WANT_RUNNING),
		agent_fixture_spec(ID2, "a", AGENT_WANT_RUNNING),
	};
	/* ID3 is fincloud's but no spec names it: left as it is. */
	struct agent_observed obs[1] = {
		dom(ID3, "c", true, AGENT_DOM_RUNNING),
	};
	struct agent_action *acts = NULL;
	size_t n = 0;
	(void)state;

	assert_int_equal(agent_reconcile_plan(specs, 3, obs, 1, 0, 60 * S,
					      &acts, &n),
			 0);
	assert_int_equal(n, 3);
	assert_int_equal(acts[0].type, AGENT_ACT_CREATE);
	assert_int_equal(acts[1].type, AGENT_ACT_ERROR);
	assert_int_equal(acts[1].spec, 1);
	assert_non_null(strstr(acts[1].error, "is given twice"));
	assert_int_equal(acts[2].type, AGENT_ACT_ERROR);
	assert_non_null(strstr(acts[2].error, "names must be unique"));
	for (size_t i = 0; i < n; i++)
		assert_true(acts[i].type != AGENT_ACT_DELETE);
	free(acts);

	assert_int_equal(agent_reconcile_plan(NULL, 0, obs, 1, 0, 60 * S,
					      &acts, &n),
			 0);
	assert_int_equal(n, 0);
	free(acts);
}

/* agent_reconcile_unlisted(): which unlisted fincloud domains go */
static void test_unlisted(void **state)
{
	struct agent_observed obs[5];
	const char *known[] = {"00000000-0000-4000-8000-000000000001", NULL};
	size_t *idx = NULL;
	ssize_t k;

	(void)state;
	memset(obs, 0, sizeof(obs));
	for (int i = 0; i < 5; i++) {
		snprintf(obs[i].uuid, sizeof(obs[i].uuid),
			 "00000000-0000-4000-8000-%012d", i + 1);
		obs[i].managed = true;
	}
	obs[0].state = AGENT_DOM_SHUTOFF;      /* listed (upper case below) */
	obs[1].state = AGENT_DOM_SHUTOFF;      /* unlisted, off */
	obs[2].state = AGENT_DOM_RUNNING;      /* unlisted, running */
	obs[3].state = AGENT_DOM_CRASHED;      /* unlisted, crashed */
	obs[4].state = AGENT_DOM_SHUTOFF;      /* foreign */
	obs[4].managed = false;
	known[0] = "00000000-0000-4000-8000-000000000001";
	k = agent_reconcile_unlisted(obs, 5, known, 2, false, &idx);
	assert_int_equal(k, 2);
	assert_int_equal(idx[0], 1);
	assert_int_equal(idx[1], 3);
	free(idx);
	/* returning from a fence: the running one too */
	k = agent_reconcile_unlisted(obs, 5, known, 2, true, &idx);
	assert_int_equal(k, 3);
	assert_int_equal(idx[0], 1);
	assert_int_equal(idx[1], 2);
	assert_int_equal(idx[2], 3);
	free(idx);
	/* known is matched without regard to case */
	str_copy(obs[1].uuid, sizeof(obs[1].uuid),
		 "abcdef00-0000-4000-8000-000000000002");
	known[1] = "ABCDEF00-0000-4000-8000-000000000002";
	k = agent_reconcile_unlisted(obs, 5, known, 2, true, &idx);
	assert_int_equal(k, 2);
	assert_int_equal(idx[0], 2);
	assert_int_equal(idx[1], 3);
	free(idx);
	k = agent_reconcile_unlisted(obs, 0, NULL, 0, true, &idx);
	assert_int_equal(k, 0);
	free(idx);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(agent_dom_state_name(AGENT_DOM_SHUTOFF), "shutoff");
	assert_string_equal(agent_dom_state_name(99), "nostate");
	assert_string_equal(agent_action_name(AGENT_ACT_DELETE), "delete");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_domain),
		cmocka_unit_test(test_want_running),
		cmocka_unit_test(test_graceful_stop),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_foreign_untouched),
		cmocka_unit_test(test_duplicates_and_unlisted),
		cmocka_unit_test(test_unlisted),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests_name("agent_reconcile", tests, NULL,
					   NULL);
}

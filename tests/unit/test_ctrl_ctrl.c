/* Unit tests of controller/ctrl.c and jobs.c on a temporary SQLite store:
 * the group-commit sequence, the long-poll (a parked heartbeat woken by a
 * generation bump, before or after it is armed, timing out in deadline
 * order on the monotonic clock, ended by ctrl_stop()), /healthz (ROUTE_UNLOCKED) answering
 * while the lock is held (and a route without the flag waiting for it),
 * the liveness job marking silent hosts down. */
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "common/util.h"
#include "controller/api.h"
#include "controller/ctrl.h"
#include "controller/db.h"
#include "controller/jobs.h"
#include "controller/store.h"
#include "tests/unit/ctrl_fixture.h"

/* Seconds this process's wall clock is set back by (see clock_gettime()
 * below): a clock stepped back by NTP or an operator. */
static volatile time_t g_clock_back;

/* Every clock_gettime() of the code under test lands here: the real
 * clocks, with CLOCK_REALTIME set back by g_clock_back. */
int clock_gettime(clockid_t id, struct timespec *ts)
{
	int rc = (int)syscall(SYS_clock_gettime, id, ts);

	if (rc == 0 && id == CLOCK_REALTIME)
		ts->tv_sec -= g_clock_back;
	return rc;
}

static void exec(struct ctrl_fixture *f, const char *sql)
{
	ctrl_fixture_exec(f, sql);
}

static int count(struct ctrl_fixture *f, const char *sql)
{
	return ctrl_fixture_count(f, sql);
}

static int setup(void **state)
{
	if (ctrl_fixture_setup(state, "ctrl") < 0)
		return -1;
	exec(*state, "INSERT INTO hosts(name, pool, state, last_seen_ms, "
	     "registered_ms) VALUES ('n1', 'default', 'up', 0, 0), "
	     "('n2', 'default', 'up', 0, 0)");
	return 0;
}

static int teardown(void **state)
{
	return ctrl_fixture_teardown(state);
}

static void test_commit_sequence(void **state)
{
	struct ctrl_fixture *f = *state;
	uint64_t a, b;

	assert_int_equal(ctrl_make_durable(&f->ctrl, 0), 0);
	a = ctrl_committed(&f->ctrl);
	b = ctrl_committed(&f->ctrl);
	assert_true(b == a + 1);
	assert_int_equal(ctrl_make_durable(&f->ctrl, a), 0);
	/* one sync covered every commit numbered before it started */
	assert_true(f->ctrl.durable_seq >= b);
	assert_int_equal(ctrl_make_durable(&f->ctrl, b), 0);
	assert_false(f->ctrl.syncing);
}

static void test_generation(void **state)
{
	struct ctrl_fixture *f = *state;
	int64_t g0, g1;

	assert_int_equal(ctrl_generation(&f->ctrl, "n1", &g0), 0);
	assert_int_equal(ctrl_bump_generation(&f->ctrl, "n1"), 0);
	assert_int_equal(ctrl_generation(&f->ctrl, "n1", &g1), 0);
	assert_true(g1 == g0 + 1);
	assert_int_equal(ctrl_generation(&f->ctrl, "nope", &g0), 1);
}

/* A parked long-poll as the server keeps one: suspended (armed), then
 * woken once. */
struct waiter_arg {
	struct ctrl_waiter *w;
	volatile int suspended, woken;
	uint64_t t0, ns;
};

static void on_wake(void *arg)
{
	struct waiter_arg *a = arg;

	a->ns = time_mono_ns() - a->t0;
	__atomic_add_fetch(&a->woken, 1, __ATOMIC_SEQ_CST);
}

static void on_suspend(void *arg)
{
	((struct waiter_arg *)arg)->suspended = 1;
}

/* Park a long-poll for node as a heartbeat does (lock held); true when it
 * waits. Not armed yet. */
static bool park(struct ctrl_fixture *f, struct waiter_arg *a,
		 const char *node, int64_t wait_s)
{
	*a = (struct waiter_arg){.t0 = time_mono_ns()};
	pthread_mutex_lock(&f->ctrl.lock);
	a->w = ctrl_park(&f->ctrl, node, wait_s, on_wake, a);
	pthread_mutex_unlock(&f->ctrl.lock);
	return a->w != NULL;
}

/* Park and arm: 0 when suspended (a wake follows). */
static int park_armed(struct ctrl_fixture *f, struct waiter_arg *a,
		      const char *node, int64_t wait_s)
{
	assert_true(park(f, a, node, wait_s));
	return ctrl_arm(&f->ctrl, a->w, on_suspend);
}

/* Wait up to limit_s seconds for a's wake; true when it came once. */
static bool woken_within(struct waiter_arg *a, int limit_s)
{
	uint64_t end = time_mono_ns() + (uint64_t)limit_s * 1000000000ULL;

	while (!__atomic_load_n(&a->woken, __ATOMIC_SEQ_CST) &&
	       time_mono_ns() < end)
		usleep(1000);
	return a->woken == 1;
}

static void test_long_poll_woken(void **state)
{
	struct ctrl_fixture *f = *state;
	struct waiter_arg w1, w2;

	assert_int_equal(park_armed(f, &w1, "n1", 20), 0);
	assert_int_equal(park_armed(f, &w2, "n2", 1), 0);
	assert_true(w1.suspended && w2.suspended);
	/* no thread waits: the bump of n1 wakes n1's waiter only, at once */
	pthread_mutex_lock(&f->ctrl.lock);
	assert_int_equal(ctrl_bump_generation(&f->ctrl, "n1"), 0);
	pthread_mutex_unlock(&f->ctrl.lock);
	assert_int_equal(w1.woken, 1);
	assert_true(w1.ns < 10ULL * 1000000000ULL);
	assert_int_equal(w2.woken, 0);
	/* the timer ends n2's at its own deadline */
	assert_true(woken_within(&w2, 10));
	assert_true(w2.ns >= 900ULL * 1000000ULL);
	assert_null(f->ctrl.waiters);
}

/* A wake that comes between the park (lock held) and the arm is not
 * lost: the arm says so and nothing is suspended. */
static void test_long_poll_woken_before_arm(void **state)
{
	struct ctrl_fixture *f = *state;
	struct waiter_arg a;

	assert_true(park(f, &a, "n1", 20));
	pthread_mutex_lock(&f->ctrl.lock);
	assert_int_equal(ctrl_bump_generation(&f->ctrl, "n1"), 0);
	pthread_mutex_unlock(&f->ctrl.lock);
	assert_int_equal(ctrl_arm(&f->ctrl, a.w, on_suspend), 1);
	assert_false(a.suspended);
	assert_int_equal(a.woken, 0);
	assert_null(f->ctrl.waiters);
}

/* Deadlines in any order: each long-poll ends at its own. */
static void test_long_poll_deadline_order(void **state)
{
	struct ctrl_fixture *f = *state;
	struct waiter_arg a[3];
	const int64_t secs[3] = {3, 1, 2};

	for (int i = 0; i < 3; i++)
		assert_int_equal(park_armed(f, &a[i], "n1", secs[i]), 0);
	for (int i = 0; i < 3; i++) {
		assert_true(woken_within(&a[i], 10));
		assert_true(a[i].ns >= (uint64_t)secs[i] * 1000000000ULL -
					       100000000ULL);
	}
	assert_true(a[1].ns < a[2].ns && a[2].ns < a[0].ns);
}

/* A long-poll waits its wait_s whatever the wall clock says. */
static void test_long_poll_clock_step(void **state)
{
	struct ctrl_fixture *f = *state;
	struct waiter_arg w;

	g_clock_back = 3600;
	assert_int_equal(park_armed(f, &w, "n1", 1), 0);
	assert_true(woken_within(&w, 10));
	g_clock_back = 0;
	assert_true(w.ns >= 900ULL * 1000000ULL);
	assert_true(w.ns < 10ULL * 1000000000ULL);
}

static void test_long_poll_stop(void **state)
{
	struct ctrl_fixture *f = *state;
	struct waiter_arg w;

	assert_int_equal(park_armed(f, &w, "n1", 20), 0);
	ctrl_stop(&f->ctrl);
	assert_int_equal(w.woken, 1);
	assert_true(w.ns < 10ULL * 1000000000ULL);
	assert_null(f->ctrl.waiters);
	/* once stopping, a long-poll does not wait at all */
	assert_false(park(f, &w, "n1", 20));
}

struct req_arg {
	struct ctrl *ctrl;
	const char *path;
	volatile int status;
};

static void *request(void *arg)
{
	struct req_arg *r = arg;
	struct api_ctx c;

	memset(&c, 0, sizeof(c));
	c.ctrl = r->ctrl;
	c.method = "GET";
	c.path = r->path;
	api_handle(&c);
	r->status = c.status;
	api_ctx_release(&c);
	return NULL;
}

/* Run GET path in a thread while this one holds the lock; true when it
 * answered within a second. The request always ends once the lock is
 * released. */
static bool answers_while_locked(struct ctrl_fixture *f, const char *path)
{
	struct req_arg r = {.ctrl = &f->ctrl, .path = path};
	pthread_t t;
	bool answered = false;

	pthread_mutex_lock(&f->ctrl.lock);
	assert_int_equal(pthread_create(&t, NULL, request, &r), 0);
	for (int i = 0; i < 100 && !answered; i++) {
		usleep(10000);
		answered = r.status != 0;
	}
	pthread_mutex_unlock(&f->ctrl.lock);
	pthread_join(t, NULL);
	assert_int_not_equal(r.status, 0);
	return answered;
}

static void test_unlocked_routes(void **state)
{
	struct ctrl_fixture *f = *state;

	assert_true(answers_while_locked(f, "/healthz"));
	/* a route that reads the store waits for the lock */
	assert_false(answers_while_locked(f, "/v1/pools"));
}

static void test_mark_down_hosts(void **state)
{
	struct ctrl_fixture *f = *state;
	char sql[256];

	exec(f, "INSERT INTO tenants(name, isolation, compliance_class, "
		"created_ms) VALUES ('t', 'shared', 'standard', 0)");
	exec(f, "INSERT INTO flavors(name, vcpus, mem_mib, disk_gib, "
		"created_ms) VALUES ('small', 1, 512, 1, 0)");
	exec(f, "INSERT INTO vms(id, name, tenant, flavor, pool, host, vcpus, "
		"mem_mib, disk_gib, desired, state, created_ms, updated_ms) "
		"VALUES ('v1', 'a', 't', 'small', 'default', 'n1', 1, 512, 1, "
		"'running', 'running', 0, 0), ('v2', 'b', 't', 'small', "
		"'default', 'n2', 1, 512, 1, 'running', 'running', 0, 0)");
	/* n2 was heard from just now */
	snprintf(sql, sizeof(sql), "UPDATE hosts SET last_seen_ms = %" PRId64
		 " WHERE name = 'n2'", time_wall_ms());
	exec(f, sql);
	assert_int_equal(jobs_mark_down_hosts(&f->ctrl), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM hosts WHERE name = 'n1'"
				  " AND state = 'down'"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM hosts WHERE name = 'n2'"
				  " AND state = 'up'"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM vms WHERE id = 'v1' AND "
				  "state = 'unknown'"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM vms WHERE id = 'v2' AND "
				  "state = 'running'"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM audit WHERE action = "
				  "'host.down' AND target = 'host:n1' AND actor "
				  "= 'controller'"), 1);
	/* a down host is not marked again */
	assert_int_equal(jobs_mark_down_hosts(&f->ctrl), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM audit"), 1);
	/* after a restart every host that is up gets a fresh timeout */
	exec(f, "UPDATE hosts SET last_seen_ms = 0 WHERE name = 'n2'");
	assert_int_equal(jobs_liveness_reset(&f->ctrl), 0);
	assert_int_equal(jobs_mark_down_hosts(&f->ctrl), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM hosts WHERE name = 'n2'"
				  " AND state = 'up'"), 1);
	/* a failing read of the silent hosts is an error, not "none" */
	exec(f, "UPDATE hosts SET last_seen_ms = 0 WHERE name = 'n2'");
	exec(f, "ALTER TABLE hosts RENAME TO hosts_away");
	assert_int_equal(jobs_mark_down_hosts(&f->ctrl), -1);
	exec(f, "ALTER TABLE hosts_away RENAME TO hosts");
	assert_int_equal(count(f, "SELECT count(*) FROM hosts WHERE name = 'n2'"
				  " AND state = 'up'"), 1);
}

/* Every test on a fresh store and struct ctrl. */
#define CTRL_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		CTRL_TEST(test_commit_sequence),
		CTRL_TEST(test_generation),
		CTRL_TEST(test_long_poll_woken),
		CTRL_TEST(test_long_poll_woken_before_arm),
		CTRL_TEST(test_long_poll_deadline_order),
		CTRL_TEST(test_long_poll_clock_step),
		CTRL_TEST(test_long_poll_stop),
		CTRL_TEST(test_unlocked_routes),
		CTRL_TEST(test_mark_down_hosts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

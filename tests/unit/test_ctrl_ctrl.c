/* Unit tests of controller/ctrl.c and jobs.c on a temporary SQLite store:
 * the group-commit sequence, the long-poll (woken by a generation bump,
 * timing out, ended by ctrl_stop()), /healthz (ROUTE_UNLOCKED) answering
 * while the lock is held (and a route without the flag waiting for it),
 * the liveness job marking silent hosts down. */
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "common/util.h"
#include "controller/api.h"
#include "controller/ctrl.h"
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

struct waiter_arg {
	struct ctrl *ctrl;
	const char *node;
	int64_t wait_s;
	volatile int waiting, done;
	uint64_t ns;
};

static void *waiter(void *arg)
{
	struct waiter_arg *w = arg;
	uint64_t t0;

	pthread_mutex_lock(&w->ctrl->lock);
	w->waiting = 1;
	t0 = time_mono_ns();
	ctrl_wait(w->ctrl, w->node, w->wait_s);
	w->ns = time_mono_ns() - t0;
	w->done = 1;
	pthread_mutex_unlock(&w->ctrl->lock);
	return NULL;
}

/* Start a waiter for node and return once it waits (lock released) or,
 * when it did not wait at all, has returned. */
static void start_waiter(struct ctrl_fixture *f, struct waiter_arg *w,
			 pthread_t *t, const char *node, int64_t wait_s)
{
	*w = (struct waiter_arg){.ctrl = &f->ctrl, .node = node,
				 .wait_s = wait_s};
	assert_int_equal(pthread_create(t, NULL, waiter, w), 0);
	for (;;) {
		bool in;

		pthread_mutex_lock(&f->ctrl.lock);
		in = w->waiting && (f->ctrl.waiters != NULL || w->done);
		pthread_mutex_unlock(&f->ctrl.lock);
		if (in)
			break;
		usleep(1000);
	}
}

static void test_long_poll_woken(void **state)
{
	struct ctrl_fixture *f = *state;
	struct waiter_arg w1, w2;
	pthread_t t1, t2;

	start_waiter(f, &w1, &t1, "n1", 20);
	start_waiter(f, &w2, &t2, "n2", 1);
	/* a bump of n1 wakes n1's waiter only */
	pthread_mutex_lock(&f->ctrl.lock);
	assert_int_equal(ctrl_bump_generation(&f->ctrl, "n1"), 0);
	pthread_mutex_unlock(&f->ctrl.lock);
	pthread_join(t1, NULL);
	assert_true(w1.ns < 10ULL * 1000000000ULL);
	pthread_join(t2, NULL);
	assert_true(w2.ns >= 900ULL * 1000000ULL); /* its own timeout */
	assert_null(f->ctrl.waiters);
}

/* A long-poll waits its wait_s whatever the wall clock says. */
static void test_long_poll_clock_step(void **state)
{
	struct ctrl_fixture *f = *state;
	struct waiter_arg w;
	pthread_t t;

	g_clock_back = 3600;
	start_waiter(f, &w, &t, "n1", 1);
	pthread_join(t, NULL);
	g_clock_back = 0;
	assert_true(w.ns >= 900ULL * 1000000ULL);
	assert_true(w.ns < 10ULL * 1000000000ULL);
}

static void test_long_poll_stop(void **state)
{
	struct ctrl_fixture *f = *state;
	struct waiter_arg w;
	pthread_t t;

	start_waiter(f, &w, &t, "n1", 20);
	ctrl_stop(&f->ctrl);
	pthread_join(t, NULL);
	assert_true(w.ns < 10ULL * 1000000000ULL);
	assert_null(f->ctrl.waiters);
	/* once stopping, a long-poll does not wait at all */
	pthread_mutex_lock(&f->ctrl.lock);
	ctrl_wait(&f->ctrl, "n1", 20);
	pthread_mutex_unlock(&f->ctrl.lock);
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
		CTRL_TEST(test_long_poll_clock_step),
		CTRL_TEST(test_long_poll_stop),
		CTRL_TEST(test_unlocked_routes),
		CTRL_TEST(test_mark_down_hosts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

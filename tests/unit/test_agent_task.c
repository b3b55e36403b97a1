/* Unit tests of agents/agent_task.c (the controller's tasks on a node and
 * the migrated-away list) and agents/agent_events.c (the event queue and
 * its sender), with operations of the test's own instead of libvirt: a
 * migration that waits until the test lets it end shows what holds
 * while it runs. Also the reconcile decision on what the task list lets
 * through: a VM migrated away is not recreated on its source, also by
 * an agent restarted while the migration ran (the migration journal). */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "agents/agent_events.h"
#include "agents/agent_reconcile.h"
#include "agents/agent_task.h"
#include "common/err.h"
#include "common/util.h"
#include "tests/unit/agent_fixture.h"

#define VM1 "0c6f8e9a-1111-4222-8333-444455556666"
#define VM2 "0c6f8e9a-2222-4222-8333-444455556666"
#define VM3 "0c6f8e9a-3333-4222-8333-444455556666"
#define T1 "7a1b2c3d-1111-4111-8111-111111111111"
#define T2 "7a1b2c3d-2222-4222-8222-222222222222"
#define T3 "7a1b2c3d-3333-4333-8333-333333333333"
#define TARGET "qemu+tcp://10.250.0.2/system"
#define RUNNING(id, name) agent_fixture_spec(id, name, AGENT_WANT_RUNNING)

/* The operations' side: counts, the answer to give, and a gate that
 * holds a migration until the test opens it. */
struct fake {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int migrates, reboots, ended;
	int rc;                  /* what migrate and reboot return */
	bool hold;               /* migrate waits while true */
	bool in_migrate;         /* a migrate call is waiting at the gate */
	struct agent_tasks *t;
	struct agent_tasks_count during; /* counts seen inside migrate */
};

static struct fake fk;

static int fake_migrate(void *ctx, const struct agent_task *task)
{
	struct fake *f = ctx;
	struct agent_tasks_count c;

	(void)task;
	agent_tasks_count(f->t, &c);
	pthread_mutex_lock(&f->lock);
	f->during = c;
	f->migrates++;
	f->in_migrate = true;
	pthread_cond_broadcast(&f->cond);
	while (f->hold)
		pthread_cond_wait(&f->cond, &f->lock);
	f->in_migrate = false;
	pthread_mutex_unlock(&f->lock);
	return f->rc == 0 ? 0 : err_set("target refused the migration");
}

static int fake_reboot(void *ctx, const char *vm_id)
{
	struct fake *f = ctx;

	(void)vm_id;
	pthread_mutex_lock(&f->lock);
	f->reboots++;
	pthread_mutex_unlock(&f->lock);
	return f->rc == 0 ? 0 : err_set("domain is not running");
}

static void fake_ended(void *ctx)
{
	struct fake *f = ctx;

	pthread_mutex_lock(&f->lock);
	f->ended++;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

static const struct agent_task_ops fake_ops = {
	.migrate = fake_migrate,
	.reboot = fake_reboot,
	.ended = fake_ended,
};

/* Wait (at most 5 s) until *counter reaches n, or for the gate when
 * counter is NULL. */
static bool wait_for(int *counter, int n)
{
	struct timespec ts;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	pthread_mutex_lock(&fk.lock);
	while (!(counter ? *counter >= n : fk.in_migrate))
		if (pthread_cond_timedwait(&fk.cond, &fk.lock, &ts) != 0)
			break;
	ok = counter ? *counter >= n : fk.in_migrate;
	pthread_mutex_unlock(&fk.lock);
	return ok;
}

static void open_gate(void)
{
	pthread_mutex_lock(&fk.lock);
	fk.hold = false;
	pthread_cond_broadcast(&fk.cond);
	pthread_mutex_unlock(&fk.lock);
}

static struct agent_task task(const char *id, const char *type,
			      const char *vm)
{
	struct agent_task t;

	memset(&t, 0, sizeof(t));
	str_copy(t.task_id, sizeof(t.task_id), id);
	str_copy(t.type, sizeof(t.type), type);
	str_copy(t.vm_id, sizeof(t.vm_id), vm);
	if (strcmp(type, "migrate") == 0) {
		str_copy(t.target_uri, sizeof(t.target_uri), TARGET);
		str_copy(t.target_node, sizeof(t.target_node), "node-2");
	}
	return t;
}

/* The one task with this id in a copy of the list; fails when it is not
 * there exactly once. */
static struct agent_task task_state(struct agent_tasks *t, const char *id)
{
	struct agent_task *copy = NULL, found;
	size_t n = 0, seen = 0;

	assert_int_equal(agent_tasks_copy(t, &copy, &n, NULL, NULL), 0);
	memset(&found, 0, sizeof(found));
	for (size_t i = 0; i < n; i++)
		if (strcmp(copy[i].task_id, id) == 0) {
			found = copy[i];
			seen++;
		}
	free(copy);
	assert_int_equal(seen, 1);
	return found;
}

static size_t task_count(struct agent_tasks *t)
{
	struct agent_tasks_count c;

	agent_tasks_count(t, &c);
	return c.tasks;
}

static int setup(void **state)
{
	memset(&fk, 0, sizeof(fk));
	pthread_mutex_init(&fk.lock, NULL);
	pthread_cond_init(&fk.cond, NULL);
	fk.t = agent_tasks_new(&fake_ops, &fk, NULL);
	*state = fk.t;
	return fk.t ? 0 : -1;
}

static int teardown(void **state)
{
	open_gate();
	agent_tasks_free(*state);
	pthread_mutex_destroy(&fk.lock);
	pthread_cond_destroy(&fk.cond);
	return 0;
}

/* A task the controller lists again (in the same desired state or the
 * next ones) is run once; its result stays, once, until the controller
 * stops listing it. */
static void test_task_runs_once(void **state)
{
	struct agent_tasks *t = *state;
	struct agent_task list[2] = { task(T1, "reboot", VM1),
				      task(T1, "reboot", VM1) };

	agent_tasks_sync(t, list, 2);
	agent_tasks_sync(t, list, 1);
	agent_tasks_sync(t, list, 1);
	assert_int_equal(fk.reboots, 1);
	assert_int_equal(task_state(t, T1).state, AGENT_TASK_DONE);
	assert_string_equal(task_state(t, T1).error, "");
	assert_int_equal(task_count(t), 1);

	/* The controller has the result: the task is forgotten. */
	agent_tasks_sync(t, NULL, 0);
	assert_int_equal(task_count(t), 0);
	assert_int_equal(fk.reboots, 1);
}

static void test_task_failure_reported(void **state)
{
	struct agent_tasks *t = *state;
	struct agent_task list[1] = { task(T2, "reboot", VM2) };

	fk.rc = -1;
	agent_tasks_sync(t, list, 1);
	assert_int_equal(task_state(t, T2).state, AGENT_TASK_FAILED);
	assert_string_equal(task_state(t, T2).error,
			    "domain is not running");
	/* Failed is final too: listed again, it is not retried. */
	agent_tasks_sync(t, list, 1);
	assert_int_equal(fk.reboots, 1);
}

/* While a migration runs: its slot in the migrated-away list is already
 * taken, the VM counts as leaving, the task is kept although the
 * controller no longer lists it, and a second sync starts nothing. */
static void test_migration_running(void **state)
{
	struct agent_tasks *t = *state;
	struct agent_task list[1] = { task(T1, "migrate", VM1) };
	struct agent_tasks_count c;

	fk.hold = true;
	agent_tasks_sync(t, list, 1);
	assert_true(wait_for(NULL, 0));
	assert_int_equal(fk.during.reserved, 1);
	assert_int_equal(fk.during.migrated, 0);
	assert_int_equal(fk.during.migrations, 1);
	assert_int_equal(agent_tasks_migrations(t), 1);
	assert_true(agent_tasks_migrating_away(t, VM1));
	assert_true(agent_tasks_migrating_away(t, "0C6F8E9A-1111-4222-8333-"
						  "444455556666"));
	assert_false(agent_tasks_migrating_away(t, VM2));
	assert_int_equal(task_state(t, T1).state, AGENT_TASK_RUNNING);

	agent_tasks_sync(t, list, 1);
	agent_tasks_sync(t, NULL, 0);
	assert_int_equal(task_count(t), 1);
	assert_int_equal(fk.migrates, 1);

	open_gate();
	assert_true(wait_for(&fk.ended, 1));
	agent_tasks_count(t, &c);
	assert_int_equal(c.reserved, 0);
	assert_int_equal(c.migrated, 1);
	assert_int_equal(c.migrations, 0);
	assert_int_equal(task_state(t, T1).state, AGENT_TASK_DONE);
	/* Gone from the task list, still in the migrated-away list. */
	agent_tasks_sync(t, NULL, 0);
	assert_int_equal(task_count(t), 0);
	assert_true(agent_tasks_migrating_away(t, VM1));
}

/* A migration that failed leaves the VM here: it is reconciled again. */
static void test_migration_failed(void **state)
{
	struct agent_tasks *t = *state;
	struct agent_task list[1] = { task(T1, "migrate", VM1) };
	struct agent_tasks_count c;

	fk.rc = -1;
	agent_tasks_sync(t, list, 1);
	assert_true(wait_for(&fk.ended, 1));
	agent_tasks_count(t, &c);
	assert_int_equal(c.reserved, 0);
	assert_int_equal(c.migrated, 0);
	assert_int_equal(task_state(t, T1).state, AGENT_TASK_FAILED);
	assert_string_equal(task_state(t, T1).error,
			    "target refused the migration");
	assert_false(agent_tasks_migrating_away(t, VM1));
}

/* The reconcile pass on a source whose desired state is behind (it
 * still lists the VM, libvirt no longer shows it): without the task
 * list's filter the planner would create the VM again; with it, nothing
 * happens to it, while the other VM is still reconciled. */
static void test_migrated_vm_not_recreated(void **state)
{
	struct agent_tasks *t = *state;
	struct agent_task list[1] = { task(T1, "migrate", VM1) };
	struct agent_vm_spec specs[2] = { RUNNING(VM1, "loan-1"),
					  RUNNING(VM2, "loan-2") };
	struct agent_action *acts = NULL;
	size_t n, nacts = 0;

	assert_int_equal(agent_reconcile_plan(specs, 2, NULL, 0, 0, 0, &acts,
					      &nacts),
			 0);
	assert_int_equal(nacts, 2); /* the test would see a recreation */
	free(acts);

	agent_tasks_sync(t, list, 1);
	assert_true(wait_for(&fk.ended, 1));
	agent_tasks_sync(t, NULL, 0);
	for (int pass = 0; pass < 3; pass++) {
		struct agent_vm_spec s[2] = { RUNNING(VM1, "loan-1"),
					      RUNNING(VM2, "loan-2") };

		/* The prune of a pass: still listed, not back here. */
		agent_tasks_prune(t, s, 2, NULL, 0, time_mono_ns());
		n = agent_tasks_filter(t, s, 2);
		assert_int_equal(n, 1);
		assert_string_equal(s[0].vm_id, VM2);
		assert_int_equal(agent_reconcile_plan(s, n, NULL, 0, 0, 0,
						      &acts, &nacts),
				 0);
		for (size_t i = 0; i < nacts; i++)
			assert_string_equal(s[acts[i].spec].vm_id, VM2);
		free(acts);
	}
}

/* The migrated-away list grows with each migration and a VM leaves it
 * when the controller has caught up (no longer lists it) or when a list
 * taken after the migration shows it back here (migrated back). */
static void test_migrated_list_expiry(void **state)
{
	struct agent_tasks *t = *state;
	struct agent_task list[3] = { task(T1, "migrate", VM1),
				      task(T2, "migrate", VM2),
				      task(T3, "migrate", VM3) };
	struct agent_vm_spec wanted[2] = { RUNNING(VM1, "loan-1"),
					   RUNNING(VM2, "loan-2") };
	struct agent_domain back;
	struct agent_tasks_count c;
	uint64_t before = time_mono_ns();

	agent_tasks_sync(t, list, 3);
	assert_true(wait_for(&fk.ended, 3));
	agent_tasks_count(t, &c);
	assert_int_equal(c.migrated, 3);

	/* VM3 is no longer listed for this node: it expires. */
	agent_tasks_prune(t, wanted, 2, NULL, 0, time_mono_ns());
	agent_tasks_count(t, &c);
	assert_int_equal(c.migrated, 2);
	assert_false(agent_tasks_migrating_away(t, VM3));

	/* VM1 in a list taken before its migration ended: still leaving. */
	memset(&back, 0, sizeof(back));
	str_copy(back.uuid, sizeof(back.uuid), VM1);
	agent_tasks_prune(t, wanted, 2, &back, 1, before);
	assert_true(agent_tasks_migrating_away(t, VM1));
	/* In a list taken now: it came back and is reconciled again. */
	agent_tasks_prune(t, wanted, 2, &back, 1, time_mono_ns());
	assert_false(agent_tasks_migrating_away(t, VM1));
	assert_true(agent_tasks_migrating_away(t, VM2));

	/* No desired state at all: nothing is held back any more. */
	agent_tasks_prune(t, NULL, 0, NULL, 0, time_mono_ns());
	agent_tasks_count(t, &c);
	assert_int_equal(c.migrated, 0);
}

/* Freeing the tasks waits for a migration in flight to end. */
static void *open_later(void *arg)
{
	(void)arg;
	usleep(200000);
	open_gate();
	return NULL;
}

static void test_free_waits(void **state)
{
	struct agent_tasks *t = *state;
	struct agent_task list[1] = { task(T1, "migrate", VM1) };
	pthread_t th;

	fk.hold = true;
	agent_tasks_sync(t, list, 1);
	assert_true(wait_for(NULL, 0));
	assert_int_equal(pthread_create(&th, NULL, open_later, NULL), 0);
	agent_tasks_wait(t);
	assert_int_equal(fk.ended, 1);
	assert_int_equal(agent_tasks_migrations(t), 0);
	pthread_join(th, NULL);
}

/* An agent restarted on the journal at path: whether it holds VM1 back,
 * after a prune by a desired state that no longer lists it when prune. */
static bool restarted_holds_vm1(const char *path, bool prune)
{
	struct agent_tasks *t = agent_tasks_new(&fake_ops, &fk, path);
	bool held;

	assert_non_null(t);
	if (prune)
		agent_tasks_prune(t, NULL, 0, NULL, 0, time_mono_ns());
	held = agent_tasks_migrating_away(t, VM1);
	agent_tasks_free(t);
	return held;
}

/* The agent is killed while a migration runs (libvirt may finish it):
 * the journal on disk already holds it, so the restarted agent neither
 * recreates the VM from a desired state that still lists it here nor
 * runs the task again; the VM comes back to it only once the controller
 * has settled the task (no longer lists it) and still lists the VM. */
static void test_journal_survives_restart(void **state)
{
	struct agent_tasks *t = *state, *t2;
	struct agent_task list[1] = { task(T1, "migrate", VM1) };
	struct agent_vm_spec wanted[2] = { RUNNING(VM1, "loan-1"),
					   RUNNING(VM2, "loan-2") };
	struct agent_journal_entry *e = NULL;
	char dir[] = "/tmp/fctest-journal.XXXXXX", path[PATH_MAX];
	size_t n = 0;

	agent_tasks_free(t);
	assert_non_null(fc_test_mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state/%s", dir, AGENT_JOURNAL_FILE);
	t = fk.t = agent_tasks_new(&fake_ops, &fk, path);
	*state = t;
	assert_non_null(t);

	fk.hold = true;
	agent_tasks_sync(t, list, 1);
	assert_true(wait_for(NULL, 0));
	/* On disk before the migration started. */
	assert_int_equal(agent_journal_load(path, &e, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].task_id, T1);
	assert_string_equal(e[0].vm_id, VM1);
	assert_string_equal(e[0].target_node, "node-2");
	assert_true(e[0].started_ms > 0);
	assert_int_equal(e[0].state, AGENT_JOURNAL_INTERRUPTED);
	free(e);

	/* The agent restarts while the migration still runs. */
	t2 = agent_tasks_new(&fake_ops, &fk, path);
	assert_non_null(t2);
	assert_true(agent_tasks_migrating_away(t2, VM1));
	agent_tasks_prune(t2, wanted, 2, NULL, 0, time_mono_ns());
	assert_int_equal(agent_tasks_filter(t2, wanted, 2), 1);
	assert_string_equal(wanted[0].vm_id, VM2);
	agent_tasks_sync(t2, list, 1);
	assert_int_equal(task_count(t2), 0);
	assert_int_equal(fk.migrates, 1);
	assert_int_equal(agent_tasks_copy(t2, NULL, NULL, &e, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].state, AGENT_JOURNAL_INTERRUPTED);
	free(e);

	/* The controller settles the task as failed: the VM is still
	 * listed here, the task no longer. */
	agent_tasks_sync(t2, NULL, 0);
	assert_false(agent_tasks_migrating_away(t2, VM1));
	agent_tasks_free(t2);
	assert_false(restarted_holds_vm1(path, false));

	/* The first agent's migration ends: done, kept on disk until the
	 * controller no longer lists the VM here. */
	open_gate();
	assert_true(wait_for(&fk.ended, 1));
	assert_true(restarted_holds_vm1(path, false));
	assert_false(restarted_holds_vm1(path, true));
	assert_false(restarted_holds_vm1(path, false));

	unlink(path);
	snprintf(path, sizeof(path), "%s/state", dir);
	rmdir(path);
	rmdir(dir);
}

/* A journal that cannot be read stops the agent from starting. */
static void test_journal_unreadable(void **state)
{
	char dir[] = "/tmp/fctest-journal.XXXXXX", path[PATH_MAX];
	const char *bad = "{\"version\": 1, \"migrations\": [{\"task_id\": 1}]}";

	(void)state;
	assert_non_null(fc_test_mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, AGENT_JOURNAL_FILE);
	assert_int_equal(file_write_atomic(path, bad, strlen(bad), 0600), 0);
	assert_null(agent_tasks_new(&fake_ops, &fk, path));
	assert_non_null(strstr(err_msg(), "migration journal"));
	unlink(path);
	rmdir(dir);
}

/* ---- events --------------------------------------------------------- */

static int wakes;
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;

static void count_wake(void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&wake_lock);
	wakes++;
	pthread_mutex_unlock(&wake_lock);
}

static int wakes_now(void)
{
	int n;

	pthread_mutex_lock(&wake_lock);
	n = wakes;
	pthread_mutex_unlock(&wake_lock);
	return n;
}

/* A full queue drops its oldest event; the body names every event. */
static void test_event_queue(void **state)
{
	struct agent_events *ev = agent_events_new(NULL, "node-1", NULL, NULL, NULL,
						   NULL);
	struct agent_event *got = calloc(AGENT_EVENTS_QUEUE_MAX + 10,
					 sizeof(*got));
	char uuid[37];
	cJSON *body;
	size_t n;

	(void)state;
	assert_non_null(ev);
	assert_non_null(got);
	for (int i = 0; i < AGENT_EVENTS_QUEUE_MAX + 5; i++) {
		snprintf(uuid, sizeof(uuid), "00000000-0000-4000-8000-%012d",
			 i);
		agent_events_on_domain(ev, uuid, "vm", AGENT_DOM_RUNNING,
				       "booted");
	}
	n = agent_events_take(ev, got, AGENT_EVENTS_QUEUE_MAX + 10);
	assert_int_equal(n, AGENT_EVENTS_QUEUE_MAX);
	assert_string_equal(got[0].uuid,
			    "00000000-0000-4000-8000-000000000005");
	assert_int_equal(agent_events_take(ev, got, 10), 0);

	body = agent_events_json(got, 2);
	assert_non_null(body);
	assert_int_equal(
		cJSON_GetArraySize(cJSON_GetObjectItem(body, "events")), 2);
	assert_string_equal(
		cJSON_GetObjectItem(cJSON_GetArrayItem(
			cJSON_GetObjectItem(body, "events"), 1), "state")
			->valuestring,
		"running");
	cJSON_Delete(body);
	free(got);
	agent_events_free(ev);
}

/* The sender wakes the main loop for fincloud domains only. */
static void test_event_sender_managed_only(void **state)
{
	struct agent_events *ev = agent_events_new("", "node-1", NULL, NULL,
						   count_wake, NULL);
	char (*managed)[37] = calloc(1, sizeof(*managed));
	int before;

	(void)state;
	assert_non_null(ev);
	assert_non_null(managed);
	str_copy(managed[0], sizeof(managed[0]), VM1);
	agent_events_set_managed(ev, managed, 1);
	assert_int_equal(agent_events_start(ev), 0);
	before = wakes_now();
	agent_events_on_domain(ev, VM2, "foreign", AGENT_DOM_SHUTOFF,
			       "destroyed");
	for (int i = 0; i < 20 && wakes_now() == before; i++)
		usleep(10000);
	assert_int_equal(wakes_now(), before);
	agent_events_on_domain(ev, VM1, "loan-1", AGENT_DOM_CRASHED,
			       "crashed");
	for (int i = 0; i < 500 && wakes_now() == before; i++)
		usleep(10000);
	assert_int_equal(wakes_now(), before + 1);
	agent_events_free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_task_runs_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_task_failure_reported,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_running, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_migration_failed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_migrated_vm_not_recreated,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrated_list_expiry,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_waits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_journal_survives_restart,
						setup, teardown),
		cmocka_unit_test(test_journal_unreadable),
		cmocka_unit_test(test_event_queue),
		cmocka_unit_test(test_event_sender_managed_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

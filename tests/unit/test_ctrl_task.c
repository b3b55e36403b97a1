/* Unit tests of the task lifecycle (controller/task.c) on a temporary
 * SQLite store: the transition table for every type and every pair of
 * states, written out here independently of task.c; the same moves made
 * on stored tasks (allowed ones change the row, refused ones leave it);
 * and the operations built on them: supersede, cancel, the VM-state
 * outcomes, recovery of runs, progress and the busy check; how a
 * migration settles from its nodes' reports; and the
 * reads of tasks: a host's orders, a migration as a run watches it, the
 * API's task object and list. */
#include <stdlib.h>
#include <string.h>

#include "tests/unit/fc_test.h"

#include "common/err.h"
#include "common/util.h"
#include "controller/db.h"
#include "controller/store.h"
#include "controller/task.h"
#include "tests/unit/ctrl_fixture.h"


/* What task.h promises, one line per allowed move: "type from>to". */
static const char *const allowed[] = {
	"create pending>done",    "create pending>failed",
	"start pending>done",     "start pending>failed",
	"stop pending>done",      "stop pending>failed",
	"delete pending>done",    "delete pending>failed",
	"migrate pending>running", "migrate pending>done",
	"migrate pending>failed", "migrate running>done",
	"migrate running>failed",
	"reboot pending>running", "reboot pending>done",
	"reboot pending>failed",  "reboot running>done",
	"reboot running>failed",
	"rebalance running>done", "rebalance running>failed",
	"drain running>done",     "drain running>failed",
	/* the steps of a host failure (ha.h) */
	"suspect running>done",   "suspect running>failed",
	"fence running>done",     "fence running>failed",
	"restart pending>done",   "restart pending>failed",
	"lost pending>failed",
};

static bool expect_allowed(enum task_type t, enum task_state from,
			   enum task_state to)
{
	char line[64];

	snprintf(line, sizeof(line), "%s %s>%s", task_type_name(t),
		 task_state_name(from), task_state_name(to));
	for (size_t i = 0; i < FC_ARRAY_LEN(allowed); i++)
		if (strcmp(allowed[i], line) == 0)
			return true;
	return false;
}

static int setup(void **state)
{
	return ctrl_fixture_setup(state, "task");
}

static int teardown(void **state)
{
	return ctrl_fixture_teardown(state);
}

/* A new task of type for VM vm into id. */
static void new_task(struct ctrl_fixture *f, enum task_type type, const char *vm,
		     char id[TASK_ID_LEN])
{
	struct task_new t = {.type = type, .vm_id = vm, .tenant = "t",
			     .source_host = "n1", .req = {1, 512, 1}};

	if (type == TASK_MIGRATE)
		t.target_host = "n2";
	assert_int_equal(task_create(f->st, &t, id), 0);
}

/* Put task id in state (bypassing the table: test set-up only). */
static void force_state(struct ctrl_fixture *f, const char *id,
			enum task_state state)
{
	struct db_stmt *s;

	assert_int_equal(db_prepare(store_db(f->st), "UPDATE tasks SET "
					    "state = ?, error = 'old' WHERE id = ?", &s), 0);
	db_bind_text(s, 1, task_state_name(state));
	db_bind_text(s, 2, id);
	assert_int_equal(db_step(s), DB_DONE);
	db_finalize(s);
}

static struct task load(struct ctrl_fixture *f, const char *id)
{
	struct task t;

	assert_int_equal(task_load(f->st, id, &t), 0);
	return t;
}

static void test_names(void **state)
{
	enum task_state s;
	enum task_type t;
	(void)state;

	for (int i = 0; i < TASK_NSTATES; i++) {
		assert_int_equal(task_state_parse(task_state_name(i), &s), 0);
		assert_int_equal(s, i);
	}
	for (int i = 0; i < TASK_NTYPES; i++) {
		assert_int_equal(task_type_parse(task_type_name(i), &t), 0);
		assert_int_equal(t, i);
	}
	assert_int_equal(task_state_parse("cancelled", &s), -1);
	assert_int_equal(task_type_parse("resize", &t), -1);
	assert_true(task_for_agent(TASK_MIGRATE) && task_for_agent(TASK_REBOOT));
	assert_false(task_for_agent(TASK_CREATE) || task_for_agent(TASK_DRAIN));
}

/* The table, for all 12 types x 4 x 4 states. */
static void test_table(void **state)
{
	size_t n = 0;
	(void)state;

	for (int t = 0; t < TASK_NTYPES; t++)
		for (int from = 0; from < TASK_NSTATES; from++)
			for (int to = 0; to < TASK_NSTATES; to++) {
				bool want = expect_allowed(t, from, to);

				if (task_may(t, from, to) != want)
					fail_msg("%s %s>%s: expected %s",
						 task_type_name(t),
						 task_state_name(from),
						 task_state_name(to),
						 want ? "allowed" : "refused");
				n += want;
			}
	assert_int_equal(n, FC_ARRAY_LEN(allowed));
	assert_int_equal(task_initial(TASK_REBALANCE), TASK_RUNNING);
	assert_int_equal(task_initial(TASK_DRAIN), TASK_RUNNING);
	assert_int_equal(task_initial(TASK_SUSPECT), TASK_RUNNING);
	assert_int_equal(task_initial(TASK_FENCE), TASK_RUNNING);
	assert_int_equal(task_initial(TASK_RESTART), TASK_PENDING);
	assert_int_equal(task_initial(TASK_LOST), TASK_PENDING);
	for (int t = TASK_CREATE; t <= TASK_REBOOT; t++)
		assert_int_equal(task_initial(t), TASK_PENDING);
}

static void test_create(void **state)
{
	struct ctrl_fixture *f = *state;
	char id[TASK_ID_LEN];
	struct task t;

	for (int type = 0; type < TASK_NTYPES; type++) {
		new_task(f, type, "v1", id);
		t = load(f, id);
		assert_int_equal(t.type, type);
		assert_int_equal(t.state, task_initial(type));
		assert_string_equal(t.vm_id, "v1");
		assert_string_equal(t.source_host, "n1");
		assert_string_equal(t.error, "");
	}
	assert_string_equal(t.target_host, "");
	assert_int_equal(task_load(f->st, "nope", &t), 1);
}

/* Every move on a stored task: allowed ones change it, refused ones
 * (1) leave it as it was. */
static void test_stored_moves(void **state)
{
	struct ctrl_fixture *f = *state;

	for (int type = 0; type < TASK_NTYPES; type++)
		for (int from = 0; from < TASK_NSTATES; from++)
			for (int to = 0; to < TASK_NSTATES; to++) {
				bool want = expect_allowed(type, from, to);
				char id[TASK_ID_LEN];
				struct task t;
				int rc;

				new_task(f, type, "v1", id);
				force_state(f, id, from);
				rc = task_advance(f->st, id, to, "why");
				t = load(f, id);
				if (want) {
					assert_int_equal(rc, 0);
					assert_int_equal(t.state, to);
					/* starting keeps the error, ending
					 * sets it */
					assert_string_equal(
						t.error, to == TASK_RUNNING
								 ? "old"
								 : "why");
				} else {
					assert_int_equal(rc, 1);
					assert_non_null(strstr(err_msg(),
							       "cannot go"));
					assert_int_equal(t.state, from);
					assert_string_equal(t.error, "old");
				}
			}
}

static void test_end(void **state)
{
	struct ctrl_fixture *f = *state;
	char id[TASK_ID_LEN];

	new_task(f, TASK_REBOOT, "v1", id);
	assert_int_equal(task_end(f->st, id, TASK_RUNNING, NULL), 1);
	assert_int_equal(task_end(f->st, id, TASK_PENDING, NULL), 1);
	assert_int_equal(load(f, id).state, TASK_PENDING);
	assert_int_equal(task_end(f->st, id, TASK_DONE, NULL), 0);
	assert_int_equal(load(f, id).state, TASK_DONE);
	assert_string_equal(load(f, id).error, "");
	/* a second report changes nothing */
	assert_int_equal(task_end(f->st, id, TASK_FAILED, "late"), 1);
	assert_int_equal(load(f, id).state, TASK_DONE);
	assert_int_equal(task_end(f->st, "nope", TASK_DONE, NULL), 1);
	assert_non_null(strstr(err_msg(), "does not exist"));
}

static void test_supersede_and_cancel(void **state)
{
	struct ctrl_fixture *f = *state;
	char create[TASK_ID_LEN], stop[TASK_ID_LEN], mig[TASK_ID_LEN];
	char other[TASK_ID_LEN], done[TASK_ID_LEN];

	new_task(f, TASK_CREATE, "v1", create);
	new_task(f, TASK_STOP, "v1", done);
	assert_int_equal(task_end(f->st, done, TASK_DONE, NULL), 0);
	new_task(f, TASK_MIGRATE, "v1", mig);
	assert_int_equal(task_advance(f->st, mig, TASK_RUNNING, NULL), 0);
	new_task(f, TASK_START, "v2", other);
	assert_int_equal(task_supersede(f->st, "v1"), 0);
	assert_int_equal(load(f, create).state, TASK_FAILED);
	assert_string_equal(load(f, create).error,
			    "superseded by a later request");
	assert_int_equal(load(f, done).state, TASK_DONE);
	assert_int_equal(load(f, mig).state, TASK_RUNNING);
	assert_int_equal(load(f, other).state, TASK_PENDING);

	new_task(f, TASK_STOP, "v1", stop);
	assert_int_equal(task_cancel_vm(f->st, "v1", "the VM was deleted"), 0);
	assert_int_equal(load(f, mig).state, TASK_FAILED);
	assert_string_equal(load(f, mig).error, "the VM was deleted");
	assert_int_equal(load(f, stop).state, TASK_PENDING);
}

static void test_vm_outcome(void **state)
{
	static const struct {
		enum task_type type;
		const char *vm_state;
		int end; /* -1: not ended */
	} cases[] = {
		{TASK_CREATE, "running", TASK_DONE},
		{TASK_START, "running", TASK_DONE},
		{TASK_STOP, "running", -1},
		{TASK_DELETE, "running", -1},
		{TASK_STOP, "stopped", TASK_DONE},
		{TASK_START, "stopped", -1},
		{TASK_CREATE, "failed", TASK_FAILED},
		{TASK_START, "failed", TASK_FAILED},
		{TASK_STOP, "failed", TASK_FAILED},
		{TASK_DELETE, "failed", -1},
		{TASK_DELETE, "deleted", TASK_DONE},
		{TASK_CREATE, "crashed", -1},
		{TASK_MIGRATE, "running", -1},
		{TASK_REBOOT, "failed", -1},
	};
	struct ctrl_fixture *f = *state;

	for (size_t i = 0; i < FC_ARRAY_LEN(cases); i++) {
		char id[TASK_ID_LEN];
		enum task_state end;
		bool ends = task_vm_outcome(cases[i].type, cases[i].vm_state,
					    &end);

		assert_int_equal(ends, cases[i].end >= 0);
		if (ends)
			assert_int_equal(end, cases[i].end);
		/* and the same on a stored task */
		new_task(f, cases[i].type, "v9", id);
		assert_int_equal(task_vm_state(f->st, "v9", cases[i].vm_state,
					       "boom"), 0);
		assert_int_equal(load(f, id).state,
				 ends ? end : task_initial(cases[i].type));
		if (ends)
			assert_string_equal(load(f, id).error, "boom");
		/* leave no open task behind for the next case */
		assert_int_equal(task_supersede(f->st, "v9"), 0);
		assert_int_equal(task_cancel_vm(f->st, "v9", "x"), 0);
	}
}

/* orphan() of task_recover_runs(): every run but the one arg names */
static bool not_driven(const char *id, void *arg)
{
	return strcmp(id, arg) != 0;
}

static void test_recover_runs(void **state)
{
	struct ctrl_fixture *f = *state;
	char rb[TASK_ID_LEN], rb2[TASK_ID_LEN], dr[TASK_ID_LEN];
	char mig[TASK_ID_LEN];

	new_task(f, TASK_REBALANCE, NULL, rb);
	new_task(f, TASK_REBALANCE, NULL, rb2);
	new_task(f, TASK_DRAIN, NULL, dr);
	assert_int_equal(task_end(f->st, dr, TASK_DONE, NULL), 0);
	new_task(f, TASK_MIGRATE, "v1", mig);
	assert_int_equal(task_recover_runs(f->st, "interrupted", not_driven,
					   rb2),
			 0);
	assert_int_equal(load(f, rb).state, TASK_FAILED);
	assert_string_equal(load(f, rb).error, "interrupted");
	/* a run some controller still drives goes on */
	assert_int_not_equal(load(f, rb2).state, TASK_FAILED);
	assert_int_equal(load(f, dr).state, TASK_DONE);
	assert_int_equal(load(f, mig).state, TASK_PENDING);
}

static void test_progress_and_busy(void **state)
{
	struct ctrl_fixture *f = *state;
	char rb[TASK_ID_LEN], mig[TASK_ID_LEN], id[TASK_ID_LEN];
	struct db_stmt *s;
	bool busy;

	new_task(f, TASK_REBALANCE, NULL, rb);
	assert_int_equal(task_set_progress(f->st, rb, "{\"total\":3}"), 0);
	assert_int_equal(load(f, rb).state, TASK_RUNNING);
	assert_int_equal(db_prepare(store_db(f->st), "SELECT progress "
					    "FROM tasks WHERE id = ?", &s), 0);
	db_bind_text(s, 1, rb);
	assert_int_equal(db_step(s), DB_ROW);
	assert_string_equal((const char *)db_col_text(s, 0),
			    "{\"total\":3}");
	db_finalize(s);

	new_task(f, TASK_START, "v1", id);
	assert_int_equal(task_vm_busy(f->st, "v1", &busy, NULL), 0);
	assert_false(busy); /* a lifecycle task does not make it busy */
	new_task(f, TASK_MIGRATE, "v1", mig);
	assert_int_equal(task_vm_busy(f->st, "v1", &busy, id), 0);
	assert_true(busy);
	assert_string_equal(id, mig); /* the task a 409 names */
	assert_int_equal(task_vm_busy(f->st, "v2", &busy, NULL), 0);
	assert_false(busy);
	assert_int_equal(task_end(f->st, mig, TASK_FAILED, "x"), 0);
	assert_int_equal(task_vm_busy(f->st, "v1", &busy, NULL), 0);
	assert_false(busy);
}

/* A migration's time limit and post-copy choice reach its order: the
 * task's own, else (post-copy) its VM's migration_postcopy, else its
 * VM's pool's. */
static void test_orders_migrate_opts(void **state)
{
	struct ctrl_fixture *f = *state;
	struct task_new t = {.type = TASK_MIGRATE, .tenant = "t",
			     .source_host = "n1", .target_host = "n2",
			     .req = {1, 512, 1}};
	static const struct {
		const char *vm;
		int max_seconds;
		enum task_postcopy postcopy;
		bool want_postcopy;
	} cases[] = {
		{"v1", 0, TASK_POSTCOPY_INHERIT, true},  /* pool pc allows it */
		{"v2", 0, TASK_POSTCOPY_INHERIT, false}, /* pool default does not */
		{"v2", 45, TASK_POSTCOPY_YES, true},
		{"v1", 0, TASK_POSTCOPY_NO, false},
		{"gone", 0, TASK_POSTCOPY_INHERIT, false}, /* no VM row: off */
		{"v3", 0, TASK_POSTCOPY_INHERIT, false}, /* VM says no, pool yes */
		{"v4", 0, TASK_POSTCOPY_INHERIT, true},  /* VM yes, pool no */
		{"v3", 0, TASK_POSTCOPY_YES, true},      /* the task first */
		{"v4", 0, TASK_POSTCOPY_NO, false},
	};
	char id[FC_ARRAY_LEN(cases)][TASK_ID_LEN];
	struct task_order *o = NULL;
	size_t n = 0;

	ctrl_fixture_exec(f, "INSERT INTO pools(name, ratio_vcpus, ratio_mem, "
			  "ratio_disk, policy, created_ms, migration_postcopy) "
			  "VALUES ('pc', 1, 1, 1, 'pack', 0, 1);"
			  "INSERT INTO tenants(name, isolation, "
			  "compliance_class, created_ms) VALUES ('t', "
			  "'shared', 'c', 0);"
			  "INSERT INTO flavors(name, vcpus, mem_mib, disk_gib, created_ms) VALUES ('f', 1, 512, 1, 0);"
			  "INSERT INTO hosts(name, pool, state, registered_ms) "
			  "VALUES ('n1', 'pc', 'up', 0), ('n2', 'pc', 'up', 0);"
			  "INSERT INTO vms(id, name, tenant, flavor, pool, host, "
			  "vcpus, mem_mib, disk_gib, desired, state, created_ms, "
			  "updated_ms) VALUES ('v1', 'v1', 't', 'f', 'pc', 'n1', "
			  "1, 512, 1, 'running', 'running', 0, 0), ('v2', 'v2', "
			  "'t', 'f', 'default', 'n1', 1, 512, 1, 'running', "
			  "'running', 0, 0);"
			  "INSERT INTO vms(id, name, tenant, flavor, pool, host, "
			  "vcpus, mem_mib, disk_gib, desired, state, created_ms, "
			  "updated_ms, migration_postcopy) VALUES ('v3', 'v3', "
			  "'t', 'f', 'pc', 'n1', 1, 512, 1, 'running', "
			  "'running', 0, 0, 0), ('v4', 'v4', 't', 'f', "
			  "'default', 'n1', 1, 512, 1, 'running', 'running', "
			  "0, 0, 1)");
	for (size_t i = 0; i < FC_ARRAY_LEN(cases); i++) {
		t.vm_id = cases[i].vm;
		t.max_seconds = cases[i].max_seconds;
		t.postcopy = cases[i].postcopy;
		assert_int_equal(task_create(f->st, &t, id[i]), 0);
	}
	assert_int_equal(task_orders(f->st, "n1", &o, &n), 0);
	assert_int_equal(n, FC_ARRAY_LEN(cases));
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(o[i].id, id[i]);
		assert_int_equal(o[i].max_seconds, cases[i].max_seconds);
		assert_int_equal(o[i].postcopy, cases[i].want_postcopy);
	}
	free(o);
}

/* What a host's desired state lists: its open migrations (with the
 * target's URI) and reboots, oldest first; not other hosts' tasks, not
 * finished ones, not lifecycle tasks. */
static void test_orders(void **state)
{
	struct ctrl_fixture *f = *state;
	char mig[TASK_ID_LEN], reb[TASK_ID_LEN], done[TASK_ID_LEN];
	char life[TASK_ID_LEN];
	struct task_order *o = NULL;
	size_t n = 7;

	ctrl_fixture_exec(f, "INSERT INTO hosts(name, pool, state, "
			  "migration_uri, registered_ms) VALUES ('n2', "
			  "'default', 'up', 'tcp://n2', 0)");
	assert_int_equal(task_orders(f->st, "n1", &o, &n), 0);
	assert_int_equal(n, 0);
	free(o);
	new_task(f, TASK_MIGRATE, "v1", mig);
	new_task(f, TASK_REBOOT, "v2", reb);
	new_task(f, TASK_REBOOT, "v3", done);
	new_task(f, TASK_START, "v4", life);
	force_state(f, mig, TASK_RUNNING);
	assert_int_equal(task_end(f->st, done, TASK_DONE, NULL), 0);
	assert_int_equal(task_orders(f->st, "n1", &o, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(o[0].id, mig);
	assert_int_equal(o[0].type, TASK_MIGRATE);
	assert_string_equal(o[0].vm_id, "v1");
	assert_string_equal(o[0].target_host, "n2");
	assert_string_equal(o[0].target_uri, "tcp://n2");
	assert_string_equal(o[1].id, reb);
	assert_int_equal(o[1].type, TASK_REBOOT);
	free(o);
	assert_int_equal(task_orders(f->st, "n2", &o, &n), 0);
	assert_int_equal(n, 0);
	free(o);
	/* a failing read is an error, not "no tasks" */
	ctrl_fixture_exec(f, "ALTER TABLE tasks RENAME TO tasks_away");
	assert_int_equal(task_orders(f->st, "n1", &o, &n), -1);
	assert_null(o);
}

/* A migration as a run watches it: its state and error, and whether its
 * source host is down (a host that is gone counts as down). */
static void test_load_watch(void **state)
{
	struct ctrl_fixture *f = *state;
	char mig[TASK_ID_LEN];
	struct task t;
	bool down = true;

	new_task(f, TASK_MIGRATE, "v1", mig);
	assert_int_equal(task_load_watch(f->st, mig, &t, &down), 0);
	assert_true(down); /* n1 is not a host of this store */
	ctrl_fixture_exec(f, "INSERT INTO hosts(name, pool, state, "
			  "registered_ms) VALUES ('n1', 'default', 'up', 0)");
	assert_int_equal(task_load_watch(f->st, mig, &t, &down), 0);
	assert_false(down);
	assert_int_equal(t.state, TASK_PENDING);
	assert_int_equal(task_end(f->st, mig, TASK_FAILED, "no route"), 0);
	ctrl_fixture_exec(f, "UPDATE hosts SET state = 'down'");
	assert_int_equal(task_load_watch(f->st, mig, &t, &down), 0);
	assert_true(down);
	assert_int_equal(t.state, TASK_FAILED);
	assert_string_equal(t.error, "no route");
	assert_int_equal(task_load_watch(f->st, "nope", &t, &down), 1);
	ctrl_fixture_exec(f, "ALTER TABLE tasks RENAME TO tasks_away");
	assert_int_equal(task_load_watch(f->st, mig, &t, &down), -1);
}

/* The API's task object: what a run lacks is null, progress is JSON; and
 * the list narrows and pages by seq. */
static void test_json_and_list(void **state)
{
	struct ctrl_fixture *f = *state;
	struct task_new run = {.type = TASK_REBALANCE};
	char mig[TASK_ID_LEN], rb[TASK_ID_LEN];
	struct db_stmt *s;
	cJSON *o = NULL;
	int64_t seq;

	new_task(f, TASK_MIGRATE, "v1", mig);
	assert_int_equal(task_create(f->st, &run, rb), 0);
	assert_int_equal(task_set_progress(f->st, rb, "{\"moves\": []}"), 0);
	assert_int_equal(task_find_json(f->st, rb, &o), 1);
	assert_string_equal(cJSON_GetObjectItem(o, "type")->valuestring,
			    "rebalance");
	assert_string_equal(cJSON_GetObjectItem(o, "state")->valuestring,
			    "running");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "vm_id")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "tenant")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "error")));
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(
		cJSON_GetObjectItem(o, "progress"), "moves")));
	cJSON_Delete(o);
	assert_int_equal(task_find_json(f->st, mig, &o), 1);
	assert_string_equal(cJSON_GetObjectItem(o, "target_host")->valuestring,
			    "n2");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "progress")));
	cJSON_Delete(o);
	assert_int_equal(task_find_json(f->st, "nope", &o), 0);
	assert_null(o);
	/* tenant t's tasks: only the migration; after it, nothing */
	s = task_list_query(f->st, 0, 10, "t", NULL, NULL);
	assert_non_null(s);
	assert_int_equal(db_step(s), DB_ROW);
	o = task_row_json(s);
	assert_string_equal(cJSON_GetObjectItem(o, "id")->valuestring, mig);
	cJSON_Delete(o);
	seq = db_col_int64(s, TASK_LIST_SEQ_COL);
	assert_true(seq > 0);
	assert_int_equal(db_step(s), DB_DONE);
	s = task_list_query(f->st, seq, 10, NULL, NULL, NULL);
	assert_int_equal(db_step(s), DB_ROW);
	assert_string_equal(store_col_text(s, 0), rb);
	assert_int_equal(db_step(s), DB_DONE);
	ctrl_fixture_exec(f, "ALTER TABLE tasks RENAME TO tasks_away");
	assert_int_equal(task_find_json(f->st, mig, &o), -1);
}

/* How a migration settles from its nodes' reports, every case written
 * out: (task state, heartbeat of the source?, agent's word, source,
 * target) -> the move, or none. */
static void test_settle_migration(void **state)
{
	static const enum task_state P = TASK_PENDING, R = TASK_RUNNING,
				     D = TASK_DONE, F = TASK_FAILED;
	static const enum task_seen A = TASK_SEEN_ABSENT,
				    S = TASK_SEEN_PRESENT,
				    U = TASK_SEEN_RUNNING;
	static const struct {
		enum task_state state;
		bool from_source;
		enum task_state agent;
		enum task_seen src, dst;
		bool moves;
		enum task_state to;
	} cases[] = {
		/* the target runs it, the source no longer has it: done,
		 * even when the agent lost the task or says it failed */
		{R, true, P, A, U, true, D},  {P, false, P, A, U, true, D},
		{R, true, F, A, U, true, D},  {R, true, R, A, U, true, D},
		{R, false, P, A, U, true, D},
		/* both run it: nothing moves, unless the agent says it
		 * failed (then two copies run, flagged once it ended) */
		{R, true, D, U, U, false, P}, {R, true, F, U, U, true, F},
		{R, true, P, U, U, false, P}, {R, false, P, U, U, false, P},
		/* the agent's done is believed */
		{R, true, D, A, A, true, D},  {R, true, D, U, A, true, D},
		{P, true, D, A, S, true, D},
		/* failed while the source still has it, or never started */
		{R, true, F, U, A, true, F},  {R, true, F, S, S, true, F},
		{P, true, F, A, A, true, F},
		/* failed, but the VM left the source: wait for the target */
		{R, true, F, A, A, false, P}, {R, true, F, A, S, false, P},
		/* the source's agent forgot a running task (a restart), the
		 * VM is still there and not on the target: failed */
		{R, true, P, U, A, true, F},  {R, true, P, S, A, true, F},
		/* ... but not while the target holds an incoming copy, nor
		 * from the target's heartbeat, nor for a pending task */
		{R, true, P, U, S, false, P}, {R, false, P, U, A, false, P},
		{P, true, P, U, A, false, P},
		/* running reported */
		{P, true, R, U, A, true, R},  {R, true, R, U, S, false, P},
		{R, true, R, U, A, false, P},
		/* nothing conclusive */
		{R, true, P, A, A, false, P}, {R, false, P, A, S, false, P},
		/* a final task never moves */
		{D, true, D, A, U, false, P}, {F, true, F, U, A, false, P},
	};

	(void)state;
	for (size_t i = 0; i < FC_ARRAY_LEN(cases); i++) {
		enum task_state to = TASK_PENDING;
		bool moves = task_settle_migration(
			cases[i].state, cases[i].from_source, cases[i].agent,
			cases[i].src, cases[i].dst, &to);

		if (moves != cases[i].moves || (moves && to != cases[i].to))
			fail_msg("case %zu: moves %d to %s", i, moves,
				 task_state_name(to));
		/* every move it asks for is one the table allows */
		if (moves)
			assert_true(task_may(TASK_MIGRATE, cases[i].state, to));
	}
}

/* The timeout of each type, and a migration's own limit. */
static void test_timeout_of(void **state)
{
	static const int64_t to[TASK_NTIMEOUTS] = {10, 20, 30, 40, 500, 60};
	(void)state;

	for (int t = TASK_CREATE; t <= TASK_REBOOT; t++)
		assert_int_equal(task_timeout_s(t, to, 0), to[t]);
	assert_int_equal(task_timeout_s(TASK_REBALANCE, to, 0), 0);
	assert_int_equal(task_timeout_s(TASK_DRAIN, to, 0), 0);
	/* a migration's own limit plus the grace, when that is longer */
	assert_int_equal(task_timeout_s(TASK_MIGRATE, to, 1000),
			 1000 + TASK_MIGRATE_GRACE_S);
	assert_int_equal(task_timeout_s(TASK_MIGRATE, to, 1), 500);
	/* only a migration has one */
	assert_int_equal(task_timeout_s(TASK_REBOOT, to, 1000), 60);
}

/* The messages, for a host down and for a silent agent. */
static void test_timeout_error(void **state)
{
	struct task_expiry e = {.timeout_s = 30};
	char buf[512];
	(void)state;

	snprintf(e.t.source_host, sizeof(e.t.source_host), "n1");
	snprintf(e.t.target_host, sizeof(e.t.target_host), "n2");
	e.t.type = TASK_STOP;
	task_timeout_error(&e, buf, sizeof(buf));
	assert_string_equal(buf, "timed out after 30 s (task_timeout_stop): "
			    "host 'n1' never reported the VM stopped");
	e.t.type = TASK_DELETE;
	e.host_down = true;
	task_timeout_error(&e, buf, sizeof(buf));
	assert_string_equal(buf, "timed out after 30 s (task_timeout_delete): "
			    "host 'n1' is down");
	e.t.type = TASK_MIGRATE;
	task_timeout_error(&e, buf, sizeof(buf));
	assert_string_equal(buf, "timed out after 30 s (task_timeout_migrate): "
			    "host 'n1' is down; the VM stays recorded there");
	e.host_down = false;
	task_timeout_error(&e, buf, sizeof(buf));
	assert_non_null(strstr(buf, "the agent of host 'n1' never reported "
				    "the migration to 'n2' done"));
	e.t.type = TASK_REBOOT;
	task_timeout_error(&e, buf, sizeof(buf));
	assert_string_equal(buf, "timed out after 30 s (task_timeout_reboot): "
			    "host 'n1' never reported the reboot done");
	/* cut to fit, terminated */
	task_timeout_error(&e, buf, 20);
	assert_int_equal(strlen(buf), 19);
}

/* Which stored tasks are past their timeout, and failing them. */
static void test_expired(void **state)
{
	struct ctrl_fixture *f = *state;
	static const int64_t to[TASK_NTIMEOUTS] = {10, 10, 10, 10, 100, 10};
	char create[TASK_ID_LEN], mig[TASK_ID_LEN], run[TASK_ID_LEN];
	char done[TASK_ID_LEN];
	struct task_expiry *list = NULL;
	size_t n = 0;
	int64_t now;

	new_task(f, TASK_CREATE, "v1", create);
	new_task(f, TASK_MIGRATE, "v2", mig);
	new_task(f, TASK_REBALANCE, NULL, run);
	new_task(f, TASK_START, "v3", done);
	assert_int_equal(task_end(f->st, done, TASK_DONE, NULL), 0);
	now = time_wall_ms();
	/* nothing is old enough yet */
	assert_int_equal(task_expired(f->st, to, now, 64, &list, &n), 0);
	assert_int_equal(n, 0);
	free(list);
	/* 50 s on: the create (10 s) only; no host row: "down" */
	assert_int_equal(task_expired(f->st, to, now + 50000, 64, &list, &n),
			 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].t.id, create);
	assert_int_equal(list[0].timeout_s, 10);
	assert_true(list[0].host_down);
	free(list);
	/* 500 s on: the migration too, never the run or the done task;
	 * at most max of them */
	assert_int_equal(task_expired(f->st, to, now + 500000, 64, &list, &n),
			 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[1].t.id, mig);
	assert_int_equal(task_time_out(f->st, &list[1].t, "timed out"), 0);
	assert_string_equal(load(f, mig).error, "timed out");
	assert_int_equal(load(f, mig).state, TASK_FAILED);
	assert_int_equal(ctrl_fixture_count(f, "SELECT count(*) FROM tasks WHERE "
				       "timed_out_ms IS NOT NULL"), 1);
	/* a second timeout of the same task changes nothing */
	assert_int_equal(task_time_out(f->st, &list[1].t, "again"), 1);
	free(list);
	assert_int_equal(task_expired(f->st, to, now + 500000, 1, &list, &n),
			 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].t.id, create);
	free(list);
}

/* Every test on a fresh store. */
#define STORE_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_settle_migration),
		cmocka_unit_test(test_timeout_of),
		cmocka_unit_test(test_timeout_error),
		STORE_TEST(test_expired),
		STORE_TEST(test_create),
		STORE_TEST(test_stored_moves),
		STORE_TEST(test_end),
		STORE_TEST(test_supersede_and_cancel),
		STORE_TEST(test_vm_outcome),
		STORE_TEST(test_recover_runs),
		STORE_TEST(test_progress_and_busy),
		STORE_TEST(test_orders),
		STORE_TEST(test_orders_migrate_opts),
		STORE_TEST(test_load_watch),
		STORE_TEST(test_json_and_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * task.h - the task lifecycle: every task the controller records is
 * created, advanced and ended here, and only along the transitions of one
 * table (task.c task_transitions[]).
 *
 * Types, by who drives them:
 *   create, start, stop, delete  "lifecycle" tasks: the controller's own;
 *       they follow a VM to the state a request asked for and end when the
 *       agent reports it there (task_vm_state()), or when a later request
 *       supersedes them (task_supersede()). Agents never see them.
 *   migrate, reboot  "agent" tasks: handed to the source host's agent in
 *       its desired state; the agent reports them running, done or failed.
 *   rebalance, drain  "runs": a thread of rebalance.c executes them.
 *   suspect, fence  a host's HA steps (ha.h): start running, end done
 *       (confirmed failed; fenced) or failed (it heartbeated again; a
 *       fence step failed, tried again later as a new task).
 *   restart, lost  a VM's HA steps: restart is pending until its new
 *       host reports it running (done) or failed; lost is ended failed
 *       at once (its disk was on the dead host).
 *
 * States: pending, running, done, failed; done and failed are final. The
 * allowed moves (and which types may make them):
 *   pending -> running  agent tasks (the agent started it)
 *   pending -> done     lifecycle and agent tasks (already there, or the
 *                       agent finished before it reported running)
 *   pending -> failed   lifecycle and agent tasks (failed, superseded, the
 *                       VM was deleted, timed out)
 *   running -> done     agent tasks and runs
 *   running -> failed   agent tasks and runs (failed, interrupted, timed
 *                       out)
 * A task is created in its type's first state: runs start running, every
 * other task pending.
 *
 * Every function here works inside the caller's open transaction, with the
 * controller lock held (see ctrl.h), and reports a database failure with
 * err_set() (-1).
 */
#ifndef FC_CTRL_TASK_H
#define FC_CTRL_TASK_H

#include "common/fc.h"
#include "common/util.h"

struct store;

enum task_state { TASK_PENDING, TASK_RUNNING, TASK_DONE, TASK_FAILED };
#define TASK_NSTATES 4

enum task_type {
	TASK_CREATE, TASK_START, TASK_STOP, TASK_DELETE, /* lifecycle */
	TASK_MIGRATE, TASK_REBOOT,                       /* agent */
	TASK_REBALANCE, TASK_DRAIN,                      /* runs */
	TASK_SUSPECT, TASK_FENCE,                        /* HA, a host */
	TASK_RESTART, TASK_LOST,                         /* HA, a VM */
};
#define TASK_NTYPES 12

/* A task id: a UUID and its NUL. */
#define TASK_ID_LEN 37

/* The names the store and the API use ("pending", "migrate"). */
const char *task_state_name(enum task_state state);
const char *task_type_name(enum task_type type);
/* Parse a name: 0 with *out, or -1 with err_set() for an unknown one. */
int task_state_parse(const char *name, enum task_state *out);
int task_type_parse(const char *name, enum task_type *out);

/* Pure. The state a task of type is created in. */
enum task_state task_initial(enum task_type type);
/* Pure. Whether agents carry out tasks of type (migrate, reboot): they
 * appear in the source host's desired state and its reports move them. */
bool task_for_agent(enum task_type type);
/* Pure. Whether the table lets a task of type move from one state to
 * another (never from a final state, never to the same state). */
bool task_may(enum task_type type, enum task_state from, enum task_state to);
/* Pure. The state that a VM reaching vm_state ("running", "stopped",
 * "failed", "deleted": gone from its host) ends its open lifecycle task
 * of type in: TASK_DONE or TASK_FAILED into *end and true; false when that
 * VM state does not end such a task. */
bool task_vm_outcome(enum task_type type, const char *vm_state,
		     enum task_state *end);

/* What a new task is about. Strings may be NULL (stored as ''): runs
 * have no VM, tenant or hosts. req: the VM's vCPUs, MiB of memory and GiB
 * of disk (the claim a migration holds on its target), or zeros. */
/* Whether a migration may switch to post-copy. */
enum task_postcopy {
	/* as its VM's migration_postcopy says, else (NULL) its VM's
	 * pool's (the default) */
	TASK_POSTCOPY_INHERIT = 0,
	TASK_POSTCOPY_NO,
	TASK_POSTCOPY_YES,
};

struct task_new {
	enum task_type type;
	const char *vm_id;
	const char *tenant;
	const char *source_host;
	const char *target_host;
	int64_t req[3];
	int max_seconds;              /* migrate: time limit, 0: the agent's */
	enum task_postcopy postcopy;  /* migrate */
};

/* Record a new task in its type's first state; its id (a fresh UUID)
 * goes to id. 0, or -1 with err_set(). */
int task_create(struct store *st, const struct task_new *t,
		char id[TASK_ID_LEN]);

/* One task as stored. */
struct task {
	char id[TASK_ID_LEN];
	enum task_type type;
	enum task_state state;
	char vm_id[TASK_ID_LEN];
	char tenant[NAME_MAX_LEN + 1];
	char source_host[NAME_MAX_LEN + 1];
	char target_host[NAME_MAX_LEN + 1];
	char error[512];          /* cut to fit */
};

/* Read task id into *out: 0, 1 when there is no such task, -1 with
 * err_set() (also for a row whose type or state is unknown). */
int task_load(struct store *st, const char *id, struct task *out);

/* Move task id to state `to` (running, done or failed) with error (NULL:
 * ''; pending -> running keeps the error it had). 0 when it moved; 1 when
 * the table refuses the move or there is no such task: nothing changed,
 * err_set() says why; -1 with err_set() on a database error. */
int task_advance(struct store *st, const char *id, enum task_state to,
		 const char *error);
/* task_advance() to a final state: end is TASK_DONE or TASK_FAILED (any
 * other state is refused, 1). */
int task_end(struct store *st, const char *id, enum task_state end,
	     const char *error);

/* A new request for VM vm_id replaces the open lifecycle task it had:
 * fail it with "superseded by a later request". 0 or -1. */
int task_supersede(struct store *st, const char *vm_id);
/* VM vm_id is being deleted: fail its open agent tasks (migrate, reboot)
 * with error why. 0 or -1. */
int task_cancel_vm(struct store *st, const char *vm_id, const char *why);
/* VM vm_id reached vm_state (see task_vm_outcome()): end its open
 * lifecycle task accordingly, with error (NULL: ''). 0 or -1. */
int task_vm_state(struct store *st, const char *vm_id, const char *vm_state,
		  const char *error);
/* The runs (rebalance, drain) left open that no controller drives any
 * more cannot go on: fail those for which orphan(task id, arg) says so,
 * with error why. 0 or -1. */
int task_recover_runs(struct store *st, const char *why,
		      bool (*orphan)(const char *id, void *arg), void *arg);

/* Store the JSON text progress (a run's, see rebalance.h) of task id,
 * leaving its state. 0 or -1. */
int task_set_progress(struct store *st, const char *id, const char *progress);

/* Whether VM vm_id has an open agent task (a migration or a reboot):
 * 0 with *busy and, when busy and task_id is not NULL, the oldest such
 * task's id in task_id; or -1 with err_set(). */
int task_vm_busy(struct store *st, const char *vm_id, bool *busy,
		 char task_id[TASK_ID_LEN]);

/* What one node's last report says of one VM (see report.h): not listed,
 * listed in a state other than running (paused, shut off...), or
 * running (libvirt's running or blocked). */
enum task_seen { TASK_SEEN_ABSENT, TASK_SEEN_PRESENT, TASK_SEEN_RUNNING };

/* Pure. How an open migration settles from what its nodes report: state
 * is the task's (pending or running); from_source says whether this is a
 * heartbeat of the task's source; agent is what the source's agent says
 * of the task in it (TASK_RUNNING, TASK_DONE, TASK_FAILED), or
 * TASK_PENDING when it says nothing (always so in another node's
 * heartbeat); src and dst are what the source and the target last
 * reported of the VM. The state to move the task to into *to and true,
 * or false to leave it as it is. The rules:
 *   - the target runs the VM and the source no longer lists it: done,
 *     whatever the agent says (it may have lost the task in a restart);
 *   - both run it: nothing moves, unless the agent says failed: then
 *     failed (an open migration explains both reports, which only differ
 *     in age; once it has ended two running copies are flagged,
 *     report.c);
 *   - the agent says done: done (the VM's record follows it; a source
 *     that still runs it then shows as a conflict, never as a second
 *     record);
 *   - the agent says failed: failed while the source still lists the VM
 *     or the task never started; a running task whose VM left the source
 *     waits for the target's report instead (libvirt may have finished
 *     the migration the agent lost);
 *   - the source's agent no longer mentions a running task (it was
 *     restarted and journalled it, never to run it again), the source
 *     still lists the VM and the target does not: failed, the VM stayed;
 *   - the agent says running: running, from pending. */
bool task_settle_migration(enum task_state state, bool from_source,
			   enum task_state agent, enum task_seen src,
			   enum task_seen dst, enum task_state *to);

/* Task timeouts. An open create, start, stop, delete, migrate or reboot
 * task that is older than its type's timeout (controller.conf
 * task_timeout_TYPE, docs/controller.md) is failed by the leader's
 * background work (jobs.c) with an error that starts "timed out" and
 * names the host and why: it is down, or its agent never reported the
 * outcome. Runs (rebalance, drain) have none: rebalance.c ends them. */

/* The indices of ctrl_config.task_timeout_s, in enum task_type order
 * (create .. reboot). */
#define TASK_NTIMEOUTS 6

/* A migration with a time limit of its own is given that limit plus this
 * many seconds before it times out, when that is longer than the
 * configured timeout: the agent aborts it at its limit and reports. */
#define TASK_MIGRATE_GRACE_S 120

/* Pure. The seconds an open task of type may stay open: timeouts[type]
 * (seconds; TASK_NTIMEOUTS of them); for a migrate task with its own
 * max_seconds (0: none), at least max_seconds + TASK_MIGRATE_GRACE_S.
 * 0 for the types that never time out (runs). */
int64_t task_timeout_s(enum task_type type, const int64_t *timeouts,
		       int max_seconds);

/* One open task past its timeout, as task_expired() lists it. */
struct task_expiry {
	struct task t;
	int64_t timeout_s;  /* task_timeout_s() of it */
	bool host_down;     /* its host (the source) is down or gone */
};

/* The open tasks older than their timeout at now_ms (wall clock, ms),
 * oldest first, at most max of them, into *out (an array of *n; the
 * caller frees it with free(), also when *n is 0). timeouts as for
 * task_timeout_s(). 0, or -1 with err_set(). */
int task_expired(struct store *st, const int64_t *timeouts, int64_t now_ms,
		 size_t max, struct task_expiry **out, size_t *n);

/* Pure. The error of e's task failed as timed out, into buf (size bytes,
 * cut to fit): "timed out after N s (task_timeout_TYPE): " and the host
 * that is down, or the outcome its agent never reported. */
void task_timeout_error(const struct task_expiry *e, char *buf, size_t size);

/* Fail open task t (as loaded) as timed out with error why, and record
 * when (tasks.timed_out_ms; report.c settles a timed-out migration that
 * completed later from the nodes' reports). 0 when it moved, 1 when it
 * is no longer in t's state (err_set() says so), -1 with err_set(). */
int task_time_out(struct store *st, const struct task *t, const char *why);

/* The VMs with a migration in flight (an open migrate task), as an SQL
 * subquery for a statement on vms ("id NOT IN (" TASK_SQL_MIGRATING ")"):
 * a write of the vms table keeps its one statement, and what "in flight"
 * means is said here. */
#define TASK_SQL_MIGRATING                                                 \
	"SELECT vm_id FROM tasks WHERE type = 'migrate' AND state IN "     \
	"('pending','running')"

/* Task id as a migration run watches it (rebalance.c): into *out, and
 * whether its source host is down (or gone) into *source_down. 0, 1 when
 * there is no such task, -1 with err_set(). */
int task_load_watch(struct store *st, const char *id, struct task *out,
		    bool *source_down);

/* An open agent task (migrate, reboot) as its source host's desired state
 * lists it. */
struct task_order {
	char id[TASK_ID_LEN];
	enum task_type type;
	char vm_id[TASK_ID_LEN];
	char target_host[NAME_MAX_LEN + 1];  /* migrate: the target */
	char target_uri[1025];               /* and its migration URI */
	int max_seconds;       /* migrate: its time limit, 0: the agent's */
	bool postcopy;         /* migrate: post-copy allowed (the task's
				  choice, else its VM's, else its VM's
				  pool's) */
};
/* The open agent tasks of host node, oldest first, into *out (an array of
 * *n; the caller frees it with free(), also when *n is 0). 0, or -1 with
 * err_set(). */
int task_orders(struct store *st, const char *node, struct task_order **out,
		size_t *n);

/* The API's JSON object of a task (docs/api.md: id, type, state, vm_id,
 * tenant, source_host, target_host, error, created_ms, updated_ms,
 * progress; the strings a run does not have are null). */
typedef struct cJSON cJSON;
struct db_stmt;
/* Task id as JSON into *out (the caller frees it with cJSON_Delete()): 1;
 * 0 when there is no such task; -1 with err_set(). */
int task_find_json(struct store *st, const char *id, cJSON **out);
/* A page of the task list: the tasks after seq after_seq (0: from the
 * first), at most limit of them, narrowed to tenant, VM vm_id and state
 * where those are not NULL, ordered by seq. The statement is bound and
 * ready to step; the store owns it (see store_stmt()). Column
 * TASK_LIST_SEQ_COL holds each row's seq. NULL with err_set(). */
struct db_stmt *task_list_query(struct store *st, int64_t after_seq,
			      int64_t limit, const char *tenant,
			      const char *vm_id, const char *state);
#define TASK_LIST_SEQ_COL 10
/* The JSON object of the row task_list_query()'s statement is on (the
 * caller frees it). */
cJSON *task_row_json(struct db_stmt *s);

#endif

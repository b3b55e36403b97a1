/*
 * agent_task.h - the controller's tasks on this node (docs/agent-protocol.md
 * "tasks"): starting the ones the desired state hands over, keeping their
 * results until the controller stops listing them, and the migrated-away
 * list, the VMs this node live-migrated elsewhere that the reconcile pass
 * must not recreate from a desired state that is behind. That list is the
 * migration journal (agent_journal.h): each migration is written to it,
 * on disk, before it starts, so that it outlives a restart of the agent;
 * an entry read back from disk that was still running is "interrupted"
 * and holds its VM back until the controller settles the task.
 *
 * Ownership: struct agent_tasks owns its task list, its migrated-away
 * list and the migration threads it starts (detached; each frees its own
 * job). The operations (struct agent_task_ops) are the caller's.
 *
 * Threads and locking: any thread may call any function here (in the
 * agent: the main loop calls them all; each migration runs on a thread
 * of its own). One mutex inside struct agent_tasks guards both lists and
 * the count of running migrations; it is never held while an operation
 * or the ended callback runs, so those may call back into this module.
 *
 * A task is one step of the controller's task: "reboot" runs on the
 * calling thread, "migrate" on a new thread. Its id is the controller's:
 * a task already known is never started again, whatever the desired state
 * lists, so running agent_tasks_sync() twice on the same list is a no-op.
 */
#ifndef AGENT_TASK_H
#define AGENT_TASK_H

#include "agents/agent_journal.h"
#include "agents/agent_report.h"

/* What a task does; ctx is the one given to agent_tasks_new(). */
struct agent_task_ops {
	/* Live-migrate the VM task->vm_id (UUID string) to
	 * task->target_uri (a libvirt URI) as task says (its time limit,
	 * post-copy). Blocks until the migration ended, on the task's own
	 * thread; 0, or -1 with err_set() (that thread's err_msg() becomes
	 * the task's error). task is the thread's copy, valid during the
	 * call. */
	int (*migrate)(void *ctx, const struct agent_task *task);
	/* Reboot the VM vm_id; on the thread of agent_tasks_sync(). 0, or
	 * -1 with err_set(). */
	int (*reboot)(void *ctx, const char *vm_id);
	/* A migration has ended and its task holds its result (so the
	 * caller may report it at once). On the migration's thread, with
	 * no lock of this module held. May be NULL. */
	void (*ended)(void *ctx);
};

struct agent_tasks;

/* A new set of tasks, its migrated-away list read from the journal at
 * journal_path (copied; NULL keeps the list in memory only, for tests).
 * ops and ctx are kept, not copied: they must outlive the set. NULL with
 * err_set() when out of memory or when the journal cannot be read (the
 * agent must not start then). */
struct agent_tasks *agent_tasks_new(const struct agent_task_ops *ops,
				    void *ctx, const char *journal_path);

/* Wait until no migration thread runs any more (each has called ended),
 * then free t. NULL is fine. */
void agent_tasks_free(struct agent_tasks *t);

/* Block until no migration thread runs (the agent waits for them before
 * it leaves: a migration is finished or failed, never cut off). After it,
 * no ended callback is running or will run for the migrations so far. */
void agent_tasks_wait(struct agent_tasks *t);

/* Bring the tasks in line with the n tasks the controller lists now
 * (listed: the desired state's, read only; NULL with n 0 when it lists
 * none): start each listed task whose id is new, forget each finished
 * task no longer listed. A running task is kept even when it is no
 * longer listed. A task in the journal is never started again; an
 * interrupted one no longer listed leaves the journal (the controller
 * settled it). Call it only with a desired state in hand. A task the list has no room for (out of memory) is
 * logged and tried again at the next sync; one whose thread cannot be
 * started is kept as failed, with the reason, so that it is reported. */
void agent_tasks_sync(struct agent_tasks *t, const struct agent_task *listed,
		      size_t n);

/* The tasks and the migrated-away list now, for the heartbeat, taken
 * together under the lock: *tasks holds *ntasks copies, *journal
 * *njournal (the caller frees both with free()). Either pair may be NULL
 * when not wanted. -1 with err_set() when out of memory (then nothing is
 * to be freed). */
int agent_tasks_copy(struct agent_tasks *t, struct agent_task **tasks,
		     size_t *ntasks, struct agent_journal_entry **journal,
		     size_t *njournal);

/* How many migrations are running now. */
int agent_tasks_migrations(struct agent_tasks *t);

/* True when the VM vm_id (UUID string, any case) is leaving this node by
 * a running migration task, or left it by one and is still in the
 * migrated-away list: the reconcile pass must not recreate it here. */
bool agent_tasks_migrating_away(struct agent_tasks *t, const char *vm_id);

/* Drop from specs (n specs, the caller's array) those of VMs migrating
 * away (agent_tasks_migrating_away()), keeping the order of the rest:
 * what the reconcile pass may apply. Returns how many remain. */
size_t agent_tasks_filter(struct agent_tasks *t, struct agent_vm_spec *specs,
			  size_t n);

/* Expire the migrated-away list (and the journal on disk). A VM stays in
 * it while its migration runs, and after it while the controller still
 * lists it for this node (wanted: the desired state's n_wanted VM specs,
 * NULL with 0 when it lists none) and it is not back here: doms (n_doms
 * domains) is a libvirt list taken at listed_ns (monotonic ns), and only
 * a list taken after the migration ended can show the VM back (an
 * interrupted migration's VM being here says nothing). Either way, from
 * then on it is reconciled again. Call it only with a desired state in
 * hand: before the first one, nothing may expire. */
void agent_tasks_prune(struct agent_tasks *t,
		       const struct agent_vm_spec *wanted, size_t n_wanted,
		       const struct agent_domain *doms, size_t n_doms,
		       uint64_t listed_ns);

/* Counts for tests and metrics, taken together under the lock. */
struct agent_tasks_count {
	size_t tasks;          /* known tasks, running or finished */
	size_t migrated;       /* VMs migrated away (done or interrupted) */
	size_t reserved;       /* entries of migrations running now */
	int migrations;        /* migrations running */
};
void agent_tasks_count(struct agent_tasks *t, struct agent_tasks_count *c);

#endif

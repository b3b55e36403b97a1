/*
 * rebalance.h - rebalancing runs and host drains, executed as live
 * migrations (the controller's side of libfcsched's rebalance plans).
 *
 * A plan is made from the store: one pool's hosts, every VM on them (with
 * its claim) and the claims of migrations in flight on their targets,
 * given to rebal_plan(). Only running VMs with no task in progress move;
 * the plan names the others it would have moved and why.
 *
 * A run is a task of type "rebalance" or "drain" executed by a thread of
 * its own: it hands the plan's moves to the source agents as ordinary
 * "migrate" tasks, at most `concurrency` at a time and at most one per
 * host (as source or target). Before a move starts it is checked again
 * (sched_state_check) against a problem built afresh from the store; a
 * move that became infeasible waits while other moves are in flight and
 * is skipped with a note otherwise; one whose VM is gone, moved or busy is
 * skipped. A failed migration stops the run: no new move starts, the ones
 * in flight finish, and the task ends failed naming the VM, the hosts and
 * the agent's error. The task's "progress" holds every move and its
 * state. Every move and the run's outcome go to the audit log.
 *
 * One run per pool at a time. Everything here runs with the controller
 * lock held, except rb_shutdown().
 */
#ifndef FC_CTRL_REBALANCE_H
#define FC_CTRL_REBALANCE_H

#include <cjson/cJSON.h>

#include "common/fc.h"
#include "controller/ctrl.h"

#define RB_DEFAULT_CONCURRENCY 2
#define RB_MAX_CONCURRENCY 32

struct rb_request {
	const char *pool;        /* rebalance: the pool */
	const char *drain_host;  /* drain: the host to empty (pool is its) */
	bool pack;               /* policy */
	int64_t max_moves;       /* 0: no limit */
	double min_gain;
	int concurrency;
};

/* Plan for r. 0 with *plan (the JSON answer of a dry run, caller frees it
 * with cJSON_Delete()); 1 when the pool does not exist; -1 with err_set().
 * When run_out is not NULL, a run record for the plan is made as well
 * (*run_out, released by rb_run_start() or rb_run_free()). */
struct rb_run;
int rb_plan(struct ctrl *ctrl, const struct rb_request *r, cJSON **plan,
	    struct rb_run **run_out);
void rb_run_free(struct rb_run *run);

/* The running run (rebalance or drain) of pool, if any: its task id into
 * task (size >= 37) and true. */
bool rb_busy(struct ctrl *ctrl, const char *pool, char *task, size_t size);
/* The running drain of host, if any (task as above). */
bool rb_draining(struct ctrl *ctrl, const char *host, char *task,
		 size_t size);

/* Record run's task (inside the caller's open transaction) and start its
 * thread. The task id goes to task (size >= 37). Takes run in every case.
 * -1 with err_set(). */
int rb_run_start(struct ctrl *ctrl, struct rb_run *run, const char *request_id,
		 char *task, size_t size);

/* A rebalance or drain task left pending or running that no controller
 * drives (not this process, and on PostgreSQL no live controller holds
 * its lock, store_owner_lock()) is marked failed. At start, before the
 * API listens, and on PostgreSQL every few seconds by the leader (lock
 * held). 0, or -1 with err_set(). */
int rb_recover(struct ctrl *ctrl);

/* At exit, without the lock: ask every run's thread to stop (its task is
 * marked failed as interrupted) and wait for them. */
void rb_shutdown(struct ctrl *ctrl);

#endif

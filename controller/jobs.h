/*
 * jobs.h - the controller's background work: one thread that, once a
 * second, marks hosts down whose agent went silent for heartbeat_timeout
 * and fails the tasks open longer than their type's timeout (task.h),
 * and, every sample_interval, records a utilisation sample of each pool
 * (compacting the series once a minute); and, each second, detects and
 * fences failed hosts and restarts their VMs elsewhere (ha.h).
 *
 * The thread takes the controller lock for each pass, like a request,
 * and counts each pass it leads (ctrl.passes, jobs_metrics()).
 * With several controllers on one PostgreSQL database only the leader
 * (leader.h) marks hosts down, times tasks out and samples; the others'
 * passes skip all three.
 */
#ifndef FC_CTRL_JOBS_H
#define FC_CTRL_JOBS_H

#include <pthread.h>

#include "common/fc.h"
#include "controller/ctrl.h"

struct leader;

/* The background thread: zeroed by the caller, filled by jobs_start(). */
struct jobs {
	struct ctrl *ctrl;
	struct leader *leader; /* NULL on SQLite: always leads */
	pthread_t thread;
	bool started;
};

/* At start, before the API listens (no lock needed yet): every host that
 * is up gets a fresh heartbeat_timeout, so that a controller that was down
 * does not mark every node down at once. 0, or -1 with err_set(). */
int jobs_liveness_reset(struct ctrl *ctrl);

/* Start the background thread for ctrl into j. 0, or -1 with err_set(). */
int jobs_start(struct jobs *j, struct ctrl *ctrl);
/* Wait for the thread to end; it ends once ctrl_stop() was called. Safe
 * when jobs_start() failed or was never called (j zeroed). */
void jobs_join(struct jobs *j);

/* One liveness pass (lock held, no transaction open): every host still
 * up that sent no heartbeat for heartbeat_timeout seconds (at most 64 a
 * pass; checked again inside the transaction) goes down and its VMs'
 * state to unknown, audited, in one durable transaction. 0, or -1 with
 * err_set(). */
int jobs_mark_down_hosts(struct ctrl *ctrl);

/* One timeout pass (lock held, no transaction open): the open tasks
 * past their type's timeout (task_expired(), at most 64 a pass) fail with
 * task_timeout_error()'s message, each audited task.timeout; an agent
 * task's source (and a migration's target) gets a new generation, so
 * that its agent drops it. One durable transaction. 0, or -1 with
 * err_set(). */
int jobs_time_out_tasks(struct ctrl *ctrl);

struct buf;

/* Append the leader's pass counters p (ctrl.passes, read under
 * stats_lock) to b as Prometheus text: fincloud_leader_passes_total,
 * fincloud_leader_db_statements_total and
 * fincloud_leader_lock_held_seconds_total. */
void jobs_metrics(const struct ctrl_pass_stats *p, struct buf *b);

#endif

/*
 * agent_loop.h - the agent's main loop: keep the libvirt connection (and
 * say "degraded" while it is down), run one reconcile pass per cycle
 * (observe, plan with agent_reconcile_plan(), act, observe again for the
 * report); and, on a heartbeat thread of its own, the exchange with the
 * controller (register, heartbeat or long-poll, the desired state back;
 * agent_hb.h), backing off either side that fails. The controller's tasks are handed
 * to agent_task.h, domain events to agent_events.h; both are owned by the
 * loop.
 *
 * Ownership: struct agent_loop owns its controller client, the desired
 * state, the last report (domains, VM errors, inventory), its struct
 * agent_tasks and struct agent_events. The config and the struct
 * agent_virt are the caller's and must outlive the loop.
 *
 * Threads and locking: agent_loop_run() runs on one thread (the main
 * loop) and starts the heartbeat thread, which it joins before it
 * returns; agent_loop_quit() and agent_loop_health() may be called from
 * any thread (the signal waiter, the health endpoint); the migration
 * threads and the event sender wake the loop through it. The heartbeat
 * thread never calls libvirt and never waits for a pass: it sends the
 * last published report, so a long pass cannot make the node miss its
 * heartbeats. The loop's mutex guards the degraded reason, the last
 * report, the desired state received and not yet taken by a pass, the
 * pass count and the kick flags; the client is the heartbeat thread's,
 * the desired state being applied the main loop's. The mutex is never
 * held while libvirt or the controller is called, nor together with the
 * tasks' or the events' own lock. With once, there is no heartbeat
 * thread: the exchanges run on the main loop between its passes.
 */
#ifndef AGENT_LOOP_H
#define AGENT_LOOP_H

#include "agents/agent_config.h"
#include "agents/agent_health.h"
#include "agents/agent_virt.h"

struct agent_loop_opts {
	bool no_controller;        /* manifests only; never the controller */
	bool once;                 /* one pass (and exchange), then return */
	uint64_t stop_timeout_ns;  /* ACPI shutdown grace before power-off */
};

struct agent_loop;

/* A loop over cfg and virt (both the caller's, kept, not copied), with
 * its event sender already started and set as virt's event callback.
 * NULL with err_set() when out of memory. */
struct agent_loop *agent_loop_new(struct agent_config *cfg,
				  struct agent_virt *virt,
				  const struct agent_loop_opts *opts);

/* Run until agent_loop_quit() (or, with once, after one pass and, with
 * a controller, the exchange that applies what it brought). VMs are left
 * as they are when it returns. -1 with err_set() when it cannot start
 * (no controller client, an unreadable credential file). */
int agent_loop_run(struct agent_loop *l);

/* Make agent_loop_run() return soon and the event sender stop; any
 * thread, does not wait. */
void agent_loop_quit(struct agent_loop *l);

/* Wait for the event sender to end and for running migrations to finish
 * or fail: after it no thread of the loop uses virt. Call before freeing
 * virt. */
void agent_loop_stop(struct agent_loop *l);

/* Free l (stopping it first). Call it once libvirt can no longer deliver
 * events to it (virt freed, its event loop stopped). NULL is fine. */
void agent_loop_free(struct agent_loop *l);

/* True when the last pass left a VM it could not apply, or libvirt was
 * out of reach: the exit status of --once. */
bool agent_loop_failed(struct agent_loop *l);

/* agent_health_fn: fill *st from the last pass; opaque is the loop. */
void agent_loop_health(void *opaque, struct agent_health_status *st);

#endif

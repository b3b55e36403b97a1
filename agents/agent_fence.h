/*
 * agent_fence.h - the agent's self-fencing (docs/agent.md "Self-fencing"):
 * a watchdog thread of its own that, when the agent has had no
 * successful exchange with the controller for self_fence_timeout
 * seconds (monotonic clock), destroys this node's fincloud guests
 * (virDomainDestroy; definitions and disks stay: the controller decides
 * later) and keeps the node fenced -- no guest is started, resumed or
 * created -- until an exchange that began after the fence is answered
 * and its desired state is taken by a pass.
 *
 * The watchdog never waits on libvirt: each sweep's destroys run on a
 * detached worker thread, and when they have not all returned within
 * AGENT_FENCE_BOUND_S (libvirtd hung, or gone) the QEMU processes of the
 * guests last seen are killed (SIGKILL) directly, found in /proc by
 * their "-uuid UUID" argument and this agent's mount namespace (each
 * testbed node has its own; a real host has one). While fenced, sweeps
 * repeat every AGENT_FENCE_RESWEEP_S for guests that started anyway;
 * while an earlier sweep's worker is still stuck in libvirt, a sweep
 * kills the processes at once and starts no other worker.
 *
 * A fence is recorded in a file (the agent's state directory,
 * "self-fence"), written when it fires and removed when it is lifted: an
 * agent that starts and finds it starts fenced (it runs no guest until
 * the controller has answered).
 *
 * Threads: agent_fence_answered() is the heartbeat thread's;
 * agent_fence_lift() and agent_fence_set_guests() the main loop's;
 * agent_fence_active() and agent_fence_epoch() any thread's.
 */
#ifndef AGENT_FENCE_H
#define AGENT_FENCE_H

#include "agents/agent_virt.h"

/* How long a sweep's destroys through libvirt may take before the QEMU
 * processes are killed directly, and how often a fenced node sweeps
 * again. Seconds. */
#define AGENT_FENCE_BOUND_S 10
#define AGENT_FENCE_RESWEEP_S 5

struct agent_fence;

/* timeout_s: self_fence_timeout (0: off; the watchdog never fires, the
 * record is still honoured and removed). record_path: the fence record
 * (copied; NULL: none, for an agent without a controller, which no
 * answer could lift). virt: the libvirt connection the destroys use (not owned).
 * wake(ctx): called (on the watchdog thread, no lock held) when a fence
 * fires, to wake the main loop. NULL with an error when out of memory. */
struct agent_fence *agent_fence_new(int timeout_s, const char *record_path,
				    struct agent_virt *virt,
				    void (*wake)(void *ctx), void *ctx);
/* Start the watchdog thread (nothing with timeout 0). The clock starts
 * here: an agent that never reaches the controller fences after the
 * timeout. -1 with an error. */
int agent_fence_start(struct agent_fence *f);
/* Stop and join the watchdog thread, free f; a sweep's worker still in
 * libvirt finishes on its own. NULL is fine. */
void agent_fence_free(struct agent_fence *f);

/* The longest a healthy exchange may take (a long-poll's wait plus a
 * margin), ns: the watchdog never fires sooner than this after the last
 * answer, whatever self_fence_timeout says. */
void agent_fence_set_floor(struct agent_fence *f, uint64_t ns);
/* An exchange that began at fence epoch epoch (agent_fence_epoch()
 * read before it was sent) was answered now. */
void agent_fence_answered(struct agent_fence *f, uint64_t epoch);
/* The longest time, in seconds, from this agent's last answered exchange
 * with the controller until its guests are gone should the controller
 * stay silent: the watchdog's limit (self_fence_timeout, at least the
 * floor) plus AGENT_FENCE_BOUND_S for the destroys or the kill of their
 * QEMU processes; 0 when self-fencing is off. Sent in each heartbeat
 * (self_fence_s): the controller restarts a fenced host's VMs without a
 * fence agent only once this has passed (controller/ha_fence.c). */
uint64_t agent_fence_window_s(struct agent_fence *f);
/* The number of fences so far (it moves when one fires). */
uint64_t agent_fence_epoch(struct agent_fence *f);
/* Whether the node is fenced: start, resume or create no guest. */
bool agent_fence_active(struct agent_fence *f);
/* A pass takes a desired state from an exchange that began at epoch:
 * when fenced and epoch is the current one (the controller answered
 * after the fence), the fence is lifted, logged and its record removed;
 * returns true then (the pass is the node's return). */
bool agent_fence_lift(struct agent_fence *f, uint64_t epoch);
/* The fincloud guests of the last pass (uuids, n), copied: whom a sweep
 * destroys. */
void agent_fence_set_guests(struct agent_fence *f, const char (*uuids)[37],
			    size_t n);

/* Whether a process command line (cmdline, len bytes of NUL-separated
 * arguments as /proc/PID/cmdline holds them) has the argument "-uuid"
 * followed by uuid (case-insensitive): a QEMU that libvirt started for
 * that domain. Pure. */
bool agent_fence_cmdline_has_uuid(const char *cmdline, size_t len,
				  const char *uuid);
/* SIGKILL every process under proc (normally "/proc") in this process's
 * mount namespace whose command line names one of uuids (n) as
 * agent_fence_cmdline_has_uuid() says, logging each; the number killed,
 * or -1 with an error when proc cannot be read. */
int agent_fence_kill_qemu(const char *proc, const char (*uuids)[37],
			  size_t n);

#endif

/*
 * ha.h - when a host dies: detection, fencing, restart elsewhere
 * (docs/controller.md "When a host dies"; the pure rules in hapolicy.h).
 *
 * A host's HA state (hosts.ha_state) moves
 *   ok -> suspect     silent for ha_suspect_intervals heartbeat intervals
 *   suspect -> ok     it heartbeats again
 *   suspect -> failed silent for ha_fail_intervals (down or not yet),
 *                     unless the partition guard holds it (hapolicy.h);
 *                     or an operator's evacuate (any state but fenced;
 *                     it also marks the host off, hosts.ha_off)
 *   failed -> fenced  every configured fence step succeeded: `ceph osd
 *                     blocklist add` of its storage address on each Ceph
 *                     cluster its VMs' disks live on (the controller's
 *                     cephx identity), then its fence agent if it has
 *                     one. A failed step fails the fence task; it is
 *                     tried again after ha_fence_retry. Once failed, a
 *                     host is fenced even if it heartbeats again.
 *   fenced -> ok      unfenced: once the host heartbeats with a domain
 *                     list holding none of the VMs restarted away from
 *                     it (or an operator's unfence, with the same
 *                     condition), `ceph osd blocklist rm` of what was
 *                     blocklisted.
 * Only after fenced, and only once no copy can run there any more (the
 * host is off: its fence agent exited 0 or an operator evacuated it;
 * else its agent's self-fence window, hosts.self_fence_s from its
 * heartbeats, has passed since its last heartbeat; an agent that does
 * not self-fence waits for an evacuate): its VMs with ha = restart on a
 * Ceph storage pool are placed again (place.h, all constraints, the same
 * pool), highest ha_priority first, and recorded on their new host; each is listed in
 * ha_evictions for the old host, whose desired state tells it to destroy
 * and undefine its copy (never its disks) before anything else. Its VMs
 * with ha = restart on local storage are marked lost (state 'lost', the
 * error naming their last reported state); the others stay, unknown.
 * Each step is a task (suspect, fence, restart, lost; task.h), an audit
 * entry (host.suspect, host.recovered, host.failed, host.ha.held,
 * host.fenced, host.fence.failed, vm.restarted, vm.restart.failed,
 * vm.lost, host.unfenced, host.unfence.failed) and counts in /metrics
 * (ha_metrics()).
 *
 * Detection and fencing run on the leader only (leader.h, jobs.c).
 */
#ifndef FC_CTRL_HA_H
#define FC_CTRL_HA_H

#include "common/buf.h"
#include "common/fc.h"
#include "controller/ctrl.h"

/* One detection pass (lock held, no transaction open): the hosts whose
 * HA state changes (hapolicy.h ha_detect()) move, with their tasks,
 * audit entries and logs, in one transaction. 0, or -1 with err_set(). */
int ha_detect_pass(struct ctrl *ctrl);

/* One fence pass (lock NOT held; it takes it twice and runs the fence
 * commands, each within ha_fence_timeout, between): fence failed hosts
 * whose next try is due and restart their VMs; restart what could not be
 * placed before (at most every ha_fence_retry); unfence what is asked to
 * be. At most 8 hosts a pass. 0, or -1 with err_set() (a database
 * error; a failing fence command is a failed fence task, not an error). */
int ha_fence_pass(struct ctrl *ctrl);

/* Host is failed now (inside the caller's transaction, lock held):
 * ha_state failed, state down, its VMs unknown, its suspect task ended
 * done, audited host.failed with request_id (may be NULL). 1 when it
 * changed, 0 when the host is already failed or fenced (or absent), -1
 * with err_set(). */
int ha_fail_host(struct store *st, const char *host, const char *why,
		 const char *request_id);

/* A heartbeat of node (inside its transaction, after its domain list
 * was recorded; listed: the list is libvirt's): a suspect host is ok
 * again; a fenced one forgets the evictions it no longer reports and,
 * with none left and a list in hand, is unfenced (directly when nothing
 * was blocklisted, else asked of the next fence pass). 0 or -1. */
int ha_heartbeat(struct ctrl *ctrl, const char *node, bool listed,
		 const char *request_id);

/* Record that host's copy of VM vm_id must go (ha_evictions: node's
 * desired state lists the VM deleted without storage, so its agent
 * destroys and undefines the domain and removes only its own files);
 * a second call for the same pair does nothing. Inside the caller's
 * transaction. 0, or -1 with err_set(). */
int ha_evict(struct store *st, const char *vm_id, const char *host);

/* The /metrics lines of HA (fincloud_hosts_ha{state}, and
 * fincloud_ha_tasks{type,state} over the tasks table) appended to b.
 * 0 or -1. */
int ha_metrics(struct store *st, struct buf *b);

/* The N+1 reserve of pool (pools.ha_reserve 'n+1') as the store has it
 * now (a caller checking a new HA VM writes it first, in its open
 * transaction): *holds and, when it does not, why names the host whose
 * HA VMs would not fit on the pool's other usable hosts (up, ok, not in
 * maintenance; hapolicy.h ha_reserve_check()). A pool without the
 * reserve always holds. 0, or -1 with err_set(). */
int ha_reserve_holds(struct store *st, const char *pool, bool *holds,
		     char *why, size_t whysize);

#endif

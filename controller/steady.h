/*
 * steady.h - hosts in a steady state: a heartbeat that repeats the last
 * one is recorded without being worked through again.
 *
 * A heartbeat is worked through in one write transaction under the
 * controller lock (api_agent.c h_agent_heartbeat()): its domains become
 * the node's report, open and late migrations are settled, each VM's
 * state is compared, orphans and deleted VMs are looked for. With 1,000
 * agents that was 20-30 statements a heartbeat for a list that had not
 * changed, and the lock could not answer the 200 heartbeats a second
 * they send (docs/decisions.md "A thousand agents").
 *
 * After a full pass that left the host with nothing in flight (no open
 * task from or to it, no late migration to settle, no orphan, no domain
 * of another host's VM, none of its VMs reported by another node, no
 * eviction, no deleted VM, HA state ok: report_quiet() in report.h) and
 * whose agent had applied the generation it leaves, the host's row keeps
 * (columns steady_*) a digest of what the heartbeat said (status, whether
 * libvirt listed the domains, each domain's id, name and state), a
 * digest of the usage figures, the generation and the time. A later
 * heartbeat with the same digest, no tasks, no VM errors, no prepared
 * migrations, the host up, not degraded, HA state ok, at that generation
 * and having applied it, and within STEADY_FULL_MS of the full pass, only
 * updates the host's row, inventory and (when their digest changed) the
 * VMs' usage: the full pass would have written nothing else.
 *
 * What can change the outcome without the heartbeat changing bumps the
 * host's generation (a VM placed, stopped, deleted or moved, a conflict
 * flagged by another node's report, a migration settled) or is in the
 * host's row read by every heartbeat (down, degraded, HA state); the
 * node's domain events and its registration clear steady_ms; and every
 * STEADY_FULL_MS a heartbeat is worked through in full whatever it says,
 * so that nothing the list above misses (nor a changed list whose
 * digest collides with the last, one chance in 2^64) waits longer than
 * that. Being in the database, it holds across a controller's restart
 * and between controllers: a fleet failing over to another controller
 * is steady there at once.
 */
#ifndef FC_CTRL_STEADY_H
#define FC_CTRL_STEADY_H

#include "common/fc.h"

/* The longest a host's heartbeats go without a full pass (ms). */
#define STEADY_FULL_MS 60000

/* A host's steady_* columns (digests stored as the signed integers of
 * their bits). */
struct steady_row {
	uint64_t report;  /* steady_report_digest() */
	uint64_t usage;   /* steady_usage_digest() */
	int64_t gen;      /* the host's generation after the full pass */
	int64_t full_ms;  /* when it ran (ms since the epoch; 0: never, or
			     forgotten) */
};

struct report_dom;

/* The digest (64-bit FNV-1a) of what a heartbeat says of node's
 * domains into *out: status and degraded reason, whether the domains are
 * libvirt's list (listed), and each of d's n domains' vm_id, name and
 * state, in vm_id order (libvirt's order of the same domains may
 * change). 0, or -1 when d names a domain twice (its last entry counts,
 * so the order matters: such a heartbeat is never steady) or out of
 * memory. */
int steady_report_digest(const char *status, const char *reason,
			 bool listed, const struct report_dom *d, size_t n,
			 uint64_t *out);

/* The digest of the usage figures of d's n domains (cpu_pct,
 * balloon_mib, disk_bytes), in their order (another order: another
 * digest, and the figures written again). */
uint64_t steady_usage_digest(const struct report_dom *d, size_t n);

/* Whether a heartbeat with digest report may skip the full pass at
 * now_ms (ms since the epoch) given its host's row s: the same digest,
 * the generation gen (read in the heartbeat's transaction; that the
 * agent has applied it is the caller's check) and a full pass less than
 * STEADY_FULL_MS ago (a wall clock stepped back ends it too). */
bool steady_match(const struct steady_row *s, uint64_t report, int64_t gen,
		  int64_t now_ms);

#endif

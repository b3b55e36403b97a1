/*
 * hapolicy.h - the pure decisions of "when a host dies" (ha.h does the
 * I/O): which silent hosts become suspect or failed, with the partition
 * guard, and whether a pool's N+1 reserve holds. No store, no clock:
 * unit-tested (tests/unit/test_hapolicy.c).
 */
#ifndef FC_CTRL_HAPOLICY_H
#define FC_CTRL_HAPOLICY_H

#include "common/fc.h"

/* A host's HA state, as hosts.ha_state stores it. */
enum ha_state { HA_OK, HA_SUSPECT, HA_FAILED, HA_FENCED };
#define HA_NSTATES 4

/* "ok", "suspect", "failed", "fenced"; "?" out of range. */
const char *ha_state_name(enum ha_state s);
/* 0 with *out, or -1 (no err_set()) for a name not listed above. */
int ha_state_parse(const char *name, enum ha_state *out);

/* One host as detection sees it. */
struct ha_seen {
	const char *pool;      /* the pool it belongs to */
	enum ha_state state;
	int64_t last_seen_ms;  /* its last heartbeat (wall clock, ms) */
	bool held;             /* held suspect by the partition guard before
				  (its reason says so) */
};

/* The detection settings (controller.conf): the heartbeat interval in
 * ms and how many intervals of silence make a host suspect (>= 2) and
 * failed (> suspect). */
struct ha_rules {
	int64_t interval_ms;
	int64_t suspect_intervals, fail_intervals;
};

/* What detection decides for one host. */
struct ha_verdict {
	enum ha_state to;  /* its new state (== its state: no change) */
	bool held;         /* failed by silence, but the partition guard
			      holds it suspect */
	char why[256];     /* the reason of a change or of held */
};

/* Detection for the n hosts h at now_ms, into out[n]. Rules:
 *   - failed and fenced hosts stay as they are (they leave through the
 *     fence, or an unfence; never here);
 *   - ok: silent (now - last_seen) for suspect_intervals or more:
 *     suspect; one missed beat never is;
 *   - suspect: heard again within suspect_intervals: ok; silent for
 *     fail_intervals: failed, unless the partition guard holds it
 *     (heartbeat_timeout, the older "down", plays no part: failed may
 *     come first, and marks the host down itself);
 *   - partition guard: the hosts (ok or suspect) silent for
 *     suspect_intervals whose last heartbeats lie within one interval
 *     of this host's are a "silent wave"; when the wave is more than
 *     half of the ok-or-suspect hosts of this host's pool, or of all
 *     hosts, the controller more likely lost the network than they
 *     their lives: the host stays suspect (held, why says so).
 *   - a host the guard held stays held (held, why empty: as said
 *     before) until it heartbeats again, even when the others of its
 *     wave come back first: after a partition of the controller heals
 *     the agents return one by one (their retries back off up to
 *     30 s), and the last ones must not be failed and fenced for it;
 *     only an operator's evacuate fails it.
 * A pool of one host is therefore never failed by silence alone (an
 * operator's evacuate does it). Pure. */
void ha_detect(const struct ha_seen *h, size_t n, int64_t now_ms,
	       const struct ha_rules *r, struct ha_verdict *out);

/* One host's room, for the N+1 reserve: its capacity (vCPUs, MiB, GiB,
 * after the pool's ratios) and what its VMs claim. */
struct ha_room {
	double cap[3];
	double used[3];
};

/* One HA VM: the host index it is on and its claim. */
struct ha_claim {
	size_t host;
	double req[3];
};

/* Whether every host's HA VMs could be restarted on the others at once
 * (the N+1 reserve): for each host, its HA VMs, largest first (by the
 * sum of their claims as shares of the pool's total capacity), each
 * put on the other host with the most free memory that fits all three
 * claims. 0 when it holds for every host; 1 with the first host it
 * fails for in *bad. First-fit is a sufficient test (a fit it finds
 * exists), not a necessary one: it may refuse a set an exact packing
 * would fit. -1 only when out of memory. Pure. */
int ha_reserve_check(const struct ha_room *hosts, size_t nhosts,
		     const struct ha_claim *vms, size_t nvms, size_t *bad);

#endif

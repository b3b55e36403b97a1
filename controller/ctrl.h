/*
 * ctrl.h - the controller's shared state and configuration, and the three
 * mechanisms every part of it shares (ctrl.c):
 *
 * The lock. One struct ctrl lives for the whole daemon. Its lock
 * serialises every use of the store: a request holds it from
 * authentication to its answer (a long-poll heartbeat releases it while it
 * waits for its node; /healthz and /metrics never take it, see route.h).
 * Because placement decisions happen under it and the VM row with its
 * claim is committed before it is released, concurrent creates cannot
 * oversubscribe a host.
 *
 * Durability (group commit, see store.h). A request commits with
 * synchronous=NORMAL under the lock and takes a number from
 * ctrl_committed(); after releasing the lock, ctrl_make_durable() with
 * that number returns once the WAL holding it is on disk. One fdatasync
 * serves every commit numbered before it started, so the lock is never
 * held across a disk flush.
 *
 * Generations and the long-poll. Each host has a generation counter (its
 * row in the store): every change to the host's desired state bumps it in
 * the same transaction (ctrl_bump_generation()), which also wakes the
 * host's agent if it waits in ctrl_wait(). A waiter woken before the
 * transaction commits cannot run before the lock is released, and then
 * reads the committed generation.
 */
#ifndef FC_CTRL_CTRL_H
#define FC_CTRL_CTRL_H

#include <pthread.h>

#include "common/config.h"
#include "common/fc.h"
#include "common/log.h"

#define CTRL_PATH_MAX 1024

struct ctrl_config {
	char listen_address[256];
	int64_t listen_port;
	char database[CTRL_PATH_MAX];
	char state_dir[CTRL_PATH_MAX];
	int64_t heartbeat_timeout_s;
	int64_t heartbeat_interval_s;
	int64_t sample_interval_s;
	int64_t orphan_grace_s;  /* a domain without a VM lives this long */
	int64_t max_body;
	char tls_cert[CTRL_PATH_MAX];
	char tls_key[CTRL_PATH_MAX];
	enum log_level log_level;
};

#define CTRL_DEFAULT_CONFIG "/etc/fincloud/controller.conf"

/* Read the settings from cfg (already loaded, flags applied) into out,
 * refusing unknown keys and bad values: 0, or -1 with err_set() ("file:
 * line: ..."). */
int ctrl_config_from(const struct config *cfg, struct ctrl_config *out);

struct store;

/* Per-route request statistics for /metrics. */
#define CTRL_LAT_BUCKETS 12
extern const double ctrl_lat_bounds[CTRL_LAT_BUCKETS];

struct ctrl_route_stats {
	uint64_t by_class[6];              /* 1xx..5xx by status / 100 */
	uint64_t lat[CTRL_LAT_BUCKETS + 1]; /* last: +Inf */
	double lat_sum;
};

/* A heartbeat waiting for its node's desired state to change (ctrl.c). */
struct ctrl_waiter;

struct anchor;

struct ctrl {
	struct ctrl_config cfg;
	struct store *st;
	struct anchor *anchor; /* the audit head outside the store, or NULL */
	pthread_mutex_t lock;
	struct ctrl_waiter *waiters; /* long-polling heartbeats, under lock */
	struct ctrl_route_stats *stats; /* one per route, under stats_lock */
	pthread_mutex_t stats_lock;
	volatile int stopping;

	/* group commit (see store.h): commit_seq counts commits that must be
	 * durable before their answer (under lock); durable_seq is how far
	 * store_sync_wal() has made them so (under sync_lock). */
	uint64_t commit_seq;
	uint64_t durable_seq;
	bool syncing;
	pthread_mutex_t sync_lock;
	pthread_cond_t synced;
};

/* Initialise the locks of ctrl (the rest of it zeroed by the caller);
 * ctrl_fini() destroys them. */
void ctrl_init(struct ctrl *ctrl);
void ctrl_fini(struct ctrl *ctrl);

/* Ask everything that waits to stop: set stopping and wake every
 * long-poll. Takes the lock itself. */
void ctrl_stop(struct ctrl *ctrl);

/* Count a commit that must be durable before its answer; call with the
 * lock held right after the commit. Returns its number for
 * ctrl_make_durable(). */
uint64_t ctrl_committed(struct ctrl *ctrl);

/* Make commit number seq (from ctrl_committed()) durable; call without
 * the lock. Each sync also brings the audit anchor (anchor.h) up to the
 * head it made durable. 0, or -1 with err_set() when the WAL cannot be
 * synced (an anchor that cannot be written is only logged: the commit
 * stands). */
int ctrl_make_durable(struct ctrl *ctrl, uint64_t seq);

/* Bump host's generation inside the caller's open transaction and wake
 * its long-poll (lock held). 0, or -1 with err_set(). */
int ctrl_bump_generation(struct ctrl *ctrl, const char *host);

/* Host's generation into *gen (lock held): 0, 1 when there is no such
 * host, -1 with err_set(). */
int ctrl_generation(struct ctrl *ctrl, const char *host, int64_t *gen);

/* Wake the long-poll of host, or of every host when host is NULL (lock
 * held). ctrl_bump_generation() does it. */
void ctrl_notify(struct ctrl *ctrl, const char *host);

/* Long-poll for node (lock held, no transaction open): release the lock
 * until ctrl_notify() names node, wait_s seconds pass (on the monotonic
 * clock) or the controller stops, then take it again. The store's
 * statements are reset first, so no read stays open while the lock is
 * released. */
void ctrl_wait(struct ctrl *ctrl, const char *node, int64_t wait_s);

#endif

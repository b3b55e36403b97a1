/*
 * ctrl.h - the controller's shared state and configuration, and the three
 * mechanisms every part of it shares (ctrl.c):
 *
 * The lock. One struct ctrl lives for the whole daemon. Its lock
 * serialises every use of the store: a request holds it from
 * authentication to its answer (a long-poll heartbeat parks and releases
 * it while it waits for its node, see below; /healthz and /metrics never
 * take it, see route.h).
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
 * host's agent if its heartbeat is parked (ctrl_park()). A parked
 * heartbeat holds no thread: its connection is suspended, and the wake
 * (a bump, its deadline on the monotonic clock, ctrl_stop()) resumes it;
 * the resumed request takes the lock again before it reads the
 * generation, so a waiter woken before the transaction commits reads the
 * committed generation. Deadlines are kept by one timer thread
 * (ctrl_init() starts it) over the waiters in deadline order. With
 * several controllers on one PostgreSQL database, the bump also sends a
 * NOTIFY on CTRL_WAKE_CHANNEL in its transaction (delivered at commit),
 * and each controller's listener (wakeup.h) wakes its own waiters of
 * that host.
 */
#ifndef FC_CTRL_CTRL_H
#define FC_CTRL_CTRL_H

#include <pthread.h>

#include "common/config.h"
#include "common/fc.h"
#include "common/log.h"
#include "controller/authlimit.h"

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
	int64_t max_connections;    /* per listening port */
	int64_t per_ip_connections; /* per client address and port */
	int64_t request_timeout_s;  /* a whole request within, see server.h */
	int64_t http_threads;       /* the server's worker threads */
	int64_t agent_listen_port;  /* 0: none (see server.h) */
	int64_t token_ttl_default_s; /* a new token's lifetime; 0: never */
	int64_t token_ttl_max_s;     /* the longest one; 0: no maximum */
	int64_t auth_fail_limit;     /* failures a minute per address */
	int64_t join_token_ttl_s;     /* a new join token's lifetime */
	int64_t join_token_ttl_max_s; /* the longest one a create may ask */
	int64_t vni_min, vni_max;     /* VNIs networks get when not told */
	int64_t image_max_size;      /* bytes of one image upload (image.h) */
	/* seconds an open task of each type (enum task_type order: create,
	 * start, stop, delete, migrate, reboot) may stay open before the
	 * leader fails it as timed out (task.h task_timeout_s()) */
	int64_t task_timeout_s[6];
	/* when a host dies (ha.h): silent this many heartbeat intervals,
	 * it is suspect (at least 2: never on one missed beat); this many,
	 * failed; a fence command's time limit and the wait before a
	 * failed fence is tried again (s) */
	int64_t ha_suspect_intervals, ha_fail_intervals;
	int64_t ha_fence_timeout_s, ha_fence_retry_s;
	char ceph_conf[CTRL_PATH_MAX];    /* "" : ceph's own default */
	char ceph_keyring[CTRL_PATH_MAX]; /* the controller's cephx key */
	char ceph_id[128];                /* its cephx user, no "client." */
	char fence_agents_dir[CTRL_PATH_MAX]; /* hosts' fence_command */
	char tls_cert[CTRL_PATH_MAX];
	char tls_key[CTRL_PATH_MAX];
	char tls_ca[CTRL_PATH_MAX]; /* agents' client certificates; "" none */
	char ui_dir[CTRL_PATH_MAX]; /* the dashboard's files (ui.h) */
	bool require_client_cert;   /* agents' routes need one (peercert.h) */
	bool insecure;              /* plain HTTP off loopback allowed */
	enum log_level log_level;
};

#define CTRL_DEFAULT_CONFIG "/etc/fincloud/controller.conf"

/* Every key of controller.conf, NULL-terminated; each is also a flag of
 * fincloud-controller (the key with '-' for '_'). */
extern const char *const ctrl_config_keys[];

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
	uint64_t db_statements; /* run by its requests (db_statements()) */
	uint64_t locked_statements; /* of those, under the lock */
	uint64_t lock_ns;           /* time its requests held the lock */
};

/* The leader's background passes (jobs.c), for /metrics: how many ran,
 * the statements they ran and how long they held the lock (ns), under
 * stats_lock. */
struct ctrl_pass_stats {
	uint64_t passes, statements, lock_ns;
};

/* A heartbeat parked until its node's desired state changes (ctrl.c). */
struct ctrl_waiter;

struct anchor;
struct console_broker;

/* Called once when a parked heartbeat's wait ends, with the arg given to
 * ctrl_park(); runs on the thread that ended it (a request's, the
 * timer's), with neither lock held, and must not block. */
typedef void (*ctrl_wake_fn)(void *arg);

/* The PostgreSQL channel of generation bumps; each payload is
 * "INSTANCE HOST" (ctrl.instance of the controller that bumped). */
#define CTRL_WAKE_CHANNEL "fincloud_generation"

struct ctrl {
	struct ctrl_config cfg;
	/* this run of the controller: a UUID made by ctrl_init(), so that
	 * its listener skips its own notifications */
	char instance[37];
	struct store *st;
	struct anchor *anchor; /* the audit head outside the store, or NULL */
	struct console_broker *consoles; /* console.h; NULL: no consoles */
	pthread_mutex_t lock;
	/* parked heartbeats in deadline order, and the timer thread that
	 * ends them at their deadline (under wait_lock) */
	struct ctrl_waiter *waiters;
	pthread_mutex_t wait_lock;
	pthread_cond_t wait_cond;   /* on CLOCK_MONOTONIC: the timer sleeps */
	pthread_t timer;
	bool timer_quit;
	struct ctrl_route_stats *stats; /* one per route, under stats_lock */
	struct ctrl_pass_stats passes;  /* under stats_lock */
	struct authlimit authlimit;     /* failed authentication, under lock */
	/* agents' heartbeats worked through in full, and recorded as
	 * steady (steady.h), under lock */
	uint64_t hb_full_total, hb_steady_total;
	pthread_mutex_t stats_lock;
	volatile int stopping;

	/* The reader (on PostgreSQL; NULL on SQLite): a second connection
	 * to the same database that builds the agents' desired states
	 * outside the lock, each in one read-only snapshot
	 * (store_begin_read()), under reader_lock alone, while the lock
	 * serialises the writers on st. With 1,000 agents this answer
	 * was a third of the lock's time (docs/decisions.md "A
	 * thousand agents"). A long-poll woken by a bump takes and
	 * releases the lock before it reads here, so that it reads the
	 * bumping transaction committed. */
	struct store *reader;
	pthread_mutex_t reader_lock;

	/* group commit (see store.h): commit_seq counts commits that must be
	 * durable before their answer (under lock); durable_seq is how far
	 * store_sync_wal() has made them so (under sync_lock). */
	uint64_t commit_seq;
	uint64_t durable_seq;
	bool syncing;
	pthread_mutex_t sync_lock;
	pthread_cond_t synced;
};

/* Initialise the locks of ctrl (the rest of it zeroed by the caller) and
 * start its timer thread: 0, or -1 with err_set() when the thread cannot
 * start (nothing to undo). ctrl_fini() ends every parked heartbeat, stops
 * the timer and destroys the locks. */
int ctrl_init(struct ctrl *ctrl);
void ctrl_fini(struct ctrl *ctrl);

/* Ask everything that waits to stop: set stopping and end every parked
 * heartbeat. Takes the lock itself. */
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
 * its long-poll (lock held); on PostgreSQL also NOTIFY the other
 * controllers (at commit). 0, or -1 with err_set(). */
int ctrl_bump_generation(struct ctrl *ctrl, const char *host);

/* Host's generation into *gen (lock held): 0, 1 when there is no such
 * host, -1 with err_set(). */
int ctrl_generation(struct ctrl *ctrl, const char *host, int64_t *gen);

/* End the parked heartbeats of host, or of every host when host is NULL
 * (lock held). ctrl_bump_generation() does it. */
void ctrl_notify(struct ctrl *ctrl, const char *host);

/* Park a long-poll for node (lock held, so that no bump between the
 * caller's read of the generation and this call is missed): its wait
 * ends when ctrl_notify() names node, wait_s seconds pass (on the
 * monotonic clock) or the controller stops, and then wake(arg) is called
 * once. The waiter is not armed yet: the caller suspends what waits in
 * ctrl_arm(). NULL when there is nothing to wait for (wait_s <= 0, the
 * controller stopping, out of memory): answer at once. The waiter frees
 * itself once it has ended and been armed. */
struct ctrl_waiter *ctrl_park(struct ctrl *ctrl, const char *node,
			      int64_t wait_s, ctrl_wake_fn wake, void *arg);

/* Arm w (from ctrl_park(), with or without the lock): when its wait has
 * already ended, free it and return 1 (answer at once, nothing is
 * suspended); otherwise call suspend(arg) and return 0, and wake(arg)
 * follows when the wait ends, never before suspend(arg) has returned. */
int ctrl_arm(struct ctrl *ctrl, struct ctrl_waiter *w, ctrl_wake_fn suspend);

#endif

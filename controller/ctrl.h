/*
 * ctrl.h - the controller's shared state and configuration.
 *
 * One struct ctrl lives for the whole daemon. Its lock serialises every use
 * of the store: a request holds it from authentication to its answer (a
 * long-poll heartbeat releases it while it waits for its node). Because
 * placement decisions happen under it and the VM row with its claim is
 * committed before it is released, concurrent creates cannot
 * oversubscribe a host.
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
	int64_t max_body;
	char tls_cert[CTRL_PATH_MAX];
	char tls_key[CTRL_PATH_MAX];
	enum log_level log_level;
};

#define CTRL_DEFAULT_CONFIG "/etc/fincloud/controller.conf"

/* Read the settings from cfg (already loaded, flags applied) into out,
 * refusing unknown keys and bad values with "file:line: ..." messages. */
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

/* A heartbeat waiting for its node's desired state to change. */
struct ctrl_waiter {
	const char *node;
	pthread_cond_t cond;
	bool woken;
	struct ctrl_waiter *next;
};

struct ctrl {
	struct ctrl_config cfg;
	struct store *st;
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

/* Make commit number seq durable (api.c). 0, or -1 with err_set(). */
int ctrl_make_durable(struct ctrl *ctrl, uint64_t seq);

#endif

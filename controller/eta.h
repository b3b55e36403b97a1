/*
 * eta.h - utilisation eta = V_used / V_total per pool or host and dimension
 * (vCPU, memory, disk): computed now from the store, sampled into the
 * series (series.h) by the background job, turned into the JSON of
 * GET /v1/pools/{name}/utilization and GET /v1/hosts/{name}/utilization
 * (whose handlers are in api_res.c) and exported by /metrics (pools).
 *
 * Every function here reads the store: the caller holds the controller
 * lock (ctrl.h).
 */
#ifndef FC_CTRL_ETA_H
#define FC_CTRL_ETA_H

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "common/fc.h"

#define ETA_DIMS 3

struct ctrl;
struct series_table;
struct store;

/* "vcpus", "mem_mib", "disk_gib": the dimensions' names in the API. */
extern const char *const eta_dim_names[ETA_DIMS];

/* One pool now. total: physical capacity of its hosts that are up (vCPUs,
 * MiB, GiB); usable: the same times the pool's overcommit ratio, what
 * placement may allocate; alloc: the claims of the VMs on those hosts;
 * used: their measured use (vCPUs busy, MiB ballooned, GiB on disk). */
struct eta_pool {
	double total[ETA_DIMS], usable[ETA_DIMS], alloc[ETA_DIMS],
		used[ETA_DIMS];
	int64_t hosts;  /* hosts up */
	bool found;     /* false: no such pool (everything else 0) */
};

/* part / total, 0 when total is 0. eta_allocated = alloc / usable (1.0 is
 * a full pool, as the scheduler counts it); eta_used = used / total. */
double eta_ratio(double part, double total);

/* Read pool's utilisation into *u. 0 (u->found false when the pool does
 * not exist), or -1 with err_set() when the store fails. */
int eta_pool_now(struct store *st, const char *pool, struct eta_pool *u);

/* Read one host's utilisation into *u: total is its capacity (whatever
 * its state), usable the same times its pool's overcommit ratios, alloc
 * the claims of the VMs placed on it, used their measured use; hosts is
 * 1 when it is up, else 0. 0 (u->found false when the host does not
 * exist), or -1 with err_set() when the store fails. */
int eta_host_now(struct store *st, const char *host, struct eta_pool *u);

/* Take one sample of every pool and of every host that is up into their
 * series (series_pools, series_hosts) in one transaction of its own, and
 * compact both series when compact is true. 0, or -1 with err_set()
 * (nothing recorded). */
int eta_sample_pools(struct ctrl *ctrl, bool compact);

/* The answer of GET /v1/pools/{name}/utilization (kind "pool") or
 * GET /v1/hosts/{name}/utilization (kind "host") for the pool or host name
 * at now (ms since the epoch) from u, but its "series": a new object the
 * caller frees with cJSON_Delete(). */
cJSON *eta_now_json(const char *kind, const char *name, int64_t now,
		    const struct eta_pool *u);

/* Append the samples of key (a pool or host name, per t: series_pools or
 * series_hosts) since since_ms (ms since the epoch; oldest first, at most
 * 5000, each {"time_ms", "resolution_s", "samples", "eta_allocated",
 * "eta_used"}) to the array series. 0, or -1 with err_set() (series may
 * then hold some of them). */
int eta_series_json(struct store *st, const struct series_table *t,
		    const char *key, int64_t since_ms, cJSON *series);

/* Append the fincloud_pool_eta gauge (HELP, TYPE and a line per pool,
 * dimension and kind) to b in the Prometheus text format. 0, or -1 with
 * err_set() when the store fails (b then holds part of it). */
int eta_metrics(struct store *st, struct buf *b);

#endif

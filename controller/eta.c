/* Utilisation eta per pool: now, sampled into the series, as an API
 * answer and as a metric. */
#include <sqlite3.h>

#include "common/err.h"
#include "common/util.h"
#include "controller/api.h"
#include "controller/eta.h"
#include "controller/series.h"
#include "controller/store.h"

const char *const eta_dim_names[ETA_DIMS] = {"vcpus", "mem_mib", "disk_gib"};

double eta_ratio(double part, double total)
{
	return total > 0 ? part / total : 0;
}

/* Run sql for pool, which yields one row, and read its columns first ..
 * first + ETA_DIMS into out. The statement, still on its row (the caller
 * resets it), or NULL with err_set() naming what. */
static sqlite3_stmt *eta_query(struct store *st, const char *sql,
			       const char *pool, int first, double *out,
			       const char *what)
{
	sqlite3_stmt *s = store_stmt(st, sql);

	if (s == NULL)
		goto out;
	store_bind_text(s, 1, pool);
	if (sqlite3_step(s) != SQLITE_ROW) {
		store_err(st, what);
		sqlite3_reset(s);
		s = NULL;
		goto out;
	}
	for (int i = 0; i < ETA_DIMS; i++)
		out[i] = sqlite3_column_double(s, first + i);
out:
	return s;
}

int eta_pool_now(struct store *st, const char *pool, struct eta_pool *u)
{
	double ratio[ETA_DIMS];
	sqlite3_stmt *s;
	int rc, ret = -1;

	memset(u, 0, sizeof(*u));
	s = store_stmt(st, "SELECT ratio_vcpus, ratio_mem, ratio_disk FROM "
			   "pools WHERE name = ?");
	if (s == NULL)
		goto out;
	store_bind_text(s, 1, pool);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		ret = 0;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		store_err(st, "reading the pool's overcommit ratios");
		goto out;
	}
	u->found = true;
	for (int i = 0; i < ETA_DIMS; i++)
		ratio[i] = sqlite3_column_double(s, i);
	sqlite3_reset(s);
	s = eta_query(st, "SELECT count(*), total(vcpus), total(mem_mib), "
			  "total(disk_gib) FROM hosts WHERE pool = ? AND "
			  "state = 'up'", pool, 1, u->total,
		      "reading pool capacity");
	if (s == NULL)
		goto out;
	u->hosts = sqlite3_column_int64(s, 0);
	for (int i = 0; i < ETA_DIMS; i++)
		u->usable[i] = u->total[i] * ratio[i];
	sqlite3_reset(s);
	s = eta_query(st, "SELECT total(v.vcpus), total(v.mem_mib), "
			  "total(v.disk_gib), total(v.cpu_pct) / 100.0, "
			  "total(v.balloon_mib), "
			  "total(v.disk_alloc_bytes) / 1073741824.0 "
			  "FROM vms v JOIN hosts h ON h.name = v.host "
			  "WHERE h.pool = ? AND h.state = 'up'", pool, 0,
		      u->alloc, "reading pool allocation");
	if (s == NULL)
		goto out;
	for (int i = 0; i < ETA_DIMS; i++)
		u->used[i] = sqlite3_column_double(s, ETA_DIMS + i);
	ret = 0;
out:
	if (s)
		sqlite3_reset(s);
	return ret;
}

void h_pool_util(struct api_ctx *c)
{
	const char *pool = c->m->params[0], *since_q = api_query(c, "since");
	int64_t now = time_wall_ms(), since = now - 3600 * 1000LL;
	struct eta_pool u;
	cJSON *o = NULL, *dims, *series;
	sqlite3_stmt *s;
	int rc;

	if (since_q && parse_int64(since_q, &since) < 0) {
		api_err(c, 400, "invalid_query", "since",
			"query parameter 'since' must be a time in ms since "
			"the epoch");
		goto out;
	}
	if (eta_pool_now(c->ctrl->st, pool, &u) < 0) {
		api_err_internal(c, "computing utilisation");
		goto out;
	}
	if (!u.found) {
		api_err(c, 404, "not_found", NULL, "pool '%s' does not exist",
			pool);
		goto out;
	}
	s = api_stmt(c, "SELECT level, time_ms, n, v0, v1, v2, v3, v4, v5 FROM "
		    "util_samples WHERE pool = ? AND time_ms >= ? ORDER BY "
		    "time_ms, level DESC LIMIT 5000");
	if (s == NULL)
		goto out;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "pool", pool);
	cJSON_AddNumberToObject(o, "time_ms", (double)now);
	cJSON_AddNumberToObject(o, "hosts", (double)u.hosts);
	dims = cJSON_AddObjectToObject(o, "dimensions");
	for (int i = 0; i < ETA_DIMS; i++) {
		cJSON *d = cJSON_AddObjectToObject(dims, eta_dim_names[i]);

		cJSON_AddNumberToObject(d, "total", u.total[i]);
		cJSON_AddNumberToObject(d, "usable", u.usable[i]);
		cJSON_AddNumberToObject(d, "allocated", u.alloc[i]);
		cJSON_AddNumberToObject(d, "used", u.used[i]);
		cJSON_AddNumberToObject(d, "eta_allocated",
					eta_ratio(u.alloc[i], u.usable[i]));
		cJSON_AddNumberToObject(d, "eta_used",
					eta_ratio(u.used[i], u.total[i]));
	}
	series = cJSON_AddArrayToObject(o, "series");
	store_bind_text(s, 1, pool);
	sqlite3_bind_int64(s, 2, since);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		cJSON *p = cJSON_CreateObject(), *ea, *eu;
		int level = sqlite3_column_int(s, 0);

		cJSON_AddNumberToObject(p, "time_ms",
					(double)sqlite3_column_int64(s, 1));
		cJSON_AddNumberToObject(p, "resolution_s",
					level >= 0 && level < SERIES_LEVELS
						? (double)series_levels[level].width_ms / 1000
						: 0);
		cJSON_AddNumberToObject(p, "samples",
					(double)sqlite3_column_int64(s, 2));
		ea = cJSON_AddObjectToObject(p, "eta_allocated");
		eu = cJSON_AddObjectToObject(p, "eta_used");
		for (int i = 0; i < ETA_DIMS; i++) {
			cJSON_AddNumberToObject(ea, eta_dim_names[i],
						sqlite3_column_double(s, 3 + i));
			cJSON_AddNumberToObject(eu, eta_dim_names[i],
						sqlite3_column_double(s, 6 + i));
		}
		cJSON_AddItemToArray(series, p);
	}
	if (rc != SQLITE_DONE) {
		store_err(c->ctrl->st, "reading the utilisation series");
		api_err_internal(c, "reading the utilisation series");
		goto out;
	}
	api_ok(c, 200, o);
	o = NULL;
out:
	cJSON_Delete(o);
}

/* The names of every pool, sorted: *out[0..*n) (free each and the array,
 * also after an error). 0, or -1 with err_set(). */
static int eta_pool_names(struct store *st, char ***out, size_t *n)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT name FROM pools ORDER BY name");
	int rc = SQLITE_ERROR, ret = -1;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		char **p = realloc(*out, (*n + 1) * sizeof(**out));

		if (p)
			*out = p;
		if (p == NULL || (p[*n] = strdup(store_col_text(s, 0))) == NULL) {
			err_set("listing the pools: out of memory");
			goto out;
		}
		(*n)++;
	}
	if (rc == SQLITE_DONE)
		ret = 0;
	else
		store_err(st, "listing the pools");
out:
	if (s)
		sqlite3_reset(s);
	return ret;
}

static void eta_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int eta_sample_pools(struct ctrl *ctrl, bool compact)
{
	struct store *st = ctrl->st;
	char **pools;
	size_t n;
	int ret = -1;
	int64_t now = time_wall_ms();

	if (eta_pool_names(st, &pools, &n) < 0)
		goto out;
	if (store_begin(st, false) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct series_sample smp = {.time_ms = now, .n = 1};
		struct eta_pool u;

		if (eta_pool_now(st, pools[i], &u) < 0)
			goto rollback;
		for (int d = 0; d < ETA_DIMS; d++) {
			smp.v[d] = eta_ratio(u.alloc[d], u.usable[d]);
			smp.v[ETA_DIMS + d] = eta_ratio(u.used[d], u.total[d]);
		}
		if (series_add(st, pools[i], &smp) < 0)
			goto rollback;
	}
	if (compact && series_compact(st, now) < 0)
		goto rollback;
	if (store_commit(st) < 0)
		goto out;
	ret = 0;
	goto out;
rollback:
	store_rollback(st);
out:
	eta_names_free(pools, n);
	return ret;
}

int eta_metrics(struct store *st, struct buf *b)
{
	char **pools;
	size_t n;
	int ret = -1;

	buf_puts(b, "# HELP fincloud_pool_eta Utilisation eta = V_used / "
		    "V_total per pool and dimension (allocated claims over the "
		    "usable capacity, capacity x overcommit ratio, or measured "
		    "use over the physical capacity, of hosts that are up).\n"
		    "# TYPE fincloud_pool_eta gauge\n");
	if (eta_pool_names(st, &pools, &n) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct eta_pool u;

		if (eta_pool_now(st, pools[i], &u) < 0)
			goto out;
		for (int d = 0; d < ETA_DIMS; d++) {
			buf_printf(b, "fincloud_pool_eta{pool=\"%s\",dimension="
				      "\"%s\",kind=\"allocated\"} %.6f\n",
				   pools[i], eta_dim_names[d],
				   eta_ratio(u.alloc[d], u.usable[d]));
			buf_printf(b, "fincloud_pool_eta{pool=\"%s\",dimension="
				      "\"%s\",kind=\"used\"} %.6f\n",
				   pools[i], eta_dim_names[d],
				   eta_ratio(u.used[d], u.total[d]));
		}
	}
	ret = 0;
out:
	eta_names_free(pools, n);
	return ret;
}

/* Utilisation eta per pool and per host: now, sampled into the series, as the JSON of
 * an API answer and as a metric. */
#include <cjson/cJSON.h>

#include "common/err.h"
#include "common/util.h"
#include "controller/ctrl.h"
#include "controller/db.h"
#include "controller/eta.h"
#include "controller/series.h"
#include "controller/store.h"

const char *const eta_dim_names[ETA_DIMS] = {"vcpus", "mem_mib", "disk_gib"};

double eta_ratio(double part, double total)
{
	return total > 0 ? part / total : 0;
}

/* Read into *u what cap (a literal: hosts up, capacity x3, ratios x3 of
 * the one row named ?1, no row when there is none) and alloc (a literal:
 * claims x3 and use x3, one row) answer for name; cap_what and alloc_what
 * name the steps in errors. 0 (u->found false when cap has no row), or -1
 * with err_set(). */
static int eta_read(struct store *st, const char *name, const char *cap,
		    const char *cap_what, const char *alloc,
		    const char *alloc_what, struct eta_pool *u)
{
	struct db_stmt *s;
	int rc;

	memset(u, 0, sizeof(*u));
	rc = store_find(st, cap, name, &s, cap_what);
	if (rc <= 0)
		goto out;
	u->found = true;
	u->hosts = db_col_int64(s, 0);
	for (int i = 0; i < ETA_DIMS; i++) {
		u->total[i] = db_col_double(s, 1 + i);
		u->usable[i] = u->total[i] * db_col_double(s, 4 + i);
	}
	db_reset(s);
	rc = store_find(st, alloc, name, &s, alloc_what);
	if (rc <= 0)
		goto out;
	for (int i = 0; i < ETA_DIMS; i++) {
		u->alloc[i] = db_col_double(s, i);
		u->used[i] = db_col_double(s, ETA_DIMS + i);
	}
	db_reset(s);
out:
	return rc < 0 ? -1 : 0;
}

int eta_pool_now(struct store *st, const char *pool, struct eta_pool *u)
{
	return eta_read(st, pool,
			"SELECT count(h.name), total(h.vcpus), "
			"total(h.mem_mib), total(h.disk_gib), p.ratio_vcpus, "
			"p.ratio_mem, p.ratio_disk FROM pools p LEFT JOIN "
			"hosts h ON h.pool = p.name AND h.state = 'up' "
			"WHERE p.name = ?1 GROUP BY p.name",
			"reading pool capacity",
			"SELECT total(v.vcpus), total(v.mem_mib), "
			"total(v.disk_gib), total(v.cpu_pct) / 100.0, "
			"total(v.balloon_mib), "
			"total(v.disk_alloc_bytes) / 1073741824.0 "
			"FROM vms v JOIN hosts h ON h.name = v.host "
			"WHERE h.pool = ?1 AND h.state = 'up'",
			"reading pool allocation", u);
}

/* Hosts with their capacity, ratios, claims and use, one row each:
 * name, up (1 or 0), capacity x3, ratios x3, claims x3, use x3 (read by
 * host_row()); where: the literal condition on h. */
#define ETA_SQL_HOSTS(where)                                                  \
	"SELECT h.name, CASE WHEN h.state = 'up' THEN 1 ELSE 0 END, "        \
	"h.vcpus, h.mem_mib, h.disk_gib, p.ratio_vcpus, p.ratio_mem, "        \
	"p.ratio_disk, total(v.vcpus), total(v.mem_mib), total(v.disk_gib), " \
	"total(v.cpu_pct) / 100.0, total(v.balloon_mib), "                    \
	"total(v.disk_alloc_bytes) / 1073741824.0 FROM hosts h JOIN pools p " \
	"ON p.name = h.pool LEFT JOIN vms v ON v.host = h.name WHERE " where  \
	" GROUP BY h.name, h.state, h.vcpus, h.mem_mib, h.disk_gib, "         \
	"p.ratio_vcpus, p.ratio_mem, p.ratio_disk ORDER BY h.name"

/* The host of the current row of an ETA_SQL_HOSTS statement. */
static struct eta_pool host_row(struct db_stmt *s)
{
	struct eta_pool u = {.found = true, .hosts = db_col_int64(s, 1)};

	for (int i = 0; i < ETA_DIMS; i++) {
		u.total[i] = db_col_double(s, 2 + i);
		u.usable[i] = u.total[i] * db_col_double(s, 5 + i);
		u.alloc[i] = db_col_double(s, 8 + i);
		u.used[i] = db_col_double(s, 8 + ETA_DIMS + i);
	}
	return u;
}

int eta_host_now(struct store *st, const char *host, struct eta_pool *u)
{
	struct db_stmt *s;
	int rc = store_find(st, ETA_SQL_HOSTS("h.name = ?"), host, &s,
			    "reading a host's capacity and allocation");

	memset(u, 0, sizeof(*u));
	if (rc > 0) {
		*u = host_row(s);
		db_reset(s);
	}
	return rc < 0 ? -1 : 0;
}

cJSON *eta_now_json(const char *kind, const char *name, int64_t now,
		    const struct eta_pool *u)
{
	cJSON *o = cJSON_CreateObject(), *dims;

	cJSON_AddStringToObject(o, kind, name);
	cJSON_AddNumberToObject(o, "time_ms", (double)now);
	cJSON_AddNumberToObject(o, "hosts", (double)u->hosts);
	dims = cJSON_AddObjectToObject(o, "dimensions");
	for (int i = 0; i < ETA_DIMS; i++) {
		cJSON *d = cJSON_AddObjectToObject(dims, eta_dim_names[i]);

		cJSON_AddNumberToObject(d, "total", u->total[i]);
		cJSON_AddNumberToObject(d, "usable", u->usable[i]);
		cJSON_AddNumberToObject(d, "allocated", u->alloc[i]);
		cJSON_AddNumberToObject(d, "used", u->used[i]);
		cJSON_AddNumberToObject(d, "eta_allocated",
					eta_ratio(u->alloc[i], u->usable[i]));
		cJSON_AddNumberToObject(d, "eta_used",
					eta_ratio(u->used[i], u->total[i]));
	}
	return o;
}

int eta_series_json(struct store *st, const struct series_table *t,
		    const char *key, int64_t since_ms, cJSON *series)
{
	struct db_stmt *s = store_stmt(st, t->read);
	int rc = DB_ERROR;

	if (s) {
		store_bind_text(s, 1, key);
		db_bind_int64(s, 2, since_ms);
	}
	while (s && (rc = db_step(s)) == DB_ROW) {
		cJSON *p = cJSON_CreateObject(), *ea, *eu;
		int level = db_col_int(s, 0);

		cJSON_AddNumberToObject(p, "time_ms",
					(double)db_col_int64(s, 1));
		cJSON_AddNumberToObject(p, "resolution_s",
					level >= 0 && level < SERIES_LEVELS
						? (double)series_levels[level].width_ms / 1000
						: 0);
		cJSON_AddNumberToObject(p, "samples",
					(double)db_col_int64(s, 2));
		ea = cJSON_AddObjectToObject(p, "eta_allocated");
		eu = cJSON_AddObjectToObject(p, "eta_used");
		for (int i = 0; i < ETA_DIMS; i++) {
			cJSON_AddNumberToObject(ea, eta_dim_names[i],
						db_col_double(s, 3 + i));
			cJSON_AddNumberToObject(eu, eta_dim_names[i],
						db_col_double(s, 6 + i));
		}
		cJSON_AddItemToArray(series, p);
	}
	if (s && rc != DB_DONE)
		store_err(st, "reading the utilisation series");
	return rc == DB_DONE ? 0 : -1;
}

/* The names sql (a literal selecting one name column) answers, in its
 * order: *out[0..*n) (free each and the array, also after an error); what
 * names the step in errors ("listing the pools"). 0, or -1 with err_set(). */
static int eta_names(struct store *st, const char *sql, const char *what,
		     char ***out, size_t *n)
{
	struct db_stmt *s = store_stmt(st, sql);
	int rc = DB_ERROR, ret = -1;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		goto out;
	while ((rc = db_step(s)) == DB_ROW) {
		char **p = realloc(*out, (*n + 1) * sizeof(**out));

		if (p)
			*out = p;
		if (p == NULL || (p[*n] = strdup(store_col_text(s, 0))) == NULL) {
			err_set("%s: out of memory", what);
			goto out;
		}
		(*n)++;
	}
	if (rc == DB_DONE)
		ret = 0;
	else
		store_err(st, what);
out:
	if (s)
		db_reset(s);
	return ret;
}

/* The names of every pool, sorted (as eta_names()). */
static int eta_pool_names(struct store *st, char ***out, size_t *n)
{
	return eta_names(st, "SELECT name FROM pools ORDER BY name",
			 "listing the pools",
			 out, n);
}

static void eta_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The sample of u (allocated and used eta per dimension) at now. */
static struct series_sample eta_sample_of(const struct eta_pool *u,
					  int64_t now)
{
	struct series_sample smp = {.time_ms = now, .n = 1};

	for (int d = 0; d < ETA_DIMS; d++) {
		smp.v[d] = eta_ratio(u->alloc[d], u->usable[d]);
		smp.v[ETA_DIMS + d] = eta_ratio(u->used[d], u->total[d]);
	}
	return smp;
}

/* Add a sample now of each pool of names[0..n) to its series, inside
 * the caller's transaction. 0, or -1 with err_set(). */
static int eta_sample_pool_list(struct store *st, char **names, size_t n,
				int64_t now)
{
	struct series_row *rows = calloc(n + 1, sizeof(*rows));
	int ret = -1;

	if (rows == NULL)
		return err_set("out of memory");
	for (size_t i = 0; i < n; i++) {
		struct eta_pool u;

		if (eta_pool_now(st, names[i], &u) < 0)
			goto out;
		rows[i] = (struct series_row){names[i], 0,
					      eta_sample_of(&u, now)};
	}
	ret = series_put_many(st, &series_pools, rows, n);
out:
	free(rows);
	return ret;
}

/* Add a sample now of every host that is up to its series, inside the
 * caller's transaction, in a few statements however many hosts there
 * are (series_put_many()). 0, or -1 with err_set(). */
static int eta_sample_hosts(struct store *st, int64_t now)
{
	struct db_stmt *s = store_stmt(st, ETA_SQL_HOSTS("h.state = 'up'"));
	struct series_row *rows = NULL;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = DB_ERROR, ret = -1;

	if (s == NULL)
		return -1;
	while ((rc = db_step(s)) == DB_ROW) {
		struct eta_pool u = host_row(s);

		if (n == cap) {
			size_t c = cap ? 2 * cap : 256;
			struct series_row *r = realloc(rows, c * sizeof(*r));
			char **nm = r ? realloc(names, c * sizeof(*nm)) : NULL;

			if (r)
				rows = r;
			if (nm)
				names = nm;
			if (r == NULL || nm == NULL) {
				rc = DB_NOMEM;
				break;
			}
			cap = c;
		}
		if ((names[n] = strdup(store_col_text(s, 0))) == NULL) {
			rc = DB_NOMEM;
			break;
		}
		rows[n] = (struct series_row){names[n], 0,
					      eta_sample_of(&u, now)};
		n++;
	}
	db_reset(s);
	if (rc == DB_DONE)
		ret = series_put_many(st, &series_hosts, rows, n);
	else if (rc == DB_NOMEM)
		err_set("sampling the hosts: out of memory");
	else
		store_err(st, "reading the hosts' utilisation");
	strv_free(names, n);
	free(rows);
	return ret;
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
	if (eta_sample_pool_list(st, pools, n, now) < 0 ||
	    eta_sample_hosts(st, now) < 0)
		goto rollback;
	if (compact && (series_compact(st, &series_pools, now) < 0 ||
			series_compact(st, &series_hosts, now) < 0))
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

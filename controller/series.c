#include "common/err.h"
#include "common/util.h"
#include "controller/db.h"
#include "controller/series.h"
#include "controller/store.h"

/* The SQL of one table whose key column is key: string literals, so that
 * store_stmt() caches each statement by its pointer. */
#define SERIES_TABLE(table, key)                                              \
	{                                                                     \
		.find = "SELECT n, v0, v1, v2, v3, v4, v5 FROM " table        \
			" WHERE " key " = ? AND level = ? AND time_ms = ?",   \
		.put = "INSERT INTO " table "(" key ", level, "               \
		       "time_ms, n, v0, v1, v2, v3, v4, v5) "                 \
		       "VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(" key ", "   \
		       "level, time_ms) DO UPDATE SET n = excluded.n, "       \
		       "v0 = excluded.v0, v1 = excluded.v1, v2 = "            \
		       "excluded.v2, v3 = excluded.v3, v4 = excluded.v4, "    \
		       "v5 = excluded.v5",                                    \
		.drop = "DELETE FROM " table " WHERE "                        \
			"level = ? AND time_ms < ?",                          \
		.scan = "SELECT " key ", time_ms, n, v0, v1, v2, v3, v4, v5 " \
			"FROM " table " WHERE level = ? AND time_ms < ? "     \
			"ORDER BY " key ", time_ms",                          \
		.read = "SELECT level, time_ms, n, v0, v1, v2, "              \
			"v3, v4, v5 FROM " table " WHERE " key " = ? AND "    \
			"time_ms >= ? ORDER BY time_ms, level DESC LIMIT 5000" \
	}

const struct series_table series_pools = SERIES_TABLE("util_samples", "pool");
const struct series_table series_hosts =
	SERIES_TABLE("host_util_samples", "host");

const struct series_level series_levels[SERIES_LEVELS] = {
	{0, 3600 * 1000LL},
	{60 * 1000LL, 24 * 3600 * 1000LL},
	{3600 * 1000LL, 30 * 24 * 3600 * 1000LL},
};

int64_t series_bucket(int64_t t, int64_t width_ms)
{
	int64_t q;

	if (width_ms <= 0)
		return t;
	q = t / width_ms;
	if (t % width_ms != 0 && t < 0)
		q--;
	return q * width_ms;
}

void series_merge(struct series_sample *a, const struct series_sample *b)
{
	int64_t n = a->n + b->n;

	if (n <= 0)
		return;
	for (int i = 0; i < SERIES_VALUES; i++)
		a->v[i] = (a->v[i] * (double)a->n + b->v[i] * (double)b->n) /
			  (double)n;
	a->n = n;
}

size_t series_downsample(const struct series_sample *in, size_t n,
			 int64_t width_ms, struct series_sample *out)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		int64_t b = series_bucket(in[i].time_ms, width_ms);

		if (m > 0 && out[m - 1].time_ms == b) {
			series_merge(&out[m - 1], &in[i]);
			continue;
		}
		out[m] = in[i];
		out[m].time_ms = b;
		if (out[m].n <= 0)
			out[m].n = 1;
		m++;
	}
	return m;
}

static int series_put(struct store *st, const struct series_table *t,
		      const char *key, int level, const struct series_sample *s)
{
	struct db_stmt *q;
	struct series_sample cur = *s;
	int rc;

	/* merge with a bucket already at that level */
	q = store_stmt(st, t->find);
	if (q == NULL)
		return -1;
	store_bind_text(q, 1, key);
	db_bind_int64(q, 2, level);
	db_bind_int64(q, 3, s->time_ms);
	rc = store_row(st, q, "reading a utilisation sample");
	if (rc < 0)
		return -1;
	if (rc > 0) {
		struct series_sample old = {.time_ms = s->time_ms};

		old.n = db_col_int64(q, 0);
		for (int i = 0; i < SERIES_VALUES; i++)
			old.v[i] = db_col_double(q, 1 + i);
		series_merge(&old, &cur);
		cur = old;
		db_reset(q);
	}
	q = store_stmt(st, t->put);
	if (q == NULL)
		return -1;
	store_bind_text(q, 1, key);
	db_bind_int64(q, 2, level);
	db_bind_int64(q, 3, cur.time_ms);
	db_bind_int64(q, 4, cur.n);
	for (int i = 0; i < SERIES_VALUES; i++)
		db_bind_double(q, 5 + i, cur.v[i]);
	if (store_done(st, q, "writing a utilisation sample") < 0)
		return -1;
	return 0;
}

int series_add(struct store *st, const struct series_table *t,
	       const char *key, const struct series_sample *s)
{
	return series_put(st, t, key, 0, s);
}

/* Drop the samples of level older than cutoff; what names the step in
 * the error. */
static int series_drop(struct store *st, const struct series_table *t,
		       int level, int64_t cutoff, const char *what)
{
	struct db_stmt *q = store_stmt(st, t->drop);

	if (q == NULL)
		return -1;
	db_bind_int64(q, 1, level);
	db_bind_int64(q, 2, cutoff);
	return store_done(st, q, what);
}

/* Roll the samples of level (not the last) older than cutoff up into the
 * buckets of the next level, one key (pool, host) at a time, and drop
 * them. */
static int series_roll_up(struct store *st, const struct series_table *t,
			  int level, int64_t cutoff)
{
	struct series_sample *in = NULL, *out = NULL;
	size_t n = 0, alloc = 0;
	char **keys = NULL; /* keys[i] is the key of in[i] */
	struct db_stmt *q;
	int ret = -1, rc;

	q = store_stmt(st, t->scan);
	if (q == NULL)
		return -1;
	db_bind_int64(q, 1, level);
	db_bind_int64(q, 2, cutoff);
	while ((rc = db_step(q)) == DB_ROW) {
		if (n == alloc) {
			size_t na = alloc ? 2 * alloc : 64;
			void *p = realloc(in, na * sizeof(*in));
			void *pp = realloc(keys, na * sizeof(*keys));

			if (p)
				in = p;
			if (pp)
				keys = pp;
			if (p == NULL || pp == NULL) {
				err_set("out of memory");
				db_reset(q);
				goto out;
			}
			alloc = na;
		}
		keys[n] = strdup(store_col_text(q, 0));
		if (keys[n] == NULL) {
			err_set("out of memory");
			db_reset(q);
			goto out;
		}
		in[n].time_ms = db_col_int64(q, 1);
		in[n].n = db_col_int64(q, 2);
		for (int i = 0; i < SERIES_VALUES; i++)
			in[n].v[i] = db_col_double(q, 3 + i);
		n++;
	}
	if (rc != DB_DONE)
		store_err(st, "reading utilisation samples");
	db_reset(q);
	if (rc != DB_DONE)
		goto out;
	if (n > 0) {
		out = malloc(n * sizeof(*out));
		if (out == NULL) {
			err_set("out of memory");
			goto out;
		}
		/* one key at a time: runs of equal names */
		for (size_t a = 0; a < n;) {
			size_t b = a, m;

			while (b < n && strcmp(keys[a], keys[b]) == 0)
				b++;
			m = series_downsample(in + a, b - a,
					      series_levels[level + 1].width_ms,
					      out);
			for (size_t k = 0; k < m; k++)
				if (series_put(st, t, keys[a], level + 1,
					       &out[k]) < 0)
					goto out;
			a = b;
		}
		if (series_drop(st, t, level, cutoff,
				"compacting samples") < 0)
			goto out;
	}
	ret = 0;
out:
	strv_free(keys, n);
	free(in);
	free(out);
	return ret;
}

int series_compact(struct store *st, const struct series_table *t,
		   int64_t now_ms)
{
	for (int level = 0; level < SERIES_LEVELS; level++) {
		int64_t cutoff = now_ms - series_levels[level].retention_ms;
		int r = level == SERIES_LEVELS - 1
				? series_drop(st, t, level, cutoff,
					      "dropping old samples")
				: series_roll_up(st, t, level, cutoff);

		if (r < 0)
			return -1;
	}
	return 0;
}

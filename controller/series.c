#include "common/err.h"
#include "common/util.h"
#include "controller/db.h"
#include "controller/series.h"
#include "controller/store.h"

/* One row of a put: key, level, time_ms, n, v0..v5. */
#define SERIES_ROW "(?,?,?,?,?,?,?,?,?,?)"
#define SERIES_ROW4 SERIES_ROW "," SERIES_ROW "," SERIES_ROW "," SERIES_ROW
#define SERIES_ROW16 SERIES_ROW4 "," SERIES_ROW4 "," SERIES_ROW4 "," SERIES_ROW4
#define SERIES_ROW64 SERIES_ROW16 "," SERIES_ROW16 "," SERIES_ROW16 "," \
	SERIES_ROW16
/* Value v of a bucket already in table merged with the new one: the
 * n-weighted mean, as series_merge() (the old row as it is when the
 * counts add up to none) */
#define SERIES_MERGE(table, v)                                                \
	v " = CASE WHEN " table ".n + excluded.n > 0 THEN (" table "." v      \
	" * " table ".n + excluded." v " * excluded.n) / (" table ".n + "     \
	"excluded.n) ELSE " table "." v " END"
/* Insert rows (a literal of SERIES_ROWs) into table, each merged with a
 * bucket already at its key, level and time. */
#define SERIES_PUT(table, key, rows)                                          \
	"INSERT INTO " table "(" key ", level, time_ms, n, v0, v1, v2, v3, "  \
	"v4, v5) VALUES " rows " ON CONFLICT(" key ", level, time_ms) DO "    \
	"UPDATE SET " SERIES_MERGE(table, "v0") ", " SERIES_MERGE(table, "v1") \
	", " SERIES_MERGE(table, "v2") ", " SERIES_MERGE(table, "v3") ", "    \
	SERIES_MERGE(table, "v4") ", " SERIES_MERGE(table, "v5") ", n = CASE " \
	"WHEN " table ".n + excluded.n > 0 THEN " table ".n + excluded.n "    \
	"ELSE " table ".n END"

/* The SQL of one table whose key column is key: string literals, so that
 * store_stmt() caches each statement by its pointer. */
#define SERIES_TABLE(table, key)                                              \
	{                                                                     \
		.put = {SERIES_PUT(table, key, SERIES_ROW64),                 \
			SERIES_PUT(table, key, SERIES_ROW16),                 \
			SERIES_PUT(table, key, SERIES_ROW4),                  \
			SERIES_PUT(table, key, SERIES_ROW)},                  \
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

/* Rows per statement of series_table.put[i]. */
static const size_t put_rows[SERIES_PUTS] = {64, 16, 4, 1};

int series_put_many(struct store *st, const struct series_table *t,
		    const struct series_row *rows, size_t n)
{
	size_t i = 0;

	for (int p = 0; p < SERIES_PUTS; p++) {
		for (; n - i >= put_rows[p]; i += put_rows[p]) {
			struct db_stmt *q = store_stmt(st, t->put[p]);

			if (q == NULL)
				return -1;
			for (size_t k = 0; k < put_rows[p]; k++) {
				const struct series_row *r = &rows[i + k];
				int b = 1 + 10 * (int)k;

				store_bind_text(q, b, r->key);
				db_bind_int64(q, b + 1, r->level);
				db_bind_int64(q, b + 2, r->s.time_ms);
				db_bind_int64(q, b + 3, r->s.n);
				for (int v = 0; v < SERIES_VALUES; v++)
					db_bind_double(q, b + 4 + v, r->s.v[v]);
			}
			if (store_done(st, q, "writing utilisation samples") < 0)
				return -1;
		}
	}
	return 0;
}

int series_add(struct store *st, const struct series_table *t,
	       const char *key, const struct series_sample *s)
{
	struct series_row r = {.key = key, .level = 0, .s = *s};

	return series_put_many(st, t, &r, 1);
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
	struct series_row *rows = NULL;
	size_t n = 0, alloc = 0, nout = 0;
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
		rows = malloc(n * sizeof(*rows));
		if (out == NULL || rows == NULL) {
			err_set("out of memory");
			goto out;
		}
		/* one key at a time: runs of equal names, each into
		 * distinct buckets of its own; all written at once */
		for (size_t a = 0; a < n;) {
			size_t b = a, m;

			while (b < n && strcmp(keys[a], keys[b]) == 0)
				b++;
			m = series_downsample(in + a, b - a,
					      series_levels[level + 1].width_ms,
					      out + nout);
			for (size_t k = 0; k < m; k++) {
				rows[nout + k].key = keys[a];
				rows[nout + k].level = level + 1;
				rows[nout + k].s = out[nout + k];
			}
			nout += m;
			a = b;
		}
		if (series_put_many(st, t, rows, nout) < 0)
			goto out;
		if (series_drop(st, t, level, cutoff,
				"compacting samples") < 0)
			goto out;
	}
	ret = 0;
out:
	strv_free(keys, n);
	free(in);
	free(out);
	free(rows);
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

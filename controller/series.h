/*
 * series.h - utilisation samples per pool, with retention and
 * downsampling so the table stays bounded.
 *
 * A sample holds SERIES_VALUES numbers (allocated and used eta for vCPU,
 * memory and disk). Raw samples (level 0) are kept for an hour; older ones
 * are averaged into one-minute buckets (level 1) kept for a day, then into
 * one-hour buckets (level 2) kept for 30 days, then dropped. With a sample
 * every 10 s that is at most 360 + 1440 + 720 rows per pool or host.
 *
 * Two tables hold series: util_samples per pool and host_util_samples per
 * host; a struct series_table names the one a call works on.
 */
#ifndef FC_CTRL_SERIES_H
#define FC_CTRL_SERIES_H

#include "common/fc.h"

#define SERIES_VALUES 6
#define SERIES_LEVELS 3

struct series_sample {
	int64_t time_ms; /* start of the bucket (raw: when taken) */
	int64_t n;       /* raw samples averaged into this one */
	double v[SERIES_VALUES];
};

struct series_level {
	int64_t width_ms;     /* bucket width (0: raw) */
	int64_t retention_ms; /* kept this long, then moved down a level */
};

extern const struct series_level series_levels[SERIES_LEVELS];

/* Start of the width_ms bucket holding t (floor, also for t < 0). */
int64_t series_bucket(int64_t t, int64_t width_ms);

/* Pure: merge in[0..n) (sorted by time) into buckets of width_ms, each the
 * n-weighted mean of its members. out must hold n entries; returns how
 * many it wrote. */
size_t series_downsample(const struct series_sample *in, size_t n,
			 int64_t width_ms, struct series_sample *out);

/* Pure: fold b into a (n-weighted mean; a keeps its time). */
void series_merge(struct series_sample *a, const struct series_sample *b);

/* Statements of a put: of 64, 16, 4 and 1 rows. */
#define SERIES_PUTS 4

/* The SQL (string literals, static) of the statements on one table of
 * series, keyed by a name (pool or host). put[i]: insert rows of (key,
 * level, time_ms, n, v0..v5), 64, 16, 4 or 1 of them, each merged with a
 * bucket already at its (key, level, time_ms) as series_merge() does;
 * drop: delete (level, time_ms < ?); scan: key, time_ms, n, v0..v5 of
 * (level, time_ms < ?) by key and time; read: level, time_ms, n, v0..v5
 * of (key, time_ms >= ?) oldest first, at most 5000. */
struct series_table {
	const char *put[SERIES_PUTS], *drop, *scan, *read;
};

/* util_samples (key: pool) and host_util_samples (key: host). */
extern const struct series_table series_pools, series_hosts;

struct store;

/* Record a raw sample for key (a pool or host name, per t) inside the
 * caller's transaction. 0, or -1 with err_set(). */
int series_add(struct store *st, const struct series_table *t,
	       const char *key, const struct series_sample *s);

/* One sample of key (not owned) at level, for series_put_many(). */
struct series_row {
	const char *key;
	int level;
	struct series_sample s;
};

/* Write rows[0..n) into t inside the caller's transaction, in
 * n / 64 + 9 statements at most whatever n (one per host or bucket was
 * the leader's pass holding the controller lock for a second with
 * 1,000 hosts), each merged with a bucket already at its key, level and
 * time. No two rows may share key, level and time (PostgreSQL refuses
 * a statement that updates one row twice). 0, or -1 with err_set(). */
int series_put_many(struct store *st, const struct series_table *t,
		    const struct series_row *rows, size_t n);

/* Move the samples of t older than their level's retention down a level
 * and drop what falls off the last one, inside the caller's transaction.
 * 0, or -1 with err_set(). */
int series_compact(struct store *st, const struct series_table *t,
		   int64_t now_ms);

#endif

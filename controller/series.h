/*
 * series.h - utilisation samples per pool, with retention and
 * downsampling so the table stays bounded.
 *
 * A sample holds SERIES_VALUES numbers (allocated and used eta for vCPU,
 * memory and disk). Raw samples (level 0) are kept for an hour; older ones
 * are averaged into one-minute buckets (level 1) kept for a day, then into
 * one-hour buckets (level 2) kept for 30 days, then dropped. With a sample
 * every 10 s that is at most 360 + 1440 + 720 rows per pool.
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

struct store;

/* Record a raw sample for pool inside the caller's transaction. */
int series_add(struct store *st, const char *pool,
	       const struct series_sample *s);

/* Move samples older than their level's retention down a level and drop
 * what falls off the last one, inside the caller's transaction. */
int series_compact(struct store *st, int64_t now_ms);

#endif

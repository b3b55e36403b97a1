/*
 * rank.h - indices sorted by a key: the qsort() comparators the solvers
 * share (hosts by spare room or use, VMs by weight, migrations by gain).
 * Ties go to the lower index, so every order is the same on every run
 * and platform. Keys must not be NaN.
 */
#ifndef FC_SCHED_RANK_H
#define FC_SCHED_RANK_H

#include <stddef.h>

struct sched_rank {
	size_t i;   /* a host or VM index */
	double key;
};

/* qsort() comparators of struct sched_rank: highest key first (desc) or
 * lowest key first (asc), then lowest index. */
int sched_rank_desc(const void *a, const void *b);
int sched_rank_asc(const void *a, const void *b);

#endif

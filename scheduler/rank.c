#include "common/fc.h"

#include "scheduler/rank.h"

int sched_rank_desc(const void *a, const void *b)
{
	const struct sched_rank *x = a, *y = b;

	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

int sched_rank_asc(const void *a, const void *b)
{
	const struct sched_rank *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

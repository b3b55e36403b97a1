/*
 * rebal_score.c - the balance scores of the rebalancer behind struct
 * scorer (rebal_int.h): Ganeti's cluster score (ganeti_score.h) for
 * htools input, else the spread of eta across each pool's up hosts, both
 * updated incrementally so that trying a move costs O(score components).
 */
#include <math.h>

#include "common/err.h"
#include "scheduler/ganeti_score.h"
#include "scheduler/rebal_int.h"

static double g_value(void *ctx)
{
	return ganeti_score_value(ctx);
}

static double g_try(void *ctx, size_t vm, size_t to)
{
	return ganeti_score_try(ctx, vm, to);
}

static void g_move(void *ctx, size_t vm, size_t to)
{
	ganeti_score_move(ctx, vm, to);
}

static void g_release(void *ctx)
{
	ganeti_score_free(ctx);
}

/* Sum over pools and dimensions of the standard deviation of eta across
 * the pool's up hosts with some capacity in that dimension. */
struct eta_scorer {
	const struct sched_problem *p;
	double *used, *usable;  /* [host * DIM_COUNT + d] */
	bool *counted;          /* host up */
	double *sum, *sq;       /* [pool * DIM_COUNT + d] */
	double *n;
	double *term;           /* sd_of() of the same, kept with total */
	int *host;
	double total;
};

static double sd_of(double sum, double sq, double n)
{
	double avg, var;

	if (n <= 0)
		return 0;
	avg = sum / n;
	var = sq / n - avg * avg;
	return var > 0 ? sqrt(var) : 0;
}

static double e_value(void *ctx)
{
	return ((struct eta_scorer *)ctx)->total;
}

static void e_recompute_total(struct eta_scorer *e)
{
	size_t k;

	e->total = 0;
	for (k = 0; k < e->p->npools * DIM_COUNT; k++) {
		e->term[k] = sd_of(e->sum[k], e->sq[k], e->n[k]);
		e->total += e->term[k];
	}
}

/* The (pool, d) sums after moving req from host a to host b. */
static void e_shift(const struct eta_scorer *e, size_t a, size_t b,
		    enum sched_dim d, double r, double *s_a, double *q_a,
		    double *s_b, double *q_b)
{
	size_t ka = a * DIM_COUNT + d, kb = b * DIM_COUNT + d;
	int pa = e->p->hosts[a].pool, pb = e->p->hosts[b].pool;
	size_t ea = (size_t)pa * DIM_COUNT + d, eb = (size_t)pb * DIM_COUNT + d;
	double o, nv;

	*s_a = e->sum[ea];
	*q_a = e->sq[ea];
	*s_b = e->sum[eb];
	*q_b = e->sq[eb];
	if (e->counted[a] && e->usable[ka] > 0) {
		o = e->used[ka] / e->usable[ka];
		nv = (e->used[ka] - r) / e->usable[ka];
		*s_a += nv - o;
		*q_a += nv * nv - o * o;
		if (pa == pb) {
			*s_b = *s_a;
			*q_b = *q_a;
		}
	}
	if (e->counted[b] && e->usable[kb] > 0) {
		o = e->used[kb] / e->usable[kb];
		nv = (e->used[kb] + r) / e->usable[kb];
		*s_b += nv - o;
		*q_b += nv * nv - o * o;
		if (pa == pb) {
			*s_a = *s_b;
			*q_a = *q_b;
		}
	}
}

static double e_try(void *ctx, size_t vm, size_t to)
{
	struct eta_scorer *e = ctx;
	int from = e->host[vm];
	double t = e->total;
	int d;

	if (from < 0 || (size_t)from == to)
		return t;
	for (d = 0; d < DIM_COUNT; d++) {
		double r = e->p->vms[vm].req[d], sa, qa, sb, qb;
		int pa = e->p->hosts[from].pool, pb = e->p->hosts[to].pool;
		size_t ea = (size_t)pa * DIM_COUNT + d;
		size_t eb = (size_t)pb * DIM_COUNT + d;

		if (r == 0)
			continue;
		e_shift(e, (size_t)from, to, (enum sched_dim)d, r, &sa, &qa,
			&sb, &qb);
		t += sd_of(sa, qa, e->n[ea]) - e->term[ea];
		if (pa != pb)
			t += sd_of(sb, qb, e->n[eb]) - e->term[eb];
	}
	return t;
}

static void e_move(void *ctx, size_t vm, size_t to)
{
	struct eta_scorer *e = ctx;
	int from = e->host[vm];
	int d;

	if (from < 0 || (size_t)from == to)
		return;
	for (d = 0; d < DIM_COUNT; d++) {
		double r = e->p->vms[vm].req[d], sa, qa, sb, qb;
		int pa = e->p->hosts[from].pool, pb = e->p->hosts[to].pool;

		if (r == 0)
			continue;
		e_shift(e, (size_t)from, to, (enum sched_dim)d, r, &sa, &qa,
			&sb, &qb);
		e->sum[(size_t)pa * DIM_COUNT + d] = sa;
		e->sq[(size_t)pa * DIM_COUNT + d] = qa;
		e->sum[(size_t)pb * DIM_COUNT + d] = sb;
		e->sq[(size_t)pb * DIM_COUNT + d] = qb;
		e->used[(size_t)from * DIM_COUNT + d] -= r;
		e->used[to * DIM_COUNT + d] += r;
	}
	e->host[vm] = (int)to;
	e_recompute_total(e);
}

static void e_release(void *ctx)
{
	struct eta_scorer *e = ctx;

	if (e == NULL)
		return;
	free(e->used);
	free(e->usable);
	free(e->counted);
	free(e->sum);
	free(e->sq);
	free(e->n);
	free(e->term);
	free(e->host);
	free(e);
}

static struct eta_scorer *eta_scorer_new(const struct sched_problem *p)
{
	struct eta_scorer *e = calloc(1, sizeof(*e));
	size_t nh = p->nhosts ? p->nhosts : 1, np = p->npools ? p->npools : 1;
	size_t i;
	int d;

	if (e == NULL)
		goto oom;
	e->p = p;
	e->used = calloc(nh * DIM_COUNT, sizeof(double));
	e->usable = calloc(nh * DIM_COUNT, sizeof(double));
	e->counted = calloc(nh, sizeof(bool));
	e->sum = calloc(np * DIM_COUNT, sizeof(double));
	e->sq = calloc(np * DIM_COUNT, sizeof(double));
	e->n = calloc(np * DIM_COUNT, sizeof(double));
	e->term = calloc(np * DIM_COUNT, sizeof(double));
	e->host = calloc(p->nvms ? p->nvms : 1, sizeof(int));
	if (e->used == NULL || e->usable == NULL || e->counted == NULL ||
	    e->sum == NULL || e->sq == NULL || e->n == NULL || e->term == NULL ||
	    e->host == NULL)
		goto oom;
	for (i = 0; i < p->nhosts; i++) {
		const struct sched_host *h = &p->hosts[i];

		e->counted[i] = h->state == HOST_UP;
		for (d = 0; d < DIM_COUNT; d++)
			e->usable[i * DIM_COUNT + d] =
				h->cap[d] * p->pools[h->pool].ratio[d];
	}
	for (i = 0; i < p->nvms; i++) {
		e->host[i] = p->vms[i].host;
		if (e->host[i] < 0)
			continue;
		for (d = 0; d < DIM_COUNT; d++)
			e->used[(size_t)e->host[i] * DIM_COUNT + d] +=
				p->vms[i].req[d];
	}
	for (i = 0; i < p->nhosts; i++) {
		size_t pool = (size_t)p->hosts[i].pool;

		if (!e->counted[i])
			continue;
		for (d = 0; d < DIM_COUNT; d++) {
			size_t k = i * DIM_COUNT + d;
			size_t pk = pool * DIM_COUNT + d;
			double v;

			if (e->usable[k] <= 0)
				continue;
			v = e->used[k] / e->usable[k];
			e->sum[pk] += v;
			e->sq[pk] += v * v;
			e->n[pk] += 1;
		}
	}
	e_recompute_total(e);
	return e;
oom:
	e_release(e);
	err_set("out of memory");
	return NULL;
}

int rebal_scorer_init(struct scorer *sc, const struct sched_problem *p,
		      const int *host)
{
	static const struct scorer ganeti = {NULL, g_value, g_try, g_move,
					     g_release, "ganeti"};
	static const struct scorer eta = {NULL, e_value, e_try, e_move,
					  e_release, "eta"};
	void *ctx = p->htools != NULL ? (void *)ganeti_score_new(p, host)
				      : (void *)eta_scorer_new(p);

	memset(sc, 0, sizeof(*sc));
	if (ctx == NULL)
		return -1;
	*sc = p->htools != NULL ? ganeti : eta;
	sc->ctx = ctx;
	return 0;
}

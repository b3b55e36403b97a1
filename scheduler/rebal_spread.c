/*
 * rebal_spread.c - the spread policy of the rebalancer (see rebalance.h).
 *
 * The search is greedy, one move at a time, over a state that is always
 * feasible. What keeps it fast:
 *   - the balance score is updated incrementally: trying a move costs
 *     O(number of score components), never a pass over the cluster;
 *   - on large clusters only the most loaded hosts of each pool are
 *     sources and only the least loaded are destinations of a step
 *     (REBAL_FULL_HOSTS below: all pairs are tried);
 *   - the feasibility check runs only for a candidate that beats the best
 *     move found so far in the step.
 */
#include <math.h>

#include "common/err.h"
#include "scheduler/htools.h"
#include "scheduler/rank.h"
#include "scheduler/rebal_int.h"

/* Pools of at most this many hosts are searched over all host pairs. */
#define REBAL_FULL_HOSTS 96
/* Otherwise this many sources and destinations per pool and step. */
#define REBAL_CANDIDATES 16
#define REBAL_DESTS 8

static double host_load(const struct sched_state *s,
			const struct sched_problem *p, size_t h)
{
	double l = 0;
	int d, n = 0;

	if (p->hosts[h].state != HOST_UP)
		return 1e9;
	for (d = 0; d < DIM_COUNT; d++) {
		double u = sched_state_usable(s, h, (enum sched_dim)d);

		if (u <= 0)
			continue;
		l += sched_state_used(s, h, (enum sched_dim)d) / u;
		n++;
	}
	return n ? l / n : 0;
}

static int cmp_pool_load(const void *x, const void *y, void *ctx)
{
	const struct rb *sort_ctx = ctx;
	size_t a = *(const size_t *)x, c = *(const size_t *)y;
	int pa = sort_ctx->p->hosts[a].pool, pc = sort_ctx->p->hosts[c].pool;

	if (pa != pc)
		return pa < pc ? -1 : 1;
	if (sort_ctx->load[a] != sort_ctx->load[c])
		return sort_ctx->load[a] < sort_ctx->load[c] ? -1 : 1;
	return a < c ? -1 : (a > c);
}

/* Sort the hosts by (pool, load) into b->order; pool q's hosts are
 * b->order[b->pstart[q] .. b->pend[q]), least loaded first. */
static void rank_hosts(struct rb *b, const struct sched_state *s)
{
	const struct sched_problem *p = b->p;
	size_t i;

	for (i = 0; i < p->nhosts; i++) {
		b->order[i] = i;
		b->load[i] = host_load(s, p, i);
	}
	qsort_r(b->order, p->nhosts, sizeof(*b->order), cmp_pool_load, b);
	for (i = 0; i < p->npools; i++)
		b->pstart[i] = b->pend[i] = 0;
	for (i = 0; i < p->nhosts; i++) {
		size_t q = (size_t)p->hosts[b->order[i]].pool;

		if (i == 0 || p->hosts[b->order[i - 1]].pool != (int)q)
			b->pstart[q] = i;
		b->pend[q] = i + 1;
	}
}

/*
 * spread works in three stages.
 *
 * Search: a local search over a copy of the state for a balanced target
 * placement, each step the move with the best score gain among the
 * candidates, until none gains step_min. Moving a VM that has already left
 * its host again costs no migration in the plan (only where it finally
 * lands matters), so the search fine-tunes the VMs it moves.
 *
 * Prune: send VMs back home, the cheapest return first (re-tuning the
 * others after each), while a return costs less score than gain_min: every
 * migration left is worth at least that.
 *
 * Order: the plan migrates each VM of the difference once, from its host
 * to its target, in an order where every step is feasible, preferring the
 * migration with the best gain per migration cost (a fixed part plus the
 * MiB copied).
 */
struct search {
	struct sched_state *s;
	struct scorer sc;
	struct hlist *hv;
	int *origin;
	size_t count;   /* VMs away from origin */
	size_t budget;  /* most VMs that may be away */
	bool capped;    /* the budget stopped a worthwhile move */
};

static double migration_cost(const struct rb *b, size_t vm)
{
	double mem = b->p->htools != NULL ?
			     (double)b->p->htools->insts[vm].mem :
			     b->p->vms[vm].req[DIM_MEM];

	return mem + b->bias;
}

/* The best move found so far in a step of the search: vm from -> to,
 * worth gain. */
struct pick {
	double gain;
	size_t vm, from, to;
	bool found;
};

/* Make vm from -> to the pick when it gains more than the pick so far and
 * is feasible (checked last: the check costs more than the score). */
static void pick_consider(const struct search *x, struct pick *pk, size_t vm,
			  size_t from, size_t to, double gain)
{
	if (gain <= pk->gain)
		return;
	if (sched_state_check_code(x->s, vm, to, NULL) != SCHED_OK)
		return;
	pk->gain = gain;
	pk->vm = vm;
	pk->from = from;
	pk->to = to;
	pk->found = true;
}

/* Make the pick's move in the search. 1 when there was one, 0 when not,
 * -1 when out of memory. */
static int pick_apply(struct search *x, const struct pick *pk)
{
	int home;

	if (!pk->found)
		return 0;
	if (rebal_hl_add(&x->hv[pk->to], pk->vm) < 0)
		return -1;
	home = x->origin[pk->vm];
	rebal_hl_del(&x->hv[pk->from], pk->vm);
	sched_state_assign(x->s, pk->vm, pk->to);
	x->sc.move(x->sc.ctx, pk->vm, pk->to);
	x->count = (size_t)((long)x->count + ((int)pk->from == home) -
			    ((int)pk->to == home));
	return 1;
}

/* One search step; 1 when a move was made, 0 when none is worth it. */
static int search_step(struct rb *b, struct search *x)
{
	const struct sched_problem *p = b->p;
	double cur = x->sc.value(x->sc.ctx);
	struct pick pk = {.gain = b->step_min};
	size_t start, end;

	rank_hosts(b, x->s);
	for (start = 0; start < p->nhosts; start = end) {
		size_t n, ns, nd, si, di;
		int pool = p->hosts[b->order[start]].pool;

		for (end = start; end < p->nhosts &&
				  p->hosts[b->order[end]].pool == pool;
		     end++)
			;
		n = end - start;
		ns = n <= REBAL_FULL_HOSTS ? n : REBAL_CANDIDATES;
		nd = n <= REBAL_FULL_HOSTS ? n : REBAL_DESTS;
		for (si = 0; si < ns; si++) {
			size_t src = b->order[end - 1 - si], k;

			for (k = 0; k < x->hv[src].n; k++) {
				size_t vm = x->hv[src].vm[k];
				int home = x->origin[vm];

				if (b->moved[vm] || !b->movable[vm])
					continue;
				for (di = 0; di < nd; di++) {
					size_t dst = b->order[start + di];
					int dc = ((int)src == home) -
						 ((int)dst == home);
					double obj;

					if (dst == src || b->blocked[dst])
						continue;
					obj = cur - x->sc.try_move(x->sc.ctx, vm,
								   dst);
					if (dc > 0 && x->count >= x->budget) {
						/* worth a move the budget
						 * does not allow */
						if (obj > b->step_min)
							x->capped = true;
						continue;
					}
					pick_consider(x, &pk, vm, src, dst, obj);
				}
			}
		}
	}
	return pick_apply(x, &pk);
}

/* Destinations worth trying for a VM of pool `pool` in a refine step: the
 * pool's least loaded hosts (all of them in a small pool), from the
 * ranking made by rank_hosts(). */
static size_t pool_dests(const struct rb *b, int pool, const size_t **out)
{
	size_t n = b->pend[pool] - b->pstart[pool];

	*out = b->order + b->pstart[pool];
	return n <= REBAL_FULL_HOSTS ? n : REBAL_CANDIDATES;
}

/* Improve the target by moving only VMs already away from home (no new
 * migration). 1 when a move was made. */
static int refine_step(struct rb *b, struct search *x, const size_t *away,
		       size_t naway)
{
	const struct sched_problem *p = b->p;
	double cur = x->sc.value(x->sc.ctx);
	struct pick pk = {.gain = b->step_min};
	size_t k, d;

	rank_hosts(b, x->s);

	for (k = 0; k < naway; k++) {
		size_t vm = away[k];
		size_t from = (size_t)sched_state_host_of(x->s, vm);
		const size_t *dests;
		size_t nd = pool_dests(b, p->hosts[from].pool, &dests);

		if (from == (size_t)x->origin[vm])
			continue;
		for (d = 0; d < nd; d++) {
			size_t to = dests[d];

			if (to == from || b->blocked[to] ||
			    to == (size_t)x->origin[vm])
				continue;
			pick_consider(x, &pk, vm, from, to,
				      cur - x->sc.try_move(x->sc.ctx, vm, to));
		}
	}
	return pick_apply(x, &pk);
}

/* Send home, one at a time, the away VM whose return costs the least
 * score (then refine), while that costs less than min_loss.
 * Returns 0, -1 on error. */
static int prune(struct rb *b, struct search *x, double min_loss)
{
	const struct sched_problem *p = b->p;
	size_t *away = NULL, naway, i;
	int ret = -1, r;

	away = malloc((p->nvms ? p->nvms : 1) * sizeof(*away));
	if (away == NULL) {
		err_set("out of memory");
		goto out;
	}
	for (;;) {
		double cur = x->sc.value(x->sc.ctx);
		struct pick pk = {.gain = -INFINITY};

		naway = 0;
		for (i = 0; i < p->nvms; i++)
			if (x->origin[i] >= 0 &&
			    sched_state_host_of(x->s, i) != x->origin[i])
				away[naway++] = i;
		for (i = 0; i < naway; i++) {
			size_t vm = away[i], home = (size_t)x->origin[vm];

			/* The gain is minus the loss of going home. */
			pick_consider(x, &pk, vm,
				      (size_t)sched_state_host_of(x->s, vm),
				      home,
				      cur - x->sc.try_move(x->sc.ctx, vm, home));
		}
		if (!pk.found || -pk.gain > min_loss)
			break;
		if (pick_apply(x, &pk) < 0)
			goto out;
		while ((r = refine_step(b, x, away, naway)) > 0)
			;
		if (r < 0)
			goto out;
	}
	ret = 0;
out:
	free(away);
	return ret;
}

/* Migrate the VMs whose target differs from their host, each once, in a
 * feasible order: by gain per migration cost, re-ranked after every
 * batch (1/16 of what is left, so small plans are ranked every step). */
static int order_moves(struct rb *b, const int *target)
{
	const struct sched_problem *p = b->p;
	struct sched_rank *pend = NULL;
	size_t np = 0, i, k;
	int ret = -1;

	pend = malloc((p->nvms ? p->nvms : 1) * sizeof(*pend));
	if (pend == NULL)
		return err_set("out of memory");
	for (i = 0; i < p->nvms; i++)
		if (target[i] >= 0 && target[i] != sched_state_host_of(b->s, i))
			pend[np++].i = i;
	while (np > 0 && rebal_budget_left(b)) {
		double cur = b->sc.value(b->sc.ctx);
		size_t batch = np / 16 ? np / 16 : 1, done = 0, keep = 0;

		for (k = 0; k < np; k++) {
			size_t vm = pend[k].i;

			pend[k].key = (cur - b->sc.try_move(b->sc.ctx, vm,
							    (size_t)target[vm])) /
				      migration_cost(b, vm);
		}
		qsort(pend, np, sizeof(*pend), sched_rank_desc);
		for (k = 0; k < np; k++) {
			size_t vm = pend[k].i, to = (size_t)target[vm];

			if (done < batch && rebal_budget_left(b) &&
			    sched_state_check_code(b->s, vm, to, NULL) ==
				    SCHED_OK) {
				if (rebal_do_move(b, vm, to, REBAL_BALANCE) < 0)
					goto out;
				done++;
				continue;
			}
			pend[keep++] = pend[k];
		}
		np = keep;
		if (done == 0)
			break; /* the rest would need a VM to move twice */
	}
	ret = 0;
out:
	free(pend);
	return ret;
}

int rebal_spread(struct rb *b)
{
	const struct sched_problem *p = b->p;
	struct search x;
	int *target = NULL;
	size_t i, steps = 0, limit;
	int r, ret = -1;

	memset(&x, 0, sizeof(x));
	x.s = sched_state_clone(b->s);
	x.hv = calloc(p->nhosts ? p->nhosts : 1, sizeof(*x.hv));
	x.origin = calloc(p->nvms ? p->nvms : 1, sizeof(*x.origin));
	target = calloc(p->nvms ? p->nvms : 1, sizeof(*target));
	if (x.s == NULL || x.hv == NULL || x.origin == NULL || target == NULL) {
		err_set("out of memory");
		goto out;
	}
	for (i = 0; i < p->nvms; i++) {
		x.origin[i] = sched_state_host_of(b->s, i);
		if (x.origin[i] >= 0 && rebal_hl_add(&x.hv[x.origin[i]], i) < 0)
			goto out;
	}
	if (rebal_scorer_init(&x.sc, p, x.origin) < 0)
		goto out;
	x.budget = b->o->max_moves == 0 ? p->nvms :
		   b->o->max_moves - b->r->nmoves;
	limit = 20 * p->nvms + 100;
	while (steps++ < limit) {
		r = search_step(b, &x);
		if (r < 0)
			goto out;
		if (r == 0)
			break;
	}
	if (prune(b, &x, b->gain_min) < 0)
		goto out;
	if (x.capped && x.count >= x.budget)
		b->r->max_moves_reached = true;
	for (i = 0; i < p->nvms; i++)
		target[i] = sched_state_host_of(x.s, i);
	ret = order_moves(b, target);
out:
	if (x.sc.release != NULL)
		x.sc.release(x.sc.ctx);
	sched_state_free(x.s);
	rebal_hl_free(x.hv, p->nhosts);
	free(x.origin);
	free(target);
	return ret;
}

/*
 * rebal_spread.c - the spread policy of the rebalancer (see rebalance.h).
 *
 * The search is greedy, one move at a time, over a state that is always
 * feasible. What keeps it fast:
 *   - the balance score is updated incrementally: trying a move costs
 *     O(number of score components), never a pass over the cluster;
 *   - in pools of more than REBAL_FULL_HOSTS hosts, the destinations of a
 *     step are the pool's least loaded hosts on average and in each
 *     dimension, and each host keeps its best move to them from one step
 *     to the next (sampled_step()): a step computes again only the hosts
 *     the last move changed and the host it is about to move from, so
 *     every host of the pool stays a source; smaller pools try all pairs;
 *   - the feasibility check runs only for a candidate that beats the best
 *     move found so far.
 */
#include <math.h>

#include "common/err.h"
#include "scheduler/rank.h"
#include "scheduler/rebal_int.h"

/* Pools of at most this many hosts are searched over all host pairs (a
 * step costs O(hosts x VMs); at 96 hosts a plan took 3 s). */
#define REBAL_FULL_HOSTS 64
/* Larger pools: the candidate destinations of a step are the
 * REBAL_EXTREMES least loaded hosts on average and in each dimension, the
 * sampled sources as many of the most loaded (at most 4 x REBAL_EXTREMES
 * each, overlaps counted once). A pool near balance is unbalanced in one
 * dimension at a time, so ranking by the average alone misses the hosts
 * that matter late in the search. */
#define REBAL_EXTREMES 12
/* Load columns per host: one per dimension, then their average. */
#define LOAD_COLS (DIM_COUNT + 1)
/* There, the sampled sources' best moves are computed again every this
 * many steps (see sampled_step()). */
#define REBAL_REFRESH 32

/* Used / usable per dimension of host h into l[0 .. DIM_COUNT), their
 * average over the dimensions the host has into l[DIM_COUNT]; hosts that
 * are not up get 1e9 everywhere (their VMs leave first, nothing goes
 * there). */
static void host_load(const struct sched_state *s,
		      const struct sched_problem *p, size_t h, double *l)
{
	double sum = 0;
	int d, n = 0;

	for (d = 0; d < DIM_COUNT; d++) {
		double u = sched_state_usable(s, h, (enum sched_dim)d);

		l[d] = 0;
		if (p->hosts[h].state != HOST_UP) {
			l[d] = 1e9;
			continue;
		}
		if (u <= 0)
			continue;
		l[d] = sched_state_used(s, h, (enum sched_dim)d) / u;
		sum += l[d];
		n++;
	}
	l[DIM_COUNT] = p->hosts[h].state != HOST_UP ? 1e9 : n ? sum / n : 0;
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
/* The best move found so far in a step of the search: vm from -> to,
 * worth gain. */
struct pick {
	double gain;
	size_t vm, from, to;
	bool found;
};

struct search {
	struct sched_state *s;
	struct scorer sc;
	struct hlist *hv;
	int *origin;
	size_t count;   /* VMs away from origin */
	size_t budget;  /* most VMs that may be away */
	bool capped;    /* the budget stopped a worthwhile move */
	/* The candidates of a step, made by rank_hosts(): pool q's sources
	 * are src[sbeg[q] .. sbeg[q + 1]), most loaded first, its
	 * destinations dst[dbeg[q] .. dbeg[q + 1]), least loaded first. */
	size_t *src, *dst, *sbeg, *dbeg;
	size_t nsrc, ndst;
	bool sampled;   /* a pool is too large for all pairs */
	/* Sampled search (sampled_step()): each host's best move as last
	 * computed, and the step it was computed in (== stamp: this one). */
	struct pick *best;
	unsigned *seen;
	size_t dirty[2], ndirty; /* hosts to compute again */
	size_t steps;
	bool fresh;     /* every host's best was computed since the last move */
	size_t *order;  /* host indices by pool; a small pool's by average
			   load, a large pool's by index */
	double *load;   /* [h * LOAD_COLS + c], see host_load() */
	unsigned *mark; /* [h]: == stamp when h is in the list being made */
	unsigned stamp;
};

static int cmp_pool_load(const void *a, const void *c, void *ctx)
{
	const struct search *x = ctx;
	size_t i = *(const size_t *)a, j = *(const size_t *)c;
	int pi = sched_state_problem(x->s)->hosts[i].pool;
	int pj = sched_state_problem(x->s)->hosts[j].pool;
	double li = x->load[i * LOAD_COLS + DIM_COUNT];
	double lj = x->load[j * LOAD_COLS + DIM_COUNT];

	if (pi != pj)
		return pi < pj ? -1 : 1;
	if (li != lj)
		return li < lj ? -1 : 1;
	return i < j ? -1 : (i > j);
}

/* Append to out (*n so far) the REBAL_EXTREMES hosts of hosts[0 .. nh)
 * with the highest (most) or lowest load in column c that are not in out
 * yet (x->mark), the extreme first; ties go to the first in hosts, so the
 * lists are the same from run to run. */
static void add_extremes(struct search *x, const size_t *hosts, size_t nh,
			 int c, bool most, size_t *out, size_t *n)
{
	const size_t k = REBAL_EXTREMES;
	size_t best[REBAL_EXTREMES], nb = 0, i, j;

	for (i = 0; i < nh; i++) {
		size_t h = hosts[i];
		double l = x->load[h * LOAD_COLS + c];

		if (x->mark[h] == x->stamp)
			continue;
		/* insertion into best[], kept from the extreme down */
		for (j = nb; j > 0; j--) {
			double o = x->load[best[j - 1] * LOAD_COLS + c];

			if (most ? o >= l : o <= l)
				break;
			if (j < k)
				best[j] = best[j - 1];
		}
		if (j < k) {
			best[j] = h;
			if (nb < k)
				nb++;
		}
	}
	for (j = 0; j < nb; j++) {
		x->mark[best[j]] = x->stamp;
		out[(*n)++] = best[j];
	}
}

/* Add one pool's candidates to the lists, from its hosts hosts[0 .. nh)
 * sorted by average load: all of them in a small pool, else the
 * extremes. */
static void pool_candidates(struct search *x, const size_t *hosts, size_t nh)
{
	size_t i;
	int c;

	if (nh <= REBAL_FULL_HOSTS) {
		for (i = 0; i < nh; i++) {
			x->src[x->nsrc++] = hosts[nh - 1 - i];
			x->dst[x->ndst++] = hosts[i];
		}
		return;
	}
	x->sampled = true;
	x->stamp++;
	for (c = DIM_COUNT; c >= 0; c--)
		add_extremes(x, hosts, nh, c, true, x->src, &x->nsrc);
	x->stamp++;
	for (c = DIM_COUNT; c >= 0; c--)
		add_extremes(x, hosts, nh, c, false, x->dst, &x->ndst);
}

/* Rank the hosts of the search state and choose each pool's candidate
 * sources and destinations for the next step. */
static void rank_hosts(struct search *x)
{
	const struct sched_problem *p = sched_state_problem(x->s);
	size_t i, q = 0, start, end;

	for (i = 0; i < p->nhosts; i++)
		host_load(x->s, p, i, &x->load[i * LOAD_COLS]);
	x->nsrc = x->ndst = 0;
	x->sampled = false;
	for (start = 0; start < p->nhosts; start = end) {
		size_t pool = (size_t)p->hosts[x->order[start]].pool;

		for (end = start; end < p->nhosts &&
				  (size_t)p->hosts[x->order[end]].pool == pool;
		     end++)
			;
		/* a large pool needs only its extremes, not a sort */
		if (end - start <= REBAL_FULL_HOSTS)
			qsort_r(x->order + start, end - start, sizeof(*x->order),
				cmp_pool_load, x);
		for (; q <= pool; q++) { /* pools without hosts: empty */
			x->sbeg[q] = x->nsrc;
			x->dbeg[q] = x->ndst;
		}
		pool_candidates(x, x->order + start, end - start);
	}
	for (; q <= p->npools; q++) {
		x->sbeg[q] = x->nsrc;
		x->dbeg[q] = x->ndst;
	}
}

static double migration_cost(const struct rb *b, size_t vm)
{
	return rebal_live_mib(b->p, vm) + b->bias;
}

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

/* Make *pk the best of itself and of the moves of the VMs on host src to
 * the candidate destinations dst[d0 .. d1). */
static void best_from(const struct rb *b, struct search *x, size_t src,
		      size_t d0, size_t d1, struct pick *pk)
{
	double cur = x->sc.value(x->sc.ctx);
	size_t k, di;

	for (k = 0; k < x->hv[src].n; k++) {
		size_t vm = x->hv[src].vm[k];
		int home = x->origin[vm];

		if (b->moved[vm] || !b->movable[vm])
			continue;
		for (di = d0; di < d1; di++) {
			size_t dst = x->dst[di];
			int dc = ((int)src == home) - ((int)dst == home);
			double obj;

			if (dst == src || b->blocked[dst])
				continue;
			obj = cur - x->sc.try_move(x->sc.ctx, vm, dst);
			if (dc > 0 && x->count >= x->budget) {
				/* worth a move the budget does not allow */
				if (obj > b->step_min)
					x->capped = true;
				continue;
			}
			pick_consider(x, pk, vm, src, dst, obj);
		}
	}
}

/* One step over all pairs of the candidates: the best move. 1 when one
 * was made, 0 when none is worth it, -1 when out of memory. */
static int full_step(struct rb *b, struct search *x)
{
	const struct sched_problem *p = b->p;
	struct pick pk = {.gain = b->step_min};
	size_t q, si;

	for (q = 0; q < p->npools; q++)
		for (si = x->sbeg[q]; si < x->sbeg[q + 1]; si++)
			best_from(b, x, x->src[si], x->dbeg[q],
				  x->dbeg[q + 1], &pk);
	return pick_apply(x, &pk);
}

/* Cache in x->best[h] the best move off host h to its pool's candidate
 * destinations, and stamp it as fresh in this step. */
static void cache_host(struct rb *b, struct search *x, size_t h)
{
	size_t q = (size_t)b->p->hosts[h].pool;

	x->best[h] = (struct pick){.gain = b->step_min};
	best_from(b, x, h, x->dbeg[q], x->dbeg[q + 1], &x->best[h]);
	x->seen[h] = x->stamp;
}

/*
 * One step of a search with sampled candidates (a pool too large for all
 * pairs); 1 when a move was made, 0 when none is worth it, -1 when out of
 * memory.
 *
 * Every host keeps its best move to its pool's candidate destinations as
 * last computed (x->best). A move changes the score of the moves that
 * involve its two hosts and, a little, of all the others, so the step
 * takes the host with the highest cached gain, computes its best move
 * again, and makes it when it still beats every other cached gain, else
 * tries the next. The two hosts of a move are computed again at once,
 * the sampled sources every REBAL_REFRESH steps, and every host when the
 * cache has nothing left worth a move: the search ends only when no host
 * has a move worth step_min to the current candidates.
 */
static int sampled_step(struct rb *b, struct search *x)
{
	const struct sched_problem *p = b->p;
	size_t h, si;

	/* the hosts of the last move, whose moves all changed */
	for (h = 0; h < x->ndirty; h++)
		cache_host(b, x, x->dirty[h]);
	x->ndirty = 0;
	if (x->steps++ % REBAL_REFRESH == 0)
		for (si = 0; si < x->nsrc; si++)
			cache_host(b, x, x->src[si]);
	for (;;) {
		size_t top = p->nhosts;
		double g1 = b->step_min, g2 = b->step_min;
		struct pick pk;

		for (h = 0; h < p->nhosts; h++) {
			double g = x->best[h].found ? x->best[h].gain :
						      b->step_min;

			if (g > g1) {
				g2 = g1;
				g1 = g;
				top = h;
			} else if (g > g2) {
				g2 = g;
			}
		}
		if (top == p->nhosts) {
			if (x->fresh)
				return 0;
			/* nothing cached is worth a move: look at all */
			for (h = 0; h < p->nhosts; h++)
				cache_host(b, x, h);
			x->fresh = true;
			continue;
		}
		if (x->seen[top] != x->stamp) {
			cache_host(b, x, top);
			if (!x->best[top].found || x->best[top].gain < g2)
				continue;
		}
		pk = x->best[top];
		if (pick_apply(x, &pk) < 0)
			return -1;
		x->dirty[0] = pk.from;
		x->dirty[1] = pk.to;
		x->ndirty = 2;
		x->fresh = false;
		return 1;
	}
}

/* One search step; 1 when a move was made, 0 when none is worth it, -1
 * when out of memory. */
static int search_step(struct rb *b, struct search *x)
{
	rank_hosts(x);
	x->stamp++;
	if (!x->sampled)
		return full_step(b, x);
	return sampled_step(b, x);
}

/* Improve the target by moving only VMs already away from home (no new
 * migration), each to one of its pool's candidate destinations; *last is
 * the move made before, and becomes the one made now. In a sampled pool
 * only the moves that the last one can have made worth it are tried: an
 * away VM into the host it lightened, the away VMs out of the host it
 * loaded (the other moves were tried before it and gained nothing). 1
 * when a move was made. */
static int refine_step(struct rb *b, struct search *x, const size_t *away,
		       size_t naway, struct pick *last)
{
	const struct sched_problem *p = b->p;
	double cur = x->sc.value(x->sc.ctx);
	struct pick pk = {.gain = b->step_min};
	size_t k, d;
	int r;

	rank_hosts(x);

	for (k = 0; k < naway; k++) {
		size_t vm = away[k], home = (size_t)x->origin[vm];
		size_t from = (size_t)sched_state_host_of(x->s, vm);
		size_t q = (size_t)p->hosts[from].pool, to = last->from;

		if (from == home)
			continue;
		if (x->sampled && from != last->to) {
			if (to != from && !b->blocked[to] && to != home &&
			    (size_t)p->hosts[to].pool == q)
				pick_consider(x, &pk, vm, from, to,
					      cur - x->sc.try_move(x->sc.ctx,
								   vm, to));
			continue;
		}
		for (d = x->dbeg[q]; d < x->dbeg[q + 1]; d++) {
			to = x->dst[d];
			if (to == from || b->blocked[to] || to == home)
				continue;
			pick_consider(x, &pk, vm, from, to,
				      cur - x->sc.try_move(x->sc.ctx, vm, to));
		}
	}
	r = pick_apply(x, &pk);
	if (r > 0)
		*last = pk;
	return r;
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
		while ((r = refine_step(b, x, away, naway, &pk)) > 0)
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
	size_t i, steps = 0, limit, nh = p->nhosts ? p->nhosts : 1;
	int r, ret = -1;

	memset(&x, 0, sizeof(x));
	x.s = sched_state_clone(b->s);
	x.hv = calloc(nh, sizeof(*x.hv));
	x.origin = calloc(p->nvms ? p->nvms : 1, sizeof(*x.origin));
	target = calloc(p->nvms ? p->nvms : 1, sizeof(*target));
	x.src = calloc(nh, sizeof(*x.src));
	x.dst = calloc(nh, sizeof(*x.dst));
	x.sbeg = calloc(p->npools + 1, sizeof(*x.sbeg));
	x.dbeg = calloc(p->npools + 1, sizeof(*x.dbeg));
	x.order = calloc(nh, sizeof(*x.order));
	x.load = calloc(nh * LOAD_COLS, sizeof(*x.load));
	x.mark = calloc(nh, sizeof(*x.mark));
	x.best = calloc(nh, sizeof(*x.best));
	x.seen = calloc(nh, sizeof(*x.seen));
	if (x.s == NULL || x.hv == NULL || x.origin == NULL || target == NULL ||
	    x.src == NULL || x.dst == NULL || x.sbeg == NULL ||
	    x.dbeg == NULL || x.order == NULL || x.load == NULL ||
	    x.mark == NULL || x.best == NULL || x.seen == NULL) {
		err_set("out of memory");
		goto out;
	}
	/* the hosts by pool, then index: the loads are all 0 still */
	for (i = 0; i < p->nhosts; i++)
		x.order[i] = i;
	qsort_r(x.order, p->nhosts, sizeof(*x.order), cmp_pool_load, &x);
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
	if (x.capped && x.count >= x.budget) {
		b->r->max_moves_reached = true;
		if (rebal_budget_search(b, x.s, &x.sc, x.origin, x.budget) < 0)
			goto out;
	}
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
	free(x.src);
	free(x.dst);
	free(x.sbeg);
	free(x.dbeg);
	free(x.order);
	free(x.load);
	free(x.mark);
	free(x.best);
	free(x.seen);
	return ret;
}

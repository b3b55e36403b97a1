/*
 * rebal_budget.c - the spread policy's search when the move budget binds
 * (rebal_int.h: rebal_budget_search()).
 *
 * With a budget of K migrations the question is which K VMs to move, and
 * where, for the lowest final score. The greedy search (like hbal) follows
 * the steepest path: each of its first K moves gains the most at its
 * step, which is not the same as the K moves that gain the most together.
 * From the greedy target, a simulated annealing searches target
 * placements with at most K VMs away from home:
 *
 *   - a step picks one movable VM at random and the best feasible of a
 *     few candidate hosts of its pool (every host of a pool of at most
 *     BUDGET_ALL hosts, else BUDGET_TRIES random ones; and its home when
 *     it is away, which gives a move back);
 *   - when the VM is at home and the budget is full, a random away VM
 *     goes home in the same step, so the step exchanges one migration
 *     for another;
 *   - the step is kept when it lowers the score, else with probability
 *     exp(-increase / T); T falls geometrically by 1,000 over a cycle,
 *     and each of the cycles (cycle_t0) starts again from the best
 *     target seen;
 *   - scores are the scorer's O(1) incremental try; the feasibility
 *     check runs only for the chosen candidate (and the VM sent home);
 *   - the best target seen (at most K VMs and their hosts) is kept and
 *     restored at the end, so the result is never worse than the greedy
 *     target it started from.
 *
 * The work is a number of steps, not a time (rebal_budget_steps()), and
 * the generator is splitmix64 with a fixed seed: the same input gives the
 * same plan on every machine.
 */
#include <math.h>

#include "common/err.h"
#include "scheduler/rebal_int.h"

/* Random candidate hosts per step (besides home). */
#define BUDGET_TRIES 6
/* The starting temperature of each annealing cycle, in units of the
 * plan's minimum gain per migration (b->gain_min). */
static const double cycle_t0[] = { 1.0, 0.3, 0.1 };
/* Pools of at most this many hosts: every host is a candidate. */
#define BUDGET_ALL 64

struct budget {
	struct rb *b;
	struct sched_state *s;
	struct scorer *sc;
	const int *origin;
	size_t budget;
	size_t *cand, ncand;     /* VMs the search may move */
	size_t *away, naway;     /* VMs away from home */
	size_t *pos;             /* [vm]: index in away, SIZE_MAX: home */
	size_t *ph, *pbeg;       /* hosts of pool q: ph[pbeg[q] .. pbeg[q+1]) */
	uint64_t rng;
	/* the best target seen: best_vm[i] on best_host[i] */
	size_t *best_vm, nbest;
	int *best_host;
	double best_score;
};

static uint64_t next_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static size_t rand_below(struct budget *x, size_t n)
{
	return (size_t)(next_rand(&x->rng) % (uint64_t)n);
}

static double rand_unit(struct budget *x)
{
	return (double)(next_rand(&x->rng) >> 11) / 9007199254740992.0;
}

/* The hosts of each pool, by index: pool q's are
 * x->ph[x->pbeg[q] .. x->pbeg[q + 1]). */
static int pool_lists(struct budget *x)
{
	const struct sched_problem *p = x->b->p;
	size_t *fill = calloc(p->npools + 1, sizeof(*fill));
	size_t i, q;

	if (fill == NULL)
		return err_set("out of memory");
	for (i = 0; i < p->nhosts; i++)
		x->pbeg[p->hosts[i].pool + 1]++;
	for (q = 0; q < p->npools; q++)
		x->pbeg[q + 1] += x->pbeg[q];
	for (i = 0; i < p->nhosts; i++) {
		q = (size_t)p->hosts[i].pool;
		x->ph[x->pbeg[q] + fill[q]++] = i;
	}
	free(fill);
	return 0;
}

/* Put vm on host to in the search, keeping the away list. */
static void budget_move(struct budget *x, size_t vm, size_t to)
{
	bool was_away = x->pos[vm] != SIZE_MAX;
	bool is_away = (int)to != x->origin[vm];

	sched_state_assign(x->s, vm, to);
	x->sc->move(x->sc->ctx, vm, to);
	if (was_away && !is_away) {
		size_t i = x->pos[vm], last = x->away[--x->naway];

		x->away[i] = last;
		x->pos[last] = i;
		x->pos[vm] = SIZE_MAX;
	} else if (!was_away && is_away) {
		x->pos[vm] = x->naway;
		x->away[x->naway++] = vm;
	}
}

static void keep_best(struct budget *x, double score)
{
	size_t i;

	x->best_score = score;
	x->nbest = x->naway;
	for (i = 0; i < x->naway; i++) {
		x->best_vm[i] = x->away[i];
		x->best_host[i] = sched_state_host_of(x->s, x->away[i]);
	}
}

/* Back to the best target seen: every VM home, then the best's away. */
static void restore_best(struct budget *x)
{
	size_t i;

	while (x->naway > 0) {
		size_t vm = x->away[x->naway - 1];

		budget_move(x, vm, (size_t)x->origin[vm]);
	}
	for (i = 0; i < x->nbest; i++)
		budget_move(x, x->best_vm[i], (size_t)x->best_host[i]);
}

/* The best feasible host for vm among a few candidates of its pool
 * (random ones and its home when away), or -1; *score gets the score
 * there. */
static int best_candidate(struct budget *x, size_t vm, double *score)
{
	const struct sched_problem *p = x->b->p;
	size_t from = (size_t)sched_state_host_of(x->s, vm);
	size_t q = (size_t)p->hosts[from].pool;
	size_t n = x->pbeg[q + 1] - x->pbeg[q];
	size_t tries[BUDGET_ALL + 1], nt = 0, i, j;
	double sc[BUDGET_ALL + 1];
	int best = -1;

	if (n < 2)
		return -1;
	if (x->pos[vm] != SIZE_MAX)
		tries[nt++] = (size_t)x->origin[vm];
	for (i = 0; i < (n <= BUDGET_ALL ? n : BUDGET_TRIES); i++) {
		size_t h = x->ph[x->pbeg[q] + (n <= BUDGET_ALL ? i : rand_below(x, n))];

		if (h == from || x->b->blocked[h])
			continue;
		tries[nt++] = h;
	}
	for (i = 0; i < nt; i++)
		sc[i] = x->sc->try_move(x->sc->ctx, vm, tries[i]);
	/* the best feasible: check the candidates from the best down */
	for (;;) {
		j = nt;
		for (i = 0; i < nt; i++)
			if (tries[i] != SIZE_MAX && (j == nt || sc[i] < sc[j]))
				j = i;
		if (j == nt)
			break;
		if (sched_state_check_code(x->s, vm, tries[j], NULL) ==
		    SCHED_OK) {
			best = (int)tries[j];
			*score = sc[j];
			break;
		}
		tries[j] = SIZE_MAX;
	}
	return best;
}

/* One annealing step at temperature t: 1 when kept, 0 when not. */
static int anneal_step(struct budget *x, double t)
{
	double cur = x->sc->value(x->sc->ctx), next = 0;
	size_t vm = x->cand[rand_below(x, x->ncand)];
	size_t back = SIZE_MAX, back_from = 0;
	int to;

	if (x->pos[vm] == SIZE_MAX && x->naway >= x->budget) {
		/* an exchange: some away VM goes home to free a move */
		if (x->naway == 0)
			return 0;
		back = x->away[rand_below(x, x->naway)];
		back_from = (size_t)sched_state_host_of(x->s, back);
		if (sched_state_check_code(x->s, back, (size_t)x->origin[back],
					   NULL) != SCHED_OK)
			return 0;
		budget_move(x, back, (size_t)x->origin[back]);
	}
	to = best_candidate(x, vm, &next);
	if (to < 0 || (next > cur &&
		       (t <= 0 || rand_unit(x) >= exp((cur - next) / t)))) {
		if (back != SIZE_MAX)
			budget_move(x, back, back_from);
		return 0;
	}
	budget_move(x, vm, (size_t)to);
	if (next < x->best_score)
		keep_best(x, next);
	return 1;
}

size_t rebal_budget_steps(const struct sched_problem *p, size_t budget)
{
	size_t n = 200 * budget + 20 * p->nvms;

	return n < 30000 ? 30000 : n;
}

int rebal_budget_search(struct rb *b, struct sched_state *s,
			struct scorer *sc, const int *origin, size_t budget)
{
	const struct sched_problem *p = b->p;
	struct budget x;
	size_t i, k, steps, nv = p->nvms ? p->nvms : 1;
	double t0, t, f;
	size_t c;
	int ret = -1;

	memset(&x, 0, sizeof(x));
	x.b = b;
	x.s = s;
	x.sc = sc;
	x.origin = origin;
	x.budget = budget;
	x.rng = 0x5eed5eedULL;
	x.cand = malloc(nv * sizeof(*x.cand));
	x.away = malloc(nv * sizeof(*x.away));
	x.pos = malloc(nv * sizeof(*x.pos));
	x.best_vm = malloc(nv * sizeof(*x.best_vm));
	x.best_host = malloc(nv * sizeof(*x.best_host));
	x.ph = malloc((p->nhosts ? p->nhosts : 1) * sizeof(*x.ph));
	x.pbeg = calloc(p->npools + 2, sizeof(*x.pbeg));
	if (x.cand == NULL || x.away == NULL || x.pos == NULL ||
	    x.best_vm == NULL || x.best_host == NULL || x.ph == NULL ||
	    x.pbeg == NULL) {
		err_set("out of memory");
		goto out;
	}
	for (i = 0; i < p->nvms; i++) {
		int h = sched_state_host_of(s, i);

		x.pos[i] = SIZE_MAX;
		if (origin[i] < 0 || h < 0)
			continue;
		if (h != origin[i]) {
			x.pos[i] = x.naway;
			x.away[x.naway++] = i;
		}
		if (b->movable[i] && !b->moved[i])
			x.cand[x.ncand++] = i;
	}
	if (pool_lists(&x) < 0)
		goto out;
	if (x.ncand == 0 || budget == 0) {
		ret = 0;
		goto out;
	}
	keep_best(&x, sc->value(sc->ctx));
	steps = rebal_budget_steps(p, budget);
	/* cycles from a high temperature down, each from the best so far */
	for (c = 0; c < FC_ARRAY_LEN(cycle_t0); c++) {
		size_t n = steps / FC_ARRAY_LEN(cycle_t0);

		restore_best(&x);
		t0 = cycle_t0[c] * b->gain_min;
		f = pow(1e-3, 1.0 / (double)n);
		for (k = 0, t = t0; k < n; k++, t *= f)
			anneal_step(&x, t);
	}
	restore_best(&x);
	ret = 0;
out:
	free(x.cand);
	free(x.away);
	free(x.pos);
	free(x.best_vm);
	free(x.best_host);
	free(x.ph);
	free(x.pbeg);
	return ret;
}

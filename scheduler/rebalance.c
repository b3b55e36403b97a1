/*
 * rebalance.c - migration plans (see rebalance.h).
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

#include "scheduler/rebalance.h"

#include "common/err.h"
#include "common/util.h"
#include "scheduler/ganeti_score.h"
#include "scheduler/htools.h"
#include "scheduler/plan.h"
#include "scheduler/problem.h"

/* Pools of at most this many hosts are searched over all host pairs. */
#define REBAL_FULL_HOSTS 96
/* Otherwise this many sources and destinations per pool and step. */
#define REBAL_CANDIDATES 16
#define REBAL_DESTS 8

/* --- balance scores behind one interface --------------------------- */

struct scorer {
	void *ctx;
	double (*value)(void *ctx);
	double (*try_move)(void *ctx, size_t vm, size_t to);
	void (*move)(void *ctx, size_t vm, size_t to);
	void (*release)(void *ctx);
	const char *metric;
};

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
	for (k = 0; k < e->p->npools * DIM_COUNT; k++)
		e->total += sd_of(e->sum[k], e->sq[k], e->n[k]);
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
		t += sd_of(sa, qa, e->n[ea]) -
		     sd_of(e->sum[ea], e->sq[ea], e->n[ea]);
		if (pa != pb)
			t += sd_of(sb, qb, e->n[eb]) -
			     sd_of(e->sum[eb], e->sq[eb], e->n[eb]);
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
	e->host = calloc(p->nvms ? p->nvms : 1, sizeof(int));
	if (e->used == NULL || e->usable == NULL || e->counted == NULL ||
	    e->sum == NULL || e->sq == NULL || e->n == NULL || e->host == NULL)
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

static int scorer_init(struct scorer *sc, const struct sched_problem *p,
		       const int *host)
{
	memset(sc, 0, sizeof(*sc));
	if (p->htools != NULL) {
		sc->ctx = ganeti_score_new(p, host);
		if (sc->ctx == NULL)
			return -1;
		sc->value = g_value;
		sc->try_move = g_try;
		sc->move = g_move;
		sc->release = g_release;
		sc->metric = "ganeti";
		return 0;
	}
	sc->ctx = eta_scorer_new(p);
	if (sc->ctx == NULL)
		return -1;
	sc->value = e_value;
	sc->try_move = e_try;
	sc->move = e_move;
	sc->release = e_release;
	sc->metric = "eta";
	return 0;
}

/* --- the planner ---------------------------------------------------- */

struct hlist {
	size_t *vm;
	size_t n, cap;
};

struct rb {
	const struct sched_problem *p;
	const struct rebal_opts *o;
	struct rebal_result *r;
	struct sched_state *s;
	struct scorer sc;
	bool *moved, *movable, *blocked;
	struct hlist *hv;
	size_t mcap;
	double bias;            /* fixed cost of a migration, in MiB */
	const double *lp_x;     /* pack: the capacity plan's X per host */
	double gain_min;        /* score a migration must buy (spread) */
	double step_min;        /* smallest gain of a search step */
	bool stop;              /* the move budget is spent */
	size_t *order;          /* host indices, for candidate selection */
	size_t *pstart, *pend;  /* per pool: its range in order */
	double *load;
};

static int hl_add(struct hlist *l, size_t vm)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 8;
		size_t *t = realloc(l->vm, nc * sizeof(*t));

		if (t == NULL)
			return err_set("out of memory");
		l->vm = t;
		l->cap = nc;
	}
	l->vm[l->n++] = vm;
	return 0;
}

static void hl_del(struct hlist *l, size_t vm)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->vm[i] == vm) {
			l->vm[i] = l->vm[--l->n];
			return;
		}
}

static double objective(struct rb *b)
{
	if (b->o->policy == REBAL_PACK)
		return sched_state_cost(b->s);
	return b->sc.value(b->sc.ctx);
}

static bool budget_left(struct rb *b)
{
	if (b->o->max_moves == 0 || b->r->nmoves < b->o->max_moves)
		return true;
	b->r->max_moves_reached = true;
	b->stop = true;
	return false;
}

static int do_move(struct rb *b, size_t vm, size_t to, enum rebal_phase ph)
{
	struct rebal_result *r = b->r;
	struct rebal_move *m;
	size_t from = (size_t)sched_state_host_of(b->s, vm);

	if (r->nmoves == b->mcap) {
		size_t nc = b->mcap ? b->mcap * 2 : 64;
		struct rebal_move *t = realloc(r->moves, nc * sizeof(*t));

		if (t == NULL)
			return err_set("out of memory");
		r->moves = t;
		b->mcap = nc;
	}
	m = &r->moves[r->nmoves];
	m->vm = vm;
	m->from = from;
	m->to = to;
	m->mem_mib = b->p->vms[vm].req[DIM_MEM];
	if (b->p->htools != NULL)
		m->mem_mib = (double)b->p->htools->insts[vm].mem;
	m->phase = ph;
	m->score_before = objective(b);
	if (hl_add(&b->hv[to], vm) < 0)
		return -1;
	hl_del(&b->hv[from], vm);
	sched_state_assign(b->s, vm, to);
	b->sc.move(b->sc.ctx, vm, to);
	m->score_after = objective(b);
	b->moved[vm] = true;
	r->mib_moved += m->mem_mib;
	r->nmoves++;
	return 0;
}

/* Undo the last move (used when a host cannot be emptied after all). */
static void undo_move(struct rb *b)
{
	struct rebal_move *m = &b->r->moves[--b->r->nmoves];

	hl_del(&b->hv[m->to], m->vm);
	/* Cannot fail: the VM left from's list, so it has room again. */
	(void)hl_add(&b->hv[m->from], m->vm);
	sched_state_assign(b->s, m->vm, m->from);
	b->sc.move(b->sc.ctx, m->vm, m->from);
	b->moved[m->vm] = false;
	b->r->mib_moved -= m->mem_mib;
}

static int add_unresolved(struct rebal_result *r, const char *fmt, ...)
	FC_PRINTF(2, 3);

static int add_unresolved(struct rebal_result *r, const char *fmt, ...)
{
	char msg[512], *dup, **t;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dup = strdup(msg);
	t = realloc(r->unresolved, (r->nunresolved + 1) * sizeof(*t));
	if (dup == NULL || t == NULL) {
		free(dup);
		if (t != NULL)
			r->unresolved = t;
		return err_set("out of memory");
	}
	r->unresolved = t;
	r->unresolved[r->nunresolved++] = dup;
	return 0;
}

static bool same_group_needed(const struct rb *b, size_t from, size_t to)
{
	/* Ganeti moves instances only inside their node group. */
	return b->p->htools != NULL &&
	       b->p->hosts[from].pool != b->p->hosts[to].pool;
}

enum dest_mode { DEST_SCORE, DEST_FIT };

/* The best feasible new host for vm, or -1 (why gets the reason of the
 * last refusal, for the report). */
static int best_dest(struct rb *b, size_t vm, enum dest_mode mode, char *why,
		     size_t whysize)
{
	const struct sched_problem *p = b->p;
	size_t from = (size_t)sched_state_host_of(b->s, vm), h;
	double best = INFINITY;
	int best_h = -1, last_h = -1, last_detail = 0;
	enum sched_reason last = SCHED_OK;

	for (h = 0; h < p->nhosts; h++) {
		double key;
		enum sched_reason code;
		int detail = 0;

		if (h == from || b->blocked[h] || same_group_needed(b, from, h))
			continue;
		if (mode == DEST_SCORE) {
			key = b->sc.try_move(b->sc.ctx, vm, h);
		} else {
			/* best fit on hosts already running VMs: least
			 * memory left, cheapest first */
			double head = sched_state_headroom(b->s, h, DIM_MEM) -
				      p->vms[vm].req[DIM_MEM];
			double use = sched_state_usable(b->s, h, DIM_MEM);

			bool empty = sched_state_nvms(b->s, h) == 0;

			/* packing opens no host the LP does not use */
			if (empty && b->lp_x != NULL && b->lp_x[h] <= 1e-6)
				continue;
			key = (use > 0 ? head / use : 0) + (empty ? 2.0 : 0) +
			      p->hosts[h].cost * 1e-9;
		}
		if (key >= best)
			continue;
		code = sched_state_check_code(b->s, vm, h, &detail);
		if (code != SCHED_OK) {
			last = code;
			last_h = (int)h;
			last_detail = detail;
			continue;
		}
		best = key;
		best_h = (int)h;
	}
	if (best_h < 0 && why != NULL) {
		if (last_h >= 0)
			sched_state_reason(b->s, vm, (size_t)last_h, last,
					   last_detail, why, whysize);
		else
			snprintf(why, whysize, "no other host in its pool");
	}
	return best_h;
}

static int cmp_mem_desc(const void *a, const void *b, void *ctx)
{
	const struct sched_problem *p = ctx;
	double x = p->vms[*(const size_t *)a].req[DIM_MEM];
	double y = p->vms[*(const size_t *)b].req[DIM_MEM];

	if (x != y)
		return x < y ? 1 : -1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

static const char *vm_name(const struct rb *b, size_t vm)
{
	return b->p->vms[vm].name;
}

static const char *host_name(const struct rb *b, size_t h)
{
	return b->p->hosts[h].name;
}

static int find_violations(struct rb *b)
{
	const struct sched_problem *p = b->p;
	struct rebal_result *r = b->r;
	size_t i, cap = 0;

	for (i = 0; i < p->nvms; i++) {
		int h = p->vms[i].host;
		enum sched_reason code;
		struct rebal_violation *v;
		int detail = 0;

		if (h < 0)
			continue;
		if (p->hosts[h].state != HOST_UP)
			code = SCHED_X_STATE;
		else
			code = sched_state_check_code(b->s, i, (size_t)h,
						      &detail);
		if (code == SCHED_OK)
			continue;
		if (r->nviolations == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct rebal_violation *t =
				realloc(r->violations, nc * sizeof(*t));

			if (t == NULL)
				return err_set("out of memory");
			r->violations = t;
			cap = nc;
		}
		v = &r->violations[r->nviolations++];
		memset(v, 0, sizeof(*v));
		v->vm = i;
		v->host = h;
		v->code = code;
		if (code == SCHED_X_STATE)
			snprintf(v->reason, sizeof(v->reason),
				 "host '%s' is %s: its VMs must leave",
				 p->hosts[h].name,
				 sched_host_state_name(p->hosts[h].state));
		else
			sched_state_reason(b->s, i, (size_t)h, code, detail,
					   v->reason, sizeof(v->reason));
	}
	return 0;
}

static int repair(struct rb *b)
{
	struct rebal_result *r = b->r;
	size_t i;

	for (i = 0; i < r->nviolations && !b->stop; i++) {
		struct rebal_violation *v = &r->violations[i];
		int h = sched_state_host_of(b->s, v->vm), to;
		char why[320];

		if (h != v->host) {
			v->repaired = true;
			continue;
		}
		if (b->p->hosts[h].state == HOST_UP &&
		    sched_state_check_code(b->s, v->vm, (size_t)h, NULL) ==
			    SCHED_OK) {
			v->repaired = true; /* another move fixed it */
			continue;
		}
		if (!b->movable[v->vm]) {
			if (add_unresolved(r, "vm '%s' on host '%s' breaks a "
					   "constraint (%s) but cannot be "
					   "live-migrated", vm_name(b, v->vm),
					   host_name(b, (size_t)h),
					   sched_reason_name(v->code)) < 0)
				return -1;
			continue;
		}
		to = best_dest(b, v->vm,
			       b->o->policy == REBAL_PACK ? DEST_FIT : DEST_SCORE,
			       why, sizeof(why));
		if (to < 0) {
			if (add_unresolved(r, "vm '%s' on host '%s' breaks a "
					   "constraint (%s) and no host can take "
					   "it: %s", vm_name(b, v->vm),
					   host_name(b, (size_t)h),
					   sched_reason_name(v->code), why) < 0)
				return -1;
			continue;
		}
		if (!budget_left(b))
			break;
		if (do_move(b, v->vm, (size_t)to, REBAL_REPAIR) < 0)
			return -1;
		v->repaired = true;
	}
	return 0;
}

static int evacuate(struct rb *b)
{
	const struct rebal_opts *o = b->o;
	size_t e, i;
	int ret = -1;
	size_t *vms = NULL;

	for (e = 0; e < o->nevacuate && !b->stop; e++) {
		size_t h = o->evacuate[e], n = b->hv[h].n;
		char why[320];

		free(vms);
		vms = malloc((n ? n : 1) * sizeof(*vms));
		if (vms == NULL) {
			err_set("out of memory");
			goto out;
		}
		memcpy(vms, b->hv[h].vm, n * sizeof(*vms));
		qsort_r(vms, n, sizeof(*vms), cmp_mem_desc, (void *)b->p);
		for (i = 0; i < n; i++) {
			int to;

			if (!b->movable[vms[i]]) {
				if (add_unresolved(b->r, "host '%s': vm '%s' "
						   "cannot be live-migrated",
						   host_name(b, h),
						   vm_name(b, vms[i])) < 0)
					goto out;
				continue;
			}
			to = best_dest(b, vms[i],
				       o->policy == REBAL_PACK ? DEST_FIT :
								 DEST_SCORE,
				       why, sizeof(why));
			if (to < 0) {
				if (add_unresolved(b->r, "host '%s': no host can "
						   "take vm '%s': %s",
						   host_name(b, h),
						   vm_name(b, vms[i]), why) < 0)
					goto out;
				continue;
			}
			if (!budget_left(b))
				break;
			if (do_move(b, vms[i], (size_t)to, REBAL_EVACUATE) < 0)
				goto out;
		}
		if (b->hv[h].n == 0)
			b->r->hosts_emptied++;
	}
	ret = 0;
out:
	free(vms);
	return ret;
}

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

/* One search step; 1 when a move was made, 0 when none is worth it. */
static int search_step(struct rb *b, struct search *x)
{
	const struct sched_problem *p = b->p;
	double cur = x->sc.value(x->sc.ctx), best = b->step_min;
	size_t start, end, best_vm = 0, best_to = 0, best_from = 0;
	int best_dc = 0;
	bool found = false;

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
					if (obj <= best)
						continue;
					if (sched_state_check_code(x->s, vm, dst,
								   NULL) !=
					    SCHED_OK)
						continue;
					best = obj;
					best_vm = vm;
					best_to = dst;
					best_from = src;
					best_dc = dc;
					found = true;
				}
			}
		}
	}
	if (!found)
		return 0;
	if (hl_add(&x->hv[best_to], best_vm) < 0)
		return -1;
	hl_del(&x->hv[best_from], best_vm);
	sched_state_assign(x->s, best_vm, best_to);
	x->sc.move(x->sc.ctx, best_vm, best_to);
	x->count = (size_t)((long)x->count + best_dc);
	return 1;
}

static void search_apply(struct search *x, size_t vm, size_t from, size_t to)
{
	int home = x->origin[vm];
	int dc = ((int)from == home) - ((int)to == home);

	/* The caller has already added vm to to's list (that may fail). */
	hl_del(&x->hv[from], vm);
	sched_state_assign(x->s, vm, to);
	x->sc.move(x->sc.ctx, vm, to);
	x->count = (size_t)((long)x->count + dc);
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
	double cur = x->sc.value(x->sc.ctx), best = b->step_min;
	size_t k, d, best_vm = 0, best_to = 0;
	bool found = false;

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
			double gain;

			if (to == from || b->blocked[to] ||
			    to == (size_t)x->origin[vm])
				continue;
			gain = cur - x->sc.try_move(x->sc.ctx, vm, to);
			if (gain <= best)
				continue;
			if (sched_state_check_code(x->s, vm, to, NULL) !=
			    SCHED_OK)
				continue;
			best = gain;
			best_vm = vm;
			best_to = to;
			found = true;
		}
	}
	if (!found)
		return 0;
	if (hl_add(&x->hv[best_to], best_vm) < 0)
		return -1;
	search_apply(x, best_vm, (size_t)sched_state_host_of(x->s, best_vm),
		     best_to);
	return 1;
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
		double cur = x->sc.value(x->sc.ctx), best = INFINITY;
		size_t best_vm = 0;
		bool found = false;

		naway = 0;
		for (i = 0; i < p->nvms; i++)
			if (x->origin[i] >= 0 &&
			    sched_state_host_of(x->s, i) != x->origin[i])
				away[naway++] = i;
		for (i = 0; i < naway; i++) {
			size_t vm = away[i], home = (size_t)x->origin[vm];
			double loss = x->sc.try_move(x->sc.ctx, vm, home) - cur;

			if (loss >= best)
				continue;
			if (sched_state_check_code(x->s, vm, home, NULL) !=
			    SCHED_OK)
				continue;
			best = loss;
			best_vm = vm;
			found = true;
		}
		if (!found || best > min_loss)
			break;
		if (hl_add(&x->hv[x->origin[best_vm]], best_vm) < 0)
			goto out;
		search_apply(x, best_vm,
			     (size_t)sched_state_host_of(x->s, best_vm),
			     (size_t)x->origin[best_vm]);
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

struct pending {
	size_t vm;
	double key;
};

static int cmp_pending(const void *x, const void *y)
{
	const struct pending *a = x, *c = y;

	if (a->key != c->key)
		return a->key < c->key ? 1 : -1;
	return a->vm < c->vm ? -1 : (a->vm > c->vm);
}

/* Migrate the VMs whose target differs from their host, each once, in a
 * feasible order: by gain per migration cost, re-ranked after every
 * batch (1/16 of what is left, so small plans are ranked every step). */
static int order_moves(struct rb *b, const int *target)
{
	const struct sched_problem *p = b->p;
	struct pending *pend = NULL;
	size_t np = 0, i, k;
	int ret = -1;

	pend = malloc((p->nvms ? p->nvms : 1) * sizeof(*pend));
	if (pend == NULL)
		return err_set("out of memory");
	for (i = 0; i < p->nvms; i++)
		if (target[i] >= 0 && target[i] != sched_state_host_of(b->s, i))
			pend[np++].vm = i;
	while (np > 0 && budget_left(b)) {
		double cur = b->sc.value(b->sc.ctx);
		size_t batch = np / 16 ? np / 16 : 1, done = 0, keep = 0;

		for (k = 0; k < np; k++) {
			size_t vm = pend[k].vm;

			pend[k].key = (cur - b->sc.try_move(b->sc.ctx, vm,
							    (size_t)target[vm])) /
				      migration_cost(b, vm);
		}
		qsort(pend, np, sizeof(*pend), cmp_pending);
		for (k = 0; k < np; k++) {
			size_t vm = pend[k].vm, to = (size_t)target[vm];

			if (done < batch && budget_left(b) &&
			    sched_state_check_code(b->s, vm, to, NULL) ==
				    SCHED_OK) {
				if (do_move(b, vm, to, REBAL_BALANCE) < 0)
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

static int spread(struct rb *b)
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
		if (x.origin[i] >= 0 && hl_add(&x.hv[x.origin[i]], i) < 0)
			goto out;
	}
	if (scorer_init(&x.sc, p, x.origin) < 0)
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
	if (x.hv != NULL)
		for (i = 0; i < p->nhosts; i++)
			free(x.hv[i].vm);
	free(x.hv);
	free(x.origin);
	free(target);
	return ret;
}

struct pack_cand {
	size_t host;
	double cost, mem;
	bool emptied;
	size_t moves_after;     /* plan length once it was empty */
	double cost_after;
};

static int cmp_pack(const void *x, const void *y)
{
	const struct pack_cand *a = x, *c = y;

	if (a->cost != c->cost)
		return a->cost < c->cost ? 1 : -1;
	if (a->mem != c->mem)
		return a->mem < c->mem ? -1 : 1;
	return a->host < c->host ? -1 : (a->host > c->host);
}

/* Empty the most expensive hosts the LP does not need. */
static int pack(struct rb *b)
{
	const struct sched_problem *p = b->p;
	struct sched_plan pl = { 0 };
	struct pack_cand *c = NULL;
	size_t *vms = NULL;
	bool *placed = NULL;
	size_t nc = 0, i, k, best_moves;
	double best_cost;
	int ret = -1;

	/* The demand is what runs now: VMs without a host are not ours to
	 * place here. */
	placed = calloc(p->nvms ? p->nvms : 1, sizeof(*placed));
	if (placed == NULL) {
		err_set("out of memory");
		goto out;
	}
	for (i = 0; i < p->nvms; i++)
		placed[i] = sched_state_host_of(b->s, i) >= 0;
	if (sched_plan_lp_subset(b->s, PLAN_FREE, placed, &pl) < 0)
		goto out;
	if (!pl.feasible) {
		if (add_unresolved(b->r, "the capacity plan is infeasible: "
				   "the VMs need more than the hosts offer, "
				   "nothing to pack") < 0)
			goto out;
		ret = 0;
		goto out;
	}
	c = calloc(p->nhosts ? p->nhosts : 1, sizeof(*c));
	if (c == NULL) {
		err_set("out of memory");
		goto out;
	}
	for (i = 0; i < p->nhosts; i++) {
		if (pl.x[i] > 1e-6 || b->hv[i].n == 0 || b->blocked[i] ||
		    p->hosts[i].state != HOST_UP)
			continue;
		c[nc].host = i;
		c[nc].cost = p->hosts[i].cost;
		c[nc].mem = sched_state_used(b->s, i, DIM_MEM);
		nc++;
	}
	qsort(c, nc, sizeof(*c), cmp_pack);
	b->lp_x = pl.x;
	best_cost = sched_state_cost(b->s);
	best_moves = b->r->nmoves;
	for (k = 0; k < nc && !b->stop; k++) {
		size_t h = c[k].host, n = b->hv[h].n, done = 0;
		bool ok = true;

		if (b->o->max_moves != 0 &&
		    b->r->nmoves + n > b->o->max_moves) {
			b->r->max_moves_reached = true;
			continue;
		}
		free(vms);
		vms = malloc((n ? n : 1) * sizeof(*vms));
		if (vms == NULL) {
			err_set("out of memory");
			goto out;
		}
		memcpy(vms, b->hv[h].vm, n * sizeof(*vms));
		qsort_r(vms, n, sizeof(*vms), cmp_mem_desc, (void *)p);
		b->blocked[h] = true;
		for (i = 0; i < n && ok; i++) {
			int to;

			if (!b->movable[vms[i]] || b->moved[vms[i]]) {
				ok = false;
				break;
			}
			to = best_dest(b, vms[i], DEST_FIT, NULL, 0);
			if (to < 0) {
				ok = false;
				break;
			}
			if (do_move(b, vms[i], (size_t)to, REBAL_EMPTY) < 0)
				goto out;
			done++;
		}
		if (!ok) {
			while (done-- > 0)
				undo_move(b);
			b->blocked[h] = false;
			continue;
		}
		c[k].emptied = true;
		c[k].moves_after = b->r->nmoves;
		c[k].cost_after = sched_state_cost(b->s);
		if (c[k].cost_after < best_cost - 1e-9) {
			best_cost = c[k].cost_after;
			best_moves = b->r->nmoves;
		}
	}
	/* Opening a host the LP uses can cost more until the hosts it
	 * replaces are empty: keep the prefix of the plan that costs least. */
	while (b->r->nmoves > best_moves)
		undo_move(b);
	for (k = 0; k < nc; k++) {
		if (!c[k].emptied)
			continue;
		if (c[k].moves_after <= best_moves)
			b->r->hosts_emptied++;
		else
			b->blocked[c[k].host] = false;
	}
	ret = 0;
out:
	b->lp_x = NULL;
	free(vms);
	free(c);
	free(placed);
	sched_plan_free(&pl);
	return ret;
}

void rebal_opts_init(struct rebal_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->policy = REBAL_SPREAD;
	o->min_gain = 0;
}

void rebal_result_free(struct rebal_result *r)
{
	size_t i;

	if (r == NULL)
		return;
	free(r->moves);
	free(r->violations);
	for (i = 0; i < r->nunresolved; i++)
		free(r->unresolved[i]);
	free(r->unresolved);
	memset(r, 0, sizeof(*r));
}

int rebal_plan(const struct sched_problem *p, const struct rebal_opts *o,
	       struct rebal_result *out)
{
	struct rb b;
	size_t i, nmov = 0;
	double summem = 0;
	int ret = -1;

	memset(&b, 0, sizeof(b));
	memset(out, 0, sizeof(*out));
	b.p = p;
	b.o = o;
	b.r = out;
	if (o->min_gain < 0)
		return err_set("min gain must be >= 0, got %g", o->min_gain);
	for (i = 0; i < o->nevacuate; i++)
		if (o->evacuate[i] >= p->nhosts)
			return err_set("evacuate: no host with index %zu",
				       o->evacuate[i]);
	b.s = sched_state_new(p);
	if (b.s == NULL)
		goto out;
	if (scorer_init(&b.sc, p, NULL) < 0)
		goto out;
	b.moved = calloc(p->nvms ? p->nvms : 1, sizeof(bool));
	b.movable = calloc(p->nvms ? p->nvms : 1, sizeof(bool));
	b.blocked = calloc(p->nhosts ? p->nhosts : 1, sizeof(bool));
	b.hv = calloc(p->nhosts ? p->nhosts : 1, sizeof(*b.hv));
	b.order = calloc(p->nhosts ? p->nhosts : 1, sizeof(size_t));
	b.load = calloc(p->nhosts ? p->nhosts : 1, sizeof(double));
	b.pstart = calloc(p->npools ? p->npools : 1, sizeof(size_t));
	b.pend = calloc(p->npools ? p->npools : 1, sizeof(size_t));
	if (b.moved == NULL || b.movable == NULL || b.blocked == NULL ||
	    b.hv == NULL || b.order == NULL || b.load == NULL ||
	    b.pstart == NULL || b.pend == NULL) {
		err_set("out of memory");
		goto out;
	}
	for (i = 0; i < p->nhosts; i++)
		b.blocked[i] = p->hosts[i].state != HOST_UP;
	for (i = 0; i < o->nevacuate; i++)
		b.blocked[o->evacuate[i]] = true;
	for (i = 0; i < p->nvms; i++) {
		if (p->vms[i].host < 0)
			continue;
		if (hl_add(&b.hv[p->vms[i].host], i) < 0)
			goto out;
		b.movable[i] = htools_vm_movable(p, i);
		if (b.movable[i]) {
			summem += p->htools ? (double)p->htools->insts[i].mem :
					      p->vms[i].req[DIM_MEM];
			nmov++;
		}
	}
	/* A migration costs a fixed part (setup, switch-over) worth an
	 * average VM's memory, plus the memory it copies. */
	b.bias = nmov ? summem / (double)nmov : 1024;
	if (b.bias < 256)
		b.bias = 256;
	out->metric = o->policy == REBAL_PACK ? "cost" : b.sc.metric;
	out->score_before = objective(&b);
	b.gain_min = o->min_gain;
	if (b.gain_min <= 0) {
		/* Auto: a move gains about score / hosts early on; the plan
		 * keeps migrations worth 3% of that. */
		size_t up = 0;

		for (i = 0; i < p->nhosts; i++)
			up += p->hosts[i].state == HOST_UP;
		b.gain_min = 0.03 * b.sc.value(b.sc.ctx) /
			     (double)(up ? up : 1);
	}
	b.step_min = b.gain_min / 20;
	if (b.step_min < 1e-9)
		b.step_min = 1e-9;
	if (find_violations(&b) < 0 || repair(&b) < 0)
		goto out;
	if (evacuate(&b) < 0)
		goto out;
	if (!b.stop) {
		if (o->policy == REBAL_PACK) {
			if (pack(&b) < 0)
				goto out;
		} else if (spread(&b) < 0) {
			goto out;
		}
	}
	out->score_after = objective(&b);
	if (o->policy != REBAL_PACK && p->htools != NULL) {
		/* Claim the score recomputed from scratch, as hinfo will. */
		int *host = malloc((p->nvms ? p->nvms : 1) * sizeof(*host));
		struct ganeti_score *g;

		if (host == NULL) {
			err_set("out of memory");
			goto out;
		}
		for (i = 0; i < p->nvms; i++)
			host[i] = sched_state_host_of(b.s, i);
		g = ganeti_score_new(p, host);
		free(host);
		if (g == NULL)
			goto out;
		out->score_after = ganeti_score_value(g);
		ganeti_score_free(g);
	}
	ret = 0;
out:
	if (ret < 0)
		rebal_result_free(out);
	if (b.sc.release != NULL)
		b.sc.release(b.sc.ctx);
	sched_state_free(b.s);
	if (b.hv != NULL)
		for (i = 0; i < p->nhosts; i++)
			free(b.hv[i].vm);
	free(b.hv);
	free(b.moved);
	free(b.movable);
	free(b.blocked);
	free(b.order);
	free(b.load);
	free(b.pstart);
	free(b.pend);
	return ret;
}

void rebal_apply(const struct rebal_result *r, struct sched_problem *p)
{
	size_t i;

	for (i = 0; i < r->nmoves; i++)
		p->vms[r->moves[i].vm].host = (int)r->moves[i].to;
}

const char *rebal_phase_name(enum rebal_phase ph)
{
	switch (ph) {
	case REBAL_REPAIR:
		return "repair";
	case REBAL_EVACUATE:
		return "evacuate";
	case REBAL_BALANCE:
		return "balance";
	case REBAL_EMPTY:
		return "empty";
	}
	return "?";
}

cJSON *rebal_result_to_json(const struct sched_problem *p,
			    const struct rebal_opts *o,
			    const struct rebal_result *r)
{
	cJSON *root = cJSON_CreateObject(), *a, *it = NULL;
	size_t i;

	if (root == NULL)
		return NULL;
	if (cJSON_AddStringToObject(root, "metric", r->metric) == NULL ||
	    cJSON_AddStringToObject(root, "policy",
				    o->policy == REBAL_PACK ? "pack" :
							      "spread") == NULL ||
	    cJSON_AddNumberToObject(root, "score_before", r->score_before) ==
		    NULL ||
	    cJSON_AddNumberToObject(root, "score_after", r->score_after) ==
		    NULL ||
	    cJSON_AddNumberToObject(root, "mib_moved", r->mib_moved) == NULL ||
	    cJSON_AddNumberToObject(root, "hosts_emptied",
				    (double)r->hosts_emptied) == NULL ||
	    cJSON_AddBoolToObject(root, "max_moves_reached",
				  r->max_moves_reached) == NULL)
		goto oom;
	a = cJSON_AddArrayToObject(root, "moves");
	if (a == NULL)
		goto oom;
	for (i = 0; i < r->nmoves; i++) {
		const struct rebal_move *m = &r->moves[i];

		it = cJSON_CreateObject();
		if (it == NULL || !cJSON_AddItemToArray(a, it))
			goto oom_it;
		if (cJSON_AddStringToObject(it, "vm", p->vms[m->vm].name) ==
			    NULL ||
		    cJSON_AddStringToObject(it, "from",
					    p->hosts[m->from].name) == NULL ||
		    cJSON_AddStringToObject(it, "to", p->hosts[m->to].name) ==
			    NULL ||
		    cJSON_AddNumberToObject(it, "mem_mib", m->mem_mib) == NULL ||
		    cJSON_AddStringToObject(it, "phase",
					    rebal_phase_name(m->phase)) ==
			    NULL ||
		    cJSON_AddNumberToObject(it, "score_before",
					    m->score_before) == NULL ||
		    cJSON_AddNumberToObject(it, "score_after", m->score_after) ==
			    NULL)
			goto oom;
	}
	a = cJSON_AddArrayToObject(root, "violations");
	if (a == NULL)
		goto oom;
	for (i = 0; i < r->nviolations; i++) {
		const struct rebal_violation *v = &r->violations[i];

		it = cJSON_CreateObject();
		if (it == NULL || !cJSON_AddItemToArray(a, it))
			goto oom_it;
		if (cJSON_AddStringToObject(it, "vm", p->vms[v->vm].name) ==
			    NULL ||
		    cJSON_AddStringToObject(it, "host",
					    p->hosts[v->host].name) == NULL ||
		    cJSON_AddStringToObject(it, "constraint",
					    sched_reason_name(v->code)) ==
			    NULL ||
		    cJSON_AddStringToObject(it, "reason", v->reason) == NULL ||
		    cJSON_AddBoolToObject(it, "repaired", v->repaired) == NULL)
			goto oom;
	}
	a = cJSON_AddArrayToObject(root, "unresolved");
	if (a == NULL)
		goto oom;
	for (i = 0; i < r->nunresolved; i++) {
		it = cJSON_CreateString(r->unresolved[i]);
		if (it == NULL || !cJSON_AddItemToArray(a, it))
			goto oom_it;
	}
	return root;
oom_it:
	cJSON_Delete(it);
oom:
	cJSON_Delete(root);
	return NULL;
}

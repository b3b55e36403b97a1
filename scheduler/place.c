/*
 * place.c - the batch driver (sched_place_all, see place.h) and the state
 * the batch solvers share (place_int.h): the VMs of each host, prices and
 * the opening order from the capacity-plan LP, finishing one by one with
 * make-room moves, the final bound.
 */
#include <math.h>

#include "common/fc.h"

#include "common/err.h"
#include "scheduler/place_int.h"
#include "scheduler/problem.h"

/* Problems with at most this many (VM to place, host) pairs are solved by
 * the full MIP first, with a default limit of 5 s (measured on gen
 * problems of six shapes, docs/scheduler.md: up to 20 x 120 it ends
 * where a 20 s search does, 5 of 6 equal and one 0.5% above; at 24 x 150
 * 3-5% above). */
#define EXACT_PAIRS 2400
/* Problems with at most this many (VM, host) pairs get the LP relaxation
 * of the full MIP as their bound when it is higher (measured: below
 * 0.02 s at 20 x 150, 0.1 s at 30 x 300, 0.4 s at 40 x 400). */
#define ASSIGN_LP_PAIRS 10000

static int hv_add(struct hostvms *l, int vm)
{
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 8;
		int *nv = realloc(l->v, (size_t)cap * sizeof(*nv));

		if (nv == NULL)
			return err_set("out of memory");
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = vm;
	return 0;
}

static void hv_del(struct hostvms *l, int vm)
{
	for (int i = 0; i < l->n; i++) {
		if (l->v[i] == vm) {
			l->v[i] = l->v[--l->n];
			return;
		}
	}
}

int place_assign(struct batch *b, size_t vm, size_t host)
{
	int cur = sched_state_host_of(b->s, vm);

	if (cur == (int)host)
		return 0;
	if (cur >= 0)
		hv_del(&b->hv[cur], (int)vm);
	sched_state_assign(b->s, vm, host);
	return hv_add(&b->hv[host], (int)vm);
}

void place_unassign(struct batch *b, size_t vm)
{
	int cur = sched_state_host_of(b->s, vm);

	if (cur < 0)
		return;
	hv_del(&b->hv[cur], (int)vm);
	sched_state_unassign(b->s, vm);
}

void place_batch_free(struct batch *b)
{
	if (b->hv != NULL) {
		for (size_t h = 0; h < b->p->nhosts; h++)
			free(b->hv[h].v);
	}
	free(b->hv);
	free(b->gfirst);
	free(b->gnext);
	sched_state_free(b->orig);
	free(b->pinned);
	free(b->npinned);
	free(b->w);
}

void place_set_prices(struct batch *b, const struct sched_plan *pl)
{
	const struct sched_problem *p = b->p;
	double sum = 0, tot[DIM_COUNT] = {0};

	for (int d = 0; pl != NULL && d < DIM_COUNT; d++)
		sum += pl->dual[d] > 0 ? pl->dual[d] : 0;
	for (size_t h = 0; h < p->nhosts; h++)
		for (int d = 0; d < DIM_COUNT; d++)
			tot[d] += sched_state_usable(b->s, h,
						     (enum sched_dim)d);
	for (int d = 0; d < DIM_COUNT; d++) {
		double norm = tot[d] > 0 ? (double)p->nhosts / tot[d] : 0;

		if (pl == NULL) {
			b->price[d] = norm;
			continue;
		}
		/* A small share of the size keeps VMs ordered in the
		 * dimensions the LP prices at 0. */
		b->price[d] = (sum > 0 ? (pl->dual[d] > 0 ? pl->dual[d] : 0)
				       : 0) +
			      1e-3 * norm * (sum > 0 ? sum : 1000);
	}
	for (size_t v = 0; v < p->nvms; v++) {
		b->w[v] = 0;
		for (int d = 0; d < DIM_COUNT; d++)
			b->w[v] += b->price[d] * p->vms[v].req[d];
	}
}

/* Hosts in an order to open them: band first, then cost per priced unit
 * of capacity (eff), then index. */
struct hkey {
	size_t h;
	double band;
	double eff;
};

static int hkey_cmp(const void *a, const void *b)
{
	const struct hkey *x = a, *y = b;

	if (x->band != y->band)
		return x->band < y->band ? -1 : 1;
	if (x->eff != y->eff)
		return x->eff < y->eff ? -1 : 1;
	return x->h < y->h ? -1 : x->h > y->h;
}

size_t *place_host_order(struct batch *b, const struct sched_plan *pl)
{
	const struct sched_problem *p = b->p;
	struct hkey *k = calloc(p->nhosts + 1, sizeof(*k));
	size_t *order = calloc(p->nhosts + 1, sizeof(*order));

	if (k == NULL || order == NULL) {
		free(k);
		free(order);
		err_set("out of memory");
		return NULL;
	}
	for (size_t h = 0; h < p->nhosts; h++) {
		double value = 0;

		for (int d = 0; d < DIM_COUNT; d++)
			value += b->price[d] *
				 sched_state_usable(b->s, h, (enum sched_dim)d);
		k[h].h = h;
		k[h].eff = value > 0 ? p->hosts[h].cost / value : INFINITY;
		if (pl == NULL)
			k[h].band = 0;
		else if (p->hosts[h].state != HOST_UP)
			k[h].band = 9;
		else if (p->pools[p->hosts[h].pool].policy == POLICY_SPREAD)
			k[h].band = 8;
		else if (sched_state_nvms(b->s, h) > 0)
			k[h].band = 0;
		else if (pl->feasible && pl->x[h] > 1 - 1e-6)
			k[h].band = 1;
		else if (pl->feasible && pl->x[h] > 1e-9)
			k[h].band = 2 - pl->x[h];
		else
			k[h].band = 3;
	}
	qsort(k, p->nhosts, sizeof(*k), hkey_cmp);
	for (size_t h = 0; h < p->nhosts; h++)
		order[h] = k[h].h;
	free(k);
	return order;
}

size_t *place_host_order_fit(struct batch *b, const size_t *waiting,
			     size_t nwaiting)
{
	const struct sched_problem *p = b->p;
	struct hkey *k = calloc(p->nhosts + 1, sizeof(*k));
	size_t *order = calloc(p->nhosts + 1, sizeof(*order));
	double dem[DIM_COUNT] = {0};

	if (k == NULL || order == NULL) {
		free(k);
		free(order);
		err_set("out of memory");
		return NULL;
	}
	for (size_t i = 0; i < nwaiting; i++)
		for (int d = 0; d < DIM_COUNT; d++)
			dem[d] += p->vms[waiting[i]].req[d];
	for (size_t h = 0; h < p->nhosts; h++) {
		double fit = INFINITY;

		/* How much of the demand, as it is mixed, the host holds:
		 * its scarcest dimension decides. */
		for (int d = 0; d < DIM_COUNT; d++) {
			double f;

			if (dem[d] <= 0)
				continue;
			f = sched_state_usable(b->s, h, (enum sched_dim)d) /
			    dem[d];
			fit = f < fit ? f : fit;
		}
		k[h].h = h;
		k[h].eff = fit > 0 && fit < INFINITY ? p->hosts[h].cost / fit
						     : INFINITY;
		if (p->hosts[h].state != HOST_UP)
			k[h].band = 9;
		else if (p->pools[p->hosts[h].pool].policy == POLICY_SPREAD)
			k[h].band = 8;
		else
			k[h].band = sched_state_nvms(b->s, h) > 0 ? 0 : 1;
	}
	qsort(k, p->nhosts, sizeof(*k), hkey_cmp);
	for (size_t h = 0; h < p->nhosts; h++)
		order[h] = k[h].h;
	free(k);
	return order;
}

void sched_result_free(struct sched_result *r)
{
	if (r == NULL)
		return;
	if (r->reason != NULL)
		for (size_t i = 0; i < r->nreason; i++)
			free(r->reason[i]);
	free(r->reason);
	r->reason = NULL;
}

int place_batch_init(struct batch *b, struct sched_state *s,
		     struct sched_result *r)
{
	const struct sched_problem *p = sched_state_problem(s);

	memset(b, 0, sizeof(*b));
	memset(r, 0, sizeof(*r));
	b->s = s;
	b->p = p;
	b->r = r;
	b->pinned = calloc(p->nvms + 1, sizeof(*b->pinned));
	b->npinned = calloc(p->nhosts + 1, sizeof(*b->npinned));
	b->w = calloc(p->nvms + 1, sizeof(*b->w));
	b->hv = calloc(p->nhosts + 1, sizeof(*b->hv));
	r->reason = calloc(p->nvms + 1, sizeof(*r->reason));
	r->nreason = p->nvms;
	b->gfirst = malloc((p->ngroups + 1) * sizeof(*b->gfirst));
	b->gnext = malloc((p->nvms + 1) * sizeof(*b->gnext));
	b->orig = sched_state_clone(s);
	if (b->pinned == NULL || b->npinned == NULL || b->w == NULL ||
	    b->hv == NULL || r->reason == NULL || b->gfirst == NULL ||
	    b->gnext == NULL || b->orig == NULL)
		return err_set("out of memory for placing %zu vms", p->nvms);
	for (size_t g = 0; g < p->ngroups; g++)
		b->gfirst[g] = -1;
	for (size_t v = p->nvms; v-- > 0;) {
		int g = p->vms[v].group;

		b->gnext[v] = g >= 0 ? b->gfirst[g] : -1;
		if (g >= 0)
			b->gfirst[g] = (int)v;
	}
	for (size_t v = 0; v < p->nvms; v++) {
		int h = sched_state_host_of(s, v);

		if (h < 0)
			continue;
		b->pinned[v] = true;
		b->npinned[h]++;
		if (hv_add(&b->hv[h], (int)v) < 0)
			return -1;
	}
	return 0;
}

/* Make room for vm on a host it could use by moving VMs placed by this
 * call elsewhere (each to its best host by the single-VM score), then put
 * vm there. All or nothing per host; at most `tries` hosts are tried. */
static int make_room(struct batch *b, size_t vm, size_t tries, bool *done)
{
	const struct sched_problem *p = b->p;
	int *moved = NULL, *from = NULL;
	int ret = -1;

	*done = false;
	for (size_t h = 0; h < p->nhosts && tries > 0 && !*done; h++) {
		struct hostvms *l = &b->hv[h];
		int n = l->n, nm = 0;
		int *vms;

		if (place_now() > b->end)
			break;
		if (!sched_state_compatible(b->s, vm, h) || n == 0)
			continue;
		tries--;
		vms = malloc(((size_t)n + 1) * sizeof(*vms));
		moved = realloc(moved, ((size_t)n + 1) * sizeof(*moved));
		from = realloc(from, ((size_t)n + 1) * sizeof(*from));
		if (vms == NULL || moved == NULL || from == NULL) {
			free(vms);
			err_set("out of memory");
			goto out;
		}
		memcpy(vms, l->v, (size_t)n * sizeof(*vms));
		for (int i = 0; i < n; i++) {
			size_t w = (size_t)vms[i];
			double best_sc = INFINITY;
			int best = -1;

			if (b->pinned[w])
				continue;
			for (size_t t = 0; t < p->nhosts; t++) {
				double sc;

				if (t == h || sched_state_check_code(
						      b->s, w, t, NULL) != SCHED_OK)
					continue;
				sc = place_host_score(b->s, p, w, t);
				if (sc < best_sc) {
					best_sc = sc;
					best = (int)t;
				}
			}
			if (best < 0)
				continue;
			if (place_assign(b, w, (size_t)best) < 0) {
				free(vms);
				goto out;
			}
			moved[nm] = (int)w;
			from[nm++] = (int)h;
			if (sched_state_check_code(b->s, vm, h, NULL) ==
			    SCHED_OK) {
				if (place_assign(b, vm, h) < 0) {
					free(vms);
					goto out;
				}
				*done = true;
				break;
			}
		}
		free(vms);
		/* Not enough: put back what moved. */
		while (!*done && nm-- > 0)
			if (place_assign(b, (size_t)moved[nm],
					 (size_t)from[nm]) < 0)
				goto out;
	}
	ret = 0;
out:
	free(moved);
	free(from);
	return ret;
}

/* Place what is left one by one; record why the rest cannot go. */
static int finish(struct batch *b)
{
	const struct sched_problem *p = b->p;
	struct sched_result *r = b->r;
	char why[WHY_MAX];

	for (size_t v = 0; v < p->nvms; v++) {
		int h;

		if (sched_state_host_of(b->s, v) >= 0 || r->reason[v] != NULL)
			continue;
		h = sched_place_one(b->s, v, why, sizeof(why));
		if (h >= 0) {
			sched_state_unassign(b->s, v);
			if (place_assign(b, v, (size_t)h) < 0)
				return -1;
			continue;
		}
		if (!b->no_room) {
			bool done;

			if (make_room(b, v, 16, &done) < 0)
				return -1;
			if (done)
				continue;
		}
		r->reason[v] = strdup(why);
		if (r->reason[v] == NULL)
			return err_set("out of memory");
	}
	return 0;
}

static int ffd_take(struct batch *b, bool *taken);

/* Count what the call placed, drop the reasons of the VMs placed after
 * all, and say on the others when a stopped search proved nothing. */
static int tally(struct batch *b, double t0)
{
	const struct sched_problem *p = b->p;
	struct sched_result *r = b->r;

	r->placed = r->unplaced = 0;
	for (size_t v = 0; v < p->nvms; v++) {
		if (b->pinned[v])
			continue;
		if (sched_state_host_of(b->s, v) >= 0) {
			r->placed++;
			free(r->reason[v]);
			r->reason[v] = NULL;
			continue;
		}
		r->unplaced++;
		if (b->exact_stopped && r->reason[v] != NULL &&
		    (b->refused == NULL || !b->refused[v])) {
			char why[WHY_MAX + 128];

			snprintf(why, sizeof(why),
				 "%s (the exact search stopped at its limit "
				 "before proving that no placement fits it)",
				 r->reason[v]);
			free(r->reason[v]);
			r->reason[v] = strdup(why);
			if (r->reason[v] == NULL)
				return err_set("out of memory");
		}
	}
	r->cost = sched_state_cost(b->s);
	r->work = (size_t)b->work;
	r->seconds = place_now() - t0;
	return 0;
}

/* The bound over every VM without a host before the call (placed or not)
 * with the pinned ones where they are: the capacity-plan LP, first (the
 * LP at the start of the call, may be NULL) or solved here; when that LP
 * is infeasible (the VMs cannot all fit), the LP over the VMs placed. The
 * LP relaxation of the full MIP (small problems), the full MIP's bound or
 * its proof replace it when they say more (b->mip_bound, r->optimal). */
static int final_bound(struct batch *b, const struct sched_plan *first)
{
	const struct sched_problem *p = b->p;
	struct sched_result *r = b->r;
	struct sched_state *orig = b->orig;
	struct sched_plan pl = {0};
	bool *mask = calloc(p->nvms + 1, sizeof(*mask));
	bool *nowhere = calloc(p->nvms + 1, sizeof(*nowhere));
	size_t nnowhere = 0;
	int ret = -1;

	if (mask == NULL || nowhere == NULL) {
		err_set("out of memory");
		goto out;
	}
	/* VMs no host may ever take (pool, tags, host state): no placement
	 * has them, so the bounds leave them out. */
	for (size_t v = 0; v < p->nvms; v++) {
		nowhere[v] = !b->pinned[v];
		for (size_t h = 0; h < p->nhosts && nowhere[v]; h++)
			nowhere[v] = !sched_state_compatible(orig, v, h);
		nnowhere += nowhere[v];
	}
	if (first == NULL) {
		if (sched_plan_lp(orig, PLAN_PINNED, &pl) < 0)
			goto out;
		first = &pl;
	}
	r->bound_kind = SCHED_BOUND_LP;
	r->lower_bound = first->cost;
	if (!first->feasible) {
		/* Without the VMs that have no host; if the rest still
		 * cannot all fit, only the VMs placed. */
		struct sched_plan part;
		bool done = false;

		r->bound_kind = SCHED_BOUND_LP_PLACED;
		for (int pass = 0; pass < 2 && !done; pass++) {
			for (size_t v = 0; v < p->nvms; v++)
				mask[v] = !b->pinned[v] &&
					  (pass == 0 ? !nowhere[v]
						     : sched_state_host_of(
							       b->s, v) >= 0);
			if (sched_plan_lp_subset(orig, PLAN_PINNED, mask,
						 &part) < 0)
				goto out;
			if (part.feasible) {
				done = true;
				r->bound_kind = pass == 0
							? SCHED_BOUND_LP
							: SCHED_BOUND_LP_PLACED;
				r->lower_bound = part.cost;
			}
			sched_plan_free(&part);
		}
	}
	/* The LP relaxation of the full MIP, where it is cheap: it knows
	 * every host's own capacity, so it is often well above the
	 * capacity-plan LP. */
	if (!r->optimal && p->nvms * p->nhosts <= ASSIGN_LP_PAIRS) {
		double lpb;

		if (place_exact_lp_bound(orig, nowhere, &lpb) < 0)
			goto out;
		if (lpb > r->lower_bound) {
			r->bound_kind = SCHED_BOUND_ASSIGN_LP;
			r->lower_bound = lpb;
		}
	}
	/* The MIP's bound holds for placements leaving out at most
	 * mip_left VMs: those that place every VM some host may take when
	 * it left out only those. */
	if (r->optimal) {
		r->bound_kind = SCHED_BOUND_OPTIMAL;
		r->lower_bound = r->cost;
	} else if ((b->mip_left <= nnowhere ||
		    r->bound_kind == SCHED_BOUND_LP_PLACED) &&
		   b->mip_bound > r->lower_bound) {
		r->bound_kind = SCHED_BOUND_MIP;
		r->lower_bound = b->mip_bound;
	}
	r->gap = r->lower_bound > 0 ? r->cost / r->lower_bound - 1 : 0;
	ret = 0;
out:
	free(mask);
	free(nowhere);
	sched_plan_free(&pl);
	return ret;
}

int place_finish(struct batch *b, const struct sched_plan *first, double t0)
{
	bool taken;

	if (finish(b) < 0 || ffd_take(b, &taken) < 0)
		return -1;
	if (taken) {
		/* FFD's placement, finished by this call's rules: the VMs
		 * it left out get their reasons. */
		for (size_t v = 0; v < b->p->nvms; v++) {
			if (b->refused != NULL && b->refused[v])
				continue;
			free(b->r->reason[v]);
			b->r->reason[v] = NULL;
		}
		b->no_room = true;
		if (finish(b) < 0)
			return -1;
	}
	if (tally(b, t0) < 0 || (!b->no_bound && final_bound(b, first) < 0))
		return -1;
	b->r->seconds = place_now() - t0;
	return 0;
}

const char *sched_bound_kind_name(enum sched_bound_kind k)
{
	static const char *const names[] = {
		[SCHED_BOUND_LP] = "lp",
		[SCHED_BOUND_LP_PLACED] = "lp_placed",
		[SCHED_BOUND_MIP] = "mip",
		[SCHED_BOUND_ASSIGN_LP] = "assignment_lp",
		[SCHED_BOUND_OPTIMAL] = "optimal",
	};

	return (size_t)k < FC_ARRAY_LEN(names) ? names[k] : "?";
}

const char *sched_stop_name(enum sched_stop st)
{
	static const char *const names[] = {
		[SCHED_STOP_DONE] = "done",
		[SCHED_STOP_WORK] = "work",
		[SCHED_STOP_TIME] = "time",
	};

	return (size_t)st < FC_ARRAY_LEN(names) ? names[st] : "?";
}

double sched_place_default_limit(size_t nhosts, size_t nvms)
{
	double s = (double)nvms / 25000.0;

	/* Small enough for the full MIP: time to find, maybe prove, the
	 * optimum. */
	if (nhosts * nvms <= EXACT_PAIRS)
		return 5;
	return s < 1 ? 1 : (s > 10 ? 10 : s);
}

int place_adopt(struct batch *b, const struct sched_state *other)
{
	for (size_t v = 0; v < b->p->nvms; v++) {
		int h = sched_state_host_of(other, v);

		if (b->pinned[v])
			continue;
		if (h < 0)
			place_unassign(b, v);
		else if (place_assign(b, v, (size_t)h) < 0)
			return -1;
	}
	return 0;
}

/* VMs with a host in s. */
static size_t count_placed(const struct sched_state *s)
{
	const struct sched_problem *p = sched_state_problem(s);
	size_t n = 0;

	for (size_t v = 0; v < p->nvms; v++)
		n += sched_state_host_of(s, v) >= 0;
	return n;
}

/* Whether placement a is better than b: more VMs placed, then cheaper. */
static bool better(const struct sched_state *a, const struct sched_state *b)
{
	size_t na = count_placed(a), nb = count_placed(b);

	if (na != nb)
		return na > nb;
	return sched_state_cost(a) < sched_state_cost(b) - 1e-9;
}


/* The full MIP on a small problem, from the placement built so far:
 * adopted when it is better; r->optimal when proven. keep[v]: VMs whose
 * place the MIP must not change (spread pools). */
static int try_exact(struct batch *b, const bool *keep, double limit)
{
	const struct sched_problem *p = b->p;
	struct sched_state *e = NULL;
	struct place_exact x = {0};
	size_t pairs = 0;
	int ret = -1;

	/* Members of the groups the construction refused are in: the MIP
	 * places as many of them as fit (an availability target binds once
	 * every member is placed, as in the state). */
	for (size_t v = 0; v < p->nvms; v++)
		if (!b->pinned[v] && !keep[v])
			pairs += p->nhosts;
	/* The MIP knows cost only: a spread pool would be packed. */
	for (size_t h = 0; h < p->nhosts; h++)
		if (p->hosts[h].state == HOST_UP &&
		    p->pools[p->hosts[h].pool].policy == POLICY_SPREAD)
			pairs = 0;
	if (pairs == 0 || pairs > EXACT_PAIRS)
		return 0;
	e = sched_state_clone(b->s);
	if (e == NULL)
		goto out;
	for (size_t v = 0; v < p->nvms; v++)
		if (!b->pinned[v] && !keep[v])
			sched_state_unassign(e, v);
	/* 40% of the limit (on gen 12 x 80 problems the best placement
	 * comes within a tenth of that; the rest goes to the proof); the
	 * improvement starts from what it found. */
	x.work_limit = (uint64_t)(0.4 * limit * WORK_PER_SECOND);
	x.deadline = b->end;
	/* The MIP is an extra: when GLPK fails, the heuristics go on. */
	if (place_exact_solve(e, NULL, b->s, &x) < 0) {
		ret = 0;
		goto out;
	}
	b->work += x.work;
	b->stop_time = b->stop_time || x.by_time;
	b->exact_stopped = x.stopped;
	if (!x.found) {
		ret = 0;
		goto out;
	}
	if (better(e, b->s)) {
		if (place_adopt(b, e) < 0)
			goto out;
		b->r->method = "exact";
	}
	/* Equal or better than the MIP's optimum is optimal too. */
	b->r->optimal = x.optimal;
	b->mip_bound = place_exact_cost_bound(p, &x);
	b->mip_left = x.left;
	ret = 0;
out:
	sched_state_free(e);
	return ret;
}

/* Work units charged for one run of first-fit decreasing, per VM
 * (measured: about 1 s for 100,000 VMs on 10,000 hosts). */
#define FFD_WORK_PER_VM 150

/* First-fit decreasing from the state before the call (b->orig), with the
 * VMs this call placed in spread pools where they are and the groups it
 * refused left out, into b->ffd: the placement the result must never be
 * worse than. */
static int ffd_run(struct batch *b)
{
	const struct sched_problem *p = b->p;
	struct sched_result rf = {0};

	b->ffd = sched_state_clone(b->orig);
	if (b->ffd == NULL)
		return -1;
	for (size_t v = 0; v < p->nvms; v++)
		if (b->keep[v] && sched_state_host_of(b->s, v) >= 0)
			sched_state_assign(b->ffd, v,
					   (size_t)sched_state_host_of(b->s, v));
	if (place_ffd(b->ffd, &rf, false) < 0)
		return -1;
	sched_result_free(&rf);
	b->work += FFD_WORK_PER_VM * (uint64_t)p->nvms;
	for (size_t v = 0; v < p->nvms; v++)
		if (b->refused[v])
			sched_state_unassign(b->ffd, v);
	return 0;
}

/* Replace the placement with b->ffd when that is better; *taken says
 * whether it was. */
static int ffd_take(struct batch *b, bool *taken)
{
	*taken = b->ffd != NULL && better(b->ffd, b->s);
	if (!*taken)
		return 0;
	b->r->method = "ffd";
	b->r->optimal = false;
	return place_adopt(b, b->ffd);
}

/* The fill pass in the LP's opening order and in the order of cost per
 * share of the demand a host holds (place_host_order_fit()), each with
 * both size weights (PLACE_FILL_WEIGHT, _BIG), keeping the best
 * placement. The LP prices a fleet as one pool of each resource, so where
 * host models differ in their ratios (gen --shape hetero) its order opens
 * hosts whose resources the VMs cannot use together: 10,000 x 100,000
 * hetero, 48,296 in the LP's order, 38,509 in the other (FFD: 42,971). */
static int fill_best(struct batch *b, const size_t *order, size_t *waiting,
		     size_t nwaiting)
{
	static const double weight[] = {PLACE_FILL_WEIGHT,
					PLACE_FILL_WEIGHT_BIG};
	struct sched_state *before = sched_state_clone(b->s), *best = NULL;
	size_t *fit = place_host_order_fit(b, waiting, nwaiting);
	int ret = -1;

	if (before == NULL || fit == NULL)
		goto out;
	for (size_t i = 0; i < 2 * FC_ARRAY_LEN(weight); i++) {
		if (place_adopt(b, before) < 0 ||
		    place_fill_hosts(b, i % 2 ? fit : order, waiting, nwaiting,
				     weight[i / 2]) < 0)
			goto out;
		if (best != NULL && !better(b->s, best))
			continue;
		sched_state_free(best);
		best = sched_state_clone(b->s);
		if (best == NULL)
			goto out;
	}
	if (place_adopt(b, best) < 0)
		goto out;
	ret = 0;
out:
	sched_state_free(before);
	sched_state_free(best);
	free(fit);
	return ret;
}

int sched_place_all(struct sched_state *s, const struct sched_place_opts *o,
		    struct sched_result *r)
{
	const struct sched_problem *p = sched_state_problem(s);
	struct sched_place_opts dflt = {0};
	struct batch b;
	struct sched_plan pl = {0};
	size_t *order = NULL, *waiting = NULL, nwaiting = 0, *active = NULL;
	struct sched_rank *ak = NULL;
	bool *keep = NULL;
	double t0 = place_now(), limit;
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	char why[WHY_MAX];
	int ret = -1;

	if (o == NULL)
		o = &dflt;
	limit = o->time_limit > 0
			? o->time_limit
			: sched_place_default_limit(p->nhosts, p->nvms);
	if (place_batch_init(&b, s, r) < 0)
		goto out;
	r->method = "search";
	/* The search spends a budget of work units (80% of the limit at the
	 * measured rate, leaving room to finish); the wall clock stops it
	 * only when the machine is slower than that. */
	b.end = t0 + limit;
	b.work_limit = (uint64_t)(0.8 * limit * WORK_PER_SECOND);
	b.mip_work = (uint64_t)(0.05 * WORK_PER_SECOND);
	if (sched_plan_lp(s, PLAN_PINNED, &pl) < 0)
		goto out;
	place_set_prices(&b, &pl);
	order = place_host_order(&b, &pl);
	waiting = calloc(p->nvms + 1, sizeof(*waiting));
	active = calloc(p->nhosts + 1, sizeof(*active));
	ak = calloc(p->nhosts + 1, sizeof(*ak));
	keep = calloc(p->nvms + 1, sizeof(*keep));
	b.refused = calloc(p->nvms + 1, sizeof(*b.refused));
	if (order == NULL || waiting == NULL || active == NULL || ak == NULL ||
	    keep == NULL || b.refused == NULL)
		goto oom;
	b.keep = keep;

	/* VMs that may only use spread pools (one by one, least loaded),
	 * the groups with an availability target (each member on the first
	 * host in the opening order from where the target stays reachable),
	 * then the rest in one fill pass. */
	{
		struct sched_rank *k = calloc(p->nvms + 1, sizeof(*k));
		size_t nk = 0;

		if (k == NULL)
			goto oom;
		for (size_t v = 0; v < p->nvms; v++) {
			const struct sched_tenant *t =
				&p->tenants[p->vms[v].tenant];
			bool spread_only = true;

			if (sched_state_host_of(s, v) >= 0 ||
			    r->reason[v] != NULL ||
			    (p->vms[v].group >= 0 &&
			     p->groups[p->vms[v].group].availability > 0))
				continue;
			for (size_t i = 0; i < p->npools && spread_only; i++) {
				bool allowed = t->npools == 0;

				for (size_t j = 0; j < t->npools; j++)
					allowed = allowed ||
						  t->pools[j] == (int)i;
				if (allowed &&
				    p->pools[i].policy == POLICY_PACK)
					spread_only = false;
			}
			if (!spread_only) {
				waiting[nwaiting++] = v;
				continue;
			}
			k[nk].i = v;
			k[nk].key = b.w[v];
			nk++;
		}
		qsort(k, nk, sizeof(*k), sched_rank_desc);
		for (size_t i = 0; i < nk; i++) {
			int h = sched_place_one(s, k[i].i, why, sizeof(why));

			if (h >= 0) {
				keep[k[i].i] = true;
				sched_state_unassign(s, k[i].i);
				if (place_assign(&b, k[i].i, (size_t)h) < 0) {
					free(k);
					goto out;
				}
			}
		}
		free(k);
	}
	if (place_affinity_groups(&b, order, r->reason) < 0 ||
	    place_avail_groups(&b, order, r->reason) < 0)
		goto out;
	/* What the group passes placed leaves the fill pass. */
	{
		size_t k = 0;

		for (size_t i = 0; i < nwaiting; i++)
			if (sched_state_host_of(s, waiting[i]) < 0 &&
			    r->reason[waiting[i]] == NULL)
				waiting[k++] = waiting[i];
		nwaiting = k;
	}
	if (fill_best(&b, order, waiting, nwaiting) < 0)
		goto out;
	r->constructive_cost = sched_state_cost(s);
	for (size_t v = 0; v < p->nvms; v++)
		b.refused[v] = r->reason[v] != NULL;
	/* FFD's placement: the search starts from it when it is better,
	 * and the result is compared with it again at the end. */
	{
		bool taken;

		if (ffd_run(&b) < 0 || ffd_take(&b, &taken) < 0)
			goto out;
	}

	/* Small problems: the full MIP, from the better start. */
	if (!o->no_improve && try_exact(&b, keep, limit) < 0)
		goto out;
	if (!o->no_improve && !r->optimal && place_whole_pools(&b) < 0)
		goto out;
	if (!o->no_improve && !r->optimal) {
		bool progress = true;

		while (progress && place_budget_left(&b)) {
			bool p1 = false, p2 = false, p3 = false;

			if (place_close_pass(&b, ak, active, &p1) < 0 ||
			    place_swap_pass(&b, order, &p3) < 0 ||
			    place_mip_round(&b, order, ak, active, &rng,
					    &p2) < 0)
				goto out;
			progress = p1 || p2 || p3;
		}
		r->stop = b.stop_time ? SCHED_STOP_TIME
			  : progress  ? SCHED_STOP_WORK
				      : SCHED_STOP_DONE;
	}
	if (b.exact_stopped && r->stop == SCHED_STOP_DONE)
		r->stop = SCHED_STOP_WORK;
	if (b.stop_time)
		r->stop = SCHED_STOP_TIME;
	if (place_finish(&b, &pl, t0) < 0)
		goto out;
	ret = 0;
	goto out;
oom:
	err_set("out of memory for placing %zu vms", p->nvms);
out:
	sched_plan_free(&pl);
	place_batch_free(&b);
	free(order);
	free(waiting);
	free(active);
	free(ak);
	free(keep);
	free(b.refused);
	sched_state_free(b.ffd);
	if (ret < 0)
		sched_result_free(r);
	return ret;
}

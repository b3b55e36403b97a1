/*
 * rebal_pack.c - the pack policy of the rebalancer (see rebalance.h):
 * whole hosts the capacity-plan LP does not need emptied, most expensive
 * first, keeping the prefix of the plan that costs least.
 */
#include "common/err.h"
#include "scheduler/plan.h"
#include "scheduler/rebal_int.h"

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
int rebal_pack(struct rb *b)
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
		if (rebal_add_unresolved(b->r,
					 "the capacity plan is infeasible: "
					 "the VMs need more than the hosts "
					 "offer, nothing to pack") < 0)
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
		vms = rebal_vms_by_mem(b, h);
		if (vms == NULL)
			goto out;
		b->blocked[h] = true;
		for (i = 0; i < n && ok; i++) {
			int to;

			if (!b->movable[vms[i]] || b->moved[vms[i]]) {
				ok = false;
				break;
			}
			to = rebal_best_dest(b, vms[i], DEST_FIT, NULL, 0);
			if (to < 0) {
				ok = false;
				break;
			}
			if (rebal_do_move(b, vms[i], (size_t)to,
					  REBAL_EMPTY) < 0)
				goto out;
			done++;
		}
		if (!ok) {
			while (done-- > 0)
				rebal_undo_move(b);
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
		rebal_undo_move(b);
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

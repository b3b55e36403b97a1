/*
 * place_improve.c - the cheap improvement passes of sched_place_all():
 * empty the least useful running hosts onto the others, move whole hosts
 * onto cheaper empty ones.
 */
#include <math.h>

#include "common/fc.h"

#include "common/err.h"
#include "scheduler/place_int.h"

/* Whether host t has the headroom for vm in every dimension: what the
 * state's capacity check asks, without the rest of the check (not counted
 * as work, so that on large fleets, where most running hosts are full,
 * the budget goes to the hosts that could take the VM). */
static bool has_room(const struct sched_state *s,
		     const struct sched_problem *p, size_t vm, size_t t)
{
	for (int d = 0; d < DIM_COUNT; d++)
		if (p->vms[vm].req[d] >
		    sched_state_headroom(s, t, (enum sched_dim)d) + 1e-9)
			return false;
	return true;
}

/* Try to empty host h by moving its VMs to other running hosts (tightest
 * fit first). All or nothing. */
static int try_close(struct batch *b, size_t h, const size_t *active,
		     size_t nactive, bool *closed)
{
	const struct sched_problem *p = b->p;
	struct hostvms *l = &b->hv[h];
	int n = l->n;
	int *moved = malloc(((size_t)n + 1) * sizeof(*moved));
	int *vms = malloc(((size_t)n + 1) * sizeof(*vms));
	int nm = 0;

	*closed = false;
	if (moved == NULL || vms == NULL) {
		free(moved);
		free(vms);
		return err_set("out of memory");
	}
	memcpy(vms, l->v, (size_t)n * sizeof(*vms));
	for (int i = 0; i < n; i++) {
		size_t vm = (size_t)vms[i];
		double best_sc = INFINITY;
		int best = -1;

		for (size_t k = 0; k < nactive; k++) {
			size_t t = active[k];
			double sc = 0;

			if (t == h || sched_state_nvms(b->s, t) == 0 ||
			    !has_room(b->s, p, vm, t))
				continue;
			b->work++;
			if (sched_state_check_code(b->s, vm, t, NULL) !=
			    SCHED_OK)
				continue;
			for (int d = 0; d < DIM_COUNT; d++)
				sc += b->price[d] *
				      (sched_state_headroom(b->s, t,
							    (enum sched_dim)d) -
				       p->vms[vm].req[d]);
			if (sc < best_sc) {
				best_sc = sc;
				best = (int)t;
			}
		}
		if (best < 0)
			break;
		if (place_assign(b, vm, (size_t)best) < 0)
			goto fail;
		moved[nm++] = (int)vm;
	}
	if (nm == n) {
		*closed = true;
	} else {
		/* Put them back: the host held them before. */
		for (int i = nm - 1; i >= 0; i--)
			if (place_assign(b, (size_t)moved[i], h) < 0)
				goto fail;
	}
	free(moved);
	free(vms);
	return 0;
fail:
	free(moved);
	free(vms);
	return -1;
}

/* Hosts a repack may touch: up, in a pack pool, without VMs of dedicated
 * tenants. */
bool place_movable_host(const struct batch *b, size_t h)
{
	const struct sched_problem *p = b->p;
	const struct hostvms *l = &b->hv[h];

	if (p->hosts[h].state != HOST_UP ||
	    p->pools[p->hosts[h].pool].policy == POLICY_SPREAD)
		return false;
	for (int i = 0; i < l->n; i++) {
		const struct sched_vm *v = &p->vms[l->v[i]];

		if (p->tenants[v->tenant].isolation == ISOLATION_DEDICATED)
			return false;
	}
	return true;
}

/* Running hosts by priced use per unit of cost, least useful first:
 * for a repack only movable ones, for closing any up host without
 * pinned VMs. */
size_t place_active_hosts(struct batch *b, struct sched_rank *k, size_t *active,
			  bool for_mip)
{
	const struct sched_problem *p = b->p;
	size_t n = 0;

	for (size_t h = 0; h < p->nhosts; h++) {
		double used = 0;

		if (sched_state_nvms(b->s, h) == 0)
			continue;
		/* Hosts of spread pools keep the balance they were given. */
		if (for_mip ? !place_movable_host(b, h)
			    : (b->npinned[h] > 0 ||
			       p->hosts[h].state != HOST_UP ||
			       p->pools[p->hosts[h].pool].policy ==
				       POLICY_SPREAD))
			continue;
		for (int d = 0; d < DIM_COUNT; d++)
			used += b->price[d] *
				sched_state_used(b->s, h, (enum sched_dim)d);
		k[n].i = h;
		k[n].key = p->hosts[h].cost > 0 ? used / p->hosts[h].cost
						 : INFINITY;
		n++;
	}
	qsort(k, n, sizeof(*k), sched_rank_asc);
	for (size_t i = 0; i < n; i++)
		active[i] = k[i].i;
	return n;
}

int place_close_pass(struct batch *b, struct sched_rank *k, size_t *active,
		     bool *progress)
{
	size_t n = place_active_hosts(b, k, active, false), nt = 0;
	size_t *targets = malloc((b->p->nhosts + 1) * sizeof(*targets));

	if (targets == NULL)
		return err_set("out of memory");
	for (size_t h = 0; h < b->p->nhosts; h++)
		if (sched_state_nvms(b->s, h) > 0)
			targets[nt++] = h;

	*progress = false;
	for (size_t i = 0; i < n && place_budget_left(b); i++) {
		bool closed;

		if (sched_state_nvms(b->s, active[i]) == 0)
			continue;
		if (try_close(b, active[i], targets, nt, &closed) < 0) {
			free(targets);
			return -1;
		}
		if (closed) {
			b->r->closed++;
			*progress = true;
		}
	}
	free(targets);
	return 0;
}

/* Move every VM of a running host onto one empty host that costs less,
 * most expensive hosts first. */
int place_swap_pass(struct batch *b, const size_t *order, bool *progress)
{
	const struct sched_problem *p = b->p;
	size_t *run = malloc((p->nhosts + 1) * sizeof(*run)), nrun = 0;
	int *vms = NULL;
	int ret = -1;

	*progress = false;
	if (run == NULL)
		return err_set("out of memory");
	for (size_t i = p->nhosts; i-- > 0;) {
		size_t h = order[i];

		if (sched_state_nvms(b->s, h) > 0 && b->npinned[h] == 0 &&
		    p->hosts[h].state == HOST_UP &&
		    p->pools[p->hosts[h].pool].policy == POLICY_PACK)
			run[nrun++] = h;
	}
	for (size_t i = 0; i < nrun && place_budget_left(b); i++) {
		size_t h = run[i], tried = 0;
		int n = b->hv[h].n;

		if (n == 0)
			continue;
		free(vms);
		vms = malloc(((size_t)n + 1) * sizeof(*vms));
		if (vms == NULL) {
			err_set("out of memory");
			goto out;
		}
		memcpy(vms, b->hv[h].v, (size_t)n * sizeof(*vms));
		for (size_t oi = 0; oi < p->nhosts && tried < 8; oi++) {
			size_t e = order[oi];
			int k;

			if (sched_state_nvms(b->s, e) != 0 ||
			    p->hosts[e].pool != p->hosts[h].pool ||
			    p->hosts[e].state != HOST_UP ||
			    p->hosts[e].cost >= p->hosts[h].cost - 1e-9)
				continue;
			tried++;
			for (k = 0; k < n; k++) {
				b->work++;
				if (sched_state_check_code(b->s, (size_t)vms[k],
							   e, NULL) != SCHED_OK)
					break;
				if (place_assign(b, (size_t)vms[k], e) < 0)
					goto out;
			}
			if (k == n) {
				*progress = true;
				break;
			}
			while (k-- > 0)
				if (place_assign(b, (size_t)vms[k], h) < 0)
					goto out;
		}
	}
	ret = 0;
out:
	free(vms);
	free(run);
	return ret;
}

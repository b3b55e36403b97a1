/*
 * place_round.c - a complete placement rounded from an LP solution of the
 * full MIP (place_round(), see place_int.h): the full MIP's own heuristic
 * at every node of its search.
 *
 * GLPK's rounding heuristic gives up on the first row a rounded value
 * breaks, which on the placement MIP is nearly always, so its search
 * finds incumbents only where the LP happens to be integral and can stay
 * above the optimum for thousands of nodes. Here every VM goes through
 * the state's check (sched_state_check_code()), so what comes out is
 * always a valid placement, whole or with VMs left out.
 */
#include <math.h>

#include "common/fc.h"

#include "common/err.h"
#include "scheduler/place_int.h"

/* Best fit: the running host where vm leaves the least room (each
 * dimension in units of the average host), or -1. */
static int best_running(struct sched_state *r, const struct place_round *in,
			size_t vm, const double *unit, size_t skip)
{
	const struct sched_problem *p = sched_state_problem(r);
	double best_sc = INFINITY;
	int best = -1;

	for (size_t j = 0; j < in->nh; j++) {
		double sc = 0;

		if (j == skip || sched_state_nvms(r, j) == 0 ||
		    sched_state_check_code(r, vm, j, NULL) != SCHED_OK)
			continue;
		for (int d = 0; d < DIM_COUNT; d++)
			sc += (sched_state_headroom(r, j, (enum sched_dim)d) -
			       p->vms[vm].req[d]) *
			      unit[d];
		if (sc < best_sc) {
			best_sc = sc;
			best = (int)j;
		}
	}
	return best;
}

/* The empty host to open for vm: the one the LP opens most, then the
 * cheapest per unit of capacity; -1 when none takes it. */
static int best_empty(struct sched_state *r, const struct place_round *in,
		      size_t vm, const double *unit)
{
	const struct sched_problem *p = sched_state_problem(r);
	double best_open = -1, best_eff = INFINITY;
	int best = -1;

	for (size_t j = 0; j < in->nh; j++) {
		double cap = 0, eff;

		if (sched_state_nvms(r, j) != 0 ||
		    sched_state_check_code(r, vm, j, NULL) != SCHED_OK)
			continue;
		for (int d = 0; d < DIM_COUNT; d++)
			cap += sched_state_usable(r, j, (enum sched_dim)d) *
			       unit[d];
		eff = cap > 0 ? p->hosts[j].cost / cap : INFINITY;
		if (in->open[j] > best_open + 1e-9 ||
		    (in->open[j] > best_open - 1e-9 && eff < best_eff)) {
			best_open = in->open[j];
			best_eff = eff;
			best = (int)j;
		}
	}
	return best;
}

/* Empty host h onto the other running hosts, all or nothing; its VMs of
 * the model only (pinned VMs keep it running anyway). */
static bool close_host(struct sched_state *r, const struct place_round *in,
		       const int *on, const double *unit, size_t h,
		       int *moved)
{
	const struct sched_problem *p = sched_state_problem(r);
	size_t nm = 0;

	for (size_t v = 0; v < p->nvms; v++) {
		int to;

		if (sched_state_host_of(r, v) != (int)h)
			continue;
		if (!on[v])
			goto undo;
		to = best_running(r, in, v, unit, h);
		if (to < 0)
			goto undo;
		sched_state_assign(r, v, (size_t)to);
		moved[nm++] = (int)v;
	}
	return true;
undo:
	while (nm-- > 0)
		sched_state_assign(r, (size_t)moved[nm], h);
	return false;
}

int place_round(struct sched_state *r, const struct place_round *in)
{
	const struct sched_problem *p = sched_state_problem(r);
	size_t nh = in->nh, npairs = 0;
	struct sched_rank *k = calloc(in->ncls * nh + nh + 1, sizeof(*k));
	int *left = calloc(in->ncls + 1, sizeof(*left));
	int *on = calloc(p->nvms + 1, sizeof(*on));
	int *moved = calloc(p->nvms + 1, sizeof(*moved));
	double unit[DIM_COUNT] = {0};
	int ret = -1;

	if (k == NULL || left == NULL || on == NULL || moved == NULL) {
		err_set("out of memory");
		goto out;
	}
	for (int d = 0; d < DIM_COUNT; d++) {
		double tot = 0;

		for (size_t j = 0; j < nh; j++)
			tot += sched_state_usable(r, j, (enum sched_dim)d);
		unit[d] = tot > 0 ? (double)nh / tot : 0;
	}
	/* left[c]: the next member of c without a host. */
	for (size_t c = 0; c < in->ncls; c++) {
		left[c] = in->first[c];
		for (int v = in->first[c]; v >= 0; v = in->next[v]) {
			sched_state_unassign(r, (size_t)v);
			on[v] = 1;
		}
	}
	/* Whole VMs where the LP puts them, then one more VM per pair by
	 * the largest fractions, on hosts running or half opened. */
	for (size_t c = 0; c < in->ncls; c++) {
		for (size_t j = 0; j < nh; j++) {
			double x = in->x[c * nh + j];
			long n = (long)floor(x + 1e-6);

			for (; n > 0 && left[c] >= 0; n--) {
				size_t v = (size_t)left[c];

				if (sched_state_check_code(r, v, j, NULL) !=
				    SCHED_OK)
					break;
				sched_state_assign(r, v, j);
				left[c] = in->next[v];
			}
			if (x - floor(x + 1e-6) > 1e-6) {
				k[npairs].i = c * nh + j;
				k[npairs++].key = x - floor(x + 1e-6);
			}
		}
	}
	qsort(k, npairs, sizeof(*k), sched_rank_desc);
	for (size_t i = 0; i < npairs; i++) {
		size_t c = k[i].i / nh, j = k[i].i % nh;
		size_t v = (size_t)left[c];

		if (left[c] < 0 ||
		    (sched_state_nvms(r, j) == 0 && in->open[j] < 0.5) ||
		    sched_state_check_code(r, v, j, NULL) != SCHED_OK)
			continue;
		sched_state_assign(r, v, j);
		left[c] = in->next[v];
	}
	/* The rest, biggest classes first: best fit on a running host, else
	 * a host to open. */
	for (size_t c = 0; c < in->ncls; c++) {
		k[c].i = c;
		k[c].key = 0;
		for (int d = 0; d < DIM_COUNT; d++)
			k[c].key += p->vms[in->first[c]].req[d] * unit[d];
	}
	qsort(k, in->ncls, sizeof(*k), sched_rank_desc);
	for (size_t i = 0; i < in->ncls; i++) {
		size_t c = k[i].i;

		while (left[c] >= 0) {
			size_t v = (size_t)left[c];
			int h = best_running(r, in, v, unit, nh);

			if (h < 0)
				h = best_empty(r, in, v, unit);
			if (h < 0)
				break; /* the class's next members fit no better */
			sched_state_assign(r, v, (size_t)h);
			left[c] = in->next[v];
		}
	}
	/* Close running hosts, least used first, when the others take their
	 * VMs. */
	for (size_t j = 0; j < nh; j++) {
		k[j].i = j;
		k[j].key = 0;
		for (int d = 0; d < DIM_COUNT; d++)
			k[j].key += sched_state_used(r, j, (enum sched_dim)d) *
				    unit[d];
		k[j].key /= p->hosts[j].cost > 0 ? p->hosts[j].cost : 1e-9;
	}
	qsort(k, nh, sizeof(*k), sched_rank_asc);
	for (size_t i = 0; i < nh; i++)
		if (sched_state_nvms(r, k[i].i) > 0)
			(void)close_host(r, in, on, unit, k[i].i, moved);
	ret = 0;
out:
	free(k);
	free(left);
	free(on);
	free(moved);
	return ret;
}

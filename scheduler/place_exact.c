/*
 * place_exact.c - the baseline sched_place_exact() (see place.h): one
 * GLPK MIP over every (VM, host) pair, for small problems.
 */
#include <glpk.h>

#include "common/fc.h"

#include "common/err.h"
#include "scheduler/lpmat.h"
#include "scheduler/place_int.h"

int sched_place_exact(struct sched_state *s, double time_limit,
		      double *cost, bool *optimal)
{
	const struct sched_problem *p = sched_state_problem(s);
	size_t nh = p->nhosts, nv = p->nvms;
	int *xcol = NULL;
	struct lpmat mat = {0};
	glp_prob *mip = NULL;
	glp_iocp parm;
	int ncols = 0, row = 0, ret = -1, rc, st;
	double big = 0;

	for (size_t t = 0; t < p->ntenants; t++)
		if (p->tenants[t].isolation == ISOLATION_DEDICATED)
			return err_set("exact solve: tenant '%s' is dedicated: "
				       "the exact model supports shared "
				       "tenants only",
				       p->tenants[t].name);
	for (size_t g = 0; g < p->ngroups; g++)
		if (p->groups[g].policy == GROUP_AFFINITY ||
		    p->groups[g].availability > 0)
			return err_set("exact solve: group '%s' is an affinity "
				       "group or has an availability target: "
				       "the exact model supports "
				       "anti-affinity only",
				       p->groups[g].name);
	if (nh * nv > 200000)
		return err_set("exact solve: %zu hosts x %zu vms is too big "
			       "for one MIP",
			       nh, nv);
	xcol = calloc(nh * nv + 1, sizeof(*xcol));
	if (xcol == NULL) {
		err_set("out of memory");
		goto out;
	}
	if (lpmat_init(&mat, nh * nv * (DIM_COUNT + 2) + nh * DIM_COUNT + nv) <
	    0)
		goto out;
	mip = glp_create_prob();
	glp_set_obj_dir(mip, GLP_MIN);
	/* y_j: columns 1 .. nh. */
	glp_add_cols(mip, (int)nh);
	for (size_t j = 0; j < nh; j++) {
		glp_set_col_kind(mip, (int)j + 1, GLP_BV);
		glp_set_obj_coef(mip, (int)j + 1, p->hosts[j].cost);
		if (sched_state_nvms(s, j) > 0)
			glp_set_col_bnds(mip, (int)j + 1, GLP_FX, 1, 1);
	}
	ncols = (int)nh;
	for (size_t v = 0; v < nv; v++) {
		if (sched_state_host_of(s, v) >= 0)
			continue;
		for (size_t j = 0; j < nh; j++) {
			if (!sched_state_compatible(s, v, j))
				continue;
			glp_add_cols(mip, 1);
			xcol[v * nh + j] = ++ncols;
			glp_set_col_kind(mip, ncols, GLP_BV);
		}
	}
	/* A VM may stay out (slack u_v), at a price above every host's
	 * cost together: the most VMs are placed first, then at least
	 * cost, as sched_place_all() does. */
	for (size_t j = 0; j < nh; j++)
		big += p->hosts[j].cost;
	big = big * 2 + 1;
	for (size_t v = 0; v < nv; v++) {
		if (sched_state_host_of(s, v) >= 0)
			continue;
		glp_add_cols(mip, 1);
		glp_set_col_kind(mip, ++ncols, GLP_BV);
		glp_set_obj_coef(mip, ncols, big);
		glp_add_rows(mip, 1);
		glp_set_row_bnds(mip, ++row, GLP_FX, 1, 1);
		if (lpmat_add(&mat, row, ncols, 1) < 0)
			goto out;
		for (size_t j = 0; j < nh; j++) {
			if (xcol[v * nh + j] == 0)
				continue;
			if (lpmat_add(&mat, row, xcol[v * nh + j], 1) < 0)
				goto out;
		}
	}
	for (size_t j = 0; j < nh; j++) {
		for (int d = 0; d < DIM_COUNT; d++) {
			double room = sched_state_headroom(s, j,
							   (enum sched_dim)d);

			glp_add_rows(mip, 1);
			glp_set_row_bnds(mip, ++row, GLP_UP, 0, 0);
			for (size_t v = 0; v < nv; v++) {
				if (xcol[v * nh + j] == 0 ||
				    p->vms[v].req[d] <= 0)
					continue;
				if (lpmat_add(&mat, row, xcol[v * nh + j],
					      p->vms[v].req[d]) < 0)
					goto out;
			}
			if (lpmat_add(&mat, row, (int)j + 1,
				      -(room > 0 ? room : 0) * (1 + 1e-12)) < 0)
				goto out;
		}
	}
	/* Anti-affinity: at most one member per host (pinned ones count). */
	for (size_t g = 0; g < p->ngroups; g++) {
		for (size_t j = 0; j < nh; j++) {
			int here = 0, any = 0;

			for (size_t v = 0; v < nv; v++) {
				if (p->vms[v].group != (int)g)
					continue;
				if (sched_state_host_of(s, v) == (int)j)
					here++;
				if (xcol[v * nh + j] != 0)
					any++;
			}
			if (any == 0)
				continue;
			glp_add_rows(mip, 1);
			glp_set_row_bnds(mip, ++row, GLP_UP, 0,
					 here >= 1 ? 0 : 1);
			for (size_t v = 0; v < nv; v++) {
				if (p->vms[v].group != (int)g ||
				    xcol[v * nh + j] == 0)
					continue;
				if (lpmat_add(&mat, row, xcol[v * nh + j],
					      1) < 0)
					goto out;
			}
		}
	}
	lpmat_load(&mat, mip);
	glp_init_iocp(&parm);
	parm.msg_lev = GLP_MSG_OFF;
	parm.presolve = GLP_ON;
	parm.tm_lim = (int)(time_limit * 1000);
	rc = glp_intopt(mip, &parm);
	st = glp_mip_status(mip);
	if (st != GLP_OPT && st != GLP_FEAS) {
		err_set("exact solve: no solution found (GLPK code %d, status "
			"%d)",
			rc, st);
		goto out;
	}
	*optimal = st == GLP_OPT && rc == 0;
	for (size_t v = 0; v < nv; v++) {
		if (sched_state_host_of(s, v) >= 0)
			continue;
		for (size_t j = 0; j < nh; j++)
			if (xcol[v * nh + j] != 0 &&
			    glp_mip_col_val(mip, xcol[v * nh + j]) > 0.5)
				sched_state_assign(s, v, j);
	}
	*cost = sched_state_cost(s);
	ret = 0;
out:
	if (mip != NULL)
		glp_delete_prob(mip);
	free(xcol);
	lpmat_free(&mat);
	return ret;
}

/*
 * plan.h - the capacity-plan LP (GLPK): min sum C_i X_i subject to
 * sum R_i X_i >= R_total per dimension, 0 <= X_i <= 1.
 *
 * R_i is host i's usable capacity (capacity x its pool's ratio). The
 * demand is split by where VMs may go: for every distinct set E of hosts
 * some VMs are restricted to (tenant pools, tags, host state) there is one
 * row per dimension, sum_{i in E} R_i X_i >= demand of the VMs whose set
 * lies inside E, and one row over all hosts for the whole demand. Every
 * placement satisfies these rows with X_i = [host i runs a VM], so the LP
 * optimum is a lower bound on the cost of any placement.
 *
 * Dedicated tenants make it tighter: X_i is split into one share per
 * segment (the shared tenants, and each dedicated tenant), the shares of
 * a host add up to at most 1, and each segment's rows use only its own
 * shares, since a host never serves two segments at once.
 */
#ifndef FC_SCHED_PLAN_H
#define FC_SCHED_PLAN_H

#include "scheduler/state.h"

struct sched_plan {
	double *x;               /* per host, 0..1 */
	double cost;             /* LP optimum: the lower bound */
	double dual[DIM_COUNT];  /* price of one unit on the all-hosts row */
	bool feasible;           /* false: demand exceeds what hosts offer */
	size_t rows;             /* constraint rows built */
};

enum sched_plan_mode {
	/* Plan from scratch: every VM is demand, every up host a choice
	 * (fincloud-sched plan). */
	PLAN_FREE = 0,
	/* VMs assigned in the state stay where they are: their hosts are
	 * fixed at X = 1 (their cost counts) and offer only their headroom
	 * to the VMs not assigned, which are the demand (lower bound of
	 * sched_place_all). */
	PLAN_PINNED,
};

/* Solve the LP for the state's problem. Returns 0 with *out filled (also
 * when infeasible: out->feasible false, out->x all 0, cost 0), -1 with
 * err_set() when GLPK failed or memory ran out. Release with
 * sched_plan_free(). */
int sched_plan_lp(const struct sched_state *s, enum sched_plan_mode mode,
		  struct sched_plan *out);

/* The same with the demand limited to the VMs v with demand[v] true
 * (others are ignored unless pinned); demand NULL = every VM. */
int sched_plan_lp_subset(const struct sched_state *s,
			 enum sched_plan_mode mode, const bool *demand,
			 struct sched_plan *out);
void sched_plan_free(struct sched_plan *pl);

#endif

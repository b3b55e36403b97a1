/*
 * place.h - where VMs go: the single-VM fast path and the batch solver.
 *
 * sched_place_one() is what the controller calls on each request: it
 * filters every host through sched_state_check_code() and scores those
 * left, without a solver. Pools with policy "pack" prefer the best fit on
 * an already running host, then the cheapest empty one; pools with
 * "spread" prefer the least loaded host after placement.
 *
 * sched_place_all() places every VM not yet assigned, minimising the cost
 * of the running hosts: the capacity-plan LP (plan.h) gives the lower
 * bound and the order in which to open hosts and the prices of each
 * dimension; a constructive pass fills hosts in that order with the
 * biggest VMs that fit; then, until the time limit, hosts are closed by
 * moving their VMs elsewhere and small GLPK MIPs repack neighbourhoods
 * (a few hosts and their VMs) at lower cost. VMs assigned before the call
 * stay where they are.
 */
#ifndef FC_SCHED_PLACE_H
#define FC_SCHED_PLACE_H

#include "scheduler/state.h"

/* Place vm (not assigned yet, or assigned: it is then moved) on the best
 * host and assign it there in s. Returns the host index, or -1 with a
 * reason in why that says which constraint excluded how many hosts, e.g.
 *   "no host in pool 'prod' has 65536 MiB of memory free; 3 hosts
 *    excluded: dedicated to tenant 'payment-settlement'"
 * Does not touch err_msg(). */
int sched_place_one(struct sched_state *s, size_t vm, char *why,
		    size_t whysize);

struct sched_place_opts {
	double time_limit;  /* seconds for the whole call; <= 0: 1 s */
	bool no_improve;    /* constructive pass only */
	double mip_seconds; /* limit of one neighbourhood MIP; <= 0: 0.05 */
};

struct sched_result {
	double cost;        /* sum of cost over running hosts */
	double lower_bound; /* LP bound for the VMs placed (pinned ones
			       included) */
	double gap;         /* cost / lower_bound - 1 (0 when bound is 0) */
	size_t placed;      /* VMs placed by the call */
	size_t unplaced;
	char **reason;      /* per VM: why it is unplaced, or NULL */
	size_t nreason;     /* = number of VMs */
	double seconds;
	double constructive_cost; /* before improvement */
	size_t closed;      /* hosts emptied by the improvement */
	size_t mips;        /* neighbourhood MIPs solved */
	size_t mip_gains;   /* MIPs that lowered the cost */
};

/* Place every unassigned VM of s. Returns 0 (also when some VMs stay
 * unplaced: see r->unplaced and r->reason), -1 with err_set() on GLPK
 * failure or out of memory. opts may be NULL. Release r with
 * sched_result_free(). */
int sched_place_all(struct sched_state *s, const struct sched_place_opts *o,
		    struct sched_result *r);
void sched_result_free(struct sched_result *r);

/* The baseline: cost-aware first-fit decreasing (VMs by decreasing size,
 * hosts by increasing cost per unit of capacity, each VM to the first host
 * where it fits). Fills r like sched_place_all() (no improvement). */
int sched_place_ffd(struct sched_state *s, struct sched_result *r);

/* The exact optimum by one GLPK MIP over every (VM, host) pair, for small
 * instances only (tests, benchmarks): the most VMs placed, then the least
 * cost. Supports capacity, host state, pools, tags and anti-affinity;
 * refuses problems with dedicated tenants, affinity groups or
 * availability targets. Assigns the optimum in s (VMs that cannot be
 * placed stay unassigned).
 * *optimal is false when the time limit stopped the search (the best
 * solution found is then assigned). -1 with err_set() when refused, when
 * no solution was found or on failure. */
int sched_place_exact(struct sched_state *s, double time_limit,
		      double *cost, bool *optimal);

#endif

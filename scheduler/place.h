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
 * biggest VMs that fit; small problems are then solved by the full MIP
 * (sched_place_exact()'s model), larger ones improved within a budget of
 * work units (so that a result depends on its input only): hosts are
 * closed by moving their VMs elsewhere and small GLPK MIPs repack
 * neighbourhoods (a few hosts and their VMs) at lower cost. The result is
 * never worse than first-fit decreasing on the same input. VMs assigned
 * before the call stay where they are.
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
	double time_limit;  /* seconds for the whole call; <= 0: the default,
			       sched_place_default_limit() */
	bool no_improve;    /* constructive pass only (and no exact MIP) */
};

/* Which bound sched_result.lower_bound is (see docs/scheduler.md). */
enum sched_bound_kind {
	SCHED_BOUND_LP = 0,   /* capacity-plan LP over every VM */
	SCHED_BOUND_LP_PLACED, /* the LP over every VM is infeasible (the
				  VMs cannot all fit): LP over the VMs
				  placed */
	SCHED_BOUND_MIP,      /* the full MIP's best bound (every VM placed,
				 search stopped at its limit) */
	SCHED_BOUND_ASSIGN_LP, /* the LP relaxation of the full MIP (every
				  VM placed), on small problems */
	SCHED_BOUND_OPTIMAL,  /* the full MIP proved the cost optimal */
};

/* "lp", "lp_placed", "mip", "assignment_lp", "optimal". */
const char *sched_bound_kind_name(enum sched_bound_kind k);

/* How the batch call ended (sched_result.stop). */
enum sched_stop {
	SCHED_STOP_DONE = 0, /* no pass found more to gain, or proven */
	SCHED_STOP_WORK,     /* the work budget ran out (deterministic) */
	SCHED_STOP_TIME,     /* the wall-clock limit cut the search first:
				the result may differ from run to run */
};

/* "done", "work", "time". */
const char *sched_stop_name(enum sched_stop s);

/* The default time limit in seconds for a problem of nhosts x nvms
 * (every VM counted): 5 s when nhosts x nvms <= 2,400 (the full MIP
 * decides; it stops as soon as it proves its optimum), else 1 s up to
 * 25,000 VMs and 1 s per 25,000 VMs above, at most 10 s. */
double sched_place_default_limit(size_t nhosts, size_t nvms);

struct sched_result {
	double cost;        /* sum of cost over running hosts */
	double lower_bound; /* bound on the cost of placing every VM (pinned
			       ones included); see bound_kind */
	enum sched_bound_kind bound_kind;
	double gap;         /* cost / lower_bound - 1 (0 when bound is 0) */
	bool optimal;       /* the full MIP proved the placement optimal:
			       most VMs placed, then least cost */
	enum sched_stop stop;
	const char *method; /* what gave the result: "search", "ffd",
			       "exact" (static string) */
	size_t placed;      /* VMs placed by the call */
	size_t unplaced;
	char **reason;      /* per VM: why it is unplaced, or NULL */
	size_t nreason;     /* = number of VMs */
	double seconds;
	double constructive_cost; /* before improvement */
	size_t closed;      /* hosts emptied by the improvement */
	size_t mips;        /* neighbourhood MIPs solved */
	size_t mip_gains;   /* MIPs that lowered the cost */
	size_t work;        /* work units spent (checks, simplex iterations) */
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

struct sched_exact_result {
	double cost;     /* of the placement assigned */
	double bound;    /* lower bound on the cost of any placement that
			    leaves out no more VMs (= cost when optimal) */
	bool optimal;    /* proven: the most VMs placed, then least cost */
	bool stopped;    /* the time limit stopped the search */
	size_t placed, unplaced;
};

/* The optimum of the full placement MIP over every (VM, host) pair with
 * every constraint of the state (host state, pools, tags, dedicated
 * tenants, anti-affinity, affinity, availability targets, capacity): the
 * most VMs placed, then the least cost. For small problems (at most
 * 200,000 pairs of a VM to place and a host). Assigns the best placement
 * found in s (VMs it leaves out stay unassigned) and fills *out. When the
 * time limit (seconds) stops the search, out->optimal is false and
 * out->bound is the MIP's best bound. -1 with err_set() when the problem
 * is too big, no solution was found in time, or on GLPK failure. */
int sched_place_exact(struct sched_state *s, double time_limit,
		      struct sched_exact_result *out);

#endif

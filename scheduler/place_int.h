/*
 * place_int.h - what the placement solvers share; private to scheduler/
 * (not installed, included only by scheduler/place*.c).
 *
 * place.h is the public interface. Behind it, one solver per file:
 *   place_one.c    the single-VM fast path (sched_place_one) and its
 *                  host score and refusal message;
 *   place.c        the batch driver (sched_place_all) and the state every
 *                  batch solver works on: struct batch, assign/unassign,
 *                  finishing one by one, the final bound;
 *   place_fill.c   the LP-guided construction: classes of equal VMs, the
 *                  fill pass in opening order, affinity and availability
 *                  groups;
 *   place_improve.c  closing and swapping hosts;
 *   place_mip.c    the neighbourhood MIP improvement (GLPK);
 *   place_ffd.c    the first-fit decreasing baseline;
 *   place_exact.c  the full MIP (GLPK): the exact baseline, and what
 *                  sched_place_all() solves on small problems.
 *
 * Host and VM indices are those of the problem (sched_state_problem());
 * every function that can fail returns 0 or -1 with err_set() (out of
 * memory); a failed one leaves the placement valid but unfinished.
 */
#ifndef FC_SCHED_PLACE_INT_H
#define FC_SCHED_PLACE_INT_H

#include "common/util.h"
#include "scheduler/place.h"
#include "scheduler/plan.h"
#include "scheduler/rank.h"

/* Size of a reason for an unplaced VM, with its terminating NUL. */
#define WHY_MAX 512

/* Monotonic clock in seconds: the time limits of the batch solvers. */
static inline double place_now(void)
{
	return (double)time_mono_ns() / 1e9;
}

struct hostvms {
	int *v;
	int n;
	int cap;
};

/* The state of one batch call: s with, per host, the list of its VMs,
 * and what the passes share. Set up by place_batch_init(), released by
 * place_batch_free(); the solvers change placements only through
 * place_assign() and place_unassign() so that hv stays in step with s. */
struct batch {
	struct sched_state *s;
	const struct sched_problem *p;
	bool *pinned;        /* per VM: assigned before the call */
	int *npinned;        /* per host: pinned VMs on it */
	double *w;           /* per VM: weight (value of its resources) */
	double price[DIM_COUNT];
	struct hostvms *hv;  /* per host: VMs on it */
	int *gfirst, *gnext; /* members of each group, by index order */
	struct sched_result *r;
	bool no_room;        /* the baseline: no make_room() */
	bool no_bound;       /* place_finish() leaves the bound at 0 */
	double end;          /* the call's wall-clock limit (place_now()) */
	/* The search stops when work reaches work_limit, so that a result
	 * depends on the input only; end is a last resort (stop_time). */
	uint64_t work, work_limit;
	uint64_t mip_work;   /* budget of one neighbourhood MIP */
	bool stop_time;      /* end was reached before work_limit */
	struct sched_state *orig; /* the state before the call (owned) */
	/* sched_place_all() only (NULL, false, 0 elsewhere): */
	struct sched_state *ffd; /* first-fit decreasing's placement: the
				    result is never worse */
	bool *refused;       /* per VM: refused before finishing (groups) */
	const bool *keep;    /* per VM: placed one by one in a spread pool;
				the FFD guard keeps it there */
	bool exact_stopped;  /* the full MIP ran and a limit stopped it */
	double mip_bound;    /* its bound on the cost of placements leaving
				out at most mip_left VMs (0: none) */
	size_t mip_left;
};

/* Work units, about 0.1 us each on the benchmark machine: a feasibility
 * check of a (VM, host) pair is 1; a simplex iteration or a branch-and-
 * bound node of a MIP costs WORK_PER_PIVOT per column of the MIP.
 * WORK_PER_SECOND turns a time limit into a budget. (Measured on gen
 * problems of 100 and 1,000 hosts: a MIP of 660 columns, 3,048
 * iterations and 1,833 nodes took 0.77 s and counts 0.54 s; with a
 * busy machine's margin.) */
#define WORK_PER_PIVOT 2
#define WORK_PER_SECOND 12000000.0

/* Whether the search may go on: work left and the wall clock not past
 * b->end (which sets b->stop_time). */
static inline bool place_budget_left(struct batch *b)
{
	if (b->work >= b->work_limit)
		return false;
	if (place_now() > b->end) {
		b->stop_time = true;
		return false;
	}
	return true;
}

/* VMs with equal sizes, tenant and tags (and no group) are one class: the
 * fill pass takes them by count. */
struct vclass {
	int *v;
	size_t n;     /* remaining: v[0 .. n) */
	double w;
	int rep;      /* a member */
};

/* ---- place_one.c -------------------------------------------------------- */

/* Score of vm on host h by the single-VM rule (lower is better): pack
 * pools prefer the running host with the least left over, then the
 * cheapest empty one; spread pools the least loaded host after placement.
 * Does not check that vm fits. */
double place_host_score(const struct sched_state *s,
			const struct sched_problem *p, size_t vm, size_t h);

/* ---- place.c: the batch state ------------------------------------------- */

/* Set up b over s and clear r (r->reason gets one NULL per VM); VMs
 * assigned in s are pinned. On -1 release b with place_batch_free() and r
 * with sched_result_free() all the same. */
int place_batch_init(struct batch *b, struct sched_state *s,
		     struct sched_result *r);
void place_batch_free(struct batch *b);

/* Move vm to host (from wherever it is) without any check; 0 or -1. */
int place_assign(struct batch *b, size_t vm, size_t host);
/* Take vm off its host, if it has one. */
void place_unassign(struct batch *b, size_t vm);

/* Move every VM not pinned in b to its host in other (a state of the same
 * problem; unassigned there: unassigned here). 0 or -1 (out of memory). */
int place_adopt(struct batch *b, const struct sched_state *other);

/* Prices per unit of each dimension in b->price and the VMs' weights in
 * b->w. With the capacity-plan LP pl: its duals when they say something,
 * plus a small share of 1 / the average usable capacity of a host; pl
 * NULL (the baseline): 1 / the average usable capacity alone. */
void place_set_prices(struct batch *b, const struct sched_plan *pl);

/* Host indices in the order to open them (the caller frees it; NULL with
 * err_set() when out of memory). With pl: running hosts, then the LP's
 * X_i = 1, then by X_i, then by cost per priced unit of capacity; spread
 * pools and hosts that are not up last. pl NULL: by cost per priced unit
 * of capacity alone. */
size_t *place_host_order(struct batch *b, const struct sched_plan *pl);

/* Host indices in the order of cost per share of the demand of
 * waiting[0 .. nwaiting) that a host holds (its scarcest dimension
 * decides): running hosts, then up hosts of pack pools, spread pools and
 * hosts that are not up last. The caller frees it; NULL with err_set()
 * when out of memory. */
size_t *place_host_order_fit(struct batch *b, const size_t *waiting,
			     size_t nwaiting);

/* End a batch call: place the VMs left one by one (with make-room moves
 * unless b->no_room), compare with b->ffd (when set), record why the
 * others cannot go in b->r->reason, fill b->r's counts and cost, its
 * lower bound, bound_kind and gap (unless b->no_bound; first, the LP of
 * the whole problem at the start of the call, may be NULL) and the
 * seconds since t0 (place_now()). */
int place_finish(struct batch *b, const struct sched_plan *first, double t0);

/* ---- place_fill.c: the construction ------------------------------------- */

/* Whether VMs a and b are interchangeable: no group, same tenant, sizes
 * and tags. */
bool place_same_class(const struct sched_problem *p, size_t a, size_t b);

/* Classes of the VMs waiting[0 .. nwaiting), heaviest first. *out (nout
 * classes) and *store (the members of all classes) are the caller's to
 * free. */
int place_make_classes(struct batch *b, const size_t *waiting,
		       size_t nwaiting, struct vclass **out, size_t *nout,
		       int **store);

/* Weights of a VM's size against its alignment with the host's room in
 * the fill pass: 3, tuned on gen problems of 100 to 10,000 hosts, and 6,
 * which takes big VMs earlier still and leaves the small ones to fill
 * the hosts' last room (gen --shape tiny, VMs of 512 MiB-2 GiB: 10,000 x
 * 100,000 from 0.9716 x FFD to 0.9697; the default shape at 1,000 x
 * 10,000 is better with 3). sched_place_all() fills with both. */
#define PLACE_FILL_WEIGHT 3.0
#define PLACE_FILL_WEIGHT_BIG 6.0

/* Fill the hosts in order[0 .. nhosts) with the VMs of waiting, taking
 * sizes by their fit to a host's room plus size_weight x their norm. */
int place_fill_hosts(struct batch *b, const size_t *order, size_t *waiting,
		     size_t nwaiting, double size_weight);

/* Each affinity group on the first host of order that takes all its
 * unplaced members; the members of a group that fits nowhere get a
 * strdup'ed reason[vm] (reason has one slot per VM). */
int place_affinity_groups(struct batch *b, const size_t *order,
			  char **reason);

/* The members of groups with an availability target, each where the
 * group still reaches its target; groups that cannot reach it get
 * reason[vm] for their unplaced members. */
int place_avail_groups(struct batch *b, const size_t *order, char **reason);

/* ---- place_improve.c: closing and swapping hosts ------------------------ */

/* Whether a repack may touch host h: up, in a pack pool, without VMs of
 * dedicated tenants. */
bool place_movable_host(const struct batch *b, size_t h);

/* The running hosts a pass may empty, least useful first, into active
 * (room for every host; k is scratch of the same size); for_mip: only
 * place_movable_host() ones. Returns how many. */
size_t place_active_hosts(struct batch *b, struct sched_rank *k, size_t *active,
			  bool for_mip);

/* Try to empty each host of place_active_hosts() onto the other running
 * hosts; *progress when one was emptied. */
int place_close_pass(struct batch *b, struct sched_rank *k, size_t *active,
		     bool *progress);

/* Move all the VMs of a running host onto a cheaper empty host of its
 * pool; order is the opening order. */
int place_swap_pass(struct batch *b, const size_t *order, bool *progress);

/* ---- place_ffd.c: the baseline --------------------------------------- */

/* sched_place_ffd() without the bound when with_bound is false (r's
 * lower_bound and gap stay 0): what sched_place_all() compares with. */
int place_ffd(struct sched_state *s, struct sched_result *r, bool with_bound);

/* ---- place_mip.c: neighbourhood MIPs ------------------------------------ */

/* One round of neighbourhood MIPs around each movable running host; rng
 * is the state of the neighbour picks, k and active scratch as for
 * place_active_hosts(). */
int place_mip_round(struct batch *b, const size_t *order, struct sched_rank *k,
		    size_t *active, uint64_t *rng, bool *progress);

/* Pools (and the whole problem) of at most a few dozen hosts repacked by
 * one MIP each. */
int place_whole_pools(struct batch *b);

/* ---- place_round.c: an LP solution of the full MIP made a placement ---- */

/* The LP solution of the full MIP over classes of interchangeable VMs:
 * class c's members are first[c], next[first[c]], ... (-1 ends); x[c * nh
 * + j] is how many of them the LP puts on host j, open[j] how much it
 * opens j (0 .. 1). */
struct place_round {
	size_t ncls, nh;
	const int *first, *next;
	const double *x;
	const double *open;
};

/* Take every member of in's classes off its host in r, then place them
 * again by in: whole VMs where the LP puts them, one more by the largest
 * fractions, the rest best fit on running hosts or on the host the LP
 * opens most; then empty running hosts, least used per unit of cost
 * first, onto the others when they take every VM. Every assignment passes
 * sched_state_check_code(), so r stays valid; members that fit nowhere
 * stay unassigned. 0, or -1 with err_set() when out of memory (r is then
 * valid, some members unassigned). */
int place_round(struct sched_state *r, const struct place_round *in);

/* ---- place_exact.c: the full MIP ---------------------------------------- */

/* One full-MIP search: its limits (in) and what it found (out). */
struct place_exact {
	uint64_t work_limit; /* in: work units (WORK_PER_SECOND); 0: none */
	double deadline;  /* in: wall clock (place_now()); <= 0: none */
	bool found;       /* a placement was assigned */
	bool optimal;     /* proven */
	bool stopped;     /* a limit ended the search */
	bool by_time;     /* ... and it was the wall clock */
	double cost;      /* of the state after the call */
	double objective; /* the MIP's: cost + a penalty per VM left out */
	double bound;     /* best bound on the objective */
	size_t left;      /* VMs of the model left out */
	size_t nodes, vars, rows; /* the MIP's size (rows without cuts) */
	size_t rounds;    /* placements rounded from node LPs */
	size_t iters;     /* simplex iterations */
	uint64_t work;    /* work units spent (place_exact_work()) */
};

/* Solve the full MIP (model in place_exact.c) for the unassigned VMs of s
 * without skip[v] (skip may be NULL) and assign the best placement found
 * in s. start (may be NULL) is offered to GLPK as the first incumbent.
 * 0 (x->found false when stopped before any solution: s unchanged), -1
 * with err_set() when the problem is too big or GLPK failed. */
int place_exact_solve(struct sched_state *s, const bool *skip,
		      const struct sched_state *start, struct place_exact *x);

/* The LP relaxation of the full MIP over the unassigned VMs of s without
 * skip[v]: *bound is its optimum, a lower bound on the cost of placing
 * every one of them, or -1 when the relaxation leaves some out or GLPK
 * gives no optimum. -1 with err_set() when out of memory. */
int place_exact_lp_bound(const struct sched_state *s, const bool *skip,
			 double *bound);

/* A lower bound on the cost of any placement leaving out no more VMs
 * than x's (its cost when proven optimal). */
double place_exact_cost_bound(const struct sched_problem *p,
			      const struct place_exact *x);

#endif

/*
 * rebalance.h - migration plans: spread, pack, evacuate, repair.
 *
 * rebal_plan() turns a placed problem into an ordered list of live
 * migrations. Phases, in this order, all sharing one move budget:
 *
 *   repair    VMs whose current place breaks a constraint (capacity,
 *             pool, tags, isolation, affinity, ...; or a host that is not
 *             up) are reported and moved to a feasible host first;
 *   evacuate  every VM of the --evacuate hosts moves off, each once (the
 *             fewest moves possible), to the best feasible host;
 *   policy    spread: search a balanced target placement, keep only the
 *             migrations worth at least min_gain of score each, and run
 *             them in a feasible order, best gain per migration cost (a
 *             fixed cost plus the MiB of memory copied) first; when
 *             max_moves cuts the search short, the target is the best
 *             set of at most that many moves an annealing from the
 *             greedy target finds (deterministic: fixed seed, a number
 *             of steps that grows with the budget and the VMs);
 *             pack: empty the most expensive hosts that the capacity-plan
 *             LP does not need, whole hosts at a time.
 *
 * The balance score is Ganeti's cluster score (ganeti_score.h) when the
 * problem was read from an htools file, else the sum over pools and
 * dimensions of the standard deviation of eta (used / usable) across the
 * pool's up hosts. Every move is checked against the incremental state
 * (state.h) with everything else in place, so every intermediate state is
 * feasible; a VM moves at most once per plan, so no move undoes another.
 * htools instances that cannot live-migrate (plain, file, DRBD,
 * forthcoming) never move.
 */
#ifndef FC_SCHED_REBALANCE_H
#define FC_SCHED_REBALANCE_H

#include <cjson/cJSON.h>

#include "scheduler/sched.h"
#include "scheduler/state.h"

enum rebal_policy { REBAL_SPREAD = 0, REBAL_PACK };

enum rebal_phase { REBAL_REPAIR = 0, REBAL_EVACUATE, REBAL_BALANCE,
		   REBAL_EMPTY };

struct rebal_opts {
	enum rebal_policy policy;
	size_t max_moves;       /* 0: no limit */
	const size_t *evacuate; /* host indices to empty */
	size_t nevacuate;
	double min_gain;        /* score a spread migration must be worth;
				   0: 3% of score / up hosts */
};

struct rebal_move {
	size_t vm;
	size_t from, to;
	double mem_mib;         /* what the live migration copies: the
				   VM's memory, 0 for a stopped htools
				   instance */
	double score_before, score_after;
	enum rebal_phase phase;
};

/* A VM whose place broke a constraint before the plan. */
struct rebal_violation {
	size_t vm;
	int host;
	enum sched_reason code;   /* SCHED_X_STATE also for a host not up */
	char reason[320];
	bool repaired;
};

struct rebal_result {
	const char *metric;     /* "ganeti", "eta" or "cost" */
	double score_before, score_after;
	struct rebal_move *moves;
	size_t nmoves;
	double mib_moved;       /* sum of the moves' mem_mib */
	struct rebal_violation *violations;
	size_t nviolations;
	char **unresolved;      /* what the plan could not do, one per line */
	size_t nunresolved;
	size_t hosts_emptied;   /* pack and evacuate */
	bool max_moves_reached;
};

void rebal_opts_init(struct rebal_opts *o);

/* Plan for p as placed in p->vms[i].host (p is not changed). Returns 0
 * with *out filled (release with rebal_result_free()), also when some
 * things could not be done (out->nunresolved > 0); -1 with err_set() on
 * bad options, unsupported input or out of memory. */
int rebal_plan(const struct sched_problem *p, const struct rebal_opts *o,
	       struct rebal_result *out);
void rebal_result_free(struct rebal_result *r);

/* Put every VM of p where the plan leaves it. */
void rebal_apply(const struct rebal_result *r, struct sched_problem *p);

/* {"metric", "policy", "score_before", "score_after", "mib_moved",
 *  "moves": [{"vm", "from", "to", "mem_mib", "phase", "score_before",
 *             "score_after"}],
 *  "violations": [{"vm", "host", "constraint", "reason", "repaired"}],
 *  "unresolved": [...], "hosts_emptied", "max_moves_reached"}
 * NULL when out of memory; free with cJSON_Delete(). */
cJSON *rebal_result_to_json(const struct sched_problem *p,
			    const struct rebal_opts *o,
			    const struct rebal_result *r);

const char *rebal_phase_name(enum rebal_phase ph);

#endif

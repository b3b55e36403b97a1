/*
 * ganeti_score.h - Ganeti's static cluster score, as `hinfo --ignore-dynu`
 * prints it (Ganeti 3.0: Cluster/Metrics.hs).
 *
 * The score is a weighted sum of components over the nodes: standard
 * deviations (free memory, free disk, vCPU ratio, reserved memory and
 * spindle use, each also "forth", i.e. counting forthcoming instances) and
 * sums (N+1 failures, instances on offline nodes, conflicting exclusion
 * tags, total reserved memory). With --ignore-dynu the dynamic load
 * components are 0. Location tags (htools:nlocation, desired locations)
 * are not supported: such a cluster is refused with a message.
 *
 * The state keeps, per standard-deviation component, the running sum and
 * sum of squares over the online nodes, so the score after moving one
 * instance is computed in O(1) (plus its exclusion tags): that is what the
 * rebalancer's search uses.
 */
#ifndef FC_SCHED_GANETI_SCORE_H
#define FC_SCHED_GANETI_SCORE_H

#include "scheduler/sched.h"

enum gs_comp {
	GS_FREE_MEM = 0,
	GS_FREE_DISK,
	GS_N1,
	GS_RES_MEM,
	GS_OFF_ALL,
	GS_OFF_PRI,
	GS_VCPU,
	GS_CPU_LOAD,
	GS_MEM_LOAD,
	GS_DISK_LOAD,
	GS_NET_LOAD,
	GS_PRI_TAGS,
	GS_SPINDLES,
	GS_FREE_MEM_F,
	GS_FREE_DISK_F,
	GS_VCPU_F,
	GS_SPINDLES_F,
	GS_LOCATION,
	GS_LOC_EXCL,
	GS_RES_RTOTAL,
	GS_NCOMP
};

struct ganeti_score;

/* Score state for p (which must hold htools data) with VM i on host[i]
 * (NULL: on p->vms[i].host). p must outlive the state. NULL with err_set()
 * on unsupported input or out of memory. */
struct ganeti_score *ganeti_score_new(const struct sched_problem *p,
				      const int *host);
void ganeti_score_free(struct ganeti_score *g);

/* The current score and its components (unweighted, as hinfo prints). */
double ganeti_score_value(const struct ganeti_score *g);
double ganeti_score_component(const struct ganeti_score *g, enum gs_comp c);
const char *ganeti_score_name(enum gs_comp c);
double ganeti_score_weight(enum gs_comp c);

/* The score if VM vm moved (as primary) to host to; the score does not
 * change (g keeps vm's source node without it, so that trying one VM on
 * many hosts in a row costs about half: not for two threads at once). */
double ganeti_score_try(struct ganeti_score *g, size_t vm, size_t to);

/* Move VM vm to host to and update the score. */
void ganeti_score_move(struct ganeti_score *g, size_t vm, size_t to);

/* One-shot: the score of p as placed. */
int ganeti_score_of(const struct sched_problem *p, double *out);

#endif

/*
 * state.h - the incremental feasibility state of a placement.
 *
 * A struct sched_state follows which host each VM is on and keeps, per
 * host, the resources used, the VM count, the VMs of dedicated tenants, and
 * per group the hosts its members are on, so that "may VM v go to host h
 * given everything else?" is answered in O(tags + group size) without
 * looking at other VMs. Placement (place.h) and rebalancing both use it,
 * so they agree on what is feasible.
 *
 * The state reads the problem it was made from (which must outlive it and
 * not change, except that sched_state_write_back() stores the assignment
 * into p->vms[i].host).
 *
 * Constraints checked, in this order (the first that fails is reported;
 * what excludes a host whatever it runs comes before capacity, so that
 * "no room" is said only of hosts that could otherwise take the VM):
 *   state     only "up" hosts take new VMs (a VM may stay where it is)
 *   pool      the host's pool is one of the tenant's pools
 *   tags      the host carries every tag of the VM
 *   dedicated a dedicated tenant's VMs never share a host with another
 *             tenant's VMs (checked both ways)
 *   anti-affinity  members of an anti-affinity group on distinct hosts
 *   affinity  members of an affinity group on one host
 *   capacity  used + request <= capacity x pool ratio, per dimension
 *   availability   once every member of a group with a target is placed,
 *             1 - prod(1 - A_host) over its hosts reaches the target (a
 *             move that does not lower an already short group is allowed)
 */
#ifndef FC_SCHED_STATE_H
#define FC_SCHED_STATE_H

#include "scheduler/sched.h"

/* Which constraint excluded a host (sched_state_check_code()). */
enum sched_reason {
	SCHED_OK = 0,
	SCHED_X_STATE,         /* host not up */
	SCHED_X_POOL,          /* pool not allowed for the tenant */
	SCHED_X_TAGS,          /* a tag missing on the host */
	SCHED_X_CAPACITY,      /* detail: the dimension */
	SCHED_X_DEDICATED,     /* host holds a dedicated tenant's VMs; detail:
				  that tenant */
	SCHED_X_SHARED,        /* VM's tenant is dedicated, host holds others */
	SCHED_X_ANTI_AFFINITY, /* host holds a member of the VM's group */
	SCHED_X_AFFINITY,      /* group already on another host; detail: it */
	SCHED_X_AVAILABILITY,  /* group would miss its availability target */
	SCHED_X_COUNT
};

struct sched_state;

/* A state holding the assignment found in p->vms[i].host (which may break
 * constraints: see sched_state_check() on a VM's own host). NULL with
 * err_set() when out of memory. */
struct sched_state *sched_state_new(const struct sched_problem *p);
void sched_state_free(struct sched_state *s);

/* An independent copy (same problem). NULL with err_set() on OOM. */
struct sched_state *sched_state_clone(const struct sched_state *s);

/* 0 when vm may go to host given everything else assigned (its own current
 * place, if any, is ignored); -1 with a human reason in why (may be NULL
 * when whysize is 0) naming the constraint, e.g.
 *   "host 'n3' has 2048 MiB of memory free (65536 x ratio 1.0, 63488
 *    used), vm 'db1' needs 4096"
 * Called with host == the VM's current host it tells whether the current
 * assignment is valid. Does not touch err_msg(). */
int sched_state_check(const struct sched_state *s, size_t vm, size_t host,
		      char *why, size_t whysize);

/* The same test without formatting: SCHED_OK or the first failing
 * constraint; *detail (may be NULL) gets the dimension / tenant / host
 * named in enum sched_reason. The fast path of placement. */
enum sched_reason sched_state_check_code(const struct sched_state *s,
					 size_t vm, size_t host, int *detail);

/* Format the reason `code` (from sched_state_check_code()) into why. */
void sched_state_reason(const struct sched_state *s, size_t vm, size_t host,
			enum sched_reason code, int detail, char *why,
			size_t whysize);

/* The static part of the check (host state, pool, tags): whether vm could
 * ever go to host, whatever else is placed. */
bool sched_state_compatible(const struct sched_state *s, size_t vm,
			    size_t host);

/* A short name of the constraint ("capacity", "dedicated", ...). */
const char *sched_reason_name(enum sched_reason code);

/* Put vm on host (moving it when it is elsewhere). No check is made: call
 * sched_state_check() first when the result must stay feasible. */
void sched_state_assign(struct sched_state *s, size_t vm, size_t host);
/* Take vm off its host (no-op when unassigned). */
void sched_state_unassign(struct sched_state *s, size_t vm);

/* The host of vm, or -1. */
int sched_state_host_of(const struct sched_state *s, size_t vm);
/* Number of VMs on host. */
size_t sched_state_nvms(const struct sched_state *s, size_t host);

/* Per host and dimension: used (sum of requests), usable (capacity x the
 * pool's ratio) and headroom (usable - used; negative when overcommitted). */
double sched_state_used(const struct sched_state *s, size_t host,
			enum sched_dim d);
double sched_state_usable(const struct sched_state *s, size_t host,
			  enum sched_dim d);
double sched_state_headroom(const struct sched_state *s, size_t host,
			    enum sched_dim d);

/* Cost of the placement: sum of cost over hosts running >= 1 VM; and the
 * number of such hosts. */
double sched_state_cost(const struct sched_state *s);
size_t sched_state_active_hosts(const struct sched_state *s);

/* Availability 1 - prod(1 - A_host) over the distinct hosts of the
 * group's placed members (0 when none is placed); and how many of its
 * members are placed / exist. */
double sched_state_group_availability(const struct sched_state *s,
				      size_t group);
size_t sched_state_group_placed(const struct sched_state *s, size_t group);
size_t sched_state_group_size(const struct sched_state *s, size_t group);

/* Store the assignment into p->vms[i].host (p is the problem the state
 * was made from; the caller owns it and may change it). */
void sched_state_write_back(const struct sched_state *s,
			    struct sched_problem *p);

/* The problem the state was made from. */
const struct sched_problem *sched_state_problem(const struct sched_state *s);

#endif

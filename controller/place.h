/*
 * place.h - where a new VM (or a migrating one) goes: the controller's
 * side of placement. It loads the model of the pools the VM's tenant may
 * use (model.h, tenant scope: hosts, pools, tenants, the existing claims
 * summed per host, tenant and group, migrations in flight) and asks
 * sched_place_one() for a host. The caller holds the controller lock and
 * writes the VM row in the same transaction, so the decision and the
 * claim are atomic.
 */
#ifndef FC_CTRL_PLACE_H
#define FC_CTRL_PLACE_H

#include "common/fc.h"

struct store;

struct place_request {
	const char *tenant;
	const char *group;        /* NULL: none */
	const char *pool;         /* NULL: any pool the tenant may use */
	const char *exclude_host; /* NULL, or the host a VM migrates from */
	double req[3];            /* vcpus, mem_mib, disk_gib */
	const char *const *ifaces; /* the interfaces a host must report free
				      (model_scope.ifaces) */
	size_t nifaces;
	bool vlan;                /* and 802.1Q links (model_scope.vlan) */
};

/* 0 with the chosen host's name in host and its pool's name in pool
 * (pool may be NULL when not wanted); 1 when no host fits or the tenant
 * may use no pool (why says which constraint excluded how many hosts, or
 * what to do); -1 on an error (err_set), e.g. the tenant or the group does
 * not exist. Names are cut to the buffers' sizes (NAME_MAX_LEN + 1 holds
 * any). */
int place_vm(struct store *st, const struct place_request *r, char *host,
	     size_t hostsize, char *pool, size_t poolsize, char *why,
	     size_t whysize);

/* 0 when the VM described by r may go to host `target` (a migration
 * target chosen by the operator); 1 with why when it may not (or the host
 * does not exist); -1 on an error (err_set) as for place_vm(). */
int place_check(struct store *st, const struct place_request *r,
		const char *target, char *why, size_t whysize);

/* Whether VMs may leave host by live migration (an operator's migrate, a
 * drain): 0 when they may; 1 when the host is degraded (its agent says it
 * cannot run VMs), with why naming the host, the agent's reason and the
 * fix; -1 with err_set() on a database error. A degraded node takes part
 * in no migration until it is healthy again, source or target. */
int place_leave_check(struct store *st, const char *host, char *why,
		      size_t whysize);

#endif

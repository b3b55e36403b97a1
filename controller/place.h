/*
 * place.h - where a new VM (or a migrating one) goes: the controller's
 * side of placement. It builds a libfcsched problem from the store (hosts,
 * pools, tenants, and the existing claims summed per host, tenant and
 * group) and asks sched_place_one() for a host. The caller holds the
 * controller lock and writes the VM row in the same transaction, so the
 * decision and the claim are atomic.
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
};

/* 0 with the chosen host's name in host; 1 when no host fits (why says
 * which constraint excluded how many hosts); -1 on an error (err_set). */
int place_vm(struct store *st, const struct place_request *r, char *host,
	     size_t hostsize, char *why, size_t whysize);

/* 0 when the VM described by r may go to host `target` (a migration
 * target chosen by the operator); 1 with why when it may not. */
int place_check(struct store *st, const struct place_request *r,
		const char *target, char *why, size_t whysize);

#endif

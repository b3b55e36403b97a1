/*
 * model.h - the placement model read from the store: the one place where
 * SQLite rows become a libfcsched struct sched_problem. Placement
 * (place.c: place_vm, place_check) and rebalancing (rebalance.c: the plan
 * and the re-check of each move before it starts) load it; nothing else
 * builds a problem from the store.
 *
 * Two scopes:
 *
 *   MODEL_SCOPE_TENANT: every pool and every host, to place one new VM of
 *   `tenant` (the last VM of the model, unplaced). Only that tenant's
 *   pools are restricted: those listed for it in tenant_pools (every pool
 *   when none is listed) whose compliance classes admit its compliance
 *   class (a pool naming no class admits every class), narrowed to `pool`
 *   when set; the other tenants may use every pool (they matter only for
 *   isolation). The VMs already placed are not read one by one: the claims
 *   table gives one model VM per host, tenant and "member of `group` or
 *   not", its claims summed. The named group is the model's only group,
 *   with no availability target: targets are for whole-group plans, one VM
 *   at a time is placed against the hard constraints only.
 *
 *   MODEL_SCOPE_POOL: one pool, its hosts and every VM on them one by one
 *   (in creation order), for a rebalance plan. Every tenant may use the
 *   pool (its VMs were admitted to it); every group is read, with its
 *   availability target. Each VM says whether it may move live and if not
 *   why (model_vm.fixed): it is being deleted, its host is down, it has a
 *   migrate or reboot task in progress, or it or its desired state is not
 *   "running".
 *
 * In both scopes a host is down when its state is not "up", in maintenance
 * when flagged so or named by exclude_host; a migration in flight (task
 * "migrate", pending or running) also holds its claim on its target, one
 * model VM per migration (the migrating VM's own claim stays on its
 * source).
 *
 * Units are the API's: vCPUs, MiB of memory, GiB of disk; overcommit
 * ratios, host costs and availabilities as stored. Pools, hosts, tenants
 * and groups are sorted by name in the problem (model_host() relies on
 * it).
 *
 * Tables read: pools, hosts, tenants, groups, tasks; tenant_pools and
 * claims in tenant scope, vms in pool scope. Nothing is written. The
 * caller holds the controller lock (store.h); a caller that records a
 * decision made on the model does so in the transaction it read it in.
 */
#ifndef FC_CTRL_MODEL_H
#define FC_CTRL_MODEL_H

#include "common/fc.h"
#include "common/util.h"
#include "scheduler/sched.h"

struct store;

enum model_scope_kind {
	MODEL_SCOPE_TENANT, /* the pools a tenant may use, one VM to place */
	MODEL_SCOPE_POOL,   /* one pool and all its VMs */
};

/* What to load. The strings are only read during model_load(). */
struct model_scope {
	enum model_scope_kind kind;
	const char *tenant;       /* tenant: the new VM's tenant */
	const char *group;        /* tenant: its group; NULL: none */
	const char *pool;         /* tenant: NULL (any) or the only pool it may
				     use; pool: the pool */
	const char *exclude_host; /* NULL, or a host taken as in maintenance
				     (the source of a migration) */
	double req[DIM_COUNT];    /* tenant: the new VM's vcpus, mem_mib,
				     disk_gib */
	/* tenant: the node interfaces its provider networks bridge
	 * (ifaces[0..nifaces)); a host whose agent does not report each of
	 * them free (hosts.interfaces) is taken as in maintenance */
	const char *const *ifaces;
	size_t nifaces;
	bool vlan;                /* tenant: and 802.1Q links (vlan_capable) */
};

enum model_vm_kind {
	MODEL_VM_STORED,   /* pool scope: one VM of the store */
	MODEL_VM_CLAIMS,   /* tenant scope: the claims of one tenant on one
			      host (of group members or of the others),
			      summed */
	MODEL_VM_INFLIGHT, /* the claim of a migration in flight on its
			      target */
	MODEL_VM_NEW,      /* tenant scope: the VM to place (host -1) */
};

/* What the store says of p->vms[i] beyond the scheduler's model. */
struct model_vm {
	enum model_vm_kind kind;
	char id[40];                   /* stored, in flight: the VM's id */
	char name[NAME_MAX_LEN + 1];   /* stored: the VM's name */
	char tenant[NAME_MAX_LEN + 1]; /* the tenant's name */
	const char *fixed;             /* NULL: may move live; else why not
					  (a static string) */
};

/* A loaded model. Owns p and vm; released with model_free(). */
struct model {
	struct sched_problem *p;
	struct model_vm *vm; /* p->nvms of them, p->vms[i] <-> vm[i] */
	size_t nstored;      /* p->vms[0..nstored) are the stored VMs (pool
				scope) or the sums of claims (tenant scope);
				then come the migrations in flight, then the
				new VM */
	int tenant;          /* tenant scope: index of scope->tenant; else -1 */
	int placing;         /* tenant scope: index of the new VM (the last);
				else -1 */
};

/* Load the model of scope from st into *out (the caller's storage).
 * 0 on success. 1 with a reason in why (size whysize) when there is
 * nothing to model: in tenant scope the tenant may use no pool (naming its
 * compliance class and what to do), in pool scope the pool does not
 * exist. -1 with err_set() on a database error, when out of memory, or in
 * tenant scope when the tenant or the group does not exist. *out is zeroed
 * (and model_free() on it is a no-op) unless 0 is returned. */
int model_load(struct store *st, const struct model_scope *scope,
	       struct model *out, char *why, size_t whysize);

/* Release what m owns and zero it; m may be NULL or zeroed. */
void model_free(struct model *m);

/* The hosts that are up but degraded (their agent reports it cannot run
 * VMs), or only host when not NULL: "host 'NAME' is degraded (REASON)",
 * "; "-separated, into note (notesize bytes, cut to fit, "" when none).
 * How many there are, or -1 with err_set() on a database error. */
int model_degraded(struct store *st, const char *host, char *note,
		   size_t notesize);

/* Index of host `name` in m->p->hosts, or -1. */
int model_host(const struct model *m, const char *name);

/* Index of the stored VM with that id in m->p->vms (pool scope), or -1. */
int model_stored_vm(const struct model *m, const char *id);

#endif

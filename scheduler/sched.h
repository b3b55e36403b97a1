/*
 * sched.h - libfcsched: fincloud's placement model and its solvers.
 *
 * Pure logic: no HTTP, no SQL, no libvirt, no file I/O except in the
 * *_load_* helpers used by the fincloud-sched tool. The controller builds a
 * struct sched_problem from its database and calls the same functions.
 *
 * Objects refer to each other by index into the problem's arrays (a VM's
 * tenant is p->tenants[vm->tenant]); -1 means "none". All sizes are in the
 * units of the API: vCPUs, MiB of memory, GiB of disk.
 *
 * Ownership: a struct sched_problem owns every array and string in it and
 * is released with sched_problem_free(). Results are released with their
 * own *_free().
 */
#ifndef FC_SCHED_H
#define FC_SCHED_H

#include <cjson/cJSON.h>

#include "common/fc.h"

#define SCHED_NAME_MAX 128

enum sched_dim { DIM_VCPU = 0, DIM_MEM, DIM_DISK, DIM_COUNT };

enum sched_policy { POLICY_PACK = 0, POLICY_SPREAD };
enum host_state { HOST_UP = 0, HOST_MAINTENANCE, HOST_DOWN };
enum isolation { ISOLATION_SHARED = 0, ISOLATION_DEDICATED };
enum group_policy { GROUP_ANTI_AFFINITY = 0, GROUP_AFFINITY };

struct sched_pool {
	char name[SCHED_NAME_MAX];
	double ratio[DIM_COUNT]; /* overcommit: usable = capacity * ratio */
	enum sched_policy policy;
};

struct sched_host {
	char name[SCHED_NAME_MAX];
	int pool;                 /* index into pools */
	double cap[DIM_COUNT];    /* physical capacity (vcpus, mem_mib, disk_gib) */
	double cost;              /* paid while the host runs >= 1 VM */
	double availability;      /* 0..1 */
	char **tags;
	size_t ntags;
	enum host_state state;
};

struct sched_tenant {
	char name[SCHED_NAME_MAX];
	enum isolation isolation;
	int *pools;               /* allowed pool indices; npools 0 = all */
	size_t npools;
};

struct sched_group {
	char name[SCHED_NAME_MAX];
	int tenant;
	enum group_policy policy;
	double availability;      /* target 0..1; 0 = none */
};

struct sched_vm {
	char name[SCHED_NAME_MAX];
	int tenant;
	int group;                /* -1: none */
	double req[DIM_COUNT];
	char **tags;              /* a host must carry all of them */
	size_t ntags;
	int host;                 /* -1: not placed */
};

struct htools_data; /* extra data kept when read from Ganeti's format */

struct sched_problem {
	struct sched_pool *pools;
	size_t npools;
	struct sched_host *hosts;
	size_t nhosts;
	struct sched_tenant *tenants;
	size_t ntenants;
	struct sched_group *groups;
	size_t ngroups;
	struct sched_vm *vms;
	size_t nvms;
	struct htools_data *htools; /* NULL unless read by htools_read() */
	/* How sched_problem_free() releases htools (set with it). */
	void (*htools_free)(struct htools_data *h);
};

/* Release p and everything it owns (NULL is fine). Defined in problem.c,
 * which also holds the JSON reader and writer (scheduler/problem.h). */
void sched_problem_free(struct sched_problem *p);

#endif

/*
 * metrics.h - utilisation (eta) per pool and the availability formula.
 *
 *   eta = V_used / V_total, per pool and per dimension, where V_used is
 *   the sum of the requests of the VMs placed in the pool and V_total the
 *   usable capacity (capacity x the pool's overcommit ratio), taken over
 *   all hosts of the pool and over its active hosts (those running at
 *   least one VM).
 *
 *   A = 1 - prod(1 - A_i) over distinct hosts i: the availability of a
 *   service replicated on those hosts.
 */
#ifndef FC_SCHED_METRICS_H
#define FC_SCHED_METRICS_H

#include <cjson/cJSON.h>

#include "scheduler/sched.h"

struct sched_eta {
	double used[DIM_COUNT];
	double total[DIM_COUNT];        /* usable, all hosts of the pool */
	double total_active[DIM_COUNT]; /* usable, hosts running >= 1 VM */
	double eta[DIM_COUNT];          /* used / total (0 when total is 0) */
	double eta_active[DIM_COUNT];   /* used / total_active */
	size_t hosts;
	size_t active_hosts;
};

/* Fill out[0 .. p->npools) from the assignment in p->vms[i].host. */
void sched_eta_compute(const struct sched_problem *p, struct sched_eta *out);

/* {"POOL": {"hosts", "active_hosts", "vcpus": {"used", "total",
 * "total_active", "eta", "eta_active"}, "mem_mib": ..., "disk_gib": ...}}
 * NULL when out of memory; the caller frees with cJSON_Delete(). */
cJSON *sched_eta_to_json(const struct sched_problem *p,
			 const struct sched_eta *eta);

/* 1 - prod(1 - a[i]); 0 when n is 0. */
double sched_availability(const double *a, size_t n);

/* The smallest k such that the k first of a[0 .. n) (sorted from most to
 * least available) reach target; 0 when all n together do not. */
size_t sched_availability_needed(const double *a, size_t n, double target);

#endif

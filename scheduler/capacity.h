/*
 * capacity.h - how many more instances of one size fit a cluster, the
 * question Ganeti's `hspace --standard-alloc=DISK,MEM,VCPUS` answers.
 *
 * Instances are added one at a time on the up host with the most free
 * memory (in its pool's share) that takes it: capacity with the pool's
 * ratios, as in the placement model. The spec's disk counts only for disk
 * templates with local storage (plain, drbd, file); the template is the
 * first one of the cluster's instance policy, else "diskless", as hspace
 * chooses it.
 *
 * With n_plus_one, an instance is only added when afterwards the failure
 * of any single host still leaves room for its instances elsewhere:
 * externally mirrored ones (and the new ones) restart on the other up
 * hosts of the same pool (placed largest first where they fit), DRBD ones
 * on their secondary node; plain and file instances cannot restart and are
 * not counted. A host that already fails this test before any allocation
 * is reported and tolerated (its failure may not get worse).
 */
#ifndef FC_SCHED_CAPACITY_H
#define FC_SCHED_CAPACITY_H

#include <cjson/cJSON.h>

#include "scheduler/sched.h"

struct sched_capacity_opts {
	double disk_mib;
	double mem_mib;
	double vcpus;
	bool n_plus_one;
	char disk_template[32]; /* "" = as the cluster's policy says */
};

struct sched_capacity_result {
	size_t instances;
	size_t *per_host;        /* new instances per host */
	size_t nhosts;
	char disk_template[32];
	bool disk_counted;
	/* Why the last attempt failed, counted over hosts. */
	size_t fail_mem, fail_cpu, fail_disk, fail_n1, fail_down;
	size_t initial_n1_failures;
	double seconds;
};

/* "DISK_MIB,MEM_MIB,VCPUS" (hspace's order) into o; -1 with err_set(). */
int sched_capacity_parse_spec(const char *spec,
			      struct sched_capacity_opts *o);

/* Count for p (placed VMs stay). 0, or -1 with err_set() on bad input
 * (e.g. a DRBD template without htools data) or out of memory. */
int sched_capacity(const struct sched_problem *p,
		   const struct sched_capacity_opts *o,
		   struct sched_capacity_result *r);
void sched_capacity_result_free(struct sched_capacity_result *r);

/* {"spec": {...}, "n_plus_one", "instances", "hosts": [{"host",
 * "instances"}], "failures": {...}, "seconds"}; NULL when out of memory. */
cJSON *sched_capacity_to_json(const struct sched_problem *p,
			      const struct sched_capacity_opts *o,
			      const struct sched_capacity_result *r);

#endif

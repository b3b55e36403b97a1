/*
 * capacity.h - how many more instances of one size fit a cluster, the
 * question Ganeti's `hspace --standard-alloc=DISK,MEM,VCPUS` answers.
 *
 * Instances are added one at a time on the host with the largest share
 * of free memory that takes it, with Ganeti's hard limits (Node.addPri):
 * memory must stay above zero and above the node's DRBD failover reserve
 * (r_mem), the vCPU ratio of the node group's policy holds, local disk
 * must stay above zero; nothing goes to hosts that are not up or to
 * 'unallocable' node groups. The spec's disk counts only for disk
 * templates with local storage (plain, drbd, file); the template is the
 * first one of the cluster's instance policy, else "diskless", as hspace
 * chooses it. Stopped and forthcoming instances keep their memory on
 * their node, as in hspace. Without n_plus_one the count equals `hspace
 * --no-capacity-checks` (instances are identical, so the order does not
 * change how many fit) on clusters without DRBD instances; with them it
 * can be lower (docs/scheduler.md, capacity).
 *
 * With n_plus_one (hspace's default global N+1 check, Ganeti's
 * canEvacuateNode), an instance is only added when afterwards every host
 * of its pool can fail: its DRBD instances fail over to their secondaries
 * and every other instance that uses memory (the new ones included) is
 * re-created on the other up hosts of the pool, largest first, memory
 * staying above zero. Differences from hspace: a host that already fails
 * this test before any allocation is reported (initial_n1_failures) and
 * tolerated, where hspace allocates nothing; hosts that are offline are
 * never evacuation targets, where hspace counts their free memory.
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
	/* Work done by the N+1 check, for tests and benchmarks: instances
	 * tried against it, evacuations of a failed host simulated, instances
	 * restarted in them, and hosts examined to find each one's target
	 * (one per instance unless local disk runs short). */
	size_t n1_checks, n1_evacuations, n1_items_moved, n1_hosts_examined;
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

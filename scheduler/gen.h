/*
 * gen.h - reproducible random placement problems for benchmarks and tests.
 *
 * The same (hosts, vms, seed) always gives the same problem, on every
 * machine: the generator has its own PRNG (splitmix64) and uses no
 * floating point in its choices beyond exact arithmetic on small
 * integers. The fleet looks like a bank's private cloud: two pools
 * ("prod" with vCPU overcommit 4, "dev" with 8 and memory 1.2), four host
 * models with different cost per GiB, a few hosts down or in maintenance,
 * SSD tags, tenants (payment-settlement dedicated to prod, batch-analytics
 * limited to dev), anti-affinity groups of 2-3 members, some with an
 * availability target, and VMs drawn from eight flavors.
 */
#ifndef FC_SCHED_GEN_H
#define FC_SCHED_GEN_H

#include "scheduler/sched.h"

/* A new problem (caller frees with sched_problem_free()), NULL with
 * err_set() when out of memory or when hosts is 0. simple: only shared
 * tenants and anti-affinity groups without availability targets, what
 * sched_place_exact() accepts. */
struct sched_problem *sched_gen(size_t hosts, size_t vms, uint64_t seed,
				bool simple);

#endif

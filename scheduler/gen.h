/*
 * gen.h - reproducible random placement problems for benchmarks and tests.
 *
 * The same (shape, hosts, vms, seed) always gives the same problem, on
 * every machine: the generator has its own PRNG (splitmix64) and uses no
 * floating point in its choices beyond exact arithmetic on small
 * integers. The default shape looks like a bank's private cloud: two
 * pools ("prod" with vCPU overcommit 4, "dev" with 8 and memory 1.2),
 * four host models with different cost per GiB, a few hosts down or in
 * maintenance, SSD tags, tenants (payment-settlement dedicated to prod,
 * batch-analytics limited to dev), anti-affinity groups of 2-3 members,
 * some with an availability target, and VMs drawn from eight flavors.
 *
 * The other shapes change one thing each (docs/scheduler.md, `gen`):
 * hetero (host models with different costs and capacity ratios),
 * mem-tight (memory-poor hosts, CPU-bound tenants), tiny (many small
 * VMs), huge (a few VMs the size of a host), dedicated (dedicated tenants
 * holding the pool a memory-hungry tenant needs), anti-affinity (large
 * groups with availability targets), affinity (VMs that share a host),
 * hosts-down (a quarter of the hosts unavailable).
 */
#ifndef FC_SCHED_GEN_H
#define FC_SCHED_GEN_H

#include "scheduler/sched.h"

/* A new problem of the default shape (caller frees with
 * sched_problem_free()), NULL with err_set() when out of memory or when
 * hosts is 0. simple: only shared tenants and anti-affinity groups
 * without availability targets, what sched_place_exact() accepts. */
struct sched_problem *sched_gen(size_t hosts, size_t vms, uint64_t seed,
				bool simple);

/* The same for the shape named shape (NULL: "default", exactly
 * sched_gen()). NULL with err_set() also for an unknown name; the message
 * lists the shapes, for `fincloud-sched gen --shape NAME`. */
struct sched_problem *sched_gen_shape(const char *shape, size_t hosts,
				      size_t vms, uint64_t seed, bool simple);

/* The shapes, for help texts and benchmarks: i from 0 to
 * sched_gen_shape_count() - 1 (0 is "default"); name and one line of
 * help, static strings, NULL past the end. */
size_t sched_gen_shape_count(void);
const char *sched_gen_shape_name(size_t i);
const char *sched_gen_shape_help(size_t i);

#endif

/*
 * problem.h - the placement problem as JSON: read (validated), write.
 *
 * The format is described by schemas/placement-problem.schema.json and
 * docs/scheduler.md:
 *
 *   {"pools":   [{"name", "cpu_ratio", "mem_ratio", "disk_ratio", "policy"}],
 *    "hosts":   [{"name", "pool", "vcpus", "mem_mib", "disk_gib", "cost",
 *                 "availability", "tags", "state"}],
 *    "tenants": [{"name", "isolation", "pools"}],
 *    "groups":  [{"name", "tenant", "policy", "availability"}],
 *    "vms":     [{"name", "tenant", "group", "vcpus", "mem_mib", "disk_gib",
 *                 "tags", "host"}]}
 *
 * Every error names the JSON path and field ("$.hosts[3].vcpus: ...");
 * unknown fields, unknown references, duplicate names, negative sizes,
 * ratios <= 0 and availabilities outside 0..1 are refused, never fixed.
 */
#ifndef FC_SCHED_PROBLEM_H
#define FC_SCHED_PROBLEM_H

#include <cjson/cJSON.h>

#include "scheduler/sched.h"

/* Largest problem file fincloud-sched reads (bytes). */
#define SCHED_PROBLEM_MAX_BYTES (512u << 20)

/* An empty problem (all arrays NULL). NULL with err_set() when out of
 * memory. */
struct sched_problem *sched_problem_new(void);

/* Build a problem from a parsed document. On success *out is a new problem
 * the caller releases with sched_problem_free(); on failure *out is left
 * alone and err_msg() names the path. root is not kept. */
int sched_problem_from_json(const cJSON *root, struct sched_problem **out);

/* Read path (at most SCHED_PROBLEM_MAX_BYTES) and build a problem from it;
 * errors start with the path. */
int sched_problem_load_json(const char *path, struct sched_problem **out);

/* The problem as a JSON document in the same format (VMs with a host keep
 * it). The caller frees it with cJSON_Delete(); NULL when out of memory. */
cJSON *sched_problem_to_json(const struct sched_problem *p);

/* Index of the object with that name, or -1 (linear; for tools and tests,
 * not for hot paths). */
int sched_problem_find_pool(const struct sched_problem *p, const char *name);
int sched_problem_find_host(const struct sched_problem *p, const char *name);
int sched_problem_find_tenant(const struct sched_problem *p, const char *name);
int sched_problem_find_group(const struct sched_problem *p, const char *name);
int sched_problem_find_vm(const struct sched_problem *p, const char *name);

/* Names of the enums as in the JSON format. */
const char *sched_dim_name(enum sched_dim d);     /* "vcpus", "mem_mib", ... */
const char *sched_policy_name(enum sched_policy p);
const char *sched_host_state_name(enum host_state s);
const char *sched_isolation_name(enum isolation i);
const char *sched_group_policy_name(enum group_policy p);

/* Free a tag list of n strings (NULL is fine). */
void sched_tags_free(char **tags, size_t n);

#endif

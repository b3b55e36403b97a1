/*
 * desired.h - a node's desired state: what its agent's heartbeat is
 * answered (controller/api_agent.c), read in a few statements however
 * many VMs the node runs.
 *
 * The store it reads may be the writers' (lock held) or, on PostgreSQL,
 * the reader's (ctrl.h "The reader": one read-only snapshot, outside the
 * controller lock); it only reads.
 */
#ifndef FC_CTRL_DESIRED_H
#define FC_CTRL_DESIRED_H

#include <cjson/cJSON.h>

#include "common/fc.h"

struct store;

/* The desired state of node at generation gen, read from st: its
 * "generation", "vms" (those placed on it but one another node reports
 * active; every deleted VM it reports, wherever placed; the orphans it
 * was told to destroy; the VMs restarted away from it after a fence),
 * "tasks" (its open agent tasks), "incoming" (migrations it receives)
 * and "networks". NULL with err_set() when it cannot be read whole (a
 * partial one would tell the agent to destroy what it runs). The caller
 * frees it with cJSON_Delete(). */
cJSON *desired_state(struct store *st, const char *node, int64_t gen);

#endif

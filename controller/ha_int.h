/*
 * ha_int.h - what ha.c and ha_fence.c share (private to them; see ha.h).
 * Every function works inside the caller's open transaction, lock held.
 */
#ifndef FC_CTRL_HA_INT_H
#define FC_CTRL_HA_INT_H

#include "controller/ctrl.h"
#include "controller/task.h"

/* "host:NAME" (the audit target of host) into out. */
void ha_host_target(char *out, size_t size, const char *host);

/* Set host's HA state from one of `from` (a comma-separated list of
 * states) to `to` with why, since now: 1 when it moved, 0 when it was in
 * none of them (or there is no such host), -1 with err_set(). */
int ha_set_state(struct store *st, const char *host, const char *from,
		 const char *to, const char *why);

/* A new task of type about host (its source host), VM vm and tenant
 * (NULL: none), target (NULL: none); its id into id. 0 or -1. */
int ha_host_task(struct store *st, enum task_type type, const char *host,
		 const char *vm, const char *tenant, const char *target,
		 char id[TASK_ID_LEN]);

/* The HA VMs of fenced host, highest ha_priority first: each on a Ceph
 * storage pool is placed again (place.h) and moved, each on local
 * storage is marked lost; one that fits nowhere keeps its host and says
 * why (once). 0 or -1. */
int ha_restart_host(struct ctrl *ctrl, const char *host);

#endif

/*
 * storage.h - storage pools: where a VM's root disk lives, and how
 * available it is (docs/operations.md "Replicated storage on Ceph").
 *
 * A pool is 'local' (a qcow2 overlay on the VM's host; the pool named
 * "local" always exists and is the default) or 'ceph' (an RBD clone of
 * the VM's image in a Ceph pool, opened by QEMU on whichever host runs
 * the VM). The controller keeps only what a node needs to reach the
 * cluster (RBD pool, monitors, cephx user); each node's key stays on the
 * node, which hands it to libvirt as a secret.
 *
 * Availability: a VM's disk on a local pool is as available as its host;
 * on a ceph pool it is 1 - prod(1 - A_i) over the hosts holding its
 * replicas: the pool's replica_hosts (fincloud hosts, their availability)
 * or, for a cluster outside fincloud, `replicas` holders of
 * replica_availability each.
 *
 * The functions that take a store run under the controller lock, inside
 * the caller's transaction.
 */
#ifndef FC_CTRL_STORAGE_H
#define FC_CTRL_STORAGE_H

#include <stddef.h>

#include <cjson/cJSON.h>
#include "controller/db.h"

struct store;

/* The pool every VM without another one uses. */
#define STORAGE_LOCAL "local"

/* The most replica holders a pool counts. */
#define STORAGE_HOLDERS_MAX 64

/* The availability of data kept on the `replicas` least available of
 * the n holders a (each 0..1; n may be 0, only the first
 * STORAGE_HOLDERS_MAX count): 1 - prod(1 - a_i) over them.
 * With n 0 (holders outside fincloud): replicas holders of availability
 * each, 1 - (1 - each)^replicas. replicas < 1 counts as 1; with n > 0
 * and replicas > n all n count. Pure. */
double storage_availability(const double *a, size_t n, int replicas,
			    double each);

/* The columns storage_json() reads, from storage_pools r. */
#define STORAGE_COLS                                                      \
	"r.name, r.type, r.ceph_pool, r.monitors, r.client, r.replicas, "   \
	"r.replica_hosts, r.replica_availability, r.created_ms, "          \
	"(SELECT count(*) FROM vms v WHERE v.storage = r.name AND "        \
	"v.desired != 'deleted')"

/* The API's JSON of the storage pool row s is on (STORAGE_COLS), with
 * its availability; NULL with err_set() when the hosts' availability
 * cannot be read. The caller frees it. */
cJSON *storage_json(struct store *st, struct db_stmt *s);

/* What a tenant does not see of a storage pool (o from storage_json(),
 * changed in place): the cluster's RBD pool, monitors, cephx user,
 * replica hosts and the count of every tenant's VMs on it; its name,
 * type, replicas and availability stay. */
void storage_redact(cJSON *o);

/* The availability of storage pool name (a ceph pool: from its replicas;
 * local: 1, its disks are counted with their hosts) into *a: 1 when
 * found, 0 when there is no such pool, -1 with err_set(). */
int storage_pool_availability(struct store *st, const char *name, double *a);

/* The availability of group's storage into *a: 1 - prod(1 - A) over the
 * distinct places its members' disks live in (a local disk: its host; a
 * ceph disk: its pool); 0 without members. 0, or -1 with err_set(). */
int storage_group_availability(struct store *st, const char *group,
			       double *a);

#endif

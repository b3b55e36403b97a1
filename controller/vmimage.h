/*
 * vmimage.h - a VM's image and first-boot settings as its nodes see
 * them (docs/images.md, docs/agent-protocol.md): the "image" and
 * "first_boot" of a vm_spec in a desired state, the "incoming" VMs a
 * migration target prepares (image fetched, disk and seed made) and the
 * "prepared" list its heartbeat answers with.
 *
 * A migration of a VM made from an image copies only its overlay
 * (VIR_MIGRATE_NON_SHARED_INC), so its target must hold the base image
 * and the overlay file before the source starts: the source is handed
 * the migrate task only once the target reported the VM prepared
 * (tasks.target_ready, read by task_orders()).
 *
 * Every function runs under the controller lock, inside the caller's
 * transaction.
 */
#ifndef FC_CTRL_VMIMAGE_H
#define FC_CTRL_VMIMAGE_H

#include <cjson/cJSON.h>

#include "controller/ctrl.h"
#include "controller/db.h"

/* The columns vmimage_spec_add() reads, from a query over vms v. */
#define VMIMAGE_COLS                                                        \
	"v.image_sha256, (SELECT format FROM images i WHERE i.id = "        \
	"v.image_id), (SELECT size_bytes FROM images i WHERE i.id = "       \
	"v.image_id), v.ssh_keys, v.user_data, " VMIMAGE_CEPH("ceph_pool")   \
	", " VMIMAGE_CEPH("monitors") ", " VMIMAGE_CEPH("client")
/* A column of the VM's storage pool when it is a ceph one (else NULL). */
#define VMIMAGE_CEPH(col)                                                   \
	"(SELECT p." col " FROM storage_pools p WHERE p.name = v.storage "  \
	"AND p.type = 'ceph')"
/* How many columns VMIMAGE_COLS has. */
#define VMIMAGE_NCOLS 8

/* The fields every vm_spec of a desired state has, into v, from the row
 * s is on (columns 0 id, 3 group, 4-6 vcpus, mem_mib, disk_gib), with
 * the domain name dom, tenant and state ("running", "stopped",
 * "deleted"); base_image null. */
void vmimage_spec_base(struct db_stmt *s, const char *dom, const char *tenant,
		       const char *state, cJSON *v);

/* Add "image" ({sha256, format, size_bytes}) and "first_boot"
 * ({hostname, ssh_keys, user_data}) to the vm_spec v from the row s is
 * on, whose VMIMAGE_COLS start at column col; nothing when the VM has no
 * image. hostname is the VM's own name. A VM on a ceph storage pool
 * also gets "storage" ({type "ceph", pool, monitors [...], user}: the
 * pool's cephx user with "{node}" replaced by node, the node the spec
 * goes to). 0, or -1 with err_set() when out of memory. */
int vmimage_spec_add(struct db_stmt *s, int col, const char *hostname,
		     const char *node, cJSON *v);

/* The VMs with an image migrating to node (an open migrate task with it
 * as target) as vm_specs into the array out, each with its ports
 * (netstate_vm_ports(): the target defines their network filters before
 * the domain arrives). 0, or -1 with err_set(). */
int vmimage_incoming(struct store *st, const char *node, cJSON *out);

/* node's heartbeat says it prepared the VMs of prepared (an array of
 * ids; NULL: none): their open migrations to node become ready, and
 * each one's source is woken to start it. 0, or -1 with err_set() (a
 * malformed entry is skipped: the agent's schema check is upstream). */
int vmimage_prepared(struct ctrl *ctrl, const char *node,
		     const cJSON *prepared);

#endif

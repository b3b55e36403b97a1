/*
 * agent_rbd.h - a VM's root disk as an RBD clone in a Ceph pool
 * (docs/operations.md "Replicated storage on Ceph"), made with Ceph's
 * own tools: each catalogue image is imported once per pool (`rbd
 * import` of its raw bytes, a snapshot "base", protected) as
 * "fincloud-img-SHA256", and each VM's disk is `rbd clone` of that
 * snapshot, "fincloud-vm-UUID", grown to the VM's disk_gib. QEMU opens
 * the clone itself (librbd, qemu-block-extra) with the node's cephx key,
 * which libvirt holds as a secret (agent_virt_rbd_secret()).
 *
 * The node's Ceph client files live in ceph_dir (agent.conf): the key of
 * user U in ceph_dir/ceph.client.U.keyring (mode 0600), and optionally
 * ceph_dir/ceph.conf. The monitors come from the VM's spec.
 *
 * Two nodes importing one image at once each import under a name of
 * their own and rename it into place; the loser removes its copy. Every
 * call is idempotent: what exists already is kept. Calls block (an
 * import for as long as the image takes); the main loop calls them.
 */
#ifndef AGENT_RBD_H
#define AGENT_RBD_H

#include "agents/agent_spec.h"

/* The names fincloud gives its RBD images (out of AGENT_RBD_NAME_LEN). */
#define AGENT_RBD_NAME_LEN 96
void agent_rbd_image_name(const char *sha256, char out[AGENT_RBD_NAME_LEN]);
void agent_rbd_vm_name(const char *vm_id, char out[AGENT_RBD_NAME_LEN]);

/* The base64 key of "[client.USER]" from a keyring's text (a "key = ..."
 * line of that section) into out (size bytes). -1 with err_set() when
 * the text has no such key. Pure. */
int agent_rbd_keyring_key(const char *text, const char *user, char *out,
			  size_t size);

/* The key of s's cephx user, read from ceph_dir's keyring for it, into
 * out. -1 with err_set() naming the file and the fix. */
int agent_rbd_key(const char *ceph_dir, const struct agent_vm_spec *s,
		  char *out, size_t size);

/* s's image (raw bytes, or qcow2, at cached: the node's image cache) in
 * s's pool as fincloud-img-SHA@base, protected: imported unless it is
 * there. node names this node's temporary copy. tmp_dir: where a qcow2
 * image is converted to raw first. -1 with err_set() naming the VM. */
int agent_rbd_image_ensure(const char *ceph_dir, const struct agent_vm_spec *s,
			   const char *cached, const char *tmp_dir,
			   const char *node);

/* Whether s's disk, fincloud-vm-UUID, exists in its pool (one `rbd
 * info`): 1, 0, or -1 with err_set() naming the VM and the pool. */
int agent_rbd_clone_exists(const char *ceph_dir,
			   const struct agent_vm_spec *s);

/* s's disk, fincloud-vm-UUID, known not to exist: its image imported
 * first as agent_rbd_image_ensure() does with cached, tmp_dir and node
 * (cached NULL: the image is known to be there), then cloned from its
 * base snapshot and grown to s->disk_gib; a clone that could not be
 * grown is removed (the next pass clones it anew). -1 with err_set()
 * naming the VM. */
int agent_rbd_disk_make(const char *ceph_dir, const struct agent_vm_spec *s,
			const char *cached, const char *tmp_dir,
			const char *node);

/* s's disk unless it exists (agent_rbd_clone_exists(): a VM restarted
 * on another node by HA finds its disk at once), else made as
 * agent_rbd_disk_make() makes it. -1 with err_set() naming the VM. */
int agent_rbd_disk_ensure(const char *ceph_dir, const struct agent_vm_spec *s,
			  const char *cached, const char *tmp_dir,
			  const char *node);

/* Remove s's disk from its pool (nothing when it is gone already); with
 * s->wipe every byte of it is overwritten first (`rbd bench` writes over
 * the whole image). Refused by Ceph while a client still has it open (a
 * QEMU anywhere): -1 with err_set(). */
int agent_rbd_clone_remove(const char *ceph_dir,
			   const struct agent_vm_spec *s);

#endif

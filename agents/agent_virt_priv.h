/*
 * agent_virt_priv.h - what the files of the agent_virt module share and
 * nothing else may include: agent_virt.c (event loop, connection,
 * inventory, domain operations), agent_virt_volume.c (the storage pool
 * and the VMs' disk files) and agent_virt_migrate.c (live migration).
 *
 * The locking of struct agent_virt is stated on its fields; the helpers
 * here take no lock of their own beyond what they say.
 */
#ifndef AGENT_VIRT_PRIV_H
#define AGENT_VIRT_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include <libvirt/libvirt.h>

#include "agents/agent_virt.h"

struct agent_virt_cpu_sample {
	char uuid[37];
	uint64_t cpu_ns;
	uint64_t t_ns;
};

struct agent_virt {
	char *uri;
	char *storage_dir;
	char *image_dir;
	/* Set and cleared by the thread that calls connect and disconnect
	 * (the main loop), under conn_lock; that thread reads it as it is,
	 * others take a reference with conn_ref(). */
	virConnectPtr conn;
	pthread_mutex_t conn_lock;
	int event_id;
	atomic_bool dead;
	bool test_driver;
	char virt_type[8];
	char virt_setting[8];   /* the agent's virt_type: auto, kvm, qemu */
	char virt_type_reason[256];
	char cpu_model[128];
	char machine_id[64];    /* see struct agent_inventory */
	char *pool_name;      /* the pool over storage_dir, any length */
	agent_virt_event_fn event_fn;
	void *event_opaque;
	pthread_mutex_t lock; /* samples */
	struct agent_virt_cpu_sample *samples;
	size_t nsamples;
};

/* libvirt's last error of this thread, copied: every libvirt API call,
 * even virDomainGetName(), resets (frees) that error, so the message must
 * be taken before the next call. The copy is this thread's and stays
 * valid until its next agent_virt_msg(): never call another libvirt
 * function in the same argument list (evaluation order is unspecified),
 * and never use agent_virt_msg() twice in one err_set(). */
const char *agent_virt_msg(void);

/* The fincloud domain with this uuid (a 36-character UUID string), for
 * any thread. The caller frees it with virDomainFree(). NULL with
 * *missing set and an error when there is none; NULL with an error when
 * it is foreign or libvirt could not say. */
virDomainPtr agent_virt_lookup_managed(struct agent_virt *v, const char *uuid,
				       bool *missing);


/* The NoCloud seed ISO path of vm_id (storage_dir/<vm_id>.seed.iso)
 * into buf; -1 with an error when storage_dir makes it too long. */
int agent_virt_seed_path(const struct agent_virt *v, const char *vm_id,
			 char *buf, size_t size);

/* Make sure storage_dir exists and the dir pool over it exists, is
 * active and autostarts (the test driver has no pools: the directory
 * only), and remember its name in v->pool_name. On the thread that
 * connects; -1 with the reason. */
int agent_virt_pool_ensure(struct agent_virt *v);

/* Create the VM's disk file at disk (a path from agent_virt_disk_path())
 * as a volume of the pool: spec->disk_gib GiB of qcow2, over the cached
 * catalogue image image_dir/sha256/<spec->image_sha256> (in its format)
 * or spec->base_image from image_dir when it names one. A file already
 * there is reused. -1 with an error naming the VM. */
int agent_virt_disk_create(struct agent_virt *v,
			   const struct agent_vm_spec *spec, const char *disk);

/* True when the qcow2 image at path has a backing file (header bytes
 * 8-15, the backing file offset, are not zero); false for any other
 * file or one that cannot be read. */
bool agent_virt_disk_backed(const char *path);

/* Remove the disk file at path (through the pool when it knows it); 0
 * when it is already gone. wipe: overwrite its data first
 * (virStorageVolWipe); a disk that cannot be wiped is not removed (-1). */
int agent_virt_disk_remove(struct agent_virt *v, const char *path, bool wipe);

/* Remove the VM uuid's disk (wiped first when wipe), seed and console log from
 * storage_dir; 0 when they are already gone, -1 with an error. It does
 * not look at the domain: the caller knows it is gone. */
int agent_virt_files_remove(struct agent_virt *v, const char *uuid,
			    bool wipe);

#endif

/*
 * agent_virt.h - everything fincloud-agent does with libvirt: the
 * connection (with keepalive and a close callback, so a libvirtd restart
 * is noticed), domain operations, inventory and per-domain statistics,
 * and lifecycle events. One module in three files (agent_virt.c,
 * agent_virt_volume.c for the storage pool and disks, agent_virt_migrate.c
 * for live migration) behind agents/agent_virt_priv.h.
 *
 * Call agent_virt_event_loop_start() once, before the first connection:
 * libvirt's default event loop then runs in its own thread and delivers
 * keepalives, the close callback and domain events.
 *
 * A struct agent_virt may be used from several threads (libvirt
 * connections are thread-safe); the CPU % history is under a lock.
 * Operations act only on domains that carry fincloud metadata; each is
 * idempotent (starting a running domain, deleting a missing one: 0).
 */
#ifndef AGENT_VIRT_H
#define AGENT_VIRT_H

#include "agents/agent_reconcile.h"
#include "agents/agent_spec.h"

struct agent_virt;

struct agent_inventory {
	int64_t vcpus;
	int64_t mem_mib;
	int64_t mem_free_mib;
	int64_t disk_gib;
	int64_t disk_free_gib;
	char cpu_model[128];
	char virt_type[8];      /* "kvm", "qemu" or "test" */
	char virt_type_reason[256]; /* why (agent_hvtype.h) */
	char libvirt_version[32];
	/* Not part of the inventory object: sent alone at registration
	 * (agent_client_register()). libvirt's host UUID (capabilities
	 * host/uuid: SMBIOS or libvirtd.conf host_uuid), else
	 * /etc/machine-id; "" when neither is known. */
	char machine_id[64];
};

struct agent_domain {
	char uuid[37];
	char name[256];
	bool managed;           /* carries fincloud metadata */
	char tenant[NAME_MAX_LEN + 1];
	int state;              /* enum agent_dom_state */
	int reason;             /* libvirt's state reason */
	int vcpus;
	int64_t mem_mib;
	int64_t balloon_mib;
	uint64_t cpu_time_ns;
	double cpu_pct;         /* 100 = one host CPU busy, since the last list */
	uint64_t disk_alloc_bytes;
};

/* A domain lifecycle change. state: enum agent_dom_state; reason: one of
 * the words of schemas/agent-events.json. Called on the event loop thread:
 * the callback must not block and must not call libvirt. */
typedef void (*agent_virt_event_fn)(void *opaque, const char *uuid,
				    const char *name, int state,
				    const char *reason);

int agent_virt_event_loop_start(void);
void agent_virt_event_loop_stop(void);

/* storage_dir holds the VMs' disks and console logs (a libvirt dir pool
 * is defined over it); image_dir holds base images. Strings are copied.
 * Does not connect. */
struct agent_virt *agent_virt_new(const char *uri, const char *storage_dir,
				  const char *image_dir);
void agent_virt_free(struct agent_virt *v);
void agent_virt_set_event_cb(struct agent_virt *v, agent_virt_event_fn fn,
			     void *opaque);

/* The agent's virt_type setting ("auto", "kvm" or "qemu", copied; the
 * default is "auto"), applied at the next connect: the hypervisor type
 * is decided there (agent_hvtype.h) and logged when it changes. -1 with
 * err_set() for another setting. */
int agent_virt_set_virt_type(struct agent_virt *v, const char *setting);

/* Open the connection (when not open), register the event and close
 * callbacks and make sure storage_dir and its storage pool exist. -1 with
 * the reason. */
int agent_virt_connect(struct agent_virt *v);
/* 1 when the storage pool over storage_dir is active (always with the
 * test driver, which has no pools), 0 when it is inactive or gone. Needs
 * a connection. */
int agent_virt_pool_active(struct agent_virt *v);
/* Create storage_dir when missing, define and start its storage pool
 * (agent_virt_connect does the same; the test driver has no pools): 0,
 * or -1 with the reason. */
int agent_virt_pool_repair(struct agent_virt *v);
/* False once libvirtd went away (close callback, failed keepalive). */
bool agent_virt_alive(struct agent_virt *v);
void agent_virt_disconnect(struct agent_virt *v);
/* "kvm", "qemu" or "test", valid after a successful connect. */
const char *agent_virt_type(const struct agent_virt *v);
/* Why agent_virt_type() is what it is (a sentence for operators). */
const char *agent_virt_type_reason(const struct agent_virt *v);

int agent_virt_inventory(struct agent_virt *v, struct agent_inventory *inv);

/* Every domain on the host. *out is freed by the caller with free(). */
int agent_virt_list(struct agent_virt *v, struct agent_domain **out,
		    size_t *n);

/* 1 when uuid is a domain with fincloud metadata, 0 when it is not
 * (foreign or missing), -1 when libvirt could not say. */
int agent_virt_managed(struct agent_virt *v, const char *uuid);

/* Paths the agent uses for a VM (into buf). */
int agent_virt_disk_path(const struct agent_virt *v, const char *vm_id,
			 char *buf, size_t size);

/* For a VM migrating here (spec, with an image already in the cache):
 * its disk (the overlay the source's storage migration fills) and its
 * seed, at the paths the source uses; nothing is defined. What is there
 * already is kept. -1 with an error naming the VM. */
int agent_virt_prepare(struct agent_virt *v, const struct agent_vm_spec *spec);

/* The console log path of vm_id into buf (size bytes): the serial
 * output libvirt's virtlogd appends to. -1 with an error when
 * storage_dir makes it too long. */
int agent_virt_console_path(const struct agent_virt *v, const char *vm_id,
			    char *buf, size_t size);

/* A VM's serial console held open through libvirt (virDomainOpenConsole
 * on a non-blocking virStream whose events wake a pipe), for one
 * thread: agent_virt_console.c. */
struct agent_virt_console;

/* Open the serial console of the running fincloud domain uuid; force
 * takes it from another holder (whose stream then ends). *out is freed
 * with agent_virt_console_close(). -1 with an error naming the VM. */
int agent_virt_console_open(struct agent_virt *v, const char *uuid,
			    bool force, struct agent_virt_console **out);
/* A descriptor that polls readable (POLLIN) when the console has bytes,
 * ended or failed: then call agent_virt_console_recv() until -2. */
int agent_virt_console_fd(const struct agent_virt_console *c);
/* Up to len bytes the guest wrote: the count, 0 when the console ended
 * (the guest stopped, another session took it), -1 with an error, -2
 * when nothing is there now. */
ssize_t agent_virt_console_recv(struct agent_virt_console *c, char *buf,
				size_t len);
/* Send len bytes to the guest's serial port (waiting while libvirt
 * takes no more). 0, or -1 with an error. */
int agent_virt_console_send(struct agent_virt_console *c, const char *buf,
			    size_t len);
/* Close the console; NULL is fine. */
void agent_virt_console_close(struct agent_virt_console *c);

/* Create the disk, define the domain (after RelaxNG validation) and, when
 * start, start it. A disk or definition already there is reused. */
int agent_virt_create(struct agent_virt *v, const struct agent_vm_spec *spec,
		      bool start);
int agent_virt_start(struct agent_virt *v, const char *uuid);
int agent_virt_resume(struct agent_virt *v, const char *uuid);
/* Ask the guest to power off (ACPI); the caller destroys it when it has
 * not stopped after its timeout. */
int agent_virt_shutdown(struct agent_virt *v, const char *uuid);
int agent_virt_destroy(struct agent_virt *v, const char *uuid);
int agent_virt_reboot(struct agent_virt *v, const char *uuid);
/* Destroy the active fincloud domains among uuids (n) over a connection
 * of its own, opened and closed here (the self-fence's worker,
 * agent_fence.h: never the shared connection the main loop may be
 * closing and reopening meanwhile; on the test driver, whose every
 * connection is a host of its own, the shared one). *failed counts
 * those that could not be destroyed (all n when libvirt cannot be
 * reached: then -1 with an error). May block as long as libvirt does. */
int agent_virt_fence_destroy(struct agent_virt *v, const char (*uuids)[37],
			     size_t n, size_t *failed);
/* Destroy the fincloud domain uuid when it is active and undefine it;
 * its disk, seed and console log stay (an RBD disk another node now
 * uses, a local disk the controller decides about). 0 also when there is
 * no such domain; -1 with an error naming the VM (a foreign domain is
 * refused). */
int agent_virt_undefine(struct agent_virt *v, const char *uuid);
/* Destroy when active, undefine, remove its disk and console log; wipe:
 * the disk is wiped (virStorageVolWipe) before it is removed. */
int agent_virt_delete(struct agent_virt *v, const char *uuid, bool wipe);
/* Remove the disk and console log of the VM uuid, which has left this
 * node (a migration that completed): refused (-1, nothing removed) while
 * a domain with that UUID is defined here, so never under a guest that
 * could still run here. 0 when removed or already gone. */
int agent_virt_purge(struct agent_virt *v, const char *uuid);
/* The names of the files in storage_dir (not "." files) into *out, a
 * NULL-terminated array of n strings the caller frees with
 * agent_virt_strv_free(). -1 with an error when it cannot be read. */
int agent_virt_storage_files(struct agent_virt *v, char ***out, size_t *n);
/* Free a NULL-terminated string array; NULL is fine. */
void agent_virt_strv_free(char **v);
/* Remove file (a bare name of storage_dir, as agent_virt_storage_files()
 * gives it) through the pool when the pool knows it; 0 when gone. */
int agent_virt_storage_remove(struct agent_virt *v, const char *file);
/* How one live migration runs: the agent's settings with the
 * controller's task applied over them. */
struct agent_migrate_opts {
	int max_seconds;     /* abort the job (the guest stays here) when it
				runs longer; 0: no limit */
	bool auto_converge;  /* throttle the guest's vCPUs while its memory
				changes faster than it is sent */
	bool postcopy;       /* switch to post-copy after the first
				pre-copy pass (docs/agent.md: its risk) */
	const char *rbd_user; /* an RBD disk: the cephx user the target
				 opens it as (NULL or "": this node's) */
};

/* What agent_virt_migrate() asks libvirt for, computed without libvirt
 * so that it can be tested. */
struct agent_migrate_plan {
	unsigned int flags;  /* VIR_MIGRATE_* for virDomainMigrateToURI3 */
	char data_uri[512];  /* VIR_MIGRATE_PARAM_URI, "tcp://HOST" from the
				target URI's host; "" when it has none */
};

/* Plan the migration of a domain whose disk is shared (disk_shared: an
 * RBD disk both nodes open; nothing is copied), else backed by a base
 * image (disk_backed: only its top layer is copied) or not (all of it) to
 * target_uri (a libvirt URI) with opts o into *p (zeroed first). -1 with
 * err_set() when target_uri is not a URI or its host is too long. */
int agent_virt_migrate_plan(const struct agent_migrate_opts *o,
			    const char *target_uri, bool disk_backed,
			    bool disk_shared, struct agent_migrate_plan *p);

/* Live-migrate peer to peer to target_uri, persistent there, undefined
 * here, copying local disks (only the top layer when backed), as o says:
 * a job still running after o->max_seconds is aborted (-1: the guest
 * keeps running here); with o->postcopy, once the first pre-copy pass
 * is done the migration switches to post-copy and is no longer aborted
 * (a failure then loses the guest). Blocks until it ends. */
int agent_virt_migrate(struct agent_virt *v, const char *uuid,
		       const char *target_uri,
		       const struct agent_migrate_opts *o);

/* ------------------------------------------------ agent_virt_rbd.c */

/* Hold key_b64 (the base64 cephx key of user) in the libvirt secret an
 * RBD disk's <auth> names (agent_domxml_rbd_usage()), defining it when
 * it is missing. 0 (also on the test driver, which needs none), or -1
 * with err_set(). */
int agent_virt_rbd_secret(struct agent_virt *v, const char *user,
			  const char *key_b64);

/* ------------------------------------------------ agent_virt_net.c */

/* The network filters this agent defined last, by name, so that a pass
 * redefines only what changed; and the fincloud filters it found but did
 * not define (a source node's copy before a migration, or left by an
 * earlier run) that no VM of the node names, with the monotonic time
 * (ns) each was first seen so. Owned by the caller; zero it to start,
 * release it with agent_virt_net_cache_free(). */
struct agent_virt_net_cache {
	char (*name)[64];
	char **xml;
	size_t n;
	char (*foreign)[64];
	uint64_t *since_ns;
	size_t nforeign;
};
void agent_virt_net_cache_free(struct agent_virt_net_cache *c);

/* Whether v talks to libvirt's test driver (no host networking). */
bool agent_virt_is_test(const struct agent_virt *v);

/* Define the network filter of each of spec's ports (agent_netxml.h)
 * unless c says it is defined as it is. 0, or -1 with err_set() naming
 * the VM and port. */
int agent_virt_net_filters(struct agent_virt *v,
			   struct agent_virt_net_cache *c,
			   const struct agent_vm_spec *spec);

/* Before a live migration of domain uuid to target_uri: define there
 * the port filters its interfaces reference (the target's libvirt
 * refuses an incoming guest whose filter it does not know), copied from
 * this node's libvirt. 0 (also when it has none), or -1 with err_set(). */
int agent_virt_net_copy_filters(struct agent_virt *v, const char *uuid,
				const char *target_uri);

/* Which fincloud port filters to undefine, of the nnames in names
 * (libvirt's list): those no port of specs[0..n) or incoming[0..nin)
 * names; one this agent defined (in c) at once, one it did not only
 * once it has been so for grace_ns (timed in c from the first sweep that
 * saw it unnamed, now_ns monotonic). Sets remove[i] for names[i] (the
 * caller's array of nnames); updates c's timing. Pure bookkeeping:
 * libvirt is not called. */
void agent_virt_net_sweep_plan(struct agent_virt_net_cache *c,
			       const char (*names)[64], size_t nnames,
			       const struct agent_vm_spec *specs, size_t n,
			       const struct agent_vm_spec *incoming, size_t nin,
			       uint64_t now_ns, uint64_t grace_ns, bool *remove);

/* Undefine the fincloud port filters agent_virt_net_sweep_plan() picks;
 * one still in use by a domain stays until a later pass. */
void agent_virt_net_sweep(struct agent_virt *v, struct agent_virt_net_cache *c,
			  const struct agent_vm_spec *specs, size_t n,
			  const struct agent_vm_spec *incoming, size_t nin,
			  uint64_t now_ns, uint64_t grace_ns);

#endif

/*
 * agent_nodecheck.h - what a node needs to run VMs, checked on every
 * pass: libvirt connected, the storage dir there and writable, its libvirt
 * storage pool active, enough free space in the storage dir. The verdict
 * is a pure function of the facts (agent_nodecheck_judge); the facts come
 * from the filesystem and libvirt (agent_nodecheck_facts). What the agent
 * can repair (an inactive pool: start it) is a repair action; what it
 * cannot is a reason, and any reason makes the node "degraded" in its
 * heartbeat. Called by the agent's main loop only.
 */
#ifndef AGENT_NODECHECK_H
#define AGENT_NODECHECK_H

#include "common/fc.h"

struct agent_virt;

/* The facts of one check. */
struct agent_nodecheck_facts {
	bool connected;        /* libvirt connection open and alive */
	bool pool_active;      /* the storage pool is active (true when
				  libvirt has no pools: the test driver) */
	bool dir_ok;           /* storage dir exists, is a directory and
				  writable */
	int64_t free_mib;      /* free space of the storage dir, MiB (for
				  an unprivileged user); -1 when unknown */
	int64_t min_free_mib;  /* agent.conf min_free_disk_mib */
	const char *storage_dir;
};

/* Repair actions, a bit set. */
enum {
	AGENT_NODECHECK_START_POOL = 1 << 0, /* start the inactive pool */
};

struct agent_nodecheck_verdict {
	unsigned repairs;      /* AGENT_NODECHECK_* to attempt */
	char reasons[1024];    /* "; "-separated reasons the node cannot run
				  VMs; "" when healthy */
};

/* Judge facts f into *v (zeroed first). An inactive pool over a usable
 * storage dir is a repair, not a reason; libvirt not connected makes the
 * pool unknown (no repair). Never fails. */
void agent_nodecheck_judge(const struct agent_nodecheck_facts *f,
			   struct agent_nodecheck_verdict *v);

/* Gather the facts of storage_dir (strings not copied: f->storage_dir
 * points at it) and of virt's pool when connected (virt may be NULL:
 * not connected). min_free_mib is copied into f. Never fails: what cannot
 * be read counts as not ok (free_mib -1 is not judged). */
void agent_nodecheck_facts(struct agent_virt *virt, bool connected,
			   const char *storage_dir, int64_t min_free_mib,
			   struct agent_nodecheck_facts *f);

/* Add reason why to v->reasons ("; "-separated, cut to fit). */
void agent_nodecheck_add(struct agent_nodecheck_verdict *v, const char *why);

#endif

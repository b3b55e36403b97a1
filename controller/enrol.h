/*
 * enrol.h - what the controller trusts of what an agent says about
 * itself (docs/agent-protocol.md "Joining"): the bounds of a reported
 * inventory, a jump against the figures the host first registered with,
 * and whether a registration of a node name is taken, waits for an
 * operator's approval, or is refused.
 *
 * Pure functions: no store, no I/O. The handlers (api_join.c) read the
 * rows, ask here, and write what the verdict says; the unit tests
 * (tests/unit/test_ctrl_enrol.c) cover every verdict.
 */
#ifndef FC_CTRL_ENROL_H
#define FC_CTRL_ENROL_H

#include "common/fc.h"

/* The integer fields of a reported inventory, in the order of the
 * hosts' columns vcpus, mem_mib, mem_free_mib, disk_gib, disk_free_gib. */
enum enrol_inv {
	ENROL_VCPUS,
	ENROL_MEM_MIB,
	ENROL_MEM_FREE_MIB,
	ENROL_DISK_GIB,
	ENROL_DISK_FREE_GIB,
	ENROL_NINV
};

/* Field i's name in the inventory object ("vcpus", ...). */
extern const char *const enrol_inv_names[ENROL_NINV];
/* The largest value field i may report (in its own unit: vCPUs, MiB,
 * GiB): 4,096 vCPUs, 64 TiB of memory, 1 PiB of disk. A node that
 * reports more is refused (400), not believed. */
extern const int64_t enrol_inv_max[ENROL_NINV];
/* The same limits as an operator reads them ("4096 vCPUs", "64 TiB"). */
extern const char *const enrol_inv_max_text[ENROL_NINV];

/* A reported figure more than this many times the host's first
 * registered one (vCPUs, memory) is a jump: flagged, not trusted. */
#define ENROL_JUMP_FACTOR 2

/* The figures a jump is judged on. */
struct enrol_figures {
	int64_t vcpus;
	int64_t mem_mib;
};

/* Whether rep jumps against base: more than ENROL_JUMP_FACTOR times
 * base's vCPUs or memory. A base figure of 0 is unknown (a host
 * registered while its agent could not read libvirt) and never makes a
 * jump. 1 with what jumped in why ("vcpus 8 -> 64, mem_mib ..."; size
 * bytes, truncated), 0 (why empty) when within. A drop is never a jump:
 * the scheduler believing less than there is wastes room, never
 * overcommits. */
int enrol_jump(const struct enrol_figures *base,
	       const struct enrol_figures *rep, char *why, size_t size);

/* What a registration is answered. */
enum enrol_verdict {
	ENROL_NEW,      /* a node name never seen: register it (201) */
	ENROL_TAKE,     /* a known name, taken: a new credential (201) */
	ENROL_PENDING,  /* a known name: recorded, waits for an operator (202) */
	ENROL_REJECTED, /* an operator rejected this node's re-registration (403) */
};

/* Where an agent says it is: its machine, migration URI and pool (all
 * non-NULL; machine_id "" when the agent sent none). */
struct enrol_where {
	const char *machine_id;
	const char *migration_uri;
	const char *pool;
};

/* A known host as the store has it, with the registration request
 * recorded for it (if any). */
struct enrol_known {
	bool has_credential;      /* an agent credential of the node exists */
	struct enrol_where host;  /* what it registered with */
	struct enrol_figures base; /* its first registered (or approved) figures */
	const char *request;      /* the request's state: "" (none),
				   * "pending", "approved", "rejected" */
	struct enrol_where req;   /* the request's (when request is not "") */
};

/* The verdict on a registration attempt a of a node name, known being
 * that name's host (NULL: none). A known name with a valid credential is
 * taken only when an operator approved a request saying the same as a
 * (machine, migration URI, pool), and refused when an operator rejected
 * such a request; anything else is a (new) pending request. A name whose
 * credential was revoked by an operator is taken (the revocation was the
 * operator's decision). */
enum enrol_verdict enrol_decide(const struct enrol_known *known,
				const struct enrol_where *a);

/* What attempt a (with inventory figures inv) changes against known
 * (not NULL), for the operator who approves or rejects it, into out
 * (size bytes, truncated): "machine_id 'A' -> 'B'; migration_uri ...;
 * pool ...; vcpus 8 -> 64", or, when nothing changes, that the agent
 * lost its credential. */
void enrol_changes(const struct enrol_known *known,
		   const struct enrol_where *a,
		   const struct enrol_figures *inv, char *out, size_t size);

#endif

/*
 * report.h - what the nodes report, and what the controller settles from
 * it: the fincloud domains each node listed in its last heartbeat (the
 * reports table), the migrations those lists settle, the VMs two nodes
 * run ("conflicts"), and the domains no VM stands behind ("orphans").
 *
 * The rows of a node are replaced by each heartbeat whose domains are
 * libvirt's list: status ok, or degraded with domains_listed (a node
 * degraded for its disk still says what runs on it, and that settles
 * migrations too). A degraded heartbeat without a list (libvirt
 * unreachable) and a node that went down leave them as they were: the
 * last word of a node counts until it says something else, so a silent
 * node that ran a VM still keeps that VM from being handed to another
 * one.
 *
 * Invariants kept here and in api_agent.c's desired state:
 *   - a VM is recorded on one host (vms.host), never on two; a node other
 *     than its host that reports it active flags it (vms.error starts
 *     with "conflict:", audited vm.conflict);
 *   - no node's desired state hands it a VM that another node reports
 *     active (running, paused, ...), unless it is to delete it;
 *   - a fincloud domain without a VM row is recorded (host.orphan),
 *     shown in its host's "orphans", and after orphan_grace handed to its
 *     node to destroy (host.orphan.destroy).
 *
 * Every function works inside the caller's open transaction, with the
 * controller lock held (ctrl.h), and reports a database failure with
 * err_set() (-1). request_id (may be NULL) is the heartbeat that brought
 * the news, for the audit log.
 */
#ifndef FC_CTRL_REPORT_H
#define FC_CTRL_REPORT_H

#include "common/buf.h"
#include "common/fc.h"
#include "controller/ctrl.h"
#include "controller/task.h"

typedef struct cJSON cJSON;

/* The libvirt states in which a domain holds its VM (its disk, its
 * addresses): in SQL, for "state IN " REPORT_SQL_ACTIVE. */
#define REPORT_SQL_ACTIVE \
	"('running','blocked','paused','shutdown','pmsuspended')"

/*
 * Batched (report_batch.c): a heartbeat's list of N domains is read and
 * written in a number of statements that does not grow with N up to a
 * chunk (64 rows a write, 257 ids a read; longer lists take one more
 * statement a chunk), and an unchanged list costs one read: with 1,000
 * nodes of 100 domains each, one statement a domain was 100,000 round
 * trips to PostgreSQL every heartbeat interval, under the write lock
 * (docs/decisions.md "A heartbeat in a few statements").
 */

/* One domain of a heartbeat's list; the strings are the caller's. */
struct report_dom {
	const char *vm_id, *name, *state; /* state: libvirt's */
	double cpu_pct;
	int64_t balloon_mib, disk_bytes;
};

/* Make d (n domains, in the node's order) node's report: the rows of
 * domains new or changed (name, state) since the stored report are
 * written (seen_ms = now_ms: when the node last reported a change of
 * them), those of domains no longer listed deleted, the others left
 * alone. A list naming a domain twice counts its last entry. 0 or -1. */
int report_record(struct store *st, const char *node,
		  const struct report_dom *d, size_t n, int64_t now_ms);

/* What the store holds of the VM behind one reported domain. */
struct report_vm {
	bool found;                    /* a VM with that id exists */
	char host[NAME_MAX_LEN + 1];   /* where it is recorded */
	char state[16];                /* the API's state */
	char *error;                   /* its error ("" for none) */
	bool deleted;                  /* desired = 'deleted' */
	bool contested;                /* another node than node reports it
					* active (report_conflict() says
					* whether that is a conflict) */
	bool tasks;                    /* it has an open task */
	bool repeated;                 /* a later entry of d names the same
					* VM (only the last one counts) */
	double cpu_pct;
	int64_t balloon_mib, disk_bytes;
};

/* The VMs behind d (n domains reported by node) into *out, an array of
 * n in d's order (freed with report_vms_free(); not found: .found
 * false). 0, or -1 with err_set(). */
int report_vms(struct store *st, const char *node, const struct report_dom *d,
	       size_t n, struct report_vm **out);
void report_vms_free(struct report_vm *v, size_t n);
/* Update the usage (cpu_pct, balloon_mib, disk_alloc_bytes) of the VMs
 * recorded on node whose figures in d differ from v (report_vms() of
 * the same d); v NULL: of every VM of d recorded on node (a steady
 * heartbeat's, steady.h, whose usage digest changed). 0 or -1. */
int report_usage(struct store *st, const char *node,
		 const struct report_dom *d, const struct report_vm *v,
		 size_t n);

/* A VM's new state as a heartbeat shows it (strings the caller's). */
struct report_change {
	const char *vm_id, *state, *error; /* error: "" for none */
	bool conflict;  /* error is a conflict the VM was not flagged with:
			   audited vm.conflict (and logged) */
	bool state_new; /* state is not the recorded one: audited
			   vm.state.STATE (also without: when no conflict) */
};

/* The state changes a heartbeat brings (n of them), each as
 * vm_set_state() in api_agent.c made them one by one: the UPDATE, the
 * VM's open tasks ended (task_vm_state()) and an audit entry
 * vm.state.STATE (vm.conflict for a new conflict, report_change), here
 * in about n / 32 + 3 statements. */
struct report_changes {
	struct report_change *c; /* distinct VMs recorded on the node */
	bool *tasks;             /* c[i]'s VM has an open task */
	char (*why)[512];        /* room for c[i]'s error (a conflict) */
	size_t n;
};

/* Room for up to n changes in *h (freed with report_changes_free(),
 * also after a failure). 0, or -1 with err_set(). */
int report_changes_alloc(struct report_changes *h, size_t n);
void report_changes_free(struct report_changes *h);
/* Make the changes h of VMs recorded on node (request_id: the heartbeat
 * that brought them, for the audit log). 0 or -1. */
int report_changes_apply(struct store *st, const char *node,
			 const struct report_changes *h,
			 const char *request_id);

/* What node last reported of VM vm_id into *out. 0 or -1. */
int report_seen(struct store *st, const char *node, const char *vm_id,
		enum task_seen *out);

/* Whether VM vm_id, recorded on host, is reported active by another node
 * in a way an open migration does not explain (its target holding the
 * domain, paused or running, until the task ends): 1 with "conflict: ..." naming that
 * node in why (size bytes), 0 when not, -1 with err_set(). */
int report_conflict(struct store *st, const char *vm_id, const char *host,
		    char *why, size_t size);

/* Node reports VM vm_id, recorded on another host, in state state: when
 * that is a conflict, flag the VM (its error; audited vm.conflict when
 * new) and bump its host's generation (its desired state now leaves the
 * VM out). 0 or -1. */
int report_flag(struct ctrl *ctrl, const char *vm_id, const char *host,
		const char *request_id);

/* The agent's word on one migrate task in a heartbeat of its source. */
struct report_result {
	char task_id[TASK_ID_LEN];
	enum task_state state;   /* TASK_RUNNING, TASK_DONE or TASK_FAILED */
	char error[1025];
};

/* Settle the open migrations whose source or target is node, from the
 * nodes' reports and the agent's results (n of them; only the source's
 * heartbeat carries any) by task_settle_migration(). listed: node's
 * heartbeat carried libvirt's list (report_record());
 * without it node's rows are an older word, and a source's agent that
 * no longer mentions a task fails nothing on them (libvirt may have
 * finished that migration since). A migration done moves the VM and its
 * claim to the target; each end is audited (task.migrate.done,
 * task.migrate.failed) and bumps both nodes' generations. A migration
 * that failed (its agent said so, or the leader timed it out: task.h)
 * within the last day, whose VM is still recorded on its source, is
 * settled too once the nodes show it completed (the target runs the VM,
 * the source lists it no more or only shut off): the VM and its claim
 * move to the target (audited task.migrate.late), a shut-off copy on the
 * source is evicted (ha.h ha_evictions; forgotten once the source's
 * fresh list no longer names it), the task stays failed. 0 or -1. */
int report_settle(struct ctrl *ctrl, const char *node,
		  const struct report_result *results, size_t n, bool listed,
		  const char *request_id);

/* Whether node, after a heartbeat worked through in full (in its
 * transaction), is quiet: up, status ok, HA state ok, no open task from
 * or to it, no failed migration report_settle() would still look at, no
 * report row of it that is an orphan or names a VM not recorded on it or
 * being deleted, none of its VMs reported by another node, no eviction,
 * no VM of it being deleted. 1 with *gen its generation, 0 when it is
 * not (or no longer exists), -1 with err_set(). steady.h says what a
 * quiet host's next heartbeats skip. */
int report_quiet(struct store *st, const char *node, int64_t *gen);

/* The orphans of node (rows without a VM): mark the new ones (audited
 * host.orphan), forget the mark of those that have a VM again, and hand
 * those older than grace_ms to the node to destroy (audited
 * host.orphan.destroy, the node's generation bumped). 0 or -1. */
int report_orphans(struct ctrl *ctrl, const char *node, int64_t grace_ms,
		   const char *request_id);

/* The orphans node (bound to ?1) was told to destroy and that still have
 * no VM, as an SQL query of (vm_id, name): its desired state lists them
 * deleted. */
#define REPORT_SQL_DESTROY                                                 \
	"SELECT vm_id, name FROM reports WHERE host = ?1 AND destroy_ms IS " \
	"NOT NULL AND NOT EXISTS (SELECT 1 FROM vms WHERE vms.id = "         \
	"reports.vm_id)"

/* "No node reports the VM", a condition on a row of vms: NOT EXISTS, not
 * "id NOT IN (SELECT vm_id FROM reports)", which PostgreSQL runs by
 * reading every report (a hashed subplan), where this probes the index
 * reports_vm. */
#define VMS_UNREPORTED \
	"NOT EXISTS (SELECT 1 FROM reports WHERE reports.vm_id = vms.id)"

/* The orphans of node as the host object shows them: an array of
 * {vm_id, name, state, since_ms, destroy_ms (or null)}; NULL with
 * err_set(). The caller frees it. */
cJSON *report_orphans_json(struct store *st, const char *node);

/* Bump the generation of every node that reports VM vm_id, so that a
 * change of the VM (deleted) reaches each of them at once. 0 or -1. */
int report_bump_reporters(struct ctrl *ctrl, const char *vm_id);

/* The /metrics lines of the reports (fincloud_orphan_domains,
 * fincloud_vm_conflicts) appended to b. 0 or -1. */
int report_metrics(struct store *st, struct buf *b);

#endif

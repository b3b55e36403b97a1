/*
 * agent_report.h - the JSON messages of docs/agent-protocol.md on the
 * agent's side: building heartbeats, registrations and events
 * (schemas/agent-heartbeat.json, agent-register.json, agent-events.json)
 * and reading the desired state (schemas/agent-desired.json).
 *
 * Reading is strict per VM: a malformed VM entry becomes one
 * agent_vm_error and the rest of the desired state still applies.
 */
#ifndef AGENT_REPORT_H
#define AGENT_REPORT_H

#include <cjson/cJSON.h>

#include "agents/agent_journal.h"
#include "agents/agent_spec.h"
#include "agents/agent_virt.h"

struct agent_vm_error {
	char vm_id[64];   /* "" when the spec had none readable */
	char name[NAME_MAX_LEN + 1];
	char error[512];
};

enum agent_task_state {
	AGENT_TASK_RUNNING = 0,
	AGENT_TASK_DONE,
	AGENT_TASK_FAILED,
};

struct agent_task {
	char task_id[37];
	char type[16];          /* "migrate" or "reboot" */
	char vm_id[37];
	char target_node[NAME_MAX_LEN + 1];
	char target_uri[1024];
	int max_seconds;        /* migrate: abort after this long; 0: the
				   agent's migration_max_seconds */
	bool postcopy;          /* migrate: may switch to post-copy */
	char rbd_user[65];      /* migrate: the target's cephx user of the
				   VM's RBD disk; "" when it has none */
	enum agent_task_state state;
	char error[512];
};

/* A console session the controller waits for this node's agent to serve
 * (agent_console.h): "consoles" of the desired state. */
struct agent_console_req {
	char session_id[33];    /* 32 hex digits */
	char vm_id[37];
	bool interactive;       /* kind "console"; else "log" */
	bool follow;            /* a log: and what follows */
	int64_t tail;           /* a log: its last lines; 0: all */
};

struct agent_desired {
	int64_t generation;
	struct agent_console_req *consoles;
	size_t nconsoles;
	struct agent_vm_spec *vms;
	size_t nvms;
	struct agent_task *tasks;
	size_t ntasks;
	struct agent_vm_error *errors; /* VM entries that were refused */
	size_t nerrors;
	struct agent_net_network *nets; /* the networks the node hosts */
	size_t nnets;
	struct agent_seed *seeds;      /* the vms' first_boot, nvms slots;
					  vms[i].seed points into it */
	/* VMs migrating to this node, to prepare (agent_provision.h);
	 * their seeds in incoming_seeds the same way */
	struct agent_vm_spec *incoming;
	size_t nincoming;
	struct agent_seed *incoming_seeds;
};

/* Parse a desired-state body. -1 when the body as a whole is unusable
 * (not JSON, no generation); bad VM or task entries only add errors. The
 * caller releases *out with agent_desired_free() (also after -1). */
int agent_desired_parse(const char *body, size_t len,
			struct agent_desired *out);
void agent_desired_free(struct agent_desired *d);

/* Copy an error message into a report field of size bytes. A message
 * that does not fit is cut before the first UTF-8 character that does
 * not fit whole, so the heartbeat stays valid UTF-8 (JSON text). dst is
 * owned by the caller; src is not kept. */
void agent_error_copy(char *dst, size_t size, const char *src);

/* Append e to (*errs, *n); msg is copied with agent_error_copy(). -1
 * when out of memory. */
int agent_vm_error_add(struct agent_vm_error **errs, size_t *n,
		       const char *vm_id, const char *name, const char *msg);

/* JSON objects (the caller owns them; NULL when out of memory). */
cJSON *agent_json_inventory(const struct agent_inventory *inv);

struct agent_heartbeat {
	int64_t generation_seen;
	const char *degraded_reason;    /* NULL: status ok */
	const struct agent_inventory *inv;
	/* libvirt's list of the last pass; with degraded_reason set, only
	 * when domains_listed (libvirt answered that pass: a node degraded
	 * for its disk, say), else none */
	const struct agent_domain *doms;
	size_t ndoms;
	/* monotonic ns when libvirt listed doms: a managed domain whose
	 * migration the journal says ended (DONE) after that is left out,
	 * as the list shows it from before it left (0: none left out) */
	uint64_t doms_ns;
	bool domains_listed;
	const struct agent_task *tasks;
	size_t ntasks;
	const struct agent_vm_error *errors;
	size_t nerrors;
	const struct agent_journal_entry *journal; /* "migrations" */
	size_t njournal;
	const cJSON *prepared;  /* "prepared": incoming VMs ready; NULL or
				   empty: left out */
	const cJSON *interfaces; /* "interfaces": the links free for provider
				    networks (names); NULL: left out */
	int vlan_capable;       /* "vlan_capable": 802.1Q links work (1) or
				   not (-1); 0: not known, left out */
	int64_t self_fence_s;   /* "self_fence_s": agent_fence_window_s(),
				   seconds (0: self-fencing off) */
};
/* The heartbeat of schemas/agent-heartbeat.json; "migrations" (the
 * journal) only when it has entries, so that a controller that predates
 * it sees the same messages as before while nothing was migrated;
 * "domains_listed" only with status degraded (with ok the list is always
 * libvirt's). */
cJSON *agent_json_heartbeat(const struct agent_heartbeat *hb);

const char *agent_task_state_name(enum agent_task_state s);

#endif

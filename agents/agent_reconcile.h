/*
 * agent_reconcile.h - the pure decision of the agent: given the VM specs
 * it was handed and the domains libvirt shows, which step brings each VM
 * one step closer to its spec. No I/O: the caller performs the actions and
 * runs the plan again on the next pass, so every step is idempotent.
 */
#ifndef AGENT_RECONCILE_H
#define AGENT_RECONCILE_H

#include "agents/agent_spec.h"

/* The same numbers as libvirt's virDomainState. */
enum agent_dom_state {
	AGENT_DOM_NOSTATE = 0,
	AGENT_DOM_RUNNING = 1,
	AGENT_DOM_BLOCKED = 2,
	AGENT_DOM_PAUSED = 3,
	AGENT_DOM_SHUTDOWN = 4, /* shutting down */
	AGENT_DOM_SHUTOFF = 5,
	AGENT_DOM_CRASHED = 6,
	AGENT_DOM_PMSUSPENDED = 7,
};

const char *agent_dom_state_name(int state);

/* What the agent knows about one domain on the host. */
struct agent_observed {
	char uuid[37];
	char name[256];
	bool managed;           /* carries fincloud metadata */
	int state;              /* enum agent_dom_state */
	uint64_t shutdown_sent_ns; /* when an ACPI shutdown was sent; 0: never */
};

enum agent_action_type {
	AGENT_ACT_CREATE = 0, /* define (creating the disk) and start */
	AGENT_ACT_DEFINE,     /* define (creating the disk), leave it off */
	AGENT_ACT_START,
	AGENT_ACT_RESUME,
	AGENT_ACT_SHUTDOWN,   /* ACPI power button */
	AGENT_ACT_DESTROY,    /* hard power off (the shutdown timed out) */
	AGENT_ACT_DELETE,     /* destroy if active, undefine, remove disks */
	AGENT_ACT_ERROR,      /* the spec cannot be applied: see error */
};

const char *agent_action_name(enum agent_action_type t);

struct agent_action {
	enum agent_action_type type;
	size_t spec;    /* index into the specs given to the plan */
	char error[512]; /* AGENT_ACT_ERROR only */
};

/* Plan one pass. specs and obs are read only. Specs that need nothing get
 * no action. *out (caller frees with free()) holds *nout actions, in spec
 * order. A graceful stop that has been waiting stop_timeout_ns or more
 * becomes a destroy. -1 only when out of memory. */
int agent_reconcile_plan(const struct agent_vm_spec *specs, size_t nspecs,
			 const struct agent_observed *obs, size_t nobs,
			 uint64_t now_ns, uint64_t stop_timeout_ns,
			 struct agent_action **out, size_t *nout);

/* The fincloud domains of obs (nobs) that no VM of this node stands
 * behind -- their uuid is none of known (nknown: every spec of the
 * desired state whatever its state, its errors and incoming migrations,
 * the manifests, the migration journal and tasks) -- and that the agent
 * undefines before it starts anything (docs/agent.md "A node that comes
 * back"): an inactive one (shut off, crashed) always; an active one only
 * when returning (the first desired state after a self-fence: the
 * controller may have restarted the VM elsewhere). Foreign domains are
 * never listed. Their indices into obs go to *out (malloc'd, the caller
 * frees it), their count is returned; -1 with an error when out of
 * memory. Pure. */
ssize_t agent_reconcile_unlisted(const struct agent_observed *obs, size_t nobs,
				 const char *const *known, size_t nknown,
				 bool returning, size_t **out);

#endif

/*
 * agent_loop_priv.h - struct agent_loop and the two helpers its threads
 * share: private to the agent_loop module, agent_loop.c (the main loop,
 * the reconcile passes, the loop's life) and agent_hb.c (registration
 * and the heartbeat exchange). Nothing else may include it.
 *
 * The fields are grouped by who may touch them: the main loop's, the
 * heartbeat thread's (the main loop's with once), and those under the
 * loop's lock (agent_loop.h states the locking of the whole loop).
 */
#ifndef AGENT_LOOP_PRIV_H
#define AGENT_LOOP_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "agents/agent_client.h"
#include "agents/agent_console.h"
#include "agents/agent_events.h"
#include "agents/agent_fence.h"
#include "agents/agent_loop.h"
#include "agents/agent_provision.h"
#include "agents/agent_report.h"
#include "agents/agent_storage.h"
#include "agents/agent_task.h"

/* An ACPI shutdown sent to a domain (agent_loop.c alone reads it). */
struct stop_entry;

struct agent_loop {
	struct agent_config *cfg;
	struct agent_virt *virt;
	bool no_controller;
	bool once;
	uint64_t stop_timeout_ns;
	struct agent_tasks *tasks;
	struct agent_events *events;
	struct agent_consoles *consoles; /* NULL without a controller */
	atomic_int interval_s;   /* heartbeat interval; the controller's */
	struct agent_fence *fence; /* self-fencing (agent_fence.h) */

	/* main loop only */
	struct agent_desired desired; /* all zero until the first exchange */
	bool have_desired;
	struct stop_entry *stops;
	size_t nstops;
	bool pass_failed;
	bool returning;          /* the fence was lifted: the next
				    undefine_unlisted() takes active domains
				    too */
	struct agent_storage storage;
	struct agent_provision *prov; /* images, incoming migrations */
	struct agent_virt_net_cache filters; /* agent_virt_net.c */
	char net_fault[512];     /* why the networks are not set up on this
				    node ("" when they are): a degraded
				    reason (node_check) */

	/* the heartbeat thread only (the main loop's with once) */
	struct agent_client *client;
	bool have_cred;
	bool cred_bound;         /* the credential file names this node */
	bool have_gen;
	int64_t gen_received;    /* of the last desired state received */
	pthread_t hb_thread;
	bool hb_started;

	/* under lock */
	pthread_mutex_t lock;
	pthread_cond_t wake;     /* main loop: a kick or quit */
	pthread_cond_t hb_wake;  /* heartbeat thread: a kick or quit */
	bool kick;
	bool hb_kick;
	atomic_bool quit;
	/* a desired state received, not yet taken by a pass */
	struct agent_desired incoming;
	bool have_incoming;
	uint64_t incoming_epoch; /* the fence epoch its exchange began in */
	/* the last report, also read by the health endpoint */
	bool reported;           /* a first cycle has ended */
	struct agent_inventory inv;
	int64_t generation_seen;
	struct agent_domain *doms;
	size_t ndoms;
	uint64_t doms_ns;        /* monotonic: when libvirt listed doms */
	struct agent_vm_error *errors;
	size_t nerrors;
	/* doms is what libvirt listed in the last pass, not a list left
	 * from before libvirt went away: sent even while degraded */
	bool doms_listed;
	char degraded[1024];     /* "" when healthy */
	/* the links free for provider networks (agent_netlink.h), a JSON
	 * array; NULL until a pass has observed them */
	cJSON *ifaces;
	int vlan_capable;        /* agent_netlink_vlan_capable(): 1, -1 not;
				    0 not known yet */
	uint64_t passes;
};

/* Wait on cond (a->wake or a->hb_wake) until deadline_ns (monotonic
 * clock, ns), until *flag is set (then cleared; flag may be NULL) or
 * until quit. Takes a->lock itself: call it without holding it. */
void agent_loop_wait_until(struct agent_loop *a, pthread_cond_t *cond,
			   bool *flag, uint64_t deadline_ns);

/* The heartbeat interval in ns (the controller's, or the config's until
 * the controller names one); any thread. */
uint64_t agent_loop_interval_ns(struct agent_loop *a);

#endif

/*
 * agent_loop.c - the agent's main loop (agent_loop.h): connection,
 * reconcile passes and the loop's life; the exchange with the
 * controller is agent_hb.c's.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "agents/agent_domxml.h"
#include "agents/agent_dhcp.h"
#include "agents/agent_hb.h"
#include "agents/agent_loop_priv.h"
#include "agents/agent_rbd.h"
#include "agents/agent_manifest.h"
#include "agents/agent_netlink.h"
#include "agents/agent_nodecheck.h"
#include "agents/agent_reconcile.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

/* An ACPI shutdown sent to a domain, for the planner's timeout. */
struct stop_entry {
	char uuid[37];
	uint64_t sent_ns;
};

static void kick_main(struct agent_loop *a)
{
	pthread_mutex_lock(&a->lock);
	a->kick = true;
	pthread_cond_broadcast(&a->wake);
	pthread_mutex_unlock(&a->lock);
}

/* Under a->lock: wake the heartbeat thread. */
static void kick_heartbeat(struct agent_loop *a)
{
	a->hb_kick = true;
	pthread_cond_broadcast(&a->hb_wake);
}

void agent_loop_wait_until(struct agent_loop *a, pthread_cond_t *cond,
			   bool *flag, uint64_t deadline_ns)
{
	struct timespec ts;
	uint64_t now = time_mono_ns();

	if (deadline_ns <= now)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t abs_ns = (uint64_t)ts.tv_sec * 1000000000ULL +
			  (uint64_t)ts.tv_nsec + (deadline_ns - now);
	ts.tv_sec = (time_t)(abs_ns / 1000000000ULL);
	ts.tv_nsec = (long)(abs_ns % 1000000000ULL);
	pthread_mutex_lock(&a->lock);
	while (!(flag && *flag) && !atomic_load(&a->quit))
		if (pthread_cond_timedwait(cond, &a->lock, &ts) != 0)
			break;
	if (flag)
		*flag = false;
	pthread_mutex_unlock(&a->lock);
}

uint64_t agent_loop_interval_ns(struct agent_loop *a)
{
	return (uint64_t)atomic_load(&a->interval_s) * 1000000000ULL;
}

static void set_degraded(struct agent_loop *a, const char *why)
{
	pthread_mutex_lock(&a->lock);
	if (why && strcmp(a->degraded, why) != 0)
		log_warn("degraded: %s", why);
	else if (why == NULL && a->degraded[0])
		log_info("no longer degraded: the node is healthy again");
	agent_error_copy(a->degraded, sizeof(a->degraded), why ? why : "");
	pthread_mutex_unlock(&a->lock);
}

/* ---- reconciliation --------------------------------------------------- */

static struct stop_entry *stop_find(struct agent_loop *a, const char *uuid)
{
	for (size_t i = 0; i < a->nstops; i++)
		if (strcasecmp(a->stops[i].uuid, uuid) == 0)
			return &a->stops[i];
	return NULL;
}

static void stop_forget(struct agent_loop *a, const char *uuid)
{
	struct stop_entry *s = stop_find(a, uuid);

	if (s) {
		*s = a->stops[a->nstops - 1];
		a->nstops--;
	}
}

static void stop_remember(struct agent_loop *a, const char *uuid)
{
	struct stop_entry *s;

	if (stop_find(a, uuid))
		return;
	s = realloc(a->stops, (a->nstops + 1) * sizeof(*s));
	if (s == NULL)
		return; /* the next pass sends the shutdown again */
	a->stops = s;
	str_copy(s[a->nstops].uuid, sizeof(s->uuid), uuid);
	s[a->nstops].sent_ns = time_mono_ns();
	a->nstops++;
}

/* True when the last published pass already had this error: a VM that
 * stays broken is logged once, not at every pass. */
static bool error_known(struct agent_loop *a, const char *msg)
{
	bool known = false;

	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; !known && i < a->nerrors; i++)
		known = strcmp(a->errors[i].error, msg) == 0;
	pthread_mutex_unlock(&a->lock);
	return known;
}

/* Whether every NIC of s may be attached: each port's bridge is the
 * agent's (never a link of that name someone else made). 0, or -1 with
 * err_set() naming the port and the bridge. Always 0 on libvirt's test
 * driver (no host networks). */
static int ports_ready(struct agent_loop *a, const struct agent_vm_spec *s)
{
	if (agent_virt_is_test(a->virt))
		return 0;
	for (size_t i = 0; i < s->nports; i++)
		if (agent_netlink_bridge_ready(s->ports[i].vni) < 0)
			return err_set("port %s on network '%s': %s",
				       s->ports[i].port_id,
				       s->ports[i].network, err_msg());
	return 0;
}

static int perform(struct agent_loop *a, const struct agent_action *act,
		   const struct agent_vm_spec *s)
{
	if ((act->type == AGENT_ACT_CREATE || act->type == AGENT_ACT_START ||
	     act->type == AGENT_ACT_RESUME) &&
	    agent_fence_active(a->fence)) {
		log_debug("vm '%s': self-fenced, not started until the "
			  "controller answers", s->name);
		return 0;
	}
	switch (act->type) {
	case AGENT_ACT_CREATE:
		stop_forget(a, s->vm_id);
		if (ports_ready(a, s) < 0)
			return -1;
		return agent_provision_create(a->prov, a->virt, s, true);
	case AGENT_ACT_DEFINE:
		return agent_provision_create(a->prov, a->virt, s, false);
	case AGENT_ACT_START:
		stop_forget(a, s->vm_id);
		if (ports_ready(a, s) < 0)
			return -1;
		return agent_virt_start(a->virt, s->vm_id);
	case AGENT_ACT_RESUME:
		return agent_virt_resume(a->virt, s->vm_id);
	case AGENT_ACT_SHUTDOWN:
		if (agent_virt_shutdown(a->virt, s->vm_id) < 0)
			return -1;
		stop_remember(a, s->vm_id);
		return 0;
	case AGENT_ACT_DESTROY:
		log_info("vm '%s': no shutdown after %" PRIu64 " s, powering "
			 "it off",
			 s->name, (uint64_t)(a->stop_timeout_ns / 1000000000ULL));
		if (agent_virt_destroy(a->virt, s->vm_id) < 0)
			return -1;
		stop_forget(a, s->vm_id);
		return 0;
	case AGENT_ACT_DELETE:
		stop_forget(a, s->vm_id);
		if (agent_virt_delete(a->virt, s->vm_id, s->wipe) < 0)
			return -1;
		/* its RBD clone (agent_rbd.h) once no domain here uses it */
		return s->rbd_pool[0] ? agent_rbd_clone_remove(a->cfg->ceph_dir, s)
				      : 0;
	case AGENT_ACT_ERROR:
		return err_set("%s", act->error);
	}
	return 0;
}

/* The specs of this pass: manifests first (they win over the controller
 * for the same vm_id), then the controller's, minus VMs leaving by
 * migration. */
static int collect_specs(struct agent_loop *a, struct agent_vm_spec **out,
			 size_t *nout, struct agent_vm_error **errs,
			 size_t *nerrs)
{
	struct agent_vm_spec *m = NULL, *all;
	size_t nm = 0, n = 0;

	*out = NULL;
	*nout = 0;
	if (agent_manifest_load(a->cfg->manifest_dir, &m, &nm, errs, nerrs) <
	    0)
		agent_vm_error_add(errs, nerrs, "", "", err_msg());
	all = calloc(nm + (a->have_desired ? a->desired.nvms : 0) + 1,
		     sizeof(*all));
	if (all == NULL) {
		free(m);
		return err_set("out of memory");
	}
	for (size_t i = 0; i < nm; i++)
		all[n++] = m[i];
	for (size_t i = 0; a->have_desired && i < a->desired.nvms; i++) {
		const struct agent_vm_spec *s = &a->desired.vms[i];
		bool dup = false;

		for (size_t j = 0; j < nm; j++)
			if (strcasecmp(m[j].vm_id, s->vm_id) == 0)
				dup = true;
		if (!dup)
			all[n++] = *s;
	}
	free(m);
	*out = all;
	*nout = agent_tasks_filter(a->tasks, all, n);
	return 0;
}

static void publish(struct agent_loop *a, struct agent_domain *doms,
		    size_t ndoms, uint64_t listed_ns,
		    struct agent_vm_error *errs, size_t nerrs)
{
	char (*managed)[37] = calloc(ndoms + 1, sizeof(*managed));
	size_t nmanaged = 0;

	for (size_t i = 0; managed && i < ndoms; i++)
		if (doms[i].managed)
			str_copy(managed[nmanaged++], 37, doms[i].uuid);
	if (managed) {
		/* a copy for the fence; the events take the list */
		agent_fence_set_guests(a->fence, (const char (*)[37])managed,
				       nmanaged);
		agent_events_set_managed(a->events, managed, nmanaged);
	}
	pthread_mutex_lock(&a->lock);
	free(a->doms);
	a->doms = doms;
	a->ndoms = ndoms;
	a->doms_ns = listed_ns;
	free(a->errors);
	a->errors = errs;
	a->nerrors = nerrs;
	if (a->have_desired)
		a->generation_seen = a->desired.generation;
	a->doms_listed = true;
	a->passes++;
	kick_heartbeat(a);
	pthread_mutex_unlock(&a->lock);
}

/* Take the desired state the heartbeat thread received last, if any. */
static void take_desired(struct agent_loop *a)
{
	pthread_mutex_lock(&a->lock);
	if (a->have_incoming) {
		if (agent_fence_lift(a->fence, a->incoming_epoch))
			a->returning = true;
		agent_desired_free(&a->desired);
		a->desired = a->incoming;
		memset(&a->incoming, 0, sizeof(a->incoming));
		a->have_incoming = false;
		a->have_desired = true;
	}
	pthread_mutex_unlock(&a->lock);
}

/* The files of VMs the journal says migrated away (doms, ndoms: a list
 * taken after those migrations ended), agent_storage.h. */
static void purge_migrated(struct agent_loop *a,
			   const struct agent_domain *doms, size_t ndoms)
{
	struct agent_journal_entry *journal = NULL;
	size_t njournal = 0;

	if (agent_tasks_copy(a->tasks, NULL, NULL, &journal, &njournal) == 0)
		agent_storage_purge_migrated(a->virt, journal, njournal, doms,
					     ndoms);
	free(journal);
}

/* Orphaned files (agent_storage.h; those of VMs migrated away go at the
 * start of a pass, purge_migrated()). The sweep needs to know every VM
 * of this node: it runs only with a desired state in hand (or without a
 * controller, the manifests being all). specs (nspecs) are this pass's,
 * doms (ndoms) a list taken after its actions. */
static void storage_pass(struct agent_loop *a,
			 const struct agent_vm_spec *specs, size_t nspecs,
			 const struct agent_domain *doms, size_t ndoms)
{
	struct agent_journal_entry *journal = NULL;
	size_t njournal = 0, n = 0;
	size_t nwanted = a->have_desired ? a->desired.nvms : 0;
	const char **known = NULL;
	int rc = -1;

	if (agent_tasks_copy(a->tasks, NULL, NULL, &journal, &njournal) < 0)
		goto out;
	rc = 0;
	if (!a->have_desired && !a->no_controller)
		goto out;
	known = calloc(nspecs + nwanted + ndoms + njournal + 1 +
			       (a->have_desired ? a->desired.nincoming : 0),
		       sizeof(*known));
	if (known == NULL) {
		rc = err_set("out of memory");
		goto out;
	}
	for (size_t i = 0; i < nspecs; i++)
		known[n++] = specs[i].vm_id;
	for (size_t i = 0; i < nwanted; i++)
		known[n++] = a->desired.vms[i].vm_id;
	for (size_t i = 0; i < ndoms; i++)
		known[n++] = doms[i].uuid;
	/* the disks made in advance for VMs migrating here */
	for (size_t i = 0; a->have_desired && i < a->desired.nincoming; i++)
		known[n++] = a->desired.incoming[i].vm_id;
	for (size_t i = 0; i < njournal; i++)
		if (journal[i].state != AGENT_JOURNAL_DONE)
			known[n++] = journal[i].vm_id;
	rc = agent_storage_sweep(&a->storage, a->virt, known, n,
				 time_mono_ns());
out:
	if (rc < 0)
		log_warn("storage clean-up: %s", err_msg());
	free(known);
	free(journal);
}

/* The node's side of the tenant networks, before the VMs' actions (a
 * guest's bridge and filter must exist before it starts): the bridges
 * and VXLAN devices of the networks the desired state lists (only with
 * one in hand, and never on libvirt's test driver: it has no host
 * networks) and their DHCP servers, then each port's filter (also of
 * the VMs migrating here) and the sweep of filters nobody names; a VM
 * whose filter fails gets the error. Networks that cannot be set up
 * leave their reason in a->net_fault, which makes the node degraded
 * (node_check) until a later pass sets them up. */
static void net_pass(struct agent_loop *a, const struct agent_vm_spec *specs,
		     size_t nspecs, struct agent_vm_error **errs, size_t *nerrs)
{
	cJSON *ifaces = NULL;
	uint32_t local = 0;
	int vlan;

	a->net_fault[0] = '\0';
	if (a->have_desired && !agent_virt_is_test(a->virt)) {
		if (agent_netlink_uri_addr(a->cfg->migration_uri, &local) < 0) {
			if (a->desired.nnets)
				snprintf(a->net_fault, sizeof(a->net_fault),
					 "networks: %s: set migration_uri to "
					 "the node's underlay address",
					 err_msg());
		} else {
			if (agent_netlink_reconcile(a->desired.nets,
						    a->desired.nnets, local,
						    &ifaces) < 0)
				agent_error_copy(a->net_fault,
						 sizeof(a->net_fault),
						 err_msg());
			/* the DHCP servers sit on the bridges just made */
			if (agent_dhcp_reconcile(a->desired.nets,
						 a->desired.nnets, specs,
						 nspecs) < 0 && !a->net_fault[0])
				agent_error_copy(a->net_fault,
						 sizeof(a->net_fault),
						 err_msg());
			/* what the heartbeat tells placement (the probe runs
			 * commands: never under the lock the heartbeat
			 * thread takes) */
			vlan = agent_netlink_vlan_capable() ? 1 : -1;
			pthread_mutex_lock(&a->lock);
			if (ifaces) {
				cJSON_Delete(a->ifaces);
				a->ifaces = ifaces;
				a->vlan_capable = vlan;
			}
			pthread_mutex_unlock(&a->lock);
		}
	}
	for (size_t i = 0; i < nspecs; i++)
		if (specs[i].want != AGENT_WANT_DELETED &&
		    agent_virt_net_filters(a->virt, &a->filters, &specs[i]) < 0)
			agent_vm_error_add(errs, nerrs, specs[i].vm_id,
					   specs[i].name, err_msg());
	if (!a->have_desired)
		return;
	/* the VMs migrating here: their filters exist before the source
	 * sends the domain, which references them (the source copies only
	 * the missing ones), and stay while the migration is open */
	for (size_t i = 0; i < a->desired.nincoming; i++)
		if (agent_virt_net_filters(a->virt, &a->filters,
					   &a->desired.incoming[i]) < 0)
			log_warn("migration to this node: %s", err_msg());
	agent_virt_net_sweep(a->virt, &a->filters, specs, nspecs,
			     a->desired.incoming, a->desired.nincoming,
			     time_mono_ns(), a->storage.grace_ns);
}

/* Undefine the fincloud domains no VM of this node stands behind
 * (agent_reconcile_unlisted(); docs/agent.md "A node that comes back"),
 * before the pass starts anything: only with a desired state in hand
 * and not fenced. specs and errs are this pass's. The number undefined. */
static size_t undefine_unlisted(struct agent_loop *a,
				const struct agent_vm_spec *specs, size_t nspecs,
				const struct agent_vm_error *errs, size_t nerrs,
				const struct agent_observed *obs, size_t nobs)
{
	struct agent_task *tasks = NULL;
	struct agent_journal_entry *journal = NULL;
	size_t ntasks = 0, njournal = 0, n = 0, *idx = NULL, done = 0;
	const struct agent_desired *d = &a->desired;
	const char **known = NULL;
	ssize_t k;

	if (!a->have_desired || agent_fence_active(a->fence) ||
	    agent_tasks_copy(a->tasks, &tasks, &ntasks, &journal, &njournal) < 0)
		goto out;
	known = calloc(nspecs + nerrs + d->nvms + d->nincoming + d->nerrors +
			       ntasks + njournal + 1,
		       sizeof(*known));
	if (known == NULL)
		goto out;
	for (size_t i = 0; i < nspecs; i++)
		known[n++] = specs[i].vm_id;
	for (size_t i = 0; i < nerrs; i++)
		known[n++] = errs[i].vm_id;
	for (size_t i = 0; i < d->nvms; i++)
		known[n++] = d->vms[i].vm_id;
	for (size_t i = 0; i < d->nincoming; i++)
		known[n++] = d->incoming[i].vm_id;
	for (size_t i = 0; i < d->nerrors; i++)
		known[n++] = d->errors[i].vm_id;
	for (size_t i = 0; i < ntasks; i++)
		known[n++] = tasks[i].vm_id;
	for (size_t i = 0; i < njournal; i++)
		known[n++] = journal[i].vm_id;
	k = agent_reconcile_unlisted(obs, nobs, known, n, a->returning, &idx);
	for (ssize_t i = 0; i < k; i++) {
		const struct agent_observed *o = &obs[idx[i]];

		log_warn("vm '%s' (%s): %s and not in this node's desired state "
			 "(the controller placed it elsewhere, or has no such "
			 "VM): destroyed and undefined; its disk stays",
			 o->name, o->uuid, agent_dom_state_name(o->state));
		if (agent_virt_undefine(a->virt, o->uuid) < 0)
			log_warn("%s", err_msg());
		else
			done++;
	}
	if (k >= 0)
		a->returning = false;
out:
	free(idx);
	free(known);
	free(tasks);
	free(journal);
	return done;
}

/* One pass: observe, plan, act, observe again for the report. -1 when
 * libvirt failed as a whole; a VM's own failure only adds a vm_error. */
static int reconcile_pass(struct agent_loop *a)
{
	struct agent_vm_spec *specs = NULL;
	struct agent_vm_error *errs = NULL;
	struct agent_domain *doms = NULL;
	struct agent_observed *obs = NULL;
	struct agent_action *acts = NULL;
	size_t nspecs = 0, nerrs = 0, ndoms = 0, nacts = 0, gone;
	uint64_t listed_ns;
	int ret = -1;

	take_desired(a);
	listed_ns = time_mono_ns();
	if (agent_virt_list(a->virt, &doms, &ndoms) < 0)
		goto out;
	purge_migrated(a, doms, ndoms); /* before the prune forgets them */
	if (a->have_desired)
		agent_tasks_prune(a->tasks, a->desired.vms, a->desired.nvms,
				  doms, ndoms, listed_ns);
	if (collect_specs(a, &specs, &nspecs, &errs, &nerrs) < 0)
		goto out;
	if (agent_provision_pass_begin(a->prov, specs, nspecs,
				       a->desired.incoming,
				       a->have_desired ? a->desired.nincoming : 0,
				       doms, ndoms) < 0)
		goto out;
	for (size_t i = 0; a->have_desired && i < a->desired.nerrors; i++)
		agent_vm_error_add(&errs, &nerrs, a->desired.errors[i].vm_id,
				   a->desired.errors[i].name,
				   a->desired.errors[i].error);
	net_pass(a, specs, nspecs, &errs, &nerrs);
	obs = calloc(ndoms + 1, sizeof(*obs));
	if (obs == NULL) {
		err_set("out of memory");
		goto out;
	}
	for (size_t i = 0; i < ndoms; i++) {
		struct stop_entry *st = stop_find(a, doms[i].uuid);

		str_copy(obs[i].uuid, sizeof(obs[i].uuid), doms[i].uuid);
		str_copy(obs[i].name, sizeof(obs[i].name), doms[i].name);
		obs[i].managed = doms[i].managed;
		obs[i].state = doms[i].state;
		obs[i].shutdown_sent_ns = st ? st->sent_ns : 0;
		if (st && (doms[i].state == AGENT_DOM_SHUTOFF ||
			   doms[i].state == AGENT_DOM_CRASHED)) {
			stop_forget(a, doms[i].uuid);
			obs[i].shutdown_sent_ns = 0;
		}
	}
	gone = undefine_unlisted(a, specs, nspecs, errs, nerrs, obs, ndoms);
	if (agent_reconcile_plan(specs, nspecs, obs, ndoms, time_mono_ns(),
				 a->stop_timeout_ns, &acts, &nacts) < 0)
		goto out;
	for (size_t i = 0; i < nacts; i++) {
		const struct agent_vm_spec *s = &specs[acts[i].spec];

		log_debug("vm '%s': %s", s->name,
			  agent_action_name(acts[i].type));
		if (perform(a, &acts[i], s) < 0) {
			agent_vm_error_add(&errs, &nerrs, s->vm_id, s->name,
					   err_msg());
			if (!agent_virt_alive(a->virt))
				goto out;
		}
	}
	if (nacts > 0 || gone > 0) {
		free(doms);
		doms = NULL;
		listed_ns = time_mono_ns();
		if (agent_virt_list(a->virt, &doms, &ndoms) < 0)
			goto out;
		/* The parsed domain.rng is several MiB and only needed while
		 * domains are being defined: one parse per busy pass (a few
		 * ms) keeps an idle agent small. */
		agent_domxml_cleanup();
		malloc_trim(0);
	}
	for (size_t i = 0; i < nerrs; i++)
		if (!error_known(a, errs[i].error))
			log_warn("%s", errs[i].error);
	a->pass_failed = nerrs > 0;
	storage_pass(a, specs, nspecs, doms, ndoms);
	if (a->have_desired)
		agent_provision_incoming(a->prov, a->virt, a->desired.incoming,
					 a->desired.nincoming, doms, ndoms);
	publish(a, doms, ndoms, listed_ns, errs, nerrs);
	doms = NULL;
	errs = NULL;
	if (a->have_desired)
		agent_tasks_sync(a->tasks, a->desired.tasks,
				 a->desired.ntasks);
	ret = 0;
out:
	/* the cache within its bound, once the pass knew every VM */
	agent_provision_pass_end(a->prov, ret == 0 &&
				 (a->have_desired || a->no_controller));
	free(specs);
	free(errs);
	free(doms);
	free(obs);
	free(acts);
	return ret;
}

/* ---- main loop -------------------------------------------------------- */

/* With libvirt connected (its loss is handled by cycle()): check what
 * the node needs to run VMs (agent_nodecheck.h), repair what can be
 * repaired and set the degraded reason(s), or clear it. */
static void node_check(struct agent_loop *a)
{
	struct agent_nodecheck_facts f;
	struct agent_nodecheck_verdict v;

	agent_nodecheck_facts(a->virt, true, a->cfg->storage_dir,
			      a->cfg->min_free_disk_mib, &f);
	agent_nodecheck_judge(&f, &v);
	if (v.repairs & AGENT_NODECHECK_START_POOL) {
		log_warn("storage pool over '%s' is inactive: starting it",
			 a->cfg->storage_dir);
		if (agent_virt_pool_repair(a->virt) < 0) {
			char why[600];

			snprintf(why, sizeof(why), "storage pool: %s",
				 err_msg());
			agent_nodecheck_add(&v, why);
		} else {
			log_info("storage pool over '%s' started again",
				 a->cfg->storage_dir);
		}
	}
	if (a->net_fault[0])
		agent_nodecheck_add(&v, a->net_fault);
	set_degraded(a, v.reasons[0] ? v.reasons : NULL);
}

/* One cycle's libvirt part: connect when due, then inventory and a
 * reconcile pass. Returns whether libvirt is there. */
static bool cycle(struct agent_loop *a, bool *was_connected,
		  uint64_t *virt_next, uint64_t *virt_backoff)
{
	struct agent_inventory inv;
	uint64_t now = time_mono_ns();
	bool alive = agent_virt_alive(a->virt), listed = false;

	if (!alive && *was_connected) {
		set_degraded(a, "libvirt: connection lost");
		agent_virt_disconnect(a->virt);
		*was_connected = false;
		*virt_next = now;
	}
	if (!alive && now >= *virt_next) {
		if (agent_virt_connect(a->virt) == 0) {
			alive = *was_connected = true;
			*virt_backoff = 0;
			set_degraded(a, NULL);
		} else {
			set_degraded(a, err_msg());
			*virt_next = now + agent_client_backoff(virt_backoff);
		}
	}
	memset(&inv, 0, sizeof(inv));
	if (alive && agent_virt_inventory(a->virt, &inv) < 0) {
		set_degraded(a, err_msg());
		memset(&inv, 0, sizeof(inv));
	} else if (alive) {
		pthread_mutex_lock(&a->lock);
		a->inv = inv;
		pthread_mutex_unlock(&a->lock);
		if (reconcile_pass(a) < 0) {
			set_degraded(a, err_msg());
		} else {
			listed = true;
			node_check(a);
		}
	}
	if (alive && !agent_virt_alive(a->virt))
		*virt_next = time_mono_ns();
	pthread_mutex_lock(&a->lock);
	if (!listed)
		a->doms_listed = false;
	if (!alive)
		memset(&a->inv, 0, sizeof(a->inv));
	a->reported = true;
	kick_heartbeat(a);
	pthread_mutex_unlock(&a->lock);
	return alive;
}

/* --once with a controller: the exchanges run here, between passes:
 * apply what the first brought, report it, then stop. */
static int run_once(struct agent_loop *a)
{
	bool wc = false;
	uint64_t vn = 0, vb = 0;

	for (int round = 0; round < 2 && !atomic_load(&a->quit); round++) {
		bool got;

		cycle(a, &wc, &vn, &vb);
		/* the VMs that waited for their images, once fetched */
		while (agent_provision_wait(a->prov) && !atomic_load(&a->quit))
			cycle(a, &wc, &vn, &vb);
		if (a->no_controller)
			break;
		if (agent_hb_exchange(a, 0) < 0)
			log_warn("controller %s: %s", a->cfg->controller_url,
				 err_msg());
		pthread_mutex_lock(&a->lock);
		got = a->have_incoming || a->have_desired;
		pthread_mutex_unlock(&a->lock);
		if (!got)
			break;
	}
	return 0;
}

int agent_loop_run(struct agent_loop *a)
{
	uint64_t virt_next = 0, virt_backoff = 0;
	bool was_connected = false;

	if (!a->no_controller && agent_hb_prepare(a) < 0)
		return -1;
	if (a->once)
		return run_once(a);
	if (!a->no_controller && agent_hb_start(a) < 0)
		return -1;
	if (agent_fence_start(a->fence) < 0)
		return -1;
	while (!atomic_load(&a->quit)) {
		uint64_t cycle_start = time_mono_ns();
		bool alive, pending;

		alive = cycle(a, &was_connected, &virt_next, &virt_backoff);
		pthread_mutex_lock(&a->lock);
		pending = a->have_incoming;
		pthread_mutex_unlock(&a->lock);
		if (pending)
			continue; /* a new desired state came during the pass */
		uint64_t deadline = cycle_start + agent_loop_interval_ns(a);

		if (!alive && virt_next < deadline)
			deadline = virt_next;
		agent_loop_wait_until(a, &a->wake, &a->kick, deadline);
	}
	agent_hb_join(a);
	/* the DHCP servers are the agent's: they stop with it (the next
	 * agent starts them in its first pass) */
	if (!agent_virt_is_test(a->virt))
		agent_dhcp_stop_all();
	return 0;
}

/* ---- the loop's life ---------------------------------------------------- */

/* The self-fence record's path: "self-fence" in the agent's state
 * directory (that of credential_file). */
static int fence_path(const char *credential_file, char *buf, size_t size)
{
	const char *slash = strrchr(credential_file, '/');
	int dirlen = slash ? (int)(slash - credential_file) : 1;

	if (snprintf(buf, size, "%.*s/self-fence", dirlen,
		     slash ? credential_file : ".") >= (int)size)
		return err_set("credential_file '%s': path too long for the "
			       "self-fence record",
			       credential_file);
	return 0;
}

static void loop_wake(void *ctx)
{
	kick_main(ctx);
}

/* A migration ended: a pass and a heartbeat at once, so that its result
 * reaches the controller without waiting for the interval. */
static void loop_task_ended(void *ctx)
{
	struct agent_loop *a = ctx;

	kick_main(a);
	pthread_mutex_lock(&a->lock);
	kick_heartbeat(a);
	pthread_mutex_unlock(&a->lock);
}

/* The agent's migration settings with the task's over them: its own
 * time limit, and post-copy when the VM's or its pool's setting allows
 * it (the controller decides that). */
static int loop_migrate(void *ctx, const struct agent_task *task)
{
	struct agent_loop *a = ctx;
	struct agent_migrate_opts o = {
		.max_seconds = task->max_seconds ? task->max_seconds
						 : a->cfg->migration_max_seconds,
		.auto_converge = a->cfg->migration_auto_converge,
		.postcopy = task->postcopy,
		.rbd_user = task->rbd_user,
	};

	/* the controller names the target; this node decides whether the
	 * guest's memory may cross the network in plain text */
	if (!a->cfg->insecure && agent_uri_plain(task->target_uri))
		return err_set("vm %s: refusing to migrate to '%s' without TLS: "
			       "nodes migrate over qemu+tls:// (set the "
			       "target's migration_uri), or set insecure = "
			       "yes on a closed development network",
			       task->vm_id, task->target_uri);
	if (agent_virt_net_copy_filters(a->virt, task->vm_id,
					task->target_uri) < 0)
		return -1;
	return agent_virt_migrate(a->virt, task->vm_id, task->target_uri, &o);
}

static int loop_reboot(void *ctx, const char *vm_id)
{
	struct agent_loop *a = ctx;

	return agent_virt_reboot(a->virt, vm_id);
}

static const struct agent_task_ops loop_task_ops = {
	.migrate = loop_migrate,
	.reboot = loop_reboot,
	.ended = loop_task_ended,
};

struct agent_loop *agent_loop_new(struct agent_config *cfg,
				  struct agent_virt *virt,
				  const struct agent_loop_opts *opts)
{
	struct agent_loop *a = calloc(1, sizeof(*a));
	pthread_condattr_t ca;
	char journal[PATH_MAX];

	if (a == NULL)
		goto oom;
	a->cfg = cfg;
	a->virt = virt;
	a->no_controller = opts->no_controller;
	a->once = opts->once;
	a->stop_timeout_ns = opts->stop_timeout_ns;
	a->storage.grace_ns = (uint64_t)cfg->orphan_grace * 1000000000ULL;
	pthread_mutex_init(&a->lock, NULL);
	a->prov = agent_provision_new(cfg, a->no_controller, loop_wake, a);
	if (a->prov == NULL)
		goto fail;
	/* agent_loop_wait_until() counts in CLOCK_MONOTONIC. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->wake, &ca);
	pthread_cond_init(&a->hb_wake, &ca);
	pthread_condattr_destroy(&ca);
	atomic_store(&a->interval_s, cfg->heartbeat_interval);
	if (agent_journal_path(cfg->credential_file, journal,
			       sizeof(journal)) < 0)
		goto fail;
	a->tasks = agent_tasks_new(&loop_task_ops, a, journal);
	if (a->tasks == NULL)
		goto fail;
	/* the fence record next to the journal; no watchdog without a
	 * controller or for one pass */
	if (fence_path(cfg->credential_file, journal, sizeof(journal)) < 0)
		goto fail;
	a->fence = agent_fence_new(a->no_controller || a->once
					   ? 0
					   : cfg->self_fence_timeout,
				   a->no_controller ? NULL : journal, virt,
				   loop_wake, a);
	if (a->fence == NULL)
		goto fail;
	a->events = agent_events_new(a->no_controller ? NULL
						      : cfg->controller_url,
				     cfg->node_name, &cfg->tls, virt, loop_wake,
				     a);
	if (a->events == NULL)
		goto oom;
	if (!a->no_controller) {
		a->consoles = agent_consoles_new(cfg->controller_url,
						 cfg->node_name, &cfg->tls,
						 virt);
		if (a->consoles == NULL)
			goto fail;
	}
	agent_virt_set_event_cb(virt, agent_events_on_domain, a->events);
	if (agent_events_start(a->events) < 0)
		log_warn("%s: domain events reach the controller with the "
			 "heartbeats only",
			 err_msg());
	return a;
oom:
	err_set("out of memory");
fail:
	agent_loop_free(a);
	return NULL;
}

void agent_loop_quit(struct agent_loop *a)
{
	/* Set before the kick: agent_loop_wait_until() reads it under the
	 * lock. */
	atomic_store(&a->quit, true);
	kick_main(a);
	pthread_mutex_lock(&a->lock);
	kick_heartbeat(a);
	pthread_mutex_unlock(&a->lock);
	agent_events_quit(a->events);
}

void agent_loop_stop(struct agent_loop *a)
{
	agent_loop_quit(a);
	agent_events_stop(a->events);
	agent_consoles_stop(a->consoles);
	/* Migrations in flight finish (or fail) before the agent goes. */
	agent_tasks_wait(a->tasks);
}

void agent_loop_free(struct agent_loop *a)
{
	if (a == NULL)
		return;
	/* Both wait for their threads, which may still wake the loop. */
	agent_events_free(a->events);
	agent_consoles_free(a->consoles);
	agent_tasks_free(a->tasks);
	agent_fence_free(a->fence);
	agent_storage_clear(&a->storage);
	agent_provision_free(a->prov);
	agent_virt_net_cache_free(&a->filters);
	agent_client_free(a->client);
	agent_desired_free(&a->desired);
	agent_desired_free(&a->incoming);
	free(a->stops);
	free(a->doms);
	free(a->errors);
	cJSON_Delete(a->ifaces);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->wake);
	pthread_cond_destroy(&a->hb_wake);
	free(a);
}

bool agent_loop_failed(struct agent_loop *a)
{
	bool failed;

	pthread_mutex_lock(&a->lock);
	failed = a->pass_failed || a->degraded[0];
	pthread_mutex_unlock(&a->lock);
	return failed;
}

void agent_loop_health(void *opaque, struct agent_health_status *st)
{
	struct agent_loop *a = opaque;

	pthread_mutex_lock(&a->lock);
	str_copy(st->degraded, sizeof(st->degraded), a->degraded);
	st->domains = a->ndoms;
	st->vm_errors = a->nerrors;
	st->passes = a->passes;
	pthread_mutex_unlock(&a->lock);
}

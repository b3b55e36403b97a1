/*
 * agent_hb.c - the agent's side of the exchange with the controller
 * (agent_hb.h): the credential, registration, the heartbeat and the
 * desired state it brings back, and the heartbeat thread.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "agents/agent_hb.h"
#include "agents/agent_loop_priv.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

/* Give cred (a NUL-terminated credential, copied by each) to every
 * part of the agent that calls the controller. -1 with err_set() when
 * the controller client cannot keep it (out of memory). */
static int hand_credential(struct agent_loop *a, const char *cred)
{
	if (agent_client_set_credential(a->client, cred) < 0)
		return -1;
	agent_events_set_credential(a->events, cred);
	agent_provision_set_credential(a->prov, cred);
	if (a->consoles)
		agent_consoles_set_credential(a->consoles, cred);
	return 0;
}

/* The credential file, refused when it was issued to another node name:
 * a renamed agent must not register a second identity for this machine
 * (docs/agent-protocol.md "Identity"). */
static int load_credential(struct agent_loop *a)
{
	char cred[AGENT_CREDENTIAL_MAX];
	int rc, bound, ret = -1;

	rc = agent_credential_load(a->cfg->credential_file, cred,
				   sizeof(cred));
	if (rc <= 0) {
		ret = rc; /* no file (0): the first exchange registers */
		goto out;
	}
	bound = agent_credential_check_node(a->cfg->credential_file,
					    a->cfg->node_name);
	if (bound < 0 || hand_credential(a, cred) < 0)
		goto out;
	a->have_cred = true;
	a->cred_bound = bound == 1;
	ret = 0;
out:
	explicit_bzero(cred, sizeof(cred));
	return ret;
}

/* The heartbeat from the last report (under the loop's lock) and the
 * migration journal: never a libvirt call, never the pass's wait. */
static cJSON *heartbeat_json(struct agent_loop *a)
{
	struct agent_heartbeat hb;
	struct agent_task *tasks = NULL;
	struct agent_journal_entry *journal = NULL;
	size_t ntasks, njournal;
	cJSON *j = NULL, *prepared = NULL;

	if (agent_tasks_copy(a->tasks, &tasks, &ntasks, &journal, &njournal) <
	    0)
		goto out;
	prepared = agent_provision_prepared(a->prov);
	pthread_mutex_lock(&a->lock);
	memset(&hb, 0, sizeof(hb));
	hb.generation_seen = a->generation_seen;
	hb.degraded_reason = a->degraded[0] ? a->degraded : NULL;
	hb.inv = &a->inv;
	/* a node degraded for what libvirt does not cover (its disk, its
	 * storage dir) still says what runs on it: the controller settles
	 * migrations from that too. Healthy, the last pass's list goes as
	 * it always did (between a reconnect and the next pass it is the
	 * one from before, never an empty one). */
	hb.domains_listed = a->doms_listed;
	if (!a->degraded[0] || a->doms_listed) {
		hb.doms = a->doms;
		hb.ndoms = a->ndoms;
		hb.doms_ns = a->doms_ns;
	}
	hb.tasks = tasks;
	hb.ntasks = ntasks;
	hb.errors = a->errors;
	hb.nerrors = a->nerrors;
	hb.journal = journal;
	hb.njournal = njournal;
	hb.prepared = prepared;
	hb.interfaces = a->ifaces;
	hb.vlan_capable = a->vlan_capable;
	hb.self_fence_s = (int64_t)agent_fence_window_s(a->fence);
	j = agent_json_heartbeat(&hb);
	pthread_mutex_unlock(&a->lock);
out:
	cJSON_Delete(prepared);
	free(tasks);
	free(journal);
	return j;
}

static int do_register(struct agent_loop *a)
{
	char token[AGENT_CREDENTIAL_MAX], cred[AGENT_CREDENTIAL_MAX];
	struct agent_register reg;
	struct agent_journal_entry *journal = NULL;
	int interval = 0, ret = -1;

	memset(&reg, 0, sizeof(reg));
	if (agent_join_token_load(a->cfg->join_token_file, token,
				  sizeof(token)) < 0) {
		err_prefix("node '%s' has no credential yet and cannot "
			   "register",
			   a->cfg->node_name);
		goto out;
	}
	if (agent_tasks_copy(a->tasks, NULL, NULL, &journal, &reg.njournal) <
	    0)
		goto out;
	reg.join_token = token;
	reg.pool = a->cfg->pool;
	reg.migration_uri = a->cfg->migration_uri;
	reg.journal = journal;
	pthread_mutex_lock(&a->lock);
	reg.inv = a->inv;
	pthread_mutex_unlock(&a->lock);
	if (agent_client_register(a->client, &reg, cred, sizeof(cred),
				  &interval) < 0)
		goto out;
	if (agent_credential_store(a->cfg->credential_file, cred) < 0 ||
	    agent_credential_bind(a->cfg->credential_file,
				  a->cfg->node_name) < 0 ||
	    hand_credential(a, cred) < 0)
		goto out;
	a->have_cred = a->cred_bound = true;
	if (interval > 0 && interval != atomic_load(&a->interval_s)) {
		log_info("controller asks for a heartbeat every %d s",
			 interval);
		atomic_store(&a->interval_s, interval);
	}
	log_info("registered node '%s' (machine %s) with %s; credential "
		 "stored in '%s'",
		 a->cfg->node_name, reg.inv.machine_id[0] ? reg.inv.machine_id
							  : "unknown",
		 a->cfg->controller_url, a->cfg->credential_file);
	ret = 0;
out:
	explicit_bzero(token, sizeof(token));
	explicit_bzero(cred, sizeof(cred));
	free(journal);
	return ret;
}

int agent_hb_exchange(struct agent_loop *a, int wait_s)
{
	struct agent_desired d;
	cJSON *hb;
	uint64_t epoch;
	int rc;

	if (!a->have_cred && do_register(a) < 0)
		return -1;
	hb = heartbeat_json(a);
	if (hb == NULL)
		return err_set("out of memory");
	epoch = agent_fence_epoch(a->fence);
	rc = agent_client_heartbeat(a->client, hb, wait_s, &d);
	cJSON_Delete(hb);
	if (rc == -2) {
		a->have_cred = false;
		return -1;
	}
	if (rc < 0)
		return -1;
	agent_fence_answered(a->fence, epoch);
	if (!a->cred_bound) {
		/* A credential stored before files named their node: the
		 * controller has just accepted it for this name. */
		if (agent_credential_bind(a->cfg->credential_file,
					  a->cfg->node_name) < 0)
			log_warn("%s", err_msg());
		a->cred_bound = true;
	}
	/* console sessions come whether or not the generation moved */
	if (a->consoles && d.nconsoles > 0)
		agent_consoles_start(a->consoles, d.consoles, d.nconsoles);
	/* a fenced node takes the answer whatever its generation: the
	 * controller has answered, and that lifts the fence (agent_fence.h) */
	bool changed = !a->have_gen || d.generation != a->gen_received ||
		       agent_fence_active(a->fence);

	if (changed) {
		log_info("desired state generation %" PRId64 ": %zu vms, %zu "
			 "tasks",
			 d.generation, d.nvms, d.ntasks);
		a->have_gen = true;
		a->gen_received = d.generation;
		pthread_mutex_lock(&a->lock);
		agent_desired_free(&a->incoming);
		a->incoming = d;
		a->have_incoming = true;
		a->incoming_epoch = epoch;
		a->kick = true;
		pthread_cond_broadcast(&a->wake);
		pthread_mutex_unlock(&a->lock);
	} else {
		agent_desired_free(&d);
	}
	return changed ? 1 : 0;
}

/* Long-poll only when everything handed over has been applied, libvirt
 * is there, no migration runs and no image is being fetched; otherwise
 * poll and come back. A long-poll cannot be interrupted: a migration's
 * result, or the report of the pass that follows a fetch (a VM started,
 * an incoming migration prepared), would wait for it to time out. */
static bool settled(struct agent_loop *a)
{
	bool s;

	pthread_mutex_lock(&a->lock);
	s = a->have_gen && !a->have_incoming &&
	    a->generation_seen == a->gen_received && !a->degraded[0];
	pthread_mutex_unlock(&a->lock);
	return s && agent_tasks_migrations(a->tasks) == 0 &&
	       !agent_provision_busy(a->prov);
}

/* The heartbeat thread: one exchange per interval (or at once when a
 * pass published a new report), whatever the main loop is doing. It
 * reads the last report under the loop's lock and never waits on
 * libvirt or on a pass, so a long pass (many creates, a migration's
 * final phase holding libvirt) cannot make the node look dead. */
static void *heartbeat_main(void *arg)
{
	struct agent_loop *a = arg;
	uint64_t backoff = 0;

	/* The first registration carries the first pass's inventory. */
	pthread_mutex_lock(&a->lock);
	while (!a->reported && !atomic_load(&a->quit))
		pthread_cond_wait(&a->hb_wake, &a->lock);
	pthread_mutex_unlock(&a->lock);
	while (!atomic_load(&a->quit)) {
		uint64_t start = time_mono_ns();
		int wait_s = settled(a) ? atomic_load(&a->interval_s) : 0;
		int rc;

		/* a long-poll held by the controller is no silence */
		agent_fence_set_floor(a->fence,
				      (uint64_t)(atomic_load(&a->interval_s) +
						 5) * 1000000000ULL);
		rc = agent_hb_exchange(a, wait_s);

		if (rc < 0) {
			uint64_t b = agent_client_backoff(&backoff);

			log_warn("controller %s: %s (retry in %" PRIu64
				 " s; VMs stay as they are)",
				 a->cfg->controller_url, err_msg(),
				 (uint64_t)(b / 1000000000ULL));
			agent_loop_wait_until(a, &a->hb_wake, NULL,
					      time_mono_ns() + b);
		} else {
			backoff = 0;
			agent_loop_wait_until(a, &a->hb_wake, &a->hb_kick,
					      start + agent_loop_interval_ns(a));
		}
	}
	return NULL;
}

int agent_hb_prepare(struct agent_loop *a)
{
	a->client = agent_client_new(a->cfg->controller_url,
				     a->cfg->node_name, &a->cfg->tls);
	if (a->client == NULL)
		return -1;
	return load_credential(a);
}

int agent_hb_start(struct agent_loop *a)
{
	if (pthread_create(&a->hb_thread, NULL, heartbeat_main, a) != 0)
		return err_set("cannot start the heartbeat thread");
	a->hb_started = true;
	return 0;
}

void agent_hb_join(struct agent_loop *a)
{
	if (a->hb_started) {
		pthread_join(a->hb_thread, NULL);
		a->hb_started = false;
	}
}

/*
 * fincloud-agent - one per compute node: reconciles libvirt towards the
 * node's desired state (static manifests and the controller's answer to
 * its heartbeats), reports inventory, utilisation and domain states, and
 * sends domain events as they happen. See docs/agent.md.
 *
 * Threads: the main loop (connect, reconcile, heartbeat), libvirt's event
 * loop (agent_virt.c), the event sender, the signal waiter, one thread
 * per running migration and, when health_listen is set, the health
 * endpoint. Shared state is under struct agent's lock.
 */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "agents/agent_client.h"
#include "agents/agent_config.h"
#include "agents/agent_domxml.h"
#include "agents/agent_health.h"
#include "agents/agent_manifest.h"
#include "agents/agent_reconcile.h"
#include "agents/agent_report.h"
#include "agents/agent_virt.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#define AGENT_VERSION "0.1.0"
#define BACKOFF_MAX_NS (30ULL * 1000000000ULL)
#define EVENT_QUEUE_MAX 1024

struct stop_entry {
	char uuid[37];
	uint64_t sent_ns;
};

struct migrated {
	char vm_id[37];
	uint64_t done_ns; /* when the migration finished */
};

struct queued_event {
	char uuid[37];
	int state;
	char reason[16];
	int64_t time_ms;
};

struct agent {
	struct agent_config *cfg;
	struct agent_virt *virt;
	bool no_controller;
	bool once;
	uint64_t stop_timeout_ns;

	/* main thread only */
	struct agent_client *client;
	bool have_cred;
	struct agent_desired desired;
	bool have_desired;
	int64_t generation_seen;
	struct stop_entry *stops;
	size_t nstops;
	struct agent_inventory inv;
	bool pass_failed;

	/* under lock */
	pthread_mutex_t lock;
	pthread_cond_t wake;     /* main loop: kick or quit */
	pthread_cond_t ev_wake;  /* event sender: queue or quit */
	char credential[AGENT_CREDENTIAL_MAX];
	struct agent_task *tasks;
	size_t ntasks;
	struct migrated *migrated; /* VMs this agent migrated away */
	size_t nmigrated;
	size_t migrated_reserved;  /* slots held by running migrations */
	int migrations_running;
	char (*managed)[37];     /* fincloud domains seen at the last pass */
	size_t nmanaged;
	struct queued_event *evq;
	size_t nevq;
	bool kick;
	atomic_bool quit;
	/* the last report, also read by the health endpoint */
	struct agent_domain *doms;
	size_t ndoms;
	struct agent_vm_error *errors;
	size_t nerrors;
	char degraded[1024];     /* "" when healthy */
	uint64_t passes;
};

/* ---- small helpers --------------------------------------------------- */

static uint64_t backoff_next(uint64_t *backoff)
{
	uint64_t b = *backoff ? *backoff : 1000000000ULL;

	*backoff = b * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : b * 2;
	return b;
}

static void kick_main(struct agent *a)
{
	pthread_mutex_lock(&a->lock);
	a->kick = true;
	pthread_cond_broadcast(&a->wake);
	pthread_mutex_unlock(&a->lock);
}

/* Wait on a->wake until deadline_ns (monotonic), a kick or quit. */
static void wait_until(struct agent *a, uint64_t deadline_ns)
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
	while (!a->kick && !atomic_load(&a->quit))
		if (pthread_cond_timedwait(&a->wake, &a->lock, &ts) != 0)
			break;
	a->kick = false;
	pthread_mutex_unlock(&a->lock);
}

static bool in_list(char (*list)[37], size_t n, const char *uuid)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(list[i], uuid) == 0)
			return true;
	return false;
}

static void set_degraded(struct agent *a, const char *why)
{
	pthread_mutex_lock(&a->lock);
	if (why && strcmp(a->degraded, why) != 0)
		log_warn("degraded: %s", why);
	else if (why == NULL && a->degraded[0])
		log_info("libvirt is back: no longer degraded");
	agent_error_copy(a->degraded, sizeof(a->degraded), why ? why : "");
	pthread_mutex_unlock(&a->lock);
}

/* ---- events ---------------------------------------------------------- */

/* On libvirt's event loop thread: queue and return at once. */
static void on_domain_event(void *opaque, const char *uuid, const char *name,
			    int state, const char *reason)
{
	struct agent *a = opaque;
	struct queued_event *e;

	pthread_mutex_lock(&a->lock);
	if (a->nevq == EVENT_QUEUE_MAX) {
		memmove(a->evq, a->evq + 1, (a->nevq - 1) * sizeof(*a->evq));
		a->nevq--;
	}
	e = &a->evq[a->nevq++];
	str_copy(e->uuid, sizeof(e->uuid), uuid);
	e->state = state;
	str_copy(e->reason, sizeof(e->reason), reason);
	e->time_ms = time_wall_ms();
	pthread_cond_broadcast(&a->ev_wake);
	pthread_mutex_unlock(&a->lock);
	(void)name;
}

static cJSON *events_json(const struct queued_event *ev, size_t n)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *arr = root ? cJSON_AddArrayToObject(root, "events") : NULL;

	if (arr == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		if (o == NULL)
			goto fail;
		cJSON_AddItemToArray(arr, o);
		if (!cJSON_AddStringToObject(o, "vm_id", ev[i].uuid) ||
		    !cJSON_AddStringToObject(o, "state",
					     agent_dom_state_name(ev[i].state)) ||
		    !cJSON_AddStringToObject(o, "reason", ev[i].reason) ||
		    !cJSON_AddNumberToObject(o, "time_ms",
					     (double)ev[i].time_ms))
			goto fail;
	}
	return root;
fail:
	cJSON_Delete(root);
	return NULL;
}

/* Sends fincloud domains' events to the controller as they come, so a
 * crash is known at once, not at the next heartbeat; wakes the main loop
 * so that it reconciles at once too. */
static void *event_sender(void *arg)
{
	struct agent *a = arg;
	struct agent_client *client = NULL;
	struct queued_event batch[64];
	uint64_t backoff = 0;
	char cred[AGENT_CREDENTIAL_MAX] = "";

	for (;;) {
		size_t n = 0, keep = 0;

		pthread_mutex_lock(&a->lock);
		while (a->nevq == 0 && !atomic_load(&a->quit))
			pthread_cond_wait(&a->ev_wake, &a->lock);
		if (atomic_load(&a->quit)) {
			pthread_mutex_unlock(&a->lock);
			break;
		}
		n = a->nevq < FC_ARRAY_LEN(batch) ? a->nevq : FC_ARRAY_LEN(batch);
		memcpy(batch, a->evq, n * sizeof(*batch));
		memmove(a->evq, a->evq + n, (a->nevq - n) * sizeof(*a->evq));
		a->nevq -= n;
		if (strcmp(cred, a->credential) != 0) {
			str_copy(cred, sizeof(cred), a->credential);
			if (client)
				agent_client_set_credential(client, cred);
		}
		pthread_mutex_unlock(&a->lock);

		/* Only fincloud domains are reported; foreign ones never. */
		for (size_t i = 0; i < n; i++) {
			bool managed;

			pthread_mutex_lock(&a->lock);
			managed = in_list(a->managed, a->nmanaged,
					  batch[i].uuid);
			pthread_mutex_unlock(&a->lock);
			if (!managed)
				managed = agent_virt_managed(a->virt,
							     batch[i].uuid) == 1;
			if (!managed)
				continue;
			log_info("event: vm %s %s (%s)", batch[i].uuid,
				 agent_dom_state_name(batch[i].state),
				 batch[i].reason);
			batch[keep++] = batch[i];
		}
		if (keep == 0)
			continue;
		kick_main(a);
		if (a->no_controller || cred[0] == '\0')
			continue;
		if (client == NULL) {
			client = agent_client_new(a->cfg->controller_url,
						  a->cfg->node_name);
			if (client == NULL ||
			    agent_client_set_credential(client, cred) < 0) {
				log_warn("events: %s", err_msg());
				continue;
			}
		}
		cJSON *body = events_json(batch, keep);

		if (body && agent_client_events(client, body) == 0) {
			backoff = 0;
		} else {
			uint64_t until = time_mono_ns() + backoff_next(&backoff);

			log_warn("events not delivered (the next heartbeat "
				 "carries the states): %s",
				 body ? err_msg() : "out of memory");
			/* Back off, but notice a stop at once. */
			while (!atomic_load(&a->quit) && time_mono_ns() < until)
				usleep(100000);
		}
		cJSON_Delete(body);
	}
	agent_client_free(client);
	return NULL;
}

/* ---- tasks ----------------------------------------------------------- */

struct migration {
	struct agent *a;
	char task_id[37];
	char vm_id[37];
	char target_uri[1024];
};

static struct agent_task *task_find(struct agent *a, const char *id)
{
	for (size_t i = 0; i < a->ntasks; i++)
		if (strcasecmp(a->tasks[i].task_id, id) == 0)
			return &a->tasks[i];
	return NULL;
}

static void task_finish(struct agent *a, const char *task_id, bool ok,
			const char *error)
{
	struct agent_task *t;

	pthread_mutex_lock(&a->lock);
	t = task_find(a, task_id);
	if (t) {
		t->state = ok ? AGENT_TASK_DONE : AGENT_TASK_FAILED;
		/* error is the caller's (its thread's err_msg()): copied
		 * here, under the lock, into the task's own field. */
		agent_error_copy(t->error, sizeof(t->error),
				 ok || error == NULL ? "" : error);
	}
	pthread_mutex_unlock(&a->lock);
}

static void *migration_main(void *arg)
{
	struct migration *m = arg;
	struct agent *a = m->a;
	struct migrated *mg;
	int rc = -1;

	/* The VM's slot in a->migrated is taken before it moves: once it
	 * has left, failing to record that would let a desired state that
	 * is behind recreate it here. */
	pthread_mutex_lock(&a->lock);
	mg = realloc(a->migrated, (a->nmigrated + a->migrated_reserved + 1) *
					  sizeof(*mg));
	if (mg) {
		a->migrated = mg;
		a->migrated_reserved++;
	}
	pthread_mutex_unlock(&a->lock);
	if (mg == NULL)
		err_set("out of memory: migration not started");
	else
		rc = agent_virt_migrate(a->virt, m->vm_id, m->target_uri);
	if (rc < 0)
		log_warn("task %s: %s", m->task_id, err_msg());
	pthread_mutex_lock(&a->lock);
	if (mg) {
		if (rc == 0) {
			str_copy(a->migrated[a->nmigrated].vm_id, 37, m->vm_id);
			a->migrated[a->nmigrated++].done_ns = time_mono_ns();
		}
		a->migrated_reserved--;
	}
	pthread_mutex_unlock(&a->lock);
	task_finish(a, m->task_id, rc == 0, rc == 0 ? NULL : err_msg());
	pthread_mutex_lock(&a->lock);
	a->migrations_running--;
	a->kick = true;
	pthread_cond_broadcast(&a->wake);
	pthread_mutex_unlock(&a->lock);
	free(m);
	return NULL;
}

static void task_start(struct agent *a, const struct agent_task *spec)
{
	struct agent_task *t, *grown;
	struct migration *m;
	pthread_attr_t attr;
	pthread_t th;

	pthread_mutex_lock(&a->lock);
	grown = realloc(a->tasks, (a->ntasks + 1) * sizeof(*a->tasks));
	if (grown == NULL) {
		pthread_mutex_unlock(&a->lock);
		log_error("task %s: out of memory", spec->task_id);
		return;
	}
	a->tasks = grown;
	t = &a->tasks[a->ntasks++];
	*t = *spec;
	t->state = AGENT_TASK_RUNNING;
	t->error[0] = '\0';
	pthread_mutex_unlock(&a->lock);
	log_info("task %s: %s vm %s%s%s", spec->task_id, spec->type,
		 spec->vm_id, spec->target_uri[0] ? " to " : "",
		 spec->target_uri);

	if (strcmp(spec->type, "reboot") == 0) {
		int rc = agent_virt_reboot(a->virt, spec->vm_id);

		task_finish(a, spec->task_id, rc == 0,
			    rc == 0 ? NULL : err_msg());
		return;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		task_finish(a, spec->task_id, false, "out of memory");
		return;
	}
	m->a = a;
	str_copy(m->task_id, sizeof(m->task_id), spec->task_id);
	str_copy(m->vm_id, sizeof(m->vm_id), spec->vm_id);
	str_copy(m->target_uri, sizeof(m->target_uri), spec->target_uri);
	pthread_mutex_lock(&a->lock);
	a->migrations_running++;
	pthread_mutex_unlock(&a->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, migration_main, m) != 0) {
		pthread_mutex_lock(&a->lock);
		a->migrations_running--;
		pthread_mutex_unlock(&a->lock);
		task_finish(a, spec->task_id, false,
			    "cannot start a migration thread");
		free(m);
	}
	pthread_attr_destroy(&attr);
}

/* Start the tasks the controller handed over that are new; forget the
 * finished ones it no longer lists. */
static void tasks_sync(struct agent *a)
{
	size_t keep = 0;

	for (size_t i = 0; a->have_desired && i < a->desired.ntasks; i++) {
		bool known;

		pthread_mutex_lock(&a->lock);
		known = task_find(a, a->desired.tasks[i].task_id) != NULL;
		pthread_mutex_unlock(&a->lock);
		if (!known)
			task_start(a, &a->desired.tasks[i]);
	}
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < a->ntasks; i++) {
		bool listed = false;

		for (size_t j = 0; a->have_desired && j < a->desired.ntasks;
		     j++)
			if (strcasecmp(a->desired.tasks[j].task_id,
				       a->tasks[i].task_id) == 0)
				listed = true;
		if (listed || a->tasks[i].state == AGENT_TASK_RUNNING)
			a->tasks[keep++] = a->tasks[i];
	}
	a->ntasks = keep;
	pthread_mutex_unlock(&a->lock);
}

/* True when the VM is leaving (or left) this node by migration: the
 * reconciler must not recreate it from a desired state that is behind. */
static bool migrating_away(struct agent *a, const char *vm_id)
{
	bool r;

	pthread_mutex_lock(&a->lock);
	r = false;
	for (size_t i = 0; !r && i < a->nmigrated; i++)
		r = strcasecmp(a->migrated[i].vm_id, vm_id) == 0;
	for (size_t i = 0; !r && i < a->ntasks; i++)
		if (strcmp(a->tasks[i].type, "migrate") == 0 &&
		    a->tasks[i].state == AGENT_TASK_RUNNING &&
		    strcasecmp(a->tasks[i].vm_id, vm_id) == 0)
			r = true;
	pthread_mutex_unlock(&a->lock);
	return r;
}

/* ---- reconciliation --------------------------------------------------- */

/* A VM migrated away stays off limits only until the controller has
 * caught up (its desired state for this node no longer lists it) or the
 * VM is back here (migrated back): from then on it is reconciled again. */
static void prune_migrated(struct agent *a, const struct agent_domain *doms,
			   size_t ndoms, uint64_t listed_ns)
{
	size_t keep = 0;

	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < a->nmigrated; i++) {
		const char *id = a->migrated[i].vm_id;
		bool listed = false, here = false;

		for (size_t j = 0; a->have_desired && j < a->desired.nvms; j++)
			if (strcasecmp(a->desired.vms[j].vm_id, id) == 0)
				listed = true;
		/* Only a list taken after the migration ended can show
		 * the VM back: an older one still shows it leaving. */
		for (size_t j = 0; j < ndoms; j++)
			if (strcasecmp(doms[j].uuid, id) == 0 &&
			    listed_ns > a->migrated[i].done_ns)
				here = true;
		if (listed && !here)
			a->migrated[keep++] = a->migrated[i];
	}
	a->nmigrated = keep;
	pthread_mutex_unlock(&a->lock);
}

static struct stop_entry *stop_find(struct agent *a, const char *uuid)
{
	for (size_t i = 0; i < a->nstops; i++)
		if (strcasecmp(a->stops[i].uuid, uuid) == 0)
			return &a->stops[i];
	return NULL;
}

static void stop_forget(struct agent *a, const char *uuid)
{
	struct stop_entry *s = stop_find(a, uuid);

	if (s) {
		*s = a->stops[a->nstops - 1];
		a->nstops--;
	}
}

static void stop_remember(struct agent *a, const char *uuid)
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
static bool error_known(struct agent *a, const char *msg)
{
	bool known = false;

	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; !known && i < a->nerrors; i++)
		known = strcmp(a->errors[i].error, msg) == 0;
	pthread_mutex_unlock(&a->lock);
	return known;
}

static int perform(struct agent *a, const struct agent_action *act,
		   const struct agent_vm_spec *s)
{
	switch (act->type) {
	case AGENT_ACT_CREATE:
		stop_forget(a, s->vm_id);
		return agent_virt_create(a->virt, s, true);
	case AGENT_ACT_DEFINE:
		return agent_virt_create(a->virt, s, false);
	case AGENT_ACT_START:
		stop_forget(a, s->vm_id);
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
		return agent_virt_delete(a->virt, s->vm_id);
	case AGENT_ACT_ERROR:
		return err_set("%s", act->error);
	}
	return 0;
}

/* The specs of this pass: manifests first (they win over the controller
 * for the same vm_id), then the controller's, minus VMs leaving by
 * migration. */
static int collect_specs(struct agent *a, struct agent_vm_spec **out,
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
		if (!migrating_away(a, m[i].vm_id))
			all[n++] = m[i];
	for (size_t i = 0; a->have_desired && i < a->desired.nvms; i++) {
		const struct agent_vm_spec *s = &a->desired.vms[i];
		bool dup = false;

		for (size_t j = 0; j < nm; j++)
			if (strcasecmp(m[j].vm_id, s->vm_id) == 0)
				dup = true;
		if (!dup && !migrating_away(a, s->vm_id))
			all[n++] = *s;
	}
	free(m);
	*out = all;
	*nout = n;
	return 0;
}

static void publish(struct agent *a, struct agent_domain *doms, size_t ndoms,
		    struct agent_vm_error *errs, size_t nerrs)
{
	char (*managed)[37] = calloc(ndoms + 1, sizeof(*managed));
	size_t nmanaged = 0;

	for (size_t i = 0; managed && i < ndoms; i++)
		if (doms[i].managed)
			str_copy(managed[nmanaged++], 37, doms[i].uuid);
	pthread_mutex_lock(&a->lock);
	free(a->doms);
	a->doms = doms;
	a->ndoms = ndoms;
	free(a->errors);
	a->errors = errs;
	a->nerrors = nerrs;
	if (managed) {
		free(a->managed);
		a->managed = managed;
		a->nmanaged = nmanaged;
	}
	a->passes++;
	pthread_mutex_unlock(&a->lock);
}

/* One pass: observe, plan, act, observe again for the report. -1 when
 * libvirt failed as a whole; a VM's own failure only adds a vm_error. */
static int reconcile_pass(struct agent *a)
{
	struct agent_vm_spec *specs = NULL;
	struct agent_vm_error *errs = NULL;
	struct agent_domain *doms = NULL;
	struct agent_observed *obs = NULL;
	struct agent_action *acts = NULL;
	size_t nspecs = 0, nerrs = 0, ndoms = 0, nacts = 0;
	uint64_t listed_ns;
	int ret = -1;

	listed_ns = time_mono_ns();
	if (agent_virt_list(a->virt, &doms, &ndoms) < 0)
		goto out;
	prune_migrated(a, doms, ndoms, listed_ns);
	if (collect_specs(a, &specs, &nspecs, &errs, &nerrs) < 0)
		goto out;
	for (size_t i = 0; a->have_desired && i < a->desired.nerrors; i++)
		agent_vm_error_add(&errs, &nerrs, a->desired.errors[i].vm_id,
				   a->desired.errors[i].name,
				   a->desired.errors[i].error);
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
	if (nacts > 0) {
		free(doms);
		doms = NULL;
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
	publish(a, doms, ndoms, errs, nerrs);
	doms = NULL;
	errs = NULL;
	if (a->have_desired)
		a->generation_seen = a->desired.generation;
	tasks_sync(a);
	ret = 0;
out:
	free(specs);
	free(errs);
	free(doms);
	free(obs);
	free(acts);
	return ret;
}

/* ---- the controller -------------------------------------------------- */

static cJSON *heartbeat_json(struct agent *a)
{
	struct agent_heartbeat hb;
	cJSON *j;

	pthread_mutex_lock(&a->lock);
	memset(&hb, 0, sizeof(hb));
	hb.generation_seen = a->generation_seen;
	hb.degraded_reason = a->degraded[0] ? a->degraded : NULL;
	hb.inv = &a->inv;
	if (!a->degraded[0]) {
		hb.doms = a->doms;
		hb.ndoms = a->ndoms;
	}
	hb.tasks = a->tasks;
	hb.ntasks = a->ntasks;
	hb.errors = a->errors;
	hb.nerrors = a->nerrors;
	j = agent_json_heartbeat(&hb);
	pthread_mutex_unlock(&a->lock);
	return j;
}

static int do_register(struct agent *a)
{
	char token[AGENT_CREDENTIAL_MAX], cred[AGENT_CREDENTIAL_MAX];
	int interval = 0;

	if (agent_join_token_load(a->cfg->join_token_file, token,
				  sizeof(token)) < 0)
		return err_prefix("node '%s' has no credential yet and "
				  "cannot register",
				  a->cfg->node_name);
	if (agent_client_register(a->client, token, a->cfg->pool,
				  a->cfg->migration_uri, &a->inv, cred,
				  sizeof(cred), &interval) < 0)
		return -1;
	if (agent_credential_store(a->cfg->credential_file, cred) < 0)
		return -1;
	if (agent_client_set_credential(a->client, cred) < 0)
		return -1;
	pthread_mutex_lock(&a->lock);
	str_copy(a->credential, sizeof(a->credential), cred);
	pthread_mutex_unlock(&a->lock);
	a->have_cred = true;
	if (interval > 0 && interval != a->cfg->heartbeat_interval) {
		log_info("controller asks for a heartbeat every %d s",
			 interval);
		a->cfg->heartbeat_interval = interval;
	}
	log_info("registered node '%s' with %s; credential stored in '%s'",
		 a->cfg->node_name, a->cfg->controller_url,
		 a->cfg->credential_file);
	explicit_bzero(token, sizeof(token));
	explicit_bzero(cred, sizeof(cred));
	return 0;
}

/* Register if needed, then one heartbeat. 1 when the desired state
 * changed, 0 when not, -1 on failure. */
static int exchange(struct agent *a, int wait_s)
{
	struct agent_desired d;
	cJSON *hb;
	int rc;

	if (!a->have_cred && do_register(a) < 0)
		return -1;
	hb = heartbeat_json(a);
	if (hb == NULL)
		return err_set("out of memory");
	rc = agent_client_heartbeat(a->client, hb, wait_s, &d);
	cJSON_Delete(hb);
	if (rc == -2) {
		a->have_cred = false;
		return -1;
	}
	if (rc < 0)
		return -1;
	bool changed = !a->have_desired ||
		       d.generation != a->desired.generation;
	agent_desired_free(&a->desired);
	a->desired = d;
	a->have_desired = true;
	if (changed)
		log_info("desired state generation %" PRId64 ": %zu vms, %zu "
			 "tasks",
			 d.generation, d.nvms, d.ntasks);
	return changed ? 1 : 0;
}

/* ---- main loop -------------------------------------------------------- */

static int run(struct agent *a)
{
	uint64_t virt_next = 0, virt_backoff = 0, ctrl_next = 0,
		 ctrl_backoff = 0;
	bool was_connected = false, desired_changed = false;
	int once_rounds = 0;
	char cred[AGENT_CREDENTIAL_MAX];

	if (!a->no_controller) {
		a->client = agent_client_new(a->cfg->controller_url,
					     a->cfg->node_name);
		if (a->client == NULL)
			return -1;
		int rc = agent_credential_load(a->cfg->credential_file, cred,
					       sizeof(cred));
		if (rc < 0)
			return -1;
		if (rc == 1) {
			agent_client_set_credential(a->client, cred);
			str_copy(a->credential, sizeof(a->credential), cred);
			a->have_cred = true;
		}
		explicit_bzero(cred, sizeof(cred));
	}

	while (!atomic_load(&a->quit)) {
		uint64_t now = time_mono_ns(), cycle_start = now;
		bool alive = agent_virt_alive(a->virt);

		if (!alive && was_connected) {
			set_degraded(a, "libvirt: connection lost");
			agent_virt_disconnect(a->virt);
			was_connected = false;
			virt_next = now;
		}
		if (!alive && now >= virt_next) {
			if (agent_virt_connect(a->virt) == 0) {
				alive = was_connected = true;
				virt_backoff = 0;
				set_degraded(a, NULL);
			} else {
				set_degraded(a, err_msg());
				virt_next = now + backoff_next(&virt_backoff);
			}
		}
		if (alive) {
			if (agent_virt_inventory(a->virt, &a->inv) < 0 ||
			    reconcile_pass(a) < 0) {
				set_degraded(a, err_msg());
				if (!agent_virt_alive(a->virt))
					virt_next = time_mono_ns();
			} else {
				set_degraded(a, NULL);
			}
		} else {
			memset(&a->inv, 0, sizeof(a->inv));
		}
		desired_changed = false;

		if (!a->no_controller && time_mono_ns() >= ctrl_next) {
			/* Long-poll only when everything handed over has
			 * been applied and no migration runs; otherwise come
			 * back at once. A long-poll cannot be interrupted, so
			 * a migration that ends during one would wait for it
			 * to time out before its result reaches the
			 * controller; short polls let the migration thread's
			 * kick send the result immediately. */
			pthread_mutex_lock(&a->lock);
			bool migrating = a->migrations_running > 0;
			pthread_mutex_unlock(&a->lock);
			bool settled = a->have_desired &&
				       a->generation_seen ==
					       a->desired.generation &&
				       alive && !a->once && !migrating;
			int rc = exchange(a, settled ? a->cfg->heartbeat_interval
						     : 0);

			if (rc < 0) {
				uint64_t b = backoff_next(&ctrl_backoff);

				log_warn("controller %s: %s (retry in %" PRIu64
					 " s; VMs stay as they are)",
					 a->cfg->controller_url, err_msg(),
					 (uint64_t)(b / 1000000000ULL));
				ctrl_next = time_mono_ns() + b;
			} else {
				ctrl_backoff = 0;
				desired_changed = rc == 1;
			}
		}
		if (a->once) {
			/* With a controller: apply what the first exchange
			 * brought, report it, then stop. */
			if (a->no_controller || ++once_rounds >= 2 ||
			    !a->have_desired)
				break;
			continue;
		}
		if (desired_changed)
			continue;
		uint64_t deadline = cycle_start +
				    (uint64_t)a->cfg->heartbeat_interval *
					    1000000000ULL;
		if (!alive && virt_next < deadline)
			deadline = virt_next;
		if (!a->no_controller && !a->have_cred && ctrl_next < deadline)
			deadline = ctrl_next;
		wait_until(a, deadline);
	}
	return 0;
}

/* ---- signals and start-up -------------------------------------------- */

static sigset_t stop_signals;

static void *signal_waiter(void *arg)
{
	struct agent *a = arg;
	int sig = 0;

	while (sigwait(&stop_signals, &sig) == 0) {
		if (sig == SIGUSR1 && atomic_load(&a->quit))
			break; /* the agent is ending: stop this thread */
		if (sig == SIGUSR1)
			continue;
		log_info("signal %d: stopping (VMs keep running)", sig);
		atomic_store(&a->quit, true);
		pthread_mutex_lock(&a->lock);
		pthread_cond_broadcast(&a->wake);
		pthread_cond_broadcast(&a->ev_wake);
		pthread_mutex_unlock(&a->lock);
		break;
	}
	return NULL;
}

static void health_status(void *opaque, struct agent_health_status *st)
{
	struct agent *a = opaque;

	pthread_mutex_lock(&a->lock);
	str_copy(st->degraded, sizeof(st->degraded), a->degraded);
	st->domains = a->ndoms;
	st->vm_errors = a->nerrors;
	st->passes = a->passes;
	pthread_mutex_unlock(&a->lock);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fincloud-agent [--config FILE] [OPTIONS]\n"
		"\n"
		"Reconciles this node's libvirt towards its desired state (static\n"
		"manifests and the controller's) and reports to the controller.\n"
		"\n"
		"  --config FILE       settings file (default %s)\n"
		"  --check-config      validate the settings and exit (0 ok, 2 bad)\n"
		"  --once              one reconcile pass (and exchange), then exit;\n"
		"                      exit status 1 when a VM could not be applied\n"
		"  --no-controller     manifests only; never contact a controller\n"
		"  --stop-timeout SEC  ACPI shutdown grace before power-off (default 60)\n"
		"  --KEY VALUE         override any config key, e.g.\n"
		"                      --libvirt-uri test:///default --log-level debug\n"
		"  --help, --version\n"
		"\n"
		"Config keys: controller_url node_name pool libvirt_uri migration_uri\n"
		"storage_dir image_dir credential_file join_token_file\n"
		"heartbeat_interval manifest_dir health_listen log_level\n",
		AGENT_CONFIG_DEFAULT_PATH);
}

static bool known_key(const char *key)
{
	for (size_t i = 0; agent_config_keys[i]; i++)
		if (strcmp(agent_config_keys[i], key) == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	const char *config_path = NULL;
	bool check = false, once = false, no_controller = false;
	int64_t stop_timeout = 60;
	char *overrides[64][2];
	size_t noverrides = 0;
	struct config *cfg = NULL;
	struct agent a;
	pthread_t sig_th, ev_th;
	bool sig_started = false, ev_started = false;
	struct agent_health *health = NULL;
	int status = 1;

	memset(&a, 0, sizeof(a));
	pthread_mutex_init(&a.lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&a.wake, &ca);
		pthread_condattr_destroy(&ca);
	}
	pthread_cond_init(&a.ev_wake, NULL);
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		char key[64];
		const char *val, *eq;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(arg, "--version") == 0) {
			printf("fincloud-agent %s\n", AGENT_VERSION);
			return 0;
		}
		if (strcmp(arg, "--check-config") == 0) {
			check = true;
			continue;
		}
		if (strcmp(arg, "--once") == 0) {
			once = true;
			continue;
		}
		if (strcmp(arg, "--no-controller") == 0) {
			no_controller = true;
			continue;
		}
		if (!str_startswith(arg, "--")) {
			fprintf(stderr, "fincloud-agent: unexpected argument "
					"'%s' (see --help)\n",
				arg);
			return 2;
		}
		eq = strchr(arg, '=');
		if (str_copy(key, sizeof(key), arg + 2) < 0) {
			fprintf(stderr, "fincloud-agent: unknown option '%s'\n",
				arg);
			return 2;
		}
		if (eq)
			key[eq - arg - 2] = '\0';
		for (char *p = key; *p; p++)
			if (*p == '-')
				*p = '_';
		if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			fprintf(stderr, "fincloud-agent: option '%s' needs a "
					"value\n",
				arg);
			return 2;
		}
		if (strcmp(key, "config") == 0) {
			config_path = val;
		} else if (strcmp(key, "stop_timeout") == 0) {
			if (parse_int64(val, &stop_timeout) < 0 ||
			    stop_timeout < 0 || stop_timeout > 3600) {
				fprintf(stderr, "fincloud-agent: --stop-timeout: "
						"expected seconds from 0 to "
						"3600, got '%s'\n",
					val);
				return 2;
			}
		} else if (known_key(key) &&
			   noverrides < FC_ARRAY_LEN(overrides)) {
			overrides[noverrides][0] = strdup(key);
			overrides[noverrides][1] = strdup(val);
			noverrides++;
		} else {
			fprintf(stderr, "fincloud-agent: unknown option '%s' "
					"(see --help)\n",
				arg);
			return 2;
		}
	}

	/* The default file may be absent (flags only); a named one not. */
	if (config_load(config_path ? config_path : AGENT_CONFIG_DEFAULT_PATH,
			config_path == NULL, &cfg) < 0)
		goto bad_config;
	for (size_t i = 0; i < noverrides; i++)
		if (!overrides[i][0] || !overrides[i][1] ||
		    config_set(cfg, overrides[i][0], overrides[i][1]) < 0)
			goto bad_config;
	if (agent_config_from(cfg, &a.cfg) < 0)
		goto bad_config;
	if (check) {
		printf("%s: ok\n", cfg->path);
		status = 0;
		goto out;
	}
	log_init("fincloud-agent", a.cfg->log_level, LOG_TO_STDERR);
	if (!no_controller && a.cfg->controller_url[0] == '\0') {
		log_info("no controller_url set: running on manifests only");
		no_controller = true;
	}

	a.no_controller = no_controller;
	a.once = once;
	a.stop_timeout_ns = (uint64_t)stop_timeout * 1000000000ULL;
	a.evq = calloc(EVENT_QUEUE_MAX, sizeof(*a.evq));
	if (a.evq == NULL) {
		log_error("out of memory");
		goto out;
	}

	/* Every thread inherits this mask: only signal_waiter() takes the
	 * stop signals, so no libvirt or curl call is interrupted. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_create(&sig_th, NULL, signal_waiter, &a) == 0)
		sig_started = true;

	if (agent_virt_event_loop_start() < 0) {
		log_error("%s", err_msg());
		goto out;
	}
	a.virt = agent_virt_new(a.cfg->libvirt_uri, a.cfg->storage_dir,
				a.cfg->image_dir);
	if (a.virt == NULL) {
		log_error("%s", err_msg());
		goto out;
	}
	agent_virt_set_event_cb(a.virt, on_domain_event, &a);
	if (pthread_create(&ev_th, NULL, event_sender, &a) == 0)
		ev_started = true;
	if (a.cfg->health_listen[0]) {
		health = agent_health_start(a.cfg->health_listen,
					    health_status, &a);
		if (health == NULL) {
			log_error("%s", err_msg());
			goto out;
		}
	}
	log_info("fincloud-agent %s: node '%s', libvirt '%s', %s",
		 AGENT_VERSION, a.cfg->node_name, a.cfg->libvirt_uri,
		 a.no_controller ? "manifests only" : a.cfg->controller_url);

	if (run(&a) < 0) {
		log_error("%s", err_msg());
		goto out;
	}
	status = 0;
	if (a.once && (a.pass_failed || a.degraded[0]))
		status = 1;
out:
	atomic_store(&a.quit, true);
	pthread_mutex_lock(&a.lock);
	pthread_cond_broadcast(&a.ev_wake);
	pthread_mutex_unlock(&a.lock);
	if (ev_started)
		pthread_join(ev_th, NULL);
	agent_health_stop(health);
	/* Migrations in flight finish (or fail) before the agent goes. */
	for (;;) {
		int running;

		pthread_mutex_lock(&a.lock);
		running = a.migrations_running;
		pthread_mutex_unlock(&a.lock);
		if (running == 0)
			break;
		usleep(100000);
	}
	if (sig_started) {
		pthread_kill(sig_th, SIGUSR1);
		pthread_join(sig_th, NULL);
	}
	agent_virt_free(a.virt);
	agent_virt_event_loop_stop();
	agent_domxml_cleanup();
	agent_client_free(a.client);
	agent_desired_free(&a.desired);
	free(a.stops);
	free(a.tasks);
	free(a.migrated);
	free(a.managed);
	free(a.evq);
	free(a.doms);
	free(a.errors);
	agent_config_free(a.cfg);
	config_free(cfg);
	for (size_t i = 0; i < noverrides; i++) {
		free(overrides[i][0]);
		free(overrides[i][1]);
	}
	return status;

bad_config:
	fprintf(stderr, "%s\n", err_msg());
	status = 2;
	goto out;
}

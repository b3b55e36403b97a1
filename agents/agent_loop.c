/*
 * agent_loop.c - the agent's main loop (agent_loop.h): connection,
 * reconcile passes and the exchange with the controller.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "agents/agent_client.h"
#include "agents/agent_domxml.h"
#include "agents/agent_events.h"
#include "agents/agent_loop.h"
#include "agents/agent_manifest.h"
#include "agents/agent_reconcile.h"
#include "agents/agent_report.h"
#include "agents/agent_task.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

/* An ACPI shutdown sent to a domain, for the planner's timeout. */
struct stop_entry {
	char uuid[37];
	uint64_t sent_ns;
};

struct agent_loop {
	struct agent_config *cfg;
	struct agent_virt *virt;
	bool no_controller;
	bool once;
	uint64_t stop_timeout_ns;
	struct agent_tasks *tasks;
	struct agent_events *events;

	/* main loop only */
	struct agent_client *client;
	bool have_cred;
	struct agent_desired desired; /* all zero until the first exchange */
	bool have_desired;
	int64_t generation_seen;
	struct stop_entry *stops;
	size_t nstops;
	struct agent_inventory inv;
	bool pass_failed;

	/* under lock */
	pthread_mutex_t lock;
	pthread_cond_t wake;     /* a kick or quit */
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

static void kick_main(struct agent_loop *a)
{
	pthread_mutex_lock(&a->lock);
	a->kick = true;
	pthread_cond_broadcast(&a->wake);
	pthread_mutex_unlock(&a->lock);
}

/* Wait on a->wake until deadline_ns (monotonic), a kick or quit. */
static void wait_until(struct agent_loop *a, uint64_t deadline_ns)
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

static void set_degraded(struct agent_loop *a, const char *why)
{
	pthread_mutex_lock(&a->lock);
	if (why && strcmp(a->degraded, why) != 0)
		log_warn("degraded: %s", why);
	else if (why == NULL && a->degraded[0])
		log_info("libvirt is back: no longer degraded");
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

static int perform(struct agent_loop *a, const struct agent_action *act,
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
		    size_t ndoms, struct agent_vm_error *errs, size_t nerrs)
{
	char (*managed)[37] = calloc(ndoms + 1, sizeof(*managed));
	size_t nmanaged = 0;

	for (size_t i = 0; managed && i < ndoms; i++)
		if (doms[i].managed)
			str_copy(managed[nmanaged++], 37, doms[i].uuid);
	if (managed)
		agent_events_set_managed(a->events, managed, nmanaged);
	pthread_mutex_lock(&a->lock);
	free(a->doms);
	a->doms = doms;
	a->ndoms = ndoms;
	free(a->errors);
	a->errors = errs;
	a->nerrors = nerrs;
	a->passes++;
	pthread_mutex_unlock(&a->lock);
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
	size_t nspecs = 0, nerrs = 0, ndoms = 0, nacts = 0;
	uint64_t listed_ns;
	int ret = -1;

	listed_ns = time_mono_ns();
	if (agent_virt_list(a->virt, &doms, &ndoms) < 0)
		goto out;
	if (a->have_desired)
		agent_tasks_prune(a->tasks, a->desired.vms, a->desired.nvms,
				  doms, ndoms, listed_ns);
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
	if (a->have_desired) {
		a->generation_seen = a->desired.generation;
		agent_tasks_sync(a->tasks, a->desired.tasks,
				 a->desired.ntasks);
	}
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

static cJSON *heartbeat_json(struct agent_loop *a)
{
	struct agent_heartbeat hb;
	struct agent_task *tasks = NULL;
	struct agent_journal_entry *journal = NULL;
	size_t ntasks, njournal;
	cJSON *j = NULL;

	if (agent_tasks_copy(a->tasks, &tasks, &ntasks) < 0 ||
	    agent_tasks_journal(a->tasks, &journal, &njournal) < 0)
		goto out;
	pthread_mutex_lock(&a->lock);
	memset(&hb, 0, sizeof(hb));
	hb.generation_seen = a->generation_seen;
	hb.degraded_reason = a->degraded[0] ? a->degraded : NULL;
	hb.inv = &a->inv;
	if (!a->degraded[0]) {
		hb.doms = a->doms;
		hb.ndoms = a->ndoms;
	}
	hb.tasks = tasks;
	hb.ntasks = ntasks;
	hb.errors = a->errors;
	hb.nerrors = a->nerrors;
	hb.journal = journal;
	hb.njournal = njournal;
	j = agent_json_heartbeat(&hb);
	pthread_mutex_unlock(&a->lock);
out:
	free(tasks);
	free(journal);
	return j;
}

static int do_register(struct agent_loop *a)
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
	agent_events_set_credential(a->events, cred);
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
static int exchange(struct agent_loop *a, int wait_s)
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

int agent_loop_run(struct agent_loop *a)
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
			agent_events_set_credential(a->events, cred);
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
				virt_next = now + agent_client_backoff(&virt_backoff);
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
			bool migrating = agent_tasks_migrations(a->tasks) > 0;
			bool settled = a->have_desired &&
				       a->generation_seen ==
					       a->desired.generation &&
				       alive && !a->once && !migrating;
			int rc = exchange(a, settled ? a->cfg->heartbeat_interval
						     : 0);

			if (rc < 0) {
				uint64_t b = agent_client_backoff(&ctrl_backoff);

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

/* ---- the loop's life ---------------------------------------------------- */

static void loop_wake(void *ctx)
{
	kick_main(ctx);
}

static int loop_migrate(void *ctx, const char *vm_id, const char *target_uri)
{
	struct agent_loop *a = ctx;

	return agent_virt_migrate(a->virt, vm_id, target_uri);
}

static int loop_reboot(void *ctx, const char *vm_id)
{
	struct agent_loop *a = ctx;

	return agent_virt_reboot(a->virt, vm_id);
}

static const struct agent_task_ops loop_task_ops = {
	.migrate = loop_migrate,
	.reboot = loop_reboot,
	/* A short poll sends the result at once (see agent_loop_run()). */
	.ended = loop_wake,
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
	pthread_mutex_init(&a->lock, NULL);
	/* wait_until() counts in CLOCK_MONOTONIC. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (agent_journal_path(cfg->credential_file, journal,
			       sizeof(journal)) < 0)
		goto fail;
	a->tasks = agent_tasks_new(&loop_task_ops, a, journal);
	if (a->tasks == NULL)
		goto fail;
	a->events = agent_events_new(a->no_controller ? NULL
						      : cfg->controller_url,
				     cfg->node_name, virt, loop_wake, a);
	if (a->events == NULL)
		goto oom;
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
	/* Set before the kick: wait_until() reads it under the lock. */
	atomic_store(&a->quit, true);
	kick_main(a);
	agent_events_quit(a->events);
}

void agent_loop_stop(struct agent_loop *a)
{
	agent_loop_quit(a);
	agent_events_stop(a->events);
	/* Migrations in flight finish (or fail) before the agent goes. */
	agent_tasks_wait(a->tasks);
}

void agent_loop_free(struct agent_loop *a)
{
	if (a == NULL)
		return;
	/* Both wait for their threads, which may still wake the loop. */
	agent_events_free(a->events);
	agent_tasks_free(a->tasks);
	agent_client_free(a->client);
	agent_desired_free(&a->desired);
	free(a->stops);
	free(a->doms);
	free(a->errors);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->wake);
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

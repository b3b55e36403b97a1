/*
 * agent_events.c - the domain events' queue and their sender thread
 * (agent_events.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "agents/agent_client.h"
#include "agents/agent_events.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

struct agent_events {
	char *controller_url;       /* NULL: send nothing */
	char *node;
	const struct http_tls *tls; /* the caller's; NULL: none */
	struct agent_virt *virt;
	void (*wake)(void *);
	void *wake_ctx;
	pthread_t thread;
	bool started;
	atomic_bool quit;
	pthread_mutex_t lock;
	pthread_cond_t cond;        /* queue or quit */
	/* under lock */
	struct agent_event *q;      /* AGENT_EVENTS_QUEUE_MAX */
	size_t nq;
	char (*managed)[37];        /* fincloud domains seen at the last pass */
	size_t nmanaged;
	char credential[AGENT_CREDENTIAL_MAX];
};

struct agent_events *agent_events_new(const char *controller_url,
				      const char *node,
				      const struct http_tls *tls,
				      struct agent_virt *virt,
				      void (*wake)(void *), void *wake_ctx)
{
	struct agent_events *ev = calloc(1, sizeof(*ev));

	if (ev == NULL)
		goto oom;
	pthread_mutex_init(&ev->lock, NULL);
	pthread_cond_init(&ev->cond, NULL);
	ev->virt = virt;
	ev->tls = tls;
	ev->wake = wake;
	ev->wake_ctx = wake_ctx;
	ev->node = strdup(node);
	ev->q = calloc(AGENT_EVENTS_QUEUE_MAX, sizeof(*ev->q));
	if (controller_url && controller_url[0])
		ev->controller_url = strdup(controller_url);
	if (ev->node == NULL || ev->q == NULL ||
	    (controller_url && controller_url[0] && !ev->controller_url)) {
		agent_events_free(ev);
		goto oom;
	}
	return ev;
oom:
	err_set("out of memory");
	return NULL;
}

void agent_events_quit(struct agent_events *ev)
{
	/* Set before the broadcast: the sender reads it under the lock. */
	atomic_store(&ev->quit, true);
	pthread_mutex_lock(&ev->lock);
	pthread_cond_broadcast(&ev->cond);
	pthread_mutex_unlock(&ev->lock);
}

void agent_events_stop(struct agent_events *ev)
{
	agent_events_quit(ev);
	if (ev->started)
		pthread_join(ev->thread, NULL);
	ev->started = false;
}

void agent_events_free(struct agent_events *ev)
{
	if (ev == NULL)
		return;
	agent_events_stop(ev);
	pthread_mutex_destroy(&ev->lock);
	pthread_cond_destroy(&ev->cond);
	free(ev->controller_url);
	free(ev->node);
	free(ev->q);
	free(ev->managed);
	free(ev);
}

void agent_events_on_domain(void *opaque, const char *uuid, const char *name,
			    int state, const char *reason)
{
	struct agent_events *ev = opaque;
	struct agent_event *e;

	pthread_mutex_lock(&ev->lock);
	if (ev->nq == AGENT_EVENTS_QUEUE_MAX) {
		memmove(ev->q, ev->q + 1, (ev->nq - 1) * sizeof(*ev->q));
		ev->nq--;
	}
	e = &ev->q[ev->nq++];
	str_copy(e->uuid, sizeof(e->uuid), uuid);
	e->state = state;
	str_copy(e->reason, sizeof(e->reason), reason);
	e->time_ms = time_wall_ms();
	pthread_cond_broadcast(&ev->cond);
	pthread_mutex_unlock(&ev->lock);
	(void)name;
}

void agent_events_set_credential(struct agent_events *ev, const char *cred)
{
	pthread_mutex_lock(&ev->lock);
	str_copy(ev->credential, sizeof(ev->credential), cred);
	pthread_mutex_unlock(&ev->lock);
}

void agent_events_set_managed(struct agent_events *ev, char (*managed)[37],
			      size_t n)
{
	pthread_mutex_lock(&ev->lock);
	free(ev->managed);
	ev->managed = managed;
	ev->nmanaged = n;
	pthread_mutex_unlock(&ev->lock);
}

/* Under ev->lock. */
static size_t take_locked(struct agent_events *ev, struct agent_event *out,
			  size_t max)
{
	size_t n = ev->nq < max ? ev->nq : max;

	memcpy(out, ev->q, n * sizeof(*out));
	memmove(ev->q, ev->q + n, (ev->nq - n) * sizeof(*ev->q));
	ev->nq -= n;
	return n;
}

size_t agent_events_take(struct agent_events *ev, struct agent_event *out,
			 size_t max)
{
	size_t n;

	pthread_mutex_lock(&ev->lock);
	n = take_locked(ev, out, max);
	pthread_mutex_unlock(&ev->lock);
	return n;
}

cJSON *agent_events_json(const struct agent_event *events, size_t n)
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
		if (!cJSON_AddStringToObject(o, "vm_id", events[i].uuid) ||
		    !cJSON_AddStringToObject(
			    o, "state", agent_dom_state_name(events[i].state)) ||
		    !cJSON_AddStringToObject(o, "reason", events[i].reason) ||
		    !cJSON_AddNumberToObject(o, "time_ms",
					     (double)events[i].time_ms))
			goto fail;
	}
	return root;
fail:
	cJSON_Delete(root);
	return NULL;
}

/* True when uuid is a fincloud domain: in the last pass's list, or, for
 * one that came since, by asking libvirt. */
static bool is_managed(struct agent_events *ev, const char *uuid)
{
	bool managed = false;

	pthread_mutex_lock(&ev->lock);
	for (size_t i = 0; !managed && i < ev->nmanaged; i++)
		managed = strcasecmp(ev->managed[i], uuid) == 0;
	pthread_mutex_unlock(&ev->lock);
	if (!managed && ev->virt)
		managed = agent_virt_managed(ev->virt, uuid) == 1;
	return managed;
}

/* Deliver one batch; on failure back off (noticing a stop at once). */
static void deliver(struct agent_events *ev, struct agent_client *client,
		    const struct agent_event *batch, size_t n,
		    uint64_t *backoff)
{
	cJSON *body = agent_events_json(batch, n);

	if (body && agent_client_events(client, body) == 0) {
		*backoff = 0;
	} else {
		uint64_t until = time_mono_ns() + agent_client_backoff(backoff);

		log_warn("events not delivered (the next heartbeat carries "
			 "the states): %s",
			 body ? err_msg() : "out of memory");
		while (!atomic_load(&ev->quit) && time_mono_ns() < until)
			usleep(100000);
	}
	cJSON_Delete(body);
}

static void *sender_main(void *arg)
{
	struct agent_events *ev = arg;
	struct agent_client *client = NULL;
	struct agent_event batch[64];
	uint64_t backoff = 0;
	char cred[AGENT_CREDENTIAL_MAX] = "";

	for (;;) {
		size_t n, keep = 0;

		pthread_mutex_lock(&ev->lock);
		while (ev->nq == 0 && !atomic_load(&ev->quit))
			pthread_cond_wait(&ev->cond, &ev->lock);
		if (atomic_load(&ev->quit)) {
			pthread_mutex_unlock(&ev->lock);
			break;
		}
		n = take_locked(ev, batch, FC_ARRAY_LEN(batch));
		if (strcmp(cred, ev->credential) != 0) {
			str_copy(cred, sizeof(cred), ev->credential);
			if (client)
				agent_client_set_credential(client, cred);
		}
		pthread_mutex_unlock(&ev->lock);

		/* Only fincloud domains are reported; foreign ones never. */
		for (size_t i = 0; i < n; i++) {
			if (!is_managed(ev, batch[i].uuid))
				continue;
			log_info("event: vm %s %s (%s)", batch[i].uuid,
				 agent_dom_state_name(batch[i].state),
				 batch[i].reason);
			batch[keep++] = batch[i];
		}
		if (keep == 0)
			continue;
		if (ev->wake)
			ev->wake(ev->wake_ctx);
		if (ev->controller_url == NULL || cred[0] == '\0')
			continue;
		if (client == NULL) {
			client = agent_client_new(ev->controller_url, ev->node,
						  ev->tls);
			if (client == NULL ||
			    agent_client_set_credential(client, cred) < 0) {
				log_warn("events: %s", err_msg());
				continue;
			}
		}
		deliver(ev, client, batch, keep, &backoff);
	}
	agent_client_free(client);
	return NULL;
}

int agent_events_start(struct agent_events *ev)
{
	if (!ev->started &&
	    pthread_create(&ev->thread, NULL, sender_main, ev) != 0)
		return err_set("cannot start the event sender thread");
	ev->started = true;
	return 0;
}

/*
 * agent_events.h - the agent's domain events on their way to the
 * controller (POST /v1/agents/{node}/events, schemas/agent-events.json):
 * libvirt's lifecycle events are queued as they come and sent at once by
 * a thread of their own, so a crash is known to the controller at once,
 * not at the next heartbeat. Only fincloud domains are reported, foreign
 * ones never. Each delivered batch also wakes the main loop, so that it
 * reconciles at once too. A batch that cannot be delivered is dropped
 * (the next heartbeat carries the states) and the sender backs off.
 *
 * Ownership: struct agent_events owns its queue, its list of managed
 * domains, its sender thread and that thread's struct agent_client. The
 * struct agent_virt and the wake callback are the caller's.
 *
 * Threads and locking: agent_events_on_domain() runs on libvirt's event
 * loop thread and only queues; the sender runs on its own thread; every
 * other function may be called from any thread. One mutex inside struct
 * agent_events guards the queue, the managed list, the credential and the
 * quit flag; it is never held while libvirt, curl or the wake callback
 * runs.
 */
#ifndef AGENT_EVENTS_H
#define AGENT_EVENTS_H

#include <cjson/cJSON.h>

#include "agents/agent_virt.h"
#include "common/http_client.h"

/* At most this many events wait; a new one then drops the oldest. */
#define AGENT_EVENTS_QUEUE_MAX 1024

struct agent_event {
	char uuid[37];
	int state;              /* enum agent_dom_state */
	char reason[16];        /* a word of schemas/agent-events.json */
	int64_t time_ms;        /* wall clock, ms since the epoch */
};

struct agent_events;

/* A new event queue. controller_url and node (copied) say where to send,
 * with tls (NULL: none; its strings must outlive the queue);
 * controller_url NULL or "" sends nothing (events still wake the loop).
 * virt (may be NULL) answers whether a domain the managed list does not
 * name is a fincloud one. wake(wake_ctx) is called on the sender thread
 * for each batch of fincloud events. NULL with err_set() when out of
 * memory. Starts no thread. */
struct agent_events *agent_events_new(const char *controller_url,
				      const char *node,
				      const struct http_tls *tls,
				      struct agent_virt *virt,
				      void (*wake)(void *), void *wake_ctx);

/* Start the sender thread. -1 with err_set() when it cannot start (the
 * events then wait in the queue; heartbeats still carry the states). */
int agent_events_start(struct agent_events *ev);

/* Ask the sender to stop; it does at once, or after the request in
 * flight. Does not wait. */
void agent_events_quit(struct agent_events *ev);

/* Stop the sender thread and wait for it. Events still queued are not
 * sent. Queueing (agent_events_on_domain()) stays safe until
 * agent_events_free(). */
void agent_events_stop(struct agent_events *ev);

/* Stop, then free ev. Call it only once libvirt can no longer call
 * agent_events_on_domain() (the connection closed and its event loop
 * stopped). NULL is fine. */
void agent_events_free(struct agent_events *ev);

/* agent_virt_event_fn: queue the event for the sender. opaque is the
 * struct agent_events. Never blocks on I/O. */
void agent_events_on_domain(void *opaque, const char *uuid, const char *name,
			    int state, const char *reason);

/* The credential (a string, copied) the sender presents from its next
 * batch on; "" sends nothing. */
void agent_events_set_credential(struct agent_events *ev, const char *cred);

/* The fincloud domains the last reconcile pass saw: n UUID strings in
 * managed (allocated with malloc(); ev takes it over and frees it). */
void agent_events_set_managed(struct agent_events *ev, char (*managed)[37],
			      size_t n);

/* Take up to max of the oldest queued events into out (the caller's
 * array); how many. Used by the sender; tests read the queue with it. */
size_t agent_events_take(struct agent_events *ev, struct agent_event *out,
			 size_t max);

/* The body {"events": [...]} for n events; the caller frees it with
 * cJSON_Delete(). NULL when out of memory. */
cJSON *agent_events_json(const struct agent_event *events, size_t n);

#endif

/*
 * agent_health.h - the optional loopback health endpoint of the agent
 * (health_listen = 127.0.0.1:PORT): GET /healthz answers 200 "ok" or
 * 503 with the degraded reason, GET /metrics answers Prometheus text.
 * It binds loopback addresses only (the config refuses others): the agent
 * opens no port on the network.
 */
#ifndef AGENT_HEALTH_H
#define AGENT_HEALTH_H

#include "common/fc.h"

struct agent_health_status {
	char degraded[1024]; /* "" when healthy */
	size_t domains;      /* fincloud and foreign domains seen */
	size_t vm_errors;
	uint64_t passes;     /* reconcile passes done */
};

/* Fills *st; called on the health thread. */
typedef void (*agent_health_fn)(void *opaque, struct agent_health_status *st);

struct agent_health;

/* Listen on listen ("127.0.0.1:PORT", "localhost:PORT", "[::1]:PORT")
 * and serve from a thread. NULL with err_set() when the port cannot be
 * bound. */
struct agent_health *agent_health_start(const char *listen,
					agent_health_fn fn, void *opaque);
/* Stop the thread and close the socket; NULL is fine. */
void agent_health_stop(struct agent_health *h);

#endif

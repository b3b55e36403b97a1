/*
 * server.h - the controller's HTTP server (libmicrohttpd): the listening
 * ports, the request bodies, the answers, the long-poll's suspension and
 * the limits that keep one client from starving the others.
 *
 * Event-driven: a few worker threads (http_threads) each run an epoll
 * loop over their share of the connections, so the number of open
 * connections is bounded by max_connections and the descriptor limit
 * (raised to its hard limit at start), not by select()'s 1,024, and an
 * idle connection costs its buffers, not a thread. A long-polling
 * heartbeat is suspended (it leaves the loops) until ctrl.c ends its wait
 * and resumes it.
 *
 * Limits: at most per_ip_connections connections from one client address
 * on each port; a connection must send a whole request within
 * request_timeout seconds of opening or of its previous answer, or it is
 * cut (a trickle of bytes does not keep it open). With agent_listen_port
 * set, a second port serves only the agents' routes (/v1/agents/...) and
 * /healthz with its own connection limit: anonymous clients filling the
 * API port do not keep agents out (docs/decisions.md).
 */
#ifndef FC_CTRL_SERVER_H
#define FC_CTRL_SERVER_H

#include "controller/ctrl.h"

struct server;

/* Listen on ctrl->cfg's listen_address:listen_port (and
 * agent_listen_port when set), with TLS when tls_cert is set, and serve
 * the API (api_handle()) from worker threads. *out is freed by
 * server_stop(). 0, or -1 with err_set() (nothing left running). */
int server_start(struct ctrl *ctrl, struct server **out);

/* Stop listening and close every connection; call after ctrl_stop() (so
 * that no connection stays suspended). Frees srv; NULL is safe. */
void server_stop(struct server *srv);

#endif

/*
 * agent_client.h - the agent's side of the exchange with the controller
 * (docs/agent-protocol.md): registration with a join token, the credential
 * file, heartbeats / long-polls and events. Only outbound HTTP.
 *
 * One struct agent_client per thread (it holds one curl handle).
 */
#ifndef AGENT_CLIENT_H
#define AGENT_CLIENT_H

#include <cjson/cJSON.h>

#include "agents/agent_report.h"
#include "common/http_client.h"

#define AGENT_CREDENTIAL_MAX 256
#define AGENT_MAX_WAIT_S 30

struct agent_client;

/* base_url: the controller; node: this node's name; tls (NULL: none)
 * the CA that verifies the controller and this node's client
 * certificate (paths copied). NULL with err_set() on failure. */
struct agent_client *agent_client_new(const char *base_url, const char *node,
				      const struct http_tls *tls);
void agent_client_free(struct agent_client *c);
int agent_client_set_credential(struct agent_client *c, const char *cred);

/* Read the credential file into buf: 1 when there is one, 0 when the
 * file does not exist, -1 when it is unreadable or malformed. */
int agent_credential_load(const char *path, char *buf, size_t size);
/* Write the credential with mode 0600, atomically. */
int agent_credential_store(const char *path, const char *cred);

/* Record that the credential at path was issued to node: the file
 * path + ".node" (mode 0600, written atomically). -1 with err_set(). */
int agent_credential_bind(const char *path, const char *node);

/* Whether the credential at path may be used as node: 1 when its ".node"
 * file names node, 0 when there is no such file (a credential stored
 * before they existed), -1 with err_set() when it names another node
 * (the message names both and the two ways out) or cannot be read. An
 * agent renamed on a machine that holds a credential must not register
 * a second identity for it (docs/agent-protocol.md "Identity"). */
int agent_credential_check_node(const char *path, const char *node);

/* Read a join token file (trimmed; at most 256 bytes). */
int agent_join_token_load(const char *path, char *buf, size_t size);

/* What a registration says (schemas/agent-register.json); all the
 * caller's, read only. */
struct agent_register {
	const char *join_token;
	const char *pool;
	const char *migration_uri;
	struct agent_inventory inv;   /* inv.machine_id: "" sends none */
	const struct agent_journal_entry *journal; /* "migrations" */
	size_t njournal;
};

/* POST /v1/agents/register. On 201 the credential goes to cred and the
 * interval the controller asks for to *interval_s. -1 with err_set():
 * the controller's message on a refusal (401: the join token is unknown,
 * expired or used up; 403: an operator rejected this re-registration),
 * or, on 202 (the node name has a credential already and this
 * registration waits for an operator), what changed and the command the
 * operator runs. The caller retries with back-off in every case. */
int agent_client_register(struct agent_client *c,
			  const struct agent_register *reg, char *cred,
			  size_t cred_size, int *interval_s);

/* POST /v1/agents/{node}/heartbeat?wait_s=N with body hb. On 200 *out
 * holds the desired state (release with agent_desired_free()). Returns
 * 0, -1 on failure, -2 when the controller refused the credential (401:
 * the agent must register again). A 403 (the credential is another
 * node's) is -1: registering this name anew would give the machine a
 * second identity. */
int agent_client_heartbeat(struct agent_client *c, const cJSON *hb,
			   int wait_s, struct agent_desired *out);

/* GET /v1/agents/{node}/images/{sha256}: the image's bytes handed to
 * sink(ud, ...) in order as they arrive (no time limit while they flow;
 * see http_client_stream(); a sink's -1 aborts with its message). 0 on
 * 200; -1 with err_set() naming the image (the controller's message on
 * 4xx/5xx). The caller checks the digest. */
int agent_client_image(struct agent_client *c, const char *sha256,
		       int (*sink)(void *ud, const void *data, size_t len),
		       void *ud);

/* POST /v1/agents/{node}/events with body {"events": [...]}. */
int agent_client_events(struct agent_client *c, const cJSON *events);

struct http_tunnel;

/* Call the controller back for console session sid (agent_console.h):
 * with err (not NULL), say why this node cannot serve it; else switch
 * the connection (HTTP Upgrade) into *out, which the caller ends with
 * http_tunnel_close() before it uses c again. 0; 1 when the controller
 * no longer waits for it (404); -1 with err_set(). */
int agent_client_console(struct agent_client *c, const char *sid,
			 const char *err, struct http_tunnel **out);

/* How long to wait before the next retry of something that failed
 * (the controller, libvirt), in ns: 1 s, then doubling up to 30 s.
 * *backoff_ns holds the state between calls: 0 at first and again after
 * a success. */
uint64_t agent_client_backoff(uint64_t *backoff_ns);

#endif

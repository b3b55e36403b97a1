/*
 * agent_console.h - the agent's side of the VMs' consoles
 * (docs/agent-protocol.md "Consoles"): for each session the desired
 * state lists ("consoles"), a thread calls the controller back on
 *
 *   GET /v1/agents/{node}/consoles/{session}   (Upgrade: fincloud-console)
 *
 * and, once switched, either joins the connection to the VM's serial
 * console (agent_virt_console_open(), both ways) or sends its serial
 * log: the last lines asked for, at most AGENT_CONSOLE_LOG_MAX bytes,
 * and with follow what the log gains until the controller hangs up.
 * A session the agent cannot serve is answered with ?error=WHY instead.
 *
 * Bounded: at most AGENT_CONSOLE_MAX sessions at once (more wait for the
 * next desired state), each with one fixed buffer. Every thread checks
 * the quit flag at least every 250 ms.
 *
 * Threads and locking: agent_consoles_start() and
 * agent_consoles_set_credential() may be called from any thread; the
 * consoles' own lock guards the credential and the session list and is
 * never held while libvirt or the controller is called.
 */
#ifndef AGENT_CONSOLE_H
#define AGENT_CONSOLE_H

#include "agents/agent_report.h"
#include "agents/agent_virt.h"
#include "common/http_client.h"

#define AGENT_CONSOLE_MAX 16
#define AGENT_CONSOLE_LOG_MAX ((size_t)1 << 20)

struct agent_consoles;

/* Consoles served to controller_url as node through virt, calling back
 * with tls (NULL: none; the CA and this node's client certificate, as
 * agent_client_new() takes them). virt and tls are kept: they must
 * outlive agent_consoles_free(); strings are copied. NULL with err_set()
 * when out of memory. */
struct agent_consoles *agent_consoles_new(const char *controller_url,
					  const char *node,
					  const struct http_tls *tls,
					  struct agent_virt *virt);

/* The credential the call-backs carry (copied). */
void agent_consoles_set_credential(struct agent_consoles *cs,
				   const char *cred);

/* Serve the sessions of reqs (n of them) that are not being served yet,
 * each on a thread of its own. */
void agent_consoles_start(struct agent_consoles *cs,
			  const struct agent_console_req *reqs, size_t n);

/* End every session and wait for their threads; after it no thread of
 * cs uses virt. */
void agent_consoles_stop(struct agent_consoles *cs);

/* Stop and free; NULL is fine. */
void agent_consoles_free(struct agent_consoles *cs);

/* The first line of the last lines lines of text (len bytes): the offset
 * they start at (0 when text has no more lines, or lines is 0). A last
 * line without its newline counts as one. */
size_t agent_console_tail_start(const char *text, size_t len, int64_t lines);

#endif

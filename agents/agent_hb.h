/*
 * agent_hb.h - the agent's side of the exchange with the controller:
 * the node credential (loaded at start, refused when issued to another
 * node name), registration with the join token when there is none, one
 * heartbeat (or long-poll) per interval carrying the last published
 * report, and the desired state it brings back, handed to the main loop.
 * docs/agent-protocol.md is the protocol.
 *
 * A part of the agent_loop module (agent_loop_priv.h): every function
 * takes the loop. The exchange runs on the heartbeat thread started by
 * agent_hb_start(), or, with once, on the main loop between its passes;
 * either way one thread alone calls it, and it owns the loop's
 * controller client, have_cred, cred_bound and the generation last
 * received. It reads the report and hands over the desired state under
 * the loop's lock, never holding it while the controller is called, and
 * never calls libvirt.
 */
#ifndef AGENT_HB_H
#define AGENT_HB_H

#include "agents/agent_loop.h"

/* Make the loop's controller client (freed by agent_loop_free()) and
 * load the credential file, if there is one, into it and into the event
 * sender, the provisioner and the console sessions. 0 when ready (a
 * missing credential file is fine: the first exchange registers); -1
 * with err_set() when the client cannot be made, the file cannot be
 * read, or it was issued to another node name. Call once, before
 * agent_hb_start() or agent_hb_exchange(). */
int agent_hb_prepare(struct agent_loop *a);

/* One exchange: register first when there is no credential (the join
 * token file, then the credential stored and bound to the node name),
 * then one heartbeat, a long-poll of at most wait_s seconds (0: answer
 * at once). A desired state of a new generation is handed to the main
 * loop (a->incoming, which it frees) and the main loop is kicked;
 * console sessions it names are started. 1 when the generation
 * changed, 0 when not, -1 with err_set() on failure (a credential the
 * controller refused is dropped, so the next exchange registers). */
int agent_hb_exchange(struct agent_loop *a, int wait_s);

/* Start the heartbeat thread: after the first report is published it
 * exchanges once per interval (at once when kicked through a->hb_wake),
 * backing off while the controller fails, until a->quit. 0, or -1 with
 * err_set() when the thread cannot be started. */
int agent_hb_start(struct agent_loop *a);

/* Wait for the heartbeat thread to end (set a->quit and kick it first);
 * nothing when it was not started. */
void agent_hb_join(struct agent_loop *a);

#endif

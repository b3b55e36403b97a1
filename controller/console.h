/*
 * console.h - the console broker: the sessions that join an operator's
 * connection (finctl vm console, console-log) to the agent that holds
 * the VM's serial console, and the threads that move the bytes.
 *
 * The controller has no way into a node: a session waits in the broker
 * until the node's agent, told by its long-poll (console_pending_json()
 * in the desired state; ctrl_notify() wakes the parked heartbeat), calls
 * back on GET /v1/agents/{node}/consoles/{session} with HTTP Upgrade.
 * The operator's request is parked meanwhile (api_park() on the key
 * console_wait_key()); console_outcome() then says what it answers:
 * 101 and the splice (console, console-log --follow), 200 with the log
 * (console-log), or why not.
 *
 * One thread per session waits for both sides and copies the bytes
 * through two fixed buffers (CONSOLE_BUF bytes each); a log is collected
 * into at most CONSOLE_LOG_MAX bytes. At most CONSOLE_MAX sessions exist
 * at once, of them at most CONSOLE_MAX_LOGS collecting a log, so what
 * the broker holds is bounded whatever the guests print. One interactive
 * session per VM: another is refused unless it forces the first out.
 *
 * Locking: the broker's own mutex guards its table and every session's
 * state; it is never held while a socket is read or written, nor
 * together with the controller lock. A session's end is audited
 * (vm.console.end, with its length in seconds and bytes) by its thread,
 * which takes the controller lock for that alone.
 */
#ifndef FC_CTRL_CONSOLE_H
#define FC_CTRL_CONSOLE_H

#include <cjson/cJSON.h>

#include "controller/ctrl.h"

#define CONSOLE_ID_LEN 33           /* 32 hex digits and NUL */
#define CONSOLE_MAX 64
#define CONSOLE_MAX_LOGS 8
#define CONSOLE_LOG_MAX ((size_t)1 << 20)
#define CONSOLE_BUF ((size_t)16 * 1024)
#define CONSOLE_WAIT_S 30           /* for the agent to call back */
#define CONSOLE_PROTOCOL "fincloud-console"

enum console_kind {
	CONSOLE_INTERACTIVE,  /* both ways, the guest's serial console */
	CONSOLE_LOG,          /* the serial log so far, answered whole */
	CONSOLE_FOLLOW,       /* the log so far, then what follows */
};

struct console_broker;

/* A broker for ctrl (kept, not copied). NULL with err_set() when out of
 * memory. Shutdown takes two steps around the server's: first
 * console_broker_quit() ends every session (each audited, its
 * connections closed while the server can still close them), waits for
 * their threads and refuses new ones; a switch that completes after it
 * is closed at once. Then, once the server has stopped (no request or
 * switch can reach the broker any more), console_broker_free() frees
 * it. Both take NULL. */
struct console_broker *console_broker_new(struct ctrl *ctrl);
void console_broker_quit(struct console_broker *b);
void console_broker_free(struct console_broker *b);

/* What an operator asks for; strings are copied. */
struct console_request {
	enum console_kind kind;
	const char *vm_id;
	const char *node;       /* the VM's host */
	int64_t tail;           /* lines of the log; 0: all (up to the cap) */
	bool force;             /* end another interactive session first */
	const char *actor;      /* "role:token" as the audit log names it */
	const char *request_id;
};

/* Open a session for r: 0 with its id in sid (CONSOLE_ID_LEN bytes);
 * 1 when VM r->vm_id has an interactive session already (and !force),
 * with who holds it since when in why; 2 when the broker is full (why
 * says so); -1 with err_set() when out of memory or threads. The caller
 * then wakes the node's long-poll (ctrl_notify()). */
int console_open(struct console_broker *b, const struct console_request *r,
		 char *sid, char *why, size_t why_size);

/* The sessions of node that its agent has not called back for, as the
 * desired state lists them ("consoles", schemas/agent-desired.json): a
 * new JSON array the caller owns; NULL when out of memory. */
cJSON *console_pending_json(struct console_broker *b, const char *node);

/* The key a parked request of session sid waits on (api_park()), into
 * key (at least 64 bytes). */
void console_wait_key(const char *sid, char *key, size_t size);

/* What a parked operator's request answers now. */
struct console_outcome {
	enum {
		CONSOLE_READY,     /* switch protocols (101): arg is the session */
		CONSOLE_LOG_DONE,  /* 200 with text (len bytes, malloc'd) */
		CONSOLE_FAILED,    /* the agent said why: 502 with why */
		CONSOLE_TIMEOUT,   /* no agent in time: 504 */
		CONSOLE_GONE,      /* ended meanwhile (forced out): 409 */
	} state;
	void *arg;       /* READY: for console_attach_client() */
	char *text;      /* LOG_DONE: the caller frees it */
	size_t len;
	char why[512];
};
/* Settle session sid for its operator. Every state but READY ends the
 * session; READY hands out a reference that console_attach_client()
 * takes. */
void console_outcome(struct console_broker *b, const char *sid,
		     struct console_outcome *out);

/* The agent of node calls back for session sid: with err (not NULL) it
 * says why it cannot serve it (0; the operator gets it); else 0 with *arg
 * a reference for console_attach_agent(). 1 when node has no such
 * session (ended, timed out, another node's). */
int console_agent_claim(struct console_broker *b, const char *node,
			const char *sid, const char *err, void **arg);

/* Close an upgraded connection (the server's; handle is its own). */
typedef void (*console_close_fn)(void *handle);

/* The switched connection of a session's operator (client) or agent:
 * fd is its socket, extra/n bytes already read from it, handle and
 * close_fn end it (called once, by the session). peer_fd (-1 for none):
 * the TCP socket under a TLS relay fd, polled for POLLRDHUP only (the
 * peer's close, which the relay does not pass on): once it is seen, what
 * fd still holds is read and the side has ended. fd -1: the switch did
 * not happen, the reference is dropped (and the session ends). The
 * api_upgrade_fn of api.h. */
void console_attach_client(void *arg, int fd, int peer_fd, const char *extra,
			   size_t n, void *handle, console_close_fn close_fn);
void console_attach_agent(void *arg, int fd, int peer_fd, const char *extra,
			  size_t n, void *handle, console_close_fn close_fn);

#endif

/* The VMs' serial consoles through the controller (console.h): an
 * operator's interactive console and console log, parked until the
 * agent of the VM's host calls back, and that call. See docs/api.md
 * "Consoles". */
#include <strings.h>

#include "common/err.h"
#include "common/util.h"
#include "controller/api.h"
#include "controller/console.h"
#include "controller/db.h"
#include "controller/store.h"

/* The most lines ?tail= asks for. */
#define TAIL_MAX 100000

/* What the console handlers read of the VM and its host. */
struct console_vm {
	char id[40];
	char host[NAME_MAX_LEN + 1];
	char desired[16];
	char state[16];
	bool host_down;
};

/* The VM of the path (api_vm_load(), so another tenant's is 404) and
 * whether its host is down. 0, or -1 with the answer set. */
static int console_vm(struct api_ctx *c, struct console_vm *v)
{
	struct db_stmt *s = api_vm_load(c);
	int rc;

	if (s == NULL)
		return -1;
	str_copy(v->id, sizeof(v->id), store_col_text(s, 0));
	str_copy(v->host, sizeof(v->host), store_col_text(s, 6));
	str_copy(v->desired, sizeof(v->desired), store_col_text(s, 10));
	str_copy(v->state, sizeof(v->state), store_col_text(s, 11));
	db_reset(s);
	rc = api_find(c, "SELECT state = 'down' FROM hosts WHERE name = ?",
		      v->host, &s, "reading the VM's host");
	if (rc < 0)
		return -1;
	v->host_down = rc > 0 && db_col_int(s, 0);
	if (rc > 0)
		db_reset(s);
	if (strcmp(v->desired, "deleted") == 0) {
		api_err(c, 409, "deleting", NULL, "VM '%s' is being deleted",
			v->id);
		return -1;
	}
	if (v->host_down) {
		api_err(c, 409, "host_down", NULL, "host '%s' of VM '%s' is "
			"down: its console is out of reach until its agent "
			"reports again ('finctl host show %s')", v->host, v->id,
			v->host);
		return -1;
	}
	return 0;
}

/* 0 when the request asks to switch to the console protocol, else -1
 * with a 426 answer. */
static int console_upgrade_asked(struct api_ctx *c)
{
	if (c->upgrade_header &&
	    strcasecmp(c->upgrade_header, CONSOLE_PROTOCOL) == 0)
		return 0;
	api_err(c, 426, "upgrade_required", NULL, "%s %s switches the "
		"connection to the '%s' protocol: send 'Connection: Upgrade' "
		"and 'Upgrade: %s' (finctl vm console and vm console-log "
		"--follow do)", c->method, c->path, CONSOLE_PROTOCOL,
		CONSOLE_PROTOCOL);
	return -1;
}

/* A flag of the query ("1", "true", "0", "false"): 0 with *out, or -1
 * with a 400 answer. */
static int query_flag(struct api_ctx *c, const char *key, bool *out)
{
	const char *v = api_query(c, key);

	*out = v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
	if (v == NULL || *out || strcmp(v, "0") == 0 ||
	    strcmp(v, "false") == 0)
		return 0;
	api_err(c, 400, "invalid_query", key, "query parameter '%s' must be "
		"1, true, 0 or false", key);
	return -1;
}

/* The wait of a console request is over (lock held): answer what the
 * session came to. */
static void console_resumed(struct api_ctx *c)
{
	struct console_outcome o;
	const char *sid = c->park_node + strlen("console:");

	console_outcome(c->ctrl->consoles, sid, &o);
	switch (o.state) {
	case CONSOLE_READY:
		c->status = 101;
		c->upgrade = console_attach_client;
		c->upgrade_arg = o.arg;
		c->upgrade_proto = CONSOLE_PROTOCOL;
		break;
	case CONSOLE_LOG_DONE:
		c->status = 200;
		c->text = o.text;
		c->text_len = o.len;
		c->content_type = "text/plain";
		break;
	case CONSOLE_FAILED:
		api_err(c, 502, "console_failed", NULL, "%s", o.why);
		break;
	case CONSOLE_TIMEOUT:
		api_err(c, 504, "agent_timeout", NULL, "%s", o.why);
		break;
	case CONSOLE_GONE:
		api_err(c, 409, "console_ended", NULL, "%s", o.why);
		break;
	}
}

/* Open a session of kind for VM v, tell its host's agent and park the
 * request until the agent has called back. */
static void console_start(struct api_ctx *c, const struct console_vm *v,
			  enum console_kind kind, int64_t tail, bool force)
{
	char sid[CONSOLE_ID_LEN], why[512], key[64], actor[128];
	struct console_request r = {.kind = kind, .vm_id = v->id,
				    .node = v->host, .tail = tail,
				    .force = force, .actor = actor,
				    .request_id = c->request_id};
	struct console_outcome o;
	int rc;

	if (c->ctrl->consoles == NULL || c->wake == NULL) {
		api_err(c, 503, "unavailable", NULL, "this controller serves "
			"no consoles");
		return;
	}
	snprintf(actor, sizeof(actor), "%s:%s", auth_role_name(c->who.role),
		 c->who.token_id);
	rc = console_open(c->ctrl->consoles, &r, sid, why, sizeof(why));
	if (rc == 1)
		api_err(c, 409, "console_busy", NULL, "%s", why);
	else if (rc == 2)
		api_err(c, 503, "too_many_consoles", NULL, "%s", why);
	else if (rc < 0)
		api_err_internal(c, "opening a console session");
	if (rc != 0)
		return;
	/* the agent learns of it from its long-poll, woken now */
	ctrl_notify(c->ctrl, v->host);
	console_wait_key(sid, key, sizeof(key));
	if (api_park(c, key, CONSOLE_WAIT_S, console_resumed) == 0)
		return;
	console_outcome(c->ctrl->consoles, sid, &o);
	free(o.text);
	api_err(c, 503, "unavailable", NULL, "the controller is stopping");
}

void h_vm_console(struct api_ctx *c)
{
	struct console_vm v;
	bool force;

	if (query_flag(c, "force", &force) < 0 || console_vm(c, &v) < 0)
		return;
	if (strcmp(v.desired, "running") != 0 ||
	    strcmp(v.state, "running") != 0) {
		api_err(c, 409, "not_running", NULL, "VM '%s' is %s (desired "
			"%s): only a running VM has a console; start it with "
			"'finctl vm start %s'", v.id, v.state, v.desired, v.id);
		return;
	}
	if (console_upgrade_asked(c) < 0)
		return;
	console_start(c, &v, CONSOLE_INTERACTIVE, 0, force);
}

void h_vm_console_log(struct api_ctx *c)
{
	const char *t = api_query(c, "tail");
	struct console_vm v;
	int64_t tail = 0;
	bool follow;

	if (t && (parse_int64(t, &tail) < 0 || tail < 1 || tail > TAIL_MAX)) {
		api_err(c, 400, "invalid_query", "tail", "query parameter "
			"'tail' must be a number of lines from 1 to %d",
			TAIL_MAX);
		return;
	}
	if (query_flag(c, "follow", &follow) < 0 || console_vm(c, &v) < 0 ||
	    (follow && console_upgrade_asked(c) < 0))
		return;
	console_start(c, &v, follow ? CONSOLE_FOLLOW : CONSOLE_LOG, tail,
		      false);
}

void h_agent_console(struct api_ctx *c)
{
	const char *node = c->m->params[0], *sid = c->m->params[1];
	const char *error = api_query(c, "error");
	void *arg;

	if (!api_agent_owns(c, node))
		return;
	if (error && strlen(error) > 400) {
		api_err(c, 400, "invalid_query", "error", "query parameter "
			"'error' is over 400 characters");
		return;
	}
	if (error == NULL && console_upgrade_asked(c) < 0)
		return;
	if (c->ctrl->consoles == NULL ||
	    console_agent_claim(c->ctrl->consoles, node, sid, error, &arg) != 0) {
		api_err(c, 404, "not_found", NULL, "node '%s' has no console "
			"session '%.40s' waiting (it ended or timed out)", node,
			sid);
		return;
	}
	if (error) {
		c->status = 204;
		return;
	}
	c->status = 101;
	c->upgrade = console_attach_agent;
	c->upgrade_arg = arg;
	c->upgrade_proto = CONSOLE_PROTOCOL;
}

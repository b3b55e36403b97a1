#include <ctype.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agents/agent_client.h"
#include "common/err.h"
#include "common/http_client.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"

#define BACKOFF_MAX_NS (30ULL * 1000000000ULL)

struct agent_client {
	struct http_client *http;
	char node[NAME_MAX_LEN + 1];
};

struct agent_client *agent_client_new(const char *base_url, const char *node,
				      const struct http_tls *tls)
{
	struct agent_client *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		err_set("out of memory");
		return NULL;
	}
	str_copy(c->node, sizeof(c->node), node);
	c->http = http_client_new(base_url, NULL, NULL);
	if (c->http == NULL || http_client_set_tls(c->http, tls) < 0) {
		http_client_free(c->http);
		free(c);
		return NULL;
	}
	/* A desired state is a few hundred bytes per VM, and up to 3.5 MB
	 * per DHCP network it hosts (its every port, for a /16). */
	http_client_set_max_body(c->http, 32 * 1024 * 1024);
	return c;
}

void agent_client_free(struct agent_client *c)
{
	if (c == NULL)
		return;
	http_client_free(c->http);
	free(c);
}

int agent_client_set_credential(struct agent_client *c, const char *cred)
{
	return http_client_set_token(c->http, cred);
}

/* A credential or token travels in an HTTP header: printable ASCII
 * without spaces only. */
static int token_check(const char *what, const char *path, const char *s)
{
	if (s[0] == '\0')
		return err_set("%s '%s' is empty", what, path);
	for (const char *p = s; *p; p++)
		if (*p < '!' || *p > '~')
			return err_set("%s '%s' holds a character that is not "
				       "printable ASCII",
				       what, path);
	return 0;
}

static int small_file(const char *what, const char *path, char *buf,
		      size_t size)
{
	char *text = NULL;
	size_t len;
	int ret;

	if (file_read_all(path, size - 1, &text, &len) < 0)
		return err_prefix("%s", what);
	ret = str_copy(buf, size, str_trim(text));
	free(text);
	if (ret < 0)
		return err_set("%s '%s' is too long", what, path);
	return token_check(what, path, buf);
}

int agent_credential_load(const char *path, char *buf, size_t size)
{
	struct stat st;

	buf[0] = '\0';
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return err_set_errno(errno, "credential file '%s'", path);
	}
	if (st.st_mode & 077)
		return err_set("credential file '%s' is readable by others "
			       "(mode %03o): chmod 600 it",
			       path, (unsigned)(st.st_mode & 0777));
	if (small_file("credential file", path, buf, size) < 0)
		return -1;
	return 1;
}

int agent_credential_store(const char *path, const char *cred)
{
	char dir[PATH_MAX];
	char *slash;

	str_copy(dir, sizeof(dir), path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (dir_create(dir, 0700) < 0)
			return -1;
	}
	if (file_write_atomic(path, cred, strlen(cred), 0600) < 0)
		return err_prefix("cannot store the credential");
	return 0;
}

/* path + ".node" into buf. */
static int node_file(const char *path, char *buf, size_t size)
{
	if (snprintf(buf, size, "%s.node", path) >= (int)size)
		return err_set("credential file '%s': path too long", path);
	return 0;
}

int agent_credential_bind(const char *path, const char *node)
{
	char nf[PATH_MAX], text[NAME_MAX_LEN + 2];

	if (node_file(path, nf, sizeof(nf)) < 0)
		return -1;
	snprintf(text, sizeof(text), "%s\n", node);
	if (file_write_atomic(nf, text, strlen(text), 0600) < 0)
		return err_prefix("cannot record the credential's node");
	return 0;
}

int agent_credential_check_node(const char *path, const char *node)
{
	char nf[PATH_MAX], *text = NULL;
	const char *owner;
	struct stat st;
	size_t len;
	int ret = -1;

	if (node_file(path, nf, sizeof(nf)) < 0)
		return -1;
	if (stat(nf, &st) < 0 && errno == ENOENT)
		return 0;
	if (file_read_all(nf, NAME_MAX_LEN + 16, &text, &len) < 0)
		return err_prefix("credential file '%s'", path);
	owner = str_trim(text);
	if (strcmp(owner, node) == 0) {
		ret = 1;
	} else {
		err_set("credential file '%s' was issued to node '%s', but this "
			"agent is configured as node '%s': a machine keeps one "
			"identity. Set node_name = %s again, or, to make this "
			"machine a new node deliberately, remove '%s' and '%s' "
			"(and move or delete node '%s''s VMs on the controller)",
			path, owner, node, owner, path, nf, owner);
	}
	free(text);
	return ret;
}

int agent_join_token_load(const char *path, char *buf, size_t size)
{
	return small_file("join token file", path, buf, size);
}

/* The controller's error message when it sent one. */
static const char *reply_error(const struct http_response *r)
{
	static __thread char msg[512];
	cJSON *root = NULL;
	const cJSON *e, *m;

	msg[0] = '\0';
	if (r->body && json_parse(r->body, r->len, "reply", &root) == 0) {
		e = cJSON_GetObjectItemCaseSensitive(root, "error");
		m = e ? cJSON_GetObjectItemCaseSensitive(e, "message") : NULL;
		if (cJSON_IsString(m))
			str_copy(msg, sizeof(msg), m->valuestring);
		else if (cJSON_IsString(e))
			str_copy(msg, sizeof(msg), e->valuestring);
	}
	cJSON_Delete(root);
	err_clear();
	return msg[0] ? msg : "no error message";
}

/* POST body (as JSON text) to path within timeout_ms; *r holds the reply
 * (the caller frees it with http_response_free(), also after -1). */
static int post_json(struct agent_client *c, const char *path,
		     const cJSON *body, long timeout_ms,
		     struct http_response *r)
{
	char *text = cJSON_PrintUnformatted(body);
	char before[512];
	int ret;

	if (text == NULL)
		return err_set("out of memory");
	http_client_set_timeout(c->http, timeout_ms);
	str_copy(before, sizeof(before), http_client_base(c->http));
	ret = http_client_request(c->http, "POST", path, text, r);
	free(text);
	/* several controllers (controller_url a list): say when the agent
	 * moved to another one */
	if (strcmp(before, http_client_base(c->http)) != 0)
		log_warn("controller %s did not answer or failed (%s): "
			 "talking to %s", before, ret < 0 ? err_msg() :
			 "5xx", http_client_base(c->http));
	return ret;
}

static const char *const register_keys[] = { "node", "credential",
					     "heartbeat_interval_s", NULL };

int agent_client_register(struct agent_client *c,
			  const struct agent_register *reg, char *cred,
			  size_t cred_size, int *interval_s)
{
	struct http_response r = { 0 };
	cJSON *body = cJSON_CreateObject(), *reply = NULL, *invj, *jj = NULL;
	const char *s;
	int64_t n;
	int ret = -1;

	invj = agent_json_inventory(&reg->inv);
	if (reg->njournal > 0)
		jj = agent_journal_json(reg->journal, reg->njournal);
	if (body == NULL || invj == NULL || (reg->njournal > 0 && !jj) ||
	    !cJSON_AddStringToObject(body, "join_token", reg->join_token) ||
	    !cJSON_AddStringToObject(body, "node", c->node) ||
	    !cJSON_AddStringToObject(body, "pool", reg->pool) ||
	    !cJSON_AddStringToObject(body, "migration_uri",
				     reg->migration_uri) ||
	    (reg->inv.machine_id[0] &&
	     !cJSON_AddStringToObject(body, "machine_id",
				      reg->inv.machine_id))) {
		cJSON_Delete(invj);
		cJSON_Delete(jj);
		err_set("out of memory");
		goto out;
	}
	cJSON_AddItemToObject(body, "inventory", invj);
	if (jj)
		cJSON_AddItemToObject(body, "migrations", jj);
	http_client_set_token(c->http, NULL);
	if (post_json(c, "/v1/agents/register", body, 30000, &r) < 0)
		goto out;
	if (r.status == 202) {
		/* the name has a credential already: an operator decides */
		const char *changes = "no detail";

		if (json_parse(r.body, r.len, "registration reply", &reply) == 0 &&
		    json_get_string(reply, "$", "changes", false, "no detail",
				    &changes) < 0)
			changes = "no detail";
		err_set("node '%s' is registered already; this registration "
			"(%s) waits for an operator's approval: on the "
			"controller, run 'finctl host approve %s' (or 'finctl "
			"host reject %s')", c->node, changes, c->node, c->node);
		goto out;
	}
	if (r.status != 201 && r.status != 200) {
		err_set("registration of node '%s' refused (HTTP %ld): %s",
			c->node, r.status, reply_error(&r));
		goto out;
	}
	if (json_parse(r.body, r.len, "registration reply", &reply) < 0)
		goto out;
	if (json_check_keys(reply, "$", register_keys) < 0 ||
	    json_get_string(reply, "$", "credential", true, NULL, &s) < 0 ||
	    json_get_int(reply, "$", "heartbeat_interval_s", false, 1, 3600,
			 0, &n) < 0)
		goto out;
	if (str_copy(cred, cred_size, s) < 0 ||
	    token_check("credential", "reply", cred) < 0) {
		err_prefix("registration reply");
		goto out;
	}
	*interval_s = (int)n;
	ret = 0;
out:
	http_response_free(&r);
	cJSON_Delete(body);
	cJSON_Delete(reply);
	return ret;
}

int agent_client_heartbeat(struct agent_client *c, const cJSON *hb,
			   int wait_s, struct agent_desired *out)
{
	struct http_response r = { 0 };
	char path[256];
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (wait_s < 0)
		wait_s = 0;
	if (wait_s > AGENT_MAX_WAIT_S)
		wait_s = AGENT_MAX_WAIT_S;
	snprintf(path, sizeof(path), "/v1/agents/%s/heartbeat?wait_s=%d",
		 c->node, wait_s);
	/* The controller may hold a long-poll for wait_s. */
	if (post_json(c, path, hb, (long)(wait_s + 15) * 1000, &r) < 0)
		goto out;
	if (r.status == 403) {
		err_set("controller refused the credential of node '%s' (HTTP "
			"%ld): %s; the agent does not register this name anew: "
			"check node_name",
			c->node, r.status, reply_error(&r));
		goto out;
	}
	if (r.status == 401) {
		err_set("controller refused the credential of node '%s' (HTTP "
			"%ld): %s",
			c->node, r.status, reply_error(&r));
		ret = -2;
		goto out;
	}
	if (r.status != 200) {
		err_set("heartbeat of node '%s' failed (HTTP %ld): %s", c->node,
			r.status, reply_error(&r));
		goto out;
	}
	if (agent_desired_parse(r.body, r.len, out) < 0) {
		agent_desired_free(out);
		err_prefix("controller reply");
		goto out;
	}
	ret = 0;
out:
	http_response_free(&r);
	return ret;
}

int agent_client_events(struct agent_client *c, const cJSON *events)
{
	struct http_response r = { 0 };
	char path[256];
	int ret = -1;

	snprintf(path, sizeof(path), "/v1/agents/%s/events", c->node);
	if (post_json(c, path, events, 10000, &r) < 0)
		goto out;
	if (r.status < 200 || r.status > 299) {
		err_set("events of node '%s' refused (HTTP %ld): %s", c->node,
			r.status, reply_error(&r));
		goto out;
	}
	ret = 0;
out:
	http_response_free(&r);
	return ret;
}

int agent_client_image(struct agent_client *c, const char *sha256,
		       int (*sink)(void *ud, const void *data, size_t len),
		       void *ud)
{
	struct http_stream st = {.in_fd = -1, .sink = sink, .ud = ud};
	struct http_response r = { 0 };
	char path[256];
	int ret = -1;

	snprintf(path, sizeof(path), "/v1/agents/%s/images/%.64s", c->node,
		 sha256);
	if (http_client_stream(c->http, "GET", path, &st, &r) < 0)
		goto out;
	if (r.status != 200) {
		err_set("the controller refused image %.64s to node '%s' "
			"(HTTP %ld): %s", sha256, c->node, r.status,
			reply_error(&r));
		goto out;
	}
	ret = 0;
out:
	http_response_free(&r);
	return ret;
}

/* err as a query value: what is not a letter, digit or one of "-._~"
 * percent-encoded, into out (cut at size). */
static void query_escape(const char *err, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)err;
	     *p && o + 4 < size; p++) {
		if (isalnum(*p) || strchr("-._~", *p)) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
}

int agent_client_console(struct agent_client *c, const char *sid,
			 const char *err, struct http_tunnel **out)
{
	struct http_response r = { 0 };
	char path[1536], q[1200];
	int ret = -1, rc;

	*out = NULL;
	snprintf(path, sizeof(path), "/v1/agents/%s/consoles/%s", c->node,
		 sid);
	http_client_set_timeout(c->http, 10000);
	if (err) {
		query_escape(err, q, sizeof(q));
		snprintf(path + strlen(path), sizeof(path) - strlen(path),
			 "?error=%.*s", 1200, q);
		rc = http_client_request(c->http, "GET", path, NULL, &r);
	} else {
		rc = http_client_upgrade(c->http, path, "fincloud-console", &r,
					 out);
	}
	if (rc < 0)
		goto out;
	if (r.status == 404) {
		ret = 1;
	} else if (r.status == (err ? 204 : 101)) {
		ret = 0;
	} else {
		err_set("console session %s refused (HTTP %ld): %s", sid,
			r.status, reply_error(&r));
		http_tunnel_close(*out);
		*out = NULL;
	}
out:
	http_response_free(&r);
	return ret;
}

uint64_t agent_client_backoff(uint64_t *backoff_ns)
{
	uint64_t b = *backoff_ns ? *backoff_ns : 1000000000ULL;

	*backoff_ns = b * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : b * 2;
	return b;
}

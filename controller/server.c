#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "controller/api.h"
#include "controller/image.h"
#include "controller/peercert.h"
#include "controller/server.h"
#include "controller/ui.h"

/* Every agent keeps a connection open (its long-poll), so per-connection
 * memory is what grows with the fleet. Headers fit in 8 KiB; bodies are
 * copied out to a capped buffer as they arrive. Only the worker threads
 * run handlers; the deepest stack is cJSON's recursion, bounded by its
 * nesting limit. */
#define CONN_POOL ((size_t)8 * 1024)
#define THREAD_STACK ((size_t)512 * 1024)
/* A connection silent this long while its answer is sent is closed. */
#define IDLE_TIMEOUT_S 120u
#define LISTEN_BACKLOG 1024u

/* One open connection, for the request deadline (under socks_lock). */
struct sock {
	int fd;
	uint64_t deadline_ns; /* monotonic; 0 while a request is handled */
	struct sock *prev, *next;
};

/* One listening port. */
struct listener {
	struct server *srv;
	struct MHD_Daemon *d;
	bool agents_only; /* the agents' port: /v1/agents/... and /healthz */
	bool trust;       /* asks clients for a certificate (tls_ca) */
};

struct server {
	struct ctrl *ctrl;
	struct listener api, agents;
	char *cert, *key, *ca;
	uint64_t timeout_ns;   /* request_timeout */

	/* libmicrohttpd's messages: when the last went out, how many since
	 * were left out (under log_lock) */
	pthread_mutex_t log_lock;
	uint64_t log_last_ns;
	unsigned log_dropped;

	/* open connections and the thread that cuts the late ones */
	pthread_mutex_t socks_lock;
	pthread_cond_t sweep_cond; /* on CLOCK_MONOTONIC */
	struct sock *socks;
	pthread_t sweeper;
	bool sweeping, quit;
};

/* One request: its body (or its upload, for a ROUTE_UPLOAD route), and
 * its context while it is parked. */
struct conn {
	struct buf body;
	struct image_upload *up;
	bool too_large;
	bool parked;
	bool switched;   /* its 101 answer went out: c.upgrade has the socket */
	struct peercert peer; /* the client's certificate, agents' routes */
	struct api_ctx c;
};

/* ------------------------------------------------------------ upgrades */

static void upgrade_close(void *handle)
{
	MHD_upgrade_action(handle, MHD_UPGRADE_ACTION_CLOSE);
}

/* The 101 answer went out: the socket goes to the request's user. With
 * TLS, sock is libmicrohttpd's end of a socket pair that it encrypts
 * into the connection, so TLS holds for the switched bytes too. */
static void on_upgrade(void *cls, struct MHD_Connection *con, void *req_cls,
		       const char *extra_in, size_t extra_in_size,
		       MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct conn *cn = req_cls;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
	int peer_fd = ci && ci->connect_fd != sock ? ci->connect_fd : -1;

	(void)cls;
	cn->switched = true;
	/* with TLS, sock is a relay that does not pass the peer's close on:
	 * its user watches the connection's own socket for it */
	cn->c.upgrade(cn->c.upgrade_arg, sock, peer_fd, extra_in,
		      extra_in_size, urh, upgrade_close);
}

/* --------------------------------------------------------------- answers */

static const char *query_value(void *ud, const char *key)
{
	return MHD_lookup_connection_value(ud, MHD_GET_ARGUMENT_KIND, key);
}

/* The headers of c's answer besides its body's type: the request's id,
 * a file's validators, and the dashboard's security headers on every
 * answer under / and /ui/ (ui.h). */
static void add_headers(struct MHD_Response *r, const struct api_ctx *c)
{
	if (c->request_id[0])
		MHD_add_response_header(r, "X-Request-Id", c->request_id);
	if (c->etag[0])
		MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, c->etag);
	if (c->last_modified[0])
		MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED,
					c->last_modified);
	if (c->cache_control)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
					c->cache_control);
	if (c->path && ui_path(c->path))
		for (size_t i = 0; i < ui_nheaders; i++)
			MHD_add_response_header(r, ui_headers[i].name,
						ui_headers[i].value);
}

static enum MHD_Result send_answer(struct MHD_Connection *con,
				   struct api_ctx *c)
{
	static const char oom[] = "{\"error\":{\"code\":\"internal\",\"message\":"
				  "\"out of memory\",\"field\":null}}";
	struct MHD_Response *r;
	enum MHD_Result ret = MHD_NO;
	char *text = NULL;
	size_t len = 0;

	if (c->has_file) {
		/* the file answer: MHD reads the descriptor and closes it */
		r = MHD_create_response_from_fd64((uint64_t)c->file_size,
						  c->file_fd);
		if (r == NULL)
			goto out;
		c->has_file = false;
		MHD_add_response_header(r, "Content-Type", c->content_type);
		add_headers(r, c);
		ret = MHD_queue_response(con, (unsigned)c->status, r);
		MHD_destroy_response(r);
		goto out;
	}
	if (c->upgrade && c->status == 101) {
		r = MHD_create_response_for_upgrade(on_upgrade, NULL);
		if (r == NULL)
			goto out;
		MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE,
					c->upgrade_proto);
		if (c->request_id[0])
			MHD_add_response_header(r, "X-Request-Id",
						c->request_id);
		ret = MHD_queue_response(con, 101, r);
		MHD_destroy_response(r);
		goto out;
	}
	if (c->text) {
		text = c->text;
		c->text = NULL;
		len = c->text_len ? c->text_len : strlen(text);
	} else if (c->resp && c->status != 204) {
		text = cJSON_PrintUnformatted(c->resp);
		if (text == NULL) {
			r = MHD_create_response_from_buffer(
				sizeof(oom) - 1, (void *)oom,
				MHD_RESPMEM_PERSISTENT);
			ret = MHD_queue_response(con, 500, r);
			MHD_destroy_response(r);
			goto out;
		}
		len = strlen(text);
	}
	r = MHD_create_response_from_buffer(len, text ? text : (void *)"",
					    text ? MHD_RESPMEM_MUST_FREE
						 : MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		free(text);
		goto out;
	}
	if (len > 0)
		MHD_add_response_header(r, "Content-Type", c->content_type);
	if (c->location[0])
		MHD_add_response_header(r, "Location", c->location);
	add_headers(r, c);
	if (c->retry_after_s > 0) {
		char secs[24];

		snprintf(secs, sizeof(secs), "%" PRId64, c->retry_after_s);
		MHD_add_response_header(r, "Retry-After", secs);
	}
	ret = MHD_queue_response(con, (unsigned)c->status, r);
	MHD_destroy_response(r);
out:
	return ret;
}

static enum MHD_Result answer_error(struct MHD_Connection *con,
				    struct ctrl *ctrl, const char *url,
				    int status, const char *code,
				    const char *msg)
{
	struct api_ctx c = {.ctrl = ctrl, .path = url,
			    .content_type = "application/json"};
	enum MHD_Result ret;

	api_err(&c, status, code, NULL, "%s", msg);
	ret = send_answer(con, &c);
	api_ctx_release(&c);
	return ret;
}

/* ------------------------------------------------------- library messages */

/* libmicrohttpd's messages go to the log, at most one a second: a flood
 * of refused connections ("reached connection limit") must not become a
 * flood of log lines. The number left out is given with the next one. */
FC_PRINTF(2, 0)
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct server *srv = cls;
	uint64_t now = time_mono_ns();
	unsigned dropped = 0;
	bool emit = false;
	char msg[256];
	size_t len;

	pthread_mutex_lock(&srv->log_lock);
	if (srv->log_last_ns == 0 || now - srv->log_last_ns >= 1000000000ULL) {
		emit = true;
		dropped = srv->log_dropped;
		srv->log_dropped = 0;
		srv->log_last_ns = now;
	} else {
		srv->log_dropped++;
	}
	pthread_mutex_unlock(&srv->log_lock);
	if (!emit)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '.'))
		msg[--len] = '\0';
	if (dropped)
		log_warn("http: %s (%u more messages left out since the last)",
			 msg, dropped);
	else
		log_warn("http: %s", msg);
}

/* ---------------------------------------------------- request deadlines */

static struct sock *sock_of(struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* From now on con must send a whole request within request_timeout
 * (restart), or it has sent one (stop). */
static void deadline_set(struct server *srv, struct MHD_Connection *con,
			 bool restart)
{
	struct sock *s = sock_of(con);

	if (s == NULL)
		return;
	pthread_mutex_lock(&srv->socks_lock);
	s->deadline_ns = restart ? time_mono_ns() + srv->timeout_ns : 0;
	pthread_mutex_unlock(&srv->socks_lock);
}

static void on_connection(void *cls, struct MHD_Connection *con,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct server *srv = cls;
	struct sock *s = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
			con, MHD_CONNECTION_INFO_CONNECTION_FD);

		s = calloc(1, sizeof(*s));
		if (s == NULL || ci == NULL) {
			free(s);
			return; /* this one goes without a deadline */
		}
		s->fd = ci->connect_fd;
		pthread_mutex_lock(&srv->socks_lock);
		s->deadline_ns = time_mono_ns() + srv->timeout_ns;
		s->next = srv->socks;
		if (s->next)
			s->next->prev = s;
		srv->socks = s;
		pthread_mutex_unlock(&srv->socks_lock);
		*socket_context = s;
	} else if (s) {
		/* MHD closes the descriptor after this: the sweeper, under
		 * the same lock, never touches a closed one */
		pthread_mutex_lock(&srv->socks_lock);
		if (s->prev)
			s->prev->next = s->next;
		else
			srv->socks = s->next;
		if (s->next)
			s->next->prev = s->prev;
		pthread_mutex_unlock(&srv->socks_lock);
		free(s);
		*socket_context = NULL;
	}
}

/* The sweeper: once a second, shut down the connections past their
 * deadline (the worker that owns one then sees it end and closes it). */
static void *sweeper_main(void *arg)
{
	struct server *srv = arg;

	pthread_mutex_lock(&srv->socks_lock);
	while (!srv->quit) {
		uint64_t now = time_mono_ns();
		unsigned cut = 0;

		for (struct sock *s = srv->socks; s; s = s->next)
			if (s->deadline_ns && s->deadline_ns <= now) {
				shutdown(s->fd, SHUT_RDWR);
				s->deadline_ns = 0;
				cut++;
			}
		if (cut)
			log_warn("closed %u connection(s) that sent no whole "
				 "request within request_timeout (%" PRIu64
				 " s)", cut, srv->timeout_ns / (uint64_t)1000000000);
		cond_wait_mono(&srv->sweep_cond, &srv->socks_lock,
			       now + 1000000000ULL);
	}
	pthread_mutex_unlock(&srv->socks_lock);
	return NULL;
}

/* -------------------------------------------------------------- requests */

static void on_wake(void *arg)
{
	MHD_resume_connection(arg);
}

static void on_suspend(void *arg)
{
	MHD_suspend_connection(arg);
}

/* Whether the agents' port serves url. */
static bool agent_route(const char *url)
{
	return strncmp(url, "/v1/agents/", 11) == 0 ||
	       strcmp(url, "/healthz") == 0;
}

/* The peer's IPv4 address in host byte order, 0 when unknown. */
static uint32_t client_addr(struct MHD_Connection *con);

/* The request fields of c that the dispatcher reads, from con. */
static void ctx_fill(struct api_ctx *c, struct ctrl *ctrl,
		     struct MHD_Connection *con, const char *url,
		     const char *method)
{
	c->ctrl = ctrl;
	/* HEAD of the dashboard's files is their GET; libmicrohttpd sends
	 * the headers only */
	c->method = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0 && ui_path(url)
			    ? MHD_HTTP_METHOD_GET : method;
	c->path = url;
	c->query = query_value;
	c->query_ud = con;
	c->authorization = MHD_lookup_connection_value(
		con, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	c->idempotency_key = MHD_lookup_connection_value(
		con, MHD_HEADER_KIND, "Idempotency-Key");
	c->upgrade_header = MHD_lookup_connection_value(
		con, MHD_HEADER_KIND, MHD_HTTP_HEADER_UPGRADE);
	c->if_none_match = MHD_lookup_connection_value(
		con, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	c->client_addr = client_addr(con);
}

/* The start of an upload (a ROUTE_UPLOAD route on the API port): the
 * caller is checked before a byte is stored (a client that sent
 * "Expect: 100-continue" has sent none), then the announced size against
 * image_max_size; then its file is opened. MHD_YES to go on (cn->up set,
 * or an error queued). */
static enum MHD_Result upload_start(struct listener *l, struct conn *cn,
				    struct MHD_Connection *con,
				    const char *url, const char *method,
				    int64_t announced)
{
	struct ctrl *ctrl = l->srv->ctrl;
	struct api_ctx c = {0};
	enum MHD_Result ret;
	char msg[200];

	ctx_fill(&c, ctrl, con, url, method);
	if (!api_upload_allowed(&c)) {
		ret = send_answer(con, &c);
		api_ctx_release(&c);
		return ret;
	}
	api_ctx_release(&c);
	if (announced > ctrl->cfg.image_max_size) {
		snprintf(msg, sizeof(msg), "the image is %" PRId64 " bytes; "
			 "image_max_size is %" PRId64, announced,
			 ctrl->cfg.image_max_size);
		return answer_error(con, ctrl, url, 413, "too_large", msg);
	}
	if (image_upload_open(ctrl->cfg.state_dir, ctrl->cfg.image_max_size,
			      &cn->up) < 0) {
		log_error("%s", err_msg());
		return answer_error(con, ctrl, url, 500, "internal", err_msg());
	}
	return MHD_YES;
}

/* The first call for a request (headers in): its state, or a 413 when
 * the announced body is over the limit. */
static enum MHD_Result request_start(struct listener *l,
				     struct MHD_Connection *con,
				     const char *url, const char *method,
				     void **con_cls)
{
	struct ctrl *ctrl = l->srv->ctrl;
	const char *cl = MHD_lookup_connection_value(
		con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	struct conn *cn = calloc(1, sizeof(*cn));
	char msg[160];
	int64_t n = -1;

	if (cn == NULL)
		return MHD_NO;
	buf_init(&cn->body, (size_t)ctrl->cfg.max_body);
	*con_cls = cn;
	if (cl && parse_int64(cl, &n) < 0)
		n = -1;
	if (!l->agents_only && api_upload_route(method, url))
		return upload_start(l, cn, con, url, method, n);
	if (n > ctrl->cfg.max_body) {
		snprintf(msg, sizeof(msg), "the request body is %" PRId64
			 " bytes; the limit is %" PRId64, n, ctrl->cfg.max_body);
		return answer_error(con, ctrl, url, 413, "too_large", msg);
	}
	return MHD_YES;
}

static uint32_t client_addr(struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr_in *sa;

	if (ci == NULL || ci->client_addr == NULL ||
	    ci->client_addr->sa_family != AF_INET)
		return 0;
	sa = (const struct sockaddr_in *)(const void *)ci->client_addr;
	return ntohl(sa->sin_addr.s_addr);
}

/* The connection's gnutls session; NULL without TLS. */
static void *tls_session(struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		con, MHD_CONNECTION_INFO_GNUTLS_SESSION);

	return ci ? ci->tls_session : NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_size, void **con_cls)
{
	struct listener *l = cls;
	struct ctrl *ctrl = l->srv->ctrl;
	struct conn *cn = *con_cls;
	struct api_ctx *c;
	enum MHD_Result ret;
	char msg[160];

	(void)version;
	if (cn == NULL)
		return request_start(l, con, url, method, con_cls);
	c = &cn->c;
	if (cn->parked) {
		/* resumed: its wait is over */
		cn->parked = false;
		api_resume(c);
		goto answer;
	}
	if (*upload_size > 0 && cn->up) {
		/* an upload may take longer than request_timeout: the
		 * deadline is for the next chunk, not for the whole body */
		image_upload_write(cn->up, upload_data, *upload_size);
		deadline_set(l->srv, con, true);
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!cn->too_large &&
		    buf_append(&cn->body, upload_data, *upload_size) < 0)
			cn->too_large = true;
		*upload_size = 0;
		return MHD_YES;
	}
	deadline_set(l->srv, con, false);
	if (cn->too_large) {
		snprintf(msg, sizeof(msg), "the request body exceeds the "
			 "%" PRId64 "-byte limit", ctrl->cfg.max_body);
		return answer_error(con, ctrl, url, 413, "too_large", msg);
	}
	if (l->agents_only && !agent_route(url)) {
		snprintf(msg, sizeof(msg), "this port serves the agents only: "
			 "use the API port (%" PRId64 ")", ctrl->cfg.listen_port);
		return answer_error(con, ctrl, url, 404, "not_found", msg);
	}
	ctx_fill(c, ctrl, con, url, method);
	if (cn->up) {
		/* qemu-img runs here, before the lock is taken */
		image_upload_finish(cn->up);
		c->upload = cn->up;
	}
	if (l->trust && agent_route(url)) {
		peercert_read(tls_session(con), &cn->peer);
		c->peer = &cn->peer;
	}
	c->body = cn->body.data;
	c->body_len = cn->body.len;
	c->wake = on_wake;
	c->wake_arg = con;
	api_handle(c);
	if (c->parked) {
		/* what it waits with is its node's name, not its body */
		buf_free(&cn->body);
		c->body = NULL;
		c->body_len = 0;
		cJSON_Delete(c->json);
		c->json = NULL;
		cn->parked = true;
		if (ctrl_arm(ctrl, c->parked, on_suspend) == 0)
			return MHD_YES;
		cn->parked = false;
		api_resume(c);
	}
answer:
	ret = send_answer(con, c);
	api_ctx_release(c);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *con,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct conn *cn = *con_cls;

	(void)toe;
	/* the next request on this connection has its own deadline */
	deadline_set(cls, con, true);
	if (cn) {
		/* an upgrade that did not happen: its user lets go */
		if (cn->c.upgrade && !cn->switched)
			cn->c.upgrade(cn->c.upgrade_arg, -1, -1, NULL, 0, NULL,
				      NULL);
		buf_free(&cn->body);
		image_upload_free(cn->up);
		api_ctx_release(&cn->c);
		free(cn);
		*con_cls = NULL;
	}
}

/* ----------------------------------------------------------- the daemons */

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* libmicrohttpd's decoding of %XX in the path and the query values, in
 * place, except that "%00" stays as it is: a NUL would cut a name short
 * ("/ui/app.js%00.png" would be "/ui/app.js"), and the '%' it keeps is
 * in no valid name. The new length. */
static size_t unescape(void *cls, struct MHD_Connection *con, char *s)
{
	char *w = s;

	(void)cls;
	(void)con;
	for (const char *r = s; *r; r++) {
		int hi = r[1] ? hex_digit(r[1]) : -1;
		int lo = hi >= 0 ? hex_digit(r[2]) : -1;

		if (r[0] == '%' && lo >= 0 && (hi | lo) != 0) {
			*w++ = (char)(hi * 16 + lo);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* Start the daemon of l on port (flags and TLS from srv). */
static int listen_on(struct server *srv, struct listener *l, int64_t port)
{
	const struct ctrl_config *cfg = &srv->ctrl->cfg;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE |
			 MHD_USE_ERROR_LOG;
	/* the TLS options, from tls[first]: without TLS, first is the end;
	 * with a CA on the port that serves agents, clients are asked for a
	 * certificate (not required by the handshake: peercert.h decides
	 * per request, so /healthz stays open) */
	struct MHD_OptionItem tls[] = {
		{MHD_OPTION_HTTPS_MEM_CERT, 0, srv->cert},
		{MHD_OPTION_HTTPS_MEM_KEY, 0, srv->key},
		{MHD_OPTION_HTTPS_MEM_TRUST, 0, srv->ca},
		{MHD_OPTION_END, 0, NULL},
	};
	size_t first = srv->cert ? 0 : 3;
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, cfg->listen_address, &sa.sin_addr) != 1)
		return err_set("listen_address '%s' is not an IPv4 address",
			       cfg->listen_address);
	if (srv->cert)
		flags |= MHD_USE_TLS;
	if (!l->trust || srv->ca == NULL)
		tls[2].option = MHD_OPTION_END;
	l->srv = srv;
	l->d = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, l,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->http_threads,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
		MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT_S,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned)cfg->per_ip_connections,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONN_POOL,
		MHD_OPTION_THREAD_STACK_SIZE, THREAD_STACK,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, LISTEN_BACKLOG,
		MHD_OPTION_ARRAY, tls + first, MHD_OPTION_END);
	if (l->d == NULL)
		return err_set("cannot listen on %s:%" PRId64 ": is the port "
			       "in use?", cfg->listen_address, port);
	return 0;
}

static char *read_pem(const char *path)
{
	char *data = NULL;
	size_t len;

	if (file_read_all(path, 1 << 20, &data, &len) < 0)
		return NULL;
	return data;
}

/* Raise the descriptor limit to its hard limit: every connection is one,
 * and max_connections on two ports can pass the usual soft 1,024. */
static void raise_nofile(const struct ctrl_config *cfg)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)cfg->max_connections * 2 + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < want)
		log_warn("the descriptor limit (%llu) is below what "
			 "max_connections (%" PRId64 ") needs: raise LimitNOFILE",
			 (unsigned long long)rl.rlim_cur, cfg->max_connections);
}

int server_start(struct ctrl *ctrl, struct server **out)
{
	const struct ctrl_config *cfg = &ctrl->cfg;
	struct server *srv = calloc(1, sizeof(*srv));
	int rc;

	*out = NULL;
	if (srv == NULL)
		return err_set("out of memory");
	srv->ctrl = ctrl;
	srv->timeout_ns = (uint64_t)cfg->request_timeout_s * 1000000000ULL;
	pthread_mutex_init(&srv->socks_lock, NULL);
	pthread_mutex_init(&srv->log_lock, NULL);
	cond_init_mono(&srv->sweep_cond);
	raise_nofile(cfg);
	if (cfg->tls_cert[0]) {
		srv->cert = read_pem(cfg->tls_cert);
		srv->key = srv->cert ? read_pem(cfg->tls_key) : NULL;
		if (srv->key == NULL) {
			err_prefix("TLS");
			goto fail;
		}
	}
	if (cfg->tls_ca[0]) {
		srv->ca = read_pem(cfg->tls_ca);
		if (srv->ca == NULL) {
			err_prefix("tls_ca");
			goto fail;
		}
	}
	rc = pthread_create(&srv->sweeper, NULL, sweeper_main, srv);
	if (rc != 0) {
		err_set("cannot start the request deadline thread: %s",
			strerror(rc));
		goto fail;
	}
	srv->sweeping = true;
	/* the agents' port asks for client certificates; without one, the
	 * API port serves the agents and asks */
	srv->api.trust = cfg->agent_listen_port == 0;
	srv->agents.trust = true;
	if (listen_on(srv, &srv->api, cfg->listen_port) < 0)
		goto fail;
	srv->agents.agents_only = true;
	if (cfg->agent_listen_port &&
	    listen_on(srv, &srv->agents, cfg->agent_listen_port) < 0)
		goto fail;
	*out = srv;
	return 0;
fail:
	server_stop(srv);
	return -1;
}

void server_stop(struct server *srv)
{
	if (srv == NULL)
		return;
	if (srv->agents.d)
		MHD_stop_daemon(srv->agents.d);
	if (srv->api.d)
		MHD_stop_daemon(srv->api.d);
	if (srv->sweeping) {
		pthread_mutex_lock(&srv->socks_lock);
		srv->quit = true;
		pthread_cond_signal(&srv->sweep_cond);
		pthread_mutex_unlock(&srv->socks_lock);
		pthread_join(srv->sweeper, NULL);
	}
	pthread_cond_destroy(&srv->sweep_cond);
	pthread_mutex_destroy(&srv->socks_lock);
	pthread_mutex_destroy(&srv->log_lock);
	free(srv->cert);
	free(srv->key);
	free(srv->ca);
	free(srv);
}

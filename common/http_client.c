#include <curl/curl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/http_client.h"
#include "common/util.h"

/* The most controller URLs one client fails over between. */
#define HTTP_BASES_MAX 8

struct http_client {
	CURL *curl;
	char *base;       /* bases[cur]: where requests go now */
	char *bases[HTTP_BASES_MAX];
	size_t nbases, cur;
	char *token;
	char *ca_file;
	char *cert_file, *key_file; /* NULL: no client certificate */
	long timeout_ms;
	size_t max_body;
	char header[512]; /* http_client_set_header(); "" for none */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct http_client *http_client_new(const char *base_url, const char *token,
				    const char *ca_file)
{
	struct http_client *c;

	pthread_once(&curl_once, curl_init_once);
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		err_set("out of memory");
		return NULL;
	}
	c->curl = curl_easy_init();
	c->token = token ? strdup(token) : NULL;
	c->ca_file = ca_file ? strdup(ca_file) : NULL;
	if (c->curl == NULL || (token && !c->token) ||
	    (ca_file && !c->ca_file)) {
		err_set("cannot create an HTTP client for '%s'", base_url);
		http_client_free(c);
		return NULL;
	}
	/* "URL[,URL...]": each trimmed of blanks and trailing slashes */
	for (const char *p = base_url; *p;) {
		size_t n = strcspn(p, ",");
		char *b;

		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' ||
				 p[n - 1] == '/'))
			n--;
		if (n > 0) {
			if (c->nbases == HTTP_BASES_MAX) {
				err_set("'%s' lists more than %d controller "
					"URLs", base_url, HTTP_BASES_MAX);
				http_client_free(c);
				return NULL;
			}
			b = strndup(p, n);
			if (b == NULL) {
				err_set("out of memory");
				http_client_free(c);
				return NULL;
			}
			c->bases[c->nbases++] = b;
		}
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	if (c->nbases == 0 && (c->bases[c->nbases++] = strdup("")) == NULL) {
		err_set("out of memory");
		http_client_free(c);
		return NULL;
	}
	c->base = c->bases[0];
	c->timeout_ms = 30000;
	c->max_body = 64 * 1024 * 1024;
	return c;
}

void http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	for (size_t i = 0; i < c->nbases; i++)
		free(c->bases[i]);
	free(c->token);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	free(c);
}

int http_client_set_tls(struct http_client *c, const struct http_tls *tls)
{
	const struct http_tls none = {NULL, NULL, NULL};
	const char *src[3];
	char **dst[3] = {&c->ca_file, &c->cert_file, &c->key_file};
	char *copy[3] = {NULL, NULL, NULL};
	bool failed = false;

	if (tls == NULL)
		tls = &none;
	src[0] = tls->ca_file;
	src[1] = tls->cert_file;
	src[2] = tls->key_file;
	if ((src[1] && src[1][0]) != (src[2] && src[2][0]))
		return err_set("a client certificate needs both cert_file and "
			       "key_file");
	for (int i = 0; i < 3; i++)
		if (src[i] && src[i][0] && (copy[i] = strdup(src[i])) == NULL)
			failed = true;
	/* all or nothing: on failure the copies go, the old paths stay */
	for (int i = 0; i < 3; i++) {
		free(failed ? copy[i] : *dst[i]);
		if (!failed)
			*dst[i] = copy[i];
	}
	return failed ? err_set("out of memory") : 0;
}

int http_client_set_token(struct http_client *c, const char *token)
{
	char *t = token ? strdup(token) : NULL;

	if (token && t == NULL)
		return err_set("out of memory");
	free(c->token);
	c->token = t;
	return 0;
}

int http_client_set_header(struct http_client *c, const char *line)
{
	if (line && strlen(line) >= sizeof(c->header))
		return err_set("header '%.40s...' is too long", line);
	str_copy(c->header, sizeof(c->header), line ? line : "");
	return 0;
}

void http_client_set_timeout(struct http_client *c, long timeout_ms)
{
	c->timeout_ms = timeout_ms;
}

void http_client_set_max_body(struct http_client *c, size_t max)
{
	c->max_body = max;
}


/* What one transfer writes and reads beyond the JSON of a request. */
struct xfer {
	struct http_client *c;
	struct buf body;                  /* the answer (an error's, for a
					     stream) */
	const struct http_stream *st;     /* NULL: a JSON request */
	int64_t done;                     /* stream bytes so far */
	bool sink_failed;
};

/* Reset the handle for a request to url: what every request of c shares
 * (the connection, TLS). */
static void connection_setup(struct http_client *c, const char *url)
{
	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c->ca_file)
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->ca_file);
	if (c->cert_file) {
		curl_easy_setopt(c->curl, CURLOPT_SSLCERT, c->cert_file);
		curl_easy_setopt(c->curl, CURLOPT_SSLKEY, c->key_file);
	}
}

/* Move body into resp. 0, or -1 with err_set(). */
static int response_take(struct http_response *resp, struct buf *body)
{
	resp->len = body->len;
	resp->body = buf_detach(body);
	if (resp->body == NULL)
		return err_set("out of memory");
	return 0;
}

static size_t http_write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	long code = 0;

	if (x->st && x->st->sink) {
		curl_easy_getinfo(x->c->curl, CURLINFO_RESPONSE_CODE, &code);
		if (code >= 200 && code < 300) {
			if (x->st->sink(x->st->ud, ptr, n) < 0) {
				x->sink_failed = true;
				return 0;
			}
			x->done += (int64_t)n;
			if (x->st->progress)
				x->st->progress(x->st->ud, x->done,
						x->st->size);
			return n;
		}
	}
	if (buf_append(&x->body, ptr, n) < 0)
		return 0; /* makes curl fail with CURLE_WRITE_ERROR */
	return n;
}

/* An upload's bytes, read from its descriptor. */
static size_t http_read_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	ssize_t n;

	do
		n = read(x->st->in_fd, ptr, size * nmemb);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return CURL_READFUNC_ABORT;
	x->done += n;
	if (x->st->progress)
		x->st->progress(x->st->ud, x->done, x->st->size);
	return (size_t)n;
}

/* Send METHOD base+path: a JSON body (json_body), an upload or a
 * download (st), or neither. *curl_rc: curl's result. */
static int perform_one(struct http_client *c, const char *method,
		       const char *path, const char *json_body,
		       const struct http_stream *st,
		       struct http_response *resp, CURLcode *curl_rc)
{
	struct curl_slist *headers = NULL;
	char url[4096], auth[1024], ctype[160];
	struct xfer x = {.c = c, .st = st};
	CURLcode rc;
	int ret = -1;

	memset(resp, 0, sizeof(*resp));
	buf_init(&x.body, c->max_body);
	if (snprintf(url, sizeof(url), "%s%s", c->base, path) >=
	    (int)sizeof(url))
		return err_set("URL '%s%s' is too long", c->base, path);
	connection_setup(c, url);
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	if (st) {
		/* a stream takes as long as it takes while it moves: it
		 * fails only when nothing moved for a minute */
		curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_TIME, 60L);
		/* the receive buffer curl's own tool uses (100 KiB, not
		 * libcurl's 16): fewer, larger pieces for the sink */
		curl_easy_setopt(c->curl, CURLOPT_BUFFERSIZE, 100L * 1024);
	} else {
		curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	}
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &x);
	headers = curl_slist_append(headers, "Accept: application/json");
	if (c->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
			 c->token);
		headers = curl_slist_append(headers, auth);
	}
	if (c->header[0])
		headers = curl_slist_append(headers, c->header);
	if (json_body) {
		headers = curl_slist_append(headers,
					    "Content-Type: application/json");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, json_body);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE,
				 (long)strlen(json_body));
	} else if (st && st->in_fd >= 0) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s",
			 st->content_type ? st->content_type
					  : "application/octet-stream");
		headers = curl_slist_append(headers, ctype);
		/* the server may refuse the upload from its headers (401,
		 * 403, 413) before a byte of it is sent */
		headers = curl_slist_append(headers, "Expect: 100-continue");
		curl_easy_setopt(c->curl, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c->curl, CURLOPT_READFUNCTION, http_read_cb);
		curl_easy_setopt(c->curl, CURLOPT_READDATA, &x);
		curl_easy_setopt(c->curl, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)st->size);
	} else if (strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, 0L);
	}
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
	rc = curl_easy_perform(c->curl);
	*curl_rc = rc;
	/* a server may answer an upload before it has read it all (a 401,
	 * a 413) and close: its answer counts, not the broken send */
	if (rc == CURLE_SEND_ERROR && st && st->in_fd >= 0 &&
	    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE,
			      &resp->status) == CURLE_OK && resp->status >= 400)
		rc = CURLE_OK;
	if (rc != CURLE_OK) {
		if (x.sink_failed)
			err_prefix("%s %s", method, url);
		else if (rc == CURLE_WRITE_ERROR)
			err_set("%s %s: response body exceeds the %zu-byte "
				"limit",
				method, url, c->max_body);
		else
			err_set("%s %s: %s", method, url,
				curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	ret = response_take(resp, &x.body);
out:
	curl_slist_free_all(headers);
	buf_free(&x.body);
	return ret;
}

/* Whether a request that ended so (ret and curl_rc from perform_one(),
 * resp on 0) may go to the next controller: no answer came (a stream
 * only when it never connected: its bytes cannot be sent again), or an
 * answer 5xx (not a stream's); never an answer too large, or a stream's
 * sink that refused. */
static bool fail_over(int ret, CURLcode curl_rc, const struct http_stream *st,
		      const struct http_response *resp)
{
	if (ret == 0)
		return st == NULL && resp->status >= 500;
	if (curl_rc == CURLE_COULDNT_CONNECT ||
	    curl_rc == CURLE_COULDNT_RESOLVE_HOST)
		return true;
	return st == NULL && curl_rc != CURLE_OK &&
	       curl_rc != CURLE_WRITE_ERROR;
}

/* perform_one() on the current controller, then on each next one while
 * fail_over() says so; the one that answered stays current. */
static int perform(struct http_client *c, const char *method,
		   const char *path, const char *json_body,
		   const struct http_stream *st, struct http_response *resp)
{
	int ret = -1;

	for (size_t i = 0; i < c->nbases; i++) {
		CURLcode curl_rc = CURLE_OK;

		if (i > 0) {
			c->cur = (c->cur + 1) % c->nbases;
			c->base = c->bases[c->cur];
			http_response_free(resp);
		}
		ret = perform_one(c, method, path, json_body, st, resp,
				  &curl_rc);
		if (!fail_over(ret, curl_rc, st, resp))
			break;
	}
	if (ret < 0 && c->nbases > 1)
		err_prefix("none of the %zu controllers answered; the last",
			   c->nbases);
	return ret;
}

const char *http_client_base(const struct http_client *c)
{
	return c->base;
}

int http_client_request(struct http_client *c, const char *method,
			const char *path, const char *json_body,
			struct http_response *resp)
{
	return perform(c, method, path, json_body, NULL, resp);
}

int http_client_stream(struct http_client *c, const char *method,
		       const char *path, const struct http_stream *st,
		       struct http_response *resp)
{
	return perform(c, method, path, NULL, st, resp);
}

void http_response_free(struct http_response *resp)
{
	if (resp == NULL)
		return;
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}

/* ------------------------------------------------------------ upgrades */

/* The head of an upgrade answer (status line and headers) is at most
 * this long. */
#define STREAM_HEAD_MAX 16384

struct http_tunnel {
	struct http_client *c;
	int fd;
	/* bytes that came with the answer's head, handed out first */
	char *early;
	size_t nearly, off;
};

/* Wait until fd is ready for events or timeout_ms pass: 1, 0 on time
 * out, -1 with err_set(). */
static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = events};
	int rc;

	do
		rc = poll(&p, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return err_set_errno(errno, "poll");
	return rc;
}

int http_tunnel_fd(const struct http_tunnel *s)
{
	return s->fd;
}

ssize_t http_tunnel_recv(struct http_tunnel *s, void *buf, size_t len)
{
	size_t n = 0;
	CURLcode rc;

	if (s->off < s->nearly) {
		n = s->nearly - s->off < len ? s->nearly - s->off : len;
		memcpy(buf, s->early + s->off, n);
		s->off += n;
		return (ssize_t)n;
	}
	rc = curl_easy_recv(s->c->curl, buf, len, &n);
	if (rc == CURLE_AGAIN)
		return -2;
	if (rc != CURLE_OK) {
		err_set("reading the stream: %s", curl_easy_strerror(rc));
		return -1;
	}
	return (ssize_t)n;
}

int http_tunnel_send(struct http_tunnel *s, const void *buf, size_t len,
		     int timeout_ms)
{
	const char *p = buf;

	while (len > 0) {
		size_t n = 0;
		CURLcode rc = curl_easy_send(s->c->curl, p, len, &n);

		if (rc == CURLE_AGAIN) {
			int w = wait_fd(s->fd, POLLOUT, timeout_ms);

			if (w < 0)
				return -1;
			if (w == 0)
				return err_set("the peer takes no data (%d ms)",
					       timeout_ms);
			continue;
		}
		if (rc != CURLE_OK)
			return err_set("writing the stream: %s",
				       curl_easy_strerror(rc));
		p += n;
		len -= n;
	}
	return 0;
}

void http_tunnel_close(struct http_tunnel *s)
{
	if (s == NULL)
		return;
	/* the CONNECT_ONLY connection is not reused: reset closes it */
	curl_easy_reset(s->c->curl);
	free(s->early);
	free(s);
}

/* Up to len bytes of s into buf, waiting until deadline_ns (monotonic)
 * for some: the count, 0 at the end, -1 with err_set() (also when the
 * time is up). */
static ssize_t recv_by(struct http_tunnel *s, char *buf, size_t len,
		       uint64_t deadline_ns)
{
	for (;;) {
		uint64_t now = time_mono_ns();
		ssize_t n;

		if (now >= deadline_ns)
			return err_set("no answer in time");
		n = http_tunnel_recv(s, buf, len);
		if (n != -2)
			return n;
		if (wait_fd(s->fd, POLLIN,
			    (int)((deadline_ns - now) / 1000000) + 1) < 0)
			return -1;
	}
}

/* Read from s until the answer's head is complete into head: the length
 * of the head (through its empty line), or -1 with err_set(). Bytes past
 * it stay in head after it (head->len in all). */
static ssize_t read_head(struct http_tunnel *s, struct buf *head,
			 uint64_t deadline_ns)
{
	char tmp[4096];

	for (;;) {
		const char *end = head->data ? strstr(head->data, "\r\n\r\n")
					     : NULL;
		ssize_t n;

		if (end)
			return end + 4 - head->data;
		n = recv_by(s, tmp, sizeof(tmp), deadline_ns);
		if (n < 0)
			return -1;
		if (n == 0)
			return err_set("the connection closed before the answer");
		if (buf_append(head, tmp, (size_t)n) < 0)
			return err_set("the answer's head is over %d bytes",
				       STREAM_HEAD_MAX);
	}
}

/* The value of header name (case-insensitive) in head, as an integer;
 * -1 when absent. */
static int64_t head_int(const char *head, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
		int64_t v;

		if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
			char val[32];

			snprintf(val, sizeof(val), "%.*s",
				 (int)strcspn(p + 3 + nl, "\r"), p + 3 + nl);
			if (parse_int64(str_trim(val), &v) == 0)
				return v;
		}
	}
	return -1;
}

/* The rest of a refusal's body (Content-Length bytes in all, have of them
 * in body already) into body. */
static int read_body(struct http_tunnel *s, struct buf *body, int64_t want,
		     uint64_t deadline_ns)
{
	char tmp[4096];

	while ((int64_t)body->len < want) {
		ssize_t n = recv_by(s, tmp, sizeof(tmp), deadline_ns);

		if (n <= 0)
			return n < 0 ? -1 : err_set("the answer ended early");
		if (buf_append(body, tmp, (size_t)n) < 0)
			return err_set("the answer's body exceeds the "
				       "%zu-byte limit", s->c->max_body);
	}
	return 0;
}

int http_client_upgrade(struct http_client *c, const char *path,
			const char *protocol, struct http_response *resp,
			struct http_tunnel **out)
{
	char url[4096], hostport[512];
	const char *host;
	uint64_t deadline = time_mono_ns() + (uint64_t)c->timeout_ms * 1000000;
	struct http_tunnel *s = NULL;
	struct buf req, head, body;
	curl_socket_t sock;
	ssize_t hlen;
	long status;
	CURLcode rc;
	int ret = -1;

	memset(resp, 0, sizeof(*resp));
	*out = NULL;
	buf_init(&req, 8192);
	buf_init(&head, STREAM_HEAD_MAX);
	buf_init(&body, c->max_body);
	if (snprintf(url, sizeof(url), "%s%s", c->base, path) >=
	    (int)sizeof(url))
		return err_set("URL '%s%s' is too long", c->base, path);
	host = strstr(c->base, "://");
	host = host ? host + 3 : c->base;
	snprintf(hostport, sizeof(hostport), "%.*s", (int)strcspn(host, "/"),
		 host);
	/* the same connection as a request's (TLS included), which curl
	 * opens and hands over: the request goes by curl_easy_send() */
	connection_setup(c, url);
	curl_easy_setopt(c->curl, CURLOPT_CONNECT_ONLY, 1L);
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		err_set("out of memory");
		goto out;
	}
	s->c = c;
	rc = curl_easy_perform(c->curl);
	if (rc != CURLE_OK ||
	    curl_easy_getinfo(c->curl, CURLINFO_ACTIVESOCKET, &sock) !=
		    CURLE_OK ||
	    sock == CURL_SOCKET_BAD) {
		err_set("GET %s: %s", url, curl_easy_strerror(rc));
		goto out;
	}
	s->fd = (int)sock;
	buf_printf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade"
		   "\r\nUpgrade: %s\r\nAccept: application/json\r\n", path,
		   hostport, protocol);
	if (c->token)
		buf_printf(&req, "Authorization: Bearer %s\r\n", c->token);
	if (c->header[0])
		buf_printf(&req, "%s\r\n", c->header);
	if (buf_puts(&req, "\r\n") < 0 ||
	    http_tunnel_send(s, req.data, req.len, c->timeout_ms) < 0 ||
	    (hlen = read_head(s, &head, deadline)) < 0) {
		err_prefix("GET %s", url);
		goto out;
	}
	if (sscanf(head.data, "HTTP/1.%*d %ld", &status) != 1) {
		err_set("GET %s: the answer is not HTTP", url);
		goto out;
	}
	resp->status = status;
	if (status == 101) {
		s->nearly = head.len - (size_t)hlen;
		s->early = s->nearly ? malloc(s->nearly) : NULL;
		if (s->nearly && s->early == NULL) {
			err_set("out of memory");
			goto out;
		}
		if (s->nearly)
			memcpy(s->early, head.data + hlen, s->nearly);
		*out = s;
		s = NULL;
		ret = 0;
		goto out;
	}
	if (buf_append(&body, head.data + hlen, head.len - (size_t)hlen) < 0 ||
	    read_body(s, &body, head_int(head.data, "Content-Length"),
		      deadline) < 0) {
		err_prefix("GET %s", url);
		goto out;
	}
	ret = response_take(resp, &body);
out:
	http_tunnel_close(s);
	buf_free(&req);
	buf_free(&head);
	buf_free(&body);
	return ret;
}

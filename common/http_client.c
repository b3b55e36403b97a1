#include <curl/curl.h>
#include <pthread.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/http_client.h"
#include "common/util.h"

struct http_client {
	CURL *curl;
	char *base;
	char *token;
	char *ca_file;
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
	size_t len;

	pthread_once(&curl_once, curl_init_once);
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		err_set("out of memory");
		return NULL;
	}
	c->curl = curl_easy_init();
	c->base = strdup(base_url);
	c->token = token ? strdup(token) : NULL;
	c->ca_file = ca_file ? strdup(ca_file) : NULL;
	if (c->curl == NULL || c->base == NULL || (token && !c->token) ||
	    (ca_file && !c->ca_file)) {
		err_set("cannot create an HTTP client for '%s'", base_url);
		http_client_free(c);
		return NULL;
	}
	len = strlen(c->base);
	while (len > 0 && c->base[len - 1] == '/')
		c->base[--len] = '\0';
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
	free(c->base);
	free(c->token);
	free(c->ca_file);
	free(c);
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
 * download (st), or neither. */
static int perform(struct http_client *c, const char *method,
		   const char *path, const char *json_body,
		   const struct http_stream *st, struct http_response *resp)
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
	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	if (st) {
		/* a stream takes as long as it takes while it moves: it
		 * fails only when nothing moved for a minute */
		curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_TIME, 60L);
	} else {
		curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	}
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &x);
	if (c->ca_file)
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->ca_file);
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
	resp->len = x.body.len;
	resp->body = buf_detach(&x.body);
	if (resp->body == NULL)
		resp->body = strdup("");
	if (resp->body == NULL) {
		err_set("out of memory");
		goto out;
	}
	ret = 0;
out:
	curl_slist_free_all(headers);
	buf_free(&x.body);
	return ret;
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

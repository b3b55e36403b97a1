#include <curl/curl.h>
#include <pthread.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/http_client.h"
#include "common/util.h"

struct http_client {
	CURL *curl;
	char *base;
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

static size_t http_write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;

	if (buf_append(b, ptr, size * nmemb) < 0)
		return 0; /* makes curl fail with CURLE_WRITE_ERROR */
	return size * nmemb;
}

int http_client_request(struct http_client *c, const char *method,
			const char *path, const char *json_body,
			struct http_response *resp)
{
	struct curl_slist *headers = NULL;
	char url[4096], auth[1024];
	struct buf body;
	CURLcode rc;
	int ret = -1;

	memset(resp, 0, sizeof(*resp));
	buf_init(&body, c->max_body);
	if (snprintf(url, sizeof(url), "%s%s", c->base, path) >=
	    (int)sizeof(url))
		return err_set("URL '%s%s' is too long", c->base, path);
	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &body);
	if (c->ca_file)
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->ca_file);
	if (c->cert_file) {
		curl_easy_setopt(c->curl, CURLOPT_SSLCERT, c->cert_file);
		curl_easy_setopt(c->curl, CURLOPT_SSLKEY, c->key_file);
	}
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
	} else if (strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, 0L);
	}
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
	rc = curl_easy_perform(c->curl);
	if (rc != CURLE_OK) {
		if (rc == CURLE_WRITE_ERROR)
			err_set("%s %s: response body exceeds the %zu-byte "
				"limit",
				method, url, c->max_body);
		else
			err_set("%s %s: %s", method, url,
				curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->len = body.len;
	resp->body = buf_detach(&body);
	if (resp->body == NULL) {
		err_set("out of memory");
		goto out;
	}
	ret = 0;
out:
	curl_slist_free_all(headers);
	buf_free(&body);
	return ret;
}

void http_response_free(struct http_response *resp)
{
	if (resp == NULL)
		return;
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}

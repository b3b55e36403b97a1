/*
 * http_client.h - a small JSON-over-HTTP client on libcurl, used by the
 * agent and by finctl to talk to the controller.
 *
 * One struct http_client holds one curl handle, so a client reuses its
 * connection between requests; it is not thread-safe (one per thread).
 * Response bodies are capped: a larger body fails the request.
 */
#ifndef FC_HTTP_CLIENT_H
#define FC_HTTP_CLIENT_H

#include "common/fc.h"

struct http_client;

struct http_response {
	long status;  /* HTTP status; 0 when no response arrived */
	char *body;   /* NUL-terminated, owned by the response */
	size_t len;
};

/* The TLS files of a client (PEM paths; NULL or "" when unused): ca_file,
 * the CAs that verify the server (unset: the system's); cert_file and
 * key_file, the client's own certificate and key, sent when the server
 * asks (both or neither). */
struct http_tls {
	const char *ca_file;
	const char *cert_file;
	const char *key_file;
};

/* base_url: "http://127.0.0.1:8740" (no trailing slash needed).
 * token: bearer token or NULL. ca_file: PEM bundle for https, or NULL.
 * Strings are copied. NULL on failure (err_set). */
struct http_client *http_client_new(const char *base_url, const char *token,
				    const char *ca_file);
void http_client_free(struct http_client *c);
/* Use tls (its paths copied; NULL: none) from the next request on: it
 * replaces the ca_file given to http_client_new(). 0, or -1 with
 * err_set() when out of memory or only one of cert_file and key_file is
 * set. */
int http_client_set_tls(struct http_client *c, const struct http_tls *tls);
int http_client_set_token(struct http_client *c, const char *token);
void http_client_set_timeout(struct http_client *c, long timeout_ms);
void http_client_set_max_body(struct http_client *c, size_t max);
/* One more header line ("Name: value", copied, under 512 bytes) for the
 * requests that follow, until the next call; NULL sends none. 0, or -1
 * with err_set() when it is too long. */
int http_client_set_header(struct http_client *c, const char *line);

/* Send METHOD base_url+path with an optional JSON body. Returns 0 when a
 * response arrived (whatever its status), -1 with err_set() naming the URL
 * when none did (refused, timed out, too large). resp is filled on 0 and
 * must be released with http_response_free(). */
int http_client_request(struct http_client *c, const char *method,
			const char *path, const char *json_body,
			struct http_response *resp);

void http_response_free(struct http_response *resp);

#endif

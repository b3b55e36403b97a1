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

/* base_url: "http://127.0.0.1:8740" (no trailing slash needed).
 * token: bearer token or NULL. ca_file: PEM bundle for https, or NULL.
 * Strings are copied. NULL on failure (err_set). */
struct http_client *http_client_new(const char *base_url, const char *token,
				    const char *ca_file);
void http_client_free(struct http_client *c);
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

/* A connection switched to another protocol (HTTP Upgrade, 101): raw
 * bytes both ways over the client's connection, TLS included. */
struct http_stream;

/* Send "GET base_url+path" with Connection: Upgrade and Upgrade:
 * protocol on a connection of its own (libcurl CONNECT_ONLY, so https
 * works the same). Returns 0 when an answer arrived: with status 101 in
 * resp->status, *out is the stream (the caller ends it with
 * http_stream_close() before it uses c again); with any other status
 * *out is NULL and resp holds the answer's body (at most the client's
 * body limit; release it with http_response_free()). -1 with err_set()
 * naming the URL when no answer came within the client's timeout. */
int http_client_upgrade(struct http_client *c, const char *path,
			const char *protocol, struct http_response *resp,
			struct http_stream **out);

/* The socket to poll() for input (POLLIN) before http_stream_recv(). */
int http_stream_fd(const struct http_stream *s);

/* Up to len bytes into buf without waiting: the count (> 0), 0 at the end
 * of the stream, -1 with err_set() on an error, -2 when nothing is there
 * now. Call it until -2 before polling again: TLS may hold bytes that the
 * socket no longer shows. */
ssize_t http_stream_recv(struct http_stream *s, void *buf, size_t len);

/* Send len bytes of buf, waiting at most timeout_ms while the peer does
 * not take them. 0, or -1 with err_set(). */
int http_stream_send(struct http_stream *s, const void *buf, size_t len,
		     int timeout_ms);

/* End the stream (its connection is closed); NULL is fine. */
void http_stream_close(struct http_stream *s);

#endif

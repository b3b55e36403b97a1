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

/* base_url: "http://127.0.0.1:8740" (no trailing slash needed), or
 * several controllers' URLs separated by commas (at most 8):
 * "https://c1:8740,https://c2:8740". Requests go to one of them, the
 * first at the start; when none answers (refused, unreachable, timed out,
 * cut) or it answers 5xx, the same request goes to the next, each tried
 * once, and the one that answered is used from then on. A 4xx answer is
 * final. A stream (http_client_stream()) moves on only when it could not
 * connect; an upgrade (http_client_upgrade()) goes to the current one.
 * The request a controller may have carried out before it broke off is
 * sent again: make it idempotent (creates carry an Idempotency-Key).
 * token: bearer token or NULL. ca_file: PEM bundle for https, or NULL.
 * Strings are copied. NULL on failure (err_set). */
struct http_client *http_client_new(const char *base_url, const char *token,
				    const char *ca_file);
void http_client_free(struct http_client *c);
/* The controller's URL requests go to now (one of base_url's; owned by
 * c, valid until the next request). */
const char *http_client_base(const struct http_client *c);
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

/* A request whose body or answer is a stream of bytes, not JSON. */
struct http_stream {
	/* upload: size bytes read from in_fd (-1: no body) with this
	 * Content-Type (NULL: application/octet-stream) */
	int in_fd;
	const char *content_type;
	int64_t size;       /* the upload's, or the download's expected
			       size for progress (0: unknown) */
	/* download: each piece of a 2xx answer goes to sink (0 to go on,
	 * -1 with err_set() to abort the transfer); NULL keeps it in the
	 * response like any answer (capped) */
	int (*sink)(void *ud, const void *data, size_t len);
	/* both: bytes moved so far of total (0: unknown); may be NULL */
	void (*progress)(void *ud, int64_t done, int64_t total);
	void *ud;
};

/* Send METHOD base_url+path streaming st's upload or download, without
 * a total time limit: it fails when nothing moved for 60 s. An answer
 * that is not 2xx (an error's JSON) goes to resp as with
 * http_client_request(). Returns 0 when a response arrived, -1 with
 * err_set() otherwise (also when st->sink refused a piece: its message,
 * with the URL in front). */
int http_client_stream(struct http_client *c, const char *method,
		       const char *path, const struct http_stream *st,
		       struct http_response *resp);

void http_response_free(struct http_response *resp);

/* A connection switched to another protocol (HTTP Upgrade, 101): raw
 * bytes both ways over the client's connection, TLS included. */
struct http_tunnel;

/* Send "GET base_url+path" with Connection: Upgrade and Upgrade:
 * protocol on a connection of its own (libcurl CONNECT_ONLY, so https
 * works the same). Returns 0 when an answer arrived: with status 101 in
 * resp->status, *out is the stream (the caller ends it with
 * http_tunnel_close() before it uses c again); with any other status
 * *out is NULL and resp holds the answer's body (at most the client's
 * body limit; release it with http_response_free()). -1 with err_set()
 * naming the URL when no answer came within the client's timeout. */
int http_client_upgrade(struct http_client *c, const char *path,
			const char *protocol, struct http_response *resp,
			struct http_tunnel **out);

/* The socket to poll() for input (POLLIN) before http_tunnel_recv(). */
int http_tunnel_fd(const struct http_tunnel *s);

/* Up to len bytes into buf without waiting: the count (> 0), 0 at the end
 * of the stream, -1 with err_set() on an error, -2 when nothing is there
 * now. Call it until -2 before polling again: TLS may hold bytes that the
 * socket no longer shows. */
ssize_t http_tunnel_recv(struct http_tunnel *s, void *buf, size_t len);

/* Send len bytes of buf, waiting at most timeout_ms while the peer does
 * not take them. 0, or -1 with err_set(). */
int http_tunnel_send(struct http_tunnel *s, const void *buf, size_t len,
		     int timeout_ms);

/* End the stream (its connection is closed); NULL is fine. */
void http_tunnel_close(struct http_tunnel *s);

#endif

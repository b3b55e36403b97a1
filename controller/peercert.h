/*
 * peercert.h - a node's identity is its client certificate.
 *
 * On the port that serves the agents, with tls_ca set, the controller
 * asks every TLS client for a certificate (libmicrohttpd with
 * MHD_OPTION_HTTPS_MEM_TRUST). peercert_read() verifies the one a
 * connection presented: it must chain to tls_ca, be within its validity
 * period and carry the TLS client purpose; its CN is the node name the
 * client may act for. peercert_check() is the decision every agent route
 * (register, heartbeat / long-poll, events) applies to the node the
 * request acts for: with require_client_cert, a request without such a
 * certificate, or whose certificate names another node, is refused, so a
 * valid certificate of node1 cannot act as node2 even with node2's
 * credential. See docs/security.md.
 */
#ifndef FC_CTRL_PEERCERT_H
#define FC_CTRL_PEERCERT_H

#include "common/fc.h"

/* What a connection's TLS client presented. */
enum peercert_state {
	PEERCERT_NONE,    /* no TLS, or no certificate */
	PEERCERT_INVALID, /* presented, refused: why says so */
	PEERCERT_VALID,   /* verified: cn is the node it may act for */
};

#define PEERCERT_CN_MAX 64

struct peercert {
	enum peercert_state state;
	char cn[PEERCERT_CN_MAX + 1];
	char why[160];
};

/* Read and verify the client certificate of session (a gnutls_session_t
 * of a connection whose credentials carry the trusted CA; NULL: a
 * connection without TLS) into *out: never fails, a certificate that
 * does not verify is PEERCERT_INVALID with the reason in out->why
 * (expired, not signed by the CA, not for TLS clients, no CN). */
void peercert_read(void *session, struct peercert *out);

/* Whether a request from a client that presented p (NULL: none) may act
 * for node: 0 when required is false, or p is PEERCERT_VALID with CN
 * node; -1 with err_set() saying why and what to do otherwise. */
int peercert_check(const struct peercert *p, bool required, const char *node);

#endif

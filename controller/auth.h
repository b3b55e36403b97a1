/*
 * auth.h - bearer tokens and roles.
 *
 * A token is "fc_" followed by 64 hex digits of kernel randomness. The
 * controller keeps only its SHA-256 (hex) and an id; the secret itself is
 * shown once, when the token is created (or, for the first admin token,
 * written to a 0600 file). SHA-256 comes from libcrypto (OpenSSL EVP).
 */
#ifndef FC_CTRL_AUTH_H
#define FC_CTRL_AUTH_H

#include "common/fc.h"

#define AUTH_TOKEN_LEN 67   /* "fc_" + 64 hex */
#define AUTH_HASH_LEN 64    /* SHA-256 as hex */

enum auth_role {
	ROLE_NONE = 0,
	ROLE_ADMIN = 1 << 0,
	ROLE_OPERATOR = 1 << 1,
	ROLE_TENANT = 1 << 2,
	ROLE_VIEWER = 1 << 3,
	ROLE_AGENT = 1 << 4,
	ROLE_JOIN = 1 << 5,
};

/* "admin" ... "join" -> role; ROLE_NONE for anything else. */
enum auth_role auth_role_parse(const char *name);
const char *auth_role_name(enum auth_role role);

/* SHA-256 of len bytes of data as 64 lowercase hex digits + NUL. */
int auth_sha256_hex(const void *data, size_t len,
		    char out[AUTH_HASH_LEN + 1]);

/* A new secret token into token and its hash into hash. */
int auth_token_new(char token[AUTH_TOKEN_LEN + 1],
		   char hash[AUTH_HASH_LEN + 1]);

/* The token in an "Authorization: Bearer T" header value, or NULL when the
 * header is missing or not a bearer token. Points into header. */
const char *auth_bearer(const char *header);

/* Compare two NUL-terminated strings in time that depends only on their
 * lengths. */
bool auth_equal(const char *a, const char *b);

#endif

#include <openssl/evp.h>

#include "common/err.h"
#include "common/util.h"
#include "controller/auth.h"

static const struct {
	enum auth_role role;
	const char *name;
} role_names[] = {
	{ROLE_ADMIN, "admin"},   {ROLE_OPERATOR, "operator"},
	{ROLE_TENANT, "tenant"}, {ROLE_VIEWER, "viewer"},
	{ROLE_AGENT, "agent"},   {ROLE_JOIN, "join"},
};

enum auth_role auth_role_parse(const char *name)
{
	for (size_t i = 0; name && i < FC_ARRAY_LEN(role_names); i++)
		if (strcmp(role_names[i].name, name) == 0)
			return role_names[i].role;
	return ROLE_NONE;
}

const char *auth_role_name(enum auth_role role)
{
	for (size_t i = 0; i < FC_ARRAY_LEN(role_names); i++)
		if (role_names[i].role == role)
			return role_names[i].name;
	return "none";
}

int auth_sha256_hex(const void *data, size_t len, char out[AUTH_HASH_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		return err_set("SHA-256 failed in libcrypto");
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int auth_token_new(char token[AUTH_TOKEN_LEN + 1], char hash[AUTH_HASH_LEN + 1])
{
	char hex[65];

	if (random_hex(hex, sizeof(hex), 32) < 0)
		return -1;
	snprintf(token, AUTH_TOKEN_LEN + 1, "fc_%s", hex);
	return auth_sha256_hex(token, strlen(token), hash);
}

const char *auth_bearer(const char *header)
{
	if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
		return NULL;
	header += 7;
	while (*header == ' ')
		header++;
	return *header ? header : NULL;
}

bool auth_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

#include <openssl/evp.h>
#include <unistd.h>

#include "agents/agent_fetchsink.h"
#include "common/err.h"
#include "common/util.h"

struct agent_fetchsink {
	int fd;
	char what[512];
	EVP_MD_CTX *md;
};

struct agent_fetchsink *agent_fetchsink_new(int fd, const char *what)
{
	struct agent_fetchsink *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		err_set("out of memory");
		return NULL;
	}
	s->fd = fd;
	str_copy(s->what, sizeof(s->what), what);
	s->md = EVP_MD_CTX_new();
	if (s->md == NULL || EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1) {
		err_set("cannot start a SHA-256 digest");
		agent_fetchsink_free(s);
		return NULL;
	}
	return s;
}

int agent_fetchsink_put(void *ud, const void *data, size_t len)
{
	struct agent_fetchsink *s = ud;
	const unsigned char *d = data;
	size_t off = 0;

	if (EVP_DigestUpdate(s->md, d, len) != 1)
		return err_set("cannot hash '%s'", s->what);
	while (off < len) {
		ssize_t w = write(s->fd, d + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return err_set_errno(errno, "cannot write '%s'",
					     s->what);
		off += (size_t)w;
	}
	return 0;
}

int agent_fetchsink_finish(struct agent_fetchsink *s,
			   char hex[AGENT_FETCHSINK_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_DigestFinal_ex(s->md, md, &mdlen) != 1 || mdlen != 32)
		return err_set("cannot hash '%s'", s->what);
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

void agent_fetchsink_free(struct agent_fetchsink *s)
{
	if (s == NULL)
		return;
	EVP_MD_CTX_free(s->md);
	free(s);
}

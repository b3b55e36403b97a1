#include <openssl/evp.h>
#include <pthread.h>
#include <unistd.h>

#include "agents/agent_fetchpipe.h"
#include "common/err.h"
#include "common/util.h"

#define PIPE_BUFS 4
#define PIPE_CHUNK ((size_t)1 << 20)

/*
 * The receiver fills buf[filled % PIPE_BUFS] without the lock: the
 * writer only touches the slots drained .. filled - 1, and the receiver
 * moves on to a slot only once filled - drained < PIPE_BUFS. Counters,
 * len[] of handed-over slots, closing, failed and err are under lock.
 */
struct agent_fetchpipe {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool started;
	int fd;
	char what[512];
	EVP_MD_CTX *md;
	unsigned char *buf[PIPE_BUFS];
	size_t len[PIPE_BUFS];
	uint64_t filled;    /* chunks handed to the writer */
	uint64_t drained;   /* chunks written and hashed */
	bool closing;       /* no more chunks come */
	bool failed;        /* the writer stopped on an error (err) */
	char err[ERR_MSG_MAX];
};

/* Write and hash n bytes of data (writer thread). -1 with err_set(). */
static int drain_one(struct agent_fetchpipe *p, const unsigned char *data,
		     size_t n)
{
	size_t off = 0;

	if (EVP_DigestUpdate(p->md, data, n) != 1)
		return err_set("cannot hash '%s'", p->what);
	while (off < n) {
		ssize_t w = write(p->fd, data + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return err_set_errno(errno, "cannot write '%s'",
					     p->what);
		off += (size_t)w;
	}
	return 0;
}

static void *writer(void *arg)
{
	struct agent_fetchpipe *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		size_t slot, n;
		int rc;

		while (p->drained == p->filled && !p->closing)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->drained == p->filled)
			break;
		slot = p->drained % PIPE_BUFS;
		n = p->len[slot];
		pthread_mutex_unlock(&p->lock);
		rc = drain_one(p, p->buf[slot], n);
		pthread_mutex_lock(&p->lock);
		if (rc < 0) {
			str_copy(p->err, sizeof(p->err), err_msg());
			p->failed = true;
			pthread_cond_broadcast(&p->cond);
			break;
		}
		p->len[slot] = 0;
		p->drained++;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct agent_fetchpipe *agent_fetchpipe_new(int fd, const char *what)
{
	struct agent_fetchpipe *p = calloc(1, sizeof(*p));
	int rc;

	if (p == NULL) {
		err_set("out of memory");
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->fd = fd;
	str_copy(p->what, sizeof(p->what), what);
	for (int i = 0; i < PIPE_BUFS; i++)
		if ((p->buf[i] = malloc(PIPE_CHUNK)) == NULL) {
			err_set("out of memory");
			goto fail;
		}
	p->md = EVP_MD_CTX_new();
	if (p->md == NULL || EVP_DigestInit_ex(p->md, EVP_sha256(), NULL) != 1) {
		err_set("cannot start a SHA-256 digest");
		goto fail;
	}
	rc = pthread_create(&p->thread, NULL, writer, p);
	if (rc != 0) {
		err_set_errno(rc, "cannot start the thread that writes '%s'",
			      what);
		goto fail;
	}
	p->started = true;
	return p;
fail:
	agent_fetchpipe_free(p);
	return NULL;
}

/* Hand the slot being filled to the writer and wait for a free one.
 * -1 with err_set() when the writer failed. */
static int hand_over(struct agent_fetchpipe *p)
{
	int ret = 0;

	pthread_mutex_lock(&p->lock);
	p->filled++;
	pthread_cond_broadcast(&p->cond);
	while (p->filled - p->drained == PIPE_BUFS && !p->failed)
		pthread_cond_wait(&p->cond, &p->lock);
	if (p->failed)
		ret = err_set("%s", p->err);
	pthread_mutex_unlock(&p->lock);
	return ret;
}

int agent_fetchpipe_put(void *ud, const void *data, size_t len)
{
	struct agent_fetchpipe *p = ud;
	const unsigned char *d = data;

	while (len > 0) {
		size_t slot = p->filled % PIPE_BUFS;
		size_t room = PIPE_CHUNK - p->len[slot];
		size_t n = len < room ? len : room;

		memcpy(p->buf[slot] + p->len[slot], d, n);
		p->len[slot] += n;
		d += n;
		len -= n;
		if (p->len[slot] == PIPE_CHUNK && hand_over(p) < 0)
			return -1;
	}
	return 0;
}

/* Let the writer drain what it was given and end; join it. */
static void stop(struct agent_fetchpipe *p)
{
	if (!p->started)
		return;
	pthread_mutex_lock(&p->lock);
	p->closing = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	p->started = false;
}

int agent_fetchpipe_finish(struct agent_fetchpipe *p,
			   char hex[AGENT_FETCHPIPE_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (p->len[p->filled % PIPE_BUFS] > 0 && hand_over(p) < 0)
		return -1;
	stop(p);
	if (p->failed)
		return err_set("%s", p->err);
	if (EVP_DigestFinal_ex(p->md, md, &mdlen) != 1 || mdlen != 32)
		return err_set("cannot hash '%s'", p->what);
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

void agent_fetchpipe_free(struct agent_fetchpipe *p)
{
	if (p == NULL)
		return;
	stop(p);
	for (int i = 0; i < PIPE_BUFS; i++)
		free(p->buf[i]);
	EVP_MD_CTX_free(p->md);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agents/agent_fetchsink.h"
#include "agents/agent_image.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

/* A fetch in progress: image_dir/sha256/.fetch-<hex>-XXXXXX. */
#define FETCH_PREFIX ".fetch-"

static bool sha_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == AGENT_SHA256_HEX;
}

static bool listed(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

size_t agent_image_evict_plan(struct agent_image_entry *e, size_t n,
			      int64_t max, int64_t need, int64_t *short_by)
{
	int64_t total = need;
	size_t marked = 0;

	for (size_t i = 0; i < n; i++) {
		e[i].evict = false;
		total += e[i].size;
	}
	while (total > max) {
		struct agent_image_entry *oldest = NULL;

		for (size_t i = 0; i < n; i++)
			if (!e[i].in_use && !e[i].evict &&
			    (oldest == NULL || e[i].used_ms < oldest->used_ms ||
			     (e[i].used_ms == oldest->used_ms &&
			      strcmp(e[i].sha256, oldest->sha256) < 0)))
				oldest = &e[i];
		if (oldest == NULL)
			break;
		oldest->evict = true;
		total -= oldest->size;
		marked++;
	}
	*short_by = total > max ? total - max : 0;
	return marked;
}

/* Remove what fetches of an earlier run left (none runs yet). */
static void remove_leftovers(const struct agent_image_cache *c)
{
	char path[4400];
	struct dirent *d;
	DIR *dir = opendir(c->dir);

	while (dir && (d = readdir(dir)) != NULL)
		if (strncmp(d->d_name, FETCH_PREFIX, strlen(FETCH_PREFIX)) == 0 &&
		    snprintf(path, sizeof(path), "%s/%s", c->dir, d->d_name) <
			    (int)sizeof(path))
			unlink(path);
	if (dir)
		closedir(dir);
}

int agent_image_cache_init(struct agent_image_cache *c, const char *image_dir,
			   int64_t max_bytes)
{
	memset(c, 0, sizeof(*c));
	c->max_bytes = max_bytes;
	if (snprintf(c->dir, sizeof(c->dir), "%s/sha256", image_dir) >=
	    (int)sizeof(c->dir))
		return err_set("image_dir '%s' is too long", image_dir);
	/* 0711 like storage_dir: QEMU, under its own user, opens the
	 * overlays' backing files by path; nobody lists them */
	if (dir_create(c->dir, 0711) < 0)
		return err_prefix("image cache");
	if (chmod(c->dir, 0711) < 0)
		return err_set_errno(errno, "image cache '%s'", c->dir);
	remove_leftovers(c);
	return 0;
}

void agent_image_cache_fini(struct agent_image_cache *c)
{
	free(c->good);
	c->good = NULL;
	c->ngood = 0;
}

int agent_image_path(const struct agent_image_cache *c, const char *sha256,
		     char *buf, size_t size)
{
	if (!sha_valid(sha256))
		return err_set("'%.80s' is not a SHA-256 digest", sha256);
	if (snprintf(buf, size, "%s/%s", c->dir, sha256) >= (int)size)
		return err_set("image cache '%s': path too long", c->dir);
	return 0;
}

/* The digest of what fd holds from its start, as hex. */
static int hash_fd(int fd, const char *what, char hex[AGENT_SHA256_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE], chunk[1 << 16];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int mdlen = 0;
	int ret = -1;
	ssize_t n;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		err_set("cannot start a SHA-256 digest");
		goto out;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set_errno(errno, "cannot read '%s'", what);
			goto out;
		}
		if (EVP_DigestUpdate(ctx, chunk, (size_t)n) != 1) {
			err_set("cannot hash '%s'", what);
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32) {
		err_set("cannot hash '%s'", what);
		goto out;
	}
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	ret = 0;
out:
	EVP_MD_CTX_free(ctx);
	return ret;
}

int agent_image_hash_file(const char *path, char hex[AGENT_SHA256_HEX + 1])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return err_set_errno(errno, "cannot open '%s'", path);
	ret = hash_fd(fd, path, hex);
	close(fd);
	return ret;
}

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* The remembered good state of sha256, or NULL. */
static struct agent_image_good *good_find(struct agent_image_cache *c,
					  const char *sha256)
{
	for (size_t i = 0; i < c->ngood; i++)
		if (strcmp(c->good[i].sha256, sha256) == 0)
			return &c->good[i];
	return NULL;
}

static void good_forget(struct agent_image_cache *c, const char *sha256)
{
	struct agent_image_good *g = good_find(c, sha256);

	if (g)
		*g = c->good[--c->ngood];
}

static int good_remember(struct agent_image_cache *c, const char *sha256,
			 const struct stat *st)
{
	struct agent_image_good *g = good_find(c, sha256), *grown;

	if (g == NULL) {
		grown = realloc(c->good, (c->ngood + 1) * sizeof(*grown));
		if (grown == NULL)
			return err_set("out of memory");
		c->good = grown;
		g = &c->good[c->ngood++];
	}
	str_copy(g->sha256, sizeof(g->sha256), sha256);
	g->dev = st->st_dev;
	g->ino = st->st_ino;
	g->size = (int64_t)st->st_size;
	g->mtime_ns = mtime_ns(st);
	return 0;
}

/* 1 when the cached file of sha256 at path is there and good (hashed
 * now unless it is unchanged since it was last found good), 0 when it is
 * missing or bad (a bad one is removed), -1 with err_set(). */
static int cached_good(struct agent_image_cache *c, const char *sha256,
		       const char *path)
{
	struct agent_image_good *g = good_find(c, sha256);
	char hex[AGENT_SHA256_HEX + 1];
	struct stat st;

	if (stat(path, &st) < 0)
		return errno == ENOENT ? 0
				       : err_set_errno(errno, "image '%s'", path);
	if (g && g->dev == st.st_dev && g->ino == st.st_ino &&
	    g->size == (int64_t)st.st_size && g->mtime_ns == mtime_ns(&st))
		return 1;
	if (agent_image_hash_file(path, hex) < 0)
		return -1;
	if (strcmp(hex, sha256) == 0)
		return good_remember(c, sha256, &st) < 0 ? -1 : 1;
	log_warn("image %s: the cached file's SHA-256 is %s: removed, it is "
		 "fetched again", sha256, hex);
	good_forget(c, sha256);
	if (unlink(path) < 0 && errno != ENOENT)
		return err_set_errno(errno, "cannot remove the corrupt image "
				     "'%s'", path);
	return 0;
}

/* Record a use of the file at path at now_ms: its access time. */
static void mark_used(const char *path, int64_t now_ms)
{
	struct timespec ts[2] = {
		{.tv_sec = now_ms / 1000, .tv_nsec = (now_ms % 1000) * 1000000},
		{.tv_nsec = UTIME_OMIT},
	};

	if (utimensat(AT_FDCWD, path, ts, 0) < 0)
		log_warn("image '%s': cannot record its use: %s", path,
			 strerror(errno));
}

/* Fetch sha256 into path through a temporary file, hashing the bytes as
 * they arrive (agent_fetchsink.h). 1 when it is in place and good (its
 * stat in *st), 0 on a digest mismatch (nothing left), -1 with
 * err_set(). Reads only c->dir: any thread. */
static int fetch_one(const struct agent_image_cache *c, const char *sha256,
		     const char *path, agent_image_fetch_fn fetch, void *ud,
		     struct stat *st)
{
	char tmp[4400], hex[AGENT_SHA256_HEX + 1];
	struct agent_fetchsink *sink = NULL;
	uint64_t t0 = time_mono_ns();
	double secs;
	int fd, ret = -1;

	snprintf(tmp, sizeof(tmp), "%s/" FETCH_PREFIX "%s-XXXXXX", c->dir,
		 sha256);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return err_set_errno(errno, "cannot create a file in the image "
				     "cache '%s'", c->dir);
	sink = agent_fetchsink_new(fd, tmp);
	if (sink == NULL || fetch(ud, sha256, agent_fetchsink_put, sink) < 0 ||
	    agent_fetchsink_finish(sink, hex) < 0)
		goto out;
	if (strcmp(hex, sha256) != 0) {
		log_warn("image %s: the fetched bytes' SHA-256 is %s: dropped",
			 sha256, hex);
		ret = 0;
		goto out;
	}
	if (fdatasync(fd) < 0) {
		err_set_errno(errno, "image %s: cannot flush '%s'", sha256, tmp);
		goto out;
	}
	if (fchmod(fd, 0600) < 0 || fstat(fd, st) < 0 ||
	    rename(tmp, path) < 0) {
		err_set_errno(errno, "image %s: cannot store it as '%s'", sha256,
			      path);
		goto out;
	}
	tmp[0] = '\0';
	/* scripts/bench-image.sh reads this line */
	secs = (double)(time_mono_ns() - t0) / 1e9;
	log_info("image %s: fetched, checked and flushed %" PRId64 " bytes in "
		 "%.3f s (%.1f MB/s)", sha256, (int64_t)st->st_size, secs,
		 secs > 0 ? (double)st->st_size / 1e6 / secs : 0.0);
	ret = 1;
out:
	agent_fetchsink_free(sink);
	close(fd);
	if (tmp[0])
		unlink(tmp);
	return ret;
}

/* The cached images into *out (*n): digest, size, last use (atime),
 * in_use from the list. Fetches in progress are not images yet. */
static int scan(struct agent_image_cache *c, const char *const *in_use,
		size_t nin_use, struct agent_image_entry **out, size_t *n)
{
	struct agent_image_entry *e = NULL, *grown;
	char path[4400];
	struct dirent *d;
	struct stat st;
	DIR *dir = opendir(c->dir);
	size_t count = 0;

	*out = NULL;
	*n = 0;
	if (dir == NULL)
		return err_set_errno(errno, "image cache '%s'", c->dir);
	while ((d = readdir(dir)) != NULL) {
		if (snprintf(path, sizeof(path), "%s/%s", c->dir, d->d_name) >=
		    (int)sizeof(path))
			continue;
		if (!sha_valid(d->d_name) || stat(path, &st) < 0)
			continue;
		grown = realloc(e, (count + 1) * sizeof(*e));
		if (grown == NULL) {
			free(e);
			closedir(dir);
			return err_set("out of memory");
		}
		e = grown;
		memset(&e[count], 0, sizeof(e[count]));
		str_copy(e[count].sha256, sizeof(e[count].sha256), d->d_name);
		e[count].size = (int64_t)st.st_size;
		e[count].used_ms = (int64_t)st.st_atim.tv_sec * 1000 +
				   st.st_atim.tv_nsec / 1000000;
		e[count].in_use = listed(in_use, nin_use, d->d_name);
		count++;
	}
	closedir(dir);
	*out = e;
	*n = count;
	return 0;
}

int agent_image_trim(struct agent_image_cache *c, const char *const *in_use,
		     size_t nin_use, int64_t need)
{
	struct agent_image_entry *e = NULL;
	int64_t short_by = 0;
	char path[4400];
	size_t n = 0;
	int removed = 0;

	if (scan(c, in_use, nin_use, &e, &n) < 0)
		return -1;
	agent_image_evict_plan(e, n, c->max_bytes, need, &short_by);
	for (size_t i = 0; i < n; i++) {
		if (!e[i].evict)
			continue;
		snprintf(path, sizeof(path), "%s/%s", c->dir, e[i].sha256);
		if (unlink(path) < 0 && errno != ENOENT) {
			log_warn("image cache: cannot remove '%s': %s", path,
				 strerror(errno));
			continue;
		}
		good_forget(c, e[i].sha256);
		log_info("image cache: removed image %s (%" PRId64 " bytes, "
			 "least recently used, no VM here uses it)",
			 e[i].sha256, e[i].size);
		removed++;
	}
	if (short_by > 0 && short_by != c->short_by)
		log_warn("image cache: the images in use need %" PRId64 " bytes "
			 "more than image_cache_max (%" PRId64 ")", short_by,
			 c->max_bytes);
	c->short_by = short_by;
	free(e);
	return removed;
}

int agent_image_lookup(struct agent_image_cache *c, const char *sha256,
		       int64_t now_ms)
{
	char path[4400];
	int rc;

	if (agent_image_path(c, sha256, path, sizeof(path)) < 0)
		return -1;
	rc = cached_good(c, sha256, path);
	if (rc < 0)
		return err_prefix("image %s", sha256);
	if (rc > 0)
		mark_used(path, now_ms);
	return rc;
}

int agent_image_fetch(const struct agent_image_cache *c, const char *sha256,
		      int64_t size, agent_image_fetch_fn fetch, void *ud,
		      struct stat *st)
{
	char path[4400];
	int rc = 0;

	if (agent_image_path(c, sha256, path, sizeof(path)) < 0)
		return -1;
	for (int attempt = 0; rc == 0 && attempt < 2; attempt++) {
		log_info("image %s: fetching %" PRId64 " bytes from the "
			 "controller", sha256, size);
		rc = fetch_one(c, sha256, path, fetch, ud, st);
	}
	if (rc < 0)
		return err_prefix("image %s", sha256);
	if (rc == 0)
		return err_set("image %s: the controller sent other bytes twice "
			       "(SHA-256 mismatch): not used; check the "
			       "controller's image store", sha256);
	return 0;
}

int agent_image_adopt(struct agent_image_cache *c, const char *sha256,
		      const struct stat *st, int64_t now_ms)
{
	char path[4400];

	if (agent_image_path(c, sha256, path, sizeof(path)) < 0 ||
	    good_remember(c, sha256, st) < 0)
		return err_prefix("image %s", sha256);
	mark_used(path, now_ms);
	return 0;
}

int agent_image_ensure(struct agent_image_cache *c, const char *sha256,
		       int64_t size, const char *const *in_use, size_t nin_use,
		       agent_image_fetch_fn fetch, void *ud, int64_t now_ms)
{
	struct stat st;
	int rc = agent_image_lookup(c, sha256, now_ms);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (agent_image_trim(c, in_use, nin_use, size) < 0)
		return err_prefix("image %s", sha256);
	if (agent_image_fetch(c, sha256, size, fetch, ud, &st) < 0)
		return -1;
	return agent_image_adopt(c, sha256, &st, now_ms);
}

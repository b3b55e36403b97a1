/*
 * agent_image.h - the node's image cache: the catalogue images its VMs'
 * disks are overlays of, fetched from the controller and kept
 * content-addressed under image_dir/sha256/<hex> (docs/images.md).
 *
 * An image is used only once its bytes hash to its name: a fetch is
 * hashed as it arrives, while it is written to a temporary file, and
 * renamed into place (flushed first) only when the digest matches; a cached file is hashed again before
 * its first use after the agent starts and whenever its size, inode or
 * modification time changed since it was last found good. A mismatch
 * deletes the file and fetches it again (once); a second mismatch fails
 * the VM, which never boots a corrupt base.
 *
 * The cache is bounded by image_cache_max bytes: before a fetch, and
 * after each pass, the least recently used images that no VM of the
 * node uses are removed until the cache fits. Last use is the file's
 * access time, which the cache sets itself on every use (so it does not
 * depend on the mount's atime policy and survives a restart). An image
 * in use is never removed, so the cache may pass its bound when the
 * images in use alone do (logged).
 *
 * One thread (the agent's main loop) calls everything but
 * agent_image_fetch(), which only reads the cache's directory name and
 * may run in another thread at the same time (agents/agent_provision.c
 * runs fetches in a thread of their own). Leftovers of a fetch cut short
 * by a crash are removed by agent_image_cache_init().
 */
#ifndef AGENT_IMAGE_H
#define AGENT_IMAGE_H

#include <sys/stat.h>
#include <sys/types.h>

#include "common/fc.h"

#define AGENT_SHA256_HEX 64

/* A cached image as the eviction rule sees it. */
struct agent_image_entry {
	char sha256[AGENT_SHA256_HEX + 1];
	int64_t size;       /* bytes */
	int64_t used_ms;    /* last use, ms since the epoch */
	bool in_use;        /* a VM of this node uses it */
	bool evict;         /* set by agent_image_evict_plan() */
};

/* The eviction rule (pure): mark (evict) the least recently used entries
 * not in use, oldest first, until the total size plus need bytes is at
 * most max bytes, or nothing more can go. Returns how many were marked;
 * *short_by gets how many bytes still do not fit (0 when all fit). */
size_t agent_image_evict_plan(struct agent_image_entry *e, size_t n,
			      int64_t max, int64_t need, int64_t *short_by);

/* Where a fetch hands the image's bytes, in order, as they arrive
 * (sink_ud: the cache's): 0 to go on, -1 with err_set() to abort. */
typedef int (*agent_image_sink_fn)(void *sink_ud, const void *data,
				   size_t len);

/* Fetches the image sha256, handing every byte to sink: 0, or -1 with
 * err_set() (also when sink refused). The cache writes and hashes the
 * bytes as they come (agent_fetchsink.h). */
typedef int (*agent_image_fetch_fn)(void *ud, const char *sha256,
				    agent_image_sink_fn sink, void *sink_ud);

/* A good file, remembered so that it is not hashed at every use. */
struct agent_image_good {
	char sha256[AGENT_SHA256_HEX + 1];
	dev_t dev;
	ino_t ino;
	int64_t size;
	int64_t mtime_ns;
};

struct agent_image_cache {
	char dir[4096];            /* image_dir/sha256 */
	int64_t max_bytes;
	struct agent_image_good *good;
	size_t ngood;
	int64_t short_by;          /* logged when it changes */
};

/* Set up c over image_dir/sha256 (made when missing) with the bound.
 * -1 with err_set(). Release with agent_image_cache_fini(). */
int agent_image_cache_init(struct agent_image_cache *c, const char *image_dir,
			   int64_t max_bytes);
void agent_image_cache_fini(struct agent_image_cache *c);

/* The cache file of sha256 into buf (size bytes); -1 with err_set() when
 * sha256 is not 64 lowercase hex digits or the path does not fit. */
int agent_image_path(const struct agent_image_cache *c, const char *sha256,
		     char *buf, size_t size);

/* Whether the image sha256 is in the cache and good (hashed unless known
 * good and unchanged; a bad file is removed): 1, with its use recorded at
 * now_ms; 0 when it must be fetched; -1 with err_set() naming the image. */
int agent_image_lookup(struct agent_image_cache *c, const char *sha256,
		       int64_t now_ms);

/* Fetch the image sha256 (size bytes, as the catalogue says; for the
 * log) into the cache through a temporary file, checking its digest as
 * it arrives; a mismatch fetches it once more. 0 with the stat of the
 * file in place into *st (hand it to agent_image_adopt() in the cache's
 * thread); -1 with err_set() naming the image (two mismatches: "SHA-256
 * mismatch"). Makes no room: agent_image_trim() with need = size first.
 * Any thread. */
int agent_image_fetch(const struct agent_image_cache *c, const char *sha256,
		      int64_t size, agent_image_fetch_fn fetch, void *ud,
		      struct stat *st);

/* Record the file agent_image_fetch() put in place (its stat st) as good
 * and used at now_ms. 0, or -1 with err_set(). */
int agent_image_adopt(struct agent_image_cache *c, const char *sha256,
		      const struct stat *st, int64_t now_ms);

/* All three in the caller's thread: make sure the image sha256 (size
 * bytes) is in the cache and good, fetching it when missing or bad
 * (making room first, never removing one of in_use, nin_use digests),
 * and record its use at now_ms. 0, or -1 with err_set() naming the
 * image. */
int agent_image_ensure(struct agent_image_cache *c, const char *sha256,
		       int64_t size, const char *const *in_use, size_t nin_use,
		       agent_image_fetch_fn fetch, void *ud, int64_t now_ms);

/* Bring the cache within its bound (need = 0) keeping in_use: remove
 * least recently used images (fetches in progress are not counted).
 * Returns how many
 * images it removed, or -1 with err_set() when the directory cannot be
 * read. */
int agent_image_trim(struct agent_image_cache *c, const char *const *in_use,
		     size_t nin_use, int64_t need);

/* The SHA-256 of the file at path as 64 hex digits into hex. -1 with
 * err_set() when it cannot be read. */
int agent_image_hash_file(const char *path, char hex[AGENT_SHA256_HEX + 1]);

#endif

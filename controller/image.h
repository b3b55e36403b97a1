/*
 * image.h - the controller's image store: uploads streamed to a
 * temporary file, checked with qemu-img, kept content-addressed.
 *
 * Layout under the state directory:
 *
 *   images/tmp/upload-XXXXXX   an upload in progress (removed on any
 *                              failure, and by image_store_sweep())
 *   images/sha256/<hex>        an accepted image, named by the SHA-256
 *                              of its bytes; several catalogue rows with
 *                              the same bytes share one file
 *
 * An upload is written as it arrives (never held whole in memory) and
 * hashed on the way. image_upload_finish() then asks `qemu-img info
 * --output=json` what the file is: only qcow2 and raw are accepted, and
 * never an image that names another file (a backing file, an external
 * data file): a qcow2 can name any host file as its backing store, and
 * a VM booted from it would read that file. The functions take no lock:
 * the caller serialises what it must (the catalogue rows).
 */
#ifndef FC_CTRL_IMAGE_H
#define FC_CTRL_IMAGE_H

#include "common/err.h"
#include "common/fc.h"

#define IMAGE_SHA256_HEX 64

/* What qemu-img says an accepted image is. */
struct image_info {
	char format[8];        /* "qcow2" or "raw" */
	int64_t virtual_size;  /* bytes the guest sees, > 0 */
};

/* Read the JSON that `qemu-img info --output=json` printed (text, len
 * bytes) into *out. -1 with err_set() naming the problem when it is not
 * an image fincloud accepts: a format other than qcow2 or raw, a backing
 * file, an external data file, a corrupt qcow2, no virtual size. Pure:
 * unit-tested on recorded output. */
int image_info_parse(const char *text, size_t len, struct image_info *out);

/* One upload. After image_upload_finish() the fields below are read
 * only; status is 0 when the image was accepted, else the HTTP status
 * to answer (400 not an accepted image, 413 over the size limit, 500
 * the controller's own failure) with code and msg. */
struct image_upload {
	int status;
	char code[32];
	char msg[ERR_MSG_MAX];
	char sha256[IMAGE_SHA256_HEX + 1];
	int64_t size;                   /* bytes received */
	struct image_info info;
	/* private */
	char dir[1024];                 /* state_dir/images */
	char tmp[1100];                 /* "" once gone */
	int fd;
	int64_t max;
	void *md;                       /* EVP_MD_CTX */
	bool finished;
};

/* Start an upload of at most max_bytes into state_dir/images/tmp (made
 * when missing). *out is freed with image_upload_free(). -1 with
 * err_set() when the file cannot be made. */
int image_upload_open(const char *state_dir, int64_t max_bytes,
		      struct image_upload **out);

/* Append len bytes. Once the upload failed (too large, disk error) the
 * bytes are dropped and u->status says why; always 0 or -1 (failed). */
int image_upload_write(struct image_upload *u, const void *data, size_t len);

/* All bytes are in: flush and close the file, take the digest, run
 * qemu-img info on it and check its answer (image_info_parse()). Sets
 * u->status (0: accepted). Runs qemu-img: call it without the
 * controller's lock held. */
void image_upload_finish(struct image_upload *u);

/* Move an accepted upload to images/sha256/<hex> (when a file with those
 * bytes is already there, it stays and the upload is dropped). 0, or -1
 * with err_set(). */
int image_upload_commit(struct image_upload *u);

/* Free u and remove its temporary file unless it was committed. Safe on
 * NULL. */
void image_upload_free(struct image_upload *u);

/* The stored file of sha256 (64 lowercase hex digits) into buf (size
 * bytes). -1 with err_set() when sha256 is not such a digest or the path
 * does not fit. */
int image_store_path(const char *state_dir, const char *sha256, char *buf,
		     size_t size);

/* Open the stored file of sha256 for reading: 0 with *fd (the caller
 * closes it) and its size in *size; -1 with err_set() when it is missing
 * or unreadable. */
int image_store_open(const char *state_dir, const char *sha256, int *fd,
		     int64_t *size);

/* Remove the stored file of sha256; 0 when it is already gone. */
int image_store_remove(const char *state_dir, const char *sha256);

/* At start: remove leftover uploads (images/tmp/) and every stored file
 * whose digest keep(arg, hex) says no catalogue row names (1: keep, 0:
 * remove, -1: cannot tell, keep it). Logs what it removed; 0, or -1 with
 * err_set() when the directory cannot be read. */
int image_store_sweep(const char *state_dir,
		      int (*keep)(void *arg, const char *sha256), void *arg);

/* True when s is 64 lowercase hex digits. */
bool image_sha256_valid(const char *s);

#endif

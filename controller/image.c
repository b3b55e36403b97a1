#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/util.h"
#include "controller/image.h"

/* qemu-img info of one image prints a few hundred bytes; it gets 30 s
 * (it reads headers only, but the disk may be busy). */
#define QEMU_IMG_OUT_MAX (64 * 1024)
#define QEMU_IMG_TIMEOUT_MS 30000

bool image_sha256_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == IMAGE_SHA256_HEX;
}

int image_info_parse(const char *text, size_t len, struct image_info *out)
{
	const cJSON *fs, *data, *it;
	const char *fmt = NULL;
	cJSON *o = NULL;
	int64_t vsize = 0;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (json_parse(text, len, "qemu-img info", &o) < 0)
		return -1;
	if (json_get_string(o, "$", "format", true, NULL, &fmt) < 0 ||
	    json_get_int(o, "$", "virtual-size", true, 0, INT64_MAX, 0,
			 &vsize) < 0)
		goto out;
	if (strcmp(fmt, "qcow2") != 0 && strcmp(fmt, "raw") != 0) {
		err_set("the image is in format '%.32s': upload qcow2 or raw "
			"(convert it with 'qemu-img convert -O qcow2')", fmt);
		goto out;
	}
	if (vsize <= 0) {
		err_set("the image has a virtual size of 0 bytes");
		goto out;
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "backing-filename");
	if (it == NULL)
		it = cJSON_GetObjectItemCaseSensitive(o, "full-backing-filename");
	if (it) {
		err_set("the image has a backing file ('%.200s'): upload a "
			"self-contained image ('qemu-img convert -O qcow2' "
			"flattens it)",
			cJSON_IsString(it) ? it->valuestring : "?");
		goto out;
	}
	fs = cJSON_GetObjectItemCaseSensitive(o, "format-specific");
	data = fs ? cJSON_GetObjectItemCaseSensitive(fs, "data") : NULL;
	it = data ? cJSON_GetObjectItemCaseSensitive(data, "data-file") : NULL;
	if (it) {
		err_set("the image has an external data file ('%.200s'): "
			"upload a self-contained image ('qemu-img convert -O "
			"qcow2' makes one)",
			cJSON_IsString(it) ? it->valuestring : "?");
		goto out;
	}
	it = data ? cJSON_GetObjectItemCaseSensitive(data, "corrupt") : NULL;
	if (cJSON_IsTrue(it)) {
		err_set("the qcow2 image is marked corrupt: repair it with "
			"'qemu-img check -r all' first");
		goto out;
	}
	str_copy(out->format, sizeof(out->format), fmt);
	out->virtual_size = vsize;
	ret = 0;
out:
	cJSON_Delete(o);
	return ret;
}

/* u failed with status, code and the message in err_msg(). */
static void upload_fail(struct image_upload *u, int status, const char *code)
{
	if (u->status)
		return; /* the first reason stays */
	u->status = status;
	str_copy(u->code, sizeof(u->code), code);
	str_copy(u->msg, sizeof(u->msg), err_msg());
}

int image_upload_open(const char *state_dir, int64_t max_bytes,
		      struct image_upload **out)
{
	struct image_upload *u = calloc(1, sizeof(*u));
	char tmpdir[1100];

	*out = NULL;
	if (u == NULL)
		return err_set("out of memory");
	u->fd = -1;
	u->max = max_bytes;
	if (snprintf(u->dir, sizeof(u->dir), "%s/images", state_dir) >=
		    (int)sizeof(u->dir) ||
	    snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", u->dir) >=
		    (int)sizeof(tmpdir) ||
	    snprintf(u->tmp, sizeof(u->tmp), "%s/upload-XXXXXX", tmpdir) >=
		    (int)sizeof(u->tmp)) {
		free(u);
		return err_set("state_dir '%s' is too long", state_dir);
	}
	if (dir_create(tmpdir, 0700) < 0)
		goto fail;
	u->fd = mkostemp(u->tmp, O_CLOEXEC);
	if (u->fd < 0) {
		err_set_errno(errno, "cannot create an upload file in '%s'",
			      tmpdir);
		u->tmp[0] = '\0';
		goto fail;
	}
	u->md = EVP_MD_CTX_new();
	if (u->md == NULL || EVP_DigestInit_ex(u->md, EVP_sha256(), NULL) != 1) {
		err_set("cannot start a SHA-256 digest");
		goto fail;
	}
	*out = u;
	return 0;
fail:
	image_upload_free(u);
	return -1;
}

int image_upload_write(struct image_upload *u, const void *data, size_t len)
{
	const char *p = data;

	if (u->status)
		return -1;
	if ((int64_t)len > u->max - u->size) {
		err_set("the image is larger than image_max_size (%" PRId64
			" bytes)", u->max);
		upload_fail(u, 413, "too_large");
		return -1;
	}
	u->size += (int64_t)len;
	if (EVP_DigestUpdate(u->md, data, len) != 1) {
		err_set("cannot hash the upload");
		upload_fail(u, 500, "internal");
		return -1;
	}
	while (len > 0) {
		ssize_t n = write(u->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set_errno(errno, "cannot write the upload to '%s'",
				      u->tmp);
			log_error("%s", err_msg());
			upload_fail(u, errno == ENOSPC ? 507 : 500,
				    errno == ENOSPC ? "insufficient_storage"
						    : "internal");
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* qemu-img info of the upload into u->info; u->status on failure. */
static void upload_inspect(struct image_upload *u)
{
	char *argv[] = {"qemu-img", "info", "--output=json", u->tmp, NULL};
	struct proc_result r;

	if (proc_run(argv, QEMU_IMG_OUT_MAX, QEMU_IMG_TIMEOUT_MS, &r) < 0) {
		err_prefix("cannot inspect the image");
		log_error("%s", err_msg());
		upload_fail(u, 500, "internal");
		return;
	}
	if (r.status != 0) {
		err_set("qemu-img cannot read the image: %.300s", r.err);
		upload_fail(u, 400, "invalid_image");
	} else if (image_info_parse(r.out, r.out_len, &u->info) < 0) {
		upload_fail(u, 400, "invalid_image");
	}
	proc_result_free(&r);
}

void image_upload_finish(struct image_upload *u)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (u->finished)
		return;
	u->finished = true;
	if (u->status)
		return;
	if (u->size == 0) {
		err_set("the request body is empty: send the image's bytes "
			"(finctl image create --file F)");
		upload_fail(u, 400, "invalid_image");
		return;
	}
	if (fdatasync(u->fd) < 0 || close(u->fd) < 0) {
		u->fd = -1;
		err_set_errno(errno, "cannot flush the upload '%s'", u->tmp);
		upload_fail(u, 500, "internal");
		return;
	}
	u->fd = -1;
	if (EVP_DigestFinal_ex(u->md, md, &mdlen) != 1 || mdlen != 32) {
		err_set("cannot finish the SHA-256 digest");
		upload_fail(u, 500, "internal");
		return;
	}
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(u->sha256 + 2 * i, 3, "%02x", md[i]);
	upload_inspect(u);
}

int image_store_path(const char *state_dir, const char *sha256, char *buf,
		     size_t size)
{
	if (!image_sha256_valid(sha256))
		return err_set("'%.80s' is not a SHA-256 digest (64 lowercase "
			       "hex digits)", sha256);
	if (snprintf(buf, size, "%s/images/sha256/%s", state_dir, sha256) >=
	    (int)size)
		return err_set("state_dir '%s' is too long", state_dir);
	return 0;
}

int image_upload_commit(struct image_upload *u)
{
	char dir[1100], path[1200];
	int dfd;

	if (u->status || !u->finished || u->tmp[0] == '\0')
		return err_set("no accepted upload to store");
	if (snprintf(dir, sizeof(dir), "%s/sha256", u->dir) >= (int)sizeof(dir) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, u->sha256) >=
		    (int)sizeof(path))
		return err_set("the image directory '%s' is too long", u->dir);
	if (dir_create(dir, 0700) < 0)
		return -1;
	if (access(path, F_OK) == 0) {
		/* the same bytes are stored already: one file serves both */
		unlink(u->tmp);
		u->tmp[0] = '\0';
		return 0;
	}
	if (chmod(u->tmp, 0600) < 0 || rename(u->tmp, path) < 0)
		return err_set_errno(errno, "cannot store the image as '%s'",
				     path);
	u->tmp[0] = '\0';
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

void image_upload_free(struct image_upload *u)
{
	if (u == NULL)
		return;
	if (u->fd >= 0)
		close(u->fd);
	if (u->tmp[0] && unlink(u->tmp) < 0 && errno != ENOENT)
		log_warn("cannot remove the upload '%s': %s", u->tmp,
			 strerror(errno));
	EVP_MD_CTX_free(u->md);
	free(u);
}

int image_store_open(const char *state_dir, const char *sha256, int *fd,
		     int64_t *size)
{
	char path[1200];
	struct stat st;

	*fd = -1;
	if (image_store_path(state_dir, sha256, path, sizeof(path)) < 0)
		return -1;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return err_set_errno(errno, "image file '%s'", path);
	if (fstat(*fd, &st) < 0) {
		close(*fd);
		*fd = -1;
		return err_set_errno(errno, "image file '%s'", path);
	}
	*size = (int64_t)st.st_size;
	return 0;
}

int image_store_remove(const char *state_dir, const char *sha256)
{
	char path[1200];

	if (image_store_path(state_dir, sha256, path, sizeof(path)) < 0)
		return -1;
	if (unlink(path) < 0 && errno != ENOENT)
		return err_set_errno(errno, "cannot remove image file '%s'",
				     path);
	return 0;
}

/* Remove the files of state_dir/images/sub for which drop(arg, name)
 * says 1. -1 with err_set() when the directory cannot be read (a
 * missing one holds nothing). */
static int sweep_dir(const char *state_dir, const char *sub,
		     int (*keep)(void *arg, const char *sha256), void *arg)
{
	char dir[1100], path[1400];
	struct dirent *e;
	DIR *d;

	if (snprintf(dir, sizeof(dir), "%s/images/%s", state_dir, sub) >=
	    (int)sizeof(dir))
		return err_set("state_dir '%s' is too long", state_dir);
	d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0
				       : err_set_errno(errno, "'%s'", dir);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (keep && (!image_sha256_valid(e->d_name) ||
			     keep(arg, e->d_name) != 0))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) == 0)
			log_info("removed '%s': %s", path,
				 keep ? "no image of the catalogue has these "
					"bytes"
				      : "an upload that did not finish");
	}
	closedir(d);
	return 0;
}

int image_store_sweep(const char *state_dir,
		      int (*keep)(void *arg, const char *sha256), void *arg)
{
	if (sweep_dir(state_dir, "tmp", NULL, NULL) < 0)
		return -1;
	return sweep_dir(state_dir, "sha256", keep, arg);
}

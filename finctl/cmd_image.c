/*
 * cmd_image.c - finctl image create: an image file streamed to the
 * controller (POST /v1/images), with a progress line on a terminal.
 * list, show and delete are the generic handlers (output.c).
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "finctl/finctl.h"

#include "common/buf.h"
#include "common/err.h"
#include "common/http_client.h"
#include "common/util.h"

/* The progress line's state: redrawn at most every 1 %. */
struct progress {
	int last_pct;
};

static void progress_show(void *ud, int64_t done, int64_t total)
{
	struct progress *p = ud;
	int pct = total > 0 ? (int)(done * 100 / total) : 0;

	if (pct == p->last_pct)
		return;
	p->last_pct = pct;
	fprintf(stderr, "\ruploading: %3d %% (%" PRId64 " of %" PRId64
		" MiB)", pct, done >> 20, total >> 20);
	if (done >= total)
		fputc('\n', stderr);
}

/* "?name=N&os_type=..." from the options into b. */
static void create_query(const struct finctl_ctx *x, struct buf *b)
{
	static const char *const keys[] = {"name", "os-type", "min-mem-mib",
					   "visibility", "tenant"};
	char sep = '?';

	buf_puts(b, "/v1/images");
	for (size_t i = 0; i < FC_ARRAY_LEN(keys); i++) {
		const char *v = finctl_opt(x, keys[i]);

		if (v == NULL)
			continue;
		buf_printf(b, "%c", sep);
		sep = '&';
		for (const char *k = keys[i]; *k; k++)
			buf_printf(b, "%c", *k == '-' ? '_' : *k);
		buf_puts(b, "=");
		finctl_url_escape(b, v);
	}
}

int finctl_image_create(struct finctl_ctx *x)
{
	const char *file = finctl_opt(x, "file");
	struct progress pg = {.last_pct = -1};
	struct http_stream st = {.in_fd = -1};
	cJSON *out = NULL;
	struct stat sb;
	struct buf path;
	int rc = FINCTL_FAIL;

	buf_init(&path, 8192);
	st.in_fd = open(file, O_RDONLY | O_CLOEXEC);
	if (st.in_fd < 0 || fstat(st.in_fd, &sb) < 0) {
		fprintf(stderr, "finctl: --file '%s': %s\n", file,
			strerror(errno));
		rc = FINCTL_USAGE;
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		fprintf(stderr, "finctl: --file '%s' is not a regular file\n",
			file);
		rc = FINCTL_USAGE;
		goto out;
	}
	st.size = (int64_t)sb.st_size;
	if (isatty(STDERR_FILENO) && !x->json) {
		st.progress = progress_show;
		st.ud = &pg;
	}
	create_query(x, &path);
	rc = finctl_call_stream(x, "POST", buf_str(&path), &st, &out);
	if (pg.last_pct >= 0 && pg.last_pct < 100)
		fputc('\n', stderr);
	if (rc != FINCTL_OK)
		goto out;
	if (x->json)
		finctl_print_json(out);
	else
		finctl_print_kv(out, "");
out:
	if (st.in_fd >= 0)
		close(st.in_fd);
	buf_free(&path);
	cJSON_Delete(out);
	return rc;
}

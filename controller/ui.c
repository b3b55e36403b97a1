#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "controller/api.h"
#include "controller/ui.h"

/* No inline script or style, no other origin, no plugins, no framing:
 * the dashboard's pages load their own files and call the API on the
 * same origin, nothing else (docs/dashboard.md). */
const struct ui_header ui_headers[] = {
	{"Content-Security-Policy",
	 "default-src 'self'; script-src 'self'; style-src 'self'; "
	 "img-src 'self'; connect-src 'self'; object-src 'none'; "
	 "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
	{"X-Content-Type-Options", "nosniff"},
	{"Referrer-Policy", "no-referrer"},
	{"X-Frame-Options", "DENY"},
};
const size_t ui_nheaders = FC_ARRAY_LEN(ui_headers);

#define UI_NAME_MAX 100

/* File name suffixes and their Content-Type; anything else is not
 * served. */
static const struct {
	const char *suffix, *type;
} ui_types[] = {
	{".html", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".mjs", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".svg", "image/svg+xml"},
	{".png", "image/png"},
	{".ico", "image/x-icon"},
	{".json", "application/json"},
	{".txt", "text/plain; charset=utf-8"},
};

bool ui_path(const char *path)
{
	return strcmp(path, "/") == 0 || strcmp(path, "/ui") == 0 ||
	       strncmp(path, "/ui/", 4) == 0;
}

/* The Content-Type of name, NULL when its suffix is not served. */
static const char *ui_type(const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < FC_ARRAY_LEN(ui_types); i++) {
		size_t sl = strlen(ui_types[i].suffix);

		if (len > sl && strcmp(name + len - sl, ui_types[i].suffix) == 0)
			return ui_types[i].type;
	}
	return NULL;
}

/* Whether name may name a file of ui_dir: letters, digits, '.', '_',
 * '-', not starting with '.' (so neither ".." nor a hidden file). */
static bool ui_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > UI_NAME_MAX || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		      *p == '-'))
			return false;
	return true;
}

static void ui_not_found(struct api_ctx *c, const char *name)
{
	api_err(c, 404, "not_found", NULL,
		"the dashboard has no file '%.100s': open /ui/ (files are "
		"served from the controller's ui_dir)", name);
}

/* Open name in ui_dir: a descriptor of a regular file whose real path is
 * inside ui_dir, with its status in st; -1 when there is none (a link
 * out of ui_dir counts as none). */
static int ui_open(const char *dir, const char *name, struct stat *st)
{
	char path[CTRL_PATH_MAX + UI_NAME_MAX + 2];
	char *real_dir = NULL, *real = NULL;
	size_t dl;
	int fd = -1;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		goto out;
	real_dir = realpath(dir, NULL);
	real = realpath(path, NULL);
	if (real_dir == NULL || real == NULL)
		goto out;
	dl = strlen(real_dir);
	/* the file itself, not a link to elsewhere ("/" as ui_dir aside) */
	if (strncmp(real, real_dir, dl) != 0 ||
	    (real[dl] != '/' && !(dl == 1 && real_dir[0] == '/')))
		goto out;
	fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		goto out;
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		fd = -1;
	}
out:
	free(real_dir);
	free(real);
	return fd;
}

/* Answer the file name of ui_dir (see h_ui_file()). */
static void ui_serve(struct api_ctx *c, const char *name)
{
	const char *type = ui_type(name);
	struct stat st;
	struct tm tm;
	int fd = -1;

	if (ui_name_ok(name) && type)
		fd = ui_open(c->ctrl->cfg.ui_dir, name, &st);
	if (fd < 0) {
		ui_not_found(c, name);
		return;
	}
	snprintf(c->etag, sizeof(c->etag), "\"%llx-%llx\"",
		 (unsigned long long)st.st_size,
		 (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL +
			 (unsigned long long)st.st_mtim.tv_nsec);
	if (gmtime_r(&st.st_mtim.tv_sec, &tm))
		strftime(c->last_modified, sizeof(c->last_modified),
			 "%a, %d %b %Y %H:%M:%S GMT", &tm);
	/* the browser asks again each time: an upgrade shows at once */
	c->cache_control = "no-cache";
	if (c->if_none_match && strcmp(c->if_none_match, c->etag) == 0) {
		close(fd);
		c->status = 304;
		return;
	}
	c->has_file = true;
	c->file_fd = fd;
	c->file_size = (int64_t)st.st_size;
	c->content_type = type;
	c->status = 200;
}

void h_ui_root(struct api_ctx *c)
{
	cJSON *o = cJSON_CreateObject();

	str_copy(c->location, sizeof(c->location), "/ui/");
	cJSON_AddStringToObject(o, "location", "/ui/");
	api_ok(c, 302, o);
}

void h_ui_index(struct api_ctx *c)
{
	ui_serve(c, "index.html");
}

void h_ui_file(struct api_ctx *c)
{
	ui_serve(c, c->m->params[0]);
}

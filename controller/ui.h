/*
 * ui.h - the web dashboard's files, served under /ui/.
 *
 * The dashboard is static HTML, CSS and JavaScript installed with the
 * controller (ui_dir, by default DATADIR/ui); the browser then calls the
 * public REST API with the operator's token, so the dashboard can show no
 * more than that token may read. This module only hands out the files:
 * GET (and HEAD, answered as GET without a body) of one file name at the
 * top of ui_dir, nothing else. A name is letters, digits, '.', '_' and
 * '-', not starting with '.'; the file must be a regular file whose real
 * path (symbolic links resolved) is inside ui_dir; anything else is a 404
 * that names no file system path. Every answer under / and /ui/, errors
 * included, carries the headers of ui_headers[] (a strict
 * Content-Security-Policy: only the dashboard's own scripts and styles,
 * no inline script, no framing).
 */
#ifndef FC_CTRL_UI_H
#define FC_CTRL_UI_H

#include "common/fc.h"

struct api_ctx;

/* One response header: name and value, static strings. */
struct ui_header {
	const char *name;
	const char *value;
};

/* The headers every answer under / and /ui/ carries, ui_nheaders of
 * them. */
extern const struct ui_header ui_headers[];
extern const size_t ui_nheaders;

/* Whether path (no query string) is the dashboard's: "/", "/ui" or under
 * "/ui/". */
bool ui_path(const char *path);

/* GET / and GET /ui: a 302 to /ui/. */
void h_ui_root(struct api_ctx *c);
/* GET /ui/: the dashboard's index.html. */
void h_ui_index(struct api_ctx *c);
/* GET /ui/{file}: the file, with its Content-Type, ETag, Last-Modified
 * and Cache-Control: no-cache; 304 without a body when If-None-Match
 * names its ETag; 404 not_found (JSON) when the name is not allowed or no
 * such regular file is inside ui_dir. ROUTE_PUBLIC and ROUTE_UNLOCKED:
 * the files hold no data, the data comes from the API with a token. */
void h_ui_file(struct api_ctx *c);

#endif

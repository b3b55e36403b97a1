/*
 * api_image.c - the image catalogue's routes (docs/images.md): upload,
 * list, show, delete, and the agents' fetch of an image's bytes.
 *
 * The bytes live in the image store (image.h); a row here names them by
 * their SHA-256. An upload reaches its handler finished (streamed to a
 * file and checked by qemu-img before the lock was taken, server.c); the
 * handler only records it and moves the file into place.
 */
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "controller/api.h"
#include "controller/db.h"
#include "controller/image.h"
#include "controller/resource.h"
#include "controller/store.h"

#define IMAGE_COLS                                                         \
	"id, name, tenant, visibility, format, os_type, min_mem_mib, "     \
	"size_bytes, virtual_size_bytes, sha256, created_ms, seq"

static cJSON *image_json(struct db_stmt *s)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", store_col_text(s, 0));
	cJSON_AddStringToObject(o, "name", store_col_text(s, 1));
	if (db_col_type(s, 2) == DB_NULL)
		cJSON_AddNullToObject(o, "tenant");
	else
		cJSON_AddStringToObject(o, "tenant", store_col_text(s, 2));
	cJSON_AddStringToObject(o, "visibility", store_col_text(s, 3));
	cJSON_AddStringToObject(o, "format", store_col_text(s, 4));
	cJSON_AddStringToObject(o, "os_type", store_col_text(s, 5));
	cJSON_AddNumberToObject(o, "min_mem_mib",
				(double)db_col_int64(s, 6));
	cJSON_AddNumberToObject(o, "size_bytes",
				(double)db_col_int64(s, 7));
	cJSON_AddNumberToObject(o, "virtual_size_bytes",
				(double)db_col_int64(s, 8));
	cJSON_AddStringToObject(o, "sha256", store_col_text(s, 9));
	cJSON_AddNumberToObject(o, "created_ms",
				(double)db_col_int64(s, 10));
	return o;
}

int api_image_find(struct api_ctx *c, const char *ref, const char *scope,
		   const char *field, struct api_image *out)
{
	struct db_stmt *s;
	int rc, n = 0;

	memset(out, 0, sizeof(*out));
	s = api_stmt(c, "SELECT " IMAGE_COLS " FROM images WHERE (id = ?1 OR "
		     "name = ?1) AND (?2 IS NULL OR tenant IS NULL OR tenant = "
		     "?2) ORDER BY id = ?1 DESC, tenant IS NULL, seq LIMIT 2");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, ref);
	store_bind_text(s, 2, scope);
	while ((rc = db_step(s)) == DB_ROW) {
		bool by_id = strcmp(store_col_text(s, 0), ref) == 0;

		if (n == 1 && (scope || by_id))
			break; /* the first wins: an id, or the tenant's own */
		if (n == 1) {
			db_reset(s);
			api_err(c, 409, "ambiguous", field, "%s%s%simage "
				"name '%s' is used by several tenants' images: "
				"name it by its id ('finctl image list')",
				field ? "$." : "", field ? field : "",
				field ? ": " : "", ref);
			return -1;
		}
		str_copy(out->id, sizeof(out->id), store_col_text(s, 0));
		str_copy(out->name, sizeof(out->name), store_col_text(s, 1));
		str_copy(out->tenant, sizeof(out->tenant), store_col_text(s, 2));
		str_copy(out->format, sizeof(out->format), store_col_text(s, 4));
		out->min_mem_mib = db_col_int64(s, 6);
		out->size_bytes = db_col_int64(s, 7);
		out->virtual_size_bytes = db_col_int64(s, 8);
		str_copy(out->sha256, sizeof(out->sha256), store_col_text(s, 9));
		n++;
		if (by_id)
			break;
	}
	if (rc != DB_ROW && rc != DB_DONE) {
		store_err(c->ctrl->st, "reading the image");
		db_reset(s);
		api_err_internal(c, "reading the image");
		return -1;
	}
	db_reset(s);
	if (n == 0)
		api_err(c, 404, "not_found", field, "%s%s%simage '%s' does not "
			"exist%s%s: list images with 'finctl image list'",
			field ? "$." : "", field ? field : "", field ? ": " : "",
			ref,
			scope ? " for tenant " : "", scope ? scope : "");
	return n > 0 ? 0 : -1;
}

/* The caller's scope: its tenant for a tenant principal, else NULL (every
 * image). */
static const char *caller_scope(const struct api_ctx *c)
{
	return api_is_tenant(c) ? c->who.tenant : NULL;
}

/* The answer of image id. */
static void answer_image(struct api_ctx *c, const char *id, int status)
{
	struct db_stmt *s;
	int rc = api_find(c, "SELECT " IMAGE_COLS " FROM images WHERE id = ?",
			  id, &s, "reading the image");

	if (rc == 0)
		api_err(c, 404, "not_found", NULL, "image '%s' does not exist",
			id);
	if (rc <= 0)
		return;
	api_ok(c, status, image_json(s));
	db_reset(s);
}

/* A query parameter that must be a valid name (what names it in the
 * message): 0 with *out (NULL when absent and optional), or -1 with a
 * 400 answer. */
static int query_name(struct api_ctx *c, const char *key, const char *what,
		      bool required, const char **out)
{
	*out = api_query(c, key);
	if (*out == NULL && required) {
		api_err(c, 400, "invalid_query", key, "query parameter '%s' is "
			"required: POST /v1/images?%s=...", key, key);
		return -1;
	}
	if (*out && name_validate(what, *out) < 0) {
		api_err(c, 400, "invalid_query", key, "query parameter '%s': "
			"%s", key, err_msg());
		return -1;
	}
	return 0;
}

/* The upload's visibility and owning tenant from the query and the
 * caller: 0 with *tenant (NULL: public), or -1 answered. */
static int upload_owner(struct api_ctx *c, const char **tenant)
{
	const char *vis = api_query(c, "visibility");
	int rc;

	if (query_name(c, "tenant", "tenant", false, tenant) < 0)
		return -1;
	if (vis == NULL)
		vis = api_is_tenant(c) || *tenant ? "tenant" : "public";
	if (strcmp(vis, "public") != 0 && strcmp(vis, "tenant") != 0) {
		api_err(c, 400, "invalid_query", "visibility", "query "
			"parameter 'visibility' must be public or tenant, got "
			"'%.32s'", vis);
		return -1;
	}
	if (strcmp(vis, "public") == 0) {
		if (api_is_tenant(c)) {
			api_err(c, 403, "forbidden", "visibility", "a tenant "
				"token uploads images for its own tenant only: "
				"ask an operator to publish a public image");
			return -1;
		}
		if (*tenant) {
			api_err(c, 400, "invalid_query", "tenant", "a public "
				"image belongs to no tenant: leave out "
				"'tenant' or use visibility=tenant");
			return -1;
		}
		return 0;
	}
	if (api_is_tenant(c)) {
		if (*tenant && strcmp(*tenant, c->who.tenant) != 0) {
			api_err(c, 404, "not_found", "tenant", "tenant '%s' "
				"does not exist", *tenant);
			return -1;
		}
		*tenant = c->who.tenant;
	}
	if (*tenant == NULL) {
		api_err(c, 400, "invalid_query", "tenant", "a tenant image "
			"needs its tenant: add tenant=NAME");
		return -1;
	}
	rc = res_exists(c, &res_tenants, *tenant);
	if (rc == 0)
		api_err(c, 404, "not_found", "tenant", "tenant '%s' does not "
			"exist: create it with 'finctl tenant create'", *tenant);
	return rc > 0 ? 0 : -1;
}

void h_image_create(struct api_ctx *c)
{
	struct image_upload *u = c->upload;
	const char *name, *os_type, *tenant = NULL, *mm;
	int64_t min_mem = 0;
	char id[37];
	struct db_stmt *s;
	int rc;

	if (u == NULL) {
		api_err(c, 400, "invalid_image", NULL, "the image travels as "
			"the request body (application/octet-stream)");
		return;
	}
	if (query_name(c, "name", "image", true, &name) < 0 ||
	    query_name(c, "os_type", "os_type", false, &os_type) < 0)
		return;
	mm = api_query(c, "min_mem_mib");
	if (mm && (parse_int64(mm, &min_mem) < 0 || min_mem < 0 ||
		   min_mem > 4194304)) {
		api_err(c, 400, "invalid_query", "min_mem_mib", "query "
			"parameter 'min_mem_mib' must be an integer from 0 to "
			"4194304, got '%.32s'", mm);
		return;
	}
	if (u->status) {
		api_err(c, u->status, u->code, NULL, "image '%s': %s", name,
			u->msg);
		return;
	}
	if (uuid_generate_v4(id) < 0) {
		api_err_internal(c, "making an image id");
		return;
	}
	snprintf(c->audit_target, sizeof(c->audit_target), "image:%s", id);
	if (api_begin(c) < 0 || upload_owner(c, &tenant) < 0)
		return;
	s = api_stmt(c, "SELECT 1 FROM images WHERE coalesce(tenant, '') = "
		     "coalesce(?1, '') AND name = ?2");
	if (s == NULL)
		return;
	store_bind_text(s, 1, tenant);
	store_bind_text(s, 2, name);
	rc = api_row(c, s, "reading the images");
	db_reset(s);
	if (rc < 0)
		return;
	if (rc > 0) {
		api_err(c, 409, "exists", "name", "%s already has an image "
			"named '%s': choose another name, or delete it first",
			tenant ? "this tenant" : "the public catalogue", name);
		return;
	}
	s = api_stmt(c, "INSERT INTO images(id, name, tenant, visibility, "
		     "format, os_type, min_mem_mib, size_bytes, "
		     "virtual_size_bytes, sha256, created_ms) VALUES "
		     "(?,?,?,?,?,?,?,?,?,?,?)");
	if (s == NULL)
		return;
	store_bind_texts(s, 1, (const char *const[]){id, name, tenant,
		tenant ? "tenant" : "public", u->info.format,
		os_type ? os_type : ""}, 6);
	store_bind_int64s(s, 7, (const int64_t[]){min_mem, u->size,
		u->info.virtual_size}, 3);
	store_bind_text(s, 10, u->sha256);
	db_bind_int64(s, 11, time_wall_ms());
	if (api_step_write(c, s, "recording the image") < 0)
		return;
	/* the file last: a row without its file is never committed */
	if (image_upload_commit(u) < 0) {
		api_err_internal(c, "storing the image");
		return;
	}
	log_info("image '%s' (%s): %s, %" PRId64 " bytes, sha256 %s", name, id,
		 u->info.format, u->size, u->sha256);
	answer_image(c, id, 201);
	snprintf(c->location, sizeof(c->location), "/v1/images/%s", id);
}

void h_image_list(struct api_ctx *c)
{
	const char *tenant = api_query(c, "tenant");
	struct api_page pg;
	struct db_stmt *s;

	if (api_page_open(c, &pg, 11, true) < 0)
		return;
	if (tenant && strlen(tenant) > 64) {
		api_err(c, 400, "invalid_query", "tenant", "query parameter "
			"'tenant' is too long");
		return;
	}
	if (api_is_tenant(c))
		tenant = c->who.tenant;
	/* a tenant sees the public images and its own; ?tenant= shows the
	 * same view for one tenant */
	s = api_stmt(c, "SELECT " IMAGE_COLS " FROM images WHERE seq > ?1 AND "
		     "(?2 IS NULL OR tenant IS NULL OR tenant = ?2) ORDER BY "
		     "seq LIMIT ?3");
	if (s == NULL)
		return;
	db_bind_int64(s, 1, pg.after_seq);
	store_bind_text(s, 2, tenant);
	db_bind_int64(s, 3, pg.limit + 1);
	while (api_page_step(c, &pg, s) > 0)
		cJSON_AddItemToArray(pg.items, image_json(s));
	api_page_close(c, &pg);
}

void h_image_get(struct api_ctx *c)
{
	struct api_image im;

	if (api_image_find(c, c->m->params[0], caller_scope(c), NULL, &im) == 0)
		answer_image(c, im.id, 200);
}

void h_image_delete(struct api_ctx *c)
{
	struct api_image im;
	struct db_stmt *s;
	int rc;

	if (api_begin(c) < 0 ||
	    api_image_find(c, c->m->params[0], caller_scope(c), NULL, &im) < 0)
		return;
	snprintf(c->audit_target, sizeof(c->audit_target), "image:%s", im.id);
	if (api_is_tenant(c) && im.tenant[0] == '\0') {
		api_err(c, 403, "forbidden", NULL, "image '%s' is public: only "
			"an operator may delete it", im.name);
		return;
	}
	s = api_stmt(c, "SELECT name, tenant, count(*) OVER () FROM vms WHERE "
		     "image_id = ? LIMIT 1");
	if (s == NULL)
		return;
	store_bind_text(s, 1, im.id);
	rc = api_row(c, s, "reading the image's VMs");
	if (rc > 0)
		api_err(c, 409, "in_use", NULL, "image '%s' is used by %d VM(s) "
			"(e.g. '%s' of tenant '%s'): delete them first",
			im.name, db_col_int(s, 2), store_col_text(s, 0),
			store_col_text(s, 1));
	db_reset(s);
	if (rc != 0)
		return;
	s = api_stmt(c, "DELETE FROM images WHERE id = ?");
	if (s == NULL)
		return;
	store_bind_text(s, 1, im.id);
	if (api_step_write(c, s, "deleting the image") < 0)
		return;
	s = api_stmt(c, "SELECT 1 FROM images WHERE sha256 = ?");
	if (s == NULL)
		return;
	store_bind_text(s, 1, im.sha256);
	rc = api_row(c, s, "reading the images");
	db_reset(s);
	if (rc < 0)
		return;
	/* another row with the same bytes keeps the file; a failure to
	 * remove it leaves a file the next start's sweep removes */
	if (rc == 0 && image_store_remove(c->ctrl->cfg.state_dir, im.sha256) < 0)
		log_warn("image '%s': %s", im.name, err_msg());
	c->status = 204;
}

void h_agent_image(struct api_ctx *c)
{
	const char *node = c->m->params[0], *sha = c->m->params[1];
	struct db_stmt *s;
	int64_t size = 0;
	int rc, fd;

	if (!api_agent_owns(c, node))
		return;
	if (!image_sha256_valid(sha)) {
		api_err(c, 400, "invalid_path", "sha256", "'%.80s' is not a "
			"SHA-256 digest (64 lowercase hex digits)", sha);
		return;
	}
	/* a node gets the images of its own VMs and of those migrating to
	 * it, nothing else: tenant images stay with their tenants' nodes */
	s = api_stmt(c, "SELECT 1 FROM vms v WHERE v.image_sha256 = ?1 AND "
		     "(v.host = ?2 OR EXISTS (SELECT 1 FROM tasks t WHERE "
		     "t.vm_id = v.id AND t.target_host = ?2 AND t.state IN "
		     "('pending','running')))");
	if (s == NULL)
		return;
	store_bind_text(s, 1, sha);
	store_bind_text(s, 2, node);
	rc = api_row(c, s, "reading the node's VMs");
	db_reset(s);
	if (rc < 0)
		return;
	if (rc == 0) {
		api_err(c, 404, "not_found", NULL, "no VM of node '%s' uses an "
			"image with sha256 %s", node, sha);
		return;
	}
	if (image_store_open(c->ctrl->cfg.state_dir, sha, &fd, &size) < 0) {
		api_err_internal(c, "opening the image");
		return;
	}
	c->has_file = true;
	c->file_fd = fd;
	c->file_size = size;
	c->status = 200;
	c->content_type = "application/octet-stream";
}

/* image_store_sweep()'s question: does a row name these bytes? */
static int sweep_keep(void *arg, const char *sha256)
{
	struct store *st = arg;
	struct db_stmt *s = store_stmt1(st, "SELECT 1 FROM images WHERE "
				      "sha256 = ?", sha256);
	int rc = s ? store_row(st, s, "reading the images") : -1;

	if (s)
		db_reset(s);
	return rc;
}

int api_image_sweep(struct ctrl *ctrl)
{
	int rc;

	pthread_mutex_lock(&ctrl->lock);
	rc = image_store_sweep(ctrl->cfg.state_dir, sweep_keep, ctrl->st);
	pthread_mutex_unlock(&ctrl->lock);
	return rc;
}

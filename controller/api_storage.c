/* The storage pool routes: create (list, get and delete are the generic
 * handlers of resource.c over res_storage). See storage.h. */
#include "controller/db.h"

#include "common/buf.h"
#include "common/err.h"
#include "common/json.h"
#include "common/util.h"
#include "controller/api.h"
#include "controller/resource.h"
#include "controller/store.h"
#include "controller/storage.h"

/* Whether every byte of s is one of the bytes of allowed, and s does
 * not begin with '-' (each of these names is an argument of Ceph's
 * tools on the nodes, never an option). */
static bool only_of(const char *s, const char *allowed)
{
	return s[0] != '-' && s[strspn(s, allowed)] == '\0';
}

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

/* The body's array of strings key into a comma-joined out (at most max
 * entries, each 1..100 bytes of allowed), for what ("monitor" ...). 0,
 * or -1 with a 400 naming the entry. */
static int str_list(struct api_ctx *c, const char *key, const char *what,
		    const char *allowed, size_t max, bool required,
		    struct buf *out)
{
	const cJSON *arr, *it;
	char path[JSON_PATH_MAX];
	size_t i = 0;

	if (json_get_array(c->json, "$", key, required, &arr) < 0) {
		api_err_field(c, key);
		return -1;
	}
	cJSON_ArrayForEach(it, arr) {
		json_path_index(path, sizeof(path), key, i++);
		if (!cJSON_IsString(it) || it->valuestring[0] == '\0' ||
		    strlen(it->valuestring) > 100 ||
		    !only_of(it->valuestring, allowed)) {
			api_err(c, 400, "invalid_field", key, "%s: expected a "
				"%s (letters, digits and %s, not first '-')", path, what,
				allowed + sizeof(ALNUM) - 1);
			return -1;
		}
		if (i > max) {
			api_err(c, 400, "invalid_field", key, "$.%s: at most "
				"%zu entries", key, max);
			return -1;
		}
		if ((out->len && buf_puts(out, ",") < 0) ||
		    buf_puts(out, it->valuestring) < 0) {
			api_err(c, 400, "invalid_field", key, "$.%s: too long",
				key);
			return -1;
		}
	}
	if (required && i == 0) {
		api_err(c, 400, "invalid_field", key, "$.%s: name at least "
			"one %s", key, what);
		return -1;
	}
	return 0;
}

/* A ceph pool's fields, checked, into the statement's parameters 3-8. */
static int ceph_fields(struct api_ctx *c, struct db_stmt *s)
{
	const char *pool, *client;
	struct buf mons, hosts;
	int64_t replicas;
	double each;
	int rc = -1;

	buf_init(&mons, 4096);
	buf_init(&hosts, 4096);
	if (api_get_str(c, "ceph_pool", true, NULL, &pool) < 0 ||
	    api_get_str(c, "client", true, NULL, &client) < 0 ||
	    api_get_int(c, "replicas", false, 1, 16, 3, &replicas) < 0 ||
	    api_get_double(c, "replica_availability", false, 0, 1, 0.999,
			   &each) < 0 ||
	    str_list(c, "monitors", "monitor address (HOST or HOST:PORT)",
		     ALNUM ".:-[]", 16, true, &mons) < 0 ||
	    str_list(c, "replica_hosts", "host name", ALNUM "._-", 64, false,
		     &hosts) < 0)
		goto out;
	if (pool[0] == '\0' || strlen(pool) > 64 ||
	    !only_of(pool, ALNUM "._-")) {
		api_err(c, 400, "invalid_field", "ceph_pool", "$.ceph_pool: "
			"expected a Ceph pool name (1-64 letters, digits, '.', "
			"'_', '-', not first '-')");
		goto out;
	}
	/* the cephx user without its "client." type; "{node}" stands for
	 * the name of each node that opens the pool */
	if (client[0] == '\0' || strlen(client) > 64 ||
	    !only_of(client, ALNUM "._-{}") ||
	    strncmp(client, "client.", 7) == 0) {
		api_err(c, 400, "invalid_field", "client", "$.client: expected "
			"a cephx user name without 'client.' (letters, digits, "
			"'.', '_', '-'; '{node}' for each node's own, e.g. "
			"'fincloud-{node}')");
		goto out;
	}
	store_bind_texts(s, 3, (const char *const[]){pool, mons.data ?
		mons.data : "", client, hosts.data ? hosts.data : ""}, 4);
	db_bind_int64(s, 7, replicas);
	db_bind_double(s, 8, each);
	rc = 0;
out:
	buf_free(&mons);
	buf_free(&hosts);
	return rc;
}

void h_storage_create(struct api_ctx *c)
{
	static const char *const keys[] = {"name", "type", "ceph_pool",
					   "monitors", "client", "replicas",
					   "replica_hosts",
					   "replica_availability", NULL};
	const char *name, *type;
	struct db_stmt *s;
	int rc;

	if (api_body_object(c, keys) < 0 ||
	    api_get_name(c, "name", "storage pool", true, &name) < 0 ||
	    api_get_str(c, "type", true, NULL, &type) < 0)
		return;
	if (strcmp(type, "ceph") != 0) {
		/* "local" exists from the start and is the only one needed:
		 * a local disk has nothing to configure */
		api_err(c, 400, "invalid_field", "type", "$.type: expected "
			"'ceph' (the 'local' pool exists already)");
		return;
	}
	res_target(c, &res_storage, name);
	if (api_begin(c) < 0)
		return;
	rc = res_exists(c, &res_storage, name);
	if (rc != 0) {
		if (rc > 0)
			api_err(c, 409, "exists", "name", "storage pool '%s' "
				"already exists", name);
		return;
	}
	s = api_stmt(c, "INSERT INTO storage_pools(name, type, ceph_pool, "
		    "monitors, client, replica_hosts, replicas, "
		    "replica_availability, created_ms) VALUES "
		    "(?,?,?,?,?,?,?,?,?)");
	if (s == NULL)
		return;
	store_bind_text(s, 1, name);
	store_bind_text(s, 2, type);
	db_bind_int64(s, 9, time_wall_ms());
	if (ceph_fields(c, s) < 0) {
		db_reset(s);
		db_clear_bindings(s);
		return;
	}
	if (api_step_write(c, s, "creating the storage pool") < 0)
		return;
	res_created(c, &res_storage, name);
}

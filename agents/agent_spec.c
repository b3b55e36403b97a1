#include <ctype.h>

#include "agents/agent_spec.h"
#include "common/err.h"
#include "common/json.h"
#include "common/util.h"

static const char *const spec_keys[] = {
	"vm_id", "name", "tenant", "group", "vcpus", "mem_mib", "disk_gib",
	"base_image", "state", "wipe", "image", "first_boot", "ports",
	"storage", NULL,
};
static const char *const storage_keys[] = {"type", "pool", "monitors",
					   "user", NULL};
static const char *const image_keys[] = {"sha256", "format", "size_bytes",
					 NULL};

static const char *const want_names[] = {
	[AGENT_WANT_RUNNING] = "running",
	[AGENT_WANT_STOPPED] = "stopped",
	[AGENT_WANT_DELETED] = "deleted",
};

const char *agent_want_name(enum agent_want w)
{
	return (size_t)w < FC_ARRAY_LEN(want_names) ? want_names[w] : "?";
}

int agent_uuid_check(const char *what, const char *s)
{
	if (strlen(s) == 36 && uuid_prefix(s, false))
		return 0;
	return err_set("%s: expected a UUID like "
		       "0c6f8e9a-1111-4222-8333-444455556666, got '%.64s'",
		       what, s);
}

int agent_uuid_get(const cJSON *obj, const char *path, const char *key,
		   const char **out)
{
	char where[JSON_PATH_MAX];

	if (json_get_string(obj, path, key, true, NULL, out) < 0)
		return -1;
	json_path_key(where, sizeof(where), path, key);
	return agent_uuid_check(where, *out);
}

/* A name-like field: copied only after name_validate() accepted it. */
static int get_name(const cJSON *obj, const char *path, const char *key,
		    bool required, char *dst, size_t size)
{
	const char *s;
	char where[JSON_PATH_MAX];

	if (json_get_string(obj, path, key, required, NULL, &s) < 0)
		return -1;
	dst[0] = '\0';
	if (s == NULL)
		return 0;
	json_path_key(where, sizeof(where), path, key);
	if (name_validate(key, s) < 0)
		return err_prefix("%s", where);
	return str_copy(dst, size, s);
}

/* The optional "image" object into s (its "first_boot" is the desired
 * state's: agent_report.c). */
static int get_image(const cJSON *obj, const char *path,
		     struct agent_vm_spec *s)
{
	const cJSON *im = NULL;
	const char *sha, *fmt;
	char where[JSON_PATH_MAX];
	size_t i;

	if (json_get_object(obj, path, "image", false, &im) < 0)
		return -1;
	if (im == NULL)
		return 0;
	json_path_key(where, sizeof(where), path, "image");
	if (json_check_keys(im, where, image_keys) < 0 ||
	    json_get_string(im, where, "sha256", true, NULL, &sha) < 0 ||
	    json_get_string(im, where, "format", true, NULL, &fmt) < 0 ||
	    json_get_int(im, where, "size_bytes", true, 1, INT64_MAX, 0,
			 &s->image_size) < 0)
		return -1;
	for (i = 0; sha[i] && i < 64; i++)
		if (!isxdigit((unsigned char)sha[i]) || isupper((unsigned char)sha[i]))
			break;
	if (i != 64 || sha[64])
		return err_set("%s.sha256: expected 64 lowercase hex digits",
			       where);
	if (strcmp(fmt, "qcow2") != 0 && strcmp(fmt, "raw") != 0)
		return err_set("%s.format: expected qcow2 or raw, got '%.16s'",
			       where, fmt);
	str_copy(s->image_sha256, sizeof(s->image_sha256), sha);
	str_copy(s->image_format, sizeof(s->image_format), fmt);
	return 0;
}

/* Whether every byte of s is one of allowed, there are 1..max, and s
 * does not begin with '-' (an argument of the rbd tool, never an option). */
static bool spec_chars(const char *s, const char *allowed, size_t max)
{
	size_t n = strlen(s);

	return n >= 1 && n <= max && s[0] != '-' &&
	       s[strspn(s, allowed)] == '\0';
}

#define RBD_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
		  "0123456789._-"

/* The optional "storage" object (an RBD disk) into s; every string ends
 * in domain XML, a secret's name and the rbd tool's arguments, so each
 * is held to the characters its schema allows. */
static int get_storage(const cJSON *obj, const char *path,
		       struct agent_vm_spec *s)
{
	const cJSON *st = NULL, *mons = NULL, *m;
	const char *type, *pool, *user;
	char where[JSON_PATH_MAX];
	size_t len = 0;

	if (json_get_object(obj, path, "storage", false, &st) < 0)
		return -1;
	if (st == NULL)
		return 0;
	json_path_key(where, sizeof(where), path, "storage");
	if (json_check_keys(st, where, storage_keys) < 0 ||
	    json_get_string(st, where, "type", true, NULL, &type) < 0 ||
	    json_get_string(st, where, "pool", true, NULL, &pool) < 0 ||
	    json_get_string(st, where, "user", true, NULL, &user) < 0 ||
	    json_get_array(st, where, "monitors", true, &mons) < 0)
		return -1;
	if (strcmp(type, "ceph") != 0)
		return err_set("%s.type: expected ceph, got '%.16s'", where,
			       type);
	if (!spec_chars(pool, RBD_CHARS, 64))
		return err_set("%s.pool: expected 1-64 letters, digits, '.', "
			       "'_' or '-'", where);
	if (!spec_chars(user, RBD_CHARS, 64))
		return err_set("%s.user: expected 1-64 letters, digits, '.', "
			       "'_' or '-'", where);
	cJSON_ArrayForEach(m, mons) {
		if (!cJSON_IsString(m) ||
		    !spec_chars(m->valuestring, RBD_CHARS ":[]", 100) ||
		    len + strlen(m->valuestring) + 2 > sizeof(s->rbd_monitors))
			return err_set("%s.monitors: expected HOST or HOST:PORT "
				       "entries", where);
		len += (size_t)snprintf(s->rbd_monitors + len,
					sizeof(s->rbd_monitors) - len, "%s%s",
					len ? "," : "", m->valuestring);
	}
	if (len == 0)
		return err_set("%s.monitors: name at least one monitor", where);
	str_copy(s->rbd_pool, sizeof(s->rbd_pool), pool);
	str_copy(s->rbd_user, sizeof(s->rbd_user), user);
	return 0;
}

int agent_spec_parse(const cJSON *obj, const char *path,
		     struct agent_vm_spec *out)
{
	struct agent_vm_spec s;
	char where[JSON_PATH_MAX];
	const char *str;
	int64_t n;
	int want;

	memset(&s, 0, sizeof(s));
	if (!cJSON_IsObject(obj))
		return err_set("%s: expected an object", path);
	if (json_check_keys(obj, path, spec_keys) < 0)
		return -1;
	if (agent_uuid_get(obj, path, "vm_id", &str) < 0)
		return -1;
	for (size_t i = 0; i < 36; i++)
		s.vm_id[i] = (char)tolower((unsigned char)str[i]);
	if (get_name(obj, path, "name", true, s.name, sizeof(s.name)) < 0 ||
	    get_name(obj, path, "tenant", true, s.tenant, sizeof(s.tenant)) <
		    0 ||
	    get_name(obj, path, "group", false, s.group, sizeof(s.group)) < 0 ||
	    get_name(obj, path, "base_image", false, s.base_image,
		     sizeof(s.base_image)) < 0)
		return -1;
	if (json_get_int(obj, path, "vcpus", true, 1, 256, 0, &n) < 0)
		return -1;
	s.vcpus = (int)n;
	if (json_get_int(obj, path, "mem_mib", true, 16, 4194304, 0,
			 &s.mem_mib) < 0 ||
	    json_get_int(obj, path, "disk_gib", true, 1, 65536, 0,
			 &s.disk_gib) < 0)
		return -1;
	if (json_get_string(obj, path, "state", true, NULL, &str) < 0)
		return -1;
	want = str_index(want_names, FC_ARRAY_LEN(want_names), str);
	if (want < 0)
		return err_set("%s.state: expected running, stopped or "
			       "deleted, got '%.64s'",
			       path, str);
	s.want = (enum agent_want)want;
	if (json_get_bool(obj, path, "wipe", false, false, &s.wipe) < 0 ||
	    get_image(obj, path, &s) < 0)
		return -1;
	if (s.image_sha256[0] && s.base_image[0])
		return err_set("%s: base_image and image exclude each other",
			       path);
	if (get_storage(obj, path, &s) < 0)
		return -1;
	if (s.rbd_pool[0] && !s.image_sha256[0])
		return err_set("%s: an RBD disk (storage) is a clone of an "
			       "image: the spec names none", path);
	json_path_key(where, sizeof(where), path, "ports");
	/* last: nothing fails once the ports are allocated */
	if (agent_net_ports_parse(cJSON_GetObjectItemCaseSensitive(obj, "ports"),
				  where, &s.ports, &s.nports) < 0)
		return -1;
	*out = s;
	return 0;
}

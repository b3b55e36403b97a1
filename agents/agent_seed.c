#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agents/agent_net.h"
#include "agents/agent_seed.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/json.h"
#include "common/log.h"
#include "common/proc.h"

#define SEED_TOOL_TIMEOUT_MS 30000

static const char *const seed_keys[] = {"hostname", "ssh_keys", "user_data",
					NULL};

void agent_seed_free(struct agent_seed *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nkeys; i++)
		free(s->keys[i]);
	free(s->keys);
	free(s->user_data);
	memset(s, 0, sizeof(*s));
}

int agent_seed_parse(const cJSON *obj, const char *path, const char *vm_id,
		     struct agent_seed *out)
{
	const cJSON *keys = NULL, *k;
	const char *host, *ud = NULL;
	char where[JSON_PATH_MAX];
	int i = 0;

	memset(out, 0, sizeof(*out));
	if (json_check_keys(obj, path, seed_keys) < 0 ||
	    json_get_string(obj, path, "hostname", true, NULL, &host) < 0 ||
	    json_get_array(obj, path, "ssh_keys", true, &keys) < 0 ||
	    json_get_string(obj, path, "user_data", false, NULL, &ud) < 0)
		return -1;
	json_path_key(where, sizeof(where), path, "hostname");
	if (name_validate("hostname", host) < 0)
		return err_prefix("%s", where);
	str_copy(out->hostname, sizeof(out->hostname), host);
	str_copy(out->vm_id, sizeof(out->vm_id), vm_id);
	if (cJSON_GetArraySize(keys) > AGENT_SEED_KEYS_MAX)
		return err_set("%s.ssh_keys: at most %d keys", path,
			       AGENT_SEED_KEYS_MAX);
	out->keys = calloc((size_t)cJSON_GetArraySize(keys) + 1,
			   sizeof(*out->keys));
	if (out->keys == NULL)
		return err_set("out of memory");
	cJSON_ArrayForEach(k, keys) {
		if (!cJSON_IsString(k) || k->valuestring[0] == '\0' ||
		    strlen(k->valuestring) > AGENT_SEED_KEY_LEN ||
		    strpbrk(k->valuestring, "\r\n")) {
			agent_seed_free(out);
			return err_set("%s.ssh_keys[%d]: expected one line of "
				       "1 to %d bytes", path, i,
				       AGENT_SEED_KEY_LEN);
		}
		out->keys[out->nkeys] = strdup(k->valuestring);
		if (out->keys[out->nkeys] == NULL) {
			agent_seed_free(out);
			return err_set("out of memory");
		}
		out->nkeys++;
		i++;
	}
	if (ud && strlen(ud) > AGENT_SEED_USER_DATA_MAX) {
		agent_seed_free(out);
		return err_set("%s.user_data: at most %d bytes", path,
			       AGENT_SEED_USER_DATA_MAX);
	}
	if (ud && (out->user_data = strdup(ud)) == NULL) {
		agent_seed_free(out);
		return err_set("out of memory");
	}
	return 0;
}

/* s as a YAML scalar: a JSON string is one (double-quoted, escaped). */
static int yaml_str(struct buf *out, const char *s)
{
	cJSON *item = cJSON_CreateStringReference(s);
	char *q = item ? cJSON_PrintUnformatted(item) : NULL;
	int rc;

	cJSON_Delete(item);
	if (q == NULL)
		return err_set("out of memory");
	rc = buf_puts(out, q);
	free(q);
	return rc;
}

int agent_seed_meta_data(const struct agent_seed *s, struct buf *out)
{
	int rc = buf_printf(out, "instance-id: %s\nlocal-hostname: %s\n",
			    s->vm_id, s->hostname);

	if (rc == 0 && s->nkeys > 0)
		rc = buf_puts(out, "public-keys:\n");
	for (size_t i = 0; rc == 0 && i < s->nkeys; i++)
		if (buf_puts(out, "  - ") < 0 || yaml_str(out, s->keys[i]) < 0 ||
		    buf_puts(out, "\n") < 0)
			rc = -1;
	return rc < 0 ? err_set("the seed's meta-data is too large") : 0;
}

int agent_seed_network_config(const struct agent_seed *s, struct buf *out)
{
	if (buf_puts(out, "version: 2\n") < 0)
		return err_set("the seed's network-config is too large");
	return agent_net_seed_ethernets(s->ports, s->nports, out);
}

int agent_seed_user_data(const struct agent_seed *s, struct buf *out)
{
	if (s->user_data && buf_puts(out, s->user_data) < 0)
		return err_set("the seed's user-data is too large");
	return 0;
}

/* Write len bytes of data to dir/name (mode 0600). */
static int write_file(const char *dir, const char *name, const struct buf *b)
{
	char path[PATH_MAX + 32];
	const char *p = b->data ? b->data : "";
	size_t left = b->len;
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set_errno(errno, "cannot write '%s'", path);
	while (left > 0) {
		ssize_t n = write(fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = err_set_errno(errno, "cannot write '%s'", path);
			break;
		}
		p += n;
		left -= (size_t)n;
	}
	if (close(fd) < 0 && ret == 0)
		ret = err_set_errno(errno, "cannot write '%s'", path);
	return ret;
}

/* Remove dir and the seed's files in it. */
static void remove_dir(const char *dir)
{
	static const char *const names[] = {"meta-data", "user-data",
					    "network-config"};
	char path[PATH_MAX + 32];

	for (size_t i = 0; i < FC_ARRAY_LEN(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

int agent_seed_write(const struct agent_seed *s, const char *iso_path)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 8];
	char *argv[] = {"genisoimage", "-quiet", "-output", tmp, "-volid",
			"cidata", "-joliet", "-rock", dir, NULL};
	int (*const text[])(const struct agent_seed *, struct buf *) = {
		agent_seed_meta_data, agent_seed_user_data,
		agent_seed_network_config};
	static const char *const names[] = {"meta-data", "user-data",
					    "network-config"};
	struct proc_result r = {0};
	bool made = false;
	struct buf b;
	int ret = -1;

	buf_init(&b, 2 * AGENT_SEED_USER_DATA_MAX);
	if (snprintf(dir, sizeof(dir), "%s.d.XXXXXX", iso_path) >=
		    (int)sizeof(dir) ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", iso_path) >= (int)sizeof(tmp))
		return err_set("seed path '%s' is too long", iso_path);
	if (mkdtemp(dir) == NULL) {
		err_set_errno(errno, "cannot make the seed's directory '%s'",
			      dir);
		goto out;
	}
	made = true;
	for (size_t i = 0; i < FC_ARRAY_LEN(names); i++) {
		buf_reset(&b);
		if (text[i](s, &b) < 0 || write_file(dir, names[i], &b) < 0)
			goto out;
	}
	if (proc_run(argv, 64 * 1024, SEED_TOOL_TIMEOUT_MS, &r) < 0)
		goto out;
	if (r.status != 0) {
		err_set("genisoimage failed (exit %d): %.300s", r.status, r.err);
		goto out;
	}
	if (chmod(tmp, 0600) < 0 || rename(tmp, iso_path) < 0) {
		err_set_errno(errno, "cannot store the seed as '%s'", iso_path);
		goto out;
	}
	ret = 0;
out:
	if (ret < 0) {
		err_prefix("vm %s: NoCloud seed", s->vm_id);
		unlink(tmp);
	}
	if (made)
		remove_dir(dir);
	proc_result_free(&r);
	buf_free(&b);
	return ret;
}

#include <unistd.h>

#include "agents/agent_config.h"
#include "common/err.h"
#include "common/util.h"

const char *const agent_config_keys[] = {
	"controller_url", "node_name",	     "pool",
	"libvirt_uri",	  "migration_uri",   "storage_dir",
	"image_dir",	  "credential_file", "join_token_file",
	"heartbeat_interval", "manifest_dir", "health_listen",
	"log_level",	  NULL,
};

void agent_config_free(struct agent_config *ac)
{
	if (ac == NULL)
		return;
	free(ac->controller_url);
	free(ac->node_name);
	free(ac->pool);
	free(ac->libvirt_uri);
	free(ac->migration_uri);
	free(ac->storage_dir);
	free(ac->image_dir);
	free(ac->credential_file);
	free(ac->join_token_file);
	free(ac->manifest_dir);
	free(ac->health_listen);
	free(ac);
}

/* Copy the value of key (or def) into *dst. */
static int get_dup(const struct config *cfg, const char *key, const char *def,
		   char **dst)
{
	const char *v;

	config_get_str(cfg, key, def, &v);
	*dst = strdup(v);
	if (*dst == NULL)
		return err_set("out of memory");
	return 0;
}

static int bad_value(const struct config *cfg, const char *key,
		     const char *why)
{
	char where[256];

	return err_set("%s: key '%s': %s, got '%s'",
		       config_where(cfg, key, where, sizeof(where)), key, why,
		       config_get(cfg, key));
}

/* Directories and files must be absolute: the agent runs as a daemon
 * whose working directory means nothing. */
static int check_abs(const struct config *cfg, const char *key,
		     const char *value)
{
	if (value[0] != '/')
		return bad_value(cfg, key, "expected an absolute path");
	return 0;
}

static int check_health_listen(const struct config *cfg, const char *value)
{
	const char *colon;
	int64_t port;

	if (value[0] == '\0')
		return 0;
	colon = strrchr(value, ':');
	if (colon == NULL || parse_int64(colon + 1, &port) < 0 || port < 1 ||
	    port > 65535)
		return bad_value(cfg, "health_listen",
				 "expected 127.0.0.1:PORT or empty");
	if (!((colon - value == 9 && strncmp(value, "127.0.0.1", 9) == 0) ||
	      (colon - value == 9 && strncmp(value, "localhost", 9) == 0) ||
	      (colon - value == 5 && strncmp(value, "[::1]", 5) == 0)))
		return bad_value(cfg, "health_listen",
				 "the health endpoint listens on loopback "
				 "only: use 127.0.0.1:PORT or [::1]:PORT");
	return 0;
}

int agent_config_from(const struct config *cfg, struct agent_config **out)
{
	struct agent_config *ac;
	char host[256];
	const char *lvl;
	int64_t n;
	char *dot;

	*out = NULL;
	if (config_check_keys(cfg, agent_config_keys) < 0)
		return -1;
	ac = calloc(1, sizeof(*ac));
	if (ac == NULL)
		return err_set("out of memory");
	if (gethostname(host, sizeof(host)) < 0)
		str_copy(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	dot = strchr(host, '.');
	if (dot)
		*dot = '\0';

	if (get_dup(cfg, "controller_url", "", &ac->controller_url) < 0 ||
	    get_dup(cfg, "node_name", host, &ac->node_name) < 0 ||
	    get_dup(cfg, "pool", "default", &ac->pool) < 0 ||
	    get_dup(cfg, "libvirt_uri", "qemu:///system", &ac->libvirt_uri) <
		    0 ||
	    get_dup(cfg, "migration_uri", "", &ac->migration_uri) < 0 ||
	    get_dup(cfg, "storage_dir", "/var/lib/fincloud/disks",
		    &ac->storage_dir) < 0 ||
	    get_dup(cfg, "image_dir", "/var/lib/fincloud/images",
		    &ac->image_dir) < 0 ||
	    get_dup(cfg, "credential_file", "/var/lib/fincloud/agent.credential",
		    &ac->credential_file) < 0 ||
	    get_dup(cfg, "join_token_file", "/etc/fincloud/join.token",
		    &ac->join_token_file) < 0 ||
	    get_dup(cfg, "manifest_dir", "/etc/fincloud/manifests",
		    &ac->manifest_dir) < 0 ||
	    get_dup(cfg, "health_listen", "", &ac->health_listen) < 0)
		goto fail;

	if (ac->controller_url[0] != '\0' &&
	    !str_startswith(ac->controller_url, "http://") &&
	    !str_startswith(ac->controller_url, "https://")) {
		bad_value(cfg, "controller_url",
			  "expected an http:// or https:// URL");
		goto fail;
	}
	if (config_get(cfg, "node_name") &&
	    name_validate("node", ac->node_name) < 0) {
		char where[256];

		err_prefix("%s", config_where(cfg, "node_name", where,
					      sizeof(where)));
		goto fail;
	}
	if (config_get(cfg, "node_name") == NULL &&
	    name_validate("host name", ac->node_name) < 0) {
		err_prefix("set node_name in the config");
		goto fail;
	}
	if (name_validate("pool", ac->pool) < 0) {
		char where[256];

		err_prefix("%s", config_where(cfg, "pool", where,
					      sizeof(where)));
		goto fail;
	}
	if (ac->libvirt_uri[0] == '\0' || strstr(ac->libvirt_uri, "://") == NULL) {
		bad_value(cfg, "libvirt_uri",
			  "expected a libvirt URI such as qemu:///system");
		goto fail;
	}
	if (ac->migration_uri[0] != '\0' &&
	    strstr(ac->migration_uri, "://") == NULL) {
		bad_value(cfg, "migration_uri",
			  "expected a libvirt URI such as "
			  "qemu+tcp://10.250.0.2/system");
		goto fail;
	}
	if (check_abs(cfg, "storage_dir", ac->storage_dir) < 0 ||
	    check_abs(cfg, "image_dir", ac->image_dir) < 0 ||
	    check_abs(cfg, "credential_file", ac->credential_file) < 0 ||
	    check_abs(cfg, "join_token_file", ac->join_token_file) < 0 ||
	    check_abs(cfg, "manifest_dir", ac->manifest_dir) < 0 ||
	    check_health_listen(cfg, ac->health_listen) < 0)
		goto fail;
	if (config_get_int(cfg, "heartbeat_interval", 1, 3600, 5, &n) < 0)
		goto fail;
	ac->heartbeat_interval = (int)n;
	config_get_str(cfg, "log_level", "info", &lvl);
	if (log_level_parse(lvl, &ac->log_level) < 0) {
		bad_value(cfg, "log_level",
			  "expected error, warn, info or debug");
		goto fail;
	}
	*out = ac;
	return 0;
fail:
	agent_config_free(ac);
	return -1;
}

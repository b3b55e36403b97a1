#include <unistd.h>

#include "agents/agent_config.h"
#include "agents/agent_hvtype.h"
#include "common/err.h"
#include "common/util.h"

const char *const agent_config_keys[] = {
	"controller_url", "node_name",	     "pool",
	"libvirt_uri",	  "migration_uri",   "storage_dir",
	"image_dir",	  "credential_file", "join_token_file",
	"heartbeat_interval", "manifest_dir", "health_listen",
	"log_level",	  "orphan_grace", "min_free_disk_mib", "virt_type",
	"migration_max_seconds", "migration_auto_converge", "image_cache_max",
	"ca_file",	  "cert_file",	     "key_file",
	"insecure",	  "ceph_dir",	     "self_fence_timeout", NULL,
};

/* The settings held as strings, in the order they are read and checked:
 * each is copied into its field of struct agent_config, def (NULL: the
 * short host name) when absent. Paths must be absolute: the agent runs as
 * a daemon whose working directory means nothing; one whose default is ""
 * may be left empty. */
static const struct {
	const char *key;
	size_t offset; /* of the char * in struct agent_config */
	const char *def;
	bool path;
} str_settings[] = {
	{"controller_url", offsetof(struct agent_config, controller_url), "",
	 false},
	{"node_name", offsetof(struct agent_config, node_name), NULL, false},
	{"pool", offsetof(struct agent_config, pool), "default", false},
	{"libvirt_uri", offsetof(struct agent_config, libvirt_uri),
	 "qemu:///system", false},
	{"migration_uri", offsetof(struct agent_config, migration_uri), "",
	 false},
	{"storage_dir", offsetof(struct agent_config, storage_dir),
	 "/var/lib/fincloud/disks", true},
	{"image_dir", offsetof(struct agent_config, image_dir),
	 "/var/lib/fincloud/images", true},
	{"credential_file", offsetof(struct agent_config, credential_file),
	 "/var/lib/fincloud/agent.credential", true},
	{"join_token_file", offsetof(struct agent_config, join_token_file),
	 "/etc/fincloud/join.token", true},
	{"manifest_dir", offsetof(struct agent_config, manifest_dir),
	 "/etc/fincloud/manifests", true},
	{"health_listen", offsetof(struct agent_config, health_listen), "",
	 false},
	{"virt_type", offsetof(struct agent_config, virt_type), "auto", false},
	{"ca_file", offsetof(struct agent_config, ca_file), "", true},
	{"cert_file", offsetof(struct agent_config, cert_file), "", true},
	{"key_file", offsetof(struct agent_config, key_file), "", true},
	{"ceph_dir", offsetof(struct agent_config, ceph_dir),
	 "/etc/fincloud/ceph", true},
};

static char **str_setting(struct agent_config *ac, size_t i)
{
	return (char **)((char *)ac + str_settings[i].offset);
}

void agent_config_free(struct agent_config *ac)
{
	if (ac == NULL)
		return;
	for (size_t i = 0; i < FC_ARRAY_LEN(str_settings); i++)
		free(*str_setting(ac, i));
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
	return config_err(cfg, key, "%s, got '%s'", why, config_get(cfg, key));
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

bool agent_uri_plain(const char *uri)
{
	const char *sep = strstr(uri, "://");
	size_t scheme;

	if (sep == NULL)
		return false;
	scheme = (size_t)(sep - uri);
	if (sep[3] == '/' || sep[3] == '\0')
		return false; /* no host: this node */
	return !(scheme > 4 && strncmp(sep - 4, "+tls", 4) == 0);
}

/* Whether the comma-separated URL list has an entry that starts with
 * prefix; with prefix NULL, one that starts with neither http:// nor
 * https:// (an empty entry included). */
static bool url_list_has(const char *list, const char *prefix)
{
	for (const char *p = list;; p++) {
		p += strspn(p, " \t");
		if (prefix ? str_startswith(p, prefix)
			   : !str_startswith(p, "http://") &&
				     !str_startswith(p, "https://"))
			return true;
		p = strchr(p, ',');
		if (p == NULL)
			return false;
	}
}

/* How many URLs the list holds. */
static size_t url_list_count(const char *list)
{
	size_t n = 1;

	for (const char *p = list; (p = strchr(p, ',')) != NULL; p++)
		n++;
	return n;
}

/* The controller over https with a CA, this node's certificate, the
 * migrations over TLS: plain HTTP and qemu+tcp need insecure = yes
 * (docs/security.md). */
static int check_tls(const struct config *cfg, struct agent_config *ac)
{
	if (config_get_bool(cfg, "insecure", false, &ac->insecure) < 0)
		return -1;
	ac->tls.ca_file = ac->ca_file;
	ac->tls.cert_file = ac->cert_file;
	ac->tls.key_file = ac->key_file;
	if ((ac->cert_file[0] == '\0') != (ac->key_file[0] == '\0'))
		return config_err(cfg, ac->cert_file[0] ? "cert_file" : "key_file",
				  "cert_file and key_file go together: set both "
				  "(this node's bundle from 'fincloud-ca.sh "
				  "issue') or neither");
	if (url_list_has(ac->controller_url, "https://") &&
	    ac->ca_file[0] == '\0')
		return config_err(cfg, "controller_url", "'%s' is https: set "
				  "ca_file to the installation's CA "
				  "(ca-cert.pem) so that the agent can verify "
				  "the controller", ac->controller_url);
	if (url_list_has(ac->controller_url, "http://") && !ac->insecure)
		return config_err(cfg, "controller_url", "'%s' is plain HTTP: "
				  "use https:// with ca_file, cert_file and "
				  "key_file, or set insecure = yes on a closed "
				  "development network", ac->controller_url);
	if (agent_uri_plain(ac->migration_uri) && !ac->insecure)
		return config_err(cfg, "migration_uri", "'%s' carries "
				  "migrations in plain text: use qemu+tls://, "
				  "or set insecure = yes on a closed "
				  "development network", ac->migration_uri);
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

	for (size_t i = 0; i < FC_ARRAY_LEN(str_settings); i++)
		if (get_dup(cfg, str_settings[i].key,
			    str_settings[i].def ? str_settings[i].def : host,
			    str_setting(ac, i)) < 0)
			goto fail;

	if (ac->controller_url[0] != '\0' &&
	    (url_list_has(ac->controller_url, NULL) ||
	     url_list_count(ac->controller_url) > 8)) {
		bad_value(cfg, "controller_url",
			  "expected an http:// or https:// URL, or up to 8 "
			  "of them separated by commas (several "
			  "controllers, docs/operations.md)");
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
	for (size_t i = 0; i < FC_ARRAY_LEN(str_settings); i++) {
		const char *v = *str_setting(ac, i), *def = str_settings[i].def;

		if (v[0] == '\0' && def && def[0] == '\0')
			continue;
		if (str_settings[i].path && v[0] != '/') {
			bad_value(cfg, str_settings[i].key,
				  "expected an absolute path");
			goto fail;
		}
	}
	if (check_health_listen(cfg, ac->health_listen) < 0 ||
	    check_tls(cfg, ac) < 0)
		goto fail;
	if (agent_hvtype_setting_check(ac->virt_type) < 0) {
		err_clear();
		bad_value(cfg, "virt_type", "expected auto, kvm or qemu");
		goto fail;
	}
	if (config_get_int(cfg, "migration_max_seconds", 0, 7 * 86400, 600,
			   &n) < 0)
		goto fail;
	ac->migration_max_seconds = (int)n;
	if (config_get_bool(cfg, "migration_auto_converge", true,
			    &ac->migration_auto_converge) < 0)
		goto fail;
	if (config_get_int(cfg, "heartbeat_interval", 1, 3600, 5, &n) < 0)
		goto fail;
	ac->heartbeat_interval = (int)n;
	if (config_get_int(cfg, "orphan_grace", 0, 30 * 86400, 3600, &n) < 0)
		goto fail;
	ac->orphan_grace = (int)n;
	if (config_get_int(cfg, "self_fence_timeout", 0, 86400, 60, &n) < 0)
		goto fail;
	ac->self_fence_timeout = (int)n;
	if (config_get_int(cfg, "image_cache_max", 1 << 20, INT64_MAX / 2,
			   20LL << 30, &ac->image_cache_max) < 0)
		goto fail;
	if (config_get_int(cfg, "min_free_disk_mib", 0, INT64_MAX / 2, 1024,
			   &ac->min_free_disk_mib) < 0)
		goto fail;
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

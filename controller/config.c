#include "common/err.h"
#include "common/util.h"
#include "controller/ctrl.h"
#include "controller/ipam.h"

/* Where `make install` puts the dashboard (DATADIR/ui); the Makefile
 * defines it from its DATADIR. */
/* Where the hosts' fence agents live (fence_command names a file in it). */
#ifndef FC_FENCE_DIR
#define FC_FENCE_DIR "/usr/lib/fincloud/fence"
#endif
#ifndef FC_UI_DIR
#define FC_UI_DIR "/usr/local/share/fincloud/ui"
#endif

const char *const ctrl_config_keys[] = {
	"listen_address", "listen_port", "database", "state_dir",
	"heartbeat_timeout", "heartbeat_interval", "sample_interval",
	"orphan_grace", "max_body", "tls_cert", "tls_key", "log_level",
	"max_connections", "per_ip_connections", "request_timeout",
	"http_threads", "agent_listen_port", "token_ttl_default",
	"token_ttl_max", "auth_fail_limit", "join_token_ttl",
	"join_token_ttl_max", "image_max_size", "tls_ca", "require_client_cert",
	"insecure", "vni_min", "vni_max", "ui_dir", "task_timeout_create",
	"task_timeout_start", "task_timeout_stop", "task_timeout_delete",
	"task_timeout_migrate", "task_timeout_reboot", "ha_suspect_intervals",
	"ha_fail_intervals", "ha_fence_timeout", "ha_fence_retry",
	"ceph_conf", "ceph_keyring", "ceph_id", "fence_agents_dir", NULL,
};

/* The integer settings: key, range, default, field of struct ctrl_config. */
struct int_key {
	const char *key;
	int64_t min, max, def;
	size_t offset;
};

#define INT_KEY(key, min, max, def, field) \
	{key, min, max, def, offsetof(struct ctrl_config, field)}
static const struct int_key int_keys[] = {
	INT_KEY("listen_port", 0, 65535, 8740, listen_port),
	INT_KEY("heartbeat_timeout", 2, 3600, 30, heartbeat_timeout_s),
	INT_KEY("heartbeat_interval", 1, 600, 5, heartbeat_interval_s),
	INT_KEY("sample_interval", 1, 3600, 10, sample_interval_s),
	INT_KEY("orphan_grace", 1, 7 * 86400, 600, orphan_grace_s),
	INT_KEY("max_body", 1024, 64 << 20, 1 << 20, max_body),
	INT_KEY("max_connections", 16, 1000000, 4000, max_connections),
	INT_KEY("per_ip_connections", 1, 1000000, 128, per_ip_connections),
	INT_KEY("request_timeout", 1, 600, 30, request_timeout_s),
	INT_KEY("http_threads", 1, 64, 4, http_threads),
	INT_KEY("agent_listen_port", 0, 65535, 0, agent_listen_port),
	INT_KEY("token_ttl_default", 0, 100LL * 365 * 86400, 90 * 86400,
		token_ttl_default_s),
	INT_KEY("token_ttl_max", 0, 100LL * 365 * 86400, 365 * 86400,
		token_ttl_max_s),
	INT_KEY("auth_fail_limit", 1, 1000000, 20, auth_fail_limit),
	INT_KEY("join_token_ttl", 1, 365 * 86400, 3600, join_token_ttl_s),
	INT_KEY("join_token_ttl_max", 1, 365 * 86400, 7 * 86400,
		join_token_ttl_max_s),
	INT_KEY("image_max_size", 1 << 20, 1LL << 42, 64LL << 30,
		image_max_size),
	INT_KEY("vni_min", IPAM_VNI_MIN, IPAM_VNI_MAX, 1000, vni_min),
	INT_KEY("vni_max", IPAM_VNI_MIN, IPAM_VNI_MAX, 999999, vni_max),
	/* a create may wait for its image to reach the node */
	INT_KEY("task_timeout_create", 5, 7 * 86400, 1800, task_timeout_s[0]),
	INT_KEY("task_timeout_start", 5, 7 * 86400, 600, task_timeout_s[1]),
	INT_KEY("task_timeout_stop", 5, 7 * 86400, 600, task_timeout_s[2]),
	INT_KEY("task_timeout_delete", 5, 7 * 86400, 600, task_timeout_s[3]),
	INT_KEY("task_timeout_migrate", 5, 7 * 86400, 3600, task_timeout_s[4]),
	INT_KEY("task_timeout_reboot", 5, 7 * 86400, 600, task_timeout_s[5]),
	INT_KEY("ha_suspect_intervals", 2, 1000, 2, ha_suspect_intervals),
	INT_KEY("ha_fail_intervals", 3, 10000, 3, ha_fail_intervals),
	INT_KEY("ha_fence_timeout", 1, 600, 30, ha_fence_timeout_s),
	INT_KEY("ha_fence_retry", 1, 3600, 30, ha_fence_retry_s),
};

static int get_path(const struct config *cfg, const char *key,
		    const char *def, char *out, size_t size)
{
	const char *v;

	if (config_get_str(cfg, key, def, &v) < 0)
		return -1;
	if (str_copy(out, size, v) < 0)
		return config_err(cfg, key, "path is too long (at most %zu bytes)",
				  size - 1);
	return 0;
}

static bool loopback(const char *address)
{
	return strncmp(address, "127.", 4) == 0 ||
	       strcmp(address, "localhost") == 0;
}

/* TLS: client certificates need a CA and TLS; plain HTTP off the
 * loopback interface needs insecure = yes (docs/security.md). */
static int check_tls(const struct config *cfg, struct ctrl_config *out)
{
	if (config_get_bool(cfg, "require_client_cert", out->tls_ca[0] != '\0',
			    &out->require_client_cert) < 0 ||
	    config_get_bool(cfg, "insecure", false, &out->insecure) < 0)
		return -1;
	if (out->tls_ca[0] && out->tls_cert[0] == '\0')
		return config_err(cfg, "tls_ca", "client certificates need TLS: "
				  "set tls_cert and tls_key too");
	if (out->require_client_cert && out->tls_ca[0] == '\0')
		return config_err(cfg, "require_client_cert", "set tls_ca, the "
				  "CA that signs the agents' certificates "
				  "(fincloud-ca.sh init)");
	if (out->tls_cert[0] == '\0' && !out->insecure &&
	    !loopback(out->listen_address))
		return config_err(cfg, "listen_address", "'%s' is not a "
				  "loopback address and TLS is off: set "
				  "tls_cert, tls_key and tls_ca "
				  "(docs/security.md), or insecure = yes to "
				  "serve plain HTTP on a closed development "
				  "network", out->listen_address);
	return 0;
}

int ctrl_config_from(const struct config *cfg, struct ctrl_config *out)
{
	const char *lvl;
	char where[256];

	memset(out, 0, sizeof(*out));
	if (config_check_keys(cfg, ctrl_config_keys) < 0)
		return -1;
	for (size_t i = 0; i < FC_ARRAY_LEN(int_keys); i++) {
		const struct int_key *k = &int_keys[i];

		if (config_get_int(cfg, k->key, k->min, k->max, k->def,
				   (int64_t *)((char *)out + k->offset)) < 0)
			return -1;
	}
	if (get_path(cfg, "listen_address", "127.0.0.1", out->listen_address,
		     sizeof(out->listen_address)) < 0 ||
	    get_path(cfg, "state_dir", "/var/lib/fincloud", out->state_dir,
		     sizeof(out->state_dir)) < 0 ||
	    get_path(cfg, "tls_cert", "", out->tls_cert,
		     sizeof(out->tls_cert)) < 0 ||
	    get_path(cfg, "tls_key", "", out->tls_key, sizeof(out->tls_key)) < 0 ||
	    get_path(cfg, "tls_ca", "", out->tls_ca, sizeof(out->tls_ca)) < 0 ||
	    get_path(cfg, "ui_dir", FC_UI_DIR, out->ui_dir,
		     sizeof(out->ui_dir)) < 0 ||
	    get_path(cfg, "ceph_conf", "", out->ceph_conf,
		     sizeof(out->ceph_conf)) < 0 ||
	    get_path(cfg, "ceph_keyring", "", out->ceph_keyring,
		     sizeof(out->ceph_keyring)) < 0 ||
	    get_path(cfg, "ceph_id", "fincloud-controller", out->ceph_id,
		     sizeof(out->ceph_id)) < 0 ||
	    get_path(cfg, "fence_agents_dir", FC_FENCE_DIR,
		     out->fence_agents_dir, sizeof(out->fence_agents_dir)) < 0)
		return -1;
	if (out->ha_fail_intervals <= out->ha_suspect_intervals)
		return config_err(cfg, "ha_fail_intervals", "must be more "
				  "than ha_suspect_intervals (%" PRId64 ")",
				  out->ha_suspect_intervals);
	if (out->fence_agents_dir[0] != '/')
		return config_err(cfg, "fence_agents_dir", "expected an "
				  "absolute path, got '%s'",
				  out->fence_agents_dir);
	if (out->ui_dir[0] != '/')
		return config_err(cfg, "ui_dir", "expected an absolute path, "
				  "got '%s'", out->ui_dir);
	if (config_get(cfg, "database") == NULL) {
		if (snprintf(out->database, sizeof(out->database), "%s/state.db",
			     out->state_dir) >= (int)sizeof(out->database))
			return err_set("state_dir is too long");
	} else if (get_path(cfg, "database", NULL, out->database,
			    sizeof(out->database)) < 0) {
		return -1;
	}
	if (out->database[0] == '\0')
		return config_err(cfg, "database", "expected a file path or a "
				  "postgresql:// URL");
	if (out->heartbeat_timeout_s <= out->heartbeat_interval_s)
		return config_err(cfg, "heartbeat_timeout", "must be longer "
				  "than heartbeat_interval (%" PRId64 " s)",
				  out->heartbeat_interval_s);
	if (out->agent_listen_port != 0 &&
	    out->agent_listen_port == out->listen_port)
		return config_err(cfg, "agent_listen_port", "must differ from "
				  "listen_port (%" PRId64 ")", out->listen_port);
	if (out->token_ttl_max_s != 0 &&
	    (out->token_ttl_default_s == 0 ||
	     out->token_ttl_default_s > out->token_ttl_max_s))
		return config_err(cfg, "token_ttl_default", "must be between 1 "
				  "and token_ttl_max (%" PRId64 " s); 0 (never) "
				  "only with token_ttl_max = 0",
				  out->token_ttl_max_s);
	if (out->join_token_ttl_s > out->join_token_ttl_max_s)
		return config_err(cfg, "join_token_ttl", "must be at most "
				  "join_token_ttl_max (%" PRId64 " s)",
				  out->join_token_ttl_max_s);
	if (out->vni_min > out->vni_max)
		return config_err(cfg, "vni_min", "must be at most vni_max "
				  "(%" PRId64 ")", out->vni_max);
	if ((out->tls_cert[0] == '\0') != (out->tls_key[0] == '\0')) {
		const char *k = out->tls_cert[0] ? "tls_cert" : "tls_key";

		return config_err(cfg, k, "tls_cert and tls_key go together: "
				  "set both or neither");
	}
	if (check_tls(cfg, out) < 0)
		return -1;
	if (config_get_str(cfg, "log_level", "info", &lvl) < 0)
		return -1;
	if (log_level_parse(lvl, &out->log_level) < 0)
		return err_prefix("%s: key 'log_level'",
				  config_where(cfg, "log_level", where,
					       sizeof(where)));
	return 0;
}

/*
 * agent_config.h - the settings of fincloud-agent.
 *
 * They come from /etc/fincloud/agent.conf (common/config.h syntax) with
 * command-line flags applied on top through config_set(). Unknown keys are
 * refused with file:line, so a typo never silently falls back to a default.
 */
#ifndef AGENT_CONFIG_H
#define AGENT_CONFIG_H

#include "common/config.h"
#include "common/http_client.h"
#include "common/log.h"

#define AGENT_CONFIG_DEFAULT_PATH "/etc/fincloud/agent.conf"

struct agent_config {
	char *controller_url;  /* "" when unset (manifests only) */
	char *node_name;
	char *pool;
	char *libvirt_uri;
	char *migration_uri;   /* "" when unset */
	char *storage_dir;
	char *image_dir;
	char *credential_file;
	char *join_token_file;
	char *manifest_dir;
	char *health_listen;   /* "" when off, else "127.0.0.1:PORT" */
	char *ca_file;         /* the controller's CA; "" when unset */
	char *cert_file;       /* this node's client certificate; "" */
	char *key_file;        /* and its key; "" */
	char *ceph_dir;        /* this node's Ceph client files: ceph.conf
				  (optional) and ceph.client.USER.keyring
				  for each cephx user it uses (agent_rbd.h) */
	struct http_tls tls;   /* the three above, for the HTTP clients */
	bool insecure;         /* plain HTTP and qemu+tcp allowed */
	int heartbeat_interval; /* seconds */
	int orphan_grace;       /* seconds an orphaned fincloud file stays */
	int self_fence_timeout; /* seconds without a successful exchange with
				   the controller before the node destroys
				   its guests (agent_fence.h); 0: off */
	int64_t min_free_disk_mib; /* below it in storage_dir: degraded */
	char *virt_type;        /* "auto", "kvm" or "qemu" (agent_hvtype.h) */
	int migration_max_seconds; /* a live migration still running after
				      this long is aborted; 0: no limit */
	bool migration_auto_converge; /* throttle a guest whose memory
					 changes faster than it is sent */
	int64_t image_cache_max;   /* bytes of image_dir/sha256 (agent_image.h) */
	enum log_level log_level;
};

/* The NULL-terminated list of keys the agent accepts. */
extern const char *const agent_config_keys[];

/* Check and convert cfg (already loaded, flags applied) into *out, which
 * the caller frees with agent_config_free(). Defaults fill absent keys;
 * node_name defaults to the short host name. On a bad value returns -1
 * with "file:line: key 'k': ..." in err_msg(). */
int agent_config_from(const struct config *cfg, struct agent_config **out);

void agent_config_free(struct agent_config *ac);

/* Whether a libvirt URI reaches another host without TLS (qemu+tcp://H,
 * qemu+ssh://H, qemu://H...): the migration stream to it would cross the
 * network in plain text. A local URI (qemu:///system, test:///...) and a
 * qemu+tls:// one are not. */
bool agent_uri_plain(const char *uri);

#endif

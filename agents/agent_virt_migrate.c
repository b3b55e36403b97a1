/*
 * agent_virt_migrate.c - live migration of a fincloud domain, the part of
 * agent_virt (agent_virt.h, agent_virt_priv.h) that the agent's task
 * threads call: peer to peer, persistent on the target, undefined here,
 * the local disk copied (only its top layer when it is backed by a base
 * image). It blocks for the whole migration; it takes no lock of its own
 * (it works on its own reference to the connection).
 */
#include <libvirt/virterror.h>
#include <libxml/uri.h>

#include "agents/agent_virt_priv.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

int agent_virt_migrate(struct agent_virt *v, const char *uuid,
		       const char *target_uri)
{
	virTypedParameterPtr params = NULL;
	int nparams = 0, maxparams = 0;
	char disk[PATH_MAX], data_uri[512];
	unsigned int flags;
	xmlURIPtr u = NULL;
	bool missing;
	virDomainPtr dom = agent_virt_lookup_managed(v, uuid, &missing);
	char name[256];
	int ret = -1;

	if (dom == NULL)
		return -1;
	str_copy(name, sizeof(name), virDomainGetName(dom));
	if (virDomainIsActive(dom) != 1) {
		err_set("vm '%s' (%s): not running here, nothing to migrate "
			"live",
			name, uuid);
		goto out;
	}
	flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER |
		VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE;
	/* A target reached over qemu+tls gets the guest's memory and disk
	 * over TLS too (QEMU's migrate_tls_x509_cert_dir on both nodes):
	 * without a certificate of the CA the target cannot receive it. */
	if (strstr(target_uri, "+tls://"))
		flags |= VIR_MIGRATE_TLS;
	if (agent_virt_disk_path(v, uuid, disk, sizeof(disk)) < 0)
		goto out;
	/* Storage is local to each node: copy the disk, only its top layer
	 * when it is backed by a base image every node has. */
	flags |= agent_virt_disk_backed(disk) ? VIR_MIGRATE_NON_SHARED_INC
				    : VIR_MIGRATE_NON_SHARED_DISK;
	/* Migration data goes straight to the target's address, not to
	 * whatever its host name resolves to. */
	u = xmlParseURI(target_uri);
	if (u == NULL) {
		err_set("migration target '%s' is not a URI", target_uri);
		goto out;
	}
	if (u->server && u->server[0]) {
		if (snprintf(data_uri, sizeof(data_uri),
			     strchr(u->server, ':') ? "tcp://[%s]" : "tcp://%s",
			     u->server) >= (int)sizeof(data_uri)) {
			err_set("migration target '%s': host name too long",
				target_uri);
			goto out;
		}
		if (virTypedParamsAddString(&params, &nparams, &maxparams,
					    VIR_MIGRATE_PARAM_URI,
					    data_uri) < 0) {
			err_set("out of memory");
			goto out;
		}
	}
	log_info("vm '%s' (%s): migrating live to '%s'%s", name, uuid,
		 target_uri, flags & VIR_MIGRATE_TLS ? " over TLS" : "");
	if (virDomainMigrateToURI3(dom, target_uri, params, (unsigned)nparams,
				   flags) < 0) {
		err_set("vm '%s' (%s): migration to '%s' failed: %s",
			name, uuid, target_uri, agent_virt_msg());
		goto out;
	}
	log_info("vm %s: migrated to '%s'", uuid, target_uri);
	ret = 0;
out:
	virResetLastError();
	virTypedParamsFree(params, nparams);
	xmlFreeURI(u);
	if (dom)
		virDomainFree(dom);
	return ret;
}

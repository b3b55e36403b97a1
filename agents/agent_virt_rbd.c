/*
 * agent_virt_rbd.c - the libvirt secret that holds a cephx key, the part
 * of agent_virt (agent_virt.h, agent_virt_priv.h) that RBD disks need:
 * QEMU reads the key of an RBD disk's <auth> from it. Main loop only.
 */
#include <libvirt/virterror.h>
#include <openssl/evp.h>

#include "agents/agent_domxml.h"
#include "agents/agent_virt_priv.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

int agent_virt_rbd_secret(struct agent_virt *v, const char *user,
			  const char *key_b64)
{
	unsigned char raw[256];
	char usage[128], xml[512];
	size_t klen = strlen(key_b64);
	virSecretPtr sec = NULL;
	int len, ret = -1;

	if (v->test_driver)
		return 0; /* the test driver holds no secrets */
	if (klen == 0 || klen > 4 * (sizeof(raw) / 3) || klen % 4 != 0)
		return err_set("the key of cephx user '%s' is not base64",
			       user);
	len = EVP_DecodeBlock(raw, (const unsigned char *)key_b64, (int)klen);
	if (len < 0)
		return err_set("the key of cephx user '%s' is not base64",
			       user);
	/* EVP_DecodeBlock counts the padding as bytes */
	len -= (key_b64[klen - 1] == '=') + (key_b64[klen - 2] == '=');
	agent_domxml_rbd_usage(user, usage, sizeof(usage));
	sec = virSecretLookupByUsage(v->conn, VIR_SECRET_USAGE_TYPE_CEPH,
				     usage);
	if (sec == NULL) {
		/* user is a cephx name (letters, digits, '.', '_', '-':
		 * agent_spec.c), nothing to escape in the XML */
		snprintf(xml, sizeof(xml),
			 "<secret ephemeral='no' private='yes'><description>"
			 "fincloud: the key of cephx user %s</description>"
			 "<usage type='ceph'><name>%s</name></usage></secret>",
			 user, usage);
		sec = virSecretDefineXML(v->conn, xml, 0);
		if (sec == NULL) {
			err_set("cannot define the libvirt secret '%s': %s",
				usage, agent_virt_msg());
			goto out;
		}
		log_info("libvirt secret '%s' defined", usage);
	}
	/* set every time: a key rotated on the node takes effect at the
	 * next VM it starts */
	if (virSecretSetValue(sec, raw, (size_t)len, 0) < 0) {
		err_set("cannot set the libvirt secret '%s': %s", usage,
			agent_virt_msg());
		goto out;
	}
	ret = 0;
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	virResetLastError();
	if (sec)
		virSecretFree(sec);
	return ret;
}

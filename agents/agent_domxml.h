/*
 * agent_domxml.h - libvirt domain XML for a VM spec, built with libxml2
 * tree calls (so every name and value is escaped by libxml2, never pasted
 * into markup) and validated against libvirt's RelaxNG schema before
 * anyone defines it.
 *
 * fincloud marks its domains with one element in <metadata>:
 *
 *   <fc:vm xmlns:fc="urn:fincloud:domain:1">
 *     <fc:vm_id>UUID</fc:vm_id><fc:tenant>loan</fc:tenant>
 *     <fc:group>g</fc:group>        (only when the VM has a group)
 *   </fc:vm>
 *
 * A domain without it is foreign to the agent.
 */
#ifndef AGENT_DOMXML_H
#define AGENT_DOMXML_H

#include "agents/agent_spec.h"

#define AGENT_XMLNS "urn:fincloud:domain:1"
#define AGENT_XMLNS_PREFIX "fc"
#define AGENT_DOMAIN_RNG "/usr/share/libvirt/schemas/domain.rng"

struct agent_domxml_params {
	const char *virt_type;   /* "kvm", "qemu" or "test" */
	const char *disk_path;   /* qcow2 image of the VM (unused when the
				    spec's disk is an RBD clone: a network
				    disk, agent_rbd.h) */
	const char *console_log; /* serial console log file, or NULL */
	const char *seed_iso;    /* NoCloud seed (agent_seed.h), attached as
				    a read-only IDE CD-ROM; NULL: none */
};

/* Build the domain XML of spec. The strings in spec need not be valid
 * names here (the parser checks them); they are escaped, not trusted.
 * *out is malloc'd; the caller frees it. */
int agent_domxml_build(const struct agent_vm_spec *spec,
		       const struct agent_domxml_params *p, char **out);

/* The usage name of the libvirt secret (type ceph) that holds the key of
 * cephx user user, "fincloud client.USER", into out; an RBD disk's
 * <auth> names it. */
void agent_domxml_rbd_usage(const char *user, char *out, size_t size);

/* Validate xml against the domain schema (AGENT_DOMAIN_RNG unless
 * agent_domxml_set_schema() chose another). The parsed schema is cached
 * after the first call: parsing domain.rng takes a noticeable fraction of
 * a second. Thread-safe. -1 with the first validity error on failure. */
int agent_domxml_validate(const char *xml);
void agent_domxml_set_schema(const char *rng_path);

/* The fincloud fields from a <metadata> child as libvirt's
 * virDomainGetMetadata() returns it. Buffers get "" for absent fields.
 * -1 when xml is not a fincloud element. */
int agent_domxml_parse_metadata(const char *xml, char *vm_id, size_t id_size,
				char *tenant, size_t tenant_size, char *group,
				size_t group_size);

/* The text of the first node matched by the XPath expr in xml (e.g.
 * "/capabilities/host/cpu/model"), a number result ("count(...)") as
 * text, or "" into out. */
int agent_xml_xpath_text(const char *xml, const char *expr, char *out,
			 size_t size);

/* Release the cached schema (at exit; tests use it to stay leak-free). */
void agent_domxml_cleanup(void);

#endif

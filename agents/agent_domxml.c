#include <pthread.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "agents/agent_domxml.h"
#include "agents/agent_netxml.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/util.h"

static pthread_mutex_t schema_lock = PTHREAD_MUTEX_INITIALIZER;
static xmlRelaxNGPtr schema;
static char schema_path[PATH_MAX] = AGENT_DOMAIN_RNG;

/* libxml2 reports validity errors through a callback; collect the first
 * one into the caller's buffer so err_set() can carry it. */
struct xml_errors {
	struct buf msg;
	int count;
};

#if LIBXML_VERSION >= 21200
typedef const xmlError *agent_xml_error;
#else
typedef xmlError *agent_xml_error;
#endif

static void collect_error(void *ctx, agent_xml_error e)
{
	struct xml_errors *xe = ctx;
	size_t len;

	if (xe->count++ > 0 || e == NULL || e->message == NULL)
		return;
	buf_printf(&xe->msg, "line %d: %s", e->line, e->message);
	len = xe->msg.len;
	while (len > 0 && (xe->msg.data[len - 1] == '\n'))
		xe->msg.data[--len] = '\0';
	xe->msg.len = len;
}

static void silent_error(void *ctx, agent_xml_error e)
{
	(void)ctx;
	(void)e;
}

void agent_domxml_set_schema(const char *rng_path)
{
	pthread_mutex_lock(&schema_lock);
	str_copy(schema_path, sizeof(schema_path), rng_path);
	if (schema) {
		xmlRelaxNGFree(schema);
		schema = NULL;
	}
	pthread_mutex_unlock(&schema_lock);
}

void agent_domxml_cleanup(void)
{
	pthread_mutex_lock(&schema_lock);
	if (schema) {
		xmlRelaxNGFree(schema);
		schema = NULL;
	}
	pthread_mutex_unlock(&schema_lock);
}

/* Caller holds schema_lock. */
static int schema_load(void)
{
	xmlRelaxNGParserCtxtPtr pctx;
	struct xml_errors xe;

	if (schema)
		return 0;
	memset(&xe, 0, sizeof(xe));
	buf_init(&xe.msg, 1024);
	pctx = xmlRelaxNGNewParserCtxt(schema_path);
	if (pctx == NULL) {
		buf_free(&xe.msg);
		return err_set("cannot read the libvirt domain schema '%s'",
			       schema_path);
	}
	xmlRelaxNGSetParserStructuredErrors(pctx, collect_error, &xe);
	schema = xmlRelaxNGParse(pctx);
	xmlRelaxNGFreeParserCtxt(pctx);
	if (schema == NULL) {
		err_set("cannot parse the libvirt domain schema '%s': %s "
			"(is libvirt-daemon installed?)",
			schema_path, buf_str(&xe.msg));
		buf_free(&xe.msg);
		return -1;
	}
	buf_free(&xe.msg);
	return 0;
}

int agent_domxml_validate(const char *xml)
{
	xmlRelaxNGValidCtxtPtr vctx = NULL;
	struct xml_errors xe;
	xmlDocPtr doc = NULL;
	int ret = -1, rc;

	memset(&xe, 0, sizeof(xe));
	buf_init(&xe.msg, 1024);
	doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
				    XML_PARSE_NOWARNING);
	if (doc == NULL) {
		err_set("domain XML is not well-formed");
		goto out;
	}
	pthread_mutex_lock(&schema_lock);
	if (schema_load() < 0) {
		pthread_mutex_unlock(&schema_lock);
		goto out;
	}
	/* A validation context is cheap; the parsed schema is shared and
	 * read-only during validation, but libxml2 does not promise that,
	 * so validation stays under the lock. */
	vctx = xmlRelaxNGNewValidCtxt(schema);
	if (vctx == NULL) {
		pthread_mutex_unlock(&schema_lock);
		err_set("out of memory");
		goto out;
	}
	xmlRelaxNGSetValidStructuredErrors(vctx, collect_error, &xe);
	rc = xmlRelaxNGValidateDoc(vctx, doc);
	pthread_mutex_unlock(&schema_lock);
	if (rc != 0) {
		err_set("domain XML fails libvirt's schema '%s': %s",
			schema_path,
			xe.msg.len ? buf_str(&xe.msg) : "not valid");
		goto out;
	}
	ret = 0;
out:
	if (vctx)
		xmlRelaxNGFreeValidCtxt(vctx);
	xmlFreeDoc(doc);
	buf_free(&xe.msg);
	return ret;
}

/* New child element with escaped text content (NULL: empty element). */
static xmlNodePtr add_child(xmlNodePtr parent, xmlNsPtr ns, const char *name,
			    const char *text)
{
	xmlNodePtr n = xmlNewChild(parent, ns, BAD_CAST name, NULL);

	if (n && text)
		xmlNodeAddContent(n, BAD_CAST text);
	return n;
}

static int set_prop(xmlNodePtr n, const char *name, const char *value)
{
	if (n == NULL || xmlSetProp(n, BAD_CAST name, BAD_CAST value) == NULL)
		return -1;
	return 0;
}

/* <disk type='file' device='cdrom'> of the seed ISO at path, read only. */
static int seed_cdrom(xmlNodePtr devs, const char *path)
{
	xmlNodePtr cd = add_child(devs, NULL, "disk", NULL), n;

	if (set_prop(cd, "type", "file") < 0 ||
	    set_prop(cd, "device", "cdrom") < 0)
		return -1;
	n = add_child(cd, NULL, "driver", NULL);
	if (set_prop(n, "name", "qemu") < 0 || set_prop(n, "type", "raw") < 0 ||
	    set_prop(add_child(cd, NULL, "source", NULL), "file", path) < 0)
		return -1;
	n = add_child(cd, NULL, "target", NULL);
	if (set_prop(n, "dev", "hdc") < 0 || set_prop(n, "bus", "ide") < 0 ||
	    add_child(cd, NULL, "readonly", NULL) == NULL)
		return -1;
	return 0;
}

void agent_domxml_rbd_usage(const char *user, char *out, size_t size)
{
	snprintf(out, size, "fincloud client.%s", user);
}

/* <disk type='network'> of spec's RBD clone: QEMU opens it itself
 * through the monitors, as the node's cephx user, whose key is the
 * libvirt secret named by agent_domxml_rbd_usage(). No host cache:
 * the disk is shared, and a live migration needs none. NULL when out of
 * memory. */
static xmlNodePtr rbd_disk(xmlNodePtr devs, const struct agent_vm_spec *spec)
{
	char name[200], usage[128];
	const char *m = spec->rbd_monitors;
	xmlNodePtr disk = add_child(devs, NULL, "disk", NULL), n, src;

	if (set_prop(disk, "type", "network") < 0 ||
	    set_prop(disk, "device", "disk") < 0)
		return NULL;
	n = add_child(disk, NULL, "driver", NULL);
	if (set_prop(n, "name", "qemu") < 0 || set_prop(n, "type", "raw") < 0 ||
	    set_prop(n, "cache", "none") < 0 ||
	    set_prop(n, "discard", "unmap") < 0)
		return NULL;
	n = add_child(disk, NULL, "auth", NULL);
	agent_domxml_rbd_usage(spec->rbd_user, usage, sizeof(usage));
	if (set_prop(n, "username", spec->rbd_user) < 0)
		return NULL;
	n = add_child(n, NULL, "secret", NULL);
	if (set_prop(n, "type", "ceph") < 0 || set_prop(n, "usage", usage) < 0)
		return NULL;
	src = add_child(disk, NULL, "source", NULL);
	snprintf(name, sizeof(name), "%s/fincloud-vm-%s", spec->rbd_pool,
		 spec->vm_id);
	if (set_prop(src, "protocol", "rbd") < 0 ||
	    set_prop(src, "name", name) < 0)
		return NULL;
	/* "host", "host:port", "[v6]:port" */
	while (*m) {
		size_t len = strcspn(m, ",");
		char one[128], *port = NULL;

		snprintf(one, sizeof(one), "%.*s", (int)len, m);
		if (one[0] == '[') {
			char *close = strchr(one, ']');

			if (close) {
				*close = '\0';
				port = close[1] == ':' ? close + 2 : NULL;
			}
			memmove(one, one + 1, strlen(one));
		} else if ((port = strchr(one, ':')) != NULL) {
			*port++ = '\0';
		}
		n = add_child(src, NULL, "host", NULL);
		if (set_prop(n, "name", one) < 0 ||
		    (port && set_prop(n, "port", port) < 0))
			return NULL;
		m += len;
		if (*m == ',')
			m++;
	}
	return disk;
}

int agent_domxml_build(const struct agent_vm_spec *spec,
		       const struct agent_domxml_params *p, char **out)
{
	xmlDocPtr doc = NULL;
	xmlNodePtr root, n, md, fc, os, feat, devs, disk, serial, console;
	xmlNsPtr ns;
	xmlChar *mem = NULL;
	char num[32];
	int size = 0, ret = -1;

	*out = NULL;
	doc = xmlNewDoc(BAD_CAST "1.0");
	if (doc == NULL)
		goto oom;
	root = xmlNewNode(NULL, BAD_CAST "domain");
	if (root == NULL)
		goto oom;
	xmlDocSetRootElement(doc, root);
	if (set_prop(root, "type", p->virt_type) < 0)
		goto oom;
	if (add_child(root, NULL, "name", spec->name) == NULL ||
	    add_child(root, NULL, "uuid", spec->vm_id) == NULL)
		goto oom;

	md = add_child(root, NULL, "metadata", NULL);
	if (md == NULL)
		goto oom;
	fc = xmlNewChild(md, NULL, BAD_CAST "vm", NULL);
	if (fc == NULL)
		goto oom;
	ns = xmlNewNs(fc, BAD_CAST AGENT_XMLNS, BAD_CAST AGENT_XMLNS_PREFIX);
	if (ns == NULL)
		goto oom;
	xmlSetNs(fc, ns);
	if (add_child(fc, ns, "vm_id", spec->vm_id) == NULL ||
	    add_child(fc, ns, "tenant", spec->tenant) == NULL ||
	    (spec->group[0] && add_child(fc, ns, "group", spec->group) == NULL))
		goto oom;

	snprintf(num, sizeof(num), "%" PRId64, spec->mem_mib);
	if (set_prop(add_child(root, NULL, "memory", num), "unit", "MiB") <
		    0 ||
	    set_prop(add_child(root, NULL, "currentMemory", num), "unit",
		     "MiB") < 0)
		goto oom;
	snprintf(num, sizeof(num), "%d", spec->vcpus);
	if (set_prop(add_child(root, NULL, "vcpu", num), "placement",
		     "static") < 0)
		goto oom;

	os = add_child(root, NULL, "os", NULL);
	if (os == NULL || add_child(os, NULL, "type", "hvm") == NULL ||
	    set_prop(add_child(os, NULL, "boot", NULL), "dev", "hd") < 0)
		goto oom;
	/* SeaBIOS writes to the serial port too: a guest that boots no
	 * operating system still leaves its firmware's words in the
	 * console log (finctl vm console-log) */
	if (set_prop(add_child(os, NULL, "bios", NULL), "useserial", "yes") < 0)
		goto oom;
	feat = add_child(root, NULL, "features", NULL);
	if (feat == NULL || add_child(feat, NULL, "acpi", NULL) == NULL)
		goto oom;
	/* No <cpu> element: QEMU's default CPU model runs and live-migrates
	 * on any x86 host of the fleet; host-model would tie a guest to
	 * hosts at least as new as the one it started on, and makes every
	 * start slower (libvirt expands and checks the model). */
	if (add_child(root, NULL, "on_poweroff", "destroy") == NULL ||
	    add_child(root, NULL, "on_reboot", "restart") == NULL ||
	    add_child(root, NULL, "on_crash", "destroy") == NULL)
		goto oom;

	devs = add_child(root, NULL, "devices", NULL);
	if (devs == NULL)
		goto oom;
	if (spec->rbd_pool[0]) {
		if ((disk = rbd_disk(devs, spec)) == NULL)
			goto oom;
	} else {
		disk = add_child(devs, NULL, "disk", NULL);
		if (set_prop(disk, "type", "file") < 0 ||
		    set_prop(disk, "device", "disk") < 0)
			goto oom;
		n = add_child(disk, NULL, "driver", NULL);
		if (set_prop(n, "name", "qemu") < 0 ||
		    set_prop(n, "type", "qcow2") < 0)
			goto oom;
		if (set_prop(add_child(disk, NULL, "source", NULL), "file",
			     p->disk_path) < 0)
			goto oom;
	}
	n = add_child(disk, NULL, "target", NULL);
	if (set_prop(n, "dev", "vda") < 0 || set_prop(n, "bus", "virtio") < 0)
		goto oom;
	/* the VM's ports (agent_netxml.h) */
	if (agent_netxml_interfaces(devs, spec->ports, spec->nports) < 0)
		goto oom;
	/* the seed on IDE: every guest kernel reads an ATAPI CD-ROM */
	if (p->seed_iso && seed_cdrom(devs, p->seed_iso) < 0)
		goto oom;

	serial = add_child(devs, NULL, "serial", NULL);
	if (set_prop(serial, "type", "pty") < 0)
		goto oom;
	if (p->console_log) {
		n = add_child(serial, NULL, "log", NULL);
		if (set_prop(n, "file", p->console_log) < 0 ||
		    set_prop(n, "append", "on") < 0)
			goto oom;
	}
	if (set_prop(add_child(serial, NULL, "target", NULL), "port", "0") < 0)
		goto oom;
	console = add_child(devs, NULL, "console", NULL);
	if (set_prop(console, "type", "pty") < 0)
		goto oom;
	n = add_child(console, NULL, "target", NULL);
	if (set_prop(n, "type", "serial") < 0 || set_prop(n, "port", "0") < 0)
		goto oom;
	if (set_prop(add_child(devs, NULL, "memballoon", NULL), "model",
		     "virtio") < 0)
		goto oom;

	xmlDocDumpFormatMemoryEnc(doc, &mem, &size, "UTF-8", 1);
	if (mem == NULL)
		goto oom;
	*out = strdup((const char *)mem);
	if (*out == NULL)
		goto oom;
	ret = 0;
	goto out;
oom:
	err_set("vm '%s': out of memory building its domain XML", spec->name);
out:
	xmlFree(mem);
	xmlFreeDoc(doc);
	return ret;
}

static xmlDocPtr read_quiet(const char *xml)
{
	xmlDocPtr doc;

	xmlSetStructuredErrorFunc(NULL, silent_error);
	doc = xmlReadMemory(xml, (int)strlen(xml), "in.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
				    XML_PARSE_NOWARNING);
	return doc;
}

/* virDomainGetMetadata() hands the element back without its namespace
 * (it looked it up by namespace); the domain XML carries it. Accept both. */
static bool ours(xmlNodePtr n)
{
	return n->ns == NULL || xmlStrEqual(n->ns->href, BAD_CAST AGENT_XMLNS);
}

static void child_text(xmlNodePtr parent, const char *name, char *out,
		       size_t size)
{
	out[0] = '\0';
	for (xmlNodePtr c = parent->children; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE && ours(c) &&
		    xmlStrEqual(c->name, BAD_CAST name)) {
			xmlChar *t = xmlNodeGetContent(c);

			str_copy(out, size, t ? (const char *)t : "");
			xmlFree(t);
			return;
		}
	}
}

int agent_domxml_parse_metadata(const char *xml, char *vm_id, size_t id_size,
				char *tenant, size_t tenant_size, char *group,
				size_t group_size)
{
	xmlDocPtr doc = read_quiet(xml);
	xmlNodePtr root;
	int ret = -1;

	if (doc == NULL)
		return err_set("fincloud metadata is not well-formed XML");
	root = xmlDocGetRootElement(doc);
	if (root == NULL || !ours(root) ||
	    !xmlStrEqual(root->name, BAD_CAST "vm")) {
		err_set("metadata element is not fincloud's <vm> in the '%s' "
			"namespace",
			AGENT_XMLNS);
		goto out;
	}
	child_text(root, "vm_id", vm_id, id_size);
	child_text(root, "tenant", tenant, tenant_size);
	child_text(root, "group", group, group_size);
	ret = 0;
out:
	xmlFreeDoc(doc);
	return ret;
}

int agent_xml_xpath_text(const char *xml, const char *expr, char *out,
			 size_t size)
{
	xmlDocPtr doc = read_quiet(xml);
	xmlXPathContextPtr ctx = NULL;
	xmlXPathObjectPtr res = NULL;
	int ret = -1;

	out[0] = '\0';
	if (doc == NULL)
		return err_set("XML is not well-formed");
	ctx = xmlXPathNewContext(doc);
	if (ctx == NULL) {
		err_set("out of memory");
		goto out;
	}
	res = xmlXPathEvalExpression(BAD_CAST expr, ctx);
	if (res && res->type == XPATH_NUMBER) {
		snprintf(out, size, "%g", res->floatval);
	} else if (res && res->type == XPATH_NODESET && res->nodesetval &&
		   res->nodesetval->nodeNr > 0) {
		xmlChar *t = xmlNodeGetContent(res->nodesetval->nodeTab[0]);

		str_copy(out, size, t ? (const char *)t : "");
		xmlFree(t);
	}
	ret = 0;
out:
	xmlXPathFreeObject(res);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return ret;
}

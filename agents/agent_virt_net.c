/*
 * agent_virt_net.c - the network side of agent_virt (agent_virt.h): one
 * libvirt network filter per port (agent_netxml.h), defined before the
 * domain that references it, redefined when the port's rules change
 * (libvirt then re-applies it to the running guest), undefined once no
 * VM of this node has the port. libvirt's test driver has no nwfilter:
 * there the filters are only built.
 */
#include <stdlib.h>

#include <libvirt/virterror.h>
#include <libxml/parser.h>

#include "agents/agent_netxml.h"
#include "agents/agent_virt_priv.h"
#include "common/err.h"
#include "common/log.h"

bool agent_virt_is_test(const struct agent_virt *v)
{
	return v->test_driver;
}

void agent_virt_net_cache_free(struct agent_virt_net_cache *c)
{
	for (size_t i = 0; c && i < c->n; i++)
		free(c->xml[i]);
	if (c) {
		free(c->xml);
		free(c->name);
		free(c->foreign);
		free(c->since_ns);
		memset(c, 0, sizeof(*c));
	}
}

/* Whether the cache holds xml as the last definition of name. */
static bool cached(const struct agent_virt_net_cache *c, const char *name,
		   const char *xml)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->name[i], name) == 0)
			return strcmp(c->xml[i], xml) == 0;
	return false;
}

/* Remember xml (taken) as the definition of name. */
static void remember(struct agent_virt_net_cache *c, const char *name,
		     char *xml)
{
	void *p;

	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->name[i], name) == 0) {
			free(c->xml[i]);
			c->xml[i] = xml;
			return;
		}
	}
	p = realloc(c->name, (c->n + 1) * sizeof(*c->name));
	if (p == NULL)
		goto fail;
	c->name = p;
	p = realloc(c->xml, (c->n + 1) * sizeof(*c->xml));
	if (p == NULL)
		goto fail;
	c->xml = p;
	str_copy(c->name[c->n], sizeof(c->name[0]), name);
	c->xml[c->n++] = xml;
	return;
fail:
	/* not cached: defined again next pass, nothing lost */
	free(xml);
}

static int define_one(struct agent_virt *v, struct agent_virt_net_cache *c,
		      const struct agent_net_port *port)
{
	char name[AGENT_NETXML_FILTER_LEN];
	virNWFilterPtr f;
	char *xml = NULL;

	agent_netxml_filter_name(port, name);
	if (agent_netxml_filter(port, &xml) < 0)
		return -1;
	if (v->test_driver || cached(c, name, xml)) {
		free(xml);
		return 0;
	}
	f = virNWFilterDefineXML(v->conn, xml);
	if (f == NULL) {
		free(xml);
		virResetLastError();
		return err_set("port %s: libvirt refused its network filter: %s",
			       port->port_id, agent_virt_msg());
	}
	virNWFilterFree(f);
	log_info("port %s (%s): network filter %s defined with %zu rules",
		 port->port_id, port->mac, name, port->nrules);
	remember(c, name, xml);
	return 0;
}

int agent_virt_net_filters(struct agent_virt *v,
			   struct agent_virt_net_cache *c,
			   const struct agent_vm_spec *spec)
{
	for (size_t i = 0; i < spec->nports; i++)
		if (define_one(v, c, &spec->ports[i]) < 0)
			return err_prefix("vm '%s'", spec->name);
	return 0;
}

/* Whether a port of specs[0..n) has the filter name. */
static bool named(const char *name, const struct agent_vm_spec *specs,
		  size_t n)
{
	for (size_t j = 0; j < n; j++) {
		for (size_t k = 0; k < specs[j].nports; k++) {
			char want[AGENT_NETXML_FILTER_LEN];

			agent_netxml_filter_name(&specs[j].ports[k], want);
			if (strcmp(want, name) == 0)
				return true;
		}
	}
	return false;
}

/* Whether this agent defined name (and has not undefined it since). */
static bool defined_here(const struct agent_virt_net_cache *c,
			 const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->name[i], name) == 0)
			return true;
	return false;
}

/* When the foreign filter name was first seen unnamed: now_ns on its
 * first sighting (recorded; 0 when out of memory: timed again next
 * pass, never removed early). */
static uint64_t first_seen(struct agent_virt_net_cache *c, const char *name,
			   uint64_t now_ns)
{
	void *p;

	for (size_t i = 0; i < c->nforeign; i++)
		if (strcmp(c->foreign[i], name) == 0)
			return c->since_ns[i];
	p = realloc(c->foreign, (c->nforeign + 1) * sizeof(*c->foreign));
	if (p == NULL)
		return now_ns;
	c->foreign = p;
	p = realloc(c->since_ns, (c->nforeign + 1) * sizeof(*c->since_ns));
	if (p == NULL)
		return now_ns;
	c->since_ns = p;
	str_copy(c->foreign[c->nforeign], sizeof(c->foreign[0]), name);
	c->since_ns[c->nforeign++] = now_ns;
	return now_ns;
}

void agent_virt_net_sweep_plan(struct agent_virt_net_cache *c,
			       const char (*names)[64], size_t nnames,
			       const struct agent_vm_spec *specs, size_t n,
			       const struct agent_vm_spec *incoming, size_t nin,
			       uint64_t now_ns, uint64_t grace_ns, bool *remove)
{
	size_t prefix = strlen(AGENT_NETXML_FILTER_PREFIX);

	for (size_t i = 0; i < nnames; i++) {
		const char *name = names[i];

		remove[i] = false;
		if (strncmp(name, AGENT_NETXML_FILTER_PREFIX, prefix) != 0 ||
		    named(name, specs, n) || named(name, incoming, nin))
			continue;
		if (defined_here(c, name))
			remove[i] = true;
		else
			remove[i] = now_ns - first_seen(c, name, now_ns) >=
				    grace_ns;
	}
	/* the timings of filters now named, or gone, or removed now */
	for (size_t k = 0; k < c->nforeign;) {
		bool keep = false;

		for (size_t i = 0; i < nnames && !keep; i++)
			keep = !remove[i] && strcmp(names[i], c->foreign[k]) == 0 &&
			       !named(names[i], specs, n) &&
			       !named(names[i], incoming, nin);
		if (keep) {
			k++;
			continue;
		}
		c->nforeign--;
		memcpy(c->foreign[k], c->foreign[c->nforeign],
		       sizeof(c->foreign[0]));
		c->since_ns[k] = c->since_ns[c->nforeign];
	}
}

void agent_virt_net_sweep(struct agent_virt *v, struct agent_virt_net_cache *c,
			  const struct agent_vm_spec *specs, size_t n,
			  const struct agent_vm_spec *incoming, size_t nin,
			  uint64_t now_ns, uint64_t grace_ns)
{
	virNWFilterPtr *all = NULL;
	char (*names)[64] = NULL;
	bool *remove = NULL;
	int nall;

	if (v->test_driver)
		return;
	nall = virConnectListAllNWFilters(v->conn, &all, 0);
	if (nall > 0) {
		names = calloc((size_t)nall, sizeof(*names));
		remove = calloc((size_t)nall, sizeof(*remove));
	}
	if (nall > 0 && names && remove) {
		for (int i = 0; i < nall; i++) {
			const char *name = virNWFilterGetName(all[i]);

			str_copy(names[i], sizeof(names[0]), name ? name : "");
		}
		agent_virt_net_sweep_plan(c, (const char (*)[64])names,
					  (size_t)nall, specs, n, incoming, nin,
					  now_ns, grace_ns, remove);
	}
	for (int i = 0; i < nall; i++) {
		/* in use by a domain (still being destroyed, or arriving):
		 * refused now, removed on a later pass */
		if (remove && remove[i] && virNWFilterUndefine(all[i]) == 0) {
			log_info("network filter %s undefined", names[i]);
			for (size_t j = 0; j < c->n; j++)
				if (strcmp(c->name[j], names[i]) == 0)
					c->name[j][0] = '\0';
		}
		virNWFilterFree(all[i]);
	}
	free(all);
	free(names);
	free(remove);
	virResetLastError();
}

/* The fincloud port filters domain xml references into names (*n). */
static int referenced_filters(const char *xml, char (*names)[64], size_t max,
			      size_t *n)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR |
					      XML_PARSE_NOWARNING);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;

	*n = 0;
	if (root == NULL) {
		xmlFreeDoc(doc);
		return err_set("cannot read the domain's XML");
	}
	for (xmlNodePtr d = root->children; d; d = d->next) {
		if (d->type != XML_ELEMENT_NODE ||
		    !xmlStrEqual(d->name, BAD_CAST "devices"))
			continue;
		for (xmlNodePtr i = d->children; i; i = i->next) {
			if (i->type != XML_ELEMENT_NODE ||
			    !xmlStrEqual(i->name, BAD_CAST "interface"))
				continue;
			for (xmlNodePtr f = i->children; f; f = f->next) {
				xmlChar *name;

				if (f->type != XML_ELEMENT_NODE ||
				    !xmlStrEqual(f->name, BAD_CAST "filterref"))
					continue;
				name = xmlGetProp(f, BAD_CAST "filter");
				if (name && *n < max &&
				    strncmp((const char *)name,
					    AGENT_NETXML_FILTER_PREFIX,
					    strlen(AGENT_NETXML_FILTER_PREFIX)) == 0)
					str_copy(names[(*n)++], sizeof(names[0]),
						 (const char *)name);
				xmlFree(name);
			}
		}
	}
	xmlFreeDoc(doc);
	return 0;
}

int agent_virt_net_copy_filters(struct agent_virt *v, const char *uuid,
				const char *target_uri)
{
	char names[AGENT_NET_MAX_PORTS][64];
	virConnectPtr dst = NULL;
	bool missing;
	virDomainPtr dom = agent_virt_lookup_managed(v, uuid, &missing);
	char *xml = NULL;
	size_t n = 0;
	int ret = -1;

	/* not here: the migration says so itself */
	if (dom == NULL || v->test_driver) {
		err_clear();
		virResetLastError();
		if (dom)
			virDomainFree(dom);
		return 0;
	}
	xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
	if (xml == NULL) {
		err_set("vm %s: cannot read its definition: %s", uuid,
			agent_virt_msg());
		goto out;
	}
	if (referenced_filters(xml, names, AGENT_NET_MAX_PORTS, &n) < 0)
		goto out;
	if (n == 0) {
		ret = 0;
		goto out;
	}
	dst = virConnectOpen(target_uri);
	if (dst == NULL) {
		err_set("vm %s: cannot reach %s to give it the port filters: %s",
			uuid, target_uri, agent_virt_msg());
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		virNWFilterPtr f = virNWFilterLookupByName(
			virDomainGetConnect(dom), names[i]);
		char *fx = f ? virNWFilterGetXMLDesc(f, 0) : NULL;
		virNWFilterPtr g = fx ? virNWFilterDefineXML(dst, fx) : NULL;

		if (g == NULL)
			err_set("vm %s: cannot copy network filter %s to %s: %s",
				uuid, names[i], target_uri, agent_virt_msg());
		free(fx);
		if (f)
			virNWFilterFree(f);
		if (g == NULL)
			goto out;
		virNWFilterFree(g);
	}
	log_info("vm %s: %zu port filter(s) defined on %s before the "
		 "migration", uuid, n, target_uri);
	ret = 0;
out:
	virResetLastError();
	if (dst)
		virConnectClose(dst);
	free(xml);
	virDomainFree(dom);
	return ret;
}

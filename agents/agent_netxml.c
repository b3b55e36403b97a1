#include <stdlib.h>

#include "agents/agent_netlink.h"
#include "agents/agent_netxml.h"
#include "common/err.h"

static const char *const proto_elem[] = {
	[AGENT_NET_TCP] = "tcp", [AGENT_NET_UDP] = "udp",
	[AGENT_NET_ICMP] = "icmp", [AGENT_NET_ANY] = "all",
};

void agent_netxml_filter_name(const struct agent_net_port *port,
			      char out[AGENT_NETXML_FILTER_LEN])
{
	snprintf(out, AGENT_NETXML_FILTER_LEN, AGENT_NETXML_FILTER_PREFIX "%s",
		 port->port_id);
}

/* A new child element of parent with attributes names[i]=values[i]
 * (NULL-terminated); NULL when out of memory. */
static xmlNodePtr elem(xmlNodePtr parent, const char *name,
		       const char *const *names, const char *const *values)
{
	xmlNodePtr n = xmlNewChild(parent, NULL, BAD_CAST name, NULL);

	for (size_t i = 0; n && names && names[i]; i++)
		if (xmlSetProp(n, BAD_CAST names[i], BAD_CAST values[i]) == NULL)
			return NULL;
	return n;
}

#define ATTRS(...) ((const char *const[]){__VA_ARGS__, NULL})

int agent_netxml_interfaces(xmlNodePtr devs, const struct agent_net_port *ports,
			    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct agent_net_port *p = &ports[i];
		char br[AGENT_NETLINK_IFNAME], mtu[16], ip[16];
		char filter[AGENT_NETXML_FILTER_LEN];
		xmlNodePtr nic, f;

		agent_netlink_bridge_name(p->vni, br);
		agent_netxml_filter_name(p, filter);
		agent_net_addr_format(p->ip, ip);
		snprintf(mtu, sizeof(mtu), "%d", p->mtu);
		nic = elem(devs, "interface", ATTRS("type"), ATTRS("bridge"));
		if (nic == NULL ||
		    !elem(nic, "mac", ATTRS("address"), ATTRS(p->mac)) ||
		    !elem(nic, "source", ATTRS("bridge"), ATTRS(br)) ||
		    !elem(nic, "model", ATTRS("type"), ATTRS("virtio")) ||
		    !elem(nic, "mtu", ATTRS("size"), ATTRS(mtu)))
			return -1;
		f = elem(nic, "filterref", ATTRS("filter"), ATTRS(filter));
		if (f == NULL || !elem(f, "parameter", ATTRS("name", "value"),
				       ATTRS("IP", ip)))
			return -1;
	}
	return 0;
}

/* One <rule> of priority prio, direction dir, action act, with a
 * protocol element of attributes names/values. */
static int rule(xmlNodePtr root, const char *act, const char *dir,
		const char *prio, const char *proto, const char *const *names,
		const char *const *values)
{
	xmlNodePtr r = elem(root, "rule", ATTRS("action", "direction",
						 "priority"),
			    ATTRS(act, dir, prio));

	return r && elem(r, proto, names, values) ? 0 : -1;
}

static int allow(xmlNodePtr root, const struct agent_net_rule *r)
{
	char src[16], mask[8], lo[8], hi[8];

	agent_net_addr_format(r->src, src);
	snprintf(mask, sizeof(mask), "%d", r->prefix);
	snprintf(lo, sizeof(lo), "%d", r->port_min);
	snprintf(hi, sizeof(hi), "%d", r->port_max);
	if (r->proto == AGENT_NET_TCP || r->proto == AGENT_NET_UDP)
		return rule(root, "accept", "in", "500", proto_elem[r->proto],
			    ATTRS("srcipaddr", "srcipmask", "dstportstart",
				  "dstportend"),
			    ATTRS(src, mask, lo, hi));
	return rule(root, "accept", "in", "500", proto_elem[r->proto],
		    ATTRS("srcipaddr", "srcipmask"), ATTRS(src, mask));
}

int agent_netxml_filter(const struct agent_net_port *port, char **out)
{
	char name[AGENT_NETXML_FILTER_LEN];
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root = NULL;
	xmlChar *mem = NULL;
	int size = 0, ret = -1;

	*out = NULL;
	agent_netxml_filter_name(port, name);
	if (doc)
		root = xmlNewNode(NULL, BAD_CAST "filter");
	if (root == NULL)
		goto oom;
	xmlDocSetRootElement(doc, root);
	/* the port's id is the filter's UUID: libvirt generates one for a
	 * definition without it, and then refuses every redefinition of
	 * the name (a rule change) as another filter's */
	if (xmlSetProp(root, BAD_CAST "name", BAD_CAST name) == NULL ||
	    xmlSetProp(root, BAD_CAST "chain", BAD_CAST "root") == NULL ||
	    xmlNewTextChild(root, NULL, BAD_CAST "uuid",
			    BAD_CAST port->port_id) == NULL ||
	    !elem(root, "filterref", ATTRS("filter"), ATTRS("clean-traffic")))
		goto oom;
	/* what the guest sends (clean-traffic has checked its source) */
	if (rule(root, "accept", "out", "400", "all", NULL, NULL) < 0)
		goto oom;
	for (size_t i = 0; i < port->nrules; i++)
		if (allow(root, &port->rules[i]) < 0)
			goto oom;
	/* its network's DHCP server answers, whatever the groups say */
	if (port->dhcp_server) {
		char a[16];

		agent_net_addr_format(port->dhcp_server, a);
		if (rule(root, "accept", "in", "500", "udp",
			 ATTRS("srcipaddr", "srcportstart", "dstportstart"),
			 ATTRS(a, "67", "68")) < 0)
			goto oom;
	}
	if (rule(root, "drop", "in", "900", "all", NULL, NULL) < 0)
		goto oom;
	xmlDocDumpFormatMemoryEnc(doc, &mem, &size, "UTF-8", 1);
	if (mem == NULL || (*out = strdup((const char *)mem)) == NULL)
		goto oom;
	ret = 0;
	goto out;
oom:
	err_set("port %s: out of memory building its network filter",
		port->port_id);
out:
	xmlFree(mem);
	xmlFreeDoc(doc);
	return ret;
}

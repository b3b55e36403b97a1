/*
 * agent_netxml.h - the libvirt XML of a VM's ports: the <interface>
 * elements of its domain and one network filter (nwfilter) per port.
 *
 * A port's NIC is a bridge interface on its network's bridge
 * (agent_netlink.h names it), with the port's MAC, virtio, the MTU the
 * guest is told, and the filter "fincloud-port-PORT_ID" with the port's
 * address as the IP parameter. The filter is libvirt's clean-traffic
 * (no MAC, IP or ARP spoofing, no other L2 traffic: the guest can send
 * only with its own MAC and address) plus the port's ingress rules:
 * everything the guest sends is accepted (replies to it come back by
 * connection tracking), what comes in is accepted only when a rule
 * allows it, and the rest is dropped.
 *
 * The filter's UUID is its port's id, so that a redefinition (a rule
 * change) replaces it.
 *
 * Every value is set through libxml2 (escaped), from fields
 * agent_net.h has checked.
 */
#ifndef AGENT_NETXML_H
#define AGENT_NETXML_H

#include <libxml/tree.h>

#include "agents/agent_net.h"

/* "fincloud-port-" and a UUID, and the NUL */
#define AGENT_NETXML_FILTER_LEN 52
#define AGENT_NETXML_FILTER_PREFIX "fincloud-port-"

/* The name of port's filter into out. */
void agent_netxml_filter_name(const struct agent_net_port *port,
			      char out[AGENT_NETXML_FILTER_LEN]);

/* Append one <interface type='bridge'> per port to devs (a domain's
 * <devices>), in order. 0, or -1 when out of memory. */
int agent_netxml_interfaces(xmlNodePtr devs, const struct agent_net_port *ports,
			    size_t n);

/* The nwfilter XML of port into *out (malloc'd; the caller frees it).
 * 0, or -1 with err_set(). */
int agent_netxml_filter(const struct agent_net_port *port, char **out);

#endif

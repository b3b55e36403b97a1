/*
 * agent_dhcp.h - the DHCP servers of this node's networks. For each
 * network with DHCP (agent_net_network.dhcp_ip) that has a port of a VM
 * of this node, one dnsmasq (Debian's dnsmasq-base, docs/decisions.md)
 * runs in a network namespace of its own, "fcdhcpKEY", reached from the
 * network's bridge fcbrKEY through a veth pair: "fcdhKEY" on the bridge
 * (alias "fincloud:dhcp:KEY"), "fcdnKEY" in the namespace with the
 * network's DHCP address (one the controller took from the CIDR, never
 * a port's). The namespace keeps the node's own addresses and services
 * off the tenants' networks, and lets two networks with the same CIDR
 * each have a server. dnsmasq answers this node's ports only, by fixed
 * MAC -> address entries (no dynamic range), with the network's gateway
 * (or no router) and MTU, and no DNS.
 *
 * Its files live in AGENT_DHCP_DIR: KEY.hosts (dnsmasq's dhcp-hostsfile,
 * re-read on SIGHUP when it changes), KEY.pid, KEY.log (--log-dhcp: each
 * DISCOVER, OFFER, REQUEST and ACK). dnsmasq drops to user nobody after
 * it has opened them. A server that died is started again by the next
 * pass; a network that leaves the node takes its server, namespace,
 * veth and files with it (its log stays: a server started again for the
 * network appends to it), and so does the agent when it ends.
 *
 * Shaped like agent_netlink.h: agent_dhcp_hosts() (what dnsmasq must
 * know) is pure and unit-tested; agent_dhcp_reconcile() observes the
 * pid files and namespaces, and starts, signals or stops.
 */
#ifndef AGENT_DHCP_H
#define AGENT_DHCP_H

#include "agents/agent_net.h"
#include "agents/agent_spec.h"

struct buf;

#define AGENT_DHCP_DIR "/run/fincloud/dhcp"
#define AGENT_DHCP_NETNS "fcdhcp"
#define AGENT_DHCP_ALIAS "fincloud:dhcp:"

/* The dhcp-hostsfile lines of network nw ("MAC,A.B.C.D\n", in the order
 * of specs[0..n) and their ports) for the ports on it of the VMs this
 * node keeps (not those being deleted), appended to out. 0, or -1 with
 * err_set() when out is full. */
int agent_dhcp_hosts(const struct agent_net_network *nw,
		     const struct agent_vm_spec *specs, size_t n,
		     struct buf *out);

/* Bring the node's DHCP servers to the networks nets[0..nnets) (those
 * with dhcp_ip that the specs' ports use), after agent_netlink has made
 * their bridges: start the missing (or dead) servers, send SIGHUP to
 * those whose hosts changed, stop and remove those no longer wanted.
 * 0, or -1 with err_set() naming the first network that failed (the
 * others are still done). */
int agent_dhcp_reconcile(const struct agent_net_network *nets, size_t nnets,
			 const struct agent_vm_spec *specs, size_t nspecs);

/* Stop every DHCP server of the agent's and remove its namespace,
 * links and files: when the agent ends (the next one starts them again
 * in its first pass), so that nothing of the agent's outlives it. */
void agent_dhcp_stop_all(void);

#endif

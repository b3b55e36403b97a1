/*
 * agent_netlink.h - the tenant networks' links on this node: per network
 * a Linux bridge "fcbrVNI" and a VXLAN device "fcvxVNI" (id VNI, local
 * the node's underlay address, dstport 4789, nolearning) enslaved to it,
 * with one all-zero FDB entry per peer node (head-end replication: every
 * broadcast, unknown unicast and multicast frame goes to each peer, no
 * multicast group needed in the underlay).
 *
 * The agent marks what it creates with the alias "fincloud:net:VNI" and
 * only ever changes or removes links carrying that alias: a link of one
 * of its names that lacks it is someone else's, and its network is not
 * set up (an error names it).
 *
 * A provider network (agent_net.h) has the same bridge "fcbrKEY" and,
 * in place of the VXLAN device, the node interface it names (flat) or
 * its 802.1Q sub-interface IFACE.VLAN, which the agent creates (alias
 * "fincloud:vlan:KEY") and removes with the network. The agent never
 * takes an interface that is in another master, never changes the
 * state or addresses of one it did not create, and a deleted bridge
 * releases a flat network's interface as it was.
 *
 * Shaped like agent_reconcile.h: agent_netlink_plan() is a pure function
 * (wanted networks + observed links -> commands), unit-tested; the
 * reconcile step around it observes (ip -j -d link show, bridge -j fdb
 * show), plans, and runs iproute2's ip and bridge commands (netlink
 * through the standard tools, docs/decisions.md).
 */
#ifndef AGENT_NETLINK_H
#define AGENT_NETLINK_H

#include "agents/agent_net.h"

#define AGENT_NETLINK_IFNAME 16  /* IFNAMSIZ */
#define AGENT_NETLINK_ALIAS "fincloud:net:"
#define AGENT_NETLINK_VLAN_ALIAS "fincloud:vlan:"
#define AGENT_NETLINK_PORT 4789

/* The bridge / VXLAN device name of network vni into out. */
void agent_netlink_bridge_name(int64_t vni, char out[AGENT_NETLINK_IFNAME]);
void agent_netlink_vxlan_name(int64_t vni, char out[AGENT_NETLINK_IFNAME]);

/* A link of this node as observed: a bridge or VXLAN device with one of
 * the agent's names, a VLAN sub-interface the agent made (its alias
 * "fincloud:vlan:KEY"), or any other link (other: a provider network's
 * interface, perhaps). */
struct agent_netlink_obs {
	char name[AGENT_NETLINK_IFNAME];
	bool vxlan;               /* else a bridge (unless vlan or other) */
	bool vlan;                /* a provider network's VLAN link */
	bool other;               /* not one of the agent's names */
	bool ours;                /* carries the agent's alias */
	char kind[16];            /* other: its link kind ("veth", ""...) */
	bool addressed;           /* holds an IPv4 or a global IPv6 address
				     (the node's own traffic may use it) */
	int64_t vni;              /* from the name (vlan: the alias) */
	int mtu;
	char master[AGENT_NETLINK_IFNAME]; /* vxlan: its bridge, "" none */
	uint32_t *fdb;            /* vxlan: all-zero FDB destinations */
	size_t nfdb;
};

/* The commands that bring the observed links obs[0..nobs) to the wanted
 * networks nets[0..nnets) of a node whose underlay address is local, one
 * per line ("ip link add fcbr1000 type bridge"), into *out (malloc'd,
 * NUL-terminated, "" when nothing is to be done; the caller frees it).
 * A network whose names are taken by links that are not the agent's is
 * left out, with a line for it in *refused (malloc'd, "" when none).
 * 0, or -1 when out of memory. */
int agent_netlink_plan(const struct agent_net_network *nets, size_t nnets,
		       uint32_t local, const struct agent_netlink_obs *obs,
		       size_t nobs, char **out, char **refused);

/* The links of obs[0..nobs) a provider network may bridge, as a new
 * JSON array of names (the caller owns it; NULL when out of memory):
 * not the agent's, not loopback, no bridge, VXLAN or tap, and in no
 * master but the agent's bridges. */
cJSON *agent_netlink_free_ifaces(const struct agent_netlink_obs *obs,
				 size_t nobs);

/* Whether this node's kernel makes 802.1Q VLAN links (the 8021q
 * driver): probed on a veth pair of the agent's made and removed for it
 * (fcvlprobe; one a killed agent left is removed first), and logged; a
 * definite answer is kept, a probe that could not run is tried again at
 * the next call. Runs commands: never call it under a lock others wait
 * on. A VLAN network is refused on a node
 * without it, and its agent says so in its heartbeats (vlan_capable) so
 * that placement keeps such VMs off it. */
bool agent_netlink_vlan_capable(void);

/* Observe, plan and run: bring this node's links to nets. *ifaces gets
 * agent_netlink_free_ifaces() of what was observed (NULL when the links
 * could not be observed; the caller owns it). 0, or -1 with err_set()
 * naming the first command that failed or the networks refused (the
 * others are still set up). */
int agent_netlink_reconcile(const struct agent_net_network *nets,
			    size_t nnets, uint32_t local, cJSON **ifaces);

struct buf;

/* Run argv (argv[0] found in PATH: ip, bridge), its stdout into out
 * (NULL: dropped). 0 when it exits 0, else -1 with err_set() naming the
 * command and carrying its stderr. For tools that exit: the call reads
 * their output to the end. */
int agent_netlink_run(char *const argv[], struct buf *out);

/* Whether the bridge of network vni on this node is the agent's (a
 * bridge carrying its alias), so that a guest's NIC may be attached to
 * it: 0 when it is, -1 with err_set() naming the bridge and why not
 * (missing, not a bridge, someone else's) or the observation that
 * failed. Runs "ip -j -d link show" once. */
int agent_netlink_bridge_ready(int64_t vni);

/* The IPv4 host of a libvirt URI ("qemu+tcp://10.0.0.2/system") into
 * *addr: 0, or -1 with err_set(). */
int agent_netlink_uri_addr(const char *uri, uint32_t *addr);

#endif

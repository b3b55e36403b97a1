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
 * each have a server. dnsmasq answers every port of the network (the
 * controller's list, agent_net_network.hosts: the servers of all nodes
 * share one address and one layer 2, so any of them may get a guest's
 * renewal), by fixed MAC -> address entries (no dynamic range), with
 * the network's gateway (or no router) and MTU, and no DNS;
 * authoritative on an overlay only.
 *
 * Its files live in AGENT_DHCP_DIR: KEY.hosts (dnsmasq's dhcp-hostsfile,
 * re-read on SIGHUP when it changes), KEY.pid, KEY.log (each DISCOVER,
 * OFFER, REQUEST and ACK; emptied by a pass once beyond 256 KiB).
 * dnsmasq drops to user nobody after it has opened them. A server that
 * died, or runs with another command line (a reused key), is started
 * again by the next pass, which also mends its veth pair (made, with
 * the address, up, in the bridge); a network that leaves the node takes
 * its server, namespace, veth and files with it, and so does the agent
 * when it ends.
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

/* The dhcp-hostsfile lines of network nw ("MAC,A.B.C.D\n") appended to
 * out when a VM this node keeps (not one being deleted) of specs[0..n)
 * has a port on it: those of its ports nw->hosts does not list (in the
 * order of specs and ports), then every one of nw->hosts; nothing when
 * none has (no server here). 0, or -1 with err_set() when out is full. */
int agent_dhcp_hosts(const struct agent_net_network *nw,
		     const struct agent_vm_spec *specs, size_t n,
		     struct buf *out);

#define AGENT_DHCP_PATH_LEN 96
#define AGENT_DHCP_CMD_LEN 4096

/* The command that runs a network's dnsmasq in its namespace: argv (up
 * to its NULL), "ip netns exec NS dnsmasq ..." with words kept in the
 * other fields. */
struct agent_dhcp_cmd {
	char ns[24], host[16], inner[16], range[64], router[48], mtu[40];
	char hosts[AGENT_DHCP_PATH_LEN + 24], pidf[AGENT_DHCP_PATH_LEN + 16];
	char logf[AGENT_DHCP_PATH_LEN + 16], iface[32];
	char *argv[32];
};

/* Fill c with the command of network nw's server (nw->dhcp_ip set):
 * its range (the network's CIDR, static leases only), router, MTU, hosts
 * file, pid file and log in AGENT_DHCP_DIR, and --dhcp-authoritative on
 * an overlay only (never on a provider segment, which machines that are
 * not fincloud's share). c refers to itself; it needs no freeing. */
void agent_dhcp_cmd(const struct agent_net_network *nw,
		    struct agent_dhcp_cmd *c);

/* Whether cmd, a running server's /proc/PID/cmdline with each word
 * followed by a space (NUL-terminated), is c's from "dnsmasq" on: a
 * server started for another range or mode (a network that had the key
 * before) is not. */
bool agent_dhcp_cmd_same(const struct agent_dhcp_cmd *c, const char *cmd);

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

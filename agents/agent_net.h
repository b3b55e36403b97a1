/*
 * agent_net.h - the tenant networks of this node as the controller's
 * desired state gives them (schemas/agent-desired.json $defs.port and
 * $defs.network): parsing and checking them, every field, since they end
 * up in domain XML, network filter XML and ip/bridge command lines.
 *
 * A VM spec's ports and a desired state's networks live in heap arrays
 * owned by the struct agent_desired they were parsed into
 * (agent_desired_free() releases them); the specs of one reconcile pass
 * are shallow copies that borrow them.
 */
#ifndef AGENT_NET_H
#define AGENT_NET_H

#include <cjson/cJSON.h>

#include "common/fc.h"
#include "common/util.h"

#define AGENT_NET_MAX_PORTS 8
#define AGENT_NET_MAX_RULES 4096
#define AGENT_NET_MAX_PEERS 4096

enum agent_net_proto {
	AGENT_NET_TCP = 0,
	AGENT_NET_UDP,
	AGENT_NET_ICMP,
	AGENT_NET_ANY,
};

/* An ingress rule: traffic of proto (ports port_min..port_max for TCP
 * and UDP) from src/prefix may reach the port. */
struct agent_net_rule {
	enum agent_net_proto proto;
	int port_min, port_max;
	uint32_t src;             /* host byte order */
	int prefix;
};

struct agent_net_port {
	char port_id[37];
	char mac[18];             /* "02:fc:xx:xx:xx:xx", lowercase */
	uint32_t ip;              /* host byte order */
	int prefix;
	uint32_t gateway;         /* 0: none */
	int mtu;
	char network[NAME_MAX_LEN + 1];
	int64_t vni;              /* names the bridge (agent_netlink.h) */
	uint32_t dhcp_server;     /* its network's DHCP server; 0: none */
	struct agent_net_rule *rules;
	size_t nrules;
};

/* A port of a network with DHCP, as its DHCP servers know it. */
struct agent_net_host {
	char mac[18];
	uint32_t ip;              /* host byte order */
};

/* The most ports a DHCP network's desired state lists (a /16). */
#define AGENT_NET_MAX_HOSTS 65536

struct agent_net_peer {
	char node[NAME_MAX_LEN + 1];
	uint32_t addr;            /* underlay IPv4, host byte order */
};

/* How a network reaches the other nodes: a VXLAN overlay (a tenant
 * network), or bridged onto a node interface (a provider network):
 * untagged (flat) or on its 802.1Q sub-interface IFACE.VLAN. */
enum agent_net_type {
	AGENT_NET_OVERLAY = 0,
	AGENT_NET_FLAT,
	AGENT_NET_VLAN,
};

/* The key of a provider network (its "vni") is at least this: it names
 * its bridge and is never a VXLAN id. */
#define AGENT_NET_PROVIDER_KEY_MIN (INT64_C(1) << 24)
#define AGENT_NET_KEY_MAX ((INT64_C(1) << 24) + 999999)

struct agent_net_network {
	char name[NAME_MAX_LEN + 1];
	int64_t vni;              /* VXLAN id, or a provider network's key */
	int mtu;
	struct agent_net_peer *peers;
	size_t npeers;
	enum agent_net_type type;
	char iface[16];           /* provider: the node interface */
	int vlan_id;              /* AGENT_NET_VLAN: 1-4094 */
	uint32_t dhcp_ip;         /* the DHCP server's address; 0: no DHCP */
	int dhcp_prefix;
	uint32_t dhcp_gateway;    /* 0: none */
	struct agent_net_host *hosts; /* every port of the network (DHCP) */
	size_t nhosts;
};

/* Whether name may be a provider network's node interface (with vlan,
 * 0 for none, as its 802.1Q tag): 1-15 bytes of [A-Za-z0-9_.-], not
 * fincloud's own (fc...), and IFACE.VLAN fits in 15 bytes. */
bool agent_net_ifname_ok(const char *name, int vlan);

/* Parse the array arr (a VM spec's "ports", at JSON path path; NULL:
 * none) into *ports (*n of them; release with agent_net_ports_free()).
 * 0, or -1 with err_set() naming the field (nothing to free then). */
int agent_net_ports_parse(const cJSON *arr, const char *path,
			  struct agent_net_port **ports, size_t *n);
void agent_net_ports_free(struct agent_net_port *ports, size_t n);

/* Parse the desired state's "networks" (arr at path; NULL: none) into
 * *nets (*n; release with agent_net_networks_free()). 0, or -1 with
 * err_set() (nothing to free then). */
int agent_net_networks_parse(const cJSON *arr, const char *path,
			     struct agent_net_network **nets, size_t *n);
void agent_net_networks_free(struct agent_net_network *nets, size_t n);

struct buf;

/* The "ethernets:" section of a NoCloud network-config (version 2) for
 * ports[0..n), appended to out: one entry per port matched by its MAC
 * (the guest names its NICs as it likes), its static address with its
 * prefix, its MTU and, when the network has a gateway, a default route;
 * a port of a network with DHCP gets "dhcp4: true" and nothing else. "ethernets: {}" for none. For the seed writer (agent_seed).
 * 0, or -1 with err_set() when out is full. */
int agent_net_seed_ethernets(const struct agent_net_port *ports, size_t n,
			     struct buf *out);

/* Dotted-quad text of addr into out (16 bytes). */
void agent_net_addr_format(uint32_t addr, char out[16]);

#endif

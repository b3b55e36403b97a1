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
	int64_t vni;
	struct agent_net_rule *rules;
	size_t nrules;
};

struct agent_net_peer {
	char node[NAME_MAX_LEN + 1];
	uint32_t addr;            /* underlay IPv4, host byte order */
};

struct agent_net_network {
	char name[NAME_MAX_LEN + 1];
	int64_t vni;
	int mtu;
	struct agent_net_peer *peers;
	size_t npeers;
};

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
 * no DHCP. "ethernets: {}" for none. For the seed writer (agent_seed).
 * 0, or -1 with err_set() when out is full. */
int agent_net_seed_ethernets(const struct agent_net_port *ports, size_t n,
			     struct buf *out);

/* Dotted-quad text of addr into out (16 bytes). */
void agent_net_addr_format(uint32_t addr, char out[16]);

#endif

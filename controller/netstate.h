/*
 * netstate.h - tenant networks in the store: a VM's ports made in the
 * transaction of its claim, the default security group of a tenant, and
 * the network part of each node's desired state (docs/agent-protocol.md).
 *
 * A port's address and MAC are chosen here (with ipam.h's rules) and
 * written in the caller's transaction, under the controller lock: no two
 * requests choose at once, and the UNIQUE(network, ip) and UNIQUE(mac)
 * constraints of the ports table stand behind it. A port lives as long
 * as its VM's row (ON DELETE CASCADE), so an address is free again only
 * once the VM's node confirmed its domain gone.
 *
 * A node "hosts" a network while a VM with a port on it is placed there
 * or is migrating there (an open migrate task): NETSTATE_SQL_HOSTING.
 * Whatever changes that set changes the desired state of every node that
 * hosts the network (its peers for head-end replication), so the writers
 * bump those nodes' generations with netstate_bump_*().
 */
#ifndef FC_CTRL_NETSTATE_H
#define FC_CTRL_NETSTATE_H

#include <cjson/cJSON.h>

#include "common/fc.h"

struct api_ctx;
struct ctrl;
struct store;

/* The most networks (ports) a VM has, and security groups per port. */
#define NETSTATE_MAX_PORTS 8
#define NETSTATE_MAX_GROUPS 8

/* The MTU guests of a network are given: 1500 of the nodes' links less
 * the 50 bytes of VXLAN over IPv4. */
#define NETSTATE_MTU 1450

/* A provider network's key (its vni column, naming its bridge fcbrKEY)
 * is taken from this range, above every VXLAN id, and its guests get the
 * MTU of the provider link, which carries no encapsulation. */
#define NETSTATE_PROVIDER_KEY_MIN (INT64_C(1) << 24)
#define NETSTATE_PROVIDER_KEY_MAX ((INT64_C(1) << 24) + 999999)
#define NETSTATE_PROVIDER_MTU 1500

/* Check name as the node interface of a provider network (vlan: its
 * 802.1Q tag, 0 for a flat one): 1-15 bytes of [A-Za-z0-9_-] and '.',
 * not one of fincloud's own names (fc...), and room for ".VLAN" in the
 * 15 bytes of a Linux interface name. 0, or -1 with err_set() saying
 * what is wrong. */
int netstate_ifname_check(const char *name, int64_t vlan);

/* (host, network) pairs: where each network is needed. */
#define NETSTATE_SQL_HOSTING                                               \
	"SELECT v.host AS host, p.network AS network FROM ports p JOIN vms v " \
	"ON v.id = p.vm_id UNION SELECT t.target_host, p.network FROM tasks " \
	"t JOIN ports p ON p.vm_id = t.vm_id WHERE t.type = 'migrate' AND "  \
	"t.state IN ('pending','running')"

/* The key of tenant's security group name ("TENANT:NAME") into out
 * (size bytes): 0, or -1 with err_set() when it does not fit. */
int netstate_sg_key(const char *tenant, const char *name, char *out,
		    size_t size);

/* Where a VM's provider networks bind it: the pool they span ("" when
 * it has none) and the interfaces a node must have free for them
 * (ifaces[0..nifaces), pointing into names). */
struct netstate_bind {
	char pool[NAME_MAX_LEN + 1];
	char names[NETSTATE_MAX_PORTS][16];
	const char *ifaces[NETSTATE_MAX_PORTS];
	size_t nifaces;
	bool vlan;                /* one is a VLAN network: 802.1Q needed */
};

/* The bind of the provider networks named in a create's $.networks that
 * are shared with tenant (read, not checked: netstate_ports_create()
 * checks them and refuses the others). 0, or -1 with the answer set
 * (400 when they span two pools, 500). */
int netstate_bind_body(struct api_ctx *c, const char *tenant,
		       struct netstate_bind *b);

/* The bind of VM vm_id's ports. 0, or -1 with err_set(). */
int netstate_bind_vm(struct store *st, const char *vm_id,
		     struct netstate_bind *b);

/* Make tenant's security group "default" when it has none, with its one
 * rule: everything from the members of the group itself. In the
 * caller's transaction. 0, or -1 with err_set(). */
int netstate_default_group(struct store *st, const char *tenant);

/* From h_vm_create(), once the VM row of vm_id (tenant's) is written:
 * read the body's $.networks ([{"network": NAME, "ip": "A.B.C.D"}], ip
 * optional; at most NETSTATE_MAX_PORTS, one per network) and
 * $.secgroups (names of tenant's groups; none: "default"), and create
 * one port per network, in order (nic 0, 1, ...), each with a new MAC
 * and the given or the lowest free address. Bumps the generation of
 * every node hosting those networks. 0, or -1 with the answer set (400
 * a bad field, 404 a network or group tenant does not have, 409 an
 * address taken or a network full, 500). */
int netstate_ports_create(struct api_ctx *c, const char *vm_id,
			  const char *tenant);

/* VM vm_id's ports as its desired state carries them into ports (an
 * array): per port its MAC, address with prefix, gateway (or null), MTU,
 * network and VNI, security groups, and the ingress rules of those
 * groups with every source group resolved to its members' addresses
 * (/32). 0, or -1 with err_set(). */
int netstate_vm_ports(struct store *st, const char *vm_id, cJSON *ports);

/* The networks node hosts into networks (an array): per network its
 * name, VNI, MTU, the underlay addresses of the other nodes hosting
 * it (peers, taken from their migration URIs), its provider binding and
 * its DHCP server (or null) with every port of the network (hosts: MAC
 * and address, by address; at most 65,533 for the /16 a DHCP network's
 * prefix allows). 0, or -1 with err_set(). */
int netstate_node_networks(struct store *st, const char *node,
			   cJSON *networks);

/* Bump the generation of every node hosting a network VM vm_id has a
 * port on (and wake their long-polls). 0, or -1 with err_set(). */
int netstate_bump_vm(struct ctrl *ctrl, const char *vm_id);

/* Before the heartbeat of node removes its deleted VMs' rows: bump the
 * nodes hosting a network one of them has a port on, whose peers or
 * networks change with it. 0, or -1 with err_set(). */
int netstate_bump_released(struct ctrl *ctrl, const char *node);

/* The underlay address of a node from its migration URI
 * ("qemu+tcp://10.0.0.2/system" -> "10.0.0.2") into out (size bytes):
 * 0, or -1 when the URI names no IPv4 address. */
int netstate_uri_addr(const char *uri, char *out, size_t size);

/* The key of a new network into *vni: want when free (409 vni_in_use
 * when taken), else the lowest free one of lo..hi (the configured VNI
 * range; 409 vni_exhausted when none). 0, or -1 with the answer set
 * (409, 500). */
int netstate_vni(struct api_ctx *c, int64_t want, int64_t lo, int64_t hi,
		 int64_t *vni);

/* A new provider network's key into *vni: never one an earlier provider
 * network had (a high-water mark in meta 'provider_key_next', moved past
 * it in the caller's transaction). 0, or -1 with the answer set (409
 * when the range is used up, 500). */
int netstate_provider_key(struct api_ctx *c, int64_t *vni);

#endif

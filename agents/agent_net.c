#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>

#include "agents/agent_net.h"
#include "agents/agent_spec.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/json.h"

static const char *const protos[] = {
	[AGENT_NET_TCP] = "tcp", [AGENT_NET_UDP] = "udp",
	[AGENT_NET_ICMP] = "icmp", [AGENT_NET_ANY] = "any",
};

void agent_net_addr_format(uint32_t addr, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 255,
		 (addr >> 8) & 255, addr & 255);
}

/* "A.B.C.D" (prefix NULL) or "A.B.C.D/P" (P 0..32) at obj.key. */
static int get_addr(const cJSON *obj, const char *path, const char *key,
		    bool nullable, uint32_t *addr, int *prefix)
{
	char text[24], where[JSON_PATH_MAX];
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	const char *s;
	struct in_addr in;
	char *slash, *end;
	long p = 32;

	json_path_key(where, sizeof(where), path, key);
	*addr = 0;
	if (nullable && cJSON_IsNull(v))
		return 0;
	if (json_get_string(obj, path, key, true, NULL, &s) < 0)
		return -1;
	if (str_copy(text, sizeof(text), s) < 0)
		goto bad;
	slash = strchr(text, '/');
	if ((slash != NULL) != (prefix != NULL))
		goto bad;
	if (slash) {
		*slash = '\0';
		if (!isdigit((unsigned char)slash[1]))
			goto bad;
		p = strtol(slash + 1, &end, 10);
		if (*end != '\0' || p < 0 || p > 32)
			goto bad;
		*prefix = (int)p;
	}
	if (inet_pton(AF_INET, text, &in) != 1)
		goto bad;
	*addr = ntohl(in.s_addr);
	return 0;
bad:
	return err_set("%s: expected an IPv4 address%s, got '%.32s'", where,
		       prefix ? " with its prefix (A.B.C.D/P)" : "",
		       cJSON_IsString(v) ? v->valuestring : "?");
}

static int get_name_into(const cJSON *obj, const char *path, const char *key,
			 char *out, size_t size)
{
	char where[JSON_PATH_MAX];
	const char *s;

	if (json_get_string(obj, path, key, true, NULL, &s) < 0)
		return -1;
	json_path_key(where, sizeof(where), path, key);
	if (name_validate(key, s) < 0)
		return err_prefix("%s", where);
	return str_copy(out, size, s);
}

static bool mac_ok(const char *s)
{
	if (strlen(s) != 17 || strncmp(s, "02:fc:", 6) != 0)
		return false;
	for (size_t i = 0; i < 17; i++) {
		if (i % 3 == 2 ? s[i] != ':'
			       : !(isdigit((unsigned char)s[i]) ||
				   (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

static int rule_parse(const cJSON *obj, const char *path,
		      struct agent_net_rule *r)
{
	static const char *const keys[] = {"protocol", "port_min", "port_max",
					   "source", NULL};
	const char *s;
	int64_t lo, hi;
	int p;

	if (json_check_keys(obj, path, keys) < 0 ||
	    json_get_string(obj, path, "protocol", true, NULL, &s) < 0)
		return -1;
	p = str_index(protos, FC_ARRAY_LEN(protos), s);
	if (p < 0)
		return err_set("%s.protocol: expected tcp, udp, icmp or any, "
			       "got '%.16s'", path, s);
	r->proto = (enum agent_net_proto)p;
	if (json_get_int(obj, path, "port_min", true, 0, 65535, 0, &lo) < 0 ||
	    json_get_int(obj, path, "port_max", true, lo, 65535, 0, &hi) < 0 ||
	    get_addr(obj, path, "source", false, &r->src, &r->prefix) < 0)
		return -1;
	r->port_min = (int)lo;
	r->port_max = (int)hi;
	return 0;
}

static int port_parse(const cJSON *obj, const char *path,
		      struct agent_net_port *p)
{
	static const char *const keys[] = {"port_id", "mac", "address",
					   "gateway", "mtu", "network", "vni",
					   "secgroups", "rules", "dhcp_server",
					   NULL};
	char rpath[JSON_PATH_MAX];
	const cJSON *rules, *it;
	const char *s;
	int64_t n;
	size_t i = 0;

	memset(p, 0, sizeof(*p));
	if (!cJSON_IsObject(obj))
		return err_set("%s: expected an object", path);
	if (json_check_keys(obj, path, keys) < 0 ||
	    agent_uuid_get(obj, path, "port_id", &s) < 0)
		return -1;
	str_copy(p->port_id, sizeof(p->port_id), s);
	if (json_get_string(obj, path, "mac", true, NULL, &s) < 0)
		return -1;
	if (!mac_ok(s))
		return err_set("%s.mac: expected a fincloud MAC "
			       "(02:fc:xx:xx:xx:xx), got '%.20s'", path, s);
	str_copy(p->mac, sizeof(p->mac), s);
	if (get_addr(obj, path, "address", false, &p->ip, &p->prefix) < 0 ||
	    get_addr(obj, path, "gateway", true, &p->gateway, NULL) < 0 ||
	    json_get_int(obj, path, "mtu", true, 576, 9000, 0, &n) < 0)
		return -1;
	p->mtu = (int)n;
	if (get_name_into(obj, path, "network", p->network,
			  sizeof(p->network)) < 0 ||
	    json_get_int(obj, path, "vni", true, 1, AGENT_NET_KEY_MAX, 0,
			 &p->vni) < 0 ||
	    (cJSON_GetObjectItemCaseSensitive(obj, "dhcp_server") &&
	     get_addr(obj, path, "dhcp_server", true, &p->dhcp_server,
		      NULL) < 0) ||
	    json_get_array(obj, path, "rules", true, &rules) < 0)
		return -1;
	if (cJSON_GetArraySize(rules) > AGENT_NET_MAX_RULES)
		return err_set("%s.rules: more than %d", path,
			       AGENT_NET_MAX_RULES);
	p->rules = calloc((size_t)cJSON_GetArraySize(rules) + 1,
			  sizeof(*p->rules));
	if (p->rules == NULL)
		return err_set("out of memory");
	cJSON_ArrayForEach(it, rules) {
		json_path_index(rpath, sizeof(rpath), path, i);
		if (rule_parse(it, rpath, &p->rules[i]) < 0) {
			free(p->rules);
			p->rules = NULL;
			return -1;
		}
		i++;
	}
	p->nrules = i;
	return 0;
}

void agent_net_ports_free(struct agent_net_port *ports, size_t n)
{
	for (size_t i = 0; ports && i < n; i++)
		free(ports[i].rules);
	free(ports);
}

int agent_net_ports_parse(const cJSON *arr, const char *path,
			  struct agent_net_port **ports, size_t *n)
{
	char ppath[JSON_PATH_MAX];
	const cJSON *it;
	size_t i = 0;

	*ports = NULL;
	*n = 0;
	if (arr == NULL || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > AGENT_NET_MAX_PORTS)
		return err_set("%s: expected an array of at most %d ports",
			       path, AGENT_NET_MAX_PORTS);
	*ports = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(**ports));
	if (*ports == NULL)
		return err_set("out of memory");
	cJSON_ArrayForEach(it, arr) {
		json_path_index(ppath, sizeof(ppath), path, i);
		if (port_parse(it, ppath, &(*ports)[i]) < 0) {
			agent_net_ports_free(*ports, i);
			*ports = NULL;
			return -1;
		}
		i++;
	}
	*n = i;
	return 0;
}

bool agent_net_ifname_ok(const char *name, int vlan)
{
	size_t len = strlen(name);
	char tag[8];

	snprintf(tag, sizeof(tag), ".%d", vlan);
	return len > 0 && len <= 15 &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
			    "wxyz0123456789_-.") == len &&
	       strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
	       name[0] != '-' && strncmp(name, "fc", 2) != 0 &&
	       (vlan == 0 || len + strlen(tag) <= 15);
}

/* A DHCP network's "hosts" (arr at path) into nw->hosts. 0, or -1
 * with err_set() (nothing to free then). */
static int hosts_parse(const cJSON *arr, const char *path,
		       struct agent_net_network *nw)
{
	static const char *const keys[] = {"mac", "address", NULL};
	char where[JSON_PATH_MAX];
	const cJSON *it;
	const char *mac;
	size_t i = 0;

	if (cJSON_GetArraySize(arr) > AGENT_NET_MAX_HOSTS)
		return err_set("%s: more than %d", path, AGENT_NET_MAX_HOSTS);
	nw->hosts = calloc((size_t)cJSON_GetArraySize(arr) + 1,
			   sizeof(*nw->hosts));
	if (nw->hosts == NULL)
		return err_set("out of memory");
	cJSON_ArrayForEach(it, arr) {
		struct agent_net_host *h = &nw->hosts[i];

		json_path_index(where, sizeof(where), path, i);
		if (!cJSON_IsObject(it)) {
			err_set("%s: expected an object", where);
			goto bad;
		}
		if (json_check_keys(it, where, keys) < 0 ||
		    json_get_string(it, where, "mac", true, NULL, &mac) < 0 ||
		    get_addr(it, where, "address", false, &h->ip, NULL) < 0)
			goto bad;
		if (!mac_ok(mac)) {
			err_set("%s.mac: expected a fincloud MAC (02:fc:...), "
				"got '%.32s'", where, mac);
			goto bad;
		}
		str_copy(h->mac, sizeof(h->mac), mac);
		i++;
	}
	nw->nhosts = i;
	return 0;
bad:
	free(nw->hosts);
	nw->hosts = NULL;
	return -1;
}

/* A network's "provider" (null: an overlay) and "dhcp" (null: none). */
static int network_extras(const cJSON *obj, const char *path,
			  struct agent_net_network *nw)
{
	static const char *const pkeys[] = {"type", "interface", "vlan_id",
					    NULL};
	static const char *const dkeys[] = {"address", "gateway", "hosts",
					    NULL};
	const cJSON *pv = cJSON_GetObjectItemCaseSensitive(obj, "provider");
	const cJSON *dh = cJSON_GetObjectItemCaseSensitive(obj, "dhcp");
	char where[JSON_PATH_MAX], hpath[JSON_PATH_MAX];
	const cJSON *hosts = NULL;
	const char *type, *iface;
	int64_t vlan;

	if (pv && !cJSON_IsNull(pv)) {
		json_path_key(where, sizeof(where), path, "provider");
		if (!cJSON_IsObject(pv) || json_check_keys(pv, where, pkeys) < 0 ||
		    json_get_string(pv, where, "type", true, NULL, &type) < 0 ||
		    json_get_string(pv, where, "interface", true, NULL,
				    &iface) < 0 ||
		    json_get_int(pv, where, "vlan_id", true, 0, 4094, 0,
				 &vlan) < 0)
			return cJSON_IsObject(pv) ? -1 : err_set("%s: expected "
							       "an object", where);
		if (strcmp(type, "flat") == 0 && vlan == 0)
			nw->type = AGENT_NET_FLAT;
		else if (strcmp(type, "vlan") == 0 && vlan > 0)
			nw->type = AGENT_NET_VLAN;
		else
			return err_set("%s: expected type flat (vlan_id 0) or "
				       "vlan (vlan_id 1-4094)", where);
		if (!agent_net_ifname_ok(iface, (int)vlan) ||
		    nw->vni < AGENT_NET_PROVIDER_KEY_MIN)
			return err_set("%s: interface '%.32s' or key %" PRId64
				       " is not a provider network's", where,
				       iface, nw->vni);
		str_copy(nw->iface, sizeof(nw->iface), iface);
		nw->vlan_id = (int)vlan;
	} else if (nw->vni >= AGENT_NET_PROVIDER_KEY_MIN) {
		return err_set("%s.vni: %" PRId64 " is not a VXLAN id", path,
			       nw->vni);
	}
	if (dh && !cJSON_IsNull(dh)) {
		json_path_key(where, sizeof(where), path, "dhcp");
		if (!cJSON_IsObject(dh))
			return err_set("%s: expected an object", where);
		if (json_check_keys(dh, where, dkeys) < 0 ||
		    get_addr(dh, where, "address", false, &nw->dhcp_ip,
			     &nw->dhcp_prefix) < 0 ||
		    get_addr(dh, where, "gateway", true, &nw->dhcp_gateway,
			     NULL) < 0 ||
		    json_get_array(dh, where, "hosts", false, &hosts) < 0)
			return -1;
		if (nw->dhcp_ip == 0 || nw->dhcp_prefix < 8 ||
		    nw->dhcp_prefix > 30)
			return err_set("%s.address: expected a host address "
				       "with a prefix of 8-30", where);
		json_path_key(hpath, sizeof(hpath), where, "hosts");
		if (hosts && hosts_parse(hosts, hpath, nw) < 0)
			return -1;
	}
	return 0;
}

static int network_parse(const cJSON *obj, const char *path,
			 struct agent_net_network *nw)
{
	static const char *const keys[] = {"name", "vni", "mtu", "peers",
					   "provider", "dhcp", NULL};
	static const char *const pkeys[] = {"node", "address", NULL};
	char ppath[JSON_PATH_MAX];
	const cJSON *peers, *it;
	int64_t n;
	size_t i = 0;

	memset(nw, 0, sizeof(*nw));
	if (!cJSON_IsObject(obj))
		return err_set("%s: expected an object", path);
	if (json_check_keys(obj, path, keys) < 0 ||
	    get_name_into(obj, path, "name", nw->name, sizeof(nw->name)) < 0 ||
	    json_get_int(obj, path, "vni", true, 1, AGENT_NET_KEY_MAX, 0,
			 &nw->vni) < 0 ||
	    json_get_int(obj, path, "mtu", true, 576, 9000, 0, &n) < 0 ||
	    json_get_array(obj, path, "peers", true, &peers) < 0 ||
	    network_extras(obj, path, nw) < 0)
		return -1;
	nw->mtu = (int)n;
	if (cJSON_GetArraySize(peers) > AGENT_NET_MAX_PEERS) {
		free(nw->hosts);
		return err_set("%s.peers: more than %d", path,
			       AGENT_NET_MAX_PEERS);
	}
	nw->peers = calloc((size_t)cJSON_GetArraySize(peers) + 1,
			   sizeof(*nw->peers));
	if (nw->peers == NULL) {
		free(nw->hosts);
		return err_set("out of memory");
	}
	cJSON_ArrayForEach(it, peers) {
		json_path_index(ppath, sizeof(ppath), path, i);
		if (!cJSON_IsObject(it) ||
		    json_check_keys(it, ppath, pkeys) < 0 ||
		    get_name_into(it, ppath, "node", nw->peers[i].node,
				  sizeof(nw->peers[i].node)) < 0 ||
		    get_addr(it, ppath, "address", false, &nw->peers[i].addr,
			     NULL) < 0) {
			if (!cJSON_IsObject(it))
				err_set("%s: expected an object", ppath);
			free(nw->peers);
			free(nw->hosts);
			nw->peers = NULL;
			nw->hosts = NULL;
			return -1;
		}
		i++;
	}
	nw->npeers = i;
	return 0;
}

void agent_net_networks_free(struct agent_net_network *nets, size_t n)
{
	for (size_t i = 0; nets && i < n; i++) {
		free(nets[i].peers);
		free(nets[i].hosts);
	}
	free(nets);
}

int agent_net_networks_parse(const cJSON *arr, const char *path,
			     struct agent_net_network **nets, size_t *n)
{
	char npath[JSON_PATH_MAX];
	const cJSON *it;
	size_t i = 0;

	*nets = NULL;
	*n = 0;
	if (arr == NULL || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > 4096)
		return err_set("%s: expected an array of at most 4096 "
			       "networks", path);
	*nets = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(**nets));
	if (*nets == NULL)
		return err_set("out of memory");
	cJSON_ArrayForEach(it, arr) {
		json_path_index(npath, sizeof(npath), path, i);
		if (network_parse(it, npath, &(*nets)[i]) < 0) {
			agent_net_networks_free(*nets, i);
			*nets = NULL;
			return -1;
		}
		i++;
	}
	*n = i;
	return 0;
}

int agent_net_seed_ethernets(const struct agent_net_port *ports, size_t n,
			     struct buf *out)
{
	int rc = buf_puts(out, n ? "ethernets:\n" : "ethernets: {}\n");

	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct agent_net_port *p = &ports[i];
		char a[16];

		agent_net_addr_format(p->ip, a);
		/* a network with DHCP: its server gives address, MTU and
		 * router; the seed only matches the NIC */
		if (p->dhcp_server) {
			rc = buf_printf(out, "  nic%zu:\n    match:\n      "
					"macaddress: \"%s\"\n    set-name: "
					"eth%zu\n    dhcp4: true\n", i, p->mac,
					i);
			continue;
		}
		rc = buf_printf(out, "  nic%zu:\n    match:\n      macaddress: "
				"\"%s\"\n    set-name: eth%zu\n    mtu: %d\n"
				"    dhcp4: false\n    addresses: [\"%s/%d\"]\n",
				i, p->mac, i, p->mtu, a, p->prefix);
		if (rc == 0 && p->gateway) {
			agent_net_addr_format(p->gateway, a);
			rc = buf_printf(out, "    routes:\n      - to: "
					"0.0.0.0/0\n        via: %s\n", a);
		}
	}
	return rc < 0 ? err_set("the seed's network-config is too large") : 0;
}

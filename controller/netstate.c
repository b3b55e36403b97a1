#include <stdlib.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/json.h"
#include "common/util.h"
#include "controller/api.h"
#include "controller/ctrl.h"
#include "controller/db.h"
#include "controller/ipam.h"
#include "controller/netstate.h"
#include "controller/store.h"

int netstate_sg_key(const char *tenant, const char *name, char *out,
		    size_t size)
{
	if ((size_t)snprintf(out, size, "%s:%s", tenant, name) >= size)
		return err_set("security group '%s' of tenant '%s': name too "
			       "long", name, tenant);
	return 0;
}

int netstate_ifname_check(const char *name, int64_t vlan)
{
	size_t len = strlen(name);
	char tag[8];

	snprintf(tag, sizeof(tag), ".%" PRId64, vlan);
	if (len == 0 || len > 15 ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789_-.") != len ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    name[0] == '-')
		return err_set("'%.32s' is not an interface name (1-15 letters, "
			       "digits, '_', '-', '.', not first '-')", name);
	if (strncmp(name, "fc", 2) == 0)
		return err_set("'%s': names fc... are fincloud's own links, "
			       "name the node's physical interface", name);
	if (vlan && len + strlen(tag) > 15)
		return err_set("'%s%s' (the VLAN interface) is longer than the "
			       "15 bytes of an interface name: use a shorter "
			       "interface name (an altname)", name, tag);
	return 0;
}

int netstate_default_group(struct store *st, const char *tenant)
{
	char key[2 * NAME_MAX_LEN + 2], rule[37];
	struct db_stmt *s;

	if (netstate_sg_key(tenant, "default", key, sizeof(key)) < 0)
		return -1;
	s = store_stmt(st, "INSERT INTO secgroups(key, tenant, name,"
		       " description, created_ms) VALUES (?1, ?2, 'default', "
		       "'traffic from members of this group only', ?3) "
		       "ON CONFLICT DO NOTHING");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, key);
	store_bind_text(s, 2, tenant);
	db_bind_int64(s, 3, time_wall_ms());
	if (store_done(st, s, "making the default security group") < 0)
		return -1;
	if (db_changes(store_db(st)) == 0)
		return 0;
	if (uuid_generate_v4(rule) < 0)
		return -1;
	s = store_stmt(st, "INSERT INTO secgroup_rules(id, sg, protocol, "
		       "port_min, port_max, source_group, created_ms) VALUES "
		       "(?1, ?2, 'any', 0, 65535, ?2, ?3)");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, rule);
	store_bind_text(s, 2, key);
	db_bind_int64(s, 3, time_wall_ms());
	return store_done(st, s, "making the default security group's rule");
}

/* Add the provider network on s (columns pool, interface, name,
 * provider) to b: 0, or 1 when its pool is not the pool of b's other
 * networks. */
static int bind_add(struct netstate_bind *b, struct db_stmt *s)
{
	const char *pool = store_col_text(s, 0), *iface = store_col_text(s, 1);

	if (b->pool[0] && strcmp(b->pool, pool) != 0)
		return 1;
	str_copy(b->pool, sizeof(b->pool), pool);
	if (strcmp(store_col_text(s, 3), "vlan") == 0)
		b->vlan = true;
	for (size_t i = 0; i < b->nifaces; i++)
		if (strcmp(b->names[i], iface) == 0)
			return 0;
	if (b->nifaces == NETSTATE_MAX_PORTS)
		return 0;
	str_copy(b->names[b->nifaces], sizeof(b->names[0]), iface);
	b->ifaces[b->nifaces] = b->names[b->nifaces];
	b->nifaces++;
	return 0;
}

int netstate_bind_body(struct api_ctx *c, const char *tenant,
		       struct netstate_bind *b)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(c->json, "networks");
	const cJSON *it;

	memset(b, 0, sizeof(*b));
	if (!cJSON_IsArray(arr))
		return 0;
	cJSON_ArrayForEach(it, arr) {
		const char *name = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(it, "network"));
		char pool[NAME_MAX_LEN + 1];
		struct db_stmt *s;
		int rc;

		if (name == NULL)
			continue;
		/* only the provider networks shared with the tenant: the
		 * others are refused by the port check, without a word of
		 * where they are */
		s = api_stmt(c, "SELECT pool, interface, name, provider FROM "
			     "networks n WHERE name = ? AND provider IS NOT "
			     "NULL AND EXISTS (SELECT 1 FROM network_shares "
			     "WHERE network = n.name AND tenant = ?)");
		if (s == NULL)
			return -1;
		store_bind_texts(s, 1, (const char *[]){name, tenant}, 2);
		rc = api_row(c, s, "reading the network");
		if (rc < 0)
			return -1;
		if (rc == 0) {
			db_reset(s);
			continue;
		}
		str_copy(pool, sizeof(pool), store_col_text(s, 0));
		rc = bind_add(b, s);
		db_reset(s);
		if (rc > 0) {
			api_err(c, 400, "invalid_field", "networks", "$.networks:"
				" provider network '%s' spans pool '%s' and "
				"another one pool '%s': a VM runs in one pool",
				name, pool, b->pool);
			return -1;
		}
	}
	return 0;
}

int netstate_bind_vm(struct store *st, const char *vm_id,
		     struct netstate_bind *b)
{
	struct db_stmt *s = store_stmt1(st, "SELECT n.pool, n.interface, n.name, "
				      "n.provider FROM ports p JOIN networks n "
				      "ON n.name = "
				      "p.network WHERE p.vm_id = ? AND "
				      "n.provider IS NOT NULL ORDER BY p.nic",
				      vm_id);
	int rc = DB_ERROR;

	memset(b, 0, sizeof(*b));
	if (s == NULL)
		return -1;
	while ((rc = db_step(s)) == DB_ROW)
		bind_add(b, s);
	if (rc != DB_DONE)
		store_err(st, "reading a VM's provider networks");
	db_reset(s);
	return rc == DB_DONE ? 0 : -1;
}

/* What a port of a create is made of. */
struct port_new {
	const char *network;
	uint32_t net, gateway, ip, dhcp_ip;
	int prefix;
	bool has_ip;
};

/* The addresses taken on network (its ports' and its DHCP servers'),
 * ascending, into *used (*n of them; the caller frees it). 0, or -1 with
 * err_set(). */
static int used_addrs(struct store *st, const char *network, uint32_t **used,
		      size_t *n)
{
	struct db_stmt *s = store_stmt1(st, "SELECT ip FROM ports WHERE network "
				      "= ?1 UNION SELECT dhcp_ip FROM networks "
				      "WHERE name = ?1 AND dhcp_ip != 0 ORDER "
				      "BY 1", network);
	struct buf b = {0};
	int rc = DB_ERROR;

	*used = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	while ((rc = db_step(s)) == DB_ROW) {
		uint32_t a = (uint32_t)db_col_int64(s, 0);

		buf_append(&b, &a, sizeof(a));
	}
	if (store_rows_end(st, s, rc, &b, "reading a network's addresses") < 0)
		return -1;
	*used = (uint32_t *)(void *)b.data;
	*n = b.len / sizeof(uint32_t);
	return 0;
}

/* Read $.networks[i] into p, with the network's addresses: 0, or -1
 * with the answer set. */
static int port_read(struct api_ctx *c, const cJSON *it, size_t i,
		     const char *tenant, struct port_new *p)
{
	static const char *const keys[] = {"network", "ip", NULL};
	char path[JSON_PATH_MAX], field[JSON_PATH_MAX + 8];
	const char *ip;
	struct db_stmt *s;
	int rc;

	json_path_index(path, sizeof(path), "$.networks", i);
	snprintf(field, sizeof(field), "networks[%zu]", i);
	if (json_check_keys(it, path, keys) < 0 ||
	    json_get_string(it, path, "network", true, NULL, &p->network) < 0 ||
	    json_get_string(it, path, "ip", false, NULL, &ip) < 0 ||
	    name_validate("network", p->network) < 0) {
		api_err_field(c, field);
		return -1;
	}
	s = api_stmt(c, "SELECT tenant, net, prefix, gateway, dhcp_ip, "
		    "provider IS NOT NULL, EXISTS (SELECT 1 FROM network_shares"
		    " WHERE network = ?1 AND tenant = ?2) FROM networks WHERE "
		    "name = ?1");
	if (s == NULL)
		return -1;
	store_bind_texts(s, 1, (const char *[]){p->network, tenant}, 2);
	rc = api_row(c, s, "reading the network");
	if (rc < 0)
		return -1;
	/* another tenant's network, or a provider network not shared with
	 * a tenant's token: told no more than of one that does not exist */
	if (rc == 0 || (!db_col_int(s, 5) &&
			strcmp(store_col_text(s, 0), tenant) != 0) ||
	    (db_col_int(s, 5) && !db_col_int(s, 6) && api_is_tenant(c))) {
		if (rc > 0)
			db_reset(s);
		api_err(c, 404, "not_found", field, "%s.network: tenant '%s' "
			"has no network '%s': list its networks with 'finctl "
			"network list --tenant %s'", path, tenant, p->network,
			tenant);
		return -1;
	}
	if (db_col_int(s, 5) && !db_col_int(s, 6)) {
		db_reset(s);
		api_err(c, 403, "not_shared", field, "%s.network: provider "
			"network '%s' is not shared with tenant '%s': an "
			"operator lists the tenants that may use it", path,
			p->network, tenant);
		return -1;
	}
	p->net = (uint32_t)db_col_int64(s, 1);
	p->prefix = db_col_int(s, 2);
	p->gateway = (uint32_t)db_col_int64(s, 3);
	p->dhcp_ip = (uint32_t)db_col_int64(s, 4);
	db_reset(s);
	p->has_ip = ip != NULL;
	if (ip) {
		if (ipam_addr_parse(ip, &p->ip) < 0) {
			api_err(c, 400, "invalid_field", field, "%s.ip: %s",
				path, err_msg());
			return -1;
		}
		if (!ipam_is_host(p->net, p->prefix, p->ip) ||
		    p->ip == p->gateway || p->ip == p->dhcp_ip) {
			char cidr[IPAM_CIDR_LEN];

			ipam_cidr_format(p->net, p->prefix, cidr);
			api_err(c, 400, "invalid_field", field, "%s.ip: %s is "
				"not a free host address of network '%s' (%s%s)",
				path, ip, p->network, cidr,
				p->ip == p->gateway ? ", it is the gateway"
				: p->ip == p->dhcp_ip ? ", it is the DHCP "
				"server's" : "");
			return -1;
		}
	}
	return 0;
}

/* Choose p's address (the given one when free, else the lowest free):
 * 0, or -1 with the answer set (409 taken or full, 500). */
static int port_address(struct api_ctx *c, struct port_new *p)
{
	char a[IPAM_ADDR_LEN], cidr[IPAM_CIDR_LEN];
	uint32_t *used = NULL;
	size_t n;
	int ret = -1;

	if (used_addrs(c->ctrl->st, p->network, &used, &n) < 0) {
		api_err_internal(c, "reading the network's addresses");
		goto out;
	}
	ipam_cidr_format(p->net, p->prefix, cidr);
	if (p->has_ip) {
		for (size_t i = 0; i < n; i++) {
			if (used[i] != p->ip)
				continue;
			ipam_addr_format(p->ip, a);
			api_err(c, 409, "address_in_use", "networks", "address "
				"%s of network '%s' is taken by another port "
				"(a deleted VM's address is free once its node "
				"has removed it): see 'finctl port list "
				"--network %s'", a, p->network, p->network);
			goto out;
		}
	} else if (ipam_pick(p->net, p->prefix, p->gateway, used, n,
			     &p->ip) != 0) {
		api_err(c, 409, "network_full", "networks", "network '%s' (%s) "
			"has no free address: delete VMs on it or use another "
			"network", p->network, cidr);
		goto out;
	}
	ret = 0;
out:
	free(used);
	return ret;
}

/* A new MAC nobody has into mac: 0, or -1 with the answer set. */
static int port_mac(struct api_ctx *c, char mac[IPAM_MAC_LEN])
{
	for (int tries = 0; tries < 16; tries++) {
		char hex[9];
		uint8_t b[4];
		struct db_stmt *s;
		int rc;

		if (random_hex(hex, sizeof(hex), 4) < 0)
			break;
		for (int i = 0; i < 4; i++)
			b[i] = (uint8_t)strtoul((char[3]){hex[2 * i],
							  hex[2 * i + 1], 0},
						NULL, 16);
		ipam_mac_format(b, mac);
		rc = api_find(c, "SELECT 1 FROM ports WHERE mac = ?", mac, &s,
			      "reading the ports' MACs");
		if (rc < 0)
			return -1;
		if (rc == 0)
			return 0;
		db_reset(s);
	}
	api_err_internal(c, "choosing a MAC");
	return -1;
}

/* The keys of the body's $.secgroups (tenant's; none: default) into
 * keys, *n of them: 0, or -1 with the answer set. */
static int port_groups(struct api_ctx *c, const char *tenant,
		       char keys[][2 * NAME_MAX_LEN + 2], size_t *n)
{
	const cJSON *arr, *it;
	struct db_stmt *s;
	int rc;

	*n = 0;
	if (json_get_array(c->json, "$", "secgroups", false, &arr) < 0) {
		api_err_field(c, "secgroups");
		return -1;
	}
	if (arr == NULL || cJSON_GetArraySize(arr) == 0) {
		if (netstate_default_group(c->ctrl->st, tenant) < 0) {
			api_err_internal(c, "making the default security group");
			return -1;
		}
		netstate_sg_key(tenant, "default", keys[0], sizeof(keys[0]));
		*n = 1;
		return 0;
	}
	cJSON_ArrayForEach(it, arr) {
		const char *name = cJSON_GetStringValue(it);

		if (*n == NETSTATE_MAX_GROUPS || name == NULL ||
		    name_validate("security group", name) < 0) {
			if (*n == NETSTATE_MAX_GROUPS)
				err_set("$.secgroups: at most %d groups",
					NETSTATE_MAX_GROUPS);
			else if (name == NULL)
				err_set("$.secgroups: expected names");
			api_err_field(c, "secgroups");
			return -1;
		}
		netstate_sg_key(tenant, name, keys[*n], sizeof(keys[0]));
		rc = api_find(c, "SELECT 1 FROM secgroups WHERE key = ?",
			      keys[*n], &s, "reading the security groups");
		if (rc < 0)
			return -1;
		if (rc == 0) {
			api_err(c, 404, "not_found", "secgroups", "$.secgroups:"
				" tenant '%s' has no security group '%s': "
				"create it with 'finctl secgroup create'",
				tenant, name);
			return -1;
		}
		db_reset(s);
		for (size_t j = 0; j < *n; j++)
			if (strcmp(keys[j], keys[*n]) == 0)
				(*n)--;
		(*n)++;
	}
	return 0;
}

/* Write port nic of vm_id: 0, or -1 with the answer set. */
static int port_insert(struct api_ctx *c, const char *vm_id, size_t nic,
		       const struct port_new *p, const char *mac,
		       char keys[][2 * NAME_MAX_LEN + 2], size_t ngroups)
{
	char id[37];
	struct db_stmt *s;

	if (uuid_generate_v4(id) < 0) {
		api_err_internal(c, "making a port id");
		return -1;
	}
	s = api_stmt(c, "INSERT INTO ports(id, vm_id, nic, network, mac, ip, "
		    "created_ms) VALUES (?,?,?,?,?,?,?)");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, id);
	store_bind_text(s, 2, vm_id);
	db_bind_int64(s, 3, (int64_t)nic);
	store_bind_text(s, 4, p->network);
	store_bind_text(s, 5, mac);
	db_bind_int64(s, 6, p->ip);
	db_bind_int64(s, 7, time_wall_ms());
	if (api_step_write(c, s, "recording the port") < 0)
		return -1;
	for (size_t i = 0; i < ngroups; i++) {
		s = api_stmt(c, "INSERT INTO port_secgroups(port, sg) VALUES "
			    "(?, ?)");
		if (s == NULL)
			return -1;
		store_bind_text(s, 1, id);
		store_bind_text(s, 2, keys[i]);
		if (api_step_done(c, s, "recording the port's groups") < 0)
			return -1;
	}
	return 0;
}

int netstate_ports_create(struct api_ctx *c, const char *vm_id,
			  const char *tenant)
{
	char keys[NETSTATE_MAX_GROUPS][2 * NAME_MAX_LEN + 2];
	char mac[IPAM_MAC_LEN];
	struct port_new p[NETSTATE_MAX_PORTS];
	const cJSON *arr, *it;
	size_t n = 0, ngroups;

	if (json_get_array(c->json, "$", "networks", false, &arr) < 0) {
		api_err_field(c, "networks");
		return -1;
	}
	if (arr == NULL || cJSON_GetArraySize(arr) == 0) {
		if (cJSON_GetObjectItem(c->json, "secgroups")) {
			api_err(c, 400, "invalid_field", "secgroups",
				"$.secgroups: a VM without networks has no "
				"port to put in a security group");
			return -1;
		}
		return 0;
	}
	if (cJSON_GetArraySize(arr) > NETSTATE_MAX_PORTS) {
		api_err(c, 400, "invalid_field", "networks", "$.networks: a VM "
			"has at most %d ports", NETSTATE_MAX_PORTS);
		return -1;
	}
	cJSON_ArrayForEach(it, arr) {
		if (port_read(c, it, n, tenant, &p[n]) < 0)
			return -1;
		for (size_t j = 0; j < n; j++) {
			if (strcmp(p[j].network, p[n].network) == 0) {
				api_err(c, 400, "invalid_field", "networks",
					"$.networks: network '%s' is named "
					"twice: a VM has one port per network",
					p[n].network);
				return -1;
			}
		}
		n++;
	}
	if (port_groups(c, tenant, keys, &ngroups) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (port_address(c, &p[i]) < 0 || port_mac(c, mac) < 0 ||
		    port_insert(c, vm_id, i, &p[i], mac, keys, ngroups) < 0)
			return -1;
	}
	if (netstate_bump_vm(c->ctrl, vm_id) < 0) {
		api_err_internal(c, "updating the network's nodes");
		return -1;
	}
	return 0;
}

/* The ingress rules of port into rules, source groups resolved to the
 * addresses of their members' ports on the port's own network: a
 * member's address on another network (CIDRs may overlap) is not the
 * member here, and may be anyone's on this one. */
static int port_rules(struct store *st, const char *port, cJSON *rules)
{
	struct db_stmt *s = store_stmt1(st, "SELECT r.protocol, r.port_min, "
				      "r.port_max, r.source_cidr, p2.ip FROM "
				      "port_secgroups ps JOIN secgroup_rules r "
				      "ON r.sg = ps.sg LEFT JOIN port_secgroups "
				      "ps2 ON ps2.sg = r.source_group LEFT JOIN "
				      "ports p2 ON p2.id = ps2.port AND "
				      "p2.network = (SELECT network FROM ports "
				      "WHERE id = ?1) WHERE "
				      "ps.port = ?1 AND (r.source_cidr IS NOT "
				      "NULL OR p2.id IS NOT NULL) ORDER BY "
				      "r.sg, r.id, p2.ip", port);
	int rc = DB_ERROR;

	if (s == NULL)
		return -1;
	while ((rc = db_step(s)) == DB_ROW) {
		cJSON *r = cJSON_CreateObject();
		char a[IPAM_ADDR_LEN], src[IPAM_CIDR_LEN];

		cJSON_AddStringToObject(r, "protocol", store_col_text(s, 0));
		cJSON_AddNumberToObject(r, "port_min",
					(double)db_col_int64(s, 1));
		cJSON_AddNumberToObject(r, "port_max",
					(double)db_col_int64(s, 2));
		if (db_col_type(s, 3) != DB_NULL) {
			str_copy(src, sizeof(src), store_col_text(s, 3));
		} else {
			ipam_addr_format((uint32_t)db_col_int64(s, 4),
					 a);
			snprintf(src, sizeof(src), "%s/32", a);
		}
		cJSON_AddStringToObject(r, "source", src);
		cJSON_AddItemToArray(rules, r);
	}
	if (rc != DB_DONE)
		store_err(st, "reading a port's rules");
	db_reset(s);
	return rc == DB_DONE ? 0 : -1;
}

/* The names of port's security groups into groups. */
static int port_group_names(struct store *st, const char *port,
			    cJSON *groups)
{
	struct db_stmt *s = store_stmt1(st, "SELECT g.name FROM port_secgroups "
				      "ps JOIN secgroups g ON g.key = ps.sg "
				      "WHERE ps.port = ? ORDER BY g.name", port);
	int rc = DB_ERROR;

	if (s == NULL)
		return -1;
	while ((rc = db_step(s)) == DB_ROW)
		cJSON_AddItemToArray(groups,
				     cJSON_CreateString(store_col_text(s, 0)));
	if (rc != DB_DONE)
		store_err(st, "reading a port's groups");
	db_reset(s);
	return rc == DB_DONE ? 0 : -1;
}

int netstate_vm_ports(struct store *st, const char *vm_id, cJSON *ports)
{
	struct db_stmt *s = store_stmt1(st, "SELECT p.id, p.mac, p.ip, n.prefix,"
				      " n.gateway, n.mtu, n.name, n.vni, "
				      "n.dhcp_ip FROM "
				      "ports p JOIN networks n ON n.name = "
				      "p.network WHERE p.vm_id = ? ORDER BY "
				      "p.nic", vm_id);
	struct buf ids = {0};
	int rc = DB_ERROR, ret = -1;
	size_t n = 0;

	if (s == NULL)
		return -1;
	/* the rules are read after this statement is done: it is cached
	 * and stepping another statement would not reset it, but reading
	 * every port first keeps one statement open at a time */
	while ((rc = db_step(s)) == DB_ROW) {
		cJSON *p = cJSON_CreateObject();
		char a[IPAM_ADDR_LEN], addr[IPAM_CIDR_LEN];
		uint32_t gw = (uint32_t)db_col_int64(s, 4);

		cJSON_AddStringToObject(p, "port_id", store_col_text(s, 0));
		cJSON_AddStringToObject(p, "mac", store_col_text(s, 1));
		ipam_addr_format((uint32_t)db_col_int64(s, 2), a);
		snprintf(addr, sizeof(addr), "%s/%d", a, db_col_int(s, 3));
		cJSON_AddStringToObject(p, "address", addr);
		if (gw) {
			ipam_addr_format(gw, a);
			cJSON_AddStringToObject(p, "gateway", a);
		} else {
			cJSON_AddNullToObject(p, "gateway");
		}
		cJSON_AddNumberToObject(p, "mtu", db_col_int(s, 5));
		cJSON_AddStringToObject(p, "network", store_col_text(s, 6));
		cJSON_AddNumberToObject(p, "vni",
					(double)db_col_int64(s, 7));
		/* the guest's filter lets its DHCP server's answers in */
		if (db_col_int64(s, 8)) {
			ipam_addr_format((uint32_t)db_col_int64(s, 8),
					 a);
			cJSON_AddStringToObject(p, "dhcp_server", a);
		} else {
			cJSON_AddNullToObject(p, "dhcp_server");
		}
		cJSON_AddItemToArray(ports, p);
		buf_append(&ids, store_col_text(s, 0), 37);
		n++;
	}
	if (store_rows_end(st, s, rc, &ids, "reading a VM's ports") < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		cJSON *p = cJSON_GetArrayItem(ports, (int)i);
		const char *id = ids.data + i * 37;

		if (port_group_names(st, id, cJSON_AddArrayToObject(
						     p, "secgroups")) < 0 ||
		    port_rules(st, id, cJSON_AddArrayToObject(p, "rules")) < 0)
			goto out;
	}
	ret = 0;
out:
	buf_free(&ids);
	return ret;
}

int netstate_uri_addr(const char *uri, char *out, size_t size)
{
	const char *p = strstr(uri, "://");
	char host[IPAM_ADDR_LEN];
	size_t len;
	uint32_t a;

	if (p == NULL)
		return -1;
	p += 3;
	len = strcspn(p, ":/");
	if (len == 0 || len >= sizeof(host))
		return -1;
	memcpy(host, p, len);
	host[len] = '\0';
	if (ipam_addr_parse(host, &a) < 0) {
		err_clear();
		return -1;
	}
	return str_copy(out, size, host);
}

/* The peers of network seen from node into peers. */
static int network_peers(struct store *st, const char *network,
			 const char *node, cJSON *peers)
{
	struct db_stmt *s = store_stmt(st, "SELECT DISTINCT h.name, "
				     "h.migration_uri FROM (" NETSTATE_SQL_HOSTING
				     ") x JOIN hosts h ON h.name = x.host WHERE "
				     "x.network = ?1 AND x.host != ?2 ORDER BY "
				     "h.name");
	int rc = DB_ERROR;

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, network);
	store_bind_text(s, 2, node);
	while ((rc = db_step(s)) == DB_ROW) {
		char a[IPAM_ADDR_LEN];
		cJSON *p;

		/* a node that gave no IPv4 migration URI cannot be a VXLAN
		 * peer; it is left out (and its VMs reach no one else) */
		if (netstate_uri_addr(store_col_text(s, 1), a, sizeof(a)) < 0)
			continue;
		p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "node", store_col_text(s, 0));
		cJSON_AddStringToObject(p, "address", a);
		cJSON_AddItemToArray(peers, p);
	}
	if (rc != DB_DONE)
		store_err(st, "reading a network's nodes");
	db_reset(s);
	return rc == DB_DONE ? 0 : -1;
}

/* The "provider" and "dhcp" members of a node's network from the row
 * on s (columns 3-8 of netstate_node_networks()). */
static void network_provider(struct db_stmt *s, cJSON *n)
{
	char a[IPAM_ADDR_LEN], addr[IPAM_CIDR_LEN];
	cJSON *o;

	if (db_col_type(s, 3) == DB_NULL) {
		cJSON_AddNullToObject(n, "provider");
	} else {
		o = cJSON_AddObjectToObject(n, "provider");
		cJSON_AddStringToObject(o, "type", store_col_text(s, 3));
		cJSON_AddStringToObject(o, "interface", store_col_text(s, 4));
		cJSON_AddNumberToObject(o, "vlan_id",
					(double)db_col_int64(s, 5));
	}
	if (db_col_int64(s, 6) == 0) {
		cJSON_AddNullToObject(n, "dhcp");
		return;
	}
	o = cJSON_AddObjectToObject(n, "dhcp");
	ipam_addr_format((uint32_t)db_col_int64(s, 6), a);
	snprintf(addr, sizeof(addr), "%s/%d", a, db_col_int(s, 7));
	cJSON_AddStringToObject(o, "address", addr);
	if (db_col_int64(s, 8)) {
		ipam_addr_format((uint32_t)db_col_int64(s, 8), a);
		cJSON_AddStringToObject(o, "gateway", a);
	} else {
		cJSON_AddNullToObject(o, "gateway");
	}
}

/* Every port of network into hosts (an array): its MAC and address,
 * by address, for the network's DHCP servers, each of which answers
 * every port of the network wherever it runs. 0, or -1 with err_set(). */
static int network_hosts(struct store *st, const char *network, cJSON *hosts)
{
	struct db_stmt *s = store_stmt1(st, "SELECT mac, ip FROM ports WHERE "
				      "network = ?1 ORDER BY ip", network);
	char a[IPAM_ADDR_LEN];
	int rc = DB_ERROR;

	if (s == NULL)
		return -1;
	while ((rc = db_step(s)) == DB_ROW) {
		cJSON *h = cJSON_CreateObject();

		cJSON_AddStringToObject(h, "mac", store_col_text(s, 0));
		ipam_addr_format((uint32_t)db_col_int64(s, 1), a);
		cJSON_AddStringToObject(h, "address", a);
		cJSON_AddItemToArray(hosts, h);
	}
	if (rc != DB_DONE)
		store_err(st, "reading a network's ports");
	db_reset(s);
	return rc == DB_DONE ? 0 : -1;
}

int netstate_node_networks(struct store *st, const char *node,
			   cJSON *networks)
{
	struct db_stmt *s = store_stmt1(st, "SELECT n.name, n.vni, n.mtu, "
				      "n.provider, n.interface, n.vlan_id, "
				      "n.dhcp_ip, n.prefix, n.gateway FROM "
				      "networks n WHERE n.name IN (SELECT "
				      "network FROM (" NETSTATE_SQL_HOSTING ") x "
				      "WHERE host = ?1) ORDER BY n.vni", node);
	int rc = DB_ERROR;
	cJSON *it;

	if (s == NULL)
		return -1;
	while ((rc = db_step(s)) == DB_ROW) {
		cJSON *n = cJSON_CreateObject();

		cJSON_AddStringToObject(n, "name", store_col_text(s, 0));
		cJSON_AddNumberToObject(n, "vni",
					(double)db_col_int64(s, 1));
		cJSON_AddNumberToObject(n, "mtu", db_col_int(s, 2));
		network_provider(s, n);
		cJSON_AddItemToArray(networks, n);
	}
	if (rc != DB_DONE)
		store_err(st, "reading a node's networks");
	db_reset(s);
	if (rc != DB_DONE)
		return -1;
	cJSON_ArrayForEach(it, networks) {
		const char *name = cJSON_GetStringValue(
			cJSON_GetObjectItem(it, "name"));
		cJSON *dhcp = cJSON_GetObjectItem(it, "dhcp");

		if (network_peers(st, name, node,
				  cJSON_AddArrayToObject(it, "peers")) < 0 ||
		    (cJSON_IsObject(dhcp) &&
		     network_hosts(st, name,
				   cJSON_AddArrayToObject(dhcp, "hosts")) < 0))
			return -1;
	}
	return 0;
}

/* Bump every host s (bound) yields in its first column. */
static int bump_hosts(struct ctrl *ctrl, struct db_stmt *s)
{
	struct buf names = {0};
	int rc = DB_ERROR, ret = -1;
	size_t n = 0;

	while ((rc = db_step(s)) == DB_ROW) {
		char name[NAME_MAX_LEN + 1] = "";

		str_copy(name, sizeof(name), store_col_text(s, 0));
		buf_append(&names, name, sizeof(name));
		n++;
	}
	if (store_rows_end(ctrl->st, s, rc, &names, "reading a network's "
			   "nodes") < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (ctrl_bump_generation(ctrl, names.data +
						       i * (NAME_MAX_LEN + 1)) < 0)
			goto out;
	ret = 0;
out:
	buf_free(&names);
	return ret;
}

int netstate_bump_vm(struct ctrl *ctrl, const char *vm_id)
{
	struct db_stmt *s = store_stmt1(ctrl->st, "SELECT DISTINCT host FROM ("
				      NETSTATE_SQL_HOSTING ") x WHERE network IN "
				      "(SELECT network FROM ports WHERE vm_id = "
				      "?1)", vm_id);

	return s ? bump_hosts(ctrl, s) : -1;
}

int netstate_bump_released(struct ctrl *ctrl, const char *node)
{
	struct db_stmt *s = store_stmt1(ctrl->st, "SELECT DISTINCT host FROM ("
				      NETSTATE_SQL_HOSTING ") x WHERE network IN "
				      "(SELECT p.network FROM ports p JOIN vms "
				      "v ON v.id = p.vm_id WHERE v.host = ?1 AND "
				      "v.desired = 'deleted' AND v.id NOT IN "
				      "(SELECT vm_id FROM reports))", node);

	return s ? bump_hosts(ctrl, s) : -1;
}

/* The key of a new network into *vni: the one asked for when free, else
 * the lowest free one of lo..hi (the configured VNI range, or the
 * provider networks' keys). 0, or -1 with the answer set (409 taken or
 * exhausted, 500). */
int netstate_vni(struct api_ctx *c, int64_t want, int64_t lo,
		       int64_t hi, int64_t *vni)
{
	struct db_stmt *s;
	struct buf b = {0};
	int rc = DB_ERROR, ret = -1;

	s = api_stmt(c, "SELECT vni FROM networks WHERE vni BETWEEN ?1 AND ?2 "
		    "ORDER BY vni");
	if (s == NULL)
		return -1;
	db_bind_int64(s, 1, want ? want : lo);
	db_bind_int64(s, 2, want ? want : hi);
	while ((rc = db_step(s)) == DB_ROW) {
		int64_t v = db_col_int64(s, 0);

		buf_append(&b, &v, sizeof(v));
	}
	if (store_rows_end(c->ctrl->st, s, rc, &b, "reading the VNIs") < 0) {
		api_err_internal(c, "reading the VNIs");
		return -1;
	}
	if (want && b.len) {
		api_err(c, 409, "vni_in_use", "vni", "$.vni: VNI %" PRId64 " "
			"belongs to another network: leave it out to get a "
			"free one", want);
	} else if (want) {
		*vni = want;
		ret = 0;
	} else if (ipam_vni_pick(lo, hi, (const int64_t *)(void *)b.data,
				 b.len / sizeof(int64_t), vni) != 0) {
		api_err(c, 409, "vni_exhausted", NULL, "every VNI of the "
			"range %" PRId64 "-%" PRId64 " is taken: delete unused "
			"networks%s", lo, hi, lo == NETSTATE_PROVIDER_KEY_MIN
			? "" : " or widen vni_min/vni_max in controller.conf");
	} else {
		ret = 0;
	}
	buf_free(&b);
	return ret;
}

/* A new provider network's key into *vni: never one an earlier
 * provider network had (a node may still bridge the old network's
 * uplink on that key's bridge when the new one lands there), so the
 * lowest free key from the high-water mark kept in meta
 * ('provider_key_next'), which moves past it. 0, or -1 with the answer
 * set (409 when the range is used up, 500). */
int netstate_provider_key(struct api_ctx *c, int64_t *vni)
{
	struct store *st = c->ctrl->st;
	struct db_stmt *s;
	int64_t from = NETSTATE_PROVIDER_KEY_MIN;
	char next[24];
	int rc = store_find(st, "SELECT value FROM meta WHERE key = ?",
			    "provider_key_next", &s,
			    "reading the next provider key");

	if (rc < 0) {
		api_err_internal(c, "reading the next provider key");
		return -1;
	}
	if (rc > 0) {
		from = strtoll(store_col_text(s, 0), NULL, 10);
		db_reset(s);
		if (from < NETSTATE_PROVIDER_KEY_MIN)
			from = NETSTATE_PROVIDER_KEY_MIN;
	}
	if (netstate_vni(c, 0, from, NETSTATE_PROVIDER_KEY_MAX, vni) < 0)
		return -1;
	snprintf(next, sizeof(next), "%" PRId64, *vni + 1);
	s = store_stmt(st, "INSERT INTO meta(key, value) VALUES "
		       "('provider_key_next', ?) ON CONFLICT(key) DO UPDATE "
		       "SET value = excluded.value");
	if (s)
		store_bind_text(s, 1, next);
	if (s == NULL ||
	    store_done(st, s, "recording the next provider key") < 0) {
		api_err_internal(c, "recording the next provider key");
		return -1;
	}
	return 0;
}

/* Tenant networks, ports and security groups: the REST handlers. What
 * is stored and what a node is told is netstate.c's; the address
 * arithmetic is ipam.c's. */

#include "common/buf.h"
#include "common/err.h"
#include "common/json.h"
#include "common/util.h"
#include "controller/api.h"
#include "controller/db.h"
#include "controller/ipam.h"
#include "controller/netstate.h"
#include "controller/resource.h"
#include "controller/store.h"

#define SG_KEY_LEN (2 * NAME_MAX_LEN + 2)

/* Open the request's transaction for a create of tenant's: 0, or -1
 * with the answer set (404 when the tenant does not exist or is not the
 * caller's, 500). */
static int tenant_begin(struct api_ctx *c, const char *tenant)
{
	if (api_begin(c) < 0)
		return -1;
	if (api_hidden_tenant(c, tenant)) {
		api_err(c, 404, "not_found", "tenant",
			"tenant '%s' does not exist", tenant);
		return -1;
	}
	return res_must_exist(c, &res_tenants, tenant, "tenant");
}

/* ---------------------------------------------------------------- networks */

static void add_addr(cJSON *o, const char *key, uint32_t a)
{
	char t[IPAM_ADDR_LEN];

	if (a == 0) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	ipam_addr_format(a, t);
	cJSON_AddStringToObject(o, key, t);
}

static cJSON *network_json(struct store *st, struct db_stmt *s)
{
	cJSON *o = cJSON_CreateObject(), *prov, *shares;
	char cidr[IPAM_CIDR_LEN], br[16];
	const char *type = store_col_text(s, 9), *list = store_col_text(s, 13);
	bool provider = type[0] != '\0';
	int64_t key = db_col_int64(s, 5);

	(void)st;
	cJSON_AddStringToObject(o, "name", store_col_text(s, 0));
	if (provider)
		cJSON_AddNullToObject(o, "tenant");
	else
		cJSON_AddStringToObject(o, "tenant", store_col_text(s, 1));
	cJSON_AddStringToObject(o, "kind", provider ? "provider" : "tenant");
	ipam_cidr_format((uint32_t)db_col_int64(s, 2),
			 db_col_int(s, 3), cidr);
	cJSON_AddStringToObject(o, "cidr", cidr);
	add_addr(o, "gateway", (uint32_t)db_col_int64(s, 4));
	if (provider)
		cJSON_AddNullToObject(o, "vni");
	else
		cJSON_AddNumberToObject(o, "vni", (double)key);
	cJSON_AddNumberToObject(o, "mtu", (double)db_col_int64(s, 6));
	cJSON_AddBoolToObject(o, "dhcp", db_col_int64(s, 14) != 0);
	add_addr(o, "dhcp_address", (uint32_t)db_col_int64(s, 14));
	cJSON_AddNumberToObject(o, "ports", (double)db_col_int64(s, 8));
	cJSON_AddNumberToObject(o, "created_ms",
				(double)db_col_int64(s, 7));
	snprintf(br, sizeof(br), "fcbr%" PRId64, key);
	cJSON_AddStringToObject(o, "bridge", br);
	if (!provider) {
		cJSON_AddNullToObject(o, "provider");
		cJSON_AddArrayToObject(o, "shared_with");
		return o;
	}
	prov = cJSON_AddObjectToObject(o, "provider");
	cJSON_AddStringToObject(prov, "type", type);
	cJSON_AddStringToObject(prov, "interface", store_col_text(s, 10));
	if (db_col_type(s, 11) == DB_NULL)
		cJSON_AddNullToObject(prov, "vlan_id");
	else
		cJSON_AddNumberToObject(prov, "vlan_id",
					(double)db_col_int64(s, 11));
	cJSON_AddStringToObject(prov, "pool", store_col_text(s, 12));
	shares = cJSON_AddArrayToObject(o, "shared_with");
	while (*list) {
		size_t len = strcspn(list, ",");
		char t[NAME_MAX_LEN + 1];

		snprintf(t, sizeof(t), "%.*s", (int)len, list);
		cJSON_AddItemToArray(shares, cJSON_CreateString(t));
		list += len + (list[len] == ',');
	}
	return o;
}

/* A provider network is seen by the tenants it is shared with (column
 * 13: their names, comma-separated). */
static bool network_shared(const struct api_ctx *c, struct db_stmt *s)
{
	const char *list = store_col_text(s, 13);
	size_t len = strlen(c->who.tenant);

	for (const char *p = list; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")]
							   == ',')) {
		if (strncmp(p, c->who.tenant, len) == 0 &&
		    (p[len] == ',' || p[len] == '\0'))
			return true;
	}
	return false;
}

/* What a tenant does not see of a network: where a provider network is
 * bridged (interface, VLAN, pool, bridge), whom else it serves and how
 * many ports they have on it. */
static void network_redact(cJSON *o)
{
	if (cJSON_IsObject(cJSON_GetObjectItem(o, "provider")))
		/* the ports of every tenant sharing it */
		cJSON_DeleteItemFromObject(o, "ports");
	cJSON_DeleteItemFromObject(o, "provider");
	cJSON_DeleteItemFromObject(o, "shared_with");
	cJSON_DeleteItemFromObject(o, "bridge");
}

static const struct res_kind res_networks = {
	.noun = "network",
	.path = "/v1/networks",
	RES_SQL("networks", "name",
		"r.name, r.tenant, r.net, r.prefix, r.gateway, r.vni, r.mtu, "
		"r.created_ms, (SELECT count(*) FROM ports WHERE network = "
		"r.name), r.provider, r.interface, r.vlan_id, r.pool, (SELECT "
		"group_concat(tenant, ',') FROM (SELECT tenant FROM "
		"network_shares WHERE network = r.name ORDER BY tenant) sh), "
		"r.dhcp_ip",
		"r.tenant", " AND (?3 IS NULL OR r.tenant = ?3 OR r.name IN "
		"(SELECT network FROM network_shares WHERE tenant = ?3))"),
	.to_json = network_json,
	.scoped = true,
	.owner_col = 1,
	.tenant_query = "tenant",
	.shared = network_shared,
	.redact = network_redact,
	.hint = ": list networks with 'finctl network list'",
	.in_use_sql = "SELECT 1 FROM ports WHERE network = ?1",
	.in_use_msg = "still has ports: delete the VMs on it first (see "
		      "'finctl port list --network NAME')",
};

void h_network_list(struct api_ctx *c)
{
	res_list(c, &res_networks);
}

void h_network_get(struct api_ctx *c)
{
	res_get(c, &res_networks);
}

void h_network_delete(struct api_ctx *c)
{
	res_delete(c, &res_networks);
}

/* A provider network's fields from the body. */
struct provider_new {
	const char *type;         /* NULL: a tenant network */
	const char *iface;
	const char *pool;
	const cJSON *shares;
	int64_t vlan;             /* 0: none */
};

/* Check $.shared_with (pv->shares): 1 to 256 tenant names. 0, or -1
 * with a 400 naming the field. */
static int provider_shares_check(struct api_ctx *c,
				 const struct provider_new *pv)
{
	const cJSON *it;

	if (pv->shares == NULL || cJSON_GetArraySize(pv->shares) == 0 ||
	    cJSON_GetArraySize(pv->shares) > 256) {
		api_err(c, 400, "invalid_field", "shared_with", "$.shared_with: "
			"list the tenants (1 to 256) that may put ports on it");
		return -1;
	}
	cJSON_ArrayForEach(it, pv->shares) {
		const char *t = cJSON_GetStringValue(it);

		if (t == NULL || name_validate("tenant", t) < 0) {
			if (t == NULL)
				err_set("expected tenant names");
			api_err(c, 400, "invalid_field", "shared_with",
				"$.shared_with: %s", err_msg());
			return -1;
		}
	}
	return 0;
}

/* Read and check the provider fields of a create (400 naming the field,
 * 403 for a tenant principal): 0, or -1 with the answer set. */
static int provider_read(struct api_ctx *c, const char *tenant, int64_t want,
			 struct provider_new *pv)
{
	memset(pv, 0, sizeof(*pv));
	if (api_get_str(c, "provider", false, NULL, &pv->type) < 0 ||
	    api_get_str(c, "interface", false, NULL, &pv->iface) < 0 ||
	    api_get_int(c, "vlan_id", false, 1, 4094, 0, &pv->vlan) < 0 ||
	    api_get_name(c, "pool", "pool", false, &pv->pool) < 0)
		return -1;
	if (json_get_array(c->json, "$", "shared_with", false, &pv->shares) < 0) {
		api_err_field(c, "shared_with");
		return -1;
	}
	if (pv->type == NULL) {
		const char *f = pv->iface ? "interface" : pv->vlan ? "vlan_id"
				: pv->pool ? "pool" : pv->shares ? "shared_with"
				: NULL;

		if (f)
			api_err(c, 400, "invalid_field", f, "$.%s: only a "
				"provider network has one: add $.provider "
				"(flat or vlan)", f);
		return f ? -1 : 0;
	}
	if (api_is_tenant(c)) {
		api_err(c, 403, "forbidden", "provider", "$.provider: only an "
			"operator creates provider networks: ask one to share "
			"a provider network with tenant '%s'", c->who.tenant);
		return -1;
	}
	if (strcmp(pv->type, "flat") != 0 && strcmp(pv->type, "vlan") != 0) {
		api_err(c, 400, "invalid_field", "provider", "$.provider: "
			"expected flat or vlan, got '%.16s'", pv->type);
		return -1;
	}
	if (tenant || want) {
		api_err(c, 400, "invalid_field", tenant ? "tenant" : "vni",
			"$.%s: a provider network has %s: leave it out and list "
			"its tenants in $.shared_with", tenant ? "tenant" : "vni",
			tenant ? "no owning tenant" : "no VNI");
		return -1;
	}
	if (pv->iface == NULL || netstate_ifname_check(pv->iface, pv->vlan) < 0) {
		api_err(c, 400, "invalid_field", "interface", "$.interface: %s",
			pv->iface ? err_msg() : "a provider network names the "
			"node interface it bridges (--interface IFACE)");
		return -1;
	}
	if ((strcmp(pv->type, "vlan") == 0) != (pv->vlan != 0)) {
		api_err(c, 400, "invalid_field", "vlan_id", "$.vlan_id: %s",
			pv->vlan ? "a flat network carries untagged frames: "
			"leave it out, or use --provider vlan" : "a vlan "
			"network needs its 802.1Q tag (1-4094)");
		return -1;
	}
	if (pv->pool == NULL) {
		api_err(c, 400, "invalid_field", "pool", "$.pool: a provider "
			"network spans the nodes of one pool: name it");
		return -1;
	}
	return provider_shares_check(c, pv);
}

/* In the create's transaction, before the network's row: the pool
 * exists and no other provider network of the pool uses the same link.
 * 0, or -1 with the answer set (404, 409). */
static int provider_check(struct api_ctx *c, const struct provider_new *pv)
{
	struct db_stmt *s;
	int rc;

	if (res_must_exist(c, &res_pools, pv->pool, "pool") < 0)
		return -1;
	s = api_stmt(c, "SELECT name FROM networks WHERE pool = ?1 AND "
		    "interface = ?2 AND coalesce(vlan_id, 0) = ?3");
	if (s == NULL)
		return -1;
	store_bind_texts(s, 1, (const char *[]){pv->pool, pv->iface}, 2);
	db_bind_int64(s, 3, pv->vlan);
	rc = db_step(s);
	if (rc == DB_ROW) {
		api_err(c, 409, "interface_in_use", "interface", "$.interface: "
			"provider network '%s' already bridges %s%s%.0" PRId64
			" in pool '%s': share that network instead",
			store_col_text(s, 0), pv->iface, pv->vlan ? " VLAN " : "",
			pv->vlan, pv->pool);
		db_reset(s);
		return -1;
	}
	db_reset(s);
	if (rc != DB_DONE) {
		store_err(c->ctrl->st, "reading the provider networks");
		api_err_internal(c, "reading the provider networks");
		return -1;
	}
	return 0;
}

/* After the network's row: its network_shares rows, each tenant checked
 * to exist. 0, or -1 with the answer set (404). */
static int provider_share(struct api_ctx *c, const char *name,
			  const struct provider_new *pv)
{
	const cJSON *it;
	struct db_stmt *s;

	cJSON_ArrayForEach(it, pv->shares) {
		const char *t = cJSON_GetStringValue(it);

		if (res_must_exist(c, &res_tenants, t, "shared_with") < 0)
			return -1;
		s = api_stmt(c, "INSERT INTO network_shares(network, tenant) "
			    "VALUES (?, ?) ON CONFLICT DO NOTHING");
		if (s == NULL)
			return -1;
		store_bind_texts(s, 1, (const char *[]){name, t}, 2);
		if (api_step_done(c, s, "sharing the network") < 0)
			return -1;
	}
	return 0;
}

void h_network_create(struct api_ctx *c)
{
	static const char *const keys[] = {"name", "tenant", "cidr", "gateway",
					   "vni", "provider", "interface",
					   "vlan_id", "pool", "shared_with",
					   "dhcp", NULL};
	const char *name, *tenant, *cidr, *gw;
	uint32_t net, gateway = 0, dhcp_ip = 0;
	struct provider_new pv;
	int64_t want, vni;
	struct db_stmt *s;
	int prefix, rc;
	bool dhcp;

	if (api_body_object(c, keys) < 0 ||
	    api_get_name(c, "name", "network", true, &name) < 0 ||
	    api_get_name(c, "tenant", "tenant", false, &tenant) < 0 ||
	    api_get_str(c, "cidr", true, NULL, &cidr) < 0 ||
	    api_get_str(c, "gateway", false, NULL, &gw) < 0 ||
	    api_get_int(c, "vni", false, IPAM_VNI_MIN, IPAM_VNI_MAX, 0,
			&want) < 0 ||
	    api_get_bool(c, "dhcp", false, false, &dhcp) < 0 ||
	    provider_read(c, tenant, want, &pv) < 0)
		return;
	if (pv.type == NULL && tenant == NULL && !api_is_tenant(c)) {
		api_err(c, 400, "invalid_field", "tenant", "$.tenant: a tenant "
			"network belongs to a tenant: name it (or create a "
			"provider network with $.provider)");
		return;
	}
	if (tenant == NULL && pv.type == NULL)
		tenant = c->who.tenant;
	res_target(c, &res_networks, name);
	if (ipam_cidr_parse(cidr, &net, &prefix) < 0) {
		api_err(c, 400, "invalid_field", "cidr", "$.cidr: %s", err_msg());
		return;
	}
	if (gw && (ipam_addr_parse(gw, &gateway) < 0 ||
		   !ipam_is_host(net, prefix, gateway))) {
		api_err(c, 400, "invalid_field", "gateway", "$.gateway: '%.32s' "
			"is not a host address of %s", gw, cidr);
		return;
	}
	if (want && api_is_tenant(c)) {
		api_err(c, 400, "invalid_field", "vni", "$.vni: only an "
			"operator chooses a network's VNI: leave it out");
		return;
	}
	/* the DHCP servers' address, taken before any port can take it */
	if (dhcp && ipam_pick(net, prefix, gateway, NULL, 0, &dhcp_ip) != 0) {
		api_err(c, 400, "invalid_field", "dhcp", "$.dhcp: %s has no "
			"address left for the DHCP server", cidr);
		return;
	}
	if (pv.type ? api_begin(c) < 0 : tenant_begin(c, tenant) < 0)
		return;
	rc = res_exists(c, &res_networks, name);
	if (rc > 0)
		api_err(c, 409, "exists", "name", "network '%s' already exists",
			name);
	if (rc != 0)
		return;
	if (pv.type && provider_check(c, &pv) < 0)
		return;
	if (pv.type ? netstate_provider_key(c, &vni) < 0
		    : netstate_vni(c, want, c->ctrl->cfg.vni_min,
				  c->ctrl->cfg.vni_max, &vni) < 0)
		return;
	s = api_stmt(c, "INSERT INTO networks(name, tenant, net, prefix, "
		    "gateway, vni, mtu, created_ms, provider, interface, "
		    "vlan_id, pool, dhcp_ip) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
	if (s == NULL)
		return;
	store_bind_texts(s, 1, (const char *[]){name, tenant}, 2);
	store_bind_int64s(s, 3, (const int64_t[]){net, prefix, gateway, vni,
						  pv.type ? NETSTATE_PROVIDER_MTU
							  : NETSTATE_MTU,
						  time_wall_ms()}, 6);
	store_bind_texts(s, 9, (const char *[]){pv.type, pv.iface}, 2);
	if (pv.vlan)
		db_bind_int64(s, 11, pv.vlan);
	store_bind_text(s, 12, pv.pool);
	db_bind_int64(s, 13, dhcp_ip);
	if (api_step_write(c, s, "creating the network") < 0)
		return;
	if (pv.type && provider_share(c, name, &pv) < 0)
		return;
	/* the group its ports join unless told otherwise */
	if (tenant && netstate_default_group(c->ctrl->st, tenant) < 0) {
		api_err_internal(c, "making the default security group");
		return;
	}
	res_created(c, &res_networks, name);
}

/* Whether tenant t is in the JSON array of names a. */
static bool name_in(const cJSON *a, const char *t)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, a)
		if (strcmp(cJSON_GetStringValue(it), t) == 0)
			return true;
	return false;
}

void h_network_patch(struct api_ctx *c)
{
	static const char *const keys[] = {"shared_with", NULL};
	const char *name = c->m->params[0];
	struct provider_new pv = {0};
	struct db_stmt *s;
	int rc;

	res_target(c, &res_networks, name);
	/* the network first: one that does not exist is 404 whatever the
	 * body */
	if (api_body_object(c, keys) < 0 || api_begin(c) < 0)
		return;
	rc = api_find(c, "SELECT provider IS NOT NULL FROM networks WHERE "
		      "name = ?", name, &s, "reading the network");
	if (rc == 0)
		api_err(c, 404, "not_found", NULL, "network '%s' does not exist"
			"%s", name, res_networks.hint);
	if (rc <= 0)
		return;
	if (json_get_array(c->json, "$", "shared_with", true, &pv.shares) < 0) {
		db_reset(s);
		api_err_field(c, "shared_with");
		return;
	}
	if (provider_shares_check(c, &pv) < 0) {
		db_reset(s);
		return;
	}
	rc = db_col_int(s, 0);
	db_reset(s);
	if (rc == 0) {
		api_err(c, 409, "not_provider", "shared_with", "network '%s' is "
			"a tenant network, its tenant's alone: only a provider "
			"network is shared", name);
		return;
	}
	/* a tenant that loses it must have no port left on it */
	s = api_stmt(c, "SELECT DISTINCT v.tenant FROM ports p JOIN vms v ON "
		    "v.id = p.vm_id WHERE p.network = ? ORDER BY 1");
	if (s == NULL)
		return;
	store_bind_text(s, 1, name);
	while ((rc = db_step(s)) == DB_ROW) {
		if (name_in(pv.shares, store_col_text(s, 0)))
			continue;
		api_err(c, 409, "in_use", "shared_with", "tenant '%s' still has "
			"ports on network '%s': delete its VMs on it (finctl "
			"port list --network %s) before taking the network from "
			"it", store_col_text(s, 0), name, name);
		db_reset(s);
		return;
	}
	db_reset(s);
	if (rc != DB_DONE) {
		store_err(c->ctrl->st, "reading the network's ports");
		api_err_internal(c, "reading the network's ports");
		return;
	}
	if (store_run(c->ctrl->st, "DELETE FROM network_shares WHERE network = "
		      "?1", name, "unsharing the network") < 0) {
		api_err_internal(c, "unsharing the network");
		return;
	}
	if (provider_share(c, name, &pv) < 0)
		return;
	res_answer(c, &res_networks, name, 200);
}

/* ------------------------------------------------------------------- ports */

static cJSON *port_json(struct store *st, struct db_stmt *s)
{
	cJSON *o = cJSON_CreateObject(), *g;
	char a[IPAM_ADDR_LEN], addr[IPAM_CIDR_LEN];
	struct db_stmt *q;
	int rc;

	cJSON_AddStringToObject(o, "id", store_col_text(s, 1));
	cJSON_AddStringToObject(o, "vm_id", store_col_text(s, 2));
	cJSON_AddStringToObject(o, "vm_name", store_col_text(s, 3));
	cJSON_AddStringToObject(o, "tenant", store_col_text(s, 4));
	cJSON_AddStringToObject(o, "host", store_col_text(s, 5));
	cJSON_AddStringToObject(o, "network", store_col_text(s, 6));
	cJSON_AddNumberToObject(o, "nic", (double)db_col_int64(s, 7));
	cJSON_AddStringToObject(o, "mac", store_col_text(s, 8));
	ipam_addr_format((uint32_t)db_col_int64(s, 9), a);
	cJSON_AddStringToObject(o, "ip", a);
	snprintf(addr, sizeof(addr), "%s/%d", a, db_col_int(s, 10));
	cJSON_AddStringToObject(o, "address", addr);
	cJSON_AddNumberToObject(o, "created_ms",
				(double)db_col_int64(s, 11));
	g = cJSON_AddArrayToObject(o, "secgroups");
	q = store_stmt1(st, "SELECT g.name FROM port_secgroups ps JOIN "
			"secgroups g ON g.key = ps.sg WHERE ps.port = ? ORDER "
			"BY g.name", store_col_text(s, 1));
	if (q == NULL)
		goto fail;
	while ((rc = db_step(q)) == DB_ROW)
		cJSON_AddItemToArray(g, cJSON_CreateString(store_col_text(q, 0)));
	db_reset(q);
	if (rc != DB_DONE) {
		store_err(st, "reading a port's groups");
		goto fail;
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

/* The port list (a seq-keyed kind with filters ?network= and ?vm=); no
 * GET of one port: a port is seen with its VM. */
static const struct res_kind res_ports = {
	.noun = "port",
	.list_sql = "SELECT r.seq, r.id, r.vm_id, v.name, v.tenant, v.host, "
		    "r.network, r.nic, r.mac, r.ip, n.prefix, r.created_ms "
		    "FROM ports r JOIN vms v ON v.id = r.vm_id JOIN networks n "
		    "ON n.name = r.network WHERE r.seq > ?1 AND (?3 IS NULL OR "
		    "v.tenant = ?3) AND (?4 IS NULL OR r.network = ?4) AND (?5 "
		    "IS NULL OR r.vm_id = ?5) ORDER BY r.seq LIMIT ?2",
	.seq_key = true,
	.to_json = port_json,
	.scoped = true,
	.owner_col = 4,
	.tenant_query = "tenant",
	.filters = {"network", "vm"},
};

void h_port_list(struct api_ctx *c)
{
	res_list(c, &res_ports);
}

/* --------------------------------------------------------- security groups */

static cJSON *secgroup_json(struct store *st, struct db_stmt *s)
{
	cJSON *o = cJSON_CreateObject(), *rules;
	struct db_stmt *q;
	int rc;

	cJSON_AddStringToObject(o, "name", store_col_text(s, 2));
	cJSON_AddStringToObject(o, "tenant", store_col_text(s, 1));
	cJSON_AddStringToObject(o, "description", store_col_text(s, 3));
	cJSON_AddNumberToObject(o, "ports", (double)db_col_int64(s, 5));
	cJSON_AddNumberToObject(o, "created_ms",
				(double)db_col_int64(s, 4));
	rules = cJSON_AddArrayToObject(o, "rules");
	q = store_stmt1(st, "SELECT r.id, r.protocol, r.port_min, r.port_max, "
			"r.source_cidr, g.name FROM secgroup_rules r LEFT JOIN "
			"secgroups g ON g.key = r.source_group WHERE r.sg = ? "
			"ORDER BY r.created_ms, r.id", store_col_text(s, 0));
	if (q == NULL)
		goto fail;
	while ((rc = db_step(q)) == DB_ROW) {
		cJSON *r = cJSON_CreateObject();

		cJSON_AddStringToObject(r, "id", store_col_text(q, 0));
		cJSON_AddStringToObject(r, "protocol", store_col_text(q, 1));
		cJSON_AddNumberToObject(r, "port_min",
					(double)db_col_int64(q, 2));
		cJSON_AddNumberToObject(r, "port_max",
					(double)db_col_int64(q, 3));
		if (db_col_type(q, 4) == DB_NULL) {
			cJSON_AddNullToObject(r, "source_cidr");
			cJSON_AddStringToObject(r, "source_group",
						store_col_text(q, 5));
		} else {
			cJSON_AddStringToObject(r, "source_cidr",
						store_col_text(q, 4));
			cJSON_AddNullToObject(r, "source_group");
		}
		cJSON_AddItemToArray(rules, r);
	}
	db_reset(q);
	if (rc != DB_DONE) {
		store_err(st, "reading a security group's rules");
		goto fail;
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

/* Keyed "TENANT:NAME" (netstate_sg_key()); the API names a group by its
 * name and tenant (sg_resolve()). */
static const struct res_kind res_secgroups = {
	.noun = "security group",
	.path = "/v1/secgroups",
	RES_SQL("secgroups", "key",
		"r.key, r.tenant, r.name, r.description, r.created_ms, "
		"(SELECT count(*) FROM port_secgroups WHERE sg = r.key)",
		"r.tenant", " AND (?3 IS NULL OR r.tenant = ?3)"),
	.to_json = secgroup_json,
	.scoped = true,
	.owner_col = 1,
	.tenant_query = "tenant",
	.hint = ": list security groups with 'finctl secgroup list'",
};

void h_secgroup_list(struct api_ctx *c)
{
	res_list(c, &res_secgroups);
}

/* The key of the group path parameter 0 names, of ?tenant= (a tenant
 * principal: its own; neither: the only group of that name) into key.
 * 0, or -1 with the answer set (404, 409 ambiguous, 500). */
static int sg_resolve(struct api_ctx *c, char key[SG_KEY_LEN])
{
	const char *name = c->m->params[0], *tenant = api_query(c, "tenant");
	struct db_stmt *s;
	int rc, n = 0;

	if (api_is_tenant(c))
		tenant = c->who.tenant;
	if (tenant) {
		if (name_validate("tenant", tenant) < 0) {
			api_err(c, 400, "invalid_query", "tenant", "%s",
				err_msg());
			return -1;
		}
		netstate_sg_key(tenant, name, key, SG_KEY_LEN);
		rc = res_exists(c, &res_secgroups, key);
		if (rc == 0)
			api_err(c, 404, "not_found", NULL, "tenant '%s' has no "
				"security group '%.64s': list them with 'finctl "
				"secgroup list --tenant %s'", tenant, name,
				tenant);
		return rc > 0 ? 0 : -1;
	}
	s = api_stmt(c, "SELECT key FROM secgroups WHERE name = ? LIMIT 2");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, name);
	while ((rc = db_step(s)) == DB_ROW && ++n == 1)
		str_copy(key, SG_KEY_LEN, store_col_text(s, 0));
	db_reset(s);
	if (rc != DB_ROW && rc != DB_DONE) {
		store_err(c->ctrl->st, "reading the security groups");
		api_err_internal(c, "reading the security groups");
		return -1;
	}
	if (n == 0)
		api_err(c, 404, "not_found", NULL, "security group '%.64s' does "
			"not exist: list them with 'finctl secgroup list'", name);
	else if (n > 1)
		api_err(c, 409, "ambiguous", "tenant", "several tenants have a "
			"security group '%.64s': name the tenant (?tenant=, "
			"finctl --tenant)", name);
	return n == 1 ? 0 : -1;
}

void h_secgroup_get(struct api_ctx *c)
{
	char key[SG_KEY_LEN];

	if (sg_resolve(c, key) == 0)
		res_answer(c, &res_secgroups, key, 200);
}

void h_secgroup_create(struct api_ctx *c)
{
	static const char *const keys[] = {"name", "tenant", "description",
					   NULL};
	const char *name, *tenant, *desc;
	char key[SG_KEY_LEN];
	struct db_stmt *s;
	int rc;

	if (api_body_object(c, keys) < 0 ||
	    api_get_name(c, "name", "security group", true, &name) < 0 ||
	    api_get_name(c, "tenant", "tenant", !api_is_tenant(c), &tenant) < 0 ||
	    api_get_str(c, "description", false, "", &desc) < 0)
		return;
	if (tenant == NULL)
		tenant = c->who.tenant;
	if (strlen(desc) > 255) {
		api_err(c, 400, "invalid_field", "description", "$.description:"
			" at most 255 bytes");
		return;
	}
	netstate_sg_key(tenant, name, key, sizeof(key));
	res_target(c, &res_secgroups, key);
	if (tenant_begin(c, tenant) < 0 ||
	    (rc = res_exists(c, &res_secgroups, key)) < 0)
		return;
	if (rc > 0) {
		api_err(c, 409, "exists", "name", "tenant '%s' already has a "
			"security group '%s'", tenant, name);
		return;
	}
	s = api_stmt(c, "INSERT INTO secgroups(key, tenant, name, description, "
		    "created_ms) VALUES (?,?,?,?,?)");
	if (s == NULL)
		return;
	store_bind_texts(s, 1, (const char *[]){key, tenant, name, desc}, 4);
	db_bind_int64(s, 5, time_wall_ms());
	if (api_step_write(c, s, "creating the security group") < 0)
		return;
	res_answer(c, &res_secgroups, key, 201);
	snprintf(c->location, sizeof(c->location), "/v1/secgroups/%s?tenant=%s",
		 name, tenant);
}

/* Bump the nodes of every port whose rules change with group key: its
 * members, and the members of the groups whose rules name it. */
static int sg_bump(struct api_ctx *c, const char *key)
{
	struct db_stmt *s = api_stmt(c, "SELECT DISTINCT p.vm_id FROM ports p "
				   "JOIN port_secgroups ps ON ps.port = p.id "
				   "WHERE ps.sg = ?1 OR ps.sg IN (SELECT sg "
				   "FROM secgroup_rules WHERE source_group = "
				   "?1)");
	struct buf vms = {0};
	int rc = DB_ERROR, ret = -1;

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, key);
	while ((rc = db_step(s)) == DB_ROW)
		buf_append(&vms, store_col_text(s, 0), 37);
	if (store_rows_end(c->ctrl->st, s, rc, &vms, "reading a group's "
			   "ports") < 0)
		goto fail;
	for (size_t i = 0; i < vms.len / 37; i++) {
		struct db_stmt *h = store_stmt1(c->ctrl->st, "SELECT host FROM vms"
					      " WHERE id = ?", vms.data + i * 37);
		char host[NAME_MAX_LEN + 1] = "";

		if (h == NULL)
			goto fail;
		if (db_step(h) == DB_ROW)
			str_copy(host, sizeof(host), store_col_text(h, 0));
		db_reset(h);
		if (host[0] && ctrl_bump_generation(c->ctrl, host) < 0)
			goto fail;
	}
	ret = 0;
	goto out;
fail:
	api_err_internal(c, "updating the group's nodes");
out:
	buf_free(&vms);
	return ret;
}

void h_secgroup_delete(struct api_ctx *c)
{
	char key[SG_KEY_LEN];
	struct db_stmt *s;
	int rc;

	snprintf(c->audit_target, sizeof(c->audit_target), "secgroup:%s",
		 c->m->params[0]);
	if (api_begin(c) < 0 || sg_resolve(c, key) < 0)
		return;
	res_target(c, &res_secgroups, key);
	rc = api_find(c, "SELECT 1 FROM port_secgroups WHERE sg = ?1 UNION ALL "
		      "SELECT 1 FROM secgroup_rules WHERE source_group = ?1 AND "
		      "sg != ?1", key, &s, "reading the group's users");
	if (rc < 0)
		return;
	if (rc > 0) {
		db_reset(s);
		api_err(c, 409, "in_use", NULL, "security group '%s' is used by "
			"ports or named by another group's rules: delete those "
			"VMs or rules first", c->m->params[0]);
		return;
	}
	if (store_run(c->ctrl->st, "DELETE FROM secgroup_rules WHERE sg = ?1",
		      key, "deleting the group's rules") < 0 ||
	    store_run(c->ctrl->st, "DELETE FROM secgroups WHERE key = ?1", key,
		      "deleting the security group") < 0) {
		api_err_internal(c, "deleting the security group");
		return;
	}
	api_ok(c, 204, NULL);
}

static const char *const protocols[] = {"tcp", "udp", "icmp", "any"};

void h_secgroup_rule_add(struct api_ctx *c)
{
	static const char *const keys[] = {"protocol", "port_min", "port_max",
					   "source_cidr", "source_group", NULL};
	const char *proto, *cidr, *group;
	char key[SG_KEY_LEN], src[SG_KEY_LEN], id[37], tenant[NAME_MAX_LEN + 1];
	int64_t lo, hi;
	uint32_t net;
	int prefix, rc;
	struct db_stmt *s;

	/* the group first: a rule of a group that does not exist is 404
	 * whatever its body */
	if (api_begin(c) < 0 || sg_resolve(c, key) < 0)
		return;
	res_target(c, &res_secgroups, key);
	if (api_body_object(c, keys) < 0 ||
	    api_get_str(c, "protocol", true, NULL, &proto) < 0 ||
	    api_get_int(c, "port_min", false, 0, 65535, 0, &lo) < 0 ||
	    api_get_int(c, "port_max", false, 0, 65535, lo ? lo : 65535,
			&hi) < 0 ||
	    api_get_str(c, "source_cidr", false, NULL, &cidr) < 0 ||
	    api_get_name(c, "source_group", "security group", false, &group) < 0)
		return;
	if (str_index(protocols, FC_ARRAY_LEN(protocols), proto) < 0) {
		api_err(c, 400, "invalid_field", "protocol", "$.protocol: "
			"expected tcp, udp, icmp or any, got '%.16s'", proto);
		return;
	}
	if (hi < lo) {
		api_err(c, 400, "invalid_field", "port_max", "$.port_max: %"
			PRId64 " is below port_min %" PRId64, hi, lo);
		return;
	}
	if ((cidr == NULL) == (group == NULL)) {
		api_err(c, 400, "invalid_field", "source_cidr", "give either "
			"$.source_cidr or $.source_group (the rule's source)");
		return;
	}
	if (cidr && ipam_source_parse(cidr, &net, &prefix) < 0) {
		api_err(c, 400, "invalid_field", "source_cidr",
			"$.source_cidr: %s", err_msg());
		return;
	}
	str_copy(tenant, sizeof(tenant), key);
	tenant[strcspn(tenant, ":")] = '\0';
	if (group) {
		netstate_sg_key(tenant, group, src, sizeof(src));
		rc = res_exists(c, &res_secgroups, src);
		if (rc == 0)
			api_err(c, 404, "not_found", "source_group", "$.source_"
				"group: tenant '%s' has no security group '%s'",
				tenant, group);
		if (rc <= 0)
			return;
	}
	if (uuid_generate_v4(id) < 0) {
		api_err_internal(c, "making a rule id");
		return;
	}
	s = api_stmt(c, "INSERT INTO secgroup_rules(id, sg, protocol, port_min,"
		    " port_max, source_cidr, source_group, created_ms) VALUES "
		    "(?,?,?,?,?,?,?,?)");
	if (s == NULL)
		return;
	store_bind_texts(s, 1, (const char *[]){id, key, proto}, 3);
	store_bind_int64s(s, 4, (const int64_t[]){lo, hi}, 2);
	store_bind_texts(s, 6, (const char *[]){cidr, group ? src : NULL}, 2);
	db_bind_int64(s, 8, time_wall_ms());
	if (api_step_write(c, s, "adding the rule") < 0 || sg_bump(c, key) < 0)
		return;
	res_answer(c, &res_secgroups, key, 201);
}

void h_secgroup_rule_delete(struct api_ctx *c)
{
	char key[SG_KEY_LEN];
	struct db_stmt *s;

	if (api_begin(c) < 0 || sg_resolve(c, key) < 0)
		return;
	res_target(c, &res_secgroups, key);
	if (sg_bump(c, key) < 0)
		return;
	s = api_stmt(c, "DELETE FROM secgroup_rules WHERE id = ? AND sg = ?");
	if (s == NULL)
		return;
	store_bind_text(s, 1, c->m->params[1]);
	store_bind_text(s, 2, key);
	if (api_step_done(c, s, "deleting the rule") < 0)
		return;
	if (db_changes(store_db(c->ctrl->st)) == 0) {
		api_err(c, 404, "not_found", NULL, "security group '%s' has no "
			"rule '%.40s': see 'finctl secgroup show %s'",
			c->m->params[0], c->m->params[1], c->m->params[0]);
		return;
	}
	api_ok(c, 204, NULL);
}

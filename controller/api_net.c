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
	cJSON *o = cJSON_CreateObject();
	char cidr[IPAM_CIDR_LEN];

	(void)st;
	cJSON_AddStringToObject(o, "name", store_col_text(s, 0));
	cJSON_AddStringToObject(o, "tenant", store_col_text(s, 1));
	ipam_cidr_format((uint32_t)db_col_int64(s, 2),
			 db_col_int(s, 3), cidr);
	cJSON_AddStringToObject(o, "cidr", cidr);
	add_addr(o, "gateway", (uint32_t)db_col_int64(s, 4));
	cJSON_AddNumberToObject(o, "vni", (double)db_col_int64(s, 5));
	cJSON_AddNumberToObject(o, "mtu", (double)db_col_int64(s, 6));
	cJSON_AddNumberToObject(o, "ports", (double)db_col_int64(s, 8));
	cJSON_AddNumberToObject(o, "created_ms",
				(double)db_col_int64(s, 7));
	return o;
}

static const struct res_kind res_networks = {
	.noun = "network",
	.path = "/v1/networks",
	RES_SQL("networks", "name",
		"r.name, r.tenant, r.net, r.prefix, r.gateway, r.vni, r.mtu, "
		"r.created_ms, (SELECT count(*) FROM ports WHERE network = "
		"r.name)",
		"r.tenant", " AND (?3 IS NULL OR r.tenant = ?3)"),
	.to_json = network_json,
	.scoped = true,
	.owner_col = 1,
	.tenant_query = "tenant",
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

/* The VNI of a new network into *vni: the one asked for when free, else
 * the lowest free one of the configured range. 0, or -1 with the answer
 * set (409 taken or exhausted, 500). */
static int network_vni(struct api_ctx *c, int64_t want, int64_t *vni)
{
	const struct ctrl_config *cf = &c->ctrl->cfg;
	struct db_stmt *s;
	struct buf b = {0};
	int rc = DB_ERROR, ret = -1;

	s = api_stmt(c, "SELECT vni FROM networks WHERE vni BETWEEN ?1 AND ?2 "
		    "ORDER BY vni");
	if (s == NULL)
		return -1;
	db_bind_int64(s, 1, want ? want : cf->vni_min);
	db_bind_int64(s, 2, want ? want : cf->vni_max);
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
	} else if (ipam_vni_pick(cf->vni_min, cf->vni_max,
				 (const int64_t *)(void *)b.data,
				 b.len / sizeof(int64_t), vni) != 0) {
		api_err(c, 409, "vni_exhausted", NULL, "every VNI of the "
			"configured range %" PRId64 "-%" PRId64 " is taken: "
			"delete unused networks or widen vni_min/vni_max in "
			"controller.conf", cf->vni_min, cf->vni_max);
	} else {
		ret = 0;
	}
	buf_free(&b);
	return ret;
}

void h_network_create(struct api_ctx *c)
{
	static const char *const keys[] = {"name", "tenant", "cidr", "gateway",
					   "vni", NULL};
	const char *name, *tenant, *cidr, *gw;
	uint32_t net, gateway = 0;
	int64_t want, vni;
	struct db_stmt *s;
	int prefix, rc;

	if (api_body_object(c, keys) < 0 ||
	    api_get_name(c, "name", "network", true, &name) < 0 ||
	    api_get_name(c, "tenant", "tenant", !api_is_tenant(c), &tenant) < 0 ||
	    api_get_str(c, "cidr", true, NULL, &cidr) < 0 ||
	    api_get_str(c, "gateway", false, NULL, &gw) < 0 ||
	    api_get_int(c, "vni", false, IPAM_VNI_MIN, IPAM_VNI_MAX, 0,
			&want) < 0)
		return;
	if (tenant == NULL)
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
	if (tenant_begin(c, tenant) < 0)
		return;
	rc = res_exists(c, &res_networks, name);
	if (rc > 0)
		api_err(c, 409, "exists", "name", "network '%s' already exists",
			name);
	if (rc != 0)
		return;
	if (network_vni(c, want, &vni) < 0)
		return;
	s = api_stmt(c, "INSERT INTO networks(name, tenant, net, prefix, "
		    "gateway, vni, mtu, created_ms) VALUES (?,?,?,?,?,?,?,?)");
	if (s == NULL)
		return;
	store_bind_texts(s, 1, (const char *[]){name, tenant}, 2);
	store_bind_int64s(s, 3, (const int64_t[]){net, prefix, gateway, vni,
						  NETSTATE_MTU,
						  time_wall_ms()}, 6);
	if (api_step_write(c, s, "creating the network") < 0)
		return;
	/* the group its ports join unless told otherwise */
	if (netstate_default_group(c->ctrl->st, tenant) < 0) {
		api_err_internal(c, "making the default security group");
		return;
	}
	res_created(c, &res_networks, name);
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

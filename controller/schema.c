/*
 * schema.c - the controller's schema migrations (schema.h).
 */
#include "common/fc.h"
#include "controller/schema.h"

/*
 * Versioned migrations: entry i brings the schema from version i to i + 1.
 * Never edit a released entry; append a new one, in SQL both engines run
 * (docs/decisions.md "One SQL for SQLite and PostgreSQL").
 *
 * Resource claims are the vcpus/mem_mib/disk_gib columns of a VM row
 * together with its host: a VM row is written with its host in the same
 * transaction as the placement decision, and its claim lasts until the row
 * is removed (when the host's agent confirms the domain is gone).
 */
const struct store_migration store_migrations[] = {
	/* 1: the initial schema */
	{ "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE pools("
	" name TEXT PRIMARY KEY,"
	" ratio_vcpus REAL NOT NULL CHECK(ratio_vcpus > 0),"
	" ratio_mem REAL NOT NULL CHECK(ratio_mem > 0),"
	" ratio_disk REAL NOT NULL CHECK(ratio_disk > 0),"
	" policy TEXT NOT NULL CHECK(policy IN ('pack','spread')),"
	" compliance TEXT NOT NULL DEFAULT '',"
	" created_ms INTEGER NOT NULL);"
	"CREATE TABLE hosts("
	" name TEXT PRIMARY KEY,"
	" pool TEXT NOT NULL REFERENCES pools(name),"
	" state TEXT NOT NULL CHECK(state IN ('up','down')),"
	" maintenance INTEGER NOT NULL DEFAULT 0,"
	" migration_uri TEXT NOT NULL DEFAULT '',"
	" vcpus INTEGER NOT NULL DEFAULT 0,"
	" mem_mib INTEGER NOT NULL DEFAULT 0,"
	" disk_gib INTEGER NOT NULL DEFAULT 0,"
	" mem_free_mib INTEGER NOT NULL DEFAULT 0,"
	" disk_free_gib INTEGER NOT NULL DEFAULT 0,"
	" cpu_model TEXT NOT NULL DEFAULT '',"
	" virt_type TEXT NOT NULL DEFAULT '',"
	" libvirt_version TEXT NOT NULL DEFAULT '',"
	" cost REAL NOT NULL DEFAULT 1,"
	" availability REAL NOT NULL DEFAULT 0.999,"
	" status TEXT NOT NULL DEFAULT 'ok',"
	" degraded_reason TEXT NOT NULL DEFAULT '',"
	" generation INTEGER NOT NULL DEFAULT 1,"
	" generation_seen INTEGER NOT NULL DEFAULT 0,"
	" last_seen_ms INTEGER NOT NULL DEFAULT 0,"
	" used_vcpus REAL NOT NULL DEFAULT 0,"
	" used_mem_mib REAL NOT NULL DEFAULT 0,"
	" used_disk_gib REAL NOT NULL DEFAULT 0,"
	" registered_ms INTEGER NOT NULL);"
	"CREATE TABLE tenants("
	" name TEXT PRIMARY KEY,"
	" isolation TEXT NOT NULL CHECK(isolation IN ('shared','dedicated')),"
	" compliance_class TEXT NOT NULL,"
	" quota_vcpus INTEGER, quota_mem_mib INTEGER,"
	" quota_disk_gib INTEGER, quota_vms INTEGER,"
	" created_ms INTEGER NOT NULL);"
	"CREATE TABLE tenant_pools("
	" tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,"
	" pool TEXT NOT NULL REFERENCES pools(name),"
	" PRIMARY KEY(tenant, pool));"
	"CREATE TABLE groups("
	" name TEXT PRIMARY KEY,"
	" tenant TEXT NOT NULL REFERENCES tenants(name),"
	" policy TEXT NOT NULL CHECK(policy IN ('affinity','anti-affinity')),"
	" availability REAL NOT NULL DEFAULT 0,"
	" created_ms INTEGER NOT NULL);"
	"CREATE TABLE flavors("
	" name TEXT PRIMARY KEY,"
	" vcpus INTEGER NOT NULL CHECK(vcpus > 0),"
	" mem_mib INTEGER NOT NULL CHECK(mem_mib > 0),"
	" disk_gib INTEGER NOT NULL CHECK(disk_gib > 0),"
	" created_ms INTEGER NOT NULL);"
	"CREATE TABLE vms("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" id TEXT NOT NULL UNIQUE,"
	" name TEXT NOT NULL,"
	" tenant TEXT NOT NULL REFERENCES tenants(name),"
	" grp TEXT REFERENCES groups(name),"
	" flavor TEXT NOT NULL REFERENCES flavors(name),"
	" pool TEXT NOT NULL REFERENCES pools(name),"
	" host TEXT NOT NULL REFERENCES hosts(name),"
	" vcpus INTEGER NOT NULL, mem_mib INTEGER NOT NULL,"
	" disk_gib INTEGER NOT NULL,"
	" desired TEXT NOT NULL CHECK(desired IN ('running','stopped','deleted')),"
	" state TEXT NOT NULL,"
	" reboot INTEGER NOT NULL DEFAULT 0,"
	" error TEXT NOT NULL DEFAULT '',"
	" cpu_pct REAL NOT NULL DEFAULT 0,"
	" balloon_mib INTEGER NOT NULL DEFAULT 0,"
	" disk_alloc_bytes INTEGER NOT NULL DEFAULT 0,"
	" created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
	" UNIQUE(tenant, name));"
	"CREATE INDEX vms_host ON vms(host);"
	"CREATE INDEX vms_grp ON vms(grp);"
	"CREATE TABLE tasks("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" id TEXT NOT NULL UNIQUE,"
	" type TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK(state IN ('pending','running','done','failed')),"
	" vm_id TEXT NOT NULL,"
	" tenant TEXT NOT NULL,"
	" source_host TEXT NOT NULL,"
	" target_host TEXT NOT NULL,"
	" vcpus INTEGER NOT NULL, mem_mib INTEGER NOT NULL,"
	" disk_gib INTEGER NOT NULL,"
	" error TEXT NOT NULL DEFAULT '',"
	" created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
	"CREATE INDEX tasks_source ON tasks(source_host, state);"
	"CREATE TABLE tokens("
	" id TEXT PRIMARY KEY,"
	" hash TEXT NOT NULL UNIQUE,"
	" role TEXT NOT NULL CHECK(role IN ('admin','operator','tenant','viewer','join','agent')),"
	" tenant TEXT REFERENCES tenants(name) ON DELETE CASCADE,"
	" node TEXT,"
	" description TEXT NOT NULL DEFAULT '',"
	" created_ms INTEGER NOT NULL);"
	"CREATE TABLE audit("
	" seq INTEGER PRIMARY KEY,"
	" time_ms INTEGER NOT NULL,"
	" actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,"
	" result INTEGER NOT NULL, request_id TEXT NOT NULL,"
	" prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
	"CREATE TABLE util_samples("
	" pool TEXT NOT NULL REFERENCES pools(name) ON DELETE CASCADE,"
	" level INTEGER NOT NULL,"
	" time_ms INTEGER NOT NULL,"
	" n INTEGER NOT NULL,"
	" v0 REAL NOT NULL, v1 REAL NOT NULL, v2 REAL NOT NULL,"
	" v3 REAL NOT NULL, v4 REAL NOT NULL, v5 REAL NOT NULL,"
	" PRIMARY KEY(pool, level, time_ms));"
	"INSERT INTO pools(name, ratio_vcpus, ratio_mem, ratio_disk, policy,"
	" created_ms) VALUES ('default', 1, 1, 1, 'pack', 0);",
	  .sqlite =
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
	" BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
	" BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
	  /* SQLite's aggregates total() (a sum that is 0.0 over no row)
	   * and group_concat(), which the queries use */
	  .pg =
	"CREATE AGGREGATE total(double precision) (SFUNC = float8pl,"
	" STYPE = double precision, INITCOND = '0');"
	"CREATE FUNCTION group_concat_step(a text, b text, sep text)"
	" RETURNS text LANGUAGE sql IMMUTABLE AS $$SELECT CASE WHEN b IS NULL"
	" THEN a WHEN a IS NULL THEN b ELSE a || sep || b END$$;"
	"CREATE FUNCTION group_concat_step(a text, b text) RETURNS text"
	" LANGUAGE sql IMMUTABLE AS $$SELECT group_concat_step(a, b, ',')$$;"
	"CREATE AGGREGATE group_concat(text) (SFUNC = group_concat_step,"
	" STYPE = text);"
	"CREATE AGGREGATE group_concat(text, text) (SFUNC = group_concat_step,"
	" STYPE = text);"
	"CREATE FUNCTION instr(a text, b text) RETURNS integer LANGUAGE sql"
	" IMMUTABLE AS $$SELECT strpos(a, b)$$;"
	"CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql"
	" AS $$BEGIN RAISE EXCEPTION 'the audit log is append-only'; END$$;"
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit FOR EACH ROW"
	" EXECUTE FUNCTION audit_append_only();"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit FOR EACH ROW"
	" EXECUTE FUNCTION audit_append_only();" },

	/* 2: claims summed per host, tenant and group, kept by triggers, so
	 * that placement reads one row per (host, tenant, group) instead of
	 * every VM */
	{ "CREATE TABLE claims("
	" host TEXT NOT NULL, tenant TEXT NOT NULL, grp TEXT NOT NULL,"
	" vcpus INTEGER NOT NULL, mem_mib INTEGER NOT NULL,"
	" disk_gib INTEGER NOT NULL, n INTEGER NOT NULL,"
	" PRIMARY KEY(host, tenant, grp)) WITHOUT ROWID;"
	"CREATE INDEX claims_tenant ON claims(tenant);"
	"INSERT INTO claims SELECT host, tenant, coalesce(grp, ''), sum(vcpus),"
	" sum(mem_mib), sum(disk_gib), count(*) FROM vms GROUP BY 1, 2, 3;",
	  .sqlite =
	"CREATE TRIGGER claims_add AFTER INSERT ON vms BEGIN"
	" INSERT INTO claims VALUES (NEW.host, NEW.tenant, coalesce(NEW.grp, ''),"
	"  NEW.vcpus, NEW.mem_mib, NEW.disk_gib, 1)"
	"  ON CONFLICT(host, tenant, grp) DO UPDATE SET"
	"  vcpus = vcpus + excluded.vcpus, mem_mib = mem_mib + excluded.mem_mib,"
	"  disk_gib = disk_gib + excluded.disk_gib, n = n + 1;"
	" END;"
	"CREATE TRIGGER claims_del AFTER DELETE ON vms BEGIN"
	" UPDATE claims SET vcpus = vcpus - OLD.vcpus,"
	"  mem_mib = mem_mib - OLD.mem_mib, disk_gib = disk_gib - OLD.disk_gib,"
	"  n = n - 1 WHERE host = OLD.host AND tenant = OLD.tenant"
	"  AND grp = coalesce(OLD.grp, '');"
	" DELETE FROM claims WHERE host = OLD.host AND tenant = OLD.tenant"
	"  AND grp = coalesce(OLD.grp, '') AND n <= 0;"
	" END;"
	"CREATE TRIGGER claims_move AFTER UPDATE OF host ON vms"
	" WHEN OLD.host IS NOT NEW.host BEGIN"
	" UPDATE claims SET vcpus = vcpus - OLD.vcpus,"
	"  mem_mib = mem_mib - OLD.mem_mib, disk_gib = disk_gib - OLD.disk_gib,"
	"  n = n - 1 WHERE host = OLD.host AND tenant = OLD.tenant"
	"  AND grp = coalesce(OLD.grp, '');"
	" DELETE FROM claims WHERE host = OLD.host AND tenant = OLD.tenant"
	"  AND grp = coalesce(OLD.grp, '') AND n <= 0;"
	" INSERT INTO claims VALUES (NEW.host, NEW.tenant, coalesce(NEW.grp, ''),"
	"  NEW.vcpus, NEW.mem_mib, NEW.disk_gib, 1)"
	"  ON CONFLICT(host, tenant, grp) DO UPDATE SET"
	"  vcpus = vcpus + excluded.vcpus, mem_mib = mem_mib + excluded.mem_mib,"
	"  disk_gib = disk_gib + excluded.disk_gib, n = n + 1;"
	" END;",
	  .pg =
	"CREATE FUNCTION claims_put(h text, t text, g text, c bigint,"
	" m bigint, d bigint, k bigint) RETURNS void LANGUAGE sql AS $$"
	" INSERT INTO claims VALUES (h, t, coalesce(g, ''), k * c, k * m,"
	"  k * d, k) ON CONFLICT(host, tenant, grp) DO UPDATE SET"
	"  vcpus = claims.vcpus + excluded.vcpus,"
	"  mem_mib = claims.mem_mib + excluded.mem_mib,"
	"  disk_gib = claims.disk_gib + excluded.disk_gib,"
	"  n = claims.n + excluded.n;"
	" DELETE FROM claims WHERE host = h AND tenant = t"
	"  AND grp = coalesce(g, '') AND n <= 0$$;"
	"CREATE FUNCTION claims_track() RETURNS trigger LANGUAGE plpgsql AS $$"
	" BEGIN IF TG_OP <> 'INSERT' THEN PERFORM claims_put(OLD.host,"
	"  OLD.tenant, OLD.grp, OLD.vcpus, OLD.mem_mib, OLD.disk_gib, -1);"
	" END IF; IF TG_OP <> 'DELETE' THEN PERFORM claims_put(NEW.host,"
	"  NEW.tenant, NEW.grp, NEW.vcpus, NEW.mem_mib, NEW.disk_gib, 1);"
	" END IF; RETURN NULL; END$$;"
	"CREATE TRIGGER claims_add AFTER INSERT ON vms FOR EACH ROW"
	" EXECUTE FUNCTION claims_track();"
	"CREATE TRIGGER claims_del AFTER DELETE ON vms FOR EACH ROW"
	" EXECUTE FUNCTION claims_track();"
	"CREATE TRIGGER claims_move AFTER UPDATE OF host ON vms FOR EACH ROW"
	" WHEN (OLD.host IS DISTINCT FROM NEW.host)"
	" EXECUTE FUNCTION claims_track();" },

	/* 3: the progress of rebalance and drain tasks (JSON, see
	 * controller/rebalance.h); '' for the other tasks */
	{ "ALTER TABLE tasks ADD COLUMN progress TEXT NOT NULL DEFAULT '';" },

	/* 4: the machine a host's agent registered from (libvirt's host
	 * UUID or /etc/machine-id; '' when unknown), so that another
	 * machine cannot take over the name (docs/agent-protocol.md) */
	{ "ALTER TABLE hosts ADD COLUMN machine_id TEXT NOT NULL DEFAULT '';" },

	/* 5: audit chain format 2 (length-prefixed fields, audit.h) from the
	 * next entry on; the entries already written keep format 1 and are
	 * verified with it, nothing is re-hashed. A log with no entry gets
	 * its head row now, so that a missing head always means a removed
	 * one (a log with entries has had it since its first entry). */
	{ "INSERT INTO meta(key, value) SELECT 'audit_format2_from',"
	" coalesce(max(seq), 0) + 1 FROM audit;"
	"INSERT INTO meta(key, value) SELECT 'audit_head', '0:' ||"
	" '0000000000000000000000000000000000000000000000000000000000000000'"
	" WHERE NOT EXISTS (SELECT 1 FROM audit)"
	" AND NOT EXISTS (SELECT 1 FROM meta WHERE key = 'audit_head');" },

	/* 6: the fincloud domains each node listed in its last heartbeat
	 * (controller/report.h): where a VM runs, as the nodes say, beside
	 * where the vms table places it. orphan_ms: when the row was first
	 * seen without a VM behind it (NULL while there is one); destroy_ms:
	 * when its node was told to destroy it. */
	{ "CREATE TABLE reports("
	" host TEXT NOT NULL, vm_id TEXT NOT NULL, name TEXT NOT NULL,"
	" state TEXT NOT NULL, seen_ms INTEGER NOT NULL,"
	" orphan_ms INTEGER, destroy_ms INTEGER,"
	" PRIMARY KEY(host, vm_id)) WITHOUT ROWID;"
	"CREATE INDEX reports_vm ON reports(vm_id);" },

	/* 7: idempotency keys of creates (controller/idem.h): per caller
	 * (token id), the SHA-256 of the body and the id the first request
	 * created; rows older than 24 h are removed */
	{ "CREATE TABLE idempotency("
	" caller TEXT NOT NULL, key TEXT NOT NULL,"
	" body_sha256 TEXT NOT NULL, created_id TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" PRIMARY KEY(caller, key)) WITHOUT ROWID;"
	"CREATE INDEX idempotency_created ON idempotency(created_ms);" },

	/* 8: the tenant's wipe policy: its VMs' disks are wiped before they
	 * are deleted (the desired state's vm_spec "wipe") */
	{ "ALTER TABLE tenants ADD COLUMN wipe_on_delete INTEGER NOT NULL"
	" DEFAULT 0;" },

	/* 9: when a token stops working (ms since the epoch; NULL: never)
	 * and when it was last used (NULL: never; updated at most once a
	 * minute, docs/controller.md) */
	{ "ALTER TABLE tokens ADD COLUMN expires_ms INTEGER;"
	"ALTER TABLE tokens ADD COLUMN last_used_ms INTEGER;" },

	/* 10: agents' credentials (controller/enrol.h). A join token's
	 * registrations left (NULL for the other roles); join tokens made
	 * before it get one use and expire within the hour. A host's first
	 * registered (or last approved) vCPUs and memory, what it last
	 * reported, and why that is not trusted ('' when it is); the
	 * scheduler reads vcpus and mem_mib, the trusted figures. A
	 * re-registration of a known node waits in host_requests for an
	 * operator's approval (state pending, then approved or rejected). */
	{ "ALTER TABLE tokens ADD COLUMN uses_left INTEGER;"
	"ALTER TABLE hosts ADD COLUMN base_vcpus INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE hosts ADD COLUMN base_mem_mib INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE hosts ADD COLUMN reported_vcpus INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE hosts ADD COLUMN reported_mem_mib INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE hosts ADD COLUMN inventory_flag TEXT NOT NULL DEFAULT '';"
	"UPDATE hosts SET base_vcpus = vcpus, base_mem_mib = mem_mib,"
	" reported_vcpus = vcpus, reported_mem_mib = mem_mib;"
	"CREATE TABLE host_requests("
	" host TEXT PRIMARY KEY REFERENCES hosts(name) ON DELETE CASCADE,"
	" state TEXT NOT NULL CHECK(state IN ('pending','approved','rejected')),"
	" machine_id TEXT NOT NULL, migration_uri TEXT NOT NULL,"
	" pool TEXT NOT NULL, changes TEXT NOT NULL,"
	" attempts INTEGER NOT NULL, requested_ms INTEGER NOT NULL,"
	" decided_ms INTEGER) WITHOUT ROWID;",
	  .sqlite =
	"UPDATE tokens SET uses_left = 1, expires_ms = min(coalesce(expires_ms,"
	" 9e18), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
	" + 3600000) WHERE role = 'join';",
	  .pg =
	"UPDATE tokens SET uses_left = 1, expires_ms = LEAST(coalesce("
	" expires_ms, 9000000000000000000), CAST(extract(epoch FROM now())"
	" * 1000 AS BIGINT) + 3600000) WHERE role = 'join';" },

	/* 11: why a host runs its guests as it does (its agent's
	 * virt_type_reason); whether a pool's VMs may migrate in post-copy;
	 * a migration's time limit (seconds, 0: the agent's) and post-copy
	 * choice (NULL: the pool's) */
	{ "ALTER TABLE hosts ADD COLUMN virt_type_reason TEXT NOT NULL"
	" DEFAULT '';"
	"ALTER TABLE pools ADD COLUMN migration_postcopy INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE tasks ADD COLUMN max_seconds INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE tasks ADD COLUMN postcopy INTEGER;" },

	/* 12: the image catalogue (controller/image.h, docs/images.md): one
	 * row per uploaded image, its bytes stored once per SHA-256 under
	 * state_dir/images/sha256; tenant is NULL for a public image, and
	 * a name is unique among the public images and within each tenant.
	 * A VM names the image it was created from and that image's digest
	 * (NULL: none, as before); its first-boot settings (SSH keys as a
	 * JSON array, user-data) travel to its node in the desired state.
	 * A flavor may require an image. A migration of a VM from an image
	 * is handed to its source once its target has prepared the VM
	 * (target_ready, controller/vmimage.h). */
	{ "CREATE TABLE images("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" id TEXT NOT NULL UNIQUE,"
	" name TEXT NOT NULL,"
	" tenant TEXT REFERENCES tenants(name),"
	" visibility TEXT NOT NULL CHECK(visibility IN ('public','tenant')),"
	" format TEXT NOT NULL CHECK(format IN ('qcow2','raw')),"
	" os_type TEXT NOT NULL DEFAULT '',"
	" min_mem_mib INTEGER NOT NULL DEFAULT 0,"
	" size_bytes INTEGER NOT NULL,"
	" virtual_size_bytes INTEGER NOT NULL,"
	" sha256 TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" CHECK((visibility = 'public') = (tenant IS NULL)));"
	"CREATE UNIQUE INDEX images_name ON images(coalesce(tenant, ''), name);"
	"CREATE INDEX images_sha256 ON images(sha256);"
	"ALTER TABLE vms ADD COLUMN image_id TEXT;"
	"ALTER TABLE vms ADD COLUMN image_sha256 TEXT;"
	"ALTER TABLE vms ADD COLUMN ssh_keys TEXT NOT NULL DEFAULT '[]';"
	"ALTER TABLE vms ADD COLUMN user_data TEXT;"
	"CREATE INDEX vms_image ON vms(image_id);"
	"ALTER TABLE flavors ADD COLUMN requires_image INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE tasks ADD COLUMN target_ready INTEGER NOT NULL"
	" DEFAULT 0;" },

	/* 13: tenant networks (controller/netstate.h). A network is a VXLAN
	 * segment (vni) with an IPv4 network (net, prefix, host byte order)
	 * and an optional gateway (0: none). A port is a VM's NIC: its MAC
	 * and address, unique on its network; it goes with its VM's row, so
	 * an address is free again only once the VM's node has confirmed
	 * the domain gone (the claim's end). Security groups are keyed
	 * 'TENANT:NAME' (names are per tenant; ':' is in no name); a rule's
	 * source is a CIDR or a group, never both. */
	{ "CREATE TABLE networks("
	" name TEXT PRIMARY KEY,"
	" tenant TEXT NOT NULL REFERENCES tenants(name),"
	" net INTEGER NOT NULL, prefix INTEGER NOT NULL,"
	" gateway INTEGER NOT NULL DEFAULT 0,"
	" vni INTEGER NOT NULL UNIQUE,"
	" mtu INTEGER NOT NULL,"
	" created_ms INTEGER NOT NULL);"
	"CREATE INDEX networks_tenant ON networks(tenant);"
	"CREATE TABLE secgroups("
	" key TEXT PRIMARY KEY,"
	" tenant TEXT NOT NULL REFERENCES tenants(name),"
	" name TEXT NOT NULL,"
	" description TEXT NOT NULL DEFAULT '',"
	" created_ms INTEGER NOT NULL,"
	" UNIQUE(tenant, name));"
	"CREATE TABLE secgroup_rules("
	" id TEXT PRIMARY KEY,"
	" sg TEXT NOT NULL REFERENCES secgroups(key) ON DELETE CASCADE,"
	" protocol TEXT NOT NULL CHECK(protocol IN ('tcp','udp','icmp','any')),"
	" port_min INTEGER NOT NULL, port_max INTEGER NOT NULL,"
	" source_cidr TEXT,"
	" source_group TEXT REFERENCES secgroups(key),"
	" created_ms INTEGER NOT NULL,"
	" CHECK((source_cidr IS NULL) != (source_group IS NULL)));"
	"CREATE INDEX secgroup_rules_sg ON secgroup_rules(sg);"
	"CREATE INDEX secgroup_rules_source ON secgroup_rules(source_group);"
	"CREATE TABLE ports("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" id TEXT NOT NULL UNIQUE,"
	" vm_id TEXT NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
	" nic INTEGER NOT NULL,"
	" network TEXT NOT NULL REFERENCES networks(name),"
	" mac TEXT NOT NULL UNIQUE,"
	" ip INTEGER NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" UNIQUE(network, ip), UNIQUE(vm_id, nic));"
	"CREATE TABLE port_secgroups("
	" port TEXT NOT NULL REFERENCES ports(id) ON DELETE CASCADE,"
	" sg TEXT NOT NULL REFERENCES secgroups(key),"
	" PRIMARY KEY(port, sg)) WITHOUT ROWID;"
	"CREATE INDEX port_secgroups_sg ON port_secgroups(sg);" },
	/* 14: whether a VM's live migrations may switch to post-copy (NULL:
	 * its pool's migration_postcopy; a migration's own choice, tasks
	 * .postcopy, comes first) */
	{ "ALTER TABLE vms ADD COLUMN migration_postcopy INTEGER;" },
	/* 15: provider networks (docs/networking.md): a provider network
	 * has no tenant (the tenants it is shared with are network_shares'
	 * rows). provider is 'flat' or 'vlan' (NULL: a tenant VXLAN
	 * network), interface the node link it bridges, vlan_id its 802.1Q
	 * tag, pool the nodes it spans; its vni is a key at or above 2^24
	 * that names its bridge and is never a VXLAN id. dhcp_ip is the
	 * address the network's DHCP servers use (0: no DHCP). A host's
	 * interfaces are the links its agent reports free for provider
	 * networks (the JSON array it sent; NULL: never reported), and
	 * vlan_capable whether its kernel makes 802.1Q links (NULL: not
	 * known). SQLite rebuilds the networks table (its ALTER TABLE
	 * cannot drop a NOT NULL; foreign keys are off while migrations
	 * run there); PostgreSQL alters it in place. */
	{ "CREATE TABLE network_shares("
	  " network TEXT NOT NULL REFERENCES networks(name) ON DELETE CASCADE,"
	  " tenant TEXT NOT NULL REFERENCES tenants(name),"
	  " PRIMARY KEY(network, tenant)) WITHOUT ROWID;"
	  "CREATE INDEX network_shares_tenant ON network_shares(tenant);"
	  "ALTER TABLE hosts ADD COLUMN interfaces TEXT;"
	  "ALTER TABLE hosts ADD COLUMN vlan_capable INTEGER;",
	  .sqlite =
	  "CREATE TABLE networks_new("
	  " name TEXT PRIMARY KEY,"
	  " tenant TEXT REFERENCES tenants(name),"
	  " net INTEGER NOT NULL, prefix INTEGER NOT NULL,"
	  " gateway INTEGER NOT NULL DEFAULT 0,"
	  " vni INTEGER NOT NULL UNIQUE,"
	  " mtu INTEGER NOT NULL,"
	  " created_ms INTEGER NOT NULL,"
	  " provider TEXT CHECK(provider IN ('flat','vlan')),"
	  " interface TEXT,"
	  " vlan_id INTEGER,"
	  " pool TEXT REFERENCES pools(name),"
	  " dhcp_ip INTEGER NOT NULL DEFAULT 0,"
	  " CHECK((tenant IS NULL) = (provider IS NOT NULL)),"
	  " CHECK((provider IS NULL) = (interface IS NULL)),"
	  " CHECK((provider IS NULL) = (pool IS NULL)),"
	  " CHECK((provider = 'vlan') = (vlan_id IS NOT NULL)));"
	  "INSERT INTO networks_new(name, tenant, net, prefix, gateway, vni,"
	  " mtu, created_ms) SELECT name, tenant, net, prefix, gateway, vni,"
	  " mtu, created_ms FROM networks;"
	  "DROP TABLE networks;"
	  "ALTER TABLE networks_new RENAME TO networks;"
	  "CREATE INDEX networks_tenant ON networks(tenant);"
	  "CREATE INDEX networks_pool ON networks(pool);",
	  .pg =
	  "ALTER TABLE networks ALTER COLUMN tenant DROP NOT NULL;"
	  "ALTER TABLE networks"
	  " ADD COLUMN provider TEXT CHECK(provider IN ('flat','vlan')),"
	  " ADD COLUMN interface TEXT,"
	  " ADD COLUMN vlan_id BIGINT,"
	  " ADD COLUMN pool TEXT REFERENCES pools(name),"
	  " ADD COLUMN dhcp_ip BIGINT NOT NULL DEFAULT 0,"
	  " ADD CHECK((tenant IS NULL) = (provider IS NOT NULL)),"
	  " ADD CHECK((provider IS NULL) = (interface IS NULL)),"
	  " ADD CHECK((provider IS NULL) = (pool IS NULL)),"
	  " ADD CHECK((provider = 'vlan') = (vlan_id IS NOT NULL));"
	  "CREATE INDEX IF NOT EXISTS networks_tenant ON networks(tenant);"
	  "CREATE INDEX networks_pool ON networks(pool);" },
	/* 16: storage pools (controller/storage.h, docs/operations.md):
	 * where a VM's root disk lives. 'local' (a qcow2 overlay on its
	 * host, as before) always exists; a 'ceph' pool names an RBD pool,
	 * its monitors ("host:port,...") and the cephx user of the nodes
	 * ("{node}" stands for each node's name); the keys stay on the
	 * nodes. replica_hosts (fincloud hosts, "a,b,c") or replicas
	 * holders of availability replica_availability give the pool's
	 * availability. A flavor may name a pool (NULL: local); a VM
	 * records the one it was created on. */
	{ "CREATE TABLE storage_pools("
	  " name TEXT PRIMARY KEY,"
	  " type TEXT NOT NULL CHECK(type IN ('local','ceph')),"
	  " ceph_pool TEXT NOT NULL DEFAULT '',"
	  " monitors TEXT NOT NULL DEFAULT '',"
	  " client TEXT NOT NULL DEFAULT '',"
	  " replicas INTEGER NOT NULL DEFAULT 1"
	  " CHECK(replicas BETWEEN 1 AND 16),"
	  " replica_hosts TEXT NOT NULL DEFAULT '',"
	  " replica_availability REAL NOT NULL DEFAULT 0.999"
	  " CHECK(replica_availability BETWEEN 0 AND 1),"
	  " created_ms INTEGER NOT NULL);"
	  "INSERT INTO storage_pools(name, type, created_ms)"
	  " VALUES ('local', 'local', 0);"
	  "ALTER TABLE flavors ADD COLUMN storage TEXT"
	  " REFERENCES storage_pools(name);"
	  "ALTER TABLE vms ADD COLUMN storage TEXT NOT NULL DEFAULT 'local';"
	  "CREATE INDEX vms_storage ON vms(storage);" },
	/* The utilisation series per host, like util_samples per pool
	 * (series.h: same levels and retention), gone with its host. */
	{ "CREATE TABLE host_util_samples("
	  " host TEXT NOT NULL REFERENCES hosts(name) ON DELETE CASCADE,"
	  " level INTEGER NOT NULL,"
	  " time_ms INTEGER NOT NULL,"
	  " n INTEGER NOT NULL,"
	  " v0 REAL NOT NULL, v1 REAL NOT NULL, v2 REAL NOT NULL,"
	  " v3 REAL NOT NULL, v4 REAL NOT NULL, v5 REAL NOT NULL,"
	  " PRIMARY KEY(host, level, time_ms));" },
	/* 18: task timeouts (task.h task_timeout_s()): when the leader
	 * failed a task as timed out (NULL: it did not), so that a
	 * migration that completed on its nodes after its timeout is still
	 * settled from their reports (report.c); the leader finds the
	 * open tasks by state and age */
	{ "ALTER TABLE tasks ADD COLUMN timed_out_ms INTEGER;"
	  "CREATE INDEX tasks_open ON tasks(state, created_ms);"
	  "CREATE INDEX tasks_timed_out ON tasks(timed_out_ms)"
	  " WHERE timed_out_ms IS NOT NULL;" },
	/* 19: when a host dies (controller/ha.h, docs/controller.md "When
	 * a host dies"). A VM's HA policy ('none' or 'restart') and
	 * priority (higher first); a host's HA state ('ok', 'suspect',
	 * 'failed', 'fenced'), since when, why, when the next fence try
	 * is due, whether its unfence (blocklist rm) is asked for, what
	 * was blocklisted ("MONITORS ADDRESS" lines), and how
	 * it is fenced: its Ceph client address, its fence agent (a file
	 * name in fence_agents_dir) and that agent's address (BMC). A
	 * pool's N+1 reserve. ha_evictions: the VMs restarted away from a
	 * host, which its desired state tells it to destroy and undefine
	 * (never their disks) until it reports them gone. */
	{ "ALTER TABLE vms ADD COLUMN ha TEXT NOT NULL DEFAULT 'none'"
	  " CHECK(ha IN ('none','restart'));"
	  "ALTER TABLE vms ADD COLUMN ha_priority INTEGER NOT NULL DEFAULT 0;"
	  "ALTER TABLE hosts ADD COLUMN ha_state TEXT NOT NULL DEFAULT 'ok'"
	  " CHECK(ha_state IN ('ok','suspect','failed','fenced'));"
	  "ALTER TABLE hosts ADD COLUMN ha_since_ms INTEGER NOT NULL"
	  " DEFAULT 0;"
	  "ALTER TABLE hosts ADD COLUMN ha_reason TEXT NOT NULL DEFAULT '';"
	  "ALTER TABLE hosts ADD COLUMN fence_next_ms INTEGER NOT NULL"
	  " DEFAULT 0;"
	  "ALTER TABLE hosts ADD COLUMN unfence INTEGER NOT NULL DEFAULT 0;"
	  "ALTER TABLE hosts ADD COLUMN blocklisted TEXT NOT NULL"
	  " DEFAULT '';"
	  "ALTER TABLE hosts ADD COLUMN storage_address TEXT NOT NULL"
	  " DEFAULT '';"
	  "ALTER TABLE hosts ADD COLUMN fence_command TEXT NOT NULL"
	  " DEFAULT '';"
	  "ALTER TABLE hosts ADD COLUMN fence_address TEXT NOT NULL"
	  " DEFAULT '';"
	  "ALTER TABLE pools ADD COLUMN ha_reserve TEXT NOT NULL"
	  " DEFAULT 'none' CHECK(ha_reserve IN ('none','n+1'));"
	  "CREATE TABLE ha_evictions("
	  " vm_id TEXT NOT NULL,"
	  " host TEXT NOT NULL REFERENCES hosts(name) ON DELETE CASCADE,"
	  " created_ms INTEGER NOT NULL,"
	  " PRIMARY KEY(vm_id, host));" },
	/* 20: how soon a fenced host's VMs may restart elsewhere
	 * (controller/ha_fence.c): the seconds its agent says it needs,
	 * from its last answered heartbeat, to have destroyed its guests
	 * when it loses the controller (-1: never said, an older agent;
	 * 0: it does not self-fence), and whether the host is known off
	 * (its fence agent exited 0, or an operator's evacuate said so),
	 * which restarts its VMs at once. */
	{ "ALTER TABLE hosts ADD COLUMN self_fence_s INTEGER NOT NULL"
	  " DEFAULT -1;"
	  "ALTER TABLE hosts ADD COLUMN ha_off INTEGER NOT NULL DEFAULT 0;" },
	/* 21: steady hosts (controller/steady.h): the digests (64-bit
	 * FNV-1a, stored as the signed integer of their bits) of the
	 * heartbeat after whose full pass the host was quiet and of its
	 * usage figures, the generation then, and when (ms; 0: no steady
	 * state, the next heartbeat is worked through in full). */
	{ "ALTER TABLE hosts ADD COLUMN steady_report INTEGER NOT NULL"
	  " DEFAULT 0;"
	  "ALTER TABLE hosts ADD COLUMN steady_usage INTEGER NOT NULL"
	  " DEFAULT 0;"
	  "ALTER TABLE hosts ADD COLUMN steady_gen INTEGER NOT NULL"
	  " DEFAULT 0;"
	  "ALTER TABLE hosts ADD COLUMN steady_ms INTEGER NOT NULL"
	  " DEFAULT 0;" },
};

const size_t store_nmigrations = FC_ARRAY_LEN(store_migrations);

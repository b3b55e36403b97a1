/*
 * commands.c - finctl's command table: one row per command, grouped by
 * noun. Adding a command means adding a row here (and a handler unless a
 * generic one fits) and its line in docs/finctl.md;
 * tests/integration/finctl_docs.sh checks that this table, finctl's
 * --help and docs/finctl.md name the same commands and options.
 *
 * A row: noun, verb, handler, positional arguments, options (with the
 * type of each value, struct finctl_optspec: finctl checks them all
 * before the handler runs), usage (names every option), help; then, for
 * the generic handlers, the resource's path, the method (show) and the
 * columns (list).
 */
#include "finctl/finctl.h"

#define COLS(c) .cols = (c), .ncols = FC_ARRAY_LEN(c)

/* The states a filter takes (VmState, TaskState of schemas/openapi.yaml). */
#define VM_STATES "pending|running|stopped|paused|crashed|unknown|failed|deleting"
#define TASK_STATES "pending|running|done|failed"

static const struct finctl_col pool_cols[] = {
	{"NAME", "name"}, {"POLICY", "policy"}, {"CPU_RATIO", "cpu_ratio"},
	{"MEM_RATIO", "mem_ratio"}, {"DISK_RATIO", "disk_ratio"},
	{"COMPLIANCE", "compliance_classes"},
};

static const struct finctl_col host_cols[] = {
	{"NAME", "name"}, {"POOL", "pool"}, {"STATE", "state"},
	{"MAINT", "maintenance"}, {"VCPUS", "vcpus"}, {"MEM_MIB", "mem_mib"},
	{"DISK_GIB", "disk_gib"}, {"VMS", "vm_count"},
	{"ALLOC_VCPUS", "allocated.vcpus"}, {"ALLOC_MEM", "allocated.mem_mib"},
	{"REGISTRATION", "registration"},
};

static const struct finctl_col tenant_cols[] = {
	{"NAME", "name"}, {"ISOLATION", "isolation"},
	{"COMPLIANCE", "compliance_class"}, {"POOLS", "pools"},
	{"VMS", "usage.vms"}, {"QUOTA_VMS", "quota.vms"},
	{"VCPUS", "usage.vcpus"}, {"QUOTA_VCPUS", "quota.vcpus"},
	{"MEM_MIB", "usage.mem_mib"}, {"QUOTA_MEM", "quota.mem_mib"},
};

static const struct finctl_col group_cols[] = {
	{"NAME", "name"}, {"TENANT", "tenant"}, {"POLICY", "policy"},
	{"TARGET", "availability"}, {"ACHIEVED", "achieved_availability"},
	{"MEMBERS", "members"}, {"HOSTS", "hosts"},
};

static const struct finctl_col flavor_cols[] = {
	{"NAME", "name"}, {"VCPUS", "vcpus"}, {"MEM_MIB", "mem_mib"},
	{"DISK_GIB", "disk_gib"},
};

static const struct finctl_col storage_cols[] = {
	{"NAME", "name"}, {"TYPE", "type"}, {"CEPH_POOL", "ceph_pool"},
	{"CLIENT", "client"}, {"REPLICAS", "replicas"},
	{"AVAILABILITY", "availability"}, {"VMS", "vms"},
};

static const struct finctl_col image_cols[] = {
	{"ID", "id"}, {"NAME", "name"}, {"TENANT", "tenant"},
	{"VISIBILITY", "visibility"}, {"FORMAT", "format"},
	{"OS", "os_type"}, {"SIZE", "size_bytes"},
	{"VIRTUAL_SIZE", "virtual_size_bytes"}, {"SHA256", "sha256"},
};

static const struct finctl_col vm_cols[] = {
	{"ID", "id"}, {"NAME", "name"}, {"TENANT", "tenant"},
	{"FLAVOR", "flavor"}, {"HOST", "host"}, {"STATE", "state"},
	{"DESIRED", "desired_state"}, {"GROUP", "group"},
};

static const struct finctl_col network_cols[] = {
	{"NAME", "name"}, {"TENANT", "tenant"}, {"KIND", "kind"},
	{"CIDR", "cidr"}, {"GATEWAY", "gateway"}, {"VNI", "vni"},
	{"MTU", "mtu"}, {"DHCP", "dhcp"}, {"PORTS", "ports"},
};

static const struct finctl_col port_cols[] = {
	{"ID", "id"}, {"VM", "vm_name"}, {"TENANT", "tenant"},
	{"NETWORK", "network"}, {"NIC", "nic"}, {"MAC", "mac"},
	{"ADDRESS", "address"}, {"HOST", "host"}, {"SECGROUPS", "secgroups"},
};

static const struct finctl_col secgroup_cols[] = {
	{"NAME", "name"}, {"TENANT", "tenant"}, {"PORTS", "ports"},
	{"DESCRIPTION", "description"},
};

static const struct finctl_col task_cols[] = {
	{"ID", "id"}, {"TYPE", "type"}, {"STATE", "state"}, {"VM", "vm_id"},
	{"SOURCE", "source_host"}, {"TARGET", "target_host"}, {"ERROR", "error"},
};

static const struct finctl_col audit_cols[] = {
	{"SEQ", "seq"}, {"TIME", "time_ms"}, {"ACTOR", "actor"},
	{"ACTION", "action"}, {"TARGET", "target"}, {"RESULT", "result"},
};

static const struct finctl_col token_cols[] = {
	{"ID", "id"}, {"ROLE", "role"}, {"TENANT", "tenant"}, {"NODE", "node"},
	{"DESCRIPTION", "description"}, {"EXPIRES", "expires_ms"},
	{"LAST USED", "last_used_ms"}, {"USES LEFT", "uses_left"},
};

const struct finctl_cmd finctl_commands[] = {
	{"pool", "list", finctl_cmd_list, 0, "limit=count", "[--limit N]",
	 "list pools", .path = "/v1/pools", COLS(pool_cols)},
	{"pool", "show", finctl_cmd_show, 1, "", "NAME",
	 "show one pool", .path = "/v1/pools/%s"},
	{"pool", "create", finctl_pool_create, 1,
	 "cpu-ratio=num,mem-ratio=num,disk-ratio=num,policy=pack|spread,"
	 "compliance=,migration-postcopy=yes|no,ha-reserve=none|n+1",
	 "NAME [--cpu-ratio R] [--mem-ratio R] [--disk-ratio R] "
	 "[--policy pack|spread] [--compliance C1,C2] "
	 "[--migration-postcopy yes|no] [--ha-reserve none|n+1]",
	 "create a pool (overcommit ratios, placement policy; --ha-reserve "
	 "n+1: refuse an HA VM once some host's HA VMs would not fit on the "
	 "others)"},
	{"pool", "update", finctl_pool_update, 1,
	 "cpu-ratio=num,mem-ratio=num,disk-ratio=num,policy=pack|spread,"
	 "compliance=,migration-postcopy=yes|no,ha-reserve=none|n+1",
	 "NAME [--cpu-ratio R] [--mem-ratio R] [--disk-ratio R] "
	 "[--policy pack|spread] [--compliance C1,C2] "
	 "[--migration-postcopy yes|no] [--ha-reserve none|n+1]",
	 "change a pool"},
	{"pool", "delete", finctl_cmd_delete, 1, "", "NAME",
	 "delete an empty pool", .path = "/v1/pools/%s"},

	{"host", "list", finctl_cmd_list, 0, "pool=,state=up|down|maintenance,limit=count",
	 "[--pool P] [--state up|down|maintenance] [--limit N]",
	 "list hosts", .path = "/v1/hosts", COLS(host_cols)},
	{"host", "show", finctl_cmd_show, 1, "", "NAME",
	 "show one host", .path = "/v1/hosts/%s"},
	{"host", "maintenance", finctl_host_maintenance, 2, "", "NAME on|off",
	 "take a host out of placement (on) or back in (off)"},
	{"host", "set", finctl_host_set, 1,
	 "cost=num,availability=fraction,storage-address=,fence-command=,"
	 "fence-address=",
	 "NAME [--cost C] [--availability A] [--storage-address IP] "
	 "[--fence-command AGENT] [--fence-address ADDR]",
	 "set a host's cost / availability, and how it is fenced when it "
	 "dies: the address its Ceph client uses (blocklisted), its fence "
	 "agent (a file in the controller's fence_agents_dir, run as AGENT "
	 "HOST ADDR) and that agent's address; \"\" clears"},
	{"host", "evacuate", finctl_cmd_show, 1, "", "NAME",
	 "declare a dead host failed: it is fenced, then its HA VMs restart "
	 "elsewhere (or are marked lost); refused while it heartbeats",
	 .path = "/v1/hosts/%s/evacuate", .method = "POST"},
	{"host", "unfence", finctl_cmd_show, 1, "", "NAME",
	 "lift a fenced host's fence (ceph osd blocklist rm); refused while "
	 "it may hold a VM restarted elsewhere",
	 .path = "/v1/hosts/%s/unfence", .method = "POST"},
	{"host", "drain", finctl_host_drain, 1,
	 "concurrency=count,no-wait,timeout=secs",
	 "NAME [--concurrency K] [--no-wait] [--timeout S]",
	 "maintenance, then live-migrate every VM off the host (waits, "
	 "showing each move)"},
	{"host", "resume", finctl_cmd_show, 1, "", "NAME",
	 "take a host out of maintenance (after a drain)",
	 .path = "/v1/hosts/%s/resume", .method = "POST"},
	{"host", "approve", finctl_cmd_show, 1, "", "NAME",
	 "let a known node register again (a new credential), and trust "
	 "the inventory it reports when that jumped",
	 .path = "/v1/hosts/%s/approve", .method = "POST"},
	{"host", "reject", finctl_cmd_show, 1, "", "NAME",
	 "refuse a known node's pending re-registration",
	 .path = "/v1/hosts/%s/reject", .method = "POST"},

	{"rebalance", "plan", finctl_rebalance_plan, 0,
	 "pool!=,policy=spread|pack,max-moves=int,min-gain=num",
	 "--pool P [--policy spread|pack] [--max-moves N] [--min-gain G]",
	 "the moves a rebalance would make, with eta before and predicted "
	 "after (changes nothing)"},
	{"rebalance", "run", finctl_rebalance_run, 0,
	 "pool!=,policy=spread|pack,max-moves=int,min-gain=num,"
	 "concurrency=count,no-wait,timeout=secs",
	 "--pool P [--policy spread|pack] [--max-moves N] [--min-gain G] "
	 "[--concurrency K] [--no-wait] [--timeout S]",
	 "execute a rebalance as live migrations (waits, showing each move; "
	 "exit 5 when it failed)"},

	{"tenant", "list", finctl_cmd_list, 0, "limit=count", "[--limit N]",
	 "list tenants", .path = "/v1/tenants", COLS(tenant_cols)},
	{"tenant", "show", finctl_cmd_show, 1, "", "NAME",
	 "show a tenant with its quota and usage", .path = "/v1/tenants/%s"},
	{"tenant", "create", finctl_tenant_create, 1,
	 "isolation=shared|dedicated,compliance-class=,pools=,quota-vcpus=int,"
	 "quota-mem-mib=int,quota-disk-gib=int,quota-vms=int,"
	 "wipe-on-delete=yes|no",
	 "NAME [--isolation shared|dedicated] [--compliance-class C] "
	 "[--pools P1,P2] [--quota-vcpus N] [--quota-mem-mib N] "
	 "[--quota-disk-gib N] [--quota-vms N] [--wipe-on-delete yes|no]",
	 "create a tenant"},
	{"tenant", "update", finctl_tenant_update, 1,
	 "compliance-class=,pools=,quota-vcpus=quota,quota-mem-mib=quota,"
	 "quota-disk-gib=quota,quota-vms=quota,wipe-on-delete=yes|no",
	 "NAME [--compliance-class C] [--pools P1,P2] [--quota-vcpus N|none] "
	 "[--quota-mem-mib N|none] [--quota-disk-gib N|none] "
	 "[--quota-vms N|none] [--wipe-on-delete yes|no]",
	 "change a tenant"},
	{"tenant", "set-quota", finctl_tenant_update, 1,
	 "vcpus=quota,mem-mib=quota,disk-gib=quota,vms=quota",
	 "NAME [--vcpus N|none] [--mem-mib N|none] [--disk-gib N|none] "
	 "[--vms N|none]",
	 "set a tenant's quotas"},
	{"tenant", "delete", finctl_cmd_delete, 1, "", "NAME",
	 "delete a tenant without VMs or groups", .path = "/v1/tenants/%s"},

	{"group", "list", finctl_cmd_list, 0, "tenant=,limit=count",
	 "[--tenant T] [--limit N]",
	 "list groups", .path = "/v1/groups", COLS(group_cols)},
	{"group", "show", finctl_cmd_show, 1, "", "NAME",
	 "show one group", .path = "/v1/groups/%s"},
	{"group", "create", finctl_group_create, 1,
	 "tenant=,policy=anti-affinity|affinity,availability=fraction",
	 "NAME --tenant T [--policy anti-affinity|affinity] [--availability A]",
	 "create a service group"},
	{"group", "delete", finctl_cmd_delete, 1, "", "NAME",
	 "delete an empty group", .path = "/v1/groups/%s"},

	{"flavor", "list", finctl_cmd_list, 0, "limit=count", "[--limit N]",
	 "list flavors", .path = "/v1/flavors", COLS(flavor_cols)},
	{"flavor", "show", finctl_cmd_show, 1, "", "NAME",
	 "show one flavor", .path = "/v1/flavors/%s"},
	{"flavor", "create", finctl_flavor_create, 1,
	 "vcpus!=count,mem-mib!=count,disk-gib!=count,requires-image=yes|no,"
	 "storage=",
	 "NAME --vcpus N --mem-mib N --disk-gib N [--requires-image yes|no] "
	 "[--storage S]",
	 "create a flavor (with --requires-image yes its VMs must name an "
	 "image; --storage: the storage pool of its VMs' disks, default "
	 "local)"},
	{"flavor", "delete", finctl_cmd_delete, 1, "", "NAME",
	 "delete a flavor", .path = "/v1/flavors/%s"},

	{"storage", "list", finctl_cmd_list, 0, "limit=count", "[--limit N]",
	 "list storage pools (where VMs' disks live)", .path = "/v1/storage",
	 COLS(storage_cols)},
	{"storage", "show", finctl_cmd_show, 1, "", "NAME",
	 "show one storage pool and its availability",
	 .path = "/v1/storage/%s"},
	{"storage", "create", finctl_storage_create, 1,
	 "type!=,ceph-pool!=,monitors!=,client!=,replicas=count,"
	 "replica-hosts=,replica-availability=fraction",
	 "NAME --type ceph --ceph-pool P --monitors H[:PORT],... --client USER "
	 "[--replicas N] [--replica-hosts H1,H2] [--replica-availability A]",
	 "add a Ceph RBD pool as a storage pool (--client: the nodes' cephx "
	 "user, '{node}' for each node's own; its key stays on the nodes; "
	 "--replica-hosts or --replicas and --replica-availability give its "
	 "availability)"},
	{"storage", "delete", finctl_cmd_delete, 1, "", "NAME",
	 "delete a storage pool no VM or flavor uses",
	 .path = "/v1/storage/%s"},

	{"image", "list", finctl_cmd_list, 0, "tenant=,limit=count",
	 "[--tenant T] [--limit N]",
	 "list images (public, and a tenant's with --tenant)",
	 .path = "/v1/images", COLS(image_cols)},
	{"image", "show", finctl_cmd_show, 1, "", "IMAGE",
	 "show one image (IMAGE: its id or name)", .path = "/v1/images/%s"},
	{"image", "create", finctl_image_create, 0,
	 "name!=,file!=,os-type=,min-mem-mib=int,visibility=public|tenant,"
	 "tenant=",
	 "--name N --file F [--os-type OS] [--min-mem-mib N] "
	 "[--visibility public|tenant] [--tenant T]",
	 "upload a qcow2 or raw image (streamed, with progress on a "
	 "terminal); the controller checks it and records its SHA-256"},
	{"image", "delete", finctl_cmd_delete, 1, "", "IMAGE",
	 "delete an image no VM uses", .path = "/v1/images/%s"},

	{"vm", "list", finctl_cmd_list, 0,
	 "tenant=,host=,state=" VM_STATES ",pool=,group=,flavor=,limit=count",
	 "[--tenant T] [--host H] [--state S] [--pool P] [--group G] "
	 "[--flavor F] [--limit N]",
	 "list VMs (all pages unless --limit)", .path = "/v1/vms",
	 COLS(vm_cols)},
	{"vm", "show", finctl_vm_show, 1, "tenant=", "VM [--tenant T]",
	 "show one VM (VM: an id, a unique id prefix or a name)"},
	{"vm", "create", finctl_vm_create, 0,
	 "tenant=,flavor!=,image=,ssh-key=,user-data=,group=,name=,pool=,"
	 "storage=,network=,secgroup=,postcopy=yes|no,ha=restart|none,"
	 "ha-priority=int,request-id=,wait,timeout=secs",
	 "--tenant T --flavor F [--image IMAGE] [--ssh-key FILE]... "
	 "[--user-data FILE] [--group G] [--name N] [--pool P] [--storage S] "
	 "[--network NET[,ip=A]]... [--secgroup G]... [--postcopy yes|no] "
	 "[--ha restart|none] [--ha-priority N] "
	 "[--request-id KEY] [--wait [--timeout S]]",
	 "create a VM (from an image, with SSH keys and user-data for its "
	 "first boot; --storage: where its disk lives, default its flavor's "
	 "or local; --postcopy: whether its live migrations may switch to "
	 "post-copy, unset: its pool's setting; --ha restart: restarted on "
	 "another host when its host dies, higher --ha-priority first); "
	 "with --wait show progress "
	 "until it runs or fails; a retry with the same --request-id "
	 "creates nothing more; one port per --network (its address given "
	 "or allocated), in the --secgroup groups (default: the tenant's "
	 "default group)"},
	{"vm", "start", finctl_vm_start, 1, "tenant=,wait,timeout=secs",
	 "VM [--tenant T] [--wait [--timeout S]]",
	 "start a VM"},
	{"vm", "stop", finctl_vm_stop, 1, "tenant=,wait,timeout=secs",
	 "VM [--tenant T] [--wait [--timeout S]]",
	 "stop a VM (ACPI shutdown)"},
	{"vm", "reboot", finctl_vm_reboot, 1, "tenant=,wait,timeout=secs",
	 "VM [--tenant T] [--wait [--timeout S]]",
	 "reboot a running VM"},
	{"vm", "update", finctl_vm_update, 1,
	 "tenant=,postcopy=yes|no|pool,ha=restart|none,ha-priority=int",
	 "VM [--tenant T] [--postcopy yes|no|pool] [--ha restart|none] "
	 "[--ha-priority N]",
	 "change a VM's settings: --postcopy, whether its live migrations "
	 "may switch to post-copy (pool: as its pool says); --ha and "
	 "--ha-priority, its HA policy"},
	{"vm", "delete", finctl_vm_delete, 1, "tenant=,wait,timeout=secs",
	 "VM [--tenant T] [--wait [--timeout S]]",
	 "delete a VM and its disks"},
	{"vm", "migrate", finctl_vm_migrate, 1,
	 "tenant=,to=,max-seconds=int,postcopy=yes|no,wait,timeout=secs",
	 "VM [--tenant T] [--to HOST] [--max-seconds S] [--postcopy yes|no] "
	 "[--wait [--timeout S]]",
	 "live-migrate a VM (to HOST, or where the scheduler says)"},
	{"vm", "console", finctl_vm_console, 1,
	 "tenant=,force,detach-key=,linger=secs",
	 "VM [--tenant T] [--force] [--detach-key KEY] [--linger S]",
	 "attach to a running VM's serial console (detach with Ctrl-] or "
	 "--detach-key; --force takes it from another session; at the end "
	 "of stdin that is not a terminal, the guest's output is read for "
	 "--linger S more seconds, default 3)"},
	{"vm", "console-log", finctl_vm_console_log, 1,
	 "tenant=,tail=count,follow",
	 "VM [--tenant T] [--tail N] [--follow]",
	 "a VM's serial output so far (the last 1 MiB at most; --tail N: "
	 "its last N lines), and with --follow what follows"},

	{"network", "list", finctl_cmd_list, 0, "tenant=,limit=count",
	 "[--tenant T] [--limit N]",
	 "list tenant networks", .path = "/v1/networks", COLS(network_cols)},
	{"network", "show", finctl_cmd_show, 1, "", "NAME",
	 "show one network", .path = "/v1/networks/%s"},
	{"network", "create", finctl_network_create, 1,
	 "tenant=,cidr!=,gateway=,vni=count,provider=flat|vlan,interface=,"
	 "vlan-id=count,pool=,shared-with=,dhcp",
	 "NAME --cidr A.B.C.D/P (--tenant T [--vni N] | --provider flat|vlan "
	 "--interface IFACE [--vlan-id N] --pool POOL --shared-with T1,T2) "
	 "[--gateway IP] [--dhcp]",
	 "create a tenant network (a VXLAN overlay; VNI from the configured "
	 "range unless --vni) or, operators only, a provider network bridged "
	 "onto IFACE (flat) or IFACE.N (vlan) of every node of POOL, shared "
	 "with the tenants listed; --dhcp: the nodes serve the ports' "
	 "addresses by DHCP"},
	{"network", "update", finctl_network_update, 1, "shared-with!=",
	 "NAME --shared-with T1,T2",
	 "operators: the tenants a provider network is shared with (the "
	 "list replaces the last one; a tenant with ports on it stays)"},
	{"network", "delete", finctl_cmd_delete, 1, "", "NAME",
	 "delete a network no port uses", .path = "/v1/networks/%s"},

	{"port", "list", finctl_cmd_list, 0,
	 "tenant=,network=,vm=,limit=count",
	 "[--tenant T] [--network NET] [--vm VM_ID] [--limit N]",
	 "list ports (VM NICs: MAC, address, groups)", .path = "/v1/ports",
	 COLS(port_cols)},

	{"secgroup", "list", finctl_cmd_list, 0, "tenant=,limit=count",
	 "[--tenant T] [--limit N]",
	 "list security groups", .path = "/v1/secgroups",
	 COLS(secgroup_cols)},
	{"secgroup", "show", finctl_secgroup_show, 1, "tenant=",
	 "NAME [--tenant T]", "show a security group with its rules"},
	{"secgroup", "create", finctl_secgroup_create, 1,
	 "tenant=,description=", "NAME --tenant T [--description D]",
	 "create a security group (no rule: it lets nothing in)"},
	{"secgroup", "delete", finctl_secgroup_delete, 1, "tenant=",
	 "NAME [--tenant T]",
	 "delete a security group no port or rule uses"},
	{"secgroup", "rule-add", finctl_secgroup_rule_add, 1,
	 "tenant=,protocol!=tcp|udp|icmp|any,port-min=int,port-max=int,"
	 "source-cidr=,source-group=",
	 "NAME [--tenant T] --protocol tcp|udp|icmp|any [--port-min P] "
	 "[--port-max P] --source-cidr A.B.C.D/P|--source-group G",
	 "allow ingress to the group's ports from a CIDR or another group"},
	{"secgroup", "rule-delete", finctl_secgroup_rule_delete, 2, "tenant=",
	 "NAME RULE_ID [--tenant T]", "delete a rule of a security group"},

	{"task", "list", finctl_cmd_list, 0, "vm=,tenant=,state=" TASK_STATES
	 ",limit=count", "[--vm VM [--tenant T]] [--state S] [--limit N]",
	 "list tasks", .path = "/v1/tasks", COLS(task_cols)},
	{"task", "show", finctl_task_show, 1, "wait,timeout=secs",
	 "ID [--wait [--timeout S]]",
	 "show a task, or wait until it is done", .path = "/v1/tasks/%s"},

	{"util", "show", finctl_util_show, 1, "", "POOL",
	 "eta = V_used / V_total of a pool, now and as a time series"},

	{"audit", "list", finctl_cmd_list, 0, "after=int,limit=count",
	 "[--after SEQ] [--limit N]",
	 "list audit entries", .path = "/v1/audit", COLS(audit_cols)},
	{"audit", "verify", finctl_audit_verify, 0, "anchor=",
	 "[--anchor FILE|SEQ:HASH]",
	 "check the audit hash chain, and that it still holds an anchor "
	 "(exit 1 when tampered)"},

	{"token", "list", finctl_cmd_list, 0, "limit=count", "[--limit N]",
	 "list tokens (no secrets)", .path = "/v1/tokens", COLS(token_cols)},
	{"token", "show", finctl_cmd_show, 1, "", "ID",
	 "show one token (no secret; a join token's uses left)",
	 .path = "/v1/tokens/%s"},
	{"token", "create", finctl_token_create, 0,
	 "role!=admin|operator|tenant|viewer|join,tenant=,description=,"
	 "ttl=count,uses=count",
	 "--role admin|operator|tenant|viewer|join [--tenant T] "
	 "[--description D] [--ttl S] [--uses N]",
	 "create a token; prints the secret once (a join token registers "
	 "--uses nodes, default 1, within --ttl)"},
	{"token", "delete", finctl_cmd_delete, 1, "", "ID",
	 "revoke a token", .path = "/v1/tokens/%s"},
	{"token", "rotate", finctl_token_rotate, 1, "ttl=count", "ID [--ttl S]",
	 "a new secret for the token (printed once); the old one stops "
	 "working at once"},
};

const size_t finctl_ncommands = FC_ARRAY_LEN(finctl_commands);

/* Unit tests of the agent's tenant networks: the desired state's ports
 * and networks parsed and checked (agents/agent_net.c), a port's NIC in
 * the domain XML (validated against libvirt's domain.rng) and its
 * network filter (against nwfilter.rng: clean-traffic with the port's
 * rules, everything else dropped) (agents/agent_netxml.c), and the
 * bridge/VXLAN plan (agents/agent_netlink.c). */
#include <stdlib.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>

#include "tests/unit/fc_test.h"

#include "agents/agent_dhcp.h"
#include "agents/agent_domxml.h"
#include "agents/agent_net.h"
#include "agents/agent_netlink.h"
#include "agents/agent_netxml.h"
#include "agents/agent_virt.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/json.h"

#define NWFILTER_RNG "/usr/share/libvirt/schemas/nwfilter.rng"

static const char PORTS[] =
	"[{\"port_id\":\"0c6f8e9a-1111-4222-8333-444455556666\","
	"\"mac\":\"02:fc:1a:2b:3c:4d\",\"address\":\"10.10.0.2/24\","
	"\"gateway\":\"10.10.0.1\",\"mtu\":1450,\"network\":\"paynet\","
	"\"vni\":1000,\"secgroups\":[\"web\"],\"rules\":["
	"{\"protocol\":\"tcp\",\"port_min\":8443,\"port_max\":8443,"
	"\"source\":\"10.10.0.3/32\"},"
	"{\"protocol\":\"icmp\",\"port_min\":0,\"port_max\":65535,"
	"\"source\":\"0.0.0.0/0\"}]}]";

static int parse_ports(const char *text, struct agent_net_port **p,
		       size_t *n)
{
	cJSON *j = cJSON_Parse(text);
	int rc;

	assert_non_null(j);
	rc = agent_net_ports_parse(j, "$.vms[0].ports", p, n);
	cJSON_Delete(j);
	return rc;
}

static void test_ports_parse(void **state)
{
	struct agent_net_port *p;
	size_t n;
	(void)state;

	assert_int_equal(parse_ports(PORTS, &p, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(p[0].mac, "02:fc:1a:2b:3c:4d");
	assert_int_equal(p[0].ip, 0x0a0a0002u);
	assert_int_equal(p[0].prefix, 24);
	assert_int_equal(p[0].gateway, 0x0a0a0001u);
	assert_int_equal(p[0].vni, 1000);
	assert_int_equal(p[0].nrules, 2);
	assert_int_equal(p[0].rules[0].proto, AGENT_NET_TCP);
	assert_int_equal(p[0].rules[0].src, 0x0a0a0003u);
	assert_int_equal(p[0].rules[1].prefix, 0);
	agent_net_ports_free(p, n);
}

/* PORTS with the text from replaced by to: refused, naming want. */
static void refused(const char *from, const char *to, const char *want)
{
	char text[sizeof(PORTS) + 128];
	const char *at = strstr(PORTS, from);
	struct agent_net_port *p;
	size_t n;

	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - PORTS), PORTS, to,
		 at + strlen(from));
	assert_int_equal(parse_ports(text, &p, &n), -1);
	assert_null(p);
	if (strstr(err_msg(), want) == NULL)
		fail_msg("'%s' -> '%s': '%s' lacks '%s'", from, to, err_msg(),
			 want);
}

static void test_ports_refused(void **state)
{
	(void)state;
	refused("02:fc:1a", "52:54:00", "mac");
	refused("02:fc:1a:2b:3c:4d", "02:fc:1a:2b:3c:4D", "mac");
	refused("10.10.0.2/24", "10.10.0.2", "address");
	refused("10.10.0.2/24", "10.10.0.2/33", "address");
	refused("10.10.0.2/24", "10.10.0.2/24' x", "address");
	refused("\"10.10.0.1\"", "\"10.10.0.1/24\"", "gateway");
	refused("1450", "70000", "mtu");
	refused("\"paynet\"", "\"pay net\"", "network");
	refused("1000", "17777216", "vni");
	refused("\"tcp\"", "\"gre\"", "protocol");
	refused("\"port_min\":8443,\"port_max\":8443",
		"\"port_min\":8443,\"port_max\":80", "port_max");
	refused("\"10.10.0.3/32\"", "\"10.10.0.3\"", "source");
	refused("\"secgroups\"", "\"evil\":1,\"secgroups\"", "evil");
}

static void test_networks_parse(void **state)
{
	cJSON *j = cJSON_Parse("[{\"name\":\"paynet\",\"vni\":1000,\"mtu\":1450,"
			       "\"peers\":[{\"node\":\"n2\",\"address\":"
			       "\"10.250.30.3\"}]}]");
	struct agent_net_network *nets;
	size_t n;
	(void)state;

	assert_int_equal(agent_net_networks_parse(j, "$.networks", &nets, &n),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(nets[0].npeers, 1);
	assert_int_equal(nets[0].peers[0].addr, 0x0afa1e03u);
	agent_net_networks_free(nets, n);
	cJSON_Delete(j);
	j = cJSON_Parse("[{\"name\":\"paynet\",\"vni\":1000,\"mtu\":1450,"
			"\"peers\":[{\"node\":\"n2\",\"address\":\"n2.lan\"}]}]");
	assert_int_equal(agent_net_networks_parse(j, "$.networks", &nets, &n),
			 -1);
	assert_non_null(strstr(err_msg(), "$.networks[0][0].address"));
	cJSON_Delete(j);
}

/* Validate xml against the RelaxNG schema at rng: 0 when valid. */
static int rng_valid(const char *rng, const char *xml)
{
	xmlRelaxNGParserCtxtPtr pc = xmlRelaxNGNewParserCtxt(rng);
	xmlRelaxNGPtr schema = xmlRelaxNGParse(pc);
	xmlRelaxNGValidCtxtPtr vc = xmlRelaxNGNewValidCtxt(schema);
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "x.xml", NULL, 0);
	int rc = xmlRelaxNGValidateDoc(vc, doc);

	xmlFreeDoc(doc);
	xmlRelaxNGFreeValidCtxt(vc);
	xmlRelaxNGFree(schema);
	xmlRelaxNGFreeParserCtxt(pc);
	return rc;
}

static void test_filter_xml(void **state)
{
	struct agent_net_port *p;
	char *xml;
	size_t n;
	(void)state;

	assert_int_equal(parse_ports(PORTS, &p, &n), 0);
	assert_int_equal(agent_netxml_filter(&p[0], &xml), 0);
	assert_non_null(strstr(xml, "<filter name=\"fincloud-port-0c6f8e9a-"
				    "1111-4222-8333-444455556666\""));
	/* a stable UUID, so that libvirt takes a redefinition */
	assert_non_null(strstr(xml, "<uuid>0c6f8e9a-1111-4222-8333-"
				    "444455556666</uuid>"));
	assert_non_null(strstr(xml, "<filterref filter=\"clean-traffic\"/>"));
	assert_non_null(strstr(xml, "<tcp srcipaddr=\"10.10.0.3\" srcipmask="
				    "\"32\" dstportstart=\"8443\" dstportend="
				    "\"8443\"/>"));
	assert_non_null(strstr(xml, "<icmp srcipaddr=\"0.0.0.0\" srcipmask="
				    "\"0\"/>"));
	/* the last rule drops the rest of what comes in */
	assert_non_null(strstr(xml, "<rule action=\"drop\" direction=\"in\" "
				    "priority=\"900\">"));
	assert_true(strstr(xml, "action=\"drop\"") >
		    strstr(xml, "dstportstart"));
	if (access(NWFILTER_RNG, R_OK) == 0)
		assert_int_equal(rng_valid(NWFILTER_RNG, xml), 0);
	free(xml);
	/* no rule: nothing comes in */
	p[0].nrules = 0;
	assert_int_equal(agent_netxml_filter(&p[0], &xml), 0);
	assert_null(strstr(xml, "action=\"accept\" direction=\"in\""));
	free(xml);
	p[0].nrules = 2;
	agent_net_ports_free(p, n);
}

static void test_domain_nic(void **state)
{
	static const struct agent_domxml_params prm = {
		.virt_type = "qemu", .disk_path = "/d/x.qcow2",
		.console_log = NULL};
	struct agent_vm_spec s;
	char *xml;
	(void)state;

	memset(&s, 0, sizeof(s));
	snprintf(s.vm_id, sizeof(s.vm_id), "%s",
		 "0c6f8e9a-1111-4222-8333-444455556666");
	snprintf(s.name, sizeof(s.name), "%s", "pay.vm1");
	snprintf(s.tenant, sizeof(s.tenant), "%s", "pay");
	s.vcpus = 1;
	s.mem_mib = 96;
	s.disk_gib = 1;
	assert_int_equal(parse_ports(PORTS, &s.ports, &s.nports), 0);
	assert_int_equal(agent_domxml_build(&s, &prm, &xml), 0);
	assert_non_null(strstr(xml, "<interface type=\"bridge\">"));
	assert_non_null(strstr(xml, "<mac address=\"02:fc:1a:2b:3c:4d\"/>"));
	assert_non_null(strstr(xml, "<source bridge=\"fcbr1000\"/>"));
	assert_non_null(strstr(xml, "<mtu size=\"1450\"/>"));
	assert_non_null(strstr(xml, "<parameter name=\"IP\" value=\"10.10.0.2\""
				    "/>"));
	if (access(AGENT_DOMAIN_RNG, R_OK) == 0)
		assert_int_equal(agent_domxml_validate(xml), 0);
	free(xml);
	agent_net_ports_free(s.ports, s.nports);
	agent_domxml_cleanup();
}

static void test_plan(void **state)
{
	struct agent_net_peer peers[2] = {{"n2", 0x0afa1e02u},
					  {"n3", 0x0afa1e03u}};
	struct agent_net_network nw = {.name = "paynet", .vni = 1000,
				       .mtu = 1450, .peers = peers,
				       .npeers = 2};
	uint32_t fdb[2] = {0x0afa1e03u, 0x0afa1e09u};
	struct agent_netlink_obs obs[4] = {
		{.name = "fcbr1000", .ours = true, .vni = 1000, .mtu = 1450},
		{.name = "fcvx1000", .vxlan = true, .ours = true, .vni = 1000,
		 .mtu = 1450, .master = "fcbr1000", .fdb = fdb, .nfdb = 2},
		{.name = "fcvx7", .vxlan = true, .ours = true, .vni = 7},
		{.name = "fcbr7", .ours = true, .vni = 7},
	};
	char *plan, *refused;
	(void)state;

	/* nothing there: both links, the peers, the local address */
	assert_int_equal(agent_netlink_plan(&nw, 1, 0x0afa1e01u, NULL, 0,
					    &plan, &refused), 0);
	assert_string_equal(plan,
		"ip link add fcbr1000 type bridge\n"
		"ip link set dev fcbr1000 alias fincloud:net:1000\n"
		"ip link add fcvx1000 type vxlan id 1000 local 10.250.30.1 "
		"dstport 4789 nolearning\n"
		"ip link set dev fcvx1000 alias fincloud:net:1000\n"
		"ip link set dev fcvx1000 mtu 1450\n"
		"ip link set dev fcbr1000 mtu 1450\n"
		"ip link set dev fcvx1000 master fcbr1000\n"
		"ip link set dev fcbr1000 up\n"
		"ip link set dev fcvx1000 up\n"
		"bridge fdb append 00:00:00:00:00:00 dev fcvx1000 dst "
		"10.250.30.2\n"
		"bridge fdb append 00:00:00:00:00:00 dev fcvx1000 dst "
		"10.250.30.3\n");
	assert_string_equal(refused, "");
	free(plan);
	free(refused);
	/* there: a peer added, one gone, an unused network removed (its
	 * VXLAN device first) */
	assert_int_equal(agent_netlink_plan(&nw, 1, 0x0afa1e01u, obs, 4, &plan,
					    &refused), 0);
	assert_string_equal(plan,
		"bridge fdb append 00:00:00:00:00:00 dev fcvx1000 dst "
		"10.250.30.2\n"
		"bridge fdb del 00:00:00:00:00:00 dev fcvx1000 dst "
		"10.250.30.9\n"
		"ip link del dev fcvx7\n"
		"ip link del dev fcbr7\n");
	free(plan);
	free(refused);
	/* a link of our name that is not ours: never touched */
	obs[0].ours = false;
	obs[2].ours = obs[3].ours = false;
	assert_int_equal(agent_netlink_plan(&nw, 1, 0x0afa1e01u, obs, 4, &plan,
					    &refused), 0);
	assert_string_equal(plan, "");
	assert_non_null(strstr(refused, "fcbr1000 exists and is not "
					"fincloud's"));
	free(plan);
	free(refused);
}

/* A provider network's link plan: a flat one takes the node interface
 * (never one in another master, one with addresses, or one that is
 * missing), a VLAN one
 * creates IFACE.N and removes it with the network; the links reported
 * free for provider networks. */
static void test_netlink_provider(void **state)
{
	struct agent_net_network flat = {.name = "pub", .vni = 16777216,
					 .mtu = 1500, .type = AGENT_NET_FLAT,
					 .iface = "eth1"};
	struct agent_net_network vlan = {.name = "v", .vni = 16777217,
					 .mtu = 1500, .type = AGENT_NET_VLAN,
					 .iface = "eth1", .vlan_id = 120};
	struct agent_netlink_obs obs[6] = {
		{.name = "lo", .other = true},
		{.name = "eth0", .other = true},
		{.name = "eth1", .other = true, .kind = "veth"},
		{.name = "eth1.120", .vlan = true, .ours = true,
		 .vni = 16777217, .kind = "vlan", .master = "fcbr16777217"},
		{.name = "fcbr16777217", .ours = true, .vni = 16777217},
		{.name = "vnet3", .other = true, .kind = "tun",
		 .master = "fcbr16777217"},
	};
	char *plan, *refused, *text;
	cJSON *free_ifaces;
	(void)state;

	assert_int_equal(agent_netlink_plan(&flat, 1, 0x0afa1e01u, obs, 3,
					    &plan, &refused), 0);
	assert_string_equal(plan,
		"ip link add fcbr16777216 type bridge\n"
		"ip link set dev fcbr16777216 alias fincloud:net:16777216\n"
		"ip link set dev eth1 master fcbr16777216\n"
		"ip link set dev fcbr16777216 up\n");
	assert_string_equal(refused, "");
	free(plan);
	free(refused);
	assert_int_equal(agent_netlink_plan(&vlan, 1, 0x0afa1e01u, obs, 3,
					    &plan, &refused), 0);
	assert_string_equal(plan,
		"ip link add fcbr16777217 type bridge\n"
		"ip link set dev fcbr16777217 alias fincloud:net:16777217\n"
		"ip link add link eth1 name eth1.120 type vlan id 120\n"
		"ip link set dev eth1.120 alias fincloud:vlan:16777217\n"
		"ip link set dev eth1.120 master fcbr16777217\n"
		"ip link set dev fcbr16777217 up\n"
		"ip link set dev eth1.120 up\n");
	free(plan);
	free(refused);
	/* set up: nothing to do; not wanted: the VLAN link, then the bridge */
	assert_int_equal(agent_netlink_plan(&vlan, 1, 0x0afa1e01u, obs, 6,
					    &plan, &refused), 0);
	assert_string_equal(plan, "");
	free(plan);
	free(refused);
	assert_int_equal(agent_netlink_plan(NULL, 0, 0x0afa1e01u, obs, 6,
					    &plan, &refused), 0);
	assert_string_equal(plan, "ip link del dev eth1.120\n"
				  "ip link del dev fcbr16777217\n");
	free(plan);
	free(refused);
	/* missing, or in another master: refused, nothing done */
	str_copy(flat.iface, sizeof(flat.iface), "eth9");
	assert_int_equal(agent_netlink_plan(&flat, 1, 0x0afa1e01u, obs, 3,
					    &plan, &refused), 0);
	assert_string_equal(plan, "");
	assert_non_null(strstr(refused, "interface 'eth9' does not exist"));
	free(plan);
	free(refused);
	str_copy(flat.iface, sizeof(flat.iface), "eth1");
	str_copy(obs[2].master, sizeof(obs[2].master), "br-ops");
	assert_int_equal(agent_netlink_plan(&flat, 1, 0x0afa1e01u, obs, 3,
					    &plan, &refused), 0);
	assert_string_equal(plan, "");
	assert_non_null(strstr(refused, "'eth1' is in master 'br-ops'"));
	free(plan);
	free(refused);
	/* an interface with addresses: never a flat network's (it would
	 * cut the node's own traffic off), a VLAN's parent still */
	obs[2].master[0] = '\0';
	obs[2].addressed = true;
	assert_int_equal(agent_netlink_plan(&flat, 1, 0x0afa1e01u, obs, 3,
					    &plan, &refused), 0);
	assert_string_equal(plan, "");
	assert_non_null(strstr(refused, "'eth1' holds IP addresses"));
	free(plan);
	free(refused);
	assert_int_equal(agent_netlink_plan(&vlan, 1, 0x0afa1e01u, obs, 3,
					    &plan, &refused), 0);
	assert_string_equal(refused, "");
	assert_non_null(strstr(plan, "type vlan id 120"));
	free(plan);
	free(refused);
	obs[2].addressed = false;
	/* a VLAN link of that name that the agent did not make */
	obs[3].ours = false;
	obs[3].vlan = false;
	obs[3].other = true;
	obs[2].master[0] = '\0';
	assert_int_equal(agent_netlink_plan(&vlan, 1, 0x0afa1e01u, obs, 6,
					    &plan, &refused), 0);
	assert_non_null(strstr(refused, "eth1.120 exists and is not "
					"fincloud's"));
	free(plan);
	free(refused);
	/* free: eth0, eth1 (not lo, taps, the agent's links, links in
	 * other masters) */
	obs[3].ours = obs[3].vlan = true;
	obs[3].other = false;
	free_ifaces = agent_netlink_free_ifaces(obs, 6);
	text = cJSON_PrintUnformatted(free_ifaces);
	assert_string_equal(text, "[\"eth0\",\"eth1\"]");
	cJSON_free(text);
	cJSON_Delete(free_ifaces);
	str_copy(obs[1].master, sizeof(obs[1].master), "br-ops");
	free_ifaces = agent_netlink_free_ifaces(obs, 6);
	text = cJSON_PrintUnformatted(free_ifaces);
	assert_string_equal(text, "[\"eth1\"]");
	cJSON_free(text);
	cJSON_Delete(free_ifaces);
}

static void test_provider_parse(void **state)
{
	cJSON *j = cJSON_Parse("[{\"name\":\"pub\",\"vni\":16777216,"
			       "\"mtu\":1500,\"peers\":[],\"provider\":{"
			       "\"type\":\"vlan\",\"interface\":\"eth1\","
			       "\"vlan_id\":120},\"dhcp\":{\"address\":"
			       "\"10.250.120.2/24\",\"gateway\":null}}]");
	struct agent_net_network *nets;
	size_t n;
	(void)state;

	assert_int_equal(agent_net_networks_parse(j, "$.networks", &nets, &n),
			 0);
	assert_int_equal(nets[0].type, AGENT_NET_VLAN);
	assert_string_equal(nets[0].iface, "eth1");
	assert_int_equal(nets[0].vlan_id, 120);
	assert_int_equal(nets[0].dhcp_ip, 0x0afa7802u);
	assert_int_equal(nets[0].dhcp_prefix, 24);
	agent_net_networks_free(nets, n);
	cJSON_Delete(j);
	/* a provider interface of fincloud's names, a VXLAN id as a key */
	j = cJSON_Parse("[{\"name\":\"pub\",\"vni\":16777216,\"mtu\":1500,"
			"\"peers\":[],\"provider\":{\"type\":\"flat\","
			"\"interface\":\"fcbr7\",\"vlan_id\":0}}]");
	assert_int_equal(agent_net_networks_parse(j, "$.networks", &nets, &n),
			 -1);
	assert_non_null(strstr(err_msg(), "provider"));
	cJSON_Delete(j);
	j = cJSON_Parse("[{\"name\":\"pub\",\"vni\":7,\"mtu\":1500,"
			"\"peers\":[],\"provider\":{\"type\":\"flat\","
			"\"interface\":\"eth1\",\"vlan_id\":0}}]");
	assert_int_equal(agent_net_networks_parse(j, "$.networks", &nets, &n),
			 -1);
	cJSON_Delete(j);
}

/* A DHCP network's "hosts" (every port of it, on whichever node) reach
 * the hosts file of each node's server, which answers them all; a node
 * without a port of it runs none. */
static void test_dhcp_all_ports(void **state)
{
	cJSON *j = cJSON_Parse("[{\"name\":\"paynet\",\"vni\":1000,"
			       "\"mtu\":1450,\"peers\":[],\"dhcp\":{"
			       "\"address\":\"10.10.0.1/24\",\"gateway\":"
			       "null,\"hosts\":[{\"mac\":\"02:fc:1a:2b:3c:4d\","
			       "\"address\":\"10.10.0.2\"},{\"mac\":"
			       "\"02:fc:00:00:00:09\",\"address\":"
			       "\"10.10.0.9\"}]}}]");
	struct agent_net_network *nets;
	struct agent_vm_spec spec;
	struct agent_net_port *p;
	struct buf b;
	size_t n, np;
	(void)state;

	assert_int_equal(agent_net_networks_parse(j, "$.networks", &nets, &n),
			 0);
	cJSON_Delete(j);
	assert_int_equal(nets[0].nhosts, 2);
	assert_string_equal(nets[0].hosts[1].mac, "02:fc:00:00:00:09");
	assert_int_equal(nets[0].hosts[1].ip, 0x0a0a0009u);
	assert_int_equal(parse_ports(PORTS, &p, &np), 0);
	memset(&spec, 0, sizeof(spec));
	spec.ports = p;
	spec.nports = np;
	buf_init(&b, 4096);
	/* this node's port (listed once) and the other node's */
	assert_int_equal(agent_dhcp_hosts(&nets[0], &spec, 1, &b), 0);
	assert_string_equal(buf_str(&b), "02:fc:1a:2b:3c:4d,10.10.0.2\n"
					 "02:fc:00:00:00:09,10.10.0.9\n");
	/* no port here: no server */
	buf_reset(&b);
	spec.want = AGENT_WANT_DELETED;
	assert_int_equal(agent_dhcp_hosts(&nets[0], &spec, 1, &b), 0);
	assert_string_equal(buf_str(&b), "");
	buf_free(&b);
	agent_net_ports_free(p, np);
	agent_net_networks_free(nets, n);
	/* a host that is not a fincloud port */
	j = cJSON_Parse("[{\"name\":\"paynet\",\"vni\":1000,\"mtu\":1450,"
			"\"peers\":[],\"dhcp\":{\"address\":\"10.10.0.1/24\","
			"\"gateway\":null,\"hosts\":[{\"mac\":"
			"\"52:54:00:00:00:09\",\"address\":\"10.10.0.9\"}]}}]");
	assert_int_equal(agent_net_networks_parse(j, "$.networks", &nets, &n),
			 -1);
	assert_non_null(strstr(err_msg(), "$.networks[0].dhcp.hosts[0].mac"));
	cJSON_Delete(j);
}

/* Whether argv (to its NULL) has word. */
static bool has_word(char *const *argv, const char *word)
{
	for (size_t i = 0; argv[i]; i++)
		if (strcmp(argv[i], word) == 0)
			return true;
	return false;
}

/* dnsmasq's command: authoritative on an overlay only (a provider
 * segment has machines of others), logged to a file per network without
 * the options of --log-dhcp; a running server of another range (a key
 * reused by a network with another CIDR) is not the one wanted. */
static void test_dhcp_cmd(void **state)
{
	struct agent_net_network nw = {.name = "pub", .vni = 16777216,
				       .mtu = 1500, .type = AGENT_NET_FLAT,
				       .dhcp_ip = 0x0afa7802u,
				       .dhcp_prefix = 24};
	struct agent_dhcp_cmd c, d;
	char cmd[AGENT_DHCP_CMD_LEN] = "";
	(void)state;

	agent_dhcp_cmd(&nw, &c);
	assert_false(has_word(c.argv, "--dhcp-authoritative"));
	assert_false(has_word(c.argv, "--log-dhcp"));
	assert_true(has_word(c.argv, "--dhcp-range=10.250.120.0,static,"
				     "255.255.255.0,1h"));
	assert_true(has_word(c.argv, "--log-facility=" AGENT_DHCP_DIR
				     "/16777216.log"));
	nw.type = AGENT_NET_OVERLAY;
	nw.vni = 5000;
	agent_dhcp_cmd(&nw, &c);
	assert_true(has_word(c.argv, "--dhcp-authoritative"));
	assert_string_equal(c.argv[3], AGENT_DHCP_NETNS "5000");
	for (size_t i = 4, off = 0; c.argv[i]; i++)
		off += (size_t)snprintf(cmd + off, sizeof(cmd) - off, "%s ",
					c.argv[i]);
	assert_true(agent_dhcp_cmd_same(&c, cmd));
	nw.dhcp_ip = 0x0afa0002u;
	nw.dhcp_prefix = 16;
	agent_dhcp_cmd(&nw, &d);
	assert_false(agent_dhcp_cmd_same(&d, cmd));
	nw.type = AGENT_NET_FLAT;
	nw.dhcp_ip = 0x0afa7802u;
	nw.dhcp_prefix = 24;
	agent_dhcp_cmd(&nw, &d);
	assert_false(agent_dhcp_cmd_same(&d, cmd));
}

/* A network with DHCP: its server's hosts are this node's kept ports of
 * it, the port's filter lets the server's answers in, and its seed only
 * matches the NIC (the address comes by DHCP). */
static void test_dhcp(void **state)
{
	struct agent_net_network nw = {.name = "paynet", .vni = 1000,
				       .mtu = 1450, .dhcp_ip = 0x0a0a0001u,
				       .dhcp_prefix = 24};
	struct agent_vm_spec specs[3];
	struct agent_net_port *p, *q;
	struct buf b;
	char *xml;
	size_t n, m;
	(void)state;

	assert_int_equal(parse_ports(PORTS, &p, &n), 0);
	assert_int_equal(parse_ports(PORTS, &q, &m), 0);
	str_copy(q[0].mac, sizeof(q[0].mac), "02:fc:00:00:00:07");
	q[0].ip = 0x0a0a0007u;
	memset(specs, 0, sizeof(specs));
	specs[0].ports = p;
	specs[0].nports = n;
	specs[1].ports = q;
	specs[1].nports = m;
	specs[1].want = AGENT_WANT_DELETED;
	specs[2].ports = q;
	specs[2].nports = m;
	buf_init(&b, 4096);
	assert_int_equal(agent_dhcp_hosts(&nw, specs, 3, &b), 0);
	assert_string_equal(buf_str(&b), "02:fc:1a:2b:3c:4d,10.10.0.2\n"
					 "02:fc:00:00:00:07,10.10.0.7\n");
	buf_reset(&b);
	str_copy(nw.name, sizeof(nw.name), "other");
	assert_int_equal(agent_dhcp_hosts(&nw, specs, 3, &b), 0);
	assert_string_equal(buf_str(&b), "");
	buf_free(&b);
	p[0].dhcp_server = 0x0a0a0001u;
	assert_int_equal(agent_netxml_filter(&p[0], &xml), 0);
	assert_non_null(strstr(xml, "<udp srcipaddr=\"10.10.0.1\" "
				    "srcportstart=\"67\" dstportstart=\"68\"/>"));
	if (access(NWFILTER_RNG, R_OK) == 0)
		assert_int_equal(rng_valid(NWFILTER_RNG, xml), 0);
	free(xml);
	buf_init(&b, 4096);
	assert_int_equal(agent_net_seed_ethernets(p, n, &b), 0);
	/* the MAC match and set-name as for a static port, then only */
	assert_non_null(strstr(buf_str(&b), "    set-name: eth0\n"
					    "    dhcp4: true\n"));
	assert_null(strstr(buf_str(&b), "addresses"));
	assert_null(strstr(buf_str(&b), "mtu"));
	buf_free(&b);
	agent_net_ports_free(p, n);
	agent_net_ports_free(q, m);
}

static void test_seed_ethernets(void **state)
{
	struct agent_net_port *p;
	struct buf b;
	size_t n;
	(void)state;

	buf_init(&b, 4096);
	assert_int_equal(agent_net_seed_ethernets(NULL, 0, &b), 0);
	assert_string_equal(buf_str(&b), "ethernets: {}\n");
	buf_free(&b);
	assert_int_equal(parse_ports(PORTS, &p, &n), 0);
	buf_init(&b, 4096);
	assert_int_equal(agent_net_seed_ethernets(p, n, &b), 0);
	assert_string_equal(buf_str(&b),
		"ethernets:\n"
		"  nic0:\n"
		"    match:\n"
		"      macaddress: \"02:fc:1a:2b:3c:4d\"\n"
		"    set-name: eth0\n"
		"    mtu: 1450\n"
		"    dhcp4: false\n"
		"    addresses: [\"10.10.0.2/24\"]\n"
		"    routes:\n"
		"      - to: 0.0.0.0/0\n"
		"        via: 10.10.0.1\n");
	buf_free(&b);
	/* no gateway: no route */
	p[0].gateway = 0;
	buf_init(&b, 4096);
	assert_int_equal(agent_net_seed_ethernets(p, n, &b), 0);
	assert_null(strstr(buf_str(&b), "routes"));
	buf_free(&b);
	/* a full buffer is an error, not a cut file */
	buf_init(&b, 32);
	assert_int_equal(agent_net_seed_ethernets(p, n, &b), -1);
	buf_free(&b);
	agent_net_ports_free(p, n);
}

static void test_uri_addr(void **state)
{
	uint32_t a;
	(void)state;

	assert_int_equal(agent_netlink_uri_addr("qemu+tcp://10.250.30.2/system",
						&a), 0);
	assert_int_equal(a, 0x0afa1e02u);
	assert_int_equal(agent_netlink_uri_addr("qemu+tcp://10.250.30.2:16509/"
						"system", &a), 0);
	assert_int_equal(agent_netlink_uri_addr("qemu+tcp://node2/system", &a),
			 -1);
	assert_int_equal(agent_netlink_uri_addr("", &a), -1);
}

/* The filter sweep's plan (agent_virt_net_sweep_plan): a filter no
 * port names goes at once when this agent defined it, only after the
 * grace when it did not (a source's copy before a migration); one named
 * by a VM migrating here stays; libvirt's own filters are never
 * touched; a foreign filter named again is timed afresh. */
static void test_filter_sweep(void **state)
{
	struct agent_net_port own = {.port_id = "own"}, spec = {.port_id = "spec"},
			      in = {.port_id = "in"}, copy = {.port_id = "copy"};
	struct agent_vm_spec specs[1] = {{.ports = &spec, .nports = 1}};
	struct agent_vm_spec incoming[1] = {{.ports = &in, .nports = 1}};
	struct agent_net_port two[2];
	struct agent_vm_spec both[1] = {{.ports = two, .nports = 2}};
	char names[5][64];
	struct agent_virt_net_cache c = {0};
	const uint64_t s = 1000000000ULL, grace = 10 * s;
	bool rm[5];
	(void)state;

	agent_netxml_filter_name(&own, names[0]);
	agent_netxml_filter_name(&copy, names[1]);
	agent_netxml_filter_name(&spec, names[2]);
	agent_netxml_filter_name(&in, names[3]);
	str_copy(names[4], sizeof(names[4]), "clean-traffic");
	two[0] = spec;
	two[1] = copy;
	c.name = calloc(1, sizeof(*c.name));
	c.xml = calloc(1, sizeof(*c.xml));
	assert_non_null(c.name);
	assert_non_null(c.xml);
	str_copy(c.name[0], sizeof(c.name[0]), names[0]);
	c.xml[0] = strdup("<filter/>");
	c.n = 1;

#define PLAN(sp, t)                                                        \
	agent_virt_net_sweep_plan(&c, (const char(*)[64])names, 5, sp, 1,  \
				  incoming, 1, (t), grace, rm)
	PLAN(specs, 100 * s);
	assert_true(rm[0]);   /* ours, no VM names it: at once */
	assert_false(rm[1]);  /* a copy: timed from now */
	assert_false(rm[2]);  /* a VM of the node's */
	assert_false(rm[3]);  /* a VM migrating here */
	assert_false(rm[4]);  /* not fincloud's */
	PLAN(specs, 109 * s);
	assert_false(rm[1]);
	/* the copy's VM arrives (its spec names it): the timing ends */
	PLAN(both, 110 * s);
	assert_false(rm[1]);
	assert_int_equal(c.nforeign, 0);
	/* and leaves again: timed afresh */
	PLAN(specs, 112 * s);
	assert_false(rm[1]);
	PLAN(specs, 121 * s);
	assert_false(rm[1]);
	PLAN(specs, 122 * s);
	assert_true(rm[1]);
	assert_int_equal(c.nforeign, 0);
	assert_false(rm[2] || rm[3] || rm[4]);
#undef PLAN
	agent_virt_net_cache_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ports_parse),
		cmocka_unit_test(test_filter_sweep),
		cmocka_unit_test(test_ports_refused),
		cmocka_unit_test(test_networks_parse),
		cmocka_unit_test(test_filter_xml),
		cmocka_unit_test(test_domain_nic),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_seed_ethernets),
		cmocka_unit_test(test_netlink_provider),
		cmocka_unit_test(test_provider_parse),
		cmocka_unit_test(test_dhcp),
		cmocka_unit_test(test_dhcp_all_ports),
		cmocka_unit_test(test_dhcp_cmd),
		cmocka_unit_test(test_uri_addr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

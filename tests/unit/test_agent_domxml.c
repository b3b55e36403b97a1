/* Unit tests of agents/agent_domxml.c and agents/agent_spec.c: domain XML
 * built with libxml2 and validated against libvirt's domain.rng, hostile
 * names escaped (and refused by the spec parser), VM spec errors. */
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "agents/agent_domxml.h"
#include "agents/agent_spec.h"
#include "common/err.h"
#include "common/json.h"

static const char *const HOSTILE = "a'<b>&\"c";

#define SHA "a868962514df6e6678042c72d4eebca7b842a2e4edd1df7e00bdf626a6fac15c"

static struct agent_vm_spec sample(void)
{
	struct agent_vm_spec s;

	memset(&s, 0, sizeof(s));
	snprintf(s.vm_id, sizeof(s.vm_id), "%s",
		 "0c6f8e9a-1111-4222-8333-444455556666");
	snprintf(s.name, sizeof(s.name), "%s", "loan.vm1");
	snprintf(s.tenant, sizeof(s.tenant), "%s", "loan");
	snprintf(s.group, sizeof(s.group), "%s", "web");
	s.vcpus = 2;
	s.mem_mib = 512;
	s.disk_gib = 1;
	return s;
}

static const struct agent_domxml_params params = {
	.virt_type = "kvm",
	.disk_path = "/var/lib/fincloud/disks/0c6f8e9a.qcow2",
	.console_log = "/var/lib/fincloud/disks/0c6f8e9a.console.log",
};

static int skip_without_schema(void)
{
	if (access(AGENT_DOMAIN_RNG, R_OK) != 0) {
		print_message("libvirt's %s is missing (install "
			      "libvirt-daemon)\n",
			      AGENT_DOMAIN_RNG);
		return 1;
	}
	return 0;
}

static void xp(const char *xml, const char *expr, const char *want)
{
	char got[512];

	assert_int_equal(agent_xml_xpath_text(xml, expr, got, sizeof(got)), 0);
	assert_string_equal(got, want);
}

static void test_build_validates(void **state)
{
	struct agent_vm_spec s = sample();
	char *xml = NULL;
	(void)state;

	if (skip_without_schema())
		skip();
	assert_int_equal(agent_domxml_build(&s, &params, &xml), 0);
	assert_int_equal(agent_domxml_validate(xml), 0);
	xp(xml, "/domain/@type", "kvm");
	xp(xml, "/domain/name", "loan.vm1");
	xp(xml, "/domain/uuid", "0c6f8e9a-1111-4222-8333-444455556666");
	xp(xml, "/domain/vcpu", "2");
	xp(xml, "/domain/memory", "512");
	xp(xml, "/domain/memory/@unit", "MiB");
	xp(xml, "/domain/devices/disk/source/@file", params.disk_path);
	xp(xml, "/domain/devices/disk/driver/@type", "qcow2");
	xp(xml, "/domain/devices/serial/log/@file", params.console_log);
	/* The metadata element is in fincloud's namespace. */
	assert_non_null(strstr(xml, "xmlns:fc=\"" AGENT_XMLNS "\""));
	xp(xml, "/domain/metadata/*[local-name()='vm']/*[local-name()='tenant']",
	   "loan");
	xp(xml, "/domain/metadata/*[local-name()='vm']/*[local-name()='group']",
	   "web");
	free(xml);

	/* TCG and libvirt's test driver are valid domain types too. */
	struct agent_domxml_params p2 = params;

	p2.virt_type = "qemu";
	p2.console_log = NULL;
	s.group[0] = '\0';
	assert_int_equal(agent_domxml_build(&s, &p2, &xml), 0);
	assert_int_equal(agent_domxml_validate(xml), 0);
	xp(xml, "/domain/@type", "qemu");
	xp(xml, "/domain/metadata/*[local-name()='vm']/*[local-name()='group']",
	   "");
	free(xml);

	/* a NoCloud seed: a read-only IDE CD-ROM after the disk */
	p2.seed_iso = "/var/lib/fincloud/disks/x.seed.iso";
	assert_int_equal(agent_domxml_build(&s, &p2, &xml), 0);
	assert_int_equal(agent_domxml_validate(xml), 0);
	xp(xml, "/domain/devices/disk[@device='cdrom']/source/@file",
	   p2.seed_iso);
	xp(xml, "/domain/devices/disk[@device='cdrom']/target/@bus", "ide");
	xp(xml, "count(/domain/devices/disk[@device='cdrom']/readonly)", "1");
	free(xml);
}

/* Names are never pasted into markup: libxml2 escapes them, and parsing
 * the document back gives exactly the original string. */
static void test_hostile_names_escaped(void **state)
{
	struct agent_vm_spec s = sample();
	struct agent_domxml_params p = params;
	char *xml = NULL;
	(void)state;

	snprintf(s.name, sizeof(s.name), "%s", HOSTILE);
	snprintf(s.tenant, sizeof(s.tenant), "%s", HOSTILE);
	p.disk_path = "/tmp/x'<y>&\"z.qcow2";
	assert_int_equal(agent_domxml_build(&s, &p, &xml), 0);
	assert_null(strstr(xml, "<b>"));
	assert_non_null(strstr(xml, "a'&lt;b&gt;&amp;\"c"));
	xp(xml, "/domain/name", HOSTILE);
	xp(xml, "/domain/metadata/*[local-name()='vm']/*[local-name()='tenant']",
	   HOSTILE);
	xp(xml, "/domain/devices/disk/source/@file", p.disk_path);
	/* Still one name and one metadata element: nothing was injected. */
	xp(xml, "count(/domain/name)", "1");
	xp(xml, "count(//b)", "0");
	xp(xml, "count(/domain/metadata/*)", "1");
	if (access(AGENT_DOMAIN_RNG, R_OK) == 0)
		assert_int_equal(agent_domxml_validate(xml), 0);
	free(xml);
}

static void test_schema_rejects(void **state)
{
	struct agent_vm_spec s = sample();
	struct agent_domxml_params p = params;
	char *xml = NULL;
	(void)state;

	if (skip_without_schema())
		skip();
	p.virt_type = "bogus";
	assert_int_equal(agent_domxml_build(&s, &p, &xml), 0);
	assert_int_equal(agent_domxml_validate(xml), -1);
	assert_non_null(strstr(err_msg(), "fails libvirt's schema"));
	free(xml);

	assert_int_equal(agent_domxml_validate("<domain type='kvm'><name>x"),
			 -1);
	assert_string_equal(err_msg(), "domain XML is not well-formed");
	assert_int_equal(agent_domxml_validate("<domain type='kvm'/>"), -1);
	assert_non_null(strstr(err_msg(), "fails libvirt's schema"));
}

static void test_missing_schema(void **state)
{
	(void)state;
	agent_domxml_set_schema("/nonexistent/domain.rng");
	assert_int_equal(agent_domxml_validate("<domain type='kvm'/>"), -1);
	assert_non_null(strstr(err_msg(), "/nonexistent/domain.rng"));
	agent_domxml_set_schema(AGENT_DOMAIN_RNG);
}

static void test_metadata_parse(void **state)
{
	char id[64], tenant[64], group[64];
	(void)state;

	/* As virDomainGetMetadata() returns it: without the namespace. */
	assert_int_equal(agent_domxml_parse_metadata(
				 "<vm><vm_id>u1</vm_id><tenant>loan</tenant>"
				 "<group>g</group></vm>",
				 id, sizeof(id), tenant, sizeof(tenant), group,
				 sizeof(group)),
			 0);
	assert_string_equal(id, "u1");
	assert_string_equal(tenant, "loan");
	assert_string_equal(group, "g");
	assert_int_equal(agent_domxml_parse_metadata(
				 "<fc:vm xmlns:fc='" AGENT_XMLNS "'><fc:tenant>"
				 "t</fc:tenant></fc:vm>",
				 id, sizeof(id), tenant, sizeof(tenant), group,
				 sizeof(group)),
			 0);
	assert_string_equal(tenant, "t");
	assert_string_equal(group, "");
	assert_int_equal(agent_domxml_parse_metadata(
				 "<x:vm xmlns:x='urn:other'/>", id, sizeof(id),
				 tenant, sizeof(tenant), group, sizeof(group)),
			 -1);
	assert_int_equal(agent_domxml_parse_metadata("<vm", id, sizeof(id),
						     tenant, sizeof(tenant),
						     group, sizeof(group)),
			 -1);
}

static int parse_text(const char *text, struct agent_vm_spec *s)
{
	cJSON *root = NULL;
	int rc;

	assert_int_equal(json_parse(text, strlen(text), "spec", &root), 0);
	rc = agent_spec_parse(root, "$.vms[0]", s);
	cJSON_Delete(root);
	return rc;
}

static void test_spec_parse(void **state)
{
	struct agent_vm_spec s;
	(void)state;

	assert_int_equal(
		parse_text("{\"vm_id\":\"0C6F8E9A-1111-4222-8333-444455556666\","
			   "\"name\":\"t.vm1\",\"tenant\":\"loan\",\"group\":"
			   "null,\"vcpus\":2,\"mem_mib\":128,\"disk_gib\":1,"
			   "\"base_image\":\"deb12.qcow2\",\"state\":\"stopped\"}",
			   &s),
		0);
	assert_string_equal(s.vm_id, "0c6f8e9a-1111-4222-8333-444455556666");
	assert_string_equal(s.name, "t.vm1");
	assert_string_equal(s.group, "");
	assert_string_equal(s.base_image, "deb12.qcow2");
	assert_int_equal(s.vcpus, 2);
	assert_int_equal(s.mem_mib, 128);
	assert_int_equal(s.want, AGENT_WANT_STOPPED);
	assert_string_equal(s.image_sha256, "");

	/* a catalogue image instead of a base_image file */
	assert_int_equal(
		parse_text("{\"vm_id\":\"0c6f8e9a-1111-4222-8333-444455556666\","
			   "\"name\":\"t.vm1\",\"tenant\":\"loan\",\"group\":"
			   "null,\"vcpus\":1,\"mem_mib\":128,\"disk_gib\":1,"
			   "\"base_image\":null,\"state\":\"running\","
			   "\"image\":{\"sha256\":\"" SHA "\",\"format\":"
			   "\"raw\",\"size_bytes\":5}}", &s), 0);
	assert_string_equal(s.image_sha256, SHA);
	assert_string_equal(s.image_format, "raw");
	assert_int_equal(s.image_size, 5);
	assert_string_equal(s.rbd_pool, "");

	/* an RBD clone of that image */
	assert_int_equal(
		parse_text("{\"vm_id\":\"0c6f8e9a-1111-4222-8333-444455556666\","
			   "\"name\":\"t.vm1\",\"tenant\":\"loan\",\"vcpus\":1,"
			   "\"mem_mib\":128,\"disk_gib\":1,\"state\":\"running\","
			   "\"image\":{\"sha256\":\"" SHA "\",\"format\":"
			   "\"raw\",\"size_bytes\":5},\"storage\":{\"type\":"
			   "\"ceph\",\"pool\":\"fincloud\",\"monitors\":"
			   "[\"10.250.20.2:6789\",\"[fd00::2]:6789\"],\"user\":"
			   "\"fincloud-node1\"}}", &s), 0);
	assert_string_equal(s.rbd_pool, "fincloud");
	assert_string_equal(s.rbd_monitors, "10.250.20.2:6789,[fd00::2]:6789");
	assert_string_equal(s.rbd_user, "fincloud-node1");
}

/* An RBD disk is a network disk QEMU opens through the monitors, with
 * the secret of the node's cephx user; the XML passes libvirt's schema. */
static void test_build_rbd(void **state)
{
	struct agent_vm_spec s = sample();
	char *xml = NULL, out[256];
	(void)state;

	if (skip_without_schema())
		return;
	snprintf(s.image_sha256, sizeof(s.image_sha256), "%s", SHA);
	snprintf(s.rbd_pool, sizeof(s.rbd_pool), "%s", "fincloud");
	snprintf(s.rbd_monitors, sizeof(s.rbd_monitors), "%s",
		 "10.250.20.2:6789,mon2,[fd00::2]:3300");
	snprintf(s.rbd_user, sizeof(s.rbd_user), "%s", "fincloud-node1");
	assert_int_equal(agent_domxml_build(&s, &params, &xml), 0);
	assert_int_equal(agent_domxml_validate(xml), 0);
	agent_xml_xpath_text(xml, "/domain/devices/disk[@type='network']/"
			     "source[@protocol='rbd']/@name", out, sizeof(out));
	assert_string_equal(out, "fincloud/fincloud-vm-"
			    "0c6f8e9a-1111-4222-8333-444455556666");
	agent_xml_xpath_text(xml, "/domain/devices/disk/auth/@username", out,
			     sizeof(out));
	assert_string_equal(out, "fincloud-node1");
	agent_xml_xpath_text(xml, "/domain/devices/disk/auth/secret/@usage",
			     out, sizeof(out));
	assert_string_equal(out, "fincloud client.fincloud-node1");
	agent_xml_xpath_text(xml, "count(/domain/devices/disk/source/host)",
			     out, sizeof(out));
	assert_string_equal(out, "3");
	agent_xml_xpath_text(xml, "/domain/devices/disk/source/host[3]/@name",
			     out, sizeof(out));
	assert_string_equal(out, "fd00::2");
	agent_xml_xpath_text(xml, "/domain/devices/disk/source/host[1]/@port",
			     out, sizeof(out));
	assert_string_equal(out, "6789");
	agent_xml_xpath_text(xml, "count(/domain/devices/disk/source/@file)",
			     out, sizeof(out));
	assert_string_equal(out, "0");
	free(xml);
}

static void test_spec_errors(void **state)
{
	static const struct {
		const char *json;
		const char *msg;
	} cases[] = {
		{ "{\"vm_id\":\"0c6f8e9a-1111-4222-8333-444455556666\","
		  "\"name\":\"a'<b>&\\\"c\",\"tenant\":\"t\",\"vcpus\":1,"
		  "\"mem_mib\":64,\"disk_gib\":1,\"state\":\"running\"}",
		  "$.vms[0].name: name name 'a'<b>&\"c' has a forbidden "
		  "character at position 2: use letters, digits, '.', '_' and "
		  "'-'" },
		{ "{\"vm_id\":\"nope\",\"name\":\"x\",\"tenant\":\"t\","
		  "\"vcpus\":1,\"mem_mib\":64,\"disk_gib\":1,\"state\":"
		  "\"running\"}",
		  "$.vms[0].vm_id: expected a UUID like "
		  "0c6f8e9a-1111-4222-8333-444455556666, got 'nope'" },
		{ "{\"vm_id\":\"0c6f8e9a-1111-4222-8333-444455556666\","
		  "\"name\":\"x\",\"tenant\":\"t\",\"vcpus\":0,\"mem_mib\":64,"
		  "\"disk_gib\":1,\"state\":\"running\"}",
		  "$.vms[0].vcpus: expected an integer from 1 to 256, got 0" },
		{ "{\"vm_id\":\"0c6f8e9a-1111-4222-8333-444455556666\","
		  "\"name\":\"x\",\"tenant\":\"t\",\"vcpus\":1,\"mem_mib\":64,"
		  "\"disk_gib\":1,\"state\":\"paused\"}",
		  "$.vms[0].state: expected running, stopped or deleted, got "
		  "'paused'" },
		{ "{\"vm_id\":\"0c6f8e9a-1111-4222-8333-444455556666\","
		  "\"name\":\"x\",\"tenant\":\"t\",\"cpus\":1}",
		  "$.vms[0]: unknown field 'cpus'" },
		{ "{\"vm_id\":\"0c6f8e9a-1111-4222-8333-444455556666\","
		  "\"name\":\"x\",\"vcpus\":1,\"mem_mib\":64,\"disk_gib\":1,"
		  "\"state\":\"running\"}",
		  "$.vms[0]: missing required field 'tenant'" },
		{ "{\"vm_id\":\"0c6f8e9a-1111-4222-8333-444455556666\","
		  "\"name\":\"x\",\"tenant\":\"t\",\"vcpus\":1,\"mem_mib\":64,"
		  "\"disk_gib\":1,\"base_image\":\"../../etc/shadow\","
		  "\"state\":\"running\"}",
		  "$.vms[0].base_image: base_image name '../../etc/shadow' must "
		  "start with a letter or digit" },
		{ "{\"vm_id\":\"0c6f8e9a-1111-4222-8333-444455556666\","
		  "\"name\":\"x\",\"tenant\":\"t\",\"vcpus\":1,\"mem_mib\":64,"
		  "\"disk_gib\":1,\"state\":\"running\",\"image\":{\"sha256\":"
		  "\"../etc\",\"format\":\"raw\",\"size_bytes\":1}}",
		  "$.vms[0].image.sha256: expected 64 lowercase hex digits" },
		{ "{\"vm_id\":\"0c6f8e9a-1111-4222-8333-444455556666\","
		  "\"name\":\"x\",\"tenant\":\"t\",\"vcpus\":1,\"mem_mib\":64,"
		  "\"disk_gib\":1,\"state\":\"running\",\"image\":{\"sha256\":"
		  "\"" SHA "\",\"format\":\"vmdk\",\"size_bytes\":1}}",
		  "$.vms[0].image.format: expected qcow2 or raw, got 'vmdk'" },
		{ "{\"vm_id\":\"0c6f8e9a-1111-4222-8333-444455556666\","
		  "\"name\":\"x\",\"tenant\":\"t\",\"vcpus\":1,\"mem_mib\":64,"
		  "\"disk_gib\":1,\"state\":\"running\",\"image\":{\"sha256\":"
		  "\"" SHA "\",\"format\":\"raw\",\"size_bytes\":1},"
		  "\"storage\":{\"type\":\"ceph\",\"pool\":\"p\",\"monitors\":"
		  "[\"m;id\"],\"user\":\"u\"}}",
		  "$.vms[0].storage.monitors: expected HOST or HOST:PORT "
		  "entries" },
		{ "{\"vm_id\":\"0c6f8e9a-1111-4222-8333-444455556666\","
		  "\"name\":\"x\",\"tenant\":\"t\",\"vcpus\":1,\"mem_mib\":64,"
		  "\"disk_gib\":1,\"state\":\"running\",\"image\":{\"sha256\":"
		  "\"" SHA "\",\"format\":\"raw\",\"size_bytes\":1},"
		  "\"storage\":{\"type\":\"ceph\",\"pool\":\"p\",\"monitors\":"
		  "[\"m\"],\"user\":\"u' x='\"}}",
		  "$.vms[0].storage.user: expected 1-64 letters, digits, '.', "
		  "'_' or '-'" },
		{ "{\"vm_id\":\"0c6f8e9a-1111-4222-8333-444455556666\","
		  "\"name\":\"x\",\"tenant\":\"t\",\"vcpus\":1,\"mem_mib\":64,"
		  "\"disk_gib\":1,\"state\":\"running\",\"storage\":{\"type\":"
		  "\"ceph\",\"pool\":\"p\",\"monitors\":[\"m\"],\"user\":"
		  "\"u\"}}",
		  "$.vms[0]: an RBD disk (storage) is a clone of an image: the "
		  "spec names none" },
		{ "[1]", "$.vms[0]: expected an object" },
	};
	struct agent_vm_spec s;
	(void)state;

	for (size_t i = 0; i < FC_ARRAY_LEN(cases); i++) {
		assert_int_equal(parse_text(cases[i].json, &s), -1);
		assert_string_equal(err_msg(), cases[i].msg);
	}
}

static int teardown(void **state)
{
	(void)state;
	agent_domxml_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_validates),
		cmocka_unit_test(test_hostile_names_escaped),
		cmocka_unit_test(test_schema_rejects),
		cmocka_unit_test(test_missing_schema),
		cmocka_unit_test(test_metadata_parse),
		cmocka_unit_test(test_spec_parse),
		cmocka_unit_test(test_build_rbd),
		cmocka_unit_test(test_spec_errors),
	};

	return cmocka_run_group_tests_name("agent_domxml", tests, NULL,
					   teardown);
}

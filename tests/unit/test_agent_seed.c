/* Unit tests of agents/agent_seed.c: a VM's first_boot read from its
 * spec (and refused when malformed), and the text of the NoCloud seed's
 * files; with genisoimage installed, the ISO's volume label. */
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "agents/agent_net.h"
#include "agents/agent_seed.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/json.h"

#define ID "0c6f8e9a-1111-4222-8333-444455556666"

static int parse(const char *text, struct agent_seed *s)
{
	cJSON *o = NULL;
	int rc;

	assert_int_equal(json_parse(text, strlen(text), "test", &o), 0);
	rc = agent_seed_parse(o, "$.vms[0].first_boot", ID, s);
	cJSON_Delete(o);
	return rc;
}

static void test_files(void **state)
{
	struct agent_net_port port = {.mac = "02:fc:12:34:56:78",
				      .ip = 0x0a0a0002, .prefix = 24,
				      .mtu = 1450};
	struct agent_seed s;
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(parse("{\"hostname\":\"web-1\",\"ssh_keys\":["
			       "\"ssh-ed25519 AAAA a@b\",\"ssh-rsa \\\"q\\\" c\"],"
			       "\"user_data\":\"#!/bin/sh\\necho hi\\n\"}", &s), 0);
	assert_int_equal(agent_seed_meta_data(&s, &b), 0);
	assert_string_equal(buf_str(&b),
			    "instance-id: " ID "\n"
			    "local-hostname: web-1\n"
			    "public-keys:\n"
			    "  - \"ssh-ed25519 AAAA a@b\"\n"
			    "  - \"ssh-rsa \\\"q\\\" c\"\n");
	buf_reset(&b);
	assert_int_equal(agent_seed_user_data(&s, &b), 0);
	assert_string_equal(buf_str(&b), "#!/bin/sh\necho hi\n");
	buf_reset(&b);
	/* no NIC yet: no interface is configured */
	assert_int_equal(agent_seed_network_config(&s, &b), 0);
	assert_string_equal(buf_str(&b), "version: 2\nethernets: {}\n");
	/* a port is matched by its MAC, never by its name, and given its
	 * static address and MTU */
	s.ports = &port;
	s.nports = 1;
	buf_reset(&b);
	assert_int_equal(agent_seed_network_config(&s, &b), 0);
	assert_string_equal(buf_str(&b),
			    "version: 2\nethernets:\n  nic0:\n    match:\n"
			    "      macaddress: \"02:fc:12:34:56:78\"\n"
			    "    set-name: eth0\n    mtu: 1450\n"
			    "    dhcp4: false\n"
			    "    addresses: [\"10.10.0.2/24\"]\n");
	agent_seed_free(&s);
	/* no keys, no user-data: no public-keys, an empty user-data */
	assert_int_equal(parse("{\"hostname\":\"db\",\"ssh_keys\":[],"
			       "\"user_data\":null}", &s), 0);
	buf_reset(&b);
	assert_int_equal(agent_seed_meta_data(&s, &b), 0);
	assert_null(strstr(buf_str(&b), "public-keys"));
	buf_reset(&b);
	assert_int_equal(agent_seed_user_data(&s, &b), 0);
	assert_int_equal(b.len, 0);
	agent_seed_free(&s);
	buf_free(&b);
}

static void test_refused(void **state)
{
	struct agent_seed s;

	(void)state;
	assert_int_equal(parse("{\"hostname\":\"a b\",\"ssh_keys\":[],"
			       "\"user_data\":null}", &s), -1);
	assert_non_null(strstr(err_msg(), "$.vms[0].first_boot.hostname"));
	assert_int_equal(parse("{\"hostname\":\"a\",\"ssh_keys\":[\"x\\ny\"],"
			       "\"user_data\":null}", &s), -1);
	assert_non_null(strstr(err_msg(), "ssh_keys[0]"));
	assert_int_equal(parse("{\"hostname\":\"a\",\"ssh_keys\":[],"
			       "\"user_data\":null,\"more\":1}", &s), -1);
	assert_int_equal(parse("{\"hostname\":\"a\"}", &s), -1);
	assert_null(s.keys);
}

static void test_iso(void **state)
{
	char dir[] = "/tmp/fctest-seed.XXXXXX", iso[64], cmd[256];
	struct agent_seed s;
	FILE *p;
	char line[256] = "";

	(void)state;
	if (system("command -v genisoimage >/dev/null && "
		   "command -v isoinfo >/dev/null") != 0)
		skip();
	assert_non_null(fc_test_mkdtemp(dir));
	snprintf(iso, sizeof(iso), "%s/seed.iso", dir);
	assert_int_equal(parse("{\"hostname\":\"web\",\"ssh_keys\":[],"
			       "\"user_data\":\"hello\"}", &s), 0);
	assert_int_equal(agent_seed_write(&s, iso), 0);
	snprintf(cmd, sizeof(cmd), "isoinfo -d -i %s | sed -n "
		 "'s/^Volume id: //p'", iso);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(line, sizeof(line), p));
	pclose(p);
	assert_string_equal(line, "cidata\n");
	snprintf(cmd, sizeof(cmd), "isoinfo -R -i %s -x /meta-data | grep -q "
		 "'^local-hostname: web$'", iso);
	assert_int_equal(system(cmd), 0);
	agent_seed_free(&s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_iso),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

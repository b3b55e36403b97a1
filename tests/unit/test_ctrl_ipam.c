/* Unit tests of the address, VNI and MAC rules of tenant networks
 * (controller/ipam.c): what is a network, which address a port gets,
 * which VNI a network gets, what a fincloud MAC looks like. */
#include <stdlib.h>

#include "tests/unit/fc_test.h"

#include "common/err.h"
#include "controller/ipam.h"

static uint32_t A(const char *s)
{
	uint32_t a = 0;

	assert_int_equal(ipam_addr_parse(s, &a), 0);
	return a;
}

static void test_addr(void **state)
{
	char out[IPAM_ADDR_LEN];
	uint32_t a;
	(void)state;

	assert_int_equal(A("10.10.0.1"), 0x0a0a0001u);
	ipam_addr_format(0xfffffffeu, out);
	assert_string_equal(out, "255.255.255.254");
	assert_int_equal(ipam_addr_parse("10.10.0", &a), -1);
	assert_int_equal(ipam_addr_parse("10.10.0.256", &a), -1);
	assert_int_equal(ipam_addr_parse("10.10.0.01", &a), -1);
	assert_int_equal(ipam_addr_parse("10.10.0.1 ", &a), -1);
	assert_int_equal(ipam_addr_parse("-1.0.0.0", &a), -1);
	assert_non_null(strstr(err_msg(), "not an IPv4 address"));
}

static void test_cidr(void **state)
{
	char out[IPAM_CIDR_LEN];
	uint32_t net;
	int p;
	(void)state;

	assert_int_equal(ipam_cidr_parse("10.10.0.0/24", &net, &p), 0);
	assert_int_equal(net, 0x0a0a0000u);
	assert_int_equal(p, 24);
	ipam_cidr_format(net, p, out);
	assert_string_equal(out, "10.10.0.0/24");
	/* host bits: the message names the network meant */
	assert_int_equal(ipam_cidr_parse("10.10.0.7/24", &net, &p), -1);
	assert_non_null(strstr(err_msg(), "10.10.0.0/24"));
	assert_int_equal(ipam_cidr_parse("10.0.0.0/8", &net, &p), -1);
	assert_non_null(strstr(err_msg(), "/16 to /29"));
	assert_int_equal(ipam_cidr_parse("10.10.0.0/30", &net, &p), -1);
	assert_int_equal(ipam_cidr_parse("10.10.0.0/", &net, &p), -1);
	assert_int_equal(ipam_cidr_parse("10.10.0.0/024", &net, &p), -1);
	assert_int_equal(ipam_cidr_parse("10.10.0.0", &net, &p), -1);
	/* a rule's source: any prefix */
	assert_int_equal(ipam_source_parse("0.0.0.0/0", &net, &p), 0);
	assert_int_equal(p, 0);
	assert_int_equal(ipam_source_parse("10.1.2.3/32", &net, &p), 0);
	assert_int_equal(ipam_source_parse("10.1.2.3/31", &net, &p), -1);
}

static void test_host_and_overlap(void **state)
{
	uint32_t n = A("10.10.0.0");
	(void)state;

	assert_false(ipam_is_host(n, 24, n));
	assert_false(ipam_is_host(n, 24, A("10.10.0.255")));
	assert_true(ipam_is_host(n, 24, A("10.10.0.1")));
	assert_true(ipam_is_host(n, 24, A("10.10.0.254")));
	assert_false(ipam_is_host(n, 24, A("10.10.1.1")));
	assert_true(ipam_overlap(n, 24, A("10.10.0.0"), 16));
	assert_true(ipam_overlap(A("10.10.0.128"), 25, n, 24));
	assert_false(ipam_overlap(n, 24, A("10.10.1.0"), 24));
}

static void test_pick(void **state)
{
	uint32_t n = A("10.10.0.0"), gw = A("10.10.0.1"), out = 0;
	uint32_t used[6], all[256];
	(void)state;

	/* the lowest host address, the gateway skipped */
	assert_int_equal(ipam_pick(n, 24, gw, NULL, 0, &out), 0);
	assert_int_equal(out, A("10.10.0.2"));
	assert_int_equal(ipam_pick(n, 24, 0, NULL, 0, &out), 0);
	assert_int_equal(out, A("10.10.0.1"));
	/* the first hole; addresses of other networks ignored */
	used[0] = A("10.9.255.9");
	used[1] = A("10.10.0.2");
	used[2] = A("10.10.0.3");
	used[3] = A("10.10.0.5");
	used[4] = A("10.10.0.6");
	used[5] = A("10.10.1.1");
	assert_int_equal(ipam_pick(n, 24, gw, used, 6, &out), 0);
	assert_int_equal(out, A("10.10.0.4"));
	/* a released address is free again, the lowest first */
	assert_int_equal(ipam_pick(n, 24, gw, used + 2, 4, &out), 0);
	assert_int_equal(out, A("10.10.0.2"));
	/* full: 253 hosts besides the gateway, never the broadcast */
	for (uint32_t i = 0; i < 256; i++)
		all[i] = n + i;
	assert_int_equal(ipam_pick(n, 24, gw, all + 2, 253, &out), 1);
	assert_int_equal(ipam_pick(n, 24, gw, all + 2, 252, &out), 0);
	assert_int_equal(out, A("10.10.0.254"));
	/* a /29: six hosts */
	assert_int_equal(ipam_pick(n, 29, 0, all + 1, 5, &out), 0);
	assert_int_equal(out, A("10.10.0.6"));
	assert_int_equal(ipam_pick(n, 29, 0, all + 1, 6, &out), 1);
}

static void test_vni(void **state)
{
	int64_t used[] = {1000, 1001, 1003}, out = 0;
	(void)state;

	assert_int_equal(ipam_vni_pick(1000, 1005, NULL, 0, &out), 0);
	assert_int_equal(out, 1000);
	assert_int_equal(ipam_vni_pick(1000, 1005, used, 3, &out), 0);
	assert_int_equal(out, 1002);
	assert_int_equal(ipam_vni_pick(1000, 1001, used, 3, &out), 1);
	assert_int_equal(ipam_vni_pick(1003, 1003, used, 3, &out), 1);
	assert_int_equal(ipam_vni_pick(1003, 1004, used, 3, &out), 0);
	assert_int_equal(out, 1004);
}

static void test_mac(void **state)
{
	const uint8_t r[4] = {0x00, 0xab, 0x10, 0xff};
	char mac[IPAM_MAC_LEN];
	(void)state;

	ipam_mac_format(r, mac);
	assert_string_equal(mac, "02:fc:00:ab:10:ff");
	/* unicast (bit 0 clear) and locally administered (bit 1 set) */
	assert_int_equal(IPAM_MAC_PREFIX0 & 1, 0);
	assert_int_equal(IPAM_MAC_PREFIX0 & 2, 2);
	assert_true(ipam_mac_ours(mac));
	assert_false(ipam_mac_ours("52:54:00:ab:10:ff"));
	assert_false(ipam_mac_ours("02:FC:00:AB:10:FF"));
	assert_false(ipam_mac_ours("02:fc:00:ab:10"));
	assert_false(ipam_mac_ours("02:fc:00:ab:10:fg"));
	assert_false(ipam_mac_ours("02:fc:00-ab:10:ff"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_host_and_overlap),
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_vni),
		cmocka_unit_test(test_mac),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

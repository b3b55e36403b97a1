/*
 * ipam.h - the arithmetic of tenant networks: IPv4 CIDRs and addresses,
 * the choice of a port's address, of a network's VXLAN VNI and of a
 * port's MAC. Pure functions (no store, no I/O), so that the allocation
 * rules are unit-tested on their own (tests/unit/test_ctrl_ipam.c); the
 * callers (controller/netstate.c) read what is taken from the store and
 * write what these functions choose in the same transaction, under the
 * controller lock, which is what makes an address never handed out twice.
 *
 * Addresses are IPv4 in host byte order (uint32_t).
 */
#ifndef FC_CTRL_IPAM_H
#define FC_CTRL_IPAM_H

#include "common/fc.h"

/* "255.255.255.255/32" and its NUL */
#define IPAM_CIDR_LEN 19
/* "255.255.255.255" and its NUL */
#define IPAM_ADDR_LEN 16
/* "02:fc:00:00:00:00" and its NUL */
#define IPAM_MAC_LEN 18

/* The smallest and largest prefix a tenant network may have: a /16 holds
 * 65,534 ports, a /29 six. */
#define IPAM_PREFIX_MIN 16
#define IPAM_PREFIX_MAX 29

/* The VXLAN VNI space (24 bits; 0 is not a network). */
#define IPAM_VNI_MIN 1
#define IPAM_VNI_MAX 16777215

/* The first two bytes of every MAC fincloud assigns: 0x02 is a unicast,
 * locally administered address (IEEE 802 bit 1 set, bit 0 clear), so it
 * never collides with a vendor's, and 0xfc marks it as fincloud's. */
#define IPAM_MAC_PREFIX0 0x02
#define IPAM_MAC_PREFIX1 0xfc

/* Parse dotted-quad text into *addr: 0, or -1 with err_set() naming the
 * text. Leading zeros and anything after the fourth number are refused. */
int ipam_addr_parse(const char *text, uint32_t *addr);

/* addr as dotted-quad text into out (IPAM_ADDR_LEN bytes). */
void ipam_addr_format(uint32_t addr, char out[IPAM_ADDR_LEN]);

/* Parse "A.B.C.D/P" into the network address *net and prefix length
 * *prefix: 0, or -1 with err_set() saying what is wrong (not a CIDR, a
 * prefix outside IPAM_PREFIX_MIN..IPAM_PREFIX_MAX, host bits set: the
 * message names the network address meant). */
int ipam_cidr_parse(const char *text, uint32_t *net, int *prefix);

/* The same for a security rule's source: any prefix of 0..32
 * ("0.0.0.0/0" is every address, "A.B.C.D/32" one). */
int ipam_source_parse(const char *text, uint32_t *net, int *prefix);

/* net/prefix as "A.B.C.D/P" into out (IPAM_CIDR_LEN bytes). */
void ipam_cidr_format(uint32_t net, int prefix, char out[IPAM_CIDR_LEN]);

/* Whether addr is a host address of net/prefix: inside it, neither its
 * network nor its broadcast address. */
bool ipam_is_host(uint32_t net, int prefix, uint32_t addr);

/* Whether the two networks share an address. */
bool ipam_overlap(uint32_t net1, int prefix1, uint32_t net2, int prefix2);

/* The lowest host address of net/prefix that is not gateway (0: none)
 * and not in used[0..n) (ascending, no repeats; addresses outside the
 * network are ignored) into *out: 0, or 1 when every host address is
 * taken. */
int ipam_pick(uint32_t net, int prefix, uint32_t gateway,
	      const uint32_t *used, size_t n, uint32_t *out);

/* The lowest VNI of lo..hi not in used[0..n) (ascending, no repeats) into
 * *out: 0, or 1 when the range is exhausted. */
int ipam_vni_pick(int64_t lo, int64_t hi, const int64_t *used, size_t n,
		  int64_t *out);

/* A MAC of fincloud's prefix whose last four bytes are rnd[0..3], as
 * lowercase "02:fc:xx:xx:xx:xx" into out (IPAM_MAC_LEN bytes). */
void ipam_mac_format(const uint8_t rnd[4], char out[IPAM_MAC_LEN]);

/* Whether text is a MAC fincloud assigns (its prefix, lowercase hex). */
bool ipam_mac_ours(const char *text);

#endif

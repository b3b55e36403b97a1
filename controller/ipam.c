#include <ctype.h>
#include <stdlib.h>

#include "common/err.h"
#include "controller/ipam.h"

/* One decimal byte at *p (no sign, no leading zero, 0..255), moving *p
 * past it: 0, or -1. */
static int byte_parse(const char **p, uint32_t *v)
{
	const char *s = *p;
	uint32_t n = 0;
	int digits = 0;

	while (isdigit((unsigned char)s[digits]) && digits < 4) {
		n = n * 10 + (uint32_t)(s[digits] - '0');
		digits++;
	}
	if (digits == 0 || digits > 3 || n > 255 || (digits > 1 && s[0] == '0'))
		return -1;
	*v = n;
	*p = s + digits;
	return 0;
}

/* Dotted quad at the start of text: 0 with *end after it, or -1. */
static int quad_parse(const char *text, uint32_t *addr, const char **end)
{
	const char *p = text;
	uint32_t a = 0, b;

	for (int i = 0; i < 4; i++) {
		if (byte_parse(&p, &b) < 0 || (i < 3 && *p++ != '.'))
			return -1;
		a = a << 8 | b;
	}
	*addr = a;
	*end = p;
	return 0;
}

int ipam_addr_parse(const char *text, uint32_t *addr)
{
	const char *end;

	if (quad_parse(text, addr, &end) < 0 || *end != '\0')
		return err_set("'%.32s' is not an IPv4 address (A.B.C.D)", text);
	return 0;
}

void ipam_addr_format(uint32_t addr, char out[IPAM_ADDR_LEN])
{
	snprintf(out, IPAM_ADDR_LEN, "%u.%u.%u.%u", addr >> 24,
		 (addr >> 16) & 255, (addr >> 8) & 255, addr & 255);
}

static uint32_t mask_of(int prefix)
{
	return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

/* "A.B.C.D/P" with P in lo..hi and no host bits set. */
static int cidr_parse(const char *text, int lo, int hi, const char *what,
		      uint32_t *net, int *prefix)
{
	const char *end;
	char *pend;
	uint32_t a;
	long p;

	if (quad_parse(text, &a, &end) < 0 || *end != '/' ||
	    !isdigit((unsigned char)end[1]))
		return err_set("'%.32s' is not an IPv4 CIDR (A.B.C.D/P)", text);
	p = strtol(end + 1, &pend, 10);
	if (*pend != '\0' || pend - (end + 1) > 2)
		return err_set("'%.32s' is not an IPv4 CIDR (A.B.C.D/P)", text);
	if (p < lo || p > hi)
		return err_set("'%.32s': %s prefix is /%d to /%d", text, what,
			       lo, hi);
	if ((a & ~mask_of((int)p)) != 0) {
		char want[IPAM_CIDR_LEN];

		ipam_cidr_format(a & mask_of((int)p), (int)p, want);
		return err_set("'%.32s' has host bits set: the network is %s",
			       text, want);
	}
	*net = a;
	*prefix = (int)p;
	return 0;
}

int ipam_cidr_parse(const char *text, uint32_t *net, int *prefix)
{
	return cidr_parse(text, IPAM_PREFIX_MIN, IPAM_PREFIX_MAX,
			  "a tenant network's", net, prefix);
}

int ipam_source_parse(const char *text, uint32_t *net, int *prefix)
{
	return cidr_parse(text, 0, 32, "a rule source's", net, prefix);
}

void ipam_cidr_format(uint32_t net, int prefix, char out[IPAM_CIDR_LEN])
{
	char a[IPAM_ADDR_LEN];

	ipam_addr_format(net, a);
	snprintf(out, IPAM_CIDR_LEN, "%s/%d", a, prefix);
}

bool ipam_is_host(uint32_t net, int prefix, uint32_t addr)
{
	uint32_t m = mask_of(prefix);

	return (addr & m) == net && addr != net && addr != (net | ~m);
}

bool ipam_overlap(uint32_t net1, int prefix1, uint32_t net2, int prefix2)
{
	uint32_t m = mask_of(prefix1 < prefix2 ? prefix1 : prefix2);

	return (net1 & m) == (net2 & m);
}

int ipam_pick(uint32_t net, int prefix, uint32_t gateway,
	      const uint32_t *used, size_t n, uint32_t *out)
{
	uint32_t last = net | ~mask_of(prefix);
	size_t i = 0;

	for (uint32_t a = net + 1; a < last; a++) {
		while (i < n && used[i] < a)
			i++;
		if ((i < n && used[i] == a) || a == gateway)
			continue;
		*out = a;
		return 0;
	}
	return 1;
}

int ipam_vni_pick(int64_t lo, int64_t hi, const int64_t *used, size_t n,
		  int64_t *out)
{
	size_t i = 0;

	for (int64_t v = lo; v <= hi; v++) {
		while (i < n && used[i] < v)
			i++;
		if (i < n && used[i] == v)
			continue;
		*out = v;
		return 0;
	}
	return 1;
}

void ipam_mac_format(const uint8_t rnd[4], char out[IPAM_MAC_LEN])
{
	snprintf(out, IPAM_MAC_LEN, "%02x:%02x:%02x:%02x:%02x:%02x",
		 IPAM_MAC_PREFIX0, IPAM_MAC_PREFIX1, rnd[0], rnd[1], rnd[2],
		 rnd[3]);
}

bool ipam_mac_ours(const char *text)
{
	char prefix[7];

	snprintf(prefix, sizeof(prefix), "%02x:%02x:", IPAM_MAC_PREFIX0,
		 IPAM_MAC_PREFIX1);
	if (strlen(text) != IPAM_MAC_LEN - 1 || strncmp(text, prefix, 6) != 0)
		return false;
	for (size_t i = 6; i < IPAM_MAC_LEN - 1; i++) {
		bool colon = i % 3 == 2;

		if (colon ? text[i] != ':' : !(isdigit((unsigned char)text[i]) ||
					      (text[i] >= 'a' && text[i] <= 'f')))
			return false;
	}
	return true;
}

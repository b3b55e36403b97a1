/*
 * authlimit.h - failed authentication, counted per client address.
 *
 * A client address (IPv4, host byte order) that fails authentication
 * limit times within a minute is refused (429) until that minute is over.
 * The table has a fixed number of slots, chosen by a hash of the address;
 * an address takes over a slot from another one, so the memory stays
 * bounded whatever the number of addresses. The caller serialises the
 * calls (the controller calls it under ctrl->lock).
 */
#ifndef FC_CTRL_AUTHLIMIT_H
#define FC_CTRL_AUTHLIMIT_H

#include "common/fc.h"

#define AUTHLIMIT_SLOTS 1024
#define AUTHLIMIT_WINDOW_MS 60000

struct authlimit_slot {
	uint32_t addr;
	uint32_t fails;      /* in the window that began at start_ms */
	int64_t start_ms;    /* 0: an unused slot */
	int64_t logged_ms;   /* the window last logged as refused */
};

struct authlimit {
	struct authlimit_slot slot[AUTHLIMIT_SLOTS];
	uint64_t failures_total;  /* failed authentications */
	uint64_t limited_total;   /* requests refused with 429 */
};

/* Whether addr may try to authenticate at now_ms (ms since the epoch)
 * with at most limit failures a minute (limit <= 0: no limit, as in the
 * unit tests' zeroed settings): 0 when it may, or the seconds
 * (>= 1) until it may again; the refusal is counted in limited_total and
 * logged once per address and window. */
int64_t authlimit_check(struct authlimit *al, uint32_t addr, int64_t limit,
			int64_t now_ms);

/* Count a failed authentication of addr at now_ms. */
void authlimit_fail(struct authlimit *al, uint32_t addr, int64_t now_ms);

#endif

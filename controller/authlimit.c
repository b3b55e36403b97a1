#include <arpa/inet.h>

#include "common/log.h"
#include "controller/authlimit.h"

static struct authlimit_slot *slot_of(struct authlimit *al, uint32_t addr)
{
	uint32_t h = addr * 2654435761u; /* Knuth's multiplicative hash */

	return &al->slot[(h >> 16) % AUTHLIMIT_SLOTS];
}

/* Whether now_ms is in the slot's minute (a wall clock stepped back
 * before its start ends it too). */
static bool in_window(const struct authlimit_slot *s, int64_t now_ms)
{
	return now_ms >= s->start_ms &&
	       now_ms - s->start_ms < AUTHLIMIT_WINDOW_MS;
}

int64_t authlimit_check(struct authlimit *al, uint32_t addr, int64_t limit,
			int64_t now_ms)
{
	struct authlimit_slot *s = slot_of(al, addr);
	int64_t wait_ms;
	struct in_addr a;
	char text[INET_ADDRSTRLEN];

	if (limit <= 0 || s->start_ms == 0 || s->addr != addr ||
	    !in_window(s, now_ms) ||
	    (int64_t)s->fails < limit)
		return 0;
	al->limited_total++;
	wait_ms = s->start_ms + AUTHLIMIT_WINDOW_MS - now_ms;
	if (s->logged_ms != s->start_ms) {
		s->logged_ms = s->start_ms;
		a.s_addr = htonl(addr);
		if (inet_ntop(AF_INET, &a, text, sizeof(text)) == NULL)
			snprintf(text, sizeof(text), "?");
		log_warn("authentication: %s failed %" PRIu32 " times within "
			 "a minute: refusing its requests (429) for %" PRId64
			 " s", text, s->fails, (wait_ms + 999) / 1000);
	}
	return (wait_ms + 999) / 1000;
}

void authlimit_fail(struct authlimit *al, uint32_t addr, int64_t now_ms)
{
	struct authlimit_slot *s = slot_of(al, addr);

	al->failures_total++;
	if (s->start_ms == 0 || s->addr != addr || !in_window(s, now_ms)) {
		s->addr = addr;
		s->fails = 0;
		s->start_ms = now_ms > 0 ? now_ms : 1;
		s->logged_ms = 0;
	}
	s->fails++;
}

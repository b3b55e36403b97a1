/* The pure decisions of host failure handling (see hapolicy.h). */
#include <stdlib.h>
#include <string.h>

#include "controller/hapolicy.h"

static const char *const ha_names[HA_NSTATES] = {
	"ok", "suspect", "failed", "fenced",
};

const char *ha_state_name(enum ha_state s)
{
	return (unsigned)s < HA_NSTATES ? ha_names[s] : "?";
}

int ha_state_parse(const char *name, enum ha_state *out)
{
	for (int i = 0; i < HA_NSTATES; i++)
		if (strcmp(name, ha_names[i]) == 0) {
			*out = (enum ha_state)i;
			return 0;
		}
	return -1;
}

static bool alive(const struct ha_seen *h)
{
	return h->state == HA_OK || h->state == HA_SUSPECT;
}

/* Whether the silent wave host i belongs to is more than half of the
 * live hosts of its pool (pool true) or of all hosts; the counts go to
 * *wave and *of. */
static bool wave_big(const struct ha_seen *h, size_t n, size_t i,
		     int64_t now_ms, const struct ha_rules *r, bool pool,
		     size_t *wave, size_t *of)
{
	int64_t quiet = r->suspect_intervals * r->interval_ms;

	*wave = *of = 0;
	for (size_t j = 0; j < n; j++) {
		int64_t d = h[j].last_seen_ms - h[i].last_seen_ms;

		if (!alive(&h[j]) || (pool && strcmp(h[j].pool, h[i].pool)))
			continue;
		(*of)++;
		if (now_ms - h[j].last_seen_ms >= quiet &&
		    (d < 0 ? -d : d) <= r->interval_ms)
			(*wave)++;
	}
	return *wave * 2 > *of;
}

void ha_detect(const struct ha_seen *h, size_t n, int64_t now_ms,
	       const struct ha_rules *r, struct ha_verdict *out)
{
	int64_t quiet = r->suspect_intervals * r->interval_ms;
	int64_t dead = r->fail_intervals * r->interval_ms;

	for (size_t i = 0; i < n; i++) {
		struct ha_verdict *v = &out[i];
		int64_t silent = now_ms - h[i].last_seen_ms;
		size_t wave, of;
		bool in_pool;

		v->to = h[i].state;
		v->held = false;
		v->why[0] = '\0';
		if (!alive(&h[i]))
			continue;
		if (silent < quiet) {
			if (h[i].state == HA_SUSPECT) {
				v->to = HA_OK;
				snprintf(v->why, sizeof(v->why), "heartbeats "
					 "again");
			}
			continue;
		}
		if (h[i].state == HA_OK) {
			v->to = HA_SUSPECT;
			snprintf(v->why, sizeof(v->why), "no heartbeat for "
				 "%" PRId64 " ms (%" PRId64 " intervals of %"
				 PRId64 " ms)", silent, r->suspect_intervals,
				 r->interval_ms);
			continue;
		}
		if (h[i].held) {
			v->held = true; /* why empty: as said before */
			continue;
		}
		if (silent < dead)
			continue;
		in_pool = wave_big(h, n, i, now_ms, r, true, &wave, &of);
		if (in_pool || wave_big(h, n, i, now_ms, r, false, &wave, &of)) {
			v->held = true;
			snprintf(v->why, sizeof(v->why), "partition guard: %zu "
				 "of %zu live hosts%s%s%s went silent within "
				 "one heartbeat interval; the controller may "
				 "have lost the network, not they their "
				 "lives: held suspect (if they are dead, "
				 "'finctl host evacuate' each)", wave, of,
				 in_pool ? " of pool '" : "",
				 in_pool ? h[i].pool : "", in_pool ? "'" : "");
			continue;
		}
		v->to = HA_FAILED;
		snprintf(v->why, sizeof(v->why), "no heartbeat for %" PRId64
			 " ms (%" PRId64 " intervals of %" PRId64 " ms)",
			 silent, r->fail_intervals, r->interval_ms);
	}
}

/* The claims of VMs, ordered largest first (see ha_reserve_check()). */
struct ranked {
	double key;
	size_t vm;
};

static int by_key_desc(const void *x, const void *y)
{
	const struct ranked *a = x, *b = y;

	if (a->key != b->key)
		return a->key < b->key ? 1 : -1;
	return a->vm < b->vm ? -1 : a->vm > b->vm;
}

/* Whether the HA VMs of host h fit on the other hosts (free: a scratch
 * array of nhosts * 3). */
static bool fits_elsewhere(const struct ha_room *hosts, size_t nhosts,
			   const struct ranked *order, size_t nvms,
			   const struct ha_claim *vms, size_t h, double *free)
{
	for (size_t j = 0; j < nhosts; j++)
		for (int d = 0; d < 3; d++)
			free[j * 3 + d] = hosts[j].cap[d] - hosts[j].used[d];
	for (size_t k = 0; k < nvms; k++) {
		const struct ha_claim *v = &vms[order[k].vm];
		size_t best = nhosts;

		if (v->host != h)
			continue;
		for (size_t j = 0; j < nhosts; j++) {
			bool ok = j != h;

			for (int d = 0; ok && d < 3; d++)
				ok = v->req[d] <= free[j * 3 + d] + 1e-9;
			if (ok && (best == nhosts ||
				   free[j * 3 + 1] > free[best * 3 + 1]))
				best = j;
		}
		if (best == nhosts)
			return false;
		for (int d = 0; d < 3; d++)
			free[best * 3 + d] -= v->req[d];
	}
	return true;
}

int ha_reserve_check(const struct ha_room *hosts, size_t nhosts,
		     const struct ha_claim *vms, size_t nvms, size_t *bad)
{
	struct ranked *order = calloc(nvms + 1, sizeof(*order));
	double *room = calloc(nhosts * 3 + 1, sizeof(*room));
	double total[3] = {0, 0, 0};
	int ret = 0;

	if (order == NULL || room == NULL) {
		ret = -1;
		goto out;
	}
	for (size_t j = 0; j < nhosts; j++)
		for (int d = 0; d < 3; d++)
			total[d] += hosts[j].cap[d];
	for (size_t k = 0; k < nvms; k++) {
		order[k].vm = k;
		for (int d = 0; d < 3; d++)
			order[k].key += total[d] > 0 ? vms[k].req[d] / total[d]
						     : 0;
	}
	qsort(order, nvms, sizeof(*order), by_key_desc);
	for (size_t h = 0; h < nhosts; h++)
		if (!fits_elsewhere(hosts, nhosts, order, nvms, vms, h, room)) {
			*bad = h;
			ret = 1;
			break;
		}
out:
	free(order);
	free(room);
	return ret;
}

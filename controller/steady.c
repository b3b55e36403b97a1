#include <stdlib.h>
#include <string.h>

#include "controller/report.h"
#include "controller/steady.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv_bytes(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* s and its terminating NUL: "ab","c" and "a","bc" differ */
static uint64_t fnv_str(uint64_t h, const char *s)
{
	return fnv_bytes(h, s ? s : "", strlen(s ? s : "") + 1);
}

static int dom_cmp(const void *a, const void *b)
{
	const struct report_dom *const *x = a, *const *y = b;

	return strcmp((*x)->vm_id, (*y)->vm_id);
}

int steady_report_digest(const char *status, const char *reason,
			 bool listed, const struct report_dom *d, size_t n,
			 uint64_t *out)
{
	const struct report_dom **p = malloc((n ? n : 1) * sizeof(*p));
	uint64_t h = fnv_str(FNV_OFFSET, status);
	unsigned char l = listed;

	if (p == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		p[i] = &d[i];
	/* libvirt's order of the same domains may change */
	qsort(p, n, sizeof(*p), dom_cmp);
	h = fnv_str(h, reason);
	h = fnv_bytes(h, &l, 1);
	for (size_t i = 0; i < n; i++) {
		/* a domain named twice: its last entry counts, and the
		 * order would matter */
		if (i > 0 && strcmp(p[i - 1]->vm_id, p[i]->vm_id) == 0) {
			free(p);
			return -1;
		}
		h = fnv_str(h, p[i]->vm_id);
		h = fnv_str(h, p[i]->name);
		h = fnv_str(h, p[i]->state);
	}
	free(p);
	*out = h;
	return 0;
}

uint64_t steady_usage_digest(const struct report_dom *d, size_t n)
{
	uint64_t h = FNV_OFFSET;

	for (size_t i = 0; i < n; i++) {
		h = fnv_bytes(h, &d[i].cpu_pct, sizeof(d[i].cpu_pct));
		h = fnv_bytes(h, &d[i].balloon_mib, sizeof(d[i].balloon_mib));
		h = fnv_bytes(h, &d[i].disk_bytes, sizeof(d[i].disk_bytes));
	}
	return h;
}

bool steady_match(const struct steady_row *s, uint64_t report, int64_t gen,
		  int64_t now_ms)
{
	return s->full_ms > 0 && s->report == report && s->gen == gen &&
	       now_ms >= s->full_ms && now_ms - s->full_ms < STEADY_FULL_MS;
}

#include "common/util.h"
#include "controller/enrol.h"

const char *const enrol_inv_names[ENROL_NINV] = {
	"vcpus", "mem_mib", "mem_free_mib", "disk_gib", "disk_free_gib",
};

const int64_t enrol_inv_max[ENROL_NINV] = {
	4096, INT64_C(64) << 20, INT64_C(64) << 20, INT64_C(1) << 20,
	INT64_C(1) << 20,
};

const char *const enrol_inv_max_text[ENROL_NINV] = {
	"4096 vCPUs", "64 TiB", "64 TiB", "1 PiB", "1 PiB",
};

/* Append "; " (unless out is empty) and the formatted text to out
 * (size bytes, truncated). */
static void note(char *out, size_t size, const char *fmt, ...) FC_PRINTF(3, 4);
static void note(char *out, size_t size, const char *fmt, ...)
{
	size_t len = strlen(out);
	va_list ap;

	if (len && len + 2 < size) {
		memcpy(out + len, "; ", 3);
		len += 2;
	}
	if (len + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(out + len, size - len, fmt, ap);
	va_end(ap);
}

int enrol_jump(const struct enrol_figures *base,
	       const struct enrol_figures *rep, char *why, size_t size)
{
	why[0] = '\0';
	if (base->vcpus > 0 && rep->vcpus > base->vcpus * ENROL_JUMP_FACTOR)
		note(why, size, "vcpus %" PRId64 " -> %" PRId64, base->vcpus,
		     rep->vcpus);
	if (base->mem_mib > 0 &&
	    rep->mem_mib > base->mem_mib * ENROL_JUMP_FACTOR)
		note(why, size, "mem_mib %" PRId64 " -> %" PRId64,
		     base->mem_mib, rep->mem_mib);
	if (why[0])
		note(why, size, "more than %dx the registered figures",
		     ENROL_JUMP_FACTOR);
	return why[0] ? 1 : 0;
}

static bool same_where(const struct enrol_where *x, const struct enrol_where *y)
{
	return strcmp(x->machine_id, y->machine_id) == 0 &&
	       strcmp(x->migration_uri, y->migration_uri) == 0 &&
	       strcmp(x->pool, y->pool) == 0;
}

enum enrol_verdict enrol_decide(const struct enrol_known *known,
				const struct enrol_where *a)
{
	if (known == NULL)
		return ENROL_NEW;
	if (!known->has_credential)
		return ENROL_TAKE;
	if (known->request[0] && same_where(&known->req, a)) {
		if (strcmp(known->request, "rejected") == 0)
			return ENROL_REJECTED;
		if (strcmp(known->request, "approved") == 0)
			return ENROL_TAKE;
	}
	return ENROL_PENDING;
}

void enrol_changes(const struct enrol_known *known,
		   const struct enrol_where *a,
		   const struct enrol_figures *inv, char *out, size_t size)
{
	const struct enrol_where *h = &known->host;
	char jump[160];

	out[0] = '\0';
	if (strcmp(h->machine_id, a->machine_id) != 0)
		note(out, size, "machine_id '%s' -> '%s'",
		     h->machine_id[0] ? h->machine_id : "unknown",
		     a->machine_id[0] ? a->machine_id : "not sent");
	if (strcmp(h->migration_uri, a->migration_uri) != 0)
		note(out, size, "migration_uri '%s' -> '%s'", h->migration_uri,
		     a->migration_uri);
	if (strcmp(h->pool, a->pool) != 0)
		note(out, size, "pool '%s' -> '%s'", h->pool, a->pool);
	if (enrol_jump(&known->base, inv, jump, sizeof(jump)))
		note(out, size, "%s", jump);
	if (out[0] == '\0')
		note(out, size, "nothing but the credential: the agent has "
		     "none (its credential file was lost or removed)");
}

/* VM references: an id, a unique id prefix or a name (vmref.h). */
#include <ctype.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/util.h"
#include "controller/db.h"
#include "controller/store.h"
#include "controller/vmref.h"

#define VMREF_MAX_LEN 64       /* longer than any id, name or prefix */
#define VMREF_PREFIX_MIN 4     /* hex digits a prefix needs */
#define VMREF_SHOWN 5          /* candidates an ambiguity names */

/* ref lowercased into out when it may be an id prefix (hex digits and
 * dashes, at least VMREF_PREFIX_MIN digits); false when it may not. */
static bool vmref_prefix(const char *ref, char out[VMREF_MAX_LEN + 1])
{
	size_t digits = 0, i;

	for (i = 0; ref[i] && i < VMREF_MAX_LEN; i++) {
		unsigned char ch = (unsigned char)ref[i];

		if (ch != '-' && !isxdigit(ch))
			return false;
		digits += ch != '-';
		out[i] = (char)tolower(ch);
	}
	out[i] = '\0';
	return digits >= VMREF_PREFIX_MIN && ref[i] == '\0';
}

bool vmref_is_id(const char *ref)
{
	return strlen(ref) == 36 && uuid_prefix(ref, false);
}

static void vmref_missing(struct api_ctx *c, const char *ref,
			  const char *tenant)
{
	api_err(c, 404, "not_found", NULL, "VM '%.64s'%s%.64s%s does not "
		"exist: list VMs with 'finctl vm list'", ref,
		tenant ? " of tenant '" : "", tenant ? tenant : "",
		tenant ? "'" : "");
}

int vmref_resolve(struct api_ctx *c, const char *ref, const char *tenant,
		  char id[VMREF_ID_LEN])
{
	char prefix[VMREF_MAX_LEN + 1];
	struct buf names;
	struct db_stmt *s;
	int n = 0, rc;

	if (api_is_tenant(c)) {
		if (tenant && strcmp(tenant, c->who.tenant) != 0) {
			vmref_missing(c, ref, tenant);
			return 0;
		}
		tenant = c->who.tenant;
	}
	if (strlen(ref) > VMREF_MAX_LEN) {
		vmref_missing(c, ref, tenant);
		return 0;
	}
	/* the exact id first, then names and prefixes, oldest first */
	s = api_stmt(c, "SELECT id, tenant, id = ?1 FROM vms WHERE (id = ?1 "
		     "OR name = ?1 OR (?2 IS NOT NULL AND substr(id, 1, "
		     "length(?2)) = ?2)) AND (?3 IS NULL OR tenant = ?3) "
		     "ORDER BY id = ?1 DESC, seq LIMIT ?4");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, ref);
	store_bind_text(s, 2, vmref_prefix(ref, prefix) ? prefix : NULL);
	store_bind_text(s, 3, tenant);
	db_bind_int64(s, 4, VMREF_SHOWN + 1);
	buf_init(&names, 4096);
	while ((rc = db_step(s)) == DB_ROW) {
		if (n == 0)
			str_copy(id, VMREF_ID_LEN, store_col_text(s, 0));
		if (n == 0 && db_col_int(s, 2))
			break;  /* an exact id names one VM */
		if (n < VMREF_SHOWN)
			buf_printf(&names, "%s%s (tenant '%s')",
				   n ? ", " : "", store_col_text(s, 0),
				   store_col_text(s, 1));
		n++;
	}
	if (rc != DB_ROW && rc != DB_DONE) {
		store_err(c->ctrl->st, "reading the VMs");
		api_err_internal(c, "reading the VMs");
		rc = -1;
	} else if (rc == DB_ROW || n == 1) {
		rc = 1;
	} else if (n == 0) {
		vmref_missing(c, ref, tenant);
		rc = 0;
	} else {
		api_err(c, 409, "ambiguous", NULL, "VM '%.64s' is ambiguous: "
			"it names %s%d VMs: %s%s: give an id (or a longer "
			"prefix of one), or the tenant (?tenant=, finctl "
			"--tenant)", ref, n > VMREF_SHOWN ? "more than " : "",
			n > VMREF_SHOWN ? VMREF_SHOWN : n, buf_str(&names),
			n > VMREF_SHOWN ? ", ..." : "");
		rc = 0;
	}
	db_reset(s);
	buf_free(&names);
	return rc;
}

/* Idempotency keys of creates (idem.h). */

#include "common/util.h"
#include "controller/auth.h"
#include "controller/db.h"
#include "controller/idem.h"
#include "controller/store.h"

static bool idem_key_ok(const char *key)
{
	size_t n = strlen(key);

	if (n == 0 || n > IDEM_KEY_MAX)
		return false;
	for (; *key; key++)
		if (*key < 0x21 || *key > 0x7e)
			return false;
	return true;
}

/* sql prepared with the caller as ?1, the request's key as ?2 and the
 * SHA-256 of its body as ?3; NULL with a 500 answer. */
static struct db_stmt *idem_stmt(struct api_ctx *c, const char *sql)
{
	char sha[AUTH_HASH_LEN + 1];
	struct db_stmt *s = NULL;

	if (auth_sha256_hex(c->body ? c->body : "", c->body ? c->body_len : 0,
			    sha) < 0)
		api_err_internal(c, "hashing the request body");
	else if ((s = api_stmt(c, sql)) != NULL)
		store_bind_texts(s, 1, (const char *const[]){
			c->who.token_id, c->idempotency_key, sha}, 3);
	return s;
}

int idem_check(struct api_ctx *c, char id[IDEM_ID_LEN])
{
	const char *key = c->idempotency_key;
	struct db_stmt *s;
	int rc;

	if (key == NULL)
		return 0;
	if (!idem_key_ok(key)) {
		api_err(c, 400, "invalid_field", "Idempotency-Key", "header "
			"Idempotency-Key: 1 to %d printable ASCII characters "
			"without spaces", IDEM_KEY_MAX);
		return -1;
	}
	s = api_stmt(c, "DELETE FROM idempotency WHERE created_ms < ?");
	if (s == NULL)
		return -1;
	db_bind_int64(s, 1, time_wall_ms() - IDEM_TTL_MS);
	if (api_step_done(c, s, "expiring idempotency keys") < 0 ||
	    (s = idem_stmt(c, "SELECT body_sha256 = ?3, created_id FROM "
			   "idempotency WHERE caller = ?1 AND key = ?2")) == NULL)
		return -1;
	rc = api_row(c, s, "reading the idempotency key");
	if (rc <= 0)
		return rc;
	if (!db_col_int(s, 0)) {
		api_err(c, 409, "idempotency_conflict", "Idempotency-Key",
			"idempotency key '%s' was used for another request "
			"body (it created '%s'): use a new key for a new "
			"request", key, store_col_text(s, 1));
		rc = -1;
	} else {
		str_copy(id, IDEM_ID_LEN, store_col_text(s, 1));
	}
	db_reset(s);
	return rc;
}

int idem_record(struct api_ctx *c, const char *id)
{
	struct db_stmt *s;

	if (c->idempotency_key == NULL)
		return 0;
	s = idem_stmt(c, "INSERT INTO idempotency(caller, key, body_sha256, "
		      "created_id, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)");
	if (s) {
		store_bind_text(s, 4, id);
		db_bind_int64(s, 5, time_wall_ms());
	}
	return s ? api_step_done(c, s, "recording the idempotency key") : -1;
}

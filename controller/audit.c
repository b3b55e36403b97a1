#include <sqlite3.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/util.h"
#include "controller/audit.h"
#include "controller/store.h"

static const char zero_hash[AUTH_HASH_LEN + 1] =
	"0000000000000000000000000000000000000000000000000000000000000000";

int audit_hash(const char *prev, const struct audit_entry *e,
	       char out[AUTH_HASH_LEN + 1])
{
	struct buf b;
	int rc;

	buf_init(&b, 1 << 16);
	if (buf_printf(&b, "%s|%" PRId64 "|%" PRId64 "|%s|%s|%s|%d|%s", prev,
		       e->seq, e->time_ms, e->actor, e->action, e->target,
		       e->result, e->request_id) < 0) {
		buf_free(&b);
		return -1;
	}
	rc = auth_sha256_hex(b.data, b.len, out);
	buf_free(&b);
	return rc;
}

static int audit_head(struct store *st, int64_t *seq, char hash[AUTH_HASH_LEN + 1])
{
	sqlite3_stmt *s = store_stmt(st, "SELECT seq, hash FROM audit "
					 "ORDER BY seq DESC LIMIT 1");
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(s, 0);
		str_copy(hash, AUTH_HASH_LEN + 1, store_col_text(s, 1));
	} else if (rc == SQLITE_DONE) {
		*seq = 0;
		str_copy(hash, AUTH_HASH_LEN + 1, zero_hash);
	} else {
		return store_err(st, "reading the audit log");
	}
	sqlite3_reset(s);
	return 0;
}

int audit_append(struct store *st, const char *actor, const char *action,
		 const char *target, int result, const char *request_id)
{
	char prev[AUTH_HASH_LEN + 1], hash[AUTH_HASH_LEN + 1], head[96];
	struct audit_entry e;
	sqlite3_stmt *s;
	int64_t seq = 0;

	if (audit_head(st, &seq, prev) < 0)
		return -1;
	e.seq = seq + 1;
	e.time_ms = time_wall_ms();
	e.actor = actor;
	e.action = action;
	e.target = target;
	e.result = result;
	e.request_id = request_id;
	if (audit_hash(prev, &e, hash) < 0)
		return -1;
	s = store_stmt(st, "INSERT INTO audit(seq, time_ms, actor, action, "
			   "target, result, request_id, prev_hash, hash) "
			   "VALUES (?,?,?,?,?,?,?,?,?)");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, e.seq);
	sqlite3_bind_int64(s, 2, e.time_ms);
	store_bind_text(s, 3, actor);
	store_bind_text(s, 4, action);
	store_bind_text(s, 5, target);
	sqlite3_bind_int(s, 6, result);
	store_bind_text(s, 7, request_id);
	store_bind_text(s, 8, prev);
	store_bind_text(s, 9, hash);
	if (sqlite3_step(s) != SQLITE_DONE)
		return store_err(st, "appending to the audit log");
	snprintf(head, sizeof(head), "%" PRId64 ":%s", e.seq, hash);
	s = store_stmt(st, "INSERT INTO meta(key, value) VALUES "
			   "('audit_head', ?) ON CONFLICT(key) DO UPDATE "
			   "SET value = excluded.value");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, head);
	if (sqlite3_step(s) != SQLITE_DONE)
		return store_err(st, "recording the audit head");
	return 0;
}

int audit_event(struct store *st, const char *action, const char *target,
		const char *request_id)
{
	return audit_append(st, "controller", action, target, 0,
			    request_id ? request_id : "");
}

static void audit_bad(struct audit_report *r, int64_t seq, const char *fmt, ...)
	FC_PRINTF(3, 4);
static void audit_bad(struct audit_report *r, int64_t seq, const char *fmt, ...)
{
	va_list ap;

	r->ok = false;
	r->bad_seq = seq;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

int audit_verify(struct store *st, struct audit_report *r)
{
	char prev[AUTH_HASH_LEN + 1], hash[AUTH_HASH_LEN + 1];
	char want_head[96] = "";
	sqlite3_stmt *s;
	int64_t expect = 1;
	int rc;

	memset(r, 0, sizeof(*r));
	r->ok = true;
	str_copy(prev, sizeof(prev), zero_hash);
	/* no head yet: an empty log */
	rc = store_find(st, "SELECT value FROM meta WHERE key = ?",
			"audit_head", &s, "reading the audit log's head");
	if (rc < 0)
		return -1;
	if (rc > 0) {
		str_copy(want_head, sizeof(want_head), store_col_text(s, 0));
		sqlite3_reset(s);
	}
	s = store_stmt(st, "SELECT seq, time_ms, actor, action, target, "
			   "result, request_id, prev_hash, hash FROM audit "
			   "ORDER BY seq");
	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct audit_entry e = {
			.seq = sqlite3_column_int64(s, 0),
			.time_ms = sqlite3_column_int64(s, 1),
			.actor = store_col_text(s, 2),
			.action = store_col_text(s, 3),
			.target = store_col_text(s, 4),
			.result = sqlite3_column_int(s, 5),
			.request_id = store_col_text(s, 6),
		};

		r->entries++;
		if (e.seq != expect) {
			audit_bad(r, expect, "entry %" PRId64 " is missing "
				  "(the next entry is %" PRId64 ")",
				  expect, e.seq);
			break;
		}
		if (strcmp(store_col_text(s, 7), prev) != 0) {
			audit_bad(r, e.seq, "entry %" PRId64 " does not "
				  "follow the previous entry's hash", e.seq);
			break;
		}
		if (audit_hash(prev, &e, hash) < 0) {
			sqlite3_reset(s);
			return -1;
		}
		if (strcmp(hash, store_col_text(s, 8)) != 0) {
			audit_bad(r, e.seq, "entry %" PRId64 " was modified "
				  "after it was written (its hash does not "
				  "match its content)", e.seq);
			break;
		}
		str_copy(prev, sizeof(prev), hash);
		expect++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqlite3_reset(s);
		return store_err(st, "reading the audit log");
	}
	sqlite3_reset(s);
	if (r->ok && want_head[0]) {
		char have[96];

		snprintf(have, sizeof(have), "%" PRId64 ":%s", expect - 1, prev);
		if (strcmp(have, want_head) != 0)
			audit_bad(r, expect, "the log ends at entry %" PRId64
				  " but the recorded head is %.24s...: entries "
				  "were removed from the end", expect - 1,
				  want_head);
	}
	return 0;
}

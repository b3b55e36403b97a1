#include "common/buf.h"
#include "common/err.h"
#include "common/util.h"
#include "controller/audit.h"
#include "controller/db.h"
#include "controller/store.h"

static const char zero_hash[AUTH_HASH_LEN + 1] =
	"0000000000000000000000000000000000000000000000000000000000000000";

/* One netstring: "LEN:BYTES,". */
static int put_field(struct buf *b, const char *s)
{
	if (buf_printf(b, "%zu:", strlen(s)) < 0 || buf_puts(b, s) < 0)
		return -1;
	return buf_puts(b, ",");
}

static int put_num(struct buf *b, int64_t v)
{
	char n[24];

	snprintf(n, sizeof(n), "%" PRId64, v);
	return put_field(b, n);
}

/* Format 2: the tag, then every field as a netstring. */
static int encode_v2(struct buf *b, const char *prev,
		     const struct audit_entry *e)
{
	if (put_field(b, "fincloud-audit-2") < 0 || put_field(b, prev) < 0 ||
	    put_num(b, e->seq) < 0 || put_num(b, e->time_ms) < 0 ||
	    put_field(b, e->actor) < 0 || put_field(b, e->action) < 0 ||
	    put_field(b, e->target) < 0 || put_num(b, e->result) < 0 ||
	    put_field(b, e->request_id) < 0)
		return -1;
	return 0;
}

int audit_hash(const char *prev, const struct audit_entry *e, int format,
	       char out[AUTH_HASH_LEN + 1])
{
	struct buf b;
	int rc = -1;

	buf_init(&b, 1 << 16);
	if (format == 1) {
		/* ambiguous ('|' in a field), kept only to verify the
		 * entries written before the format 2 boundary */
		if (buf_printf(&b, "%s|%" PRId64 "|%" PRId64 "|%s|%s|%s|%d|%s",
			       prev, e->seq, e->time_ms, e->actor, e->action,
			       e->target, e->result, e->request_id) < 0)
			goto out;
	} else if (format == 2) {
		if (encode_v2(&b, prev, e) < 0)
			goto out;
	} else {
		err_set("audit chain format %d is unknown", format);
		goto out;
	}
	rc = auth_sha256_hex(b.data, b.len, out);
out:
	buf_free(&b);
	return rc;
}

int audit_head_parse(const char *s, struct audit_head *out)
{
	char seq[24];
	const char *colon, *h;
	size_t n, hl;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	colon = strchr(s, ':');
	if (colon == NULL || colon == s || (n = (size_t)(colon - s)) >= sizeof(seq))
		return err_set("an audit anchor is SEQ:HASH (entry number, "
			       "colon, 64 hex digits)");
	memcpy(seq, s, n);
	seq[n] = '\0';
	if (parse_int64(seq, &out->seq) < 0 || out->seq < 0)
		return err_set("audit anchor: '%s' is not an entry number", seq);
	h = colon + 1;
	hl = strspn(h, "0123456789abcdef");
	if (hl != AUTH_HASH_LEN || h[hl + strspn(h + hl, " \t\r\n")] != '\0')
		return err_set("audit anchor: the hash must be %d lowercase hex "
			       "digits", AUTH_HASH_LEN);
	memcpy(out->hash, h, AUTH_HASH_LEN);
	out->hash[AUTH_HASH_LEN] = '\0';
	return 0;
}

/* Read the meta value of key into out (size n): 1, 0 when missing, -1. */
static int meta_get(struct store *st, const char *key, char *out, size_t n)
{
	struct db_stmt *s;
	int r = store_find(st, "SELECT value FROM meta WHERE key = ?", key, &s,
			   "reading the audit log's meta data");

	if (r == 1) {
		str_copy(out, n, store_col_text(s, 0));
		db_reset(s);
	}
	return r;
}

int audit_head_get(struct store *st, struct audit_head *out)
{
	char v[AUDIT_HEAD_TEXT + 8];
	int r = meta_get(st, "audit_head", v, sizeof(v));

	if (r == 1 && audit_head_parse(v, out) < 0)
		return err_prefix("the recorded audit head '%.40s'", v);
	return r;
}

static int audit_last(struct store *st, int64_t *seq, char hash[AUTH_HASH_LEN + 1])
{
	struct db_stmt *s = store_stmt(st, "SELECT seq, hash FROM audit "
					 "ORDER BY seq DESC LIMIT 1");
	int rc;

	if (s == NULL)
		return -1;
	rc = db_step(s);
	if (rc == DB_ROW) {
		*seq = db_col_int64(s, 0);
		str_copy(hash, AUTH_HASH_LEN + 1, store_col_text(s, 1));
	} else if (rc == DB_DONE) {
		*seq = 0;
		str_copy(hash, AUTH_HASH_LEN + 1, zero_hash);
	} else {
		return store_err(st, "reading the audit log");
	}
	db_reset(s);
	return 0;
}

/* Record head (seq:hash of the last entry) in the meta table. */
static int audit_head_set(struct store *st, int64_t seq, const char *hash)
{
	char head[AUDIT_HEAD_TEXT];
	struct db_stmt *s;

	snprintf(head, sizeof(head), "%" PRId64 ":%s", seq, hash);
	s = store_stmt1(st, "INSERT INTO meta(key, value) VALUES "
			    "('audit_head', ?) ON CONFLICT(key) DO UPDATE "
			    "SET value = excluded.value",
			head);
	if (s == NULL)
		return -1;
	return store_done(st, s, "recording the audit head");
}

int audit_append(struct store *st, const char *actor, const char *action,
		 const char *target, int result, const char *request_id)
{
	char prev[AUTH_HASH_LEN + 1], hash[AUTH_HASH_LEN + 1];
	struct audit_entry e;
	struct db_stmt *s;
	int64_t seq = 0;

	if (audit_last(st, &seq, prev) < 0)
		return -1;
	e.seq = seq + 1;
	e.time_ms = time_wall_ms();
	e.actor = actor;
	e.action = action;
	e.target = target;
	e.result = result;
	e.request_id = request_id;
	if (audit_hash(prev, &e, AUDIT_FORMAT, hash) < 0)
		return -1;
	s = store_stmt(st, "INSERT INTO audit(seq, time_ms, actor, action, "
			   "target, result, request_id, prev_hash, hash) "
			   "VALUES (?,?,?,?,?,?,?,?,?)");
	if (s == NULL)
		return -1;
	db_bind_int64(s, 1, e.seq);
	db_bind_int64(s, 2, e.time_ms);
	store_bind_text(s, 3, actor);
	store_bind_text(s, 4, action);
	store_bind_text(s, 5, target);
	db_bind_int64(s, 6, result);
	store_bind_text(s, 7, request_id);
	store_bind_text(s, 8, prev);
	store_bind_text(s, 9, hash);
	if (store_done(st, s, "appending to the audit log") < 0)
		return -1;
	return audit_head_set(st, e.seq, hash);
}

/* Entries per statement of audit_events(), the unused rows NULL. */
#define AUDIT_ROWS 32
#define A9 "(?,?,?,?,?,?,?,?,?)"
#define A9x4 A9 "," A9 "," A9 "," A9
#define A9x16 A9x4 "," A9x4 "," A9x4 "," A9x4

int audit_events(struct store *st, const char *const *action,
		 const char *const *target, size_t n, const char *request_id)
{
	char prev[AUTH_HASH_LEN + 1], hash[AUTH_HASH_LEN + 1];
	struct db_stmt *s = NULL;
	int64_t seq = 0;
	size_t k = 0;

	if (n == 0)
		return 0;
	if (audit_last(st, &seq, prev) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct audit_entry e = {
			.seq = seq + 1 + (int64_t)i, .time_ms = time_wall_ms(),
			.actor = "controller", .action = action[i],
			.target = target[i], .result = 0,
			.request_id = request_id ? request_id : "",
		};
		int b = 1 + 9 * (int)k;

		if (audit_hash(prev, &e, AUDIT_FORMAT, hash) < 0)
			return -1;
		if (k == 0 &&
		    (s = store_stmt(st, "WITH a(seq, t, actor, action, target, "
				    "result, rid, prev, hash) AS (VALUES " A9x16
				    "," A9x16 ") INSERT INTO audit(seq, time_ms, "
				    "actor, action, target, result, request_id, "
				    "prev_hash, hash) SELECT CAST(a.seq AS "
				    "INTEGER), CAST(a.t AS INTEGER), a.actor, "
				    "a.action, a.target, CAST(a.result AS "
				    "INTEGER), a.rid, a.prev, a.hash FROM a WHERE "
				    "a.seq IS NOT NULL")) == NULL)
			return -1;
		db_bind_int64(s, b, e.seq);
		db_bind_int64(s, b + 1, e.time_ms);
		store_bind_texts(s, b + 2, (const char *[]){e.actor, e.action,
							     e.target}, 3);
		db_bind_int64(s, b + 5, 0);
		store_bind_texts(s, b + 6, (const char *[]){e.request_id, prev,
							     hash}, 3);
		str_copy(prev, sizeof(prev), hash);
		if ((++k == AUDIT_ROWS || i + 1 == n) &&
		    store_done(st, s, "appending to the audit log") < 0)
			return -1;
		if (k == AUDIT_ROWS)
			k = 0;
	}
	return audit_head_set(st, seq + (int64_t)n, hash);
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

/* Walk the entries in order; stops at the first that fails. Records in
 * *at the hash of entry at->seq when the walk passes it. */
static int verify_chain(struct store *st, int64_t boundary,
			struct audit_head *at, bool *at_seen,
			struct audit_report *r)
{
	char prev[AUTH_HASH_LEN + 1], hash[AUTH_HASH_LEN + 1];
	struct db_stmt *s;
	int64_t expect = 1;
	int rc, ret = -1;

	str_copy(prev, sizeof(prev), zero_hash);
	*at_seen = at->seq == 0;
	str_copy(at->hash, sizeof(at->hash), zero_hash);
	s = store_stmt(st, "SELECT seq, time_ms, actor, action, target, "
			   "result, request_id, prev_hash, hash FROM audit "
			   "ORDER BY seq");
	if (s == NULL)
		return -1;
	while ((rc = db_step(s)) == DB_ROW) {
		struct audit_entry e = {
			.seq = db_col_int64(s, 0),
			.time_ms = db_col_int64(s, 1),
			.actor = store_col_text(s, 2),
			.action = store_col_text(s, 3),
			.target = store_col_text(s, 4),
			.result = db_col_int(s, 5),
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
		if (audit_hash(prev, &e, e.seq < boundary ? 1 : 2, hash) < 0)
			goto out;
		if (strcmp(hash, store_col_text(s, 8)) != 0) {
			audit_bad(r, e.seq, "entry %" PRId64 " was modified "
				  "after it was written (its hash does not "
				  "match its content)", e.seq);
			break;
		}
		str_copy(prev, sizeof(prev), hash);
		if (e.seq == at->seq) {
			str_copy(at->hash, sizeof(at->hash), hash);
			*at_seen = true;
		}
		r->last.seq = e.seq;
		str_copy(r->last.hash, sizeof(r->last.hash), hash);
		expect++;
	}
	if (rc != DB_ROW && rc != DB_DONE) {
		store_err(st, "reading the audit log");
		goto out;
	}
	ret = 0;
out:
	db_reset(s);
	return ret;
}

/* The end of an intact chain against the recorded head, the format
 * boundary (every entry before it existed when the format changed) and
 * the anchor. */
static void verify_end(const struct audit_head *head, int64_t boundary,
		       const struct audit_head *anchor,
		       const struct audit_head *at, bool at_seen,
		       struct audit_report *r)
{
	int64_t end = r->last.seq;

	if (anchor != NULL && anchor->seq > end)
		audit_bad(r, end + 1, "the log ends at entry %" PRId64 " but "
			  "the anchor is at entry %" PRId64 ": entries were "
			  "removed from the end (or the database was restored "
			  "from an older copy)", end, anchor->seq);
	else if (anchor != NULL && (!at_seen ||
				    strcmp(at->hash, anchor->hash) != 0))
		audit_bad(r, anchor->seq, "entry %" PRId64 " does not have "
			  "the anchor's hash %.12s...: the log was rewritten "
			  "up to that entry", anchor->seq, anchor->hash);
	else if (head->seq > end)
		audit_bad(r, end + 1, "the log ends at entry %" PRId64 " but "
			  "the recorded head is entry %" PRId64 ": entries "
			  "were removed from the end", end, head->seq);
	else if (head->seq != end || strcmp(head->hash, r->last.hash) != 0)
		audit_bad(r, head->seq, "the log ends at entry %" PRId64
			  " but the recorded head is entry %" PRId64 " with "
			  "hash %.12s...: the head or the log was rewritten",
			  end, head->seq, head->hash);
	else if (end < boundary - 1)
		audit_bad(r, end + 1, "the log ends at entry %" PRId64 " but "
			  "had %" PRId64 " entries when its chain format "
			  "changed: entries were removed from the end", end,
			  boundary - 1);
}

int audit_verify(struct store *st, const struct audit_head *anchor,
		 struct audit_report *r)
{
	struct audit_head head, at = { 0 };
	char bnd[24];
	int64_t boundary = 0;
	bool at_seen;
	int hr, br;

	memset(r, 0, sizeof(*r));
	r->ok = true;
	str_copy(r->last.hash, sizeof(r->last.hash), zero_hash);
	r->anchored = anchor != NULL;
	if (anchor != NULL)
		at.seq = anchor->seq;
	hr = audit_head_get(st, &head);
	br = meta_get(st, "audit_format2_from", bnd, sizeof(bnd));
	if (hr < 0 || br < 0)
		return -1;
	/* the boundary picks each entry's rule: without it the walk would
	 * blame the first entry for what is missing from meta */
	if (br == 0) {
		audit_bad(r, 0, "the chain format boundary (meta "
			  "'audit_format2_from') is missing");
		return 0;
	}
	if (parse_int64(bnd, &boundary) < 0 || boundary < 1) {
		audit_bad(r, 0, "the chain format boundary '%.20s' (meta "
			  "'audit_format2_from') is not an entry number", bnd);
		return 0;
	}
	if (verify_chain(st, boundary, &at, &at_seen, r) < 0)
		return -1;
	if (!r->ok)
		return 0;
	if (hr == 0)
		audit_bad(r, r->last.seq + 1, "the recorded head (meta "
			  "'audit_head') is missing: the end of the log cannot "
			  "be checked, entries may have been removed from it");
	else
		verify_end(&head, boundary, anchor, &at, at_seen, r);
	return 0;
}

/* Unit tests of the token hashing (controller/auth.c) and the audit hash
 * chain (controller/audit.c) on a real SQLite store, including rows edited
 * or deleted behind the controller's back. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/fc_test.h"
#include "tests/unit/ctrl_fixture.h"

#include "common/err.h"
#include "controller/anchor.h"
#include "controller/audit.h"
#include "controller/auth.h"
#include "controller/db.h"
#include "controller/store.h"

static void test_sha256_vector(void **state)
{
	char h[AUTH_HASH_LEN + 1];
	(void)state;

	assert_int_equal(auth_sha256_hex("abc", 3, h), 0);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223"
			       "b00361a396177a9cb410ff61f20015ad");
}

static void test_token_new(void **state)
{
	char t1[AUTH_TOKEN_LEN + 1], h1[AUTH_HASH_LEN + 1];
	char t2[AUTH_TOKEN_LEN + 1], h2[AUTH_HASH_LEN + 1], h[AUTH_HASH_LEN + 1];
	(void)state;

	assert_int_equal(auth_token_new(t1, h1), 0);
	assert_int_equal(auth_token_new(t2, h2), 0);
	assert_int_equal(strlen(t1), AUTH_TOKEN_LEN);
	assert_true(strncmp(t1, "fc_", 3) == 0);
	assert_string_not_equal(t1, t2);
	assert_string_not_equal(h1, h2);
	assert_int_equal(auth_sha256_hex(t1, strlen(t1), h), 0);
	assert_string_equal(h, h1);
	/* the stored hash is not the token */
	assert_null(strstr(h1, t1 + 3));
}

static void test_bearer_and_roles(void **state)
{
	(void)state;
	assert_string_equal(auth_bearer("Bearer abc"), "abc");
	assert_string_equal(auth_bearer("bearer   abc"), "abc");
	assert_null(auth_bearer("Basic abc"));
	assert_null(auth_bearer("Bearer "));
	assert_null(auth_bearer(NULL));
	assert_int_equal(auth_role_parse("viewer"), ROLE_VIEWER);
	assert_int_equal(auth_role_parse("root"), ROLE_NONE);
	assert_string_equal(auth_role_name(ROLE_TENANT), "tenant");
	assert_true(auth_equal("abc", "abc"));
	assert_false(auth_equal("abc", "abd"));
	assert_false(auth_equal("abc", "abcd"));
}

static void test_hash_covers_fields(void **state)
{
	struct audit_entry e = {1, 1000, "admin:x", "vm.create", "vm:1", 201,
				"rid"};
	char a[AUTH_HASH_LEN + 1], b[AUTH_HASH_LEN + 1];
	const char *zero = "0000000000000000000000000000000000000000000000000000000000000000";
	(void)state;

	assert_int_equal(audit_hash(zero, &e, AUDIT_FORMAT, a), 0);
	e.result = 200;
	assert_int_equal(audit_hash(zero, &e, AUDIT_FORMAT, b), 0);
	assert_string_not_equal(a, b);
	e.result = 201;
	assert_int_equal(audit_hash(a, &e, AUDIT_FORMAT, b), 0); /* other predecessor */
	assert_string_not_equal(a, b);
}

static int setup(void **state)
{
	return ctrl_fixture_setup(state, "audit");
}

static int teardown(void **state)
{
	return ctrl_fixture_teardown(state);
}

static void append_n(struct store *st, int n)
{
	char target[32];

	assert_int_equal(store_begin(st, false), 0);
	for (int i = 0; i < n; i++) {
		snprintf(target, sizeof(target), "vm:%d", i);
		assert_int_equal(audit_append(st, "admin:t", "vm.create", target,
					      201, "req"), 0);
	}
	assert_int_equal(store_commit(st), 0);
}

/* Run sql on the test store, dropping the triggers that guard the log
 * first, as someone with the database file can. */
static void tamper(struct ctrl_fixture *f, const char *sql)
{
	char all[1024];

	snprintf(all, sizeof(all), "DROP TRIGGER IF EXISTS audit_no_update; "
		 "DROP TRIGGER IF EXISTS audit_no_delete; %s", sql);
	assert_int_equal(store_exec(f->st, all), 0);
}

static void verify_fails(struct ctrl_fixture *f,
			 const struct audit_head *anchor, const char *want)
{
	struct audit_report r;

	assert_int_equal(audit_verify(f->st, anchor, &r), 0);
	if (r.ok)
		fail_msg("the log verified as intact, expected '%s'", want);
	if (strstr(r.reason, want) == NULL)
		fail_msg("reason '%s' does not contain '%s'", r.reason, want);
}

static void test_chain_intact(void **state)
{
	struct ctrl_fixture *f = *state;
	struct audit_report r;

	append_n(f->st, 5);
	assert_int_equal(audit_verify(f->st, NULL, &r), 0);
	assert_true(r.ok);
	assert_int_equal(r.entries, 5);
	/* a head that cannot be read is an error, not "no head" (which
	 * would skip the check for entries removed from the end) */
	ctrl_fixture_exec(f, "ALTER TABLE meta RENAME TO meta_away");
	assert_int_equal(audit_verify(f->st, NULL, &r), -1);
}

static void test_triggers_refuse_edits(void **state)
{
	struct ctrl_fixture *f = *state;

	append_n(f->st, 2);
	assert_int_equal(store_exec(f->st, "UPDATE audit SET result = 1"), -1);
	assert_non_null(strstr(err_msg(), "append-only"));
	assert_int_equal(store_exec(f->st, "DELETE FROM audit"), -1);
}

static void test_edit_detected(void **state)
{
	struct ctrl_fixture *f = *state;
	struct audit_report r;

	append_n(f->st, 5);
	assert_int_equal(store_exec(f->st, "DROP TRIGGER audit_no_update; "
					   "UPDATE audit SET target = 'vm:x' "
					   "WHERE seq = 3"), 0);
	assert_int_equal(audit_verify(f->st, NULL, &r), 0);
	assert_false(r.ok);
	assert_int_equal(r.bad_seq, 3);
	assert_non_null(strstr(r.reason, "modified"));
}

static void test_delete_detected(void **state)
{
	struct ctrl_fixture *f = *state;
	struct audit_report r;

	append_n(f->st, 5);
	tamper(f, "DELETE FROM audit WHERE seq = 2");
	verify_fails(f, NULL, "entry 2 is missing");
	assert_int_equal(audit_verify(f->st, NULL, &r), 0);
	assert_int_equal(r.bad_seq, 2);
}

static void test_truncation_detected(void **state)
{
	struct ctrl_fixture *f = *state;

	append_n(f->st, 5);
	tamper(f, "DELETE FROM audit WHERE seq = 5");
	verify_fails(f, NULL, "removed from the end");
}

static void test_rehash_forgery_detected(void **state)
{
	struct ctrl_fixture *f = *state;
	struct audit_report r;

	/* an attacker who edits a row and recomputes its own hash still
	 * breaks the next row's link */
	append_n(f->st, 4);
	{
		struct audit_entry e = {2, 0, "admin:t", "vm.create", "vm:evil",
					201, "req"};
		char prev[AUTH_HASH_LEN + 1], h[AUTH_HASH_LEN + 1], sql[512];
		struct db_stmt *s;

		assert_int_equal(db_prepare(store_db(f->st), "SELECT prev_hash, time_ms FROM audit WHERE seq = 2", &s), 0);
		assert_int_equal(db_step(s), DB_ROW);
		snprintf(prev, sizeof(prev), "%s", db_col_text(s, 0));
		e.time_ms = db_col_int64(s, 1);
		db_finalize(s);
		assert_int_equal(audit_hash(prev, &e, AUDIT_FORMAT, h), 0);
		snprintf(sql, sizeof(sql), "DROP TRIGGER audit_no_update; "
			 "UPDATE audit SET target = 'vm:evil', hash = '%s' "
			 "WHERE seq = 2", h);
		assert_int_equal(store_exec(f->st, sql), 0);
	}
	assert_int_equal(audit_verify(f->st, NULL, &r), 0);
	assert_false(r.ok);
	assert_int_equal(r.bad_seq, 3);
}

/* Format 1 joined fields with '|': moving a '|' from one field to the
 * next kept the hash. */
static void test_field_resplit_detected(void **state)
{
	struct ctrl_fixture *f = *state;
	struct audit_report r;

	assert_int_equal(store_begin(f->st, false), 0);
	assert_int_equal(audit_append(f->st, "admin:t|vm.delete", "vm:1",
				      "ok", 201, "req"), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(audit_verify(f->st, NULL, &r), 0);
	assert_true(r.ok);
	tamper(f, "UPDATE audit SET actor = 'admin:t', "
		  "action = 'vm.delete|vm:1', target = 'ok' WHERE seq = 1");
	verify_fails(f, NULL, "modified");
}

/* The head row removed, then the newest entries, then all of them: the
 * end of the log used to go unchecked without the head. */
static void test_head_removed_detected(void **state)
{
	static const char *const cuts[] = {
		"DELETE FROM meta WHERE key = 'audit_head'",
		"DELETE FROM audit WHERE seq > 3",
		"DELETE FROM audit",
	};
	struct ctrl_fixture *f = *state;

	append_n(f->st, 5);
	for (size_t i = 0; i < FC_ARRAY_LEN(cuts); i++) {
		tamper(f, cuts[i]);
		verify_fails(f, NULL, "head (meta 'audit_head') is missing");
	}
}

/* An empty log of a new database verifies (its head row exists). */
static void test_empty_log_intact(void **state)
{
	struct ctrl_fixture *f = *state;
	struct audit_report r;
	struct audit_head h;

	assert_int_equal(audit_head_get(f->st, &h), 1);
	assert_int_equal(h.seq, 0);
	assert_int_equal(audit_verify(f->st, NULL, &r), 0);
	assert_true(r.ok);
	assert_int_equal(r.last.seq, 0);
}

/* Cutting the tail and rewriting the head to match passes the checks
 * inside the database; only the anchor kept outside catches it. */
static void test_tail_cut_caught_by_anchor(void **state)
{
	struct ctrl_fixture *f = *state;
	struct audit_report r;
	struct audit_head anchor, mid;
	char sql[256];

	append_n(f->st, 5);
	assert_int_equal(audit_verify(f->st, NULL, &r), 0);
	anchor = r.last;
	assert_int_equal(anchor.seq, 5);
	{
		struct db_stmt *s;

		assert_int_equal(db_prepare(store_db(f->st), "SELECT hash FROM audit WHERE seq = 3", &s), 0);
		assert_int_equal(db_step(s), DB_ROW);
		mid.seq = 3;
		snprintf(mid.hash, sizeof(mid.hash), "%s",
			 db_col_text(s, 0));
		db_finalize(s);
	}
	/* an anchor older than the end holds */
	assert_int_equal(audit_verify(f->st, &mid, &r), 0);
	assert_true(r.ok);
	assert_true(r.anchored);
	snprintf(sql, sizeof(sql), "DELETE FROM audit WHERE seq > 3; UPDATE "
		 "meta SET value = '3:%s' WHERE key = 'audit_head'", mid.hash);
	tamper(f, sql);
	assert_int_equal(audit_verify(f->st, NULL, &r), 0);
	assert_true(r.ok); /* what the chain alone cannot prove */
	verify_fails(f, &anchor, "the anchor is at entry 5: entries were "
				 "removed from the end");
	tamper(f, "DELETE FROM audit; UPDATE meta SET value = '0:' || "
		  "substr(hash_zero, 1) FROM (SELECT '0000000000000000000000"
		  "000000000000000000000000000000000000000000' AS hash_zero) "
		  "WHERE key = 'audit_head'");
	verify_fails(f, &anchor, "the log ends at entry 0 but the anchor is "
				 "at entry 5");
}

static void test_anchor_hash_mismatch(void **state)
{
	struct ctrl_fixture *f = *state;
	struct audit_head a;

	append_n(f->st, 3);
	assert_int_equal(audit_head_parse("2:" "0123456789abcdef0123456789abcdef"
					  "0123456789abcdef0123456789abcdef",
					  &a), 0);
	verify_fails(f, &a, "entry 2 does not have the anchor's hash");
}

static void test_head_parse(void **state)
{
	struct audit_head h;
	const char *hex = "0123456789abcdef0123456789abcdef"
			  "0123456789abcdef0123456789abcdef";
	char s[128];
	(void)state;

	snprintf(s, sizeof(s), " 42:%s\n", hex);
	assert_int_equal(audit_head_parse(s, &h), 0);
	assert_int_equal(h.seq, 42);
	assert_string_equal(h.hash, hex);
	snprintf(s, sizeof(s), "-1:%s", hex);
	assert_int_equal(audit_head_parse(s, &h), -1);
	snprintf(s, sizeof(s), "1:%.63s", hex);
	assert_int_equal(audit_head_parse(s, &h), -1);
	snprintf(s, sizeof(s), "1:%sA", hex);
	assert_int_equal(audit_head_parse(s, &h), -1);
	assert_int_equal(audit_head_parse(hex, &h), -1);
	assert_int_equal(audit_head_parse("", &h), -1);
}

/* A database migrated from format 1: its old entries verify with the old
 * rule up to the recorded boundary, the new ones with the new rule, and
 * moving the boundary breaks the chain. */
static void test_format1_entries_before_boundary(void **state)
{
	struct ctrl_fixture *f = *state;
	const char *zero = "0000000000000000000000000000000000000000000000000000000000000000";
	char prev[AUTH_HASH_LEN + 1], h[AUTH_HASH_LEN + 1], sql[1024];
	struct audit_report r;

	snprintf(prev, sizeof(prev), "%s", zero);
	for (int i = 1; i <= 3; i++) {
		struct audit_entry e = {i, 1000 + i, "admin:old", "vm.create",
					"vm:1", 201, "req"};

		assert_int_equal(audit_hash(prev, &e, 1, h), 0);
		snprintf(sql, sizeof(sql), "INSERT INTO audit VALUES (%d, %d, "
			 "'admin:old', 'vm.create', 'vm:1', 201, 'req', '%s', "
			 "'%s')", i, 1000 + i, prev, h);
		assert_int_equal(store_exec(f->st, sql), 0);
		snprintf(prev, sizeof(prev), "%s", h);
	}
	snprintf(sql, sizeof(sql), "UPDATE meta SET value = '4' WHERE key = "
		 "'audit_format2_from'; UPDATE meta SET value = '3:%s' WHERE "
		 "key = 'audit_head'", prev);
	assert_int_equal(store_exec(f->st, sql), 0);
	append_n(f->st, 2);
	assert_int_equal(audit_verify(f->st, NULL, &r), 0);
	assert_true(r.ok);
	assert_int_equal(r.entries, 5);
	tamper(f, "UPDATE meta SET value = '1' WHERE key = "
		  "'audit_format2_from'");
	verify_fails(f, NULL, "entry 1 was modified");
	tamper(f, "UPDATE meta SET value = '6' WHERE key = "
		  "'audit_format2_from'");
	verify_fails(f, NULL, "entry 4 was modified");
	tamper(f, "DELETE FROM meta WHERE key = 'audit_format2_from'");
	verify_fails(f, NULL, "boundary");
}

/* The anchor file follows the committed head once it is written, is
 * 0640, and a file the log no longer holds at start is kept aside. */
static void test_anchor_file(void **state)
{
	struct ctrl_fixture *f = *state;
	struct anchor *a = NULL;
	struct audit_head h, got;
	struct stat sb;
	char path[256], kept[300];

	snprintf(path, sizeof(path), "%s/%s", f->dir, ANCHOR_FILE);
	snprintf(kept, sizeof(kept), "%s.mismatch", path);
	assert_int_equal(anchor_open(f->st, f->dir, &a), 0);
	assert_int_equal(anchor_read(path, &got), 0);
	assert_int_equal(got.seq, 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);
	append_n(f->st, 3);
	assert_true(anchor_behind(a));
	assert_true(anchor_snapshot(a, &h));
	assert_int_equal(h.seq, 3);
	assert_int_equal(anchor_write(a, &h), 0);
	assert_false(anchor_behind(a));
	assert_int_equal(anchor_read(path, &got), 0);
	assert_int_equal(got.seq, 3);
	assert_string_equal(got.hash, h.hash);
	store_on_commit(f->st, NULL, NULL);
	anchor_free(a);
	a = NULL;
	/* cut while stopped */
	tamper(f, "DELETE FROM audit WHERE seq = 3");
	assert_int_equal(anchor_open(f->st, f->dir, &a), 0);
	assert_int_equal(anchor_read(kept, &got), 0);
	assert_int_equal(got.seq, 3);
	store_on_commit(f->st, NULL, NULL);
	anchor_free(a);
	unlink(path);
	unlink(kept);
}

/* a test on a new store of its own */
#define WITH_STORE(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vector),
		cmocka_unit_test(test_token_new),
		cmocka_unit_test(test_bearer_and_roles),
		cmocka_unit_test(test_hash_covers_fields),
		WITH_STORE(test_chain_intact),
		WITH_STORE(test_triggers_refuse_edits),
		WITH_STORE(test_edit_detected),
		WITH_STORE(test_delete_detected),
		WITH_STORE(test_truncation_detected),
		WITH_STORE(test_rehash_forgery_detected),
		WITH_STORE(test_field_resplit_detected),
		WITH_STORE(test_head_removed_detected),
		WITH_STORE(test_empty_log_intact),
		WITH_STORE(test_tail_cut_caught_by_anchor),
		WITH_STORE(test_anchor_hash_mismatch),
		cmocka_unit_test(test_head_parse),
		WITH_STORE(test_format1_entries_before_boundary),
		WITH_STORE(test_anchor_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

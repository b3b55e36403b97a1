/* Unit tests of the token hashing (controller/auth.c) and the audit hash
 * chain (controller/audit.c) on a real SQLite store, including rows edited
 * or deleted behind the controller's back. */
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "common/err.h"
#include "controller/audit.h"
#include "controller/auth.h"
#include "controller/store.h"
#include "tests/unit/ctrl_fixture.h"

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

	assert_int_equal(audit_hash(zero, &e, a), 0);
	e.result = 200;
	assert_int_equal(audit_hash(zero, &e, b), 0);
	assert_string_not_equal(a, b);
	e.result = 201;
	assert_int_equal(audit_hash(a, &e, b), 0); /* other predecessor */
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

static void test_chain_intact(void **state)
{
	struct ctrl_fixture *f = *state;
	struct audit_report r;

	append_n(f->st, 5);
	assert_int_equal(audit_verify(f->st, &r), 0);
	assert_true(r.ok);
	assert_int_equal(r.entries, 5);
	/* a head that cannot be read is an error, not "no head" (which
	 * would skip the check for entries removed from the end) */
	ctrl_fixture_exec(f, "ALTER TABLE meta RENAME TO meta_away");
	assert_int_equal(audit_verify(f->st, &r), -1);
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
	assert_int_equal(audit_verify(f->st, &r), 0);
	assert_false(r.ok);
	assert_int_equal(r.bad_seq, 3);
	assert_non_null(strstr(r.reason, "modified"));
}

static void test_delete_detected(void **state)
{
	struct ctrl_fixture *f = *state;
	struct audit_report r;

	append_n(f->st, 5);
	assert_int_equal(store_exec(f->st, "DROP TRIGGER audit_no_delete; "
					   "DELETE FROM audit WHERE seq = 2"), 0);
	assert_int_equal(audit_verify(f->st, &r), 0);
	assert_false(r.ok);
	assert_int_equal(r.bad_seq, 2);
}

static void test_truncation_detected(void **state)
{
	struct ctrl_fixture *f = *state;
	struct audit_report r;

	append_n(f->st, 5);
	assert_int_equal(store_exec(f->st, "DROP TRIGGER audit_no_delete; "
					   "DELETE FROM audit WHERE seq = 5"), 0);
	assert_int_equal(audit_verify(f->st, &r), 0);
	assert_false(r.ok);
	assert_non_null(strstr(r.reason, "removed from the end"));
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
		sqlite3_stmt *s;

		assert_int_equal(sqlite3_prepare_v2(store_db(f->st),
			"SELECT prev_hash, time_ms FROM audit WHERE seq = 2", -1,
			&s, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		snprintf(prev, sizeof(prev), "%s", sqlite3_column_text(s, 0));
		e.time_ms = sqlite3_column_int64(s, 1);
		sqlite3_finalize(s);
		assert_int_equal(audit_hash(prev, &e, h), 0);
		snprintf(sql, sizeof(sql), "DROP TRIGGER audit_no_update; "
			 "UPDATE audit SET target = 'vm:evil', hash = '%s' "
			 "WHERE seq = 2", h);
		assert_int_equal(store_exec(f->st, sql), 0);
	}
	assert_int_equal(audit_verify(f->st, &r), 0);
	assert_false(r.ok);
	assert_int_equal(r.bad_seq, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vector),
		cmocka_unit_test(test_token_new),
		cmocka_unit_test(test_bearer_and_roles),
		cmocka_unit_test(test_hash_covers_fields),
		cmocka_unit_test_setup_teardown(test_chain_intact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_triggers_refuse_edits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_edit_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_detected, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_truncation_detected, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rehash_forgery_detected,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

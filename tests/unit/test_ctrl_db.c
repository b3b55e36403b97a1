/* Unit tests of controller/db.[ch]: the PostgreSQL engine's translation of
 * the controller's SQL (placeholders, the rewrite table, string literals
 * left alone, a parameter tested for NULL sent as text, unused ones
 * noticed), and the SQLite engine through the db_* calls the modules use
 * (steps, NULLs, changes, constraint codes, transactions). */
#include <stdlib.h>
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "common/err.h"
#include "controller/db.h"
#include "controller/db_pg.h"

static void expect_sql(const char *sql, const char *want, int nparams,
		       uint64_t used)
{
	char *out = NULL;
	int n = -1;
	uint64_t u = 0;

	assert_int_equal(dbpg_translate(sql, &out, &n, &u), 0);
	assert_string_equal(out, want);
	assert_int_equal(n, nparams);
	assert_true(u == used);
	free(out);
}

static void test_placeholders(void **state)
{
	(void)state;
	expect_sql("SELECT a FROM t WHERE b = ? AND c = ?",
		   "SELECT a FROM t WHERE b = $1 AND c = $2", 2, 3);
	/* a bare ? after ?N is one more than the largest so far (SQLite) */
	expect_sql("VALUES (?3, ?1, ?)", "VALUES ($3, $1, $4)", 4, 0xd);
	/* ?11 unused: the engine declares it text */
	expect_sql("VALUES (?1, ?12)", "VALUES ($1, $12)", 12,
		   1 | (UINT64_C(1) << 11));
	/* nothing inside a literal or a quoted name is touched */
	expect_sql("SELECT '?', \"INTEGER\", 'REAL' || ?",
		   "SELECT '?', \"INTEGER\", 'REAL' || $1", 1, 1);
}

static void test_rewrites(void **state)
{
	(void)state;
	expect_sql("CREATE TABLE t(seq INTEGER PRIMARY KEY AUTOINCREMENT, "
		   "n INTEGER NOT NULL, r REAL) WITHOUT ROWID;",
		   "CREATE TABLE t(seq BIGSERIAL PRIMARY KEY, "
		   "n BIGINT NOT NULL, r DOUBLE PRECISION) ;",
		   0, 0);
	/* whole words only */
	expect_sql("SELECT realm, integer_x FROM temp.seen LIMIT -1",
		   "SELECT realm, integer_x FROM pg_temp.seen LIMIT ALL", 0, 0);
	expect_sql("BEGIN IMMEDIATE", "BEGIN", 0, 0);
}

static void test_null_test_is_text(void **state)
{
	(void)state;
	expect_sql("WHERE (?2 IS NULL OR tenant = ?2) AND (? IS NOT NULL)",
		   "WHERE (CAST($2 AS TEXT) IS NULL OR tenant = $2) AND "
		   "(CAST($3 AS TEXT) IS NOT NULL)",
		   3, 6);
	/* IS NULLS... is not a null test */
	expect_sql("? IS NULLX", "$1 IS NULLX", 1, 1);
}

static void test_sqlite_engine(void **state)
{
	char path[] = "/tmp/fctest-db.XXXXXX";
	struct db *db = NULL;
	struct db_stmt *s = NULL;
	int fd = mkstemp(path);
	(void)state;

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(db_open(path, &db), 0);
	assert_int_equal(db_engine(db), DB_SQLITE);
	assert_string_equal(db_path(db), path);
	assert_int_equal(db_exec(db, "CREATE TABLE t(k TEXT PRIMARY KEY, "
				     "n INTEGER, x REAL)"),
			 0);
	assert_int_equal(db_begin(db), 0);
	assert_true(db_in_tx(db));
	assert_int_equal(db_prepare(db, "INSERT INTO t VALUES (?, ?, ?)", &s),
			 0);
	db_bind_text(s, 1, "a");
	db_bind_int64(s, 2, INT64_C(1) << 40);
	db_bind_double(s, 3, 0.5);
	assert_int_equal(db_step(s), DB_DONE);
	assert_int_equal(db_changes(db), 1);
	assert_int_equal(db_last_insert_id(db), 1);
	db_reset(s);
	/* the same key again: a constraint, told apart from other errors */
	assert_int_equal(db_step(s), DB_CONSTRAINT);
	db_reset(s);
	db_clear_bindings(s);
	db_bind_text(s, 1, "b");
	assert_int_equal(db_step(s), DB_DONE);
	db_finalize(s);
	assert_int_equal(db_commit(db), 0);
	assert_false(db_in_tx(db));

	assert_int_equal(db_prepare(db, "SELECT k, n, x FROM t ORDER BY k",
				    &s),
			 0);
	assert_int_equal(db_step(s), DB_ROW);
	assert_string_equal(db_col_text(s, 0), "a");
	assert_true(db_col_int64(s, 1) == INT64_C(1) << 40);
	assert_true(db_col_double(s, 2) == 0.5);
	assert_int_equal(db_col_type(s, 1), DB_INTEGER);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_col_type(s, 1), DB_NULL);
	assert_null(db_col_text(s, 1));
	assert_int_equal(db_col_int64(s, 1), 0);
	assert_int_equal(db_step(s), DB_DONE);
	db_finalize(s);

	/* a rolled-back change is gone; rollback with none open is safe */
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, "DELETE FROM t"), 0);
	db_rollback(db);
	db_rollback(db);
	assert_int_equal(db_prepare(db, "SELECT count(*) FROM t", &s), 0);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_col_int(s, 0), 2);
	db_finalize(s);

	assert_int_equal(db_prepare(db, "SELECT nope FROM t", &s), -1);
	assert_null(s);
	assert_non_null(strstr(err_msg(), "no such column"));
	db_close(db);
	db_close(NULL);
	db_finalize(NULL);
	unlink(path);
}

static void test_open_refused(void **state)
{
	struct db *db = (struct db *)1;
	(void)state;

	assert_int_equal(db_open("/nonexistent-dir/x/state.db", &db), -1);
	assert_null(db);
	assert_non_null(strstr(err_msg(), "/nonexistent-dir/x/state.db"));
	/* no server on this socket directory */
	assert_int_equal(db_open("postgresql:///x?host=/nonexistent-dir", &db),
			 -1);
	assert_null(db);
	assert_non_null(strstr(err_msg(), "cannot connect to PostgreSQL"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placeholders),
		cmocka_unit_test(test_rewrites),
		cmocka_unit_test(test_null_test_is_text),
		cmocka_unit_test(test_sqlite_engine),
		cmocka_unit_test(test_open_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

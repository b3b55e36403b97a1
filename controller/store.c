#include <fcntl.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "controller/schema.h"
#include "controller/store.h"

#define STMT_CACHE 256

struct stmt_slot {
	const char *sql;
	struct db_stmt *stmt;
};

struct store {
	struct db *db;
	int wal_fd; /* SQLite's -wal file, for store_sync_wal(); -1 on PG */
	bool in_tx;
	void (*on_commit)(void *arg); /* store_on_commit() */
	void *on_commit_arg;
	struct stmt_slot cache[STMT_CACHE];
};

int store_schema_version(void)
{
	return (int)store_nmigrations;
}

int store_err(struct store *st, const char *what)
{
	return err_set("database: %s: %s", what, db_errmsg(st->db));
}

struct db *store_db(struct store *st)
{
	return st->db;
}

int store_exec(struct store *st, const char *sql)
{
	return db_exec(st->db, sql);
}

/* The schema version, read inside the migration's transaction: SQLite's
 * PRAGMA user_version, or the one row of schema_version on PostgreSQL
 * (made here when missing: the transaction's lock keeps two controllers
 * starting at once from both making it). */
static int store_user_version(struct store *st, int *out)
{
	bool pg = db_engine(st->db) == DB_PG;
	struct db_stmt *s = NULL;
	int rc, ret = -1;

	*out = 0;
	if (pg && db_exec(st->db, "CREATE TABLE IF NOT EXISTS schema_version("
				  "version INTEGER NOT NULL)") < 0)
		goto out;
	if (db_prepare(st->db,
		       pg ? "SELECT version FROM schema_version"
			  : "PRAGMA user_version",
		       &s) < 0)
		goto out;
	rc = db_step(s);
	if (rc == DB_ROW)
		*out = db_col_int(s, 0);
	else if (rc != DB_DONE) {
		store_err(st, "reading the schema version");
		goto out;
	}
	ret = 0;
out:
	db_finalize(s);
	return ret;
}

/* SQLite: 0 when PRAGMA foreign_key_check finds no row that refers to
 * a missing one, else -1 with err_set() naming the first such table. */
static int foreign_key_check_clean(struct store *st)
{
	struct db_stmt *s = NULL;
	int rc, ret = 0;

	if (db_prepare(st->db, "PRAGMA foreign_key_check", &s) < 0)
		return -1;
	rc = db_step(s);
	if (rc == DB_ROW)
		ret = err_set("database: table '%s' refers to rows of '%s' "
			      "that do not exist", store_col_text(s, 0),
			      store_col_text(s, 2));
	else if (rc != DB_DONE)
		ret = store_err(st, "checking foreign keys");
	db_finalize(s);
	return ret;
}

static int store_set_version(struct store *st, int v)
{
	char sql[96];

	if (db_engine(st->db) == DB_SQLITE)
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	else
		snprintf(sql, sizeof(sql),
			 "DELETE FROM schema_version; INSERT INTO "
			 "schema_version VALUES (%d)",
			 v);
	return db_exec(st->db, sql);
}

/* Run migration v (0-based) in the transaction open on st. */
static int store_migrate_one(struct store *st, int v)
{
	const struct store_migration *m = &store_migrations[v];
	const char *own = db_engine(st->db) == DB_PG ? m->pg : m->sqlite;

	if (db_exec(st->db, m->sql) < 0 || (own && db_exec(st->db, own) < 0))
		return -1;
	/* SQLite runs migrations with foreign keys off (a table rebuild);
	 * nothing may be left dangling */
	if (db_engine(st->db) == DB_SQLITE && foreign_key_check_clean(st) < 0)
		return -1;
	return store_set_version(st, v + 1);
}

/* Bring the schema up to date, one migration per transaction, the
 * version read again in each (another controller may be migrating the
 * same PostgreSQL database). */
static int store_migrate(struct store *st, const char *name)
{
	int version = 0;

	for (;;) {
		if (db_begin(st->db) < 0 ||
		    store_user_version(st, &version) < 0)
			goto fail;
		if (version > store_schema_version()) {
			err_set("database '%s' has schema version %d but this "
				"controller knows only up to %d: run a newer "
				"fincloud-controller",
				name, version, store_schema_version());
			goto fail;
		}
		if (version == store_schema_version())
			break;
		if (store_migrate_one(st, version) < 0 ||
		    db_commit(st->db) < 0) {
			err_prefix("migrating '%s' to schema version %d", name,
				   version + 1);
			goto fail;
		}
		log_info("database '%s' migrated to schema version %d", name,
			 version + 1);
	}
	return db_commit(st->db);
fail:
	db_rollback(st->db);
	return -1;
}

void store_display_name(const char *url, char *name, size_t size)
{
	const char *at = strchr(url, '@');
	const char *scheme = strstr(url, "://");

	if (at && scheme && strncmp(url, "postgres", 8) == 0)
		snprintf(name, size, "%.*s%s", (int)(scheme + 3 - url), url,
			 at + 1);
	else
		snprintf(name, size, "%s", url);
}

int store_open(const char *url, struct store **out)
{
	struct store *st = calloc(1, sizeof(*st));
	char name[512];

	*out = NULL;
	if (st == NULL)
		return err_set("out of memory");
	st->wal_fd = -1;
	store_display_name(url, name, sizeof(name));
	if (db_open(url, &st->db) < 0)
		goto fail;
	if (db_engine(st->db) == DB_SQLITE &&
	    (store_exec(st, "PRAGMA journal_mode = WAL") < 0 ||
	     store_exec(st, "PRAGMA foreign_keys = ON") < 0 ||
	     store_exec(st, "PRAGMA synchronous = FULL") < 0)) {
		err_prefix("database '%s'", name);
		goto fail;
	}
	/* SQLite: a migration may rebuild a table others refer to (its
	 * ALTER TABLE recipe): foreign keys are off while migrations run
	 * (the pragma is a no-op inside a transaction), and each checks
	 * foreign_key_check before it commits */
	if (db_engine(st->db) == DB_SQLITE &&
	    store_exec(st, "PRAGMA foreign_keys = OFF") < 0)
		goto fail;
	if (store_migrate(st, name) < 0)
		goto fail;
	if (db_engine(st->db) == DB_SQLITE &&
	    store_exec(st, "PRAGMA foreign_keys = ON") < 0)
		goto fail;
	if (db_engine(st->db) == DB_SQLITE) {
		char wal[4096];

		/* the WAL exists while a connection has the database open in
		 * WAL mode; auto-checkpoints never truncate it */
		snprintf(wal, sizeof(wal), "%s-wal", db_path(st->db));
		st->wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
		if (st->wal_fd < 0) {
			err_set_errno(errno, "cannot open '%s' to sync it", wal);
			goto fail;
		}
	}
	*out = st;
	return 0;
fail:
	store_close(st);
	return -1;
}

void store_close(struct store *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < STMT_CACHE; i++)
		if (st->cache[i].stmt)
			db_finalize(st->cache[i].stmt);
	db_close(st->db);
	if (st->wal_fd >= 0)
		close(st->wal_fd);
	free(st);
}

/* store_begin() and store_begin_repeated(). */
static int begin(struct store *st, bool durable, bool relaxed)
{
	/* PostgreSQL commits durably (synchronous_commit) unless relaxed */
	if (db_engine(st->db) == DB_SQLITE &&
	    store_exec(st, durable ? "PRAGMA synchronous = FULL"
				   : "PRAGMA synchronous = NORMAL") < 0)
		return -1;
	if ((relaxed ? db_begin_relaxed(st->db) : db_begin(st->db)) < 0)
		return -1;
	st->in_tx = true;
	return 0;
}

int store_begin(struct store *st, bool durable)
{
	return begin(st, durable, false);
}

int store_begin_repeated(struct store *st)
{
	return begin(st, false, true);
}

int store_begin_read(struct store *st)
{
	if (db_begin_read(st->db) < 0)
		return -1;
	st->in_tx = true;
	return 0;
}

int store_commit(struct store *st)
{
	if (db_commit(st->db) < 0) {
		store_rollback(st);
		return -1;
	}
	st->in_tx = false;
	if (st->on_commit)
		st->on_commit(st->on_commit_arg);
	return 0;
}

void store_on_commit(struct store *st, void (*fn)(void *arg), void *arg)
{
	st->on_commit = fn;
	st->on_commit_arg = arg;
}

void store_rollback(struct store *st)
{
	db_rollback(st->db);
	st->in_tx = false;
}

struct db_stmt *store_stmt(struct store *st, const char *sql)
{
	size_t h = ((uintptr_t)sql >> 3) % STMT_CACHE;

	for (size_t i = 0; i < STMT_CACHE; i++) {
		struct stmt_slot *slot = &st->cache[(h + i) % STMT_CACHE];

		if (slot->sql == sql) {
			db_reset(slot->stmt);
			db_clear_bindings(slot->stmt);
			return slot->stmt;
		}
		if (slot->sql == NULL) {
			if (db_prepare(st->db, sql, &slot->stmt) < 0) {
				slot->stmt = NULL;
				return NULL;
			}
			slot->sql = sql;
			return slot->stmt;
		}
	}
	err_set("database: statement cache is full");
	return NULL;
}

int store_bind_text(struct db_stmt *s, int i, const char *v)
{
	return db_bind_text(s, i, v);
}

struct db_stmt *store_stmt1(struct store *st, const char *sql,
			  const char *text)
{
	struct db_stmt *s = store_stmt(st, sql);

	if (s != NULL)
		store_bind_text(s, 1, text);
	return s;
}

void store_bind_texts(struct db_stmt *s, int first, const char *const *v,
		      size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_bind_text(s, first + (int)i, v[i]);
}

void store_bind_int64s(struct db_stmt *s, int first, const int64_t *v,
		       size_t n)
{
	for (size_t i = 0; i < n; i++)
		db_bind_int64(s, first + (int)i, v[i]);
}

const char *store_col_text(struct db_stmt *s, int i)
{
	const char *t = db_col_text(s, i);

	return t ? t : "";
}

int store_row(struct store *st, struct db_stmt *s, const char *what)
{
	int rc = db_step(s);

	if (rc != DB_ROW && rc != DB_DONE)
		store_err(st, what);
	if (rc != DB_ROW)
		db_reset(s);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

int store_done(struct store *st, struct db_stmt *s, const char *what)
{
	int rc = db_step(s);

	if (rc != DB_DONE)
		store_err(st, what);
	db_reset(s);
	return rc == DB_DONE ? 0 : -1;
}

int store_rows_end(struct store *st, struct db_stmt *s, int rc,
		   struct buf *rows, const char *what)
{
	if (rc != DB_ROW && rc != DB_DONE)
		store_err(st, what);
	db_reset(s);
	if (rc == DB_DONE)
		return 0;
	buf_free(rows);
	return -1;
}

int store_run(struct store *st, const char *sql, const char *key,
	      const char *what)
{
	struct db_stmt *s = store_stmt(st, sql);

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, key);
	return store_done(st, s, what);
}

int store_find(struct store *st, const char *sql, const char *key,
	       struct db_stmt **s, const char *what)
{
	*s = store_stmt(st, sql);
	if (*s == NULL)
		return -1;
	store_bind_text(*s, 1, key);
	return store_row(st, *s, what);
}

/* The session advisory locks of store_owner_lock(): this class, and the
 * key's hashtext() */
#define STORE_OWNER_CLASS "1702051645"

int store_owner_lock(struct store *st, const char *key, bool *got)
{
	struct db_stmt *s;
	int rc;

	*got = true;
	if (db_engine(st->db) == DB_SQLITE)
		return 0;
	s = store_stmt1(st, "SELECT pg_try_advisory_lock(" STORE_OWNER_CLASS
			", hashtext(?))", key);
	if (s == NULL)
		return -1;
	rc = store_row(st, s, "taking a run's lock");
	if (rc > 0)
		*got = db_col_int(s, 0) != 0;
	db_reset(s);
	return rc > 0 ? 0 : -1;
}

void store_owner_unlock(struct store *st, const char *key)
{
	struct db_stmt *s;

	if (db_engine(st->db) == DB_SQLITE)
		return;
	s = store_stmt1(st, "SELECT pg_advisory_unlock(" STORE_OWNER_CLASS
			", hashtext(?))", key);
	if (s && store_row(st, s, "releasing a run's lock") > 0)
		db_reset(s);
}

void store_reset_all(struct store *st)
{
	for (size_t i = 0; i < STMT_CACHE; i++)
		if (st->cache[i].stmt)
			db_reset(st->cache[i].stmt);
}

int store_sync_wal(struct store *st)
{
	if (st->wal_fd < 0) /* PostgreSQL: COMMIT returned once durable */
		return 0;
	if (fdatasync(st->wal_fd) < 0)
		return err_set_errno(errno, "database: cannot sync the WAL");
	return 0;
}

#include <sqlite3.h>
#include <string.h>

#include "common/err.h"
#include "controller/db.h"
#include "controller/db_pg.h"

/*
 * Each call is one branch on the engine: the SQLite side is the sqlite3_*
 * call the modules made before, so its behaviour and cost are unchanged.
 */

struct db {
	enum db_engine engine;
	sqlite3 *sq;
	struct dbpg *pg;
	char *path; /* the SQLite file */
	uint64_t statements; /* run so far: db_statements() */
};

struct db_stmt {
	struct db *db;
	sqlite3_stmt *sq;
	struct dbpg_stmt *pg;
	bool started; /* stepped since its last reset: counted */
};

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static int db_open_sqlite(struct db *db, const char *path)
{
	db->path = strdup(path);
	if (db->path == NULL)
		return err_set("out of memory");
	if (sqlite3_open_v2(path, &db->sq,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK)
		return err_set("cannot open database '%s': %s: check the "
			       "'database' setting and the directory's "
			       "permissions",
			       path,
			       db->sq ? sqlite3_errmsg(db->sq) : "out of memory");
	sqlite3_busy_timeout(db->sq, 5000);
	return 0;
}

int db_open(const char *url, struct db **out)
{
	struct db *db = calloc(1, sizeof(*db));
	int ret = -1;

	*out = NULL;
	if (db == NULL)
		return err_set("out of memory");
	if (has_prefix(url, "postgresql://") || has_prefix(url, "postgres://")) {
		db->engine = DB_PG;
		ret = dbpg_open(url, &db->pg);
	} else {
		db->engine = DB_SQLITE;
		ret = db_open_sqlite(db, has_prefix(url, "sqlite://")
						 ? url + strlen("sqlite://")
						 : url);
	}
	if (ret < 0) {
		db_close(db);
		return -1;
	}
	*out = db;
	return 0;
}

void db_close(struct db *db)
{
	if (db == NULL)
		return;
	if (db->sq)
		sqlite3_close(db->sq);
	dbpg_close(db->pg);
	free(db->path);
	free(db);
}

enum db_engine db_engine(const struct db *db)
{
	return db->engine;
}

const char *db_path(const struct db *db)
{
	return db->path;
}

const char *db_errmsg(struct db *db)
{
	return db->sq ? sqlite3_errmsg(db->sq) : dbpg_errmsg(db->pg);
}

int db_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	struct db_stmt *s = calloc(1, sizeof(*s));
	int ret = -1;

	*out = NULL;
	if (s == NULL)
		return err_set("out of memory");
	s->db = db;
	if (db->sq) {
		/* statements live as long as the connection: keep them out
		 * of SQLite's lookaside memory */
		if (sqlite3_prepare_v3(db->sq, sql, -1,
				       SQLITE_PREPARE_PERSISTENT, &s->sq,
				       NULL) == SQLITE_OK)
			ret = 0;
		else
			err_set("database: preparing a statement: %s",
				sqlite3_errmsg(db->sq));
	} else {
		ret = dbpg_prepare(db->pg, sql, &s->pg);
	}
	if (ret < 0) {
		db_finalize(s);
		return -1;
	}
	*out = s;
	return 0;
}

void db_finalize(struct db_stmt *s)
{
	if (s == NULL)
		return;
	if (s->sq)
		sqlite3_finalize(s->sq);
	dbpg_finalize(s->pg);
	free(s);
}

int db_bind_int64(struct db_stmt *s, int i, int64_t v)
{
	return s->sq ? sqlite3_bind_int64(s->sq, i, v)
		     : dbpg_bind_int64(s->pg, i, v);
}

int db_bind_double(struct db_stmt *s, int i, double v)
{
	return s->sq ? sqlite3_bind_double(s->sq, i, v)
		     : dbpg_bind_double(s->pg, i, v);
}

int db_bind_text(struct db_stmt *s, int i, const char *v)
{
	if (v == NULL)
		return db_bind_null(s, i);
	return s->sq ? sqlite3_bind_text(s->sq, i, v, -1, SQLITE_TRANSIENT)
		     : dbpg_bind_text(s->pg, i, v);
}

int db_bind_null(struct db_stmt *s, int i)
{
	return s->sq ? sqlite3_bind_null(s->sq, i) : dbpg_bind_text(s->pg, i,
								     NULL);
}

int db_step(struct db_stmt *s)
{
	int rc;

	if (!s->started) {
		s->started = true;
		s->db->statements++;
	}
	if (s->sq == NULL)
		return dbpg_step(s->pg);
	rc = sqlite3_step(s->sq);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return rc;
	/* the primary code: the modules test for DB_CONSTRAINT/DB_BUSY */
	return rc & 0xff;
}

void db_reset(struct db_stmt *s)
{
	s->started = false;
	if (s->sq)
		sqlite3_reset(s->sq);
	else
		dbpg_reset(s->pg);
}

void db_clear_bindings(struct db_stmt *s)
{
	if (s->sq)
		sqlite3_clear_bindings(s->sq);
	else
		dbpg_clear_bindings(s->pg);
}

int64_t db_col_int64(struct db_stmt *s, int i)
{
	return s->sq ? sqlite3_column_int64(s->sq, i) : dbpg_col_int64(s->pg, i);
}

int db_col_int(struct db_stmt *s, int i)
{
	return s->sq ? sqlite3_column_int(s->sq, i)
		     : (int)dbpg_col_int64(s->pg, i);
}

double db_col_double(struct db_stmt *s, int i)
{
	return s->sq ? sqlite3_column_double(s->sq, i)
		     : dbpg_col_double(s->pg, i);
}

const char *db_col_text(struct db_stmt *s, int i)
{
	return s->sq ? (const char *)sqlite3_column_text(s->sq, i)
		     : dbpg_col_text(s->pg, i);
}

int db_col_type(struct db_stmt *s, int i)
{
	return s->sq ? sqlite3_column_type(s->sq, i) : dbpg_col_type(s->pg, i);
}

int db_exec(struct db *db, const char *sql)
{
	char *msg = NULL;

	db->statements++;
	if (db->sq == NULL)
		return dbpg_exec(db->pg, sql);
	if (sqlite3_exec(db->sq, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set("database: %s", msg ? msg : sqlite3_errmsg(db->sq));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int db_begin(struct db *db)
{
	if (db->sq)
		return db_exec(db, "BEGIN IMMEDIATE");
	db->statements++; /* one round trip: BEGIN and the write lock */
	return dbpg_begin(db->pg, false);
}

int db_begin_relaxed(struct db *db)
{
	if (db->sq)
		return db_exec(db, "BEGIN IMMEDIATE");
	db->statements++;
	return dbpg_begin(db->pg, true);
}

int db_begin_read(struct db *db)
{
	if (db->sq)
		return db_exec(db, "BEGIN");
	db->statements++;
	return dbpg_begin_read(db->pg);
}

int db_commit(struct db *db)
{
	if (db->sq)
		return db_exec(db, "COMMIT");
	db->statements++;
	return dbpg_commit(db->pg);
}

void db_rollback(struct db *db)
{
	if (!db_in_tx(db))
		return;
	if (db->sq)
		sqlite3_exec(db->sq, "ROLLBACK", NULL, NULL, NULL);
	else
		dbpg_rollback(db->pg);
}

bool db_in_tx(struct db *db)
{
	return db->sq ? !sqlite3_get_autocommit(db->sq) : dbpg_in_tx(db->pg);
}

bool db_unreachable(struct db *db)
{
	return db->sq == NULL && dbpg_unreachable(db->pg);
}

uint64_t db_statements(const struct db *db)
{
	return db->statements;
}

int64_t db_changes(struct db *db)
{
	return db->sq ? sqlite3_changes64(db->sq) : dbpg_changes(db->pg);
}

int64_t db_last_insert_id(struct db *db)
{
	return db->sq ? sqlite3_last_insert_rowid(db->sq)
		      : dbpg_last_insert_id(db->pg);
}

int db_listen(struct db *db, const char *channel)
{
	if (db->pg == NULL)
		return err_set("database: notifications need PostgreSQL");
	return dbpg_listen(db->pg, channel);
}

int db_notify_wait(struct db *db, int timeout_ms, char *payload,
		   size_t size)
{
	if (db->pg == NULL)
		return err_set("database: notifications need PostgreSQL");
	return dbpg_notify_wait(db->pg, timeout_ms, payload, size);
}

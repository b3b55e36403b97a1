/*
 * db.h - one SQL interface over two engines: SQLite (the default, a file)
 * and PostgreSQL (libpq, for several controllers over one database).
 *
 * The controller's modules use only these calls, never sqlite3_* or PQ*:
 * a statement is prepared once with `?` or `?N` placeholders, bound,
 * stepped row by row, reset and stepped again. The SQLite engine is a
 * thin wrapper (each call is one sqlite3_* call). The PostgreSQL engine
 * prepares a server-side statement with `$N` placeholders, sends every
 * bound value as text (the server infers each parameter's type from its
 * use), runs it at the first step and hands out the result's rows at the
 * next ones. SQL must be written in the subset both engines accept; the
 * PostgreSQL engine rewrites the few spellings that differ (db_pg.c,
 * docs/decisions.md "One SQL for SQLite and PostgreSQL").
 *
 * A connection and its statements belong to one thread at a time (the
 * controller serialises them under its state lock).
 */
#ifndef FC_CTRL_DB_H
#define FC_CTRL_DB_H

#include "common/fc.h"

struct db;
struct db_stmt;

/* Which engine a connection runs on. */
enum db_engine { DB_SQLITE, DB_PG };

/* db_step() results; the values are SQLite's, so that its engine passes
 * them through. DB_CONSTRAINT: a UNIQUE, CHECK, NOT NULL or foreign key
 * constraint refused the change. DB_BUSY: the transaction lost a race
 * (SQLite: locked; PostgreSQL: serialization failure or deadlock, SQLSTATE
 * 40001/40P01) and may be retried as a whole. */
enum {
	DB_OK = 0,
	DB_ERROR = 1,
	DB_BUSY = 5,
	DB_NOMEM = 7,
	DB_CONSTRAINT = 19,
	DB_ROW = 100,
	DB_DONE = 101,
};

/* db_col_type() results (SQLite's values). */
enum { DB_INTEGER = 1, DB_FLOAT = 2, DB_TEXT = 3, DB_BLOB = 4, DB_NULL = 5 };

/* Open the database named by url: "postgresql://..." or "postgres://..."
 * (a libpq connection URI) selects PostgreSQL; "sqlite://PATH" or a plain
 * PATH opens (creating) the SQLite file PATH. 0 with *out (freed with
 * db_close()), or -1 with err_set() naming the database and the fix. */
int db_open(const char *url, struct db **out);
/* Close the connection; every statement must be finalized first. NULL is
 * a no-op. */
void db_close(struct db *db);
enum db_engine db_engine(const struct db *db);
/* The file of an SQLite database (NULL on PostgreSQL); owned by db. */
const char *db_path(const struct db *db);

/* The connection's last error message (never NULL; owned by db, valid
 * until its next call). */
const char *db_errmsg(struct db *db);

/* Prepare sql (one statement; `?` and `?N` placeholders). 0 with *out
 * (freed with db_finalize()), or -1 with err_set() naming the statement's
 * error. */
int db_prepare(struct db *db, const char *sql, struct db_stmt **out);
/* NULL is a no-op. */
void db_finalize(struct db_stmt *s);

/* Bind parameter i (1-based). A NULL text binds SQL NULL; text is copied.
 * DB_OK, or an error code (the failure also shows at db_step()). */
int db_bind_int64(struct db_stmt *s, int i, int64_t v);
int db_bind_double(struct db_stmt *s, int i, double v);
int db_bind_text(struct db_stmt *s, int i, const char *v);
int db_bind_null(struct db_stmt *s, int i);

/* Run s or move to its next row: DB_ROW (read the columns), DB_DONE (no
 * more rows; for a change, it is made) or an error code (db_errmsg()). */
int db_step(struct db_stmt *s);
/* Back to before the first step, keeping the bindings (and ending any read
 * the statement keeps open). */
void db_reset(struct db_stmt *s);
/* Every parameter back to NULL. */
void db_clear_bindings(struct db_stmt *s);

/* Columns of the current row, 0-based. NULL reads as 0, 0.0, NULL text.
 * Text is valid until the next step, reset or finalize. A boolean reads
 * as 1 or 0. */
int64_t db_col_int64(struct db_stmt *s, int i);
int db_col_int(struct db_stmt *s, int i);
double db_col_double(struct db_stmt *s, int i);
const char *db_col_text(struct db_stmt *s, int i);
/* DB_NULL, DB_INTEGER, DB_FLOAT, DB_TEXT or DB_BLOB. */
int db_col_type(struct db_stmt *s, int i);

/* Run sql, which may hold several statements and yields no rows: 0, or -1
 * with err_set(). */
int db_exec(struct db *db, const char *sql);

/* Transactions. db_begin() takes the write lock at once: BEGIN IMMEDIATE
 * on SQLite; on PostgreSQL a READ COMMITTED transaction that first takes
 * one transaction-level advisory lock (DBPG_WRITE_LOCK in db_pg.c), so the
 * write transactions of every controller on one database run one at a
 * time (docs/decisions.md "Claims on PostgreSQL"). A first attempt cut by
 * a lost connection is retried once. 0, or -1 with err_set().
 * db_rollback() is safe when no transaction is open. */
int db_begin(struct db *db);
int db_commit(struct db *db);
/* db_begin() for a transaction whose commit may be lost should the
 * database server crash (not the controller) within a fraction of a
 * second of it: on PostgreSQL it commits with synchronous_commit off
 * (no wait for the WAL flush; what it wrote is visible to every session
 * at once and written by the server's WAL writer within about 0.6 s);
 * on SQLite it is db_begin() (the store's synchronous setting rules).
 * For writes their sender repeats, such as an agent's heartbeat. */
int db_begin_relaxed(struct db *db);
/* A transaction that only reads, all from one snapshot of the database
 * (what was committed when it began on PostgreSQL, REPEATABLE READ READ
 * ONLY; at its first read on SQLite, a deferred BEGIN), taking no write
 * lock: it runs beside the writers, on another connection. Ended by
 * db_commit() or db_rollback(). 0, or -1 with err_set(). */
int db_begin_read(struct db *db);
void db_rollback(struct db *db);
/* Whether a transaction is open. */
bool db_in_tx(struct db *db);
/* Whether what just failed on db failed because the database server
 * cannot be reached: on PostgreSQL, the connection is broken (the server
 * stopped or restarted, a failover) and was not made again; the next
 * statement tries again. Always false on SQLite (a file). */
bool db_unreachable(struct db *db);

/* How many statements db has run since it was opened: each first
 * db_step() of a statement after its preparation or db_reset(), and each
 * db_exec() (one round trip on PostgreSQL, whatever it holds). BEGIN and
 * COMMIT count. For /metrics (fincloud_db_statements_total) and the
 * tests that bound the statements of a request. */
uint64_t db_statements(const struct db *db);

/* Rows changed by the last INSERT, UPDATE or DELETE stepped on db. */
int64_t db_changes(struct db *db);
/* The key the last INSERT on db gave its row: SQLite's rowid; on
 * PostgreSQL the last value of a sequence used in this session (lastval()),
 * so give the table a BIGSERIAL / AUTOINCREMENT key, or better, read the
 * key with RETURNING, which both engines accept. 0 when none. */
int64_t db_last_insert_id(struct db *db);

/* Notifications between the sessions of one database (PostgreSQL's
 * LISTEN/NOTIFY; a NOTIFY sent inside a transaction reaches the
 * listeners when it commits, never when it rolls back). SQLite has none:
 * both calls fail there with err_set().
 *
 * db_listen(): LISTEN on channel (a lower-case SQL identifier) on db, a
 * connection kept for this alone. 0, or -1 with err_set(). */
int db_listen(struct db *db, const char *channel);
/* Wait at most timeout_ms for a notification on a channel db listens on:
 * 1 with its payload (cut to size bytes, NUL-terminated) in payload, 0
 * when none came, -1 with err_set() when the connection broke (close it,
 * open a new one and listen again: what was sent meanwhile is lost). */
int db_notify_wait(struct db *db, int timeout_ms, char *payload,
		   size_t size);

#endif

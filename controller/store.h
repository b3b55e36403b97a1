/*
 * store.h - the controller's state database (SQLite or PostgreSQL, through
 * db.h): opening, schema migrations, transactions and a cache of prepared
 * statements.
 *
 * One connection serves the whole daemon; every caller holds the
 * controller's state lock (see ctrl.h) while it uses the store, so the
 * statement cache needs no lock of its own.
 *
 * Durability: the database runs in WAL mode. A transaction begun with
 * durable = true commits with synchronous=FULL (the WAL is fsync'ed before
 * COMMIT returns). The others commit with synchronous=NORMAL: the commit is
 * in the WAL, in the kernel's page cache, so it survives the process being
 * killed but not a power cut until the WAL is synced; SQLite syncs the WAL
 * before every checkpoint and the database after it. Requests acknowledged
 * to clients commit with NORMAL under the controller lock and then call
 * store_sync_wal() outside it before they answer: one fdatasync then
 * covers every commit made before it started (group commit), so the lock
 * is never held across a disk flush.
 *
 * On PostgreSQL every COMMIT is durable when it returns (the server's
 * synchronous_commit) except those of store_begin_repeated() (agents'
 * heartbeats, not synced before their answer on SQLite either),
 * store_sync_wal() has nothing to do, and write
 * transactions of all the controllers sharing the database run one at a
 * time (db_begin()), as on SQLite.
 */
#ifndef FC_CTRL_STORE_H
#define FC_CTRL_STORE_H


#include "common/fc.h"
#include "controller/db.h"

struct store;
struct buf;

/* The newest schema version the code knows (PRAGMA user_version). */
int store_schema_version(void);

/* Open the database url names (db_open(): a file path, sqlite://PATH or
 * postgresql://...; an SQLite file is created when missing, in WAL mode
 * with foreign keys), and run every migration newer than its version,
 * each in its own transaction. *out is freed with store_close(). */
int store_open(const char *url, struct store **out);
void store_close(struct store *st);

/* url (a `database` setting) as logs and messages may show it: a
 * PostgreSQL URI without its user and password. Writes at most size bytes
 * to name, NUL-terminated. */
void store_display_name(const char *url, char *name, size_t size);

/* The connection, for db_changes() and db_errmsg(). */
struct db *store_db(struct store *st);

/* BEGIN IMMEDIATE; see the durability note above. */
int store_begin(struct store *st, bool durable);
/* store_begin(st, false) for a write its sender repeats until it is
 * answered and then again every interval (an agent's heartbeat): on
 * SQLite the same; on PostgreSQL it commits without waiting for the WAL
 * flush (db_begin_relaxed()), as such a commit on SQLite is not synced
 * before its answer either: a crash of the database server may lose
 * the last fraction of a second of them, which the next heartbeats
 * write again. */
int store_begin_repeated(struct store *st);
/* A read-only transaction on one snapshot (db_begin_read()), ended by
 * store_commit() or store_rollback(): for a second connection that
 * reads beside the writers' (ctrl.h "The reader"). */
int store_begin_read(struct store *st);
int store_commit(struct store *st);
/* fn(arg) runs after every successful store_commit(), in the committing
 * thread (which still holds the controller's lock), and may use the
 * store; NULL removes it. The store does not own arg. */
void store_on_commit(struct store *st, void (*fn)(void *arg), void *arg);

/* Roll back when a transaction is open; safe to call when none is. */
void store_rollback(struct store *st);

/* A prepared statement for sql, reset and with bindings cleared. sql must
 * be a string literal (statements are cached by its address). The store
 * owns the statement: never finalize it. NULL with err_set(). */
struct db_stmt *store_stmt(struct store *st, const char *sql);

/* Run sql (no result rows) with err_set() on failure. */
int store_exec(struct store *st, const char *sql);

/* err_set() with the connection's last message and `what`. Returns -1. */
int store_err(struct store *st, const char *what);

/* Bind helpers: a NULL string binds SQL NULL. */
int store_bind_text(struct db_stmt *s, int i, const char *v);
/* store_stmt() with its first parameter bound to text (NULL binds SQL
 * NULL): the shape of most keyed reads. NULL with err_set(). */
struct db_stmt *store_stmt1(struct store *st, const char *sql,
			  const char *text);
/* Bind v[0..n-1] to parameters first..first+n-1 (strings as
 * store_bind_text(); integers as int64). A failure to bind shows when the
 * statement is stepped. */
void store_bind_texts(struct db_stmt *s, int first, const char *const *v,
		      size_t n);
void store_bind_int64s(struct db_stmt *s, int first, const int64_t *v,
		       size_t n);

/* Column as a string, "" for NULL (valid until the next step/reset). */
const char *store_col_text(struct db_stmt *s, int i);

/* Step the bound statement s once: 1 with s on its first row (the caller
 * reads it, then resets s), 0 when it yields none, -1 with err_set()
 * naming what when it fails (s is reset in both). A failure is never "no
 * row". */
int store_row(struct store *st, struct db_stmt *s, const char *what);

/* Step the bound statement s, which yields no row, and reset it: 0, or
 * -1 with err_set() naming what. */
int store_done(struct store *st, struct db_stmt *s, const char *what);

/* End a loop that stepped s (its last result rc) collecting rows into
 * rows: s is reset; 0 when the loop ran to its end (rc is DB_DONE);
 * else -1 with rows freed and, for a failed step, err_set() naming what
 * (a loop that broke off on DB_ROW has set its own error). */
int store_rows_end(struct store *st, struct db_stmt *s, int rc,
		   struct buf *rows, const char *what);

/* Run the cached statement sql (it yields no row) with key bound to ?1:
 * 0, or -1 with err_set() naming what. */
int store_run(struct store *st, const char *sql, const char *key,
	      const char *what);

/* Run the cached statement sql with key bound to ?1 and step it once:
 * 1 with *s on its first row (the caller reads it, then resets *s), 0
 * when it yields none, -1 with err_set() naming what when it fails. A
 * failure is never "no row". */
int store_find(struct store *st, const char *sql, const char *key,
	       struct db_stmt **s, const char *what);

/* fdatasync the WAL file: every transaction committed before the call
 * started is on disk when it returns 0. Needs no lock (it only uses a file
 * descriptor of its own). */
int store_sync_wal(struct store *st);

/* Mark this controller as the driver of key (a rebalance or drain run's
 * task id) for as long as its connection lives: on PostgreSQL a session
 * advisory lock (keyed by a 32-bit hash of key), which the server
 * releases when the controller dies, so that another controller can tell
 * a run nobody drives any more. *got: whether it was free (or already
 * this session's: a lock is counted, each store_owner_lock() that got it
 * wants one store_owner_unlock()). On SQLite (one controller) always
 * free. 0, or -1 with err_set(). */
int store_owner_lock(struct store *st, const char *key, bool *got);
/* Release one store_owner_lock() of key; errors are ignored (the lock
 * ends with the session anyway). */
void store_owner_unlock(struct store *st, const char *key);

/* Reset every cached statement, ending any read they keep open; the
 * server calls it after each request. */
void store_reset_all(struct store *st);

#endif

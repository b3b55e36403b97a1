/*
 * db_pg.h - the PostgreSQL engine behind db.h (libpq). Only db.c calls
 * it; each function does what its db_* namesake says in db.h.
 *
 * A statement is prepared on the server (PQprepare) under a name of its
 * own, with `?`/`?N` turned into `$N` and the SQLite spellings of the
 * rewrite table in db_pg.c turned into PostgreSQL's. Its first step runs
 * it (PQexecPrepared, every parameter sent as text, typed by the server
 * from its use); the result's rows are handed out one per step. A
 * connection that broke is reset at the next statement begun outside a
 * transaction, and statements are prepared again on the new one; a read
 * or a BEGIN that found it broken runs once more on the new one (a change
 * never does: it may have committed before the break).
 */
#ifndef FC_CTRL_DB_PG_H
#define FC_CTRL_DB_PG_H

#include "common/fc.h"

struct dbpg;
struct dbpg_stmt;

int dbpg_open(const char *url, struct dbpg **out);
void dbpg_close(struct dbpg *pg);
const char *dbpg_errmsg(struct dbpg *pg);

int dbpg_prepare(struct dbpg *pg, const char *sql, struct dbpg_stmt **out);
void dbpg_finalize(struct dbpg_stmt *s);
int dbpg_bind_int64(struct dbpg_stmt *s, int i, int64_t v);
int dbpg_bind_double(struct dbpg_stmt *s, int i, double v);
/* NULL binds SQL NULL. */
int dbpg_bind_text(struct dbpg_stmt *s, int i, const char *v);
int dbpg_step(struct dbpg_stmt *s);
void dbpg_reset(struct dbpg_stmt *s);
void dbpg_clear_bindings(struct dbpg_stmt *s);
int64_t dbpg_col_int64(struct dbpg_stmt *s, int i);
double dbpg_col_double(struct dbpg_stmt *s, int i);
const char *dbpg_col_text(struct dbpg_stmt *s, int i);
int dbpg_col_type(struct dbpg_stmt *s, int i);

int dbpg_exec(struct dbpg *pg, const char *sql);
/* relaxed: the transaction commits with synchronous_commit off (db.h
 * db_begin_relaxed()). */
int dbpg_begin(struct dbpg *pg, bool relaxed);
/* A read-only REPEATABLE READ transaction: one snapshot for every read
 * until dbpg_commit(), no write lock. */
int dbpg_begin_read(struct dbpg *pg);
int dbpg_commit(struct dbpg *pg);
void dbpg_rollback(struct dbpg *pg);
bool dbpg_in_tx(struct dbpg *pg);
bool dbpg_unreachable(struct dbpg *pg);
int64_t dbpg_changes(struct dbpg *pg);
int64_t dbpg_last_insert_id(struct dbpg *pg);

int dbpg_listen(struct dbpg *pg, const char *channel);
int dbpg_notify_wait(struct dbpg *pg, int timeout_ms, char *payload,
		     size_t size);

/* The SQL pg would run for sql: the rewrite table applied and the
 * placeholders numbered. *out is freed by the caller; *nparams is the
 * highest placeholder; bit i of *used is set when $(i+1) occurs. 0, or
 * -1 with err_set(). */
int dbpg_translate(const char *sql, char **out, int *nparams,
		   uint64_t *used);

#endif

#include <ctype.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/util.h"
#include "controller/db.h"
#include "controller/db_pg.h"

/* Every write transaction takes this transaction-level advisory lock
 * first, so that write transactions of all the controllers on one
 * database run one at a time, as BEGIN IMMEDIATE makes them on SQLite
 * (docs/decisions.md "Claims on PostgreSQL"). */
#define DBPG_WRITE_LOCK "7310256151106191201"

/* Type OIDs (pg_type.h, stable across releases). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700
#define OID_TEXT 25

struct dbpg {
	PGconn *conn;
	char *url;
	char err[1024];
	unsigned epoch;	  /* bumped at each reconnection */
	unsigned next_id; /* statement names */
	bool tx;
	int64_t changes;
};

struct dbpg_stmt {
	struct dbpg *pg;
	char name[24];
	char *sql; /* translated */
	int nparams;
	uint64_t used; /* bit i: $(i+1) occurs in sql */
	char **vals; /* nparams texts, NULL for SQL NULL */
	unsigned epoch; /* of the connection it is prepared on; 0: none */
	bool read_only; /* a SELECT: safe to run again */
	PGresult *res;
	int row, nrows;
};

/*
 * The rewrite table: SQLite spellings the controller's SQL uses and what
 * PostgreSQL calls them. Each is matched as whole words, outside string
 * literals and quoted names. Anything not here must be written in the
 * subset both accept (docs/decisions.md).
 */
static const struct {
	const char *from, *to;
} rewrites[] = {
	{ "INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY" },
	{ "INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY" },
	/* SQLite's integers are 64-bit (times in ms do not fit 32) */
	{ "INTEGER", "BIGINT" },
	{ "REAL", "DOUBLE PRECISION" },
	{ "WITHOUT ROWID", "" },
	{ "BEGIN IMMEDIATE", "BEGIN" },
	{ "LIMIT -1", "LIMIT ALL" },
	{ "temp.", "pg_temp." },
};

static int word_char(int c)
{
	return isalnum(c) || c == '_';
}

/* The rewrite matching at p, NULL for none. */
static size_t rewrite_at(const char *sql, const char *p)
{
	for (size_t i = 0; i < FC_ARRAY_LEN(rewrites); i++) {
		size_t n = strlen(rewrites[i].from);

		if (strncmp(p, rewrites[i].from, n) != 0)
			continue;
		if (p > sql && word_char((unsigned char)p[-1]))
			continue;
		if (word_char((unsigned char)rewrites[i].from[n - 1]) &&
		    word_char((unsigned char)p[n]))
			continue;
		return i + 1;
	}
	return 0;
}

/* Whether p (just after a placeholder) starts "IS NULL" or "IS NOT
 * NULL": the server cannot tell such a parameter's type from that test
 * alone, so it is sent as text (filters such as "?2 IS NULL OR tenant =
 * ?2" compare text columns). */
static bool null_test(const char *p)
{
	p += strspn(p, " \n\t");
	if (strncmp(p, "IS", 2) != 0 || !isspace((unsigned char)p[2]))
		return false;
	p += 2 + strspn(p + 2, " \n\t");
	if (strncmp(p, "NOT", 3) == 0 && isspace((unsigned char)p[3]))
		p += 3 + strspn(p + 3, " \n\t");
	return strncmp(p, "NULL", 4) == 0 && !word_char((unsigned char)p[4]);
}

int dbpg_translate(const char *sql, char **out, int *nparams, uint64_t *used)
{
	struct buf b;
	const char *p = sql;
	int max = 0;

	*used = 0;
	buf_init(&b, 1 << 20);
	while (*p) {
		size_t r;

		if (*p == '\'' || *p == '"') {
			const char *q = strchr(p + 1, *p);

			q = q ? q + 1 : p + strlen(p);
			buf_append(&b, p, (size_t)(q - p));
			p = q;
		} else if (*p == '?') {
			char *end;
			long n = strtol(p + 1, &end, 10);

			if (end == p + 1)
				n = max + 1;
			if (n > max)
				max = (int)n;
			if (n >= 1 && n <= 64)
				*used |= UINT64_C(1) << (n - 1);
			buf_printf(&b, null_test(end) ? "CAST($%ld AS TEXT)"
						      : "$%ld",
				   n);
			p = end;
		} else if ((r = rewrite_at(sql, p)) != 0) {
			buf_puts(&b, rewrites[r - 1].to);
			p += strlen(rewrites[r - 1].from);
		} else {
			buf_append(&b, p, 1);
			p++;
		}
	}
	if (buf_str(&b) == NULL && *sql) {
		buf_free(&b);
		return err_set("database: statement too long or out of memory");
	}
	*out = buf_detach(&b);
	*nparams = max;
	return *out ? 0 : err_set("out of memory");
}

static void pg_seterr(struct dbpg *pg, const char *msg)
{
	size_t n;

	snprintf(pg->err, sizeof(pg->err), "%s", msg ? msg : "unknown error");
	/* libpq's messages span lines (a hint on the next): one line for
	 * the logs and the API's answers */
	for (char *p = pg->err; (p = strpbrk(p, "\n\t")) != NULL;)
		*p = ' ';
	n = strlen(pg->err);
	while (n > 0 && (pg->err[n - 1] == '\n' || pg->err[n - 1] == ' '))
		pg->err[--n] = '\0';
}

/* The db.h code for a failed result. */
static int pg_code(const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
				: NULL;

	if (state == NULL)
		return DB_ERROR;
	if (strncmp(state, "23", 2) == 0)
		return DB_CONSTRAINT;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		return DB_BUSY;
	return DB_ERROR;
}

/* The settings of each session the controller opens, again after a
 * reconnection (a new session starts from the server's defaults). */
static void pg_session(PGconn *conn)
{
	/* the server's messages in English for the logs; no NOTICE chatter
	 * (IF NOT EXISTS) on stderr */
	PQclear(PQexec(conn, "SET client_min_messages = warning"));
	/* short statements only: the JIT compiler's start-up (about a
	 * second for a plan it finds costly) would be most of their time */
	PQclear(PQexec(conn, "SET jit = off"));
	/* plan_cache_mode stays PostgreSQL's own (auto): forcing the
	 * generic plan saved the planning of a heartbeat's statements (3 of
	 * its 9 ms) but froze plans made while the tables were small: with
	 * 1,000 hosts report_vms() took 51 ms instead of 1.4 (a generic
	 * plan that scans, made before the fleet grew) */
}

/* A usable connection: a broken one is reset, unless a transaction was
 * open on it (its statements are lost; the caller must roll back). */
static int pg_connected(struct dbpg *pg)
{
	if (PQstatus(pg->conn) == CONNECTION_OK)
		return 0;
	if (pg->tx) {
		pg_seterr(pg, "the connection to PostgreSQL was lost inside a "
			      "transaction");
		return -1;
	}
	PQreset(pg->conn);
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		pg_seterr(pg, PQerrorMessage(pg->conn));
		return -1;
	}
	pg->epoch++;
	pg_session(pg->conn);
	return 0;
}

int dbpg_open(const char *url, struct dbpg **out)
{
	struct dbpg *pg = calloc(1, sizeof(*pg));
	PGresult *res = NULL;
	int ret = -1;

	*out = NULL;
	if (pg == NULL || (pg->url = strdup(url)) == NULL) {
		err_set("out of memory");
		goto out;
	}
	pg->epoch = 1;
	pg->conn = PQconnectdb(url);
	if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK) {
		err_set("cannot connect to PostgreSQL: %s: check the "
			"'database' setting and that the server runs",
			pg->conn ? PQerrorMessage(pg->conn) : "out of memory");
		goto out;
	}
	pg_session(pg->conn);
	/* text compares byte by byte, as on SQLite: pagination by name
	 * and the API's sort orders depend on it */
	res = PQexec(pg->conn, "SHOW lc_collate");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    strcmp(PQgetvalue(res, 0, 0), "C") != 0 &&
	    strcmp(PQgetvalue(res, 0, 0), "POSIX") != 0) {
		err_set("PostgreSQL database has collation '%s': create it "
			"with LC_COLLATE 'C' (createdb --locale=C "
			"--template=template0), docs/operations.md",
			PQgetvalue(res, 0, 0));
		goto out;
	}
	ret = 0;
	*out = pg;
out:
	PQclear(res);
	if (ret < 0)
		dbpg_close(pg);
	return ret;
}

void dbpg_close(struct dbpg *pg)
{
	if (pg == NULL)
		return;
	PQfinish(pg->conn);
	free(pg->url);
	free(pg);
}

const char *dbpg_errmsg(struct dbpg *pg)
{
	return pg->err;
}

static int pg_server_prepare(struct dbpg_stmt *s)
{
	struct dbpg *pg = s->pg;
	PGresult *res;
	int ret = 0;

	Oid types[64] = {0};

	/* a parameter SQLite allows to be bound and unused: the server
	 * needs a type for it */
	for (int i = 0; i < s->nparams && i < 64; i++)
		if (!(s->used & (UINT64_C(1) << i)))
			types[i] = OID_TEXT;
	snprintf(s->name, sizeof(s->name), "fc%u", ++pg->next_id);
	res = PQprepare(pg->conn, s->name, s->sql, s->nparams,
			s->nparams <= 64 ? types : NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_seterr(pg, PQresultErrorMessage(res));
		ret = -1;
	} else {
		s->epoch = pg->epoch;
	}
	PQclear(res);
	return ret;
}

int dbpg_prepare(struct dbpg *pg, const char *sql, struct dbpg_stmt **out)
{
	struct dbpg_stmt *s = calloc(1, sizeof(*s));
	int ret = -1;

	*out = NULL;
	if (s == NULL)
		return err_set("out of memory");
	s->pg = pg;
	if (dbpg_translate(sql, &s->sql, &s->nparams, &s->used) < 0)
		goto out;
	s->read_only = strncasecmp(s->sql + strspn(s->sql, " \n\t"), "SELECT",
				   6) == 0;
	if (s->nparams > 0 &&
	    (s->vals = calloc((size_t)s->nparams, sizeof(*s->vals))) == NULL) {
		err_set("out of memory");
		goto out;
	}
	if (pg_connected(pg) < 0 || pg_server_prepare(s) < 0) {
		err_set("database: preparing a statement: %s", pg->err);
		goto out;
	}
	ret = 0;
	*out = s;
out:
	if (ret < 0)
		dbpg_finalize(s);
	return ret;
}

void dbpg_finalize(struct dbpg_stmt *s)
{
	char sql[48];

	if (s == NULL)
		return;
	dbpg_reset(s);
	dbpg_clear_bindings(s);
	if (s->epoch == s->pg->epoch &&
	    PQstatus(s->pg->conn) == CONNECTION_OK) {
		snprintf(sql, sizeof(sql), "DEALLOCATE %s", s->name);
		PQclear(PQexec(s->pg->conn, sql));
	}
	free(s->vals);
	free(s->sql);
	free(s);
}

/* v as the server takes it: a database in UTF-8 refuses any other byte
 * sequence, where SQLite compares bytes. Such a value (a URL path that is
 * not UTF-8) can equal no stored name, so each byte that is not part of
 * well-formed UTF-8 becomes U+FFFD, and the lookup finds nothing, as on
 * SQLite. NULL when out of memory. */
static char *pg_utf8(const char *v)
{
	size_t len = strlen(v), ok;
	struct buf b;

	if ((ok = utf8_valid_len(v, len)) == len)
		return strdup(v);
	buf_init(&b, 4 * len + 1);
	while (len > 0) {
		buf_append(&b, v, ok);
		if (ok < len) {
			buf_puts(&b, "\xef\xbf\xbd");
			ok++;
		}
		v += ok;
		len -= ok;
		ok = utf8_valid_len(v, len);
	}
	return buf_detach(&b);
}

int dbpg_bind_text(struct dbpg_stmt *s, int i, const char *v)
{
	char *copy = NULL;

	if (i < 1 || i > s->nparams)
		return DB_ERROR;
	if (v && (copy = pg_utf8(v)) == NULL)
		return DB_NOMEM;
	free(s->vals[i - 1]);
	s->vals[i - 1] = copy;
	return DB_OK;
}

int dbpg_bind_int64(struct dbpg_stmt *s, int i, int64_t v)
{
	char t[24];

	snprintf(t, sizeof(t), "%" PRId64, v);
	return dbpg_bind_text(s, i, t);
}

int dbpg_bind_double(struct dbpg_stmt *s, int i, double v)
{
	char t[32];

	snprintf(t, sizeof(t), "%.17g", v);
	return dbpg_bind_text(s, i, t);
}

/* Whether what just failed on pg may run again on a new connection: the
 * connection broke (the server restarted, a failover) outside a
 * transaction, and what failed changes nothing (a read, or BEGIN). A
 * change is never run again: it may have committed before the break. */
static bool pg_may_retry(struct dbpg *pg, bool read_only)
{
	return read_only && !pg->tx && PQstatus(pg->conn) == CONNECTION_BAD;
}

int dbpg_step(struct dbpg_stmt *s)
{
	struct dbpg *pg = s->pg;
	const char *n;
	int rc = DB_ERROR;

	if (s->res) {
		if (s->row < s->nrows)
			s->row++;
		return s->row < s->nrows ? DB_ROW : DB_DONE;
	}
	for (int attempt = 0;; attempt++) {
		ExecStatusType st;

		if (pg_connected(pg) < 0)
			return DB_ERROR;
		if (s->epoch != pg->epoch && pg_server_prepare(s) < 0) {
			if (attempt == 0 && pg_may_retry(pg, true))
				continue;
			return DB_ERROR;
		}
		s->res = PQexecPrepared(pg->conn, s->name, s->nparams,
					(const char *const *)s->vals, NULL,
					NULL, 0);
		st = PQresultStatus(s->res);
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
			break;
		pg_seterr(pg, PQresultErrorMessage(s->res));
		rc = pg_code(s->res);
		PQclear(s->res);
		s->res = NULL;
		if (attempt > 0 || !pg_may_retry(pg, s->read_only))
			return rc;
	}
	s->nrows = PQntuples(s->res);
	s->row = 0;
	n = PQcmdTuples(s->res);
	if (*n)
		pg->changes = strtoll(n, NULL, 10);
	return s->nrows > 0 ? DB_ROW : DB_DONE;
}

void dbpg_reset(struct dbpg_stmt *s)
{
	PQclear(s->res);
	s->res = NULL;
	s->row = s->nrows = 0;
}

void dbpg_clear_bindings(struct dbpg_stmt *s)
{
	for (int i = 0; i < s->nparams; i++) {
		free(s->vals[i]);
		s->vals[i] = NULL;
	}
}

/* The current row's column i, NULL for SQL NULL or no such column. */
static const char *pg_value(struct dbpg_stmt *s, int i)
{
	if (s->res == NULL || s->row >= s->nrows || i < 0 ||
	    i >= PQnfields(s->res) || PQgetisnull(s->res, s->row, i))
		return NULL;
	return PQgetvalue(s->res, s->row, i);
}

int64_t dbpg_col_int64(struct dbpg_stmt *s, int i)
{
	const char *v = pg_value(s, i);

	if (v == NULL)
		return 0;
	if (PQftype(s->res, i) == OID_BOOL)
		return *v == 't';
	if (strpbrk(v, ".eE"))
		return (int64_t)strtod(v, NULL);
	return strtoll(v, NULL, 10);
}

double dbpg_col_double(struct dbpg_stmt *s, int i)
{
	const char *v = pg_value(s, i);

	if (v == NULL)
		return 0;
	if (PQftype(s->res, i) == OID_BOOL)
		return *v == 't';
	return strtod(v, NULL);
}

const char *dbpg_col_text(struct dbpg_stmt *s, int i)
{
	const char *v = pg_value(s, i);

	if (v && PQftype(s->res, i) == OID_BOOL)
		return *v == 't' ? "1" : "0";
	return v;
}

int dbpg_col_type(struct dbpg_stmt *s, int i)
{
	const char *v = pg_value(s, i);

	if (v == NULL)
		return DB_NULL;
	switch (PQftype(s->res, i)) {
	case OID_BOOL:
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
		return DB_INTEGER;
	case OID_NUMERIC:
		return strpbrk(v, ".eE") ? DB_FLOAT : DB_INTEGER;
	case OID_FLOAT4:
	case OID_FLOAT8:
		return DB_FLOAT;
	case OID_BYTEA:
		return DB_BLOB;
	default:
		return DB_TEXT;
	}
}

/* Run sql (translated) and return its result, or NULL with pg->err. */
static PGresult *pg_run(struct dbpg *pg, const char *sql)
{
	char *t = NULL;
	int n;
	uint64_t used;
	PGresult *res = NULL;
	ExecStatusType st;

	if (dbpg_translate(sql, &t, &n, &used) < 0) {
		pg_seterr(pg, err_msg());
		return NULL;
	}
	if (pg_connected(pg) < 0)
		goto out;
	res = PQexec(pg->conn, t);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_seterr(pg, PQresultErrorMessage(res));
		PQclear(res);
		res = NULL;
	}
out:
	free(t);
	return res;
}

int dbpg_exec(struct dbpg *pg, const char *sql)
{
	PGresult *res = pg_run(pg, sql);

	if (res == NULL)
		return err_set("database: %s", pg->err);
	PQclear(res);
	return 0;
}

/* Begin a transaction with sql (one round trip), once more when the
 * first try found the connection broken. 0, or -1 with err_set(). */
static int dbpg_begin_as(struct dbpg *pg, const char *sql)
{
	for (int attempt = 0;; attempt++) {
		bool retry;

		/* one round trip */
		if (dbpg_exec(pg, sql) == 0)
			break;
		retry = attempt == 0 && pg_may_retry(pg, true);
		dbpg_rollback(pg);
		if (!retry)
			return -1;
	}
	pg->tx = true;
	return 0;
}

int dbpg_begin(struct dbpg *pg, bool relaxed)
{
	return dbpg_begin_as(pg, relaxed ? "BEGIN; SET LOCAL synchronous_commit "
					   "= off; SELECT pg_advisory_xact_lock("
					   DBPG_WRITE_LOCK ")"
					 : "BEGIN; SELECT pg_advisory_xact_lock("
					   DBPG_WRITE_LOCK ")");
}

int dbpg_begin_read(struct dbpg *pg)
{
	return dbpg_begin_as(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ "
				 "ONLY");
}


int dbpg_commit(struct dbpg *pg)
{
	PGresult *res = pg_run(pg, "COMMIT");
	int ret = 0;

	/* COMMIT of a failed transaction answers ROLLBACK, not an error */
	if (res == NULL || strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		if (res)
			pg_seterr(pg, "the transaction was rolled back");
		ret = err_set("database: %s", pg->err);
	}
	PQclear(res);
	pg->tx = false;
	return ret;
}

void dbpg_rollback(struct dbpg *pg)
{
	if (PQstatus(pg->conn) == CONNECTION_OK)
		PQclear(PQexec(pg->conn, "ROLLBACK"));
	pg->tx = false;
}

bool dbpg_in_tx(struct dbpg *pg)
{
	return pg->tx ||
	       (PQstatus(pg->conn) == CONNECTION_OK &&
		PQtransactionStatus(pg->conn) != PQTRANS_IDLE);
}

bool dbpg_unreachable(struct dbpg *pg)
{
	return PQstatus(pg->conn) != CONNECTION_OK;
}

int64_t dbpg_changes(struct dbpg *pg)
{
	return pg->changes;
}

int64_t dbpg_last_insert_id(struct dbpg *pg)
{
	PGresult *res;
	int64_t id = 0;

	/* lastval() fails when no sequence was used: inside a savepoint,
	 * so that the failure does not end the caller's transaction */
	if (pg->tx)
		PQclear(PQexec(pg->conn, "SAVEPOINT fc_lastval"));
	res = PQexec(pg->conn, "SELECT lastval()");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (pg->tx)
		PQclear(PQexec(pg->conn, id ? "RELEASE fc_lastval"
					    : "ROLLBACK TO fc_lastval"));
	PQclear(res);
	return id;
}

int dbpg_listen(struct dbpg *pg, const char *channel)
{
	char sql[128];

	/* the channel is the caller's constant; checked all the same */
	if (strspn(channel, "abcdefghijklmnopqrstuvwxyz_") != strlen(channel) ||
	    snprintf(sql, sizeof(sql), "LISTEN %s", channel) >= (int)sizeof(sql))
		return err_set("database: invalid channel name '%.40s'",
			       channel);
	return dbpg_exec(pg, sql);
}

/* The next notification already received on pg into payload: 1, or 0. */
static int pg_next_notify(struct dbpg *pg, char *payload, size_t size)
{
	PGnotify *n = PQnotifies(pg->conn);

	if (n == NULL)
		return 0;
	snprintf(payload, size, "%s", n->extra ? n->extra : "");
	PQfreemem(n);
	return 1;
}

int dbpg_notify_wait(struct dbpg *pg, int timeout_ms, char *payload,
		     size_t size)
{
	struct pollfd pfd;
	int rc;

	if (PQstatus(pg->conn) != CONNECTION_OK || PQsocket(pg->conn) < 0)
		return err_set("database: the listening connection is lost");
	if (pg_next_notify(pg, payload, size))
		return 1;
	pfd = (struct pollfd){.fd = PQsocket(pg->conn), .events = POLLIN};
	rc = poll(&pfd, 1, timeout_ms);
	if (rc < 0 && errno != EINTR)
		return err_set("database: waiting for notifications: %s",
			       strerror(errno));
	if (rc <= 0)
		return 0;
	/* readable: a notification, or the end of the connection */
	if (PQconsumeInput(pg->conn) == 0 ||
	    PQstatus(pg->conn) != CONNECTION_OK) {
		pg_seterr(pg, PQerrorMessage(pg->conn));
		return err_set("database: the listening connection is lost: %s",
			       pg->err);
	}
	return pg_next_notify(pg, payload, size);
}

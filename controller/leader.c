#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "controller/db.h"
#include "controller/leader.h"

/* The lock's key: any fixed number no other user of the database takes
 * (the write transactions' key is another, db_pg.c); pg_locks shows a
 * bigint key as its high and low 32 bits. */
#define LEADER_KEY "7310256151106191202"
#define LEADER_KEY_HI "'1702051644'"
#define LEADER_KEY_LO "'4023156578'"
/* Reconnect at most this often (ns). */
#define LEADER_RETRY_NS (2ULL * 1000000000ULL)

struct leader {
	char *url;
	struct db *db;	   /* the connection holding the lock; NULL: none */
	bool leading;	   /* holds the lock */
	bool unreachable;  /* the last attempt to connect failed (logged) */
	uint64_t last_try; /* time_mono_ns() of the last connection attempt */
};

int leader_new(const char *url, struct leader **out)
{
	struct leader *l;

	*out = NULL;
	if (strncmp(url, "postgresql://", 13) != 0 &&
	    strncmp(url, "postgres://", 11) != 0)
		return 0;
	l = calloc(1, sizeof(*l));
	if (l == NULL || (l->url = strdup(url)) == NULL) {
		free(l);
		return err_set("out of memory");
	}
	*out = l;
	return 0;
}

void leader_free(struct leader *l)
{
	if (l == NULL)
		return;
	db_close(l->db);
	free(l->url);
	free(l);
}

/* Run sql, which yields one boolean or integer: 1 or 0, -1 when the
 * connection failed. */
static int leader_ask(struct leader *l, const char *sql)
{
	struct db_stmt *s = NULL;
	int ret = -1;

	if (db_prepare(l->db, sql, &s) == 0 && db_step(s) == DB_ROW)
		ret = db_col_int(s, 0) != 0;
	db_finalize(s);
	return ret;
}

/* A connection to ask on, NULL while none can be had. */
static struct db *leader_conn(struct leader *l)
{
	uint64_t now = time_mono_ns();

	if (l->db)
		return l->db;
	if (l->last_try && now - l->last_try < LEADER_RETRY_NS)
		return NULL;
	l->last_try = now;
	if (db_open(l->url, &l->db) < 0) {
		if (!l->unreachable)
			log_warn("leader election: %s", err_msg());
		l->unreachable = true;
		return NULL;
	}
	l->unreachable = false;
	return l->db;
}

bool leader_check(struct leader *l)
{
	int rc;

	if (l == NULL)
		return true;
	if (leader_conn(l) == NULL)
		return false;
	/* a leader asks whether its session still holds the lock: the
	 * engine reconnects a broken connection by itself, and a new
	 * session holds nothing */
	rc = leader_ask(l, l->leading ? "SELECT EXISTS (SELECT 1 FROM pg_locks "
				       "WHERE locktype = 'advisory' AND pid = "
				       "pg_backend_pid() AND granted AND "
				       "classid = " LEADER_KEY_HI " AND objid = "
				       LEADER_KEY_LO " AND objsubid = 1)"
				     : "SELECT pg_try_advisory_lock("
				       LEADER_KEY ")");
	if (rc < 0) {
		log_warn("leader election: lost the connection to the "
			 "database: %s%s",
			 db_errmsg(l->db),
			 l->leading ? "; no longer running the background work"
				    : "");
		db_close(l->db);
		l->db = NULL;
		l->leading = false;
	} else if (l->leading && rc == 0) {
		log_warn("leader election: the database session was renewed "
			 "and the lock lost; no longer running the background "
			 "work");
		l->leading = false;
	} else if (!l->leading && rc == 1) {
		log_info("this controller now runs the background work "
			 "(leader: host liveness, task timeouts, "
			 "utilisation samples)");
		l->leading = true;
	}
	return l->leading;
}

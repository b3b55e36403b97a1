/*
 * leader.h - which controller runs the background work (jobs.h: marking
 * silent hosts down, sampling the pools' utilisation) when several share
 * one PostgreSQL database.
 *
 * The leader is the controller holding a session-level advisory lock
 * (pg_try_advisory_lock) on a connection of its own, opened for nothing
 * else. The others try to take it at each check (once a second). When the
 * leader dies, its connection closes and the server releases the lock at
 * once; a survivor takes it at its next check. When the leader's
 * connection breaks, the leader learns it at its next check and stops
 * leading until it holds the lock again; the server released the lock
 * when the session ended, so another may already lead. On SQLite there is
 * one controller per database and it always leads.
 *
 * Used by the jobs thread alone: no lock of its own.
 */
#ifndef FC_CTRL_LEADER_H
#define FC_CTRL_LEADER_H

#include "common/fc.h"

struct leader;

/* For the database url (a `database` setting): *out is NULL on SQLite
 * (leader_check() then always says yes); on PostgreSQL a leader that opens
 * its connection at its first check. 0, or -1 with err_set() (out of
 * memory). Freed with leader_free(). */
int leader_new(const char *url, struct leader **out);
/* Close the connection, which releases the lock; NULL is a no-op. */
void leader_free(struct leader *l);

/* Whether this controller leads now: true when it holds the lock (taking
 * it when free), false when another holds it or the database cannot be
 * reached (logged once per change). Blocks for at most one round trip to
 * the server (a reconnection at most every 2 s). */
bool leader_check(struct leader *l);

#endif

/*
 * audit.h - the append-only, hash-chained audit log.
 *
 * Entry n carries hash_n = SHA-256(hash_{n-1} "|" seq "|" time_ms "|"
 * actor "|" action "|" target "|" result "|" request_id), with hash_0 the
 * 64 zeros. Editing any field of a stored entry breaks its own hash;
 * deleting one breaks the next entry's prev_hash (and the seq run). The
 * newest seq and hash are also kept in the meta table, so removing entries
 * from the end is detected as well. SQL triggers refuse UPDATE and DELETE
 * on the table; verification catches whoever drops the triggers first.
 */
#ifndef FC_CTRL_AUDIT_H
#define FC_CTRL_AUDIT_H

#include "common/fc.h"
#include "controller/auth.h"

struct store;

struct audit_entry {
	int64_t seq;
	int64_t time_ms;
	const char *actor;
	const char *action;
	const char *target;
	int result;
	const char *request_id;
};

/* Pure: the hash of entry e chained after prev (64 hex). */
int audit_hash(const char *prev, const struct audit_entry *e,
	       char out[AUTH_HASH_LEN + 1]);

/* Append one entry (seq and time are filled in) inside the caller's open
 * transaction. */
int audit_append(struct store *st, const char *actor, const char *action,
		 const char *target, int result, const char *request_id);

/* Append an entry for a state change the controller itself saw (not a
 * request: a host going down, a VM changing state, a task ending), with
 * actor "controller" and result 0, inside the caller's open transaction.
 * request_id: the request that brought the news, or NULL. 0 or -1. */
int audit_event(struct store *st, const char *action, const char *target,
		const char *request_id);

struct audit_report {
	bool ok;
	int64_t entries;
	int64_t bad_seq;     /* first entry that fails, 0 when ok */
	char reason[256];
};

/* Walk the whole chain. Returns 0 whether the chain is intact or not
 * (see report), -1 on a database error. */
int audit_verify(struct store *st, struct audit_report *report);

#endif

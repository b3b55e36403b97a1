/*
 * audit.h - the append-only, hash-chained audit log.
 *
 * Entry n carries hash_n = SHA-256(encoding of hash_{n-1}, seq, time_ms,
 * actor, action, target, result, request_id), with hash_0 the 64 zeros.
 * Chain format 2 (every entry from meta 'audit_format2_from' on) encodes
 * each field as a netstring, "LEN:BYTES,", after the tag "fincloud-audit-2",
 * so no two different entries share an encoding. Format 1 (the entries
 * before that boundary, written by older controllers) joined the fields
 * with '|', which a field holding '|' can re-split; they are still
 * verified with that rule, and the boundary itself is checked (see
 * docs/decisions.md).
 *
 * Editing any field of a stored entry breaks its own hash; deleting one
 * breaks the next entry's prev_hash (and the seq run). The newest seq and
 * hash, the head, are kept in the meta table from the database's creation
 * on, so removing entries from the end, or the head row, is detected too.
 * Whoever can write the database can still rewrite the whole chain and the
 * head: the anchor (controller/anchor.h) keeps a copy of the head outside
 * it, and audit_verify() checks the chain against one. SQL triggers refuse
 * UPDATE and DELETE on the table; verification catches whoever drops them.
 */
#ifndef FC_CTRL_AUDIT_H
#define FC_CTRL_AUDIT_H

#include "common/fc.h"
#include "controller/auth.h"

struct store;

/* The chain format audit_append() writes. */
#define AUDIT_FORMAT 2

struct audit_entry {
	int64_t seq;
	int64_t time_ms;
	const char *actor;
	const char *action;
	const char *target;
	int result;
	const char *request_id;
};

/* A point of the chain: entry seq and its hash (seq 0: the 64 zeros,
 * before the first entry). */
struct audit_head {
	int64_t seq;
	char hash[AUTH_HASH_LEN + 1];
};

/* Longest "SEQ:HASH" text of a head, with its NUL. */
#define AUDIT_HEAD_TEXT (20 + 1 + AUTH_HASH_LEN + 1)

/* Pure: the hash (64 hex) of entry e chained after prev (64 hex) under
 * chain format 1 or 2. 0, or -1 with err_set(). */
int audit_hash(const char *prev, const struct audit_entry *e, int format,
	       char out[AUTH_HASH_LEN + 1]);

/* Parse "SEQ:HASH" (seq >= 0, hash 64 lowercase hex; surrounding white
 * space allowed) into out. 0, or -1 with err_set() saying what is wrong. */
int audit_head_parse(const char *s, struct audit_head *out);

/* The head recorded in the meta table: 1 with *out, 0 when the row is
 * missing, -1 on a database error. */
int audit_head_get(struct store *st, struct audit_head *out);

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
/* n audit_event()s at once (action[i] on target[i], in that order): the
 * same entries and chain in about n / 32 + 3 statements rather than 3n
 * (a heartbeat that moves a hundred VMs to running). 0 or -1. */
int audit_events(struct store *st, const char *const *action,
		 const char *const *target, size_t n, const char *request_id);

struct audit_report {
	bool ok;
	int64_t entries;
	int64_t bad_seq;          /* first entry that fails, 0 when ok */
	struct audit_head last;   /* the last entry that verified */
	bool anchored;            /* an anchor was given and checked */
	char reason[256];
};

/* Walk the whole chain and check it ends at the recorded head and, when
 * anchor is not NULL, that it holds the anchor's entry with the anchor's
 * hash (an anchor past the end of the log: entries were removed). Returns
 * 0 whether the chain is intact or not (see report), -1 on a database
 * error. */
int audit_verify(struct store *st, const struct audit_head *anchor,
		 struct audit_report *report);

#endif

/*
 * anchor.h - the audit chain's head kept outside the database.
 *
 * Whoever can write the database can cut entries from the end of the audit
 * log and rewrite the recorded head to match (audit.h). The anchor is the
 * head copied where the database's writer cannot reach it: every change
 * of the head is logged ("audit head SEQ:HASH", to the journal under
 * systemd) when its transaction commits, and written to STATE_DIR/
 * audit.anchor (one line "SEQ:HASH", mode 0640, written atomically and
 * fsync'd) once the commit itself is on disk, so that the file is never
 * ahead of a database that survived a power cut. The operator ships
 * either elsewhere; `finctl audit verify --anchor` checks the log against
 * a shipped copy.
 *
 * Threads: anchor_committed() runs under the controller's lock (it is the
 * store's commit hook); anchor_snapshot() and anchor_write() run in the
 * one thread that syncs the WAL (ctrl_make_durable()). The anchor's own
 * mutex covers what they share.
 */
#ifndef FC_CTRL_ANCHOR_H
#define FC_CTRL_ANCHOR_H

#include "controller/audit.h"

struct anchor;
struct store;

/* The file's name in the state directory. */
#define ANCHOR_FILE "audit.anchor"

/* Start anchoring st's audit chain in dir: check the chain against an
 * existing dir/audit.anchor (a chain that no longer holds it, cut or
 * rewritten while the controller was stopped, is logged as an error and
 * the file kept as audit.anchor.mismatch), write the current head, and
 * install anchor_committed() as st's commit hook. The caller holds the
 * controller's lock or runs alone. *out is freed with anchor_free(), after
 * the store's hook is removed or the store closed. 0, or -1 with err_set(). */
int anchor_open(struct store *st, const char *dir, struct anchor **out);
void anchor_free(struct anchor *a);

/* The commit hook (arg: the struct anchor): reads the recorded head and
 * logs it when it changed. */
void anchor_committed(void *arg);

/* Whether a head is committed but not yet in the file. */
bool anchor_behind(struct anchor *a);

/* Copy the newest committed head into *out; true when it is not yet in
 * the file. Take it before syncing the WAL, write it after. */
bool anchor_snapshot(struct anchor *a, struct audit_head *out);

/* Write head h to the file unless a newer one is there already. Only once
 * every commit up to h is on disk. 0, or -1 with err_set(). */
int anchor_write(struct anchor *a, const struct audit_head *h);

/* Read an anchor file ("SEQ:HASH", at most a few hundred bytes) into out.
 * 0, or -1 with err_set() naming the file. */
int anchor_read(const char *path, struct audit_head *out);

#endif

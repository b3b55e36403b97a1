/*
 * agent_journal.h - the migration journal: the live migrations this node
 * started, kept on disk in the agent's state directory (the directory of
 * its credential file) so that an agent restarted while a migration ran,
 * or after it ended, still knows the VM may run elsewhere now and never
 * recreates it from a desired state that is behind (docs/agent.md
 * "Migration journal"). Its entries are also reported to the controller
 * in every registration and heartbeat ("migrations",
 * docs/agent-protocol.md), which settles the task from them.
 *
 * This module is the file and its entries only; agent_task.h decides
 * when an entry is written and when it expires. No locking: the caller
 * serialises its calls.
 */
#ifndef AGENT_JOURNAL_H
#define AGENT_JOURNAL_H

#include <cjson/cJSON.h>

#include "common/fc.h"
#include "common/util.h"

#define AGENT_JOURNAL_FILE "migrations.journal"

enum agent_journal_state {
	AGENT_JOURNAL_RUNNING = 0, /* started by this process, not ended */
	AGENT_JOURNAL_DONE,        /* libvirt said the VM arrived */
	AGENT_JOURNAL_INTERRUPTED, /* was running when the agent stopped:
				    * the outcome is unknown here */
};

struct agent_journal_entry {
	char task_id[37];
	char vm_id[37];
	char target_node[NAME_MAX_LEN + 1];
	int64_t started_ms;        /* wall clock, ms since the epoch */
	enum agent_journal_state state;
	uint64_t done_ns;          /* monotonic; DONE entries of this process
				    * only, 0 otherwise (not stored) */
};

/* The journal's path for a credential file: AGENT_JOURNAL_FILE in the
 * same directory, into buf (size bytes). -1 with err_set() when it does
 * not fit. */
int agent_journal_path(const char *credential_file, char *buf, size_t size);

/* Read the journal at path into *out (n entries; the caller frees *out
 * with free(), also when empty). A missing file is an empty journal.
 * Entries stored as running come back AGENT_JOURNAL_INTERRUPTED: the
 * process that started them is gone. -1 with err_set() naming the file
 * when it cannot be read or is malformed: the agent must not start then,
 * since it could recreate a VM that runs elsewhere. */
int agent_journal_load(const char *path, struct agent_journal_entry **out,
		       size_t *n);

/* Replace the journal at path with the n entries (written to a temporary
 * file, fsync'd, renamed, directory fsync'd: on disk when it returns 0).
 * The directory is created (0700) when missing. -1 with err_set(). */
int agent_journal_save(const char *path,
		       const struct agent_journal_entry *e, size_t n);

/* "running", "done" or "interrupted". */
const char *agent_journal_state_name(enum agent_journal_state s);

/* The n entries as the "migrations" array of docs/agent-protocol.md
 * (the caller owns it); NULL when out of memory. */
cJSON *agent_journal_json(const struct agent_journal_entry *e, size_t n);

#endif

/*
 * ctrl_fixture.h - a controller store for unit tests: a fresh SQLite
 * database (every migration applied) in a temporary directory of its
 * own, removed again afterwards. Include after tests/unit/fc_test.h.
 */
#ifndef FC_TEST_CTRL_FIXTURE_H
#define FC_TEST_CTRL_FIXTURE_H

#include "common/fc.h"

struct store;

struct ctrl_fixture {
	char dir[64];        /* /tmp/fc-NAME-XXXXXX */
	struct store *st;
};

/* Create the directory (NAME names the test) and open its store. 0, or -1
 * with the reason printed. */
int ctrl_fixture_open(struct ctrl_fixture *fx, const char *name);
/* Close the store and remove the directory. */
void ctrl_fixture_close(struct ctrl_fixture *fx);

/* Run sql on the store (fails the test when it fails). */
void ctrl_fixture_exec(struct ctrl_fixture *fx, const char *sql);
/* The integer in the first column of the first row sql answers. */
int ctrl_fixture_count(struct ctrl_fixture *fx, const char *sql);

#endif

#include <sqlite3.h>
#include <stdlib.h>

#include "tests/unit/fc_test.h"

#include "common/err.h"
#include "common/log.h"
#include "controller/store.h"
#include "tests/unit/ctrl_fixture.h"

int ctrl_fixture_open(struct ctrl_fixture *fx, const char *name)
{
	char path[128];

	log_init("test", LOG_LVL_ERROR, LOG_TO_STDERR);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/fc-%.16s-XXXXXX", name);
	if (mkdtemp(fx->dir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/state.db", fx->dir);
	if (store_open(path, &fx->st) < 0) {
		fprintf(stderr, "%s\n", err_msg());
		return -1;
	}
	return 0;
}

void ctrl_fixture_close(struct ctrl_fixture *fx)
{
	char cmd[128];

	store_close(fx->st);
	fx->st = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", fx->dir);
}

void ctrl_fixture_exec(struct ctrl_fixture *fx, const char *sql)
{
	assert_int_equal(sqlite3_exec(store_db(fx->st), sql, NULL, NULL, NULL),
			 SQLITE_OK);
}

int ctrl_fixture_count(struct ctrl_fixture *fx, const char *sql)
{
	sqlite3_stmt *s;
	int n;

	assert_int_equal(sqlite3_prepare_v2(store_db(fx->st), sql, -1, &s,
					    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return n;
}

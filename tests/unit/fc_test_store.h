/*
 * fc_test_store.h - a controller store (controller/store.h) in a fresh
 * directory under /tmp for unit tests, and its removal with its files.
 * Include it after fc_test.h, and <unistd.h> before that (banned.h wants
 * every system header first).
 */
#ifndef FC_TEST_STORE_H
#define FC_TEST_STORE_H

#include "common/err.h"
#include "controller/store.h"

struct fc_test_store {
	char dir[64];   /* /tmp/fc-NAME-XXXXXX */
	char path[96];  /* dir/state.db */
	struct store *st;
};

/* Open a new store in a new directory named after `name` (a few letters).
 * 0, or -1 with the reason on stderr. */
static inline int fc_test_store_open(struct fc_test_store *t,
				     const char *name)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/fc-%s-XXXXXX", name);
	if (mkdtemp(t->dir) == NULL) {
		perror(t->dir);
		return -1;
	}
	snprintf(t->path, sizeof(t->path), "%s/state.db", t->dir);
	if (store_open(t->path, &t->st) < 0) {
		fprintf(stderr, "%s\n", err_msg());
		return -1;
	}
	return 0;
}

/* Close the store and remove its files and its directory. */
static inline void fc_test_store_remove(struct fc_test_store *t)
{
	static const char *const suffix[] = {"", "-wal", "-shm"};
	char p[128];

	store_close(t->st);
	t->st = NULL;
	for (size_t i = 0; i < FC_ARRAY_LEN(suffix); i++) {
		snprintf(p, sizeof(p), "%s%s", t->path, suffix[i]);
		unlink(p);
	}
	rmdir(t->dir);
}

/* A cmocka setup: *state becomes a new struct fc_test_store, opened
 * under `name`. */
static inline int fc_test_store_setup(void **state, const char *name)
{
	struct fc_test_store *t = calloc(1, sizeof(*t));

	if (t == NULL || fc_test_store_open(t, name) < 0) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

/* The matching cmocka teardown. */
static inline int fc_test_store_teardown(void **state)
{
	fc_test_store_remove(*state);
	free(*state);
	return 0;
}

#endif

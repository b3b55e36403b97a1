/*
 * fc_test.h - include this first in every cmocka test: cmocka.h needs
 * these system headers before it, and banned.h must come after them all.
 */
#ifndef FC_TEST_H
#define FC_TEST_H

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/fc.h"

/* nftw() callback of fc_test_mkdtemp(): removes one entry, depth first. */
static inline int fc_test_rm_entry(const char *path, const struct stat *sb,
				   int type, struct FTW *f)
{
	(void)sb;
	(void)type;
	(void)f;
	remove(path);
	return 0;
}

/* The directories fc_test_mkdtemp() made: path NULL adds none and, with
 * clean set, removes each with all it holds. At most 16 per program. */
static inline void fc_test_dirs(const char *path, bool clean)
{
	static char dirs[16][256];
	static int n;

	if (path != NULL && n < (int)FC_ARRAY_LEN(dirs))
		snprintf(dirs[n++], sizeof(dirs[0]), "%s", path);
	if (clean)
		for (int i = 0; i < n; i++)
			nftw(dirs[i], fc_test_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void fc_test_dirs_clean(void)
{
	fc_test_dirs(NULL, true);
}

/* mkdtemp(templ) (a writable "...XXXXXX" array, filled in) whose
 * directory, with all it holds, is removed when the test program exits:
 * also after a failed assertion stopped a test midway (cmocka goes on
 * with the next test and exits normally). templ, or NULL with errno set. */
static inline char *fc_test_mkdtemp(char *templ)
{
	static bool registered;

	if (mkdtemp(templ) == NULL)
		return NULL;
	if (!registered && atexit(fc_test_dirs_clean) == 0)
		registered = true;
	fc_test_dirs(templ, false);
	return templ;
}

#endif

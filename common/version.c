/*
 * version.c - the version of fincloud (FC_VERSION, from the file VERSION
 * through common/common.mk).
 */
#include "common/version.h"

#include "common/fc.h"

/* only a compiler run outside the Makefile lacks it */
#ifndef FC_VERSION
#define FC_VERSION "unknown"
#endif

const char *version_str(void)
{
	return FC_VERSION;
}

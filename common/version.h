/*
 * version.h - the version of fincloud, the same in every program.
 *
 * It comes from the file VERSION at the top of the tree, read by the
 * build (common/common.mk) and compiled into version.c only, so that a
 * new version rebuilds one object.
 */
#ifndef FC_VERSION_H
#define FC_VERSION_H

/* The version ("0.1.0"): a static string, never NULL. */
const char *version_str(void);

#endif

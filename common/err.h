/*
 * err.h - how fincloud code reports errors.
 *
 * Functions return 0 / -1 (or a pointer / NULL). The function that knows
 * why something failed reports it once with err_set(); its callers only
 * propagate the failure, or add context in front with err_prefix()
 * ("pool 'prod': " + "ratio must be > 0"). The top level prints err_msg().
 *
 * Messages follow git's usage.c: lowercase, no full stop, the subject in
 * quotes, and say what to do where that is known:
 *   "host 'n1': vcpus must be a positive integer, got -4"
 *
 * The message lives in thread-local storage, so threads do not clobber
 * each other's errors.
 */
#ifndef FC_ERR_H
#define FC_ERR_H

#include "common/fc.h"

#define ERR_MSG_MAX 1024

/* Record an error message, replacing any earlier one. Always returns -1 so
 * that "return err_set(...)" reads naturally. */
int err_set(const char *fmt, ...) FC_PRINTF(1, 2);

/* Like err_set() with ": strerror(errnum)" appended. */
int err_set_errno(int errnum, const char *fmt, ...) FC_PRINTF(2, 3);

/* Put "CONTEXT: " in front of the current message. Returns -1. */
int err_prefix(const char *fmt, ...) FC_PRINTF(1, 2);

/* The current message ("unknown error" when none was set). The pointer
 * stays valid until the next err_* call on this thread. */
const char *err_msg(void);

/* True when a message is set. */
bool err_isset(void);

void err_clear(void);

#endif

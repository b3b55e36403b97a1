/*
 * fc.h - the base header of every fincloud source file.
 *
 * It pulls in the system headers the code base uses everywhere and then
 * banned.h, so that the unsafe string calls are refused at compile time.
 * Include it after any other system header a file needs.
 */
#ifndef FC_H
#define FC_H

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define FC_UNUSED __attribute__((unused))
#define FC_PRINTF(f, a) __attribute__((format(printf, f, a)))

#include "common/banned.h"

#endif

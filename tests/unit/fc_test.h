/*
 * fc_test.h - include this first in every cmocka test: cmocka.h needs
 * these system headers before it, and banned.h must come after them all.
 */
#ifndef FC_TEST_H
#define FC_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/fc.h"

#endif

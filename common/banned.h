/*
 * banned.h - make the unsafe C string calls a compile error.
 *
 * Include this last, after every system header: the macros below replace
 * calls, so a later system header that declares these functions would break.
 * Every fincloud header that pulls in system headers includes it at the end
 * (common/fc.h does), so including "common/fc.h" in a .c file is enough.
 *
 * Use snprintf(), str_copy() and struct buf (common/buf.h) instead.
 */
#ifndef FC_BANNED_H
#define FC_BANNED_H

#define FC_BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) FC_BANNED(strcpy)
#undef strcat
#define strcat(x, y) FC_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) FC_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) FC_BANNED(strncat)
#undef sprintf
#define sprintf(...) FC_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) FC_BANNED(vsprintf)
#undef gets
#define gets(x) FC_BANNED(gets)
#undef strtok
#define strtok(x, y) FC_BANNED(strtok)

#endif

/*
 * util.h - small helpers shared by every fincloud component.
 */
#ifndef FC_UTIL_H
#define FC_UTIL_H

#include <pthread.h>

#include "common/fc.h"

/* Copy src into dst (size bytes), always NUL-terminated. Returns 0, or -1
 * when src did not fit (dst then holds a truncated copy). */
int str_copy(char *dst, size_t size, const char *src);

/* True when s starts with prefix. */
bool str_startswith(const char *s, const char *prefix);

/* Trim ASCII white space at both ends, in place; returns s. */
char *str_trim(char *s);

/* The index of s in the table names[0..n-1] (an enum's names, say; NULL
 * entries match nothing), or -1 when it is not there. */
int str_index(const char *const *names, size_t n, const char *s);

/* Free the n strings of v and then v itself; v may be NULL (n is then 0). */
void strv_free(char **v, size_t n);

/* Object names (pools, hosts, tenants, groups, VMs, flavors):
 * 1..63 characters of [A-Za-z0-9._-], starting with a letter or digit.
 * Returns 0, or -1 with err_set() naming `what` and the rule. */
#define NAME_MAX_LEN 63
int name_validate(const char *what, const char *name);

/* How many of the len bytes of s, from the start, are well-formed UTF-8
 * (RFC 3629: no overlong form, no surrogate, nothing above U+10FFFF):
 * len when all of them are. */
size_t utf8_valid_len(const char *s, size_t len);

/* Make the NUL-terminated s safe to show (an error message, a log line):
 * every byte that is not part of well-formed UTF-8 and every ASCII
 * control character becomes '?', in place, so that no raw invalid byte
 * reaches an answer. Returns s. */
char *utf8_scrub(char *s);

/* Parse a whole base-10 integer / finite double; -1 on junk or range. */
int parse_int64(const char *s, int64_t *out);
int parse_double(const char *s, double *out);

/* Clocks. */
uint64_t time_mono_ns(void);
int64_t time_wall_ms(void);

/* Initialise cond for cond_wait_mono() (its deadlines on the monotonic
 * clock, which a stepped wall clock does not move); destroy it with
 * pthread_cond_destroy(). */
void cond_init_mono(pthread_cond_t *cond);
/* Wait on cond (mutex held) until a signal or deadline_ns, a time_mono_ns()
 * value; it may return early (spurious wake-up): recheck. */
void cond_wait_mono(pthread_cond_t *cond, pthread_mutex_t *mutex,
		    uint64_t deadline_ns);

/* Read a whole file into a NUL-terminated malloc'd buffer of at most max
 * bytes; a larger file is refused, not truncated. Caller frees *out. */
int file_read_all(const char *path, size_t max, char **out, size_t *len);

/* Write data to path atomically (temp file in the same directory, fsync,
 * rename, fsync of the directory) with the given mode. */
int file_write_atomic(const char *path, const void *data, size_t len,
		      unsigned mode);

/* mkdir -p with the given mode for the directories it creates. */
int dir_create(const char *path, unsigned mode);

/* n random bytes from the kernel as 2n lowercase hex digits + NUL into out
 * (size >= 2n + 1). */
int random_hex(char *out, size_t size, size_t n);

/* A random RFC 4122 version-4 UUID, 36 characters + NUL into out. */
int uuid_generate_v4(char out[37]);

/* True when s begins with a UUID in its 8-4-4-4-12 text form (hex digits,
 * lower case only when lower is set). Reads at most 36 bytes and stops at
 * the first that does not fit, so a shorter string is false; whether
 * anything may follow is the caller's rule. */
bool uuid_prefix(const char *s, bool lower);

#endif

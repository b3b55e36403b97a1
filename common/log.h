/*
 * log.h - leveled logging to stderr (with UTC timestamps) or to syslog.
 *
 * log_init() is called once at start, before any thread is created. The
 * log functions are thread-safe: each message is formatted into one buffer
 * and written with a single write(2).
 */
#ifndef FC_LOG_H
#define FC_LOG_H

#include "common/fc.h"

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

enum log_target {
	LOG_TO_STDERR = 0,
	LOG_TO_SYSLOG,
};

/* ident: program name shown in every line (copied). */
void log_init(const char *ident, enum log_level level, enum log_target target);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Send stderr-target output to fd instead (tests use a pipe). */
void log_set_fd(int fd);

/* "error", "warn", "info", "debug" -> level; -1 (with err_set) otherwise. */
int log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) FC_PRINTF(2, 3);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif

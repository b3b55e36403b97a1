#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

static char log_ident[64] = "fincloud";
static enum log_level log_level = LOG_LVL_INFO;
static enum log_target log_target = LOG_TO_STDERR;
static int log_fd = STDERR_FILENO;

static const char *const level_names[] = {
	[LOG_LVL_ERROR] = "error",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

void log_init(const char *ident, enum log_level level, enum log_target target)
{
	str_copy(log_ident, sizeof(log_ident), ident);
	log_level = level;
	log_target = target;
	if (target == LOG_TO_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

void log_set_fd(int fd)
{
	log_fd = fd;
}

int log_level_parse(const char *name, enum log_level *out)
{
	int i = str_index(level_names, FC_ARRAY_LEN(level_names), name);

	if (i >= 0) {
		*out = (enum log_level)i;
		return 0;
	}
	return err_set("unknown log level '%s' (use error, warn, info or debug)",
		       name);
}

const char *log_level_name(enum log_level level)
{
	if ((size_t)level < FC_ARRAY_LEN(level_names))
		return level_names[level];
	return "unknown";
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const int syslog_prio[] = {
		[LOG_LVL_ERROR] = LOG_ERR,
		[LOG_LVL_WARN] = LOG_WARNING,
		[LOG_LVL_INFO] = LOG_INFO,
		[LOG_LVL_DEBUG] = LOG_DEBUG,
	};
	char line[4096];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	if (level > log_level)
		return;
	if (log_target == LOG_TO_SYSLOG) {
		va_start(ap, fmt);
		vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		syslog(syslog_prio[level], "%s", line);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
		     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld] %s: ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L, log_ident,
		     (long)getpid(), level_names[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	line[n++] = '\n';
	/* One write per line, so concurrent lines do not interleave. */
	if (write(log_fd, line, (size_t)n) < 0)
		return;
}

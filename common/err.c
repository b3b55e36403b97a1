#include "common/err.h"
#include "common/util.h"

static _Thread_local char err_buf[ERR_MSG_MAX];
static _Thread_local bool err_present;

static void err_vset(const char *fmt, va_list ap)
{
	vsnprintf(err_buf, sizeof(err_buf), fmt, ap);
	err_present = true;
}

int err_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(fmt, ap);
	va_end(ap);
	return -1;
}

int err_set_errno(int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	err_vset(fmt, ap);
	va_end(ap);
	len = strlen(err_buf);
	if (len + 3 < sizeof(err_buf)) {
		err_buf[len++] = ':';
		err_buf[len++] = ' ';
		str_copy(err_buf + len, sizeof(err_buf) - len, strerror(errnum));
	}
	return -1;
}

int err_prefix(const char *fmt, ...)
{
	char joined[2 * ERR_MSG_MAX + 2];
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(joined, ERR_MSG_MAX, fmt, ap);
	va_end(ap);
	n = strlen(joined);
	joined[n++] = ':';
	joined[n++] = ' ';
	memcpy(joined + n, err_msg(), strlen(err_msg()) + 1);
	memcpy(err_buf, joined, ERR_MSG_MAX - 1);
	err_buf[ERR_MSG_MAX - 1] = '\0';
	err_present = true;
	return -1;
}

const char *err_msg(void)
{
	return err_present ? err_buf : "unknown error";
}

bool err_isset(void)
{
	return err_present;
}

void err_clear(void)
{
	err_buf[0] = '\0';
	err_present = false;
}

/* Unit tests of common/log.c: levels, filtering, line format. */
#include <regex.h>
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "common/err.h"
#include "common/log.h"

static int pipe_fds[2];

static int setup(void **state)
{
	(void)state;
	if (pipe(pipe_fds) < 0)
		return -1;
	log_init("unit", LOG_LVL_INFO, LOG_TO_STDERR);
	log_set_fd(pipe_fds[1]);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	log_set_fd(STDERR_FILENO);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	return 0;
}

static size_t drain(char *buf, size_t size)
{
	ssize_t n;

	close(pipe_fds[1]);
	n = read(pipe_fds[0], buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(pipe_fds[0]);
	assert_int_equal(pipe(pipe_fds), 0);
	log_set_fd(pipe_fds[1]);
	return n > 0 ? (size_t)n : 0;
}

static void test_format(void **state)
{
	char out[1024];
	regex_t re;
	(void)state;

	log_info("host '%s' is up", "n1");
	drain(out, sizeof(out));
	assert_int_equal(regcomp(&re,
				 "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
				 "[0-9]{2}\\.[0-9]{3}Z unit\\[[0-9]+\\] info: "
				 "host 'n1' is up\n$",
				 REG_EXTENDED),
			 0);
	assert_int_equal(regexec(&re, out, 0, NULL, 0), 0);
	regfree(&re);
}

static void test_level_filter(void **state)
{
	char out[1024];
	(void)state;

	log_set_level(LOG_LVL_WARN);
	log_info("hidden");
	log_debug("hidden too");
	log_warn("shown");
	log_error("also shown");
	drain(out, sizeof(out));
	assert_null(strstr(out, "hidden"));
	assert_non_null(strstr(out, "warn: shown\n"));
	assert_non_null(strstr(out, "error: also shown\n"));
	log_set_level(LOG_LVL_DEBUG);
	log_debug("now visible");
	drain(out, sizeof(out));
	assert_non_null(strstr(out, "debug: now visible"));
	log_set_level(LOG_LVL_INFO);
}

static void test_level_parse(void **state)
{
	enum log_level l;
	(void)state;

	assert_int_equal(log_level_parse("debug", &l), 0);
	assert_int_equal(l, LOG_LVL_DEBUG);
	assert_int_equal(log_level_parse("warn", &l), 0);
	assert_int_equal(l, LOG_LVL_WARN);
	assert_int_equal(log_level_parse("loud", &l), -1);
	assert_string_equal(err_msg(), "unknown log level 'loud' (use error, "
				       "warn, info or debug)");
	assert_string_equal(log_level_name(LOG_LVL_ERROR), "error");
}

static void test_long_line_truncated_safely(void **state)
{
	char big[8000], out[8192];
	size_t n;
	(void)state;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_error("%s", big);
	n = drain(out, sizeof(out));
	assert_true(n > 0 && n <= 4096);
	assert_int_equal(out[n - 1], '\n');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_level_filter),
		cmocka_unit_test(test_level_parse),
		cmocka_unit_test(test_long_line_truncated_safely),
	};

	return cmocka_run_group_tests_name("log", tests, setup, teardown);
}

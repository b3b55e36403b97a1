/* Unit tests of common/config.c: syntax, typed getters, file:line errors. */
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "common/config.h"
#include "common/err.h"
#include "common/util.h"

static void test_parse_values(void **state)
{
	struct config *cfg = NULL;
	const char *s;
	int64_t n;
	double d;
	bool b;
	(void)state;

	assert_int_equal(config_parse("t.conf",
				      "# header\n"
				      "\n"
				      "listen_port = 8740   # trailing\n"
				      "url = http://x/#frag\n"
				      "name = \" padded # kept \"\n"
				      "ratio=1.5\n"
				      "tls = yes\n",
				      &cfg),
			 0);
	assert_int_equal(config_get_int(cfg, "listen_port", 1, 65535, 0, &n), 0);
	assert_int_equal(n, 8740);
	assert_string_equal(config_get(cfg, "url"), "http://x/#frag");
	assert_string_equal(config_get(cfg, "name"), " padded # kept ");
	assert_int_equal(config_get_double(cfg, "ratio", 0.1, 10, 1, &d), 0);
	assert_true(d == 1.5);
	assert_int_equal(config_get_bool(cfg, "tls", false, &b), 0);
	assert_true(b);
	assert_int_equal(config_get_str(cfg, "absent", "dflt", &s), 0);
	assert_string_equal(s, "dflt");
	assert_int_equal(config_get_int(cfg, "absent", 0, 9, 7, &n), 0);
	assert_int_equal(n, 7);
	config_free(cfg);
}

static void test_syntax_errors_name_file_and_line(void **state)
{
	struct config *cfg = NULL;
	(void)state;

	assert_int_equal(config_parse("a.conf", "x = 1\nbogus line\n", &cfg), -1);
	assert_null(cfg);
	assert_string_equal(err_msg(),
			    "a.conf:2: expected 'key = value', got 'bogus line'");

	assert_int_equal(config_parse("b.conf", "\n\nKey = 1\n", &cfg), -1);
	assert_non_null(strstr(err_msg(), "b.conf:3: bad key 'Key'"));

	assert_int_equal(config_parse("c.conf", "a = 1\nb = 2\na = 3\n", &cfg),
			 -1);
	assert_string_equal(err_msg(), "c.conf:3: key 'a' is already set on "
					"line 1: keep one of them");

	assert_int_equal(config_parse("d.conf", "a = \"open\n", &cfg), -1);
	assert_string_equal(err_msg(),
			    "d.conf:1: key 'a': unterminated quoted value");

	assert_int_equal(config_parse("e.conf", " = 4\n", &cfg), -1);
	assert_string_equal(err_msg(), "e.conf:1: missing key before '='");
}

static void test_typed_errors_name_key(void **state)
{
	struct config *cfg = NULL;
	int64_t n;
	double d;
	bool b;
	(void)state;

	assert_int_equal(config_parse("t.conf",
				      "port = 99999\nratio = abc\nflag = maybe\n"
				      "neg = -1\n",
				      &cfg),
			 0);
	assert_int_equal(config_get_int(cfg, "port", 1, 65535, 0, &n), -1);
	assert_string_equal(err_msg(), "t.conf:1: key 'port': expected an "
					"integer from 1 to 65535, got '99999'");
	assert_int_equal(config_get_double(cfg, "ratio", 0, 1, 0, &d), -1);
	assert_non_null(strstr(err_msg(), "t.conf:2: key 'ratio'"));
	assert_int_equal(config_get_bool(cfg, "flag", false, &b), -1);
	assert_string_equal(err_msg(),
			    "t.conf:3: key 'flag': expected yes or no, got 'maybe'");
	assert_int_equal(config_get_int(cfg, "neg", 0, 10, 0, &n), -1);
	assert_non_null(strstr(err_msg(), "t.conf:4: key 'neg'"));
	config_free(cfg);
}

static void test_unknown_keys(void **state)
{
	static const char *const known[] = { "listen_port", "database", NULL };
	struct config *cfg = NULL;
	(void)state;

	assert_int_equal(config_parse("k.conf", "database = x\nlisten_prot = 1\n",
				      &cfg),
			 0);
	assert_int_equal(config_check_keys(cfg, known), -1);
	assert_string_equal(err_msg(), "k.conf:2: unknown key 'listen_prot' "
					"(did you mean 'listen_port'?)");
	config_free(cfg);

	assert_int_equal(config_parse("k.conf", "zzzzzzzz = 1\n", &cfg), 0);
	assert_int_equal(config_check_keys(cfg, known), -1);
	assert_string_equal(err_msg(), "k.conf:1: unknown key 'zzzzzzzz'");
	config_free(cfg);
}

static void test_override_and_where(void **state)
{
	struct config *cfg = NULL;
	char where[64];
	int64_t n;
	(void)state;

	assert_int_equal(config_parse("o.conf", "port = 1\n", &cfg), 0);
	assert_string_equal(config_where(cfg, "port", where, sizeof(where)),
			    "o.conf:1");
	assert_int_equal(config_set(cfg, "port", "notanumber"), 0);
	assert_int_equal(config_get_int(cfg, "port", 1, 9, 1, &n), -1);
	assert_string_equal(err_msg(), "command line: key 'port': expected an "
					"integer from 1 to 9, got 'notanumber'");
	assert_int_equal(config_set(cfg, "new", "5"), 0);
	assert_int_equal(config_get_int(cfg, "new", 1, 9, 1, &n), 0);
	assert_int_equal(n, 5);
	config_free(cfg);
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/fc-test-config-XXXXXX";
	struct config *cfg = NULL;
	int fd;
	(void)state;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "a = 1\nb\n", 8), 8);
	close(fd);
	assert_int_equal(config_load(path, false, &cfg), -1);
	assert_true(str_startswith(err_msg(), path));
	assert_non_null(strstr(err_msg(), ":2: expected 'key = value'"));
	unlink(path);

	assert_int_equal(config_load(path, false, &cfg), -1);
	assert_non_null(strstr(err_msg(), "cannot open"));
	assert_int_equal(config_load(path, true, &cfg), 0);
	assert_int_equal(cfg->n, 0);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_values),
		cmocka_unit_test(test_syntax_errors_name_file_and_line),
		cmocka_unit_test(test_typed_errors_name_key),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_override_and_where),
		cmocka_unit_test(test_load_file),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}

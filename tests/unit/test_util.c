/* Unit tests of common/util.c, buf.c and err.c. */
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "common/buf.h"
#include "common/err.h"
#include "common/util.h"

static void test_err_chain(void **state)
{
	(void)state;
	err_clear();
	assert_false(err_isset());
	assert_string_equal(err_msg(), "unknown error");
	assert_int_equal(err_set("ratio must be > 0, got %d", -1), -1);
	assert_int_equal(err_prefix("pool '%s'", "prod"), -1);
	assert_string_equal(err_msg(), "pool 'prod': ratio must be > 0, got -1");
	err_set_errno(ENOENT, "cannot open '%s'", "/x");
	assert_string_equal(err_msg(),
			    "cannot open '/x': No such file or directory");
}

static void test_names(void **state)
{
	char longname[80];
	(void)state;

	assert_int_equal(name_validate("vm", "loan-approval-01"), 0);
	assert_int_equal(name_validate("vm", "a.b_c"), 0);
	assert_int_equal(name_validate("vm", ""), -1);
	assert_int_equal(name_validate("tenant", "-x"), -1);
	assert_string_equal(err_msg(),
			    "tenant name '-x' must start with a letter or digit");
	assert_int_equal(name_validate("vm", "a'<b>&\"c"), -1);
	assert_non_null(strstr(err_msg(), "forbidden character at position 2"));
	memset(longname, 'a', 70);
	longname[70] = '\0';
	assert_int_equal(name_validate("vm", longname), -1);
	assert_non_null(strstr(err_msg(), "the limit is 63"));
}

static void test_utf8(void **state)
{
	char s[] = "ok \xc3\xa9 \xff\x01 \xe2\x82 \xed\xa0\x80 \xf4\x90\x80\x80";
	(void)state;

	assert_int_equal(utf8_valid_len("\xc3\xa9\xf0\x9f\x98\x80", 6), 6);
	assert_int_equal(utf8_valid_len("a\xc0\xaf", 3), 1); /* overlong */
	assert_int_equal(utf8_valid_len("ab\xc3", 3), 2);     /* cut short */
	assert_string_equal(utf8_scrub(s), "ok \xc3\xa9 ?? ?? ??? ????");
	/* a name with a control character is refused, and not echoed raw */
	assert_int_equal(name_validate("tenant", "abc\x07"), -1);
	assert_string_equal(err_msg(), "tenant name 'abc?' has a forbidden "
				       "character at position 4: use letters, "
				       "digits, '.', '_' and '-'");
}

static void test_str(void **state)
{
	char small[4], s[] = "  x y \t\n";
	(void)state;

	assert_int_equal(str_copy(small, sizeof(small), "abc"), 0);
	assert_string_equal(small, "abc");
	assert_int_equal(str_copy(small, sizeof(small), "abcd"), -1);
	assert_string_equal(small, "abc");
	assert_string_equal(str_trim(s), "x y");
	assert_true(str_startswith("qemu:///system", "qemu:"));
	assert_false(str_startswith("te", "test"));
}

static void test_str_table(void **state)
{
	static const char *const names[] = { "error", NULL, "info", "info" };
	char **v = calloc(3, sizeof(*v));
	(void)state;

	assert_int_equal(str_index(names, FC_ARRAY_LEN(names), "error"), 0);
	assert_int_equal(str_index(names, FC_ARRAY_LEN(names), "info"), 2);
	assert_int_equal(str_index(names, FC_ARRAY_LEN(names), "inf"), -1);
	assert_int_equal(str_index(names, FC_ARRAY_LEN(names), ""), -1);
	assert_int_equal(str_index(names, 1, "info"), -1);
	/* strv_free takes the first n strings and the array (leak-checked
	 * under make asan), and NULL with 0. */
	assert_non_null(v);
	v[0] = strdup("a");
	v[1] = strdup("b");
	strv_free(v, 2);
	strv_free(NULL, 0);
}

static void test_parse_numbers(void **state)
{
	int64_t i;
	double d;
	(void)state;

	assert_int_equal(parse_int64("-42", &i), 0);
	assert_int_equal(i, -42);
	assert_int_equal(parse_int64("42x", &i), -1);
	assert_int_equal(parse_int64("", &i), -1);
	assert_int_equal(parse_int64("99999999999999999999", &i), -1);
	assert_int_equal(parse_double("0.25", &d), 0);
	assert_true(d == 0.25);
	assert_int_equal(parse_double("nan", &d), -1);
	assert_int_equal(parse_double("1e999", &d), -1);
}

static void test_buf_cap(void **state)
{
	struct buf b;
	char *s;
	(void)state;

	buf_init(&b, 8);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(buf_puts(&b, "12345"), 0);
	assert_int_equal(buf_printf(&b, "%d", 678), 0);
	assert_string_equal(buf_str(&b), "12345678");
	/* over the cap: refused, content unchanged */
	assert_int_equal(buf_puts(&b, "9"), -1);
	assert_string_equal(err_msg(), "data exceeds the 8-byte limit");
	assert_string_equal(buf_str(&b), "12345678");
	s = buf_detach(&b);
	assert_string_equal(s, "12345678");
	free(s);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	buf_free(NULL);
}

static void test_files(void **state)
{
	char dir[] = "/tmp/fc-test-util-XXXXXX", path[256], sub[256];
	struct stat st;
	char *data;
	size_t len;
	(void)state;

	assert_non_null(fc_test_mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/cred", dir);
	assert_int_equal(file_write_atomic(path, "secret", 6, 0600), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(file_read_all(path, 100, &data, &len), 0);
	assert_int_equal(len, 6);
	assert_string_equal(data, "secret");
	free(data);
	assert_int_equal(file_read_all(path, 3, &data, &len), -1);
	assert_non_null(strstr(err_msg(), "larger than the 3-byte limit"));
	snprintf(sub, sizeof(sub), "%s/a/b/c", dir);
	assert_int_equal(dir_create(sub, 0700), 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	unlink(path);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/a/b", dir);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/a", dir);
	rmdir(sub);
	rmdir(dir);
}

static void test_random(void **state)
{
	char a[33], b[33], u[37];
	(void)state;

	assert_int_equal(random_hex(a, sizeof(a), 16), 0);
	assert_int_equal(random_hex(b, sizeof(b), 16), 0);
	assert_int_equal(strlen(a), 32);
	assert_string_not_equal(a, b);
	assert_int_equal(random_hex(a, 10, 16), -1);
	assert_int_equal(uuid_generate_v4(u), 0);
	assert_int_equal(strlen(u), 36);
	assert_int_equal(u[14], '4');
	assert_non_null(strchr("89ab", u[19]));
	assert_true(uuid_prefix(u, true));
}

/* The one check of a UUID's text form (agent specs, VM references, the
 * agent's disk files). */
static void test_uuid_prefix(void **state)
{
	(void)state;
	assert_true(uuid_prefix("0c6f8e9a-1111-4222-8333-444455556666", false));
	assert_true(uuid_prefix("0C6F8E9A-1111-4222-8333-444455556666", false));
	assert_false(uuid_prefix("0C6F8E9A-1111-4222-8333-444455556666", true));
	assert_true(uuid_prefix("0c6f8e9a-1111-4222-8333-444455556666.qcow2",
				true));
	assert_false(uuid_prefix("0c6f8e9a-1111-4222-8333-44445555666", false));
	assert_false(uuid_prefix("0c6f8e9a11111-4222-8333-444455556666", false));
	assert_false(uuid_prefix("0c6f8e9g-1111-4222-8333-444455556666", false));
	assert_false(uuid_prefix("", false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_chain),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_str),
		cmocka_unit_test(test_str_table),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_parse_numbers),
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_uuid_prefix),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}

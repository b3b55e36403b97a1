/* Unit tests of common/json.c: typed accessors and the paths in errors. */
#include "tests/unit/fc_test.h"

#include "common/err.h"
#include "common/json.h"
#include "common/util.h"

static cJSON *parse(const char *s)
{
	cJSON *j = NULL;

	assert_int_equal(json_parse(s, strlen(s), "test", &j), 0);
	return j;
}

static void test_paths_in_errors(void **state)
{
	cJSON *root = parse("{\"hosts\":[{\"name\":\"a\",\"vcpus\":8},"
			    "{\"name\":\"b\",\"vcpus\":\"four\"}]}");
	const cJSON *hosts, *h;
	char path[JSON_PATH_MAX];
	const char *name;
	int64_t v;
	size_t i = 0;
	(void)state;

	assert_int_equal(json_get_array(root, "$", "hosts", true, &hosts), 0);
	cJSON_ArrayForEach(h, hosts)
	{
		json_path_index(path, sizeof(path), "$.hosts", i);
		assert_int_equal(json_get_string(h, path, "name", true, NULL,
						 &name),
				 0);
		if (i == 0) {
			assert_int_equal(json_get_int(h, path, "vcpus", true, 1,
						      4096, 0, &v),
					 0);
			assert_int_equal(v, 8);
		} else {
			assert_int_equal(json_get_int(h, path, "vcpus", true, 1,
						      4096, 0, &v),
					 -1);
			assert_string_equal(err_msg(),
					    "$.hosts[1].vcpus: expected an integer "
					    "from 1 to 4096, got \"four\"");
		}
		i++;
	}
	assert_int_equal(json_get_int(root, "$", "missing", true, 0, 1, 0, &v),
			 -1);
	assert_string_equal(err_msg(), "$: missing required field 'missing'");
	cJSON_Delete(root);
}

static void test_types(void **state)
{
	cJSON *root = parse("{\"d\":1.5,\"i\":2.5,\"b\":true,\"s\":\"x\","
			    "\"n\":null,\"o\":{},\"a\":[]}");
	const cJSON *o;
	const char *s;
	double d;
	int64_t i;
	bool b;
	(void)state;

	assert_int_equal(json_get_double(root, "$", "d", true, 0, 2, 0, &d), 0);
	assert_true(d == 1.5);
	assert_int_equal(json_get_double(root, "$", "d", true, 0, 1, 0, &d), -1);
	assert_string_equal(err_msg(),
			    "$.d: expected a number from 0 to 1, got 1.5");
	assert_int_equal(json_get_int(root, "$", "i", true, 0, 9, 0, &i), -1);
	assert_int_equal(json_get_bool(root, "$", "b", true, false, &b), 0);
	assert_true(b);
	assert_int_equal(json_get_bool(root, "$", "s", true, false, &b), -1);
	assert_string_equal(err_msg(), "$.s: expected true or false, got \"x\"");
	/* null counts as absent */
	assert_int_equal(json_get_string(root, "$", "n", false, "def", &s), 0);
	assert_string_equal(s, "def");
	assert_int_equal(json_get_string(root, "$", "n", true, NULL, &s), -1);
	assert_int_equal(json_get_object(root, "$", "a", true, &o), -1);
	assert_string_equal(err_msg(), "$.a: expected an object, got an array");
	assert_int_equal(json_get_array(root, "$", "o", true, &o), -1);
	assert_int_equal(json_get_object(root, "$", "absent", false, &o), 0);
	assert_null(o);
	assert_int_equal(json_get_string(root->child, "$.d", "x", true, NULL, &s),
			 -1);
	assert_string_equal(err_msg(), "$.d: expected an object, got 1.5");
	cJSON_Delete(root);
}

static void test_unknown_and_duplicate_keys(void **state)
{
	static const char *const allowed[] = { "name", "vcpus", NULL };
	cJSON *root = parse("{\"name\":\"a\",\"cpus\":1}");
	(void)state;

	assert_int_equal(json_check_keys(root, "$.vms[0]", allowed), -1);
	assert_string_equal(err_msg(), "$.vms[0]: unknown field 'cpus'");
	cJSON_Delete(root);
	/* json_parse() refuses a document with a key twice; a tree built
	 * in code may still have one */
	root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "name", "a");
	cJSON_AddStringToObject(root, "name", "b");
	assert_int_equal(json_check_keys(root, "$", allowed), -1);
	assert_string_equal(err_msg(), "$: field 'name' appears twice");
	cJSON_Delete(root);
}

static void test_syntax_errors(void **state)
{
	cJSON *j = NULL;
	(void)state;

	assert_int_equal(json_parse("{\n  \"a\": ,\n}", 12, "p.json", &j), -1);
	assert_string_equal(err_msg(), "p.json: invalid JSON at line 2, column 8");
	assert_int_equal(json_parse("", 0, "p.json", &j), -1);
	assert_string_equal(err_msg(), "p.json: empty document, expected JSON");
	assert_int_equal(json_parse("{} x", 4, "p.json", &j), -1);
	assert_string_equal(err_msg(),
			    "p.json: unexpected data after the JSON value");
	assert_null(j);
}

/* Refuse the document with a message that contains exactly want. */
static void refused(const char *text, size_t len, const char *want)
{
	cJSON *j = NULL;

	assert_int_equal(json_parse(text, len, "body", &j), -1);
	assert_null(j);
	if (strstr(err_msg(), want) == NULL)
		fail_msg("'%s': expected '%s' in '%s'", text, want, err_msg());
}

/* cJSON turns \u0000 into a NUL that ends the C string early: "abc\u0000"
 * would read as "abc", "ok1\u0000evil" as "ok1". */
static void test_nul_refused(void **state)
{
	static const char nul_value[] = "{\"name\":\"abc\\u0000\"}";
	static const char nul_nested[] = "{\"a\":[1,{\"b\":\"ok1\\u0000evil\"}]}";
	static const char nul_key[] = "{\"x\":1,\"n\\u0000ame\":\"a\"}";
	(void)state;

	refused(nul_value, strlen(nul_value),
		"body: $.name: \\u0000 (NUL), which a string may not hold, at "
		"line 1, column 9");
	refused(nul_nested, strlen(nul_nested), "body: $.a[1].b: \\u0000");
	refused(nul_key, strlen(nul_key), "body: $.n: \\u0000");
	/* upper case hex is the same character */
	refused("[\"\\U0000\"]", 10, "invalid JSON");
	refused("[\"a\\u0000\"]", 11, "$[0]: \\u0000");
	/* an escaped backslash followed by u0000 is text, not a NUL */
	cJSON_Delete(parse("{\"d\":\"a\\\\u0000\"}"));
}

static void test_control_and_utf8(void **state)
{
	static const char raw_nul[] = "{\"name\":\"abc\0\"}";
	static const char raw_ctl[] = "{\"name\":\"ab\x01\"}";
	static const char bad[] = "{\"name\":\"ab\xff\"}";
	static const char overlong[] = "{\"name\":\"\xc0\xaf\"}";
	static const char surrogate[] = "{\"name\":\"\xed\xa0\x80\"}";
	static const char cut[] = "{\"name\":\"\xe2\x82\"}";
	cJSON *j;
	(void)state;

	refused(raw_nul, sizeof(raw_nul) - 1,
		"body: $.name: a control character that is not escaped");
	refused(raw_ctl, sizeof(raw_ctl) - 1, "$.name: a control character");
	refused(bad, sizeof(bad) - 1,
		"body: a byte that is not UTF-8, at line 1, column 12");
	refused(overlong, sizeof(overlong) - 1, "not UTF-8");
	refused(surrogate, sizeof(surrogate) - 1, "not UTF-8");
	refused(cut, sizeof(cut) - 1, "not UTF-8");
	/* no message echoes the raw bytes */
	assert_null(strchr(err_msg(), '\xe2'));
	/* a NUL byte after the value is data after it, not its end */
	refused("{}\0x", 4, "unexpected data after the JSON value");
	/* escaped control characters and real UTF-8 are fine */
	j = parse("{\"t\":\"a\\nb \xc3\xa9 \xf0\x9f\x98\x80\"}");
	assert_string_equal(cJSON_GetObjectItem(j, "t")->valuestring,
			    "a\nb \xc3\xa9 \xf0\x9f\x98\x80");
	cJSON_Delete(j);
}

static void test_duplicate_keys_refused(void **state)
{
	static const char top[] = "{\"name\":\"a\",\"x\":1,\"name\":\"b\"}";
	static const char nested[] = "{\"quota\":{\"vcpus\":1,\"vms\":2,"
				     "\"vcpus\":null}}";
	cJSON *j;
	(void)state;

	refused(top, strlen(top),
		"body: $.name: the field appears twice (again at line 1, "
		"column 26): send each field once");
	refused(nested, strlen(nested), "body: $.quota.vcpus: the field "
					"appears twice");
	/* the same key in two objects is no duplicate */
	j = parse("[{\"a\":1},{\"a\":2,\"b\":{\"a\":3}}]");
	cJSON_Delete(j);
}

/* A description of a long string is cut on a character, never inside. */
static void test_describe_utf8(void **state)
{
	cJSON *s = cJSON_CreateString("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				      "\xc3\xa9\xc3\xa9");
	char buf[80];
	(void)state;

	json_describe(s, buf, sizeof(buf));
	assert_int_equal(utf8_valid_len(buf, strlen(buf)), strlen(buf));
	cJSON_Delete(s);
}

/* 2^63 is (double)INT64_MAX: it passed the range check and reached the
 * conversion to int64_t (undefined; x86 gives INT64_MIN). The controller
 * reads a heartbeat's generation_seen with max INT64_MAX. */
static void test_int_at_two_to_the_63(void **state)
{
	cJSON *root = parse("{\"g\":9223372036854775808,\"h\":1e300,"
			    "\"m\":-9223372036854775808,"
			    "\"k\":9007199254740992}");
	int64_t v = 0;
	(void)state;

	assert_int_equal(json_get_int(root, "$", "g", true, 0, INT64_MAX, 0,
				      &v), -1);
	assert_int_equal(json_get_int(root, "$", "h", true, 0, INT64_MAX, 0,
				      &v), -1);
	assert_int_equal(json_get_int(root, "$", "m", true, INT64_MIN, 0, 0,
				      &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(json_get_int(root, "$", "k", true, 0, INT64_MAX, 0,
				      &v), 0);
	assert_true(v == 9007199254740992);
	cJSON_Delete(root);
}

static void test_csv_array(void **state)
{
	cJSON *a;
	char *txt;
	(void)state;

	a = json_csv_array("a,,bc");
	txt = cJSON_PrintUnformatted(a);
	assert_string_equal(txt, "[\"a\",\"\",\"bc\"]");
	free(txt);
	cJSON_Delete(a);
	a = json_csv_array("");
	assert_int_equal(cJSON_GetArraySize(a), 0);
	cJSON_Delete(a);
	a = json_csv_array(NULL);
	assert_int_equal(cJSON_GetArraySize(a), 0);
	cJSON_Delete(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths_in_errors),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_unknown_and_duplicate_keys),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_nul_refused),
		cmocka_unit_test(test_control_and_utf8),
		cmocka_unit_test(test_duplicate_keys_refused),
		cmocka_unit_test(test_describe_utf8),
		cmocka_unit_test(test_int_at_two_to_the_63),
		cmocka_unit_test(test_csv_array),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}

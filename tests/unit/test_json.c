/* Unit tests of common/json.c: typed accessors and the paths in errors. */
#include "tests/unit/fc_test.h"

#include "common/err.h"
#include "common/json.h"

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
	root = parse("{\"name\":\"a\",\"name\":\"b\"}");
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths_in_errors),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_unknown_and_duplicate_keys),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_int_at_two_to_the_63),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}

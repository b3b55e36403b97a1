/* Unit tests of finctl's command line (finctl/args.c) and of how it shows
 * numbers and times (finctl/output.c). */
#include "tests/unit/fc_test.h"

#include "common/err.h"
#include "finctl/finctl.h"

static int no_handler(struct finctl_ctx *x)
{
	(void)x;
	return FINCTL_OK;
}

static const struct finctl_cmd row = {
	"vm", "create", no_handler, 1,
	"flavor!=,timeout=secs,wait,state=up|down,limit=count,quota=quota",
	"NAME --flavor F [--timeout S] [--wait] [--state up|down] [--limit N] "
	"[--quota N|none]",
	"a row to test with",
};

/* parse the words of argv (NULL-terminated, copied: parsing writes into
 * them) against row; the result and the globals in *a and *g */
static int parse(const char *const *words, struct finctl_args *a,
		 struct finctl_global *g)
{
	static char store[16][64];
	static char *argv[16];
	int argc = 0;

	memset(g, 0, sizeof(*g));
	for (; words[argc]; argc++) {
		snprintf(store[argc], sizeof(store[argc]), "%s", words[argc]);
		argv[argc] = store[argc];
	}
	err_clear();
	return finctl_args_parse(&row, argc, argv, g, a);
}

static void test_optspec_next(void **state)
{
	const char *p = row.opts;
	struct finctl_optspec o;
	(void)state;

	assert_true(finctl_optspec_next(&p, &o));
	assert_string_equal(o.name, "flavor");
	assert_true(o.required && o.has_val);
	assert_string_equal(o.type, "");
	assert_true(finctl_optspec_next(&p, &o));
	assert_string_equal(o.name, "timeout");
	assert_string_equal(o.type, "secs");
	assert_false(o.required);
	assert_true(finctl_optspec_next(&p, &o));
	assert_string_equal(o.name, "wait");
	assert_false(o.has_val);
	assert_true(finctl_optspec_next(&p, &o));
	assert_string_equal(o.type, "up|down");
	assert_true(finctl_optspec_next(&p, &o));
	assert_true(finctl_optspec_next(&p, &o));
	assert_string_equal(o.name, "quota");
	assert_false(finctl_optspec_next(&p, &o));
}

static void test_check_types(void **state)
{
	static const struct {
		const char *type, *val;
		int want;
	} cases[] = {
		{"", "anything", 0}, {"int", "0", 0}, {"int", "-1", -1},
		{"int", "1.5", -1}, {"int", "abc", -1}, {"count", "1", 0},
		{"count", "0", -1}, {"num", "0.5", 0}, {"num", "-0.5", -1},
		{"num", "nan", -1}, {"fraction", "1", 0}, {"fraction", "1.01", -1},
		{"secs", "90", 0}, {"secs", "90s", 0}, {"secs", "5m", 0},
		{"secs", "2h", 0}, {"secs", "0", -1}, {"secs", "abc", -1},
		{"secs", "5d", -1}, {"secs", "-5", -1}, {"secs", "m", -1},
		{"secs", "5ms", -1}, {"secs", "1hm", -1},
		{"quota", "none", 0}, {"quota", "7", 0}, {"quota", "nine", -1},
		{"up|down", "up", 0}, {"up|down", "do", -1},
		{"up|down", "up|down", -1}, {"bogus", "x", -1},
	};
	struct finctl_optspec o = {.name = "opt", .has_val = true};
	(void)state;

	for (size_t i = 0; i < FC_ARRAY_LEN(cases); i++) {
		snprintf(o.type, sizeof(o.type), "%s", cases[i].type);
		err_clear();
		if (finctl_optspec_check(&o, cases[i].val) != cases[i].want)
			fail_msg("type '%s', value '%s': expected %d",
				 cases[i].type, cases[i].val, cases[i].want);
		if (cases[i].want < 0)
			assert_non_null(strstr(err_msg(), "--opt"));
	}
	snprintf(o.type, sizeof(o.type), "up|down");
	finctl_optspec_check(&o, "sideways");
	assert_string_equal(err_msg(),
			    "--opt: expected one of up, down, got 'sideways'");
}

/* Every option of the real table has a type finctl knows. */
static void test_table_types(void **state)
{
	(void)state;
	for (size_t i = 0; i < finctl_ncommands; i++) {
		const char *p = finctl_commands[i].opts;
		struct finctl_optspec o;

		while (finctl_optspec_next(&p, &o)) {
			err_clear();
			finctl_optspec_check(&o, "1");
			if (strstr(err_msg(), "unknown type"))
				fail_msg("%s %s --%s: %s", finctl_commands[i].noun,
					 finctl_commands[i].verb, o.name,
					 err_msg());
		}
	}
}

static void test_parse(void **state)
{
	struct finctl_args a;
	struct finctl_global g;
	(void)state;

	assert_int_equal(parse((const char *[]){"web", "-o", "json",
						"--flavor=small", "--wait",
						"--timeout", "5m", "--url",
						"http://x", NULL}, &a, &g), 0);
	assert_int_equal(a.npos, 1);
	assert_string_equal(a.pos[0], "web");
	assert_int_equal(a.nopt, 3);
	assert_string_equal(a.key[0], "flavor");
	assert_string_equal(a.val[0], "small");
	assert_string_equal(a.val[1], "");
	assert_string_equal(g.format, "json");
	assert_string_equal(g.url, "http://x");

	assert_int_equal(parse((const char *[]){"web", "--flavor", "s",
						"--timeout", "abc", NULL},
			       &a, &g), -1);
	assert_non_null(strstr(err_msg(), "--timeout: expected a duration"));
	assert_int_equal(parse((const char *[]){"web", "--state", "sideways",
						NULL}, &a, &g), -1);
	assert_non_null(strstr(err_msg(), "--state"));
	assert_int_equal(parse((const char *[]){"web", NULL}, &a, &g), -1);
	assert_non_null(strstr(err_msg(), "needs --flavor"));
	assert_int_equal(parse((const char *[]){"--flavor", "s", NULL}, &a, &g),
			 -1);
	assert_non_null(strstr(err_msg(), "missing argument"));
	assert_int_equal(parse((const char *[]){"web", "--flavor", "s",
						"--frob", NULL}, &a, &g), -1);
	assert_non_null(strstr(err_msg(), "unknown option '--frob'"));
	assert_int_equal(parse((const char *[]){"web", "--flavor", NULL},
			       &a, &g), -1);
	assert_non_null(strstr(err_msg(), "needs a value"));
	assert_int_equal(parse((const char *[]){"web", "--flavor", "s",
						"--wait=yes", NULL}, &a, &g),
			 -1);
	assert_non_null(strstr(err_msg(), "takes no value"));
	assert_int_equal(parse((const char *[]){"web", "--flavor", "s", "-o",
						NULL}, &a, &g), -1);
	assert_int_equal(parse((const char *[]){"web", "--flavor", "s",
						"-ojson", "two", NULL}, &a, &g),
			 -1);
	assert_non_null(strstr(err_msg(), "unexpected argument 'two'"));
}

static void test_values(void **state)
{
	static const struct {
		double d;
		const char *want;
	} cases[] = {
		{0.9999, "0.9999"}, {0.99999999, "0.99999999"}, {2.5, "2.5"},
		{1.0 / 3, "0.3333333333"}, {0.1 + 0.2, "0.3"}, {42, "42"},
		{-3, "-3"},
	};
	char out[64];
	cJSON *o = cJSON_CreateObject();
	(void)state;

	for (size_t i = 0; i < FC_ARRAY_LEN(cases); i++) {
		cJSON *n = cJSON_CreateNumber(cases[i].d);

		finctl_value(n, out, sizeof(out));
		assert_string_equal(out, cases[i].want);
		cJSON_Delete(n);
	}
	cJSON_AddNumberToObject(o, "created_ms", 1796047480165.0);
	cJSON_AddNumberToObject(o, "mem_mib", 512);
	finctl_field(o, "created_ms", out, sizeof(out));
	assert_string_equal(out, "2026-11-30T14:04:40Z");
	finctl_field(o, "mem_mib", out, sizeof(out));
	assert_string_equal(out, "512");
	finctl_field(o, "absent_ms", out, sizeof(out));
	assert_string_equal(out, "-");
	cJSON_Delete(o);
}

/* A body takes each option's value as its type says. */
static void test_body(void **state)
{
	struct finctl_ctx x = {.cmd = &row};
	struct finctl_global g;
	cJSON *b;
	char *text;
	(void)state;

	assert_int_equal(parse((const char *[]){"web", "--flavor", "small",
						"--limit", "3", "--quota",
						"none", "--state", "up", NULL},
			       &x.a, &g), 0);
	b = finctl_body(&x, FINCTL_KEYS("flavor", "limit", "quota", "state",
					"timeout"));
	text = cJSON_PrintUnformatted(b);
	assert_string_equal(text, "{\"flavor\":\"small\",\"limit\":3,"
				  "\"quota\":null,\"state\":\"up\"}");
	free(text);
	cJSON_Delete(b);
}

static void test_exit_codes(void **state)
{
	(void)state;
	assert_int_equal(finctl_exit_for_status(400), FINCTL_USAGE);
	assert_int_equal(finctl_exit_for_status(404), FINCTL_NOTFOUND);
	assert_int_equal(finctl_exit_for_status(409), FINCTL_CONFLICT);
	assert_int_equal(finctl_exit_for_status(401), FINCTL_FAIL);
	assert_int_equal(finctl_exit_for_status(403), FINCTL_FAIL);
	assert_int_equal(finctl_exit_for_status(500), FINCTL_FAIL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_optspec_next),
		cmocka_unit_test(test_check_types),
		cmocka_unit_test(test_table_types),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_exit_codes),
	};

	return cmocka_run_group_tests_name("finctl_args", tests, NULL, NULL);
}

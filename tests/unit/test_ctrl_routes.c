/* Unit tests of the route table (controller/route.c, api_routes[]):
 * matching, parameters, 404 vs 405, and that the table and
 * schemas/openapi.yaml list exactly the same operations. */
#include <ctype.h>
#include <stdlib.h>

#include "tests/unit/fc_test.h"

#include "common/util.h"
#include "controller/api.h"
#include "controller/auth.h"
#include "controller/route.h"

static void test_match_static_and_params(void **state)
{
	struct route_match m;
	(void)state;

	assert_int_equal(route_match(api_routes, api_nroutes, "GET", "/v1/vms",
				     &m), ROUTE_FOUND);
	assert_string_equal(m.route->name, "vm.list");
	assert_int_equal(m.nparams, 0);
	assert_int_equal(route_match(api_routes, api_nroutes, "POST",
				     "/v1/vms/abc/migrate", &m), ROUTE_FOUND);
	assert_string_equal(m.route->name, "vm.migrate");
	assert_int_equal(m.nparams, 1);
	assert_string_equal(m.params[0], "abc");
	assert_int_equal(route_match(api_routes, api_nroutes, "GET",
				     "/v1/audit/verify", &m), ROUTE_FOUND);
	assert_string_equal(m.route->name, "audit.verify");
	assert_int_equal(route_match(api_routes, api_nroutes, "POST",
				     "/v1/agents/register", &m), ROUTE_FOUND);
	assert_string_equal(m.route->name, "agent.register");
	assert_int_equal(route_match(api_routes, api_nroutes, "POST",
				     "/v1/agents/n1/heartbeat", &m), ROUTE_FOUND);
	assert_string_equal(m.params[0], "n1");
}

static void test_no_match(void **state)
{
	struct route_match m;
	char longseg[300];
	(void)state;

	assert_int_equal(route_match(api_routes, api_nroutes, "GET", "/v1/nope",
				     &m), ROUTE_NO_PATH);
	assert_int_equal(route_match(api_routes, api_nroutes, "PUT", "/v1/vms",
				     &m), ROUTE_NO_METHOD);
	assert_int_equal(route_match(api_routes, api_nroutes, "GET", "/v1/vms/",
				     &m), ROUTE_NO_PATH);
	assert_int_equal(route_match(api_routes, api_nroutes, "GET", "/v1//vms",
				     &m), ROUTE_NO_PATH);
	assert_int_equal(route_match(api_routes, api_nroutes, "GET",
				     "/v1/vms/a/b/c", &m), ROUTE_NO_PATH);
	memset(longseg, 'a', sizeof(longseg));
	memcpy(longseg, "/v1/vms/", 8);
	longseg[sizeof(longseg) - 1] = '\0';
	assert_int_equal(route_match(api_routes, api_nroutes, "GET", longseg,
				     &m), ROUTE_NO_PATH);
}

static void test_roles(void **state)
{
	(void)state;
	for (size_t i = 0; i < api_nroutes; i++) {
		const struct route *r = &api_routes[i];

		/* a viewer never mutates; agents reach only agent routes */
		if (r->mutating)
			assert_false(r->roles & ROLE_VIEWER);
		if (r->roles & ROLE_AGENT)
			assert_true(strncmp(r->pattern, "/v1/agents/", 11) == 0);
		if (strncmp(r->pattern, "/v1/tokens", 10) == 0)
			assert_int_equal(r->roles, ROLE_ADMIN);
		assert_non_null(r->name);
		assert_non_null(r->fn);
	}
}

/* The routes whose handler runs without the controller lock (api_handle()
 * then neither authenticates nor opens a transaction): public, read-only,
 * and exactly these. */
static void test_unlocked_flag(void **state)
{
	size_t n = 0;
	(void)state;

	for (size_t i = 0; i < api_nroutes; i++) {
		const struct route *r = &api_routes[i];

		if (!(r->flags & ROUTE_UNLOCKED))
			continue;
		n++;
		assert_true(r->roles & ROUTE_PUBLIC);
		assert_false(r->mutating);
		assert_string_equal(r->method, "GET");
		/* the dashboard's files hold no data (ui.h) */
		assert_true(strcmp(r->name, "healthz") == 0 ||
			    strcmp(r->name, "metrics") == 0 ||
			    strncmp(r->name, "ui.", 3) == 0);
	}
	assert_int_equal(n, 6);
}

/* Operations "METHOD /path" from the paths: section of openapi.yaml. */
static size_t spec_ops(char ops[][160], size_t max)
{
	const char *top = getenv("FC_TOP");
	char path[1024], *text = NULL, *line, *save = NULL, cur[128] = "";
	size_t len, n = 0;
	bool in_paths = false;

	snprintf(path, sizeof(path), "%s/schemas/openapi.yaml", top ? top : ".");
	if (file_read_all(path, 4 << 20, &text, &len) < 0)
		fail_msg("cannot read %s (set FC_TOP)", path);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] != ' ' && line[0] != '#' && line[0] != '\0')
			in_paths = strncmp(line, "paths:", 6) == 0;
		if (!in_paths)
			continue;
		if (strncmp(line, "  /", 3) == 0 || strncmp(line, "  \"/", 4) == 0) {
			const char *s = line + 2 + (line[2] == '"');
			size_t l = strcspn(s, "\":");

			snprintf(cur, sizeof(cur), "%.*s", (int)l, s);
		} else if (strncmp(line, "    ", 4) == 0 && line[4] != ' ' && cur[0]) {
			static const char *const m[] = {"get", "post", "put",
							"patch", "delete"};

			for (size_t i = 0; i < FC_ARRAY_LEN(m); i++) {
				size_t ml = strlen(m[i]);

				if (strncmp(line + 4, m[i], ml) == 0 &&
				    line[4 + ml] == ':') {
					char up[8];

					for (size_t k = 0; k <= ml; k++)
						up[k] = (char)toupper((unsigned char)m[i][k]);
					assert_true(n < max);
					snprintf(ops[n++], 160, "%s %s", up, cur);
				}
			}
		}
	}
	free(text);
	return n;
}

static void test_table_matches_openapi(void **state)
{
	static char ops[256][160];
	size_t n = spec_ops(ops, 256);
	char want[160];
	(void)state;

	assert_true(n > 10);
	for (size_t i = 0; i < api_nroutes; i++) {
		bool found = false;

		snprintf(want, sizeof(want), "%s %s", api_routes[i].method,
			 api_routes[i].pattern);
		for (size_t k = 0; k < n; k++)
			if (strcmp(ops[k], want) == 0)
				found = true;
		if (!found)
			fail_msg("route '%s' is not in schemas/openapi.yaml", want);
	}
	for (size_t k = 0; k < n; k++) {
		bool found = false;

		for (size_t i = 0; i < api_nroutes; i++) {
			snprintf(want, sizeof(want), "%s %s", api_routes[i].method,
				 api_routes[i].pattern);
			if (strcmp(ops[k], want) == 0)
				found = true;
		}
		if (!found)
			fail_msg("schemas/openapi.yaml has '%s' but the route "
				 "table does not", ops[k]);
	}
	assert_int_equal(n, api_nroutes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_static_and_params),
		cmocka_unit_test(test_no_match),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_unlocked_flag),
		cmocka_unit_test(test_table_matches_openapi),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

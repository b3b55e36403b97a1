/* Unit tests of VM references (controller/vmref.c) through the API in
 * process, on VMs written straight into a fresh store so that their ids
 * share chosen prefixes: an exact id wins, a name or a prefix of 4 hex
 * digits or more names one VM, several are 409 ambiguous listing them,
 * none 404, and a tenant token never finds another tenant's VM. */
#include "tests/unit/fc_test.h"

#include "common/util.h"
#include "controller/api.h"
#include "controller/vmref.h"
#include "tests/unit/ctrl_fixture.h"

#define ID_A "abcd0000-0000-4000-8000-000000000001"
#define ID_B "abcd1111-0000-4000-8000-000000000002"
#define ID_C "9999aaaa-0000-4000-8000-000000000003"

/* A fresh store (ctrl_fixture_setup) with VMs A and B named web-1 of
 * tenants loan and bank, and C of loan named "abcd", which is also the
 * start of A's and B's ids. */
static int setup(void **state)
{
	static const char *const vms[][3] = {
		{ID_A, "web-1", "loan"}, {ID_B, "web-1", "bank"},
		{ID_C, "abcd", "loan"},
	};
	char sql[512];

	if (ctrl_fixture_setup(state, "vmref") < 0)
		return -1;
	ctrl_fixture_exec(*state,
		"INSERT INTO hosts(name, pool, state, registered_ms) VALUES "
		" ('n1', 'default', 'up', 0);"
		"INSERT INTO flavors(name, vcpus, mem_mib, disk_gib, created_ms) VALUES ('small', 1, 512, 1, 0);"
		"INSERT INTO tenants(name, isolation, compliance_class, "
		" created_ms) VALUES ('loan', 'shared', 'standard', 0),"
		" ('bank', 'shared', 'standard', 0);");
	for (size_t i = 0; i < FC_ARRAY_LEN(vms); i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO vms(id, name, tenant, "
			 "flavor, pool, host, vcpus, mem_mib, disk_gib, "
			 "desired, state, created_ms, updated_ms) VALUES "
			 "('%s', '%s', '%s', 'small', 'default', 'n1', 1, 512, "
			 "1, 'running', 'running', 0, 0)", vms[i][0],
			 vms[i][1], vms[i][2]);
		ctrl_fixture_exec(*state, sql);
	}
	return 0;
}

static int teardown(void **state)
{
	return ctrl_fixture_teardown(state);
}

/* GET /v1/vms/REF as token: the status; the id answered into id ("" when
 * none), the error message into msg. */
static int get(struct ctrl_fixture *f, const char *ref, const char *token,
	       char id[VMREF_ID_LEN], char msg[512])
{
	char path[256];
	cJSON *o = NULL;
	const cJSON *e;
	int st;

	snprintf(path, sizeof(path), "/v1/vms/%s", ref);
	st = ctrl_fixture_req(f, "GET", path, NULL, token, &o);
	e = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "error"), "message");
	str_copy(id, VMREF_ID_LEN, cJSON_IsString(cJSON_GetObjectItem(o, "id"))
		 ? cJSON_GetObjectItem(o, "id")->valuestring : "");
	str_copy(msg, 512, cJSON_IsString(e) ? e->valuestring : "");
	cJSON_Delete(o);
	return st;
}

static void test_resolve(void **state)
{
	struct ctrl_fixture *f = *state;
	char admin[AUTH_TOKEN_LEN + 1], id[VMREF_ID_LEN], msg[512];

	ctrl_fixture_admin(f, admin);

	assert_int_equal(get(f, ID_C, admin, id, msg), 200);
	assert_string_equal(id, ID_C);
	/* "abcd" is C's name and a prefix of A's and B's ids */
	assert_int_equal(get(f, "abcd", admin, id, msg), 409);
	assert_non_null(strstr(msg, ID_A));
	assert_non_null(strstr(msg, ID_B));
	assert_non_null(strstr(msg, ID_C));
	assert_non_null(strstr(msg, "tenant 'bank'"));
	assert_int_equal(get(f, "abcd1", admin, id, msg), 200);
	assert_string_equal(id, ID_B);
	assert_int_equal(get(f, "ABCD0000-", admin, id, msg), 200);
	assert_string_equal(id, ID_A);
	assert_int_equal(get(f, "9999", admin, id, msg), 200);
	assert_string_equal(id, ID_C);
	assert_int_equal(get(f, "999", admin, id, msg), 404);
	assert_int_equal(get(f, "web-1", admin, id, msg), 409);
	assert_int_equal(get(f, "web-2", admin, id, msg), 404);
}

static void test_tenant_sees_its_own(void **state)
{
	struct ctrl_fixture *f = *state;
	char admin[AUTH_TOKEN_LEN + 1], tok[AUTH_TOKEN_LEN + 1];
	char id[VMREF_ID_LEN], msg[512];
	cJSON *o;

	ctrl_fixture_admin(f, admin);

	assert_int_equal(ctrl_fixture_req(f, "POST", "/v1/tokens",
					  "{\"role\":\"tenant\",\"tenant\":"
					  "\"bank\"}", admin, &o), 201);
	str_copy(tok, sizeof(tok), cJSON_GetStringValue(
					   cJSON_GetObjectItem(o, "token")));
	cJSON_Delete(o);
	assert_int_equal(get(f, "web-1", tok, id, msg), 200);
	assert_string_equal(id, ID_B);
	assert_int_equal(get(f, "abcd", tok, id, msg), 200);
	assert_string_equal(id, ID_B);
	assert_int_equal(get(f, ID_A, tok, id, msg), 404);
	assert_int_equal(get(f, "9999", tok, id, msg), 404);
	assert_null(strstr(msg, ID_C));
}

static void test_is_id(void **state)
{
	(void)state;
	assert_true(vmref_is_id(ID_A));
	assert_true(vmref_is_id("ABCD0000-0000-4000-8000-000000000001"));
	assert_false(vmref_is_id("abcd0000"));
	assert_false(vmref_is_id("abcd0000-0000-4000-8000-00000000000g"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_id),
		cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_sees_its_own, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

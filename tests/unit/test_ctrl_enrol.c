/* Unit tests of how a node joins (controller/enrol.c, api_join.c): the
 * verdict on each kind of registration, the inventory's bounds and jumps
 * as pure functions; then, through the API on a temporary store, a join
 * token's uses, a known node's re-registration waiting for an operator's
 * approval (or rejection), and a reported inventory that jumped staying
 * out of the scheduler's figures until it is approved. */
#include <stdlib.h>

#include "tests/unit/fc_test.h"

#include "controller/db.h"
#include "controller/enrol.h"
#include "tests/unit/ctrl_fixture.h"

/* ---------------------------------------------------------------- pure */

static void test_decide(void **state)
{
	struct enrol_where host = {"m1", "qemu+tcp://a/system", "default"};
	struct enrol_where other = {"m2", "qemu+tcp://b/system", "default"};
	struct enrol_known k = {.has_credential = true, .host = host,
				.base = {8, 16384}, .request = ""};
	(void)state;

	assert_int_equal(enrol_decide(NULL, &host), ENROL_NEW);
	/* the same machine without its credential file: an operator decides */
	assert_int_equal(enrol_decide(&k, &host), ENROL_PENDING);
	assert_int_equal(enrol_decide(&k, &other), ENROL_PENDING);
	k.request = "pending";
	k.req = other;
	assert_int_equal(enrol_decide(&k, &other), ENROL_PENDING);
	/* approved: taken only when it says what was approved */
	k.request = "approved";
	assert_int_equal(enrol_decide(&k, &other), ENROL_TAKE);
	assert_int_equal(enrol_decide(&k, &host), ENROL_PENDING);
	/* rejected: that request is refused; another one is a new request */
	k.request = "rejected";
	assert_int_equal(enrol_decide(&k, &other), ENROL_REJECTED);
	assert_int_equal(enrol_decide(&k, &host), ENROL_PENDING);
	/* an operator revoked the credential: that was the decision */
	k.has_credential = false;
	assert_int_equal(enrol_decide(&k, &other), ENROL_TAKE);
}

static void test_changes(void **state)
{
	struct enrol_known k = {.has_credential = true,
				.host = {"m1", "qemu+tcp://a/system", "default"},
				.base = {8, 16384}, .request = ""};
	struct enrol_where w = {"m2", "qemu+tcp://b/system", "prod"};
	struct enrol_figures same = {8, 16384}, big = {64, 16384};
	char out[512];
	(void)state;

	enrol_changes(&k, &w, &big, out, sizeof(out));
	assert_non_null(strstr(out, "machine_id 'm1' -> 'm2'"));
	assert_non_null(strstr(out, "migration_uri 'qemu+tcp://a/system' -> "
				    "'qemu+tcp://b/system'"));
	assert_non_null(strstr(out, "pool 'default' -> 'prod'"));
	assert_non_null(strstr(out, "vcpus 8 -> 64"));
	enrol_changes(&k, &k.host, &same, out, sizeof(out));
	assert_non_null(strstr(out, "credential file was lost"));
	/* truncated, never overrun */
	enrol_changes(&k, &w, &big, out, 16);
	assert_int_equal(strlen(out), 15);
}

static void test_jump(void **state)
{
	struct enrol_figures base = {8, 16384}, r;
	char why[128];
	(void)state;

	r = (struct enrol_figures){16, 32768}; /* twice: within */
	assert_int_equal(enrol_jump(&base, &r, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	r = (struct enrol_figures){17, 16384};
	assert_int_equal(enrol_jump(&base, &r, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "vcpus 8 -> 17"));
	r = (struct enrol_figures){8, 40000};
	assert_int_equal(enrol_jump(&base, &r, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "mem_mib 16384 -> 40000"));
	r = (struct enrol_figures){1, 1}; /* a drop is never a jump */
	assert_int_equal(enrol_jump(&base, &r, why, sizeof(why)), 0);
	base = (struct enrol_figures){0, 0}; /* unknown: nothing to judge */
	r = (struct enrol_figures){4096, 1 << 20};
	assert_int_equal(enrol_jump(&base, &r, why, sizeof(why)), 0);
	assert_int_equal(enrol_inv_max[ENROL_VCPUS], 4096);
	assert_int_equal(enrol_inv_max[ENROL_MEM_MIB], INT64_C(64) << 20);
	assert_int_equal(enrol_inv_max[ENROL_DISK_GIB], INT64_C(1) << 20);
}

/* ----------------------------------------------------- through the API */

/* fx first: ctrl_fixture_teardown() closes it and frees the whole */
struct fixture {
	struct ctrl_fixture fx;
	char admin[AUTH_TOKEN_LEN + 1];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	if (f == NULL || ctrl_fixture_open(&f->fx, "enrol") < 0)
		return -1;
	f->fx.ctrl.cfg.join_token_ttl_s = 3600;
	f->fx.ctrl.cfg.join_token_ttl_max_s = 7200;
	ctrl_fixture_admin(&f->fx, f->admin);
	return 0;
}

/* A join token for uses registrations into tok. */
static void join_token(struct fixture *f, int uses, char *tok)
{
	char body[64];
	cJSON *o;

	snprintf(body, sizeof(body), "{\"role\":\"join\",\"uses\":%d}", uses);
	assert_int_equal(ctrl_fixture_req(&f->fx, "POST", "/v1/tokens", body,
					  f->admin, &o), 201);
	assert_int_equal(cJSON_GetObjectItem(o, "uses_left")->valueint, uses);
	snprintf(tok, AUTH_TOKEN_LEN + 1, "%s",
		 cJSON_GetObjectItem(o, "token")->valuestring);
	cJSON_Delete(o);
}

/* POST /v1/agents/register of node from machine with token tok,
 * vcpus and mem_mib (and a fixed disk); the status, *out the answer. */
static int reg(struct fixture *f, const char *tok, const char *node,
	       const char *machine, const char *vcpus, const char *mem,
	       cJSON **out)
{
	char body[1024];

	snprintf(body, sizeof(body),
		 "{\"join_token\":\"%s\",\"node\":\"%s\",\"pool\":\"default\","
		 "\"migration_uri\":\"test:///%s\",\"machine_id\":\"%s\","
		 "\"inventory\":{\"vcpus\":%s,\"mem_mib\":%s,\"mem_free_mib\":"
		 "1024,\"disk_gib\":100,\"disk_free_gib\":100,\"cpu_model\":"
		 "\"sim\",\"virt_type\":\"test\",\"libvirt_version\":\"9.0.0\"}}",
		 tok, node, machine, machine, vcpus, mem);
	return ctrl_fixture_req(&f->fx, "POST", "/v1/agents/register", body,
				NULL, out);
}

static const char *err_text(const cJSON *o, const char *what)
{
	const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "error"),
					     what);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static void test_join_token_uses(void **state)
{
	struct fixture *f = *state;
	char tok[AUTH_TOKEN_LEN + 1];
	cJSON *o;

	join_token(f, 2, tok);
	assert_int_equal(reg(f, tok, "n1", "m1", "8", "16384", NULL), 201);
	assert_int_equal(reg(f, tok, "n2", "m2", "8", "16384", NULL), 201);
	/* the third node finds it used up: 401 saying so and the fix */
	assert_int_equal(reg(f, tok, "n3", "m3", "8", "16384", &o), 401);
	assert_string_equal(err_text(o, "field"), "join_token");
	assert_non_null(strstr(err_text(o, "message"), "no registration left"));
	assert_non_null(strstr(err_text(o, "message"),
			       "finctl token create --role join"));
	cJSON_Delete(o);
	assert_int_equal(ctrl_fixture_count(&f->fx, "SELECT count(*) FROM "
					    "hosts WHERE name = 'n3'"), 0);
	assert_int_equal(ctrl_fixture_count(&f->fx, "SELECT uses_left FROM "
					    "tokens WHERE role = 'join'"), 0);
	/* an expired one says that */
	join_token(f, 1, tok);
	ctrl_fixture_exec(&f->fx, "UPDATE tokens SET expires_ms = 1 WHERE "
			  "role = 'join' AND uses_left = 1");
	assert_int_equal(reg(f, tok, "n3", "m3", "8", "16384", &o), 401);
	assert_non_null(strstr(err_text(o, "message"), "expired"));
	cJSON_Delete(o);
	/* a join token always expires; other roles take no uses */
	assert_int_equal(ctrl_fixture_req(&f->fx, "POST", "/v1/tokens",
					  "{\"role\":\"join\",\"ttl_s\":0}",
					  f->admin, NULL), 400);
	assert_int_equal(ctrl_fixture_req(&f->fx, "POST", "/v1/tokens",
					  "{\"role\":\"join\",\"ttl_s\":7201}",
					  f->admin, NULL), 400);
	assert_int_equal(ctrl_fixture_req(&f->fx, "POST", "/v1/tokens",
					  "{\"role\":\"viewer\",\"uses\":2}",
					  f->admin, &o), 400);
	assert_string_equal(err_text(o, "field"), "uses");
	cJSON_Delete(o);
	assert_int_equal(ctrl_fixture_req(&f->fx, "POST", "/v1/tokens",
					  "{\"role\":\"join\"}", f->admin, &o),
			 201);
	assert_int_equal(cJSON_GetObjectItem(o, "uses_left")->valueint, 1);
	assert_true(cJSON_GetObjectItem(o, "expires_ms")->valuedouble -
			    cJSON_GetObjectItem(o, "created_ms")->valuedouble ==
		    3600000.0);
	cJSON_Delete(o);
}

static void test_reregistration(void **state)
{
	struct fixture *f = *state;
	char tok[AUTH_TOKEN_LEN + 1], old[AUTH_TOKEN_LEN + 1];
	const cJSON *r;
	cJSON *o;

	join_token(f, 10, tok);
	assert_int_equal(reg(f, tok, "n1", "m1", "8", "16384", &o), 201);
	snprintf(old, sizeof(old), "%s",
		 cJSON_GetObjectItem(o, "credential")->valuestring);
	cJSON_Delete(o);
	/* another machine takes the name: recorded, nothing changes */
	assert_int_equal(reg(f, tok, "n1", "evil", "8", "16384", &o), 202);
	assert_string_equal(cJSON_GetObjectItem(o, "registration")->valuestring,
			    "pending");
	assert_null(cJSON_GetObjectItem(o, "credential"));
	assert_non_null(strstr(cJSON_GetObjectItem(o, "message")->valuestring,
			       "finctl host approve n1"));
	cJSON_Delete(o);
	assert_int_equal(ctrl_fixture_count(&f->fx, "SELECT count(*) FROM "
					    "hosts WHERE migration_uri = "
					    "'test:///m1' AND machine_id = "
					    "'m1'"), 1);
	assert_int_equal(ctrl_fixture_count(&f->fx, "SELECT uses_left FROM "
					    "tokens WHERE role = 'join'"), 9);
	assert_int_equal(ctrl_fixture_req(&f->fx, "GET", "/v1/hosts/n1", NULL,
					  f->admin, &o), 200);
	assert_string_equal(cJSON_GetObjectItem(o, "registration")->valuestring,
			    "pending");
	r = cJSON_GetObjectItem(o, "registration_request");
	assert_string_equal(cJSON_GetObjectItem(r, "machine_id")->valuestring,
			    "evil");
	assert_non_null(strstr(cJSON_GetObjectItem(r, "changes")->valuestring,
			       "machine_id 'm1' -> 'evil'"));
	cJSON_Delete(o);
	/* the old credential still works; reject, then the attempts are 403 */
	assert_int_equal(ctrl_fixture_req(&f->fx, "POST", "/v1/hosts/n1/reject",
					  NULL, f->admin, NULL), 200);
	assert_int_equal(reg(f, tok, "n1", "evil", "8", "16384", NULL), 403);
	assert_int_equal(ctrl_fixture_req(&f->fx, "POST", "/v1/hosts/n1/reject",
					  NULL, f->admin, NULL), 409);
	/* the node's own machine lost its credential file: a new request */
	assert_int_equal(reg(f, tok, "n1", "m1", "8", "16384", &o), 202);
	assert_non_null(strstr(cJSON_GetObjectItem(o, "changes")->valuestring,
			       "credential file was lost"));
	cJSON_Delete(o);
	/* approved: the next attempt saying the same gets a credential */
	assert_int_equal(ctrl_fixture_req(&f->fx, "POST", "/v1/hosts/n1/approve",
					  NULL, f->admin, &o), 200);
	assert_string_equal(cJSON_GetObjectItem(o, "registration")->valuestring,
			    "approved");
	cJSON_Delete(o);
	assert_int_equal(reg(f, tok, "n1", "m1", "8", "16384", &o), 201);
	assert_string_not_equal(cJSON_GetObjectItem(o, "credential")->valuestring,
				old);
	cJSON_Delete(o);
	assert_int_equal(ctrl_fixture_count(&f->fx, "SELECT count(*) FROM "
					    "host_requests"), 0);
	assert_int_equal(ctrl_fixture_count(&f->fx, "SELECT count(*) FROM "
					    "audit WHERE action = "
					    "'host.approve' AND result = 200"),
			 1);
	assert_int_equal(ctrl_fixture_req(&f->fx, "POST", "/v1/hosts/n1/approve",
					  NULL, f->admin, NULL), 409);
	assert_int_equal(ctrl_fixture_req(&f->fx, "POST", "/v1/hosts/nx/approve",
					  NULL, f->admin, NULL), 404);
}

static void test_inventory(void **state)
{
	struct fixture *f = *state;
	char tok[AUTH_TOKEN_LEN + 1];
	cJSON *o;

	join_token(f, 10, tok);
	/* absurd figures: 400 naming the field and the limit */
	assert_int_equal(reg(f, tok, "n1", "m1", "1000000000", "16384", &o),
			 400);
	assert_string_equal(err_text(o, "field"), "inventory.vcpus");
	assert_non_null(strstr(err_text(o, "message"), "4096"));
	cJSON_Delete(o);
	assert_int_equal(reg(f, tok, "n1", "m1", "8", "70000000", &o), 400);
	assert_string_equal(err_text(o, "field"), "inventory.mem_mib");
	assert_non_null(strstr(err_text(o, "message"), "64 TiB"));
	cJSON_Delete(o);
	assert_int_equal(reg(f, tok, "n1", "m1", "-1", "16384", NULL), 400);
	assert_int_equal(reg(f, tok, "n1", "m1", "8.5", "16384", NULL), 400);
	assert_int_equal(ctrl_fixture_count(&f->fx, "SELECT count(*) FROM "
					    "hosts"), 0);
	assert_int_equal(reg(f, tok, "n1", "m1", "8", "16384", NULL), 201);
	assert_int_equal(ctrl_fixture_count(&f->fx, "SELECT base_vcpus FROM "
					    "hosts"), 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_jump),
		cmocka_unit_test_setup_teardown(test_join_token_uses, setup,
						ctrl_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_reregistration, setup,
						ctrl_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_inventory, setup,
						ctrl_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests of agents/agent_virt.c against libvirt's test:///default
 * driver (a private in-memory host per connection, with one foreign
 * domain "test"): operations, idempotence, foreign domains left alone,
 * events, and reconciliation decisions carried out for real. Also the
 * desired-state and heartbeat messages of agents/agent_report.c. */
#include <pthread.h>
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include <libvirt/libvirt.h>

#include "agents/agent_domxml.h"
#include "agents/agent_reconcile.h"
#include "agents/agent_report.h"
#include "agents/agent_virt.h"
#include "common/err.h"
#include "common/util.h"
#include "tests/unit/agent_fixture.h"

#define ID1 "0c6f8e9a-1111-4222-8333-444455556666"
#define ID2 "0c6f8e9a-2222-4222-8333-444455556666"

static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static char ev_seen[64][64];
static size_t nev;

static void on_event(void *opaque, const char *uuid, const char *name,
		     int state, const char *reason)
{
	(void)opaque;
	(void)name;
	pthread_mutex_lock(&ev_lock);
	if (nev < FC_ARRAY_LEN(ev_seen))
		snprintf(ev_seen[nev++], sizeof(ev_seen[0]), "%.36s %s %s",
			 uuid, agent_dom_state_name(state), reason);
	pthread_mutex_unlock(&ev_lock);
}

static bool wait_event(const char *want)
{
	for (int i = 0; i < 200; i++) {
		pthread_mutex_lock(&ev_lock);
		for (size_t j = 0; j < nev; j++) {
			if (strcmp(ev_seen[j], want) == 0) {
				pthread_mutex_unlock(&ev_lock);
				return true;
			}
		}
		pthread_mutex_unlock(&ev_lock);
		usleep(10000);
	}
	return false;
}

static const struct agent_domain *find(const struct agent_domain *d,
				       size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(d[i].name, name) == 0)
			return &d[i];
	return NULL;
}

/* State of the domain called name, -1 when it is not there. */
static int state_of(struct agent_virt *v, const char *name, bool *managed)
{
	struct agent_domain *d = NULL;
	const struct agent_domain *x;
	size_t n = 0;
	int st = -1;

	assert_int_equal(agent_virt_list(v, &d, &n), 0);
	x = find(d, n, name);
	if (x) {
		st = x->state;
		if (managed)
			*managed = x->managed;
	}
	free(d);
	return st;
}

static int setup(void **state)
{
	*state = agent_fixture_virt_open(on_event, NULL);
	return *state ? 0 : -1;
}

static void test_inventory(void **state)
{
	struct agent_virt *v = *state;
	struct agent_inventory inv;
	cJSON *j;
	char *text;

	assert_string_equal(agent_virt_type(v), "test");
	assert_true(agent_virt_alive(v));
	assert_int_equal(agent_virt_inventory(v, &inv), 0);
	assert_true(inv.vcpus > 0);
	assert_true(inv.mem_mib > 0);
	assert_true(inv.mem_free_mib > 0 && inv.mem_free_mib <= inv.mem_mib);
	assert_string_equal(inv.virt_type, "test");
	assert_string_equal(inv.virt_type_reason, "libvirt test driver");
	assert_string_equal(agent_virt_type_reason(v), "libvirt test driver");
	assert_true(str_startswith(inv.libvirt_version, "9.") ||
		    strlen(inv.libvirt_version) > 0);
	j = agent_json_inventory(&inv);
	assert_non_null(j);
	text = cJSON_PrintUnformatted(j);
	assert_non_null(strstr(text, "\"virt_type\":\"test\","
				     "\"virt_type_reason\":\"libvirt test "
				     "driver\""));
	free(text);
	cJSON_Delete(j);
}

static void test_lifecycle(void **state)
{
	struct agent_virt *v = *state;
	struct agent_vm_spec s =
		agent_fixture_spec(ID1, "loan.vm1", AGENT_WANT_RUNNING);
	struct agent_domain *d = NULL;
	const struct agent_domain *x;
	size_t n = 0;
	bool managed = false;

	assert_int_equal(agent_virt_create(v, &s, true), 0);
	assert_true(wait_event(ID1 " running booted"));
	assert_int_equal(state_of(v, "loan.vm1", &managed), AGENT_DOM_RUNNING);
	assert_true(managed);
	/* Idempotent: a second create changes nothing. */
	assert_int_equal(agent_virt_create(v, &s, true), 0);
	assert_int_equal(agent_virt_list(v, &d, &n), 0);
	x = find(d, n, "loan.vm1");
	assert_non_null(x);
	assert_string_equal(x->uuid, ID1);
	assert_string_equal(x->tenant, "loan");
	assert_int_equal(x->vcpus, 2);
	assert_int_equal(x->mem_mib, 128);
	free(d);

	if (agent_virt_shutdown(v, ID1) < 0)
		fail_msg("%s", err_msg());
	assert_int_equal(state_of(v, "loan.vm1", NULL), AGENT_DOM_SHUTOFF);
	assert_true(wait_event(ID1 " shutoff shutdown"));
	assert_int_equal(agent_virt_shutdown(v, ID1), 0); /* idempotent */
	assert_int_equal(agent_virt_destroy(v, ID1), 0);  /* idempotent */
	assert_int_equal(agent_virt_reboot(v, ID1), -1);  /* not running */
	assert_int_equal(agent_virt_start(v, ID1), 0);
	assert_int_equal(agent_virt_start(v, ID1), 0);
	assert_int_equal(agent_virt_reboot(v, ID1), 0);
	assert_int_equal(agent_virt_destroy(v, ID1), 0);
	assert_true(wait_event(ID1 " shutoff destroyed"));
	assert_int_equal(agent_virt_start(v, ID1), 0);
	assert_int_equal(agent_virt_delete(v, ID1, false), 0);
	assert_int_equal(state_of(v, "loan.vm1", NULL), -1);
	assert_int_equal(agent_virt_delete(v, ID1, false), 0); /* idempotent */
	assert_int_equal(agent_virt_start(v, ID1), -1);
	assert_non_null(strstr(err_msg(), "no such domain"));
}

/* test:///default carries a running domain "test" without fincloud
 * metadata: the agent reports it as foreign and refuses to touch it. */
static void test_foreign_left_alone(void **state)
{
	struct agent_virt *v = *state;
	struct agent_domain *d = NULL;
	const struct agent_domain *x;
	char uuid[37];
	size_t n = 0;
	bool managed = true;

	assert_int_equal(agent_virt_list(v, &d, &n), 0);
	x = find(d, n, "test");
	assert_non_null(x);
	assert_false(x->managed);
	snprintf(uuid, sizeof(uuid), "%s", x->uuid);
	free(d);
	assert_int_equal(agent_virt_managed(v, uuid), 0);
	assert_int_equal(agent_virt_destroy(v, uuid), -1);
	assert_non_null(strstr(err_msg(), "has no fincloud metadata"));
	assert_int_equal(agent_virt_delete(v, uuid, false), -1);
	assert_int_equal(agent_virt_shutdown(v, uuid), -1);
	assert_int_equal(agent_virt_migrate(v, uuid, "test:///default",
					    &agent_fixture_migrate_opts), -1);
	assert_int_equal(state_of(v, "test", &managed), AGENT_DOM_RUNNING);
	assert_false(managed);
}

/* Plan, perform, observe again: the second plan is empty. */
static void test_reconcile_converges(void **state)
{
	struct agent_virt *v = *state;
	struct agent_vm_spec specs[3] = {
		agent_fixture_spec(ID1, "a.run", AGENT_WANT_RUNNING),
		agent_fixture_spec(ID2, "a.stop", AGENT_WANT_STOPPED),
		agent_fixture_spec(
			"0c6f8e9a-3333-4222-8333-444455556666", "test",
			AGENT_WANT_RUNNING), /* the foreign domain's name */
	};

	for (int pass = 0; pass < 3; pass++) {
		struct agent_domain *d = NULL;
		struct agent_observed *obs;
		struct agent_action *acts = NULL;
		size_t n = 0, nacts = 0, errors = 0, steps = 0;

		assert_int_equal(agent_virt_list(v, &d, &n), 0);
		obs = calloc(n + 1, sizeof(*obs));
		assert_non_null(obs);
		for (size_t i = 0; i < n; i++) {
			snprintf(obs[i].uuid, sizeof(obs[i].uuid), "%s",
				 d[i].uuid);
			snprintf(obs[i].name, sizeof(obs[i].name), "%s",
				 d[i].name);
			obs[i].managed = d[i].managed;
			obs[i].state = d[i].state;
		}
		assert_int_equal(agent_reconcile_plan(specs, 3, obs, n,
						      time_mono_ns(),
						      60000000000ULL, &acts,
						      &nacts),
				 0);
		for (size_t i = 0; i < nacts; i++) {
			const struct agent_vm_spec *s = &specs[acts[i].spec];

			switch (acts[i].type) {
			case AGENT_ACT_CREATE:
				assert_int_equal(agent_virt_create(v, s, true),
						 0);
				steps++;
				break;
			case AGENT_ACT_DEFINE:
				assert_int_equal(agent_virt_create(v, s, false),
						 0);
				steps++;
				break;
			case AGENT_ACT_ERROR:
				assert_int_equal(acts[i].spec, 2);
				errors++;
				break;
			default:
				fail_msg("unexpected action %s",
					 agent_action_name(acts[i].type));
			}
		}
		assert_int_equal(errors, 1);
		if (steps != (pass == 0 ? 2u : 0u))
			fail_msg("pass %d: %zu steps", pass, steps);
		free(acts);
		free(obs);
		free(d);
	}
	assert_int_equal(state_of(v, "a.run", NULL), AGENT_DOM_RUNNING);
	assert_int_equal(state_of(v, "a.stop", NULL), AGENT_DOM_SHUTOFF);
	assert_int_equal(agent_virt_delete(v, ID1, false), 0);
	assert_int_equal(agent_virt_delete(v, ID2, false), 0);
}

static void test_migrate_failure_keeps_vm(void **state)
{
	struct agent_virt *v = *state;
	struct agent_vm_spec s =
		agent_fixture_spec(ID1, "m.vm", AGENT_WANT_RUNNING);

	if (agent_virt_create(v, &s, true) < 0)
		fail_msg("%s", err_msg());
	assert_int_equal(
		agent_virt_migrate(v, ID1, "test+tcp://127.0.0.1:1/default",
				   &agent_fixture_migrate_opts),
		-1);
	assert_non_null(strstr(err_msg(), "migration to"));
	assert_int_equal(state_of(v, "m.vm", NULL), AGENT_DOM_RUNNING);
	assert_int_equal(agent_virt_delete(v, ID1, false), 0);
}

static void test_desired_parse(void **state)
{
	const char *body =
		"{\"generation\": 42, \"vms\": ["
		"{\"vm_id\":\"" ID1 "\",\"name\":\"ok.vm\",\"tenant\":\"t\","
		"\"group\":null,\"vcpus\":1,\"mem_mib\":64,\"disk_gib\":1,"
		"\"base_image\":null,\"state\":\"running\"},"
		"{\"vm_id\":\"" ID2 "\",\"name\":\"bad vm\",\"tenant\":\"t\","
		"\"vcpus\":1,\"mem_mib\":64,\"disk_gib\":1,\"state\":"
		"\"running\"}"
		"], \"tasks\": ["
		"{\"task_id\":\"" ID2 "\",\"type\":\"migrate\",\"vm_id\":\"" ID1
		"\",\"target_node\":\"n2\",\"target_uri\":"
		"\"qemu+tcp://10.250.0.3/system\",\"max_seconds\":45,"
		"\"postcopy\":true},"
		"{\"task_id\":\"" ID1 "\",\"type\":\"launch\",\"vm_id\":\"" ID1
		"\"},"
		"{\"task_id\":\"" ID1 "\",\"type\":\"migrate\",\"vm_id\":\"" ID1
		"\",\"target_node\":\"n2\",\"target_uri\":\"qemu:///x\","
		"\"max_seconds\":-1}]}";
	struct agent_desired d;
	(void)state;

	assert_int_equal(agent_desired_parse(body, strlen(body), &d), 0);
	assert_int_equal(d.generation, 42);
	assert_int_equal(d.nvms, 1);
	assert_string_equal(d.vms[0].name, "ok.vm");
	assert_int_equal(d.ntasks, 1);
	assert_string_equal(d.tasks[0].target_uri,
			    "qemu+tcp://10.250.0.3/system");
	assert_int_equal(d.tasks[0].max_seconds, 45);
	assert_true(d.tasks[0].postcopy);
	/* The bad VM and the bad task are reported, the rest applies. */
	assert_int_equal(d.nerrors, 3);
	assert_string_equal(d.errors[0].vm_id, ID2);
	assert_non_null(strstr(d.errors[0].error, "$.vms[1].name"));
	assert_non_null(strstr(d.errors[1].error,
			       "$.tasks[1].type: expected migrate or reboot"));
	assert_non_null(strstr(d.errors[2].error, "$.tasks[2].max_seconds"));
	agent_desired_free(&d);

	assert_int_equal(agent_desired_parse("{\"vms\":[]}", 10, &d), -1);
	assert_string_equal(err_msg(),
			    "$: missing required field 'generation'");
	agent_desired_free(&d);
	assert_int_equal(agent_desired_parse("<html>", 6, &d), -1);
	agent_desired_free(&d);
}

/* The flags and data URI of a migration: live, peer to peer, persistent
 * there, undefined here, its disk copied (the top layer only when
 * backed; nothing of a shared RBD disk), auto-converge unless turned
 * off, post-copy when allowed. */
static void test_migrate_plan(void **state)
{
	const unsigned base = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER |
			      VIR_MIGRATE_PERSIST_DEST |
			      VIR_MIGRATE_UNDEFINE_SOURCE;
	static const struct {
		bool auto_converge, postcopy, backed, shared;
		const char *target, *data_uri;
		unsigned extra;
	} cases[] = {
		{true, false, false, false, "qemu+tcp://10.250.140.3/system",
		 "tcp://10.250.140.3",
		 VIR_MIGRATE_NON_SHARED_DISK | VIR_MIGRATE_AUTO_CONVERGE},
		{true, false, true, false, "qemu+tcp://10.250.140.3/system",
		 "tcp://10.250.140.3",
		 VIR_MIGRATE_NON_SHARED_INC | VIR_MIGRATE_AUTO_CONVERGE},
		{false, false, false, false, "qemu+tls://node2:16514/system",
		 "tcp://node2", VIR_MIGRATE_NON_SHARED_DISK | VIR_MIGRATE_TLS},
		{true, true, false, false, "qemu+tcp://[fd00::3]/system",
		 "tcp://[fd00::3]",
		 VIR_MIGRATE_NON_SHARED_DISK | VIR_MIGRATE_AUTO_CONVERGE |
			 VIR_MIGRATE_POSTCOPY},
		{false, true, true, false, "test:///default", "",
		 VIR_MIGRATE_NON_SHARED_INC | VIR_MIGRATE_POSTCOPY},
		/* an RBD disk: no storage copy flag at all */
		{true, false, false, true, "qemu+tls://10.250.20.3/system",
		 "tcp://10.250.20.3",
		 VIR_MIGRATE_AUTO_CONVERGE | VIR_MIGRATE_TLS},
	};
	struct agent_migrate_plan p;
	(void)state;

	for (size_t i = 0; i < FC_ARRAY_LEN(cases); i++) {
		struct agent_migrate_opts o = {
			.max_seconds = 30,
			.auto_converge = cases[i].auto_converge,
			.postcopy = cases[i].postcopy,
		};

		assert_int_equal(agent_virt_migrate_plan(&o, cases[i].target,
							 cases[i].backed,
							 cases[i].shared, &p),
				 0);
		assert_int_equal(p.flags, base | cases[i].extra);
		assert_string_equal(p.data_uri, cases[i].data_uri);
	}
	assert_int_equal(agent_virt_migrate_plan(&agent_fixture_migrate_opts,
						 "not a uri", false, false, &p),
			 -1);
	assert_string_equal(err_msg(),
			    "migration target 'not a uri' is not a URI");
}

/* Whether hb's JSON text holds what. */
static bool hb_has(const struct agent_heartbeat *hb, const char *what)
{
	cJSON *j = agent_json_heartbeat(hb);
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;
	bool has = text && strstr(text, what);

	free(text);
	cJSON_Delete(j);
	return has;
}

static void test_heartbeat_json(void **state)
{
	struct agent_inventory inv = { .vcpus = 4, .mem_mib = 1024 };
	struct agent_domain doms[2];
	struct agent_task task = { .task_id = ID2, .state = AGENT_TASK_FAILED,
				   .error = "boom" };
	struct agent_vm_error e = { .vm_id = ID1, .name = "x", .error = "bad" };
	struct agent_heartbeat hb = {
		.generation_seen = 7, .degraded_reason = NULL, .inv = &inv,
		.doms = doms, .ndoms = 2, .tasks = &task, .ntasks = 1,
		.errors = &e, .nerrors = 1,
	};
	cJSON *j;
	char *text;
	(void)state;

	memset(doms, 0, sizeof(doms));
	snprintf(doms[0].uuid, sizeof(doms[0].uuid), "%s", ID1);
	snprintf(doms[0].name, sizeof(doms[0].name), "%s", "mine");
	doms[0].managed = true;
	doms[0].state = AGENT_DOM_RUNNING;
	doms[0].cpu_pct = 12.345;
	snprintf(doms[1].uuid, sizeof(doms[1].uuid), "%s", ID2);
	snprintf(doms[1].name, sizeof(doms[1].name), "%s", "theirs");
	doms[1].state = AGENT_DOM_SHUTOFF;
	j = agent_json_heartbeat(&hb);
	assert_non_null(j);
	text = cJSON_PrintUnformatted(j);
	assert_non_null(strstr(text, "\"status\":\"ok\""));
	assert_non_null(strstr(text, "\"domains\":[{\"vm_id\":\"" ID1
				     "\",\"name\":\"mine\",\"state\":"
				     "\"running\""));
	assert_non_null(strstr(text, "\"cpu_pct\":12.34"));
	assert_non_null(
		strstr(text, "\"foreign_domains\":[{\"name\":\"theirs\""));
	assert_non_null(
		strstr(text, "\"state\":\"failed\",\"error\":\"boom\""));
	assert_non_null(strstr(text, "\"vm_errors\":[{\"vm_id\":\"" ID1));
	free(text);
	cJSON_Delete(j);

	hb.degraded_reason = "libvirt: down";
	hb.doms = NULL;
	hb.ndoms = 0;
	j = agent_json_heartbeat(&hb);
	text = cJSON_PrintUnformatted(j);
	assert_non_null(strstr(text,
			       "\"status\":\"degraded\",\"degraded_reason\":"
			       "\"libvirt: down\",\"domains_listed\":false"));
	free(text);
	cJSON_Delete(j);

	/* degraded for its disk, libvirt answering: the list goes along */
	hb.degraded_reason = "disk: 1 MiB free";
	hb.doms = doms;
	hb.ndoms = 2;
	hb.domains_listed = true;
	j = agent_json_heartbeat(&hb);
	text = cJSON_PrintUnformatted(j);
	assert_non_null(strstr(text, "\"domains_listed\":true"));
	assert_non_null(strstr(text, "\"domains\":[{\"vm_id\":\"" ID1));
	free(text);
	cJSON_Delete(j);

	/* the list was taken before the VM's migration away ended: it is
	 * left out (the controller would see it on both nodes); a list
	 * taken after the end shows whatever libvirt has */
	struct agent_journal_entry je = { .vm_id = ID1,
					  .state = AGENT_JOURNAL_DONE,
					  .done_ns = 2000 };
	hb.degraded_reason = NULL;
	hb.journal = &je;
	hb.njournal = 1;
	hb.doms_ns = 1000;
	assert_true(hb_has(&hb, "\"domains\":[]"));
	assert_true(hb_has(&hb, "\"migrations\":[{"));
	hb.doms_ns = 3000;
	assert_true(hb_has(&hb, "\"domains\":[{\"vm_id\":\"" ID1));
	/* a migration still running leaves the list as it is */
	je.state = AGENT_JOURNAL_RUNNING;
	hb.doms_ns = 1000;
	assert_true(hb_has(&hb, "\"domains\":[{\"vm_id\":\"" ID1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inventory),
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_foreign_left_alone),
		cmocka_unit_test(test_reconcile_converges),
		cmocka_unit_test(test_migrate_failure_keeps_vm),
		cmocka_unit_test(test_desired_parse),
		cmocka_unit_test(test_migrate_plan),
		cmocka_unit_test(test_heartbeat_json),
	};

	return cmocka_run_group_tests_name("agent_virt", tests, setup,
					   agent_fixture_virt_close);
}

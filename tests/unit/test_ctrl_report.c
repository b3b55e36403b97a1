/* Unit tests of what the nodes report and what it settles
 * (controller/report.c) on a temporary store: a heartbeat's list replaces
 * the node's last one and leaves the others; what one node says of a VM;
 * a VM another node runs is a conflict unless an open migration explains
 * it, and flagging it is audited once; a migration settles from the
 * target's and the source's lists (record and claim move); orphans are
 * marked, destroyed after the grace, shown, counted and forgotten once
 * they have a VM. */
#include <stdlib.h>

#include "tests/unit/fc_test.h"

#include "common/buf.h"
#include "common/err.h"
#include "controller/db.h"
#include "controller/report.h"
#include "controller/store.h"
#include "controller/task.h"
#include "tests/unit/ctrl_fixture.h"

#define V1 "11111111-1111-4111-8111-111111111111"
#define X1 "0c6f8e9a-1111-4222-8333-444455556666"

static int setup(void **state)
{
	struct ctrl_fixture *f;

	if (ctrl_fixture_setup(state, "report") < 0)
		return -1;
	f = *state;
	ctrl_fixture_exec(f,
		"INSERT INTO hosts(name, pool, state, vcpus, mem_mib, disk_gib,"
		" registered_ms) VALUES ('n1', 'default', 'up', 8, 8192, 100, 0),"
		" ('n2', 'default', 'up', 8, 8192, 100, 0);"
		"INSERT INTO tenants(name, isolation, compliance_class,"
		" created_ms) VALUES ('t', 'shared', 'standard', 0);"
		"INSERT INTO flavors(name, vcpus, mem_mib, disk_gib, created_ms) VALUES ('small', 1, 512, 1, 0);"
		"INSERT INTO vms(id, name, tenant, flavor, pool, host, vcpus,"
		" mem_mib, disk_gib, desired, state, created_ms, updated_ms)"
		" VALUES ('" V1 "', 'web', 't', 'small', 'default', 'n1', 1,"
		" 512, 1, 'running', 'running', 0, 0)");
	return 0;
}

static int teardown(void **state)
{
	return ctrl_fixture_teardown(state);
}

/* One heartbeat of node listing n domains "id state". */
static void heartbeat(struct ctrl_fixture *f, const char *node,
		      const char *const *doms, size_t n)
{
	char id[8][64], st[8][16];
	struct report_dom d[8] = {{0}};

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(sscanf(doms[i], "%63s %15s", id[i], st[i]), 2);
		d[i] = (struct report_dom){.vm_id = id[i], .name = "t.web",
					   .state = st[i]};
	}
	if (report_record(f->st, node, d, n, time_wall_ms()) < 0)
		fail_msg("report_record: %s", err_msg());
}

static enum task_seen seen(struct ctrl_fixture *f, const char *node,
			   const char *vm)
{
	enum task_seen s = TASK_SEEN_PRESENT;

	assert_int_equal(report_seen(f->st, node, vm, &s), 0);
	return s;
}

static int generation(struct ctrl_fixture *f, const char *node)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT generation FROM hosts WHERE name = "
		 "'%s'", node);
	return ctrl_fixture_count(f, sql);
}

static void test_record_and_seen(void **state)
{
	struct ctrl_fixture *f = *state;
	const char *const both[] = {V1 " running", X1 " shutoff"};
	const char *const one[] = {V1 " paused"};

	heartbeat(f, "n1", both, 2);
	heartbeat(f, "n2", one, 1);
	assert_int_equal(seen(f, "n1", V1), TASK_SEEN_RUNNING);
	assert_int_equal(seen(f, "n1", X1), TASK_SEEN_PRESENT);
	assert_int_equal(seen(f, "n2", V1), TASK_SEEN_PRESENT);
	assert_int_equal(seen(f, "n2", X1), TASK_SEEN_ABSENT);
	/* the next list replaces n1's, and only n1's */
	heartbeat(f, "n1", NULL, 0);
	assert_int_equal(seen(f, "n1", V1), TASK_SEEN_ABSENT);
	assert_int_equal(seen(f, "n1", X1), TASK_SEEN_ABSENT);
	assert_int_equal(seen(f, "n2", V1), TASK_SEEN_PRESENT);
}

static void test_conflict_and_flag(void **state)
{
	struct ctrl_fixture *f = *state;
	const char *const running[] = {V1 " running"};
	const char *const paused[] = {V1 " paused"};
	struct task_new t = {.type = TASK_MIGRATE, .vm_id = V1, .tenant = "t",
			     .source_host = "n1", .target_host = "n2",
			     .req = {1, 512, 1}};
	char why[512], task[TASK_ID_LEN];
	int gen;

	heartbeat(f, "n1", running, 1);
	assert_int_equal(report_conflict(f->st, V1, "n1", why, sizeof(why)), 0);
	heartbeat(f, "n2", running, 1);
	assert_int_equal(report_conflict(f->st, V1, "n1", why, sizeof(why)), 1);
	assert_non_null(strstr(why, "conflict: "));
	assert_non_null(strstr(why, "'n2'"));
	/* flagged once, audited once, its host's desired state changes */
	gen = generation(f, "n1");
	assert_int_equal(report_flag(&f->ctrl, V1, "n1", NULL), 0);
	assert_int_equal(report_flag(&f->ctrl, V1, "n1", NULL), 0);
	assert_int_equal(ctrl_fixture_count(f, "SELECT count(*) FROM vms "
					    "WHERE error LIKE 'conflict:%'"), 1);
	assert_int_equal(ctrl_fixture_count(f, "SELECT count(*) FROM audit "
					    "WHERE action = 'vm.conflict'"), 1);
	assert_int_equal(generation(f, "n1"), gen + 1);
	/* the target of an open migration holding the domain is expected,
	 * paused or running (the two reports only differ in age); judged
	 * again once the task has ended */
	assert_int_equal(task_create(f->st, &t, task), 0);
	heartbeat(f, "n2", paused, 1);
	assert_int_equal(report_conflict(f->st, V1, "n1", why, sizeof(why)), 0);
	heartbeat(f, "n2", running, 1);
	assert_int_equal(report_conflict(f->st, V1, "n1", why, sizeof(why)), 0);
	assert_int_equal(task_end(f->st, task, TASK_FAILED, "failed"), 0);
	assert_int_equal(report_conflict(f->st, V1, "n1", why, sizeof(why)), 1);
}

static void test_settle(void **state)
{
	struct ctrl_fixture *f = *state;
	const char *const running[] = {V1 " running"};
	struct task_new t = {.type = TASK_MIGRATE, .vm_id = V1, .tenant = "t",
			     .source_host = "n1", .target_host = "n2",
			     .req = {1, 512, 1}};
	struct report_result r = {.state = TASK_RUNNING};
	char task[TASK_ID_LEN];
	struct task got;
	int g1, g2;

	assert_int_equal(task_create(f->st, &t, task), 0);
	heartbeat(f, "n1", running, 1);
	str_copy(r.task_id, sizeof(r.task_id), task);
	assert_int_equal(report_settle(&f->ctrl, "n1", &r, 1, true, NULL), 0);
	assert_int_equal(task_load(f->st, task, &got), 0);
	assert_int_equal(got.state, TASK_RUNNING);
	/* the target reports it; the source still has it: nothing yet */
	heartbeat(f, "n2", running, 1);
	assert_int_equal(report_settle(&f->ctrl, "n2", NULL, 0, true, NULL), 0);
	assert_int_equal(task_load(f->st, task, &got), 0);
	assert_int_equal(got.state, TASK_RUNNING);
	/* the source's agent, restarted while its libvirt does not answer,
	 * no longer mentions the task: its old list fails nothing */
	assert_int_equal(report_settle(&f->ctrl, "n1", NULL, 0, false, NULL),
			 0);
	assert_int_equal(task_load(f->st, task, &got), 0);
	assert_int_equal(got.state, TASK_RUNNING);
	/* the source's restarted agent lists neither the VM nor the task */
	g1 = generation(f, "n1");
	g2 = generation(f, "n2");
	heartbeat(f, "n1", NULL, 0);
	assert_int_equal(report_settle(&f->ctrl, "n1", NULL, 0, true, NULL), 0);
	assert_int_equal(task_load(f->st, task, &got), 0);
	assert_int_equal(got.state, TASK_DONE);
	assert_int_equal(ctrl_fixture_count(f, "SELECT count(*) FROM vms WHERE "
					    "host = 'n2'"), 1);
	assert_int_equal(ctrl_fixture_count(f, "SELECT n FROM claims WHERE "
					    "host = 'n2'"), 1);
	assert_int_equal(ctrl_fixture_count(f, "SELECT count(*) FROM claims "
					    "WHERE host = 'n1'"), 0);
	assert_int_equal(ctrl_fixture_count(f, "SELECT count(*) FROM audit "
					    "WHERE action = 'task.migrate.done'"),
			 1);
	assert_int_equal(generation(f, "n1"), g1 + 1);
	assert_int_equal(generation(f, "n2"), g2 + 1);
}

static void test_orphans(void **state)
{
	struct ctrl_fixture *f = *state;
	const char *const doms[] = {V1 " running", X1 " running"};
	struct buf b;
	cJSON *a;
	int gen;

	heartbeat(f, "n1", doms, 2);
	assert_int_equal(report_orphans(&f->ctrl, "n1", 60000, NULL), 0);
	assert_int_equal(ctrl_fixture_count(f, "SELECT count(*) FROM reports "
					    "WHERE orphan_ms IS NOT NULL AND "
					    "vm_id = '" X1 "'"), 1);
	assert_int_equal(ctrl_fixture_count(f, "SELECT count(*) FROM reports "
					    "WHERE orphan_ms IS NOT NULL"), 1);
	assert_int_equal(ctrl_fixture_count(f, "SELECT count(*) FROM audit "
					    "WHERE action = 'host.orphan'"), 1);
	/* within the grace: not destroyed; a second pass audits nothing */
	gen = generation(f, "n1");
	assert_int_equal(report_orphans(&f->ctrl, "n1", 60000, NULL), 0);
	assert_int_equal(ctrl_fixture_count(f, "SELECT count(*) FROM reports "
					    "WHERE destroy_ms IS NOT NULL"), 0);
	assert_int_equal(ctrl_fixture_count(f, "SELECT count(*) FROM audit "
					    "WHERE action LIKE 'host.orphan%'"),
			 1);
	assert_int_equal(generation(f, "n1"), gen);
	/* past it: destroyed once, the node's desired state changes */
	ctrl_fixture_exec(f, "UPDATE reports SET orphan_ms = orphan_ms - "
			     "120000 WHERE vm_id = '" X1 "'");
	assert_int_equal(report_orphans(&f->ctrl, "n1", 60000, NULL), 0);
	assert_int_equal(report_orphans(&f->ctrl, "n1", 60000, NULL), 0);
	assert_int_equal(ctrl_fixture_count(f, "SELECT count(*) FROM audit "
					    "WHERE action = "
					    "'host.orphan.destroy'"), 1);
	assert_int_equal(generation(f, "n1"), gen + 1);
	a = report_orphans_json(f->st, "n1");
	assert_non_null(a);
	assert_int_equal(cJSON_GetArraySize(a), 1);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(a, 0),
						"vm_id")->valuestring, X1);
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(
		cJSON_GetArrayItem(a, 0), "destroy_ms")));
	cJSON_Delete(a);
	buf_init(&b, 1 << 16);
	assert_int_equal(report_metrics(f->st, &b), 0);
	assert_non_null(strstr(buf_str(&b), "fincloud_orphan_domains 1\n"));
	assert_non_null(strstr(buf_str(&b), "fincloud_vm_conflicts 0\n"));
	buf_free(&b);
	/* gone from the node: no longer an orphan */
	heartbeat(f, "n1", doms, 1);
	a = report_orphans_json(f->st, "n1");
	assert_int_equal(cJSON_GetArraySize(a), 0);
	cJSON_Delete(a);
}

static void test_bump_reporters(void **state)
{
	struct ctrl_fixture *f = *state;
	const char *const doms[] = {V1 " running"};
	int g1 = generation(f, "n1"), g2 = generation(f, "n2");

	heartbeat(f, "n2", doms, 1);
	assert_int_equal(report_bump_reporters(&f->ctrl, V1), 0);
	assert_int_equal(generation(f, "n1"), g1);
	assert_int_equal(generation(f, "n2"), g2 + 1);
}

#define STORE_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		STORE_TEST(test_record_and_seen),
		STORE_TEST(test_conflict_and_flag),
		STORE_TEST(test_settle),
		STORE_TEST(test_orphans),
		STORE_TEST(test_bump_reporters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Self-fencing (agents/agent_fence.h): the QEMU command-line match, the
 * direct kill of processes by "-uuid UUID" in /proc, and the watchdog on
 * libvirt's test driver (fires after the timeout, not while answers
 * come, lifted only by an answer of the current epoch). */
#include "tests/unit/fc_test.h"

#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "agents/agent_fence.h"
#include "common/err.h"
#include "common/util.h"
#include "tests/unit/agent_fixture.h"

#define U1 "0c6f8e9a-1111-4222-8333-444455556666"
#define U2 "0c6f8e9a-2222-4222-8333-444455556666"

static void test_cmdline(void **state)
{
	static const char a[] = "qemu-system-x86_64\0-name\0guest=x\0-uuid\0" U1
				"\0-smp\0001";
	static const char b[] = "qemu\0-uuid\0" U2;
	static const char c[] = "sh\0-c\0echo -uuid " U1;
	static const char d[] = "qemu\0-uuid";

	(void)state;
	assert_true(agent_fence_cmdline_has_uuid(a, sizeof(a), U1));
	assert_false(agent_fence_cmdline_has_uuid(a, sizeof(a), U2));
	/* no trailing NUL, upper case */
	assert_true(agent_fence_cmdline_has_uuid(
		b, sizeof(b) - 1, "0C6F8E9A-2222-4222-8333-444455556666"));
	/* inside one argument is not the flag */
	assert_false(agent_fence_cmdline_has_uuid(c, sizeof(c), U1));
	assert_false(agent_fence_cmdline_has_uuid(d, sizeof(d), U1));
	assert_false(agent_fence_cmdline_has_uuid("", 0, U1));
}

static pid_t child(const char *uuid)
{
	pid_t pid = fork();

	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "while :; do sleep 1; done",
		      "-uuid", uuid, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void test_kill(void **state)
{
	const char uuids[1][37] = {U1};
	pid_t p1 = child(U1), p2 = child(U2);
	int st = 0, k = -1;

	(void)state;
	assert_true(p1 > 0 && p2 > 0);
	/* until the children have exec'd */
	for (int i = 0; i < 100 && k != 1; i++) {
		usleep(20000);
		k = agent_fence_kill_qemu("/proc", uuids, 1);
	}
	assert_int_equal(k, 1);
	assert_int_equal(waitpid(p1, &st, 0), p1);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	/* the other guest's process lives on */
	assert_int_equal(waitpid(p2, &st, WNOHANG), 0);
	kill(p2, SIGKILL);
	waitpid(p2, &st, 0);
	assert_int_equal(agent_fence_kill_qemu("/proc/0/none", uuids, 1), -1);
}

/* set by the watchdog's thread */
static atomic_int wakes;

static void on_wake(void *ctx)
{
	(void)ctx;
	atomic_fetch_add(&wakes, 1);
}

/* test_watchdog's directory and record: removed by its teardown, also
 * when a failed assertion left the test midway */
static char dir[] = "/tmp/fctest-fence.XXXXXX", rec[64];
static bool dir_made;

static int watchdog_teardown(void **state)
{
	(void)state;
	if (dir_made) {
		unlink(rec);
		rmdir(dir);
	}
	return 0;
}

static void test_watchdog(void **state)
{
	struct agent_virt *v = *state;
	struct agent_vm_spec s = agent_fixture_spec(U1, "fence.vm1",
						    AGENT_WANT_RUNNING);
	const char guests[1][37] = {U1};
	struct agent_domain *doms = NULL;
	struct agent_fence *f;
	size_t n = 0;
	int state_now = -1;
	struct stat sb;

	assert_non_null(mkdtemp(dir));
	dir_made = true;
	snprintf(rec, sizeof(rec), "%s/self-fence", dir);
	assert_int_equal(agent_virt_create(v, &s, true), 0);

	/* answers keep it quiet */
	f = agent_fence_new(1, rec, v, on_wake, NULL);
	assert_non_null(f);
	assert_int_equal(agent_fence_start(f), 0);
	agent_fence_set_guests(f, guests, 1);
	for (int i = 0; i < 15; i++) {
		usleep(200000);
		agent_fence_answered(f, agent_fence_epoch(f));
	}
	assert_false(agent_fence_active(f));
	assert_int_equal(atomic_load(&wakes), 0);

	/* silence: fenced, the guest destroyed, recorded */
	for (int i = 0; i < 100 && !agent_fence_active(f); i++)
		usleep(50000);
	assert_true(agent_fence_active(f));
	assert_int_equal(agent_fence_epoch(f), 1);
	/* the watchdog wakes the loop after it has marked the fence (and
	 * written the record): wait for it too */
	for (int i = 0; i < 100 && atomic_load(&wakes) == 0; i++)
		usleep(50000);
	assert_int_equal(atomic_load(&wakes), 1);
	for (int i = 0; i < 100 && state_now != AGENT_DOM_SHUTOFF; i++) {
		usleep(50000);
		assert_int_equal(agent_virt_list(v, &doms, &n), 0);
		for (size_t j = 0; j < n; j++)
			if (strcmp(doms[j].uuid, U1) == 0)
				state_now = doms[j].state;
		free(doms);
	}
	assert_int_equal(state_now, AGENT_DOM_SHUTOFF);
	assert_int_equal(stat(rec, &sb), 0);

	/* an answer to an exchange sent before the fence does not lift it */
	assert_false(agent_fence_lift(f, 0));
	assert_true(agent_fence_active(f));
	assert_true(agent_fence_lift(f, 1));
	assert_false(agent_fence_active(f));
	assert_int_equal(stat(rec, &sb), -1);
	agent_fence_free(f);

	/* a record left on disk: a new fence starts fenced (timeout 0: no
	 * watchdog, the record honoured all the same) */
	assert_int_equal(file_write_atomic(rec, "x\n", 2, 0600), 0);
	f = agent_fence_new(0, rec, v, NULL, NULL);
	assert_non_null(f);
	assert_int_equal(agent_fence_start(f), 0);
	assert_true(agent_fence_active(f));
	assert_true(agent_fence_lift(f, agent_fence_epoch(f)));
	agent_fence_free(f);
	assert_int_equal(agent_virt_delete(v, U1, false), 0);
}

static int setup(void **state)
{
	*state = agent_fixture_virt_open(NULL, NULL);
	return *state ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmdline),
		cmocka_unit_test(test_kill),
		cmocka_unit_test_teardown(test_watchdog, watchdog_teardown),
	};

	return cmocka_run_group_tests_name("agent_fence", tests, setup,
					   agent_fixture_virt_close);
}

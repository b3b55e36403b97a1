/* Unit tests of the error texts the agent reports to the controller
 * (tasks[].error, vm_errors[].error): a libvirt failure reaches the
 * message intact, byte for byte, even though libvirt frees its own copy
 * at the next API call; and a long message is cut on a UTF-8 character
 * boundary, so the heartbeat stays valid JSON text; a lookup from
 * another thread survives the connection being reopened. Against libvirt's
 * test:///default driver, which refuses peer-to-peer migration. */
#include <pthread.h>
#include <stdatomic.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tests/unit/fc_test.h"

#include "agents/agent_domxml.h"
#include "agents/agent_report.h"
#include "agents/agent_virt.h"
#include "common/err.h"
#include "common/util.h"
#include "tests/unit/agent_fixture.h"

#define ID1 "0c6f8e9a-1111-4222-8333-444455556666"
#define TARGET "test+tcp://127.0.0.1:1/default"

static void silent(void *opaque, virErrorPtr e)
{
	(void)opaque;
	(void)e;
}

static bool printable_ascii(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return false;
	return true;
}

/* What libvirt itself says when asked for the same migration, on a
 * connection of our own (the foreign domain "test" is there). */
static void libvirt_says(char *buf, size_t size)
{
	virConnectPtr c = virConnectOpen("test:///default");
	virDomainPtr d;
	virTypedParameterPtr params = NULL;
	int n = 0, max = 0;
	const char *m;

	assert_non_null(c);
	d = virDomainLookupByName(c, "test");
	assert_non_null(d);
	assert_int_equal(virTypedParamsAddString(&params, &n, &max,
						 VIR_MIGRATE_PARAM_URI,
						 "tcp://127.0.0.1"),
			 0);
	assert_true(virDomainMigrateToURI3(
			    d, TARGET, params, (unsigned)n,
			    VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER |
				    VIR_MIGRATE_PERSIST_DEST |
				    VIR_MIGRATE_UNDEFINE_SOURCE |
				    VIR_MIGRATE_NON_SHARED_DISK) < 0);
	m = virGetLastErrorMessage();
	assert_non_null(m);
	assert_int_equal(str_copy(buf, size, m), 0);
	virTypedParamsFree(params, n);
	virDomainFree(d);
	virConnectClose(c);
	virResetLastError();
}

static int setup(void **state)
{
	*state = agent_fixture_virt_open(NULL, NULL);
	if (*state == NULL)
		return -1;
	virSetErrorFunc(NULL, silent);
	return 0;
}

/* The message of a failed migration is the agent's context followed by
 * libvirt's own message, exactly. */
static void test_migrate_error_text(void **state)
{
	struct agent_virt *v = *state;
	struct agent_vm_spec s =
		agent_fixture_spec(ID1, "m.vm", AGENT_WANT_RUNNING);
	char why[1024], want[2048];

	libvirt_says(why, sizeof(why));
	assert_true(printable_ascii(why));
	snprintf(want, sizeof(want),
		 "vm 'm.vm' (" ID1 "): migration to '" TARGET "' failed: %s",
		 why);
	if (agent_virt_create(v, &s, true) < 0)
		fail_msg("%s", err_msg());
	for (int i = 0; i < 20; i++) {
		err_clear();
		assert_int_equal(agent_virt_migrate(v, ID1, TARGET,
						    &agent_fixture_migrate_opts),
				 -1);
		assert_true(printable_ascii(err_msg()));
		assert_string_equal(err_msg(), want);
	}
	assert_int_equal(agent_virt_delete(v, ID1, false), 0);
}

/* The same for a domain operation libvirt refuses (rebooting a domain
 * that is not running). */
static void test_op_error_text(void **state)
{
	struct agent_virt *v = *state;
	struct agent_vm_spec s =
		agent_fixture_spec(ID1, "m.vm", AGENT_WANT_RUNNING);
	const char *prefix = "vm 'm.vm' (" ID1 "): cannot reboot: ";

	if (agent_virt_create(v, &s, false) < 0)
		fail_msg("%s", err_msg());
	err_clear();
	assert_int_equal(agent_virt_reboot(v, ID1), -1);
	assert_true(printable_ascii(err_msg()));
	assert_true(str_startswith(err_msg(), prefix));
	assert_non_null(strstr(err_msg() + strlen(prefix), "not running"));
	assert_int_equal(agent_virt_delete(v, ID1, false), 0);
}

/* A message longer than the report's field is cut before a character
 * that does not fit whole, never inside it. */
static void test_error_cut_on_character(void **state)
{
	struct agent_vm_error *errs = NULL;
	struct agent_task t;
	char msg[1200];
	size_t n = 0, len;

	(void)state;
	/* 509 ASCII bytes, then U+2018 (3 bytes) straddling byte 511. */
	memset(msg, 'x', 509);
	snprintf(msg + 509, sizeof(msg) - 509, "%s", "\xe2\x80\x98tail");
	assert_int_equal(agent_vm_error_add(&errs, &n, ID1, "m.vm", msg), 0);
	len = strlen(errs[0].error);
	assert_int_equal(len, 509);
	agent_error_copy(t.error, sizeof(t.error), msg);
	assert_string_equal(t.error, errs[0].error);
	/* A character that fits whole is kept. */
	msg[508] = '\0';
	snprintf(msg + 508, sizeof(msg) - 508, "%s", "\xe2\x80\x98tail");
	agent_error_copy(t.error, sizeof(t.error), msg);
	assert_int_equal(strlen(t.error), 511);
	assert_memory_equal(t.error + 508, "\xe2\x80\x98", 3);
	/* Short messages are copied as they are. */
	agent_error_copy(t.error, sizeof(t.error), "caf\xc3\xa9");
	assert_string_equal(t.error, "caf\xc3\xa9");
	free(errs);
}

static atomic_bool stress_done;

static void *lookup_loop(void *arg)
{
	struct agent_virt *v = arg;
	long seen = 0;

	while (!atomic_load(&stress_done)) {
		int r = agent_virt_managed(v, ID1);

		if (r < -1 || r > 1)
			return NULL;
		seen++;
	}
	return (void *)seen;
}

/* The event sender asks whether a domain is fincloud's from its own
 * thread while the main loop may drop and reopen the connection (a
 * libvirtd restart): it must never use a closed connection (ASan). */
static void test_managed_during_reconnect(void **state)
{
	struct agent_virt *v = *state;
	pthread_t th;
	void *seen = NULL;

	atomic_store(&stress_done, false);
	assert_int_equal(pthread_create(&th, NULL, lookup_loop, v), 0);
	for (int i = 0; i < 200; i++) {
		agent_virt_disconnect(v);
		if (agent_virt_connect(v) < 0)
			fail_msg("%s", err_msg());
	}
	atomic_store(&stress_done, true);
	pthread_join(th, &seen);
	assert_true((long)seen > 0);
	assert_int_equal(agent_virt_managed(v, ID1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrate_error_text),
		cmocka_unit_test(test_op_error_text),
		cmocka_unit_test(test_error_cut_on_character),
		cmocka_unit_test(test_managed_during_reconnect),
	};

	return cmocka_run_group_tests_name("agent_errors", tests, setup,
					   agent_fixture_virt_close);
}

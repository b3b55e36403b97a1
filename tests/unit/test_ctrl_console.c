/* Unit tests of the console broker (controller/console.c) on socket
 * pairs: one interactive session per VM unless forced, the limits, the
 * sessions a node's desired state lists, an agent's refusal handed to
 * the operator, the splice both ways with its end audited, a log
 * collected whole, and a switch that completes after shutdown began. */
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "controller/console.h"
#include "tests/unit/ctrl_fixture.h"

#define VM1 "0c6f8e9a-1111-4222-8333-444455556666"
#define VM2 "0c6f8e9a-2222-4222-8333-444455556666"

static int setup(void **state)
{
	return ctrl_fixture_setup(state, "cons");
}

static struct console_broker *broker(void **state)
{
	struct ctrl_fixture *fx = *state;
	struct console_broker *b = console_broker_new(&fx->ctrl);

	assert_non_null(b);
	fx->ctrl.consoles = b;
	return b;
}

static int open_one(struct console_broker *b, enum console_kind kind,
		    const char *vm, bool force, char *sid)
{
	struct console_request r = {.kind = kind, .vm_id = vm, .node = "n1",
				    .force = force, .actor = "admin:t1",
				    .request_id = "r1"};
	char why[512];

	return console_open(b, &r, sid, why, sizeof(why));
}

/* How many sessions of node the desired state lists. */
static int pending(struct console_broker *b, const char *node)
{
	cJSON *a = console_pending_json(b, node);
	int n;

	assert_non_null(a);
	n = cJSON_GetArraySize(a);
	cJSON_Delete(a);
	return n;
}

static void close_fd(void *handle)
{
	close((int)(intptr_t)handle);
}

static void test_one_per_vm(void **state)
{
	struct console_broker *b = broker(state);
	char s1[CONSOLE_ID_LEN], s2[CONSOLE_ID_LEN], s3[CONSOLE_ID_LEN];
	struct console_request r = {.kind = CONSOLE_INTERACTIVE, .vm_id = VM1,
				    .node = "n1", .actor = "tenant:x"};
	struct console_outcome o;
	char why[512];

	assert_int_equal(open_one(b, CONSOLE_INTERACTIVE, VM1, false, s1), 0);
	assert_int_equal(console_open(b, &r, s2, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "--force"));
	assert_non_null(strstr(why, "admin:t1"));
	/* another VM, and a log of the same one, are no conflict */
	assert_int_equal(open_one(b, CONSOLE_INTERACTIVE, VM2, false, s2), 0);
	assert_int_equal(open_one(b, CONSOLE_LOG, VM1, false, s3), 0);
	assert_int_equal(pending(b, "n1"), 3);
	assert_int_equal(pending(b, "n2"), 0);
	/* forced: the first ends, its operator is told */
	assert_int_equal(open_one(b, CONSOLE_INTERACTIVE, VM1, true, s2), 0);
	assert_int_equal(pending(b, "n1"), 3);
	console_outcome(b, s1, &o);
	assert_int_equal(o.state, CONSOLE_GONE);
	assert_non_null(strstr(o.why, "took it over"));
	console_broker_free(b);
}

static void test_limits(void **state)
{
	struct console_broker *b = broker(state);
	struct console_request r = {.kind = CONSOLE_LOG, .vm_id = VM1,
				    .node = "n1", .actor = "admin:t1"};
	char sid[CONSOLE_ID_LEN], why[512];

	for (int i = 0; i < CONSOLE_MAX_LOGS; i++)
		assert_int_equal(console_open(b, &r, sid, why, sizeof(why)), 0);
	assert_int_equal(console_open(b, &r, sid, why, sizeof(why)), 2);
	assert_non_null(strstr(why, "limit"));
	/* a follow holds no whole log: it still opens */
	r.kind = CONSOLE_FOLLOW;
	assert_int_equal(console_open(b, &r, sid, why, sizeof(why)), 0);
	console_broker_free(b);
}

static void test_agent_refuses(void **state)
{
	struct console_broker *b = broker(state);
	char sid[CONSOLE_ID_LEN];
	struct console_outcome o;
	void *arg;

	assert_int_equal(open_one(b, CONSOLE_LOG, VM1, false, sid), 0);
	assert_int_equal(console_agent_claim(b, "n2", sid, NULL, &arg), 1);
	assert_int_equal(console_agent_claim(b, "n1", "nope", NULL, &arg), 1);
	assert_int_equal(console_agent_claim(b, "n1", sid, "no log yet", &arg),
			 0);
	assert_int_equal(pending(b, "n1"), 0);
	console_outcome(b, sid, &o);
	assert_int_equal(o.state, CONSOLE_FAILED);
	assert_non_null(strstr(o.why, "no log yet"));
	assert_non_null(strstr(o.why, "'n1'"));
	console_broker_free(b);
}

/* An interactive session of VM1 whose agent has attached (sending
 * extra first, n bytes) and whose operator may switch: its socket pairs
 * into cl and ag, the outcome (CONSOLE_READY) into *o. */
static void interactive_ready(struct console_broker *b, char *sid, int cl[2],
			      int ag[2], const char *extra, size_t n,
			      struct console_outcome *o)
{
	void *arg;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, cl), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, ag), 0);
	assert_int_equal(open_one(b, CONSOLE_INTERACTIVE, VM1, false, sid), 0);
	assert_int_equal(console_agent_claim(b, "n1", sid, NULL, &arg), 0);
	console_attach_agent(arg, ag[0], -1, extra, n, (void *)(intptr_t)ag[0],
			     close_fd);
	console_outcome(b, sid, o);
	assert_int_equal(o->state, CONSOLE_READY);
}

static void test_splice_and_audit(void **state)
{
	struct ctrl_fixture *fx = *state;
	struct console_broker *b = broker(state);
	int cl[2], ag[2];
	char sid[CONSOLE_ID_LEN], buf[64];
	struct console_outcome o;

	interactive_ready(b, sid, cl, ag, "boot", 4, &o);
	console_attach_client(o.arg, cl[0], -1, NULL, 0, (void *)(intptr_t)cl[0],
			      close_fd);
	/* what the agent sent with its request comes first */
	assert_int_equal(read(cl[1], buf, 4), 4);
	assert_memory_equal(buf, "boot", 4);
	assert_int_equal(write(cl[1], "ls\r", 3), 3);
	assert_int_equal(read(ag[1], buf, 3), 3);
	assert_memory_equal(buf, "ls\r", 3);
	assert_int_equal(write(ag[1], "out", 3), 3);
	assert_int_equal(read(cl[1], buf, 3), 3);
	assert_memory_equal(buf, "out", 3);
	/* the operator goes: the agent's side is closed too */
	close(cl[1]);
	assert_int_equal(read(ag[1], buf, sizeof(buf)), 0);
	close(ag[1]);
	console_broker_free(b);
	assert_int_equal(ctrl_fixture_count(fx, "SELECT count(*) FROM audit "
					    "WHERE action = 'vm.console.end' "
					    "AND actor = 'admin:t1' AND target "
					    "LIKE 'vm:" VM1 " session=%bytes_in"
					    "=3 bytes_out=7'"), 1);
}

/* A log session of VM1 whose agent has called back: the agent's end of
 * its connection goes to *agent_fd. */
static void log_session(struct console_broker *b, char *sid, int *agent_fd)
{
	int ag[2];
	void *arg;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, ag), 0);
	assert_int_equal(open_one(b, CONSOLE_LOG, VM1, false, sid), 0);
	assert_int_equal(console_agent_claim(b, "n1", sid, NULL, &arg), 0);
	console_attach_agent(arg, ag[0], -1, NULL, 0, (void *)(intptr_t)ag[0],
			     close_fd);
	*agent_fd = ag[1];
}

static void test_log_collected(void **state)
{
	struct console_broker *b = broker(state);
	char sid[CONSOLE_ID_LEN];
	struct console_outcome o;
	int ag[2];

	log_session(b, sid, &ag[1]);
	/* its length line, then the bytes; the agent does not close: the
	 * length ends the log */
	assert_int_equal(write(ag[1], "fincloud-log 10\nSeaBIOS\n\0x", 26), 26);
	/* the thread reads to the end, then wakes the operator */
	usleep(300000);
	console_outcome(b, sid, &o);
	assert_int_equal(o.state, CONSOLE_LOG_DONE);
	assert_int_equal(o.len, 10);
	assert_memory_equal(o.text, "SeaBIOS\n\0x", 10);
	free(o.text);
	close(ag[1]);
	console_broker_free(b);
}

/* A log without its length line (an older agent) fails, saying so. */
static void test_log_unframed(void **state)
{
	struct console_broker *b = broker(state);
	char sid[CONSOLE_ID_LEN];
	struct console_outcome o;
	int ag[2];

	log_session(b, sid, &ag[1]);
	assert_int_equal(write(ag[1], "SeaBIOS\n", 8), 8);
	close(ag[1]);
	usleep(300000);
	console_outcome(b, sid, &o);
	assert_int_equal(o.state, CONSOLE_FAILED);
	assert_non_null(strstr(o.why, "upgrade the agent"));
	console_broker_free(b);
}

/* Under TLS the operator's side is a relay that never closes: the close
 * of the connection's own socket (peer_fd) ends the session, after the
 * relay's last bytes went on, and the end is audited. */
static void test_relay_peer_close(void **state)
{
	struct ctrl_fixture *fx = *state;
	struct console_broker *b = broker(state);
	int cl[2], ag[2], peer[2];
	char sid[CONSOLE_ID_LEN], buf[64];
	struct console_outcome o;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, peer), 0);
	interactive_ready(b, sid, cl, ag, NULL, 0, &o);
	console_attach_client(o.arg, cl[0], peer[0], NULL, 0,
			      (void *)(intptr_t)cl[0], close_fd);
	/* the operator's last bytes are in the relay as its peer goes */
	assert_int_equal(write(cl[1], "exit\r", 5), 5);
	close(peer[1]);
	assert_int_equal(read(ag[1], buf, 5), 5);
	assert_memory_equal(buf, "exit\r", 5);
	/* the session ends: the agent's side is closed */
	assert_int_equal(read(ag[1], buf, sizeof(buf)), 0);
	close(ag[1]);
	close(cl[1]);
	close(peer[0]);
	console_broker_free(b);
	assert_int_equal(ctrl_fixture_count(fx, "SELECT count(*) FROM audit "
					    "WHERE action = 'vm.console.end' "
					    "AND target LIKE '%bytes_in=5 "
					    "bytes_out=0'"), 1);
}

/* Shutdown: console_broker_quit() ends a session whose operator has yet
 * to switch; the switch that completes after it (the server still runs)
 * is closed at once, and the broker stays valid until freed. */
static void test_attach_after_quit(void **state)
{
	struct console_broker *b = broker(state);
	int cl[2], ag[2];
	char sid[CONSOLE_ID_LEN], buf[8];
	struct console_outcome o;

	interactive_ready(b, sid, cl, ag, NULL, 0, &o);
	console_broker_quit(b);
	/* the agent's side was closed by the session's end */
	assert_int_equal(read(ag[1], buf, sizeof(buf)), 0);
	assert_int_equal(open_one(b, CONSOLE_INTERACTIVE, VM2, false, sid), 2);
	console_attach_client(o.arg, cl[0], -1, NULL, 0,
			      (void *)(intptr_t)cl[0], close_fd);
	assert_int_equal(read(cl[1], buf, sizeof(buf)), 0);
	close(cl[1]);
	close(ag[1]);
	console_broker_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_per_vm, setup,
						ctrl_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup,
						ctrl_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_agent_refuses, setup,
						ctrl_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_splice_and_audit, setup,
						ctrl_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_log_collected, setup,
						ctrl_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_log_unframed, setup,
						ctrl_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_attach_after_quit, setup,
						ctrl_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_relay_peer_close, setup,
						ctrl_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * cmd_console.c - finctl vm console and vm console-log: a VM's serial
 * console through the controller (GET /v1/vms/{id}/console, switched to
 * the fincloud-console protocol) and its serial log (GET .../console-log,
 * switched as well with --follow).
 *
 * The terminal is put in raw mode only while a console is attached, and
 * every way out restores it: the detach key, the end of the stream, an
 * error, and SIGTERM, SIGHUP or SIGQUIT (raw mode sends no SIGINT).
 */
#include <poll.h>
#include <signal.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "finctl/finctl.h"

#include "common/buf.h"
#include "common/err.h"
#include "common/http_client.h"
#include "common/util.h"

#define PROTOCOL "fincloud-console"
#define CHUNK 16384
/* the controller waits this long for the node's agent, then answers */
#define CONNECT_TIMEOUT_MS 45000
#define DEFAULT_DETACH 0x1d /* Ctrl-], as virsh */

static struct termios saved_tty;
static volatile sig_atomic_t tty_raw;

static void tty_restore(void)
{
	if (tty_raw) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
		tty_raw = 0;
	}
}

static void on_signal(int sig)
{
	tty_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Raw mode on a terminal stdin (nothing on a pipe or file). 0, or -1
 * with err_set(). */
static int tty_make_raw(void)
{
	struct termios raw;

	if (!isatty(STDIN_FILENO))
		return 0;
	if (tcgetattr(STDIN_FILENO, &saved_tty) < 0)
		return err_set_errno(errno, "reading the terminal's mode");
	raw = saved_tty;
	cfmakeraw(&raw);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGQUIT, on_signal);
	atexit(tty_restore);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) < 0)
		return err_set_errno(errno, "setting the terminal raw");
	tty_raw = 1;
	return 0;
}

/* --detach-key: "^]" or "ctrl-]" (a control character), or one
 * character. -1 when it is neither. */
static int detach_key(const char *s)
{
	if (s == NULL)
		return DEFAULT_DETACH;
	if ((s[0] == '^' && s[1] && !s[2]) ||
	    (strncasecmp(s, "ctrl-", 5) == 0 && s[5] && !s[6])) {
		int ch = (unsigned char)s[s[0] == '^' ? 1 : 5];

		if (ch >= 'a' && ch <= 'z')
			ch -= 32;
		if (ch < '@' || ch > '_')
			return -1;
		return ch & 0x1f;
	}
	if (s[0] && !s[1])
		return (unsigned char)s[0];
	return -1;
}

/* Write all of len bytes of p to fd. 0, or -1 with err_set(). */
static int out_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_set_errno(errno, "writing the output");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Switch the request for path to the console protocol: FINCTL_OK with
 * *st, or the exit code of the controller's refusal (printed). */
static int open_stream(struct finctl_ctx *x, const char *path,
		       struct http_tunnel **st)
{
	struct http_response r;
	int rc;

	http_client_set_timeout(x->http, CONNECT_TIMEOUT_MS);
	if (http_client_upgrade(x->http, path, PROTOCOL, &r, st) < 0) {
		fprintf(stderr, "finctl: cannot reach the controller: %s\n",
			err_msg());
		return FINCTL_CONN;
	}
	rc = r.status == 101 ? FINCTL_OK
			     : finctl_refused(x, r.status, r.body, r.len);
	http_response_free(&r);
	return rc;
}

/* Copy the stream to stdout until it ends. */
/* Copy to stdout what the tunnel holds now, through buf (CHUNK bytes):
 * 1 when it may hold more later, 0 when it ended, -1 on a failure. */
static ssize_t drain(struct http_tunnel *st, char *buf)
{
	ssize_t n;

	while ((n = http_tunnel_recv(st, buf, CHUNK)) > 0)
		if (out_all(STDOUT_FILENO, buf, (size_t)n) < 0)
			return -1;
	return n == -2 ? 1 : n;
}

static int stream_to_stdout(struct http_tunnel *st)
{
	char *buf = malloc(CHUNK);
	int rc = FINCTL_OK;
	ssize_t n;

	if (buf == NULL)
		return FINCTL_FAIL;
	for (;;) {
		struct pollfd p = {.fd = http_tunnel_fd(st), .events = POLLIN};

		n = drain(st, buf);
		if (n == 0)
			break;
		if (n < 0)
			goto fail;
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			goto fail;
	}
	goto out;
fail:
	fprintf(stderr, "finctl: %s\n", err_msg());
	rc = FINCTL_FAIL;
out:
	free(buf);
	return rc;
}

int finctl_vm_console_log(struct finctl_ctx *x)
{
	const char *tail = finctl_opt(x, "tail");
	bool follow = finctl_opt(x, "follow") != NULL;
	struct http_tunnel *st = NULL;
	struct http_response r;
	struct buf path;
	int rc;

	buf_init(&path, 8192);
	finctl_vm_path(x, "console-log", &path);
	if (tail)
		buf_printf(&path, "%ctail=%s", strchr(buf_str(&path), '?')
			   ? '&' : '?', tail);
	if (follow)
		buf_printf(&path, "%cfollow=1", strchr(buf_str(&path), '?')
			   ? '&' : '?');
	if (follow) {
		rc = open_stream(x, buf_str(&path), &st);
		if (rc == FINCTL_OK)
			rc = stream_to_stdout(st);
		http_tunnel_close(st);
		goto out;
	}
	http_client_set_timeout(x->http, CONNECT_TIMEOUT_MS);
	if (http_client_request(x->http, "GET", buf_str(&path), NULL, &r) < 0) {
		fprintf(stderr, "finctl: cannot reach the controller: %s\n",
			err_msg());
		rc = FINCTL_CONN;
		goto out;
	}
	if (r.status == 200)
		rc = out_all(STDOUT_FILENO, r.body, r.len) < 0 ? FINCTL_FAIL
							       : FINCTL_OK;
	else
		rc = finctl_refused(x, r.status, r.body, r.len);
	http_response_free(&r);
out:
	buf_free(&path);
	return rc;
}

/* The console session: stdin to the stream (up to the detach key), the
 * stream to stdout. The end of stdin (a pipe, a file) is followed by
 * linger_ms more of the guest's output (the answer to what was sent),
 * then the session ends: a fixed time, as a guest may print without
 * pause. */
static int console_pump(struct http_tunnel *st, int key, int linger_ms)
{
	char *buf = malloc(CHUNK);
	bool in_open = true, detached = false;
	uint64_t until = 0;
	int rc = FINCTL_FAIL;
	ssize_t n;

	if (buf == NULL)
		return FINCTL_FAIL;
	for (;;) {
		struct pollfd p[2] = {
			{.fd = http_tunnel_fd(st), .events = POLLIN},
			{.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN},
		};
		int wait_ms = -1;

		if (!in_open) {
			uint64_t now = time_mono_ns();

			if (now >= until)
				break;
			wait_ms = (int)((until - now) / 1000000) + 1;
		}
		if (poll(p, 2, wait_ms) < 0 && errno != EINTR)
			goto fail;
		n = drain(st, buf);
		if (n == 0)
			break;
		if (n < 0)
			goto fail;
		if (!in_open || !(p[1].revents & (POLLIN | POLLHUP)))
			continue;
		n = read(STDIN_FILENO, buf, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			in_open = false;
			until = time_mono_ns() + (uint64_t)linger_ms * 1000000;
			continue;
		}
		char *k = memchr(buf, key, (size_t)n);

		if (k) {
			n = k - buf;
			detached = true;
		}
		if (n > 0 && http_tunnel_send(st, buf, (size_t)n, 10000) < 0)
			goto fail;
		if (detached)
			break;
	}
	rc = FINCTL_OK;
	goto out;
fail:
	tty_restore();
	fprintf(stderr, "finctl: the console session failed: %s\n",
		err_msg());
out:
	tty_restore();
	if (rc == FINCTL_OK)
		fprintf(stderr, "\n%s\n", detached ? "finctl: detached from "
			"the console" : "finctl: the console session ended");
	free(buf);
	return rc;
}

int finctl_vm_console(struct finctl_ctx *x)
{
	const char *dk = finctl_opt(x, "detach-key");
	int key = detach_key(dk);
	int64_t linger = finctl_opt_secs(x, "linger", 3);
	struct http_tunnel *st = NULL;
	struct buf path;
	int rc;

	if (key < 0) {
		fprintf(stderr, "finctl: --detach-key: expected '^X', "
			"'ctrl-X' or one character, got '%s'\n", dk);
		return FINCTL_USAGE;
	}
	buf_init(&path, 8192);
	finctl_vm_path(x, "console", &path);
	if (finctl_opt(x, "force"))
		buf_printf(&path, "%cforce=1", strchr(buf_str(&path), '?')
			   ? '&' : '?');
	rc = open_stream(x, buf_str(&path), &st);
	if (rc != FINCTL_OK)
		goto out;
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "Connected to the console of VM '%s' (detach "
			"with %s%c)\r\n", x->a.pos[0], key < 0x20 ? "^" : "",
			key < 0x20 ? key + '@' : key);
	if (tty_make_raw() < 0) {
		fprintf(stderr, "finctl: %s\n", err_msg());
		rc = FINCTL_FAIL;
		goto out;
	}
	rc = console_pump(st, key, (int)(linger * 1000));
out:
	tty_restore();
	http_tunnel_close(st);
	buf_free(&path);
	return rc;
}

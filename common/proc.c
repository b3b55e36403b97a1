#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/proc.h"
#include "common/util.h"

#define PROC_ERR_MAX (16 * 1024)

extern char **environ;

/* Read what is ready on fd into b. 1 at end of file, 0 for more, -1 when
 * b is full (the output is over its cap). */
static int drain(int fd, struct buf *b)
{
	char chunk[4096];
	ssize_t got = read(fd, chunk, sizeof(chunk));

	if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN))
		return 1;
	if (got < 0)
		return 0;
	return buf_append(b, chunk, (size_t)got) < 0 ? -1 : 0;
}

int proc_run(char *const argv[], size_t max_out, int64_t timeout_ms,
	     struct proc_result *r)
{
	posix_spawn_file_actions_t fa;
	int out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, ws = 0, ret = -1;
	uint64_t deadline = time_mono_ns() + (uint64_t)timeout_ms * 1000000ULL;
	struct buf out, errb;
	bool fa_init = false, open[2] = {true, true}, killed = false;
	bool over = false;
	pid_t pid = -1;

	memset(r, 0, sizeof(*r));
	buf_init(&out, max_out);
	buf_init(&errb, PROC_ERR_MAX);
	if (pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0) {
		err_set_errno(errno, "cannot run '%s'", argv[0]);
		goto out;
	}
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto oom;
	fa_init = true;
	if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
					     0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, out_p[1], 1) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, err_p[1], 2) != 0)
		goto oom;
	errno = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	if (errno != 0) {
		pid = -1;
		err_set_errno(errno, "cannot run '%s' (is it installed? see "
			      "scripts/deps.sh)", argv[0]);
		goto out;
	}
	close(out_p[1]);
	close(err_p[1]);
	out_p[1] = err_p[1] = -1;
	while (open[0] || open[1]) {
		struct pollfd p[2] = {{out_p[0], POLLIN, 0}, {err_p[0], POLLIN, 0}};
		uint64_t now = time_mono_ns();
		int n;

		if (!open[0])
			p[0].fd = -1;
		if (!open[1])
			p[1].fd = -1;
		if (now >= deadline) {
			killed = true;
			break;
		}
		n = poll(p, 2, (int)((deadline - now) / 1000000ULL) + 1);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; n > 0 && i < 2; i++) {
			int rc;

			if (p[i].fd < 0 || p[i].revents == 0)
				continue;
			rc = drain(i == 0 ? out_p[0] : err_p[0],
				   i == 0 ? &out : &errb);
			if (rc != 0)
				open[i] = false;
			if (rc < 0 && i == 0)
				over = true;
		}
		if (over) {
			killed = true;
			break;
		}
	}
	if (killed)
		kill(pid, SIGKILL);
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	if (over) {
		err_set("'%s' printed more than %zu bytes", argv[0], max_out);
		goto out;
	}
	if (killed) {
		err_set("'%s' did not finish within %" PRId64 " ms: killed",
			argv[0], timeout_ms);
		goto out;
	}
	r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
	r->out_len = out.len;
	r->out = buf_detach(&out);
	r->err = buf_detach(&errb);
	if (r->out == NULL)
		r->out = strdup("");
	if (r->err == NULL)
		r->err = strdup("");
	if (r->out == NULL || r->err == NULL) {
		proc_result_free(r);
		goto oom;
	}
	str_trim(r->err);
	ret = 0;
	goto out;
oom:
	err_set("out of memory");
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
			;
	}
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; i < 2; i++) {
		if (out_p[i] >= 0)
			close(out_p[i]);
		if (err_p[i] >= 0)
			close(err_p[i]);
	}
	buf_free(&out);
	buf_free(&errb);
	return ret;
}

void proc_result_free(struct proc_result *r)
{
	if (r == NULL)
		return;
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
	r->out_len = 0;
}

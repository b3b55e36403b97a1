/*
 * agent_virt_console.c - a VM's serial console through libvirt
 * (agent_virt.h "struct agent_virt_console"), part of agent_virt.
 *
 * The stream is non-blocking. Its event callback runs on libvirt's
 * event loop thread, where nothing may block: it only writes a byte to
 * a pipe and mutes the stream's events, so that a stream with unread
 * bytes does not call it in a loop; the session's thread polls the pipe,
 * reads until libvirt has nothing more (-2) and unmutes the events. The
 * pipe's write end belongs to the callback's registration: libvirt
 * closes it (wake_free()) once no callback can run any more, so a
 * callback racing the close never writes to a descriptor reused since.
 */
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <libvirt/virterror.h>

#include "agents/agent_virt_priv.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#define STREAM_EVENTS                                                   \
	(VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR |           \
	 VIR_STREAM_EVENT_HANGUP)
/* libvirt takes no byte for this long: the console is given up */
#define SEND_TIMEOUT_MS 10000

struct agent_virt_console {
	virStreamPtr st;
	int pipe[2];            /* [1] is the registration's once watching */
	bool watching;          /* an event callback is registered */
	char uuid[37];
};

static void stream_event(virStreamPtr st, int events, void *opaque)
{
	int *fd = opaque;

	(void)events;
	virStreamEventUpdateCallback(st, 0);
	if (write(*fd, "x", 1) < 0) {
		/* the pipe is full: the thread has a wake pending */
	}
}

static void wake_free(void *opaque)
{
	int *fd = opaque;

	close(*fd);
	free(fd);
}

int agent_virt_console_open(struct agent_virt *v, const char *uuid,
			    bool force, struct agent_virt_console **out)
{
	struct agent_virt_console *c = calloc(1, sizeof(*c));
	virDomainPtr dom = NULL;
	int *wfd;
	bool missing;
	int ret = -1;

	*out = NULL;
	if (c == NULL)
		return err_set("out of memory");
	c->pipe[0] = c->pipe[1] = -1;
	str_copy(c->uuid, sizeof(c->uuid), uuid);
	if (pipe2(c->pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		err_set_errno(errno, "vm %s: console pipe", uuid);
		goto out;
	}
	dom = agent_virt_lookup_managed(v, uuid, &missing);
	if (dom == NULL)
		goto out;
	if (virDomainIsActive(dom) != 1) {
		err_set("vm %s is not running: it has no console", uuid);
		goto out;
	}
	c->st = virStreamNew(virDomainGetConnect(dom), VIR_STREAM_NONBLOCK);
	if (c->st == NULL ||
	    virDomainOpenConsole(dom, NULL, c->st,
				 force ? VIR_DOMAIN_CONSOLE_FORCE
				       : VIR_DOMAIN_CONSOLE_SAFE) < 0) {
		err_set("vm %s: cannot open its serial console: %s", uuid,
			agent_virt_msg());
		goto out;
	}
	wfd = malloc(sizeof(*wfd));
	if (wfd == NULL) {
		err_set("out of memory");
		goto out;
	}
	*wfd = c->pipe[1];
	if (virStreamEventAddCallback(c->st, STREAM_EVENTS, stream_event, wfd,
				      wake_free) < 0) {
		free(wfd);
		err_set("vm %s: cannot watch its console: %s", uuid,
			agent_virt_msg());
		goto out;
	}
	c->watching = true;
	c->pipe[1] = -1;
	log_info("vm %s: serial console opened%s", uuid,
		 force ? " (taken from another holder)" : "");
	*out = c;
	c = NULL;
	ret = 0;
out:
	virResetLastError();
	if (dom)
		virDomainFree(dom);
	agent_virt_console_close(c);
	return ret;
}

int agent_virt_console_fd(const struct agent_virt_console *c)
{
	return c->pipe[0];
}

ssize_t agent_virt_console_recv(struct agent_virt_console *c, char *buf,
				size_t len)
{
	char tmp[64];
	int n;

	while (read(c->pipe[0], tmp, sizeof(tmp)) > 0)
		;
	n = virStreamRecv(c->st, buf, len);
	if (n == -2) {
		/* drained: the next bytes wake the pipe again */
		virStreamEventUpdateCallback(c->st, STREAM_EVENTS);
		return -2;
	}
	if (n < 0) {
		err_set("vm %s: reading its console: %s", c->uuid,
			agent_virt_msg());
		virResetLastError();
		return -1;
	}
	return n;
}

int agent_virt_console_send(struct agent_virt_console *c, const char *buf,
			    size_t len)
{
	uint64_t deadline = time_mono_ns() + SEND_TIMEOUT_MS * 1000000ULL;

	while (len > 0) {
		int n = virStreamSend(c->st, buf, len);

		if (n == -2) {
			if (time_mono_ns() >= deadline)
				return err_set("vm %s: its console takes no "
					       "input", c->uuid);
			poll(NULL, 0, 10);
			continue;
		}
		if (n < 0) {
			err_set("vm %s: writing to its console: %s", c->uuid,
				agent_virt_msg());
			virResetLastError();
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

void agent_virt_console_close(struct agent_virt_console *c)
{
	if (c == NULL)
		return;
	if (c->st) {
		if (c->watching)
			virStreamEventRemoveCallback(c->st);
		/* an abort, not a finish: the guest's side has no end */
		virStreamAbort(c->st);
		virStreamFree(c->st);
		virResetLastError();
	}
	if (c->pipe[0] >= 0)
		close(c->pipe[0]);
	if (c->pipe[1] >= 0)
		close(c->pipe[1]);
	free(c);
}

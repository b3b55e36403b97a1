/*
 * agent_virt_console.c - a VM's serial console through libvirt
 * (agent_virt.h "struct agent_virt_console"), part of agent_virt.
 *
 * The stream is non-blocking. Its event callback runs on libvirt's
 * event loop thread, where nothing may block: it only writes a byte to
 * a pipe and mutes the stream's events, so that a stream with unread
 * bytes does not call it in a loop; the session's thread polls the pipe,
 * reads until libvirt has nothing more (-2) and unmutes the events. The
 * callback finds the pipe through a table of wakers by a number, never
 * through memory of the console: a callback that runs while (or after)
 * the console closes finds no waker and writes nowhere, and nothing of
 * the console's has to outlive it for libvirt (which, for remote
 * streams, does not always call a callback's free function).
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
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

/* the most consoles open at once on a node */
#define WAKERS 64

struct agent_virt_console {
	virStreamPtr st;
	int pipe[2];
	uintptr_t waker;        /* its number in wakers[]; 0: none */
	bool watching;          /* an event callback is registered */
	char uuid[37];
};

/* The write ends of the open consoles' pipes, by number (under
 * wakers_lock). */
static pthread_mutex_t wakers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uintptr_t n;
	int fd;
} wakers[WAKERS];
static uintptr_t wakers_next;

/* Enter fd: its number, 0 when the table is full. */
static uintptr_t waker_add(int fd)
{
	uintptr_t n = 0;

	pthread_mutex_lock(&wakers_lock);
	for (size_t i = 0; i < WAKERS && n == 0; i++)
		if (wakers[i].n == 0) {
			n = wakers[i].n = ++wakers_next;
			wakers[i].fd = fd;
		}
	pthread_mutex_unlock(&wakers_lock);
	return n;
}

static void waker_remove(uintptr_t n)
{
	pthread_mutex_lock(&wakers_lock);
	for (size_t i = 0; i < WAKERS; i++)
		if (wakers[i].n == n)
			wakers[i].n = 0;
	pthread_mutex_unlock(&wakers_lock);
}

static void stream_event(virStreamPtr st, int events, void *opaque)
{
	uintptr_t n = (uintptr_t)opaque;

	(void)events;
	virStreamEventUpdateCallback(st, 0);
	pthread_mutex_lock(&wakers_lock);
	for (size_t i = 0; i < WAKERS; i++)
		if (wakers[i].n == n && write(wakers[i].fd, "x", 1) < 0) {
			/* the pipe is full: the thread has a wake pending */
		}
	pthread_mutex_unlock(&wakers_lock);
}

int agent_virt_console_open(struct agent_virt *v, const char *uuid,
			    bool force, struct agent_virt_console **out)
{
	struct agent_virt_console *c = calloc(1, sizeof(*c));
	virDomainPtr dom = NULL;
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
	c->waker = waker_add(c->pipe[1]);
	if (c->waker == 0) {
		err_set("vm %s: %d consoles are open on this node, the most it "
			"serves", uuid, WAKERS);
		goto out;
	}
	if (virStreamEventAddCallback(c->st, STREAM_EVENTS, stream_event,
				      (void *)c->waker, NULL) < 0) {
		err_set("vm %s: cannot watch its console: %s", uuid,
			agent_virt_msg());
		goto out;
	}
	c->watching = true;
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
	/* no callback writes to the pipe after this */
	if (c->waker)
		waker_remove(c->waker);
	if (c->pipe[0] >= 0)
		close(c->pipe[0]);
	if (c->pipe[1] >= 0)
		close(c->pipe[1]);
	free(c);
}

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agents/agent_health.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/util.h"

struct agent_health {
	int fd;
	pthread_t thread;
	atomic_bool quit;
	agent_health_fn fn;
	void *opaque;
};

static void reply(int fd, int code, const char *type, const char *body)
{
	struct buf b;
	size_t off = 0;

	buf_init(&b, 64 * 1024);
	if (buf_printf(&b,
		       "HTTP/1.0 %d %s\r\nContent-Type: %s\r\n"
		       "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		       code,
		       code == 200   ? "OK"
		       : code == 503 ? "Service Unavailable"
				     : "Not Found",
		       type, strlen(body), body) == 0) {
		while (off < b.len) {
			ssize_t n = send(fd, b.data + off, b.len - off,
					 MSG_NOSIGNAL);

			if (n <= 0)
				break;
			off += (size_t)n;
		}
	}
	buf_free(&b);
}

static void serve(struct agent_health *h, int fd)
{
	char req[1024];
	size_t len = 0;
	struct agent_health_status st;
	struct buf body;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	/* One short request line is all this endpoint reads. */
	while (len < sizeof(req) - 1 && poll(&p, 1, 2000) == 1) {
		ssize_t n = recv(fd, req + len, sizeof(req) - 1 - len, 0);

		if (n <= 0)
			break;
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[len] = '\0';
	memset(&st, 0, sizeof(st));
	h->fn(h->opaque, &st);
	buf_init(&body, 16 * 1024);
	if (str_startswith(req, "GET /healthz ")) {
		if (st.degraded[0])
			buf_printf(&body, "degraded: %s\n", st.degraded);
		else
			buf_puts(&body, "ok\n");
		reply(fd, st.degraded[0] ? 503 : 200, "text/plain",
		      buf_str(&body));
	} else if (str_startswith(req, "GET /metrics ")) {
		buf_printf(&body,
			   "# HELP fincloud_agent_degraded 1 while libvirt "
			   "is unreachable\n"
			   "# TYPE fincloud_agent_degraded gauge\n"
			   "fincloud_agent_degraded %d\n"
			   "# HELP fincloud_agent_domains domains on the node\n"
			   "# TYPE fincloud_agent_domains gauge\n"
			   "fincloud_agent_domains %zu\n"
			   "# HELP fincloud_agent_vm_errors VMs that could "
			   "not be reconciled\n"
			   "# TYPE fincloud_agent_vm_errors gauge\n"
			   "fincloud_agent_vm_errors %zu\n"
			   "# HELP fincloud_agent_passes_total reconcile "
			   "passes\n"
			   "# TYPE fincloud_agent_passes_total counter\n"
			   "fincloud_agent_passes_total %" PRIu64 "\n",
			   st.degraded[0] ? 1 : 0, st.domains, st.vm_errors,
			   st.passes);
		reply(fd, 200, "text/plain; version=0.0.4", buf_str(&body));
	} else {
		reply(fd, 404, "text/plain", "not found: use /healthz or "
					     "/metrics\n");
	}
	buf_free(&body);
}

static void *health_main(void *arg)
{
	struct agent_health *h = arg;
	struct pollfd p = { .fd = h->fd, .events = POLLIN };

	while (!atomic_load(&h->quit)) {
		if (poll(&p, 1, 200) != 1)
			continue;
		int c = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0)
			continue;
		serve(h, c);
		close(c);
	}
	return NULL;
}

struct agent_health *agent_health_start(const char *listen_on,
					agent_health_fn fn, void *opaque)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct agent_health *h;
	const char *colon = strrchr(listen_on, ':');
	int64_t port;
	int one = 1;

	memset(&ss, 0, sizeof(ss));
	if (colon == NULL || parse_int64(colon + 1, &port) < 0 || port < 1 ||
	    port > 65535) {
		err_set("health_listen '%s': expected 127.0.0.1:PORT",
			listen_on);
		return NULL;
	}
	if (str_startswith(listen_on, "[::1]")) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		s6->sin6_addr = in6addr_loopback;
		sslen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		/* Loopback whatever the name said: never a network port. */
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sslen = sizeof(*s4);
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		err_set("out of memory");
		return NULL;
	}
	h->fn = fn;
	h->opaque = opaque;
	h->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->fd < 0) {
		err_set_errno(errno, "health_listen '%s'", listen_on);
		free(h);
		return NULL;
	}
	setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(h->fd, (struct sockaddr *)&ss, sslen) < 0 ||
	    listen(h->fd, 16) < 0) {
		err_set_errno(errno, "health_listen '%s': cannot listen",
			      listen_on);
		close(h->fd);
		free(h);
		return NULL;
	}
	if (pthread_create(&h->thread, NULL, health_main, h) != 0) {
		err_set("health_listen: cannot start its thread");
		close(h->fd);
		free(h);
		return NULL;
	}
	return h;
}

void agent_health_stop(struct agent_health *h)
{
	if (h == NULL)
		return;
	atomic_store(&h->quit, true);
	pthread_join(h->thread, NULL);
	close(h->fd);
	free(h);
}

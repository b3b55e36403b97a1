/*
 * agent_console.c - the agent's console sessions (agent_console.h).
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agents/agent_client.h"
#include "agents/agent_console.h"
#include "common/err.h"
#include "common/http_client.h"
#include "common/log.h"
#include "common/util.h"

#define BUF_SIZE ((size_t)16 * 1024)
#define TICK_MS 250
#define SEND_TIMEOUT_MS 10000

/* One session being served. */
struct session {
	struct agent_consoles *cs;
	struct agent_console_req req;
	struct session *next;
};

struct agent_consoles {
	char *controller_url;
	char *node;
	const struct http_tls *tls;
	struct agent_virt *virt;
	atomic_bool quit;
	pthread_mutex_t lock;
	pthread_cond_t done;        /* a session ended */
	/* under lock */
	char credential[AGENT_CREDENTIAL_MAX];
	struct session *list;
	size_t n;
};

struct agent_consoles *agent_consoles_new(const char *controller_url,
					  const char *node,
					  const struct http_tls *tls,
					  struct agent_virt *virt)
{
	struct agent_consoles *cs = calloc(1, sizeof(*cs));

	if (cs == NULL)
		goto oom;
	pthread_mutex_init(&cs->lock, NULL);
	pthread_cond_init(&cs->done, NULL);
	cs->virt = virt;
	cs->tls = tls;
	cs->controller_url = strdup(controller_url);
	cs->node = strdup(node);
	if (cs->controller_url && cs->node)
		return cs;
	agent_consoles_free(cs);
oom:
	err_set("out of memory");
	return NULL;
}

void agent_consoles_set_credential(struct agent_consoles *cs,
				   const char *cred)
{
	pthread_mutex_lock(&cs->lock);
	str_copy(cs->credential, sizeof(cs->credential), cred);
	pthread_mutex_unlock(&cs->lock);
}

size_t agent_console_tail_start(const char *text, size_t len, int64_t lines)
{
	size_t i = len;

	if (lines <= 0)
		return 0;
	/* a last line without its newline counts as one */
	if (i > 0 && text[i - 1] == '\n')
		i--;
	while (i > 0) {
		if (text[i - 1] == '\n' && --lines == 0)
			return i;
		i--;
	}
	return 0;
}

/* ---------------------------------------------------------- the bytes */

/* Whether the controller's side of st has ended: it sends nothing on a
 * log, so readable means its end (or bytes to drop). */
static bool peer_gone(struct http_tunnel *st, char *buf)
{
	ssize_t n;

	while ((n = http_tunnel_recv(st, buf, BUF_SIZE)) > 0)
		;
	return n != -2;
}

/* A log without follow: the line "fincloud-log LENGTH\n", then the
 * LENGTH bytes of fd from off to end (docs/agent-protocol.md "Consoles":
 * the controller knows the log's end from it, not from a close). 0, or
 * -1 with err_set(). */
static int send_framed(struct http_tunnel *st, int fd, off_t off, off_t end,
		       char *buf)
{
	int len = snprintf(buf, BUF_SIZE, "fincloud-log %lld\n",
			   (long long)(end - off));

	if (http_tunnel_send(st, buf, (size_t)len, SEND_TIMEOUT_MS) < 0)
		return -1;
	while (off < end) {
		size_t want = (size_t)(end - off) < BUF_SIZE
				      ? (size_t)(end - off) : BUF_SIZE;
		ssize_t n = pread(fd, buf, want, off);

		if (n < 0)
			return err_set_errno(errno, "reading the console log");
		if (n == 0)
			return err_set("the console log was cut short while "
				       "it was sent");
		if (http_tunnel_send(st, buf, (size_t)n, SEND_TIMEOUT_MS) < 0)
			return -1;
		off += n;
	}
	return 0;
}

/* Send the log of the session from where its tail starts, then, with
 * follow, what it gains until the controller hangs up. 0, or -1 with
 * err_set(). */
static int serve_log(struct session *s, struct http_tunnel *st, int fd,
		     const char *path, char *buf)
{
	struct agent_consoles *cs = s->cs;
	struct stat sb, now;
	off_t off = 0;
	ssize_t n;

	if (fstat(fd, &sb) < 0)
		return err_set_errno(errno, "console log");
	/* the window the tail is looked for in: the last bytes that fit */
	if ((size_t)sb.st_size > AGENT_CONSOLE_LOG_MAX)
		off = sb.st_size - (off_t)AGENT_CONSOLE_LOG_MAX;
	if (s->req.tail > 0) {
		char *win = malloc(AGENT_CONSOLE_LOG_MAX);
		size_t have = 0;

		if (win == NULL)
			return err_set("out of memory");
		while (have < AGENT_CONSOLE_LOG_MAX &&
		       (n = pread(fd, win + have, AGENT_CONSOLE_LOG_MAX - have,
				  off + (off_t)have)) > 0)
			have += (size_t)n;
		off += (off_t)agent_console_tail_start(win, have, s->req.tail);
		free(win);
	}
	if (!s->req.follow)
		return send_framed(st, fd, off, sb.st_size, buf);
	for (;;) {
		struct pollfd p = {.fd = http_tunnel_fd(st), .events = POLLIN};

		while ((n = pread(fd, buf, BUF_SIZE, off)) > 0) {
			if (http_tunnel_send(st, buf, (size_t)n,
					     SEND_TIMEOUT_MS) < 0)
				return -1;
			off += n;
		}
		if (n < 0)
			return err_set_errno(errno, "reading the console log");
		if (!s->req.follow || atomic_load(&cs->quit))
			return 0;
		if (poll(&p, 1, TICK_MS) > 0 && peer_gone(st, buf))
			return 0;
		/* a log cut short starts again; one virtlogd rotated away
		 * is followed into the new file */
		if (fstat(fd, &sb) == 0 && sb.st_size < off)
			off = 0;
		if (stat(path, &now) == 0 && now.st_ino != sb.st_ino &&
		    pread(fd, buf, 1, off) <= 0) {
			int nfd = open(path, O_RDONLY | O_CLOEXEC);

			if (nfd >= 0 && dup2(nfd, fd) >= 0)
				off = 0;
			if (nfd >= 0)
				close(nfd);
		}
	}
}

/* Join st to the VM's console until either ends. 0, or -1 with
 * err_set(). */
static int serve_console(struct session *s, struct http_tunnel *st,
			 struct agent_virt_console *con, char *buf)
{
	struct agent_consoles *cs = s->cs;
	ssize_t n;

	while (!atomic_load(&cs->quit)) {
		struct pollfd p[2] = {
			{.fd = http_tunnel_fd(st), .events = POLLIN},
			{.fd = agent_virt_console_fd(con), .events = POLLIN},
		};

		if (poll(p, 2, TICK_MS) < 0 && errno != EINTR)
			return err_set_errno(errno, "poll");
		while ((n = agent_virt_console_recv(con, buf, BUF_SIZE)) > 0)
			if (http_tunnel_send(st, buf, (size_t)n,
					     SEND_TIMEOUT_MS) < 0)
				return -1;
		if (n != -2)
			return n < 0 ? -1 : 0;
		while ((n = http_tunnel_recv(st, buf, BUF_SIZE)) > 0)
			if (agent_virt_console_send(con, buf, (size_t)n) < 0)
				return -1;
		if (n != -2)
			return n < 0 ? -1 : 0;
	}
	return 0;
}

/* ---------------------------------------------------------- sessions */

/* What the session needs before it calls back: the log file open (into
 * *fd) or the console (into *con). -1 with err_set() saying why not. */
static int session_prepare(struct session *s, int *fd,
			   struct agent_virt_console **con, char *path,
			   size_t size)
{
	if (s->req.interactive)
		return agent_virt_console_open(s->cs->virt, s->req.vm_id, true,
					       con);
	if (agent_virt_managed(s->cs->virt, s->req.vm_id) != 1)
		return err_set("vm %s is not defined on this node",
			       s->req.vm_id);
	if (agent_virt_console_path(s->cs->virt, s->req.vm_id, path,
				    size) < 0)
		return -1;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0 && errno == ENOENT)
		return err_set("vm %s has no console log yet (it has not "
			       "started on this node)", s->req.vm_id);
	if (*fd < 0)
		return err_set_errno(errno, "console log '%s'", path);
	return 0;
}

static void session_run(struct session *s)
{
	struct agent_consoles *cs = s->cs;
	struct agent_virt_console *con = NULL;
	struct agent_client *client = agent_client_new(cs->controller_url,
						       cs->node, cs->tls);
	struct http_tunnel *st = NULL;
	char cred[AGENT_CREDENTIAL_MAX], why[512], path[PATH_MAX];
	char *buf = malloc(BUF_SIZE);
	int fd = -1, rc = -1;

	pthread_mutex_lock(&cs->lock);
	str_copy(cred, sizeof(cred), cs->credential);
	pthread_mutex_unlock(&cs->lock);
	if (client == NULL || buf == NULL ||
	    agent_client_set_credential(client, cred) < 0)
		goto out;
	if (session_prepare(s, &fd, &con, path, sizeof(path)) < 0) {
		str_copy(why, sizeof(why), err_msg());
		log_warn("console session %s: %s", s->req.session_id, why);
		if (agent_client_console(client, s->req.session_id, why,
					 &st) < 0)
			goto out;
		rc = 0;
		goto out;
	}
	rc = agent_client_console(client, s->req.session_id, NULL, &st);
	if (rc != 0)
		goto out;
	log_info("console session %s: serving the %s of vm %s",
		 s->req.session_id, s->req.interactive ? "console"
		 : s->req.follow ? "log (following)" : "log", s->req.vm_id);
	rc = s->req.interactive ? serve_console(s, st, con, buf)
				: serve_log(s, st, fd, path, buf);
	if (rc == 0)
		log_info("console session %s ended", s->req.session_id);
out:
	if (rc < 0)
		log_warn("console session %s: %s", s->req.session_id,
			 err_msg());
	explicit_bzero(cred, sizeof(cred));
	http_tunnel_close(st);
	agent_client_free(client);
	agent_virt_console_close(con);
	if (fd >= 0)
		close(fd);
	free(buf);
}

static void *session_main(void *arg)
{
	struct session *s = arg;
	struct agent_consoles *cs = s->cs;

	session_run(s);
	pthread_mutex_lock(&cs->lock);
	for (struct session **p = &cs->list; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	cs->n--;
	pthread_cond_broadcast(&cs->done);
	pthread_mutex_unlock(&cs->lock);
	free(s);
	return NULL;
}

/* Under cs->lock: whether session sid is served already. */
static bool serving(struct agent_consoles *cs, const char *sid)
{
	for (struct session *s = cs->list; s; s = s->next)
		if (strcmp(s->req.session_id, sid) == 0)
			return true;
	return false;
}

void agent_consoles_start(struct agent_consoles *cs,
			  const struct agent_console_req *reqs, size_t n)
{
	pthread_mutex_lock(&cs->lock);
	for (size_t i = 0; i < n && !atomic_load(&cs->quit); i++) {
		struct session *s;
		pthread_attr_t attr;
		pthread_t t;
		int rc;

		if (serving(cs, reqs[i].session_id))
			continue;
		if (cs->n >= AGENT_CONSOLE_MAX) {
			log_warn("console session %s waits: %d sessions are "
				 "open", reqs[i].session_id, AGENT_CONSOLE_MAX);
			continue;
		}
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			break;
		s->cs = cs;
		s->req = reqs[i];
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&t, &attr, session_main, s);
		pthread_attr_destroy(&attr);
		if (rc != 0) {
			log_warn("console session %s: cannot start a thread: "
				 "%s", reqs[i].session_id, strerror(rc));
			free(s);
			continue;
		}
		s->next = cs->list;
		cs->list = s;
		cs->n++;
	}
	pthread_mutex_unlock(&cs->lock);
}

void agent_consoles_stop(struct agent_consoles *cs)
{
	if (cs == NULL)
		return;
	atomic_store(&cs->quit, true);
	pthread_mutex_lock(&cs->lock);
	while (cs->n > 0)
		pthread_cond_wait(&cs->done, &cs->lock);
	pthread_mutex_unlock(&cs->lock);
}

void agent_consoles_free(struct agent_consoles *cs)
{
	if (cs == NULL)
		return;
	agent_consoles_stop(cs);
	explicit_bzero(cs->credential, sizeof(cs->credential));
	free(cs->controller_url);
	free(cs->node);
	pthread_mutex_destroy(&cs->lock);
	pthread_cond_destroy(&cs->done);
	free(cs);
}

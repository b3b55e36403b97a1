/*
 * console.c - the console broker (console.h): sessions, their threads,
 * the splice between an operator's and an agent's switched connections.
 */
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "controller/audit.h"
#include "controller/console.h"
#include "controller/store.h"

#define NS ((uint64_t)1000000000)
/* a peer that takes no byte for this long ends its session */
#define WRITE_TIMEOUT_MS 10000
/* after the operator's wait: by then its request has been answered */
#define SETTLE_GRACE_NS (5 * NS)
#define THREAD_STACK ((size_t)256 * 1024)

enum side { CLIENT, AGENT };

/* One end of a session: a switched connection. */
struct end {
	int fd;                 /* -1 until attached */
	int peer_fd;            /* under a TLS relay: watched for its close */
	void *handle;
	console_close_fn close;
	bool failed;            /* the switch did not happen */
	char *extra;            /* read with its request: goes first */
	size_t nextra;
	uint64_t bytes;         /* read from it */
};

struct session {
	struct console_broker *b;
	char id[CONSOLE_ID_LEN];
	char vm_id[40];
	char node[NAME_MAX_LEN + 1];
	char actor[128];
	char request_id[40];
	enum console_kind kind;
	int64_t tail;
	int refs;               /* the table's (its thread's), the sides' */
	bool claimed;           /* the agent called back */
	bool ended;             /* its thread is to stop */
	bool settled;           /* the operator's request has its answer */
	bool log_done;
	bool taken_over;        /* ended by a forced session */
	bool closed;            /* its thread closed the sides: a side
				   attaching later is closed at once */
	char error[512];        /* why it failed, for the operator */
	struct buf log;
	struct end end[2];
	int wake[2];            /* a pipe: interrupts the splice's poll */
	uint64_t opened_ns, spliced_ns;
	struct session *next;
};

struct console_broker {
	struct ctrl *ctrl;
	pthread_mutex_t lock;
	pthread_cond_t cond;    /* CLOCK_MONOTONIC */
	struct session *list;
	size_t n, nlogs;
	bool quit;
};

/* ------------------------------------------------------------ lifetime */

/* Release s, whose last reference is gone (no lock needed: nobody else
 * can reach it). */
static void session_free(struct session *s)
{
	for (int i = 0; i < 2; i++)
		free(s->end[i].extra);
	buf_free(&s->log);
	if (s->wake[0] >= 0)
		close(s->wake[0]);
	if (s->wake[1] >= 0)
		close(s->wake[1]);
	free(s);
}

static void session_unref(struct session *s)
{
	struct console_broker *b = s->b;
	bool last;

	pthread_mutex_lock(&b->lock);
	last = --s->refs == 0;
	pthread_mutex_unlock(&b->lock);
	if (last)
		session_free(s);
}

/* Under b->lock: ask the thread of s to stop. */
static void session_end(struct session *s)
{
	s->ended = true;
	if (write(s->wake[1], "x", 1) < 0) {
		/* the pipe is full: a wake is pending anyway */
	}
	pthread_cond_broadcast(&s->b->cond);
}

/* Under b->lock: the live session sid, or NULL. */
static struct session *session_find(struct console_broker *b, const char *sid)
{
	for (struct session *s = b->list; s; s = s->next)
		if (strcmp(s->id, sid) == 0)
			return s;
	return NULL;
}

struct console_broker *console_broker_new(struct ctrl *ctrl)
{
	struct console_broker *b = calloc(1, sizeof(*b));

	if (b == NULL) {
		err_set("out of memory");
		return NULL;
	}
	b->ctrl = ctrl;
	pthread_mutex_init(&b->lock, NULL);
	cond_init_mono(&b->cond);
	return b;
}

void console_broker_quit(struct console_broker *b)
{
	if (b == NULL)
		return;
	pthread_mutex_lock(&b->lock);
	b->quit = true;
	for (struct session *s = b->list; s; s = s->next)
		session_end(s);
	while (b->n > 0)
		pthread_cond_wait(&b->cond, &b->lock);
	pthread_mutex_unlock(&b->lock);
}

void console_broker_free(struct console_broker *b)
{
	if (b == NULL)
		return;
	console_broker_quit(b); /* a no-op after the first */
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
	free(b);
}

/* --------------------------------------------------------------- bytes */

/* Write all of buf to fd (non-blocking), waiting for it to take them at
 * most WRITE_TIMEOUT_MS at a time. 0, or -1. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};

			if (errno == EAGAIN && poll(&p, 1, WRITE_TIMEOUT_MS) <= 0)
				return -1;
			continue;
		}
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read what fd has into buf: the count, 0 at its end, -1 on an error,
 * -2 when nothing is there. */
static ssize_t read_some(int fd, char *buf, size_t size)
{
	ssize_t n = read(fd, buf, size);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -2;
	return n;
}

static void drain_wake(struct session *s)
{
	char tmp[64];

	while (read(s->wake[0], tmp, sizeof(tmp)) > 0)
		;
}

/* Whether the peer under side e's TLS relay has closed (POLLRDHUP on
 * its TCP socket, polled as pe): the relay does not pass that on. */
static bool peer_closed(const struct end *e, const struct pollfd *pe)
{
	return e->peer_fd >= 0 && (pe->revents & (POLLRDHUP | POLLHUP |
						  POLLERR));
}

/* What the relay of a side whose peer closed still holds: n bytes into
 * buf, waiting up to RELAY_GRACE_MS for bytes still on their way through
 * it. The count, 0 when there is no more. */
#define RELAY_GRACE_MS 200
static ssize_t relay_rest(const struct end *e, char *buf)
{
	struct pollfd p = {.fd = e->fd, .events = POLLIN};
	ssize_t n;

	if (poll(&p, 1, RELAY_GRACE_MS) <= 0)
		return 0;
	n = read_some(e->fd, buf, CONSOLE_BUF);
	return n > 0 ? n : 0;
}

/* Copy between the two ends until one of them ends or the session is
 * ended; a follow copies from the agent only (the operator's bytes are
 * read and dropped, so that its going away is seen). */
static void splice_ends(struct session *s, char *buf)
{
	struct end *e = s->end;
	bool both = s->kind == CONSOLE_INTERACTIVE;

	e[AGENT].bytes += e[AGENT].nextra;
	e[CLIENT].bytes += e[CLIENT].nextra;
	if ((e[AGENT].nextra &&
	     write_all(e[CLIENT].fd, e[AGENT].extra, e[AGENT].nextra) < 0) ||
	    (both && e[CLIENT].nextra &&
	     write_all(e[AGENT].fd, e[CLIENT].extra, e[CLIENT].nextra) < 0))
		return;
	for (;;) {
		struct pollfd p[5] = {
			{.fd = e[CLIENT].fd, .events = POLLIN},
			{.fd = e[AGENT].fd, .events = POLLIN},
			{.fd = s->wake[0], .events = POLLIN},
			{.fd = e[CLIENT].peer_fd, .events = POLLRDHUP},
			{.fd = e[AGENT].peer_fd, .events = POLLRDHUP},
		};

		if (poll(p, 5, -1) < 0 && errno != EINTR)
			return;
		/* a TLS peer gone: what its relay still holds goes on, then
		 * the session ends as on a close */
		for (int from = 0; from < 2; from++) {
			int to = 1 - from;
			ssize_t n;

			if (!peer_closed(&e[from], &p[3 + from]))
				continue;
			while ((n = relay_rest(&e[from], buf)) > 0) {
				e[from].bytes += (uint64_t)n;
				if ((from == AGENT || both) &&
				    write_all(e[to].fd, buf, (size_t)n) < 0)
					break;
			}
			return;
		}
		if (p[2].revents) {
			bool ended;

			drain_wake(s);
			pthread_mutex_lock(&s->b->lock);
			ended = s->ended;
			pthread_mutex_unlock(&s->b->lock);
			if (ended)
				return;
		}
		for (int from = 0; from < 2; from++) {
			int to = 1 - from;
			ssize_t n;

			if (!p[from].revents)
				continue;
			n = read_some(e[from].fd, buf, CONSOLE_BUF);
			if (n == -2)
				continue;
			if (n <= 0)
				return;
			e[from].bytes += (uint64_t)n;
			if ((from == AGENT || both) &&
			    write_all(e[to].fd, buf, (size_t)n) < 0)
				return;
		}
	}
}

/* A log's framing (docs/agent-protocol.md "Consoles"): the agent sends
 * one line "fincloud-log LENGTH\n", then LENGTH bytes. The length, not
 * the connection's close, ends it: with TLS, libmicrohttpd does not pass
 * a remote's close on into an upgraded connection. */
#define LOG_HEADER "fincloud-log "
#define LOG_HEADER_MAX 40

struct log_reader {
	char head[LOG_HEADER_MAX];
	size_t nhead;
	bool have_len;
	size_t len;             /* the bytes the header announced */
};

/* Take n bytes of the agent's stream into r and s->log: 1 once the whole
 * log is in, 0 while more is to come, -1 with s->error set. */
static int log_feed(struct session *s, struct log_reader *r, const char *p,
		    size_t n)
{
	while (n > 0 && !r->have_len) {
		char c = *p++;
		int64_t v;

		n--;
		if (c != '\n') {
			if (r->nhead + 1 >= sizeof(r->head))
				goto bad;
			r->head[r->nhead++] = c;
			continue;
		}
		r->head[r->nhead] = '\0';
		if (strncmp(r->head, LOG_HEADER, strlen(LOG_HEADER)) != 0 ||
		    parse_int64(r->head + strlen(LOG_HEADER), &v) < 0 ||
		    v < 0 || (uint64_t)v > CONSOLE_LOG_MAX)
			goto bad;
		r->len = (size_t)v;
		r->have_len = true;
	}
	if (n > r->len - s->log.len) {
		snprintf(s->error, sizeof(s->error), "the agent of host '%s' "
			 "sent more than the %zu bytes of log it announced",
			 s->node, r->len);
		return -1;
	}
	if (n && buf_append(&s->log, p, n) < 0) {
		snprintf(s->error, sizeof(s->error), "out of memory");
		return -1;
	}
	return r->have_len && s->log.len == r->len;
bad:
	snprintf(s->error, sizeof(s->error), "the agent of host '%s' sent a "
		 "log without its '%sLENGTH' line: upgrade the agent to this "
		 "controller's version", s->node, LOG_HEADER);
	return -1;
}

/* A log: what the agent sends, up to the length it announced, into
 * s->log. 0, or -1 with s->error set (or the session ended). */
static int collect(struct session *s, char *buf, uint64_t deadline)
{
	struct end *a = &s->end[AGENT];
	struct log_reader r = {.nhead = 0};
	int rc = a->nextra ? log_feed(s, &r, a->extra, a->nextra) : 0;
	bool hung_up = false;

	while (rc == 0) {
		/* once the agent's TLS peer has closed, its relay may still
		 * hold bytes for a while (its thread serves other requests
		 * too): they are waited for up to the deadline, as the length
		 * line, not the close, ends the log */
		struct pollfd p[3] = {
			{.fd = a->fd, .events = POLLIN},
			{.fd = s->wake[0], .events = POLLIN},
			{.fd = hung_up ? -1 : a->peer_fd, .events = POLLRDHUP},
		};
		uint64_t now = time_mono_ns();
		ssize_t n;

		if (now >= deadline) {
			snprintf(s->error, sizeof(s->error), "the agent of "
				 "host '%s' did not send the whole log within "
				 "%d s (%zu of %zu bytes%s)", s->node,
				 CONSOLE_WAIT_S, s->log.len, r.len,
				 hung_up ? "; it hung up" : "");
			return -1;
		}
		if (poll(p, 3, (int)((deadline - now) / 1000000) + 1) < 0 &&
		    errno != EINTR)
			return -1;
		if (p[1].revents)
			return -1; /* ended: the answer is settled elsewhere */
		if (peer_closed(a, &p[2]))
			hung_up = true;
		if (!p[0].revents)
			continue;
		n = read_some(a->fd, buf, CONSOLE_BUF);
		if (n == -2)
			continue;
		if (n <= 0) {
			snprintf(s->error, sizeof(s->error), "the agent of "
				 "host '%s' hung up after %zu of the log's "
				 "bytes%s%s", s->node, s->log.len,
				 n < 0 ? ": " : "", n < 0 ? strerror(errno)
							: "");
			return -1;
		}
		a->bytes += (uint64_t)n;
		rc = log_feed(s, &r, buf, (size_t)n);
	}
	return rc < 0 ? -1 : 0;
}

/* ------------------------------------------------------------- threads */

static void notify_operator(struct session *s)
{
	char key[64];

	console_wait_key(s->id, key, sizeof(key));
	ctrl_notify(s->b->ctrl, key);
}

/* The session's end in the audit log, with its length. */
static void audit_end(struct session *s)
{
	struct ctrl *ctrl = s->b->ctrl;
	struct store *st = ctrl->st;
	char target[256];
	uint64_t seq = 0;

	snprintf(target, sizeof(target), "vm:%s session=%s seconds=%" PRIu64
		 " bytes_in=%" PRIu64 " bytes_out=%" PRIu64, s->vm_id, s->id,
		 (time_mono_ns() - s->spliced_ns) / NS, s->end[CLIENT].bytes,
		 s->end[AGENT].bytes);
	pthread_mutex_lock(&ctrl->lock);
	if (store_begin(st, false) == 0 &&
	    audit_append(st, s->actor, s->kind == CONSOLE_INTERACTIVE
				 ? "vm.console.end" : "vm.console_log.end",
			 target, 200, s->request_id) == 0 &&
	    store_commit(st) == 0) {
		seq = ctrl_committed(ctrl);
	} else {
		log_error("cannot audit the end of console session %s: %s",
			  s->id, err_msg());
		store_rollback(st);
	}
	store_reset_all(st);
	pthread_mutex_unlock(&ctrl->lock);
	if (seq && ctrl_make_durable(ctrl, seq) < 0)
		log_error("console session %s: %s", s->id, err_msg());
	log_info("console session %s of vm %s ended after %" PRIu64 " s (%"
		 PRIu64 " bytes in, %" PRIu64 " out)", s->id, s->vm_id,
		 (time_mono_ns() - s->spliced_ns) / NS, s->end[CLIENT].bytes,
		 s->end[AGENT].bytes);
}

/* Under b->lock: wait until the end of side has attached (or failed),
 * the session ended or deadline passed; whether it is there. */
static bool wait_side(struct session *s, enum side side, uint64_t deadline)
{
	struct console_broker *b = s->b;

	while (!s->ended && s->end[side].fd < 0 && !s->end[side].failed &&
	       time_mono_ns() < deadline)
		cond_wait_mono(&b->cond, &b->lock, deadline);
	return !s->ended && s->end[side].fd >= 0;
}

static void *session_main(void *arg)
{
	struct session *s = arg;
	struct console_broker *b = s->b;
	uint64_t wait_end = s->opened_ns + (uint64_t)CONSOLE_WAIT_S * NS;
	bool spliced = false, ok, last;
	char *buf = malloc(CONSOLE_BUF);

	pthread_mutex_lock(&b->lock);
	ok = buf && wait_side(s, AGENT, wait_end);
	if (ok && s->kind != CONSOLE_LOG)
		ok = wait_side(s, CLIENT, time_mono_ns() + (uint64_t)
			       CONSOLE_WAIT_S * NS);
	pthread_mutex_unlock(&b->lock);
	if (ok && s->kind == CONSOLE_LOG) {
		int rc = collect(s, buf, wait_end);

		pthread_mutex_lock(&b->lock);
		s->log_done = rc == 0;
		pthread_mutex_unlock(&b->lock);
		notify_operator(s);
	} else if (ok) {
		s->spliced_ns = time_mono_ns();
		spliced = true;
		splice_ends(s, buf);
	}
	free(buf);
	pthread_mutex_lock(&b->lock);
	if (s->taken_over && s->end[CLIENT].fd >= 0) {
		static const char msg[] = "\r\n[fincloud: another session took "
					  "this console over]\r\n";

		pthread_mutex_unlock(&b->lock);
		write_all(s->end[CLIENT].fd, msg, sizeof(msg) - 1);
		pthread_mutex_lock(&b->lock);
	}
	/* the sides close now: their peers see the end */
	s->closed = true;
	for (int i = 0; i < 2; i++)
		if (s->end[i].fd >= 0 && s->end[i].close) {
			s->end[i].close(s->end[i].handle);
			s->end[i].close = NULL;
		}
	/* its operator's request reads the outcome from the table */
	while (!s->settled && !b->quit &&
	       time_mono_ns() < wait_end + SETTLE_GRACE_NS)
		cond_wait_mono(&b->cond, &b->lock, wait_end + SETTLE_GRACE_NS);
	s->ended = true;
	pthread_mutex_unlock(&b->lock);
	if (spliced)
		audit_end(s);
	pthread_mutex_lock(&b->lock);
	for (struct session **p = &b->list; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	b->n--;
	if (s->kind == CONSOLE_LOG)
		b->nlogs--;
	/* the thread's reference goes under the same lock as its count:
	 * once b->n is 0, console_broker_free() may free b, which
	 * session_unref() would lock */
	last = --s->refs == 0;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	if (last)
		session_free(s);
	return NULL;
}

/* ----------------------------------------------------------- operations */

void console_wait_key(const char *sid, char *key, size_t size)
{
	snprintf(key, size, "console:%s", sid);
}

/* Under b->lock: the interactive session of vm, or NULL. */
static struct session *interactive_of(struct console_broker *b,
				      const char *vm)
{
	for (struct session *s = b->list; s; s = s->next)
		if (s->kind == CONSOLE_INTERACTIVE && !s->ended &&
		    strcmp(s->vm_id, vm) == 0)
			return s;
	return NULL;
}

static struct session *session_new(struct console_broker *b,
				   const struct console_request *r)
{
	struct session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->b = b;
	s->wake[0] = s->wake[1] = -1;
	if (random_hex(s->id, sizeof(s->id), 16) < 0 ||
	    pipe2(s->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
		if (s->wake[0] >= 0)
			close(s->wake[0]);
		free(s);
		return NULL;
	}
	str_copy(s->vm_id, sizeof(s->vm_id), r->vm_id);
	str_copy(s->node, sizeof(s->node), r->node);
	str_copy(s->actor, sizeof(s->actor), r->actor);
	str_copy(s->request_id, sizeof(s->request_id),
		 r->request_id ? r->request_id : "");
	s->kind = r->kind;
	s->tail = r->tail;
	s->end[CLIENT].fd = s->end[AGENT].fd = -1;
	s->end[CLIENT].peer_fd = s->end[AGENT].peer_fd = -1;
	buf_init(&s->log, CONSOLE_LOG_MAX);
	s->opened_ns = time_mono_ns();
	s->refs = 1;
	return s;
}

int console_open(struct console_broker *b, const struct console_request *r,
		 char *sid, char *why, size_t why_size)
{
	struct session *s, *old;
	pthread_attr_t attr;
	pthread_t t;
	int ret = -1, rc;

	pthread_mutex_lock(&b->lock);
	old = r->kind == CONSOLE_INTERACTIVE ? interactive_of(b, r->vm_id)
					     : NULL;
	if (old && !r->force) {
		snprintf(why, why_size, "VM '%s' has a console session open "
			 "by %s for %" PRIu64 " s: end it, or take it over "
			 "with 'finctl vm console --force'", r->vm_id,
			 old->actor, (time_mono_ns() - old->opened_ns) / NS);
		ret = 1;
		goto out;
	}
	if (b->quit || b->n >= CONSOLE_MAX ||
	    (r->kind == CONSOLE_LOG && b->nlogs >= CONSOLE_MAX_LOGS)) {
		snprintf(why, why_size, "the controller has %zu console "
			 "sessions open, its limit (%d, of them %d reading "
			 "logs): try again in a moment", b->n, CONSOLE_MAX,
			 CONSOLE_MAX_LOGS);
		ret = 2;
		goto out;
	}
	s = session_new(b, r);
	if (s == NULL) {
		err_set("out of memory opening a console session");
		goto out;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, session_main, s);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		err_set("cannot start a console session thread: %s",
			strerror(rc));
		s->refs = 1;
		pthread_mutex_unlock(&b->lock);
		session_unref(s);
		return -1;
	}
	if (old) {
		log_info("console session %s of vm %s taken over by %s",
			 old->id, old->vm_id, r->actor);
		old->taken_over = true;
		session_end(old);
	}
	s->next = b->list;
	b->list = s;
	b->n++;
	if (s->kind == CONSOLE_LOG)
		b->nlogs++;
	str_copy(sid, CONSOLE_ID_LEN, s->id);
	ret = 0;
out:
	pthread_mutex_unlock(&b->lock);
	return ret;
}

cJSON *console_pending_json(struct console_broker *b, const char *node)
{
	cJSON *a = cJSON_CreateArray();

	if (a == NULL)
		return NULL;
	pthread_mutex_lock(&b->lock);
	for (struct session *s = b->list; s; s = s->next) {
		cJSON *o;

		if (s->claimed || s->ended || strcmp(s->node, node) != 0)
			continue;
		o = cJSON_CreateObject();
		if (o == NULL ||
		    !cJSON_AddStringToObject(o, "session_id", s->id) ||
		    !cJSON_AddStringToObject(o, "vm_id", s->vm_id) ||
		    !cJSON_AddStringToObject(o, "kind", s->kind ==
					     CONSOLE_INTERACTIVE ? "console"
								 : "log") ||
		    !cJSON_AddBoolToObject(o, "follow",
					   s->kind == CONSOLE_FOLLOW) ||
		    !cJSON_AddNumberToObject(o, "tail", (double)s->tail)) {
			cJSON_Delete(o);
			cJSON_Delete(a);
			a = NULL;
			break;
		}
		cJSON_AddItemToArray(a, o);
	}
	pthread_mutex_unlock(&b->lock);
	return a;
}

void console_outcome(struct console_broker *b, const char *sid,
		     struct console_outcome *out)
{
	struct session *s;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&b->lock);
	s = session_find(b, sid);
	if (s == NULL || s->taken_over || (s->ended && !s->log_done &&
					   !s->error[0])) {
		out->state = CONSOLE_GONE;
		snprintf(out->why, sizeof(out->why), "console session %s "
			 "ended before it could start%s", sid,
			 s && s->taken_over ? ": another session took it over"
					    : "");
	} else if (s->error[0]) {
		out->state = CONSOLE_FAILED;
		str_copy(out->why, sizeof(out->why), s->error);
	} else if (s->kind == CONSOLE_LOG && s->log_done) {
		out->state = CONSOLE_LOG_DONE;
		out->len = s->log.len;
		out->text = buf_detach(&s->log);
		if (out->text == NULL) {
			out->state = CONSOLE_FAILED;
			str_copy(out->why, sizeof(out->why), "out of memory");
		}
	} else if (s->kind != CONSOLE_LOG && s->claimed && !s->ended) {
		out->state = CONSOLE_READY;
		s->refs++;
		out->arg = s;
	} else {
		out->state = CONSOLE_TIMEOUT;
		snprintf(out->why, sizeof(out->why), "the agent of host '%s' "
			 "did not serve the console of VM '%s' within %d s: "
			 "check 'finctl host show %s' and the agent's log",
			 s->node, s->vm_id, CONSOLE_WAIT_S, s->node);
	}
	if (s) {
		s->settled = true;
		if (out->state != CONSOLE_READY)
			session_end(s);
		pthread_cond_broadcast(&b->cond);
	}
	pthread_mutex_unlock(&b->lock);
}

int console_agent_claim(struct console_broker *b, const char *node,
			const char *sid, const char *err, void **arg)
{
	struct session *s;
	int ret = 1;

	*arg = NULL;
	pthread_mutex_lock(&b->lock);
	s = session_find(b, sid);
	if (s == NULL || s->ended || s->claimed || strcmp(s->node, node) != 0)
		goto out;
	s->claimed = true;
	if (err) {
		snprintf(s->error, sizeof(s->error), "the agent of host '%s' "
			 "cannot serve the console of VM '%s': %s", node,
			 s->vm_id, err);
		session_end(s);
	} else {
		s->refs++;
		*arg = s;
	}
	ret = 0;
out:
	pthread_mutex_unlock(&b->lock);
	if (ret == 0 && err) {
		char key[64];

		console_wait_key(sid, key, sizeof(key));
		ctrl_notify(b->ctrl, key);
	}
	return ret;
}

static void attach(struct session *s, enum side side, int fd, int peer_fd,
		   const char *extra, size_t n, void *handle,
		   console_close_fn close_fn)
{
	struct console_broker *b = s->b;
	struct end *e = &s->end[side];
	bool wake_operator = false;

	if (fd >= 0)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	pthread_mutex_lock(&b->lock);
	if (fd < 0 || s->ended || s->closed) {
		e->failed = true;
		if (fd >= 0)
			close_fn(handle);
	} else {
		e->extra = n ? malloc(n) : NULL;
		if (e->extra) {
			memcpy(e->extra, extra, n);
			e->nextra = n;
		}
		e->fd = fd;
		e->peer_fd = peer_fd;
		e->handle = handle;
		e->close = close_fn;
		wake_operator = side == AGENT && s->kind != CONSOLE_LOG;
	}
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	/* the operator's request answers 101 once its agent is in */
	if (wake_operator)
		notify_operator(s);
	session_unref(s);
}

void console_attach_client(void *arg, int fd, int peer_fd, const char *extra,
			   size_t n, void *handle, console_close_fn close_fn)
{
	attach(arg, CLIENT, fd, peer_fd, extra, n, handle, close_fn);
}

void console_attach_agent(void *arg, int fd, int peer_fd, const char *extra,
			  size_t n, void *handle, console_close_fn close_fn)
{
	attach(arg, AGENT, fd, peer_fd, extra, n, handle, close_fn);
}

/*
 * agent_fence.c - self-fencing (agent_fence.h): the watchdog thread, its
 * bounded sweeps through libvirt and the direct kill of QEMU processes
 * when libvirt does not answer in time.
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "agents/agent_fence.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#define NS_PER_S ((uint64_t)1000000000)

struct agent_fence {
	uint64_t timeout_ns;    /* 0: off */
	char *record;
	struct agent_virt *virt;
	void (*wake)(void *ctx);
	void *ctx;
	pthread_t thread;
	bool started;

	pthread_mutex_t lock;   /* everything below */
	pthread_cond_t cond;    /* the watchdog: quit, an answer */
	bool quit;
	bool fenced;
	uint64_t epoch;
	uint64_t last_ok_ns;    /* the last answer (or the start) */
	uint64_t floor_ns;
	char (*guests)[37];
	size_t nguests;
	/* the watchdog's: a sweep whose destroys have not returned (libvirt
	 * hangs); no other is started through libvirt until it has */
	struct sweep *stuck;
};

/* One sweep's destroys through libvirt, on a detached thread: it may
 * outlive the watchdog's wait (libvirt hung), so it owns a reference. */
struct sweep {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int refs;
	bool done;
	size_t failed;
	struct agent_virt *virt;
	char (*uuids)[37];
	size_t n;
};

static void sweep_unref(struct sweep *s)
{
	bool last;

	pthread_mutex_lock(&s->lock);
	last = --s->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (last) {
		pthread_mutex_destroy(&s->lock);
		pthread_cond_destroy(&s->cond);
		free(s->uuids);
		free(s);
	}
}

static void *sweep_main(void *arg)
{
	struct sweep *s = arg;
	size_t failed = 0;

	if (agent_virt_fence_destroy(s->virt, (const char (*)[37])s->uuids,
				     s->n, &failed) < 0)
		log_warn("self-fence: %s", err_msg());
	pthread_mutex_lock(&s->lock);
	s->done = true;
	s->failed = failed;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	sweep_unref(s);
	return NULL;
}

/* Whether sweep s's destroys have returned. */
static bool sweep_done(struct sweep *s)
{
	bool done;

	pthread_mutex_lock(&s->lock);
	done = s->done;
	pthread_mutex_unlock(&s->lock);
	return done;
}

/* Destroy the guests (uuids, n; taken over) through libvirt within
 * AGENT_FENCE_BOUND_S, else kill their QEMU processes. While an earlier
 * sweep is still stuck in libvirt, the processes are killed at once. */
static void sweep(struct agent_fence *f, char (*uuids)[37], size_t n)
{
	struct sweep *s = NULL;
	pthread_t t;
	pthread_attr_t at;
	bool done = false, running = false;
	size_t failed = 0;
	uint64_t deadline = time_mono_ns() + AGENT_FENCE_BOUND_S * NS_PER_S;
	int k;

	if (f->stuck && sweep_done(f->stuck)) {
		sweep_unref(f->stuck);
		f->stuck = NULL;
	}
	if (n > 0 && f->stuck == NULL)
		s = calloc(1, sizeof(*s));
	if (s) {
		pthread_mutex_init(&s->lock, NULL);
		cond_init_mono(&s->cond);
		s->refs = 2;
		s->virt = f->virt;
		s->uuids = uuids;
		s->n = n;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		running = pthread_create(&t, &at, sweep_main, s) == 0;
		if (!running)
			s->refs = 1;
		pthread_attr_destroy(&at);
		pthread_mutex_lock(&s->lock);
		while (running && !s->done && time_mono_ns() < deadline)
			cond_wait_mono(&s->cond, &s->lock, deadline);
		done = s->done;
		failed = s->failed;
		pthread_mutex_unlock(&s->lock);
	}
	if (n > 0 && (!done || failed > 0)) {
		k = agent_fence_kill_qemu("/proc", uuids, n);
		if (k < 0)
			log_error("self-fence: %s", err_msg());
		else if (k > 0)
			log_warn("self-fence: libvirt did not destroy every guest "
				 "within %d s%s: %d QEMU process(es) killed",
				 AGENT_FENCE_BOUND_S,
				 done ? "" : " (it does not answer)", k);
	}
	if (s && running && !done)
		f->stuck = s; /* its worker is still in libvirt */
	else if (s)
		sweep_unref(s);
	else
		free(uuids);
}

/* A copy of the guests to sweep, under f->lock. */
static char (*guests_copy(struct agent_fence *f, size_t *n))[37]
{
	char (*c)[37] = calloc(f->nguests + 1, sizeof(*c));

	*n = 0;
	if (c == NULL)
		return NULL;
	memcpy(c, f->guests, f->nguests * sizeof(*c));
	*n = f->nguests;
	return c;
}

static void record_write(struct agent_fence *f, uint64_t silent_s, size_t n)
{
	char text[256];
	int len = snprintf(text, sizeof(text),
			   "self-fenced at %" PRId64 " ms (wall clock) after "
			   "%" PRIu64 " s without the controller; %zu guest(s) "
			   "destroyed\n",
			   time_wall_ms(), silent_s, n);

	if (f->record &&
	    file_write_atomic(f->record, text, (size_t)len, 0600) < 0)
		log_warn("self-fence: cannot write '%s': %s", f->record,
			 err_msg());
}

static void *watchdog_main(void *arg)
{
	struct agent_fence *f = arg;

	pthread_mutex_lock(&f->lock);
	while (!f->quit) {
		uint64_t now = time_mono_ns();
		uint64_t limit = f->timeout_ns > f->floor_ns ? f->timeout_ns
							      : f->floor_ns;
		char (*g)[37];
		size_t n;

		if (f->fenced) {
			/* guests that started anyway (a pass that had
			 * already decided, libvirt's autostart) */
			cond_wait_mono(&f->cond, &f->lock,
				       now + AGENT_FENCE_RESWEEP_S * NS_PER_S);
			if (f->quit || !f->fenced ||
			    time_mono_ns() < now + AGENT_FENCE_RESWEEP_S * NS_PER_S)
				continue;
			g = guests_copy(f, &n);
			pthread_mutex_unlock(&f->lock);
			if (g)
				sweep(f, g, n);
			pthread_mutex_lock(&f->lock);
			continue;
		}
		if (now < f->last_ok_ns + limit) {
			cond_wait_mono(&f->cond, &f->lock, f->last_ok_ns + limit);
			continue;
		}
		f->fenced = true;
		f->epoch++;
		g = guests_copy(f, &n);
		pthread_mutex_unlock(&f->lock);
		log_error("self-fence: no successful exchange with the "
			  "controller for %" PRIu64 " s (self_fence_timeout %" PRIu64
			  " s): destroying this node's %zu fincloud guest(s); "
			  "their definitions and disks stay, and no guest starts "
			  "here until the controller answers again",
			  (now - f->last_ok_ns) / NS_PER_S,
			  f->timeout_ns / NS_PER_S, n);
		record_write(f, (now - f->last_ok_ns) / NS_PER_S, n);
		if (f->wake)
			f->wake(f->ctx);
		if (g)
			sweep(f, g, n);
		pthread_mutex_lock(&f->lock);
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

struct agent_fence *agent_fence_new(int timeout_s, const char *record_path,
				    struct agent_virt *virt,
				    void (*wake)(void *ctx), void *ctx)
{
	struct agent_fence *f = calloc(1, sizeof(*f));
	struct stat st;

	if (f == NULL ||
	    (record_path && (f->record = strdup(record_path)) == NULL)) {
		free(f);
		err_set("out of memory");
		return NULL;
	}
	f->timeout_ns = (uint64_t)(timeout_s > 0 ? timeout_s : 0) * NS_PER_S;
	f->virt = virt;
	f->wake = wake;
	f->ctx = ctx;
	pthread_mutex_init(&f->lock, NULL);
	cond_init_mono(&f->cond);
	f->last_ok_ns = time_mono_ns();
	if (record_path && stat(record_path, &st) == 0) {
		/* fenced before this process started: stay so until the
		 * controller answers */
		f->fenced = true;
		f->epoch = 1;
		log_warn("self-fence: '%s' says this node fenced itself; no "
			 "guest starts here until the controller answers",
			 record_path);
	}
	return f;
}

int agent_fence_start(struct agent_fence *f)
{
	if (f->timeout_ns == 0)
		return 0;
	pthread_mutex_lock(&f->lock);
	f->last_ok_ns = time_mono_ns();
	pthread_mutex_unlock(&f->lock);
	if (pthread_create(&f->thread, NULL, watchdog_main, f) != 0)
		return err_set("cannot start the self-fence watchdog thread");
	f->started = true;
	log_info("self-fence: on, after %" PRIu64 " s without the controller",
		 f->timeout_ns / NS_PER_S);
	return 0;
}

void agent_fence_free(struct agent_fence *f)
{
	if (f == NULL)
		return;
	if (f->started) {
		pthread_mutex_lock(&f->lock);
		f->quit = true;
		pthread_cond_broadcast(&f->cond);
		pthread_mutex_unlock(&f->lock);
		pthread_join(f->thread, NULL);
	}
	if (f->stuck)
		sweep_unref(f->stuck);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f->guests);
	free(f->record);
	free(f);
}

void agent_fence_set_floor(struct agent_fence *f, uint64_t ns)
{
	pthread_mutex_lock(&f->lock);
	f->floor_ns = ns;
	pthread_mutex_unlock(&f->lock);
}

void agent_fence_answered(struct agent_fence *f, uint64_t epoch)
{
	(void)epoch;
	pthread_mutex_lock(&f->lock);
	f->last_ok_ns = time_mono_ns();
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

uint64_t agent_fence_window_s(struct agent_fence *f)
{
	uint64_t limit;

	if (f == NULL || f->timeout_ns == 0)
		return 0;
	pthread_mutex_lock(&f->lock);
	limit = f->timeout_ns > f->floor_ns ? f->timeout_ns : f->floor_ns;
	pthread_mutex_unlock(&f->lock);
	return (limit + NS_PER_S - 1) / NS_PER_S + AGENT_FENCE_BOUND_S;
}

uint64_t agent_fence_epoch(struct agent_fence *f)
{
	uint64_t e;

	pthread_mutex_lock(&f->lock);
	e = f->epoch;
	pthread_mutex_unlock(&f->lock);
	return e;
}

bool agent_fence_active(struct agent_fence *f)
{
	bool on;

	pthread_mutex_lock(&f->lock);
	on = f->fenced;
	pthread_mutex_unlock(&f->lock);
	return on;
}

bool agent_fence_lift(struct agent_fence *f, uint64_t epoch)
{
	bool lifted = false;

	pthread_mutex_lock(&f->lock);
	if (f->fenced && epoch == f->epoch) {
		f->fenced = false;
		f->last_ok_ns = time_mono_ns();
		lifted = true;
	}
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	if (lifted) {
		if (f->record && unlink(f->record) < 0 && errno != ENOENT)
			log_warn("self-fence: cannot remove '%s': %s", f->record,
				 strerror(errno));
		log_warn("self-fence: lifted: the controller answered; its "
			 "desired state decides which guests run here");
	}
	return lifted;
}

void agent_fence_set_guests(struct agent_fence *f, const char (*uuids)[37],
			    size_t n)
{
	char (*c)[37] = calloc(n + 1, sizeof(*c));

	if (c == NULL)
		return; /* the previous list stays */
	memcpy(c, uuids, n * sizeof(*c));
	pthread_mutex_lock(&f->lock);
	free(f->guests);
	f->guests = c;
	f->nguests = n;
	pthread_mutex_unlock(&f->lock);
}

bool agent_fence_cmdline_has_uuid(const char *cmdline, size_t len,
				  const char *uuid)
{
	const char *p = cmdline, *end = cmdline + len;
	bool after_flag = false;

	while (p < end) {
		size_t l = strnlen(p, (size_t)(end - p));

		if (after_flag && l == strlen(uuid) &&
		    strncasecmp(p, uuid, l) == 0)
			return true;
		after_flag = l == 5 && memcmp(p, "-uuid", 5) == 0;
		p += l + 1;
	}
	return false;
}

/* The mount namespace of process pid under proc ("" on failure). */
static void mnt_ns(const char *proc, const char *pid, char *out, size_t size)
{
	char path[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s/ns/mnt", proc, pid);
	n = readlink(path, out, size - 1);
	out[n > 0 ? n : 0] = '\0';
}

int agent_fence_kill_qemu(const char *proc, const char (*uuids)[37],
			  size_t n)
{
	char self[128], other[128], path[PATH_MAX];
	DIR *d = opendir(proc);
	struct dirent *e;
	int killed = 0;

	if (d == NULL)
		return err_set("cannot read '%s': %s", proc, strerror(errno));
	mnt_ns(proc, "self", self, sizeof(self));
	while ((e = readdir(d)) != NULL) {
		char *cmd = NULL;
		size_t len = 0;
		long pid;
		char *endp;

		pid = strtol(e->d_name, &endp, 10);
		if (*endp != '\0' || pid <= 1 || pid == (long)getpid())
			continue;
		mnt_ns(proc, e->d_name, other, sizeof(other));
		if (!self[0] || strcmp(self, other) != 0)
			continue; /* another node's namespace */
		snprintf(path, sizeof(path), "%s/%s/cmdline", proc, e->d_name);
		if (file_read_all(path, 1 << 20, &cmd, &len) < 0) {
			err_clear();
			continue;
		}
		for (size_t i = 0; i < n; i++)
			if (agent_fence_cmdline_has_uuid(cmd, len, uuids[i])) {
				if (kill((pid_t)pid, SIGKILL) == 0) {
					log_warn("self-fence: killed QEMU pid "
						 "%ld of guest %s",
						 pid, uuids[i]);
					killed++;
				}
				break;
			}
		free(cmd);
	}
	closedir(d);
	return killed;
}

#include "common/err.h"
#include "common/util.h"
#include "controller/anchor.h"
#include "controller/ctrl.h"
#include "controller/db.h"
#include "controller/store.h"

struct ctrl_waiter {
	char node[64];
	uint64_t deadline_ns;  /* on the monotonic clock */
	ctrl_wake_fn wake;
	void *arg;
	bool armed;            /* its connection is suspended */
	bool ended;            /* its wait is over (unlinked) */
	struct ctrl_waiter *prev, *next; /* in ctrl->waiters, by deadline */
	struct ctrl_waiter *woken;       /* in the list end() builds */
};

static void *timer_main(void *arg);

int ctrl_init(struct ctrl *ctrl)
{
	int rc;

	pthread_mutex_init(&ctrl->lock, NULL);
	pthread_mutex_init(&ctrl->stats_lock, NULL);
	pthread_mutex_init(&ctrl->sync_lock, NULL);
	pthread_cond_init(&ctrl->synced, NULL);
	pthread_mutex_init(&ctrl->wait_lock, NULL);
	pthread_mutex_init(&ctrl->reader_lock, NULL);
	/* deadlines are on the monotonic clock: a wall clock stepped back
	 * must not keep a long-poll waiting long after its agent gave up */
	cond_init_mono(&ctrl->wait_cond);
	if (uuid_generate_v4(ctrl->instance) < 0)
		return -1;
	rc = pthread_create(&ctrl->timer, NULL, timer_main, ctrl);
	if (rc != 0) {
		ctrl->timer_quit = true;
		return err_set("cannot start the long-poll timer thread: %s",
			       strerror(rc));
	}
	return 0;
}

void ctrl_fini(struct ctrl *ctrl)
{
	if (!ctrl->timer_quit) {
		ctrl_stop(ctrl);
		pthread_mutex_lock(&ctrl->wait_lock);
		ctrl->timer_quit = true;
		pthread_cond_signal(&ctrl->wait_cond);
		pthread_mutex_unlock(&ctrl->wait_lock);
		pthread_join(ctrl->timer, NULL);
	}
	pthread_cond_destroy(&ctrl->wait_cond);
	pthread_mutex_destroy(&ctrl->wait_lock);
	pthread_mutex_destroy(&ctrl->reader_lock);
	pthread_cond_destroy(&ctrl->synced);
	pthread_mutex_destroy(&ctrl->sync_lock);
	pthread_mutex_destroy(&ctrl->stats_lock);
	pthread_mutex_destroy(&ctrl->lock);
}

void ctrl_stop(struct ctrl *ctrl)
{
	ctrl->stopping = 1;
	pthread_mutex_lock(&ctrl->lock);
	ctrl_notify(ctrl, NULL);
	pthread_mutex_unlock(&ctrl->lock);
}

/* ------------------------------------------------------------ durability */

uint64_t ctrl_committed(struct ctrl *ctrl)
{
	return __atomic_add_fetch(&ctrl->commit_seq, 1, __ATOMIC_RELEASE);
}

int ctrl_make_durable(struct ctrl *ctrl, uint64_t seq)
{
	int ret = 0;

	pthread_mutex_lock(&ctrl->sync_lock);
	while (ctrl->durable_seq < seq && ret == 0) {
		uint64_t target;
		struct audit_head head;
		bool anchor = false;

		if (ctrl->syncing) {
			/* a sync in flight may cover this commit */
			pthread_cond_wait(&ctrl->synced, &ctrl->sync_lock);
			continue;
		}
		ctrl->syncing = true;
		/* every commit numbered up to target is already written */
		target = __atomic_load_n(&ctrl->commit_seq, __ATOMIC_ACQUIRE);
		/* a head committed by now is covered by the sync below */
		if (ctrl->anchor)
			anchor = anchor_snapshot(ctrl->anchor, &head);
		pthread_mutex_unlock(&ctrl->sync_lock);
		ret = store_sync_wal(ctrl->st);
		if (ret == 0 && anchor && anchor_write(ctrl->anchor, &head) < 0)
			log_error("%s", err_msg());
		pthread_mutex_lock(&ctrl->sync_lock);
		ctrl->syncing = false;
		if (ret == 0 && target > ctrl->durable_seq)
			ctrl->durable_seq = target;
		pthread_cond_broadcast(&ctrl->synced);
	}
	pthread_mutex_unlock(&ctrl->sync_lock);
	return ret;
}

/* ------------------------------------------- generations and long-poll */

/* End w's wait (wait_lock held): unlink it; when it is armed, push it on
 * *woken for wake_all(), else leave it for ctrl_arm() to see. */
static void end(struct ctrl *ctrl, struct ctrl_waiter *w,
		struct ctrl_waiter **woken)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		ctrl->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	w->ended = true;
	if (w->armed) {
		w->woken = *woken;
		*woken = w;
	}
}

/* Call the wake of every waiter end() collected, and free it (no lock
 * held: a wake resumes a connection). */
static void wake_all(struct ctrl_waiter *woken)
{
	while (woken) {
		struct ctrl_waiter *w = woken;

		woken = w->woken;
		w->wake(w->arg);
		free(w);
	}
}

void ctrl_notify(struct ctrl *ctrl, const char *host)
{
	struct ctrl_waiter *woken = NULL, *w, *next;

	pthread_mutex_lock(&ctrl->wait_lock);
	for (w = ctrl->waiters; w; w = next) {
		next = w->next;
		if (host == NULL || strcmp(w->node, host) == 0)
			end(ctrl, w, &woken);
	}
	pthread_mutex_unlock(&ctrl->wait_lock);
	wake_all(woken);
}

int ctrl_bump_generation(struct ctrl *ctrl, const char *host)
{
	struct db_stmt *s = store_stmt(ctrl->st, "UPDATE hosts SET generation "
					       "= generation + 1 WHERE name = ?");

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, host);
	if (store_done(ctrl->st, s, "bumping a host's generation") < 0)
		return -1;
	if (db_engine(store_db(ctrl->st)) == DB_PG) {
		char payload[128];

		s = store_stmt(ctrl->st, "SELECT pg_notify('" CTRL_WAKE_CHANNEL
				       "', ?)");
		if (s == NULL)
			return -1;
		snprintf(payload, sizeof(payload), "%s %s", ctrl->instance,
			 host);
		store_bind_text(s, 1, payload);
		if (store_row(ctrl->st, s, "notifying the other controllers") < 0)
			return -1;
		db_reset(s);
	}
	ctrl_notify(ctrl, host);
	return 0;
}

int ctrl_generation(struct ctrl *ctrl, const char *host, int64_t *gen)
{
	struct db_stmt *s = store_stmt(ctrl->st, "SELECT generation FROM hosts "
					       "WHERE name = ?");
	int rc, ret = -1;

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, host);
	rc = db_step(s);
	if (rc == DB_ROW) {
		*gen = db_col_int64(s, 0);
		ret = 0;
	} else if (rc == DB_DONE) {
		ret = 1;
	} else {
		store_err(ctrl->st, "reading a host's generation");
	}
	db_reset(s);
	return ret;
}

struct ctrl_waiter *ctrl_park(struct ctrl *ctrl, const char *node,
			      int64_t wait_s, ctrl_wake_fn wake, void *arg)
{
	struct ctrl_waiter *w = NULL, *after;

	if (wait_s <= 0 || ctrl->stopping)
		goto out;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		goto out;
	snprintf(w->node, sizeof(w->node), "%s", node);
	w->deadline_ns = time_mono_ns() + (uint64_t)wait_s * 1000000000ULL;
	w->wake = wake;
	w->arg = arg;
	pthread_mutex_lock(&ctrl->wait_lock);
	/* deadlines mostly arrive in order: search from the end */
	after = ctrl->waiters;
	while (after && after->next)
		after = after->next;
	while (after && after->deadline_ns > w->deadline_ns)
		after = after->prev;
	w->prev = after;
	w->next = after ? after->next : ctrl->waiters;
	if (w->next)
		w->next->prev = w;
	if (after)
		after->next = w;
	else
		ctrl->waiters = w;
	/* a new earliest deadline: the timer sleeps until the old one */
	if (ctrl->waiters == w)
		pthread_cond_signal(&ctrl->wait_cond);
	pthread_mutex_unlock(&ctrl->wait_lock);
out:
	return w;
}

int ctrl_arm(struct ctrl *ctrl, struct ctrl_waiter *w, ctrl_wake_fn suspend)
{
	int ret = 0;

	pthread_mutex_lock(&ctrl->wait_lock);
	if (w->ended) {
		ret = 1;
	} else {
		/* under wait_lock: end() cannot collect it before this */
		suspend(w->arg);
		w->armed = true;
	}
	pthread_mutex_unlock(&ctrl->wait_lock);
	if (ret == 1)
		free(w);
	return ret;
}

/* The timer thread: ends each waiter at its deadline, until ctrl_fini(). */
static void *timer_main(void *arg)
{
	struct ctrl *ctrl = arg;

	pthread_mutex_lock(&ctrl->wait_lock);
	while (!ctrl->timer_quit) {
		struct ctrl_waiter *woken = NULL;
		uint64_t now = time_mono_ns();

		while (ctrl->waiters && ctrl->waiters->deadline_ns <= now)
			end(ctrl, ctrl->waiters, &woken);
		if (woken) {
			pthread_mutex_unlock(&ctrl->wait_lock);
			wake_all(woken);
			pthread_mutex_lock(&ctrl->wait_lock);
		} else if (ctrl->waiters) {
			cond_wait_mono(&ctrl->wait_cond, &ctrl->wait_lock,
				       ctrl->waiters->deadline_ns);
		} else {
			pthread_cond_wait(&ctrl->wait_cond, &ctrl->wait_lock);
		}
	}
	pthread_mutex_unlock(&ctrl->wait_lock);
	return NULL;
}

#include <sqlite3.h>
#include <time.h>

#include "common/err.h"
#include "controller/anchor.h"
#include "controller/ctrl.h"
#include "controller/store.h"

struct ctrl_waiter {
	const char *node;
	pthread_cond_t cond;
	bool woken;
	struct ctrl_waiter *next;
};

void ctrl_init(struct ctrl *ctrl)
{
	pthread_mutex_init(&ctrl->lock, NULL);
	pthread_mutex_init(&ctrl->stats_lock, NULL);
	pthread_mutex_init(&ctrl->sync_lock, NULL);
	pthread_cond_init(&ctrl->synced, NULL);
}

void ctrl_fini(struct ctrl *ctrl)
{
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

void ctrl_notify(struct ctrl *ctrl, const char *host)
{
	for (struct ctrl_waiter *w = ctrl->waiters; w; w = w->next)
		if (host == NULL || strcmp(w->node, host) == 0) {
			w->woken = true;
			pthread_cond_signal(&w->cond);
		}
}

int ctrl_bump_generation(struct ctrl *ctrl, const char *host)
{
	sqlite3_stmt *s = store_stmt(ctrl->st, "UPDATE hosts SET generation "
					       "= generation + 1 WHERE name = ?");

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, host);
	if (store_done(ctrl->st, s, "bumping a host's generation") < 0)
		return -1;
	ctrl_notify(ctrl, host);
	return 0;
}

int ctrl_generation(struct ctrl *ctrl, const char *host, int64_t *gen)
{
	sqlite3_stmt *s = store_stmt(ctrl->st, "SELECT generation FROM hosts "
					       "WHERE name = ?");
	int rc, ret = -1;

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, host);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*gen = sqlite3_column_int64(s, 0);
		ret = 0;
	} else if (rc == SQLITE_DONE) {
		ret = 1;
	} else {
		store_err(ctrl->st, "reading a host's generation");
	}
	sqlite3_reset(s);
	return ret;
}

void ctrl_wait(struct ctrl *ctrl, const char *node, int64_t wait_s)
{
	struct ctrl_waiter w = {.node = node};
	struct ctrl_waiter **pp;
	pthread_condattr_t attr;
	struct timespec until;

	if (wait_s <= 0 || ctrl->stopping)
		return;
	/* the deadline is on the monotonic clock: a wall clock stepped back
	 * must not keep a long-poll (and its thread) waiting long after its
	 * agent gave up on it */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w.cond, &attr);
	pthread_condattr_destroy(&attr);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += wait_s;
	w.next = ctrl->waiters;
	ctrl->waiters = &w;
	store_reset_all(ctrl->st);
	while (!w.woken && !ctrl->stopping)
		if (pthread_cond_timedwait(&w.cond, &ctrl->lock, &until) != 0)
			break;
	for (pp = &ctrl->waiters; *pp; pp = &(*pp)->next)
		if (*pp == &w) {
			*pp = w.next;
			break;
		}
	pthread_cond_destroy(&w.cond);
}

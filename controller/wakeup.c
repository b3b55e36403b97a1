#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "controller/db.h"
#include "controller/store.h"
#include "controller/wakeup.h"

/* How long one wait for a notification lasts (ms): the thread sees
 * ctrl_stop() within it. */
#define WAKEUP_POLL_MS 250
/* Reconnect at most this often (ms). */
#define WAKEUP_RETRY_MS 2000

/* A connection that listens, or NULL (logged when it was not already). */
static struct db *wakeup_connect(struct wakeup *w, bool *unreachable)
{
	struct db *db = NULL;

	if (db_open(w->ctrl->cfg.database, &db) < 0 ||
	    db_listen(db, CTRL_WAKE_CHANNEL) < 0) {
		if (!*unreachable)
			log_warn("long-poll wakeups from other controllers: %s; "
				 "retrying (heartbeats end at their deadline "
				 "meanwhile)", err_msg());
		*unreachable = true;
		db_close(db);
		return NULL;
	}
	if (*unreachable)
		log_info("long-poll wakeups from other controllers: "
			 "listening again");
	*unreachable = false;
	return db;
}

/* End the parked heartbeats of host (every one: NULL) under the lock. */
static void wakeup_notify(struct ctrl *ctrl, const char *host)
{
	pthread_mutex_lock(&ctrl->lock);
	ctrl_notify(ctrl, host);
	pthread_mutex_unlock(&ctrl->lock);
}

/* Sleep ms in steps of WAKEUP_POLL_MS, or less when the controller
 * stops. */
static void wakeup_pause(struct ctrl *ctrl, int ms)
{
	for (int slept = 0; slept < ms && !ctrl->stopping;
	     slept += WAKEUP_POLL_MS)
		usleep(WAKEUP_POLL_MS * 1000);
}

static void *wakeup_main(void *arg)
{
	struct wakeup *w = arg;
	struct ctrl *ctrl = w->ctrl;
	struct db *db = NULL;
	bool unreachable = false;
	char payload[256];
	size_t self = strlen(ctrl->instance);

	while (!ctrl->stopping) {
		int rc;

		if (db == NULL) {
			db = wakeup_connect(w, &unreachable);
			if (db == NULL) {
				wakeup_pause(ctrl, WAKEUP_RETRY_MS);
				continue;
			}
			/* what was sent before this LISTEN is not heard */
			wakeup_notify(ctrl, NULL);
		}
		rc = db_notify_wait(db, WAKEUP_POLL_MS, payload,
				    sizeof(payload));
		if (rc < 0) {
			log_warn("long-poll wakeups from other controllers: "
				 "%s; reconnecting", err_msg());
			unreachable = true;
			db_close(db);
			db = NULL;
			continue;
		}
		/* "INSTANCE HOST"; this controller's own bumps woke its
		 * waiters already */
		if (rc == 0 || strlen(payload) <= self + 1 ||
		    payload[self] != ' ' ||
		    strncmp(payload, ctrl->instance, self) == 0)
			continue;
		wakeup_notify(ctrl, payload + self + 1);
	}
	db_close(db);
	return NULL;
}

int wakeup_start(struct wakeup *w, struct ctrl *ctrl)
{
	int rc;

	w->ctrl = ctrl;
	if (db_engine(store_db(ctrl->st)) != DB_PG)
		return 0;
	rc = pthread_create(&w->thread, NULL, wakeup_main, w);
	if (rc != 0)
		return err_set("cannot start the long-poll wakeup thread: %s",
			       strerror(rc));
	w->started = true;
	return 0;
}

void wakeup_join(struct wakeup *w)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = false;
}

/*
 * wakeup.h - the long-polls of this controller woken by generation bumps
 * made through another controller on the same PostgreSQL database.
 *
 * ctrl_bump_generation() sends "INSTANCE HOST" on CTRL_WAKE_CHANNEL
 * (ctrl.h) inside the bump's transaction; PostgreSQL delivers it to every
 * listening session when that transaction commits. The listener here is
 * one thread with a connection of its own, opened for nothing else, that
 * LISTENs and, for each notification of another instance, ends the
 * parked heartbeats of HOST (ctrl_notify()) under the controller lock:
 * a heartbeat reads its generation and parks under that lock, so a
 * notification cannot fall between the two and be missed. The woken
 * heartbeat reads the committed generation and answers.
 *
 * When the listening connection breaks, the thread reconnects (at most
 * every 2 s) and, once it listens again, wakes every parked heartbeat:
 * what was sent meanwhile is lost, and each heartbeat's answer then
 * carries whatever changed. Until then a long-poll still ends at its
 * deadline, as without the listener. On SQLite there is one controller
 * per database and no listener: ctrl_bump_generation() wakes its
 * waiters itself.
 */
#ifndef FC_CTRL_WAKEUP_H
#define FC_CTRL_WAKEUP_H

#include <pthread.h>

#include "common/fc.h"
#include "controller/ctrl.h"

/* The listener: zeroed by the caller, filled by wakeup_start(). */
struct wakeup {
	struct ctrl *ctrl;
	pthread_t thread;
	bool started;
};

/* Start the listener of ctrl (its cfg.database) into w: nothing on
 * SQLite. It stops once ctrl_stop() was called. 0, or -1 with err_set()
 * when the thread cannot start. */
int wakeup_start(struct wakeup *w, struct ctrl *ctrl);
/* Wait for the listener to end (after ctrl_stop()); safe when it never
 * started (w zeroed). */
void wakeup_join(struct wakeup *w);

#endif

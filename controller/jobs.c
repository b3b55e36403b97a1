#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "controller/anchor.h"
#include "controller/audit.h"
#include "controller/db.h"
#include "controller/eta.h"
#include "controller/ha.h"
#include "controller/jobs.h"
#include "controller/leader.h"
#include "controller/rebalance.h"
#include "controller/store.h"
#include "controller/task.h"

/* How often the leader looks for runs no controller drives (ns). */
#define JOBS_RECOVER_NS (3ULL * 1000000000ULL)
/* The most tasks one pass fails as timed out (the rest: next pass). */
#define JOBS_TIMEOUTS_MAX 64

int jobs_liveness_reset(struct ctrl *ctrl)
{
	struct db_stmt *s = store_stmt(ctrl->st, "UPDATE hosts SET "
					       "last_seen_ms = ? WHERE state = "
					       "'up'");

	if (s == NULL)
		return -1;
	db_bind_int64(s, 1, time_wall_ms());
	return store_done(ctrl->st, s, "resetting the hosts' liveness");
}

int jobs_mark_down_hosts(struct ctrl *ctrl)
{
	struct store *st = ctrl->st;
	int64_t cutoff = time_wall_ms() - ctrl->cfg.heartbeat_timeout_s * 1000;
	struct db_stmt *s;
	char names[64][NAME_MAX_LEN + 1];
	int n = 0, rc = DB_DONE;

	s = store_stmt(st, "SELECT name FROM hosts WHERE state = 'up' AND "
			   "last_seen_ms < ? LIMIT 64");
	if (s == NULL)
		return -1;
	db_bind_int64(s, 1, cutoff);
	while (n < 64 && (rc = db_step(s)) == DB_ROW)
		str_copy(names[n++], sizeof(names[0]), store_col_text(s, 0));
	/* a failing read is an error (logged by the caller), not "none" */
	if (rc != DB_ROW && rc != DB_DONE)
		store_err(st, "reading the silent hosts");
	db_reset(s);
	if (rc != DB_ROW && rc != DB_DONE)
		return -1;
	if (n == 0)
		return 0;
	if (store_begin(st, true) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		char target[96];

		/* again in the transaction: a heartbeat or another
		 * controller's pass may have come between */
		s = store_stmt(st, "UPDATE hosts SET state = 'down' WHERE name "
				   "= ? AND state = 'up' AND last_seen_ms < ?");
		if (s == NULL)
			goto fail;
		store_bind_text(s, 1, names[i]);
		db_bind_int64(s, 2, cutoff);
		if (store_done(st, s, "marking a silent host down") < 0)
			goto fail;
		if (db_changes(store_db(st)) == 0)
			continue;
		s = store_stmt(st, "UPDATE vms SET state = 'unknown', updated_ms "
				   "= ? WHERE host = ?");
		if (s == NULL)
			goto fail;
		db_bind_int64(s, 1, time_wall_ms());
		store_bind_text(s, 2, names[i]);
		if (store_done(st, s, "marking a down host's VMs unknown") < 0)
			goto fail;
		snprintf(target, sizeof(target), "host:%.63s", names[i]);
		if (audit_event(st, "host.down", target, NULL) < 0)
			goto fail;
		log_warn("host '%s' sent no heartbeat for %" PRId64 " s: marked "
			 "down, its VMs unknown", names[i],
			 ctrl->cfg.heartbeat_timeout_s);
	}
	if (store_commit(st) < 0)
		return -1;
	return 0;
fail:
	store_err(st, "marking hosts down");
	store_rollback(st);
	return -1;
}

int jobs_time_out_tasks(struct ctrl *ctrl)
{
	struct store *st = ctrl->st;
	struct task_expiry *list = NULL;
	size_t n = 0;
	int ret = -1;

	if (task_expired(st, ctrl->cfg.task_timeout_s, time_wall_ms(),
			 JOBS_TIMEOUTS_MAX, &list, &n) < 0)
		return -1;
	if (n == 0) {
		free(list);
		return 0;
	}
	if (store_begin(st, true) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct task *t = &list[i].t;
		char why[512], target[64];
		int rc;

		task_timeout_error(&list[i], why, sizeof(why));
		/* moved only from the state read: a report that settled it
		 * in between wins */
		rc = task_time_out(st, t, why);
		if (rc < 0)
			goto fail;
		if (rc > 0)
			continue;
		/* an agent task leaves its source's desired state, and a
		 * migration's target forgets the incoming VM */
		if (task_for_agent(t->type) &&
		    ctrl_bump_generation(ctrl, t->source_host) < 0)
			goto fail;
		if (t->type == TASK_MIGRATE && t->target_host[0] &&
		    ctrl_bump_generation(ctrl, t->target_host) < 0)
			goto fail;
		snprintf(target, sizeof(target), "task:%s", t->id);
		if (audit_event(st, "task.timeout", target, NULL) < 0)
			goto fail;
		log_warn("task %s (%s of vm '%s') failed: %s", t->id,
			 task_type_name(t->type), t->vm_id, why);
	}
	if (store_commit(st) < 0)
		goto out;
	ret = 0;
	goto out;
fail:
	store_err(st, "failing timed-out tasks");
	store_rollback(st);
out:
	free(list);
	return ret;
}

static void *jobs_main(void *arg)
{
	struct jobs *j = arg;
	struct ctrl *ctrl = j->ctrl;
	uint64_t last_sample = 0, last_compact = time_mono_ns();
	uint64_t last_recover = time_mono_ns();

	while (!ctrl->stopping) {
		uint64_t now = time_mono_ns(), sync, t0, stmt0;
		bool compact = now - last_compact > 60ULL * 1000000000ULL;
		/* outside the lock: it may wait for the database */
		bool lead = leader_check(j->leader);

		pthread_mutex_lock(&ctrl->lock);
		t0 = time_mono_ns();
		stmt0 = db_statements(store_db(ctrl->st));
		if (lead && jobs_mark_down_hosts(ctrl) < 0)
			log_error("liveness check: %s", err_msg());
		if (lead && jobs_time_out_tasks(ctrl) < 0)
			log_error("task timeouts: %s", err_msg());
		/* suspect, failed (ha.h); fencing follows without the lock */
		if (lead && ha_detect_pass(ctrl) < 0)
			log_error("host failure detection: %s", err_msg());
		/* several controllers: a run whose controller died */
		if (lead && j->leader && now - last_recover >= JOBS_RECOVER_NS) {
			if (rb_recover(ctrl) < 0)
				log_error("rebalance runs: %s", err_msg());
			last_recover = now;
		}
		if (lead && (last_sample == 0 ||
			     now - last_sample >= (uint64_t)ctrl->cfg
							  .sample_interval_s *
						  1000000000ULL)) {
			if (eta_sample_pools(ctrl, compact) < 0)
				log_error("utilisation sample: %s", err_msg());
			last_sample = now;
			if (compact)
				last_compact = now;
		}
		/* the entries the controller audits by itself reach the
		 * anchor within a tick, as a request's do when it answers */
		sync = ctrl->anchor && anchor_behind(ctrl->anchor) ?
			       ctrl_committed(ctrl) : 0;
		store_reset_all(ctrl->st);
		stmt0 = db_statements(store_db(ctrl->st)) - stmt0;
		t0 = time_mono_ns() - t0;
		pthread_mutex_unlock(&ctrl->lock);
		if (lead) {
			pthread_mutex_lock(&ctrl->stats_lock);
			ctrl->passes.passes++;
			ctrl->passes.statements += stmt0;
			ctrl->passes.lock_ns += t0;
			pthread_mutex_unlock(&ctrl->stats_lock);
		}
		if (sync && ctrl_make_durable(ctrl, sync) < 0)
			log_error("%s", err_msg());
		if (lead && ha_fence_pass(ctrl) < 0)
			log_error("fencing: %s", err_msg());
		sleep(1);
	}
	return NULL;
}

int jobs_start(struct jobs *j, struct ctrl *ctrl)
{
	j->ctrl = ctrl;
	if (leader_new(ctrl->cfg.database, &j->leader) < 0)
		return -1;
	if (pthread_create(&j->thread, NULL, jobs_main, j) != 0) {
		leader_free(j->leader);
		j->leader = NULL;
		return err_set("cannot start the background thread");
	}
	j->started = true;
	return 0;
}

void jobs_join(struct jobs *j)
{
	if (j->started)
		pthread_join(j->thread, NULL);
	j->started = false;
	leader_free(j->leader);
	j->leader = NULL;
}

void jobs_metrics(const struct ctrl_pass_stats *p, struct buf *b)
{
	buf_printf(b, "# HELP fincloud_leader_passes_total Passes of the "
		       "background work (liveness, task timeouts, host "
		       "failure detection, utilisation samples) this "
		       "controller ran as the leader.\n"
		       "# TYPE fincloud_leader_passes_total counter\n"
		       "fincloud_leader_passes_total %" PRIu64 "\n"
		       "# HELP fincloud_leader_db_statements_total Statements "
		       "those passes ran on the database.\n"
		       "# TYPE fincloud_leader_db_statements_total counter\n"
		       "fincloud_leader_db_statements_total %" PRIu64 "\n"
		       "# HELP fincloud_leader_lock_held_seconds_total Time "
		       "those passes held the controller lock.\n"
		       "# TYPE fincloud_leader_lock_held_seconds_total counter\n"
		       "fincloud_leader_lock_held_seconds_total %.6f\n",
		   p->passes, p->statements,
		   (double)p->lock_ns / 1e9);
}

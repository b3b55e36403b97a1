/* Fencing: a failed host's fence steps, run without the lock, and its
 * unfence (see ha.h). */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/util.h"
#include "controller/audit.h"
#include "controller/db.h"
#include "controller/ha.h"
#include "controller/ha_int.h"
#include "controller/store.h"
#include "controller/task.h"

/* The most hosts one fence pass acts on. */
#define HA_FENCE_MAX 8
/* The most Ceph clusters (distinct monitor lists) one host is fenced on. */
#define HA_CLUSTERS_MAX 8
/* Added to a host's self-fence window before its VMs restart without a
 * fence agent: a slow answer, the kill of a QEMU process (ms). */
#define HA_SELF_FENCE_MARGIN_MS 2000

enum fence_kind { FENCE_HOST, FENCE_RESTART, FENCE_UNFENCE };

/* One host a fence pass acts on: what phase 1 read under the lock,
 * what phase 2 found out without it. */
struct fence_job {
	enum fence_kind kind;
	char host[NAME_MAX_LEN + 1];
	char task[TASK_ID_LEN];
	char address[256];       /* its Ceph client address */
	char agent[NAME_MAX_LEN + 1]; /* its fence agent, "" none */
	char agent_address[256];
	char mons[HA_CLUSTERS_MAX][512]; /* clusters its disks live on */
	size_t nmons;
	char blocklisted[2048];  /* "MONITORS ADDRESS" lines */
	bool ok;
	char why[512];
};

/* The host part of a libvirt URI ("qemu+tls://10.0.0.2/system"). */
static void uri_host(const char *uri, char *out, size_t size)
{
	const char *p = strstr(uri, "://");
	size_t len;

	out[0] = '\0';
	if (p == NULL)
		return;
	p += 3;
	if (*p == '[') { /* [v6] */
		len = strcspn(++p, "]");
	} else {
		len = strcspn(p, ":/");
	}
	if (len > 0 && len < size)
		snprintf(out, size, "%.*s", (int)len, p);
}

/* The Ceph clusters the disks of host's VMs live on, into j. */
static int job_clusters(struct store *st, struct fence_job *j)
{
	struct db_stmt *s = store_stmt1(st, "SELECT DISTINCT p.monitors FROM "
				      "vms v JOIN storage_pools p ON p.name = "
				      "v.storage WHERE v.host = ? AND p.type = "
				      "'ceph' AND v.desired != 'deleted' ORDER BY "
				      "p.monitors", j->host);
	int rc = DB_ERROR;

	if (s == NULL)
		return -1;
	j->nmons = 0;
	while ((rc = db_step(s)) == DB_ROW)
		if (j->nmons < HA_CLUSTERS_MAX)
			str_copy(j->mons[j->nmons++], sizeof(j->mons[0]),
				 store_col_text(s, 0));
	db_reset(s);
	return rc == DB_DONE ? 0 : store_err(st, "reading a host's clusters");
}

/* Phase 1 (lock held, no transaction): the jobs due, their tasks
 * created and their next try pushed back, in one transaction. */
static int fence_plan(struct ctrl *ctrl, struct fence_job *jobs, size_t *n)
{
	struct store *st = ctrl->st;
	int64_t now = time_wall_ms();
	struct db_stmt *s;
	int rc = DB_ERROR;

	*n = 0;
	/* read first, outside a transaction: most passes find nothing due
	 * and write nothing (one leader acts on what it read) */
	s = store_stmt(st, "SELECT name, ha_state, storage_address, "
			   "migration_uri, fence_command, fence_address, "
			   "blocklisted, unfence FROM hosts h WHERE "
			   "fence_next_ms <= ? AND (ha_state = 'failed' OR "
			   "(ha_state = 'fenced' AND (unfence != 0 OR EXISTS "
			   "(SELECT 1 FROM vms v WHERE v.host = h.name AND v.ha "
			   "= 'restart' AND v.desired != 'deleted' AND v.state "
			   "!= 'lost')))) ORDER BY name LIMIT 8");
	if (s == NULL)
		return -1;
	db_bind_int64(s, 1, now);
	while (*n < HA_FENCE_MAX && (rc = db_step(s)) == DB_ROW) {
		struct fence_job *j = &jobs[(*n)++];

		memset(j, 0, sizeof(*j));
		str_copy(j->host, sizeof(j->host), store_col_text(s, 0));
		if (strcmp(store_col_text(s, 1), "failed") == 0)
			j->kind = FENCE_HOST;
		else
			j->kind = db_col_int(s, 7) ? FENCE_UNFENCE
						   : FENCE_RESTART;
		str_copy(j->address, sizeof(j->address), store_col_text(s, 2));
		if (j->address[0] == '\0')
			uri_host(store_col_text(s, 3), j->address,
				 sizeof(j->address));
		str_copy(j->agent, sizeof(j->agent), store_col_text(s, 4));
		str_copy(j->agent_address, sizeof(j->agent_address),
			 store_col_text(s, 5));
		str_copy(j->blocklisted, sizeof(j->blocklisted),
			 store_col_text(s, 6));
	}
	db_reset(s);
	if (rc != DB_ROW && rc != DB_DONE) {
		*n = 0;
		return store_err(st, "reading the hosts to fence");
	}
	if (*n == 0)
		return 0;
	if (store_begin(st, true) < 0) {
		*n = 0;
		return -1;
	}
	for (size_t i = 0; i < *n; i++) {
		struct fence_job *j = &jobs[i];

		s = store_stmt(st, "UPDATE hosts SET fence_next_ms = ? WHERE "
				   "name = ?");
		if (s == NULL)
			goto fail;
		db_bind_int64(s, 1, now + ctrl->cfg.ha_fence_retry_s * 1000);
		store_bind_text(s, 2, j->host);
		if (store_done(st, s, "scheduling a fence") < 0)
			goto fail;
		if (j->kind == FENCE_HOST &&
		    (job_clusters(st, j) < 0 ||
		     ha_host_task(st, TASK_FENCE, j->host, NULL, NULL, NULL,
			       j->task) < 0))
			goto fail;
	}
	if (store_commit(st) == 0)
		return 0;
	*n = 0;
	return -1;
fail:
	store_rollback(st);
	*n = 0;
	return -1;
}

/* Run argv within the fence time limit: 0 when it exited 0, else -1
 * with j->why saying what failed (what: the step). */
static int run_step(struct ctrl *ctrl, struct fence_job *j, char *const *argv,
		    const char *what)
{
	struct proc_result r = {0};
	int ret = -1;

	if (proc_run(argv, 64 * 1024, ctrl->cfg.ha_fence_timeout_s * 1000,
		     &r) < 0) {
		snprintf(j->why, sizeof(j->why), "%s: %s", what, err_msg());
	} else if (r.status != 0) {
		snprintf(j->why, sizeof(j->why), "%s: exit status %d: %.300s",
			 what, r.status, r.err && r.err[0] ? r.err : r.out);
	} else {
		ret = 0;
	}
	proc_result_free(&r);
	return ret;
}

/* `ceph osd blocklist VERB ADDRESS` on the cluster of monitors mons. */
static int ceph_blocklist(struct ctrl *ctrl, struct fence_job *j,
			  const char *mons, const char *verb,
			  const char *address)
{
	const struct ctrl_config *cfg = &ctrl->cfg;
	char *argv[16];
	char what[768];
	size_t a = 0;

	argv[a++] = "ceph";
	if (cfg->ceph_conf[0]) {
		argv[a++] = "--conf";
		argv[a++] = (char *)cfg->ceph_conf;
	}
	argv[a++] = "--id";
	argv[a++] = (char *)cfg->ceph_id;
	argv[a++] = "--keyring";
	argv[a++] = (char *)cfg->ceph_keyring;
	argv[a++] = "-m";
	argv[a++] = (char *)mons;
	argv[a++] = "osd";
	argv[a++] = "blocklist";
	argv[a++] = (char *)verb;
	argv[a++] = (char *)address;
	argv[a] = NULL;
	snprintf(what, sizeof(what), "ceph osd blocklist %s %s (monitors %s)",
		 verb, address, mons);
	return run_step(ctrl, j, argv, what);
}

/* Phase 2 (no lock) for a failed host: every configured step. */
static void fence_run(struct ctrl *ctrl, struct fence_job *j)
{
	const struct ctrl_config *cfg = &ctrl->cfg;
	size_t used = 0;

	j->ok = false;
	if (j->nmons > 0 && cfg->ceph_keyring[0] == '\0') {
		snprintf(j->why, sizeof(j->why), "its VMs' disks are on Ceph "
			 "and ceph_keyring is not set in controller.conf: the "
			 "controller cannot blocklist the host's Ceph client "
			 "(docs/operations.md \"Fencing\")");
		return;
	}
	if (j->nmons > 0 && j->address[0] == '\0') {
		snprintf(j->why, sizeof(j->why), "its VMs' disks are on Ceph "
			 "and the host has no storage address: set it with "
			 "'finctl host set %s storage_address=IP'", j->host);
		return;
	}
	for (size_t i = 0; i < j->nmons; i++) {
		if (ceph_blocklist(ctrl, j, j->mons[i], "add", j->address) < 0)
			return;
		used += (size_t)snprintf(j->blocklisted + used,
					 used < sizeof(j->blocklisted)
						 ? sizeof(j->blocklisted) - used
						 : 0,
					 "%s %s\n", j->mons[i], j->address);
		if (used >= sizeof(j->blocklisted))
			used = sizeof(j->blocklisted) - 1;
	}
	if (j->agent[0]) {
		char path[CTRL_PATH_MAX + NAME_MAX_LEN + 2];
		char *argv[] = {path, j->host, j->agent_address, NULL};

		snprintf(path, sizeof(path), "%s/%s", cfg->fence_agents_dir,
			 j->agent);
		if (run_step(ctrl, j, argv, "fence agent") < 0)
			return;
	}
	j->ok = true;
}

/* Phase 2 (no lock) for an unfence: `blocklist rm` of each line. */
static void unfence_run(struct ctrl *ctrl, struct fence_job *j)
{
	char *line = j->blocklisted;

	j->ok = false;
	while (*line) {
		char *nl = strchr(line, '\n'), *sp;

		if (nl)
			*nl = '\0';
		sp = strrchr(line, ' ');
		if (sp) {
			*sp = '\0';
			if (ceph_blocklist(ctrl, j, line, "rm", sp + 1) < 0)
				return;
		}
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	j->ok = true;
}

/* Fenced host's VMs restart elsewhere (lock held, transaction open) as
 * soon as no copy of them can run on it any more: at once when it is
 * known off (ha_off: its fence agent exited 0, or an operator's
 * evacuate); else once its agent's self-fence has surely destroyed them
 * (its last heartbeat, plus the longest the controller holds one, plus
 * the agent's self_fence_s, plus HA_SELF_FENCE_MARGIN_MS), the next try
 * put off until then; never by itself when its agent does not
 * self-fence. Nothing when the host is no longer fenced or is being
 * unfenced (it came back before). 0 or -1. */
static int restart_when_safe(struct ctrl *ctrl, const char *host)
{
	struct store *st = ctrl->st;
	int64_t now = time_wall_ms(), hold, due, window;
	char reason[256], why[640];
	struct db_stmt *s;
	bool off;
	int rc = store_find(st, "SELECT ha_off, self_fence_s, last_seen_ms, "
			    "ha_reason FROM hosts WHERE name = ? AND ha_state "
			    "= 'fenced' AND unfence = 0", host, &s,
			    "reading whether a host is off");

	if (rc <= 0)
		return rc;
	off = db_col_int(s, 0) != 0;
	window = db_col_int64(s, 1);
	due = db_col_int64(s, 2);
	str_copy(reason, sizeof(reason), store_col_text(s, 3));
	db_reset(s);
	if (off)
		return ha_restart_host(ctrl, host);
	/* the agent's silence starts at the answer to its last heartbeat,
	 * which a long-poll may hold for up to an interval (30 s at most) */
	hold = ctrl->cfg.heartbeat_interval_s < 30
		       ? ctrl->cfg.heartbeat_interval_s : 30;
	if (window > 0) {
		due += (hold + window) * 1000 + HA_SELF_FENCE_MARGIN_MS;
		if (now >= due)
			return ha_restart_host(ctrl, host);
		snprintf(why, sizeof(why), "%.200s; no fence agent confirmed it "
			 "off: its VMs restart once its agent has fenced "
			 "itself (within %" PRId64 " s of its last answered "
			 "heartbeat), in %" PRId64 " s", reason, window,
			 (due - now + 999) / 1000);
	} else {
		due = now + ctrl->cfg.ha_fence_retry_s * 1000;
		snprintf(why, sizeof(why), "%.200s; its VMs are not restarted "
			 "elsewhere: no fence agent confirmed it off and its "
			 "agent %s, so they may still run there (once it is "
			 "known off: 'finctl host evacuate %s')", reason,
			 window == 0 ? "does not fence itself "
				       "(self_fence_timeout 0)"
				     : "never said how it fences itself (an "
				       "older agent)", host);
	}
	s = store_stmt(st, "UPDATE hosts SET fence_next_ms = ? WHERE name = ?");
	if (s == NULL)
		return -1;
	db_bind_int64(s, 1, due);
	store_bind_text(s, 2, host);
	if (store_done(st, s, "putting off a restart") < 0)
		return -1;
	if (strstr(reason, "; no fence agent") || strstr(reason, "; its VMs"))
		return 0; /* said already */
	s = store_stmt(st, "UPDATE hosts SET ha_reason = ? WHERE name = ?");
	if (s == NULL)
		return -1;
	store_bind_texts(s, 1, (const char *const[]){why, host}, 2);
	if (store_done(st, s, "saying why a restart waits") < 0)
		return -1;
	log_warn("host '%s' %s", host, why);
	return 0;
}

/* Phase 3 (lock held, transaction open): record job j. */
static int fence_record(struct ctrl *ctrl, struct fence_job *j)
{
	struct store *st = ctrl->st;
	char target[96], why[768];
	struct db_stmt *s;
	int rc;

	ha_host_target(target, sizeof(target), j->host);
	if (j->kind == FENCE_RESTART)
		return restart_when_safe(ctrl, j->host);
	if (j->kind == FENCE_UNFENCE) {
		if (!j->ok) {
			log_error("host '%s': unfence failed: %s (tried again "
				  "in %" PRId64 " s)", j->host, j->why,
				  ctrl->cfg.ha_fence_retry_s);
			return audit_event(st, "host.unfence.failed", target,
					   NULL);
		}
		rc = ha_set_state(st, j->host, "fenced", "ok", "unfenced");
		if (rc <= 0)
			return rc;
		s = store_stmt1(st, "UPDATE hosts SET unfence = 0, blocklisted "
				"= '' WHERE name = ?", j->host);
		if (s == NULL || store_done(st, s, "unfencing a host") < 0)
			return -1;
		log_info("host '%s' unfenced: its Ceph client may write again",
			 j->host);
		return audit_event(st, "host.unfenced", target, NULL);
	}
	if (!j->ok) {
		snprintf(why, sizeof(why), "fence failed: %s (tried again in "
			 "%" PRId64 " s; no VM restarts before it succeeds)",
			 j->why, ctrl->cfg.ha_fence_retry_s);
		s = store_stmt(st, "UPDATE hosts SET ha_reason = ? WHERE name "
				   "= ? AND ha_state = 'failed'");
		if (s == NULL)
			return -1;
		store_bind_texts(s, 1, (const char *const[]){why, j->host}, 2);
		if (store_done(st, s, "recording a failed fence") < 0 ||
		    task_end(st, j->task, TASK_FAILED, why) < 0)
			return -1;
		log_error("host '%s': %s", j->host, why);
		return audit_event(st, "host.fence.failed", target, NULL);
	}
	snprintf(why, sizeof(why), "fenced:%s%s%s", j->nmons ? " Ceph client "
		 "blocklisted" : "", j->agent[0] ? " fence agent ran" : "",
		 j->nmons || j->agent[0] ? "" : " no fence step configured");
	rc = ha_set_state(st, j->host, "failed", "fenced", why);
	if (rc <= 0)
		return rc < 0 ? -1 : task_end(st, j->task, TASK_FAILED,
					      "the host left the failed "
					      "state") < 0 ? -1 : 0;
	/* a fence agent that exited 0 said the host is off */
	s = store_stmt(st, "UPDATE hosts SET blocklisted = ?, ha_off = CASE "
			   "WHEN ? != '' THEN 1 ELSE ha_off END WHERE name = ?");
	if (s == NULL)
		return -1;
	store_bind_texts(s, 1, (const char *const[]){j->blocklisted, j->agent,
						     j->host}, 3);
	if (store_done(st, s, "recording a fence") < 0 ||
	    task_end(st, j->task, TASK_DONE, NULL) < 0)
		return -1;
	log_warn("host '%s' %s", j->host, why);
	if (audit_event(st, "host.fenced", target, NULL) < 0)
		return -1;
	return restart_when_safe(ctrl, j->host);
}

int ha_fence_pass(struct ctrl *ctrl)
{
	struct fence_job *jobs = calloc(HA_FENCE_MAX, sizeof(*jobs));
	uint64_t seq = 0;
	size_t n = 0;
	int ret = -1;

	if (jobs == NULL)
		return err_set("out of memory");
	pthread_mutex_lock(&ctrl->lock);
	ret = fence_plan(ctrl, jobs, &n);
	if (ret == 0 && n > 0)
		seq = ctrl_committed(ctrl);
	store_reset_all(ctrl->st);
	pthread_mutex_unlock(&ctrl->lock);
	if (ret < 0 || n == 0)
		goto out;
	/* the commands run without the lock: a fence agent may take its
	 * whole time limit, and requests go on meanwhile */
	for (size_t i = 0; i < n; i++) {
		if (jobs[i].kind == FENCE_HOST)
			fence_run(ctrl, &jobs[i]);
		else if (jobs[i].kind == FENCE_UNFENCE)
			unfence_run(ctrl, &jobs[i]);
	}
	pthread_mutex_lock(&ctrl->lock);
	ret = store_begin(ctrl->st, true);
	for (size_t i = 0; i < n && ret == 0; i++)
		if (fence_record(ctrl, &jobs[i]) < 0) {
			err_prefix("host '%s'", jobs[i].host);
			ret = -1;
		}
	if (ret == 0)
		ret = store_commit(ctrl->st);
	else
		store_rollback(ctrl->st);
	if (ret == 0)
		seq = ctrl_committed(ctrl);
	store_reset_all(ctrl->st);
	pthread_mutex_unlock(&ctrl->lock);
out:
	if (seq && ctrl_make_durable(ctrl, seq) < 0 && ret == 0)
		ret = -1;
	free(jobs);
	return ret;
}


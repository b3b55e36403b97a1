/* What the nodes report and what it settles (see report.h). */
#include <cjson/cJSON.h>

#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "controller/audit.h"
#include "controller/db.h"
#include "controller/ha.h"
#include "controller/report.h"
#include "controller/store.h"

/* An id or a host name as report_ids() collects them. */
typedef char report_id[TASK_ID_LEN > NAME_MAX_LEN + 1 ? TASK_ID_LEN
						     : NAME_MAX_LEN + 1];

/* Step s (bound, one text column) to its end, collecting the column into
 * *out (an array of *n; the caller frees it, also when *n is 0); s is
 * reset. 0 or -1. Collecting first lets the caller write the tables the
 * statement reads. */
static int report_ids(struct store *st, struct db_stmt *s, report_id **out,
		      size_t *n)
{
	struct buf rows;
	report_id id;
	int rc;

	buf_init(&rows, 0);
	*out = NULL;
	*n = 0;
	while ((rc = db_step(s)) == DB_ROW) {
		str_copy(id, sizeof(id), store_col_text(s, 0));
		if (buf_append(&rows, id, sizeof(id)) < 0)
			break;
	}
	if (store_rows_end(st, s, rc, &rows, "reading the nodes' reports") < 0)
		return -1;
	*n = rows.len / sizeof(id);
	*out = (report_id *)(void *)rows.data; /* malloc'd: aligned */
	return 0;
}

/* report_ids() of the cached statement sql with key bound to ?1. */
static int report_ids_of(struct store *st, const char *sql, const char *key,
			 report_id **out, size_t *n)
{
	struct db_stmt *s = store_stmt(st, sql);

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, key);
	return report_ids(st, s, out, n);
}

/* Audit action on target "host:node/vm:vm_id". */
static int report_audit(struct store *st, const char *action,
			const char *node, const char *vm_id,
			const char *request_id)
{
	char target[128];

	snprintf(target, sizeof(target), "host:%.63s/vm:%.40s", node, vm_id);
	return audit_event(st, action, target, request_id);
}

/* store_find() with two keys, ?1 and ?2. */
static int report_find(struct store *st, const char *sql, const char *k1,
		       const char *k2, struct db_stmt **s, const char *what)
{
	*s = store_stmt(st, sql);
	if (*s == NULL)
		return -1;
	store_bind_text(*s, 1, k1);
	store_bind_text(*s, 2, k2);
	return store_row(st, *s, what);
}

int report_seen(struct store *st, const char *node, const char *vm_id,
		enum task_seen *out)
{
	struct db_stmt *s;
	int rc = report_find(st, "SELECT state IN ('running','blocked') FROM "
			     "reports WHERE host = ? AND vm_id = ?", node,
			     vm_id, &s, "reading a node's report");

	if (rc < 0)
		return -1;
	*out = rc == 0 ? TASK_SEEN_ABSENT
	       : db_col_int(s, 0) ? TASK_SEEN_RUNNING
					  : TASK_SEEN_PRESENT;
	if (rc > 0)
		db_reset(s);
	return 0;
}

int report_conflict(struct store *st, const char *vm_id, const char *host,
		    char *why, size_t size)
{
	/* The target of an open migration holds the incoming domain, paused
	 * until libvirt switches over and running after: libvirt pauses the
	 * source before it resumes the target, so the two never run at
	 * once, and two nodes' reports that both say running only differ
	 * in age (the source's list from before its final phase, the
	 * target's from after). Judged once the task has ended. A copy
	 * being evicted (ha_evict()) that does not run, paused, is on its
	 * way out, not a second VM. */
	struct db_stmt *s;
	int rc = report_find(st,
		"SELECT r.host, r.state FROM reports r WHERE r.vm_id = ?1 AND "
		"r.host != ?2 AND r.state IN " REPORT_SQL_ACTIVE " AND "
		"r.host NOT IN (SELECT target_host FROM tasks WHERE vm_id = ?1 "
		"AND type = 'migrate' AND state IN ('pending','running')) "
		"AND NOT (r.state NOT IN ('running','blocked') AND EXISTS "
		"(SELECT 1 FROM ha_evictions e WHERE e.vm_id = ?1 AND e.host = "
		"r.host)) ORDER BY r.host LIMIT 1", vm_id, host,
		&s, "looking for a VM on two nodes");

	if (rc > 0) {
		snprintf(why, size, "conflict: recorded on node '%s' but also "
			 "reported %s by node '%s'; it is left out of every "
			 "node's desired state until one of them no longer "
			 "has it", host, store_col_text(s, 1),
			 store_col_text(s, 0));
		db_reset(s);
	}
	return rc;
}

/* vm_update()'s statement that moves a VM, and its claim, to host ?1 */
#define VM_MOVE_SQL \
	"UPDATE vms SET host = ?1, pool = (SELECT pool FROM hosts WHERE " \
	"name = ?1), updated_ms = ?2 WHERE id = ?3"

/* Run sql, an UPDATE of VM vm_id (?3) setting a column to value (?1) and
 * updated_ms to now (?2). 0 or -1. */
static int vm_update(struct store *st, const char *sql, const char *value,
		     const char *vm_id, const char *what)
{
	struct db_stmt *s = store_stmt(st, sql);

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, value);
	db_bind_int64(s, 2, time_wall_ms());
	store_bind_text(s, 3, vm_id);
	return store_done(st, s, what);
}

int report_flag(struct ctrl *ctrl, const char *vm_id, const char *host,
		const char *request_id)
{
	char why[512], target[96];
	int rc = report_conflict(ctrl->st, vm_id, host, why, sizeof(why));

	if (rc <= 0)
		return rc;
	if (vm_update(ctrl->st, "UPDATE vms SET error = ?1, updated_ms = ?2 "
		      "WHERE id = ?3 AND error != ?1", why, vm_id,
		      "flagging a VM") < 0)
		return -1;
	if (db_changes(store_db(ctrl->st)) == 0)
		return 0;
	log_warn("vm '%s': %s", vm_id, why);
	snprintf(target, sizeof(target), "vm:%.40s", vm_id);
	if (audit_event(ctrl->st, "vm.conflict", target, request_id) < 0)
		return -1;
	return ctrl_bump_generation(ctrl, host);
}

/* The agent's word on task id among results, or NULL (none). */
static const struct report_result *
result_of(const struct report_result *results, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(results[i].task_id, id) == 0)
			return &results[i];
	return NULL;
}


/* Settle one open migration t (see report_settle()). 0 or -1. */
static int settle_one(struct ctrl *ctrl, const struct task *t,
		      bool from_source, const struct report_result *r,
		      const char *request_id)
{
	struct store *st = ctrl->st;
	enum task_seen src, dst;
	enum task_state to;
	char action[48], target[64];
	int rc;

	if (report_seen(st, t->source_host, t->vm_id, &src) < 0 ||
	    report_seen(st, t->target_host, t->vm_id, &dst) < 0)
		return -1;
	if (!task_settle_migration(t->state, from_source,
				   r ? r->state : TASK_PENDING, src, dst, &to))
		return 0;
	if (to == TASK_RUNNING)
		rc = task_advance(st, t->id, to, NULL);
	else
		rc = task_end(st, t->id, to,
			      to == TASK_DONE ? ""
			      : r == NULL ? "interrupted: the source's agent no "
					    "longer runs the migration and the "
					    "VM stayed on the source"
			      : r->error[0] ? r->error
					    : "failed");
	if (rc > 0)
		log_debug("%s", err_msg());
	if (rc != 0 || to == TASK_RUNNING)
		return rc < 0 ? -1 : 0;
	if (to == TASK_DONE && (r == NULL || r->state != TASK_DONE))
		log_info("migration %s of vm '%s' settled from the nodes' "
			 "reports: it runs on '%s'", t->id, t->vm_id,
			 t->target_host);
	/* the VM, and its claim, move to the target */
	if ((to == TASK_DONE &&
	     vm_update(st, VM_MOVE_SQL, t->target_host, t->vm_id,
		       "moving the VM") < 0) ||
	    ctrl_bump_generation(ctrl, t->target_host) < 0 ||
	    ctrl_bump_generation(ctrl, t->source_host) < 0)
		return -1;
	snprintf(action, sizeof(action), "task.migrate.%s",
		 task_state_name(to));
	snprintf(target, sizeof(target), "task:%s", t->id);
	return audit_event(st, action, target, request_id);
}

/* How long after its timeout a migration may still complete on its nodes
 * and be settled from their reports (ms): past the agent's own time
 * limit, which aborts it (docs/controller.md "Task timeouts"). */
#define REPORT_LATE_MS (86400LL * 1000)

/* Migration id failed (its agent said so, or the leader timed it out:
 * task.h) while its VM is still recorded on its source: when the nodes
 * now show it completed after all (the target runs the VM; the source
 * lists it no more, only shut off, or paused after a pre-copy migration:
 * libvirt finished the migration but the source's libvirtd died before
 * it killed or undefined its copy), the VM and
 * its claim move to the target, as settle_one() does for an open one,
 * and a copy left on the source is evicted (ha.h ha_evictions: its agent
 * destroys and undefines it and removes only its own files); the task
 * stays failed (a final state), the move is audited task.migrate.late.
 * 0 or -1. */
static int settle_late(struct ctrl *ctrl, const char *id,
		       const char *request_id)
{
	struct store *st = ctrl->st;
	enum task_seen src, dst;
	struct db_stmt *s;
	struct task t;
	char target[64];
	int rc = task_load(st, id, &t);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (report_seen(st, t.source_host, t.vm_id, &src) < 0 ||
	    report_seen(st, t.target_host, t.vm_id, &dst) < 0)
		return -1;
	if (dst != TASK_SEEN_RUNNING || src == TASK_SEEN_RUNNING)
		return 0;
	if (src == TASK_SEEN_PRESENT) {
		/* a copy shut off, or paused by a pre-copy migration whose
		 * target was resumed (it got the whole guest; libvirt
		 * resumes the target only then): stale. One paused by a
		 * post-copy cut short may hold pages the target lacks: not
		 * given up on. */
		rc = report_find(st, "SELECT 1 FROM reports r JOIN tasks t ON "
				 "t.id = ?2 JOIN vms v ON v.id = t.vm_id LEFT "
				 "JOIN pools p ON p.name = v.pool WHERE r.host = "
				 "t.source_host AND r.vm_id = ?1 AND (r.state NOT "
				 "IN " REPORT_SQL_ACTIVE " OR (r.state = 'paused' "
				 "AND coalesce(t.postcopy, v.migration_postcopy, "
				 "p.migration_postcopy, 0) = 0))", t.vm_id, t.id,
				 &s, "reading the source's copy");
		if (rc <= 0)
			return rc;
		db_reset(s);
	}
	log_warn("migration %s of vm '%s' failed but completed on the nodes: "
		 "the VM runs on '%s', recorded there now%s", t.id, t.vm_id,
		 t.target_host, src == TASK_SEEN_PRESENT ? "; the copy left on "
		 "the source (shut off, or paused by pre-copy) is evicted" : "");
	if (vm_update(st, VM_MOVE_SQL, t.target_host, t.vm_id,
		      "moving the VM") < 0)
		return -1;
	if (src == TASK_SEEN_PRESENT && ha_evict(st, t.vm_id, t.source_host) < 0)
		return -1;
	if (ctrl_bump_generation(ctrl, t.target_host) < 0 ||
	    ctrl_bump_generation(ctrl, t.source_host) < 0)
		return -1;
	snprintf(target, sizeof(target), "task:%s", t.id);
	return audit_event(st, "task.migrate.late", target, request_id);
}

/* The failed migrations settle_late() looks at for node ?1, failed after
 * ?2 (ms), as the FROM and WHERE of a query over tasks t (see below). */
#define LATE_SQL_FROM \
	"FROM tasks t JOIN vms v ON v.id = t.vm_id AND v.host = " \
	"t.source_host WHERE t.updated_ms > ?2 AND t.type = 'migrate' AND " \
	"t.state = 'failed' AND (t.source_host = ?1 OR t.target_host = ?1) " \
	"AND t.seq = (SELECT max(m.seq) FROM tasks m WHERE m.vm_id = " \
	"t.vm_id AND m.type = 'migrate') AND NOT EXISTS (SELECT 1 FROM " \
	"tasks o WHERE o.vm_id = t.vm_id AND o.type IN ('migrate','reboot') " \
	"AND o.state IN ('pending','running'))"

/* The failed migrations settle_late() looks at for node: the VM's latest
 * migration, failed (or timed out) within REPORT_LATE_MS, from or to
 * node, its VM still on the source and busy with no other agent task. */
static int settle_late_all(struct ctrl *ctrl, const char *node,
			   const char *request_id)
{
	struct db_stmt *s = store_stmt(ctrl->st, "SELECT t.id " LATE_SQL_FROM
				       " ORDER BY t.seq");
	report_id *ids = NULL;
	size_t nids = 0;
	int ret = 0;

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, node);
	db_bind_int64(s, 2, time_wall_ms() - REPORT_LATE_MS);
	if (report_ids(ctrl->st, s, &ids, &nids) < 0)
		return -1;
	for (size_t i = 0; i < nids && ret == 0; i++)
		ret = settle_late(ctrl, ids[i], request_id);
	free(ids);
	return ret;
}

int report_settle(struct ctrl *ctrl, const char *node,
		  const struct report_result *results, size_t n, bool listed,
		  const char *request_id)
{
	report_id *ids = NULL;
	size_t nids = 0;
	int ret = 0;

	if (report_ids_of(ctrl->st, "SELECT id FROM tasks WHERE type = "
			  "'migrate' AND state IN ('pending','running') AND "
			  "(source_host = ?1 OR target_host = ?1) ORDER BY seq",
			  node, &ids, &nids) < 0)
		return -1;
	for (size_t i = 0; i < nids && ret == 0; i++) {
		struct task t;
		int rc = task_load(ctrl->st, ids[i], &t);

		if (rc < 0)
			ret = -1;
		else if (rc == 0) {
			bool src = strcmp(t.source_host, node) == 0;

			/* the source-only rule (a task its agent forgot)
			 * needs the source's own fresh list */
			ret = settle_one(ctrl, &t, src && listed,
					 src ? result_of(results, n, t.id) : NULL,
					 request_id);
		}
	}
	free(ids);
	if (ret < 0)
		return -1;
	/* a copy evicted by settle_late() that node's fresh list no longer
	 * names is gone (a fenced node's evictions are ha.c's) */
	if (listed &&
	    store_run(ctrl->st, "DELETE FROM ha_evictions WHERE host = ?1 AND "
		      "vm_id NOT IN (SELECT vm_id FROM reports WHERE host = "
		      "?1) AND NOT EXISTS (SELECT 1 FROM hosts WHERE name = ?1 "
		      "AND ha_state = 'fenced')", node, "forgetting evictions")
	    < 0)
		return -1;
	return settle_late_all(ctrl, node, request_id);
}

int report_quiet(struct store *st, const char *node, int64_t *gen)
{
	struct db_stmt *s = store_stmt(st,
		"SELECT h.generation FROM hosts h WHERE h.name = ?1 AND "
		"h.state = 'up' AND h.status = 'ok' AND h.ha_state = 'ok' AND "
		"NOT EXISTS (SELECT 1 FROM tasks t WHERE t.state IN ('pending',"
		"'running') AND (t.source_host = ?1 OR t.target_host = ?1)) AND "
		"NOT EXISTS (SELECT 1 " LATE_SQL_FROM ") AND "
		"NOT EXISTS (SELECT 1 FROM reports r WHERE r.host = ?1 AND "
		"(r.orphan_ms IS NOT NULL OR r.destroy_ms IS NOT NULL OR NOT "
		"EXISTS (SELECT 1 FROM vms w WHERE w.id = r.vm_id AND w.host = "
		"?1 AND w.desired != 'deleted'))) AND "
		"NOT EXISTS (SELECT 1 FROM reports r JOIN vms w ON w.id = "
		"r.vm_id WHERE w.host = ?1 AND r.host != ?1) AND "
		"NOT EXISTS (SELECT 1 FROM ha_evictions e WHERE e.host = ?1) AND "
		"NOT EXISTS (SELECT 1 FROM vms w WHERE w.host = ?1 AND "
		"w.desired = 'deleted')");
	int rc;

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, node);
	db_bind_int64(s, 2, time_wall_ms() - REPORT_LATE_MS);
	rc = db_step(s);
	if (rc == DB_ROW)
		*gen = db_col_int64(s, 0);
	db_reset(s);
	if (rc != DB_ROW && rc != DB_DONE)
		return store_err(st, "reading whether a host is quiet");
	return rc == DB_ROW;
}

/* Run sql (binding node and arg) for the vm_ids it yields, then, for each,
 * set column (orphan_ms or destroy_ms, by stamp) to now and audit action.
 * The number changed into *changed. 0 or -1. */
static int orphans_mark(struct ctrl *ctrl, const char *node, struct db_stmt *q,
			struct db_stmt *(*stamp)(struct store *),
			const char *action, const char *request_id,
			size_t *changed)
{
	report_id *ids = NULL;
	int ret = 0;

	if (q == NULL || report_ids(ctrl->st, q, &ids, changed) < 0)
		return -1;
	for (size_t i = 0; i < *changed && ret == 0; i++) {
		struct db_stmt *s = stamp(ctrl->st);

		if (s == NULL) {
			ret = -1;
			break;
		}
		db_bind_int64(s, 1, time_wall_ms());
		store_bind_text(s, 2, node);
		store_bind_text(s, 3, ids[i]);
		log_warn("node '%s' runs fincloud domain %s with no VM behind "
			 "it: %s", node, ids[i], action);
		if (store_done(ctrl->st, s, "recording an orphan") < 0 ||
		    report_audit(ctrl->st, action, node, ids[i],
				 request_id) < 0)
			ret = -1;
	}
	free(ids);
	return ret;
}

static struct db_stmt *stamp_orphan(struct store *st)
{
	return store_stmt(st, "UPDATE reports SET orphan_ms = ? WHERE host = ? "
			      "AND vm_id = ?");
}

static struct db_stmt *stamp_destroy(struct store *st)
{
	return store_stmt(st, "UPDATE reports SET destroy_ms = ? WHERE host = "
			      "? AND vm_id = ?");
}

int report_orphans(struct ctrl *ctrl, const char *node, int64_t grace_ms,
		   const char *request_id)
{
	struct store *st = ctrl->st;
	struct db_stmt *s;
	size_t n = 0;

	if (store_run(st, "UPDATE reports SET orphan_ms = NULL, destroy_ms = "
		      "NULL WHERE host = ? AND orphan_ms IS NOT NULL AND vm_id "
		      "IN (SELECT id FROM vms)", node, "forgetting orphans") < 0)
		return -1;
	s = store_stmt(st, "SELECT vm_id FROM reports WHERE host = ? AND "
			   "orphan_ms IS NULL AND NOT EXISTS (SELECT 1 FROM "
			   "vms WHERE vms.id = reports.vm_id)");
	if (s)
		store_bind_text(s, 1, node);
	if (orphans_mark(ctrl, node, s, stamp_orphan, "host.orphan",
			 request_id, &n) < 0)
		return -1;
	s = store_stmt(st, "SELECT vm_id FROM reports WHERE host = ? AND "
			   "destroy_ms IS NULL AND orphan_ms <= ?");
	if (s) {
		store_bind_text(s, 1, node);
		db_bind_int64(s, 2, time_wall_ms() - grace_ms);
	}
	if (orphans_mark(ctrl, node, s, stamp_destroy, "host.orphan.destroy",
			 request_id, &n) < 0)
		return -1;
	return n > 0 ? ctrl_bump_generation(ctrl, node) : 0;
}

cJSON *report_orphans_json(struct store *st, const char *node)
{
	struct db_stmt *s = store_stmt(st, "SELECT vm_id, name, state, "
				     "orphan_ms, destroy_ms FROM reports WHERE "
				     "host = ? AND orphan_ms IS NOT NULL ORDER "
				     "BY vm_id");
	cJSON *a = cJSON_CreateArray();
	int rc = DB_ERROR;

	if (s)
		store_bind_text(s, 1, node);
	while (s && (rc = db_step(s)) == DB_ROW) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "vm_id", store_col_text(s, 0));
		cJSON_AddStringToObject(o, "name", store_col_text(s, 1));
		cJSON_AddStringToObject(o, "state", store_col_text(s, 2));
		cJSON_AddNumberToObject(o, "since_ms",
					(double)db_col_int64(s, 3));
		if (db_col_type(s, 4) == DB_NULL)
			cJSON_AddNullToObject(o, "destroy_ms");
		else
			cJSON_AddNumberToObject(o, "destroy_ms",
						(double)db_col_int64(s, 4));
		cJSON_AddItemToArray(a, o);
	}
	if (s && rc != DB_DONE)
		store_err(st, "reading the host's orphans");
	if (s)
		db_reset(s);
	if (rc != DB_DONE) {
		cJSON_Delete(a);
		a = NULL;
	}
	return a;
}

int report_bump_reporters(struct ctrl *ctrl, const char *vm_id)
{
	report_id *hosts = NULL;
	size_t n = 0;
	int ret = 0;

	if (report_ids_of(ctrl->st, "SELECT host FROM reports WHERE vm_id = ?",
			  vm_id, &hosts, &n) < 0)
		return -1;
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = ctrl_bump_generation(ctrl, hosts[i]);
	free(hosts);
	return ret;
}

int report_metrics(struct store *st, struct buf *b)
{
	struct db_stmt *s = store_stmt(st, "SELECT (SELECT count(*) FROM reports "
				     "WHERE orphan_ms IS NOT NULL), (SELECT "
				     "count(*) FROM vms WHERE error LIKE "
				     "'conflict:%')");
	int rc;

	if (s == NULL)
		return -1;
	rc = store_row(st, s, "counting orphans and conflicts");
	if (rc == 0)
		rc = err_set("counting orphans and conflicts: no row");
	if (rc < 0)
		return -1;
	buf_printf(b, "# HELP fincloud_orphan_domains fincloud domains a node "
		   "reports with no VM behind them.\n"
		   "# TYPE fincloud_orphan_domains gauge\n"
		   "fincloud_orphan_domains %" PRId64 "\n"
		   "# HELP fincloud_vm_conflicts VMs another node than their "
		   "host reports running.\n"
		   "# TYPE fincloud_vm_conflicts gauge\n"
		   "fincloud_vm_conflicts %" PRId64 "\n",
		   (int64_t)db_col_int64(s, 0),
		   (int64_t)db_col_int64(s, 1));
	db_reset(s);
	return 0;
}

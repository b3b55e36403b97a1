/* When a host dies: detection, fencing, restart elsewhere (see ha.h). */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "controller/audit.h"
#include "controller/db.h"
#include "controller/ha.h"
#include "controller/ha_int.h"
#include "controller/hapolicy.h"
#include "controller/netstate.h"
#include "controller/place.h"
#include "controller/store.h"
#include "controller/task.h"

/* The most hosts one detection pass looks at. */
#define HA_HOSTS_MAX 4096

void ha_host_target(char *out, size_t size, const char *host)
{
	snprintf(out, size, "host:%.63s", host);
}

/* End host's open task of type (suspect, fence) in end with why. */
static int end_ha_host_task(struct store *st, const char *host,
			 enum task_type type, enum task_state end,
			 const char *why)
{
	struct db_stmt *s;
	char id[TASK_ID_LEN];
	int rc;

	s = store_stmt(st, "SELECT id FROM tasks WHERE type = ? AND "
			   "source_host = ? AND state IN ('pending','running') "
			   "ORDER BY seq LIMIT 1");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, task_type_name(type));
	store_bind_text(s, 2, host);
	rc = store_row(st, s, "reading a host's HA task");
	if (rc <= 0)
		return rc;
	str_copy(id, sizeof(id), store_col_text(s, 0));
	db_reset(s);
	return task_end(st, id, end, why) < 0 ? -1 : 0;
}

/* A task of type about host (and VM vm, may be NULL) that starts now;
 * its id into id. */
int ha_host_task(struct store *st, enum task_type type, const char *host,
		     const char *vm, const char *tenant, const char *target,
		     char id[TASK_ID_LEN])
{
	struct task_new t = {.type = type, .vm_id = vm, .tenant = tenant,
			     .source_host = host, .target_host = target};

	return task_create(st, &t, id);
}

/* Set host's HA state from `from` (SQL list) to `to` with why: 1 when
 * it moved, 0 when it was not in from, -1. */
int ha_set_state(struct store *st, const char *host, const char *from,
		     const char *to, const char *why)
{
	struct db_stmt *s = store_stmt(st, "UPDATE hosts SET ha_state = ?1, "
				     "ha_reason = ?2, ha_since_ms = ?3 WHERE "
				     "name = ?4 AND instr(?5, ',' || ha_state "
				     "|| ',') > 0");
	char list[64];

	if (s == NULL)
		return -1;
	snprintf(list, sizeof(list), ",%s,", from);
	store_bind_texts(s, 1, (const char *const[]){to, why}, 2);
	db_bind_int64(s, 3, time_wall_ms());
	store_bind_texts(s, 4, (const char *const[]){host, list}, 2);
	if (store_done(st, s, "changing a host's HA state") < 0)
		return -1;
	return db_changes(store_db(st)) > 0;
}

/* Host heard again while suspect: ok, its suspect task failed. */
static int back_ok(struct store *st, const char *host, const char *rid)
{
	char target[96];
	int rc = ha_set_state(st, host, "suspect", "ok", "heartbeats again");

	if (rc <= 0)
		return rc;
	ha_host_target(target, sizeof(target), host);
	log_info("host '%s' heartbeats again: no longer suspect", host);
	if (end_ha_host_task(st, host, TASK_SUSPECT, TASK_FAILED,
			  "the host heartbeats again: not failed") < 0)
		return -1;
	return audit_event(st, "host.recovered", target, rid);
}

int ha_fail_host(struct store *st, const char *host, const char *why,
		 const char *request_id)
{
	char target[96];
	struct db_stmt *s;
	int rc = ha_set_state(st, host, "ok,suspect", "failed", why);

	if (rc <= 0)
		return rc;
	/* a new failure: not known off until a fence agent or an
	 * operator says so */
	s = store_stmt(st, "UPDATE hosts SET state = 'down', fence_next_ms = 0, "
			   "ha_off = 0 WHERE name = ?");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, host);
	if (store_done(st, s, "marking a failed host down") < 0)
		return -1;
	s = store_stmt(st, "UPDATE vms SET state = 'unknown', updated_ms = ? "
			   "WHERE host = ? AND state != 'lost'");
	if (s == NULL)
		return -1;
	db_bind_int64(s, 1, time_wall_ms());
	store_bind_text(s, 2, host);
	if (store_done(st, s, "marking a failed host's VMs unknown") < 0 ||
	    end_ha_host_task(st, host, TASK_SUSPECT, TASK_DONE, why) < 0)
		return -1;
	ha_host_target(target, sizeof(target), host);
	log_warn("host '%s' failed: %s; it is fenced before any of its VMs "
		 "restarts", host, why);
	if (audit_event(st, "host.failed", target, request_id) < 0)
		return -1;
	return 1;
}

/* ---------------------------------------------------------- detection */

struct seen_row {
	char name[NAME_MAX_LEN + 1];
	char pool[NAME_MAX_LEN + 1];
	char reason[256];
};

/* Apply verdict v of host r (h: as detection saw it) in the open
 * transaction. */
static int apply_verdict(struct store *st, const struct seen_row *r,
			 const struct ha_seen *h, const struct ha_verdict *v)
{
	char target[96], id[TASK_ID_LEN];
	struct db_stmt *s;
	int rc;

	ha_host_target(target, sizeof(target), r->name);
	if (v->held) {
		if (v->why[0] == '\0' || strcmp(r->reason, v->why) == 0)
			return 0; /* said already */
		s = store_stmt(st, "UPDATE hosts SET ha_reason = ? WHERE name = "
				   "? AND ha_state = 'suspect'");
		if (s == NULL)
			return -1;
		store_bind_texts(s, 1, (const char *const[]){v->why, r->name},
				 2);
		if (store_done(st, s, "holding a host suspect") < 0)
			return -1;
		log_warn("host '%s': %s", r->name, v->why);
		return audit_event(st, "host.ha.held", target, NULL);
	}
	if (v->to == h->state)
		return 0;
	if (v->to == HA_OK)
		return back_ok(st, r->name, NULL) < 0 ? -1 : 0;
	if (v->to == HA_FAILED)
		return ha_fail_host(st, r->name, v->why, NULL) < 0 ? -1 : 0;
	/* ok -> suspect, unless a heartbeat came in between */
	s = store_stmt(st, "UPDATE hosts SET ha_state = 'suspect', ha_reason "
			   "= ?, ha_since_ms = ? WHERE name = ? AND ha_state = "
			   "'ok' AND last_seen_ms = ?");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, v->why);
	db_bind_int64(s, 2, time_wall_ms());
	store_bind_text(s, 3, r->name);
	db_bind_int64(s, 4, h->last_seen_ms);
	if (store_done(st, s, "marking a host suspect") < 0)
		return -1;
	if (db_changes(store_db(st)) == 0)
		return 0;
	rc = ha_host_task(st, TASK_SUSPECT, r->name, NULL, NULL, NULL, id);
	if (rc < 0)
		return -1;
	log_warn("host '%s' is suspect: %s", r->name, v->why);
	return audit_event(st, "host.suspect", target, NULL);
}

int ha_detect_pass(struct ctrl *ctrl)
{
	struct store *st = ctrl->st;
	struct ha_rules rules = {
		.interval_ms = ctrl->cfg.heartbeat_interval_s * 1000,
		.suspect_intervals = ctrl->cfg.ha_suspect_intervals,
		.fail_intervals = ctrl->cfg.ha_fail_intervals,
	};
	struct seen_row *rows = NULL;
	struct ha_seen *seen = NULL;
	struct ha_verdict *v = NULL;
	size_t n = 0, cap = 0;
	struct db_stmt *s;
	bool change = false;
	int rc = DB_ERROR, ret = -1;

	s = store_stmt(st, "SELECT name, pool, ha_state, last_seen_ms, "
			   "ha_reason FROM hosts ORDER BY name LIMIT 4096");
	if (s == NULL)
		return -1;
	while (n < HA_HOSTS_MAX && (rc = db_step(s)) == DB_ROW) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			void *a = realloc(rows, nc * sizeof(*rows));
			void *b = a ? realloc(seen, nc * sizeof(*seen)) : NULL;

			if (a)
				rows = a;
			if (b)
				seen = b;
			if (a == NULL || b == NULL) {
				err_set("out of memory");
				rc = DB_NOMEM;
				break;
			}
			cap = nc;
		}
		str_copy(rows[n].name, sizeof(rows[n].name),
			 store_col_text(s, 0));
		str_copy(rows[n].pool, sizeof(rows[n].pool),
			 store_col_text(s, 1));
		str_copy(rows[n].reason, sizeof(rows[n].reason),
			 store_col_text(s, 4));
		if (ha_state_parse(store_col_text(s, 2), &seen[n].state) < 0)
			seen[n].state = HA_FENCED; /* unknown: leave it */
		seen[n].last_seen_ms = db_col_int64(s, 3);
		seen[n].held = seen[n].state == HA_SUSPECT &&
			       strncmp(rows[n].reason, "partition guard:",
				       16) == 0;
		n++;
	}
	if (rc != DB_ROW && rc != DB_DONE && rc != DB_NOMEM)
		store_err(st, "reading the hosts' liveness");
	db_reset(s);
	if (rc != DB_ROW && rc != DB_DONE)
		goto out;
	for (size_t i = 0; i < n; i++)
		seen[i].pool = rows[i].pool;
	v = calloc(n + 1, sizeof(*v));
	if (v == NULL) {
		err_set("out of memory");
		goto out;
	}
	ha_detect(seen, n, time_wall_ms(), &rules, v);
	for (size_t i = 0; i < n; i++)
		if (v[i].to != seen[i].state ||
		    (v[i].held && v[i].why[0] &&
		     strcmp(v[i].why, rows[i].reason) != 0))
			change = true;
	if (!change) {
		ret = 0;
		goto out;
	}
	if (store_begin(st, true) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (apply_verdict(st, &rows[i], &seen[i], &v[i]) < 0) {
			err_prefix("host '%s'", rows[i].name);
			store_rollback(st);
			goto out;
		}
	if (store_commit(st) < 0)
		goto out;
	ret = 0;
out:
	free(rows);
	free(seen);
	free(v);
	return ret;
}

/* ------------------------------------------------------------ restart */

/* One VM of a fenced host that HA acts on. */
struct ha_vm {
	char id[TASK_ID_LEN];
	char tenant[NAME_MAX_LEN + 1];
	char group[NAME_MAX_LEN + 1];
	char pool[NAME_MAX_LEN + 1];
	char desired[16];
	char last[32];   /* its last reported (or recorded) state */
	char error[256]; /* its error now */
	int64_t req[3];
	bool ceph;
};

/* The VMs with ha = restart still recorded on host (not lost), highest
 * priority first, into *out (caller frees) and *n. */
static int ha_vms(struct store *st, const char *host, struct ha_vm **out,
		  size_t *n)
{
	struct db_stmt *s = store_stmt1(st, "SELECT v.id, v.tenant, "
				      "coalesce(v.grp, ''), v.pool, v.desired, "
				      "coalesce((SELECT r.state FROM reports r "
				      "WHERE r.host = v.host AND r.vm_id = v.id), "
				      "v.state), coalesce(v.error, ''), v.vcpus, "
				      "v.mem_mib, v.disk_gib, coalesce(p.type, "
				      "'local') = 'ceph' FROM vms v LEFT JOIN "
				      "storage_pools p ON p.name = v.storage "
				      "WHERE v.host = ? AND v.ha = 'restart' AND "
				      "v.desired != 'deleted' AND v.state != "
				      "'lost' ORDER BY v.ha_priority DESC, v.seq",
				      host);
	struct ha_vm *a = NULL;
	size_t cap = 0;
	int rc = DB_ERROR;

	*n = 0;
	if (s == NULL)
		return -1;
	while ((rc = db_step(s)) == DB_ROW) {
		struct ha_vm *v;

		if (*n == cap) {
			void *b = realloc(a, (cap = cap ? cap * 2 : 16) *
						     sizeof(*a));
			if (b == NULL) {
				rc = DB_NOMEM;
				break;
			}
			a = b;
		}
		v = &a[(*n)++];
		str_copy(v->id, sizeof(v->id), store_col_text(s, 0));
		str_copy(v->tenant, sizeof(v->tenant), store_col_text(s, 1));
		str_copy(v->group, sizeof(v->group), store_col_text(s, 2));
		str_copy(v->pool, sizeof(v->pool), store_col_text(s, 3));
		str_copy(v->desired, sizeof(v->desired), store_col_text(s, 4));
		str_copy(v->last, sizeof(v->last), store_col_text(s, 5));
		str_copy(v->error, sizeof(v->error), store_col_text(s, 6));
		for (int d = 0; d < 3; d++)
			v->req[d] = db_col_int64(s, 7 + d);
		v->ceph = db_col_int(s, 10) != 0;
	}
	db_reset(s);
	if (rc != DB_DONE) {
		free(a);
		*n = 0;
		return rc == DB_NOMEM ? err_set("out of memory")
				      : store_err(st, "reading a host's HA VMs");
	}
	*out = a;
	return 0;
}

/* VM v of fenced host lost its disk with it: state lost, a lost task. */
static int mark_lost(struct store *st, const char *host, const struct ha_vm *v)
{
	char why[512], id[TASK_ID_LEN], target[96];
	struct db_stmt *s;

	snprintf(why, sizeof(why), "lost: host '%s' failed while the VM was "
		 "%s; its disk is on that host's local storage, so it is not "
		 "restarted elsewhere (it comes back with its host)", host,
		 v->last);
	s = store_stmt(st, "UPDATE vms SET state = 'lost', error = ?, "
			   "updated_ms = ? WHERE id = ?");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, why);
	db_bind_int64(s, 2, time_wall_ms());
	store_bind_text(s, 3, v->id);
	if (store_done(st, s, "marking a VM lost") < 0 ||
	    ha_host_task(st, TASK_LOST, host, v->id, v->tenant, NULL, id) < 0 ||
	    task_end(st, id, TASK_FAILED, why) < 0)
		return -1;
	snprintf(target, sizeof(target), "vm:%.40s", v->id);
	log_warn("vm '%s': %s", v->id, why);
	return audit_event(st, "vm.lost", target, NULL);
}

/* VM v of fenced host could not be placed: said once (its error). */
static int restart_failed(struct store *st, const char *host,
			  const struct ha_vm *v, const char *why)
{
	char err[512], id[TASK_ID_LEN], target[96];
	struct db_stmt *s;

	snprintf(err, sizeof(err), "ha: not restarted: %.480s", why);
	if (strncmp(v->error, err, sizeof(v->error) - 1) == 0)
		return 0;
	s = store_stmt(st, "UPDATE vms SET error = ? WHERE id = ?");
	if (s == NULL)
		return -1;
	store_bind_texts(s, 1, (const char *const[]){err, v->id}, 2);
	if (store_done(st, s, "recording a VM's restart failure") < 0 ||
	    ha_host_task(st, TASK_RESTART, host, v->id, v->tenant, NULL, id) < 0 ||
	    task_end(st, id, TASK_FAILED, err) < 0)
		return -1;
	snprintf(target, sizeof(target), "vm:%.40s", v->id);
	log_warn("vm '%s': %s (tried again every pass of failed hosts)",
		 v->id, err);
	return audit_event(st, "vm.restart.failed", target, NULL);
}

int ha_evict(struct store *st, const char *vm_id, const char *host)
{
	struct db_stmt *s = store_stmt(st, "INSERT INTO ha_evictions(vm_id, "
				       "host, created_ms) VALUES (?, ?, ?) ON "
				       "CONFLICT(vm_id, host) DO NOTHING");

	if (s == NULL)
		return -1;
	store_bind_texts(s, 1, (const char *const[]){vm_id, host}, 2);
	db_bind_int64(s, 3, time_wall_ms());
	return store_done(st, s, "recording an eviction");
}

/* VM v of fenced host `from` goes to host `to`. */
static int move_vm(struct ctrl *ctrl, const char *from, const struct ha_vm *v,
		   const char *to)
{
	struct store *st = ctrl->st;
	char id[TASK_ID_LEN], target[96];
	struct db_stmt *s;

	s = store_stmt(st, "UPDATE vms SET host = ?, state = 'pending', error "
			   "= '', updated_ms = ? WHERE id = ?");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, to);
	db_bind_int64(s, 2, time_wall_ms());
	store_bind_text(s, 3, v->id);
	if (store_done(st, s, "moving a VM to its new host") < 0)
		return -1;
	if (ha_evict(st, v->id, from) < 0)
		return -1;
	/* the fenced node's last word of it no longer holds (report.h): its
	 * copy was stopped by the fence and is destroyed on its return */
	s = store_stmt(st, "DELETE FROM reports WHERE host = ? AND vm_id = ?");
	if (s == NULL)
		return -1;
	store_bind_texts(s, 1, (const char *const[]){from, v->id}, 2);
	if (store_done(st, s, "forgetting a fenced node's report") < 0 ||
	    task_cancel_vm(st, v->id, "its host failed and was fenced") < 0 ||
	    ha_host_task(st, TASK_RESTART, from, v->id, v->tenant, to, id) < 0)
		return -1;
	/* a stopped VM only changes host: nothing runs to wait for */
	if (strcmp(v->desired, "running") != 0 &&
	    task_end(st, id, TASK_DONE, NULL) < 0)
		return -1;
	if (ctrl_bump_generation(ctrl, to) < 0 ||
	    ctrl_bump_generation(ctrl, from) < 0)
		return -1;
	snprintf(target, sizeof(target), "vm:%.40s", v->id);
	log_warn("vm '%s': host '%s' fenced, restarted on host '%s'", v->id,
		 from, to);
	return audit_event(st, "vm.restarted", target, NULL);
}

/* The HA VMs of fenced host, highest priority first: those on Ceph go to
 * another host (place.h), those on local storage are lost. */
int ha_restart_host(struct ctrl *ctrl, const char *host)
{
	struct ha_vm *vms = NULL;
	size_t n = 0;
	int ret = 0;

	if (ha_vms(ctrl->st, host, &vms, &n) < 0)
		return -1;
	for (size_t i = 0; i < n && ret == 0; i++) {
		struct place_request pr = {
			.tenant = vms[i].tenant,
			.group = vms[i].group[0] ? vms[i].group : NULL,
			.pool = vms[i].pool,
			.exclude_host = host,
		};
		char to[NAME_MAX_LEN + 1], why[1024];
		struct netstate_bind bind;
		int rc;

		if (!vms[i].ceph) {
			ret = mark_lost(ctrl->st, host, &vms[i]);
			continue;
		}
		/* a port on a provider network: only a host that reports its
		 * interface (and 802.1Q for a VLAN one), as for a create */
		if (netstate_bind_vm(ctrl->st, vms[i].id, &bind) < 0) {
			ret = -1;
			break;
		}
		pr.ifaces = bind.ifaces;
		pr.nifaces = bind.nifaces;
		pr.vlan = bind.vlan;
		for (int d = 0; d < 3; d++)
			pr.req[d] = (double)vms[i].req[d];
		rc = place_vm(ctrl->st, &pr, to, sizeof(to), NULL, 0, why,
			      sizeof(why));
		if (rc > 0 && bind.nifaces > 0) {
			size_t len = strlen(why);

			len += (size_t)snprintf(why + len, sizeof(why) - len,
						"; its provider networks need a "
						"host whose agent reports free:");
			for (size_t k = 0; k < bind.nifaces &&
					   len < sizeof(why); k++)
				len += (size_t)snprintf(why + len,
							sizeof(why) - len,
							" %s", bind.ifaces[k]);
			if (bind.vlan && len < sizeof(why))
				snprintf(why + len, sizeof(why) - len, " (and "
					 "802.1Q VLAN links)");
		}
		if (rc < 0)
			ret = -1;
		else if (rc > 0)
			ret = restart_failed(ctrl->st, host, &vms[i], why);
		else
			ret = move_vm(ctrl, host, &vms[i], to);
	}
	free(vms);
	return ret;
}

/* ---------------------------------------------------------- heartbeat */

int ha_heartbeat(struct ctrl *ctrl, const char *node, bool listed,
		 const char *request_id)
{
	struct store *st = ctrl->st;
	struct db_stmt *s;
	char state[16], target[96];
	bool blocked;
	int rc = store_find(st, "SELECT ha_state, blocklisted != '', (SELECT "
			    "count(*) FROM ha_evictions e WHERE e.host = "
			    "h.name) FROM hosts h WHERE name = ?", node, &s,
			    "reading the host's HA state");

	if (rc <= 0)
		return rc;
	str_copy(state, sizeof(state), store_col_text(s, 0));
	blocked = db_col_int(s, 1) != 0;
	db_reset(s);
	if (strcmp(state, "suspect") == 0)
		return back_ok(st, node, request_id) < 0 ? -1 : 0;
	if (strcmp(state, "fenced") != 0 || !listed)
		return 0;
	/* its fresh list (recorded before this call) says which of the VMs
	 * restarted away it still holds; a deleted VM's eviction goes too */
	s = store_stmt1(st, "DELETE FROM ha_evictions WHERE host = ?1 AND "
			"(vm_id NOT IN (SELECT vm_id FROM reports WHERE host = "
			"?1) OR vm_id NOT IN (SELECT id FROM vms))", node);
	if (s == NULL || store_done(st, s, "forgetting evictions") < 0)
		return -1;
	rc = store_find(st, "SELECT count(*) FROM ha_evictions WHERE host = ?",
			node, &s, "counting evictions");
	if (rc <= 0)
		return rc;
	rc = db_col_int(s, 0);
	db_reset(s);
	if (rc > 0)
		return 0;
	if (blocked) {
		s = store_stmt1(st, "UPDATE hosts SET unfence = 1, fence_next_ms "
				"= 0 WHERE name = ? AND unfence = 0", node);
		return s ? store_done(st, s, "asking for an unfence") : -1;
	}
	rc = ha_set_state(st, node, "fenced", "ok", "unfenced: it holds none of "
		       "the VMs restarted elsewhere");
	if (rc <= 0)
		return rc;
	ha_host_target(target, sizeof(target), node);
	log_info("host '%s' is back and holds none of the VMs restarted "
		 "elsewhere: unfenced", node);
	return audit_event(st, "host.unfenced", target, request_id);
}

/* ------------------------------------------------------------ metrics */

int ha_metrics(struct store *st, struct buf *b)
{
	struct db_stmt *s;
	int rc = DB_ERROR;

	buf_puts(b, "# HELP fincloud_hosts_ha Hosts by HA state.\n"
		    "# TYPE fincloud_hosts_ha gauge\n");
	s = store_stmt(st, "SELECT s.st, (SELECT count(*) FROM hosts h WHERE "
			   "h.ha_state = s.st) FROM (SELECT 'ok' AS st UNION ALL "
			   "SELECT 'suspect' UNION ALL SELECT 'failed' UNION ALL "
			   "SELECT 'fenced') s");
	while (s && (rc = db_step(s)) == DB_ROW)
		buf_printf(b, "fincloud_hosts_ha{state=\"%s\"} %" PRId64 "\n",
			   store_col_text(s, 0), (int64_t)db_col_int64(s, 1));
	if (s)
		db_reset(s);
	if (rc != DB_DONE)
		return s ? store_err(st, "counting hosts by HA state") : -1;
	buf_puts(b, "# HELP fincloud_ha_tasks HA steps (suspect, fence, "
		    "restart, lost) by outcome.\n"
		    "# TYPE fincloud_ha_tasks counter\n");
	s = store_stmt(st, "SELECT type, state, count(*) FROM tasks WHERE type "
			   "IN ('suspect','fence','restart','lost') GROUP BY "
			   "type, state ORDER BY type, state");
	rc = DB_ERROR;
	while (s && (rc = db_step(s)) == DB_ROW)
		buf_printf(b, "fincloud_ha_tasks{type=\"%s\",state=\"%s\"} %"
			   PRId64 "\n", store_col_text(s, 0),
			   store_col_text(s, 1), (int64_t)db_col_int64(s, 2));
	if (s)
		db_reset(s);
	if (rc != DB_DONE)
		return s ? store_err(st, "counting HA tasks") : -1;
	return 0;
}

/* -------------------------------------------------------------- reserve */

int ha_reserve_holds(struct store *st, const char *pool, bool *holds,
		     char *why, size_t whysize)
{
	struct ha_room rooms[256];
	char names[256][NAME_MAX_LEN + 1];
	struct ha_claim *claims = NULL;
	size_t nh = 0, nv = 0, cap = 0, bad;
	struct db_stmt *s;
	int rc;

	*holds = true;
	why[0] = '\0';
	rc = store_find(st, "SELECT ha_reserve = 'n+1' FROM pools WHERE name "
			"= ?", pool, &s, "reading the pool's reserve");
	if (rc <= 0)
		return rc;
	rc = db_col_int(s, 0);
	db_reset(s);
	if (!rc)
		return 0;
	/* the hosts that could take VMs: up, healthy, not in maintenance */
	s = store_stmt1(st, "SELECT h.name, h.vcpus * p.ratio_vcpus, h.mem_mib "
			"* p.ratio_mem, h.disk_gib * p.ratio_disk, (SELECT "
			"total(vcpus) FROM vms v WHERE v.host = h.name), "
			"(SELECT total(mem_mib) FROM vms v WHERE v.host = "
			"h.name), (SELECT total(disk_gib) FROM vms v WHERE "
			"v.host = h.name) FROM hosts h JOIN pools p ON p.name = "
			"h.pool WHERE h.pool = ? AND h.state = 'up' AND "
			"h.ha_state = 'ok' AND h.maintenance = 0 ORDER BY "
			"h.name", pool);
	if (s == NULL)
		return -1;
	while (nh < FC_ARRAY_LEN(rooms) && (rc = db_step(s)) == DB_ROW) {
		str_copy(names[nh], sizeof(names[0]), store_col_text(s, 0));
		for (int d = 0; d < 3; d++) {
			rooms[nh].cap[d] = db_col_double(s, 1 + d);
			rooms[nh].used[d] = db_col_double(s, 4 + d);
		}
		nh++;
	}
	db_reset(s);
	if (rc != DB_ROW && rc != DB_DONE)
		return store_err(st, "reading the pool's hosts");
	s = store_stmt1(st, "SELECT host, vcpus, mem_mib, disk_gib FROM vms "
			"WHERE pool = ? AND ha = 'restart' AND desired != "
			"'deleted' ORDER BY seq", pool);
	if (s == NULL)
		return -1;
	rc = DB_DONE;
	for (;;) {
		const char *h;
		size_t j;

		if (nv == cap) {
			void *b = realloc(claims, (cap = cap ? cap * 2 : 64) *
							  sizeof(*claims));
			if (b == NULL) {
				rc = DB_NOMEM;
				break;
			}
			claims = b;
		}
		if ((rc = db_step(s)) != DB_ROW)
			break;
		h = store_col_text(s, 0);
		for (j = 0; j < nh && strcmp(names[j], h); j++)
			;
		if (j == nh)
			continue; /* on a host that takes nothing now */
		claims[nv].host = j;
		for (int d = 0; d < 3; d++)
			claims[nv].req[d] = (double)db_col_int64(s, 1 + d);
		nv++;
	}
	db_reset(s);
	if (rc != DB_DONE) {
		free(claims);
		return rc == DB_NOMEM ? err_set("out of memory")
				      : store_err(st, "reading the HA VMs");
	}
	rc = ha_reserve_check(rooms, nh, claims, nv, &bad);
	free(claims);
	if (rc < 0)
		return err_set("out of memory");
	if (rc > 0) {
		*holds = false;
		snprintf(why, whysize, "the N+1 reserve of pool '%s' does not "
			 "hold: the HA VMs of host '%s' would not fit on the "
			 "pool's other hosts", pool, names[bad]);
	}
	return 0;
}

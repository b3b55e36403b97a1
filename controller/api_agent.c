/* The agents' side of the API once a node has joined (api_join.c): the
 * heartbeat / long-poll that hands each node its desired state, and
 * domain events. What a heartbeat's domains settle (migrations, a VM on
 * two nodes, orphans) is report.c's; marking silent nodes down is a
 * background job (jobs.c). See docs/agent-protocol.md. */

#include "common/err.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "controller/api.h"
#include "controller/audit.h"
#include "controller/console.h"
#include "controller/ctrl.h"
#include "controller/db.h"
#include "controller/desired.h"
#include "controller/domname.h"
#include "controller/ha.h"
#include "controller/netstate.h"
#include "controller/report.h"
#include "controller/resource.h"
#include "controller/steady.h"
#include "controller/store.h"
#include "controller/task.h"
#include "controller/vmimage.h"

/* libvirt's domain state -> the VM state the API shows */
static const char *vm_state_of(const char *dom)
{
	if (strcmp(dom, "running") == 0 || strcmp(dom, "blocked") == 0)
		return "running";
	if (strcmp(dom, "shutoff") == 0 || strcmp(dom, "shutdown") == 0)
		return "stopped";
	if (strcmp(dom, "paused") == 0 || strcmp(dom, "pmsuspended") == 0)
		return "paused";
	if (strcmp(dom, "crashed") == 0)
		return "crashed";
	return "unknown";
}

static int vm_set_state(struct api_ctx *c, const char *node, const char *vm,
			const char *state, const char *error)
{
	struct db_stmt *s;
	char target[96];

	s = api_stmt(c, "UPDATE vms SET state = ?1, error = ?2, updated_ms = ?3 "
		    "WHERE id = ?4 AND host = ?5 AND desired != 'deleted' AND "
		    "(state != ?1 OR error != ?2)");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, state);
	store_bind_text(s, 2, error ? error : "");
	db_bind_int64(s, 3, time_wall_ms());
	store_bind_text(s, 4, vm);
	store_bind_text(s, 5, node);
	if (api_step_done(c, s, "updating a VM's state") < 0)
		return -1;
	if (db_changes(store_db(c->ctrl->st)) > 0) {
		/* the VM reached what was asked for, or failed: end its
		 * lifecycle task */
		if (task_vm_state(c->ctrl->st, vm, state, error) < 0) {
			api_err_internal(c, "ending a VM's task");
			return -1;
		}
		snprintf(target, sizeof(target), "vm:%.40s", vm);
		char action[64];

		snprintf(action, sizeof(action), "vm.state.%s", state);
		if (audit_event(c->ctrl->st, action, target, c->request_id) < 0) {
			api_err_internal(c, "auditing a state change");
			return -1;
		}
	}
	return 0;
}

/* The tasks the node's agent reports ($.tasks): reboots end here, the
 * agent's word on each migration goes into *results (n of them, the
 * caller frees it) for report_settle(). 0, or -1 with the answer set. */
static int heartbeat_tasks(struct api_ctx *c, const char *node,
			   const cJSON *tasks, struct report_result **results,
			   size_t *n)
{
	static const char *const keys[] = {"task_id", "state", "error", NULL};
	const cJSON *t;
	char path[JSON_PATH_MAX];
	size_t i = 0;

	*results = calloc((size_t)cJSON_GetArraySize(tasks) + 1,
			  sizeof(**results));
	*n = 0;
	if (*results == NULL) {
		api_err_internal(c, "reading the tasks");
		return -1;
	}
	cJSON_ArrayForEach(t, tasks) {
		const char *id, *state, *error;
		enum task_state end;
		struct task task;
		int rc;

		json_path_index(path, sizeof(path), "$.tasks", i++);
		if (json_check_keys(t, path, keys) < 0 ||
		    json_get_string(t, path, "task_id", true, NULL, &id) < 0 ||
		    json_get_string(t, path, "state", true, NULL, &state) < 0 ||
		    json_get_string(t, path, "error", false, "", &error) < 0) {
			api_err_field(c, "tasks");
			return -1;
		}
		if (task_state_parse(state, &end) < 0 || end == TASK_PENDING) {
			api_err(c, 400, "invalid_field", "tasks", "%s.state: "
				"expected running, done or failed", path);
			return -1;
		}
		rc = task_load(c->ctrl->st, id, &task);
		if (rc < 0) {
			api_err_internal(c, "reading a task");
			return -1;
		}
		if (rc > 0 || !task_for_agent(task.type) ||
		    strcmp(task.source_host, node) != 0 ||
		    (task.state != TASK_PENDING && task.state != TASK_RUNNING))
			continue; /* finished or not this node's: ignore */
		if (task.type == TASK_MIGRATE) {
			struct report_result *r = &(*results)[(*n)++];

			str_copy(r->task_id, sizeof(r->task_id), id);
			r->state = end;
			str_copy(r->error, sizeof(r->error), error);
			continue;
		}
		if (end == TASK_RUNNING) {
			/* refused when it already runs: nothing to do */
			if (task_advance(c->ctrl->st, id, TASK_RUNNING, NULL) < 0) {
				api_err_internal(c, "updating a task");
				return -1;
			}
			continue;
		}
		if (task_end(c->ctrl->st, id, end,
			     end == TASK_FAILED ? (error[0] ? error : "failed")
						: "") < 0) {
			api_err_internal(c, "updating a task");
			return -1;
		}
		if (ctrl_bump_generation(c->ctrl, node) < 0) {
			api_err_internal(c, "updating the host");
			return -1;
		}
		{
			char action[48], tgt[96];

			snprintf(action, sizeof(action), "task.%s.%s",
				 task_type_name(task.type), state);
			snprintf(tgt, sizeof(tgt), "task:%s", id);
			if (audit_event(c->ctrl->st, action, tgt,
					    c->request_id) < 0) {
				api_err_internal(c, "auditing a task");
				return -1;
			}
		}
	}
	return 0;
}

/* The domains node reports ($.domains) checked, into *out (n of them;
 * the caller frees the array, whose strings are the request's). listed:
 * they are libvirt's list and become its report, so their ids, names
 * and states must fit its columns. 0, or -1 with the answer set. */
static int heartbeat_parse(struct api_ctx *c, const cJSON *domains,
			   bool listed, struct report_dom **out, size_t *n)
{
	char path[JSON_PATH_MAX];
	const cJSON *d;
	size_t i = 0;

	*n = 0;
	*out = calloc((size_t)cJSON_GetArraySize(domains) + 1, sizeof(**out));
	if (*out == NULL) {
		err_set("out of memory");
		api_err_internal(c, "reading the domains");
		return -1;
	}
	cJSON_ArrayForEach(d, domains) {
		struct report_dom *r = &(*out)[i];

		json_path_index(path, sizeof(path), "$.domains", i++);
		if (json_get_string(d, path, "vm_id", true, NULL, &r->vm_id) < 0 ||
		    json_get_string(d, path, "name", false, "", &r->name) < 0 ||
		    json_get_string(d, path, "state", true, NULL, &r->state) < 0 ||
		    json_get_double(d, path, "cpu_pct", false, 0, 1e6, 0,
				    &r->cpu_pct) < 0 ||
		    json_get_int(d, path, "balloon_mib", false, 0,
				 INT64_C(1) << 40, 0, &r->balloon_mib) < 0 ||
		    json_get_int(d, path, "disk_alloc_bytes", false, 0,
				 INT64_C(1) << 60, 0, &r->disk_bytes) < 0) {
			api_err_field(c, "domains");
			return -1;
		}
		if (listed && (strlen(r->vm_id) > 64 || strlen(r->name) > 255 ||
			       strlen(r->state) > 16)) {
			api_err(c, 400, "invalid_field", "domains", "%s: vm_id, "
				"name or state is too long", path);
			return -1;
		}
	}
	*n = i;
	return 0;
}

/* The domains d (n) node reports, each for its VM (read at once,
 * report_vms()): usage and state when node is its host (written only
 * when they changed, all at once); a conflict flag when another node is
 * (report_flag()); nothing when there is no such VM (an orphan, see
 * report_orphans()). 0, or -1 with the answer set. */
static int heartbeat_vms(struct api_ctx *c, const char *node,
			 const struct report_dom *d, size_t n)
{
	struct store *st = c->ctrl->st;
	struct report_vm *v = NULL;
	struct report_changes h = {0};
	int ret = -1;

	if (report_changes_alloc(&h, n) < 0 ||
	    report_vms(st, node, d, n, &v) < 0 ||
	    report_usage(st, node, d, v, n) < 0) {
		api_err_internal(c, "recording the reported VMs");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *state = vm_state_of(d[i].state);
		char *why = h.why[h.n];
		int rc = 0;

		if (!v[i].found)
			continue;
		if (strcmp(v[i].host, node) != 0) {
			if (report_flag(c->ctrl, d[i].vm_id, v[i].host,
					c->request_id) < 0) {
				api_err_internal(c, "flagging a VM");
				goto out;
			}
			continue;
		}
		if (v[i].repeated)
			continue; /* a later entry of the list counts */
		/* only another node's active report can be a conflict */
		if (v[i].contested &&
		    (rc = report_conflict(st, d[i].vm_id, node, why,
					  sizeof(h.why[0]))) < 0) {
			api_err_internal(c, "reading the nodes' reports");
			goto out;
		}
		if (rc == 0)
			why[0] = '\0';
		if (v[i].deleted || (strcmp(v[i].state, state) == 0 &&
				     strcmp(v[i].error, why) == 0))
			continue; /* as recorded: no write */
		h.tasks[h.n] = v[i].tasks;
		h.c[h.n++] = (struct report_change){
			d[i].vm_id, state, why,
			why[0] && strcmp(v[i].error, why) != 0,
			strcmp(v[i].state, state) != 0};
	}
	ret = report_changes_apply(st, node, &h, c->request_id);
	if (ret < 0)
		api_err_internal(c, "recording the VMs' states");
out:
	report_changes_free(&h);
	report_vms_free(v, n);
	return ret;
}

static int heartbeat_domains(struct api_ctx *c, const char *node,
			     const struct report_dom *doms, size_t ndoms,
			     const cJSON *vm_errors, bool applied)
{
	const cJSON *d;
	char path[JSON_PATH_MAX];
	size_t i = 0, released = 0;
	struct db_stmt *s;
	int rc;

	if (heartbeat_vms(c, node, doms, ndoms) < 0)
		return -1;
	cJSON_ArrayForEach(d, vm_errors) {
		const char *id, *msg;

		json_path_index(path, sizeof(path), "$.vm_errors", i++);
		if (json_get_string(d, path, "vm_id", true, NULL, &id) < 0 ||
		    json_get_string(d, path, "error", true, NULL, &msg) < 0) {
			api_err_field(c, "vm_errors");
			return -1;
		}
		if (vm_set_state(c, node, id, "failed", msg) < 0)
			return -1;
	}
	if (report_orphans(c->ctrl, node, c->ctrl->cfg.orphan_grace_s * 1000,
			   c->request_id) < 0) {
		api_err_internal(c, "recording orphans");
		return -1;
	}
	if (!applied)
		return 0;
	/* The node has applied its latest desired state: a deleted VM that
	 * no node reports any more is gone, and its claim is released. */
	s = api_stmt(c, "SELECT id FROM vms WHERE host = ? AND desired = 'deleted' "
		    "AND " VMS_UNREPORTED);
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, node);
	while ((rc = db_step(s)) == DB_ROW) {
		char target[96];

		released++;
		snprintf(target, sizeof(target), "vm:%.40s", store_col_text(s, 0));
		if (task_vm_state(c->ctrl->st, store_col_text(s, 0), "deleted",
				  NULL) < 0) {
			db_reset(s);
			api_err_internal(c, "ending delete tasks");
			return -1;
		}
		if (audit_event(c->ctrl->st, "vm.state.deleted", target,
				c->request_id) < 0) {
			db_reset(s);
			api_err_internal(c, "auditing a deletion");
			return -1;
		}
	}
	if (rc != DB_DONE) {
		store_err(c->ctrl->st, "reading deleted VMs");
		db_reset(s);
		api_err_internal(c, "reading deleted VMs");
		return -1;
	}
	db_reset(s);
	/* none: nothing to release (the usual heartbeat; two statements
	 * fewer) */
	if (released == 0)
		goto missing;
	/* their ports go with them: the nodes sharing their networks
	 * learn of it */
	if (netstate_bump_released(c->ctrl, node) < 0) {
		api_err_internal(c, "updating the network's nodes");
		return -1;
	}
	s = api_stmt(c, "DELETE FROM vms WHERE host = ? AND desired = 'deleted' "
		    "AND " VMS_UNREPORTED);
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, node);
	if (api_step_done(c, s, "releasing deleted VMs") < 0)
		return -1;
missing:
	/* a VM the node should run but does not report, and that has no error
	 * of its own, is (again) being built, unless it is migrating or
	 * another node reports it */
	s = api_stmt(c, "UPDATE vms SET state = 'pending', updated_ms = ? WHERE "
		    "host = ?2 AND desired != 'deleted' AND state NOT IN "
		    "('pending','failed') AND " VMS_UNREPORTED " AND id NOT IN ("
		    TASK_SQL_MIGRATING ")");
	if (s == NULL)
		return -1;
	db_bind_int64(s, 1, time_wall_ms());
	store_bind_text(s, 2, node);
	return api_step_done(c, s, "updating missing VMs");
}

/* What a heartbeat of node says (its domains d, nd of them, parsed by
 * heartbeat_parse()), in its transaction: when its domains
 * are libvirt's list (listed: status ok, or degraded with libvirt
 * answering) they become its report; the tasks, then the migrations
 * settled from the reports, then each domain's VM. applied: the node has
 * applied its latest desired state (see heartbeat_domains()). 0, or -1
 * with the answer set. */
static int heartbeat_apply(struct api_ctx *c, const char *node,
			   const struct report_dom *d, size_t nd,
			   const cJSON *tasks, const cJSON *vm_errors,
			   bool listed, bool applied)
{
	struct report_result *results = NULL;
	size_t n = 0;
	int ret = -1;

	if (listed &&
	    report_record(c->ctrl->st, node, d, nd, time_wall_ms()) < 0) {
		api_err_internal(c, "recording domains");
		goto out;
	}
	if (heartbeat_tasks(c, node, tasks, &results, &n) < 0)
		goto out;
	if (report_settle(c->ctrl, node, results, n, listed,
			  c->request_id) < 0) {
		api_err_internal(c, "settling migrations");
		goto out;
	}
	ret = heartbeat_domains(c, node, d, nd, vm_errors, applied && listed);
out:
	free(results);
	return ret;
}

/* The node's generation into *gen: 0, or -1 with the answer set. */
static int host_generation(struct api_ctx *c, const char *node, int64_t *gen)
{
	int rc = ctrl_generation(c->ctrl, node, gen);

	if (rc < 0)
		api_err_internal(c, "reading the host's generation");
	else if (rc > 0)
		api_err(c, 404, "not_found", NULL, "host '%s' does not exist: "
			"register the agent again", node);
	return rc == 0 ? 0 : -1;
}

bool api_agent_owns(struct api_ctx *c, const char *node)
{
	if (strcmp(c->who.node, node) == 0)
		return api_cert_acts_for(c, node);
	api_err(c, 403, "forbidden", NULL, "this credential belongs to node "
		"'%s' and reaches only /v1/agents/%s/...", c->who.node,
		c->who.node);
	return false;
}

/* Answer node's desired state at generation gen, read from st, with
 * the console sessions waiting for its agent (console.h) when there are
 * any. */
static void answer_desired_from(struct api_ctx *c, struct store *st,
				const char *node, int64_t gen)
{
	cJSON *o = desired_state(st, node, gen), *cons = NULL;

	if (o && c->ctrl->consoles) {
		cons = console_pending_json(c->ctrl->consoles, node);
		if (cons == NULL) {
			cJSON_Delete(o);
			o = NULL;
		} else if (cJSON_GetArraySize(cons) > 0) {
			cJSON_AddItemToObject(o, "consoles", cons);
		} else {
			cJSON_Delete(cons);
		}
	}
	if (o)
		api_ok(c, 200, o);
	else
		api_err_internal(c, "building the desired state");
}

/* Answer the desired state of node (c->park_node) from the reader, its
 * generation and all from one snapshot, without the lock (api_ctx
 * .unlocked; ctrl.h "The reader"). */
static void answer_read(struct api_ctx *c)
{
	struct ctrl *ctrl = c->ctrl;
	struct store *rd = ctrl->reader;
	struct db_stmt *s;
	uint64_t n0;
	int64_t gen;
	int rc;

	pthread_mutex_lock(&ctrl->reader_lock);
	n0 = db_statements(store_db(rd));
	if (store_begin_read(rd) < 0) {
		api_err_internal(c, "starting a read of the desired state");
		goto out;
	}
	rc = store_find(rd, "SELECT generation FROM hosts WHERE name = ?1",
			c->park_node, &s, "reading the host's generation");
	if (rc > 0) {
		gen = db_col_int64(s, 0);
		db_reset(s);
		answer_desired_from(c, rd, c->park_node, gen);
	} else if (rc == 0) {
		api_err(c, 404, "not_found", NULL, "host '%s' does not exist: "
			"register the agent again", c->park_node);
	} else {
		api_err_internal(c, "reading the host's generation");
	}
	/* it wrote nothing: a failed end changes no answer */
	if (store_commit(rd) < 0)
		log_warn("ending a read of the desired state: %s", err_msg());
out:
	/* api_err_internal() looked at the writers' connection */
	if (c->status >= 500 && db_unreachable(store_db(rd)))
		api_err(c, 503, "unavailable", NULL, "reading the desired "
			"state failed: the database cannot be reached; the "
			"heartbeat was recorded: retry in a few seconds "
			"(request %s)", c->request_id);
	store_reset_all(rd);
	c->statements += db_statements(store_db(rd)) - n0;
	pthread_mutex_unlock(&ctrl->reader_lock);
}

/* Answer node's desired state at generation gen (lock held): from the
 * reader once the lock is released when there is one, else now. */
static void answer_desired(struct api_ctx *c, const char *node, int64_t gen)
{
	if (c->ctrl->reader == NULL) {
		answer_desired_from(c, c->ctrl->st, node, gen);
		return;
	}
	/* the generation again in the reader's snapshot: the same or
	 * newer, with the state that goes with it */
	if (node != c->park_node)
		snprintf(c->park_node, sizeof(c->park_node), "%s", node);
	c->unlocked = answer_read;
}

/* A parked heartbeat's wait ended (lock held): answer what is now
 * committed. */
static void heartbeat_resumed(struct api_ctx *c)
{
	int64_t gen;

	/* the reader reads the generation itself: taking the lock was
	 * enough to see the transaction that woke it committed */
	if (c->ctrl->reader) {
		c->unlocked = answer_read;
		return;
	}
	if (host_generation(c, c->park_node, &gen) == 0)
		answer_desired(c, c->park_node, gen);
}

/* The most interfaces a heartbeat lists. */
#define HEARTBEAT_IFACES_MAX 256

/* A heartbeat's $.interfaces (the links the node has free for provider
 * networks) checked, as compact JSON text into *out (the caller frees
 * it; NULL when the heartbeat has none: the last list stands). 0, or -1
 * with a 400 naming the field (500 out of memory). */
static int heartbeat_interfaces(struct api_ctx *c, char **out)
{
	const cJSON *arr, *it;

	*out = NULL;
	if (json_get_array(c->json, "$", "interfaces", false, &arr) < 0) {
		api_err_field(c, "interfaces");
		return -1;
	}
	if (arr == NULL)
		return 0;
	if (cJSON_GetArraySize(arr) > HEARTBEAT_IFACES_MAX) {
		api_err(c, 400, "invalid_field", "interfaces", "$.interfaces: "
			"at most %d", HEARTBEAT_IFACES_MAX);
		return -1;
	}
	cJSON_ArrayForEach(it, arr) {
		const char *n = cJSON_GetStringValue(it);

		if (n == NULL || netstate_ifname_check(n, 0) < 0) {
			api_err(c, 400, "invalid_field", "interfaces",
				"$.interfaces: %s", n ? err_msg()
				: "expected interface names");
			return -1;
		}
	}
	*out = cJSON_PrintUnformatted(arr);
	if (*out == NULL) {
		err_set("out of memory");
		api_err_internal(c, "reading the interfaces");
		return -1;
	}
	return 0;
}

/* A heartbeat turned the host degraded (out of placement, migrations
 * and rebalance: model.c) or healthy again: log and audit it. -1 with
 * the error answered. */
static int health_changed(struct api_ctx *c, const char *node,
			  bool was_degraded, const char *status,
			  const char *reason)
{
	bool degraded = strcmp(status, "degraded") == 0;
	char target[96];

	if (degraded == was_degraded)
		return 0;
	snprintf(target, sizeof(target), "host:%.63s", node);
	if (degraded)
		log_warn("host '%s' is degraded: %s", node, reason);
	else
		log_info("host '%s' is healthy again", node);
	if (audit_event(c->ctrl->st, degraded ? "host.degraded" : "host.healthy",
			target, c->request_id) < 0) {
		api_err_internal(c, "auditing");
		return -1;
	}
	return 0;
}

/* What h_agent_heartbeat() read from its request. */
struct hb_req {
	const char *node, *status, *reason;
	int64_t seen, wait_s, fence_s;
	struct api_inventory inv;
	const cJSON *tasks, *vm_errors, *prepared;
	struct report_dom *d; /* the domains, nd of them (heartbeat_parse()) */
	size_t nd;
	bool listed;
	/* it says nothing but its domains and usage: a steady host's
	 * heartbeat may skip the full pass (steady.h), with these digests */
	bool plain;
	uint64_t report, usage;
};

/* The number of entries of a JSON array that may be absent. */
static int array_len(const cJSON *a)
{
	return a ? cJSON_GetArraySize(a) : 0;
}

/* Record heartbeat r of its node in one transaction and answer it (at
 * once, or parked until its generation moves). A steady host (steady.h)
 * has its row, inventory and usage written; any other heartbeat is
 * worked through in full, and leaves its host steady when that pass
 * finds it quiet (report_quiet()). */
static void heartbeat_record(struct api_ctx *c, const struct hb_req *r)
{
	struct ctrl *ctrl = c->ctrl;
	const char *node = r->node;
	char *ifaces = NULL;
	int64_t gen, qgen = 0, now = time_wall_ms();
	struct steady_row was;
	struct db_stmt *s;
	bool was_down, was_degraded, ha_ok, steady = false;
	int rc, quiet = 0;

	/* the agent sends its whole word again at its next heartbeat: a
	 * commit lost with a crashed database server is made again then */
	if (store_begin_repeated(ctrl->st) < 0) {
		api_err_internal(c, "starting a transaction");
		return;
	}
	c->tx_open = true;
	rc = api_find(c, "SELECT state = 'down', generation, status = "
		      "'degraded', ha_state = 'ok', steady_report, "
		      "steady_usage, steady_gen, steady_ms FROM hosts WHERE "
		      "name = ?", node, &s, "reading the host");
	if (rc < 0)
		return;
	if (rc == 0) {
		api_err(c, 404, "not_found", NULL, "host '%s' does not exist: "
			"register the agent again", node);
		return;
	}
	was_down = db_col_int(s, 0);
	gen = db_col_int64(s, 1);
	was_degraded = db_col_int(s, 2);
	ha_ok = db_col_int(s, 3);
	was = (struct steady_row){(uint64_t)db_col_int64(s, 4),
				  (uint64_t)db_col_int64(s, 5),
				  db_col_int64(s, 6), db_col_int64(s, 7)};
	db_reset(s);
	/* the host as the last full pass left it, told the same again */
	steady = r->plain && !was_down && !was_degraded && ha_ok &&
		 r->seen == gen && steady_match(&was, r->report, gen, now);
	/* self_fence_s absent (an older agent): the last one stands; a
	 * steady heartbeat's usage digest is the one now written, a full
	 * pass forgets the steady state (report_quiet() may give it back) */
	s = api_stmt(c, "UPDATE hosts SET state = 'up', status = ?1, "
		    "degraded_reason = ?2, generation_seen = ?3, last_seen_ms "
		    "= ?4, self_fence_s = CASE WHEN ?5 < 0 THEN self_fence_s "
		    "ELSE ?5 END, steady_usage = CASE WHEN ?6 = 1 THEN ?7 ELSE "
		    "steady_usage END, steady_ms = CASE WHEN ?6 = 1 THEN "
		    "steady_ms ELSE 0 END WHERE name = ?8");
	if (s == NULL)
		return;
	store_bind_text(s, 1, r->status);
	store_bind_text(s, 2, r->reason);
	db_bind_int64(s, 3, r->seen);
	db_bind_int64(s, 4, now);
	db_bind_int64(s, 5, r->fence_s);
	db_bind_int64(s, 6, steady);
	db_bind_int64(s, 7, (int64_t)r->usage);
	store_bind_text(s, 8, node);
	if (api_step_done(c, s, "recording the heartbeat") < 0)
		return;
	if (cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(c->json,
							  "vlan_capable"))) {
		bool vlan;

		if (api_get_bool(c, "vlan_capable", false, false, &vlan) < 0)
			return;
		s = api_stmt(c, "UPDATE hosts SET vlan_capable = ? WHERE name "
			    "= ?");
		if (s == NULL)
			return;
		db_bind_int64(s, 1, vlan);
		store_bind_text(s, 2, node);
		if (api_step_done(c, s, "recording the VLAN support") < 0)
			return;
	}
	/* an agent that sends no list keeps the last one it sent (read
	 * right before its write, so that no return path leaks it) */
	if (heartbeat_interfaces(c, &ifaces) < 0)
		return;
	if (ifaces) {
		s = api_stmt(c, "UPDATE hosts SET interfaces = ? WHERE name = ?");
		if (s)
			store_bind_texts(s, 1, (const char *[]){ifaces, node}, 2);
		cJSON_free(ifaces);
		ifaces = NULL;
		if (s == NULL ||
		    api_step_done(c, s, "recording the interfaces") < 0)
			return;
	}
	/* a degraded agent reports zeros: keep the last good inventory */
	if (strcmp(r->status, "ok") == 0 &&
	    api_inventory_apply(c, node, &r->inv, false) < 0)
		return;
	if (was_down) {
		char target[96];

		snprintf(target, sizeof(target), "host:%.63s", node);
		log_info("host '%s' is up again", node);
		if (audit_event(ctrl->st, "host.up", target, c->request_id) < 0) {
			api_err_internal(c, "auditing");
			return;
		}
	}
	if (health_changed(c, node, was_degraded, r->status, r->reason) < 0)
		return;
	if (steady) {
		/* its VMs' figures, only when they moved */
		if (was.usage != r->usage &&
		    report_usage(ctrl->st, node, r->d, NULL, r->nd) < 0) {
			api_err_internal(c, "recording the VMs' usage");
			return;
		}
	} else {
		if (heartbeat_apply(c, node, r->d, r->nd, r->tasks,
				    r->vm_errors, r->listed, r->seen >= gen) < 0)
			return;
		if (ha_heartbeat(ctrl, node, r->listed, c->request_id) < 0) {
			api_err_internal(c, "recording the host's HA state");
			return;
		}
		if (vmimage_prepared(ctrl, node, r->prepared) < 0) {
			api_err_internal(c, "recording the prepared migrations");
			return;
		}
		/* steady from here on when nothing is left in flight and the
		 * agent has applied the generation this pass leaves */
		if (r->plain &&
		    (quiet = report_quiet(ctrl->st, node, &qgen)) < 0) {
			api_err_internal(c, "reading whether the host is quiet");
			return;
		}
		if (quiet == 1 && qgen == r->seen) {
			s = api_stmt(c, "UPDATE hosts SET steady_report = ?, "
				    "steady_usage = ?, steady_gen = ?, "
				    "steady_ms = ? WHERE name = ?");
			if (s == NULL)
				return;
			store_bind_int64s(s, 1, (const int64_t[]){
					  (int64_t)r->report, (int64_t)r->usage,
					  qgen, now}, 4);
			store_bind_text(s, 5, node);
			if (api_step_done(c, s, "recording the steady "
					  "state") < 0)
				return;
		}
	}
	if (store_commit(ctrl->st) < 0) {
		c->tx_open = false;
		api_err_internal(c, "committing the heartbeat");
		return;
	}
	c->tx_open = false;
	if (steady)
		ctrl->hb_steady_total++;
	else
		ctrl->hb_full_total++;
	if (host_generation(c, node, &gen) < 0)
		return;
	/* nothing new: the answer waits (without a thread) for a change */
	if (r->wait_s > 0 && r->seen == gen &&
	    api_park(c, node, r->wait_s, heartbeat_resumed) == 0)
		return;
	answer_desired(c, node, gen);
}

void h_agent_heartbeat(struct api_ctx *c)
{
	/* "migrations" (the agent's migration journal) is accepted and not
	 * read: migrations settle from the domains each node reports
	 * (report.h), journal or not */
	static const char *const keys[] = {"generation_seen", "status",
					   "degraded_reason", "inventory",
					   "domains", "foreign_domains", "tasks",
					   "vm_errors", "migrations", "prepared",
					   "domains_listed", "interfaces",
					   "vlan_capable", "self_fence_s",
					   NULL};
	struct hb_req r = {.node = c->m->params[0]};
	const cJSON *domains, *foreign;
	const char *wq;

	if (!api_agent_owns(c, r.node))
		return;
	wq = api_query(c, "wait_s");
	if (wq && (parse_int64(wq, &r.wait_s) < 0 || r.wait_s < 0 ||
		   r.wait_s > 30)) {
		api_err(c, 400, "invalid_query", "wait_s", "query parameter "
			"'wait_s' must be an integer from 0 to 30");
		return;
	}
	if (api_body_object(c, keys) < 0 ||
	    api_get_int(c, "generation_seen", true, 0, INT64_MAX, 0,
			&r.seen) < 0 ||
	    api_get_str(c, "status", true, NULL, &r.status) < 0 ||
	    api_get_str(c, "degraded_reason", false, "", &r.reason) < 0 ||
	    api_get_int(c, "self_fence_s", false, 0, 1000000, -1,
			&r.fence_s) < 0 ||
	    api_inventory_read(c, &r.inv) < 0)
		return;
	if (json_get_array(c->json, "$", "domains", true, &domains) < 0) {
		api_err_field(c, "domains");
		return;
	}
	if (json_get_array(c->json, "$", "foreign_domains", true, &foreign) < 0) {
		api_err_field(c, "foreign_domains");
		return;
	}
	if (json_get_array(c->json, "$", "tasks", true, &r.tasks) < 0) {
		api_err_field(c, "tasks");
		return;
	}
	if (json_get_array(c->json, "$", "vm_errors", false, &r.vm_errors) < 0) {
		api_err_field(c, "vm_errors");
		return;
	}
	if (json_get_array(c->json, "$", "prepared", false, &r.prepared) < 0) {
		api_err_field(c, "prepared");
		return;
	}
	if (strcmp(r.status, "ok") != 0 && strcmp(r.status, "degraded") != 0) {
		api_err(c, 400, "invalid_field", "status",
			"$.status: expected 'ok' or 'degraded'");
		return;
	}
	/* a degraded node whose libvirt answers still lists its domains:
	 * they settle what is in flight like any other report */
	if (api_get_bool(c, "domains_listed", false,
			 strcmp(r.status, "ok") == 0, &r.listed) < 0)
		return;
	if (!r.listed && strcmp(r.status, "ok") == 0) {
		api_err(c, 400, "invalid_field", "domains_listed",
			"$.domains_listed: false needs status 'degraded' (a "
			"node that cannot list its domains is degraded)");
		return;
	}
	if (heartbeat_parse(c, domains, r.listed, &r.d, &r.nd) < 0) {
		free(r.d);
		return;
	}
	r.plain = strcmp(r.status, "ok") == 0 && r.listed &&
		  array_len(r.tasks) == 0 && array_len(r.vm_errors) == 0 &&
		  array_len(r.prepared) == 0 &&
		  steady_report_digest(r.status, r.reason, r.listed, r.d,
				       r.nd, &r.report) == 0;
	r.usage = steady_usage_digest(r.d, r.nd);
	heartbeat_record(c, &r);
	free(r.d);
}

void h_agent_events(struct api_ctx *c)
{
	static const char *const keys[] = {"events", NULL};
	static const char *const ekeys[] = {"vm_id", "state", "reason",
					    "time_ms", NULL};
	const char *node = c->m->params[0];
	const cJSON *events, *e;
	char path[JSON_PATH_MAX];
	size_t i = 0;
	cJSON *o;

	if (!api_agent_owns(c, node))
		return;
	if (api_body_object(c, keys) < 0)
		return;
	if (json_get_array(c->json, "$", "events", true, &events) < 0) {
		api_err_field(c, "events");
		return;
	}
	cJSON_ArrayForEach(e, events) {
		const char *vm, *state, *reason;

		json_path_index(path, sizeof(path), "$.events", i++);
		if (json_check_keys(e, path, ekeys) < 0 ||
		    json_get_string(e, path, "vm_id", true, NULL, &vm) < 0 ||
		    json_get_string(e, path, "state", true, NULL, &state) < 0 ||
		    json_get_string(e, path, "reason", true, NULL, &reason) < 0) {
			api_err_field(c, "events");
			return;
		}
	}
	if (store_begin(c->ctrl->st, false) < 0) {
		api_err_internal(c, "starting a transaction");
		return;
	}
	c->tx_open = true;
	/* the states they set are the node's word since its last list:
	 * its next heartbeat is worked through in full (steady.h) */
	if (store_run(c->ctrl->st, "UPDATE hosts SET steady_ms = 0 WHERE "
		      "name = ?1", node, "forgetting the steady state") < 0) {
		api_err_internal(c, "forgetting the steady state");
		return;
	}
	cJSON_ArrayForEach(e, events) {
		const char *vm = cJSON_GetObjectItemCaseSensitive(e, "vm_id")->valuestring;
		const char *state = cJSON_GetObjectItemCaseSensitive(e, "state")->valuestring;
		const char *reason = cJSON_GetObjectItemCaseSensitive(e, "reason")->valuestring;

		/* A guest that left this node by live migration runs on at
		 * the target: the end of its migrate task moves it there.
		 * Taken as a stop, it read "stopped" until the target's next
		 * report and left vm.state.stopped and then running in the
		 * audit log, as if the guest had been restarted. */
		if (strcmp(state, "shutoff") == 0 &&
		    strcmp(reason, "migrated") == 0)
			continue;
		if (vm_set_state(c, node, vm, vm_state_of(state),
				 strcmp(reason, "crashed") == 0 ||
						 strcmp(reason, "failed") == 0
					 ? reason
					 : NULL) < 0)
			return;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "accepted", (double)i);
	api_ok(c, 200, o);
}

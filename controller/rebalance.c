#include <math.h>
#include <pthread.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "controller/audit.h"
#include "controller/ctrl.h"
#include "controller/db.h"
#include "controller/model.h"
#include "controller/rebalance.h"
#include "controller/store.h"
#include "controller/task.h"
#include "scheduler/problem.h"
#include "scheduler/rebalance.h"
#include "scheduler/state.h"

/* How often a run looks at its migrations. */
#define RB_POLL_US (200 * 1000)

static int step_err(struct store *st, struct db_stmt *s, const char *what)
{
	db_reset(s);
	return store_err(st, what);
}

/* The model of pool (model.h, pool scope); 1 when the pool does not
 * exist. */
static int load_pool(struct store *st, const char *pool, struct model *m)
{
	struct model_scope sc = {.kind = MODEL_SCOPE_POOL, .pool = pool};

	return model_load(st, &sc, m, NULL, 0);
}

/* ---------------------------------------------------------------- the plan */

enum rb_move_state { MV_PENDING = 0, MV_RUNNING, MV_DONE, MV_SKIPPED,
		     MV_FAILED, MV_CANCELLED };

static const char *const mv_state_name[] = {"pending", "running", "done",
					    "skipped", "failed", "cancelled"};

struct rb_move {
	char vm[40];
	char name[NAME_MAX_LEN + 1];
	char tenant[NAME_MAX_LEN + 1];
	char from[SCHED_NAME_MAX], to[SCHED_NAME_MAX];
	double mem_mib;
	enum rb_move_state state;
	char task[40];
	char note[512];
};

struct rb_run {
	struct ctrl *ctrl;
	char task[40];
	bool drain;
	char pool[SCHED_NAME_MAX];
	char host[SCHED_NAME_MAX]; /* drain */
	bool pack;
	int64_t max_moves;
	int concurrency;
	struct rb_move *moves;
	size_t nmoves;
	char **notes;              /* VMs the plan could not move, unresolved */
	size_t nnotes;
	bool failed;
	bool dirty;                /* a move changed state since the last save */
	char error[1024];
	pthread_t thread;
	bool started, finished;
	struct rb_run *next;
};

/* Every run whose thread was started (under the controller lock). */
static struct rb_run *g_runs;

void rb_run_free(struct rb_run *run)
{
	if (run == NULL)
		return;
	free(run->moves);
	for (size_t i = 0; i < run->nnotes; i++)
		free(run->notes[i]);
	free(run->notes);
	free(run);
}

static int run_note(struct rb_run *run, const char *fmt, ...) FC_PRINTF(2, 3);
static int run_note(struct rb_run *run, const char *fmt, ...)
{
	char msg[768];
	char **n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = realloc(run->notes, (run->nnotes + 1) * sizeof(*n));
	if (n == NULL)
		return err_set("out of memory");
	run->notes = n;
	if ((n[run->nnotes] = strdup(msg)) == NULL)
		return err_set("out of memory");
	run->nnotes++;
	return 0;
}

/* eta per dimension over the hosts that are not down: the pool's (sum
 * used / sum usable), the lowest and highest host's and their standard
 * deviation; plus how many hosts run a VM. */
static cJSON *eta_json(const struct sched_problem *p, size_t *active)
{
	cJSON *o = cJSON_CreateObject();
	double *used = calloc(p->nhosts * DIM_COUNT + 1, sizeof(double));
	size_t *count = calloc(p->nhosts + 1, sizeof(size_t));

	*active = 0;
	if (o == NULL || used == NULL || count == NULL) {
		cJSON_Delete(o);
		o = NULL;
		goto out;
	}
	for (size_t i = 0; i < p->nvms; i++) {
		int h = p->vms[i].host;

		if (h < 0)
			continue;
		count[h]++;
		for (int d = 0; d < DIM_COUNT; d++)
			used[(size_t)h * DIM_COUNT + d] += p->vms[i].req[d];
	}
	for (size_t h = 0; h < p->nhosts; h++)
		if (count[h] > 0)
			(*active)++;
	for (int d = 0; d < DIM_COUNT; d++) {
		double su = 0, sc = 0, mn = 0, mx = 0, s1 = 0, s2 = 0;
		size_t n = 0;
		cJSON *e = cJSON_AddObjectToObject(o, sched_dim_name((enum sched_dim)d));

		for (size_t h = 0; h < p->nhosts; h++) {
			const struct sched_host *hh = &p->hosts[h];
			double usable = hh->cap[d] * p->pools[hh->pool].ratio[d];
			double u = used[h * DIM_COUNT + (size_t)d], eta;

			if (hh->state == HOST_DOWN || usable <= 0)
				continue;
			eta = u / usable;
			su += u;
			sc += usable;
			if (n == 0 || eta < mn)
				mn = eta;
			if (n == 0 || eta > mx)
				mx = eta;
			s1 += eta;
			s2 += eta * eta;
			n++;
		}
		cJSON_AddNumberToObject(e, "pool", sc > 0 ? su / sc : 0);
		cJSON_AddNumberToObject(e, "min", mn);
		cJSON_AddNumberToObject(e, "max", mx);
		cJSON_AddNumberToObject(
			e, "stddev",
			n > 0 ? sqrt(fmax(0, s2 / (double)n -
					       (s1 / (double)n) * (s1 / (double)n)))
			      : 0);
	}
out:
	free(used);
	free(count);
	return o;
}

int rb_plan(struct ctrl *ctrl, const struct rb_request *r, cJSON **plan,
	    struct rb_run **run_out)
{
	struct model model;
	struct rebal_opts o;
	struct rebal_result res;
	struct rb_run *run = NULL;
	bool have_res = false;
	cJSON *j = NULL, *moves, *not_moved, *viol, *unres, *e;
	size_t evac = 0, active;
	int ret = -1, rc;

	memset(&res, 0, sizeof(res));
	rc = load_pool(ctrl->st, r->pool, &model);
	if (rc != 0)
		return rc;
	rebal_opts_init(&o);
	o.policy = r->pack ? REBAL_PACK : REBAL_SPREAD;
	o.max_moves = r->max_moves > 0 ? (size_t)r->max_moves : 0;
	o.min_gain = r->min_gain;
	if (r->drain_host) {
		int h = model_host(&model, r->drain_host);

		if (h < 0) {
			err_set("host '%s' is not in pool '%s'", r->drain_host,
				r->pool);
			goto out;
		}
		evac = (size_t)h;
		o.evacuate = &evac;
		o.nevacuate = 1;
		/* a drain moves what must leave and nothing else */
		o.policy = REBAL_SPREAD;
		o.min_gain = 1e300;
		o.max_moves = 0;
	}
	if (rebal_plan(model.p, &o, &res) < 0) {
		err_prefix("planning pool '%s'", r->pool);
		goto out;
	}
	have_res = true;
	if (run_out) {
		run = calloc(1, sizeof(*run));
		if (run == NULL ||
		    (res.nmoves && (run->moves = calloc(res.nmoves,
							sizeof(*run->moves))) == NULL)) {
			err_set("out of memory");
			goto out;
		}
		run->ctrl = ctrl;
		run->drain = r->drain_host != NULL;
		str_copy(run->pool, sizeof(run->pool), r->pool);
		if (r->drain_host)
			str_copy(run->host, sizeof(run->host), r->drain_host);
		run->pack = r->pack;
		run->max_moves = r->max_moves;
		run->concurrency = r->concurrency;
	}

	j = cJSON_CreateObject();
	if (j == NULL)
		goto oom;
	cJSON_AddStringToObject(j, "pool", r->pool);
	if (r->drain_host)
		cJSON_AddStringToObject(j, "drain_host", r->drain_host);
	cJSON_AddStringToObject(j, "policy", r->pack ? "pack" : "spread");
	cJSON_AddStringToObject(j, "metric", res.metric ? res.metric : "eta");
	cJSON_AddNumberToObject(j, "score_before", res.score_before);
	cJSON_AddNumberToObject(j, "score_after", res.score_after);
	moves = cJSON_AddArrayToObject(j, "moves");
	not_moved = cJSON_AddArrayToObject(j, "not_moved");
	if (moves == NULL || not_moved == NULL)
		goto oom;
	{
		double mib = 0;

		for (size_t i = 0; i < res.nmoves; i++) {
			const struct rebal_move *m = &res.moves[i];
			const struct model_vm *x = &model.vm[m->vm];
			const char *why = x->fixed;

			if (why) {
				if (!(e = cJSON_CreateObject()))
					goto oom;
				cJSON_AddItemToArray(not_moved, e);
				cJSON_AddStringToObject(e, "vm", x->id);
				cJSON_AddStringToObject(e, "vm_name", x->name);
				cJSON_AddStringToObject(
					e, "host", model.p->hosts[m->from].name);
				cJSON_AddStringToObject(e, "reason", why);
				if (run && run_note(run, "VM '%s' (%s) stays on "
						    "'%s': %s", x->name, x->id,
						    model.p->hosts[m->from].name,
						    why) < 0)
					goto out;
				continue;
			}
			if (!(e = cJSON_CreateObject()))
				goto oom;
			cJSON_AddItemToArray(moves, e);
			cJSON_AddStringToObject(e, "vm", x->id);
			cJSON_AddStringToObject(e, "vm_name", x->name);
			cJSON_AddStringToObject(e, "tenant", x->tenant);
			cJSON_AddStringToObject(e, "source",
						model.p->hosts[m->from].name);
			cJSON_AddStringToObject(e, "target",
						model.p->hosts[m->to].name);
			cJSON_AddNumberToObject(e, "mem_mib", m->mem_mib);
			cJSON_AddStringToObject(e, "phase",
						rebal_phase_name(m->phase));
			cJSON_AddNumberToObject(e, "score_before", m->score_before);
			cJSON_AddNumberToObject(e, "score_after", m->score_after);
			mib += m->mem_mib;
			if (run) {
				struct rb_move *rm = &run->moves[run->nmoves++];

				str_copy(rm->vm, sizeof(rm->vm), x->id);
				str_copy(rm->name, sizeof(rm->name), x->name);
				str_copy(rm->tenant, sizeof(rm->tenant), x->tenant);
				str_copy(rm->from, sizeof(rm->from),
					 model.p->hosts[m->from].name);
				str_copy(rm->to, sizeof(rm->to),
					 model.p->hosts[m->to].name);
				rm->mem_mib = m->mem_mib;
			}
		}
		cJSON_AddNumberToObject(j, "mib_moved", mib);
	}
	/* a drained host's VMs that the plan keeps there (not running, say) */
	if (r->drain_host) {
		for (size_t i = 0; i < model.nstored; i++) {
			bool planned = false;

			if (model.p->vms[i].host != (int)evac)
				continue;
			for (size_t k = 0; k < res.nmoves; k++)
				if (res.moves[k].vm == i)
					planned = true;
			if (planned)
				continue;
			if (!(e = cJSON_CreateObject()))
				goto oom;
			cJSON_AddItemToArray(not_moved, e);
			cJSON_AddStringToObject(e, "vm", model.vm[i].id);
			cJSON_AddStringToObject(e, "vm_name", model.vm[i].name);
			cJSON_AddStringToObject(e, "host", r->drain_host);
			cJSON_AddStringToObject(e, "reason",
						model.vm[i].fixed
							? model.vm[i].fixed
							: "no other host can take it");
			if (run && run_note(run, "VM '%s' (%s) stays on '%s': %s",
					    model.vm[i].name, model.vm[i].id,
					    r->drain_host,
					    model.vm[i].fixed ? model.vm[i].fixed
							      : "no other host "
								"can take it") < 0)
				goto out;
		}
	}
	viol = cJSON_AddArrayToObject(j, "violations");
	unres = cJSON_AddArrayToObject(j, "unresolved");
	if (viol == NULL || unres == NULL)
		goto oom;
	for (size_t i = 0; i < res.nviolations; i++) {
		const struct rebal_violation *v = &res.violations[i];

		if (!(e = cJSON_CreateObject()))
			goto oom;
		cJSON_AddItemToArray(viol, e);
		cJSON_AddStringToObject(e, "vm", model.vm[v->vm].id);
		cJSON_AddStringToObject(e, "host", v->host >= 0
						   ? model.p->hosts[v->host].name
						   : "");
		cJSON_AddStringToObject(e, "constraint",
					sched_reason_name(v->code));
		cJSON_AddStringToObject(e, "reason", v->reason);
		cJSON_AddBoolToObject(e, "repaired", v->repaired);
	}
	for (size_t i = 0; i < res.nunresolved; i++) {
		cJSON_AddItemToArray(unres, cJSON_CreateString(res.unresolved[i]));
		if (run && run_note(run, "%s", res.unresolved[i]) < 0)
			goto out;
	}
	cJSON_AddBoolToObject(j, "max_moves_reached", res.max_moves_reached);
	if (!(e = eta_json(model.p, &active)))
		goto oom;
	cJSON_AddItemToObject(j, "eta_before", e);
	cJSON_AddNumberToObject(j, "hosts_active_before", (double)active);
	rebal_apply(&res, model.p);
	if (!(e = eta_json(model.p, &active)))
		goto oom;
	cJSON_AddItemToObject(j, "eta_after", e);
	cJSON_AddNumberToObject(j, "hosts_active_after", (double)active);
	*plan = j;
	j = NULL;
	if (run_out) {
		*run_out = run;
		run = NULL;
	}
	ret = 0;
	goto out;
oom:
	err_set("out of memory for a rebalance plan");
out:
	cJSON_Delete(j);
	rb_run_free(run);
	if (have_res)
		rebal_result_free(&res);
	model_free(&model);
	return ret;
}

/* ------------------------------------------------------------ the runs */

bool rb_busy(struct ctrl *ctrl, const char *pool, char *task, size_t size)
{
	(void)ctrl;
	for (struct rb_run *r = g_runs; r; r = r->next)
		if (!r->finished && strcmp(r->pool, pool) == 0) {
			str_copy(task, size, r->task);
			return true;
		}
	return false;
}

bool rb_draining(struct ctrl *ctrl, const char *host, char *task,
		 size_t size)
{
	(void)ctrl;
	for (struct rb_run *r = g_runs; r; r = r->next)
		if (!r->finished && r->drain && strcmp(r->host, host) == 0) {
			str_copy(task, size, r->task);
			return true;
		}
	return false;
}

static const char *run_kind(const struct rb_run *r)
{
	return r->drain ? "drain" : "rebalance";
}

static cJSON *progress_json(const struct rb_run *r)
{
	cJSON *o = cJSON_CreateObject(), *mv, *cur, *notes;
	size_t n[MV_CANCELLED + 1] = {0};

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "pool", r->pool);
	if (r->drain)
		cJSON_AddStringToObject(o, "host", r->host);
	else
		cJSON_AddNullToObject(o, "host");
	cJSON_AddStringToObject(o, "policy", r->pack ? "pack" : "spread");
	cJSON_AddNumberToObject(o, "max_moves", (double)r->max_moves);
	cJSON_AddNumberToObject(o, "concurrency", r->concurrency);
	for (size_t i = 0; i < r->nmoves; i++)
		n[r->moves[i].state]++;
	cJSON_AddNumberToObject(o, "total", (double)r->nmoves);
	cJSON_AddNumberToObject(o, "done", (double)n[MV_DONE]);
	cJSON_AddNumberToObject(o, "running", (double)n[MV_RUNNING]);
	cJSON_AddNumberToObject(o, "skipped", (double)n[MV_SKIPPED]);
	cJSON_AddNumberToObject(o, "failed", (double)n[MV_FAILED]);
	cJSON_AddNumberToObject(o, "cancelled", (double)n[MV_CANCELLED]);
	cur = cJSON_AddArrayToObject(o, "current");
	mv = cJSON_AddArrayToObject(o, "moves");
	notes = cJSON_AddArrayToObject(o, "notes");
	if (cur == NULL || mv == NULL || notes == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	for (size_t i = 0; i < r->nmoves; i++) {
		const struct rb_move *m = &r->moves[i];
		cJSON *e = cJSON_CreateObject();

		if (e == NULL) {
			cJSON_Delete(o);
			return NULL;
		}
		cJSON_AddStringToObject(e, "vm", m->vm);
		cJSON_AddStringToObject(e, "vm_name", m->name);
		cJSON_AddStringToObject(e, "source", m->from);
		cJSON_AddStringToObject(e, "target", m->to);
		cJSON_AddNumberToObject(e, "mem_mib", m->mem_mib);
		cJSON_AddStringToObject(e, "state", mv_state_name[m->state]);
		if (m->task[0])
			cJSON_AddStringToObject(e, "task", m->task);
		else
			cJSON_AddNullToObject(e, "task");
		if (m->note[0])
			cJSON_AddStringToObject(e, "note", m->note);
		else
			cJSON_AddNullToObject(e, "note");
		if (m->state == MV_RUNNING)
			cJSON_AddItemToArray(cur, cJSON_Duplicate(e, true));
		cJSON_AddItemToArray(mv, e);
	}
	for (size_t i = 0; i < r->nnotes; i++)
		cJSON_AddItemToArray(notes, cJSON_CreateString(r->notes[i]));
	return o;
}

/* Record the run's progress; when final, end its task as well (failed
 * with r->error when r->failed, else done). */
static int save_progress(struct rb_run *r, bool final)
{
	struct store *st = r->ctrl->st;
	cJSON *pj = progress_json(r);
	char *text = pj ? cJSON_PrintUnformatted(pj) : NULL;
	int ret = -1, rc;

	cJSON_Delete(pj);
	if (text == NULL)
		return err_set("out of memory");
	if (task_set_progress(st, r->task, text) < 0)
		goto out;
	if (final) {
		rc = task_end(st, r->task, r->failed ? TASK_FAILED : TASK_DONE,
			      r->failed ? r->error : NULL);
		if (rc < 0)
			goto out;
		if (rc > 0) /* it ended already: nothing left to record */
			log_warn("%s %s: %s", run_kind(r), r->task, err_msg());
	}
	ret = 0;
out:
	free(text);
	return ret;
}

static int audit_move(struct rb_run *r, const struct rb_move *m,
		      const char *what)
{
	char action[64], target[512];

	snprintf(action, sizeof(action), "%s.move.%s", run_kind(r), what);
	snprintf(target, sizeof(target), "vm:%s %s->%s task:%s", m->vm, m->from,
		 m->to, r->task);
	return audit_event(r->ctrl->st, action, target, r->task);
}

static bool host_busy(const struct rb_run *r, const char *host)
{
	for (size_t i = 0; i < r->nmoves; i++)
		if (r->moves[i].state == MV_RUNNING &&
		    (strcmp(r->moves[i].from, host) == 0 ||
		     strcmp(r->moves[i].to, host) == 0))
			return true;
	return false;
}

/* Check move m against the store as it is now. 0: start it; 1: skip it
 * (note says why); 2: infeasible now (note says why), may become feasible
 * when the moves in flight end. */
static int recheck(struct rb_run *r, struct rb_move *m)
{
	struct model model;
	struct sched_state *s = NULL;
	int vm, to, ret = -1;
	char why[400];

	switch (load_pool(r->ctrl->st, r->pool, &model)) {
	case 0:
		break;
	case 1:
		return err_set("pool '%s' no longer exists", r->pool);
	default:
		return -1;
	}
	vm = model_stored_vm(&model, m->vm);
	if (vm < 0) {
		snprintf(m->note, sizeof(m->note), "unnecessary: the VM is gone "
			 "from pool '%s'", r->pool);
		ret = 1;
		goto out;
	}
	if (model.p->vms[vm].host < 0 ||
	    strcmp(model.p->hosts[model.p->vms[vm].host].name, m->from) != 0) {
		snprintf(m->note, sizeof(m->note), "unnecessary: the VM is now "
			 "on '%s', not on '%s'",
			 model.p->vms[vm].host < 0
				 ? "?"
				 : model.p->hosts[model.p->vms[vm].host].name,
			 m->from);
		ret = 1;
		goto out;
	}
	if (model.vm[vm].fixed) {
		snprintf(m->note, sizeof(m->note), "not moved: %s",
			 model.vm[vm].fixed);
		ret = 1;
		goto out;
	}
	to = model_host(&model, m->to);
	if (to < 0) {
		snprintf(m->note, sizeof(m->note), "infeasible: host '%s' left "
			 "pool '%s'", m->to, r->pool);
		ret = 1;
		goto out;
	}
	s = sched_state_new(model.p);
	if (s == NULL)
		goto out;
	if (sched_state_check(s, (size_t)vm, (size_t)to, why, sizeof(why)) < 0) {
		snprintf(m->note, sizeof(m->note), "infeasible now: %s", why);
		ret = 2;
		goto out;
	}
	m->note[0] = '\0';
	ret = 0;
out:
	sched_state_free(s);
	model_free(&model);
	return ret;
}

static int start_move(struct rb_run *r, struct rb_move *m)
{
	struct store *st = r->ctrl->st;
	struct task_new t = {.type = TASK_MIGRATE};
	struct db_stmt *s;
	int rc;

	rc = store_find(st, "SELECT vcpus, mem_mib, disk_gib FROM vms WHERE "
			"id = ?", m->vm, &s, "reading the VM");
	if (rc == 0)
		err_set("VM '%s' is gone", m->vm);
	if (rc <= 0)
		return -1;
	for (int i = 0; i < 3; i++)
		t.req[i] = db_col_int64(s, i);
	db_reset(s);
	t.vm_id = m->vm;
	t.tenant = m->tenant;
	t.source_host = m->from;
	t.target_host = m->to;
	if (task_create(st, &t, m->task) < 0 ||
	    ctrl_bump_generation(r->ctrl, m->from) < 0 ||
	    ctrl_bump_generation(r->ctrl, m->to) < 0) /* vmimage.h */
		return -1;
	r->dirty = true;
	m->state = MV_RUNNING;
	log_info("%s %s: migrating VM '%s' (%s) from '%s' to '%s' (task %s)",
		 run_kind(r), r->task, m->name, m->vm, m->from, m->to, m->task);
	return audit_move(r, m, "start");
}

/* Look at a move in flight. */
static int poll_move(struct rb_run *r, struct rb_move *m)
{
	char state[16], error[400];
	struct task t;
	bool src_down = false;
	int rc = task_load_watch(r->ctrl->st, m->task, &t, &src_down);

	if (rc < 0)
		return -1;
	if (rc > 0) {
		str_copy(state, sizeof(state), "failed");
		str_copy(error, sizeof(error), "its task disappeared");
	} else {
		str_copy(state, sizeof(state), task_state_name(t.state));
		str_copy(error, sizeof(error), t.error);
	}
	if (strcmp(state, "done") == 0) {
		r->dirty = true;
		m->state = MV_DONE;
		log_info("%s %s: VM '%s' (%s) now runs on '%s'", run_kind(r),
			 r->task, m->name, m->vm, m->to);
		return audit_move(r, m, "done");
	}
	if (strcmp(state, "failed") != 0 && src_down) {
		str_copy(state, sizeof(state), "failed");
		snprintf(error, sizeof(error), "source host '%s' went down "
			 "during the migration (task %s stays with its agent)",
			 m->from, m->task);
	}
	if (strcmp(state, "failed") != 0)
		return 0;
	r->dirty = true;
	m->state = MV_FAILED;
	snprintf(m->note, sizeof(m->note), "%s", error[0] ? error : "failed");
	if (!r->failed) {
		r->failed = true;
		snprintf(r->error, sizeof(r->error), "migration of VM '%s' (%s) "
			 "from '%s' to '%s' failed: %s; the run stopped (no new "
			 "move started); see 'finctl task show %s'",
			 m->name, m->vm, m->from, m->to, m->note, m->task);
	}
	log_warn("%s %s: %s", run_kind(r), r->task, r->error);
	return audit_move(r, m, "failed");
}

/* A drain that leaves VMs on its host did not do its job: fail it,
 * naming them (stopped VMs cannot move live, say). */
static int drain_left(struct rb_run *r)
{
	struct db_stmt *s = store_stmt(r->ctrl->st,
				     "SELECT count(*), group_concat(name || ' (' "
				     "|| state || ')', ', ') FROM vms WHERE host "
				     "= ? AND desired != 'deleted'");
	int64_t n;

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, r->host);
	if (db_step(s) != DB_ROW)
		return step_err(r->ctrl->st, s, "counting the host's VMs");
	n = db_col_int64(s, 0);
	if (n > 0) {
		r->failed = true;
		snprintf(r->error, sizeof(r->error), "host '%s' still holds %"
			 PRId64 " VM(s): %.700s; only running VMs leave by live "
			 "migration: stop and delete them, or start them and "
			 "drain again", r->host, n, store_col_text(s, 1));
	}
	db_reset(s);
	return 0;
}

/* One pass: look at the moves in flight, start what may start, record
 * progress. *end is set when the run is over. */
static int run_step(struct rb_run *r, bool *end)
{
	size_t inflight = 0, pending = 0;

	*end = false;
	for (size_t i = 0; i < r->nmoves; i++)
		if (r->moves[i].state == MV_RUNNING &&
		    poll_move(r, &r->moves[i]) < 0)
			return -1;
	for (size_t i = 0; i < r->nmoves; i++)
		if (r->moves[i].state == MV_RUNNING)
			inflight++;
	for (size_t i = 0; i < r->nmoves; i++) {
		struct rb_move *m = &r->moves[i];
		int rc;

		if (m->state != MV_PENDING)
			continue;
		if (r->failed) {
			r->dirty = true;
			m->state = MV_CANCELLED;
			snprintf(m->note, sizeof(m->note), "not started: the run "
				 "stopped after a failed migration");
			continue;
		}
		if (inflight >= (size_t)r->concurrency ||
		    host_busy(r, m->from) || host_busy(r, m->to)) {
			pending++;
			continue;
		}
		rc = recheck(r, m);
		if (rc < 0)
			return -1;
		if (rc == 2 && inflight > 0) {
			pending++; /* may fit once the moves in flight end */
			continue;
		}
		if (rc > 0) {
			r->dirty = true;
			m->state = MV_SKIPPED;
			log_info("%s %s: VM '%s' (%s) skipped: %s", run_kind(r),
				 r->task, m->name, m->vm, m->note);
			if (audit_move(r, m, "skipped") < 0)
				return -1;
			continue;
		}
		if (start_move(r, m) < 0)
			return -1;
		inflight++;
	}
	if (inflight > 0 || pending > 0) {
		/* the progress is written when a move changed state */
		if (!r->dirty)
			return 0;
		if (save_progress(r, false) < 0)
			return -1;
		r->dirty = false;
		return 0;
	}
	*end = true;
	if (r->drain && !r->failed && drain_left(r) < 0)
		return -1;
	{
		size_t done = 0, skipped = 0;
		char action[64], target[320], msg[1024];

		for (size_t i = 0; i < r->nmoves; i++) {
			done += r->moves[i].state == MV_DONE;
			skipped += r->moves[i].state == MV_SKIPPED;
		}
		snprintf(action, sizeof(action), "%s.run.%s", run_kind(r),
			 r->failed ? "failed" : "done");
		snprintf(target, sizeof(target), "task:%s %s:%s", r->task,
			 r->drain ? "host" : "pool", r->drain ? r->host : r->pool);
		if (audit_event(r->ctrl->st, action, target, r->task) < 0)
			return -1;
		if (r->failed) {
			snprintf(msg, sizeof(msg), "%s", r->error);
		} else {
			snprintf(msg, sizeof(msg), "%zu of %zu moves done, %zu "
				 "skipped", done, r->nmoves, skipped);
		}
		log_info("%s %s of %s '%s' %s: %s", run_kind(r), r->task,
			 r->drain ? "host" : "pool", r->drain ? r->host : r->pool,
			 r->failed ? "failed" : "done", msg);
		return save_progress(r, true);
	}
}

static void *run_main(void *arg)
{
	struct rb_run *r = arg;
	struct ctrl *ctrl = r->ctrl;
	bool end = false;

	while (!end) {
		pthread_mutex_lock(&ctrl->lock);
		if (ctrl->stopping) {
			if (store_begin(ctrl->st, false) == 0) {
				if (!r->failed) {
					r->failed = true;
					snprintf(r->error, sizeof(r->error),
						 "interrupted: the controller "
						 "stopped; migrations already "
						 "handed to agents finish on "
						 "their own");
				}
				for (size_t i = 0; i < r->nmoves; i++)
					if (r->moves[i].state == MV_PENDING)
						r->moves[i].state = MV_CANCELLED;
				if (save_progress(r, true) < 0 ||
				    store_commit(ctrl->st) < 0)
					store_rollback(ctrl->st);
			}
			store_reset_all(ctrl->st);
			pthread_mutex_unlock(&ctrl->lock);
			break;
		}
		if (store_begin(ctrl->st, false) < 0 ||
		    run_step(r, &end) < 0 || store_commit(ctrl->st) < 0) {
			log_error("%s %s: %s", run_kind(r), r->task, err_msg());
			store_rollback(ctrl->st);
			end = false;
		}
		store_reset_all(ctrl->st);
		pthread_mutex_unlock(&ctrl->lock);
		if (!end)
			usleep(RB_POLL_US);
	}
	pthread_mutex_lock(&ctrl->lock);
	store_owner_unlock(ctrl->st, r->task);
	store_reset_all(ctrl->st);
	r->finished = true;
	pthread_mutex_unlock(&ctrl->lock);
	return NULL;
}

/* Join and release the runs whose thread has ended. */
static void reap(void)
{
	struct rb_run **pp = &g_runs;

	while (*pp) {
		struct rb_run *r = *pp;

		if (r->finished) {
			*pp = r->next;
			pthread_join(r->thread, NULL);
			rb_run_free(r);
		} else {
			pp = &r->next;
		}
	}
}

int rb_run_start(struct ctrl *ctrl, struct rb_run *run, const char *request_id,
		 char *task, size_t size)
{
	struct task_new t = {.type = run->drain ? TASK_DRAIN : TASK_REBALANCE};
	char action[64], target[320];
	bool got;
	int ret = -1;

	reap();
	/* the lock says to the other controllers that this one drives the
	 * run (rb_recover()); the thread releases it when it ends */
	if (task_create(ctrl->st, &t, run->task) < 0 ||
	    store_owner_lock(ctrl->st, run->task, &got) < 0 ||
	    save_progress(run, false) < 0)
		goto out;
	snprintf(action, sizeof(action), "%s.run.start", run_kind(run));
	snprintf(target, sizeof(target), "task:%s %s:%s", run->task,
		 run->drain ? "host" : "pool", run->drain ? run->host : run->pool);
	if (audit_event(ctrl->st, action, target, request_id) < 0)
		goto out;
	/* the thread waits for the lock, so it sees the committed task */
	if (pthread_create(&run->thread, NULL, run_main, run) != 0) {
		err_set("cannot start the %s's thread", run_kind(run));
		goto out;
	}
	run->started = true;
	str_copy(task, size, run->task);
	log_info("%s %s of %s '%s': %zu moves planned, concurrency %d",
		 run_kind(run), run->task, run->drain ? "host" : "pool",
		 run->drain ? run->host : run->pool, run->nmoves,
		 run->concurrency);
	run->next = g_runs;
	g_runs = run;
	run = NULL;
	ret = 0;
out:
	rb_run_free(run);
	return ret;
}

/* Whether no controller drives run task id: not one of this process's
 * runs, and its lock is free (taken, then released at once). */
static bool run_orphan(const char *id, void *arg)
{
	struct ctrl *ctrl = arg;
	bool got;

	for (struct rb_run *r = g_runs; r; r = r->next)
		if (strcmp(r->task, id) == 0)
			return false;
	if (store_owner_lock(ctrl->st, id, &got) < 0 || !got)
		return false;
	store_owner_unlock(ctrl->st, id);
	return true;
}

int rb_recover(struct ctrl *ctrl)
{
	if (store_begin(ctrl->st, true) < 0)
		return -1;
	if (task_recover_runs(ctrl->st, "interrupted: the controller that "
				       "drove it stopped; start it again",
			      run_orphan, ctrl) < 0) {
		store_rollback(ctrl->st);
		return -1;
	}
	return store_commit(ctrl->st);
}

void rb_shutdown(struct ctrl *ctrl)
{
	struct rb_run *list;

	pthread_mutex_lock(&ctrl->lock);
	list = g_runs;
	g_runs = NULL;
	pthread_mutex_unlock(&ctrl->lock);
	while (list) {
		struct rb_run *next = list->next;

		pthread_join(list->thread, NULL);
		rb_run_free(list);
		list = next;
	}
}

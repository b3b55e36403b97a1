#include <cjson/cJSON.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "controller/db.h"
#include "controller/store.h"
#include "controller/task.h"

#define BIT(t) (1u << (t))
#define T_LIFECYCLE (BIT(TASK_CREATE) | BIT(TASK_START) | BIT(TASK_STOP) | \
		     BIT(TASK_DELETE))
#define T_AGENT (BIT(TASK_MIGRATE) | BIT(TASK_REBOOT))
#define T_RUN (BIT(TASK_REBALANCE) | BIT(TASK_DRAIN))
#define T_HA_HOST (BIT(TASK_SUSPECT) | BIT(TASK_FENCE))
#define T_HA_VM (BIT(TASK_RESTART) | BIT(TASK_LOST))

static const char *const task_state_names[TASK_NSTATES] = {
	"pending", "running", "done", "failed",
};

static const struct {
	const char *name;
	enum task_state initial;
} task_types[TASK_NTYPES] = {
	{"create", TASK_PENDING},  {"start", TASK_PENDING},
	{"stop", TASK_PENDING},    {"delete", TASK_PENDING},
	{"migrate", TASK_PENDING}, {"reboot", TASK_PENDING},
	{"rebalance", TASK_RUNNING}, {"drain", TASK_RUNNING},
	{"suspect", TASK_RUNNING}, {"fence", TASK_RUNNING},
	{"restart", TASK_PENDING}, {"lost", TASK_PENDING},
};

/* The one table of the lifecycle (see task.h): a move not listed here,
 * or listed without the task's type, is refused. */
static const struct {
	enum task_state from, to;
	unsigned types;
} task_transitions[] = {
	{TASK_PENDING, TASK_RUNNING, T_AGENT},
	{TASK_PENDING, TASK_DONE, T_LIFECYCLE | T_AGENT | BIT(TASK_RESTART)},
	{TASK_PENDING, TASK_FAILED, T_LIFECYCLE | T_AGENT | T_HA_VM},
	{TASK_RUNNING, TASK_DONE, T_AGENT | T_RUN | T_HA_HOST},
	{TASK_RUNNING, TASK_FAILED, T_AGENT | T_RUN | T_HA_HOST},
};

/* Which VM state ends which lifecycle task, and how. */
static const struct {
	unsigned types;
	const char *vm_state;
	enum task_state end;
} task_vm_outcomes[] = {
	{BIT(TASK_CREATE) | BIT(TASK_START), "running", TASK_DONE},
	{BIT(TASK_STOP), "stopped", TASK_DONE},
	{BIT(TASK_CREATE) | BIT(TASK_START) | BIT(TASK_STOP), "failed",
	 TASK_FAILED},
	{BIT(TASK_DELETE), "deleted", TASK_DONE},
	/* a VM restarted on another host (ha.h) */
	{BIT(TASK_RESTART), "running", TASK_DONE},
	{BIT(TASK_RESTART), "failed", TASK_FAILED},
	{BIT(TASK_RESTART), "deleted", TASK_FAILED},
};

const char *task_state_name(enum task_state state)
{
	return (unsigned)state < TASK_NSTATES ? task_state_names[state] : "?";
}

const char *task_type_name(enum task_type type)
{
	return (unsigned)type < TASK_NTYPES ? task_types[type].name : "?";
}

int task_state_parse(const char *name, enum task_state *out)
{
	for (int i = 0; i < TASK_NSTATES; i++)
		if (strcmp(name, task_state_names[i]) == 0) {
			*out = (enum task_state)i;
			return 0;
		}
	return err_set("unknown task state '%.32s'", name);
}

int task_type_parse(const char *name, enum task_type *out)
{
	for (int i = 0; i < TASK_NTYPES; i++)
		if (strcmp(name, task_types[i].name) == 0) {
			*out = (enum task_type)i;
			return 0;
		}
	return err_set("unknown task type '%.32s'", name);
}

enum task_state task_initial(enum task_type type)
{
	return task_types[type].initial;
}

bool task_for_agent(enum task_type type)
{
	return (T_AGENT & BIT(type)) != 0;
}

bool task_may(enum task_type type, enum task_state from, enum task_state to)
{
	for (size_t i = 0; i < FC_ARRAY_LEN(task_transitions); i++)
		if (task_transitions[i].from == from &&
		    task_transitions[i].to == to)
			return (task_transitions[i].types & BIT(type)) != 0;
	return false;
}

bool task_vm_outcome(enum task_type type, const char *vm_state,
		     enum task_state *end)
{
	for (size_t i = 0; i < FC_ARRAY_LEN(task_vm_outcomes); i++)
		if ((task_vm_outcomes[i].types & BIT(type)) &&
		    strcmp(task_vm_outcomes[i].vm_state, vm_state) == 0) {
			*end = task_vm_outcomes[i].end;
			return true;
		}
	return false;
}

int task_create(struct store *st, const struct task_new *t,
		char id[TASK_ID_LEN])
{
	/* a field the task does not have is '' in the table */
	const char *text[] = {id, task_type_name(t->type),
			      task_state_name(task_initial(t->type)),
			      t->vm_id ? t->vm_id : "", t->tenant ? t->tenant : "",
			      t->source_host ? t->source_host : "",
			      t->target_host ? t->target_host : ""};
	struct db_stmt *s;

	if (uuid_generate_v4(id) < 0)
		return -1;
	s = store_stmt(st, "INSERT INTO tasks(id, type, state, vm_id, tenant, "
			   "source_host, target_host, vcpus, mem_mib, disk_gib, "
			   "created_ms, updated_ms, max_seconds, postcopy) "
			   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?11, ?11, ?12, "
			   "?13)");
	if (s == NULL)
		return -1;
	store_bind_texts(s, 1, text, 7);
	store_bind_int64s(s, 8, t->req, 3);
	db_bind_int64(s, 11, time_wall_ms());
	db_bind_int64(s, 12, t->max_seconds);
	if (t->postcopy == TASK_POSTCOPY_INHERIT)
		db_bind_null(s, 13);
	else
		db_bind_int64(s, 13, t->postcopy == TASK_POSTCOPY_YES);
	return store_done(st, s, "recording a task");
}

/* The columns task_rows() reads, in the order of struct task. */
#define TASK_SELECT                                                        \
	"SELECT id, type, state, vm_id, tenant, source_host, target_host, " \
	"error FROM tasks "

/* The TASK_SELECT columns of the row s is on into *t. 0, or -1 with
 * err_set() for a type or state the code does not know. */
static int task_row(struct db_stmt *s, struct task *t)
{
	str_copy(t->id, sizeof(t->id), store_col_text(s, 0));
	if (task_type_parse(store_col_text(s, 1), &t->type) < 0 ||
	    task_state_parse(store_col_text(s, 2), &t->state) < 0) {
		err_prefix("task '%.40s'", t->id);
		return -1;
	}
	str_copy(t->vm_id, sizeof(t->vm_id), store_col_text(s, 3));
	str_copy(t->tenant, sizeof(t->tenant), store_col_text(s, 4));
	str_copy(t->source_host, sizeof(t->source_host), store_col_text(s, 5));
	str_copy(t->target_host, sizeof(t->target_host), store_col_text(s, 6));
	str_copy(t->error, sizeof(t->error), store_col_text(s, 7));
	return 0;
}

/* Step s (a bound TASK_SELECT statement) to its end, collecting its rows
 * into *out (caller frees) and their number into *n; s is reset. 0, or
 * -1 with err_set(). */
static int task_rows(struct store *st, struct db_stmt *s, struct task **out,
		     size_t *n)
{
	struct buf rows;
	struct task t;
	int rc;

	buf_init(&rows, 0);
	while ((rc = db_step(s)) == DB_ROW)
		if (task_row(s, &t) < 0 ||
		    buf_append(&rows, &t, sizeof(t)) < 0)
			break;
	if (store_rows_end(st, s, rc, &rows, "reading tasks") < 0)
		return -1;
	*n = rows.len / sizeof(t);
	*out = (struct task *)(void *)rows.data; /* malloc'd: aligned */
	return 0;
}

int task_load(struct store *st, const char *id, struct task *out)
{
	struct db_stmt *s = store_stmt(st, TASK_SELECT "WHERE id = ?");
	struct task *rows = NULL;
	size_t n = 0;

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, id);
	if (task_rows(st, s, &rows, &n) < 0)
		return -1;
	if (n > 0)
		*out = rows[0];
	free(rows);
	return n > 0 ? 0 : 1;
}

/* Move task id of type from state `from` to `to`, when the table allows
 * it; see task_advance() for error and the result. */
static int task_move(struct store *st, const char *id, enum task_type type,
		     enum task_state from, enum task_state to,
		     const char *error)
{
	struct db_stmt *s;

	if (!task_may(type, from, to)) {
		err_set("task '%.40s' (%s) cannot go from %s to %s", id,
			task_type_name(type), task_state_name(from),
			task_state_name(to));
		return 1;
	}
	s = store_stmt(st, "UPDATE tasks SET state = ?1, error = coalesce(?2, "
			   "error), updated_ms = ?3 WHERE id = ?4 AND state = ?5");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, task_state_name(to));
	/* a task that starts keeps its error; one that ends gets its own */
	if (to == TASK_DONE || to == TASK_FAILED)
		store_bind_text(s, 2, error ? error : "");
	db_bind_int64(s, 3, time_wall_ms());
	store_bind_text(s, 4, id);
	store_bind_text(s, 5, task_state_name(from));
	if (store_done(st, s, "updating a task") < 0)
		return -1;
	if (db_changes(store_db(st)) == 0) {
		err_set("task '%.40s' is no longer %s", id,
			task_state_name(from));
		return 1;
	}
	return 0;
}

int task_advance(struct store *st, const char *id, enum task_state to,
		 const char *error)
{
	struct task t;
	int rc = task_load(st, id, &t);

	if (rc > 0)
		err_set("task '%.40s' does not exist", id);
	if (rc != 0)
		return rc;
	return task_move(st, id, t.type, t.state, to, error);
}

int task_end(struct store *st, const char *id, enum task_state end,
	     const char *error)
{
	if (end != TASK_DONE && end != TASK_FAILED) {
		err_set("task '%.40s' cannot end %s", id, task_state_name(end));
		return 1;
	}
	return task_advance(st, id, end, error);
}

/* The open (pending, running) tasks of VM vm_id, or of every VM when
 * NULL, oldest first, into *out (caller frees) and *n. 0 or -1. */
static int task_open_list(struct store *st, const char *vm_id,
			  struct task **out, size_t *n)
{
	struct db_stmt *s = store_stmt(st, TASK_SELECT "WHERE state IN "
				     "('pending','running') AND (?1 IS NULL OR "
				     "vm_id = ?1) ORDER BY seq");

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, vm_id);
	return task_rows(st, s, out, n);
}

/* Decides for one open task t whether it ends, and in which state
 * (*end); ud is the caller's. */
typedef bool (*task_pick_fn)(const struct task *t, const void *ud,
			     enum task_state *end);

/* End every open task of vm_id (every VM: NULL) that pick chooses, with
 * error. A move the table refuses leaves that task as it is. */
static int task_end_open(struct store *st, const char *vm_id,
			 task_pick_fn pick, const void *ud, const char *error)
{
	struct task *list = NULL;
	size_t n = 0;
	int ret = 0;

	if (task_open_list(st, vm_id, &list, &n) < 0)
		return -1;
	for (size_t i = 0; i < n && ret == 0; i++) {
		enum task_state end;
		int rc;

		if (!pick(&list[i], ud, &end))
			continue;
		rc = task_move(st, list[i].id, list[i].type, list[i].state, end,
			       error);
		if (rc < 0)
			ret = -1;
		else if (rc > 0)
			log_debug("%s", err_msg());
	}
	free(list);
	return ret;
}

static bool pick_types_failed(const struct task *t, const void *ud,
			      enum task_state *end)
{
	*end = TASK_FAILED;
	return (*(const unsigned *)ud & BIT(t->type)) != 0;
}

static bool pick_vm_outcome(const struct task *t, const void *ud,
			    enum task_state *end)
{
	return task_vm_outcome(t->type, ud, end);
}

struct orphan_pick {
	bool (*orphan)(const char *id, void *arg);
	void *arg;
};

static bool pick_orphan_run(const struct task *t, const void *ud,
			    enum task_state *end)
{
	const struct orphan_pick *o = ud;

	*end = TASK_FAILED;
	return (T_RUN & BIT(t->type)) && o->orphan(t->id, o->arg);
}

int task_supersede(struct store *st, const char *vm_id)
{
	static const unsigned types = T_LIFECYCLE;

	return task_end_open(st, vm_id, pick_types_failed, &types,
			     "superseded by a later request");
}

int task_cancel_vm(struct store *st, const char *vm_id, const char *why)
{
	static const unsigned types = T_AGENT;

	return task_end_open(st, vm_id, pick_types_failed, &types, why);
}

int task_vm_state(struct store *st, const char *vm_id, const char *vm_state,
		  const char *error)
{
	return task_end_open(st, vm_id, pick_vm_outcome, vm_state, error);
}

int task_recover_runs(struct store *st, const char *why,
		      bool (*orphan)(const char *id, void *arg), void *arg)
{
	const struct orphan_pick o = {orphan, arg};

	return task_end_open(st, NULL, pick_orphan_run, &o, why);
}

int task_set_progress(struct store *st, const char *id, const char *progress)
{
	struct db_stmt *s = store_stmt(st, "UPDATE tasks SET progress = ?, "
					 "updated_ms = ? WHERE id = ?");

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, progress);
	db_bind_int64(s, 2, time_wall_ms());
	store_bind_text(s, 3, id);
	return store_done(st, s, "recording a task's progress");
}

int task_vm_busy(struct store *st, const char *vm_id, bool *busy,
		 char task_id[TASK_ID_LEN])
{
	struct task *list = NULL;
	size_t n = 0;

	*busy = false;
	if (task_open_list(st, vm_id, &list, &n) < 0)
		return -1;
	for (size_t i = 0; i < n && !*busy; i++)
		if (task_for_agent(list[i].type)) {
			*busy = true;
			if (task_id)
				str_copy(task_id, TASK_ID_LEN, list[i].id);
		}
	free(list);
	return 0;
}

bool task_settle_migration(enum task_state state, bool from_source,
			   enum task_state agent, enum task_seen src,
			   enum task_seen dst, enum task_state *to)
{
	if (state != TASK_PENDING && state != TASK_RUNNING)
		return false;
	if (dst == TASK_SEEN_RUNNING && src == TASK_SEEN_ABSENT)
		*to = TASK_DONE;
	else if (dst == TASK_SEEN_RUNNING && src == TASK_SEEN_RUNNING &&
		 agent != TASK_FAILED)
		return false;
	else if (agent == TASK_DONE)
		*to = TASK_DONE;
	else if (agent == TASK_FAILED &&
		 (src != TASK_SEEN_ABSENT || state == TASK_PENDING))
		*to = TASK_FAILED;
	else if (from_source && agent == TASK_PENDING &&
		 state == TASK_RUNNING && src != TASK_SEEN_ABSENT &&
		 dst == TASK_SEEN_ABSENT)
		*to = TASK_FAILED;
	else if (agent == TASK_RUNNING && state == TASK_PENDING)
		*to = TASK_RUNNING;
	else
		return false;
	return true;
}

int64_t task_timeout_s(enum task_type type, const int64_t *timeouts,
		       int max_seconds)
{
	int64_t t;

	if ((unsigned)type >= TASK_NTIMEOUTS)
		return 0;
	t = timeouts[type];
	if (type == TASK_MIGRATE && max_seconds > 0 &&
	    (int64_t)max_seconds + TASK_MIGRATE_GRACE_S > t)
		t = (int64_t)max_seconds + TASK_MIGRATE_GRACE_S;
	return t;
}

int task_expired(struct store *st, const int64_t *timeouts, int64_t now_ms,
		 size_t max, struct task_expiry **out, size_t *n)
{
	/* candidates: older than the shortest timeout; each is then held
	 * to its own */
	struct db_stmt *s = store_stmt(st, "SELECT t.id, t.type, t.state, "
				     "t.vm_id, t.tenant, t.source_host, "
				     "t.target_host, t.error, t.created_ms, "
				     "t.max_seconds, coalesce(h.state, 'down') "
				     "= 'down' FROM tasks t LEFT JOIN hosts h "
				     "ON h.name = t.source_host WHERE t.state "
				     "IN ('pending','running') AND t.created_ms "
				     "< ? AND t.type IN ('create','start',"
				     "'stop','delete','migrate','reboot') "
				     "ORDER BY t.seq");
	int64_t shortest = INT64_MAX;
	struct task_expiry e;
	struct buf rows;
	int rc = DB_ERROR;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	for (int i = 0; i < TASK_NTIMEOUTS; i++)
		if (timeouts[i] < shortest)
			shortest = timeouts[i];
	buf_init(&rows, 0);
	db_bind_int64(s, 1, now_ms - shortest * 1000);
	while (rows.len / sizeof(e) < max && (rc = db_step(s)) == DB_ROW) {
		memset(&e, 0, sizeof(e));
		if (task_row(s, &e.t) < 0)
			break;
		e.timeout_s = task_timeout_s(e.t.type, timeouts,
					     db_col_int(s, 9));
		e.host_down = db_col_int(s, 10) != 0;
		if (e.timeout_s <= 0 ||
		    db_col_int64(s, 8) + e.timeout_s * 1000 > now_ms)
			continue;
		if (buf_append(&rows, &e, sizeof(e)) < 0)
			break;
	}
	if (rc == DB_ROW && rows.len / sizeof(e) >= max)
		rc = DB_DONE; /* enough for this pass: the rest next time */
	if (store_rows_end(st, s, rc, &rows, "reading the tasks past their "
			   "timeout") < 0)
		return -1;
	*n = rows.len / sizeof(e);
	*out = (struct task_expiry *)(void *)rows.data; /* malloc'd: aligned */
	return 0;
}

void task_timeout_error(const struct task_expiry *e, char *buf, size_t size)
{
	const struct task *t = &e->t;
	static const char *const outcome[TASK_NTIMEOUTS] = {
		"the VM running", "the VM running", "the VM stopped",
		"the VM gone", NULL, "the reboot done",
	};
	int k = snprintf(buf, size, "timed out after %" PRId64 " s "
			 "(task_timeout_%s): ", e->timeout_s,
			 task_type_name(t->type));

	if (k < 0 || (size_t)k >= size)
		return;
	if (e->host_down)
		snprintf(buf + k, size - (size_t)k, "host '%s' is down%s",
			 t->source_host, t->type == TASK_MIGRATE ?
			 "; the VM stays recorded there" : "");
	else if (t->type == TASK_MIGRATE)
		snprintf(buf + k, size - (size_t)k, "the agent of host '%s' "
			 "never reported the migration to '%s' done; the VM "
			 "stays recorded on '%s' (should the migration still "
			 "complete, the nodes' reports move it)",
			 t->source_host, t->target_host, t->source_host);
	else
		snprintf(buf + k, size - (size_t)k, "host '%s' never reported "
			 "%s", t->source_host,
			 (unsigned)t->type < TASK_NTIMEOUTS && outcome[t->type]
				 ? outcome[t->type] : "the outcome");
}

int task_time_out(struct store *st, const struct task *t, const char *why)
{
	int rc = task_move(st, t->id, t->type, t->state, TASK_FAILED, why);

	if (rc != 0)
		return rc;
	return store_run(st, "UPDATE tasks SET timed_out_ms = updated_ms WHERE "
			 "id = ?", t->id, "recording a task's timeout");
}

int task_load_watch(struct store *st, const char *id, struct task *out,
		    bool *source_down)
{
	struct db_stmt *s;
	int rc = store_find(st, "SELECT t.id, t.type, t.state, t.vm_id, "
			    "t.tenant, t.source_host, t.target_host, t.error, "
			    "coalesce(h.state, 'down') = 'down' FROM tasks t "
			    "LEFT JOIN hosts h ON h.name = t.source_host WHERE "
			    "t.id = ?", id, &s, "reading a migration");

	if (rc <= 0)
		return rc < 0 ? -1 : 1;
	rc = task_row(s, out);
	*source_down = db_col_int(s, 8) != 0;
	db_reset(s);
	return rc;
}

int task_orders(struct store *st, const char *node, struct task_order **out,
		size_t *n)
{
	struct db_stmt *s = store_stmt(st, "SELECT t.id, t.type, t.vm_id, "
				     "t.target_host, h.migration_uri, "
				     "t.max_seconds, coalesce(t.postcopy, "
				     "v.migration_postcopy, "
				     "p.migration_postcopy, 0) FROM "
				     "tasks t LEFT JOIN hosts h ON h.name = "
				     "t.target_host LEFT JOIN vms v ON v.id = "
				     "t.vm_id LEFT JOIN pools p ON p.name = "
				     "v.pool WHERE t.source_host = ? "
				     "AND t.type IN ('migrate','reboot') AND "
				     "t.state IN ('pending','running') AND "
				     /* a VM from an image migrates once its
				      * target prepared it (vmimage.h) */
				     "(t.type != 'migrate' OR t.target_ready != "
				     "0 OR v.image_sha256 IS NULL) ORDER BY "
				     "t.seq");
	struct task_order o;
	struct buf rows;
	int rc = DB_ERROR;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	buf_init(&rows, 0);
	store_bind_text(s, 1, node);
	while ((rc = db_step(s)) == DB_ROW) {
		str_copy(o.id, sizeof(o.id), store_col_text(s, 0));
		if (task_type_parse(store_col_text(s, 1), &o.type) < 0)
			break;
		str_copy(o.vm_id, sizeof(o.vm_id), store_col_text(s, 2));
		str_copy(o.target_host, sizeof(o.target_host),
			 store_col_text(s, 3));
		str_copy(o.target_uri, sizeof(o.target_uri),
			 store_col_text(s, 4));
		o.max_seconds = db_col_int(s, 5);
		o.postcopy = db_col_int(s, 6) != 0;
		if (buf_append(&rows, &o, sizeof(o)) < 0)
			break;
	}
	if (store_rows_end(st, s, rc, &rows, "reading the host's tasks") < 0)
		return -1;
	*n = rows.len / sizeof(o);
	*out = (struct task_order *)(void *)rows.data; /* malloc'd: aligned */
	return 0;
}

/* The columns task_row_json() reads, in order. */
#define TASK_JSON_SELECT                                                   \
	"SELECT id, type, state, vm_id, tenant, source_host, target_host, " \
	"error, created_ms, updated_ms, seq, progress FROM tasks "

/* A string, or null when empty (a run has no VM, tenant or hosts). */
static void add_text_or_null(cJSON *o, const char *key, const char *v)
{
	if (v[0])
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

cJSON *task_row_json(struct db_stmt *s)
{
	static const char *const opt[] = {"vm_id", "tenant", "source_host",
					  "target_host", "error"};
	cJSON *o = cJSON_CreateObject(), *pj;
	const char *progress = store_col_text(s, 11);

	cJSON_AddStringToObject(o, "id", store_col_text(s, 0));
	cJSON_AddStringToObject(o, "type", store_col_text(s, 1));
	cJSON_AddStringToObject(o, "state", store_col_text(s, 2));
	for (int i = 0; i < 5; i++)
		add_text_or_null(o, opt[i], store_col_text(s, 3 + i));
	cJSON_AddNumberToObject(o, "created_ms",
				(double)db_col_int64(s, 8));
	cJSON_AddNumberToObject(o, "updated_ms",
				(double)db_col_int64(s, 9));
	pj = progress[0] ? cJSON_Parse(progress) : NULL;
	if (pj)
		cJSON_AddItemToObject(o, "progress", pj);
	else
		cJSON_AddNullToObject(o, "progress");
	return o;
}

int task_find_json(struct store *st, const char *id, cJSON **out)
{
	struct db_stmt *s;
	int rc = store_find(st, TASK_JSON_SELECT "WHERE id = ?", id, &s,
			    "reading the task");

	*out = NULL;
	if (rc > 0) {
		*out = task_row_json(s);
		db_reset(s);
	}
	return rc;
}

struct db_stmt *task_list_query(struct store *st, int64_t after_seq,
			      int64_t limit, const char *tenant,
			      const char *vm_id, const char *state)
{
	struct db_stmt *s = store_stmt(st, TASK_JSON_SELECT "WHERE seq > ?1 AND "
				     "(?2 IS NULL OR tenant = ?2) AND (?3 IS "
				     "NULL OR vm_id = ?3) AND (?4 IS NULL OR "
				     "state = ?4) ORDER BY seq LIMIT ?5");
	const char *const filters[] = {tenant, vm_id, state};

	if (s) {
		db_bind_int64(s, 1, after_seq);
		for (int i = 0; i < 3; i++)
			store_bind_text(s, 2 + i, filters[i]);
		db_bind_int64(s, 5, limit);
	}
	return s;
}

/*
 * agent_task.c - the controller's tasks on this node and the
 * migrated-away list, kept as the migration journal (agent_task.h).
 */
#include <pthread.h>

#include "agents/agent_task.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

struct agent_tasks {
	const struct agent_task_ops *ops;
	void *ctx;
	char *journal_path;        /* NULL: the journal is not stored */
	pthread_mutex_t lock;
	pthread_cond_t idle;       /* threads reached 0 */
	/* under lock */
	struct agent_task *tasks;
	size_t ntasks;
	/* the migrated-away list: the VMs this agent is migrating or
	 * migrated away, as on disk */
	struct agent_journal_entry *journal;
	size_t njournal;
	int migrations;            /* migrations not yet ended */
	int threads;               /* migration threads that still use t */
};

/* One migration's job, owned by its thread. */
struct migration {
	struct agent_tasks *t;
	struct agent_task task; /* a copy of the controller's task */
};

struct agent_tasks *agent_tasks_new(const struct agent_task_ops *ops,
				    void *ctx, const char *journal_path)
{
	struct agent_tasks *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		err_set("out of memory");
		return NULL;
	}
	t->ops = ops;
	t->ctx = ctx;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->idle, NULL);
	if (journal_path == NULL) {
		t->journal = calloc(1, sizeof(*t->journal));
		if (t->journal == NULL)
			goto fail;
		return t;
	}
	t->journal_path = strdup(journal_path);
	if (t->journal_path == NULL) {
		err_set("out of memory");
		goto fail;
	}
	if (agent_journal_load(journal_path, &t->journal, &t->njournal) < 0)
		goto fail;
	for (size_t i = 0; i < t->njournal; i++)
		log_warn("migration journal: task %s moved vm %s to node '%s'"
			 " (%s): it is not recreated here until the "
			 "controller has settled the task",
			 t->journal[i].task_id, t->journal[i].vm_id,
			 t->journal[i].target_node,
			 t->journal[i].state == AGENT_JOURNAL_DONE
				 ? "done"
				 : "the agent stopped while it ran");
	return t;
fail:
	agent_tasks_free(t);
	return NULL;
}

void agent_tasks_wait(struct agent_tasks *t)
{
	pthread_mutex_lock(&t->lock);
	while (t->threads > 0)
		pthread_cond_wait(&t->idle, &t->lock);
	pthread_mutex_unlock(&t->lock);
}

void agent_tasks_free(struct agent_tasks *t)
{
	if (t == NULL)
		return;
	agent_tasks_wait(t);
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->idle);
	free(t->tasks);
	free(t->journal);
	free(t->journal_path);
	free(t);
}

/* Under t->lock. */
static struct agent_task *task_find(struct agent_tasks *t, const char *id)
{
	for (size_t i = 0; i < t->ntasks; i++)
		if (strcasecmp(t->tasks[i].task_id, id) == 0)
			return &t->tasks[i];
	return NULL;
}

static void task_finish(struct agent_tasks *t, const char *task_id, bool ok,
			const char *error)
{
	struct agent_task *task;

	pthread_mutex_lock(&t->lock);
	task = task_find(t, task_id);
	if (task) {
		task->state = ok ? AGENT_TASK_DONE : AGENT_TASK_FAILED;
		/* error is the caller's (its thread's err_msg()): copied
		 * here, under the lock, into the task's own field. */
		agent_error_copy(task->error, sizeof(task->error),
				 ok || error == NULL ? "" : error);
	}
	pthread_mutex_unlock(&t->lock);
}

/* Under t->lock: the index of the entry of task_id, or -1. */
static ssize_t journal_find(struct agent_tasks *t, const char *task_id)
{
	for (size_t i = 0; i < t->njournal; i++)
		if (strcasecmp(t->journal[i].task_id, task_id) == 0)
			return (ssize_t)i;
	return -1;
}

/* Under t->lock: store the journal as it is now. */
static int journal_write(struct agent_tasks *t)
{
	if (t->journal_path == NULL)
		return 0;
	return agent_journal_save(t->journal_path, t->journal, t->njournal);
}

/* Under t->lock: journal the migration of m as running, on disk before
 * it starts: once the VM has left, an agent killed before it could
 * record that would recreate it here from a desired state that is
 * behind. -1 with err_set() (the migration must not start). */
static int journal_begin(struct agent_tasks *t, const struct migration *m)
{
	struct agent_journal_entry *e;

	e = realloc(t->journal, (t->njournal + 1) * sizeof(*e));
	if (e == NULL)
		return err_set("out of memory: migration not started");
	t->journal = e;
	e = &e[t->njournal++];
	memset(e, 0, sizeof(*e));
	str_copy(e->task_id, sizeof(e->task_id), m->task.task_id);
	str_copy(e->vm_id, sizeof(e->vm_id), m->task.vm_id);
	str_copy(e->target_node, sizeof(e->target_node), m->task.target_node);
	e->started_ms = time_wall_ms();
	e->state = AGENT_JOURNAL_RUNNING;
	if (journal_write(t) < 0) {
		t->njournal--;
		return err_prefix("migration not started");
	}
	return 0;
}

/* Under t->lock: the migration of task_id ended; ok: the VM left. */
static void journal_end(struct agent_tasks *t, const char *task_id, bool ok)
{
	ssize_t i = journal_find(t, task_id);

	if (i < 0)
		return;
	if (ok) {
		t->journal[i].state = AGENT_JOURNAL_DONE;
		t->journal[i].done_ns = time_mono_ns();
	} else {
		t->journal[i] = t->journal[--t->njournal];
	}
	/* Kept in memory either way; a stale "running" entry on disk only
	 * holds the VM back after a restart until the task is settled. */
	if (journal_write(t) < 0)
		log_warn("task %s: %s", task_id, err_msg());
}

static void *migration_main(void *arg)
{
	struct migration *m = arg;
	struct agent_tasks *t = m->t;
	int rc;

	pthread_mutex_lock(&t->lock);
	rc = journal_begin(t, m);
	pthread_mutex_unlock(&t->lock);
	if (rc == 0)
		rc = t->ops->migrate(t->ctx, &m->task);
	if (rc < 0)
		log_warn("task %s: %s", m->task.task_id, err_msg());
	pthread_mutex_lock(&t->lock);
	journal_end(t, m->task.task_id, rc == 0);
	pthread_mutex_unlock(&t->lock);
	task_finish(t, m->task.task_id, rc == 0, rc == 0 ? NULL : err_msg());
	pthread_mutex_lock(&t->lock);
	t->migrations--;
	pthread_mutex_unlock(&t->lock);
	if (t->ops->ended)
		t->ops->ended(t->ctx);
	free(m);
	/* The last use of t: once threads is 0, agent_tasks_free() may
	 * free it (and the caller ops and ctx). */
	pthread_mutex_lock(&t->lock);
	t->threads--;
	pthread_cond_broadcast(&t->idle);
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

static void task_start(struct agent_tasks *t, const struct agent_task *spec)
{
	struct agent_task *task, *grown;
	struct migration *m;
	pthread_attr_t attr;
	pthread_t th;

	pthread_mutex_lock(&t->lock);
	grown = realloc(t->tasks, (t->ntasks + 1) * sizeof(*t->tasks));
	if (grown == NULL) {
		pthread_mutex_unlock(&t->lock);
		log_error("task %s: out of memory", spec->task_id);
		return;
	}
	t->tasks = grown;
	task = &t->tasks[t->ntasks++];
	*task = *spec;
	task->state = AGENT_TASK_RUNNING;
	task->error[0] = '\0';
	pthread_mutex_unlock(&t->lock);
	log_info("task %s: %s vm %s%s%s", spec->task_id, spec->type,
		 spec->vm_id, spec->target_uri[0] ? " to " : "",
		 spec->target_uri);

	if (strcmp(spec->type, "reboot") == 0) {
		int rc = t->ops->reboot(t->ctx, spec->vm_id);

		task_finish(t, spec->task_id, rc == 0,
			    rc == 0 ? NULL : err_msg());
		return;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		task_finish(t, spec->task_id, false, "out of memory");
		return;
	}
	m->t = t;
	m->task = *spec;
	pthread_mutex_lock(&t->lock);
	t->migrations++;
	t->threads++;
	pthread_mutex_unlock(&t->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, migration_main, m) != 0) {
		pthread_mutex_lock(&t->lock);
		t->migrations--;
		t->threads--;
		pthread_mutex_unlock(&t->lock);
		task_finish(t, spec->task_id, false,
			    "cannot start a migration thread");
		free(m);
	}
	pthread_attr_destroy(&attr);
}

void agent_tasks_sync(struct agent_tasks *t, const struct agent_task *listed,
		      size_t n)
{
	bool journal_changed = false;
	size_t keep = 0;

	for (size_t i = 0; i < n; i++) {
		bool known;

		/* A journalled task is never run again: after a restart,
		 * its VM may already run on the target. */
		pthread_mutex_lock(&t->lock);
		known = task_find(t, listed[i].task_id) != NULL ||
			journal_find(t, listed[i].task_id) >= 0;
		pthread_mutex_unlock(&t->lock);
		if (!known)
			task_start(t, &listed[i]);
	}
	pthread_mutex_lock(&t->lock);
	/* An interrupted migration's task no longer listed has been settled
	 * by the controller: if the VM is still listed here, it failed and
	 * the VM is reconciled here again. */
	for (size_t i = 0; i < t->njournal;) {
		bool is_listed = false;

		for (size_t j = 0; j < n; j++)
			if (strcasecmp(listed[j].task_id,
				       t->journal[i].task_id) == 0)
				is_listed = true;
		if (t->journal[i].state == AGENT_JOURNAL_INTERRUPTED &&
		    !is_listed) {
			log_info("task %s settled by the controller: vm %s "
				 "is reconciled here again",
				 t->journal[i].task_id, t->journal[i].vm_id);
			t->journal[i] = t->journal[--t->njournal];
			journal_changed = true;
		} else {
			i++;
		}
	}
	if (journal_changed && journal_write(t) < 0)
		log_warn("%s", err_msg());
	for (size_t i = 0; i < t->ntasks; i++) {
		bool is_listed = false;

		for (size_t j = 0; j < n; j++)
			if (strcasecmp(listed[j].task_id,
				       t->tasks[i].task_id) == 0)
				is_listed = true;
		if (is_listed || t->tasks[i].state == AGENT_TASK_RUNNING)
			t->tasks[keep++] = t->tasks[i];
	}
	t->ntasks = keep;
	pthread_mutex_unlock(&t->lock);
}

/* A copy of src (n items of size bytes) into *out (n + 1 items, zeroed
 * past n; the caller frees it with free()), NULL when out of memory. */
static void *copy_out(const void *src, size_t n, size_t size)
{
	void *p = calloc(n + 1, size);

	if (p && n > 0)
		memcpy(p, src, n * size);
	return p;
}

int agent_tasks_copy(struct agent_tasks *t, struct agent_task **tasks,
		     size_t *ntasks, struct agent_journal_entry **journal,
		     size_t *njournal)
{
	void *pt = NULL, *pj = NULL;
	int ret = 0;

	pthread_mutex_lock(&t->lock);
	if (tasks) {
		pt = copy_out(t->tasks, t->ntasks, sizeof(**tasks));
		*ntasks = t->ntasks;
	}
	if (journal) {
		pj = copy_out(t->journal, t->njournal, sizeof(**journal));
		*njournal = t->njournal;
	}
	pthread_mutex_unlock(&t->lock);
	if ((tasks && pt == NULL) || (journal && pj == NULL)) {
		free(pt);
		free(pj);
		pt = pj = NULL;
		ret = err_set("out of memory");
	}
	if (tasks)
		*tasks = pt;
	if (journal)
		*journal = pj;
	return ret;
}

int agent_tasks_migrations(struct agent_tasks *t)
{
	int n;

	pthread_mutex_lock(&t->lock);
	n = t->migrations;
	pthread_mutex_unlock(&t->lock);
	return n;
}

bool agent_tasks_migrating_away(struct agent_tasks *t, const char *vm_id)
{
	bool r = false;

	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; !r && i < t->njournal; i++)
		r = strcasecmp(t->journal[i].vm_id, vm_id) == 0;
	for (size_t i = 0; !r && i < t->ntasks; i++)
		if (strcmp(t->tasks[i].type, "migrate") == 0 &&
		    t->tasks[i].state == AGENT_TASK_RUNNING &&
		    strcasecmp(t->tasks[i].vm_id, vm_id) == 0)
			r = true;
	pthread_mutex_unlock(&t->lock);
	return r;
}

size_t agent_tasks_filter(struct agent_tasks *t, struct agent_vm_spec *specs,
			  size_t n)
{
	size_t keep = 0;

	for (size_t i = 0; i < n; i++)
		if (!agent_tasks_migrating_away(t, specs[i].vm_id))
			specs[keep++] = specs[i];
	return keep;
}

void agent_tasks_prune(struct agent_tasks *t,
		       const struct agent_vm_spec *wanted, size_t n_wanted,
		       const struct agent_domain *doms, size_t n_doms,
		       uint64_t listed_ns)
{
	size_t keep = 0;

	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->njournal; i++) {
		const struct agent_journal_entry *e = &t->journal[i];
		bool listed = false, here = false;

		for (size_t j = 0; j < n_wanted; j++)
			if (strcasecmp(wanted[j].vm_id, e->vm_id) == 0)
				listed = true;
		/* Only a list taken after the migration ended can show
		 * the VM back: an older one still shows it leaving. An
		 * interrupted migration may still be under way in libvirt:
		 * the VM being here says nothing about its outcome. */
		for (size_t j = 0; j < n_doms; j++)
			if (strcasecmp(doms[j].uuid, e->vm_id) == 0 &&
			    e->state == AGENT_JOURNAL_DONE &&
			    listed_ns > e->done_ns)
				here = true;
		if (e->state == AGENT_JOURNAL_RUNNING || (listed && !here))
			t->journal[keep++] = *e;
	}
	if (keep != t->njournal) {
		t->njournal = keep;
		if (journal_write(t) < 0)
			log_warn("%s", err_msg());
	}
	pthread_mutex_unlock(&t->lock);
}

void agent_tasks_count(struct agent_tasks *t, struct agent_tasks_count *c)
{
	pthread_mutex_lock(&t->lock);
	c->tasks = t->ntasks;
	c->migrated = 0;
	c->reserved = 0;
	for (size_t i = 0; i < t->njournal; i++) {
		if (t->journal[i].state == AGENT_JOURNAL_RUNNING)
			c->reserved++;
		else
			c->migrated++;
	}
	c->migrations = t->migrations;
	pthread_mutex_unlock(&t->lock);
}

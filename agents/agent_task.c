/*
 * agent_task.c - the controller's tasks on this node and the
 * migrated-away list (agent_task.h).
 */
#include <pthread.h>

#include "agents/agent_task.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

struct migrated {
	char vm_id[37];
	uint64_t done_ns; /* when the migration finished */
};

struct agent_tasks {
	const struct agent_task_ops *ops;
	void *ctx;
	pthread_mutex_t lock;
	pthread_cond_t idle;       /* threads reached 0 */
	/* under lock */
	struct agent_task *tasks;
	size_t ntasks;
	struct migrated *migrated; /* VMs this agent migrated away */
	size_t nmigrated;
	size_t migrated_reserved;  /* slots held by running migrations */
	int migrations;            /* migrations not yet ended */
	int threads;               /* migration threads that still use t */
};

/* One migration's job, owned by its thread. */
struct migration {
	struct agent_tasks *t;
	char task_id[37];
	char vm_id[37];
	char target_uri[1024];
};

struct agent_tasks *agent_tasks_new(const struct agent_task_ops *ops,
				    void *ctx)
{
	struct agent_tasks *t = calloc(1, sizeof(*t));

	if (t) {
		t->ops = ops;
		t->ctx = ctx;
		pthread_mutex_init(&t->lock, NULL);
		pthread_cond_init(&t->idle, NULL);
	} else {
		err_set("out of memory");
	}
	return t;
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
	free(t->migrated);
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

static void *migration_main(void *arg)
{
	struct migration *m = arg;
	struct agent_tasks *t = m->t;
	struct migrated *mg;
	int rc = -1;

	/* The VM's slot in t->migrated is taken before it moves: once it
	 * has left, failing to record that would let a desired state that
	 * is behind recreate it here. */
	pthread_mutex_lock(&t->lock);
	mg = realloc(t->migrated, (t->nmigrated + t->migrated_reserved + 1) *
					  sizeof(*mg));
	if (mg) {
		t->migrated = mg;
		t->migrated_reserved++;
	}
	pthread_mutex_unlock(&t->lock);
	if (mg == NULL)
		err_set("out of memory: migration not started");
	else
		rc = t->ops->migrate(t->ctx, m->vm_id, m->target_uri);
	if (rc < 0)
		log_warn("task %s: %s", m->task_id, err_msg());
	pthread_mutex_lock(&t->lock);
	if (mg) {
		if (rc == 0) {
			str_copy(t->migrated[t->nmigrated].vm_id, 37, m->vm_id);
			t->migrated[t->nmigrated++].done_ns = time_mono_ns();
		}
		t->migrated_reserved--;
	}
	pthread_mutex_unlock(&t->lock);
	task_finish(t, m->task_id, rc == 0, rc == 0 ? NULL : err_msg());
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
	str_copy(m->task_id, sizeof(m->task_id), spec->task_id);
	str_copy(m->vm_id, sizeof(m->vm_id), spec->vm_id);
	str_copy(m->target_uri, sizeof(m->target_uri), spec->target_uri);
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
	size_t keep = 0;

	for (size_t i = 0; i < n; i++) {
		bool known;

		pthread_mutex_lock(&t->lock);
		known = task_find(t, listed[i].task_id) != NULL;
		pthread_mutex_unlock(&t->lock);
		if (!known)
			task_start(t, &listed[i]);
	}
	pthread_mutex_lock(&t->lock);
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

int agent_tasks_copy(struct agent_tasks *t, struct agent_task **out,
		     size_t *n)
{
	int ret = 0;

	pthread_mutex_lock(&t->lock);
	*n = t->ntasks;
	*out = calloc(t->ntasks + 1, sizeof(**out));
	if (*out == NULL) {
		*n = 0;
		ret = err_set("out of memory");
	} else if (t->ntasks > 0) {
		memcpy(*out, t->tasks, t->ntasks * sizeof(**out));
	}
	pthread_mutex_unlock(&t->lock);
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
	for (size_t i = 0; !r && i < t->nmigrated; i++)
		r = strcasecmp(t->migrated[i].vm_id, vm_id) == 0;
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
	for (size_t i = 0; i < t->nmigrated; i++) {
		const char *id = t->migrated[i].vm_id;
		bool listed = false, here = false;

		for (size_t j = 0; j < n_wanted; j++)
			if (strcasecmp(wanted[j].vm_id, id) == 0)
				listed = true;
		/* Only a list taken after the migration ended can show
		 * the VM back: an older one still shows it leaving. */
		for (size_t j = 0; j < n_doms; j++)
			if (strcasecmp(doms[j].uuid, id) == 0 &&
			    listed_ns > t->migrated[i].done_ns)
				here = true;
		if (listed && !here)
			t->migrated[keep++] = t->migrated[i];
	}
	t->nmigrated = keep;
	pthread_mutex_unlock(&t->lock);
}

void agent_tasks_count(struct agent_tasks *t, struct agent_tasks_count *c)
{
	pthread_mutex_lock(&t->lock);
	c->tasks = t->ntasks;
	c->migrated = t->nmigrated;
	c->reserved = t->migrated_reserved;
	c->migrations = t->migrations;
	pthread_mutex_unlock(&t->lock);
}

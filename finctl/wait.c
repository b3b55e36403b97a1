/*
 * wait.c - finctl's one wait loop: poll an object of the controller until
 * its operation ends, showing progress, with a timeout. Three kinds of
 * wait use it, each a struct wait_kind with its own poll step: a VM
 * (until it reaches a state, or is deleted), a task (until done) and a
 * rebalance or drain run (a task whose moves are shown one by one).
 * Starting a task and following it (vm reboot/migrate, rebalance run,
 * host drain) is here too.
 */
#include <unistd.h>

#include "finctl/finctl.h"

#include "common/buf.h"
#include "common/err.h"
#include "common/http_client.h"
#include "common/json.h"
#include "common/util.h"

/* A poll step's answer when the operation has not ended yet; any other
 * value is the exit code the wait ends with. */
#define MORE (-1)

/* One wait in progress. */
struct wait {
	const char *id;     /* the VM's or task's id */
	const char *want;   /* VM: the state that ends the wait; NULL: gone */
	char *path;         /* what to poll, the id escaped */
	uint64_t start;     /* time_mono_ns() when the wait began */
	char last[32];      /* the state shown last */
	char (*seen)[16];   /* run: each move's state shown last */
	size_t nseen;
};

/* What one kind of wait polls, how often, for how long by default. */
struct wait_kind {
	const char *path;     /* "/v1/vms/%s" */
	int64_t default_secs; /* without --timeout */
	unsigned poll_ms;
	/* poll once: MORE, or the exit code (having said why) */
	int (*poll)(struct finctl_ctx *x, struct wait *w);
	/* the time ran out after secs seconds: say so */
	void (*late)(const struct wait *w, int64_t secs);
};

static double elapsed(const struct wait *w)
{
	return (double)(time_mono_ns() - w->start) / 1e9;
}

/* Whether st is a state other than the one shown last; if so it becomes
 * w->last, for the caller to show. */
static bool state_changed(struct wait *w, const cJSON *st)
{
	if (!cJSON_IsString(st) || strcmp(st->valuestring, w->last) == 0)
		return false;
	snprintf(w->last, sizeof(w->last), "%s", st->valuestring);
	return true;
}

static bool is_state(const cJSON *st, const char *want)
{
	return cJSON_IsString(st) && strcmp(st->valuestring, want) == 0;
}

/* Whether the VM or task o ended: in state done (NULL: never), o then on
 * stdout with -o json; or failed, why then on stderr ("finctl: WHAT 'ID'
 * failed: ..."). MORE while it runs. */
static int ended(const struct finctl_ctx *x, const struct wait *w,
		 const cJSON *o, const char *done, const char *what,
		 const char *no_reason)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "state");
	const cJSON *er = cJSON_GetObjectItemCaseSensitive(o, "error");

	if (done && is_state(st, done)) {
		if (x->json)
			finctl_print_json(o);
		return FINCTL_OK;
	}
	if (is_state(st, "failed")) {
		fprintf(stderr, "finctl: %s '%s' failed: %s\n", what, w->id,
			cJSON_IsString(er) ? er->valuestring : no_reason);
		return FINCTL_WAIT;
	}
	return MORE;
}

/* ------------------------------------------------------------------ VM */

/* A VM is polled without finctl_call: its 404 means "deleted" when that
 * is what the wait is for. */
static int vm_poll(struct finctl_ctx *x, struct wait *w)
{
	struct http_response r;
	cJSON *vm = NULL;
	const cJSON *host;
	int rc;

	if (http_client_request(x->http, "GET", w->path, NULL, &r) < 0) {
		fprintf(stderr, "finctl: %s\n", err_msg());
		return FINCTL_CONN;
	}
	if (r.status == 404 && w->want == NULL) {
		if (!x->json)
			fprintf(stderr, "  %s: deleted\n", w->id);
		rc = FINCTL_OK;
		goto out;
	}
	if (r.status != 200 || json_parse(r.body, r.len, "VM", &vm) < 0) {
		fprintf(stderr, "finctl: VM '%s': HTTP %ld while waiting\n",
			w->id, r.status);
		rc = r.status == 200 ? FINCTL_FAIL
				     : finctl_exit_for_status(r.status);
		goto out;
	}
	host = cJSON_GetObjectItemCaseSensitive(vm, "host");
	if (state_changed(w, cJSON_GetObjectItemCaseSensitive(vm, "state")))
		fprintf(stderr, "  %s: %s on %s (%.1f s)\n", w->id, w->last,
			cJSON_IsString(host) ? host->valuestring : "?",
			elapsed(w));
	rc = ended(x, w, vm, w->want, "VM", "no reason given");
out:
	cJSON_Delete(vm);
	http_response_free(&r);
	return rc;
}

static void vm_late(const struct wait *w, int64_t secs)
{
	fprintf(stderr, "finctl: VM '%s' is still %s after %" PRId64 " s: "
		"check its host with 'finctl host show' and 'finctl vm show "
		"%s'\n", w->id, w->last, secs, w->id);
}

/* ---------------------------------------------------------------- task */

static int task_poll(struct finctl_ctx *x, struct wait *w)
{
	cJSON *t;
	int rc = finctl_call(x, "GET", w->path, NULL, &t);

	if (rc != FINCTL_OK)
		return rc;
	if (state_changed(w, cJSON_GetObjectItemCaseSensitive(t, "state")))
		fprintf(stderr, "  task %s: %s (%.1f s)\n", w->id, w->last,
			elapsed(w));
	rc = ended(x, w, t, "done", "task", "no reason");
	cJSON_Delete(t);
	return rc;
}

static void task_late(const struct wait *w, int64_t secs)
{
	fprintf(stderr, "finctl: task '%s' is still %s after %" PRId64 " s\n",
		w->id, w->last, secs);
}

/* ----------------------------------------------------------------- run */

/* A line for each move whose state changed since the last poll. */
static int run_moves(struct finctl_ctx *x, struct wait *w, const cJSON *moves,
		     double el)
{
	size_t n = (size_t)cJSON_GetArraySize(moves), i = 0;
	const cJSON *m;
	/* with -o json stdout carries only the task */
	FILE *f = x->json ? stderr : stdout;

	if (n > w->nseen) {
		void *grown = realloc(w->seen, n * sizeof(*w->seen));

		if (grown == NULL) {
			fprintf(stderr, "finctl: out of memory\n");
			return FINCTL_FAIL;
		}
		w->seen = grown;
		for (; w->nseen < n; w->nseen++)
			w->seen[w->nseen][0] = '\0';
	}
	cJSON_ArrayForEach(m, moves) {
		char ms[16], nm[80], fr[80], to[80], note[600];

		finctl_field(m, "state", ms, sizeof(ms));
		if (strcmp(ms, "pending") != 0 && strcmp(ms, w->seen[i]) != 0) {
			finctl_field(m, "vm_name", nm, sizeof(nm));
			finctl_field(m, "source", fr, sizeof(fr));
			finctl_field(m, "target", to, sizeof(to));
			finctl_field(m, "note", note, sizeof(note));
			fprintf(f, "[%6.1f s] move %zu/%zu: %s %s -> %s: %s%s%s\n",
				el, i + 1, n, nm, fr, to, ms,
				strcmp(note, "-") ? ": " : "",
				strcmp(note, "-") ? note : "");
			fflush(f);
			str_copy(w->seen[i], sizeof(w->seen[i]), ms);
		}
		i++;
	}
	return MORE;
}

/* The run ended (ok: done): its notes and a summary, or the task. */
static void run_summary(struct finctl_ctx *x, const struct wait *w,
			const cJSON *t, bool ok, double el)
{
	const cJSON *type = finctl_get(t, "type"), *it;
	char d[32], tot[32], sk[32];

	if (x->json) {
		finctl_print_json(t);
		return;
	}
	finctl_field(t, "progress.done", d, sizeof(d));
	finctl_field(t, "progress.total", tot, sizeof(tot));
	finctl_field(t, "progress.skipped", sk, sizeof(sk));
	cJSON_ArrayForEach(it, finctl_get(t, "progress.notes"))
		if (cJSON_IsString(it))
			printf("note: %s\n", it->valuestring);
	printf("%s %s %s: %s of %s moves done, %s skipped (%.1f s)\n",
	       cJSON_IsString(type) ? type->valuestring : "task", w->id,
	       ok ? "done" : "failed", d, tot, sk, el);
}

static int run_poll(struct finctl_ctx *x, struct wait *w)
{
	cJSON *t;
	const cJSON *st, *er;
	int rc = finctl_call(x, "GET", w->path, NULL, &t);
	double el = elapsed(w);

	if (rc != FINCTL_OK)
		return rc;
	st = finctl_get(t, "state");
	rc = run_moves(x, w, finctl_get(t, "progress.moves"), el);
	if (rc == MORE && (is_state(st, "done") || is_state(st, "failed"))) {
		bool ok = is_state(st, "done");

		run_summary(x, w, t, ok, el);
		if (!ok) {
			er = finctl_get(t, "error");
			fprintf(stderr, "finctl: task '%s' failed: %s\n", w->id,
				cJSON_IsString(er) ? er->valuestring
						   : "no reason");
		}
		rc = ok ? FINCTL_OK : FINCTL_WAIT;
	}
	cJSON_Delete(t);
	return rc;
}

static void run_late(const struct wait *w, int64_t secs)
{
	fprintf(stderr, "finctl: task '%s' is still running after %" PRId64
		" s: follow it with 'finctl task show %s'\n", w->id, secs,
		w->id);
}

/* ---------------------------------------------------------------- loop */

static const struct wait_kind vm_kind = {
	"/v1/vms/%s", 300, 200, vm_poll, vm_late,
};
static const struct wait_kind task_kind = {
	"/v1/tasks/%s", 300, 200, task_poll, task_late,
};
static const struct wait_kind run_kind = {
	"/v1/tasks/%s", 6 * 3600, 300, run_poll, run_late,
};

static int wait_for(struct finctl_ctx *x, const struct wait_kind *k,
		    const char *id, const char *want)
{
	struct wait w = {.id = id, .want = want, .start = time_mono_ns()};
	int64_t secs = finctl_opt_secs(x, "timeout", k->default_secs);
	int rc;

	w.path = finctl_path(k->path, id);
	while ((rc = k->poll(x, &w)) == MORE) {
		if ((time_mono_ns() - w.start) / 1000000000ULL >= (uint64_t)secs) {
			k->late(&w, secs);
			rc = FINCTL_WAIT;
			break;
		}
		usleep(k->poll_ms * 1000);
	}
	free(w.seen);
	free(w.path);
	return rc;
}

int finctl_wait_vm(struct finctl_ctx *x, const char *id, const char *want)
{
	return wait_for(x, &vm_kind, id, want);
}

int finctl_wait_task(struct finctl_ctx *x, const char *id)
{
	return wait_for(x, &task_kind, id, NULL);
}

int finctl_wait_run(struct finctl_ctx *x, const char *id)
{
	return wait_for(x, &run_kind, id, NULL);
}

/* ---------------------------------------------------- starting a task */

/* POST body (taken) to path and follow the task it starts with wait when
 * follow, else print the answer. */
static int start(struct finctl_ctx *x, const char *path, cJSON *body,
		 bool follow, int (*wait)(struct finctl_ctx *, const char *))
{
	cJSON *out;
	const cJSON *id;
	int rc = finctl_call(x, "POST", path, body, &out);

	cJSON_Delete(body);
	if (rc != FINCTL_OK)
		return rc;
	id = cJSON_GetObjectItemCaseSensitive(out, "id");
	if (follow && cJSON_IsString(id))
		rc = wait(x, id->valuestring);
	else if (x->json)
		finctl_print_json(out);
	else
		finctl_print_kv(out, "");
	cJSON_Delete(out);
	return rc;
}

static int run_announced(struct finctl_ctx *x, const char *id)
{
	if (!x->json)
		printf("task %s started\n", id);
	return finctl_wait_run(x, id);
}

int finctl_run_start(struct finctl_ctx *x, const char *path, cJSON *body)
{
	return start(x, path, body, !finctl_opt(x, "no-wait"), run_announced);
}

int finctl_task_start(struct finctl_ctx *x, const char *action, cJSON *body)
{
	struct buf b;
	int rc;

	buf_init(&b, 4096);
	finctl_vm_path(x, action, &b);
	rc = start(x, buf_str(&b), body, finctl_opt(x, "wait") != NULL,
		   finctl_wait_task);
	buf_free(&b);
	return rc;
}

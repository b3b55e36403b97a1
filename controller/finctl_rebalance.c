/*
 * finctl_rebalance.c - finctl's rebalance and drain commands:
 *
 *   finctl rebalance plan --pool P [--policy spread|pack] [--max-moves N]
 *   finctl rebalance run  --pool P [--policy ..] [--max-moves N]
 *                         [--concurrency K] [--no-wait] [--timeout S]
 *   finctl host drain HOST [--concurrency K] [--no-wait] [--timeout S]
 *   finctl host resume HOST
 *
 * Part of finctl's one translation unit: finctl.c includes this file
 * before its command table, so these handlers use its request and output
 * helpers (call, opt, print_table, ...) and appear as rows of commands[].
 */
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/err.h"
#include "common/util.h"

static const struct col rb_move_cols[] = {
	{"VM", "vm_name"}, {"ID", "vm"}, {"FROM", "source"}, {"TO", "target"},
	{"MEM_MIB", "mem_mib"}, {"PHASE", "phase"},
	{"SCORE_BEFORE", "score_before"}, {"SCORE_AFTER", "score_after"},
};

static const struct col rb_eta_cols[] = {
	{"DIMENSION", "dim"}, {"ETA_POOL", "pool"},
	{"MIN_BEFORE", "b.min"}, {"MAX_BEFORE", "b.max"},
	{"STDDEV_BEFORE", "b.stddev"}, {"MIN_AFTER", "a.min"},
	{"MAX_AFTER", "a.max"}, {"STDDEV_AFTER", "a.stddev"},
};

/* The request body of plan and run; NULL (usage error printed) on bad
 * options. */
static cJSON *rb_body(struct ctx *x, bool dry)
{
	cJSON *b = cJSON_CreateObject();
	const char *pol = opt(x, "policy");

	if (pol)
		cJSON_AddStringToObject(b, "policy", pol);
	if (add_num(b, "max_moves", opt(x, "max-moves"), true) < 0 ||
	    add_num(b, "min_gain", opt(x, "min-gain"), false) < 0 ||
	    add_num(b, "concurrency", opt(x, "concurrency"), true) < 0) {
		cJSON_Delete(b);
		usage_err();
		return NULL;
	}
	if (dry)
		cJSON_AddBoolToObject(b, "dry_run", true);
	return b;
}

static const char *rb_pool(struct ctx *x)
{
	const char *p = opt(x, "pool");

	if (p == NULL || p[0] == '\0')
		fprintf(stderr, "finctl: --pool is required: usage: finctl %s "
			"%s %s\n", x->cmd->noun, x->cmd->verb, x->cmd->usage);
	return p && p[0] ? p : NULL;
}

static void rb_print_plan(const cJSON *plan)
{
	const cJSON *b = get_path(plan, "eta_before"), *a = get_path(plan, "eta_after");
	const cJSON *it;
	cJSON *rows = cJSON_CreateArray();
	static const char *const dims[] = {"vcpus", "mem_mib", "disk_gib"};
	char v[4][64];

	value_str(get_path(plan, "pool"), v[0], sizeof(v[0]));
	value_str(get_path(plan, "policy"), v[1], sizeof(v[1]));
	value_str(get_path(plan, "score_before"), v[2], sizeof(v[2]));
	value_str(get_path(plan, "score_after"), v[3], sizeof(v[3]));
	printf("pool %s, policy %s: %d move(s), score %s -> %s", v[0], v[1],
	       cJSON_GetArraySize(get_path(plan, "moves")), v[2], v[3]);
	value_str(get_path(plan, "mib_moved"), v[0], sizeof(v[0]));
	printf(", %s MiB to copy\n", v[0]);
	print_table(get_path(plan, "moves"), rb_move_cols,
		    FC_ARRAY_LEN(rb_move_cols));
	for (size_t d = 0; d < FC_ARRAY_LEN(dims); d++) {
		cJSON *r = cJSON_CreateObject();

		cJSON_AddStringToObject(r, "dim", dims[d]);
		cJSON_AddItemToObject(r, "pool", cJSON_Duplicate(
			get_path(get_path(b, dims[d]), "pool"), 1));
		cJSON_AddItemToObject(r, "b", cJSON_Duplicate(get_path(b, dims[d]), 1));
		cJSON_AddItemToObject(r, "a", cJSON_Duplicate(get_path(a, dims[d]), 1));
		cJSON_AddItemToArray(rows, r);
	}
	printf("\neta per dimension (pool, and across its hosts), before and "
	       "predicted after:\n");
	print_table(rows, rb_eta_cols, FC_ARRAY_LEN(rb_eta_cols));
	value_str(get_path(plan, "hosts_active_before"), v[0], sizeof(v[0]));
	value_str(get_path(plan, "hosts_active_after"), v[1], sizeof(v[1]));
	printf("hosts running VMs: %s -> %s\n", v[0], v[1]);
	cJSON_ArrayForEach(it, get_path(plan, "not_moved")) {
		value_str(get_path(it, "vm_name"), v[0], sizeof(v[0]));
		value_str(get_path(it, "host"), v[1], sizeof(v[1]));
		value_str(get_path(it, "reason"), v[2], sizeof(v[2]));
		printf("not moved: %s on %s: %s\n", v[0], v[1], v[2]);
	}
	cJSON_ArrayForEach(it, get_path(plan, "unresolved"))
		if (cJSON_IsString(it))
			printf("unresolved: %s\n", it->valuestring);
	if (cJSON_IsTrue(get_path(plan, "max_moves_reached")))
		printf("the move budget (--max-moves) ended the plan\n");
	cJSON_Delete(rows);
}

static int c_rebalance_plan(struct ctx *x)
{
	const char *pool = rb_pool(x);
	cJSON *b, *out;
	char *p;
	int rc;

	if (pool == NULL)
		return EX_USAGE;
	if ((b = rb_body(x, true)) == NULL)
		return EX_USAGE;
	p = path1("/v1/pools/%s/rebalance", pool);
	rc = call(x, "POST", p, b, &out);
	free(p);
	cJSON_Delete(b);
	if (rc != EX_OK)
		return rc;
	if (x->json)
		print_json(out);
	else
		rb_print_plan(out);
	cJSON_Delete(out);
	return EX_OK;
}

/* Follow a rebalance or drain task until it ends, printing a line for
 * each move that changes state. EX_OK when it ends done, EX_WAIT when it
 * failed or the wait timed out. */
static int rb_wait(struct ctx *x, const char *id)
{
	char *p = path1("/v1/tasks/%s", id);
	char (*seen)[16] = NULL;
	size_t nseen = 0;
	uint64_t start = time_mono_ns();
	int64_t secs;
	int rc = EX_WAIT;

	if (wait_timeout(x, &secs) < 0) {
		free(p);
		return EX_USAGE;
	}
	if (opt(x, "timeout") == NULL)
		secs = 6 * 3600;
	for (;;) {
		cJSON *t;
		const cJSON *st, *moves, *m;
		size_t i = 0;
		int r = call(x, "GET", p, NULL, &t);
		double el = (double)(time_mono_ns() - start) / 1e9;

		if (r != EX_OK) {
			rc = r;
			break;
		}
		st = get_path(t, "state");
		moves = get_path(t, "progress.moves");
		if ((size_t)cJSON_GetArraySize(moves) > nseen) {
			void *n = realloc(seen, (size_t)cJSON_GetArraySize(moves) *
						       sizeof(*seen));

			if (n == NULL) {
				cJSON_Delete(t);
				fprintf(stderr, "finctl: out of memory\n");
				rc = EX_FAIL;
				break;
			}
			seen = n;
			for (; nseen < (size_t)cJSON_GetArraySize(moves); nseen++)
				seen[nseen][0] = '\0';
		}
		cJSON_ArrayForEach(m, moves) {
			char ms[16], nm[80], fr[80], to[80], note[600];

			value_str(get_path(m, "state"), ms, sizeof(ms));
			if (strcmp(ms, "pending") != 0 && strcmp(ms, seen[i]) != 0) {
				value_str(get_path(m, "vm_name"), nm, sizeof(nm));
				value_str(get_path(m, "source"), fr, sizeof(fr));
				value_str(get_path(m, "target"), to, sizeof(to));
				value_str(get_path(m, "note"), note, sizeof(note));
				/* with -o json stdout carries only the task */
				FILE *f = x->json ? stderr : stdout;

				fprintf(f, "[%6.1f s] move %zu/%d: %s %s -> %s: %s%s%s\n",
					el, i + 1, cJSON_GetArraySize(moves), nm, fr,
					to, ms, strcmp(note, "-") ? ": " : "",
					strcmp(note, "-") ? note : "");
				fflush(f);
				str_copy(seen[i], sizeof(seen[i]), ms);
			}
			i++;
		}
		if (cJSON_IsString(st) && (strcmp(st->valuestring, "done") == 0 ||
					   strcmp(st->valuestring, "failed") == 0)) {
			bool ok = strcmp(st->valuestring, "done") == 0;
			char d[32], tot[32], sk[32];
			const cJSON *it;

			if (x->json) {
				print_json(t);
			} else {
				value_str(get_path(t, "progress.done"), d, sizeof(d));
				value_str(get_path(t, "progress.total"), tot, sizeof(tot));
				value_str(get_path(t, "progress.skipped"), sk, sizeof(sk));
				cJSON_ArrayForEach(it, get_path(t, "progress.notes"))
					if (cJSON_IsString(it))
						printf("note: %s\n", it->valuestring);
				printf("%s %s %s: %s of %s moves done, %s skipped "
				       "(%.1f s)\n", get_path(t, "type") &&
				       cJSON_IsString(get_path(t, "type"))
					       ? get_path(t, "type")->valuestring
					       : "task", id, ok ? "done" : "failed",
				       d, tot, sk, el);
			}
			if (!ok) {
				const cJSON *er = get_path(t, "error");

				fprintf(stderr, "finctl: task '%s' failed: %s\n", id,
					cJSON_IsString(er) ? er->valuestring
							   : "no reason");
			}
			rc = ok ? EX_OK : EX_WAIT;
			cJSON_Delete(t);
			break;
		}
		cJSON_Delete(t);
		if ((time_mono_ns() - start) / 1000000000ULL >= (uint64_t)secs) {
			fprintf(stderr, "finctl: task '%s' is still running after %"
				PRId64 " s: follow it with 'finctl task show %s'\n",
				id, secs, id);
			break;
		}
		usleep(300 * 1000);
	}
	free(seen);
	free(p);
	return rc;
}

/* POST path with body (taken); then wait for the task or show it. */
static int rb_start(struct ctx *x, const char *path, cJSON *body)
{
	cJSON *out;
	const cJSON *id;
	int rc = call(x, "POST", path, body, &out);

	cJSON_Delete(body);
	if (rc != EX_OK)
		return rc;
	id = get_path(out, "id");
	if (!opt(x, "no-wait") && cJSON_IsString(id)) {
		if (!x->json)
			printf("task %s started\n", id->valuestring);
		rc = rb_wait(x, id->valuestring);
	} else if (x->json) {
		print_json(out);
	} else {
		print_kv(out, "");
	}
	cJSON_Delete(out);
	return rc;
}

static int c_rebalance_run(struct ctx *x)
{
	const char *pool = rb_pool(x);
	cJSON *b;
	char *p;
	int rc;

	if (pool == NULL)
		return EX_USAGE;
	if ((b = rb_body(x, false)) == NULL)
		return EX_USAGE;
	p = path1("/v1/pools/%s/rebalance", pool);
	rc = rb_start(x, p, b);
	free(p);
	return rc;
}

static int c_host_drain(struct ctx *x)
{
	cJSON *b = cJSON_CreateObject();
	char *p;
	int rc;

	if (add_num(b, "concurrency", opt(x, "concurrency"), true) < 0) {
		cJSON_Delete(b);
		return usage_err();
	}
	p = path1("/v1/hosts/%s/drain", x->a.pos[0]);
	rc = rb_start(x, p, b);
	free(p);
	return rc;
}

static int c_host_resume(struct ctx *x)
{
	char *p = path1("/v1/hosts/%s/resume", x->a.pos[0]);
	int rc = show(x, "POST", p, NULL);

	free(p);
	return rc;
}

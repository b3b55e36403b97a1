/*
 * finctl.h - what the files of finctl, the operators' CLI, share.
 *
 *   finctl [--url URL] [-o table|json] NOUN VERB [ARGS]
 *
 * finctl is a client of the public REST API only: it links libfccommon
 * and nothing of the controller. Its parts:
 *
 *   main.c       global options, help, argument parsing, dispatch
 *   commands.c   finctl_commands[], the one command table: a row per
 *                command (noun, verb, handler, options, usage, help)
 *   client.c     requests to the controller, request bodies, options
 *   output.c     tables, key/value lines, JSON; the generic list, show
 *                and delete handlers that serve most rows of the table
 *   wait.c       the one wait loop, for VMs, tasks and rebalance/drain runs
 *   cmd_*.c      the handlers with a shape of their own, by noun group
 *
 * Every handler returns an exit code (enum finctl_exit) and has printed
 * what the operator needs to know by then: output on stdout, progress and
 * errors on stderr.
 */
#ifndef FC_FINCTL_H
#define FC_FINCTL_H

#include <cjson/cJSON.h>

#include "common/fc.h"

struct buf;
struct http_client;

/* The exit codes of finctl (docs/finctl.md). */
enum finctl_exit {
	FINCTL_OK = 0,       /* done */
	FINCTL_FAIL = 1,     /* the controller refused or failed the request */
	FINCTL_USAGE = 2,    /* usage error */
	FINCTL_CONN = 3,     /* the controller could not be reached */
	FINCTL_NOTFOUND = 4, /* not found */
	FINCTL_WAIT = 5,     /* a wait ended with the operation failed or
				unfinished at its timeout */
};

#define FINCTL_MAX_OPTS 16
#define FINCTL_MAX_POS 4

/* The arguments after "NOUN VERB", checked against the row's options.
 * Every string points into argv. */
struct finctl_args {
	const char *pos[FINCTL_MAX_POS];
	int npos;
	const char *key[FINCTL_MAX_OPTS]; /* without the leading "--" */
	const char *val[FINCTL_MAX_OPTS]; /* "" for flags */
	int nopt;
};

/* A column of a table: its heading and where its value is in each item,
 * a dotted path ("name", "quota.vcpus"). */
struct finctl_col {
	const char *head;
	const char *path;
};

struct finctl_ctx;

typedef int (*finctl_fn)(struct finctl_ctx *x);

/* A row of the command table. The first seven fields are every row's;
 * the rest describe the resource for the generic handlers
 * (finctl_cmd_list, finctl_cmd_show, finctl_cmd_delete) and may stay
 * empty for the others. */
struct finctl_cmd {
	const char *noun;
	const char *verb;
	finctl_fn fn;
	int npos;           /* positional arguments required */
	const char *opts;   /* "tenant=,flavor=,wait": '=' takes a value */
	const char *usage;  /* after "finctl NOUN VERB"; names every option */
	const char *help;   /* one line */
	const char *path;   /* "/v1/pools" (list), "/v1/pools/%s" (show,
			       delete: %s is the first positional argument) */
	const char *method; /* finctl_cmd_show: NULL for GET */
	const struct finctl_col *cols; /* finctl_cmd_list: the columns */
	size_t ncols;
};

/* The command table (commands.c), grouped by noun: rows of one noun are
 * next to each other, in the order help lists them. */
extern const struct finctl_cmd finctl_commands[];
extern const size_t finctl_ncommands;

/* One run of finctl: the connection, the output format, the command and
 * its arguments. */
struct finctl_ctx {
	struct http_client *http;
	bool json;                  /* -o json */
	const struct finctl_cmd *cmd;
	struct finctl_args a;
};

/* ------------------------------------------------------------- client.c */

/* The value of option --key ("" for a flag), or NULL when not given. */
const char *finctl_opt(const struct finctl_ctx *x, const char *key);

/* Send a request with body (may be NULL; not taken). On 2xx returns
 * FINCTL_OK and *out (may be NULL) gets the parsed answer, NULL for an
 * empty one; the caller frees it with cJSON_Delete. Otherwise prints the
 * controller's error (with a hint on 401) and returns FINCTL_CONN,
 * FINCTL_NOTFOUND (404) or FINCTL_FAIL. */
int finctl_call(struct finctl_ctx *x, const char *method, const char *path,
		const cJSON *body, cJSON **out);

/* Append s to b percent-encoded for a path segment or query value. */
void finctl_url_escape(struct buf *b, const char *s);

/* fmt with its "%s" replaced by arg percent-encoded ("/v1/pools/%s");
 * the caller frees the result. */
char *finctl_path(const char *fmt, const char *arg);

/* Add key: the number in val to o unless val is NULL. 0, or -1 with
 * err_set ("--KEY: expected ...") when val is not a number (an integer
 * when integer). */
int finctl_add_num(cJSON *o, const char *key, const char *val, bool integer);

/* Add key: val to o unless val is NULL. */
void finctl_add_str(cJSON *o, const char *key, const char *val);

/* A new object with "KEY": the value of --KEY for each option of keys
 * (NULL-terminated) that was given, in that order; the caller owns it. */
cJSON *finctl_body(const struct finctl_ctx *x, const char *const *keys);

/* "a,b,c" as a new JSON array of strings (empty items left out); the
 * caller owns it. */
cJSON *finctl_csv(const char *csv);

/* Print err_msg() as a usage error; returns FINCTL_USAGE. */
int finctl_usage_err(void);

/* ------------------------------------------------------------- output.c */

/* The item at a dotted path below o ("quota.vcpus"), or NULL. */
const cJSON *finctl_get(const cJSON *o, const char *path);

/* v as a table cell into out (size bytes, always terminated): "-" for
 * null, absent or "", yes/no, integers without decimals, arrays as
 * "a,b". */
void finctl_value(const cJSON *v, char *out, size_t size);

/* items (a JSON array) as a table with a heading line, "(none)" when
 * empty. At most 16 columns. */
void finctl_print_table(const cJSON *items, const struct finctl_col *cols,
			size_t ncols);

/* An object as "key value" lines, nested objects as "parent.key". */
void finctl_print_kv(const cJSON *o, const char *prefix);

/* o as indented JSON and a newline. */
void finctl_print_json(const cJSON *o);

/* Prints a 2xx answer for a human (-o table). */
typedef void (*finctl_print_fn)(const struct finctl_ctx *x,
				const cJSON *answer);

/* Send the request, then print the answer: as JSON with -o json, else
 * with print. Takes body (may be NULL). Returns an exit code. */
int finctl_show_as(struct finctl_ctx *x, const char *method,
		   const char *path, cJSON *body, finctl_print_fn print);

/* finctl_show_as printing key/value lines (finctl_print_kv). */
int finctl_show(struct finctl_ctx *x, const char *method, const char *path,
		cJSON *body);

/* The generic handlers, driven by the row (x->cmd):
 * list: GET every page of row->path (all unless --limit N), with every
 *       value option but --limit as a query filter, then print the items
 *       as JSON or a table of row->cols;
 * show: row->method (GET) of row->path with the first argument, printed;
 * delete: DELETE row->path with the first argument; "NOUN 'X' deleted". */
int finctl_cmd_list(struct finctl_ctx *x);
int finctl_cmd_show(struct finctl_ctx *x);
int finctl_cmd_delete(struct finctl_ctx *x);

/* --------------------------------------------------------------- wait.c */

/* Wait until the VM reaches state want (NULL: until it is deleted),
 * showing each state change on stderr; with -o json the VM ends on stdout.
 * --timeout S (default 300). FINCTL_OK, FINCTL_WAIT when it failed or the
 * time ran out, or the error's exit code. */
int finctl_wait_vm(struct finctl_ctx *x, const char *id, const char *want);

/* Wait until the task is done, showing each state change on stderr; with
 * -o json the task ends on stdout. --timeout S (default 300). Exit codes
 * as finctl_wait_vm. */
int finctl_wait_task(struct finctl_ctx *x, const char *id);

/* Wait until a rebalance or drain task ends, printing a line per move
 * that changes state and a summary (stderr for the moves with -o json,
 * the task then on stdout). --timeout S (default 6 hours). */
int finctl_wait_run(struct finctl_ctx *x, const char *id);

/* POST body (taken, may be NULL) to path, which starts a task. Then wait
 * for it unless --no-wait ("task ID started" first; finctl_wait_run), or
 * else print the answer. Returns an exit code. */
int finctl_run_start(struct finctl_ctx *x, const char *path, cJSON *body);

/* POST body (taken, may be NULL) to /v1/vms/ID/action (ID the first
 * argument), which starts a task. With --wait, wait for the task
 * (finctl_wait_task), else print the answer. Returns an exit code. */
int finctl_task_start(struct finctl_ctx *x, const char *action, cJSON *body);

/* ---------------------------------------------- handlers (cmd_*.c) */

/* The handlers of the rows with a shape of their own, named
 * finctl_NOUN_VERB; each returns an exit code. */
int finctl_pool_create(struct finctl_ctx *x);  /* cmd_pool.c */
int finctl_pool_update(struct finctl_ctx *x);
int finctl_util_show(struct finctl_ctx *x);
int finctl_host_maintenance(struct finctl_ctx *x);  /* cmd_host.c */
int finctl_host_set(struct finctl_ctx *x);
int finctl_host_drain(struct finctl_ctx *x);
int finctl_rebalance_plan(struct finctl_ctx *x);  /* cmd_rebalance.c */
int finctl_rebalance_run(struct finctl_ctx *x);
int finctl_tenant_create(struct finctl_ctx *x);  /* cmd_tenant.c */
int finctl_tenant_update(struct finctl_ctx *x);  /* also set-quota */
int finctl_group_create(struct finctl_ctx *x);
int finctl_flavor_create(struct finctl_ctx *x);
int finctl_vm_create(struct finctl_ctx *x);  /* cmd_vm.c */
int finctl_vm_start(struct finctl_ctx *x);
int finctl_vm_stop(struct finctl_ctx *x);
int finctl_vm_reboot(struct finctl_ctx *x);
int finctl_vm_delete(struct finctl_ctx *x);
int finctl_vm_migrate(struct finctl_ctx *x);
int finctl_task_show(struct finctl_ctx *x);
int finctl_audit_verify(struct finctl_ctx *x);  /* cmd_audit.c */
int finctl_token_create(struct finctl_ctx *x);

#endif

/*
 * finctl.h - what the files of finctl, the operators' CLI, share.
 *
 *   finctl [--url URL] [-o table|json] NOUN VERB [ARGS]
 *
 * finctl is a client of the public REST API only: it links libfccommon
 * and nothing of the controller. Its parts:
 *
 *   main.c       the entry point: --version, --man, --bash-completion,
 *                help at each level, the token, the dispatch
 *   commands.c   finctl_commands[], the one command table: a row per
 *                command (noun, verb, handler, options, usage, help)
 *   args.c       the command line read against the table, each option's
 *                value checked against its type before any request
 *   help.c       --help, the man page and the bash completion, all
 *                generated from the table
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

/* The exit codes of finctl, one row each: the name, the number, what it
 * means. This list is the only one: the enum below, finctl --help and
 * the man page come from it, the mapping of HTTP statuses is
 * finctl_exit_for_status, and tests/integration/finctl_docs.sh checks
 * that docs/finctl.md lists the same codes. */
#define FINCTL_EXIT_CODES(X)                                                  \
	X(FINCTL_OK, 0, "done")                                               \
	X(FINCTL_FAIL, 1, "the controller refused or failed the request "     \
	  "for another reason (HTTP 401, 403, 5xx)")                          \
	X(FINCTL_USAGE, 2, "usage error: a command, argument or option "      \
	  "value finctl or the controller (HTTP 400) does not accept; "       \
	  "finctl sends nothing when its own checks fail")                    \
	X(FINCTL_CONN, 3, "the controller could not be reached")              \
	X(FINCTL_NOTFOUND, 4, "a named object does not exist (HTTP 404)")     \
	X(FINCTL_WAIT, 5, "a wait ended with the operation failed, or "       \
	  "unfinished at --timeout")                                          \
	X(FINCTL_CONFLICT, 6, "the request conflicts with the state of an "   \
	  "object: it exists already, is in use or busy, or a VM reference " \
	  "names several VMs (HTTP 409)")

enum finctl_exit {
#define FINCTL_EXIT_ENUM(name, code, text) name = code,
	FINCTL_EXIT_CODES(FINCTL_EXIT_ENUM)
#undef FINCTL_EXIT_ENUM
};

/* The exit code for a refusal of the controller with HTTP status (4xx,
 * 5xx): the one mapping of finctl (FINCTL_EXIT_CODES). */
int finctl_exit_for_status(long status);

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
	const char *opts;   /* the options, checked before the handler
			       runs: "flavor!=,timeout=secs,wait" (struct
			       finctl_optspec) */
	const char *usage;  /* after "finctl NOUN VERB"; names every option */
	const char *help;   /* one line */
	const char *path;   /* "/v1/pools" (list), "/v1/pools/%s" (show,
			       delete: %s is the first positional argument) */
	const char *method; /* finctl_cmd_show: NULL for GET */
	const struct finctl_col *cols; /* finctl_cmd_list: the columns */
	size_t ncols;
};

/* One option of a row's opts, an item of its comma-separated list:
 *
 *   NAME          a flag (--wait)
 *   NAME=TYPE     takes a value of TYPE: "" any text; "int" an integer
 *                 >= 0; "count" an integer >= 1; "num" a number >= 0;
 *                 "secs" a duration (90, 90s, 5m, 2h); "quota" an
 *                 integer >= 0 or "none"; "a|b|c" one of these words
 *   NAME!=TYPE    the same, and the command needs it
 */
struct finctl_optspec {
	char name[32];
	char type[160];
	bool has_val;
	bool required;
};

/* The next option of the opts list at *p into o, moving *p past it;
 * false at the end of the list. */
bool finctl_optspec_next(const char **p, struct finctl_optspec *o);

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

/* --------------------------------------------------------------- args.c */

/* The global options, which may stand anywhere on the command line:
 * --url URL and -o/--output FORMAT (their last value counts). Strings
 * point into argv; NULL when not given. */
struct finctl_global {
	const char *url;
	const char *format;
};

/* Whether argv[*i] is a global option (--url U, --url=U, -o F, -oF,
 * --output F, --output=F): 1 with its value in g and *i moved past it,
 * 0 when it is not one (*i unchanged), -1 with err_set when its value is
 * missing. */
int finctl_global_opt(int argc, char **argv, int *i, struct finctl_global *g);

/* The arguments after "NOUN VERB" (argc strings at argv) read against
 * row c into a, the global options among them into g: the positional
 * arguments counted, every option known to the row, its value checked
 * against its type, every required option given. 0, or -1 with err_set
 * (what is wrong, and the usage). Writes a NUL into argv at the '=' of
 * "--key=value". */
int finctl_args_parse(const struct finctl_cmd *c, int argc, char **argv,
		      struct finctl_global *g, struct finctl_args *a);

/* 0 when val is a value of o's type, else -1 with err_set naming the
 * option, what it expects and what it got. */
int finctl_optspec_check(const struct finctl_optspec *o, const char *val);

/* The option of row c named name into o; false when c has none. */
bool finctl_optspec_find(const struct finctl_cmd *c, const char *name,
			 struct finctl_optspec *o);

/* The words an option of type "a|b|c" takes as "a, b, c" into out (size
 * bytes, at least 3; always terminated). */
void finctl_optspec_words(const struct finctl_optspec *o, char *out,
			  size_t size);

/* The value of option --key (type "secs", checked by finctl_args_parse)
 * in seconds, or dflt when it was not given. */
int64_t finctl_opt_secs(const struct finctl_ctx *x, const char *key,
			int64_t dflt);

/* --------------------------------------------------------------- help.c */

/* Everything finctl says about itself comes from the command table and
 * FINCTL_EXIT_CODES, so none of it can drift from what finctl does. */

/* finctl --help: the synopsis, the nouns, the exit codes. */
void finctl_help_main(FILE *f);

/* finctl NOUN --help: the noun's verbs with their help lines. */
void finctl_help_noun(FILE *f, const char *noun);

/* finctl NOUN VERB --help: the usage line, the help line and what each
 * option takes. */
void finctl_help_cmd(FILE *f, const struct finctl_cmd *c);

/* finctl --man: the manual page finctl(1) in roff (man(7) macros). */
void finctl_help_man(FILE *f);

/* finctl --bash-completion: a bash script completing nouns, verbs,
 * options and the values of options that take a word of a list. */
void finctl_help_bash(FILE *f);

/* ------------------------------------------------------------- client.c */

/* The value of option --key ("" for a flag), or NULL when not given. */
const char *finctl_opt(const struct finctl_ctx *x, const char *key);

/* Send a request with body (may be NULL; not taken). On 2xx returns
 * FINCTL_OK and *out (may be NULL) gets the parsed answer, NULL for an
 * empty one; the caller frees it with cJSON_Delete. Otherwise prints the
 * controller's error (with a hint on 401) and returns FINCTL_CONN, or
 * finctl_exit_for_status of the answer's status. */
int finctl_call(struct finctl_ctx *x, const char *method, const char *path,
		const cJSON *body, cJSON **out);

struct http_stream;
/* finctl_call() with a body streamed from st (http_client_stream()),
 * e.g. an image upload; the same answer and exit codes. */
int finctl_call_stream(struct finctl_ctx *x, const char *method,
		       const char *path, const struct http_stream *st,
		       cJSON **out);

/* Print why the controller refused a request (status, its answer body
 * of len bytes: an error document, or anything) as finctl_call() does;
 * returns the exit code for it. */
int finctl_refused(const struct finctl_ctx *x, long status, const char *body,
		   size_t len);

/* Append s to b percent-encoded for a path segment or query value. */
void finctl_url_escape(struct buf *b, const char *s);

/* fmt with its "%s" replaced by arg percent-encoded ("/v1/pools/%s");
 * the caller frees the result. */
char *finctl_path(const char *fmt, const char *arg);

/* Add key: the number in val to o unless val is NULL. val is the value
 * of an option that finctl_args_parse has checked against its numeric
 * type, so it is a number. */
void finctl_add_num(cJSON *o, const char *key, const char *val);

/* Add key: val to o unless val is NULL. */
void finctl_add_str(cJSON *o, const char *key, const char *val);

/* A request body from options: for each option of keys (NULL-terminated,
 * FINCTL_KEYS) that was given, in that order, the field named as the
 * option with '_' for '-' ("mem-mib": "mem_mib") and its value as its
 * type in the row says: a number for the numeric types, null for a
 * quota of "none", else a string. The caller owns the object. */
cJSON *finctl_body(const struct finctl_ctx *x, const char *const *keys);

/* The keys argument of finctl_body: FINCTL_KEYS("vcpus", "mem-mib"). */
#define FINCTL_KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* "a,b,c" as a new JSON array of strings (empty items left out); the
 * caller owns it. */
cJSON *finctl_csv(const char *csv);

/* Print err_msg() as a usage error; returns FINCTL_USAGE. */
int finctl_usage_err(void);

/* ------------------------------------------------------------- output.c */

/* The item at a dotted path below o ("quota.vcpus"), or NULL. */
const cJSON *finctl_get(const cJSON *o, const char *path);

/* v as a table cell into out (size bytes, always terminated): "-" for
 * null, absent or "", yes/no, integers without decimals, other numbers
 * in the fewest digits that read back the same (at most 10: 0.9999 stays
 * 0.9999), arrays as "a,b". */
void finctl_value(const cJSON *v, char *out, size_t size);

/* The item at path below o as a cell (finctl_value), except that a
 * number at a path ending in "_ms" is a time and shown as ISO 8601 in
 * UTC ("2026-11-30T13:57:27Z"). */
void finctl_field(const cJSON *o, const char *path, char *out, size_t size);

/* items (a JSON array) as a table with a heading line, "(none)" when
 * empty. At most 16 columns. */
void finctl_print_table(const cJSON *items, const struct finctl_col *cols,
			size_t ncols);

/* An object as "key value" lines, nested objects as "parent.key", lists
 * of objects as one line of JSON. */
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

/* POST body (taken, may be NULL) to the VM's action (finctl_vm_path()),
 * which starts a task. With --wait, wait for the task
 * (finctl_wait_task), else print the answer. Returns an exit code. */
int finctl_task_start(struct finctl_ctx *x, const char *action, cJSON *body);

/* ---------------------------------------------- handlers (cmd_*.c) */

/* The handlers of the rows with a shape of their own, named
 * finctl_NOUN_VERB; each returns an exit code. */
int finctl_pool_create(struct finctl_ctx *x);  /* cmd_pool.c */
int finctl_pool_update(struct finctl_ctx *x);
int finctl_util_show(struct finctl_ctx *x);
int finctl_storage_create(struct finctl_ctx *x);
int finctl_host_maintenance(struct finctl_ctx *x);  /* cmd_host.c */
int finctl_host_set(struct finctl_ctx *x);
int finctl_host_drain(struct finctl_ctx *x);
int finctl_rebalance_plan(struct finctl_ctx *x);  /* cmd_rebalance.c */
int finctl_rebalance_run(struct finctl_ctx *x);
int finctl_tenant_create(struct finctl_ctx *x);  /* cmd_tenant.c */
int finctl_tenant_update(struct finctl_ctx *x);  /* also set-quota */
int finctl_group_create(struct finctl_ctx *x);
int finctl_flavor_create(struct finctl_ctx *x);
int finctl_image_create(struct finctl_ctx *x);  /* cmd_image.c */
int finctl_vm_create(struct finctl_ctx *x);  /* cmd_vm.c */
int finctl_vm_show(struct finctl_ctx *x);
/* Append to b the path of the VM the first argument names (an id, a
 * unique id prefix or a name: the controller resolves it), then /action
 * unless action is NULL, then ?tenant=T when --tenant T was given. */
void finctl_vm_path(const struct finctl_ctx *x, const char *action,
		    struct buf *b);
int finctl_vm_start(struct finctl_ctx *x);
int finctl_vm_stop(struct finctl_ctx *x);
int finctl_vm_reboot(struct finctl_ctx *x);
int finctl_vm_delete(struct finctl_ctx *x);
int finctl_vm_update(struct finctl_ctx *x);
int finctl_vm_migrate(struct finctl_ctx *x);
int finctl_task_show(struct finctl_ctx *x);
int finctl_network_create(struct finctl_ctx *x);  /* cmd_net.c */
int finctl_network_update(struct finctl_ctx *x);  /* cmd_net.c */
int finctl_secgroup_show(struct finctl_ctx *x);
int finctl_secgroup_create(struct finctl_ctx *x);
int finctl_secgroup_delete(struct finctl_ctx *x);
int finctl_secgroup_rule_add(struct finctl_ctx *x);
int finctl_secgroup_rule_delete(struct finctl_ctx *x);
/* Add vm create's --network NET[,ip=A] (repeatable) as body's
 * "networks" and --secgroup G (repeatable) as its "secgroups", in the
 * order given. FINCTL_OK, or FINCTL_USAGE after a message. */
int finctl_vm_networks(const struct finctl_ctx *x, cJSON *body);
int finctl_vm_console(struct finctl_ctx *x);  /* cmd_console.c */
int finctl_vm_console_log(struct finctl_ctx *x);
int finctl_audit_verify(struct finctl_ctx *x);  /* cmd_audit.c */
int finctl_token_create(struct finctl_ctx *x);
int finctl_token_rotate(struct finctl_ctx *x);

#endif

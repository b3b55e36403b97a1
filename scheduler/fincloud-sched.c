/*
 * fincloud-sched - run libfcsched on files: place VMs, plan capacity,
 * count how many more instances fit, generate problems.
 *
 * Exit codes: 0 success (place: every VM placed), 1 some VMs unplaced or
 * nothing fits, 2 bad input or usage (nothing is printed on stdout then).
 */
#include <getopt.h>
#include <math.h>

#include "common/fc.h"

#include "common/err.h"
#include "common/util.h"
#include "scheduler/capacity.h"
#include "scheduler/cmd_rebalance.h"
#include "scheduler/gen.h"
#include "scheduler/htools.h"
#include "scheduler/metrics.h"
#include "scheduler/place.h"
#include "scheduler/plan.h"
#include "scheduler/problem.h"
#include "scheduler/state.h"
#include "scheduler/tool.h"

static void verror(const struct tool_cmd *c, const char *fmt, va_list ap)
{
	fprintf(stderr, "fincloud-sched %s: ", c->name);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
}

int tool_error(const struct tool_cmd *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(c, fmt, ap);
	va_end(ap);
	return TOOL_BAD;
}

int tool_usage_error(const struct tool_cmd *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(c, fmt, ap);
	va_end(ap);
	fprintf(stderr, "usage: fincloud-sched %s\n", c->usage);
	return TOOL_BAD;
}

int tool_help(const struct tool_cmd *c)
{
	printf("usage: fincloud-sched %s\n\n%s", c->usage, c->help);
	return 0;
}

/* Print a document to stdout (compact when big). */
static int emit(cJSON *doc, bool compact)
{
	char *text;

	if (doc == NULL) {
		fprintf(stderr, "fincloud-sched: out of memory\n");
		return -1;
	}
	text = compact ? cJSON_PrintUnformatted(doc) : cJSON_Print(doc);
	if (text == NULL) {
		fprintf(stderr, "fincloud-sched: out of memory\n");
		return -1;
	}
	fputs(text, stdout);
	fputc('\n', stdout);
	free(text);
	return fflush(stdout) == 0 ? 0 : -1;
}

/* PROBLEM.json or --htools FILE. */
static int load_input(const char *json_path, const char *htools_path,
		      struct sched_problem **p)
{
	if (htools_path != NULL)
		return htools_read(htools_path, p);
	return sched_problem_load_json(json_path, p);
}

/* next_opt's answer once it has answered --help or a bad option. */
#define OPT_STOP (-2)

/* The next option of a command's argv: getopt_long over opts (which
 * holds --help as 'h'; the caller sets optind = 1 first). Its letter, -1
 * after the last, or OPT_STOP with *ret the exit code when it was --help
 * (help printed, 0) or unknown (usage error printed, TOOL_BAD). */
static int next_opt(const struct tool_cmd *cmd, int argc, char **argv,
		    const struct option *opts, int *ret)
{
	int c = getopt_long(argc, argv, "h", opts, NULL);

	if (c == 'h')
		*ret = tool_help(cmd);
	else if (c == '?' || c == ':')
		*ret = tool_usage_error(cmd, "unknown option");
	else
		return c;
	return OPT_STOP;
}

static bool parse_seconds(const char *s, double *out)
{
	return parse_double(s, out) == 0 && *out > 0 && *out <= 3600;
}

/* ---- place -------------------------------------------------------------- */

static int cmd_place(const struct tool_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{"htools", required_argument, NULL, 'H'},
		{"time-limit", required_argument, NULL, 't'},
		{"no-improve", no_argument, NULL, 'n'},
		{"baseline", required_argument, NULL, 'b'},
		{"summary", no_argument, NULL, 's'},
		{"write", required_argument, NULL, 'w'},
		{"write-htools", required_argument, NULL, 'W'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct sched_place_opts po = {0};
	const char *htools_path = NULL, *baseline = NULL, *write_path = NULL;
	const char *write_htools = NULL;
	bool summary = false;
	struct sched_problem *p = NULL;
	struct sched_state *s = NULL;
	struct sched_result r = {0};
	struct sched_eta *eta = NULL;
	cJSON *doc = NULL, *a;
	int c, ret = TOOL_BAD;

	optind = 1;
	while ((c = next_opt(cmd, argc, argv, opts, &ret)) >= 0) {
		switch (c) {
		case 'H':
			htools_path = optarg;
			break;
		case 't':
			if (!parse_seconds(optarg, &po.time_limit))
				return tool_usage_error(cmd, "--time-limit: expected "
						   "seconds (0-3600], got '%s'",
						   optarg);
			break;
		case 'n':
			po.no_improve = true;
			break;
		case 'b':
			if (strcmp(optarg, "ffd") != 0 &&
			    strcmp(optarg, "exact") != 0)
				return tool_usage_error(cmd, "--baseline: expected 'ffd' "
						   "or 'exact', got '%s'",
						   optarg);
			baseline = optarg;
			break;
		case 's':
			summary = true;
			break;
		case 'w':
			write_path = optarg;
			break;
		case 'W':
			write_htools = optarg;
			break;
		}
	}
	if (c == OPT_STOP)
		return ret;
	if ((htools_path == NULL) == (optind >= argc) ||
	    optind + (htools_path == NULL) < argc)
		return tool_usage_error(cmd, "give one PROBLEM.json or "
					    "--htools FILE");
	if (write_htools != NULL && htools_path == NULL)
		return tool_usage_error(cmd, "--write-htools needs --htools "
					    "input");
	if (load_input(argv[optind], htools_path, &p) < 0)
		return tool_error(cmd, "%s", err_msg());
	s = sched_state_new(p);
	if (s == NULL)
		goto fail;
	if (baseline != NULL && strcmp(baseline, "ffd") == 0) {
		if (sched_place_ffd(s, &r) < 0)
			goto fail;
	} else if (baseline != NULL) {
		struct sched_exact_result ex;
		double t0 = (double)time_mono_ns() / 1e9;

		if (sched_place_exact(s, po.time_limit > 0 ? po.time_limit : 10,
				      &ex) < 0)
			goto fail;
		r.cost = ex.cost;
		r.lower_bound = ex.bound;
		r.bound_kind = ex.optimal ? SCHED_BOUND_OPTIMAL : SCHED_BOUND_MIP;
		r.optimal = ex.optimal;
		r.stop = ex.stopped ? SCHED_STOP_TIME : SCHED_STOP_DONE;
		r.method = "exact";
		r.unplaced = ex.unplaced;
		r.gap = ex.bound > 0 ? ex.cost / ex.bound - 1 : 0;
		r.seconds = (double)time_mono_ns() / 1e9 - t0;
		if (!ex.optimal)
			fprintf(stderr, "fincloud-sched place: the exact "
					"solve hit the time limit: the result "
					"is the best found, not proven "
					"optimal\n");
	} else if (sched_place_all(s, &po, &r) < 0) {
		goto fail;
	}
	sched_state_write_back(s, p);

	doc = cJSON_CreateObject();
	eta = calloc(p->npools + 1, sizeof(*eta));
	if (doc == NULL || eta == NULL)
		goto oom;
	if (!summary) {
		if ((a = cJSON_AddArrayToObject(doc, "placements")) == NULL)
			goto oom;
		for (size_t v = 0; v < p->nvms; v++) {
			cJSON *o;

			if (p->vms[v].host < 0)
				continue;
			if ((o = cJSON_CreateObject()) == NULL ||
			    !cJSON_AddItemToArray(a, o) ||
			    !cJSON_AddStringToObject(o, "vm", p->vms[v].name) ||
			    !cJSON_AddStringToObject(
				    o, "host", p->hosts[p->vms[v].host].name))
				goto oom;
		}
	}
	if ((a = cJSON_AddArrayToObject(doc, "unplaced")) == NULL)
		goto oom;
	for (size_t v = 0; v < p->nvms; v++) {
		cJSON *o;

		if (p->vms[v].host >= 0)
			continue;
		if ((o = cJSON_CreateObject()) == NULL ||
		    !cJSON_AddItemToArray(a, o) ||
		    !cJSON_AddStringToObject(o, "vm", p->vms[v].name) ||
		    !cJSON_AddStringToObject(
			    o, "reason",
			    r.reason != NULL && r.reason[v] != NULL
				    ? r.reason[v]
				    : "not placed"))
			goto oom;
	}
	sched_eta_compute(p, eta);
	if (!cJSON_AddNumberToObject(doc, "cost", r.cost) ||
	    !cJSON_AddNumberToObject(doc, "lower_bound", r.lower_bound) ||
	    !cJSON_AddStringToObject(doc, "bound_kind",
				     sched_bound_kind_name(r.bound_kind)) ||
	    !cJSON_AddBoolToObject(doc, "optimal", r.optimal) ||
	    !cJSON_AddStringToObject(doc, "stopped_by",
				     sched_stop_name(r.stop)) ||
	    !cJSON_AddStringToObject(doc, "method",
				     r.method != NULL ? r.method : "search") ||
	    !cJSON_AddNumberToObject(doc, "gap", r.gap) ||
	    !cJSON_AddItemToObject(doc, "eta", sched_eta_to_json(p, eta)) ||
	    !cJSON_AddNumberToObject(doc, "seconds", r.seconds) ||
	    !cJSON_AddNumberToObject(doc, "active_hosts",
				     (double)sched_state_active_hosts(s)) ||
	    !cJSON_AddNumberToObject(doc, "constructive_cost",
				     r.constructive_cost) ||
	    !cJSON_AddNumberToObject(doc, "mips", (double)r.mips) ||
	    !cJSON_AddNumberToObject(doc, "mip_gains", (double)r.mip_gains) ||
	    !cJSON_AddNumberToObject(doc, "work", (double)r.work))
		goto oom;
	if (write_path != NULL) {
		cJSON *pj = sched_problem_to_json(p);
		char *text = pj != NULL ? cJSON_Print(pj) : NULL;
		int w = text != NULL ? file_write_atomic(write_path, text,
							 strlen(text), 0644)
				     : err_set("out of memory");

		free(text);
		cJSON_Delete(pj);
		if (w < 0)
			goto fail_run;
	}
	/* Ganeti's format needs every instance on a node. */
	if (write_htools != NULL && htools_write(p, write_htools) < 0)
		goto fail_run;
	if (emit(doc, p->nvms > 1000) < 0)
		goto out_err;
	ret = r.unplaced > 0 || r.cost < 0 ? TOOL_PARTIAL : 0;
	for (size_t v = 0; v < p->nvms; v++)
		if (p->vms[v].host < 0)
			ret = TOOL_PARTIAL;
	goto out;
oom:
	err_set("out of memory");
fail:
fail_run:
	tool_error(cmd, "%s", err_msg());
out_err:
	ret = TOOL_BAD;
out:
	free(eta);
	cJSON_Delete(doc);
	sched_result_free(&r);
	sched_state_free(s);
	sched_problem_free(p);
	return ret;
}

/* ---- plan --------------------------------------------------------------- */

static int cmd_plan(const struct tool_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{"htools", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *htools_path = NULL;
	struct sched_problem *p = NULL;
	struct sched_state *s = NULL;
	struct sched_plan pl = {0};
	cJSON *doc = NULL, *pools;
	int c, ret = TOOL_BAD;

	optind = 1;
	while ((c = next_opt(cmd, argc, argv, opts, &ret)) >= 0) {
		switch (c) {
		case 'H':
			htools_path = optarg;
			break;
		}
	}
	if (c == OPT_STOP)
		return ret;
	if ((htools_path == NULL) == (optind >= argc) ||
	    optind + (htools_path == NULL) < argc)
		return tool_usage_error(cmd, "give one PROBLEM.json or "
					   "--htools FILE");
	if (load_input(argv[optind], htools_path, &p) < 0)
		return tool_error(cmd, "%s", err_msg());
	if ((s = sched_state_new(p)) == NULL ||
	    sched_plan_lp(s, PLAN_FREE, &pl) < 0)
		goto fail;
	if ((doc = cJSON_CreateObject()) == NULL ||
	    !cJSON_AddBoolToObject(doc, "feasible", pl.feasible) ||
	    !cJSON_AddNumberToObject(doc, "lower_bound", pl.cost) ||
	    !cJSON_AddNumberToObject(doc, "current_cost",
				     sched_state_cost(s)) ||
	    (pools = cJSON_AddArrayToObject(doc, "pools")) == NULL)
		goto oom;
	for (size_t i = 0; i < p->npools; i++) {
		cJSON *o = cJSON_CreateObject(), *hosts, *drain;
		double cost = 0, cur = 0;

		if (o == NULL || !cJSON_AddItemToArray(pools, o) ||
		    !cJSON_AddStringToObject(o, "pool", p->pools[i].name) ||
		    (hosts = cJSON_AddArrayToObject(o, "hosts")) == NULL ||
		    (drain = cJSON_AddArrayToObject(o, "drain")) == NULL)
			goto oom;
		for (size_t h = 0; h < p->nhosts; h++) {
			cJSON *ho;
			double x = pl.x[h];

			if (p->hosts[h].pool != (int)i)
				continue;
			/* Print X_i with a tolerance-free 0 and 1. */
			x = x < 1e-9 ? 0 : (x > 1 - 1e-9 ? 1 : x);
			cost += p->hosts[h].cost * x;
			if (sched_state_nvms(s, h) > 0)
				cur += p->hosts[h].cost;
			if ((ho = cJSON_CreateObject()) == NULL ||
			    !cJSON_AddItemToArray(hosts, ho) ||
			    !cJSON_AddStringToObject(ho, "host",
						     p->hosts[h].name) ||
			    !cJSON_AddNumberToObject(ho, "x", x) ||
			    !cJSON_AddNumberToObject(ho, "cost",
						     p->hosts[h].cost) ||
			    !cJSON_AddNumberToObject(
				    ho, "vms", (double)sched_state_nvms(s, h)))
				goto oom;
			/* Running now, not needed by the plan: drain it. */
			if (sched_state_nvms(s, h) > 0 && x == 0 &&
			    !cJSON_AddItemToArray(
				    drain,
				    cJSON_CreateString(p->hosts[h].name)))
				goto oom;
		}
		if (!cJSON_AddNumberToObject(o, "cost", cost) ||
		    !cJSON_AddNumberToObject(o, "current_cost", cur))
			goto oom;
	}
	if (emit(doc, p->nhosts > 1000) < 0)
		goto out;
	ret = pl.feasible ? 0 : TOOL_PARTIAL;
	goto out;
oom:
	err_set("out of memory");
fail:
	tool_error(cmd, "%s", err_msg());
out:
	cJSON_Delete(doc);
	sched_plan_free(&pl);
	sched_state_free(s);
	sched_problem_free(p);
	return ret;
}

/* ---- gen ---------------------------------------------------------------- */

static bool gen_shape_known(const char *name)
{
	for (size_t i = 0; i < sched_gen_shape_count(); i++)
		if (strcmp(sched_gen_shape_name(i), name) == 0)
			return true;
	return false;
}

static int cmd_gen(const struct tool_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{"hosts", required_argument, NULL, 'H'},
		{"vms", required_argument, NULL, 'v'},
		{"seed", required_argument, NULL, 's'},
		{"simple", no_argument, NULL, 'S'},
		{"shape", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int64_t hosts = -1, vms = -1, seed = 1;
	const char *shape = NULL;
	bool simple = false;
	struct sched_problem *p;
	cJSON *doc;
	int c, ret = TOOL_BAD;

	optind = 1;
	while ((c = next_opt(cmd, argc, argv, opts, &ret)) >= 0) {
		switch (c) {
		case 'H':
			if (parse_int64(optarg, &hosts) < 0 || hosts < 1 ||
			    hosts > 1000000)
				return tool_usage_error(cmd, "--hosts: expected 1 to "
						   "1000000, got '%s'",
						   optarg);
			break;
		case 'v':
			if (parse_int64(optarg, &vms) < 0 || vms < 0 ||
			    vms > 10000000)
				return tool_usage_error(cmd, "--vms: expected 0 to "
						   "10000000, got '%s'",
						   optarg);
			break;
		case 's':
			if (parse_int64(optarg, &seed) < 0 || seed < 0)
				return tool_usage_error(cmd, "--seed: expected a "
						   "non-negative integer, got "
						   "'%s'",
						   optarg);
			break;
		case 'S':
			simple = true;
			break;
		case 'k':
			shape = optarg;
			break;
		}
	}
	if (c == OPT_STOP)
		return ret;
	if (optind < argc)
		return tool_usage_error(cmd, "unexpected argument '%s'",
				   argv[optind]);
	if (hosts < 0 || vms < 0)
		return tool_usage_error(cmd, "--hosts and --vms are required");
	p = sched_gen_shape(shape, (size_t)hosts, (size_t)vms, (uint64_t)seed,
			    simple);
	if (p == NULL && shape != NULL && !gen_shape_known(shape))
		return tool_usage_error(cmd, "%s", err_msg()); /* lists them */
	if (p == NULL)
		return tool_error(cmd, "%s", err_msg());
	doc = sched_problem_to_json(p);
	ret = emit(doc, vms > 1000) < 0 ? TOOL_BAD : 0;
	cJSON_Delete(doc);
	sched_problem_free(p);
	return ret;
}

/* ---- capacity ----------------------------------------------------------- */

static int cmd_capacity(const struct tool_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{"htools", required_argument, NULL, 'H'},
		{"spec", required_argument, NULL, 's'},
		{"n-plus-one", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *htools_path = NULL, *spec = NULL;
	struct sched_capacity_opts co = {0};
	struct sched_capacity_result cr = {0};
	struct sched_problem *p = NULL;
	cJSON *doc = NULL;
	int c, ret = TOOL_BAD;

	optind = 1;
	while ((c = next_opt(cmd, argc, argv, opts, &ret)) >= 0) {
		switch (c) {
		case 'H':
			htools_path = optarg;
			break;
		case 's':
			spec = optarg;
			break;
		case 'n':
			co.n_plus_one = true;
			break;
		}
	}
	if (c == OPT_STOP)
		return ret;
	if (optind < argc)
		return tool_usage_error(cmd, "unexpected argument '%s'",
				   argv[optind]);
	if (htools_path == NULL || spec == NULL)
		return tool_usage_error(cmd, "--htools FILE and --spec are required");
	if (sched_capacity_parse_spec(spec, &co) < 0)
		return tool_usage_error(cmd, "%s", err_msg());
	if (htools_read(htools_path, &p) < 0)
		return tool_error(cmd, "%s", err_msg());
	if (sched_capacity(p, &co, &cr) < 0) {
		tool_error(cmd, "%s", err_msg());
		goto out;
	}
	doc = sched_capacity_to_json(p, &co, &cr);
	if (emit(doc, false) < 0)
		goto out;
	ret = cr.instances > 0 ? 0 : TOOL_PARTIAL;
out:
	cJSON_Delete(doc);
	sched_capacity_result_free(&cr);
	sched_problem_free(p);
	return ret;
}

/* ---- the table ---------------------------------------------------------- */

static int cmd_help(const struct tool_cmd *cmd, int argc, char **argv);

/* One row per subcommand: name, handler, usage, help. Every help text
 * the tool prints comes from here. */
static const struct tool_cmd commands[] = {
	{"place", cmd_place,
	 "place PROBLEM.json | --htools FILE [--time-limit S] [--no-improve] "
	 "[--baseline ffd|exact] [--summary] [--write OUT.json] "
	 "[--write-htools OUT]",
	 "Place every VM without a host at least cost and print JSON:\n"
	 "placements [{vm, host}], unplaced [{vm, reason}], cost, lower_bound\n"
	 "and bound_kind (lp, lp_placed, mip or optimal), optimal, gap\n"
	 "(cost / lower_bound - 1), eta per pool and dimension, seconds.\n"
	 "VMs with a host stay there. Small problems are solved by the full\n"
	 "MIP; the result is never worse than first-fit decreasing.\n\n"
	 "  --time-limit S    time limit (default 1 s per 25,000 VMs, 1-10 s)\n"
	 "  --no-improve      constructive solution only\n"
	 "  --baseline ffd    cost-aware first-fit decreasing instead\n"
	 "  --baseline exact  the full GLPK MIP alone (small problems only;\n"
	 "                    default limit 10 s)\n"
	 "  --summary         leave out the placements list\n"
	 "  --write OUT.json  also write the placed problem\n"
	 "  --write-htools OUT  with --htools input: write the placed cluster\n"
	 "                    in Ganeti's text format (every instance needs a\n"
	 "                    node)\n\n"
	 "Exit 0 when every VM is placed, 1 when some are not, 2 on bad "
	 "input.\n"},
	{"plan", cmd_plan, "plan PROBLEM.json | --htools FILE",
	 "Solve the capacity-plan LP  min sum C_i X_i  s.t.  sum R_i X_i >=\n"
	 "R_total per dimension, 0 <= X_i <= 1, for the whole demand, and\n"
	 "print per pool X_i of every host, the pool's cost and the hosts that\n"
	 "run VMs now but are not needed (drain). Exit 1 when the demand does\n"
	 "not fit the hosts that are up, 2 on bad input.\n"},
	{"capacity", cmd_capacity,
	 "capacity --htools FILE --spec DISK_MIB,MEM_MIB,VCPUS [--n-plus-one]",
	 "How many more instances of one size fit the cluster, like Ganeti's\n"
	 "hspace --standard-alloc=DISK_MIB,MEM_MIB,VCPUS. Each instance goes\n"
	 "where it leaves the most balanced free memory; --n-plus-one keeps\n"
	 "room on the other nodes to restart every instance of any single\n"
	 "failed node. Exit 1 when none fits, 2 on bad input.\n"},
	{"gen", cmd_gen,
	 "gen --hosts N --vms M [--seed S] [--shape NAME] [--simple]",
	 "Print a reproducible random placement problem (JSON) with N hosts\n"
	 "and M VMs: the same seed gives the same problem everywhere.\n\n"
	 "  --shape NAME  default, hetero, mem-tight, tiny, huge, dedicated,\n"
	 "                anti-affinity, affinity or hosts-down\n"
	 "                (docs/scheduler.md says what each one varies)\n"
	 "  --simple      shared tenants and plain anti-affinity groups only\n"
	 "                (what 'place --baseline exact' accepts)\n"},
	{"rebalance", cmd_rebalance,
	 "rebalance PROBLEM.json | --htools FILE [--policy spread|pack] "
	 "[--max-moves N] [--evacuate HOST]... [--min-gain G] [-S OUT] "
	 "[-o text|json]",
	 cmd_rebalance_help},
	{"help", cmd_help, "help [COMMAND]", "Show the commands or one's help.\n"},
};

static const struct tool_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < FC_ARRAY_LEN(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void list_commands(FILE *f)
{
	fprintf(f, "usage: fincloud-sched COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < FC_ARRAY_LEN(commands); i++)
		fprintf(f, "  %s\n", commands[i].usage);
	fprintf(f, "\n'fincloud-sched COMMAND --help' explains one.\n");
}

static int cmd_help(const struct tool_cmd *cmd, int argc, char **argv)
{
	const struct tool_cmd *c;

	if (argc > 1 && strcmp(argv[1], "--help") == 0)
		return tool_help(cmd);
	if (argc > 1) {
		if ((c = find_command(argv[1])) == NULL)
			return tool_usage_error(cmd, "unknown command '%s'",
						argv[1]);
		return tool_help(c);
	}
	list_commands(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	const struct tool_cmd *c;

	if (argc < 2) {
		list_commands(stderr);
		return TOOL_BAD;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		list_commands(stdout);
		return 0;
	}
	c = find_command(argv[1]);
	if (c == NULL) {
		fprintf(stderr, "fincloud-sched: unknown command '%s'\n",
			argv[1]);
		list_commands(stderr);
		return TOOL_BAD;
	}
	return c->run(c, argc - 1, argv + 1);
}

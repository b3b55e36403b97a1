/*
 * cmd_rebalance.c - fincloud-sched rebalance: print a migration plan.
 * Its row of the command table (scheduler/fincloud-sched.c) prints
 * cmd_rebalance_help for --help.
 */
#include <getopt.h>

#include "scheduler/cmd_rebalance.h"

#include "common/err.h"
#include "common/util.h"
#include "scheduler/htools.h"
#include "scheduler/problem.h"
#include "scheduler/rebalance.h"

const char cmd_rebalance_help[] =
	"Print an ordered plan of live migrations, one per line\n"
	"(\"migrate VM SRC -> DST\"), or JSON with -o json (each move with the\n"
	"score before and after it). Every intermediate state is feasible and\n"
	"a VM moves at most once. VMs whose place breaks a constraint are\n"
	"reported and moved first; --evacuate empties a host (repeatable).\n"
	"\n"
	"  --htools FILE     read Ganeti's htools text format (hbal -t FILE);\n"
	"                    spread then minimises Ganeti's cluster score, the\n"
	"                    one `hinfo --ignore-dynu -t FILE` prints\n"
	"  --policy spread   balance (default): eta per pool and dimension for\n"
	"                    JSON input, Ganeti's score for htools input\n"
	"  --policy pack     empty the most expensive hosts the capacity-plan LP\n"
	"                    does not need, so they can be powered down\n"
	"  --max-moves N     at most N migrations (0: no limit, the default)\n"
	"  --evacuate HOST   move every VM off HOST first\n"
	"  --min-gain G      skip spread moves that improve the score by less\n"
	"                    than G (default 0: 3% of the score / up hosts)\n"
	"  -S OUT            write the cluster after the plan to OUT.balanced,\n"
	"                    in the input's format\n"
	"  -o text|json      output format (default text)\n"
	"\n"
	"Exit status: 0 plan made, 1 part of it could not be done (see stderr),\n"
	"2 bad input or options (nothing on stdout).\n";

static int write_balanced(struct sched_problem *p, const char *out)
{
	char path[4096];
	char *text;
	int ret;

	if ((size_t)snprintf(path, sizeof(path), "%s.balanced", out) >=
	    sizeof(path))
		return err_set("-S '%s': path too long", out);
	if (p->htools != NULL)
		return htools_write(p, path);
	{
		cJSON *j = sched_problem_to_json(p);

		if (j == NULL)
			return err_set("out of memory");
		text = cJSON_Print(j);
		cJSON_Delete(j);
	}
	if (text == NULL)
		return err_set("out of memory");
	ret = file_write_atomic(path, text, strlen(text), 0644);
	if (ret < 0)
		err_prefix("%s", path);
	free(text);
	return ret;
}

int cmd_rebalance(const struct tool_cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "htools", required_argument, NULL, 'H' },
		{ "policy", required_argument, NULL, 'p' },
		{ "max-moves", required_argument, NULL, 'm' },
		{ "evacuate", required_argument, NULL, 'e' },
		{ "min-gain", required_argument, NULL, 'g' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rebal_opts o;
	struct rebal_result r = { 0 };
	struct sched_problem *p = NULL;
	const char *htools = NULL, *json_in = NULL, *save = NULL;
	const char **evac_names = NULL;
	size_t nevac = 0, *evac = NULL, i;
	bool json = false;
	int c, ret = TOOL_BAD;

	rebal_opts_init(&o);
	evac_names = calloc((size_t)argc + 1, sizeof(*evac_names));
	if (evac_names == NULL)
		return tool_error(cmd, "out of memory");
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "S:o:h", longopts, NULL)) != -1) {
		int64_t n;

		switch (c) {
		case 'H':
			htools = optarg;
			break;
		case 'p':
			if (strcmp(optarg, "spread") == 0) {
				o.policy = REBAL_SPREAD;
			} else if (strcmp(optarg, "pack") == 0) {
				o.policy = REBAL_PACK;
			} else {
				ret = tool_error(cmd, "--policy must be spread "
						 "or pack, got '%s'", optarg);
				goto out;
			}
			break;
		case 'm':
			if (parse_int64(optarg, &n) < 0 || n < 0) {
				ret = tool_error(cmd, "--max-moves must be an "
						 "integer >= 0, got '%s'",
						 optarg);
				goto out;
			}
			o.max_moves = (size_t)n;
			break;
		case 'e':
			evac_names[nevac++] = optarg;
			break;
		case 'g':
			if (parse_double(optarg, &o.min_gain) < 0 ||
			    o.min_gain < 0) {
				ret = tool_error(cmd, "--min-gain must be a "
						 "number >= 0, got '%s'",
						 optarg);
				goto out;
			}
			break;
		case 'S':
			save = optarg;
			break;
		case 'o':
			if (strcmp(optarg, "json") == 0) {
				json = true;
			} else if (strcmp(optarg, "text") == 0) {
				json = false;
			} else {
				ret = tool_error(cmd, "-o must be text or json, "
						 "got '%s'", optarg);
				goto out;
			}
			break;
		case 'h':
			ret = tool_help(cmd);
			goto out;
		default:
			ret = tool_error(cmd, "unknown or incomplete option "
					 "'%s' (see --help)", argv[optind - 1]);
			goto out;
		}
	}
	if (optind < argc)
		json_in = argv[optind++];
	if (optind < argc) {
		ret = tool_error(cmd, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if ((htools == NULL) == (json_in == NULL)) {
		ret = tool_error(cmd, "give one input: PROBLEM.json or "
				 "--htools FILE (see --help)");
		goto out;
	}
	if (htools != NULL ? htools_read(htools, &p) < 0 :
			     sched_problem_load_json(json_in, &p) < 0) {
		ret = tool_error(cmd, "%s", err_msg());
		goto out;
	}
	evac = calloc(nevac ? nevac : 1, sizeof(*evac));
	if (evac == NULL) {
		ret = tool_error(cmd, "out of memory");
		goto out;
	}
	for (i = 0; i < nevac; i++) {
		int h = sched_problem_find_host(p, evac_names[i]);

		if (h < 0) {
			ret = tool_error(cmd, "--evacuate: no host is named "
					 "'%s'", evac_names[i]);
			goto out;
		}
		evac[i] = (size_t)h;
	}
	o.evacuate = evac;
	o.nevacuate = nevac;
	if (rebal_plan(p, &o, &r) < 0) {
		ret = tool_error(cmd, "%s", err_msg());
		goto out;
	}
	rebal_apply(&r, p);
	if (save != NULL && write_balanced(p, save) < 0) {
		ret = tool_error(cmd, "%s", err_msg());
		goto out;
	}
	if (json) {
		cJSON *j = rebal_result_to_json(p, &o, &r);
		char *text = j ? cJSON_Print(j) : NULL;

		cJSON_Delete(j);
		if (text == NULL) {
			ret = tool_error(cmd, "out of memory");
			goto out;
		}
		printf("%s\n", text);
		free(text);
	} else {
		for (i = 0; i < r.nmoves; i++)
			printf("migrate %s %s -> %s\n",
			       p->vms[r.moves[i].vm].name,
			       p->hosts[r.moves[i].from].name,
			       p->hosts[r.moves[i].to].name);
	}
	for (i = 0; i < r.nviolations; i++)
		fprintf(stderr, "rebalance: vm '%s' on host '%s' breaks %s: "
			"%s (%s)\n", p->vms[r.violations[i].vm].name,
			p->hosts[r.violations[i].host].name,
			sched_reason_name(r.violations[i].code),
			r.violations[i].reason,
			r.violations[i].repaired ? "repaired by the plan" :
						   "not repaired");
	for (i = 0; i < r.nunresolved; i++)
		fprintf(stderr, "rebalance: not done: %s\n", r.unresolved[i]);
	if (r.max_moves_reached)
		fprintf(stderr, "rebalance: stopped at --max-moves %zu\n",
			o.max_moves);
	fprintf(stderr, "rebalance: %s score %.8f -> %.8f, %zu moves, %.0f "
		"MiB moved\n", r.metric, r.score_before, r.score_after,
		r.nmoves, r.mib_moved);
	ret = r.nunresolved > 0 ? 1 : 0;
out:
	rebal_result_free(&r);
	sched_problem_free(p);
	free(evac);
	free(evac_names);
	return ret;
}

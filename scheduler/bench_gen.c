/*
 * sched-gen - print a generated problem of any shape (used by
 * scripts/bench-sched.sh and tests/integration/sched_cli.sh until
 * `fincloud-sched gen` takes --shape; the output is the same).
 *
 *   sched-gen --list                          the shapes, one per line
 *   sched-gen SHAPE HOSTS VMS SEED [simple]   the problem as JSON
 */
#include "common/fc.h"

#include "common/err.h"
#include "common/util.h"
#include "scheduler/gen.h"
#include "scheduler/problem.h"

int main(int argc, char **argv)
{
	int64_t hosts, vms, seed;
	struct sched_problem *p;
	cJSON *doc;
	char *text;

	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (size_t i = 0; i < sched_gen_shape_count(); i++)
			printf("%s\n", sched_gen_shape_name(i));
		return 0;
	}
	if ((argc != 5 && argc != 6) || parse_int64(argv[2], &hosts) < 0 ||
	    hosts < 1 || parse_int64(argv[3], &vms) < 0 || vms < 0 ||
	    parse_int64(argv[4], &seed) < 0 || seed < 0 ||
	    (argc == 6 && strcmp(argv[5], "simple") != 0)) {
		fprintf(stderr, "usage: sched-gen SHAPE HOSTS VMS SEED "
				"[simple] | --list\n");
		return 2;
	}
	p = sched_gen_shape(argv[1], (size_t)hosts, (size_t)vms,
			    (uint64_t)seed, argc == 6);
	if (p == NULL) {
		fprintf(stderr, "sched-gen: %s\n", err_msg());
		return 2;
	}
	doc = sched_problem_to_json(p);
	text = doc == NULL ? NULL
			   : (vms > 1000 ? cJSON_PrintUnformatted(doc)
					 : cJSON_Print(doc));
	if (text == NULL) {
		fprintf(stderr, "sched-gen: out of memory\n");
		return 1;
	}
	puts(text);
	free(text);
	cJSON_Delete(doc);
	sched_problem_free(p);
	return 0;
}

/* libFuzzer target: scheduler/problem.c reads the input as a JSON
 * placement problem (the format of fincloud-sched and tests/data/sched);
 * what it accepts is written back (sched_problem_to_json()) and must be
 * read again. Corpus: tests/fuzz/seeds/problem/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/err.h"
#include "common/json.h"
#include "scheduler/problem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sched_problem *p = NULL, *again = NULL;
	cJSON *root = NULL, *out = NULL;

	if (json_parse((const char *)data, size, "fuzz.json", &root) < 0 ||
	    sched_problem_from_json(root, &p) < 0)
		goto done;
	out = sched_problem_to_json(p);
	/* what the reader accepted, it must accept again once written */
	if (out != NULL && sched_problem_from_json(out, &again) < 0)
		abort();
done:
	sched_problem_free(again);
	sched_problem_free(p);
	cJSON_Delete(out);
	cJSON_Delete(root);
	err_clear();
	return 0;
}

/* libFuzzer target: scheduler/htools.c reads the input as an htools text
 * file; what it accepts is written back (htools_format()), read again and
 * scored (ganeti_score_of()), so the numbers it let through also reach
 * the arithmetic behind them. Corpus: tests/fuzz/seeds/htools/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "scheduler/ganeti_score.h"
#include "scheduler/htools.h"
#include "scheduler/problem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sched_problem *p = NULL, *again = NULL;
	char *text = NULL;
	double score;

	if (htools_parse("fuzz.data", (const char *)data, size, &p) < 0)
		goto out;
	text = htools_format(p);
	if (text == NULL)
		goto out;
	/* what the reader accepted, it must accept again once written */
	if (htools_parse("fuzz.out", text, strlen(text), &again) < 0)
		abort();
	(void)ganeti_score_of(p, &score);
out:
	free(text);
	sched_problem_free(again);
	sched_problem_free(p);
	err_clear();
	return 0;
}

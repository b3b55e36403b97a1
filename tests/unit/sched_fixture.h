/*
 * sched_fixture.h - what the scheduler's unit tests share: a placement
 * problem read from JSON text through the validating reader. Include
 * after tests/unit/fc_test.h.
 */
#ifndef FC_TEST_SCHED_FIXTURE_H
#define FC_TEST_SCHED_FIXTURE_H

#include "common/err.h"
#include "common/json.h"
#include "scheduler/problem.h"

/* The problem in text (a JSON document); fails the test when the text
 * is not a valid problem, naming why. The caller frees the result with
 * sched_problem_free(). */
static inline struct sched_problem *sched_fixture_load(const char *text)
{
	struct sched_problem *p = NULL;
	cJSON *root = NULL;

	assert_int_equal(json_parse(text, strlen(text), "t", &root), 0);
	if (sched_problem_from_json(root, &p) != 0)
		fail_msg("problem: %s", err_msg());
	cJSON_Delete(root);
	return p;
}

#endif

/*
 * place_ffd.c - the baseline sched_place_ffd() (see place.h): cost-aware
 * first-fit decreasing on the batch state, finished like sched_place_all().
 */
#include "common/fc.h"

#include "common/err.h"
#include "scheduler/place_int.h"

int sched_place_ffd(struct sched_state *s, struct sched_result *r)
{
	return place_ffd(s, r, true);
}

int place_ffd(struct sched_state *s, struct sched_result *r, bool with_bound)
{
	const struct sched_problem *p = sched_state_problem(s);
	struct batch b;
	size_t *order = NULL, *waiting = NULL, nwaiting = 0;
	struct vclass *c = NULL;
	size_t nc = 0;
	int *mem = NULL;
	double t0 = place_now();
	int ret = -1;

	if (place_batch_init(&b, s, r) < 0)
		goto out;
	b.no_room = true;
	b.no_bound = !with_bound;
	place_set_prices(&b, NULL);
	order = place_host_order(&b, NULL);
	if (order == NULL)
		goto out;
	waiting = calloc(p->nvms + 1, sizeof(*waiting));
	if (waiting == NULL) {
		err_set("out of memory");
		goto out;
	}
	for (size_t v = 0; v < p->nvms; v++)
		if (sched_state_host_of(s, v) < 0)
			waiting[nwaiting++] = v;
	if (place_make_classes(&b, waiting, nwaiting, &c, &nc, &mem) < 0)
		goto out;
	/* Equal VMs never fit a host an earlier one did not: each class
	 * resumes where the previous member went. */
	for (size_t j = 0; j < nc; j++) {
		size_t start = 0;

		while (c[j].n > 0) {
			size_t vm = (size_t)c[j].v[c[j].n - 1], i;

			for (i = start; i < p->nhosts; i++)
				if (sched_state_check_code(s, vm, order[i],
							   NULL) == SCHED_OK)
					break;
			if (i == p->nhosts)
				break;
			if (place_assign(&b, vm, order[i]) < 0)
				goto out;
			c[j].n--;
			start = i;
		}
	}
	if (place_finish(&b, NULL, t0) < 0)
		goto out;
	r->method = "ffd";
	r->constructive_cost = r->cost;
	ret = 0;
out:
	place_batch_free(&b);
	free(order);
	free(waiting);
	free(c);
	free(mem);
	if (ret < 0)
		sched_result_free(r);
	return ret;
}

/*
 * place_ffd.c - the baseline sched_place_ffd() (see place.h): cost-aware
 * first-fit decreasing on the batch state, finished like sched_place_all().
 */
#include <math.h>

#include "common/fc.h"

#include "common/err.h"
#include "scheduler/place_int.h"

int sched_place_ffd(struct sched_state *s, struct sched_result *r)
{
	const struct sched_problem *p = sched_state_problem(s);
	struct batch b;
	struct hkey *hk = NULL;
	size_t *waiting = NULL, nwaiting = 0;
	struct vclass *c = NULL;
	size_t nc = 0;
	int *mem = NULL;
	double t0 = place_now(), tot[DIM_COUNT] = {0};
	int ret = -1;

	if (place_batch_init(&b, s, r) < 0)
		goto out;
	b.no_room = true;
	for (size_t h = 0; h < p->nhosts; h++)
		for (int d = 0; d < DIM_COUNT; d++)
			tot[d] += sched_state_usable(s, h, (enum sched_dim)d);
	for (int d = 0; d < DIM_COUNT; d++)
		b.price[d] = tot[d] > 0 ? (double)p->nhosts / tot[d] : 0;
	for (size_t v = 0; v < p->nvms; v++) {
		b.w[v] = 0;
		for (int d = 0; d < DIM_COUNT; d++)
			b.w[v] += b.price[d] * p->vms[v].req[d];
	}
	hk = calloc(p->nhosts + 1, sizeof(*hk));
	waiting = calloc(p->nvms + 1, sizeof(*waiting));
	if (hk == NULL || waiting == NULL)
		goto oom;
	for (size_t h = 0; h < p->nhosts; h++) {
		double value = 0;

		for (int d = 0; d < DIM_COUNT; d++)
			value += b.price[d] *
				 sched_state_usable(s, h, (enum sched_dim)d);
		hk[h].h = h;
		hk[h].band = 0;
		hk[h].eff = value > 0 ? p->hosts[h].cost / value : INFINITY;
	}
	qsort(hk, p->nhosts, sizeof(*hk), place_hkey_cmp);
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
				if (sched_state_check_code(s, vm, hk[i].h,
							   NULL) == SCHED_OK)
					break;
			if (i == p->nhosts)
				break;
			if (place_assign(&b, vm, hk[i].h) < 0)
				goto out;
			c[j].n--;
			start = i;
		}
	}
	if (place_finish(&b, t0) < 0 || place_final_bound(&b, NULL) < 0)
		goto out;
	r->constructive_cost = r->cost;
	r->seconds = place_now() - t0;
	ret = 0;
	goto out;
oom:
	err_set("out of memory");
out:
	place_batch_free(&b);
	free(hk);
	free(waiting);
	free(c);
	free(mem);
	if (ret < 0)
		sched_result_free(r);
	return ret;
}

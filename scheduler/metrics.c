#include "common/fc.h"

#include "scheduler/metrics.h"
#include "scheduler/problem.h"

void sched_eta_compute(const struct sched_problem *p, struct sched_eta *out)
{
	size_t *nvms = calloc(p->nhosts + 1, sizeof(*nvms));
	size_t i;

	memset(out, 0, p->npools * sizeof(*out));
	for (i = 0; i < p->nvms; i++) {
		const struct sched_vm *v = &p->vms[i];

		if (v->host < 0)
			continue;
		if (nvms != NULL)
			nvms[v->host]++;
		for (int d = 0; d < DIM_COUNT; d++)
			out[p->hosts[v->host].pool].used[d] += v->req[d];
	}
	for (i = 0; i < p->nhosts; i++) {
		const struct sched_host *h = &p->hosts[i];
		struct sched_eta *e = &out[h->pool];
		bool active;

		/* Without the count (out of memory) fall back to a scan. */
		if (nvms != NULL) {
			active = nvms[i] > 0;
		} else {
			active = false;
			for (size_t v = 0; v < p->nvms && !active; v++)
				active = p->vms[v].host == (int)i;
		}
		e->hosts++;
		if (active)
			e->active_hosts++;
		for (int d = 0; d < DIM_COUNT; d++) {
			double u = h->cap[d] * p->pools[h->pool].ratio[d];

			e->total[d] += u;
			if (active)
				e->total_active[d] += u;
		}
	}
	for (i = 0; i < p->npools; i++) {
		struct sched_eta *e = &out[i];

		for (int d = 0; d < DIM_COUNT; d++) {
			e->eta[d] = e->total[d] > 0 ? e->used[d] / e->total[d]
						    : 0;
			e->eta_active[d] = e->total_active[d] > 0
						   ? e->used[d] /
							     e->total_active[d]
						   : 0;
		}
	}
	free(nvms);
}

cJSON *sched_eta_to_json(const struct sched_problem *p,
			 const struct sched_eta *eta)
{
	cJSON *root = cJSON_CreateObject();

	if (root == NULL)
		return NULL;
	for (size_t i = 0; i < p->npools; i++) {
		cJSON *o = cJSON_AddObjectToObject(root, p->pools[i].name);

		if (o == NULL ||
		    cJSON_AddNumberToObject(o, "hosts", (double)eta[i].hosts) ==
			    NULL ||
		    cJSON_AddNumberToObject(o, "active_hosts",
					    (double)eta[i].active_hosts) ==
			    NULL)
			goto oom;
		for (int d = 0; d < DIM_COUNT; d++) {
			cJSON *x = cJSON_AddObjectToObject(
				o, sched_dim_name((enum sched_dim)d));

			if (x == NULL ||
			    !cJSON_AddNumberToObject(x, "used",
						     eta[i].used[d]) ||
			    !cJSON_AddNumberToObject(x, "total",
						     eta[i].total[d]) ||
			    !cJSON_AddNumberToObject(x, "total_active",
						     eta[i].total_active[d]) ||
			    !cJSON_AddNumberToObject(x, "eta", eta[i].eta[d]) ||
			    !cJSON_AddNumberToObject(x, "eta_active",
						     eta[i].eta_active[d]))
				goto oom;
		}
	}
	return root;
oom:
	cJSON_Delete(root);
	return NULL;
}

double sched_availability(const double *a, size_t n)
{
	double down = 1;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		down *= 1 - a[i];
	return 1 - down;
}

size_t sched_availability_needed(const double *a, size_t n, double target)
{
	double down = 1;

	for (size_t i = 0; i < n; i++) {
		down *= 1 - a[i];
		if (1 - down >= target - 1e-12)
			return i + 1;
	}
	return 0;
}

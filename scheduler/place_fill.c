/*
 * place_fill.c - the LP-guided construction of sched_place_all(): VMs in
 * classes of equal ones, hosts filled in the LP's opening order, then the
 * groups that must go together (affinity) or apart (availability).
 */
#include <math.h>

#include "common/fc.h"

#include "common/err.h"
#include "scheduler/metrics.h"
#include "scheduler/place_int.h"
#include "scheduler/problem.h"

bool place_same_class(const struct sched_problem *p, size_t a, size_t b)
{
	const struct sched_vm *x = &p->vms[a], *y = &p->vms[b];

	if (x->group >= 0 || y->group >= 0 || x->tenant != y->tenant ||
	    x->ntags != y->ntags)
		return false;
	for (int d = 0; d < DIM_COUNT; d++)
		if (x->req[d] != y->req[d])
			return false;
	for (size_t i = 0; i < x->ntags; i++)
		if (strcmp(x->tags[i], y->tags[i]) != 0)
			return false;
	return true;
}

/* Heaviest first; VMs of one class next to each other (qsort_r with the
 * problem as context). */
static int vkey_class_cmp(const void *a, const void *b, void *ctx)
{
	const struct sched_problem *p = ctx;
	const struct sched_rank *x = a, *y = b;
	const struct sched_vm *vx = &p->vms[x->i];
	const struct sched_vm *vy = &p->vms[y->i];

	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	for (int d = 0; d < DIM_COUNT; d++)
		if (vx->req[d] != vy->req[d])
			return vx->req[d] < vy->req[d] ? -1 : 1;
	if ((vx->group >= 0) != (vy->group >= 0))
		return vx->group >= 0 ? 1 : -1;
	/* Within a size, the VMs with the fewest places to go first: they
	 * take the hosts only they can use before others fill them. */
	if (vx->ntags != vy->ntags)
		return vx->ntags > vy->ntags ? -1 : 1;
	{
		size_t px = p->tenants[vx->tenant].npools;
		size_t py = p->tenants[vy->tenant].npools;

		px = px == 0 ? p->npools : px;
		py = py == 0 ? p->npools : py;
		if (px != py)
			return px < py ? -1 : 1;
	}
	if (vx->tenant != vy->tenant)
		return vx->tenant < vy->tenant ? -1 : 1;
	for (size_t i = 0; i < vx->ntags; i++) {
		int c = strcmp(vx->tags[i], vy->tags[i]);

		if (c != 0)
			return c;
	}
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Build classes of the VMs in waiting (sorted by weight, heaviest first). */
int place_make_classes(struct batch *b, const size_t *waiting, size_t nwaiting,
		       struct vclass **out, size_t *nout, int **store)
{
	const struct sched_problem *p = b->p;
	struct sched_rank *k = calloc(nwaiting + 1, sizeof(*k));
	struct vclass *c = calloc(nwaiting + 1, sizeof(*c));
	int *mem = calloc(nwaiting + 1, sizeof(*mem));
	size_t *cls = calloc(nwaiting + 1, sizeof(*cls));
	size_t nc = 0, used = 0;

	if (k == NULL || c == NULL || mem == NULL || cls == NULL) {
		free(k);
		free(c);
		free(mem);
		free(cls);
		return err_set("out of memory");
	}
	for (size_t i = 0; i < nwaiting; i++) {
		k[i].i = waiting[i];
		k[i].key = b->w[waiting[i]];
	}
	qsort_r(k, nwaiting, sizeof(*k), vkey_class_cmp, (void *)p);
	/* Members of a class are now next to each other. */
	for (size_t i = 0; i < nwaiting; i++) {
		if (nc == 0 ||
		    !place_same_class(p, (size_t)c[nc - 1].rep, k[i].i)) {
			c[nc].w = k[i].key;
			c[nc].rep = (int)k[i].i;
			nc++;
		}
		cls[i] = nc - 1;
		c[nc - 1].n++;
	}
	/* Members are stored contiguously: count first, then fill. */
	for (size_t j = 0; j < nc; j++) {
		c[j].v = mem + used;
		used += c[j].n;
		c[j].n = 0;
	}
	for (size_t i = 0; i < nwaiting; i++) {
		struct vclass *cl = &c[cls[i]];

		cl->v[cl->n++] = (int)k[i].i;
	}
	/* Take from the end: reverse so the lowest index goes first. */
	for (size_t j = 0; j < nc; j++)
		for (size_t i = 0; i < c[j].n / 2; i++) {
			int t = c[j].v[i];

			c[j].v[i] = c[j].v[c[j].n - 1 - i];
			c[j].v[c[j].n - 1 - i] = t;
		}
	free(k);
	free(cls);
	*out = c;
	*nout = nc;
	*store = mem;
	return 0;
}

/* VM classes of one size. */
struct sizegroup {
	const double *req;
	size_t *cls;   /* class indices with members left */
	size_t ncls;
	size_t left;   /* members left over all its classes */
	size_t block;  /* host stamp: nothing of this size fits there */
};

/* Fill hosts in opening order. Each step takes the size whose request
 * best matches what the host has left: the cosine between the two
 * vectors (normalised by the host's capacity), which keeps every
 * dimension filling at the same pace, plus size_weight times the
 * request's norm, which puts big VMs first; then a VM of that size that
 * passes every check. (A pure dot product, Panigrahy et al.'s vector
 * bin-packing rule, is dominated by size here and leaves hosts full in
 * one dimension and a fifth empty in another.) */
int place_fill_hosts(struct batch *b, const size_t *order, size_t *waiting,
		     size_t nwaiting, double size_weight)
{
	const struct sched_problem *p = b->p;
	struct vclass *c = NULL;
	struct sizegroup *sg = NULL;
	size_t nc = 0, nsg = 0, left = nwaiting, *cblock = NULL, *cls_mem = NULL;
	int *mem = NULL;
	int ret = -1;

	if (nwaiting == 0)
		return 0;
	if (place_make_classes(b, waiting, nwaiting, &c, &nc, &mem) < 0)
		return -1;
	sg = calloc(nc + 1, sizeof(*sg));
	cblock = calloc(nc + 1, sizeof(*cblock));
	cls_mem = calloc(nc + 1, sizeof(*cls_mem));
	if (sg == NULL || cblock == NULL || cls_mem == NULL) {
		err_set("out of memory");
		goto out;
	}
	/* Sizes, and their classes stored contiguously. */
	{
		size_t *of = calloc(nc + 1, sizeof(*of)), used = 0;

		if (of == NULL) {
			err_set("out of memory");
			goto out;
		}
		for (size_t j = 0; j < nc; j++) {
			const double *req = p->vms[c[j].rep].req;
			size_t k;

			for (k = 0; k < nsg; k++)
				if (memcmp(sg[k].req, req,
					   sizeof(double) * DIM_COUNT) == 0)
					break;
			if (k == nsg)
				sg[nsg++].req = req;
			of[j] = k;
			sg[k].ncls++;
			sg[k].left += c[j].n;
		}
		for (size_t k = 0; k < nsg; k++) {
			sg[k].cls = cls_mem + used;
			used += sg[k].ncls;
			sg[k].ncls = 0;
			sg[k].block = SIZE_MAX;
		}
		for (size_t j = 0; j < nc; j++)
			sg[of[j]].cls[sg[of[j]].ncls++] = j;
		free(of);
	}
	for (size_t j = 0; j < nc; j++)
		cblock[j] = SIZE_MAX;
	for (size_t oi = 0; oi < p->nhosts && left > 0; oi++) {
		size_t h = order[oi];
		double U[DIM_COUNT];

		if (p->hosts[h].state != HOST_UP)
			continue;
		for (int d = 0; d < DIM_COUNT; d++) {
			U[d] = sched_state_usable(b->s, h, (enum sched_dim)d);
			U[d] = U[d] > 0 ? U[d] : 1;
		}
		for (;;) {
			size_t best = SIZE_MAX;
			double best_sc = -INFINITY;
			bool placed = false;

			for (size_t k = 0; k < nsg; k++) {
				double sc = 0;
				bool fits = sg[k].left > 0 && sg[k].block != h;

				double dot = 0, nr = 0, nh = 0;

				for (int d = 0; fits && d < DIM_COUNT; d++) {
					double head = sched_state_headroom(
						b->s, h, (enum sched_dim)d);
					double rq = sg[k].req[d] / U[d];
					double hd = head / U[d];

					fits = sg[k].req[d] <=
					       head + 1e-9 * (U[d] > 1 ? U[d] : 1);
					dot += rq * hd;
					nr += rq * rq;
					nh += hd * hd;
				}
				if (fits && nr > 0 && nh > 0)
					sc = dot / sqrt(nr * nh) +
					     size_weight * sqrt(nr);
				if (!fits) {
					sg[k].block = h;
					continue;
				}
				if (sc > best_sc) {
					best_sc = sc;
					best = k;
				}
			}
			if (best == SIZE_MAX)
				break;
			for (size_t i = 0; i < sg[best].ncls && !placed;) {
				size_t j = sg[best].cls[i];
				size_t vm;

				if (c[j].n == 0) {
					/* Exhausted: drop it from the size. */
					sg[best].cls[i] =
						sg[best].cls[--sg[best].ncls];
					continue;
				}
				if (cblock[j] == h) {
					i++;
					continue;
				}
				vm = (size_t)c[j].v[c[j].n - 1];
				if (sched_state_check_code(b->s, vm, h, NULL) !=
				    SCHED_OK) {
					cblock[j] = h;
					i++;
					continue;
				}
				if (place_assign(b, vm, h) < 0)
					goto out;
				c[j].n--;
				sg[best].left--;
				left--;
				placed = true;
			}
			if (!placed)
				sg[best].block = h;
		}
	}
	ret = 0;
out:
	free(sg);
	free(cblock);
	free(cls_mem);
	free(c);
	free(mem);
	return ret;
}

/* Affinity groups go as one block: all members on the first host in the
 * opening order that takes every one of them. */
int place_affinity_groups(struct batch *b, const size_t *order,
			  char **reason)
{
	const struct sched_problem *p = b->p;
	int *m = calloc(p->nvms + 1, sizeof(*m));

	if (m == NULL)
		return err_set("out of memory");
	for (size_t g = 0; g < p->ngroups; g++) {
		size_t n = 0;
		bool placed = false;
		double need[DIM_COUNT] = {0};

		if (p->groups[g].policy != GROUP_AFFINITY)
			continue;
		for (int v = b->gfirst[g]; v >= 0; v = b->gnext[v]) {
			if (sched_state_host_of(b->s, (size_t)v) >= 0)
				continue;
			m[n++] = v;
			for (int d = 0; d < DIM_COUNT; d++)
				need[d] += p->vms[v].req[d];
		}
		if (n == 0)
			continue;
		for (size_t oi = 0; oi < p->nhosts && !placed; oi++) {
			size_t h = order[oi], k;

			for (k = 0; k < n; k++) {
				if (sched_state_check_code(b->s, (size_t)m[k], h,
							   NULL) != SCHED_OK)
					break;
				if (place_assign(b, (size_t)m[k], h) < 0) {
					free(m);
					return -1;
				}
			}
			placed = k == n;
			while (!placed && k-- > 0)
				place_unassign(b, (size_t)m[k]);
		}
		if (placed)
			continue;
		for (size_t k = 0; k < n; k++) {
			char msg[WHY_MAX];

			snprintf(msg, sizeof(msg),
				 "affinity group '%s' (%zu vms: %g vCPUs, %g MiB "
				 "of memory, %g GiB of disk) fits on no single "
				 "host",
				 p->groups[g].name, n, need[DIM_VCPU],
				 need[DIM_MEM], need[DIM_DISK]);
			reason[m[k]] = strdup(msg);
			if (reason[m[k]] == NULL) {
				free(m);
				return err_set("out of memory");
			}
		}
	}
	free(m);
	return 0;
}

/* Members of groups with an availability target: each on the most
 * available feasible host, so the group reaches its target whenever the
 * hosts allow it; too small groups are reported. */
static int cmp_desc(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a > b ? -1 : a < b;
}

/* Whether some member of group g may go to host h: members differ in
 * tags, so the group's hosts are the union of its members'. */
static bool group_may_use(const struct batch *b, size_t g, size_t h)
{
	for (int v = b->gfirst[g]; v >= 0; v = b->gnext[v])
		if (sched_state_compatible(b->s, (size_t)v, h))
			return true;
	return false;
}

int place_avail_groups(struct batch *b, const size_t *order,
		       char **reason)
{
	const struct sched_problem *p = b->p;
	double *a = calloc(p->nhosts + 1, sizeof(*a));
	int ret = -1;

	if (a == NULL)
		return err_set("out of memory");
	for (size_t g = 0; g < p->ngroups; g++) {
		const struct sched_group *gr = &p->groups[g];
		size_t n = 0, members = 0, need, first = SIZE_MAX;
		double top[8];
		size_t ntop = 0;

		if (gr->availability <= 0)
			continue;
		for (int v = b->gfirst[g]; v >= 0; v = b->gnext[v]) {
			members++;
			if (first == SIZE_MAX && !b->pinned[v])
				first = (size_t)v;
		}
		if (first == SIZE_MAX)
			continue; /* every member already placed */
		/* The most available eligible hosts (as many as there are
		 * members, at most 8), kept sorted. */
		for (size_t h = 0; h < p->nhosts; h++) {
			double x;
			size_t k;

			if (!group_may_use(b, g, h))
				continue;
			x = a[n++] = p->hosts[h].availability;
			if (ntop < FC_ARRAY_LEN(top) && ntop < members)
				ntop++;
			else if (ntop == 0 || x <= top[ntop - 1])
				continue;
			for (k = ntop - 1; k > 0 && top[k - 1] < x; k--)
				top[k] = top[k - 1];
			top[k] = x;
		}
		need = sched_availability_needed(top, ntop, gr->availability);
		if (need == 0) {
			/* Short: say by how many members (sorting every
			 * eligible host only on this path). */
			qsort(a, n, sizeof(*a), cmp_desc);
			need = sched_availability_needed(a, n, gr->availability);
		}
		if (need == 0 || need > members) {
			char msg[WHY_MAX];

			if (need == 0)
				snprintf(msg, sizeof(msg),
					 "group '%s' cannot reach availability "
					 "%g: even all %zu eligible hosts give "
					 "%g",
					 gr->name, gr->availability, n,
					 sched_availability(a, n));
			else
				snprintf(msg, sizeof(msg),
					 "group '%s' needs %zu members on "
					 "distinct hosts to reach availability "
					 "%g, it has %zu: add %zu",
					 gr->name, need, gr->availability,
					 members, need - members);
			for (int v = b->gfirst[g]; v >= 0; v = b->gnext[v]) {
				if (b->pinned[v] || reason[v] != NULL)
					continue;
				reason[v] = strdup(msg);
				if (reason[v] == NULL)
					goto oom;
			}
			continue;
		}
		/* Each member on a running host when the group can still
		 * reach its target from there with the best hosts left,
		 * else on the most available host. */
		{
			double down = 1, a_best = ntop > 0 ? top[0] : 0;
			size_t left = 0;

			for (int v = b->gfirst[g]; v >= 0; v = b->gnext[v]) {
				int h = sched_state_host_of(b->s, (size_t)v);

				if (!b->pinned[v])
					left++;
				if (h >= 0)
					down *= 1 - p->hosts[h].availability;
			}
			for (int vi = b->gfirst[g]; vi >= 0; vi = b->gnext[vi]) {
				size_t v = (size_t)vi;
				int best = -1, best_run = -1;
				double best_a = -1, best_c = INFINITY;

				if (b->pinned[v])
					continue;
				left--;
				/* The first host in the opening order from
				 * where the target stays reachable; failing
				 * that, the most available host. */
				for (size_t oi = 0; oi < p->nhosts; oi++) {
					size_t h = order[oi];
					double rest = down *
						      (1 - p->hosts[h].availability);

					for (size_t m = 0; m < left; m++)
						rest *= 1 - a_best;
					if (1 - rest < gr->availability - 1e-12)
						continue;
					if (sched_state_check_code(b->s, v, h,
								   NULL) ==
					    SCHED_OK) {
						best_run = (int)h;
						break;
					}
				}
				for (size_t h = 0; best_run < 0 && h < p->nhosts;
				     h++) {
					double ha = p->hosts[h].availability;
					double hc = p->hosts[h].cost;

					if (ha < best_a ||
					    (ha == best_a && hc >= best_c))
						continue;
					if (sched_state_check_code(b->s, v, h,
								   NULL) !=
					    SCHED_OK)
						continue;
					best = (int)h;
					best_a = ha;
					best_c = hc;
				}
				if (best_run >= 0)
					best = best_run;
				if (best < 0)
					continue;
				if (place_assign(b, v, (size_t)best) < 0)
					goto out;
				down *= 1 - p->hosts[best].availability;
			}
		}
	}
	ret = 0;
	goto out;
oom:
	err_set("out of memory");
out:
	free(a);
	return ret;
}

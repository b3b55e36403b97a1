#include <glpk.h>
#include <math.h>

#include "common/fc.h"

#include "common/err.h"
#include "common/util.h"
#include "scheduler/metrics.h"
#include "scheduler/place.h"
#include "scheduler/plan.h"
#include "scheduler/problem.h"

#define WHY_MAX 512

/* ---- single VM ---------------------------------------------------------- */

struct why_acc {
	size_t n[SCHED_X_COUNT];
	size_t capdim[DIM_COUNT];
	int cap_pool;      /* pool of the capacity-excluded hosts; -2 mixed */
	int ded_tenant;    /* tenant the hosts are dedicated to; -2 mixed */
	int aff_host;
	int tag;           /* index of a missing VM tag */
};

static void why_count(struct why_acc *a, const struct sched_problem *p,
		      size_t host, enum sched_reason code, int detail)
{
	a->n[code]++;
	switch (code) {
	case SCHED_X_CAPACITY:
		a->capdim[detail]++;
		if (a->cap_pool == -1)
			a->cap_pool = p->hosts[host].pool;
		else if (a->cap_pool != p->hosts[host].pool)
			a->cap_pool = -2;
		break;
	case SCHED_X_DEDICATED:
		if (a->ded_tenant == -1)
			a->ded_tenant = detail;
		else if (a->ded_tenant != detail)
			a->ded_tenant = -2;
		break;
	case SCHED_X_AFFINITY:
		a->aff_host = detail;
		break;
	case SCHED_X_TAGS:
		if (a->tag < 0)
			a->tag = detail;
		break;
	default:
		break;
	}
}

static const char *dim_text(int d)
{
	static const char *const t[DIM_COUNT] = {"vCPUs", "MiB of memory",
						 "GiB of disk"};

	return t[d];
}

static void why_format(const struct why_acc *a, const struct sched_state *s,
		       size_t vm, char *why, size_t whysize)
{
	const struct sched_problem *p = sched_state_problem(s);
	const struct sched_vm *v = &p->vms[vm];
	size_t len = 0;
	bool first = true, done[SCHED_X_COUNT] = {false};
	int n;

#define OUT(...)                                                               \
	do {                                                                   \
		if (len < whysize) {                                           \
			n = snprintf(why + len, whysize - len, __VA_ARGS__);   \
			if (n > 0)                                             \
				len += (size_t)n;                              \
		}                                                              \
	} while (0)

	if (why == NULL || whysize == 0)
		return;
	why[0] = '\0';
	if (p->nhosts == 0) {
		OUT("there are no hosts");
		return;
	}
	if (a->n[SCHED_X_CAPACITY] > 0) {
		int d = 0;

		for (int k = 1; k < DIM_COUNT; k++)
			if (a->capdim[k] > a->capdim[d])
				d = k;
		if (a->cap_pool >= 0)
			OUT("no host in pool '%s' has %g %s free",
			    p->pools[a->cap_pool].name, v->req[d],
			    dim_text(d));
		else
			OUT("no host in the pools of tenant '%s' has %g %s "
			    "free",
			    p->tenants[v->tenant].name, v->req[d],
			    dim_text(d));
		OUT(" for vm '%s' (%zu host%s short)", v->name,
		    a->n[SCHED_X_CAPACITY],
		    a->n[SCHED_X_CAPACITY] == 1 ? " is" : "s are");
	} else {
		OUT("no host can take vm '%s'", v->name);
	}
	for (;;) {
		/* Reasons by the number of hosts they excluded, most first. */
		int c = -1;
		size_t k = 0;

		for (int x = 1; x < SCHED_X_COUNT; x++) {
			if (x == SCHED_X_CAPACITY || done[x])
				continue;
			if (a->n[x] > k) {
				k = a->n[x];
				c = x;
			}
		}
		if (c < 0)
			break;
		done[c] = true;
		OUT("%s%zu host%s excluded: ", first ? (a->n[SCHED_X_CAPACITY]
							       ? "; "
							       : ": ")
						     : "; ",
		    k, k == 1 ? "" : "s");
		first = false;
		switch ((enum sched_reason)c) {
		case SCHED_X_STATE:
			OUT("down or in maintenance");
			break;
		case SCHED_X_POOL:
			OUT("pool not allowed for tenant '%s'",
			    p->tenants[v->tenant].name);
			break;
		case SCHED_X_TAGS:
			OUT("missing tag '%s'",
			    a->tag >= 0 ? v->tags[a->tag] : "?");
			break;
		case SCHED_X_DEDICATED:
			if (a->ded_tenant >= 0)
				OUT("dedicated to tenant '%s'",
				    p->tenants[a->ded_tenant].name);
			else
				OUT("dedicated to other tenants");
			break;
		case SCHED_X_SHARED:
			OUT("running other tenants' vms while tenant '%s' is "
			    "dedicated",
			    p->tenants[v->tenant].name);
			break;
		case SCHED_X_ANTI_AFFINITY:
			OUT("already running a member of anti-affinity group "
			    "'%s'",
			    p->groups[v->group].name);
			break;
		case SCHED_X_AFFINITY:
			OUT("affinity group '%s' runs on host '%s'",
			    p->groups[v->group].name,
			    a->aff_host >= 0 ? p->hosts[a->aff_host].name
					     : "?");
			break;
		case SCHED_X_AVAILABILITY:
			OUT("would leave group '%s' below its availability "
			    "target %g",
			    p->groups[v->group].name,
			    p->groups[v->group].availability);
			break;
		default:
			break;
		}
	}
#undef OUT
}

/* Lower is better. pack: a running host with the least left over, then
 * the cheapest empty host; spread: the least loaded after placement. */
static double host_score(const struct sched_state *s,
			 const struct sched_problem *p, size_t vm, size_t h)
{
	const double *req = p->vms[vm].req;
	double score = 0;

	if (p->pools[p->hosts[h].pool].policy == POLICY_SPREAD) {
		for (int d = 0; d < DIM_COUNT; d++) {
			double u = sched_state_usable(s, h, (enum sched_dim)d);
			double load = u > 0 ? (sched_state_used(
						       s, h, (enum sched_dim)d) +
					       req[d]) / u
					    : 0;

			if (load > score)
				score = load;
		}
		return score;
	}
	if (sched_state_nvms(s, h) == 0 ||
	    (sched_state_nvms(s, h) == 1 && sched_state_host_of(s, vm) == (int)h))
		return 2 + p->hosts[h].cost / (1 + p->hosts[h].cost);
	for (int d = 0; d < DIM_COUNT; d++) {
		double u = sched_state_usable(s, h, (enum sched_dim)d);

		if (u > 0)
			score += (sched_state_headroom(s, h, (enum sched_dim)d) -
				  req[d]) / u;
	}
	return score / DIM_COUNT;
}

int sched_place_one(struct sched_state *s, size_t vm, char *why,
		    size_t whysize)
{
	const struct sched_problem *p = sched_state_problem(s);
	struct why_acc a = {.cap_pool = -1, .ded_tenant = -1, .aff_host = -1,
			    .tag = -1};
	double best_score = INFINITY;
	int best = -1;

	for (size_t h = 0; h < p->nhosts; h++) {
		int detail;
		enum sched_reason code = sched_state_check_code(s, vm, h,
								&detail);
		double sc;

		if (code != SCHED_OK) {
			why_count(&a, p, h, code, detail);
			continue;
		}
		sc = host_score(s, p, vm, h);
		if (sc < best_score) {
			best_score = sc;
			best = (int)h;
		}
	}
	if (best >= 0) {
		sched_state_assign(s, vm, (size_t)best);
		return best;
	}
	why_format(&a, s, vm, why, whysize);
	return -1;
}

/* ---- batch -------------------------------------------------------------- */

static double now_s(void)
{
	return (double)time_mono_ns() / 1e9;
}

struct hostvms {
	int *v;
	int n;
	int cap;
};

struct batch {
	struct sched_state *s;
	const struct sched_problem *p;
	bool *pinned;        /* per VM: assigned before the call */
	int *npinned;        /* per host: pinned VMs on it */
	double *w;           /* per VM: weight (value of its resources) */
	double price[DIM_COUNT];
	struct hostvms *hv;  /* per host: VMs on it */
	int *gfirst, *gnext; /* members of each group, by index order */
	double deadline;
	struct sched_result *r;
	double mip_seconds;
	bool no_room;        /* the baseline: no make_room() */
	double end;          /* make_room() stops here: the call's limit */
};

static int hv_add(struct hostvms *l, int vm)
{
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 8;
		int *nv = realloc(l->v, (size_t)cap * sizeof(*nv));

		if (nv == NULL)
			return err_set("out of memory");
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = vm;
	return 0;
}

static void hv_del(struct hostvms *l, int vm)
{
	for (int i = 0; i < l->n; i++) {
		if (l->v[i] == vm) {
			l->v[i] = l->v[--l->n];
			return;
		}
	}
}

static int b_assign(struct batch *b, size_t vm, size_t host)
{
	int cur = sched_state_host_of(b->s, vm);

	if (cur == (int)host)
		return 0;
	if (cur >= 0)
		hv_del(&b->hv[cur], (int)vm);
	sched_state_assign(b->s, vm, host);
	return hv_add(&b->hv[host], (int)vm);
}

static void b_unassign(struct batch *b, size_t vm)
{
	int cur = sched_state_host_of(b->s, vm);

	if (cur < 0)
		return;
	hv_del(&b->hv[cur], (int)vm);
	sched_state_unassign(b->s, vm);
}

static void batch_free(struct batch *b)
{
	if (b->hv != NULL) {
		for (size_t h = 0; h < b->p->nhosts; h++)
			free(b->hv[h].v);
	}
	free(b->hv);
	free(b->gfirst);
	free(b->gnext);
	free(b->pinned);
	free(b->npinned);
	free(b->w);
}

/* Prices per unit of each dimension: the LP duals when they say
 * something, else 1 / the average usable capacity. */
static void set_prices(struct batch *b, const struct sched_plan *pl)
{
	const struct sched_problem *p = b->p;
	double sum = 0, tot[DIM_COUNT] = {0};

	for (int d = 0; d < DIM_COUNT; d++)
		sum += pl->dual[d] > 0 ? pl->dual[d] : 0;
	for (size_t h = 0; h < p->nhosts; h++)
		for (int d = 0; d < DIM_COUNT; d++)
			tot[d] += sched_state_usable(b->s, h,
						     (enum sched_dim)d);
	for (int d = 0; d < DIM_COUNT; d++) {
		double norm = tot[d] > 0 ? (double)p->nhosts / tot[d] : 0;

		/* A small share of the size keeps VMs ordered in the
		 * dimensions the LP prices at 0. */
		b->price[d] = (sum > 0 ? (pl->dual[d] > 0 ? pl->dual[d] : 0)
				       : 0) +
			      1e-3 * norm * (sum > 0 ? sum : 1000);
	}
	for (size_t v = 0; v < p->nvms; v++) {
		b->w[v] = 0;
		for (int d = 0; d < DIM_COUNT; d++)
			b->w[v] += b->price[d] * p->vms[v].req[d];
	}
}

struct hkey {
	size_t h;
	double band;
	double eff;
};

static int hkey_cmp(const void *a, const void *b)
{
	const struct hkey *x = a, *y = b;

	if (x->band != y->band)
		return x->band < y->band ? -1 : 1;
	if (x->eff != y->eff)
		return x->eff < y->eff ? -1 : 1;
	return x->h < y->h ? -1 : x->h > y->h;
}

/* Hosts in the order to open them: running ones, then the LP's X_i = 1,
 * then by X_i, then by cost per priced unit of capacity; spread pools and
 * hosts that are not up last. */
static size_t *host_order(struct batch *b, const struct sched_plan *pl)
{
	const struct sched_problem *p = b->p;
	struct hkey *k = calloc(p->nhosts + 1, sizeof(*k));
	size_t *order = calloc(p->nhosts + 1, sizeof(*order));

	if (k == NULL || order == NULL) {
		free(k);
		free(order);
		err_set("out of memory");
		return NULL;
	}
	for (size_t h = 0; h < p->nhosts; h++) {
		double value = 0;

		for (int d = 0; d < DIM_COUNT; d++)
			value += b->price[d] *
				 sched_state_usable(b->s, h, (enum sched_dim)d);
		k[h].h = h;
		k[h].eff = value > 0 ? p->hosts[h].cost / value : INFINITY;
		if (p->hosts[h].state != HOST_UP)
			k[h].band = 9;
		else if (p->pools[p->hosts[h].pool].policy == POLICY_SPREAD)
			k[h].band = 8;
		else if (sched_state_nvms(b->s, h) > 0)
			k[h].band = 0;
		else if (pl->feasible && pl->x[h] > 1 - 1e-6)
			k[h].band = 1;
		else if (pl->feasible && pl->x[h] > 1e-9)
			k[h].band = 2 - pl->x[h];
		else
			k[h].band = 3;
	}
	qsort(k, p->nhosts, sizeof(*k), hkey_cmp);
	for (size_t h = 0; h < p->nhosts; h++)
		order[h] = k[h].h;
	free(k);
	return order;
}

/* VMs with equal sizes, tenant and tags (and no group) are one class: the
 * fill pass takes them by count. */
struct vclass {
	int *v;
	size_t n;     /* remaining: v[0 .. n) */
	double w;
	int rep;      /* a member */
};

static bool same_class(const struct sched_problem *p, size_t a, size_t b)
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

struct vkey {
	size_t v;
	double w;
};

static int vkey_cmp(const void *a, const void *b)
{
	const struct vkey *x = a, *y = b;

	if (x->w != y->w)
		return x->w > y->w ? -1 : 1;
	return x->v < y->v ? -1 : x->v > y->v;
}

/* Heaviest first; VMs of one class next to each other (qsort_r with the
 * problem as context). */
static int vkey_class_cmp(const void *a, const void *b, void *ctx)
{
	const struct sched_problem *p = ctx;
	const struct vkey *x = a, *y = b;
	const struct sched_vm *vx = &p->vms[x->v];
	const struct sched_vm *vy = &p->vms[y->v];

	if (x->w != y->w)
		return x->w > y->w ? -1 : 1;
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
	return x->v < y->v ? -1 : x->v > y->v;
}

/* Build classes of the VMs in waiting (sorted by weight, heaviest first). */
static int make_classes(struct batch *b, const size_t *waiting, size_t nwaiting,
			struct vclass **out, size_t *nout, int **store)
{
	const struct sched_problem *p = b->p;
	struct vkey *k = calloc(nwaiting + 1, sizeof(*k));
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
		k[i].v = waiting[i];
		k[i].w = b->w[waiting[i]];
	}
	qsort_r(k, nwaiting, sizeof(*k), vkey_class_cmp, (void *)p);
	/* Members of a class are now next to each other. */
	for (size_t i = 0; i < nwaiting; i++) {
		if (nc == 0 ||
		    !same_class(p, (size_t)c[nc - 1].rep, k[i].v)) {
			c[nc].w = k[i].w;
			c[nc].rep = (int)k[i].v;
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

		cl->v[cl->n++] = (int)k[i].v;
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

/* Weight of a VM's size against its alignment with the host's room in
 * the fill pass (tuned on gen problems of 100 to 10,000 hosts). */
#define FILL_SIZE_WEIGHT 3.0

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
 * dimension filling at the same pace, plus FILL_SIZE_WEIGHT times the
 * request's norm, which puts big VMs first; then a VM of that size that
 * passes every check. (A pure dot product, Panigrahy et al.'s vector
 * bin-packing rule, is dominated by size here and leaves hosts full in
 * one dimension and a fifth empty in another.) */
static int fill_hosts(struct batch *b, const size_t *order, size_t *waiting,
		      size_t nwaiting)
{
	const struct sched_problem *p = b->p;
	struct vclass *c = NULL;
	struct sizegroup *sg = NULL;
	size_t nc = 0, nsg = 0, left = nwaiting, *cblock = NULL, *cls_mem = NULL;
	int *mem = NULL;
	int ret = -1;

	if (nwaiting == 0)
		return 0;
	if (make_classes(b, waiting, nwaiting, &c, &nc, &mem) < 0)
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
					     FILL_SIZE_WEIGHT * sqrt(nr);
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
				if (b_assign(b, vm, h) < 0)
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
static int place_affinity_groups(struct batch *b, const size_t *order,
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
				if (b_assign(b, (size_t)m[k], h) < 0) {
					free(m);
					return -1;
				}
			}
			placed = k == n;
			while (!placed && k-- > 0)
				b_unassign(b, (size_t)m[k]);
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

static int place_avail_groups(struct batch *b, const size_t *order,
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

			if (!sched_state_compatible(b->s, first, h))
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
				if (b_assign(b, v, (size_t)best) < 0)
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

/* Try to empty host h by moving its VMs to other running hosts (tightest
 * fit first). All or nothing. */
static int try_close(struct batch *b, size_t h, const size_t *active,
		     size_t nactive, bool *closed)
{
	const struct sched_problem *p = b->p;
	struct hostvms *l = &b->hv[h];
	int n = l->n;
	int *moved = malloc(((size_t)n + 1) * sizeof(*moved));
	int *vms = malloc(((size_t)n + 1) * sizeof(*vms));
	int nm = 0;

	*closed = false;
	if (moved == NULL || vms == NULL) {
		free(moved);
		free(vms);
		return err_set("out of memory");
	}
	memcpy(vms, l->v, (size_t)n * sizeof(*vms));
	for (int i = 0; i < n; i++) {
		size_t vm = (size_t)vms[i];
		double best_sc = INFINITY;
		int best = -1;

		for (size_t k = 0; k < nactive; k++) {
			size_t t = active[k];
			double sc = 0;

			if (t == h || sched_state_nvms(b->s, t) == 0)
				continue;
			if (sched_state_check_code(b->s, vm, t, NULL) !=
			    SCHED_OK)
				continue;
			for (int d = 0; d < DIM_COUNT; d++)
				sc += b->price[d] *
				      (sched_state_headroom(b->s, t,
							    (enum sched_dim)d) -
				       p->vms[vm].req[d]);
			if (sc < best_sc) {
				best_sc = sc;
				best = (int)t;
			}
		}
		if (best < 0)
			break;
		if (b_assign(b, vm, (size_t)best) < 0)
			goto fail;
		moved[nm++] = (int)vm;
	}
	if (nm == n) {
		*closed = true;
	} else {
		/* Put them back: the host held them before. */
		for (int i = nm - 1; i >= 0; i--)
			if (b_assign(b, (size_t)moved[i], h) < 0)
				goto fail;
	}
	free(moved);
	free(vms);
	return 0;
fail:
	free(moved);
	free(vms);
	return -1;
}

struct akey {
	size_t h;
	double util;
};

static int akey_cmp(const void *a, const void *b)
{
	const struct akey *x = a, *y = b;

	if (x->util != y->util)
		return x->util < y->util ? -1 : 1;
	return x->h < y->h ? -1 : x->h > y->h;
}

/* Hosts a repack may touch: up, in a pack pool, without VMs of dedicated
 * tenants. */
static bool movable_host(const struct batch *b, size_t h)
{
	const struct sched_problem *p = b->p;
	const struct hostvms *l = &b->hv[h];

	if (p->hosts[h].state != HOST_UP ||
	    p->pools[p->hosts[h].pool].policy == POLICY_SPREAD)
		return false;
	for (int i = 0; i < l->n; i++) {
		const struct sched_vm *v = &p->vms[l->v[i]];

		if (p->tenants[v->tenant].isolation == ISOLATION_DEDICATED)
			return false;
	}
	return true;
}

/* A VM a repack may move: placed by this call, of a shared tenant,
 * outside groups or in an anti-affinity group without availability
 * target. The others stay where they are. */
static bool free_vm(const struct batch *b, int vm)
{
	const struct sched_vm *v = &b->p->vms[vm];
	const struct sched_group *g =
		v->group >= 0 ? &b->p->groups[v->group] : NULL;

	return !b->pinned[vm] &&
	       (g == NULL || (g->policy == GROUP_ANTI_AFFINITY &&
			      g->availability <= 0)) &&
	       b->p->tenants[v->tenant].isolation == ISOLATION_SHARED;
}

/* Running hosts by priced use per unit of cost, least useful first:
 * for a repack only movable ones, for closing any up host without
 * pinned VMs. */
static size_t active_hosts(struct batch *b, struct akey *k, size_t *active,
			   bool for_mip)
{
	const struct sched_problem *p = b->p;
	size_t n = 0;

	for (size_t h = 0; h < p->nhosts; h++) {
		double used = 0;

		if (sched_state_nvms(b->s, h) == 0)
			continue;
		/* Hosts of spread pools keep the balance they were given. */
		if (for_mip ? !movable_host(b, h)
			    : (b->npinned[h] > 0 ||
			       p->hosts[h].state != HOST_UP ||
			       p->pools[p->hosts[h].pool].policy ==
				       POLICY_SPREAD))
			continue;
		for (int d = 0; d < DIM_COUNT; d++)
			used += b->price[d] *
				sched_state_used(b->s, h, (enum sched_dim)d);
		k[n].h = h;
		k[n].util = p->hosts[h].cost > 0 ? used / p->hosts[h].cost
						 : INFINITY;
		n++;
	}
	qsort(k, n, sizeof(*k), akey_cmp);
	for (size_t i = 0; i < n; i++)
		active[i] = k[i].h;
	return n;
}

static int close_pass(struct batch *b, struct akey *k, size_t *active,
		      bool *progress)
{
	size_t n = active_hosts(b, k, active, false), nt = 0;
	size_t *targets = malloc((b->p->nhosts + 1) * sizeof(*targets));

	if (targets == NULL)
		return err_set("out of memory");
	for (size_t h = 0; h < b->p->nhosts; h++)
		if (sched_state_nvms(b->s, h) > 0)
			targets[nt++] = h;

	*progress = false;
	for (size_t i = 0; i < n && now_s() < b->deadline; i++) {
		bool closed;

		if (sched_state_nvms(b->s, active[i]) == 0)
			continue;
		if (try_close(b, active[i], targets, nt, &closed) < 0) {
			free(targets);
			return -1;
		}
		if (closed) {
			b->r->closed++;
			*progress = true;
		}
	}
	free(targets);
	return 0;
}

/* Move every VM of a running host onto one empty host that costs less,
 * most expensive hosts first. */
static int swap_pass(struct batch *b, const size_t *order, bool *progress)
{
	const struct sched_problem *p = b->p;
	size_t *run = malloc((p->nhosts + 1) * sizeof(*run)), nrun = 0;
	int *vms = NULL;
	int ret = -1;

	*progress = false;
	if (run == NULL)
		return err_set("out of memory");
	for (size_t i = p->nhosts; i-- > 0;) {
		size_t h = order[i];

		if (sched_state_nvms(b->s, h) > 0 && b->npinned[h] == 0 &&
		    p->hosts[h].state == HOST_UP &&
		    p->pools[p->hosts[h].pool].policy == POLICY_PACK)
			run[nrun++] = h;
	}
	for (size_t i = 0; i < nrun && now_s() < b->deadline; i++) {
		size_t h = run[i], tried = 0;
		int n = b->hv[h].n;

		if (n == 0)
			continue;
		free(vms);
		vms = malloc(((size_t)n + 1) * sizeof(*vms));
		if (vms == NULL) {
			err_set("out of memory");
			goto out;
		}
		memcpy(vms, b->hv[h].v, (size_t)n * sizeof(*vms));
		for (size_t oi = 0; oi < p->nhosts && tried < 8; oi++) {
			size_t e = order[oi];
			int k;

			if (sched_state_nvms(b->s, e) != 0 ||
			    p->hosts[e].pool != p->hosts[h].pool ||
			    p->hosts[e].state != HOST_UP ||
			    p->hosts[e].cost >= p->hosts[h].cost - 1e-9)
				continue;
			tried++;
			for (k = 0; k < n; k++) {
				if (sched_state_check_code(b->s, (size_t)vms[k],
							   e, NULL) != SCHED_OK)
					break;
				if (b_assign(b, (size_t)vms[k], e) < 0)
					goto out;
			}
			if (k == n) {
				*progress = true;
				break;
			}
			while (k-- > 0)
				if (b_assign(b, (size_t)vms[k], h) < 0)
					goto out;
		}
	}
	ret = 0;
out:
	free(vms);
	free(run);
	return ret;
}

/* ---- neighbourhood MIP -------------------------------------------------- */

#define NB_HOSTS 8
#define NB_EMPTY 2

struct nclass {
	int *v;
	int n;
};

static int grow_nz(int **ia, int **ja, double **ar, size_t *cap)
{
	size_t nc = *cap * 2 + 64;
	int *nia = realloc(*ia, (nc + 1) * sizeof(**ia));
	int *nja;
	double *nar;

	if (nia == NULL)
		return -1;
	*ia = nia;
	nja = realloc(*ja, (nc + 1) * sizeof(**ja));
	if (nja == NULL)
		return -1;
	*ja = nja;
	nar = realloc(*ar, (nc + 1) * sizeof(**ar));
	if (nar == NULL)
		return -1;
	*ar = nar;
	*cap = nc;
	return 0;
}

/* Repack the VMs of the hosts nb[0 .. nn) at least cost with one MIP over
 * classes of equal VMs. *gain gets the cost saved (0: unchanged). */
static int repack(struct batch *b, const size_t *nb, size_t nn, double *gain)
{
	const struct sched_problem *p = b->p;
	struct nclass *cls = NULL;
	int ncls = 0, nvm = 0, *all = NULL, *orig = NULL;
	int *ia = NULL, *ja = NULL;
	double *ar = NULL, before = 0;
	glp_prob *mip = NULL;
	glp_iocp parm;
	size_t nz_cap = 0;
	int ret = -1, nz = 0, ncols, row;

	*gain = 0;
	for (size_t j = 0; j < nn; j++) {
		for (int i = 0; i < b->hv[nb[j]].n; i++)
			nvm += free_vm(b, b->hv[nb[j]].v[i]);
		if (sched_state_nvms(b->s, nb[j]) > 0)
			before += p->hosts[nb[j]].cost;
	}
	if (nvm == 0)
		return 0;
	all = malloc((size_t)nvm * sizeof(*all));
	orig = malloc((size_t)nvm * sizeof(*orig));
	cls = calloc((size_t)nvm, sizeof(*cls));
	if (all == NULL || orig == NULL || cls == NULL)
		goto oom;
	nvm = 0;
	for (size_t j = 0; j < nn; j++)
		for (int i = 0; i < b->hv[nb[j]].n; i++) {
			if (!free_vm(b, b->hv[nb[j]].v[i]))
				continue;
			orig[nvm] = (int)nb[j];
			all[nvm++] = b->hv[nb[j]].v[i];
		}
	/* Classes: VMs of a class are contiguous in a sorted copy. */
	for (int i = 0; i < nvm; i++) {
		int c;

		for (c = 0; c < ncls; c++)
			if (same_class(p, (size_t)cls[c].v[0], (size_t)all[i]))
				break;
		if (c == ncls) {
			cls[c].v = malloc((size_t)nvm * sizeof(int));
			if (cls[c].v == NULL)
				goto oom;
			ncls++;
		}
		cls[c].v[cls[c].n++] = all[i];
	}
	ncols = ncls * (int)nn + (int)nn;
	nz_cap = (size_t)ncols * (DIM_COUNT + 1) + 1;
	ia = malloc((nz_cap + 1) * sizeof(*ia));
	ja = malloc((nz_cap + 1) * sizeof(*ja));
	ar = malloc((nz_cap + 1) * sizeof(*ar));
	if (ia == NULL || ja == NULL || ar == NULL)
		goto oom;
	mip = glp_create_prob();
	glp_set_obj_dir(mip, GLP_MIN);
	glp_add_cols(mip, ncols);
	/* Columns: n[c][j] = 1 + c * nn + j; y[j] = 1 + ncls * nn + j. */
	for (int c = 0; c < ncls; c++) {
		for (size_t j = 0; j < nn; j++) {
			int col = 1 + c * (int)nn + (int)j;

			glp_set_col_kind(mip, col, GLP_IV);
			if (sched_state_compatible(b->s, (size_t)cls[c].v[0],
						   nb[j]))
				glp_set_col_bnds(mip, col, GLP_DB, 0,
						 cls[c].n);
			else
				glp_set_col_bnds(mip, col, GLP_FX, 0, 0);
		}
	}
	for (size_t j = 0; j < nn; j++) {
		int col = 1 + ncls * (int)nn + (int)j;

		glp_set_col_kind(mip, col, GLP_BV);
		glp_set_obj_coef(mip, col, p->hosts[nb[j]].cost);
		/* A host keeping VMs that do not move stays on. */
		if (sched_state_nvms(b->s, nb[j]) > 0) {
			bool keeps = false;

			for (int i = 0; i < b->hv[nb[j]].n && !keeps; i++)
				keeps = !free_vm(b, b->hv[nb[j]].v[i]);
			if (keeps)
				glp_set_col_bnds(mip, col, GLP_FX, 1, 1);
		}
	}
	/* Rows: every VM of a class placed; capacity per host and dim. */
	glp_add_rows(mip, ncls + (int)nn * DIM_COUNT);
	row = 0;
	for (int c = 0; c < ncls; c++) {
		row++;
		glp_set_row_bnds(mip, row, GLP_FX, cls[c].n, cls[c].n);
		for (size_t j = 0; j < nn; j++) {
			nz++;
			ia[nz] = row;
			ja[nz] = 1 + c * (int)nn + (int)j;
			ar[nz] = 1;
		}
	}
	for (size_t j = 0; j < nn; j++) {
		for (int d = 0; d < DIM_COUNT; d++) {
			/* Room for the moving VMs: usable capacity less
			 * what the VMs that stay use. */
			double cap = sched_state_headroom(b->s, nb[j],
							  (enum sched_dim)d);

			for (int i = 0; i < b->hv[nb[j]].n; i++)
				if (free_vm(b, b->hv[nb[j]].v[i]))
					cap += p->vms[b->hv[nb[j]].v[i]].req[d];
			if (cap < 0)
				cap = 0;

			row++;
			glp_set_row_bnds(mip, row, GLP_UP, 0, 0);
			for (int c = 0; c < ncls; c++) {
				double r = p->vms[cls[c].v[0]].req[d];

				if (r <= 0)
					continue;
				nz++;
				ia[nz] = row;
				ja[nz] = 1 + c * (int)nn + (int)j;
				ar[nz] = r;
			}
			nz++;
			ia[nz] = row;
			ja[nz] = 1 + ncls * (int)nn + (int)j;
			ar[nz] = -cap * (1 + 1e-10);
		}
	}
	/* Anti-affinity: members of one group (singleton classes) at most
	 * one per host, none where a member that stays already is. */
	for (int c = 0; c < ncls; c++) {
		int g = p->vms[cls[c].v[0]].group;
		bool first = true;

		if (g < 0)
			continue;
		for (int c2 = 0; c2 < c; c2++)
			if (p->vms[cls[c2].v[0]].group == g)
				first = false;
		if (!first)
			continue;
		for (size_t j = 0; j < nn; j++) {
			int stay = 0;

			for (int i = 0; i < b->hv[nb[j]].n; i++) {
				int w = b->hv[nb[j]].v[i];

				if (p->vms[w].group == g && !free_vm(b, w))
					stay++;
			}
			glp_add_rows(mip, 1);
			row++;
			glp_set_row_bnds(mip, row, GLP_UP, 0, stay ? 0 : 1);
			for (int c2 = c; c2 < ncls; c2++) {
				if (p->vms[cls[c2].v[0]].group != g)
					continue;
				if ((size_t)nz + 1 >= nz_cap && grow_nz(&ia, &ja, &ar, &nz_cap) < 0)
					goto oom;
				nz++;
				ia[nz] = row;
				ja[nz] = 1 + c2 * (int)nn + (int)j;
				ar[nz] = 1;
			}
		}
	}
	glp_load_matrix(mip, nz, ia, ja, ar);
	glp_init_iocp(&parm);
	parm.msg_lev = GLP_MSG_OFF;
	parm.presolve = GLP_ON;
	{
		/* Never past the deadline of the whole call. */
		double left = b->deadline - now_s();
		double lim = b->mip_seconds < left ? b->mip_seconds : left;

		parm.tm_lim = (int)(lim * 1000);
		if (parm.tm_lim < 1)
			parm.tm_lim = 1;
	}
	b->r->mips++;
	{
		int rc = glp_intopt(mip, &parm);
		int st = glp_mip_status(mip);

		if ((rc != 0 && rc != GLP_ETMLIM) ||
		    (st != GLP_OPT && st != GLP_FEAS)) {
			ret = 0; /* nothing better found: keep the packing */
			goto out;
		}
	}
	if (glp_mip_obj_val(mip) > before - 1e-9) {
		ret = 0;
		goto out;
	}
	/* Apply: take them all off, then put them back by the counts. */
	for (int i = 0; i < nvm; i++)
		b_unassign(b, (size_t)all[i]);
	for (int c = 0; c < ncls; c++) {
		int k = 0;

		for (size_t j = 0; j < nn; j++) {
			int cnt = (int)lround(glp_mip_col_val(
				mip, 1 + c * (int)nn + (int)j));

			for (int m = 0; m < cnt && k < cls[c].n; m++, k++) {
				size_t vm = (size_t)cls[c].v[k];

				if (sched_state_check_code(b->s, vm, nb[j],
							   NULL) != SCHED_OK)
					goto undo;
				if (b_assign(b, vm, nb[j]) < 0)
					goto out;
			}
		}
		if (k != cls[c].n)
			goto undo;
	}
	*gain = before;
	for (size_t j = 0; j < nn; j++)
		if (sched_state_nvms(b->s, nb[j]) > 0)
			*gain -= p->hosts[nb[j]].cost;
	b->r->mip_gains++;
	ret = 0;
	goto out;
undo:
	/* The solution did not hold (rounding): restore the old packing. */
	for (int i = 0; i < nvm; i++)
		b_unassign(b, (size_t)all[i]);
	for (int i = 0; i < nvm; i++)
		if (b_assign(b, (size_t)all[i], (size_t)orig[i]) < 0)
			goto out;
	ret = 0;
	goto out;
oom:
	err_set("out of memory");
out:
	if (mip != NULL)
		glp_delete_prob(mip);
	for (int c = 0; cls != NULL && c < ncls; c++)
		free(cls[c].v);
	free(cls);
	free(all);
	free(orig);
	free(ia);
	free(ja);
	free(ar);
	return ret;
}

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

struct nbkey {
	size_t h;
	double spare;
};

static int nbkey_cmp(const void *a, const void *b)
{
	const struct nbkey *x = a, *y = b;

	if (x->spare != y->spare)
		return x->spare > y->spare ? -1 : 1;
	return x->h < y->h ? -1 : x->h > y->h;
}

/* One round of neighbourhood MIPs: each running movable host (least
 * useful first) with the running hosts that have most room and the
 * cheapest empty hosts. */
static int mip_round(struct batch *b, const size_t *order, struct akey *k,
		     size_t *active, uint64_t *rng, bool *progress)
{
	const struct sched_problem *p = b->p;
	size_t n = active_hosts(b, k, active, true);
	struct nbkey *sp = calloc(n + 1, sizeof(*sp));
	size_t *empty = calloc(NB_EMPTY * p->npools + 1, sizeof(*empty));
	size_t nempty = 0;
	int ret = -1;

	*progress = false;
	if (sp == NULL || empty == NULL) {
		free(sp);
		free(empty);
		return err_set("out of memory");
	}
	/* The first empty hosts of each pool in the opening order. */
	for (size_t i = 0; i < p->nhosts; i++) {
		size_t h = order[i], pl = (size_t)p->hosts[h].pool, cnt = 0;

		if (sched_state_nvms(b->s, h) != 0 || !movable_host(b, h))
			continue;
		for (size_t e = 0; e < nempty; e++)
			cnt += (size_t)p->hosts[empty[e]].pool == pl;
		if (cnt < NB_EMPTY)
			empty[nempty++] = h;
	}
	for (size_t i = 0; i < n; i++) {
		sp[i].h = active[i];
		sp[i].spare = 0;
		for (int d = 0; d < DIM_COUNT; d++)
			sp[i].spare +=
				b->price[d] *
				sched_state_headroom(b->s, active[i],
						     (enum sched_dim)d);
	}
	qsort(sp, n, sizeof(*sp), nbkey_cmp);
	for (size_t i = 0; i < n && now_s() < b->deadline; i++) {
		size_t nb[NB_HOSTS + NB_EMPTY], nn = 0, pool;
		size_t span = n < 3 * NB_HOSTS ? n : 3 * NB_HOSTS;
		double gain;

		if (sched_state_nvms(b->s, active[i]) == 0)
			continue;
		nb[nn++] = active[i];
		pool = (size_t)p->hosts[active[i]].pool;
		/* Companions: random picks among the roomiest hosts. */
		for (size_t tries = 0; tries < 4 * NB_HOSTS && nn < NB_HOSTS;
		     tries++) {
			size_t h = sp[rng_next(rng) % (span ? span : 1)].h;
			bool dup = false;

			if (span == 0)
				break;
			for (size_t j = 0; j < nn; j++)
				dup = dup || nb[j] == h;
			if (!dup && sched_state_nvms(b->s, h) > 0 &&
			    (size_t)p->hosts[h].pool == pool)
				nb[nn++] = h;
		}
		for (size_t e = 0; e < nempty && nn < NB_HOSTS + NB_EMPTY; e++)
			if ((size_t)p->hosts[empty[e]].pool == pool &&
			    sched_state_nvms(b->s, empty[e]) == 0)
				nb[nn++] = empty[e];
		if (nn < 2)
			continue;
		if (repack(b, nb, nn, &gain) < 0)
			goto out;
		if (gain > 1e-9)
			*progress = true;
	}
	ret = 0;
out:
	free(sp);
	free(empty);
	return ret;
}

/* Problems (or pools) small enough for one MIP over all their hosts are
 * repacked whole: the neighbourhood is everything, so VMs may also change
 * pools. */
#define WHOLE_HOSTS 24

static int whole_pools(struct batch *b)
{
	const struct sched_problem *p = b->p;
	size_t *nb = calloc(WHOLE_HOSTS + 1, sizeof(*nb));
	double keep = b->mip_seconds;
	int ret = -1;

	if (nb == NULL)
		return err_set("out of memory");
	/* pl == npools: every pool at once. */
	for (size_t pl = p->npools + 1; pl-- > 0;) {
		size_t nn = 0, all = 0;
		double gain, left = b->deadline - now_s();

		for (size_t h = 0; h < p->nhosts; h++) {
			if (pl < p->npools && (size_t)p->hosts[h].pool != pl)
				continue;
			all++;
			if (movable_host(b, h) && nn < WHOLE_HOSTS)
				nb[nn++] = h;
		}
		if (nn < 2 || all > WHOLE_HOSTS || left <= 0)
			continue;
		b->mip_seconds = left / 2;
		if (repack(b, nb, nn, &gain) < 0)
			goto out;
		if (pl == p->npools)
			break; /* the whole problem was repacked */
	}
	ret = 0;
out:
	b->mip_seconds = keep;
	free(nb);
	return ret;
}

void sched_result_free(struct sched_result *r)
{
	if (r == NULL)
		return;
	if (r->reason != NULL)
		for (size_t i = 0; i < r->nreason; i++)
			free(r->reason[i]);
	free(r->reason);
	r->reason = NULL;
}

static int batch_init(struct batch *b, struct sched_state *s,
		      struct sched_result *r)
{
	const struct sched_problem *p = sched_state_problem(s);

	memset(b, 0, sizeof(*b));
	memset(r, 0, sizeof(*r));
	b->s = s;
	b->p = p;
	b->r = r;
	b->pinned = calloc(p->nvms + 1, sizeof(*b->pinned));
	b->npinned = calloc(p->nhosts + 1, sizeof(*b->npinned));
	b->w = calloc(p->nvms + 1, sizeof(*b->w));
	b->hv = calloc(p->nhosts + 1, sizeof(*b->hv));
	r->reason = calloc(p->nvms + 1, sizeof(*r->reason));
	r->nreason = p->nvms;
	b->gfirst = malloc((p->ngroups + 1) * sizeof(*b->gfirst));
	b->gnext = malloc((p->nvms + 1) * sizeof(*b->gnext));
	if (b->pinned == NULL || b->npinned == NULL || b->w == NULL ||
	    b->hv == NULL || r->reason == NULL || b->gfirst == NULL ||
	    b->gnext == NULL)
		return err_set("out of memory for placing %zu vms", p->nvms);
	for (size_t g = 0; g < p->ngroups; g++)
		b->gfirst[g] = -1;
	for (size_t v = p->nvms; v-- > 0;) {
		int g = p->vms[v].group;

		b->gnext[v] = g >= 0 ? b->gfirst[g] : -1;
		if (g >= 0)
			b->gfirst[g] = (int)v;
	}
	for (size_t v = 0; v < p->nvms; v++) {
		int h = sched_state_host_of(s, v);

		if (h < 0)
			continue;
		b->pinned[v] = true;
		b->npinned[h]++;
		if (hv_add(&b->hv[h], (int)v) < 0)
			return -1;
	}
	return 0;
}

/* Make room for vm on a host it could use by moving VMs placed by this
 * call elsewhere (each to its best host by the single-VM score), then put
 * vm there. All or nothing per host; at most `tries` hosts are tried. */
static int make_room(struct batch *b, size_t vm, size_t tries, bool *done)
{
	const struct sched_problem *p = b->p;
	int *moved = NULL, *from = NULL;
	int ret = -1;

	*done = false;
	for (size_t h = 0; h < p->nhosts && tries > 0 && !*done; h++) {
		struct hostvms *l = &b->hv[h];
		int n = l->n, nm = 0;
		int *vms;

		if (now_s() > b->end)
			break;
		if (!sched_state_compatible(b->s, vm, h) || n == 0)
			continue;
		tries--;
		vms = malloc(((size_t)n + 1) * sizeof(*vms));
		moved = realloc(moved, ((size_t)n + 1) * sizeof(*moved));
		from = realloc(from, ((size_t)n + 1) * sizeof(*from));
		if (vms == NULL || moved == NULL || from == NULL) {
			free(vms);
			err_set("out of memory");
			goto out;
		}
		memcpy(vms, l->v, (size_t)n * sizeof(*vms));
		for (int i = 0; i < n; i++) {
			size_t w = (size_t)vms[i];
			double best_sc = INFINITY;
			int best = -1;

			if (b->pinned[w])
				continue;
			for (size_t t = 0; t < p->nhosts; t++) {
				double sc;

				if (t == h || sched_state_check_code(
						      b->s, w, t, NULL) != SCHED_OK)
					continue;
				sc = host_score(b->s, p, w, t);
				if (sc < best_sc) {
					best_sc = sc;
					best = (int)t;
				}
			}
			if (best < 0)
				continue;
			if (b_assign(b, w, (size_t)best) < 0) {
				free(vms);
				goto out;
			}
			moved[nm] = (int)w;
			from[nm++] = (int)h;
			if (sched_state_check_code(b->s, vm, h, NULL) ==
			    SCHED_OK) {
				if (b_assign(b, vm, h) < 0) {
					free(vms);
					goto out;
				}
				*done = true;
				break;
			}
		}
		free(vms);
		/* Not enough: put back what moved. */
		while (!*done && nm-- > 0)
			if (b_assign(b, (size_t)moved[nm], (size_t)from[nm]) < 0)
				goto out;
	}
	ret = 0;
out:
	free(moved);
	free(from);
	return ret;
}

/* Place what is left one by one; record why the rest cannot go. */
static int finish(struct batch *b, double t0)
{
	const struct sched_problem *p = b->p;
	struct sched_result *r = b->r;
	char why[WHY_MAX];

	for (size_t v = 0; v < p->nvms; v++) {
		int h;

		if (sched_state_host_of(b->s, v) >= 0 || r->reason[v] != NULL)
			continue;
		h = sched_place_one(b->s, v, why, sizeof(why));
		if (h >= 0) {
			sched_state_unassign(b->s, v);
			if (b_assign(b, v, (size_t)h) < 0)
				return -1;
			continue;
		}
		if (!b->no_room) {
			bool done;

			if (make_room(b, v, 16, &done) < 0)
				return -1;
			if (done)
				continue;
		}
		r->reason[v] = strdup(why);
		if (r->reason[v] == NULL)
			return err_set("out of memory");
	}
	r->placed = r->unplaced = 0;
	for (size_t v = 0; v < p->nvms; v++) {
		if (b->pinned[v])
			continue;
		if (sched_state_host_of(b->s, v) >= 0) {
			r->placed++;
			free(r->reason[v]);
			r->reason[v] = NULL;
		} else {
			r->unplaced++;
		}
	}
	r->cost = sched_state_cost(b->s);
	r->seconds = now_s() - t0;
	return 0;
}

/* The bound for the VMs placed by the call (pinned ones stay pinned). */
static int final_bound(struct batch *b, const struct sched_plan *first)
{
	const struct sched_problem *p = b->p;
	struct sched_result *r = b->r;
	struct sched_state *orig = NULL;
	struct sched_plan pl;
	bool *mask = NULL;
	int ret = -1;

	if (r->unplaced == 0 && first != NULL && first->feasible) {
		r->lower_bound = first->cost;
	} else {
		orig = sched_state_new(p);
		mask = calloc(p->nvms + 1, sizeof(*mask));
		if (orig == NULL || mask == NULL) {
			err_set("out of memory");
			goto out;
		}
		for (size_t v = 0; v < p->nvms; v++)
			mask[v] = !b->pinned[v] &&
				  sched_state_host_of(b->s, v) >= 0;
		if (sched_plan_lp_subset(orig, PLAN_PINNED, mask, &pl) < 0)
			goto out;
		r->lower_bound = pl.cost;
		sched_plan_free(&pl);
	}
	r->gap = r->lower_bound > 0 ? r->cost / r->lower_bound - 1 : 0;
	ret = 0;
out:
	sched_state_free(orig);
	free(mask);
	return ret;
}

int sched_place_all(struct sched_state *s, const struct sched_place_opts *o,
		    struct sched_result *r)
{
	const struct sched_problem *p = sched_state_problem(s);
	struct sched_place_opts dflt = {0};
	struct batch b;
	struct sched_plan pl = {0};
	size_t *order = NULL, *waiting = NULL, nwaiting = 0, *active = NULL;
	struct akey *ak = NULL;
	double t0 = now_s();
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	char why[WHY_MAX];
	int ret = -1;

	if (o == NULL)
		o = &dflt;
	if (batch_init(&b, s, r) < 0)
		goto out;
	/* Improvement stops a little early so that finishing (reasons, the
	 * bound) stays within the limit. */
	b.deadline = t0 + 0.95 * (o->time_limit > 0 ? o->time_limit : 1.0);
	b.end = t0 + (o->time_limit > 0 ? o->time_limit : 1.0);
	b.mip_seconds = o->mip_seconds > 0 ? o->mip_seconds : 0.05;
	if (sched_plan_lp(s, PLAN_PINNED, &pl) < 0)
		goto out;
	set_prices(&b, &pl);
	order = host_order(&b, &pl);
	waiting = calloc(p->nvms + 1, sizeof(*waiting));
	active = calloc(p->nhosts + 1, sizeof(*active));
	ak = calloc(p->nhosts + 1, sizeof(*ak));
	if (order == NULL || waiting == NULL || active == NULL || ak == NULL)
		goto oom;

	/* VMs that may only use spread pools (one by one, least loaded),
	 * the groups with an availability target (each member on the first
	 * host in the opening order from where the target stays reachable),
	 * then the rest in one fill pass. */
	{
		struct vkey *k = calloc(p->nvms + 1, sizeof(*k));
		size_t nk = 0;

		if (k == NULL)
			goto oom;
		for (size_t v = 0; v < p->nvms; v++) {
			const struct sched_tenant *t =
				&p->tenants[p->vms[v].tenant];
			bool spread_only = true;

			if (sched_state_host_of(s, v) >= 0 ||
			    r->reason[v] != NULL ||
			    (p->vms[v].group >= 0 &&
			     p->groups[p->vms[v].group].availability > 0))
				continue;
			for (size_t i = 0; i < p->npools && spread_only; i++) {
				bool allowed = t->npools == 0;

				for (size_t j = 0; j < t->npools; j++)
					allowed = allowed ||
						  t->pools[j] == (int)i;
				if (allowed &&
				    p->pools[i].policy == POLICY_PACK)
					spread_only = false;
			}
			if (!spread_only) {
				waiting[nwaiting++] = v;
				continue;
			}
			k[nk].v = v;
			k[nk].w = b.w[v];
			nk++;
		}
		qsort(k, nk, sizeof(*k), vkey_cmp);
		for (size_t i = 0; i < nk; i++) {
			int h = sched_place_one(s, k[i].v, why, sizeof(why));

			if (h >= 0) {
				sched_state_unassign(s, k[i].v);
				if (b_assign(&b, k[i].v, (size_t)h) < 0) {
					free(k);
					goto out;
				}
			}
		}
		free(k);
	}
	if (place_affinity_groups(&b, order, r->reason) < 0 ||
	    place_avail_groups(&b, order, r->reason) < 0)
		goto out;
	/* What the group passes placed leaves the fill pass. */
	{
		size_t k = 0;

		for (size_t i = 0; i < nwaiting; i++)
			if (sched_state_host_of(s, waiting[i]) < 0 &&
			    r->reason[waiting[i]] == NULL)
				waiting[k++] = waiting[i];
		nwaiting = k;
	}
	if (fill_hosts(&b, order, waiting, nwaiting) < 0)
		goto out;
	r->constructive_cost = sched_state_cost(s);

	if (!o->no_improve && whole_pools(&b) < 0)
		goto out;
	if (!o->no_improve) {
		bool progress = true;

		while (progress && now_s() < b.deadline) {
			bool p1 = false, p2 = false, p3 = false;

			if (close_pass(&b, ak, active, &p1) < 0 ||
			    swap_pass(&b, order, &p3) < 0 ||
			    mip_round(&b, order, ak, active, &rng, &p2) < 0)
				goto out;
			progress = p1 || p2 || p3;
		}
	}
	if (finish(&b, t0) < 0 || final_bound(&b, &pl) < 0)
		goto out;
	r->seconds = now_s() - t0;
	ret = 0;
	goto out;
oom:
	err_set("out of memory for placing %zu vms", p->nvms);
out:
	sched_plan_free(&pl);
	batch_free(&b);
	free(order);
	free(waiting);
	free(active);
	free(ak);
	if (ret < 0)
		sched_result_free(r);
	return ret;
}

/* ---- baseline: cost-aware first-fit decreasing -------------------------- */

int sched_place_ffd(struct sched_state *s, struct sched_result *r)
{
	const struct sched_problem *p = sched_state_problem(s);
	struct batch b;
	struct hkey *hk = NULL;
	size_t *waiting = NULL, nwaiting = 0;
	struct vclass *c = NULL;
	size_t nc = 0;
	int *mem = NULL;
	double t0 = now_s(), tot[DIM_COUNT] = {0};
	int ret = -1;

	if (batch_init(&b, s, r) < 0)
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
	qsort(hk, p->nhosts, sizeof(*hk), hkey_cmp);
	for (size_t v = 0; v < p->nvms; v++)
		if (sched_state_host_of(s, v) < 0)
			waiting[nwaiting++] = v;
	if (make_classes(&b, waiting, nwaiting, &c, &nc, &mem) < 0)
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
			if (b_assign(&b, vm, hk[i].h) < 0)
				goto out;
			c[j].n--;
			start = i;
		}
	}
	if (finish(&b, t0) < 0 || final_bound(&b, NULL) < 0)
		goto out;
	r->constructive_cost = r->cost;
	r->seconds = now_s() - t0;
	ret = 0;
	goto out;
oom:
	err_set("out of memory");
out:
	batch_free(&b);
	free(hk);
	free(waiting);
	free(c);
	free(mem);
	if (ret < 0)
		sched_result_free(r);
	return ret;
}

/* ---- exact MIP ---------------------------------------------------------- */

int sched_place_exact(struct sched_state *s, double time_limit,
		      double *cost, bool *optimal)
{
	const struct sched_problem *p = sched_state_problem(s);
	size_t nh = p->nhosts, nv = p->nvms;
	int *xcol = NULL, *ia = NULL, *ja = NULL;
	double *ar = NULL;
	glp_prob *mip = NULL;
	glp_iocp parm;
	int ncols = 0, nz = 0, row = 0, ret = -1, rc, st;
	double big = 0;
	size_t cap_nz;

	for (size_t t = 0; t < p->ntenants; t++)
		if (p->tenants[t].isolation == ISOLATION_DEDICATED)
			return err_set("exact solve: tenant '%s' is dedicated: "
				       "the exact model supports shared "
				       "tenants only",
				       p->tenants[t].name);
	for (size_t g = 0; g < p->ngroups; g++)
		if (p->groups[g].policy == GROUP_AFFINITY ||
		    p->groups[g].availability > 0)
			return err_set("exact solve: group '%s' is an affinity "
				       "group or has an availability target: "
				       "the exact model supports "
				       "anti-affinity only",
				       p->groups[g].name);
	if (nh * nv > 200000)
		return err_set("exact solve: %zu hosts x %zu vms is too big "
			       "for one MIP",
			       nh, nv);
	xcol = calloc(nh * nv + 1, sizeof(*xcol));
	cap_nz = nh * nv * (DIM_COUNT + 2) + nh * DIM_COUNT + nv + 1;
	ia = malloc(cap_nz * sizeof(*ia));
	ja = malloc(cap_nz * sizeof(*ja));
	ar = malloc(cap_nz * sizeof(*ar));
	if (xcol == NULL || ia == NULL || ja == NULL || ar == NULL) {
		err_set("out of memory");
		goto out;
	}
	mip = glp_create_prob();
	glp_set_obj_dir(mip, GLP_MIN);
	/* y_j: columns 1 .. nh. */
	glp_add_cols(mip, (int)nh);
	for (size_t j = 0; j < nh; j++) {
		glp_set_col_kind(mip, (int)j + 1, GLP_BV);
		glp_set_obj_coef(mip, (int)j + 1, p->hosts[j].cost);
		if (sched_state_nvms(s, j) > 0)
			glp_set_col_bnds(mip, (int)j + 1, GLP_FX, 1, 1);
	}
	ncols = (int)nh;
	for (size_t v = 0; v < nv; v++) {
		if (sched_state_host_of(s, v) >= 0)
			continue;
		for (size_t j = 0; j < nh; j++) {
			if (!sched_state_compatible(s, v, j))
				continue;
			glp_add_cols(mip, 1);
			xcol[v * nh + j] = ++ncols;
			glp_set_col_kind(mip, ncols, GLP_BV);
		}
	}
	/* A VM may stay out (slack u_v), at a price above every host's
	 * cost together: the most VMs are placed first, then at least
	 * cost, as sched_place_all() does. */
	for (size_t j = 0; j < nh; j++)
		big += p->hosts[j].cost;
	big = big * 2 + 1;
	for (size_t v = 0; v < nv; v++) {
		if (sched_state_host_of(s, v) >= 0)
			continue;
		glp_add_cols(mip, 1);
		glp_set_col_kind(mip, ++ncols, GLP_BV);
		glp_set_obj_coef(mip, ncols, big);
		glp_add_rows(mip, 1);
		glp_set_row_bnds(mip, ++row, GLP_FX, 1, 1);
		nz++;
		ia[nz] = row;
		ja[nz] = ncols;
		ar[nz] = 1;
		for (size_t j = 0; j < nh; j++) {
			if (xcol[v * nh + j] == 0)
				continue;
			nz++;
			ia[nz] = row;
			ja[nz] = xcol[v * nh + j];
			ar[nz] = 1;
		}
	}
	for (size_t j = 0; j < nh; j++) {
		for (int d = 0; d < DIM_COUNT; d++) {
			double room = sched_state_headroom(s, j,
							   (enum sched_dim)d);

			glp_add_rows(mip, 1);
			glp_set_row_bnds(mip, ++row, GLP_UP, 0, 0);
			for (size_t v = 0; v < nv; v++) {
				if (xcol[v * nh + j] == 0 ||
				    p->vms[v].req[d] <= 0)
					continue;
				nz++;
				ia[nz] = row;
				ja[nz] = xcol[v * nh + j];
				ar[nz] = p->vms[v].req[d];
			}
			nz++;
			ia[nz] = row;
			ja[nz] = (int)j + 1;
			ar[nz] = -(room > 0 ? room : 0) * (1 + 1e-12);
		}
	}
	/* Anti-affinity: at most one member per host (pinned ones count). */
	for (size_t g = 0; g < p->ngroups; g++) {
		for (size_t j = 0; j < nh; j++) {
			int here = 0, any = 0;

			for (size_t v = 0; v < nv; v++) {
				if (p->vms[v].group != (int)g)
					continue;
				if (sched_state_host_of(s, v) == (int)j)
					here++;
				if (xcol[v * nh + j] != 0)
					any++;
			}
			if (any == 0)
				continue;
			glp_add_rows(mip, 1);
			glp_set_row_bnds(mip, ++row, GLP_UP, 0,
					 here >= 1 ? 0 : 1);
			for (size_t v = 0; v < nv; v++) {
				if (p->vms[v].group != (int)g ||
				    xcol[v * nh + j] == 0)
					continue;
				if ((size_t)nz + 1 >= cap_nz)
					break;
				nz++;
				ia[nz] = row;
				ja[nz] = xcol[v * nh + j];
				ar[nz] = 1;
			}
		}
	}
	glp_load_matrix(mip, nz, ia, ja, ar);
	glp_init_iocp(&parm);
	parm.msg_lev = GLP_MSG_OFF;
	parm.presolve = GLP_ON;
	parm.tm_lim = (int)(time_limit * 1000);
	rc = glp_intopt(mip, &parm);
	st = glp_mip_status(mip);
	if (st != GLP_OPT && st != GLP_FEAS) {
		err_set("exact solve: no solution found (GLPK code %d, status "
			"%d)",
			rc, st);
		goto out;
	}
	*optimal = st == GLP_OPT && rc == 0;
	for (size_t v = 0; v < nv; v++) {
		if (sched_state_host_of(s, v) >= 0)
			continue;
		for (size_t j = 0; j < nh; j++)
			if (xcol[v * nh + j] != 0 &&
			    glp_mip_col_val(mip, xcol[v * nh + j]) > 0.5)
				sched_state_assign(s, v, j);
	}
	*cost = sched_state_cost(s);
	ret = 0;
out:
	if (mip != NULL)
		glp_delete_prob(mip);
	free(xcol);
	free(ia);
	free(ja);
	free(ar);
	return ret;
}

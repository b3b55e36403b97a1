/*
 * place_mip.c - the neighbourhood MIP improvement of sched_place_all():
 * a few hosts and their movable VMs repacked at least cost by one small
 * GLPK MIP over classes of equal VMs, within the call's work budget.
 */
#include <glpk.h>
#include <math.h>

#include "common/fc.h"

#include "common/err.h"
#include "scheduler/lpmat.h"
#include "scheduler/place_int.h"

#define NB_HOSTS 8
#define NB_EMPTY 2

struct nclass {
	int *v;
	int n;
};

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

/* The work a neighbourhood MIP may spend: cap units, counted by its
 * simplex iterations and nodes, so that where it stops does not depend on
 * the machine's speed (the call's wall-clock end stops it too). */
struct mip_limit {
	struct batch *b;
	uint64_t cap, spent, ncols;
};

static void mip_cb(glp_tree *t, void *info)
{
	struct mip_limit *l = info;
	int a, n, tot;

	glp_ios_tree_size(t, &a, &n, &tot);
	l->spent = WORK_PER_PIVOT * l->ncols *
		   ((uint64_t)glp_get_it_cnt(glp_ios_get_prob(t)) +
		    (uint64_t)tot);
	if (l->spent >= l->cap)
		glp_ios_terminate(t);
	else if (place_now() > l->b->end) {
		l->b->stop_time = true;
		glp_ios_terminate(t);
	}
}

/* Repack the VMs of the hosts nb[0 .. nn) at least cost with one MIP over
 * classes of equal VMs. *gain gets the cost saved (0: unchanged). */
static int repack(struct batch *b, const size_t *nb, size_t nn, double *gain)
{
	const struct sched_problem *p = b->p;
	struct nclass *cls = NULL;
	int ncls = 0, nvm = 0, *all = NULL, *orig = NULL;
	struct lpmat mat = {0};
	double before = 0;
	glp_prob *mip = NULL;
	glp_iocp parm;
	struct mip_limit lim = {0};
	int ret = -1, ncols, row;

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
	if (all == NULL || orig == NULL || cls == NULL) {
		err_set("out of memory");
		goto out;
	}
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
			if (place_same_class(p, (size_t)cls[c].v[0], (size_t)all[i]))
				break;
		if (c == ncls) {
			cls[c].v = malloc((size_t)nvm * sizeof(int));
			if (cls[c].v == NULL) {
				err_set("out of memory");
				goto out;
			}
			ncls++;
		}
		cls[c].v[cls[c].n++] = all[i];
	}
	ncols = ncls * (int)nn + (int)nn;
	if (lpmat_init(&mat, (size_t)ncols * (DIM_COUNT + 1) + 1) < 0)
		goto out;
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
			if (lpmat_add(&mat, row, 1 + c * (int)nn + (int)j,
				      1) < 0)
				goto out;
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
				if (lpmat_add(&mat, row,
					      1 + c * (int)nn + (int)j, r) < 0)
					goto out;
			}
			if (lpmat_add(&mat, row, 1 + ncls * (int)nn + (int)j,
				      -cap * (1 + 1e-10)) < 0)
				goto out;
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
				if (lpmat_add(&mat, row,
					      1 + c2 * (int)nn + (int)j, 1) < 0)
					goto out;
			}
		}
	}
	lpmat_load(&mat, mip);
	glp_init_iocp(&parm);
	parm.msg_lev = GLP_MSG_OFF;
	parm.presolve = GLP_ON;
	parm.cb_func = mip_cb;
	parm.cb_info = &lim;
	lim.b = b;
	lim.ncols = (uint64_t)ncols;
	lim.cap = b->mip_work < b->work_limit - b->work
			  ? b->mip_work
			  : b->work_limit - b->work;
	b->r->mips++;
	{
		int rc = glp_intopt(mip, &parm);
		int st = glp_mip_status(mip);

		b->work += lim.spent > 0 ? lim.spent
					 : WORK_PER_PIVOT * lim.ncols *
						   (uint64_t)glp_get_it_cnt(mip);
		if ((rc != 0 && rc != GLP_ESTOP) ||
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
		place_unassign(b, (size_t)all[i]);
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
				if (place_assign(b, vm, nb[j]) < 0)
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
		place_unassign(b, (size_t)all[i]);
	for (int i = 0; i < nvm; i++)
		if (place_assign(b, (size_t)all[i], (size_t)orig[i]) < 0)
			goto out;
	ret = 0;
out:
	if (mip != NULL)
		glp_delete_prob(mip);
	for (int c = 0; cls != NULL && c < ncls; c++)
		free(cls[c].v);
	free(cls);
	free(all);
	free(orig);
	lpmat_free(&mat);
	return ret;
}

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* One round of neighbourhood MIPs: each running movable host (least
 * useful first) with the running hosts that have most room and the
 * cheapest empty hosts. */
int place_mip_round(struct batch *b, const size_t *order, struct sched_rank *k,
		    size_t *active, uint64_t *rng, bool *progress)
{
	const struct sched_problem *p = b->p;
	size_t n = place_active_hosts(b, k, active, true);
	struct sched_rank *sp = calloc(n + 1, sizeof(*sp));
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

		if (sched_state_nvms(b->s, h) != 0 || !place_movable_host(b, h))
			continue;
		for (size_t e = 0; e < nempty; e++)
			cnt += (size_t)p->hosts[empty[e]].pool == pl;
		if (cnt < NB_EMPTY)
			empty[nempty++] = h;
	}
	for (size_t i = 0; i < n; i++) {
		sp[i].i = active[i];
		sp[i].key = 0;
		for (int d = 0; d < DIM_COUNT; d++)
			sp[i].key +=
				b->price[d] *
				sched_state_headroom(b->s, active[i],
						     (enum sched_dim)d);
	}
	qsort(sp, n, sizeof(*sp), sched_rank_desc);
	for (size_t i = 0; i < n && place_budget_left(b); i++) {
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
			size_t h = sp[rng_next(rng) % (span ? span : 1)].i;
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

int place_whole_pools(struct batch *b)
{
	const struct sched_problem *p = b->p;
	size_t *nb = calloc(WHOLE_HOSTS + 1, sizeof(*nb));
	uint64_t keep = b->mip_work;
	int ret = -1;

	if (nb == NULL)
		return err_set("out of memory");
	/* pl == npools: every pool at once. */
	for (size_t pl = p->npools + 1; pl-- > 0;) {
		size_t nn = 0, all = 0;
		double gain;

		for (size_t h = 0; h < p->nhosts; h++) {
			if (pl < p->npools && (size_t)p->hosts[h].pool != pl)
				continue;
			all++;
			if (place_movable_host(b, h) && nn < WHOLE_HOSTS)
				nb[nn++] = h;
		}
		if (nn < 2 || all > WHOLE_HOSTS || !place_budget_left(b))
			continue;
		b->mip_work = (b->work_limit - b->work) / 2;
		if (repack(b, nb, nn, &gain) < 0)
			goto out;
		if (pl == p->npools)
			break; /* the whole problem was repacked */
	}
	ret = 0;
out:
	b->mip_work = keep;
	free(nb);
	return ret;
}

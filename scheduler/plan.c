#include <glpk.h>

#include "common/fc.h"

#include "common/buf.h"
#include "common/err.h"
#include "scheduler/lpmat.h"
#include "scheduler/names.h"
#include "scheduler/plan.h"

/* A set of VMs with the same tenant and tags: they may go to the same
 * hosts. */
struct sig {
	size_t vm;          /* a representative */
	double demand[DIM_COUNT];
	uint64_t *hosts;    /* bitset of eligible hosts */
};

struct hostset {
	uint64_t *hosts;
	double demand[DIM_COUNT];
	size_t count;
	int seg;    /* 0: shared tenants, else one dedicated tenant */
	bool owned; /* hosts allocated for this set (a union) */
};

static bool same_sig(const struct sched_problem *p, size_t a, size_t b)
{
	const struct sched_vm *va = &p->vms[a], *vb = &p->vms[b];

	if (va->tenant != vb->tenant || va->ntags != vb->ntags)
		return false;
	for (size_t i = 0; i < va->ntags; i++) {
		if (strcmp(va->tags[i], vb->tags[i]) != 0)
			return false;
	}
	return true;
}

static bool subset(const uint64_t *a, const uint64_t *b, size_t words)
{
	for (size_t w = 0; w < words; w++) {
		if ((a[w] & ~b[w]) != 0)
			return false;
	}
	return true;
}

void sched_plan_free(struct sched_plan *pl)
{
	if (pl == NULL)
		return;
	free(pl->x);
	pl->x = NULL;
}

int sched_plan_lp(const struct sched_state *s, enum sched_plan_mode mode,
		  struct sched_plan *out)
{
	return sched_plan_lp_subset(s, mode, NULL, out);
}

int sched_plan_lp_subset(const struct sched_state *s,
			 enum sched_plan_mode mode, const bool *demand,
			 struct sched_plan *out)
{
	const struct sched_problem *p = sched_state_problem(s);
	size_t nh = p->nhosts, words = (nh + 63) / 64;
	struct sig *sigs = NULL;
	struct hostset *sets = NULL;
	size_t nsigs = 0, nsets = 0, nseg = 1, i, k;
	double (*R)[DIM_COUNT] = NULL;
	bool *fixed = NULL;
	int *seg_of_tenant = NULL, *host_seg = NULL, *col = NULL;
	double constant = 0;
	struct lpmat mat = {0};
	glp_prob *lp = NULL;
	int *cls = NULL;
	size_t *cls_count = NULL, *cls_rep = NULL;
	char **keys = NULL;
	struct sched_names *keyidx = NULL;
	int dual_row[DIM_COUNT] = {0};
	double dual_demand = -1;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	out->x = calloc(nh + 1, sizeof(*out->x));
	sigs = calloc(p->nvms + 1, sizeof(*sigs));
	R = calloc(nh + 1, sizeof(*R));
	fixed = calloc(nh + 1, sizeof(*fixed));
	seg_of_tenant = calloc(p->ntenants + 1, sizeof(*seg_of_tenant));
	host_seg = calloc(nh + 1, sizeof(*host_seg));
	if (out->x == NULL || sigs == NULL || R == NULL || fixed == NULL ||
	    seg_of_tenant == NULL || host_seg == NULL)
		goto oom;
	/* Segment 0: shared tenants; one segment per dedicated tenant. A
	 * host serves one segment, so dedicated demand cannot borrow room
	 * on the same host as anyone else's. */
	for (i = 0; i < p->ntenants; i++)
		seg_of_tenant[i] = p->tenants[i].isolation == ISOLATION_DEDICATED
					   ? (int)nseg++
					   : 0;

	/* Hosts: usable capacity, or the headroom of pinned ones. */
	for (i = 0; i < nh; i++) {
		bool active = sched_state_nvms(s, i) > 0;

		fixed[i] = mode == PLAN_PINNED && active;
		host_seg[i] = -1;
		for (int d = 0; d < DIM_COUNT; d++) {
			double u = sched_state_usable(s, i, (enum sched_dim)d);

			if (fixed[i]) {
				u = sched_state_headroom(s, i,
							 (enum sched_dim)d);
				u = u > 0 ? u : 0;
			}
			R[i][d] = u;
		}
		if (fixed[i]) {
			constant += p->hosts[i].cost;
			out->x[i] = 1;
			host_seg[i] = 0;
		}
	}
	if (mode == PLAN_PINNED) {
		for (size_t v = 0; v < p->nvms; v++) {
			int h = sched_state_host_of(s, v);

			if (h >= 0 && seg_of_tenant[p->vms[v].tenant] > 0)
				host_seg[h] = seg_of_tenant[p->vms[v].tenant];
		}
	}

	/* Demand by signature. */
	for (size_t v = 0; v < p->nvms; v++) {
		if (demand != NULL && !demand[v])
			continue;
		if (mode == PLAN_PINNED && sched_state_host_of(s, v) >= 0)
			continue;
		for (k = 0; k < nsigs && !same_sig(p, sigs[k].vm, v); k++)
			;
		if (k == nsigs) {
			sigs[k].vm = v;
			sigs[k].hosts = calloc(words + 1, sizeof(uint64_t));
			if (sigs[k].hosts == NULL)
				goto oom;
			nsigs++;
			for (i = 0; i < nh; i++) {
				if (p->hosts[i].state != HOST_UP && !fixed[i])
					continue;
				/* A pinned host serves its own segment. */
				if (fixed[i] &&
				    host_seg[i] !=
					    seg_of_tenant[p->vms[v].tenant] &&
				    (host_seg[i] > 0 ||
				     seg_of_tenant[p->vms[v].tenant] > 0))
					continue;
				if (sched_state_compatible(s, v, i))
					sigs[k].hosts[i / 64] |= 1ULL
								 << (i % 64);
			}
		}
		for (int d = 0; d < DIM_COUNT; d++)
			sigs[k].demand[d] += p->vms[v].req[d];
	}

	/* Distinct (segment, host set) pairs, and per segment the union of
	 * its sets. */
	sets = calloc(2 * nsigs + 2, sizeof(*sets));
	if (sets == NULL)
		goto oom;
	for (k = 0; k < nsigs; k++) {
		int sg = seg_of_tenant[p->vms[sigs[k].vm].tenant];
		size_t j;

		for (j = 0; j < nsets; j++) {
			if (sets[j].seg == sg &&
			    memcmp(sets[j].hosts, sigs[k].hosts,
				   words * sizeof(uint64_t)) == 0)
				break;
		}
		if (j == nsets) {
			sets[nsets].seg = sg;
			sets[nsets++].hosts = sigs[k].hosts;
		}
	}
	{
		size_t nbase = nsets;

		for (int sg = 0; sg < (int)nseg; sg++) {
			size_t cnt = 0;
			uint64_t *u;

			for (k = 0; k < nbase; k++)
				cnt += sets[k].seg == sg;
			if (cnt < 2)
				continue;
			u = calloc(words + 1, sizeof(uint64_t));
			if (u == NULL)
				goto oom;
			for (k = 0; k < nbase; k++)
				if (sets[k].seg == sg)
					for (size_t w = 0; w < words; w++)
						u[w] |= sets[k].hosts[w];
			sets[nsets].seg = sg;
			sets[nsets].owned = true;
			sets[nsets++].hosts = u;
		}
	}
	for (size_t j = 0; j < nsets; j++) {
		for (k = 0; k < nsigs; k++) {
			if (seg_of_tenant[p->vms[sigs[k].vm].tenant] ==
				    sets[j].seg &&
			    subset(sigs[k].hosts, sets[j].hosts, words))
				for (int d = 0; d < DIM_COUNT; d++)
					sets[j].demand[d] += sigs[k].demand[d];
		}
		for (i = 0; i < nh; i++)
			if (sets[j].hosts[i / 64] & (1ULL << (i % 64)))
				sets[j].count++;
	}

	/* Feasible iff every row can be met with every X = 1. */
	out->feasible = true;
	for (size_t j = 0; j < nsets; j++) {
		for (int d = 0; d < DIM_COUNT; d++) {
			double cap = 0;

			for (i = 0; i < nh; i++)
				if (sets[j].hosts[i / 64] & (1ULL << (i % 64)))
					cap += R[i][d];
			if (cap < sets[j].demand[d] * (1 - 1e-12))
				out->feasible = false;
		}
	}
	out->cost = constant;
	if (!out->feasible) {
		for (i = 0; i < nh; i++)
			out->x[i] = 0;
		out->cost = 0;
		ret = 0;
		goto out;
	}
	if (nsets == 0) {
		ret = 0;
		goto out;
	}

	{
		size_t ncols = 0, nrows = 0, ncls = 0;
		glp_smcp parm;
		int r;

		/* Hosts that look the same to the LP (capacity, cost and the
		 * sets they belong to) form one class: one column per class
		 * and segment with bound [0, hosts in the class] gives the
		 * same optimum with far fewer columns. */
		cls = malloc((nh + 1) * sizeof(*cls));
		cls_count = calloc(nh + 1, sizeof(*cls_count));
		cls_rep = calloc(nh + 1, sizeof(*cls_rep));
		keys = calloc(nh + 1, sizeof(*keys));
		keyidx = sched_names_new(nh);
		if (cls == NULL || cls_count == NULL || cls_rep == NULL ||
		    keys == NULL || keyidx == NULL)
			goto oom;
		for (i = 0; i < nh; i++) {
			struct buf kb;
			int prev = -1, rr;

			cls[i] = -1;
			if (fixed[i])
				continue;
			buf_init(&kb, 0);
			buf_printf(&kb, "%a,%a,%a,%a|", R[i][0], R[i][1], R[i][2],
				   p->hosts[i].cost);
			for (size_t j = 0; j < nsets; j++)
				buf_puts(&kb, (sets[j].hosts[i / 64] &
					       (1ULL << (i % 64)))
						      ? "1"
						      : "0");
			keys[i] = buf_detach(&kb);
			buf_free(&kb);
			if (keys[i] == NULL)
				goto oom;
			rr = sched_names_add(keyidx, keys[i], (int)ncls, &prev);
			if (rr < 0)
				goto oom;
			if (rr == 0) {
				cls_rep[ncls] = i;
				cls[i] = (int)ncls++;
			} else {
				cls[i] = prev;
			}
			cls_count[cls[i]]++;
		}
		/* col[kc * nseg + sg]: the column of class kc in segment sg. */
		col = calloc(ncls * nseg + 1, sizeof(*col));
		if (col == NULL)
			goto oom;
		for (size_t kc = 0; kc < ncls; kc++) {
			size_t h = cls_rep[kc];

			for (size_t j = 0; j < nsets; j++) {
				size_t c = kc * nseg + (size_t)sets[j].seg;

				if (col[c] == 0 &&
				    (sets[j].hosts[h / 64] & (1ULL << (h % 64))))
					col[c] = (int)++ncols;
			}
		}
		if (lpmat_init(&mat, nsets * DIM_COUNT * (ncols + 1) +
					     2 * ncols + 1) < 0)
			goto oom;
		lp = glp_create_prob();
		glp_set_obj_dir(lp, GLP_MIN);
		if (ncols > 0)
			glp_add_cols(lp, (int)ncols);
		for (size_t c = 0; c < ncls * nseg; c++) {
			size_t kc = c / nseg;

			if (col[c] == 0)
				continue;
			glp_set_col_bnds(lp, col[c], GLP_DB, 0,
					 (double)cls_count[kc]);
			glp_set_obj_coef(lp, col[c], p->hosts[cls_rep[kc]].cost);
		}
		for (size_t j = 0; j < nsets; j++) {
			double total = 0, need[DIM_COUNT];

			for (int d = 0; d < DIM_COUNT; d++) {
				total += sets[j].demand[d];
				need[d] = sets[j].demand[d];
			}
			/* Pinned hosts are constants: move them to the
			 * right-hand side. */
			for (i = 0; i < nh; i++)
				if (fixed[i] && (sets[j].hosts[i / 64] &
						 (1ULL << (i % 64))))
					for (int d = 0; d < DIM_COUNT; d++)
						need[d] -= R[i][d];
			for (int d = 0; d < DIM_COUNT; d++) {
				if (need[d] <= 0)
					continue;
				glp_add_rows(lp, 1);
				nrows++;
				glp_set_row_bnds(lp, (int)nrows, GLP_LO, need[d],
						 0);
				for (size_t kc = 0; kc < ncls; kc++) {
					size_t h = cls_rep[kc];
					int c = col[kc * nseg +
						    (size_t)sets[j].seg];

					if (c == 0 || R[h][d] <= 0 ||
					    !(sets[j].hosts[h / 64] &
					      (1ULL << (h % 64))))
						continue;
					if (lpmat_add(&mat, (int)nrows, c,
						      R[h][d]) < 0)
						goto oom;
				}
			}
			/* Prices come from the set with the most demand. */
			if (total > dual_demand) {
				int rr = (int)nrows;

				dual_demand = total;
				for (int d = DIM_COUNT - 1; d >= 0; d--)
					dual_row[d] = need[d] > 0 ? rr-- : 0;
			}
		}
		/* One segment per host: a class's shares add up to at most
		 * its hosts. */
		for (size_t kc = 0; kc < ncls; kc++) {
			int n = 0;

			for (size_t sg = 0; sg < nseg; sg++)
				n += col[kc * nseg + sg] != 0;
			if (n < 2)
				continue;
			glp_add_rows(lp, 1);
			nrows++;
			glp_set_row_bnds(lp, (int)nrows, GLP_UP, 0,
					 (double)cls_count[kc]);
			for (size_t sg = 0; sg < nseg; sg++) {
				if (col[kc * nseg + sg] == 0)
					continue;
				if (lpmat_add(&mat, (int)nrows,
					      col[kc * nseg + sg], 1) < 0)
					goto oom;
			}
		}
		out->rows = nrows;
		if (nrows == 0) {
			ret = 0;
			goto out;
		}
		lpmat_load(&mat, lp);
		glp_init_smcp(&parm);
		parm.msg_lev = GLP_MSG_OFF;
		parm.presolve = GLP_ON;
		r = glp_simplex(lp, &parm);
		/* The shares of a host add up to at most 1: dedicated and
		 * shared demand may each fit alone and not together, which
		 * the check above cannot see. */
		if (r == GLP_ENOPFS || (r == 0 && glp_get_status(lp) == GLP_NOFEAS)) {
			out->feasible = false;
			for (i = 0; i < nh; i++)
				out->x[i] = 0;
			out->cost = 0;
			ret = 0;
			goto out;
		}
		if (r != 0 || glp_get_status(lp) != GLP_OPT) {
			err_set("capacity-plan LP: GLPK simplex failed (code %d, "
				"status %d)",
				r, glp_get_status(lp));
			goto out;
		}
		out->cost = constant + glp_get_obj_val(lp);
		/* A class's value goes to its hosts whole hosts first, then
		 * the fraction. */
		{
			double *left = calloc(ncls + 1, sizeof(*left));

			if (left == NULL)
				goto oom;
			for (size_t kc = 0; kc < ncls; kc++)
				for (size_t sg = 0; sg < nseg; sg++)
					if (col[kc * nseg + sg] != 0)
						left[kc] += glp_get_col_prim(
							lp, col[kc * nseg + sg]);
			/* Hosts running VMs first: among equal hosts the
			 * plan keeps those and drains the others. */
			for (int pass = 0; pass < 2; pass++) {
				for (i = 0; i < nh; i++) {
					double v;

					if (cls[i] < 0 ||
					    (sched_state_nvms(s, i) > 0) !=
						    (pass == 0))
						continue;
					v = left[cls[i]] > 1 ? 1 : left[cls[i]];
					v = v > 0 ? v : 0;
					out->x[i] = v;
					left[cls[i]] -= v;
				}
			}
			free(left);
		}
		for (int d = 0; d < DIM_COUNT; d++)
			out->dual[d] = dual_row[d] > 0
					       ? glp_get_row_dual(lp,
								  dual_row[d])
					       : 0;
	}
	ret = 0;
	goto out;
oom:
	err_set("out of memory for the capacity-plan LP");
out:
	if (lp != NULL)
		glp_delete_prob(lp);
	lpmat_free(&mat);
	for (size_t j = 0; sets != NULL && j < nsets; j++)
		if (sets[j].owned)
			free(sets[j].hosts);
	free(sets);
	for (k = 0; sigs != NULL && k < nsigs; k++)
		free(sigs[k].hosts);
	free(sigs);
	free(R);
	free(fixed);
	free(seg_of_tenant);
	free(host_seg);
	free(col);
	free(cls);
	free(cls_count);
	free(cls_rep);
	if (keys != NULL)
		for (i = 0; i < nh; i++)
			free(keys[i]);
	free(keys);
	sched_names_free(keyidx);
	if (ret < 0)
		sched_plan_free(out);
	return ret;
}

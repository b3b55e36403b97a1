#include <glpk.h>

#include "common/fc.h"

#include "common/err.h"
#include "scheduler/plan.h"

/* A set of VMs with the same tenant and tags: they may go to the same
 * hosts. */
struct sig {
	size_t vm;          /* a representative */
	double demand[DIM_COUNT];
	uint64_t *hosts;    /* bitset of eligible hosts */
	size_t row;         /* index of the distinct host set */
};

struct hostset {
	uint64_t *hosts;
	double demand[DIM_COUNT];
	size_t count;
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
	size_t nsigs = 0, nsets = 0, i, k;
	double (*R)[DIM_COUNT] = NULL;
	bool *fixed = NULL;
	double constant = 0;
	int *ia = NULL, *ja = NULL, *col = NULL;
	double *ar = NULL;
	glp_prob *lp = NULL;
	uint64_t *union_set = NULL;
	int union_row[DIM_COUNT] = {0};
	int ret = -1;

	memset(out, 0, sizeof(*out));
	out->x = calloc(nh + 1, sizeof(*out->x));
	sigs = calloc(p->nvms + 1, sizeof(*sigs));
	R = calloc(nh + 1, sizeof(*R));
	fixed = calloc(nh + 1, sizeof(*fixed));
	col = calloc(nh + 1, sizeof(*col));
	if (out->x == NULL || sigs == NULL || R == NULL || fixed == NULL ||
	    col == NULL)
		goto oom;

	/* Hosts: usable capacity, or the headroom of pinned ones. */
	for (i = 0; i < nh; i++) {
		bool active = sched_state_nvms(s, i) > 0;

		fixed[i] = mode == PLAN_PINNED && active;
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
				if (p->hosts[i].state == HOST_UP || fixed[i]) {
					if (sched_state_compatible(s, v, i))
						sigs[k].hosts[i / 64] |=
							1ULL << (i % 64);
				}
			}
		}
		for (int d = 0; d < DIM_COUNT; d++)
			sigs[k].demand[d] += p->vms[v].req[d];
	}

	/* Distinct host sets, then the union of all of them. */
	sets = calloc(nsigs + 2, sizeof(*sets));
	if (sets == NULL)
		goto oom;
	for (k = 0; k < nsigs; k++) {
		size_t j;

		for (j = 0; j < nsets; j++) {
			if (memcmp(sets[j].hosts, sigs[k].hosts,
				   words * sizeof(uint64_t)) == 0)
				break;
		}
		if (j == nsets)
			sets[nsets++].hosts = sigs[k].hosts;
		sigs[k].row = j;
	}
	if (nsets > 1) {
		uint64_t *u = union_set = calloc(words + 1, sizeof(uint64_t));

		if (u == NULL)
			goto oom;
		for (k = 0; k < nsets; k++)
			for (size_t w = 0; w < words; w++)
				u[w] |= sets[k].hosts[w];
		sets[nsets++].hosts = u;
	}
	for (size_t j = 0; j < nsets; j++) {
		for (k = 0; k < nsigs; k++) {
			if (subset(sigs[k].hosts, sets[j].hosts, words))
				for (int d = 0; d < DIM_COUNT; d++)
					sets[j].demand[d] += sigs[k].demand[d];
		}
		for (i = 0; i < nh; i++)
			if (sets[j].hosts[i / 64] & (1ULL << (i % 64)))
				sets[j].count++;
	}

	/* Feasible iff every row can be met with every X_i = 1. */
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
		size_t nz = 0, ncols = 0, nrows = 0, cap_nz = 0;
		glp_smcp parm;
		int r;

		for (size_t j = 0; j < nsets; j++)
			cap_nz += sets[j].count * DIM_COUNT;
		ia = malloc((cap_nz + 1) * sizeof(*ia));
		ja = malloc((cap_nz + 1) * sizeof(*ja));
		ar = malloc((cap_nz + 1) * sizeof(*ar));
		if (ia == NULL || ja == NULL || ar == NULL)
			goto oom;
		lp = glp_create_prob();
		glp_set_obj_dir(lp, GLP_MIN);
		for (i = 0; i < nh; i++) {
			bool used = false;

			for (size_t j = 0; j < nsets && !used; j++)
				used = sets[j].hosts[i / 64] & (1ULL << (i % 64));
			if (!used || fixed[i])
				continue;
			col[i] = (int)++ncols;
		}
		if (ncols > 0)
			glp_add_cols(lp, (int)ncols);
		for (i = 0; i < nh; i++) {
			if (col[i] == 0)
				continue;
			glp_set_col_bnds(lp, col[i], GLP_DB, 0, 1);
			glp_set_obj_coef(lp, col[i], p->hosts[i].cost);
		}
		for (size_t j = 0; j < nsets; j++) {
			for (int d = 0; d < DIM_COUNT; d++) {
				double need = sets[j].demand[d];

				/* Pinned hosts are constants: move them to
				 * the right-hand side. */
				for (i = 0; i < nh; i++)
					if (fixed[i] &&
					    (sets[j].hosts[i / 64] &
					     (1ULL << (i % 64))))
						need -= R[i][d];
				if (need <= 0)
					continue;
				glp_add_rows(lp, 1);
				nrows++;
				glp_set_row_bnds(lp, (int)nrows, GLP_LO, need,
						 0);
				for (i = 0; i < nh; i++) {
					if (col[i] == 0 || R[i][d] <= 0 ||
					    !(sets[j].hosts[i / 64] &
					      (1ULL << (i % 64))))
						continue;
					nz++;
					ia[nz] = (int)nrows;
					ja[nz] = col[i];
					ar[nz] = R[i][d];
				}
				if (j == nsets - 1)
					union_row[d] = (int)nrows;
			}
		}
		out->rows = nrows;
		if (nrows == 0) {
			ret = 0;
			goto out;
		}
		glp_load_matrix(lp, (int)nz, ia, ja, ar);
		glp_init_smcp(&parm);
		parm.msg_lev = GLP_MSG_OFF;
		parm.presolve = GLP_ON;
		r = glp_simplex(lp, &parm);
		if (r != 0 || glp_get_status(lp) != GLP_OPT) {
			err_set("capacity-plan LP: GLPK simplex failed (code %d, "
				"status %d)",
				r, glp_get_status(lp));
			goto out;
		}
		out->cost = constant + glp_get_obj_val(lp);
		for (i = 0; i < nh; i++)
			if (col[i] != 0)
				out->x[i] = glp_get_col_prim(lp, col[i]);
		for (int d = 0; d < DIM_COUNT; d++)
			out->dual[d] = union_row[d] > 0
					       ? glp_get_row_dual(lp,
								  union_row[d])
					       : 0;
	}
	ret = 0;
	goto out;
oom:
	err_set("out of memory for the capacity-plan LP");
out:
	if (lp != NULL)
		glp_delete_prob(lp);
	free(ia);
	free(ja);
	free(ar);
	free(union_set);
	free(sets);
	for (k = 0; sigs != NULL && k < nsigs; k++)
		free(sigs[k].hosts);
	free(sigs);
	free(R);
	free(fixed);
	free(col);
	if (ret < 0)
		sched_plan_free(out);
	return ret;
}

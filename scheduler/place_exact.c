/*
 * place_exact.c - the full placement MIP (GLPK) over every (VM, host)
 * pair: sched_place_exact() (see place.h) and place_exact_solve(), which
 * sched_place_all() runs on small problems (place_int.h).
 *
 * The model, for the VMs without a host in classes c of equal ones (same
 * tenant, sizes and tags, no group: place_same_class(); a VM of a group
 * is a class of its own) and the hosts j:
 *   x_cj  integer, VMs of c on j (only where sched_state_compatible()),
 *         at most as many as fit on j alone;
 *   u_c   integer, VMs of c left out, each priced above every host's cost
 *         together, so the most VMs are placed first, then at least cost;
 *   q_kj  binary, host j runs VMs of segment k (segment 0: the shared
 *         tenants, one segment per dedicated tenant), costing C_j; a
 *         host serves one segment (sum_k q_kj <= 1),
 *         x_cj <= ub_cj q_seg(c)j;
 *   a_gj  binary, affinity group g on j: x_cj <= a_gj, sum_j a_gj <= 1;
 * capacity sum_c R_cd x_cj <= room_jd sum_k q_kj per host and dimension;
 * anti-affinity sum_{c in g} x_cj <= 1 (0 where a member is pinned);
 * availability targets, once every member is placed, as
 * sum L_j x_cj >= L_target with L = -log(1 - A), relaxed by the u_c of
 * the group's members; and identical empty hosts opened in index order
 * (sum_k q_kj >= sum_k q_kj'), which removes their symmetry.
 * Hosts running VMs before the call keep their segment (q fixed at 1).
 *
 * The search: GLPK's branch and bound with every cut it has; at every
 * node the LP solution is rounded into a placement (place_round.c) and
 * offered as an incumbent, twins exchanged so that it keeps the symmetry
 * rows. Its work is counted (search_work()) so that a limit stops it at
 * the same point on every run.
 */
#include <glpk.h>
#include <math.h>

#include "common/fc.h"

#include "common/err.h"
#include "scheduler/lpmat.h"
#include "scheduler/place_int.h"

/* Problems with more (VM, host) pairs to decide are refused. */
#define EXACT_MAX_PAIRS 200000

struct model {
	const struct sched_state *s;
	const struct sched_problem *p;
	const bool *skip;
	size_t nh, nv, nseg, ncls;
	int *seg;       /* per tenant: its segment */
	int *pinseg;    /* per host: segment of its pinned VMs, -1 none,
			   -2 several (nothing new may go there) */
	int *cls_of;    /* per VM: its class, -1 not in the model */
	int *first;     /* per class: a member (the representative) */
	int *next;      /* per VM: the next member of its class, -1 */
	int *count;     /* per class: members */
	int *xcol;      /* [c * nh + j] */
	int *ucol;      /* [c] */
	int *qcol;      /* [k * nh + j] */
	int *acol;      /* [g * nh + j] */
	double *ub;     /* [c * nh + j]: most VMs of c on j */
	int *twin;      /* per host: the first of its twins (itself when
			   it has none before it) */
	int *slot;      /* per host: the twin a solution's content goes to */
	int ncols, nrows;
	struct lpmat mat;
	glp_prob *mip;
	/* the search */
	const struct sched_state *start;
	struct place_exact *x;
	bool offered;
	struct sched_state *round; /* the node heuristic's placement */
	double *lpx;    /* [c * nh + j]: the node's LP values of x */
	double *lpopen; /* [j]: ... and of sum_k q_kj */
	double *val;    /* [1 .. ncols]: a solution offered to GLPK */
};

static void model_free(struct model *m)
{
	int **arrays[] = {&m->seg,  &m->pinseg, &m->cls_of, &m->first,
			  &m->next, &m->count,  &m->xcol,   &m->ucol,
			  &m->qcol, &m->acol,   &m->twin,   &m->slot};

	if (m->mip != NULL)
		glp_delete_prob(m->mip);
	for (size_t i = 0; i < FC_ARRAY_LEN(arrays); i++)
		free(*arrays[i]);
	free(m->ub);
	free(m->lpx);
	free(m->lpopen);
	free(m->val);
	sched_state_free(m->round);
	lpmat_free(&m->mat);
}

static int new_col(struct model *m, int kind, double cost)
{
	glp_add_cols(m->mip, 1);
	glp_set_col_kind(m->mip, ++m->ncols, kind);
	glp_set_obj_coef(m->mip, m->ncols, cost);
	return m->ncols;
}

static int new_row(struct model *m, int type, double lo, double up)
{
	glp_add_rows(m->mip, 1);
	glp_set_row_bnds(m->mip, ++m->nrows, type, lo, up);
	return m->nrows;
}

/* Segments, and the segment each host is held to by its VMs. */
static int model_segments(struct model *m)
{
	const struct sched_problem *p = m->p;

	m->seg = calloc(p->ntenants + 1, sizeof(*m->seg));
	m->pinseg = calloc(m->nh + 1, sizeof(*m->pinseg));
	if (m->seg == NULL || m->pinseg == NULL)
		return err_set("out of memory");
	m->nseg = 1;
	for (size_t t = 0; t < p->ntenants; t++)
		m->seg[t] = p->tenants[t].isolation == ISOLATION_DEDICATED
				    ? (int)m->nseg++
				    : 0;
	for (size_t j = 0; j < m->nh; j++)
		m->pinseg[j] = -1;
	for (size_t v = 0; v < m->nv; v++) {
		int h = sched_state_host_of(m->s, v);
		int k = m->seg[p->vms[v].tenant];

		if (h < 0)
			continue;
		if (m->pinseg[h] == -1)
			m->pinseg[h] = k;
		else if (m->pinseg[h] != k)
			m->pinseg[h] = -2; /* held by two segments */
	}
	return 0;
}

/* Classes of the VMs the model decides: not pinned, not skipped. */
static int model_classes(struct model *m)
{
	const struct sched_problem *p = m->p;
	int *last;

	m->cls_of = malloc((m->nv + 1) * sizeof(*m->cls_of));
	m->first = malloc((m->nv + 1) * sizeof(*m->first));
	m->next = malloc((m->nv + 1) * sizeof(*m->next));
	m->count = calloc(m->nv + 1, sizeof(*m->count));
	last = malloc((m->nv + 1) * sizeof(*last));
	if (m->cls_of == NULL || m->first == NULL || m->next == NULL ||
	    m->count == NULL || last == NULL) {
		free(last);
		return err_set("out of memory");
	}
	m->ncls = 0;
	for (size_t v = 0; v < m->nv; v++) {
		size_t c;

		m->cls_of[v] = m->next[v] = -1;
		if (sched_state_host_of(m->s, v) >= 0 ||
		    (m->skip != NULL && m->skip[v]))
			continue;
		for (c = 0; c < m->ncls; c++)
			if (place_same_class(p, (size_t)m->first[c], v))
				break;
		if (c == m->ncls) {
			m->first[c] = (int)v;
			m->ncls++;
		} else {
			m->next[last[c]] = (int)v;
		}
		last[c] = (int)v;
		m->cls_of[v] = (int)c;
		m->count[c]++;
	}
	free(last);
	return 0;
}

/* Host for an affinity group: -1 any, -2 none, else the one host its
 * pinned members are on. */
static int affinity_host(const struct model *m, size_t g)
{
	int at = -1;

	for (size_t v = 0; v < m->nv; v++) {
		int h = sched_state_host_of(m->s, v);

		if (m->p->vms[v].group != (int)g || h < 0)
			continue;
		if (at >= 0 && at != h)
			return -2;
		at = h;
	}
	return at;
}

/* How many VMs of class c the model may put on j (0: none). */
static double may_go(const struct model *m, size_t c, size_t j)
{
	size_t v = (size_t)m->first[c];
	const struct sched_vm *vm = &m->p->vms[v];
	int k = m->seg[vm->tenant];
	double fit = m->count[c];

	if (!sched_state_compatible(m->s, v, j) || m->pinseg[j] == -2 ||
	    (m->pinseg[j] >= 0 && m->pinseg[j] != k))
		return 0;
	if (vm->group >= 0) {
		const struct sched_group *g = &m->p->groups[vm->group];

		if (g->policy == GROUP_AFFINITY) {
			int at = affinity_host(m, (size_t)vm->group);

			if (at != -1 && at != (int)j)
				return 0;
		} else {
			for (size_t w = 0; w < m->nv; w++)
				if (m->p->vms[w].group == vm->group &&
				    sched_state_host_of(m->s, w) == (int)j)
					return 0;
		}
	}
	for (int d = 0; d < DIM_COUNT; d++) {
		double room = sched_state_headroom(m->s, j, (enum sched_dim)d);
		double eps = 1e-9 * (room > 1 ? room : 1);

		if (vm->req[d] > 0 && floor((room + eps) / vm->req[d]) < fit)
			fit = floor((room + eps) / vm->req[d]);
	}
	return fit > 0 ? fit : 0;
}

/* Columns x, u, q, a with their objective. */
static int model_columns(struct model *m, double big)
{
	const struct sched_problem *p = m->p;
	size_t nh = m->nh;

	m->xcol = calloc(m->ncls * nh + 1, sizeof(*m->xcol));
	m->ub = calloc(m->ncls * nh + 1, sizeof(*m->ub));
	m->ucol = calloc(m->ncls + 1, sizeof(*m->ucol));
	m->qcol = calloc(m->nseg * nh + 1, sizeof(*m->qcol));
	m->acol = calloc(p->ngroups * nh + 1, sizeof(*m->acol));
	if (m->xcol == NULL || m->ub == NULL || m->ucol == NULL ||
	    m->qcol == NULL || m->acol == NULL)
		return err_set("out of memory");
	for (size_t c = 0; c < m->ncls; c++) {
		const struct sched_vm *vm = &p->vms[m->first[c]];
		int kind = m->count[c] > 1 ? GLP_IV : GLP_BV;
		size_t k = (size_t)m->seg[vm->tenant];

		m->ucol[c] = new_col(m, kind, big);
		glp_set_col_bnds(m->mip, m->ucol[c], GLP_DB, 0, m->count[c]);
		for (size_t j = 0; j < nh; j++) {
			double ub = may_go(m, c, j);
			int x;

			if (ub <= 0)
				continue;
			x = m->xcol[c * nh + j] = new_col(m, kind, 0);
			m->ub[c * nh + j] = ub;
			glp_set_col_bnds(m->mip, x, GLP_DB, 0, ub);
			if (m->qcol[k * nh + j] == 0)
				m->qcol[k * nh + j] =
					new_col(m, GLP_BV, p->hosts[j].cost);
			if (vm->group >= 0 &&
			    p->groups[vm->group].policy == GROUP_AFFINITY &&
			    m->acol[(size_t)vm->group * nh + j] == 0)
				m->acol[(size_t)vm->group * nh + j] =
					new_col(m, GLP_BV, 0);
		}
	}
	/* A host running VMs stays on in its segment. */
	for (size_t j = 0; j < nh; j++) {
		int k = m->pinseg[j];
		int *q;

		if (k < 0)
			continue;
		q = &m->qcol[(size_t)k * nh + j];
		if (*q == 0)
			*q = new_col(m, GLP_BV, p->hosts[j].cost);
		glp_set_col_bnds(m->mip, *q, GLP_FX, 1, 1);
	}
	return 0;
}

/* Row: sum of the q_kj of host j times coef, added to row. */
static int add_open(struct model *m, int row, size_t j, double coef)
{
	for (size_t k = 0; k < m->nseg; k++) {
		int q = m->qcol[k * m->nh + j];

		if (q != 0 && lpmat_add(&m->mat, row, q, coef) < 0)
			return -1;
	}
	return 0;
}

static int rows_classes(struct model *m)
{
	size_t nh = m->nh;

	for (size_t c = 0; c < m->ncls; c++) {
		const struct sched_vm *vm = &m->p->vms[m->first[c]];
		size_t k = (size_t)m->seg[vm->tenant];
		int row = new_row(m, GLP_FX, m->count[c], m->count[c]);

		if (lpmat_add(&m->mat, row, m->ucol[c], 1) < 0)
			return -1;
		for (size_t j = 0; j < nh; j++) {
			int x = m->xcol[c * nh + j], link;

			if (x == 0)
				continue;
			if (lpmat_add(&m->mat, row, x, 1) < 0)
				return -1;
			/* x_cj <= ub_cj q_kj, and x_cj <= a_gj in affinity. */
			link = new_row(m, GLP_UP, 0, 0);
			if (lpmat_add(&m->mat, link, x, 1) < 0 ||
			    lpmat_add(&m->mat, link, m->qcol[k * nh + j],
				      -m->ub[c * nh + j]) < 0)
				return -1;
			if (vm->group >= 0 &&
			    m->acol[(size_t)vm->group * nh + j] != 0) {
				link = new_row(m, GLP_UP, 0, 0);
				if (lpmat_add(&m->mat, link, x, 1) < 0 ||
				    lpmat_add(&m->mat, link,
					      m->acol[(size_t)vm->group * nh +
						      j],
					      -1) < 0)
					return -1;
			}
		}
	}
	return 0;
}

static int rows_hosts(struct model *m)
{
	const struct sched_problem *p = m->p;
	size_t nh = m->nh;

	for (size_t j = 0; j < nh; j++) {
		size_t nq = 0;

		for (size_t k = 0; k < m->nseg; k++)
			nq += m->qcol[k * nh + j] != 0;
		if (nq > 1 && (add_open(m, new_row(m, GLP_UP, 0, 1), j, 1) < 0))
			return -1;
		for (int d = 0; d < DIM_COUNT; d++) {
			double room = sched_state_headroom(m->s, j,
							   (enum sched_dim)d);
			int row = 0;

			for (size_t c = 0; c < m->ncls; c++) {
				int x = m->xcol[c * nh + j];
				double r = p->vms[m->first[c]].req[d];

				if (x == 0 || r <= 0)
					continue;
				if (row == 0)
					row = new_row(m, GLP_UP, 0, 0);
				if (lpmat_add(&m->mat, row, x, r) < 0)
					return -1;
			}
			if (row != 0 &&
			    add_open(m, row, j,
				     -(room > 0 ? room : 0) * (1 + 1e-12)) < 0)
				return -1;
		}
	}
	return 0;
}

/* -log(1 - a), finite for a = 1. */
static double avail_log(double a)
{
	return -log(a < 1 - 1e-15 ? 1 - a : 1e-15);
}

/* The availability target of anti-affinity group g (members are
 * singleton classes). */
static int row_target(struct model *m, size_t g)
{
	const struct sched_problem *p = m->p;
	const struct sched_group *gr = &p->groups[g];
	double need = avail_log(gr->availability);
	size_t nh = m->nh;
	int row;

	/* The target binds once every member is placed: a member the
	 * caller leaves out keeps the group incomplete. */
	for (size_t v = 0; v < m->nv; v++) {
		int h = sched_state_host_of(m->s, v);

		if (p->vms[v].group != (int)g)
			continue;
		if (h >= 0)
			need -= avail_log(p->hosts[h].availability);
		else if (m->cls_of[v] < 0)
			return 0;
	}
	/* The state's tolerance, 1e-12 on the availability. */
	need -= 1e-13 / (1 - gr->availability + 1e-15);
	if (need <= 0)
		return 0;
	row = new_row(m, GLP_LO, need, 0);
	for (size_t v = 0; v < m->nv; v++) {
		int c = m->cls_of[v];

		if (p->vms[v].group != (int)g || c < 0)
			continue;
		if (lpmat_add(&m->mat, row, m->ucol[c], need) < 0)
			return -1;
		for (size_t j = 0; j < nh; j++) {
			int x = m->xcol[(size_t)c * nh + j];

			if (x != 0 &&
			    lpmat_add(&m->mat, row, x,
				      avail_log(p->hosts[j].availability)) < 0)
				return -1;
		}
	}
	return 0;
}

static int rows_groups(struct model *m)
{
	const struct sched_problem *p = m->p;
	size_t nh = m->nh;

	for (size_t g = 0; g < p->ngroups; g++) {
		const struct sched_group *gr = &p->groups[g];
		bool aff = gr->policy == GROUP_AFFINITY;

		/* Affinity: sum_j a_gj <= 1; anti-affinity: per host,
		 * sum of the members' x_cj <= 1. */
		for (size_t j = 0; j < (aff ? 1 : nh); j++) {
			int row = 0;

			for (size_t i = 0; i < (aff ? nh : m->nv); i++) {
				int col;

				if (aff) {
					col = m->acol[g * nh + i];
				} else {
					int c = m->cls_of[i];

					col = p->vms[i].group == (int)g && c >= 0
						      ? m->xcol[(size_t)c * nh + j]
						      : 0;
				}
				if (col == 0)
					continue;
				if (row == 0)
					row = new_row(m, GLP_UP, 0, 1);
				if (lpmat_add(&m->mat, row, col, 1) < 0)
					return -1;
			}
		}
		if (!aff && gr->availability > 0 && row_target(m, g) < 0)
			return -1;
	}
	return 0;
}

/* Hosts a solution may exchange: same pool, capacity, cost,
 * availability, state and tags, nothing on either. */
static bool twins(const struct model *m, size_t a, size_t b)
{
	const struct sched_host *x = &m->p->hosts[a], *y = &m->p->hosts[b];

	if (x->pool != y->pool || x->cost != y->cost ||
	    x->availability != y->availability || x->state != y->state ||
	    x->ntags != y->ntags || m->pinseg[a] != -1 || m->pinseg[b] != -1 ||
	    memcmp(x->cap, y->cap, sizeof(x->cap)) != 0)
		return false;
	for (size_t i = 0; i < x->ntags; i++)
		if (strcmp(x->tags[i], y->tags[i]) != 0)
			return false;
	return true;
}

static int rows_symmetry(struct model *m)
{
	m->twin = malloc((m->nh + 1) * sizeof(*m->twin));
	m->slot = malloc((m->nh + 1) * sizeof(*m->slot));
	if (m->twin == NULL || m->slot == NULL)
		return err_set("out of memory");
	for (size_t j = 0; j < m->nh; j++) {
		m->twin[j] = (int)j;
		for (size_t i = j; i-- > 0;) {
			int row;

			if (!twins(m, i, j))
				continue;
			/* Open i (the earlier twin) before j. */
			m->twin[j] = m->twin[i];
			row = new_row(m, GLP_LO, 0, 0);
			if (add_open(m, row, i, 1) < 0 ||
			    add_open(m, row, j, -1) < 0)
				return -1;
			break;
		}
	}
	return 0;
}

/* Which twin each host's content goes to in m->slot, so that among
 * twins the running ones come first (the symmetry rows): st's running
 * twins in index order onto the first of their twins. */
static void twin_slots(struct model *m, const struct sched_state *st)
{
	for (size_t j = 0; j < m->nh; j++) {
		size_t to = j;

		m->slot[j] = (int)j;
		if ((size_t)m->twin[j] != j)
			continue;
		/* j heads its twins: hand out their places in order. */
		for (size_t i = j; i < m->nh; i++) {
			if ((size_t)m->twin[i] != j ||
			    sched_state_nvms(st, i) == 0)
				continue;
			while ((size_t)m->twin[to] != j)
				to++;
			m->slot[i] = (int)to++;
		}
	}
}

/* The columns of the placement of st in m->val[1 .. ncols] (VMs of the
 * model without a host, or on a host the model does not give them, are
 * left out), twins exchanged by twin_slots(). */
static void state_vector(struct model *m, const struct sched_state *st)
{
	const struct sched_problem *p = m->p;
	size_t nh = m->nh;
	double *val = m->val;

	memset(val, 0, ((size_t)m->ncols + 1) * sizeof(*val));
	twin_slots(m, st);
	for (size_t j = 0; j < nh; j++)
		if (m->pinseg[j] >= 0)
			val[m->qcol[(size_t)m->pinseg[j] * nh + j]] = 1;
	for (size_t v = 0; v < m->nv; v++) {
		int h = sched_state_host_of(st, v), c = m->cls_of[v];
		int g = p->vms[v].group;
		size_t k = (size_t)m->seg[p->vms[v].tenant], j;

		if (c < 0)
			continue;
		j = h >= 0 ? (size_t)m->slot[h] : 0;
		if (h < 0 || m->xcol[(size_t)c * nh + j] == 0) {
			val[m->ucol[c]] += 1;
			continue;
		}
		val[m->xcol[(size_t)c * nh + j]] += 1;
		val[m->qcol[k * nh + j]] = 1;
		if (g >= 0 && m->acol[(size_t)g * nh + j] != 0)
			val[m->acol[(size_t)g * nh + j]] = 1;
	}
}

/* The node heuristic: the LP solution of the current node rounded into
 * a placement by place_round(), offered to GLPK (which keeps it when it
 * beats the incumbent). */
static void round_node(struct model *m, glp_tree *t)
{
	glp_prob *lp = glp_ios_get_prob(t);
	size_t nh = m->nh;
	struct place_round in = {.ncls = m->ncls, .nh = nh, .first = m->first,
				 .next = m->next, .x = m->lpx,
				 .open = m->lpopen};

	if (m->round == NULL)
		m->round = sched_state_clone(m->s);
	if (m->round == NULL)
		return; /* out of memory: the search goes on without it */
	for (size_t j = 0; j < nh; j++) {
		m->lpopen[j] = 0;
		for (size_t k = 0; k < m->nseg; k++)
			if (m->qcol[k * nh + j] != 0)
				m->lpopen[j] +=
					glp_get_col_prim(lp, m->qcol[k * nh + j]);
	}
	for (size_t c = 0; c < m->ncls; c++)
		for (size_t j = 0; j < nh; j++)
			m->lpx[c * nh + j] =
				m->xcol[c * nh + j] != 0
					? glp_get_col_prim(lp, m->xcol[c * nh + j])
					: 0;
	if (place_round(m->round, &in) < 0)
		return;
	m->x->rounds++;
	state_vector(m, m->round);
	(void)glp_ios_heur_sol(t, m->val);
}

/* Work units (WORK_PER_SECOND) of a search so far: a simplex iteration
 * costs 3/4 x (rows + columns), a node 15 x columns, a rounding
 * (place_round) 6 x hosts x VMs. Fitted on the CPU time of 45 gen
 * problems of every shape from 8 x 150 to 24 x 50 hosts x VMs, then
 * raised by half for long searches (12 x 80, 60 x 10^6 units: 7-9 s of
 * CPU); within a factor of 2 either way (the cut generators' time is not
 * counted apart). */
static uint64_t search_work(const struct model *m)
{
	const struct place_exact *x = m->x;

	return (uint64_t)x->iters * (x->rows + x->vars) * 3 / 4 +
	       15 * (uint64_t)x->nodes * x->vars +
	       6 * (uint64_t)x->rounds * m->nh * m->nv;
}

/* The search's callback: the incumbent, the bound, and the limits (work
 * first, so that a result does not depend on the machine's speed; the
 * wall clock only as a last resort, reported). */
static void exact_cb(glp_tree *t, void *info)
{
	struct model *m = info;
	struct place_exact *x = m->x;
	int best = glp_ios_best_node(t), a, n, tot;

	if (best != 0) {
		double bnd = glp_ios_node_bound(t, best);

		if (bnd > x->bound)
			x->bound = bnd;
	}
	if (glp_ios_reason(t) == GLP_IHEUR && m->start != NULL && !m->offered) {
		/* GLPK refuses an offer that is not better or breaks a row. */
		m->offered = true;
		state_vector(m, m->start);
		(void)glp_ios_heur_sol(t, m->val);
	}
	if (glp_ios_reason(t) == GLP_IHEUR)
		round_node(m, t);
	glp_ios_tree_size(t, &a, &n, &tot);
	x->nodes = (size_t)tot;
	x->iters = (size_t)glp_get_it_cnt(glp_ios_get_prob(t));
	x->work = search_work(m);
	if (x->work_limit > 0 && x->work > x->work_limit) {
		x->stopped = true;
		glp_ios_terminate(t);
	} else if (x->deadline > 0 && place_now() > x->deadline) {
		x->stopped = x->by_time = true;
		glp_ios_terminate(t);
	}
}

static int model_build(struct model *m)
{
	double big = 0;

	for (size_t j = 0; j < m->nh; j++)
		big += m->p->hosts[j].cost > 0 ? m->p->hosts[j].cost : 0;
	big = big * 2 + 1;
	if (model_segments(m) < 0 || model_classes(m) < 0 ||
	    lpmat_init(&m->mat, 64 * m->nh + 64) < 0)
		return -1;
	m->mip = glp_create_prob();
	glp_set_obj_dir(m->mip, GLP_MIN);
	if (model_columns(m, big) < 0 || rows_classes(m) < 0 ||
	    rows_hosts(m) < 0 || rows_groups(m) < 0 || rows_symmetry(m) < 0)
		return -1;
	lpmat_load(&m->mat, m->mip);
	m->val = calloc((size_t)m->ncols + 1, sizeof(*m->val));
	m->lpx = calloc(m->ncls * m->nh + 1, sizeof(*m->lpx));
	m->lpopen = calloc(m->nh + 1, sizeof(*m->lpopen));
	if (m->val == NULL || m->lpx == NULL || m->lpopen == NULL)
		return err_set("out of memory");
	return 0;
}

/* Assign the solution in s, each class's members by its counts; a VM
 * whose move the state refuses (rounding) stays out and is counted in
 * *refused. */
static void apply(struct model *m, struct sched_state *s, size_t *refused)
{
	size_t nh = m->nh;

	*refused = 0;
	for (size_t c = 0; c < m->ncls; c++) {
		int v = m->first[c];

		for (size_t j = 0; j < nh && v >= 0; j++) {
			int x = m->xcol[c * nh + j];
			long n = x != 0 ? lround(glp_mip_col_val(m->mip, x)) : 0;

			for (; n > 0 && v >= 0; n--, v = m->next[v])
				sched_state_assign(s, (size_t)v, j);
		}
	}
	for (size_t v = 0; v < m->nv; v++) {
		int h = sched_state_host_of(s, v);

		if (m->cls_of[v] < 0 || h < 0 ||
		    sched_state_check_code(s, v, (size_t)h, NULL) == SCHED_OK)
			continue;
		sched_state_unassign(s, v);
		(*refused)++;
	}
	m->x->left = 0;
	for (size_t v = 0; v < m->nv; v++)
		m->x->left += m->cls_of[v] >= 0 && sched_state_host_of(s, v) < 0;
}

int place_exact_solve(struct sched_state *s, const bool *skip,
		      const struct sched_state *start, struct place_exact *x)
{
	const struct sched_problem *p = sched_state_problem(s);
	struct model m = {.s = s, .p = p, .skip = skip, .nh = p->nhosts,
			  .nv = p->nvms, .start = start, .x = x};
	glp_smcp lpp;
	glp_iocp parm;
	size_t pairs = 0, refused;
	int rc, st, term, ret = -1;

	x->found = x->optimal = x->stopped = x->by_time = false;
	x->bound = -INFINITY;
	x->nodes = x->rounds = x->iters = 0;
	x->work = 0;
	for (size_t v = 0; v < p->nvms; v++)
		pairs += sched_state_host_of(s, v) < 0 ? p->nhosts : 0;
	if (pairs > EXACT_MAX_PAIRS)
		return err_set("exact solve: %zu hosts x %zu vms is too big "
			       "for one MIP",
			       p->nhosts, p->nvms);
	if (model_build(&m) < 0)
		goto out;
	x->vars = (size_t)m.ncols;
	x->rows = (size_t)m.nrows;
	if (m.ncols == 0) {
		x->found = x->optimal = true;
		x->left = 0;
		x->cost = x->bound = sched_state_cost(s);
		ret = 0;
		goto out;
	}
	/* The LP relaxation first (the search needs it, presolver off so
	 * that the offered incumbent speaks of these very columns). */
	glp_init_smcp(&lpp);
	lpp.msg_lev = GLP_MSG_OFF;
	if (glp_simplex(m.mip, &lpp) != 0 || glp_get_status(m.mip) != GLP_OPT) {
		err_set("exact solve: GLPK simplex failed (status %d)",
			glp_get_status(m.mip));
		goto out;
	}
	x->bound = glp_get_obj_val(m.mip);
	glp_init_iocp(&parm);
	parm.msg_lev = GLP_MSG_OFF;
	parm.cb_func = exact_cb;
	parm.cb_info = &m;
	/* Every cut GLPK has: on 12 x 80 gen problems they halve the
	 * nodes to the proof. */
	parm.mir_cuts = GLP_ON;
	parm.cov_cuts = GLP_ON;
	parm.clq_cuts = GLP_ON;
	parm.gmi_cuts = GLP_ON;
	/* GLPK's cut generators print even with msg_lev off. */
	term = glp_term_out(GLP_OFF);
	rc = glp_intopt(m.mip, &parm);
	glp_term_out(term);
	st = glp_mip_status(m.mip);
	if (st != GLP_OPT && st != GLP_FEAS) {
		if (rc == GLP_ESTOP || rc == 0) {
			/* Stopped before any solution: nothing assigned. */
			x->cost = sched_state_cost(s);
			ret = 0;
			goto out;
		}
		err_set("exact solve: no solution found (GLPK code %d, status "
			"%d)",
			rc, st);
		goto out;
	}
	x->found = true;
	x->optimal = st == GLP_OPT && rc == 0;
	if (x->optimal)
		x->bound = glp_mip_obj_val(m.mip);
	apply(&m, s, &refused);
	if (refused > 0)
		x->optimal = false;
	x->cost = sched_state_cost(s);
	x->objective = glp_mip_obj_val(m.mip);
	ret = 0;
out:
	model_free(&m);
	return ret;
}

int place_exact_lp_bound(const struct sched_state *s, const bool *skip,
			 double *bound)
{
	const struct sched_problem *p = sched_state_problem(s);
	struct model m = {.s = s, .p = p, .skip = skip, .nh = p->nhosts,
			  .nv = p->nvms};
	glp_smcp lpp;
	double out = 0;
	int ret = -1;

	*bound = -1;
	if (model_build(&m) < 0)
		goto out;
	if (m.ncols == 0) {
		ret = 0;
		goto out;
	}
	glp_init_smcp(&lpp);
	lpp.msg_lev = GLP_MSG_OFF;
	lpp.presolve = GLP_ON;
	if (glp_simplex(m.mip, &lpp) != 0 || glp_get_status(m.mip) != GLP_OPT) {
		ret = 0; /* no bound from it: the caller keeps its own */
		goto out;
	}
	/* A bound on placing every VM only when the relaxation leaves none
	 * out (else it speaks of fewer VMs). */
	for (size_t c = 0; c < m.ncls; c++)
		out += glp_get_col_prim(m.mip, m.ucol[c]);
	if (out < 1e-6)
		*bound = glp_get_obj_val(m.mip);
	ret = 0;
out:
	model_free(&m);
	return ret;
}

int sched_place_exact(struct sched_state *s, double time_limit,
		      struct sched_exact_result *out)
{
	const struct sched_problem *p = sched_state_problem(s);
	struct place_exact x = {.deadline = place_now() +
					    (time_limit > 0 ? time_limit : 1)};
	size_t out_before = 0, out_after = 0;

	memset(out, 0, sizeof(*out));
	for (size_t v = 0; v < p->nvms; v++)
		out_before += sched_state_host_of(s, v) < 0;
	if (place_exact_solve(s, NULL, NULL, &x) < 0)
		return -1;
	if (!x.found)
		return err_set("exact solve: no solution within %g s",
			       time_limit);
	for (size_t v = 0; v < p->nvms; v++)
		out_after += sched_state_host_of(s, v) < 0;
	out->cost = x.cost;
	out->optimal = x.optimal;
	out->stopped = x.stopped;
	out->unplaced = out_after;
	out->placed = out_before - out_after;
	out->bound = place_exact_cost_bound(p, &x);
	return 0;
}

double place_exact_cost_bound(const struct sched_problem *p,
			      const struct place_exact *x)
{
	double big = 0, b;

	if (x->optimal)
		return x->cost;
	for (size_t j = 0; j < p->nhosts; j++)
		big += p->hosts[j].cost > 0 ? p->hosts[j].cost : 0;
	big = big * 2 + 1;
	/* The bound is on cost + big x (VMs out): placements that leave
	 * out no more VMs than this one cost at least this much. */
	b = x->bound - big * (double)x->left;
	return b > 0 ? b : 0;
}

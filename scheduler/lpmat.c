#include "common/fc.h"

#include "common/err.h"
#include "scheduler/lpmat.h"

int lpmat_init(struct lpmat *m, size_t cap)
{
	m->n = 0;
	m->cap = cap;
	m->ia = malloc((cap + 1) * sizeof(*m->ia));
	m->ja = malloc((cap + 1) * sizeof(*m->ja));
	m->ar = malloc((cap + 1) * sizeof(*m->ar));
	if (m->ia == NULL || m->ja == NULL || m->ar == NULL)
		return err_set("out of memory");
	return 0;
}

int lpmat_grow(struct lpmat *m)
{
	size_t cap = m->cap * 2 + 64;
	int *ia = realloc(m->ia, (cap + 1) * sizeof(*ia));
	int *ja;
	double *ar;

	if (ia == NULL)
		return err_set("out of memory");
	m->ia = ia;
	ja = realloc(m->ja, (cap + 1) * sizeof(*ja));
	if (ja == NULL)
		return err_set("out of memory");
	m->ja = ja;
	ar = realloc(m->ar, (cap + 1) * sizeof(*ar));
	if (ar == NULL)
		return err_set("out of memory");
	m->ar = ar;
	m->cap = cap;
	return 0;
}

void lpmat_load(const struct lpmat *m, glp_prob *lp)
{
	glp_load_matrix(lp, (int)m->n, m->ia, m->ja, m->ar);
}

void lpmat_free(struct lpmat *m)
{
	free(m->ia);
	free(m->ja);
	free(m->ar);
	m->ia = m->ja = NULL;
	m->ar = NULL;
}

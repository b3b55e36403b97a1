/*
 * lpmat.h - the constraint matrix of a GLPK problem, built one nonzero at
 * a time in the arrays glp_load_matrix() takes. GLPK counts from 1:
 * nonzero k (1 <= k <= n) is ar[k] at row ia[k], column ja[k]. The
 * capacity given to lpmat_init() is a hint; lpmat_add() grows the arrays
 * when it is passed.
 */
#ifndef FC_SCHED_LPMAT_H
#define FC_SCHED_LPMAT_H

#include <glpk.h>
#include <stddef.h>

struct lpmat {
	int *ia, *ja;
	double *ar;
	size_t n;   /* nonzeros so far */
	size_t cap; /* nonzeros the arrays hold (each has cap + 1 slots) */
};

/* Empty matrix with room for cap nonzeros. 0, or -1 with err_set() when
 * out of memory (m can then still be given to lpmat_free()). */
int lpmat_init(struct lpmat *m, size_t cap);

/* Double the room of m. 0 or -1 with err_set(); lpmat_add() calls it. */
int lpmat_grow(struct lpmat *m);

/* Append the nonzero val at (row, col). 0 or -1 with err_set(). */
static inline int lpmat_add(struct lpmat *m, int row, int col, double val)
{
	if (m->n == m->cap && lpmat_grow(m) < 0)
		return -1;
	m->n++;
	m->ia[m->n] = row;
	m->ja[m->n] = col;
	m->ar[m->n] = val;
	return 0;
}

/* glp_load_matrix() of lp with the nonzeros of m. */
void lpmat_load(const struct lpmat *m, glp_prob *lp);

/* Release the arrays of m (not m itself); a zeroed m is fine. */
void lpmat_free(struct lpmat *m);

#endif

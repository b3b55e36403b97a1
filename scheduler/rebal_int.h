/*
 * rebal_int.h - what the parts of the rebalancer share; private to
 * scheduler/ (not installed, included only by rebalance.c and rebal_*.c).
 *
 * rebalance.h is the public interface. Behind it:
 *   rebalance.c     rebal_plan() and the plan it builds: the moves (each
 *                   checked, recorded and scored), repair and evacuate,
 *                   the result and its JSON;
 *   rebal_score.c   the balance scores behind one interface (Ganeti's
 *                   score for htools input, the spread of eta otherwise);
 *   rebal_spread.c  the spread policy: search a balanced target, prune
 *                   it, order the migrations;
 *   rebal_budget.c  the spread target's search when the move budget
 *                   binds (annealing over sets of at most K moves);
 *   rebal_pack.c    the pack policy: empty the hosts the LP does not need.
 *
 * Host and VM indices are those of the problem; functions that can fail
 * return 0 or -1 with err_set() (out of memory).
 */
#ifndef FC_SCHED_REBAL_INT_H
#define FC_SCHED_REBAL_INT_H

#include "common/fc.h"
#include "scheduler/rebalance.h"

/* A balance score kept up to date move by move: value() is the score of
 * the current placement, try_move() the score if vm went to host `to`
 * (nothing changes), move() makes it so, release() frees ctx. Lower is
 * better. metric names it in the result ("ganeti" or "eta"). */
struct scorer {
	void *ctx;
	double (*value)(void *ctx);
	double (*try_move)(void *ctx, size_t vm, size_t to);
	void (*move)(void *ctx, size_t vm, size_t to);
	void (*release)(void *ctx);
	const char *metric;
};

/* The VMs on one host. */
struct hlist {
	size_t *vm;
	size_t n, cap;
};

struct rb {
	const struct sched_problem *p;
	const struct rebal_opts *o;
	struct rebal_result *r;
	struct sched_state *s;
	struct scorer sc;
	bool *moved, *movable, *blocked;
	struct hlist *hv;
	size_t mcap;
	double bias;            /* fixed cost of a migration, in MiB */
	const double *lp_x;     /* pack: the capacity plan's X per host */
	double gain_min;        /* score a migration must buy (spread) */
	double step_min;        /* smallest gain of a search step */
	bool stop;              /* the move budget is spent */
};

/* ---- rebal_score.c ------------------------------------------------------ */

/* Set up sc for p: Ganeti's score when p came from htools, else the sum
 * over pools and dimensions of the standard deviation of eta. host gives
 * each VM's host (NULL: p->vms[i].host). Release with sc->release(sc->ctx)
 * (sc->release is NULL when this failed). */
int rebal_scorer_init(struct scorer *sc, const struct sched_problem *p,
		      const int *host);

/* ---- rebalance.c: the plan ---------------------------------------------- */

int rebal_hl_add(struct hlist *l, size_t vm);
void rebal_hl_del(struct hlist *l, size_t vm);
/* Free the n lists of hv and hv itself (NULL is fine). */
void rebal_hl_free(struct hlist *hv, size_t n);

/* Whether the move budget allows one more migration; when not, marks the
 * result (max_moves_reached) and b->stop. */
bool rebal_budget_left(struct rb *b);

/* The MiB of memory a live migration of vm copies: its memory, 0 for an
 * htools instance that is not running (it moves stopped). */
double rebal_live_mib(const struct sched_problem *p, size_t vm);

/* Migrate vm to host `to` in the plan (no check: the caller checked), in
 * phase ph, with the score before and after. */
int rebal_do_move(struct rb *b, size_t vm, size_t to, enum rebal_phase ph);
/* Take back the last move of the plan. */
void rebal_undo_move(struct rb *b);

/* Add a line (printf format) to what the plan could not do. */
int rebal_add_unresolved(struct rebal_result *r, const char *fmt, ...)
	FC_PRINTF(2, 3);

/* DEST_SCORE: the host with the best balance score; DEST_FIT: best fit
 * on a running host (for pack, only hosts the LP uses when opening one). */
enum dest_mode { DEST_SCORE, DEST_FIT };

/* The best feasible new host for vm, or -1 (why, when not NULL, gets the
 * reason of the last refusal, for the report). */
int rebal_best_dest(struct rb *b, size_t vm, enum dest_mode mode, char *why,
		    size_t whysize);

/* A copy of the VMs on host h, most memory first, then by index: the
 * order in which hosts are emptied. The caller frees it; NULL with
 * err_set() when out of memory. */
size_t *rebal_vms_by_mem(const struct rb *b, size_t h);

/* ---- the policies ------------------------------------------------------- */

/* rebal_spread.c: migrations towards a balanced target placement. */
int rebal_spread(struct rb *b);

/* rebal_budget.c: the search of a spread target when the move budget
 * binds. s and sc hold a feasible target with at most `budget` VMs away
 * from origin[vm] (their hosts before the policy); on return they hold
 * the best target found with at most `budget` VMs away, never worse than
 * the one given. 0, or -1 with err_set() when out of memory. */
int rebal_budget_search(struct rb *b, struct sched_state *s,
			struct scorer *sc, const int *origin, size_t budget);

/* The number of steps rebal_budget_search() makes for p and budget. */
size_t rebal_budget_steps(const struct sched_problem *p, size_t budget);

/* rebal_pack.c: empty the most expensive hosts the LP does not need. */
int rebal_pack(struct rb *b);

#endif

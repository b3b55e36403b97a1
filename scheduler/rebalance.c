/*
 * rebalance.c - migration plans (see rebalance.h): rebal_plan() and the
 * moves it records. Every move goes through rebal_do_move(), which keeps
 * the incremental state, the host lists and the score in step; the
 * phases repair and evacuate are here, the policies in rebal_spread.c and
 * rebal_pack.c, the scores in rebal_score.c (rebal_int.h).
 */
#include <math.h>

#include "common/err.h"
#include "scheduler/ganeti_score.h"
#include "scheduler/htools.h"
#include "scheduler/problem.h"
#include "scheduler/rebal_int.h"

int rebal_hl_add(struct hlist *l, size_t vm)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 8;
		size_t *t = realloc(l->vm, nc * sizeof(*t));

		if (t == NULL)
			return err_set("out of memory");
		l->vm = t;
		l->cap = nc;
	}
	l->vm[l->n++] = vm;
	return 0;
}

void rebal_hl_del(struct hlist *l, size_t vm)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->vm[i] == vm) {
			l->vm[i] = l->vm[--l->n];
			return;
		}
}

double rebal_live_mib(const struct sched_problem *p, size_t vm)
{
	const struct htools_inst *in;

	if (p->htools == NULL)
		return p->vms[vm].req[DIM_MEM];
	in = &p->htools->insts[vm];
	/* a stopped instance moves with no memory to copy */
	return in->uses_memory ? (double)in->mem : 0;
}

static double objective(struct rb *b)
{
	if (b->o->policy == REBAL_PACK)
		return sched_state_cost(b->s);
	return b->sc.value(b->sc.ctx);
}

void rebal_hl_free(struct hlist *hv, size_t n)
{
	if (hv == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(hv[i].vm);
	free(hv);
}

bool rebal_budget_left(struct rb *b)
{
	if (b->o->max_moves == 0 || b->r->nmoves < b->o->max_moves)
		return true;
	b->r->max_moves_reached = true;
	b->stop = true;
	return false;
}

int rebal_do_move(struct rb *b, size_t vm, size_t to, enum rebal_phase ph)
{
	struct rebal_result *r = b->r;
	struct rebal_move *m;
	size_t from = (size_t)sched_state_host_of(b->s, vm);

	if (r->nmoves == b->mcap) {
		size_t nc = b->mcap ? b->mcap * 2 : 64;
		struct rebal_move *t = realloc(r->moves, nc * sizeof(*t));

		if (t == NULL)
			return err_set("out of memory");
		r->moves = t;
		b->mcap = nc;
	}
	m = &r->moves[r->nmoves];
	m->vm = vm;
	m->from = from;
	m->to = to;
	m->mem_mib = rebal_live_mib(b->p, vm);
	m->phase = ph;
	m->score_before = objective(b);
	if (rebal_hl_add(&b->hv[to], vm) < 0)
		return -1;
	rebal_hl_del(&b->hv[from], vm);
	sched_state_assign(b->s, vm, to);
	b->sc.move(b->sc.ctx, vm, to);
	m->score_after = objective(b);
	b->moved[vm] = true;
	r->mib_moved += m->mem_mib;
	r->nmoves++;
	return 0;
}

/* Undo the last move (used when a host cannot be emptied after all). */
void rebal_undo_move(struct rb *b)
{
	struct rebal_move *m = &b->r->moves[--b->r->nmoves];

	rebal_hl_del(&b->hv[m->to], m->vm);
	/* Cannot fail: the VM left from's list, so it has room again. */
	(void)rebal_hl_add(&b->hv[m->from], m->vm);
	sched_state_assign(b->s, m->vm, m->from);
	b->sc.move(b->sc.ctx, m->vm, m->from);
	b->moved[m->vm] = false;
	b->r->mib_moved -= m->mem_mib;
}

int rebal_add_unresolved(struct rebal_result *r, const char *fmt, ...)
{
	char msg[512], *dup, **t;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dup = strdup(msg);
	t = realloc(r->unresolved, (r->nunresolved + 1) * sizeof(*t));
	if (dup == NULL || t == NULL) {
		free(dup);
		if (t != NULL)
			r->unresolved = t;
		return err_set("out of memory");
	}
	r->unresolved = t;
	r->unresolved[r->nunresolved++] = dup;
	return 0;
}

static bool same_group_needed(const struct rb *b, size_t from, size_t to)
{
	/* Ganeti moves instances only inside their node group. */
	return b->p->htools != NULL &&
	       b->p->hosts[from].pool != b->p->hosts[to].pool;
}

/* The best feasible new host for vm, or -1 (why gets the reason of the
 * last refusal, for the report). */
int rebal_best_dest(struct rb *b, size_t vm, enum dest_mode mode, char *why,
		    size_t whysize)
{
	const struct sched_problem *p = b->p;
	size_t from = (size_t)sched_state_host_of(b->s, vm), h;
	double best = INFINITY;
	int best_h = -1, last_h = -1, last_detail = 0;
	enum sched_reason last = SCHED_OK;

	for (h = 0; h < p->nhosts; h++) {
		double key;
		enum sched_reason code;
		int detail = 0;

		if (h == from || b->blocked[h] || same_group_needed(b, from, h))
			continue;
		if (mode == DEST_SCORE) {
			key = b->sc.try_move(b->sc.ctx, vm, h);
		} else {
			/* best fit on hosts already running VMs: least
			 * memory left, cheapest first */
			double head = sched_state_headroom(b->s, h, DIM_MEM) -
				      p->vms[vm].req[DIM_MEM];
			double use = sched_state_usable(b->s, h, DIM_MEM);

			bool empty = sched_state_nvms(b->s, h) == 0;

			/* packing opens no host the LP does not use */
			if (empty && b->lp_x != NULL && b->lp_x[h] <= 1e-6)
				continue;
			key = (use > 0 ? head / use : 0) + (empty ? 2.0 : 0) +
			      p->hosts[h].cost * 1e-9;
		}
		if (key >= best)
			continue;
		code = sched_state_check_code(b->s, vm, h, &detail);
		if (code != SCHED_OK) {
			last = code;
			last_h = (int)h;
			last_detail = detail;
			continue;
		}
		best = key;
		best_h = (int)h;
	}
	if (best_h < 0 && why != NULL) {
		if (last_h >= 0)
			sched_state_reason(b->s, vm, (size_t)last_h, last,
					   last_detail, why, whysize);
		else
			snprintf(why, whysize, "no other host in its pool");
	}
	return best_h;
}

static int cmp_mem_desc(const void *a, const void *b, void *ctx)
{
	const struct sched_problem *p = ctx;
	double x = p->vms[*(const size_t *)a].req[DIM_MEM];
	double y = p->vms[*(const size_t *)b].req[DIM_MEM];

	if (x != y)
		return x < y ? 1 : -1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

size_t *rebal_vms_by_mem(const struct rb *b, size_t h)
{
	size_t n = b->hv[h].n;
	size_t *vms = malloc((n ? n : 1) * sizeof(*vms));

	if (vms == NULL) {
		err_set("out of memory");
		return NULL;
	}
	/* A host that never ran a VM has no list at all. */
	if (n > 0)
		memcpy(vms, b->hv[h].vm, n * sizeof(*vms));
	qsort_r(vms, n, sizeof(*vms), cmp_mem_desc, (void *)b->p);
	return vms;
}

static const char *vm_name(const struct rb *b, size_t vm)
{
	return b->p->vms[vm].name;
}

static const char *host_name(const struct rb *b, size_t h)
{
	return b->p->hosts[h].name;
}

static int find_violations(struct rb *b)
{
	const struct sched_problem *p = b->p;
	struct rebal_result *r = b->r;
	size_t i, cap = 0;

	for (i = 0; i < p->nvms; i++) {
		int h = p->vms[i].host;
		enum sched_reason code;
		struct rebal_violation *v;
		int detail = 0;

		if (h < 0)
			continue;
		if (p->hosts[h].state != HOST_UP)
			code = SCHED_X_STATE;
		else
			code = sched_state_check_code(b->s, i, (size_t)h,
						      &detail);
		if (code == SCHED_OK)
			continue;
		if (r->nviolations == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct rebal_violation *t =
				realloc(r->violations, nc * sizeof(*t));

			if (t == NULL)
				return err_set("out of memory");
			r->violations = t;
			cap = nc;
		}
		v = &r->violations[r->nviolations++];
		memset(v, 0, sizeof(*v));
		v->vm = i;
		v->host = h;
		v->code = code;
		if (code == SCHED_X_STATE)
			snprintf(v->reason, sizeof(v->reason),
				 "host '%s' is %s: its VMs must leave",
				 p->hosts[h].name,
				 sched_host_state_name(p->hosts[h].state));
		else
			sched_state_reason(b->s, i, (size_t)h, code, detail,
					   v->reason, sizeof(v->reason));
	}
	return 0;
}

static int repair(struct rb *b)
{
	struct rebal_result *r = b->r;
	size_t i;

	for (i = 0; i < r->nviolations && !b->stop; i++) {
		struct rebal_violation *v = &r->violations[i];
		int h = sched_state_host_of(b->s, v->vm), to;
		char why[320];

		if (h != v->host) {
			v->repaired = true;
			continue;
		}
		if (b->p->hosts[h].state == HOST_UP &&
		    sched_state_check_code(b->s, v->vm, (size_t)h, NULL) ==
			    SCHED_OK) {
			v->repaired = true; /* another move fixed it */
			continue;
		}
		if (!b->movable[v->vm]) {
			if (rebal_add_unresolved(r,
						 "vm '%s' on host '%s' breaks a "
						 "constraint (%s) but cannot "
						 "be live-migrated",
						 vm_name(b, v->vm),
						 host_name(b, (size_t)h),
						 sched_reason_name(v->code)) <
			    0)
				return -1;
			continue;
		}
		to = rebal_best_dest(b, v->vm,
			       b->o->policy == REBAL_PACK ? DEST_FIT : DEST_SCORE,
			       why, sizeof(why));
		if (to < 0) {
			if (rebal_add_unresolved(r,
						 "vm '%s' on host '%s' breaks a "
						 "constraint (%s) and no host "
						 "can take it: %s",
						 vm_name(b, v->vm),
						 host_name(b, (size_t)h),
						 sched_reason_name(v->code),
						 why) < 0)
				return -1;
			continue;
		}
		if (!rebal_budget_left(b))
			break;
		if (rebal_do_move(b, v->vm, (size_t)to, REBAL_REPAIR) < 0)
			return -1;
		v->repaired = true;
	}
	return 0;
}

static int evacuate(struct rb *b)
{
	const struct rebal_opts *o = b->o;
	size_t e, i;
	int ret = -1;
	size_t *vms = NULL;

	for (e = 0; e < o->nevacuate && !b->stop; e++) {
		size_t h = o->evacuate[e], n = b->hv[h].n;
		char why[320];

		free(vms);
		vms = rebal_vms_by_mem(b, h);
		if (vms == NULL)
			goto out;
		for (i = 0; i < n; i++) {
			int to;

			if (!b->movable[vms[i]]) {
				if (rebal_add_unresolved(
					    b->r,
					    "host '%s': vm '%s' cannot be "
					    "live-migrated",
					    host_name(b, h),
					    vm_name(b, vms[i])) < 0)
					goto out;
				continue;
			}
			to = rebal_best_dest(b, vms[i],
				       o->policy == REBAL_PACK ? DEST_FIT :
								 DEST_SCORE,
				       why, sizeof(why));
			if (to < 0) {
				if (rebal_add_unresolved(
					    b->r,
					    "host '%s': no host can take vm "
					    "'%s': %s",
					    host_name(b, h),
					    vm_name(b, vms[i]), why) < 0)
					goto out;
				continue;
			}
			if (!rebal_budget_left(b))
				break;
			if (rebal_do_move(b, vms[i], (size_t)to,
					  REBAL_EVACUATE) < 0)
				goto out;
		}
		if (b->hv[h].n == 0)
			b->r->hosts_emptied++;
	}
	ret = 0;
out:
	free(vms);
	return ret;
}

void rebal_opts_init(struct rebal_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->policy = REBAL_SPREAD;
	o->min_gain = 0;
}

void rebal_result_free(struct rebal_result *r)
{
	size_t i;

	if (r == NULL)
		return;
	free(r->moves);
	free(r->violations);
	for (i = 0; i < r->nunresolved; i++)
		free(r->unresolved[i]);
	free(r->unresolved);
	memset(r, 0, sizeof(*r));
}

int rebal_plan(const struct sched_problem *p, const struct rebal_opts *o,
	       struct rebal_result *out)
{
	struct rb b;
	size_t i, nmov = 0;
	double summem = 0;
	int ret = -1;

	memset(&b, 0, sizeof(b));
	memset(out, 0, sizeof(*out));
	b.p = p;
	b.o = o;
	b.r = out;
	if (o->min_gain < 0)
		return err_set("min gain must be >= 0, got %g", o->min_gain);
	for (i = 0; i < o->nevacuate; i++)
		if (o->evacuate[i] >= p->nhosts)
			return err_set("evacuate: no host with index %zu",
				       o->evacuate[i]);
	b.s = sched_state_new(p);
	if (b.s == NULL)
		goto out;
	if (rebal_scorer_init(&b.sc, p, NULL) < 0)
		goto out;
	b.moved = calloc(p->nvms ? p->nvms : 1, sizeof(bool));
	b.movable = calloc(p->nvms ? p->nvms : 1, sizeof(bool));
	b.blocked = calloc(p->nhosts ? p->nhosts : 1, sizeof(bool));
	b.hv = calloc(p->nhosts ? p->nhosts : 1, sizeof(*b.hv));
	if (b.moved == NULL || b.movable == NULL || b.blocked == NULL ||
	    b.hv == NULL) {
		err_set("out of memory");
		goto out;
	}
	for (i = 0; i < p->nhosts; i++)
		b.blocked[i] = p->hosts[i].state != HOST_UP;
	for (i = 0; i < o->nevacuate; i++)
		b.blocked[o->evacuate[i]] = true;
	for (i = 0; i < p->nvms; i++) {
		if (p->vms[i].host < 0)
			continue;
		if (rebal_hl_add(&b.hv[p->vms[i].host], i) < 0)
			goto out;
		b.movable[i] = htools_vm_movable(p, i);
		if (b.movable[i]) {
			summem += p->htools ? (double)p->htools->insts[i].mem :
					      p->vms[i].req[DIM_MEM];
			nmov++;
		}
	}
	/* A migration costs a fixed part (setup, switch-over) worth an
	 * average VM's memory, plus the memory it copies. */
	b.bias = nmov ? summem / (double)nmov : 1024;
	if (b.bias < 256)
		b.bias = 256;
	out->metric = o->policy == REBAL_PACK ? "cost" : b.sc.metric;
	out->score_before = objective(&b);
	b.gain_min = o->min_gain;
	if (b.gain_min <= 0) {
		/* Auto: a move gains about score / hosts early on; the plan
		 * keeps migrations worth 3% of that. */
		size_t up = 0;

		for (i = 0; i < p->nhosts; i++)
			up += p->hosts[i].state == HOST_UP;
		b.gain_min = 0.03 * b.sc.value(b.sc.ctx) /
			     (double)(up ? up : 1);
	}
	b.step_min = b.gain_min / 20;
	if (b.step_min < 1e-9)
		b.step_min = 1e-9;
	if (find_violations(&b) < 0 || repair(&b) < 0)
		goto out;
	if (evacuate(&b) < 0)
		goto out;
	if (!b.stop) {
		if (o->policy == REBAL_PACK) {
			if (rebal_pack(&b) < 0)
				goto out;
		} else if (rebal_spread(&b) < 0) {
			goto out;
		}
	}
	out->score_after = objective(&b);
	if (o->policy != REBAL_PACK && p->htools != NULL) {
		/* Claim the score recomputed from scratch, as hinfo will. */
		int *host = malloc((p->nvms ? p->nvms : 1) * sizeof(*host));
		struct ganeti_score *g;

		if (host == NULL) {
			err_set("out of memory");
			goto out;
		}
		for (i = 0; i < p->nvms; i++)
			host[i] = sched_state_host_of(b.s, i);
		g = ganeti_score_new(p, host);
		free(host);
		if (g == NULL)
			goto out;
		out->score_after = ganeti_score_value(g);
		ganeti_score_free(g);
	}
	ret = 0;
out:
	if (ret < 0)
		rebal_result_free(out);
	if (b.sc.release != NULL)
		b.sc.release(b.sc.ctx);
	sched_state_free(b.s);
	rebal_hl_free(b.hv, p->nhosts);
	free(b.moved);
	free(b.movable);
	free(b.blocked);
	return ret;
}

void rebal_apply(const struct rebal_result *r, struct sched_problem *p)
{
	size_t i;

	for (i = 0; i < r->nmoves; i++)
		p->vms[r->moves[i].vm].host = (int)r->moves[i].to;
}

const char *rebal_phase_name(enum rebal_phase ph)
{
	static const char *const name[] = {
		[REBAL_REPAIR] = "repair",
		[REBAL_EVACUATE] = "evacuate",
		[REBAL_BALANCE] = "balance",
		[REBAL_EMPTY] = "empty",
	};

	return (size_t)ph < FC_ARRAY_LEN(name) ? name[ph] : "?";
}

/* A new object {"vm": vm, key: host} at the end of array a; NULL when
 * out of memory. */
static cJSON *json_vm_item(cJSON *a, const char *vm, const char *key,
			   const char *host)
{
	cJSON *it = cJSON_CreateObject();

	if (it == NULL || !cJSON_AddItemToArray(a, it)) {
		cJSON_Delete(it);
		return NULL;
	}
	if (cJSON_AddStringToObject(it, "vm", vm) == NULL ||
	    cJSON_AddStringToObject(it, key, host) == NULL)
		return NULL;
	return it;
}

cJSON *rebal_result_to_json(const struct sched_problem *p,
			    const struct rebal_opts *o,
			    const struct rebal_result *r)
{
	cJSON *root = cJSON_CreateObject(), *a, *it = NULL;
	size_t i;

	if (root == NULL)
		return NULL;
	if (cJSON_AddStringToObject(root, "metric", r->metric) == NULL ||
	    cJSON_AddStringToObject(root, "policy",
				    o->policy == REBAL_PACK ? "pack" :
							      "spread") == NULL ||
	    cJSON_AddNumberToObject(root, "score_before", r->score_before) ==
		    NULL ||
	    cJSON_AddNumberToObject(root, "score_after", r->score_after) ==
		    NULL ||
	    cJSON_AddNumberToObject(root, "mib_moved", r->mib_moved) == NULL ||
	    cJSON_AddNumberToObject(root, "hosts_emptied",
				    (double)r->hosts_emptied) == NULL ||
	    cJSON_AddBoolToObject(root, "max_moves_reached",
				  r->max_moves_reached) == NULL)
		goto oom;
	a = cJSON_AddArrayToObject(root, "moves");
	if (a == NULL)
		goto oom;
	for (i = 0; i < r->nmoves; i++) {
		const struct rebal_move *m = &r->moves[i];

		it = json_vm_item(a, p->vms[m->vm].name, "from",
				  p->hosts[m->from].name);
		if (it == NULL ||
		    cJSON_AddStringToObject(it, "to", p->hosts[m->to].name) ==
			    NULL ||
		    cJSON_AddNumberToObject(it, "mem_mib", m->mem_mib) == NULL ||
		    cJSON_AddStringToObject(it, "phase",
					    rebal_phase_name(m->phase)) ==
			    NULL ||
		    cJSON_AddNumberToObject(it, "score_before",
					    m->score_before) == NULL ||
		    cJSON_AddNumberToObject(it, "score_after", m->score_after) ==
			    NULL)
			goto oom;
	}
	a = cJSON_AddArrayToObject(root, "violations");
	if (a == NULL)
		goto oom;
	for (i = 0; i < r->nviolations; i++) {
		const struct rebal_violation *v = &r->violations[i];

		it = json_vm_item(a, p->vms[v->vm].name, "host",
				  p->hosts[v->host].name);
		if (it == NULL ||
		    cJSON_AddStringToObject(it, "constraint",
					    sched_reason_name(v->code)) ==
			    NULL ||
		    cJSON_AddStringToObject(it, "reason", v->reason) == NULL ||
		    cJSON_AddBoolToObject(it, "repaired", v->repaired) == NULL)
			goto oom;
	}
	a = cJSON_AddArrayToObject(root, "unresolved");
	if (a == NULL)
		goto oom;
	for (i = 0; i < r->nunresolved; i++) {
		it = cJSON_CreateString(r->unresolved[i]);
		if (it == NULL || !cJSON_AddItemToArray(a, it))
			goto oom_it;
	}
	return root;
oom_it:
	cJSON_Delete(it);
oom:
	cJSON_Delete(root);
	return NULL;
}

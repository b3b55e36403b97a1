/*
 * place_one.c - the single-VM fast path (see place.h): every host through
 * sched_state_check_code(), the best by place_host_score(), and when none
 * fits a message that says which constraint excluded how many hosts.
 */
#include <math.h>

#include "common/fc.h"

#include "scheduler/place_int.h"
#include "scheduler/problem.h"

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
double place_host_score(const struct sched_state *s,
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
		sc = place_host_score(s, p, vm, h);
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

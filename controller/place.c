#include "common/err.h"
#include "common/util.h"
#include "controller/model.h"
#include "controller/place.h"
#include "scheduler/place.h"
#include "scheduler/state.h"

/* A refusal names the degraded hosts the model left out (as down): the
 * target's reason alone when it is degraded, else each one after why.
 * -1 with err_set() on a database error. */
static int degraded_why(struct store *st, const char *target, char *why,
			size_t whysize)
{
	char note[512];
	size_t len;
	int n = model_degraded(st, target, note, sizeof(note));

	if (n <= 0)
		return n;
	len = strlen(why);
	if (target)
		snprintf(why, whysize, "%s: only healthy hosts take VMs",
			 note);
	else if (len + 1 < whysize)
		snprintf(why + len, whysize - len, "; %s", note);
	return 0;
}

/* Place the VM of r on the tenant-scope model (model.h): on the best host
 * when target is NULL, else on target, which is only checked. 0 with the
 * host's name in host and its pool's in pool (each may be NULL); 1 with
 * why; -1 with err_set(). */
static int place(struct store *st, const struct place_request *r,
		 const char *target, char *host, size_t hostsize, char *pool,
		 size_t poolsize, char *why, size_t whysize)
{
	struct model_scope sc;
	struct model m;
	struct sched_state *s = NULL;
	int rc, h;

	memset(&sc, 0, sizeof(sc));
	sc.kind = MODEL_SCOPE_TENANT;
	sc.tenant = r->tenant;
	sc.group = r->group;
	sc.pool = r->pool;
	sc.exclude_host = r->exclude_host;
	sc.ifaces = r->ifaces;
	sc.nifaces = r->nifaces;
	sc.vlan = r->vlan;
	for (int d = 0; d < DIM_COUNT; d++)
		sc.req[d] = r->req[d];
	rc = model_load(st, &sc, &m, why, whysize);
	if (rc != 0)
		goto out;
	s = sched_state_new(m.p);
	if (s == NULL) {
		rc = -1;
		goto out;
	}
	if (target == NULL) {
		h = sched_place_one(s, (size_t)m.placing, why, whysize);
	} else {
		h = model_host(&m, target);
		if (h < 0)
			snprintf(why, whysize, "host '%s' does not exist",
				 target);
		else if (sched_state_check(s, (size_t)m.placing, (size_t)h,
					   why, whysize) < 0)
			h = -1;
	}
	if (h < 0) {
		rc = degraded_why(st, target, why, whysize) < 0 ? -1 : 1;
		goto out;
	}
	if (host)
		str_copy(host, hostsize, m.p->hosts[h].name);
	if (pool)
		str_copy(pool, poolsize, m.p->pools[m.p->hosts[h].pool].name);
out:
	sched_state_free(s);
	model_free(&m);
	return rc;
}

int place_vm(struct store *st, const struct place_request *r, char *host,
	     size_t hostsize, char *pool, size_t poolsize, char *why,
	     size_t whysize)
{
	return place(st, r, NULL, host, hostsize, pool, poolsize, why,
		     whysize);
}

int place_check(struct store *st, const struct place_request *r,
		const char *target, char *why, size_t whysize)
{
	return place(st, r, target, NULL, 0, NULL, 0, why, whysize);
}

int place_leave_check(struct store *st, const char *host, char *why,
		      size_t whysize)
{
	char note[768];
	int n = model_degraded(st, host, note, sizeof(note));

	if (n <= 0)
		return n;
	snprintf(why, whysize, "%s: a degraded host's VMs stay where they "
		 "are until its agent reports it healthy; repair what the "
		 "reason names on '%s' (see 'finctl host show %s'), then "
		 "retry", note, host, host);
	return 1;
}

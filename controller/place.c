#include <sqlite3.h>

#include "common/err.h"
#include "common/util.h"
#include "controller/place.h"
#include "controller/store.h"
#include "scheduler/place.h"
#include "scheduler/problem.h"
#include "scheduler/state.h"

/* Index of the object called name in an array of sched_pool, sched_host
 * or sched_tenant (each starts with its name), or -1. */
static int find_name(const void *base, size_t stride, size_t n,
		     const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp((const char *)base + i * stride, name) == 0)
			return (int)i;
	return -1;
}

#define FIND(arr, n, nm) find_name((arr), sizeof(*(arr)), (n), (nm))

static int step_err(struct store *st, sqlite3_stmt *s, const char *what)
{
	sqlite3_reset(s);
	return store_err(st, what);
}

static bool csv_has(const char *csv, const char *item)
{
	size_t len = strlen(item);

	while (*csv) {
		size_t l = strcspn(csv, ",");

		if (l == len && memcmp(csv, item, len) == 0)
			return true;
		csv += l + (csv[l] == ',');
	}
	return false;
}

static int grow(void **arr, size_t *alloc, size_t n, size_t size)
{
	if (n < *alloc)
		return 0;
	size_t na = *alloc ? *alloc * 2 : 16;
	void *p = realloc(*arr, na * size);

	if (p == NULL)
		return err_set("out of memory for placement");
	memset((char *)p + *alloc * size, 0, (na - *alloc) * size);
	*arr = p;
	*alloc = na;
	return 0;
}

/* Build the problem; the last VM is the one to place. *why_out is set (and
 * 1 returned) when the tenant may use no pool at all. */
static int build(struct store *st, const struct place_request *r,
		 struct sched_problem **out, char *why, size_t whysize)
{
	struct sched_problem *p = sched_problem_new();
	size_t ap = 0, ah = 0, at = 0, av = 0, ac = 0;
	char **compliance = NULL;
	bool *allowed = NULL;
	char cls[128] = "";
	sqlite3_stmt *s;
	int ret = -1, t, rc;

	if (p == NULL)
		return -1;
	s = store_stmt(st, "SELECT name, ratio_vcpus, ratio_mem, ratio_disk, "
			   "policy, compliance FROM pools ORDER BY name");
	if (s == NULL)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct sched_pool *pl;

		if (grow((void **)&p->pools, &ap, p->npools, sizeof(*p->pools)) < 0 ||
		    grow((void **)&compliance, &ac, p->npools,
			 sizeof(*compliance)) < 0) {
			sqlite3_reset(s);
			goto out;
		}
		pl = &p->pools[p->npools];
		str_copy(pl->name, sizeof(pl->name), store_col_text(s, 0));
		for (int d = 0; d < DIM_COUNT; d++)
			pl->ratio[d] = sqlite3_column_double(s, 1 + d);
		pl->policy = strcmp(store_col_text(s, 4), "spread") == 0
				     ? POLICY_SPREAD
				     : POLICY_PACK;
		compliance[p->npools] = strdup(store_col_text(s, 5));
		if (compliance[p->npools] == NULL) {
			sqlite3_reset(s);
			err_set("out of memory");
			goto out;
		}
		p->npools++;
	}
	if (rc != SQLITE_DONE) {
		step_err(st, s, "reading the pools");
		goto out;
	}
	sqlite3_reset(s);

	s = store_stmt(st, "SELECT name, pool, vcpus, mem_mib, disk_gib, cost, "
			   "availability, state, maintenance FROM hosts "
			   "ORDER BY name");
	if (s == NULL)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct sched_host *h;
		const char *name = store_col_text(s, 0);

		if (grow((void **)&p->hosts, &ah, p->nhosts, sizeof(*p->hosts)) < 0) {
			sqlite3_reset(s);
			goto out;
		}
		h = &p->hosts[p->nhosts];
		str_copy(h->name, sizeof(h->name), name);
		h->pool = FIND(p->pools, p->npools, store_col_text(s, 1));
		for (int d = 0; d < DIM_COUNT; d++)
			h->cap[d] = (double)sqlite3_column_int64(s, 2 + d);
		h->cost = sqlite3_column_double(s, 5);
		h->availability = sqlite3_column_double(s, 6);
		if (strcmp(store_col_text(s, 7), "up") != 0)
			h->state = HOST_DOWN;
		else if (sqlite3_column_int(s, 8) ||
			 (r->exclude_host && strcmp(r->exclude_host, name) == 0))
			h->state = HOST_MAINTENANCE;
		else
			h->state = HOST_UP;
		if (h->pool < 0)
			h->pool = 0;
		p->nhosts++;
	}
	if (rc != SQLITE_DONE) {
		step_err(st, s, "reading the hosts");
		goto out;
	}
	sqlite3_reset(s);

	s = store_stmt(st, "SELECT name, isolation, compliance_class FROM "
			   "tenants ORDER BY name");
	if (s == NULL)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct sched_tenant *tn;

		if (grow((void **)&p->tenants, &at, p->ntenants,
			 sizeof(*p->tenants)) < 0) {
			sqlite3_reset(s);
			goto out;
		}
		tn = &p->tenants[p->ntenants];
		str_copy(tn->name, sizeof(tn->name), store_col_text(s, 0));
		tn->isolation = strcmp(store_col_text(s, 1), "dedicated") == 0
					? ISOLATION_DEDICATED
					: ISOLATION_SHARED;
		if (strcmp(tn->name, r->tenant) == 0)
			str_copy(cls, sizeof(cls), store_col_text(s, 2));
		p->ntenants++;
	}
	if (rc != SQLITE_DONE) {
		step_err(st, s, "reading the tenants");
		goto out;
	}
	sqlite3_reset(s);
	t = FIND(p->tenants, p->ntenants, r->tenant);
	if (t < 0) {
		err_set("tenant '%s' does not exist", r->tenant);
		goto out;
	}

	/* the requesting tenant's pools: its list (or all) that admit its
	 * compliance class, narrowed to r->pool */
	{
		struct sched_tenant *tn = &p->tenants[t];
		bool listed = false;

		tn->pools = calloc(p->npools + 1, sizeof(int));
		allowed = calloc(p->npools + 1, sizeof(*allowed));
		if (tn->pools == NULL || allowed == NULL) {
			err_set("out of memory");
			goto out;
		}
		s = store_stmt(st, "SELECT pool FROM tenant_pools WHERE tenant = ?");
		if (s == NULL)
			goto out;
		store_bind_text(s, 1, r->tenant);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			int pi = FIND(p->pools, p->npools, store_col_text(s, 0));

			listed = true;
			if (pi >= 0)
				allowed[pi] = true;
		}
		if (rc != SQLITE_DONE) {
			step_err(st, s, "reading the tenant's pools");
			goto out;
		}
		sqlite3_reset(s);
		for (size_t i = 0; i < p->npools; i++) {
			if (listed && !allowed[i])
				continue;
			if (compliance[i][0] && !csv_has(compliance[i], cls))
				continue;
			if (r->pool && strcmp(r->pool, p->pools[i].name) != 0)
				continue;
			tn->pools[tn->npools++] = (int)i;
		}
		if (tn->npools == 0) {
			snprintf(why, whysize,
				 "tenant '%s' (compliance class '%s') may use "
				 "no pool%s%s%s: allow it a pool whose "
				 "compliance classes include '%s'",
				 r->tenant, cls, r->pool ? " named '" : "",
				 r->pool ? r->pool : "", r->pool ? "'" : "", cls);
			ret = 1;
			goto out;
		}
	}

	if (r->group) {
		p->groups = calloc(1, sizeof(*p->groups));
		if (p->groups == NULL) {
			err_set("out of memory");
			goto out;
		}
		s = store_stmt(st, "SELECT policy FROM groups WHERE name = ?");
		if (s == NULL)
			goto out;
		store_bind_text(s, 1, r->group);
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW) {
			if (rc == SQLITE_DONE) {
				sqlite3_reset(s);
				err_set("group '%s' does not exist", r->group);
			} else {
				step_err(st, s, "reading the group");
			}
			goto out;
		}
		str_copy(p->groups[0].name, sizeof(p->groups[0].name), r->group);
		p->groups[0].tenant = t;
		p->groups[0].policy = strcmp(store_col_text(s, 0), "affinity") == 0
					      ? GROUP_AFFINITY
					      : GROUP_ANTI_AFFINITY;
		/* targets are for whole-group plans; one VM at a time is
		 * placed against the hard constraints only */
		p->groups[0].availability = 0;
		p->ngroups = 1;
		sqlite3_reset(s);
	}

	/* existing claims, summed per host, tenant and membership of r->group,
	 * plus the claims of migrations in flight on their targets. A
	 * migrating VM's own claim stays on its source, which is excluded
	 * from the choice anyway. */
	s = store_stmt(st, "SELECT host, tenant, grp = ?1, total(vcpus), "
			   "total(mem_mib), total(disk_gib) FROM claims "
			   "GROUP BY 1, 2, 3 UNION ALL "
			   "SELECT target_host, tenant, 0, total(vcpus), "
			   "total(mem_mib), total(disk_gib) FROM tasks WHERE "
			   "type = 'migrate' AND state IN ('pending','running') "
			   "GROUP BY 1, 2");
	if (s == NULL)
		goto out;
	store_bind_text(s, 1, r->group);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct sched_vm *v;
		int h = FIND(p->hosts, p->nhosts, store_col_text(s, 0));
		int tt = FIND(p->tenants, p->ntenants, store_col_text(s, 1));

		if (h < 0 || tt < 0)
			continue;
		if (grow((void **)&p->vms, &av, p->nvms, sizeof(*p->vms)) < 0) {
			sqlite3_reset(s);
			goto out;
		}
		v = &p->vms[p->nvms];
		snprintf(v->name, sizeof(v->name), "claims-%zu", p->nvms);
		v->tenant = tt;
		v->group = sqlite3_column_int(s, 2) ? 0 : -1;
		for (int d = 0; d < DIM_COUNT; d++)
			v->req[d] = sqlite3_column_double(s, 3 + d);
		v->host = h;
		p->nvms++;
	}
	if (rc != SQLITE_DONE) {
		step_err(st, s, "reading the claims");
		goto out;
	}
	sqlite3_reset(s);
	if (grow((void **)&p->vms, &av, p->nvms, sizeof(*p->vms)) < 0)
		goto out;
	{
		struct sched_vm *v = &p->vms[p->nvms];

		snprintf(v->name, sizeof(v->name), "new VM of '%s'", r->tenant);
		v->tenant = t;
		v->group = r->group ? 0 : -1;
		for (int d = 0; d < DIM_COUNT; d++)
			v->req[d] = r->req[d];
		v->host = -1;
		p->nvms++;
	}
	*out = p;
	p = NULL;
	ret = 0;
out:
	for (size_t i = 0; i < ac; i++)
		free(compliance[i]);
	free(compliance);
	free(allowed);
	sched_problem_free(p);
	return ret;
}

int place_vm(struct store *st, const struct place_request *r, char *host,
	     size_t hostsize, char *why, size_t whysize)
{
	struct sched_problem *p = NULL;
	struct sched_state *s = NULL;
	int rc, h;

	rc = build(st, r, &p, why, whysize);
	if (rc != 0)
		return rc;
	s = sched_state_new(p);
	if (s == NULL) {
		sched_problem_free(p);
		return -1;
	}
	h = sched_place_one(s, p->nvms - 1, why, whysize);
	if (h >= 0) {
		str_copy(host, hostsize, p->hosts[h].name);
		rc = 0;
	} else {
		rc = 1;
	}
	sched_state_free(s);
	sched_problem_free(p);
	return rc;
}

int place_check(struct store *st, const struct place_request *r,
		const char *target, char *why, size_t whysize)
{
	struct sched_problem *p = NULL;
	struct sched_state *s = NULL;
	int rc, h;

	rc = build(st, r, &p, why, whysize);
	if (rc != 0)
		return rc;
	h = FIND(p->hosts, p->nhosts, target);
	if (h < 0) {
		snprintf(why, whysize, "host '%s' does not exist", target);
		rc = 1;
		goto out;
	}
	s = sched_state_new(p);
	if (s == NULL) {
		rc = -1;
		goto out;
	}
	rc = sched_state_check(s, p->nvms - 1, (size_t)h, why, whysize) == 0 ? 0 : 1;
out:
	sched_state_free(s);
	sched_problem_free(p);
	return rc;
}

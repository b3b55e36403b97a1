#include "common/fc.h"

#include "common/err.h"
#include "scheduler/names.h"
#include "scheduler/problem.h"
#include "scheduler/state.h"

/* Tolerance of the capacity test, relative to the usable size: requests
 * are sums of doubles and must not fail on rounding. */
#define CAP_EPS 1e-9

struct group_host {
	int host;
	int count;
};

struct group_info {
	struct group_host *hosts; /* distinct hosts, capacity = size */
	int nhosts;
	int size;                 /* members */
	int placed;
};

struct sched_state {
	const struct sched_problem *p;
	int *where;                    /* per VM: host or -1 */
	double (*used)[DIM_COUNT];     /* per host */
	double (*usable)[DIM_COUNT];   /* per host: cap x ratio */
	int *nvms;                     /* per host */
	int *ded_vms;                  /* per host: VMs of dedicated tenants */
	int *ded_index;                /* per tenant: column in ded_count, -1 */
	int nded;
	int *ded_count;                /* nhosts x nded */
	unsigned char *pool_ok;        /* ntenants x npools */
	int **host_tags;               /* per host: tag ids */
	int **vm_tags;                 /* per VM: tag ids (-1: no host has it) */
	struct group_info *groups;
	double cost;
	size_t active;
};

const struct sched_problem *sched_state_problem(const struct sched_state *s)
{
	return s->p;
}

static void free_ids(int **ids, size_t n)
{
	if (ids == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

void sched_state_free(struct sched_state *s)
{
	if (s == NULL)
		return;
	free(s->where);
	free(s->used);
	free(s->usable);
	free(s->nvms);
	free(s->ded_vms);
	free(s->ded_index);
	free(s->ded_count);
	free(s->pool_ok);
	free_ids(s->host_tags, s->p->nhosts);
	free_ids(s->vm_tags, s->p->nvms);
	if (s->groups != NULL) {
		for (size_t g = 0; g < s->p->ngroups; g++)
			free(s->groups[g].hosts);
	}
	free(s->groups);
	free(s);
}

/* Intern tag strings: ids[i] gets one int per tag (NULL when none). */
static int tags_intern(struct sched_names *names, int *next, char **tags,
		       size_t n, bool add, int **out)
{
	*out = NULL;
	if (n == 0)
		return 0;
	*out = malloc(n * sizeof(**out));
	if (*out == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int id = sched_names_find(names, tags[i]);

		if (id < 0 && add) {
			if (sched_names_add(names, tags[i], *next, NULL) < 0)
				return -1;
			id = (*next)++;
		}
		(*out)[i] = id;
	}
	return 0;
}

static int state_tags(struct sched_state *s)
{
	const struct sched_problem *p = s->p;
	struct sched_names *names = sched_names_new(64);
	int next = 0, ret = -1;

	if (names == NULL)
		return -1;
	s->host_tags = calloc(p->nhosts + 1, sizeof(*s->host_tags));
	s->vm_tags = calloc(p->nvms + 1, sizeof(*s->vm_tags));
	if (s->host_tags == NULL || s->vm_tags == NULL)
		goto out;
	for (size_t h = 0; h < p->nhosts; h++) {
		if (tags_intern(names, &next, p->hosts[h].tags,
				p->hosts[h].ntags, true, &s->host_tags[h]) < 0)
			goto out;
	}
	for (size_t v = 0; v < p->nvms; v++) {
		if (tags_intern(names, &next, p->vms[v].tags, p->vms[v].ntags,
				false, &s->vm_tags[v]) < 0)
			goto out;
	}
	ret = 0;
out:
	sched_names_free(names);
	return ret;
}

struct sched_state *sched_state_new(const struct sched_problem *p)
{
	struct sched_state *s = calloc(1, sizeof(*s));
	size_t nh = p->nhosts, nv = p->nvms, i;

	if (s == NULL)
		goto oom;
	s->p = p;
	s->where = malloc((nv + 1) * sizeof(*s->where));
	s->used = calloc(nh + 1, sizeof(*s->used));
	s->usable = calloc(nh + 1, sizeof(*s->usable));
	s->nvms = calloc(nh + 1, sizeof(*s->nvms));
	s->ded_vms = calloc(nh + 1, sizeof(*s->ded_vms));
	s->ded_index = malloc((p->ntenants + 1) * sizeof(*s->ded_index));
	s->pool_ok = calloc(p->ntenants * p->npools + 1, 1);
	s->groups = calloc(p->ngroups + 1, sizeof(*s->groups));
	if (s->where == NULL || s->used == NULL || s->usable == NULL ||
	    s->nvms == NULL || s->ded_vms == NULL || s->ded_index == NULL ||
	    s->pool_ok == NULL || s->groups == NULL)
		goto oom;
	for (i = 0; i < p->ntenants; i++) {
		const struct sched_tenant *t = &p->tenants[i];

		s->ded_index[i] =
			t->isolation == ISOLATION_DEDICATED ? s->nded++ : -1;
		for (size_t k = 0; k < p->npools; k++)
			s->pool_ok[i * p->npools + k] = t->npools == 0;
		for (size_t k = 0; k < t->npools; k++)
			s->pool_ok[i * p->npools + (size_t)t->pools[k]] = 1;
	}
	s->ded_count = calloc(nh * (size_t)s->nded + 1, sizeof(*s->ded_count));
	if (s->ded_count == NULL)
		goto oom;
	for (i = 0; i < nh; i++) {
		const struct sched_host *h = &p->hosts[i];

		for (int d = 0; d < DIM_COUNT; d++)
			s->usable[i][d] = h->cap[d] * p->pools[h->pool].ratio[d];
	}
	for (i = 0; i < nv; i++) {
		s->where[i] = -1;
		if (p->vms[i].group >= 0)
			s->groups[p->vms[i].group].size++;
	}
	for (i = 0; i < p->ngroups; i++) {
		s->groups[i].hosts = malloc(((size_t)s->groups[i].size + 1) *
					    sizeof(*s->groups[i].hosts));
		if (s->groups[i].hosts == NULL)
			goto oom;
	}
	if (state_tags(s) < 0)
		goto oom;
	for (i = 0; i < nv; i++) {
		if (p->vms[i].host >= 0 && (size_t)p->vms[i].host < nh)
			sched_state_assign(s, i, (size_t)p->vms[i].host);
	}
	return s;
oom:
	sched_state_free(s);
	err_set("out of memory for the placement state of %zu hosts and %zu "
		"vms",
		nh, nv);
	return NULL;
}

struct sched_state *sched_state_clone(const struct sched_state *s)
{
	const struct sched_problem *p = s->p;
	struct sched_state *c = sched_state_new(p);

	if (c == NULL)
		return NULL;
	for (size_t v = 0; v < p->nvms; v++) {
		if (c->where[v] != s->where[v]) {
			if (s->where[v] < 0)
				sched_state_unassign(c, v);
			else
				sched_state_assign(c, v, (size_t)s->where[v]);
		}
	}
	return c;
}

static void group_add(struct group_info *g, int host, int delta)
{
	for (int i = 0; i < g->nhosts; i++) {
		if (g->hosts[i].host == host) {
			g->hosts[i].count += delta;
			if (g->hosts[i].count == 0)
				g->hosts[i] = g->hosts[--g->nhosts];
			return;
		}
	}
	/* delta > 0 here: a removal always finds its host. */
	g->hosts[g->nhosts].host = host;
	g->hosts[g->nhosts].count = delta;
	g->nhosts++;
}

static void account(struct sched_state *s, size_t vm, int host, int sign)
{
	const struct sched_problem *p = s->p;
	const struct sched_vm *v = &p->vms[vm];
	int ded = s->ded_index[v->tenant];

	for (int d = 0; d < DIM_COUNT; d++)
		s->used[host][d] += sign * v->req[d];
	if (sign > 0 && s->nvms[host]++ == 0) {
		s->cost += p->hosts[host].cost;
		s->active++;
	} else if (sign < 0 && --s->nvms[host] == 0) {
		s->cost -= p->hosts[host].cost;
		s->active--;
		/* Drop the rounding left by + and - of the same sizes. */
		for (int d = 0; d < DIM_COUNT; d++)
			s->used[host][d] = 0;
	}
	if (ded >= 0) {
		s->ded_vms[host] += sign;
		s->ded_count[(size_t)host * (size_t)s->nded + (size_t)ded] +=
			sign;
	}
	if (v->group >= 0) {
		group_add(&s->groups[v->group], host, sign);
		s->groups[v->group].placed += sign;
	}
}

void sched_state_unassign(struct sched_state *s, size_t vm)
{
	if (s->where[vm] < 0)
		return;
	account(s, vm, s->where[vm], -1);
	s->where[vm] = -1;
}

void sched_state_assign(struct sched_state *s, size_t vm, size_t host)
{
	if (s->where[vm] == (int)host)
		return;
	sched_state_unassign(s, vm);
	account(s, vm, (int)host, +1);
	s->where[vm] = (int)host;
}

int sched_state_host_of(const struct sched_state *s, size_t vm)
{
	return s->where[vm];
}

size_t sched_state_nvms(const struct sched_state *s, size_t host)
{
	return (size_t)s->nvms[host];
}

double sched_state_used(const struct sched_state *s, size_t host,
			enum sched_dim d)
{
	return s->used[host][d];
}

double sched_state_usable(const struct sched_state *s, size_t host,
			  enum sched_dim d)
{
	return s->usable[host][d];
}

double sched_state_headroom(const struct sched_state *s, size_t host,
			    enum sched_dim d)
{
	return s->usable[host][d] - s->used[host][d];
}

double sched_state_cost(const struct sched_state *s)
{
	return s->active == 0 ? 0 : s->cost;
}

size_t sched_state_active_hosts(const struct sched_state *s)
{
	return s->active;
}

double sched_state_group_availability(const struct sched_state *s,
				      size_t group)
{
	const struct group_info *g = &s->groups[group];
	double down = 1;

	if (g->nhosts == 0)
		return 0;
	for (int i = 0; i < g->nhosts; i++)
		down *= 1 - s->p->hosts[g->hosts[i].host].availability;
	return 1 - down;
}

size_t sched_state_group_placed(const struct sched_state *s, size_t group)
{
	return (size_t)s->groups[group].placed;
}

size_t sched_state_group_size(const struct sched_state *s, size_t group)
{
	return (size_t)s->groups[group].size;
}

void sched_state_write_back(const struct sched_state *s,
			    struct sched_problem *p)
{
	for (size_t v = 0; v < p->nvms; v++)
		p->vms[v].host = s->where[v];
}

static bool has_tags(const struct sched_state *s, size_t vm, size_t host,
		     int *missing)
{
	const struct sched_problem *p = s->p;
	const int *vt = s->vm_tags[vm], *ht = s->host_tags[host];
	size_t nh = p->hosts[host].ntags;

	for (size_t i = 0; i < p->vms[vm].ntags; i++) {
		size_t k = 0;

		while (k < nh && ht[k] != vt[i])
			k++;
		if (vt[i] < 0 || k == nh) {
			*missing = (int)i;
			return false;
		}
	}
	return true;
}

/* Availability check of a group with a target when vm moves to host. */
static bool avail_ok(const struct sched_state *s, size_t vm, size_t host)
{
	const struct sched_problem *p = s->p;
	const struct sched_vm *v = &p->vms[vm];
	const struct group_info *g = &s->groups[v->group];
	int cur = s->where[vm];
	double before = 1, after = 1;
	bool new_host = true;

	if (g->placed + (cur < 0 ? 1 : 0) < g->size)
		return true; /* not every member placed yet */
	for (int i = 0; i < g->nhosts; i++) {
		int h = g->hosts[i].host;
		int others = g->hosts[i].count - (h == cur ? 1 : 0);
		double down = 1 - p->hosts[h].availability;

		before *= down;
		if (h == (int)host) {
			new_host = false;
			after *= down;
		} else if (others > 0) {
			after *= down;
		}
	}
	if (new_host)
		after *= 1 - p->hosts[host].availability;
	if (1 - after >= p->groups[v->group].availability - 1e-12)
		return true;
	/* Already short with every member placed: allow what does not
	 * lower it further, so a repair can proceed step by step. */
	return g->placed == g->size && cur >= 0 && after <= before + 1e-15;
}

bool sched_state_compatible(const struct sched_state *s, size_t vm,
			    size_t host)
{
	const struct sched_problem *p = s->p;
	const struct sched_vm *v = &p->vms[vm];
	const struct sched_host *h = &p->hosts[host];
	int missing;

	if (h->state != HOST_UP && s->where[vm] != (int)host)
		return false;
	if (!s->pool_ok[(size_t)v->tenant * p->npools + (size_t)h->pool])
		return false;
	return v->ntags == 0 || has_tags(s, vm, host, &missing);
}

enum sched_reason sched_state_check_code(const struct sched_state *s,
					 size_t vm, size_t host, int *detail)
{
	const struct sched_problem *p = s->p;
	const struct sched_vm *v = &p->vms[vm];
	const struct sched_host *h = &p->hosts[host];
	int cur = s->where[vm];
	bool here = cur == (int)host;
	int dummy;

	if (detail == NULL)
		detail = &dummy;
	*detail = -1;
	if (h->state != HOST_UP && !here)
		return SCHED_X_STATE;
	if (!s->pool_ok[(size_t)v->tenant * p->npools + (size_t)h->pool])
		return SCHED_X_POOL;
	if (v->ntags > 0 && !has_tags(s, vm, host, detail))
		return SCHED_X_TAGS;
	{
		int ded = s->ded_index[v->tenant];
		int others = s->nvms[host] - (here ? 1 : 0);

		if (ded < 0) {
			if (s->ded_vms[host] > 0) {
				const int *row = &s->ded_count[host *
							       (size_t)s->nded];

				for (size_t t = 0; t < p->ntenants; t++) {
					if (s->ded_index[t] >= 0 &&
					    row[s->ded_index[t]] > 0) {
						*detail = (int)t;
						break;
					}
				}
				return SCHED_X_DEDICATED;
			}
		} else {
			int mine = s->ded_count[host * (size_t)s->nded +
						(size_t)ded] -
				   (here ? 1 : 0);

			if (others > mine)
				return SCHED_X_SHARED;
		}
	}
	if (v->group >= 0) {
		const struct group_info *g = &s->groups[v->group];
		const struct sched_group *pg = &p->groups[v->group];

		if (pg->policy == GROUP_ANTI_AFFINITY) {
			for (int i = 0; i < g->nhosts; i++) {
				if (g->hosts[i].host == (int)host &&
				    g->hosts[i].count - (here ? 1 : 0) > 0)
					return SCHED_X_ANTI_AFFINITY;
			}
		} else {
			for (int i = 0; i < g->nhosts; i++) {
				int gh = g->hosts[i].host;
				int others_g = g->hosts[i].count -
					       (gh == cur ? 1 : 0);

				if (gh != (int)host && others_g > 0) {
					*detail = gh;
					return SCHED_X_AFFINITY;
				}
			}
		}
	}
	for (int d = 0; d < DIM_COUNT; d++) {
		double used = s->used[host][d] - (here ? v->req[d] : 0);
		double usable = s->usable[host][d];
		double eps = CAP_EPS * (usable > 1 ? usable : 1);

		if (v->req[d] > 0 && used + v->req[d] > usable + eps) {
			*detail = d;
			return SCHED_X_CAPACITY;
		}
	}
	if (v->group >= 0 && p->groups[v->group].availability > 0 &&
	    p->groups[v->group].policy == GROUP_ANTI_AFFINITY &&
	    !avail_ok(s, vm, host))
		return SCHED_X_AVAILABILITY;
	return SCHED_OK;
}

const char *sched_reason_name(enum sched_reason code)
{
	static const char *const names[SCHED_X_COUNT] = {
		[SCHED_OK] = "ok",
		[SCHED_X_STATE] = "host state",
		[SCHED_X_POOL] = "pool",
		[SCHED_X_TAGS] = "tags",
		[SCHED_X_CAPACITY] = "capacity",
		[SCHED_X_DEDICATED] = "dedicated",
		[SCHED_X_SHARED] = "dedicated",
		[SCHED_X_ANTI_AFFINITY] = "anti-affinity",
		[SCHED_X_AFFINITY] = "affinity",
		[SCHED_X_AVAILABILITY] = "availability",
	};

	return code < SCHED_X_COUNT ? names[code] : "?";
}

static const char *dim_unit(int d)
{
	static const char *const units[DIM_COUNT] = {"vCPUs", "MiB of memory",
						     "GiB of disk"};

	return d >= 0 && d < DIM_COUNT ? units[d] : "?";
}

void sched_state_reason(const struct sched_state *s, size_t vm, size_t host,
			enum sched_reason code, int detail, char *why,
			size_t whysize)
{
	const struct sched_problem *p = s->p;
	const struct sched_vm *v = &p->vms[vm];
	const struct sched_host *h = &p->hosts[host];
	const char *hn = h->name;

	if (why == NULL || whysize == 0)
		return;
	switch (code) {
	case SCHED_OK:
		snprintf(why, whysize, "vm '%s' fits on host '%s'", v->name,
			 hn);
		break;
	case SCHED_X_STATE:
		snprintf(why, whysize,
			 "host '%s' is %s: only hosts that are up take vms", hn,
			 h->state == HOST_DOWN ? "down" : "in maintenance");
		break;
	case SCHED_X_POOL:
		snprintf(why, whysize, "tenant '%s' may not use pool '%s'",
			 p->tenants[v->tenant].name, p->pools[h->pool].name);
		break;
	case SCHED_X_TAGS:
		snprintf(why, whysize, "host '%s' does not carry tag '%s'", hn,
			 detail >= 0 && (size_t)detail < v->ntags
				 ? v->tags[detail]
				 : "?");
		break;
	case SCHED_X_CAPACITY: {
		int d = detail >= 0 && detail < DIM_COUNT ? detail : 0;
		double used = s->used[host][d] -
			      (s->where[vm] == (int)host ? v->req[d] : 0);

		snprintf(why, whysize,
			 "host '%s' has %g %s free (%g x ratio %g, %g used), "
			 "vm '%s' needs %g",
			 hn, s->usable[host][d] - used, dim_unit(d), h->cap[d],
			 p->pools[h->pool].ratio[d], used, v->name, v->req[d]);
		break;
	}
	case SCHED_X_DEDICATED:
		snprintf(why, whysize, "host '%s' is dedicated to tenant '%s'",
			 hn,
			 detail >= 0 ? p->tenants[detail].name : "(another)");
		break;
	case SCHED_X_SHARED:
		snprintf(why, whysize,
			 "tenant '%s' is dedicated and host '%s' runs vms of "
			 "other tenants",
			 p->tenants[v->tenant].name, hn);
		break;
	case SCHED_X_ANTI_AFFINITY:
		snprintf(why, whysize,
			 "host '%s' already runs a member of anti-affinity "
			 "group '%s'",
			 hn, p->groups[v->group].name);
		break;
	case SCHED_X_AFFINITY:
		snprintf(why, whysize,
			 "affinity group '%s' runs on host '%s', not '%s'",
			 p->groups[v->group].name,
			 detail >= 0 ? p->hosts[detail].name : "?", hn);
		break;
	case SCHED_X_AVAILABILITY:
		snprintf(why, whysize,
			 "group '%s' would stay below its availability target "
			 "%g with vm '%s' on host '%s' (availability %g)",
			 p->groups[v->group].name,
			 p->groups[v->group].availability, v->name, hn,
			 h->availability);
		break;
	case SCHED_X_COUNT:
		snprintf(why, whysize, "unknown reason");
		break;
	}
}

int sched_state_check(const struct sched_state *s, size_t vm, size_t host,
		      char *why, size_t whysize)
{
	int detail = -1;
	enum sched_reason code = sched_state_check_code(s, vm, host, &detail);

	if (code == SCHED_OK)
		return 0;
	sched_state_reason(s, vm, host, code, detail, why, whysize);
	return -1;
}

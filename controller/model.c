#include "common/err.h"
#include "common/util.h"
#include "controller/db.h"
#include "controller/model.h"
#include "controller/store.h"
#include "scheduler/problem.h"

/* One model_load() in progress. */
struct loader {
	struct store *st;
	const struct model_scope *sc;
	struct model *m;
	struct sched_problem *p;
	size_t apools, ahosts, atenants, agroups, avms, ameta, atpools;
	bool *degraded;   /* per host: down because its agent said degraded */
	size_t ndegraded, adegraded;
	char *note;       /* model_degraded(): its note, notesize bytes */
	size_t notesize;
	int nnote;
	char cls[SCHED_NAME_MAX]; /* tenant scope: the tenant's compliance
				     class */
	char listed[512]; /* tenant scope: the pools its list allows, "a,b" */
	bool unlisted;    /* the scope's pool exists but the tenant's list
			     leaves it out */
};

/* Append an element to *arr (*n elements of size bytes, *alloc of them
 * allocated, the room beyond *n zeroed) and count it: the new element,
 * zeroed, or NULL with err_set() when out of memory. */
static void *push(void **arr, size_t *n, size_t *alloc, size_t size)
{
	size_t na;
	void *p;

	if (*n >= *alloc) {
		na = *alloc ? *alloc * 2 : 16;
		p = realloc(*arr, na * size);
		if (p == NULL) {
			err_set("out of memory for the placement model");
			return NULL;
		}
		memset((char *)p + *alloc * size, 0, (na - *alloc) * size);
		*arr = p;
		*alloc = na;
	}
	return (char *)*arr + (*n)++ * size;
}

/* Index of name in an array of structs that start with their name, sorted
 * by name (the queries say ORDER BY name, which compares bytes as strcmp
 * does), or -1. */
static int find_sorted(const void *base, size_t stride, size_t n,
		       const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp((const char *)base + mid * stride, name);

		if (c == 0)
			return (int)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

#define FIND(arr, n, nm) find_sorted((arr), sizeof(*(arr)), (n), (nm))

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

/* Step s to its end, calling row on each row; s is reset in every case.
 * -1 with err_set() when row fails or the database does (`what` says
 * what was being read). */
static int each_row(struct loader *ld, struct db_stmt *s, const char *what,
		    int (*row)(struct loader *ld, struct db_stmt *s))
{
	int rc, ret = -1;

	while ((rc = db_step(s)) == DB_ROW)
		if (row(ld, s) < 0)
			goto out;
	if (rc != DB_DONE) {
		store_err(ld->st, what);
		goto out;
	}
	ret = 0;
out:
	db_reset(s);
	return ret;
}

/* The pool filter of the queries (?1): the pool in pool scope, else NULL
 * (a tenant's `pool` narrows its allowed pools, not what is read: the
 * other hosts count in the reasons placement gives). */
static const char *only_pool(const struct loader *ld)
{
	return ld->sc->kind == MODEL_SCOPE_POOL ? ld->sc->pool : NULL;
}

/* The next VM of the model and its store data, zeroed. */
static int add_vm(struct loader *ld, enum model_vm_kind kind,
		  struct sched_vm **v, struct model_vm **x)
{
	struct sched_problem *p = ld->p;
	size_t nmeta = p->nvms;

	*v = push((void **)&p->vms, &p->nvms, &ld->avms, sizeof(**v));
	if (*v == NULL)
		return -1;
	*x = push((void **)&ld->m->vm, &nmeta, &ld->ameta, sizeof(**x));
	if (*x == NULL) {
		p->nvms--;
		return -1;
	}
	(*x)->kind = kind;
	return 0;
}

/* ---------------------------------------------------------------- rows */

/* name, isolation, compliance_class */
static int tenant_row(struct loader *ld, struct db_stmt *s)
{
	struct sched_problem *p = ld->p;
	struct sched_tenant *tn = push((void **)&p->tenants, &p->ntenants,
				       &ld->atenants, sizeof(*tn));

	if (tn == NULL)
		return -1;
	str_copy(tn->name, sizeof(tn->name), store_col_text(s, 0));
	tn->isolation = strcmp(store_col_text(s, 1), "dedicated") == 0
				? ISOLATION_DEDICATED
				: ISOLATION_SHARED;
	if (ld->sc->kind == MODEL_SCOPE_TENANT &&
	    strcmp(tn->name, ld->sc->tenant) == 0) {
		ld->m->tenant = (int)p->ntenants - 1;
		str_copy(ld->cls, sizeof(ld->cls), store_col_text(s, 2));
	}
	return 0;
}

/* Whether the scope's tenant may use the pool of row s (pool_row). */
static bool pool_allowed(struct loader *ld, struct db_stmt *s)
{
	const char *name = store_col_text(s, 0);
	const char *compliance = store_col_text(s, 5);

	if (db_col_int(s, 6)) {
		size_t n = strlen(ld->listed);

		snprintf(ld->listed + n, sizeof(ld->listed) - n, "%s%s",
			 n ? "," : "", name);
	} else if (db_col_int(s, 7)) {
		/* the tenant has a list without this pool */
		if (ld->sc->pool && strcmp(ld->sc->pool, name) == 0)
			ld->unlisted = true;
		return false;
	}
	if (compliance[0] && !csv_has(compliance, ld->cls))
		return false;
	return ld->sc->pool == NULL || strcmp(ld->sc->pool, name) == 0;
}

/* name, ratio_vcpus, ratio_mem, ratio_disk, policy, compliance, whether
 * tenant_pools lists it for the tenant, whether it lists any pool for it */
static int pool_row(struct loader *ld, struct db_stmt *s)
{
	struct sched_problem *p = ld->p;
	struct sched_pool *pl = push((void **)&p->pools, &p->npools,
				     &ld->apools, sizeof(*pl));

	if (pl == NULL)
		return -1;
	str_copy(pl->name, sizeof(pl->name), store_col_text(s, 0));
	for (int d = 0; d < DIM_COUNT; d++)
		pl->ratio[d] = db_col_double(s, 1 + d);
	pl->policy = strcmp(store_col_text(s, 4), "spread") == 0
			     ? POLICY_SPREAD
			     : POLICY_PACK;
	if (ld->sc->kind == MODEL_SCOPE_TENANT && pool_allowed(ld, s)) {
		struct sched_tenant *tn = &p->tenants[ld->m->tenant];
		int *allowed = push((void **)&tn->pools, &tn->npools,
				    &ld->atpools, sizeof(*allowed));

		if (allowed == NULL)
			return -1;
		*allowed = (int)p->npools - 1;
	}
	return 0;
}

/* Whether the host's reported interfaces (the JSON array of names the
 * agent sent, text) hold every interface the scope's VM needs. */
static bool has_ifaces(const struct model_scope *sc, const char *text)
{
	for (size_t i = 0; i < sc->nifaces; i++) {
		char quoted[24];

		/* names have no quote (netstate_ifname_check()) */
		snprintf(quoted, sizeof(quoted), "\"%s\"", sc->ifaces[i]);
		if (strstr(text, quoted) == NULL)
			return false;
	}
	return true;
}

/* Append tag to (*tags, *n): 0, or -1 with err_set(). */
static int tag_add(char ***tags, size_t *n, const char *tag)
{
	char **t = realloc(*tags, (*n + 1) * sizeof(**tags));

	if (t == NULL)
		return err_set("out of memory");
	*tags = t;
	t[*n] = strdup(tag);
	if (t[*n] == NULL)
		return err_set("out of memory");
	(*n)++;
	return 0;
}

/* The tags of what provider networks need, shared by hosts and VMs so
 * that the scheduler's tag rule (a host carries every tag of its VMs)
 * keeps a VM on hosts that can bridge its networks: "if:NAME" for a node
 * interface, MODEL_TAG_8021Q for VLAN links. */
#define MODEL_TAG_8021Q "8021q"

/* Pool scope: tags of a host from its reported interfaces (the JSON
 * array text, "" when never reported) and its vlan_capable (1: yes). */
static int host_tags(struct sched_host *h, const char *ifaces, int vlan)
{
	cJSON *arr = ifaces[0] ? cJSON_Parse(ifaces) : NULL, *it;
	char tag[64];
	int ret = 0;

	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it))
			continue;
		snprintf(tag, sizeof(tag), "if:%s", it->valuestring);
		if ((ret = tag_add(&h->tags, &h->ntags, tag)) < 0)
			break;
	}
	cJSON_Delete(arr);
	if (ret == 0 && vlan == 1)
		ret = tag_add(&h->tags, &h->ntags, MODEL_TAG_8021Q);
	return ret;
}

/* Pool scope: tags of a VM from its provider networks' "IFACE" or
 * "IFACE vlan" entries, comma-separated (text; "" when it has none). */
static int vm_tags(struct sched_vm *v, const char *text)
{
	char tag[64];

	while (*text) {
		size_t len = strcspn(text, ",");
		size_t sp = strcspn(text, " ");

		snprintf(tag, sizeof(tag), "if:%.*s",
			 (int)(sp < len ? sp : len), text);
		if (tag_add(&v->tags, &v->ntags, tag) < 0 ||
		    (sp < len && tag_add(&v->tags, &v->ntags,
					 MODEL_TAG_8021Q) < 0))
			return -1;
		text += len + (text[len] == ',');
	}
	return 0;
}

/* name, pool, vcpus, mem_mib, disk_gib, cost, availability, state,
 * maintenance, status, interfaces, vlan_capable. A degraded host (its agent
 * says it cannot run VMs) counts as down: it takes no VM, and its VMs stay
 * where they are. Tenant scope: a host without the interfaces the new
 * VM's provider networks need counts as in maintenance; pool scope: the
 * host carries them as tags (host_tags()). */
static int host_row(struct loader *ld, struct db_stmt *s)
{
	struct sched_problem *p = ld->p;
	const char *xh = ld->sc->exclude_host;
	struct sched_host *h = push((void **)&p->hosts, &p->nhosts,
				    &ld->ahosts, sizeof(*h));
	bool *deg;

	if (h == NULL)
		return -1;
	str_copy(h->name, sizeof(h->name), store_col_text(s, 0));
	h->pool = FIND(p->pools, p->npools, store_col_text(s, 1));
	if (h->pool < 0)
		h->pool = 0;
	for (int d = 0; d < DIM_COUNT; d++)
		h->cap[d] = (double)db_col_int64(s, 2 + d);
	h->cost = db_col_double(s, 5);
	h->availability = db_col_double(s, 6);
	deg = push((void **)&ld->degraded, &ld->ndegraded, &ld->adegraded,
		   sizeof(*deg));
	if (deg == NULL)
		return -1;
	*deg = strcmp(store_col_text(s, 9), "degraded") == 0;
	if (strcmp(store_col_text(s, 7), "up") != 0 || *deg)
		h->state = HOST_DOWN;
	else if (db_col_int(s, 8) || (xh && strcmp(xh, h->name) == 0) ||
		 !has_ifaces(ld->sc, store_col_text(s, 10)) ||
		 (ld->sc->vlan && db_col_int(s, 11) != 1))
		h->state = HOST_MAINTENANCE;
	else
		h->state = HOST_UP;
	if (ld->sc->kind == MODEL_SCOPE_POOL &&
	    host_tags(h, store_col_text(s, 10), db_col_int(s, 11)) < 0)
		return -1;
	return 0;
}

/* name, tenant, policy, availability */
static int group_row(struct loader *ld, struct db_stmt *s)
{
	struct sched_problem *p = ld->p;
	struct sched_group *g = push((void **)&p->groups, &p->ngroups,
				     &ld->agroups, sizeof(*g));

	if (g == NULL)
		return -1;
	str_copy(g->name, sizeof(g->name), store_col_text(s, 0));
	g->policy = strcmp(store_col_text(s, 2), "affinity") == 0
			    ? GROUP_AFFINITY
			    : GROUP_ANTI_AFFINITY;
	if (ld->sc->kind == MODEL_SCOPE_TENANT) {
		/* the group of the VM to place, which is its tenant's */
		g->tenant = ld->m->tenant;
		g->availability = 0;
	} else {
		g->tenant = FIND(p->tenants, p->ntenants, store_col_text(s, 1));
		if (g->tenant < 0)
			g->tenant = 0;
		g->availability = db_col_double(s, 3);
	}
	return 0;
}

/* host, tenant, whether of the scope's group, vcpus, mem_mib, disk_gib */
static int claims_row(struct loader *ld, struct db_stmt *s)
{
	struct sched_problem *p = ld->p;
	int h = FIND(p->hosts, p->nhosts, store_col_text(s, 0));
	int t = FIND(p->tenants, p->ntenants, store_col_text(s, 1));
	struct sched_vm *v;
	struct model_vm *x;

	if (h < 0 || t < 0)
		return 0;
	if (add_vm(ld, MODEL_VM_CLAIMS, &v, &x) < 0)
		return -1;
	snprintf(v->name, sizeof(v->name), "claims-%zu", p->nvms - 1);
	str_copy(x->tenant, sizeof(x->tenant), p->tenants[t].name);
	x->fixed = "it stands for the claims of several VMs";
	v->tenant = t;
	v->group = db_col_int(s, 2) ? 0 : -1;
	for (int d = 0; d < DIM_COUNT; d++)
		v->req[d] = db_col_double(s, 3 + d);
	v->host = h;
	return 0;
}

/* id, name, tenant, grp, vcpus, mem_mib, disk_gib, host, state, desired,
 * its migrate and reboot tasks in progress, its provider networks'
 * interfaces (vm_tags()) */
static int stored_vm_row(struct loader *ld, struct db_stmt *s)
{
	struct sched_problem *p = ld->p;
	const char *desired = store_col_text(s, 9);
	struct sched_vm *v;
	struct model_vm *x;

	if (add_vm(ld, MODEL_VM_STORED, &v, &x) < 0)
		return -1;
	str_copy(x->id, sizeof(x->id), store_col_text(s, 0));
	str_copy(x->name, sizeof(x->name), store_col_text(s, 1));
	str_copy(x->tenant, sizeof(x->tenant), store_col_text(s, 2));
	str_copy(v->name, sizeof(v->name), x->id);
	v->tenant = FIND(p->tenants, p->ntenants, x->tenant);
	if (v->tenant < 0)
		v->tenant = 0;
	v->group = db_col_type(s, 3) == DB_NULL
			   ? -1
			   : FIND(p->groups, p->ngroups, store_col_text(s, 3));
	for (int d = 0; d < DIM_COUNT; d++)
		v->req[d] = (double)db_col_int64(s, 4 + d);
	if (vm_tags(v, store_col_text(s, 11)) < 0)
		return -1;
	v->host = FIND(p->hosts, p->nhosts, store_col_text(s, 7));
	if (strcmp(desired, "deleted") == 0)
		x->fixed = "it is being deleted";
	else if (v->host >= 0 && p->hosts[v->host].state == HOST_DOWN)
		x->fixed = ld->degraded[v->host] ? "its host is degraded"
						 : "its host is down";
	else if (db_col_int(s, 10) > 0)
		x->fixed = "it has a task in progress";
	else if (strcmp(store_col_text(s, 8), "running") != 0 ||
		 strcmp(desired, "running") != 0)
		x->fixed = "it is not running (only running VMs move live)";
	return 0;
}

/* vm_id, tenant, vcpus, mem_mib, disk_gib, target_host */
static int inflight_row(struct loader *ld, struct db_stmt *s)
{
	struct sched_problem *p = ld->p;
	int h = FIND(p->hosts, p->nhosts, store_col_text(s, 5));
	int t = FIND(p->tenants, p->ntenants, store_col_text(s, 1));
	struct sched_vm *v;
	struct model_vm *x;

	if (h < 0 || t < 0)
		return 0;
	if (add_vm(ld, MODEL_VM_INFLIGHT, &v, &x) < 0)
		return -1;
	snprintf(v->name, sizeof(v->name), "inflight:%s", store_col_text(s, 0));
	str_copy(x->id, sizeof(x->id), store_col_text(s, 0));
	str_copy(x->tenant, sizeof(x->tenant), p->tenants[t].name);
	x->fixed = "it is migrating";
	v->tenant = t;
	v->group = -1;
	for (int d = 0; d < DIM_COUNT; d++)
		v->req[d] = (double)db_col_int64(s, 2 + d);
	v->host = h;
	return 0;
}

/* ---------------------------------------------------------------- tables */

static int load_tenants(struct loader *ld)
{
	struct db_stmt *s = store_stmt(ld->st, "SELECT name, isolation, "
				     "compliance_class FROM tenants ORDER BY "
				     "name");

	if (s == NULL || each_row(ld, s, "reading the tenants", tenant_row) < 0)
		return -1;
	if (ld->sc->kind == MODEL_SCOPE_TENANT && ld->m->tenant < 0)
		return err_set("tenant '%s' does not exist", ld->sc->tenant);
	return 0;
}

/* 1 with why when the scope has no pool. */
static int load_pools(struct loader *ld, char *why, size_t whysize)
{
	const struct model_scope *sc = ld->sc;
	struct db_stmt *s;

	s = store_stmt(ld->st, "SELECT p.name, p.ratio_vcpus, p.ratio_mem, "
			       "p.ratio_disk, p.policy, p.compliance, "
			       "EXISTS(SELECT 1 FROM tenant_pools t WHERE "
			       "t.tenant = ?2 AND t.pool = p.name), "
			       "EXISTS(SELECT 1 FROM tenant_pools t WHERE "
			       "t.tenant = ?2) FROM pools p WHERE ?1 IS NULL "
			       "OR p.name = ?1 ORDER BY p.name");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, only_pool(ld));
	store_bind_text(s, 2, sc->kind == MODEL_SCOPE_TENANT ? sc->tenant
							     : NULL);
	if (each_row(ld, s, "reading the pools", pool_row) < 0)
		return -1;
	if (sc->kind == MODEL_SCOPE_POOL && ld->p->npools == 0) {
		snprintf(why, whysize, "pool '%s' does not exist", sc->pool);
		return 1;
	}
	if (ld->unlisted && ld->p->tenants[ld->m->tenant].npools == 0) {
		snprintf(why, whysize,
			 "tenant '%s' may use only its allowed pools (%s), "
			 "not '%s': allow it with 'finctl tenant update %s "
			 "--pools %s,%s'",
			 sc->tenant, ld->listed, sc->pool, sc->tenant,
			 ld->listed, sc->pool);
		return 1;
	}
	if (sc->kind == MODEL_SCOPE_TENANT &&
	    ld->p->tenants[ld->m->tenant].npools == 0) {
		snprintf(why, whysize,
			 "tenant '%s' (compliance class '%s') may use no "
			 "pool%s%s%s: allow it a pool whose compliance classes "
			 "include '%s'",
			 sc->tenant, ld->cls, sc->pool ? " named '" : "",
			 sc->pool ? sc->pool : "", sc->pool ? "'" : "", ld->cls);
		return 1;
	}
	return 0;
}

static int load_hosts(struct loader *ld)
{
	struct db_stmt *s = store_stmt(ld->st, "SELECT name, pool, vcpus, "
				     "mem_mib, disk_gib, cost, availability, "
				     "CASE WHEN ha_state IN ('failed','fenced') "
				     "THEN 'down' ELSE state END, maintenance, "
				     "status, "
				     "interfaces, vlan_capable FROM hosts "
				     "WHERE ?1 "
				     "IS NULL OR pool = ?1 ORDER BY name");

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, only_pool(ld));
	return each_row(ld, s, "reading the hosts", host_row);
}

/* Tenant scope: the VM's group, if any; pool scope: every group. */
static int load_groups(struct loader *ld)
{
	const struct model_scope *sc = ld->sc;
	struct db_stmt *s;

	if (sc->kind == MODEL_SCOPE_POOL) {
		s = store_stmt(ld->st, "SELECT name, tenant, policy, "
				       "availability FROM groups ORDER BY name");
		return s ? each_row(ld, s, "reading the groups", group_row) : -1;
	}
	if (sc->group == NULL)
		return 0;
	s = store_stmt1(ld->st, "SELECT name, tenant, policy, availability "
			        "FROM groups WHERE name = ?",
			        sc->group);
	if (s == NULL)
		return -1;
	if (each_row(ld, s, "reading the group", group_row) < 0)
		return -1;
	if (ld->p->ngroups == 0)
		return err_set("group '%s' does not exist", sc->group);
	return 0;
}

/* Tenant scope: the claims summed per host, tenant and membership of the
 * VM's group; pool scope: every VM on the pool's hosts. */
static int load_vms(struct loader *ld)
{
	struct db_stmt *s;

	if (ld->sc->kind == MODEL_SCOPE_TENANT) {
		s = store_stmt1(ld->st, "SELECT host, tenant, grp = ?1, "
				        "total(vcpus), total(mem_mib), "
				        "total(disk_gib) FROM claims GROUP BY "
				        "1, 2, 3",
				        ld->sc->group);
		if (s == NULL)
			return -1;
		return each_row(ld, s, "reading the claims", claims_row);
	}
	s = store_stmt1(ld->st, "SELECT v.id, v.name, v.tenant, v.grp, v.vcpus, "
			        "v.mem_mib, v.disk_gib, v.host, v.state, "
			        "v.desired, (SELECT count(*) FROM tasks t WHERE "
			        "t.vm_id = v.id AND t.type IN ('migrate',"
			        "'reboot') AND t.state IN ('pending',"
			        "'running')), (SELECT group_concat(n.interface "
			        "|| CASE WHEN n.provider = 'vlan' THEN ' vlan' "
			        "ELSE '' END, ',') FROM ports pt JOIN networks n "
			        "ON n.name = pt.network WHERE pt.vm_id = v.id AND "
			        "n.provider IS NOT NULL) FROM vms v JOIN hosts h "
			        "ON h.name = v.host WHERE h.pool = ? ORDER BY "
			        "v.seq",
			        ld->sc->pool);
	if (s == NULL)
		return -1;
	return each_row(ld, s, "reading the VMs", stored_vm_row);
}

static int load_inflight(struct loader *ld)
{
	struct db_stmt *s;

	s = store_stmt1(ld->st, "SELECT t.vm_id, t.tenant, t.vcpus, "
			        "t.mem_mib, t.disk_gib, t.target_host FROM "
			        "tasks t JOIN hosts h ON h.name = t.target_host "
			        "WHERE t.type = 'migrate' AND t.state IN "
			        "('pending','running') AND (?1 IS NULL OR "
			        "h.pool = ?1) ORDER BY t.seq",
			        only_pool(ld));
	if (s == NULL)
		return -1;
	return each_row(ld, s, "reading the migrations in flight",
			inflight_row);
}

static int add_new_vm(struct loader *ld)
{
	const struct model_scope *sc = ld->sc;
	struct sched_vm *v;
	struct model_vm *x;

	if (add_vm(ld, MODEL_VM_NEW, &v, &x) < 0)
		return -1;
	snprintf(v->name, sizeof(v->name), "new VM of '%s'", sc->tenant);
	str_copy(x->tenant, sizeof(x->tenant), sc->tenant);
	x->fixed = "it is not placed yet";
	v->tenant = ld->m->tenant;
	v->group = sc->group ? 0 : -1;
	for (int d = 0; d < DIM_COUNT; d++)
		v->req[d] = sc->req[d];
	v->host = -1;
	ld->m->placing = (int)ld->p->nvms - 1;
	return 0;
}

/* ---------------------------------------------------------------- API */

int model_load(struct store *st, const struct model_scope *scope,
	       struct model *out, char *why, size_t whysize)
{
	struct loader ld;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	memset(&ld, 0, sizeof(ld));
	out->tenant = -1;
	out->placing = -1;
	ld.st = st;
	ld.sc = scope;
	ld.m = out;
	ld.p = out->p = sched_problem_new();
	if (ld.p == NULL)
		goto out;
	/* tenants first: the tenant's compliance class decides its pools,
	 * and pools before hosts, hosts before what is placed on them */
	if (load_tenants(&ld) < 0)
		goto out;
	ret = load_pools(&ld, why, whysize);
	if (ret != 0)
		goto out;
	ret = -1;
	if (load_hosts(&ld) < 0 || load_groups(&ld) < 0 ||
	    load_vms(&ld) < 0)
		goto out;
	out->nstored = ld.p->nvms;
	if (load_inflight(&ld) < 0)
		goto out;
	if (scope->kind == MODEL_SCOPE_TENANT && add_new_vm(&ld) < 0)
		goto out;
	ret = 0;
out:
	free(ld.degraded);
	if (ret != 0)
		model_free(out);
	return ret;
}

void model_free(struct model *m)
{
	if (m == NULL)
		return;
	sched_problem_free(m->p);
	free(m->vm);
	memset(m, 0, sizeof(*m));
}

int model_host(const struct model *m, const char *name)
{
	return FIND(m->p->hosts, m->p->nhosts, name);
}

int model_stored_vm(const struct model *m, const char *id)
{
	for (size_t i = 0; i < m->nstored; i++)
		if (m->vm[i].kind == MODEL_VM_STORED &&
		    strcmp(m->vm[i].id, id) == 0)
			return (int)i;
	return -1;
}

/* name, degraded_reason: appended to ld->note, counted in ld->nnote */
static int degraded_row(struct loader *ld, struct db_stmt *s)
{
	size_t len = strlen(ld->note);

	if (len + 1 < ld->notesize)
		snprintf(ld->note + len, ld->notesize - len,
			 "%shost '%s' is degraded (%s)", ld->nnote ? "; " : "",
			 store_col_text(s, 0), store_col_text(s, 1));
	ld->nnote++;
	return 0;
}

int model_degraded(struct store *st, const char *host, char *note,
		   size_t notesize)
{
	struct loader ld;
	struct db_stmt *s;

	if (notesize)
		note[0] = '\0';
	memset(&ld, 0, sizeof(ld));
	ld.st = st;
	ld.note = note;
	ld.notesize = notesize;
	s = store_stmt1(st, "SELECT name, degraded_reason FROM hosts WHERE "
			    "state = 'up' AND status = 'degraded' AND (?1 IS "
			    "NULL OR name = ?1) ORDER BY name",
			    host);
	if (s == NULL)
		return -1;
	if (each_row(&ld, s, "reading the degraded hosts", degraded_row) < 0)
		return -1;
	return ld.nnote;
}

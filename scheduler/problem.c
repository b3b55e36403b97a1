#include <math.h>

#include "common/fc.h"

#include "common/err.h"
#include "common/json.h"
#include "common/util.h"
#include "scheduler/names.h"
#include "scheduler/problem.h"

/* Largest size accepted for any capacity or request. */
#define SIZE_MAX_VALUE 1e12
#define RATIO_MAX 1000.0

static const char *const dim_names[DIM_COUNT] = {"vcpus", "mem_mib",
						 "disk_gib"};
static const char *const ratio_keys[DIM_COUNT] = {"cpu_ratio", "mem_ratio",
						  "disk_ratio"};

const char *sched_dim_name(enum sched_dim d)
{
	return d < DIM_COUNT ? dim_names[d] : "?";
}

const char *sched_policy_name(enum sched_policy p)
{
	return p == POLICY_SPREAD ? "spread" : "pack";
}

const char *sched_host_state_name(enum host_state s)
{
	switch (s) {
	case HOST_UP:
		return "up";
	case HOST_MAINTENANCE:
		return "maintenance";
	case HOST_DOWN:
		return "down";
	}
	return "?";
}

const char *sched_isolation_name(enum isolation i)
{
	return i == ISOLATION_DEDICATED ? "dedicated" : "shared";
}

const char *sched_group_policy_name(enum group_policy p)
{
	return p == GROUP_AFFINITY ? "affinity" : "anti-affinity";
}

void sched_tags_free(char **tags, size_t n)
{
	if (tags == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(tags[i]);
	free(tags);
}

struct sched_problem *sched_problem_new(void)
{
	struct sched_problem *p = calloc(1, sizeof(*p));

	if (p == NULL)
		err_set("out of memory for a placement problem");
	return p;
}

void sched_problem_free(struct sched_problem *p)
{
	size_t i;

	if (p == NULL)
		return;
	free(p->pools);
	/* Counts may be set before their arrays (a failed parse). */
	for (i = 0; p->hosts != NULL && i < p->nhosts; i++)
		sched_tags_free(p->hosts[i].tags, p->hosts[i].ntags);
	free(p->hosts);
	for (i = 0; p->tenants != NULL && i < p->ntenants; i++)
		free(p->tenants[i].pools);
	free(p->tenants);
	free(p->groups);
	for (i = 0; p->vms != NULL && i < p->nvms; i++)
		sched_tags_free(p->vms[i].tags, p->vms[i].ntags);
	free(p->vms);
	if (p->htools != NULL && p->htools_free != NULL)
		p->htools_free(p->htools);
	free(p);
}

/* One string among `choices` (NULL-terminated); *out is its position. */
static int get_enum(const cJSON *obj, const char *path, const char *key,
		    const char *const *choices, int def, int *out)
{
	const char *s;
	char list[160];
	size_t len = 0;

	if (json_get_string(obj, path, key, false, NULL, &s) < 0)
		return -1;
	if (s == NULL) {
		*out = def;
		return 0;
	}
	for (int i = 0; choices[i] != NULL; i++) {
		if (strcmp(s, choices[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	for (int i = 0; choices[i] != NULL; i++) {
		int n = snprintf(list + len, sizeof(list) - len, "%s'%s'",
				 i > 0 ? ", " : "", choices[i]);
		if (n < 0 || (size_t)n >= sizeof(list) - len)
			break;
		len += (size_t)n;
	}
	list[len] = '\0';
	return err_set("%s.%s: unknown value '%s': use one of %s", path, key, s,
		       list);
}

/* The array section `key` of root (absent: empty), each element an
 * object. */
static int get_section(const cJSON *root, const char *key, bool required,
		       const cJSON **arr, size_t *n)
{
	if (json_get_array(root, "$", key, required, arr) < 0)
		return -1;
	*n = *arr != NULL ? (size_t)cJSON_GetArraySize(*arr) : 0;
	return 0;
}

/* name field of obj at path: valid and unique within names. */
static int get_name(const cJSON *obj, const char *path, const char *what,
		    struct sched_names *names, int index, char *out)
{
	const char *s;
	char whatbuf[JSON_PATH_MAX + 32];
	int prev = -1;
	int r;

	if (json_get_string(obj, path, "name", true, NULL, &s) < 0)
		return -1;
	snprintf(whatbuf, sizeof(whatbuf), "%s.name: %s", path, what);
	if (name_validate(whatbuf, s) < 0)
		return -1;
	r = sched_names_add(names, s, index, &prev);
	if (r < 0)
		return -1;
	if (r == 1)
		return err_set("%s.name: %s '%s' is defined twice (also at "
			       "index %d): names must be unique",
			       path, what, s, prev);
	str_copy(out, SCHED_NAME_MAX, s);
	return 0;
}

/* A reference by name to an object in names. */
static int get_ref(const cJSON *obj, const char *path, const char *key,
		   bool required, const char *what,
		   const struct sched_names *names, int *out)
{
	const char *s;
	int i;

	if (json_get_string(obj, path, key, required, NULL, &s) < 0)
		return -1;
	if (s == NULL) {
		*out = -1;
		return 0;
	}
	i = sched_names_find(names, s);
	if (i < 0)
		return err_set("%s.%s: unknown %s '%s': define it in the "
			       "'%ss' list first",
			       path, key, what, s, what);
	*out = i;
	return 0;
}

static int get_tags(const cJSON *obj, const char *path, char ***tags,
		    size_t *ntags)
{
	const cJSON *arr, *it;
	char **t = NULL;
	size_t n, i = 0;

	if (json_get_array(obj, path, "tags", false, &arr) < 0)
		return -1;
	*tags = NULL;
	*ntags = 0;
	if (arr == NULL)
		return 0;
	n = (size_t)cJSON_GetArraySize(arr);
	if (n == 0)
		return 0;
	t = calloc(n, sizeof(*t));
	if (t == NULL)
		return err_set("out of memory");
	cJSON_ArrayForEach(it, arr) {
		char got[80];

		if (!cJSON_IsString(it) || it->valuestring[0] == '\0' ||
		    strlen(it->valuestring) > NAME_MAX_LEN) {
			sched_tags_free(t, i);
			return err_set("%s.tags[%zu]: expected a tag of 1-%d "
				       "characters, got %s",
				       path, i, NAME_MAX_LEN,
				       json_describe(it, got, sizeof(got)));
		}
		t[i] = strdup(it->valuestring);
		if (t[i] == NULL) {
			sched_tags_free(t, i);
			return err_set("out of memory");
		}
		i++;
	}
	*tags = t;
	*ntags = n;
	return 0;
}

static int parse_pools(const cJSON *arr, struct sched_problem *p,
		       struct sched_names *names)
{
	static const char *const keys[] = {"name", "cpu_ratio", "mem_ratio",
					   "disk_ratio", "policy", NULL};
	static const char *const policies[] = {"pack", "spread", NULL};
	const cJSON *it;
	size_t i = 0;

	cJSON_ArrayForEach(it, arr) {
		struct sched_pool *pl = &p->pools[i];
		char path[JSON_PATH_MAX];
		int pol;

		json_path_index(path, sizeof(path), "$.pools", i);
		if (json_check_keys(it, path, keys) < 0 ||
		    get_name(it, path, "pool", names, (int)i, pl->name) < 0)
			return -1;
		for (int d = 0; d < DIM_COUNT; d++) {
			if (json_get_double(it, path, ratio_keys[d], false,
					    -INFINITY, INFINITY, 1.0,
					    &pl->ratio[d]) < 0)
				return -1;
			if (!(pl->ratio[d] > 0) || pl->ratio[d] > RATIO_MAX)
				return err_set("%s.%s: the overcommit ratio "
					       "must be > 0 and <= %g, got %g",
					       path, ratio_keys[d], RATIO_MAX,
					       pl->ratio[d]);
		}
		if (get_enum(it, path, "policy", policies, POLICY_PACK, &pol) <
		    0)
			return -1;
		pl->policy = (enum sched_policy)pol;
		i++;
	}
	return 0;
}

static int parse_hosts(const cJSON *arr, struct sched_problem *p,
		       struct sched_names *names,
		       const struct sched_names *pools)
{
	static const char *const keys[] = {"name", "pool", "vcpus", "mem_mib",
					   "disk_gib", "cost", "availability",
					   "tags", "state", NULL};
	static const char *const states[] = {"up", "maintenance", "down",
					     NULL};
	const cJSON *it;
	size_t i = 0;

	cJSON_ArrayForEach(it, arr) {
		struct sched_host *h = &p->hosts[i];
		char path[JSON_PATH_MAX];
		int st;

		json_path_index(path, sizeof(path), "$.hosts", i);
		if (json_check_keys(it, path, keys) < 0 ||
		    get_name(it, path, "host", names, (int)i, h->name) < 0 ||
		    get_ref(it, path, "pool", true, "pool", pools, &h->pool) <
			    0)
			return -1;
		for (int d = 0; d < DIM_COUNT; d++) {
			if (json_get_double(it, path, dim_names[d], true, 0,
					    SIZE_MAX_VALUE, 0, &h->cap[d]) < 0)
				return -1;
		}
		if (json_get_double(it, path, "cost", false, 0, SIZE_MAX_VALUE,
				    1.0, &h->cost) < 0 ||
		    json_get_double(it, path, "availability", false, 0, 1, 0.99,
				    &h->availability) < 0 ||
		    get_enum(it, path, "state", states, HOST_UP, &st) < 0 ||
		    get_tags(it, path, &h->tags, &h->ntags) < 0)
			return -1;
		h->state = (enum host_state)st;
		i++;
	}
	return 0;
}

static int parse_tenants(const cJSON *arr, struct sched_problem *p,
			 struct sched_names *names,
			 const struct sched_names *pools)
{
	static const char *const keys[] = {"name", "isolation", "pools", NULL};
	static const char *const isolations[] = {"shared", "dedicated", NULL};
	const cJSON *it;
	size_t i = 0;

	cJSON_ArrayForEach(it, arr) {
		struct sched_tenant *t = &p->tenants[i];
		char path[JSON_PATH_MAX];
		const cJSON *pl, *e;
		int iso;
		size_t j = 0;

		json_path_index(path, sizeof(path), "$.tenants", i);
		if (json_check_keys(it, path, keys) < 0 ||
		    get_name(it, path, "tenant", names, (int)i, t->name) < 0 ||
		    get_enum(it, path, "isolation", isolations,
			     ISOLATION_SHARED, &iso) < 0 ||
		    json_get_array(it, path, "pools", false, &pl) < 0)
			return -1;
		t->isolation = (enum isolation)iso;
		i++;
		if (pl == NULL)
			continue;
		if (cJSON_GetArraySize(pl) == 0)
			return err_set("%s.pools: empty list: omit the field "
				       "to allow every pool",
				       path);
		t->pools = calloc((size_t)cJSON_GetArraySize(pl),
				  sizeof(*t->pools));
		if (t->pools == NULL)
			return err_set("out of memory");
		cJSON_ArrayForEach(e, pl) {
			char got[80];
			int k;

			if (!cJSON_IsString(e))
				return err_set("%s.pools[%zu]: expected a pool "
					       "name, got %s",
					       path, j,
					       json_describe(e, got,
							     sizeof(got)));
			k = sched_names_find(pools, e->valuestring);
			if (k < 0)
				return err_set("%s.pools[%zu]: unknown pool "
					       "'%s': define it in the 'pools' "
					       "list first",
					       path, j, e->valuestring);
			for (size_t m = 0; m < t->npools; m++) {
				if (t->pools[m] == k)
					return err_set("%s.pools[%zu]: pool "
						       "'%s' is listed twice",
						       path, j,
						       e->valuestring);
			}
			t->pools[t->npools++] = k;
			j++;
		}
	}
	return 0;
}

static int parse_groups(const cJSON *arr, struct sched_problem *p,
			struct sched_names *names,
			const struct sched_names *tenants)
{
	static const char *const keys[] = {"name", "tenant", "policy",
					   "availability", NULL};
	static const char *const policies[] = {"anti-affinity", "affinity",
					       NULL};
	const cJSON *it;
	size_t i = 0;

	cJSON_ArrayForEach(it, arr) {
		struct sched_group *g = &p->groups[i];
		char path[JSON_PATH_MAX];
		int pol;

		json_path_index(path, sizeof(path), "$.groups", i);
		if (json_check_keys(it, path, keys) < 0 ||
		    get_name(it, path, "group", names, (int)i, g->name) < 0 ||
		    get_ref(it, path, "tenant", true, "tenant", tenants,
			    &g->tenant) < 0 ||
		    get_enum(it, path, "policy", policies,
			     GROUP_ANTI_AFFINITY, &pol) < 0 ||
		    json_get_double(it, path, "availability", false, 0, 1, 0,
				    &g->availability) < 0)
			return -1;
		g->policy = (enum group_policy)pol;
		if (g->policy == GROUP_AFFINITY && g->availability > 0)
			return err_set("%s.availability: an affinity group puts "
				       "every member on one host, so it cannot "
				       "have an availability target: use "
				       "'anti-affinity' or drop the target",
				       path);
		i++;
	}
	return 0;
}

static int parse_vms(const cJSON *arr, struct sched_problem *p,
		     struct sched_names *names, const struct sched_names *idx[])
{
	static const char *const keys[] = {"name", "tenant", "group", "vcpus",
					   "mem_mib", "disk_gib", "tags",
					   "host", NULL};
	const cJSON *it;
	size_t i = 0;

	cJSON_ArrayForEach(it, arr) {
		struct sched_vm *v = &p->vms[i];
		char path[JSON_PATH_MAX];

		json_path_index(path, sizeof(path), "$.vms", i);
		if (json_check_keys(it, path, keys) < 0 ||
		    get_name(it, path, "vm", names, (int)i, v->name) < 0 ||
		    get_ref(it, path, "tenant", true, "tenant", idx[0],
			    &v->tenant) < 0 ||
		    get_ref(it, path, "group", false, "group", idx[1],
			    &v->group) < 0 ||
		    get_ref(it, path, "host", false, "host", idx[2],
			    &v->host) < 0)
			return -1;
		for (int d = 0; d < DIM_COUNT; d++) {
			if (json_get_double(it, path, dim_names[d], true, 0,
					    SIZE_MAX_VALUE, 0, &v->req[d]) < 0)
				return -1;
		}
		if (get_tags(it, path, &v->tags, &v->ntags) < 0)
			return -1;
		if (v->group >= 0 && p->groups[v->group].tenant != v->tenant)
			return err_set("%s.group: group '%s' belongs to tenant "
				       "'%s', not to the vm's tenant '%s'",
				       path, p->groups[v->group].name,
				       p->tenants[p->groups[v->group].tenant]
					       .name,
				       p->tenants[v->tenant].name);
		i++;
	}
	return 0;
}

int sched_problem_from_json(const cJSON *root, struct sched_problem **out)
{
	static const char *const keys[] = {"pools", "hosts", "tenants",
					   "groups", "vms", NULL};
	const cJSON *apools, *ahosts, *atenants, *agroups, *avms;
	struct sched_names *n[5] = {NULL, NULL, NULL, NULL, NULL};
	struct sched_problem *p = NULL;
	int ret = -1;

	if (json_check_keys(root, "$", keys) < 0)
		return -1;
	p = sched_problem_new();
	if (p == NULL)
		return -1;
	if (get_section(root, "pools", true, &apools, &p->npools) < 0 ||
	    get_section(root, "hosts", true, &ahosts, &p->nhosts) < 0 ||
	    get_section(root, "tenants", true, &atenants, &p->ntenants) < 0 ||
	    get_section(root, "groups", false, &agroups, &p->ngroups) < 0 ||
	    get_section(root, "vms", false, &avms, &p->nvms) < 0)
		goto out;
	if (p->nhosts > INT_MAX || p->nvms > INT_MAX) {
		err_set("$: too many objects");
		goto out;
	}
	p->pools = calloc(p->npools + 1, sizeof(*p->pools));
	p->hosts = calloc(p->nhosts + 1, sizeof(*p->hosts));
	p->tenants = calloc(p->ntenants + 1, sizeof(*p->tenants));
	p->groups = calloc(p->ngroups + 1, sizeof(*p->groups));
	p->vms = calloc(p->nvms + 1, sizeof(*p->vms));
	n[0] = sched_names_new(p->npools);
	n[1] = sched_names_new(p->nhosts);
	n[2] = sched_names_new(p->ntenants);
	n[3] = sched_names_new(p->ngroups);
	n[4] = sched_names_new(p->nvms);
	if (p->pools == NULL || p->hosts == NULL || p->tenants == NULL ||
	    p->groups == NULL || p->vms == NULL || n[0] == NULL ||
	    n[1] == NULL || n[2] == NULL || n[3] == NULL || n[4] == NULL) {
		err_set("out of memory for a placement problem");
		goto out;
	}
	if (parse_pools(apools, p, n[0]) < 0 ||
	    parse_hosts(ahosts, p, n[1], n[0]) < 0 ||
	    parse_tenants(atenants, p, n[2], n[0]) < 0 ||
	    parse_groups(agroups, p, n[3], n[2]) < 0)
		goto out;
	{
		const struct sched_names *idx[3] = {n[2], n[3], n[1]};

		if (parse_vms(avms, p, n[4], idx) < 0)
			goto out;
	}
	*out = p;
	p = NULL;
	ret = 0;
out:
	for (int i = 0; i < 5; i++)
		sched_names_free(n[i]);
	sched_problem_free(p);
	return ret;
}

int sched_problem_load_json(const char *path, struct sched_problem **out)
{
	char *text = NULL;
	size_t len = 0;
	cJSON *root = NULL;
	int ret = -1;

	if (file_read_all(path, SCHED_PROBLEM_MAX_BYTES, &text, &len) < 0)
		return -1;
	if (json_parse(text, len, path, &root) < 0)
		goto out;
	if (sched_problem_from_json(root, out) < 0) {
		err_prefix("%s", path);
		goto out;
	}
	ret = 0;
out:
	cJSON_Delete(root);
	free(text);
	return ret;
}

static cJSON *tags_json(char **tags, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a != NULL && i < n; i++) {
		if (!cJSON_AddItemToArray(a, cJSON_CreateString(tags[i]))) {
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

/* Add every element built by the section writers; NULL on out of memory. */
#define ADD(obj, call)                                                         \
	do {                                                                   \
		if ((call) == NULL)                                            \
			goto oom;                                              \
	} while (0)

cJSON *sched_problem_to_json(const struct sched_problem *p)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *a, *o;
	size_t i;

	if (root == NULL)
		return NULL;
	ADD(root, a = cJSON_AddArrayToObject(root, "pools"));
	for (i = 0; i < p->npools; i++) {
		const struct sched_pool *pl = &p->pools[i];

		ADD(a, o = cJSON_CreateObject());
		cJSON_AddItemToArray(a, o);
		ADD(o, cJSON_AddStringToObject(o, "name", pl->name));
		for (int d = 0; d < DIM_COUNT; d++)
			ADD(o, cJSON_AddNumberToObject(o, ratio_keys[d],
						       pl->ratio[d]));
		ADD(o, cJSON_AddStringToObject(o, "policy",
					       sched_policy_name(pl->policy)));
	}
	ADD(root, a = cJSON_AddArrayToObject(root, "hosts"));
	for (i = 0; i < p->nhosts; i++) {
		const struct sched_host *h = &p->hosts[i];

		ADD(a, o = cJSON_CreateObject());
		cJSON_AddItemToArray(a, o);
		ADD(o, cJSON_AddStringToObject(o, "name", h->name));
		ADD(o, cJSON_AddStringToObject(o, "pool",
					       p->pools[h->pool].name));
		for (int d = 0; d < DIM_COUNT; d++)
			ADD(o, cJSON_AddNumberToObject(o, dim_names[d],
						       h->cap[d]));
		ADD(o, cJSON_AddNumberToObject(o, "cost", h->cost));
		ADD(o, cJSON_AddNumberToObject(o, "availability",
					       h->availability));
		if (h->ntags > 0) {
			cJSON *t = tags_json(h->tags, h->ntags);

			ADD(o, t);
			cJSON_AddItemToObject(o, "tags", t);
		}
		ADD(o, cJSON_AddStringToObject(
			       o, "state", sched_host_state_name(h->state)));
	}
	ADD(root, a = cJSON_AddArrayToObject(root, "tenants"));
	for (i = 0; i < p->ntenants; i++) {
		const struct sched_tenant *t = &p->tenants[i];

		ADD(a, o = cJSON_CreateObject());
		cJSON_AddItemToArray(a, o);
		ADD(o, cJSON_AddStringToObject(o, "name", t->name));
		ADD(o, cJSON_AddStringToObject(
			       o, "isolation",
			       sched_isolation_name(t->isolation)));
		if (t->npools > 0) {
			cJSON *pl;

			ADD(o, pl = cJSON_AddArrayToObject(o, "pools"));
			for (size_t k = 0; k < t->npools; k++) {
				cJSON *sn = cJSON_CreateString(
					p->pools[t->pools[k]].name);

				ADD(pl, sn);
				cJSON_AddItemToArray(pl, sn);
			}
		}
	}
	ADD(root, a = cJSON_AddArrayToObject(root, "groups"));
	for (i = 0; i < p->ngroups; i++) {
		const struct sched_group *g = &p->groups[i];

		ADD(a, o = cJSON_CreateObject());
		cJSON_AddItemToArray(a, o);
		ADD(o, cJSON_AddStringToObject(o, "name", g->name));
		ADD(o, cJSON_AddStringToObject(o, "tenant",
					       p->tenants[g->tenant].name));
		ADD(o, cJSON_AddStringToObject(
			       o, "policy",
			       sched_group_policy_name(g->policy)));
		if (g->availability > 0)
			ADD(o, cJSON_AddNumberToObject(o, "availability",
						       g->availability));
	}
	ADD(root, a = cJSON_AddArrayToObject(root, "vms"));
	for (i = 0; i < p->nvms; i++) {
		const struct sched_vm *v = &p->vms[i];

		ADD(a, o = cJSON_CreateObject());
		cJSON_AddItemToArray(a, o);
		ADD(o, cJSON_AddStringToObject(o, "name", v->name));
		ADD(o, cJSON_AddStringToObject(o, "tenant",
					       p->tenants[v->tenant].name));
		if (v->group >= 0)
			ADD(o, cJSON_AddStringToObject(
				       o, "group", p->groups[v->group].name));
		for (int d = 0; d < DIM_COUNT; d++)
			ADD(o, cJSON_AddNumberToObject(o, dim_names[d],
						       v->req[d]));
		if (v->ntags > 0) {
			cJSON *t = tags_json(v->tags, v->ntags);

			ADD(o, t);
			cJSON_AddItemToObject(o, "tags", t);
		}
		if (v->host >= 0)
			ADD(o, cJSON_AddStringToObject(
				       o, "host", p->hosts[v->host].name));
	}
	return root;
oom:
	cJSON_Delete(root);
	return NULL;
}

#define FIND(kind, arr, n)                                                     \
	int sched_problem_find_##kind(const struct sched_problem *p,           \
				      const char *name)                        \
	{                                                                      \
		for (size_t i = 0; i < p->n; i++) {                            \
			if (strcmp(p->arr[i].name, name) == 0)                 \
				return (int)i;                                 \
		}                                                              \
		return -1;                                                     \
	}

FIND(pool, pools, npools)
FIND(host, hosts, nhosts)
FIND(tenant, tenants, ntenants)
FIND(group, groups, ngroups)
FIND(vm, vms, nvms)

/*
 * cmd_pool.c - finctl pool create|update, util show and storage create:
 * pools, their overcommit and policy, their utilisation; storage pools.
 */
#include "finctl/finctl.h"

/* The body of pool create (name set) and update (name NULL). */
static cJSON *pool_body(struct finctl_ctx *x, const char *name)
{
	cJSON *o = finctl_body(x, FINCTL_KEYS("cpu-ratio", "mem-ratio",
					      "disk-ratio", "policy",
					      "migration-postcopy",
					      "ha-reserve"));

	finctl_add_str(o, "name", name);
	if (finctl_opt(x, "compliance"))
		cJSON_AddItemToObject(o, "compliance_classes",
				      finctl_csv(finctl_opt(x, "compliance")));
	return o;
}

int finctl_pool_create(struct finctl_ctx *x)
{
	return finctl_show(x, "POST", "/v1/pools", pool_body(x, x->a.pos[0]));
}

int finctl_pool_update(struct finctl_ctx *x)
{
	char *p = finctl_path("/v1/pools/%s", x->a.pos[0]);
	int rc = finctl_show(x, "PATCH", p, pool_body(x, NULL));
	free(p);
	return rc;
}

static const struct finctl_col util_cols[] = {
	{"DIMENSION", "dim"}, {"TOTAL", "total"}, {"USABLE", "usable"},
	{"ALLOCATED", "allocated"},
	{"USED", "used"}, {"ETA_ALLOC", "eta_allocated"}, {"ETA_USED", "eta_used"},
};

/* The table of a pool's utilisation: one row per dimension, then the
 * series' length and its latest sample. */
static void util_print(const struct finctl_ctx *x, const cJSON *out)
{
	cJSON *rows = cJSON_CreateArray();
	const cJSON *d, *series = cJSON_GetObjectItemCaseSensitive(out, "series");
	int n = cJSON_GetArraySize(series);
	const cJSON *ha;
	const char *why;
	char v[3][32];

	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(out, "dimensions")) {
		cJSON *r = cJSON_Duplicate(d, 1);

		cJSON_AddStringToObject(r, "dim", d->string);
		cJSON_AddItemToArray(rows, r);
	}
	finctl_field(out, "hosts", v[0], sizeof(v[0]));
	printf("pool %s: %s hosts up\n", x->a.pos[0], v[0]);
	/* the pool's N+1 reserve and whether it holds (ha.h) */
	ha = cJSON_GetObjectItemCaseSensitive(out, "ha_reserve");
	why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ha, "why"));
	finctl_field(ha, "policy", v[1], sizeof(v[1]));
	printf("ha reserve: %s", v[1]);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ha, "holds")))
		printf(", holds\n");
	else
		printf(", does not hold: %s\n", why ? why : "?");
	finctl_print_table(rows, util_cols, FC_ARRAY_LEN(util_cols));
	printf("series: %d samples in the last hour", n);
	if (n > 0) {
		const cJSON *last = cJSON_GetArrayItem(series, n - 1);

		finctl_field(last, "eta_allocated.vcpus", v[0],
			     sizeof(v[0]));
		finctl_field(last, "eta_allocated.mem_mib", v[1],
			     sizeof(v[1]));
		finctl_field(last, "eta_allocated.disk_gib", v[2],
			     sizeof(v[2]));
		printf(" (latest allocated eta: vcpus %s, mem %s, disk %s)",
		       v[0], v[1], v[2]);
	}
	printf("\n");
	cJSON_Delete(rows);
}

int finctl_util_show(struct finctl_ctx *x)
{
	char *p = finctl_path("/v1/pools/%s/utilization", x->a.pos[0]);
	int rc = finctl_show_as(x, "GET", p, NULL, util_print);

	free(p);
	return rc;
}

int finctl_storage_create(struct finctl_ctx *x)
{
	cJSON *o = finctl_body(x, FINCTL_KEYS("type", "ceph-pool", "client",
					      "replicas",
					      "replica-availability"));

	finctl_add_str(o, "name", x->a.pos[0]);
	cJSON_AddItemToObject(o, "monitors",
			      finctl_csv(finctl_opt(x, "monitors")));
	if (finctl_opt(x, "replica-hosts"))
		cJSON_AddItemToObject(o, "replica_hosts",
				      finctl_csv(finctl_opt(x, "replica-hosts")));
	return finctl_show(x, "POST", "/v1/storage", o);
}

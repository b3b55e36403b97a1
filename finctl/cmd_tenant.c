/*
 * cmd_tenant.c - finctl tenant create|update|set-quota, group create and
 * flavor create: what tenants are given (quotas, pools, service groups)
 * and the sizes their VMs come in.
 */
#include "finctl/finctl.h"

/* --quota-* (or, for set-quota, --vcpus ...) into a quota object; "none"
 * lifts a limit. */
static void quota_body(struct finctl_ctx *x, cJSON *o, const char *prefix)
{
	static const char *const keys[] = {"vcpus", "mem-mib", "disk-gib", "vms"};
	static const char *const fields[] = {"vcpus", "mem_mib", "disk_gib", "vms"};
	cJSON *q = NULL;

	for (size_t i = 0; i < FC_ARRAY_LEN(keys); i++) {
		char k[32];
		const char *v;

		snprintf(k, sizeof(k), "%s%s", prefix, keys[i]);
		v = finctl_opt(x, k);
		if (v == NULL)
			continue;
		if (q == NULL)
			q = cJSON_AddObjectToObject(o, "quota");
		if (strcmp(v, "none") == 0)
			cJSON_AddNullToObject(q, fields[i]);
		else
			finctl_add_num(q, fields[i], v);
	}
}

/* The fields tenant create and update share, with the options of keys. */
static cJSON *tenant_body(struct finctl_ctx *x, const char *const *keys)
{
	cJSON *b = finctl_body(x, keys);

	if (finctl_opt(x, "pools"))
		cJSON_AddItemToObject(b, "pools",
				      finctl_csv(finctl_opt(x, "pools")));
	quota_body(x, b, "quota-");
	return b;
}

/* POST body (taken) with "name": the first argument to path, and show
 * what the controller made. */
static int create_named(struct finctl_ctx *x, const char *path, cJSON *body)
{
	finctl_add_str(body, "name", x->a.pos[0]);
	return finctl_show(x, "POST", path, body);
}

int finctl_tenant_create(struct finctl_ctx *x)
{
	return create_named(x, "/v1/tenants", tenant_body(x, FINCTL_KEYS(
		"isolation", "compliance-class", "wipe-on-delete")));
}

/* tenant update (--quota-*) and set-quota (--vcpus ...): each row has one
 * of the two sets of quota options. */
int finctl_tenant_update(struct finctl_ctx *x)
{
	cJSON *b = tenant_body(x, FINCTL_KEYS("compliance-class",
					       "wipe-on-delete"));
	char *p = finctl_path("/v1/tenants/%s", x->a.pos[0]);
	int rc;

	quota_body(x, b, "");
	rc = finctl_show(x, "PATCH", p, b);
	free(p);
	return rc;
}

int finctl_group_create(struct finctl_ctx *x)
{
	return create_named(x, "/v1/groups", finctl_body(x, FINCTL_KEYS(
		"tenant", "policy", "availability")));
}

int finctl_flavor_create(struct finctl_ctx *x)
{
	return create_named(x, "/v1/flavors", finctl_body(x, FINCTL_KEYS(
		"vcpus", "mem-mib", "disk-gib", "requires-image", "storage")));
}

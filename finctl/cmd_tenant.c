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

/* The fields tenant create and update share. */
static void tenant_body(struct finctl_ctx *x, cJSON *b)
{
	finctl_add_str(b, "compliance_class", finctl_opt(x, "compliance-class"));
	if (finctl_opt(x, "pools"))
		cJSON_AddItemToObject(b, "pools",
				      finctl_csv(finctl_opt(x, "pools")));
	quota_body(x, b, "quota-");
}

int finctl_tenant_create(struct finctl_ctx *x)
{
	cJSON *b = cJSON_CreateObject();

	finctl_add_str(b, "name", x->a.pos[0]);
	finctl_add_str(b, "isolation", finctl_opt(x, "isolation"));
	tenant_body(x, b);
	return finctl_show(x, "POST", "/v1/tenants", b);
}

/* tenant update (--quota-*) and set-quota (--vcpus ...): each row has one
 * of the two sets of quota options. */
int finctl_tenant_update(struct finctl_ctx *x)
{
	cJSON *b = cJSON_CreateObject();
	char *p = finctl_path("/v1/tenants/%s", x->a.pos[0]);
	int rc;

	tenant_body(x, b);
	quota_body(x, b, "");
	rc = finctl_show(x, "PATCH", p, b);
	free(p);
	return rc;
}

int finctl_group_create(struct finctl_ctx *x)
{
	cJSON *b = cJSON_CreateObject();

	finctl_add_str(b, "name", x->a.pos[0]);
	finctl_add_str(b, "tenant", finctl_opt(x, "tenant"));
	finctl_add_str(b, "policy", finctl_opt(x, "policy"));
	finctl_add_num(b, "availability", finctl_opt(x, "availability"));
	return finctl_show(x, "POST", "/v1/groups", b);
}

int finctl_flavor_create(struct finctl_ctx *x)
{
	cJSON *b = cJSON_CreateObject();

	finctl_add_str(b, "name", x->a.pos[0]);
	finctl_add_num(b, "vcpus", finctl_opt(x, "vcpus"));
	finctl_add_num(b, "mem_mib", finctl_opt(x, "mem-mib"));
	finctl_add_num(b, "disk_gib", finctl_opt(x, "disk-gib"));
	return finctl_show(x, "POST", "/v1/flavors", b);
}

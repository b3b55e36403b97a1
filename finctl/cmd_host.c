/*
 * cmd_host.c - finctl host maintenance|set|drain: what an operator
 * changes on a compute host (list, show and resume are generic rows).
 */
#include "finctl/finctl.h"

/* PATCH /v1/hosts/NAME with body (taken) and show the host. */
static int host_patch(struct finctl_ctx *x, cJSON *b)
{
	char *p = finctl_path("/v1/hosts/%s", x->a.pos[0]);
	int rc = finctl_show(x, "PATCH", p, b);

	free(p);
	return rc;
}

int finctl_host_maintenance(struct finctl_ctx *x)
{
	const char *v = x->a.pos[1];
	cJSON *b;

	if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
		fprintf(stderr, "finctl: expected 'on' or 'off', got '%s'\n", v);
		return FINCTL_USAGE;
	}
	b = cJSON_CreateObject();
	cJSON_AddBoolToObject(b, "maintenance", strcmp(v, "on") == 0);
	return host_patch(x, b);
}

int finctl_host_set(struct finctl_ctx *x)
{
	return host_patch(x, finctl_body(x, FINCTL_KEYS("cost", "availability",
							"storage-address",
							"fence-command",
							"fence-address")));
}

/* Maintenance, then a task that live-migrates every VM off the host
 * (docs/rebalancing.md); followed like a rebalance run. */
int finctl_host_drain(struct finctl_ctx *x)
{
	char *p = finctl_path("/v1/hosts/%s/drain", x->a.pos[0]);
	int rc = finctl_run_start(x, p,
				  finctl_body(x, FINCTL_KEYS("concurrency")));

	free(p);
	return rc;
}

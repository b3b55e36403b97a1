/*
 * cmd_net.c - finctl network create (tenant and provider networks) and
 * update (a provider network's tenants), secgroup show|create|delete|
 * rule-add|rule-delete, and the --network/--secgroup options of vm
 * create: tenant networks and their security groups.
 */
#include "common/buf.h"
#include "common/err.h"
#include "finctl/finctl.h"

int finctl_network_create(struct finctl_ctx *x)
{
	cJSON *b = finctl_body(x, FINCTL_KEYS("tenant", "cidr", "gateway",
					      "vni", "provider", "interface",
					      "vlan-id", "pool"));

	finctl_add_str(b, "name", x->a.pos[0]);
	/* --shared-with T1,T2: the tenants of a provider network */
	if (finctl_opt(x, "shared-with"))
		cJSON_AddItemToObject(b, "shared_with",
				      finctl_csv(finctl_opt(x, "shared-with")));
	if (finctl_opt(x, "dhcp"))
		cJSON_AddTrueToObject(b, "dhcp");
	return finctl_show(x, "POST", "/v1/networks", b);
}

int finctl_network_update(struct finctl_ctx *x)
{
	cJSON *b = cJSON_CreateObject();
	char *path = finctl_path("/v1/networks/%s", x->a.pos[0]);
	int rc;

	cJSON_AddItemToObject(b, "shared_with",
			      finctl_csv(finctl_opt(x, "shared-with")));
	rc = finctl_show(x, "PATCH", path, b);
	free(path);
	return rc;
}

/* /v1/secgroups/NAME[/rules[/ID]][?tenant=T] into b (suffix "" or
 * "/rules" or "/rules/ID"). */
static void sg_path(const struct finctl_ctx *x, const char *suffix,
		    struct buf *b)
{
	buf_puts(b, "/v1/secgroups/");
	finctl_url_escape(b, x->a.pos[0]);
	buf_puts(b, suffix);
	if (finctl_opt(x, "tenant")) {
		buf_puts(b, "?tenant=");
		finctl_url_escape(b, finctl_opt(x, "tenant"));
	}
}

int finctl_secgroup_show(struct finctl_ctx *x)
{
	struct buf b;
	int rc;

	buf_init(&b, 4096);
	sg_path(x, "", &b);
	rc = finctl_show(x, "GET", buf_str(&b), NULL);
	buf_free(&b);
	return rc;
}

int finctl_secgroup_create(struct finctl_ctx *x)
{
	cJSON *b = finctl_body(x, FINCTL_KEYS("tenant", "description"));

	finctl_add_str(b, "name", x->a.pos[0]);
	return finctl_show(x, "POST", "/v1/secgroups", b);
}

int finctl_secgroup_delete(struct finctl_ctx *x)
{
	struct buf b;
	int rc;

	buf_init(&b, 4096);
	sg_path(x, "", &b);
	rc = finctl_call(x, "DELETE", buf_str(&b), NULL, NULL);
	buf_free(&b);
	if (rc == FINCTL_OK && !x->json)
		printf("security group '%s' deleted\n", x->a.pos[0]);
	return rc;
}

int finctl_secgroup_rule_add(struct finctl_ctx *x)
{
	cJSON *body = finctl_body(x, FINCTL_KEYS("protocol", "port-min",
						 "port-max", "source-cidr",
						 "source-group"));
	struct buf b;
	int rc;

	buf_init(&b, 4096);
	sg_path(x, "/rules", &b);
	rc = finctl_show(x, "POST", buf_str(&b), body);
	buf_free(&b);
	return rc;
}

int finctl_secgroup_rule_delete(struct finctl_ctx *x)
{
	struct buf b, suffix;
	int rc;

	buf_init(&b, 4096);
	buf_init(&suffix, 256);
	buf_puts(&suffix, "/rules/");
	finctl_url_escape(&suffix, x->a.pos[1]);
	sg_path(x, buf_str(&suffix), &b);
	rc = finctl_call(x, "DELETE", buf_str(&b), NULL, NULL);
	buf_free(&b);
	buf_free(&suffix);
	if (rc == FINCTL_OK && !x->json)
		printf("rule '%s' of security group '%s' deleted\n",
		       x->a.pos[1], x->a.pos[0]);
	return rc;
}

int finctl_vm_networks(const struct finctl_ctx *x, cJSON *body)
{
	cJSON *nets = NULL, *groups = NULL;

	for (int i = 0; i < x->a.nopt; i++) {
		const char *v = x->a.val[i];

		if (strcmp(x->a.key[i], "secgroup") == 0) {
			if (groups == NULL)
				groups = cJSON_AddArrayToObject(body,
								"secgroups");
			cJSON_AddItemToArray(groups, cJSON_CreateString(v));
			continue;
		}
		if (strcmp(x->a.key[i], "network") != 0)
			continue;
		/* NET or NET,ip=A */
		const char *comma = strchr(v, ',');
		char net[128];
		cJSON *o;

		if ((size_t)(comma ? comma - v : (ptrdiff_t)strlen(v)) >=
			    sizeof(net) ||
		    (comma && strncmp(comma + 1, "ip=", 3) != 0)) {
			err_set("--network %s: expected NET or NET,ip=A.B.C.D",
				v);
			return finctl_usage_err();
		}
		snprintf(net, sizeof(net), "%.*s",
			 (int)(comma ? comma - v : (ptrdiff_t)strlen(v)), v);
		if (nets == NULL)
			nets = cJSON_AddArrayToObject(body, "networks");
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "network", net);
		if (comma)
			cJSON_AddStringToObject(o, "ip", comma + 4);
		cJSON_AddItemToArray(nets, o);
	}
	return FINCTL_OK;
}

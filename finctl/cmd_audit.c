/*
 * cmd_audit.c - finctl audit verify and token create: the audit chain's
 * check and the one command that prints a secret.
 */
#include "finctl/finctl.h"

int finctl_audit_verify(struct finctl_ctx *x)
{
	cJSON *out;
	const cJSON *ok, *n, *why;
	int rc = finctl_call(x, "GET", "/v1/audit/verify", NULL, &out);

	if (rc != FINCTL_OK)
		return rc;
	ok = cJSON_GetObjectItemCaseSensitive(out, "ok");
	n = cJSON_GetObjectItemCaseSensitive(out, "entries");
	why = cJSON_GetObjectItemCaseSensitive(out, "reason");
	if (x->json)
		finctl_print_json(out);
	else if (cJSON_IsTrue(ok))
		printf("audit log intact: %.0f entries verified\n",
		       cJSON_IsNumber(n) ? n->valuedouble : 0);
	else
		printf("AUDIT LOG TAMPERED: %s\n",
		       cJSON_IsString(why) ? why->valuestring : "?");
	rc = cJSON_IsTrue(ok) ? FINCTL_OK : FINCTL_FAIL;
	cJSON_Delete(out);
	return rc;
}

/* The secret alone on stdout, so that $(finctl token create) captures
 * it; the rest on stderr. */
static void print_token(const struct finctl_ctx *x FC_UNUSED,
			const cJSON *out)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(out, "token");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(out, "id");

	fprintf(stderr, "token %s created; it is shown only now\n",
		cJSON_IsString(id) ? id->valuestring : "?");
	printf("%s\n", cJSON_IsString(t) ? t->valuestring : "");
}

int finctl_token_create(struct finctl_ctx *x)
{
	cJSON *b = finctl_body(x, FINCTL_KEYS("role", "tenant", "description"));

	return finctl_show_as(x, "POST", "/v1/tokens", b, print_token);
}

/*
 * cmd_audit.c - finctl audit verify and token create: the audit chain's
 * check and the one command that prints a secret.
 */
#include "common/buf.h"
#include "common/err.h"
#include "common/util.h"
#include "finctl/finctl.h"

/* The request path for --anchor a: "SEQ:HASH" itself, or a file holding
 * it (the state directory's audit.anchor, or a copy shipped elsewhere).
 * The controller checks the values. NULL with err_set(). */
static char *anchor_path(const char *a)
{
	char *text = NULL, *colon, *res = NULL;
	size_t len, digits = strspn(a, "0123456789");
	struct buf b;

	buf_init(&b, 4096);
	if (digits > 0 && a[digits] == ':') {
		text = strdup(a);
		if (text == NULL) {
			err_set("out of memory");
			goto out;
		}
	} else if (file_read_all(a, 512, &text, &len) < 0) {
		err_prefix("--anchor: expected SEQ:HASH or a file holding it");
		goto out;
	}
	text[strcspn(text, "\r\n")] = '\0';
	colon = strchr(text, ':');
	if (colon == NULL) {
		err_set("--anchor '%s': expected SEQ:HASH", a);
		goto out;
	}
	*colon = '\0';
	buf_puts(&b, "/v1/audit/verify?seq=");
	finctl_url_escape(&b, text);
	buf_puts(&b, "&hash=");
	finctl_url_escape(&b, colon + 1);
	res = buf_detach(&b);
	if (res == NULL)
		err_set("out of memory");
out:
	free(text);
	buf_free(&b);
	return res;
}

int finctl_audit_verify(struct finctl_ctx *x)
{
	const char *anchor = finctl_opt(x, "anchor");
	char *path = NULL;
	cJSON *out = NULL;
	const cJSON *ok, *n, *why;
	int rc;

	if (anchor != NULL && (path = anchor_path(anchor)) == NULL)
		return finctl_usage_err();
	rc = finctl_call(x, "GET", path ? path : "/v1/audit/verify", NULL, &out);
	free(path);
	if (rc != FINCTL_OK)
		return rc;
	ok = cJSON_GetObjectItemCaseSensitive(out, "ok");
	n = cJSON_GetObjectItemCaseSensitive(out, "entries");
	why = cJSON_GetObjectItemCaseSensitive(out, "reason");
	if (x->json)
		finctl_print_json(out);
	else if (cJSON_IsTrue(ok))
		printf("audit log intact: %.0f entries verified%s\n",
		       cJSON_IsNumber(n) ? n->valuedouble : 0,
		       anchor ? ", anchor held" : "");
	else
		printf("AUDIT LOG TAMPERED: %s\n",
		       cJSON_IsString(why) ? why->valuestring : "?");
	rc = cJSON_IsTrue(ok) ? FINCTL_OK : FINCTL_FAIL;
	cJSON_Delete(out);
	return rc;
}

/* The secret alone on stdout, so that $(finctl token create) captures
 * it; the rest on stderr. */
static void print_token(const struct finctl_ctx *x,
			const cJSON *out)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(out, "token");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(out, "id");

	fprintf(stderr, "token %s %s; it is shown only now\n",
		cJSON_IsString(id) ? id->valuestring : "?",
		strcmp(x->cmd->verb, "rotate") == 0 ? "has a new secret"
						    : "created");
	printf("%s\n", cJSON_IsString(t) ? t->valuestring : "");
}

int finctl_token_create(struct finctl_ctx *x)
{
	cJSON *b = finctl_body(x, FINCTL_KEYS("role", "tenant", "description"));

	finctl_add_num(b, "ttl_s", finctl_opt(x, "ttl"));
	finctl_add_num(b, "uses", finctl_opt(x, "uses"));
	return finctl_show_as(x, "POST", "/v1/tokens", b, print_token);
}

int finctl_token_rotate(struct finctl_ctx *x)
{
	char *p = finctl_path("/v1/tokens/%s/rotate", x->a.pos[0]);
	cJSON *b = cJSON_CreateObject();
	int rc;

	finctl_add_num(b, "ttl_s", finctl_opt(x, "ttl"));
	rc = finctl_show_as(x, "POST", p, b, print_token);
	free(p);
	return rc;
}

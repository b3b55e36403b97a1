/*
 * client.c - finctl's requests to the controller: one call, the error
 * report of a refused request, paths, options and request bodies.
 */
#include "finctl/finctl.h"

#include "common/buf.h"
#include "common/err.h"
#include "common/http_client.h"
#include "common/json.h"
#include "common/util.h"

const char *finctl_opt(const struct finctl_ctx *x, const char *key)
{
	for (int i = 0; i < x->a.nopt; i++)
		if (strcmp(x->a.key[i], key) == 0)
			return x->a.val[i];
	return NULL;
}

void finctl_url_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		    ch == '.' || ch == '~')
			buf_printf(b, "%c", ch);
		else
			buf_printf(b, "%%%02X", ch);
	}
}

char *finctl_path(const char *fmt, const char *arg)
{
	const char *at = strstr(fmt, "%s");
	struct buf b;
	char *s;

	buf_init(&b, 8192);
	buf_append(&b, fmt, at ? (size_t)(at - fmt) : strlen(fmt));
	finctl_url_escape(&b, arg);
	if (at)
		buf_puts(&b, at + 2);
	s = buf_detach(&b);
	buf_free(&b);
	return s;
}

/* The controller refused the request (status, its error document root
 * may be NULL): say why on stderr. */
static int refused(const struct finctl_ctx *x, long status, const cJSON *root)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(e, "field");

	if (x->json && root) {
		char *s = cJSON_Print(root);

		fprintf(stderr, "%s\n", s ? s : "");
		free(s);
	} else {
		fprintf(stderr, "finctl: %s (HTTP %ld%s%s%s)\n",
			cJSON_IsString(m) ? m->valuestring : "request failed",
			status, cJSON_IsString(f) ? ", field '" : "",
			cJSON_IsString(f) ? f->valuestring : "",
			cJSON_IsString(f) ? "'" : "");
	}
	if (status == 401)
		fprintf(stderr, "finctl: set FINCLOUD_TOKEN or write the "
			"token to ~/.config/fincloud/token\n");
	return finctl_exit_for_status(status);
}

int finctl_refused(const struct finctl_ctx *x, long status, const char *body,
		   size_t len)
{
	cJSON *root = NULL;
	int rc;

	if (len > 0 && json_parse(body, len, "the controller's answer",
				  &root) < 0)
		err_clear();
	rc = refused(x, status, root);
	cJSON_Delete(root);
	return rc;
}

int finctl_exit_for_status(long status)
{
	static const struct {
		long status;
		int code;
	} map[] = {
		{400, FINCTL_USAGE}, {413, FINCTL_USAGE}, {422, FINCTL_USAGE},
		{404, FINCTL_NOTFOUND}, {409, FINCTL_CONFLICT},
	};

	for (size_t i = 0; i < FC_ARRAY_LEN(map); i++)
		if (map[i].status == status)
			return map[i].code;
	return FINCTL_FAIL;
}

/* The answer of a request that http_client_* sent (rc its result, r
 * its response): FINCTL_OK with the parsed answer in *out (may be NULL),
 * or the error reported and its exit code. Frees r. */
static int answered(struct finctl_ctx *x, int rc, struct http_response *r,
		    cJSON **out)
{
	cJSON *root = NULL;

	if (out)
		*out = NULL;
	if (rc < 0) {
		fprintf(stderr, "finctl: cannot reach the controller: %s: check "
			"--url / FINCLOUD_URL and that fincloud-controller "
			"runs\n", err_msg());
		return FINCTL_CONN;
	}
	if (r->len > 0 && json_parse(r->body, r->len, "the controller's answer",
				     &root) < 0 && r->status < 300) {
		fprintf(stderr, "finctl: %s\n", err_msg());
		rc = FINCTL_FAIL;
	} else if (r->status >= 200 && r->status < 300) {
		if (out) {
			*out = root;
			root = NULL;
		}
		rc = FINCTL_OK;
	} else {
		rc = refused(x, r->status, root);
	}
	http_response_free(r);
	cJSON_Delete(root);
	return rc;
}

int finctl_call(struct finctl_ctx *x, const char *method, const char *path,
		const cJSON *body, cJSON **out)
{
	struct http_response r;
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;
	int rc = http_client_request(x->http, method, path, text, &r);

	free(text);
	return answered(x, rc, &r, out);
}

int finctl_call_stream(struct finctl_ctx *x, const char *method,
		       const char *path, const struct http_stream *st,
		       cJSON **out)
{
	struct http_response r;
	int rc = http_client_stream(x->http, method, path, st, &r);

	return answered(x, rc, &r, out);
}

void finctl_add_num(cJSON *o, const char *key, const char *val)
{
	double d;

	if (val && parse_double(val, &d) == 0)
		cJSON_AddNumberToObject(o, key, d);
}

cJSON *finctl_csv(const char *csv)
{
	cJSON *a = cJSON_CreateArray();

	while (csv && *csv) {
		size_t l = strcspn(csv, ",");
		char item[128];

		snprintf(item, sizeof(item), "%.*s", (int)l, csv);
		if (item[0])
			cJSON_AddItemToArray(a, cJSON_CreateString(item));
		csv += l + (csv[l] == ',');
	}
	return a;
}

void finctl_add_str(cJSON *o, const char *key, const char *val)
{
	if (val)
		cJSON_AddStringToObject(o, key, val);
}

cJSON *finctl_body(const struct finctl_ctx *x, const char *const *keys)
{
	static const char *const numeric[] = {"int", "count", "num",
					      "fraction", "quota"};
	cJSON *o = cJSON_CreateObject();

	for (; *keys; keys++) {
		const char *v = finctl_opt(x, *keys);
		struct finctl_optspec spec;
		bool number = false;
		char field[64];

		if (v == NULL || !finctl_optspec_find(x->cmd, *keys, &spec))
			continue;
		snprintf(field, sizeof(field), "%s", *keys);
		for (char *p = field; *p; p++)
			*p = *p == '-' ? '_' : *p;
		for (size_t i = 0; i < FC_ARRAY_LEN(numeric); i++)
			number = number || strcmp(spec.type, numeric[i]) == 0;
		if (strcmp(spec.type, "yes|no") == 0) /* a JSON boolean */
			cJSON_AddBoolToObject(o, field, strcmp(v, "yes") == 0);
		else if (number && strcmp(v, "none") == 0)
			cJSON_AddNullToObject(o, field);
		else if (number)
			finctl_add_num(o, field, v);
		else
			cJSON_AddStringToObject(o, field, v);
	}
	return o;
}

int finctl_usage_err(void)
{
	fprintf(stderr, "finctl: %s\n", err_msg());
	return FINCTL_USAGE;
}

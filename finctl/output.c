/*
 * output.c - how finctl prints what the controller answers (tables,
 * key/value lines, JSON) and the generic handlers built on it: list (with
 * paging), show and delete, which serve most rows of the command table.
 */
#include "finctl/finctl.h"

#include <time.h>

#include "common/buf.h"
#include "common/util.h"

const cJSON *finctl_get(const cJSON *o, const char *path)
{
	char key[64];

	while (o && *path) {
		size_t l = strcspn(path, ".");

		snprintf(key, sizeof(key), "%.*s", (int)l, path);
		o = cJSON_GetObjectItemCaseSensitive(o, key);
		path += l + (path[l] == '.');
	}
	return o;
}

/* d in the fewest significant digits (at most 10) that read back as d,
 * so that 0.9999 stays 0.9999 and 1/3 is 0.3333333333. */
static void number(double d, char *out, size_t size)
{
	for (int prec = 1; prec <= 10; prec++) {
		snprintf(out, size, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			return;
	}
}

/* A time in milliseconds since 1970 as ISO 8601 in UTC. */
static void iso_time(double ms, char *out, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, size, "%.0f", ms);
}

void finctl_field(const cJSON *o, const char *path, char *out, size_t size)
{
	const cJSON *v = finctl_get(o, path);
	size_t l = strlen(path);

	/* every "*_ms" field of the API is a time: the JSON keeps the
	 * number, people read the date */
	if (cJSON_IsNumber(v) && l > 3 && strcmp(path + l - 3, "_ms") == 0)
		iso_time(v->valuedouble, out, size);
	else
		finctl_value(v, out, size);
}

void finctl_value(const cJSON *v, char *out, size_t size)
{
	if (v == NULL || cJSON_IsNull(v)) {
		snprintf(out, size, "-");
	} else if (cJSON_IsString(v)) {
		snprintf(out, size, "%s", v->valuestring[0] ? v->valuestring : "-");
	} else if (cJSON_IsBool(v)) {
		snprintf(out, size, "%s", cJSON_IsTrue(v) ? "yes" : "no");
	} else if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (d == (double)(int64_t)d && d < 1e15 && d > -1e15)
			snprintf(out, size, "%" PRId64, (int64_t)d);
		else
			number(d, out, size);
	} else if (cJSON_IsArray(v)) {
		struct buf b;
		const cJSON *it;

		buf_init(&b, size - 1);
		cJSON_ArrayForEach(it, v) {
			char one[128];

			finctl_value(it, one, sizeof(one));
			if ((b.len && buf_puts(&b, ",") < 0) || buf_puts(&b, one) < 0)
				break;
		}
		str_copy(out, size, b.len ? buf_str(&b) : "-");
		buf_free(&b);
	} else {
		char *s = cJSON_PrintUnformatted(v);

		snprintf(out, size, "%s", s ? s : "?");
		free(s);
	}
}

void finctl_print_table(const cJSON *items, const struct finctl_col *cols,
			size_t n)
{
	size_t w[16] = {0}, rows = (size_t)cJSON_GetArraySize(items);
	char cell[256];
	const cJSON *it;

	if (n > FC_ARRAY_LEN(w))
		n = FC_ARRAY_LEN(w);
	for (size_t c = 0; c < n; c++)
		w[c] = strlen(cols[c].head);
	cJSON_ArrayForEach(it, items)
		for (size_t c = 0; c < n; c++) {
			finctl_field(it, cols[c].path, cell, sizeof(cell));
			if (strlen(cell) > w[c])
				w[c] = strlen(cell);
		}
	for (size_t c = 0; c < n; c++)
		printf("%-*s%s", (int)w[c], cols[c].head, c + 1 < n ? "  " : "\n");
	cJSON_ArrayForEach(it, items)
		for (size_t c = 0; c < n; c++) {
			finctl_field(it, cols[c].path, cell, sizeof(cell));
			printf("%-*s%s", (int)(c + 1 < n ? w[c] : 0), cell,
			       c + 1 < n ? "  " : "\n");
		}
	if (rows == 0)
		printf("(none)\n");
}

void finctl_print_kv(const cJSON *o, const char *prefix)
{
	const cJSON *it;
	char val[1024], key[128];

	cJSON_ArrayForEach(it, o) {
		snprintf(key, sizeof(key), "%s%s", prefix, it->string);
		if (cJSON_IsObject(it)) {
			char p[sizeof(key) + 2];

			snprintf(p, sizeof(p), "%s.", key);
			finctl_print_kv(it, p);
			continue;
		}
		if (cJSON_IsArray(it) && cJSON_IsObject(it->child)) {
			/* a list of objects (a run's moves): whole, as JSON */
			char *s = cJSON_PrintUnformatted(it);

			printf("%-28s %s\n", key, s ? s : "?");
			free(s);
			continue;
		}
		finctl_field(o, it->string, val, sizeof(val));
		printf("%-28s %s\n", key, val);
	}
}

void finctl_print_json(const cJSON *o)
{
	char *s = cJSON_Print(o);

	printf("%s\n", s ? s : "null");
	free(s);
}

int finctl_show_as(struct finctl_ctx *x, const char *method,
		   const char *path, cJSON *body, finctl_print_fn print)
{
	cJSON *out;
	int rc = finctl_call(x, method, path, body, &out);

	cJSON_Delete(body);
	if (rc == FINCTL_OK && out) {
		if (x->json)
			finctl_print_json(out);
		else
			print(x, out);
	}
	cJSON_Delete(out);
	return rc;
}

static void print_kv(const struct finctl_ctx *x FC_UNUSED, const cJSON *o)
{
	finctl_print_kv(o, "");
}

int finctl_show(struct finctl_ctx *x, const char *method, const char *path,
		cJSON *body)
{
	return finctl_show_as(x, method, path, body, print_kv);
}

/* The path of one page of a list: the row's path, every value option
 * but --limit as a filter, the page size, the cursor (may be NULL). */
static void list_page(const struct finctl_ctx *x, int64_t want,
		      const char *after, struct buf *b)
{
	const char *p = x->cmd->opts, *v;
	struct finctl_optspec o;
	char sep = '?';

	buf_puts(b, x->cmd->path);
	while (finctl_optspec_next(&p, &o)) {
		v = finctl_opt(x, o.name);
		if (o.has_val && v && strcmp(o.name, "limit") != 0) {
			buf_printf(b, "%c%s=", sep, o.name);
			finctl_url_escape(b, v);
			sep = '&';
		}
	}
	buf_printf(b, "%climit=%" PRId64, sep,
		   want > 0 && want < 1000 ? want : 1000);
	if (after) {
		buf_puts(b, "&after=");
		finctl_url_escape(b, after);
	}
}

int finctl_cmd_list(struct finctl_ctx *x)
{
	cJSON *all = cJSON_CreateArray(), *out = NULL;
	const char *limit = finctl_opt(x, "limit");
	char *next = NULL;
	int rc = FINCTL_OK;
	int64_t want = -1;

	/* checked by finctl_args_parse: an integer of 1 or more */
	if (limit)
		parse_int64(limit, &want);
	do {
		struct buf b;
		const cJSON *nx, *it;

		buf_init(&b, 8192);
		list_page(x, want, next, &b);
		rc = finctl_call(x, "GET", buf_str(&b), NULL, &out);
		buf_free(&b);
		free(next);
		next = NULL;
		if (rc != FINCTL_OK)
			goto out;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(out, "items"))
			if (want < 0 || cJSON_GetArraySize(all) < want)
				cJSON_AddItemToArray(all, cJSON_Duplicate(it, 1));
		nx = cJSON_GetObjectItemCaseSensitive(out, "next");
		if (cJSON_IsString(nx) &&
		    (want < 0 || cJSON_GetArraySize(all) < want))
			next = strdup(nx->valuestring);
		cJSON_Delete(out);
		out = NULL;
	} while (next);
	if (x->json)
		finctl_print_json(all);
	else
		finctl_print_table(all, x->cmd->cols, x->cmd->ncols);
out:
	cJSON_Delete(all);
	return rc;
}

int finctl_cmd_show(struct finctl_ctx *x)
{
	char *p = finctl_path(x->cmd->path, x->a.pos[0]);
	int rc = finctl_show(x, x->cmd->method ? x->cmd->method : "GET", p,
			     NULL);

	free(p);
	return rc;
}

int finctl_cmd_delete(struct finctl_ctx *x)
{
	char *p = finctl_path(x->cmd->path, x->a.pos[0]);
	int rc = finctl_call(x, "DELETE", p, NULL, NULL);

	free(p);
	if (rc == FINCTL_OK && !x->json)
		printf("%s '%s' deleted\n", x->cmd->noun, x->a.pos[0]);
	return rc;
}

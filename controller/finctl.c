/*
 * finctl - the operators' CLI of fincloud, a client of the public REST API.
 *
 *   finctl [--url URL] [-o table|json] NOUN VERB [ARGS]
 *
 * One command table (commands[] below): each row is a noun, a verb, the
 * options it takes, its handler and its help. Exit codes: 0 done, 1 the
 * controller refused or failed the request, 2 usage error, 3 controller
 * unreachable, 4 not found, 5 a --wait ended with the operation failed or
 * timed out.
 */
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/http_client.h"
#include "common/json.h"
#include "common/util.h"

enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2, EX_CONN = 3, EX_NOTFOUND = 4,
       EX_WAIT = 5 };

#define MAX_OPTS 16
#define MAX_POS 4

struct args {
	const char *pos[MAX_POS];
	int npos;
	const char *key[MAX_OPTS];
	const char *val[MAX_OPTS]; /* "" for flags */
	int nopt;
};

struct cmd;

struct ctx {
	struct http_client *http;
	bool json;
	const struct cmd *cmd;
	struct args a;
};

typedef int (*cmd_fn)(struct ctx *x);

struct cmd {
	const char *noun;
	const char *verb;
	const char *usage;  /* after "finctl NOUN VERB" */
	const char *opts;   /* "tenant=,flavor=,wait": '=' takes a value */
	int npos;           /* positional arguments required */
	cmd_fn fn;
	const char *help;
};

/* ------------------------------------------------------------ arguments */

static const char *opt(const struct ctx *x, const char *key)
{
	for (int i = 0; i < x->a.nopt; i++)
		if (strcmp(x->a.key[i], key) == 0)
			return x->a.val[i];
	return NULL;
}

static bool opt_spec(const char *spec, const char *key, bool *has_val)
{
	size_t len = strlen(key);
	const char *p = spec;

	while (*p) {
		size_t l = strcspn(p, ",");
		size_t nl = (l > 0 && p[l - 1] == '=') ? l - 1 : l;

		if (nl == len && memcmp(p, key, len) == 0) {
			*has_val = nl != l;
			return true;
		}
		p += l + (p[l] == ',');
	}
	return false;
}

static int parse_args(const struct cmd *c, int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		bool has_val;

		if (strncmp(s, "--", 2) == 0 && s[2]) {
			char key[64];
			const char *eq = strchr(s + 2, '=');
			size_t kl = eq ? (size_t)(eq - s - 2) : strlen(s + 2);

			snprintf(key, sizeof(key), "%.*s", (int)kl, s + 2);
			if (!opt_spec(c->opts, key, &has_val))
				return err_set("unknown option '--%s' for '%s %s': "
					       "see 'finctl %s %s --help'",
					       key, c->noun, c->verb, c->noun,
					       c->verb);
			if (a->nopt == MAX_OPTS)
				return err_set("too many options");
			a->key[a->nopt] = argv[i] + 2;
			argv[i][2 + kl] = '\0';
			if (has_val) {
				if (eq)
					a->val[a->nopt] = eq + 1;
				else if (i + 1 < argc)
					a->val[a->nopt] = argv[++i];
				else
					return err_set("option '--%s' needs a value",
						       key);
			} else {
				if (eq)
					return err_set("option '--%s' takes no "
						       "value", key);
				a->val[a->nopt] = "";
			}
			a->nopt++;
		} else {
			if (a->npos == MAX_POS || a->npos >= c->npos)
				return err_set("unexpected argument '%s': usage: "
					       "finctl %s %s %s",
					       s, c->noun, c->verb, c->usage);
			a->pos[a->npos++] = s;
		}
	}
	if (a->npos < c->npos)
		return err_set("missing argument: usage: finctl %s %s %s",
			       c->noun, c->verb, c->usage);
	return 0;
}

/* Percent-encode s for a path segment or query value. */
static void url_escape(struct buf *b, const char *s)
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

/* ----------------------------------------------------------------- HTTP */

/* Send a request; on 2xx *out gets the parsed body (may be NULL for 204).
 * Otherwise prints the controller's error and returns the exit code. */
static int call(struct ctx *x, const char *method, const char *path,
		cJSON *body, cJSON **out)
{
	struct http_response r;
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;
	cJSON *root = NULL;
	int rc;

	if (out)
		*out = NULL;
	rc = http_client_request(x->http, method, path, text, &r);
	free(text);
	if (rc < 0) {
		fprintf(stderr, "finctl: cannot reach the controller: %s: check "
			"--url / FINCLOUD_URL and that fincloud-controller "
			"runs\n", err_msg());
		return EX_CONN;
	}
	if (r.len > 0 && json_parse(r.body, r.len, "the controller's answer",
				    &root) < 0 && r.status < 300) {
		fprintf(stderr, "finctl: %s\n", err_msg());
		http_response_free(&r);
		return EX_FAIL;
	}
	http_response_free(&r);
	if (r.status >= 200 && r.status < 300) {
		if (out)
			*out = root;
		else
			cJSON_Delete(root);
		return EX_OK;
	}
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
				cJSON_IsString(m) ? m->valuestring
						  : "request failed",
				r.status, cJSON_IsString(f) ? ", field '" : "",
				cJSON_IsString(f) ? f->valuestring : "",
				cJSON_IsString(f) ? "'" : "");
		}
		if (r.status == 401)
			fprintf(stderr, "finctl: set FINCLOUD_TOKEN or write the "
				"token to ~/.config/fincloud/token\n");
	}
	cJSON_Delete(root);
	return r.status == 404 ? EX_NOTFOUND : EX_FAIL;
}

/* ---------------------------------------------------------------- output */

struct col {
	const char *head;
	const char *path; /* "name", "quota.vcpus" */
};

static const cJSON *get_path(const cJSON *o, const char *path)
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

static void value_str(const cJSON *v, char *out, size_t size)
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
			snprintf(out, size, "%.3f", d);
	} else if (cJSON_IsArray(v)) {
		struct buf b;
		const cJSON *it;

		buf_init(&b, size - 1);
		cJSON_ArrayForEach(it, v) {
			char one[128];

			value_str(it, one, sizeof(one));
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

static void print_table(const cJSON *items, const struct col *cols, size_t n)
{
	size_t w[16] = {0}, rows = (size_t)cJSON_GetArraySize(items);
	char cell[256];
	const cJSON *it;

	for (size_t c = 0; c < n; c++)
		w[c] = strlen(cols[c].head);
	cJSON_ArrayForEach(it, items)
		for (size_t c = 0; c < n; c++) {
			value_str(get_path(it, cols[c].path), cell, sizeof(cell));
			if (strlen(cell) > w[c])
				w[c] = strlen(cell);
		}
	for (size_t c = 0; c < n; c++)
		printf("%-*s%s", (int)w[c], cols[c].head, c + 1 < n ? "  " : "\n");
	cJSON_ArrayForEach(it, items)
		for (size_t c = 0; c < n; c++) {
			value_str(get_path(it, cols[c].path), cell, sizeof(cell));
			printf("%-*s%s", (int)(c + 1 < n ? w[c] : 0), cell,
			       c + 1 < n ? "  " : "\n");
		}
	if (rows == 0)
		printf("(none)\n");
}

static void print_kv(const cJSON *o, const char *prefix)
{
	const cJSON *it;
	char val[1024], key[128];

	cJSON_ArrayForEach(it, o) {
		snprintf(key, sizeof(key), "%s%s", prefix, it->string);
		if (cJSON_IsObject(it)) {
			char p[sizeof(key) + 2];

			snprintf(p, sizeof(p), "%s.", key);
			print_kv(it, p);
			continue;
		}
		value_str(it, val, sizeof(val));
		printf("%-28s %s\n", key, val);
	}
}

static void print_json(const cJSON *o)
{
	char *s = cJSON_Print(o);

	printf("%s\n", s ? s : "null");
	free(s);
}

static int show(struct ctx *x, const char *method, const char *path,
		cJSON *body)
{
	cJSON *out;
	int rc = call(x, method, path, body, &out);

	cJSON_Delete(body);
	if (rc != EX_OK)
		return rc;
	if (out) {
		if (x->json)
			print_json(out);
		else
			print_kv(out, "");
	}
	cJSON_Delete(out);
	return EX_OK;
}

/* GET a list, following "next" pages (all of them unless --limit). */
static int list(struct ctx *x, const char *base, const char *const *filters,
		const struct col *cols, size_t ncols)
{
	cJSON *all = cJSON_CreateArray(), *out = NULL;
	const char *limit = opt(x, "limit");
	char *next = NULL;
	int rc = EX_OK;
	int64_t want = -1;

	if (limit && (parse_int64(limit, &want) < 0 || want < 1)) {
		fprintf(stderr, "finctl: --limit must be a positive integer\n");
		cJSON_Delete(all);
		return EX_USAGE;
	}
	for (;;) {
		struct buf b;
		const cJSON *items, *nx, *it;
		char sep = '?';

		buf_init(&b, 8192);
		buf_puts(&b, base);
		for (size_t i = 0; filters && filters[i]; i++) {
			const char *v = opt(x, filters[i]);

			if (v) {
				buf_printf(&b, "%c%s=", sep, filters[i]);
				url_escape(&b, v);
				sep = '&';
			}
		}
		buf_printf(&b, "%climit=%" PRId64, sep,
			   want > 0 && want < 1000 ? want : 1000);
		if (next) {
			buf_puts(&b, "&after=");
			url_escape(&b, next);
		}
		rc = call(x, "GET", buf_str(&b), NULL, &out);
		buf_free(&b);
		free(next);
		next = NULL;
		if (rc != EX_OK)
			break;
		items = cJSON_GetObjectItemCaseSensitive(out, "items");
		cJSON_ArrayForEach(it, items)
			if (want < 0 || cJSON_GetArraySize(all) < want)
				cJSON_AddItemToArray(all, cJSON_Duplicate(it, 1));
		nx = cJSON_GetObjectItemCaseSensitive(out, "next");
		if (cJSON_IsString(nx) &&
		    (want < 0 || cJSON_GetArraySize(all) < want))
			next = strdup(nx->valuestring);
		cJSON_Delete(out);
		out = NULL;
		if (next == NULL)
			break;
	}
	if (rc == EX_OK) {
		if (x->json)
			print_json(all);
		else
			print_table(all, cols, ncols);
	}
	cJSON_Delete(all);
	return rc;
}

/* ---------------------------------------------------------- body helpers */

static int add_num(cJSON *o, const char *key, const char *val, bool integer)
{
	double d;
	int64_t n;

	if (val == NULL)
		return 0;
	if (integer) {
		if (parse_int64(val, &n) < 0)
			return err_set("--%s: expected an integer, got '%s'",
				       key, val);
		cJSON_AddNumberToObject(o, key, (double)n);
	} else {
		if (parse_double(val, &d) < 0)
			return err_set("--%s: expected a number, got '%s'", key,
				       val);
		cJSON_AddNumberToObject(o, key, d);
	}
	return 0;
}

static cJSON *csv_json(const char *csv)
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

static void add_str(cJSON *o, const char *key, const char *val)
{
	if (val)
		cJSON_AddStringToObject(o, key, val);
}

/* "/v1/pools/" + escaped arg + suffix; "%s" in fmt marks where arg goes. */
static char *path1(const char *fmt, const char *arg)
{
	const char *at = strstr(fmt, "%s");
	struct buf b;
	char *s;

	buf_init(&b, 8192);
	buf_append(&b, fmt, at ? (size_t)(at - fmt) : strlen(fmt));
	url_escape(&b, arg);
	if (at)
		buf_puts(&b, at + 2);
	s = buf_detach(&b);
	buf_free(&b);
	return s;
}

static int usage_err(void)
{
	fprintf(stderr, "finctl: %s\n", err_msg());
	return EX_USAGE;
}

/* ------------------------------------------------------------------ pools */

static const struct col pool_cols[] = {
	{"NAME", "name"}, {"POLICY", "policy"}, {"CPU_RATIO", "cpu_ratio"},
	{"MEM_RATIO", "mem_ratio"}, {"DISK_RATIO", "disk_ratio"},
	{"COMPLIANCE", "compliance_classes"},
};

static int c_pool_list(struct ctx *x)
{
	return list(x, "/v1/pools", NULL, pool_cols, FC_ARRAY_LEN(pool_cols));
}

static int c_pool_show(struct ctx *x)
{
	char *p = path1("/v1/pools/%s", x->a.pos[0]);
	int rc = show(x, "GET", p, NULL);

	free(p);
	return rc;
}

static cJSON *pool_body(struct ctx *x, const char *name)
{
	cJSON *o = cJSON_CreateObject();

	add_str(o, "name", name);
	if (add_num(o, "cpu_ratio", opt(x, "cpu-ratio"), false) < 0 ||
	    add_num(o, "mem_ratio", opt(x, "mem-ratio"), false) < 0 ||
	    add_num(o, "disk_ratio", opt(x, "disk-ratio"), false) < 0) {
		cJSON_Delete(o);
		return NULL;
	}
	add_str(o, "policy", opt(x, "policy"));
	if (opt(x, "compliance"))
		cJSON_AddItemToObject(o, "compliance_classes",
				      csv_json(opt(x, "compliance")));
	return o;
}

static int c_pool_create(struct ctx *x)
{
	cJSON *b = pool_body(x, x->a.pos[0]);

	return b ? show(x, "POST", "/v1/pools", b) : usage_err();
}

static int c_pool_update(struct ctx *x)
{
	cJSON *b = pool_body(x, NULL);
	char *p;
	int rc;

	if (b == NULL)
		return usage_err();
	p = path1("/v1/pools/%s", x->a.pos[0]);
	rc = show(x, "PATCH", p, b);
	free(p);
	return rc;
}

static int c_delete(struct ctx *x, const char *fmt, const char *what)
{
	char *p = path1(fmt, x->a.pos[0]);
	int rc = call(x, "DELETE", p, NULL, NULL);

	free(p);
	if (rc == EX_OK && !x->json)
		printf("%s '%s' deleted\n", what, x->a.pos[0]);
	return rc;
}

static int c_pool_delete(struct ctx *x)
{
	return c_delete(x, "/v1/pools/%s", "pool");
}

static const struct col util_cols[] = {
	{"DIMENSION", "dim"}, {"TOTAL", "total"}, {"USABLE", "usable"},
	{"ALLOCATED", "allocated"},
	{"USED", "used"}, {"ETA_ALLOC", "eta_allocated"}, {"ETA_USED", "eta_used"},
};

static int c_util_show(struct ctx *x)
{
	char *p = path1("/v1/pools/%s/utilization", x->a.pos[0]);
	cJSON *out, *rows;
	const cJSON *dims, *d, *series;
	int rc;

	rc = call(x, "GET", p, NULL, &out);
	free(p);
	if (rc != EX_OK)
		return rc;
	if (x->json) {
		print_json(out);
		cJSON_Delete(out);
		return EX_OK;
	}
	rows = cJSON_CreateArray();
	dims = cJSON_GetObjectItemCaseSensitive(out, "dimensions");
	cJSON_ArrayForEach(d, dims) {
		cJSON *r = cJSON_Duplicate(d, 1);

		cJSON_AddStringToObject(r, "dim", d->string);
		cJSON_AddItemToArray(rows, r);
	}
	{
		char hosts[32];

		value_str(get_path(out, "hosts"), hosts, sizeof(hosts));
		printf("pool %s: %s hosts up\n", x->a.pos[0], hosts);
	}
	print_table(rows, util_cols, FC_ARRAY_LEN(util_cols));
	series = cJSON_GetObjectItemCaseSensitive(out, "series");
	printf("series: %d samples in the last hour", cJSON_GetArraySize(series));
	if (cJSON_GetArraySize(series) > 0) {
		const cJSON *last = cJSON_GetArrayItem(series,
						       cJSON_GetArraySize(series) - 1);
		char v[3][32];

		value_str(get_path(last, "eta_allocated.vcpus"), v[0], sizeof(v[0]));
		value_str(get_path(last, "eta_allocated.mem_mib"), v[1], sizeof(v[1]));
		value_str(get_path(last, "eta_allocated.disk_gib"), v[2], sizeof(v[2]));
		printf(" (latest allocated eta: vcpus %s, mem %s, disk %s)", v[0],
		       v[1], v[2]);
	}
	printf("\n");
	cJSON_Delete(rows);
	cJSON_Delete(out);
	return EX_OK;
}

/* ------------------------------------------------------------------ hosts */

static const struct col host_cols[] = {
	{"NAME", "name"}, {"POOL", "pool"}, {"STATE", "state"},
	{"MAINT", "maintenance"}, {"VCPUS", "vcpus"}, {"MEM_MIB", "mem_mib"},
	{"DISK_GIB", "disk_gib"}, {"VMS", "vm_count"},
	{"ALLOC_VCPUS", "allocated.vcpus"}, {"ALLOC_MEM", "allocated.mem_mib"},
};

static int c_host_list(struct ctx *x)
{
	static const char *const f[] = {"pool", "state", NULL};

	return list(x, "/v1/hosts", f, host_cols, FC_ARRAY_LEN(host_cols));
}

static int c_host_show(struct ctx *x)
{
	char *p = path1("/v1/hosts/%s", x->a.pos[0]);
	int rc = show(x, "GET", p, NULL);

	free(p);
	return rc;
}

static int c_host_maintenance(struct ctx *x)
{
	const char *v = x->a.pos[1];
	cJSON *b;
	char *p;
	int rc;

	if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
		fprintf(stderr, "finctl: expected 'on' or 'off', got '%s'\n", v);
		return EX_USAGE;
	}
	b = cJSON_CreateObject();
	cJSON_AddBoolToObject(b, "maintenance", strcmp(v, "on") == 0);
	p = path1("/v1/hosts/%s", x->a.pos[0]);
	rc = show(x, "PATCH", p, b);
	free(p);
	return rc;
}

static int c_host_set(struct ctx *x)
{
	cJSON *b = cJSON_CreateObject();
	char *p;
	int rc;

	if (add_num(b, "cost", opt(x, "cost"), false) < 0 ||
	    add_num(b, "availability", opt(x, "availability"), false) < 0) {
		cJSON_Delete(b);
		return usage_err();
	}
	p = path1("/v1/hosts/%s", x->a.pos[0]);
	rc = show(x, "PATCH", p, b);
	free(p);
	return rc;
}

/* ---------------------------------------------------------------- tenants */

static const struct col tenant_cols[] = {
	{"NAME", "name"}, {"ISOLATION", "isolation"},
	{"COMPLIANCE", "compliance_class"}, {"POOLS", "pools"},
	{"VMS", "usage.vms"}, {"QUOTA_VMS", "quota.vms"},
	{"VCPUS", "usage.vcpus"}, {"QUOTA_VCPUS", "quota.vcpus"},
	{"MEM_MIB", "usage.mem_mib"}, {"QUOTA_MEM", "quota.mem_mib"},
};

static int c_tenant_list(struct ctx *x)
{
	return list(x, "/v1/tenants", NULL, tenant_cols, FC_ARRAY_LEN(tenant_cols));
}

static int c_tenant_show(struct ctx *x)
{
	char *p = path1("/v1/tenants/%s", x->a.pos[0]);
	int rc = show(x, "GET", p, NULL);

	free(p);
	return rc;
}

/* --quota-* (or, for set-quota, --vcpus ...) into a quota object; "none"
 * lifts a limit. */
static int quota_body(struct ctx *x, cJSON *o, const char *prefix)
{
	static const char *const keys[] = {"vcpus", "mem-mib", "disk-gib", "vms"};
	static const char *const fields[] = {"vcpus", "mem_mib", "disk_gib", "vms"};
	cJSON *q = NULL;

	for (int i = 0; i < 4; i++) {
		char k[32];
		const char *v;

		snprintf(k, sizeof(k), "%s%s", prefix, keys[i]);
		v = opt(x, k);
		if (v == NULL)
			continue;
		if (q == NULL)
			q = cJSON_AddObjectToObject(o, "quota");
		if (strcmp(v, "none") == 0) {
			cJSON_AddNullToObject(q, fields[i]);
			continue;
		}
		if (add_num(q, fields[i], v, true) < 0)
			return err_prefix("--%s", k);
	}
	return 0;
}

static int c_tenant_create(struct ctx *x)
{
	cJSON *b = cJSON_CreateObject();

	add_str(b, "name", x->a.pos[0]);
	add_str(b, "isolation", opt(x, "isolation"));
	add_str(b, "compliance_class", opt(x, "compliance-class"));
	if (opt(x, "pools"))
		cJSON_AddItemToObject(b, "pools", csv_json(opt(x, "pools")));
	if (quota_body(x, b, "quota-") < 0) {
		cJSON_Delete(b);
		return usage_err();
	}
	return show(x, "POST", "/v1/tenants", b);
}

static int c_tenant_update(struct ctx *x)
{
	cJSON *b = cJSON_CreateObject();
	char *p;
	int rc;

	add_str(b, "compliance_class", opt(x, "compliance-class"));
	if (opt(x, "pools"))
		cJSON_AddItemToObject(b, "pools", csv_json(opt(x, "pools")));
	if (quota_body(x, b, "quota-") < 0 || quota_body(x, b, "") < 0) {
		cJSON_Delete(b);
		return usage_err();
	}
	p = path1("/v1/tenants/%s", x->a.pos[0]);
	rc = show(x, "PATCH", p, b);
	free(p);
	return rc;
}

static int c_tenant_delete(struct ctx *x)
{
	return c_delete(x, "/v1/tenants/%s", "tenant");
}

/* ----------------------------------------------------------------- groups */

static const struct col group_cols[] = {
	{"NAME", "name"}, {"TENANT", "tenant"}, {"POLICY", "policy"},
	{"TARGET", "availability"}, {"ACHIEVED", "achieved_availability"},
	{"MEMBERS", "members"}, {"HOSTS", "hosts"},
};

static int c_group_list(struct ctx *x)
{
	static const char *const f[] = {"tenant", NULL};

	return list(x, "/v1/groups", f, group_cols, FC_ARRAY_LEN(group_cols));
}

static int c_group_show(struct ctx *x)
{
	char *p = path1("/v1/groups/%s", x->a.pos[0]);
	int rc = show(x, "GET", p, NULL);

	free(p);
	return rc;
}

static int c_group_create(struct ctx *x)
{
	cJSON *b = cJSON_CreateObject();

	add_str(b, "name", x->a.pos[0]);
	add_str(b, "tenant", opt(x, "tenant"));
	add_str(b, "policy", opt(x, "policy"));
	if (add_num(b, "availability", opt(x, "availability"), false) < 0) {
		cJSON_Delete(b);
		return usage_err();
	}
	return show(x, "POST", "/v1/groups", b);
}

static int c_group_delete(struct ctx *x)
{
	return c_delete(x, "/v1/groups/%s", "group");
}

/* ---------------------------------------------------------------- flavors */

static const struct col flavor_cols[] = {
	{"NAME", "name"}, {"VCPUS", "vcpus"}, {"MEM_MIB", "mem_mib"},
	{"DISK_GIB", "disk_gib"},
};

static int c_flavor_list(struct ctx *x)
{
	return list(x, "/v1/flavors", NULL, flavor_cols, FC_ARRAY_LEN(flavor_cols));
}

static int c_flavor_show(struct ctx *x)
{
	char *p = path1("/v1/flavors/%s", x->a.pos[0]);
	int rc = show(x, "GET", p, NULL);

	free(p);
	return rc;
}

static int c_flavor_create(struct ctx *x)
{
	cJSON *b = cJSON_CreateObject();

	add_str(b, "name", x->a.pos[0]);
	if (add_num(b, "vcpus", opt(x, "vcpus"), true) < 0 ||
	    add_num(b, "mem_mib", opt(x, "mem-mib"), true) < 0 ||
	    add_num(b, "disk_gib", opt(x, "disk-gib"), true) < 0) {
		cJSON_Delete(b);
		return usage_err();
	}
	return show(x, "POST", "/v1/flavors", b);
}

static int c_flavor_delete(struct ctx *x)
{
	return c_delete(x, "/v1/flavors/%s", "flavor");
}

/* -------------------------------------------------------------------- VMs */

static const struct col vm_cols[] = {
	{"ID", "id"}, {"NAME", "name"}, {"TENANT", "tenant"},
	{"FLAVOR", "flavor"}, {"HOST", "host"}, {"STATE", "state"},
	{"DESIRED", "desired_state"}, {"GROUP", "group"},
};

static int c_vm_list(struct ctx *x)
{
	static const char *const f[] = {"tenant", "host", "state", "pool",
					"group", "flavor", NULL};

	return list(x, "/v1/vms", f, vm_cols, FC_ARRAY_LEN(vm_cols));
}

static int c_vm_show(struct ctx *x)
{
	char *p = path1("/v1/vms/%s", x->a.pos[0]);
	int rc = show(x, "GET", p, NULL);

	free(p);
	return rc;
}

static int wait_timeout(struct ctx *x, int64_t *secs)
{
	const char *t = opt(x, "timeout");

	*secs = 300;
	if (t && (parse_int64(t, secs) < 0 || *secs < 1)) {
		fprintf(stderr, "finctl: --timeout must be a positive number of "
			"seconds\n");
		return -1;
	}
	return 0;
}

/* Poll the VM until its state is `want` (or, for deletion, it is gone),
 * showing each change on stderr. */
static int vm_wait(struct ctx *x, const char *id, const char *want)
{
	char *p = path1("/v1/vms/%s", id);
	char last[32] = "";
	uint64_t start = time_mono_ns();
	int64_t secs;
	int rc = EX_WAIT;

	if (wait_timeout(x, &secs) < 0) {
		free(p);
		return EX_USAGE;
	}
	for (;;) {
		struct http_response r;
		cJSON *vm = NULL;
		const cJSON *st, *host, *er;

		if (http_client_request(x->http, "GET", p, NULL, &r) < 0) {
			fprintf(stderr, "finctl: %s\n", err_msg());
			rc = EX_CONN;
			break;
		}
		if (r.status == 404 && want == NULL) {
			http_response_free(&r);
			if (!x->json)
				fprintf(stderr, "  %s: deleted\n", id);
			rc = EX_OK;
			break;
		}
		if (r.status != 200 ||
		    json_parse(r.body, r.len, "VM", &vm) < 0) {
			fprintf(stderr, "finctl: VM '%s': HTTP %ld while waiting\n",
				id, r.status);
			http_response_free(&r);
			rc = r.status == 404 ? EX_NOTFOUND : EX_FAIL;
			break;
		}
		http_response_free(&r);
		st = cJSON_GetObjectItemCaseSensitive(vm, "state");
		host = cJSON_GetObjectItemCaseSensitive(vm, "host");
		er = cJSON_GetObjectItemCaseSensitive(vm, "error");
		if (cJSON_IsString(st) && strcmp(st->valuestring, last) != 0) {
			snprintf(last, sizeof(last), "%s", st->valuestring);
			fprintf(stderr, "  %s: %s on %s (%.1f s)\n", id, last,
				cJSON_IsString(host) ? host->valuestring : "?",
				(double)(time_mono_ns() - start) / 1e9);
		}
		if (want && cJSON_IsString(st) && strcmp(st->valuestring, want) == 0) {
			if (x->json)
				print_json(vm);
			cJSON_Delete(vm);
			rc = EX_OK;
			break;
		}
		if (cJSON_IsString(st) && strcmp(st->valuestring, "failed") == 0) {
			fprintf(stderr, "finctl: VM '%s' failed: %s\n", id,
				cJSON_IsString(er) ? er->valuestring : "no reason given");
			cJSON_Delete(vm);
			break;
		}
		cJSON_Delete(vm);
		if ((time_mono_ns() - start) / 1000000000ULL >= (uint64_t)secs) {
			fprintf(stderr, "finctl: VM '%s' is still %s after %" PRId64
				" s: check its host with 'finctl host show' and "
				"'finctl vm show %s'\n", id, last, secs, id);
			break;
		}
		usleep(200 * 1000);
	}
	free(p);
	return rc;
}

static int c_vm_create(struct ctx *x)
{
	cJSON *b = cJSON_CreateObject(), *out;
	const cJSON *id;
	int rc;

	add_str(b, "tenant", opt(x, "tenant"));
	add_str(b, "flavor", opt(x, "flavor"));
	add_str(b, "group", opt(x, "group"));
	add_str(b, "name", opt(x, "name"));
	add_str(b, "pool", opt(x, "pool"));
	if (opt(x, "flavor") == NULL) {
		cJSON_Delete(b);
		fprintf(stderr, "finctl: vm create needs --flavor (see 'finctl "
			"flavor list')\n");
		return EX_USAGE;
	}
	rc = call(x, "POST", "/v1/vms", b, &out);
	cJSON_Delete(b);
	if (rc != EX_OK)
		return rc;
	id = cJSON_GetObjectItemCaseSensitive(out, "id");
	if (opt(x, "wait") && cJSON_IsString(id)) {
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(out, "host");

		if (!x->json)
			fprintf(stderr, "VM %s placed on %s, waiting until it "
				"runs\n", id->valuestring,
				cJSON_IsString(h) ? h->valuestring : "?");
		rc = vm_wait(x, id->valuestring, "running");
		if (rc == EX_OK && !x->json)
			printf("%s\n", id->valuestring);
	} else if (x->json) {
		print_json(out);
	} else {
		print_kv(out, "");
	}
	cJSON_Delete(out);
	return rc;
}

static int vm_action(struct ctx *x, const char *action, const char *want,
		     cJSON *body)
{
	struct buf b;
	cJSON *out;
	int rc;

	buf_init(&b, 4096);
	buf_puts(&b, "/v1/vms/");
	url_escape(&b, x->a.pos[0]);
	if (action)
		buf_printf(&b, "/%s", action);
	rc = call(x, action ? "POST" : "DELETE", buf_str(&b), body, &out);
	buf_free(&b);
	cJSON_Delete(body);
	if (rc != EX_OK)
		return rc;
	if (opt(x, "wait")) {
		cJSON_Delete(out);
		return vm_wait(x, x->a.pos[0], want);
	}
	if (x->json)
		print_json(out);
	else if (out)
		print_kv(out, "");
	cJSON_Delete(out);
	return EX_OK;
}

static int c_vm_start(struct ctx *x)
{
	return vm_action(x, "start", "running", NULL);
}

static int c_vm_stop(struct ctx *x)
{
	return vm_action(x, "stop", "stopped", NULL);
}

static int c_vm_delete(struct ctx *x)
{
	return vm_action(x, NULL, NULL, NULL);
}

static int task_wait(struct ctx *x, const char *id)
{
	char *p = path1("/v1/tasks/%s", id);
	char last[32] = "";
	uint64_t start = time_mono_ns();
	int64_t secs;
	int rc = EX_WAIT;

	if (wait_timeout(x, &secs) < 0) {
		free(p);
		return EX_USAGE;
	}
	for (;;) {
		cJSON *t;
		const cJSON *st, *er;
		int r = call(x, "GET", p, NULL, &t);

		if (r != EX_OK) {
			rc = r;
			break;
		}
		st = cJSON_GetObjectItemCaseSensitive(t, "state");
		er = cJSON_GetObjectItemCaseSensitive(t, "error");
		if (cJSON_IsString(st) && strcmp(st->valuestring, last) != 0) {
			snprintf(last, sizeof(last), "%s", st->valuestring);
			fprintf(stderr, "  task %s: %s (%.1f s)\n", id, last,
				(double)(time_mono_ns() - start) / 1e9);
		}
		if (cJSON_IsString(st) && strcmp(st->valuestring, "done") == 0) {
			if (x->json)
				print_json(t);
			cJSON_Delete(t);
			rc = EX_OK;
			break;
		}
		if (cJSON_IsString(st) && strcmp(st->valuestring, "failed") == 0) {
			fprintf(stderr, "finctl: task '%s' failed: %s\n", id,
				cJSON_IsString(er) ? er->valuestring : "no reason");
			cJSON_Delete(t);
			break;
		}
		cJSON_Delete(t);
		if ((time_mono_ns() - start) / 1000000000ULL >= (uint64_t)secs) {
			fprintf(stderr, "finctl: task '%s' is still %s after %"
				PRId64 " s\n", id, last, secs);
			break;
		}
		usleep(200 * 1000);
	}
	free(p);
	return rc;
}

static int task_action(struct ctx *x, const char *action, cJSON *body)
{
	struct buf b;
	cJSON *out;
	const cJSON *id;
	int rc;

	buf_init(&b, 4096);
	buf_puts(&b, "/v1/vms/");
	url_escape(&b, x->a.pos[0]);
	buf_printf(&b, "/%s", action);
	rc = call(x, "POST", buf_str(&b), body, &out);
	buf_free(&b);
	cJSON_Delete(body);
	if (rc != EX_OK)
		return rc;
	id = cJSON_GetObjectItemCaseSensitive(out, "id");
	if (opt(x, "wait") && cJSON_IsString(id)) {
		rc = task_wait(x, id->valuestring);
	} else if (x->json) {
		print_json(out);
	} else {
		print_kv(out, "");
	}
	cJSON_Delete(out);
	return rc;
}

static int c_vm_reboot(struct ctx *x)
{
	return task_action(x, "reboot", NULL);
}

static int c_vm_migrate(struct ctx *x)
{
	cJSON *b = NULL;

	if (opt(x, "to")) {
		b = cJSON_CreateObject();
		add_str(b, "target_host", opt(x, "to"));
	}
	return task_action(x, "migrate", b);
}

/* ------------------------------------------------------------------ tasks */

static const struct col task_cols[] = {
	{"ID", "id"}, {"TYPE", "type"}, {"STATE", "state"}, {"VM", "vm_id"},
	{"SOURCE", "source_host"}, {"TARGET", "target_host"}, {"ERROR", "error"},
};

static int c_task_list(struct ctx *x)
{
	static const char *const f[] = {"vm", "state", NULL};

	return list(x, "/v1/tasks", f, task_cols, FC_ARRAY_LEN(task_cols));
}

static int c_task_show(struct ctx *x)
{
	char *p;
	int rc;

	if (opt(x, "wait"))
		return task_wait(x, x->a.pos[0]);
	p = path1("/v1/tasks/%s", x->a.pos[0]);
	rc = show(x, "GET", p, NULL);
	free(p);
	return rc;
}

/* ------------------------------------------------------------------ audit */

static const struct col audit_cols[] = {
	{"SEQ", "seq"}, {"TIME_MS", "time_ms"}, {"ACTOR", "actor"},
	{"ACTION", "action"}, {"TARGET", "target"}, {"RESULT", "result"},
};

static int c_audit_list(struct ctx *x)
{
	static const char *const f[] = {"after", NULL};

	return list(x, "/v1/audit", f, audit_cols, FC_ARRAY_LEN(audit_cols));
}

static int c_audit_verify(struct ctx *x)
{
	cJSON *out;
	const cJSON *ok, *n, *why;
	int rc = call(x, "GET", "/v1/audit/verify", NULL, &out);

	if (rc != EX_OK)
		return rc;
	ok = cJSON_GetObjectItemCaseSensitive(out, "ok");
	n = cJSON_GetObjectItemCaseSensitive(out, "entries");
	why = cJSON_GetObjectItemCaseSensitive(out, "reason");
	if (x->json)
		print_json(out);
	else if (cJSON_IsTrue(ok))
		printf("audit log intact: %.0f entries verified\n",
		       cJSON_IsNumber(n) ? n->valuedouble : 0);
	else
		printf("AUDIT LOG TAMPERED: %s\n",
		       cJSON_IsString(why) ? why->valuestring : "?");
	rc = cJSON_IsTrue(ok) ? EX_OK : EX_FAIL;
	cJSON_Delete(out);
	return rc;
}

/* ----------------------------------------------------------------- tokens */

static const struct col token_cols[] = {
	{"ID", "id"}, {"ROLE", "role"}, {"TENANT", "tenant"}, {"NODE", "node"},
	{"DESCRIPTION", "description"},
};

static int c_token_list(struct ctx *x)
{
	return list(x, "/v1/tokens", NULL, token_cols, FC_ARRAY_LEN(token_cols));
}

static int c_token_create(struct ctx *x)
{
	cJSON *b = cJSON_CreateObject(), *out;
	const cJSON *t;
	int rc;

	add_str(b, "role", opt(x, "role"));
	add_str(b, "tenant", opt(x, "tenant"));
	add_str(b, "description", opt(x, "description"));
	rc = call(x, "POST", "/v1/tokens", b, &out);
	cJSON_Delete(b);
	if (rc != EX_OK)
		return rc;
	t = cJSON_GetObjectItemCaseSensitive(out, "token");
	if (x->json) {
		print_json(out);
	} else {
		/* the secret alone on stdout, so that $(finctl token create)
		 * captures it; the rest on stderr */
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(out, "id");

		fprintf(stderr, "token %s created; it is shown only now\n",
			cJSON_IsString(id) ? id->valuestring : "?");
		printf("%s\n", cJSON_IsString(t) ? t->valuestring : "");
	}
	cJSON_Delete(out);
	return EX_OK;
}

static int c_token_delete(struct ctx *x)
{
	return c_delete(x, "/v1/tokens/%s", "token");
}

/* ---------------------------------------------------------- command table */

/* rebalance plan/run, host drain/resume */
#include "controller/finctl_rebalance.c"

static const struct cmd commands[] = {
	{"pool", "list", "", "limit=", 0, c_pool_list, "list pools"},
	{"pool", "show", "NAME", "", 1, c_pool_show, "show one pool"},
	{"pool", "create", "NAME [--cpu-ratio R] [--mem-ratio R] [--disk-ratio R] "
	 "[--policy pack|spread] [--compliance C1,C2]",
	 "cpu-ratio=,mem-ratio=,disk-ratio=,policy=,compliance=", 1,
	 c_pool_create, "create a pool (overcommit ratios, placement policy)"},
	{"pool", "update", "NAME [--cpu-ratio R] [--mem-ratio R] [--disk-ratio R] "
	 "[--policy pack|spread] [--compliance C1,C2]",
	 "cpu-ratio=,mem-ratio=,disk-ratio=,policy=,compliance=", 1,
	 c_pool_update, "change a pool"},
	{"pool", "delete", "NAME", "", 1, c_pool_delete, "delete an empty pool"},
	{"host", "list", "[--pool P] [--state up|down|maintenance]",
	 "pool=,state=,limit=", 0, c_host_list, "list hosts"},
	{"host", "show", "NAME", "", 1, c_host_show, "show one host"},
	{"host", "maintenance", "NAME on|off", "", 2, c_host_maintenance,
	 "take a host out of placement (on) or back in (off)"},
	{"host", "set", "NAME [--cost C] [--availability A]",
	 "cost=,availability=", 1, c_host_set, "set a host's cost / availability"},
	{"host", "drain", "NAME [--concurrency K] [--no-wait] [--timeout S]",
	 "concurrency=,no-wait,timeout=", 1, c_host_drain,
	 "maintenance, then live-migrate every VM off the host (waits, "
	 "showing each move)"},
	{"host", "resume", "NAME", "", 1, c_host_resume,
	 "take a host out of maintenance (after a drain)"},
	{"rebalance", "plan", "--pool P [--policy spread|pack] [--max-moves N] "
	 "[--min-gain G]", "pool=,policy=,max-moves=,min-gain=", 0,
	 c_rebalance_plan,
	 "the moves a rebalance would make, with eta before and predicted "
	 "after (changes nothing)"},
	{"rebalance", "run", "--pool P [--policy spread|pack] [--max-moves N] "
	 "[--min-gain G] [--concurrency K] [--no-wait] [--timeout S]",
	 "pool=,policy=,max-moves=,min-gain=,concurrency=,no-wait,timeout=", 0,
	 c_rebalance_run,
	 "execute a rebalance as live migrations (waits, showing each move; "
	 "exit 5 when it failed)"},
	{"tenant", "list", "", "limit=", 0, c_tenant_list, "list tenants"},
	{"tenant", "show", "NAME", "", 1, c_tenant_show,
	 "show a tenant with its quota and usage"},
	{"tenant", "create", "NAME [--isolation shared|dedicated] "
	 "[--compliance-class C] [--pools P1,P2] [--quota-vcpus N] "
	 "[--quota-mem-mib N] [--quota-disk-gib N] [--quota-vms N]",
	 "isolation=,compliance-class=,pools=,quota-vcpus=,quota-mem-mib=,"
	 "quota-disk-gib=,quota-vms=", 1, c_tenant_create, "create a tenant"},
	{"tenant", "update", "NAME [--compliance-class C] [--pools P1,P2] "
	 "[--quota-vcpus N|none] [--quota-mem-mib N|none] "
	 "[--quota-disk-gib N|none] [--quota-vms N|none]",
	 "compliance-class=,pools=,quota-vcpus=,quota-mem-mib=,quota-disk-gib=,"
	 "quota-vms=", 1, c_tenant_update, "change a tenant"},
	{"tenant", "set-quota", "NAME [--vcpus N|none] [--mem-mib N|none] "
	 "[--disk-gib N|none] [--vms N|none]", "vcpus=,mem-mib=,disk-gib=,vms=",
	 1, c_tenant_update, "set a tenant's quotas"},
	{"tenant", "delete", "NAME", "", 1, c_tenant_delete,
	 "delete a tenant without VMs or groups"},
	{"group", "list", "[--tenant T]", "tenant=,limit=", 0, c_group_list,
	 "list groups"},
	{"group", "show", "NAME", "", 1, c_group_show, "show one group"},
	{"group", "create", "NAME --tenant T [--policy anti-affinity|affinity] "
	 "[--availability A]", "tenant=,policy=,availability=", 1,
	 c_group_create, "create a service group"},
	{"group", "delete", "NAME", "", 1, c_group_delete, "delete an empty group"},
	{"flavor", "list", "", "limit=", 0, c_flavor_list, "list flavors"},
	{"flavor", "show", "NAME", "", 1, c_flavor_show, "show one flavor"},
	{"flavor", "create", "NAME --vcpus N --mem-mib N --disk-gib N",
	 "vcpus=,mem-mib=,disk-gib=", 1, c_flavor_create, "create a flavor"},
	{"flavor", "delete", "NAME", "", 1, c_flavor_delete, "delete a flavor"},
	{"vm", "list", "[--tenant T] [--host H] [--state S] [--pool P] "
	 "[--group G] [--flavor F] [--limit N]",
	 "tenant=,host=,state=,pool=,group=,flavor=,limit=", 0, c_vm_list,
	 "list VMs (all pages unless --limit)"},
	{"vm", "show", "ID", "", 1, c_vm_show, "show one VM"},
	{"vm", "create", "--tenant T --flavor F [--group G] [--name N] [--pool P] "
	 "[--wait [--timeout S]]", "tenant=,flavor=,group=,name=,pool=,wait,"
	 "timeout=", 0, c_vm_create,
	 "create a VM; with --wait show progress until it runs or fails"},
	{"vm", "start", "ID [--wait [--timeout S]]", "wait,timeout=", 1,
	 c_vm_start, "start a VM"},
	{"vm", "stop", "ID [--wait [--timeout S]]", "wait,timeout=", 1,
	 c_vm_stop, "stop a VM (ACPI shutdown)"},
	{"vm", "reboot", "ID [--wait [--timeout S]]", "wait,timeout=", 1,
	 c_vm_reboot, "reboot a running VM"},
	{"vm", "delete", "ID [--wait [--timeout S]]", "wait,timeout=", 1,
	 c_vm_delete, "delete a VM and its disks"},
	{"vm", "migrate", "ID [--to HOST] [--wait [--timeout S]]",
	 "to=,wait,timeout=", 1, c_vm_migrate,
	 "live-migrate a VM (to HOST, or where the scheduler says)"},
	{"task", "list", "[--vm ID] [--state S]", "vm=,state=,limit=", 0,
	 c_task_list, "list tasks"},
	{"task", "show", "ID [--wait [--timeout S]]", "wait,timeout=", 1,
	 c_task_show, "show a task, or wait until it is done"},
	{"util", "show", "POOL", "", 1, c_util_show,
	 "eta = V_used / V_total of a pool, now and as a time series"},
	{"audit", "list", "[--after SEQ] [--limit N]", "after=,limit=", 0,
	 c_audit_list, "list audit entries"},
	{"audit", "verify", "", "", 0, c_audit_verify,
	 "check the audit hash chain (exit 1 when tampered)"},
	{"token", "list", "", "limit=", 0, c_token_list, "list tokens (no secrets)"},
	{"token", "create", "--role admin|operator|tenant|viewer|join "
	 "[--tenant T] [--description D]", "role=,tenant=,description=", 0,
	 c_token_create, "create a token; prints the secret once"},
	{"token", "delete", "ID", "", 1, c_token_delete, "revoke a token"},
};

static void help_main(FILE *f)
{
	const char *last = "";

	fprintf(f,
		"usage: finctl [--url URL] [-o table|json] NOUN VERB [ARGS]\n"
		"\n"
		"The operators' CLI of fincloud. The controller's URL comes from\n"
		"--url, FINCLOUD_URL or http://127.0.0.1:8740; the token from\n"
		"FINCLOUD_TOKEN or ~/.config/fincloud/token; FINCLOUD_CA names a\n"
		"PEM file to trust for an https controller.\n"
		"\nnouns:");
	for (size_t i = 0; i < FC_ARRAY_LEN(commands); i++)
		if (strcmp(commands[i].noun, last) != 0) {
			last = commands[i].noun;
			fprintf(f, " %s", last);
		}
	fprintf(f, "\n\n'finctl NOUN --help' lists a noun's verbs.\n"
		   "exit codes: 0 done, 1 refused or failed, 2 usage error, 3 "
		   "controller unreachable, 4 not found, 5 --wait ended in "
		   "failure or timeout\n");
}

static void help_noun(FILE *f, const char *noun)
{
	fprintf(f, "usage: finctl %s VERB [ARGS]\n\n", noun);
	for (size_t i = 0; i < FC_ARRAY_LEN(commands); i++)
		if (strcmp(commands[i].noun, noun) == 0)
			fprintf(f, "  %-12s %s\n", commands[i].verb,
				commands[i].help);
	fprintf(f, "\n'finctl %s VERB --help' shows a verb's arguments.\n", noun);
}

static bool is_help(const char *s)
{
	return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0 ||
	       strcmp(s, "help") == 0;
}

static char *read_token(void)
{
	const char *env = getenv("FINCLOUD_TOKEN"), *home = getenv("HOME");
	char path[4096], *data = NULL;
	size_t len;

	if (env && *env)
		return strdup(env);
	if (home == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/.config/fincloud/token", home);
	if (file_read_all(path, 4096, &data, &len) < 0)
		return NULL;
	str_trim(data);
	return data;
}

int main(int argc, char **argv)
{
	const char *url = getenv("FINCLOUD_URL"), *format = "table";
	const struct cmd *c = NULL;
	bool noun_known = false;
	struct ctx x;
	char *token = NULL;
	int i = 1, rc;

	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--url") == 0 && i + 1 < argc) {
			url = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--url=", 6) == 0) {
			url = argv[i++] + 6;
		} else if ((strcmp(argv[i], "-o") == 0 ||
			    strcmp(argv[i], "--output") == 0) && i + 1 < argc) {
			format = argv[i + 1];
			i += 2;
		} else if (is_help(argv[i])) {
			help_main(stdout);
			return EX_OK;
		} else {
			fprintf(stderr, "finctl: unknown option '%s': see "
				"'finctl --help'\n", argv[i]);
			return EX_USAGE;
		}
	}
	if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0) {
		fprintf(stderr, "finctl: -o takes 'table' or 'json', not '%s'\n",
			format);
		return EX_USAGE;
	}
	if (i >= argc) {
		help_main(stderr);
		return EX_USAGE;
	}
	for (size_t k = 0; k < FC_ARRAY_LEN(commands); k++)
		if (strcmp(commands[k].noun, argv[i]) == 0)
			noun_known = true;
	if (!noun_known) {
		fprintf(stderr, "finctl: unknown noun '%s': see 'finctl "
			"--help'\n", argv[i]);
		return EX_USAGE;
	}
	if (i + 1 >= argc || is_help(argv[i + 1])) {
		help_noun(i + 1 >= argc ? stderr : stdout, argv[i]);
		return i + 1 >= argc ? EX_USAGE : EX_OK;
	}
	for (size_t k = 0; k < FC_ARRAY_LEN(commands); k++)
		if (strcmp(commands[k].noun, argv[i]) == 0 &&
		    strcmp(commands[k].verb, argv[i + 1]) == 0)
			c = &commands[k];
	if (c == NULL) {
		fprintf(stderr, "finctl: '%s' has no verb '%s': see 'finctl %s "
			"--help'\n", argv[i], argv[i + 1], argv[i]);
		return EX_USAGE;
	}
	for (int k = i + 2; k < argc; k++)
		if (is_help(argv[k]) && strcmp(argv[k], "help") != 0) {
			printf("usage: finctl %s %s %s\n\n%s\n", c->noun, c->verb,
			       c->usage, c->help);
			return EX_OK;
		}
	memset(&x, 0, sizeof(x));
	x.cmd = c;
	x.json = strcmp(format, "json") == 0;
	if (parse_args(c, argc - i - 2, argv + i + 2, &x.a) < 0) {
		fprintf(stderr, "finctl: %s\n", err_msg());
		return EX_USAGE;
	}
	token = read_token();
	/* FINCLOUD_CA: a PEM bundle to trust for an https controller with a
	 * certificate of its own */
	x.http = http_client_new(url && *url ? url : "http://127.0.0.1:8740",
				 token, getenv("FINCLOUD_CA") && *getenv("FINCLOUD_CA")
						? getenv("FINCLOUD_CA")
						: NULL);
	free(token);
	if (x.http == NULL) {
		fprintf(stderr, "finctl: %s\n", err_msg());
		return EX_FAIL;
	}
	http_client_set_timeout(x.http, 60000);
	rc = c->fn(&x);
	http_client_free(x.http);
	return rc;
}

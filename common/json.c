#include <math.h>

#include "common/err.h"
#include "common/json.h"
#include "common/util.h"

/* Line and column (from 1) of text + off, for messages. */
static void json_line_col(const char *text, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* The offset just past the string token starting at text[off] (a '"'). */
static size_t json_raw_skip_string(const char *text, size_t len, size_t off)
{
	for (off++; off < len && text[off] != '"'; off++)
		if (text[off] == '\\')
			off++;
	return off + 1;
}

/* The offset of the string token number nth (from 0; keys and values in
 * document order) of text, which cJSON parsed. */
static size_t json_raw_string_at(const char *text, size_t len, long nth)
{
	size_t off = 0;

	for (long seen = 0; off < len; off++) {
		if (text[off] != '"')
			continue;
		if (seen++ == nth)
			break;
		off = json_raw_skip_string(text, len, off) - 1;
	}
	return off;
}

/* The offset of the value that follows the key token at text[off]. */
static size_t json_raw_value_after(const char *text, size_t len, size_t off)
{
	off = json_raw_skip_string(text, len, off);
	while (off < len && (text[off] == ':' || text[off] == ' ' ||
			     text[off] == '\t' || text[off] == '\n' ||
			     text[off] == '\r'))
		off++;
	return off;
}

/* What cJSON lets through in the text of a document it parsed: bytes that
 * are not UTF-8, raw control characters in a string (JSON wants them
 * escaped), and the escape \u0000 (cJSON would end the C string there,
 * silently cutting "abc\u0000evil" to "abc"). -1 with *why, *off at the
 * fault and *nth the number of the string token that holds it (-1: none);
 * else 0. */
static int json_raw_check(const char *text, size_t len, const char **why,
			  size_t *off, long *nth)
{
	bool in_string = false;
	long strings = 0;

	*nth = -1;
	*why = NULL;
	*off = utf8_valid_len(text, len);
	if (*off < len)
		*why = "a byte that is not UTF-8";
	for (size_t i = 0; i < len && *why == NULL; i++) {
		unsigned char c = (unsigned char)text[i];

		if (!in_string) {
			in_string = c == '"';
			strings += in_string;
			continue;
		}
		*off = i;
		*nth = strings - 1;
		if (c < 0x20)
			*why = "a control character that is not escaped";
		else if (c == '"')
			in_string = false;
		else if (c == '\\' && i + 5 < len &&
			 strncmp(text + i + 1, "u0000", 5) == 0)
			*why = "\\u0000 (NUL), which a string may not hold";
		else if (c == '\\')
			i++;
	}
	return *why ? -1 : 0;
}

/* A walk of the tree in document order, the order of the text's string
 * tokens (an object's key, then its value). */
struct json_walk {
	long want;  /* find string token number want; < 0: a duplicate key */
	long seen;  /* string tokens passed */
	long nth;   /* found: the token's number */
	char path[JSON_PATH_MAX]; /* found: its path (a key's: its value's) */
};

static int json_key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A key obj has twice into *dup (NULL: none); 0, or -1 with err_set().
 * Sorted, so that a body of many keys costs n log n, not n^2. */
static int json_dup_key(const cJSON *obj, const char **dup)
{
	const char **keys = NULL;
	size_t n = 0, i = 0;
	int ret = 0;

	*dup = NULL;
	for (const cJSON *it = obj->child; it; it = it->next)
		n++;
	if (n < 2)
		goto out;
	keys = malloc(n * sizeof(*keys));
	if (keys == NULL) {
		ret = err_set("out of memory checking JSON keys");
		goto out;
	}
	for (const cJSON *it = obj->child; it; it = it->next)
		keys[i++] = it->string;
	qsort(keys, n, sizeof(*keys), json_key_cmp);
	for (i = 1; i < n && *dup == NULL; i++)
		if (strcmp(keys[i - 1], keys[i]) == 0)
			*dup = keys[i];
out:
	free(keys);
	return ret;
}

/* 1 when w found what it looks for (w->nth, w->path set), 0 when not,
 * -1 with err_set(). */
static int json_walk(const cJSON *item, const char *path, struct json_walk *w)
{
	char sub[JSON_PATH_MAX];
	const char *dup = NULL, *at = NULL;
	int rc = 0, hits = 0;
	size_t i = 0;

	if (cJSON_IsString(item) && w->seen == w->want)
		at = path;
	else if (cJSON_IsString(item))
		w->seen++;
	if (at == NULL && cJSON_IsObject(item) && w->want < 0)
		rc = json_dup_key(item, &dup);
	for (const cJSON *it = item->child; it && rc == 0 && at == NULL;
	     it = it->next) {
		if (cJSON_IsObject(item)) {
			json_path_key(sub, sizeof(sub), path, it->string);
			/* a key: the duplicate's second one, or the one
			 * wanted */
			if ((dup && strcmp(it->string, dup) == 0 &&
			     hits++ == 1) ||
			    w->seen == w->want) {
				at = sub;
				break;
			}
			w->seen++;
		} else {
			json_path_index(sub, sizeof(sub), path, i++);
		}
		rc = json_walk(it, sub, w);
	}
	if (at != NULL) {
		w->nth = w->seen;
		str_copy(w->path, sizeof(w->path), at);
		/* keys may hold escaped control characters */
		utf8_scrub(w->path);
		rc = 1;
	}
	return rc;
}

/* The checks cJSON does not make, on a document it parsed from text:
 * 0, or -1 with err_set() naming the place. */
static int json_check_text(const char *text, size_t len, const char *what,
			   const cJSON *root)
{
	struct json_walk w = {.want = -1, .nth = -1};
	const char *why;
	size_t off;
	int line, col, rc;

	rc = json_raw_check(text, len, &why, &off, &w.want);
	if (rc < 0) {
		/* a string's fault is shown where the string starts, after
		 * its key (the field an API error names) */
		if (w.want >= 0 && json_walk(root, "$", &w) > 0)
			off = json_raw_string_at(text, len, w.nth);
		json_line_col(text, off, &line, &col);
		err_set("%s: %s%s%s, at line %d, column %d", what, w.path,
			w.path[0] ? ": " : "", why, line, col);
		goto out;
	}
	w.want = -1;
	rc = json_walk(root, "$", &w);
	if (rc > 0) {
		off = json_raw_value_after(text, len,
					   json_raw_string_at(text, len, w.nth));
		json_line_col(text, off, &line, &col);
		rc = err_set("%s: %s: the field appears twice (again at line "
			     "%d, column %d): send each field once",
			     what, w.path, line, col);
	}
out:
	return rc < 0 ? -1 : 0;
}

int json_parse(const char *text, size_t len, const char *what, cJSON **out)
{
	const char *end = NULL;
	cJSON *root;
	int line, col, ret = -1;

	root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (root == NULL) {
		const char *stop = end ? end : text + len;

		if (stop < text || stop > text + len)
			stop = text + len;
		json_line_col(text, (size_t)(stop - text), &line, &col);
		if (len == 0)
			err_set("%s: empty document, expected JSON", what);
		else
			err_set("%s: invalid JSON at line %d, column %d", what,
				line, col);
		goto out;
	}
	/* Only white space may follow the value (not even a NUL byte). */
	for (const char *p = end ? end : text + len; p < text + len; p++) {
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
			err_set("%s: unexpected data after the JSON value",
				what);
			goto out;
		}
	}
	if (json_check_text(text, len, what, root) < 0)
		goto out;
	*out = root;
	root = NULL;
	ret = 0;
out:
	cJSON_Delete(root);
	return ret;
}

const char *json_path_key(char *buf, size_t size, const char *parent,
			  const char *key)
{
	snprintf(buf, size, "%s.%s", parent, key);
	return buf;
}

const char *json_path_index(char *buf, size_t size, const char *parent,
			    size_t index)
{
	snprintf(buf, size, "%s[%zu]", parent, index);
	return buf;
}

const char *json_describe(const cJSON *item, char *buf, size_t size)
{
	if (item == NULL || cJSON_IsNull(item))
		snprintf(buf, size, "null");
	else if (cJSON_IsBool(item))
		snprintf(buf, size, "%s", cJSON_IsTrue(item) ? "true" : "false");
	else if (cJSON_IsNumber(item))
		snprintf(buf, size, "%.17g", item->valuedouble);
	else if (cJSON_IsString(item))
		snprintf(buf, size, "\"%.48s%s\"", item->valuestring,
			 strlen(item->valuestring) > 48 ? "..." : "");
	else if (cJSON_IsArray(item))
		snprintf(buf, size, "an array");
	else if (cJSON_IsObject(item))
		snprintf(buf, size, "an object");
	else
		snprintf(buf, size, "an invalid value");
	/* a string cut at 48 bytes may end inside a character */
	return utf8_scrub(buf);
}

static int json_wrong(const char *path, const char *key, const char *expected,
		      const cJSON *item)
{
	char got[80];

	return err_set("%s.%s: expected %s, got %s", path, key, expected,
		       json_describe(item, got, sizeof(got)));
}

/* Look key up in obj. Returns 1 with *item set when present and not null,
 * 0 when absent (an error if required), -1 on error. */
static int json_lookup(const cJSON *obj, const char *path, const char *key,
		       bool required, const cJSON **item)
{
	const cJSON *it;

	if (!cJSON_IsObject(obj)) {
		char got[80];

		return err_set("%s: expected an object, got %s", path,
			       json_describe(obj, got, sizeof(got)));
	}
	it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (it == NULL || cJSON_IsNull(it)) {
		if (required)
			return err_set("%s: missing required field '%s'", path,
				       key);
		return 0;
	}
	*item = it;
	return 1;
}

/* Each getter: r is json_lookup()'s answer (1 present, 0 absent, -1
 * error), turned into -1 when the value has the wrong type or range;
 * *out is set (to def when absent) unless r < 0. */
int json_get_string(const cJSON *obj, const char *path, const char *key,
		    bool required, const char *def, const char **out)
{
	const cJSON *it = NULL;
	int r = json_lookup(obj, path, key, required, &it);

	if (r > 0 && !cJSON_IsString(it))
		r = json_wrong(path, key, "a string", it);
	if (r >= 0)
		*out = r > 0 ? it->valuestring : def;
	return r < 0 ? -1 : 0;
}

int json_get_int(const cJSON *obj, const char *path, const char *key,
		 bool required, int64_t min, int64_t max, int64_t def,
		 int64_t *out)
{
	char expected[96];
	const cJSON *it = NULL;
	int r = json_lookup(obj, path, key, required, &it);
	double d = r > 0 && cJSON_IsNumber(it) ? it->valuedouble : NAN;

	snprintf(expected, sizeof(expected),
		 "an integer from %" PRId64 " to %" PRId64, min, max);
	if (r > 0 && (!isfinite(d) || d != floor(d) || d < (double)min ||
		      d > (double)max ||
		      /* (double)INT64_MAX rounds up to 2^63, which int64_t
		       * cannot hold: refuse it whatever max is */
		      d >= 9223372036854775808.0))
		r = json_wrong(path, key, expected, it);
	if (r >= 0)
		*out = r > 0 ? (int64_t)d : def;
	return r < 0 ? -1 : 0;
}

int json_get_double(const cJSON *obj, const char *path, const char *key,
		    bool required, double min, double max, double def,
		    double *out)
{
	char expected[96];
	const cJSON *it = NULL;
	int r = json_lookup(obj, path, key, required, &it);
	double d = r > 0 && cJSON_IsNumber(it) ? it->valuedouble : NAN;

	snprintf(expected, sizeof(expected), "a number from %g to %g", min,
		 max);
	if (r > 0 && (!isfinite(d) || d < min || d > max))
		r = json_wrong(path, key, expected, it);
	if (r >= 0)
		*out = r > 0 ? d : def;
	return r < 0 ? -1 : 0;
}

int json_get_bool(const cJSON *obj, const char *path, const char *key,
		  bool required, bool def, bool *out)
{
	const cJSON *it = NULL;
	int r = json_lookup(obj, path, key, required, &it);

	if (r > 0 && !cJSON_IsBool(it))
		r = json_wrong(path, key, "true or false", it);
	if (r >= 0)
		*out = r > 0 ? cJSON_IsTrue(it) : def;
	return r < 0 ? -1 : 0;
}

/* Shared body of the container getters: pred tells the wanted type. */
static int json_get_container(const cJSON *obj, const char *path,
			      const char *key, bool required,
			      cJSON_bool (*pred)(const cJSON *),
			      const char *expected, const cJSON **out)
{
	const cJSON *it = NULL;
	int r = json_lookup(obj, path, key, required, &it);

	if (r > 0 && !pred(it))
		r = json_wrong(path, key, expected, it);
	if (r >= 0)
		*out = r > 0 ? it : NULL;
	return r < 0 ? -1 : 0;
}

int json_get_array(const cJSON *obj, const char *path, const char *key,
		   bool required, const cJSON **out)
{
	return json_get_container(obj, path, key, required, cJSON_IsArray,
				  "an array", out);
}

int json_get_object(const cJSON *obj, const char *path, const char *key,
		    bool required, const cJSON **out)
{
	return json_get_container(obj, path, key, required, cJSON_IsObject,
				  "an object", out);
}

int json_check_keys(const cJSON *obj, const char *path,
		    const char *const *allowed)
{
	const cJSON *it;

	if (!cJSON_IsObject(obj)) {
		char got[80];

		return err_set("%s: expected an object, got %s", path,
			       json_describe(obj, got, sizeof(got)));
	}
	cJSON_ArrayForEach(it, obj)
	{
		bool ok = false;

		for (const char *const *k = allowed; *k; k++) {
			if (strcmp(*k, it->string) == 0) {
				ok = true;
				break;
			}
		}
		if (!ok)
			return err_set("%s: unknown field '%s'", path,
				       it->string);
		/* A duplicate key would be silently shadowed by cJSON. */
		for (const cJSON *o = obj->child; o != it; o = o->next)
			if (strcmp(o->string, it->string) == 0)
				return err_set("%s: field '%s' appears twice",
					       path, it->string);
	}
	return 0;
}

cJSON *json_csv_array(const char *csv)
{
	cJSON *a = cJSON_CreateArray();

	while (a && csv && *csv) {
		size_t len = strcspn(csv, ",");
		char *one = strndup(csv, len);
		cJSON *item = one ? cJSON_CreateString(one) : NULL;

		free(one);
		if (item == NULL) {
			cJSON_Delete(a);
			return NULL;
		}
		cJSON_AddItemToArray(a, item);
		csv += len;
		if (*csv == ',')
			csv++;
	}
	return a;
}

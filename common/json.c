#include <math.h>

#include "common/err.h"
#include "common/json.h"

int json_parse(const char *text, size_t len, const char *what, cJSON **out)
{
	const char *end = NULL;
	cJSON *root;

	root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (root == NULL) {
		int line = 1, col = 1;
		const char *stop = end ? end : text + len;

		if (stop < text || stop > text + len)
			stop = text + len;
		for (const char *p = text; p < stop; p++) {
			if (*p == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		if (len == 0)
			return err_set("%s: empty document, expected JSON", what);
		return err_set("%s: invalid JSON at line %d, column %d", what,
			       line, col);
	}
	/* Only white space may follow the value. */
	if (end != NULL) {
		for (const char *p = end; p < text + len && *p; p++) {
			if (*p != ' ' && *p != '\t' && *p != '\n' &&
			    *p != '\r') {
				cJSON_Delete(root);
				return err_set("%s: unexpected data after the "
					       "JSON value",
					       what);
			}
		}
	}
	*out = root;
	return 0;
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
	return buf;
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

int json_get_string(const cJSON *obj, const char *path, const char *key,
		    bool required, const char *def, const char **out)
{
	const cJSON *it;
	int r = json_lookup(obj, path, key, required, &it);

	if (r < 0)
		return -1;
	if (r == 0) {
		*out = def;
		return 0;
	}
	if (!cJSON_IsString(it))
		return json_wrong(path, key, "a string", it);
	*out = it->valuestring;
	return 0;
}

int json_get_int(const cJSON *obj, const char *path, const char *key,
		 bool required, int64_t min, int64_t max, int64_t def,
		 int64_t *out)
{
	char expected[96];
	const cJSON *it;
	int r = json_lookup(obj, path, key, required, &it);
	double d;

	if (r < 0)
		return -1;
	if (r == 0) {
		*out = def;
		return 0;
	}
	snprintf(expected, sizeof(expected),
		 "an integer from %" PRId64 " to %" PRId64, min, max);
	if (!cJSON_IsNumber(it))
		return json_wrong(path, key, expected, it);
	d = it->valuedouble;
	/* (double)INT64_MAX rounds up to 2^63, which int64_t cannot hold:
	 * refuse it before the conversion, whatever max is */
	if (!isfinite(d) || d != floor(d) || d < (double)min ||
	    d > (double)max || d >= 9223372036854775808.0)
		return json_wrong(path, key, expected, it);
	*out = (int64_t)d;
	return 0;
}

int json_get_double(const cJSON *obj, const char *path, const char *key,
		    bool required, double min, double max, double def,
		    double *out)
{
	char expected[96];
	const cJSON *it;
	int r = json_lookup(obj, path, key, required, &it);

	if (r < 0)
		return -1;
	if (r == 0) {
		*out = def;
		return 0;
	}
	snprintf(expected, sizeof(expected), "a number from %g to %g", min,
		 max);
	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) ||
	    it->valuedouble < min || it->valuedouble > max)
		return json_wrong(path, key, expected, it);
	*out = it->valuedouble;
	return 0;
}

int json_get_bool(const cJSON *obj, const char *path, const char *key,
		  bool required, bool def, bool *out)
{
	const cJSON *it;
	int r = json_lookup(obj, path, key, required, &it);

	if (r < 0)
		return -1;
	if (r == 0) {
		*out = def;
		return 0;
	}
	if (!cJSON_IsBool(it))
		return json_wrong(path, key, "true or false", it);
	*out = cJSON_IsTrue(it);
	return 0;
}

/* Shared body of the container getters: pred tells the wanted type. */
static int json_get_container(const cJSON *obj, const char *path,
			      const char *key, bool required,
			      cJSON_bool (*pred)(const cJSON *),
			      const char *expected, const cJSON **out)
{
	const cJSON *it;
	int r = json_lookup(obj, path, key, required, &it);

	if (r < 0)
		return -1;
	if (r == 0) {
		*out = NULL;
		return 0;
	}
	if (!pred(it))
		return json_wrong(path, key, expected, it);
	*out = it;
	return 0;
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

/*
 * json.h - typed, path-reporting accessors over cJSON.
 *
 * Every accessor takes the JSON path of the object it reads from ("$",
 * "$.hosts[3]") so that an error names the exact place:
 *
 *   $.hosts[3].vcpus: expected an integer from 1 to 4096, got "four"
 *   $.hosts[3]: missing required field 'vcpus'
 *   $.vms[0]: unknown field 'cpus'
 *
 * On success the out value is set (to def when an optional field is absent
 * or null); on failure -1 is returned with err_set() and *out is untouched.
 * Strings returned point into the cJSON tree and live as long as it does.
 */
#ifndef FC_JSON_H
#define FC_JSON_H

#include <cjson/cJSON.h>

#include "common/fc.h"

#define JSON_PATH_MAX 256

/* Parse text (len bytes, not necessarily NUL-terminated). A syntax error
 * reads "WHAT: invalid JSON at line L, column C". Also refused, with the
 * path and the line and column: a byte that is not UTF-8, a raw control
 * character in a string, the escape \u0000 (cJSON would end the C string
 * there: "abc\u0000" would read as "abc"), and an object with a key twice
 * ("WHAT: $.quota.vcpus: the field appears twice (again at line L, column
 * C): ..."). So every string of *out is UTF-8 without a NUL cut into it,
 * and no message quotes a raw invalid byte. The caller frees *out with
 * cJSON_Delete(). */
int json_parse(const char *text, size_t len, const char *what, cJSON **out);

/* "parent.key" / "parent[i]" into buf. */
const char *json_path_key(char *buf, size_t size, const char *parent,
			  const char *key);
const char *json_path_index(char *buf, size_t size, const char *parent,
			    size_t index);

int json_get_string(const cJSON *obj, const char *path, const char *key,
		    bool required, const char *def, const char **out);
int json_get_int(const cJSON *obj, const char *path, const char *key,
		 bool required, int64_t min, int64_t max, int64_t def,
		 int64_t *out);
int json_get_double(const cJSON *obj, const char *path, const char *key,
		    bool required, double min, double max, double def,
		    double *out);
int json_get_bool(const cJSON *obj, const char *path, const char *key,
		  bool required, bool def, bool *out);
/* *out is NULL when an optional array/object is absent or null. */
int json_get_array(const cJSON *obj, const char *path, const char *key,
		   bool required, const cJSON **out);
int json_get_object(const cJSON *obj, const char *path, const char *key,
		    bool required, const cJSON **out);

/* "a,b,c" as a new JSON array of strings ["a", "b", "c"] (empty items
 * kept as ""; "" or NULL gives []); NULL when out of memory. The caller
 * frees it with cJSON_Delete(). */
cJSON *json_csv_array(const char *csv);

/* obj must be an object (error otherwise) whose keys are all in the
 * NULL-terminated list `allowed`. */
int json_check_keys(const cJSON *obj, const char *path,
		    const char *const *allowed);

/* "a string \"x\"", "a number 3", "null", ... for messages. */
const char *json_describe(const cJSON *item, char *buf, size_t size);

#endif

#include "common/util.h"
#include "controller/route.h"

/* Compare one pattern with one path; fill params. */
static bool route_path_match(const char *pat, const char *path,
			     struct route_match *m)
{
	m->nparams = 0;
	while (*pat && *path) {
		if (*pat != '/' || *path != '/')
			return false;
		pat++;
		path++;
		if (*pat == '{') {
			const char *pe = strchr(pat, '}');
			size_t len = strcspn(path, "/");

			if (pe == NULL || len == 0 || len >= ROUTE_PARAM_LEN ||
			    m->nparams == ROUTE_PARAMS_MAX)
				return false;
			memcpy(m->params[m->nparams], path, len);
			m->params[m->nparams][len] = '\0';
			m->nparams++;
			pat = pe + 1;
			path += len;
		} else {
			size_t lp = strcspn(pat, "/"), lq = strcspn(path, "/");

			if (lp != lq || memcmp(pat, path, lp) != 0)
				return false;
			pat += lp;
			path += lq;
		}
	}
	return *pat == '\0' && *path == '\0';
}

enum route_result route_match(const struct route *table, size_t n,
			      const char *method, const char *path,
			      struct route_match *m)
{
	bool path_seen = false;
	struct route_match tmp;

	for (size_t i = 0; i < n; i++) {
		if (!route_path_match(table[i].pattern, path, &tmp))
			continue;
		path_seen = true;
		if (strcmp(table[i].method, method) != 0)
			continue;
		*m = tmp;
		m->route = &table[i];
		m->index = i;
		return ROUTE_FOUND;
	}
	return path_seen ? ROUTE_NO_METHOD : ROUTE_NO_PATH;
}

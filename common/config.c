#include <ctype.h>

#include "common/config.h"
#include "common/err.h"
#include "common/util.h"

#define CONFIG_MAX_BYTES (1024 * 1024)

struct config *config_new(const char *name)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL)
		return NULL;
	cfg->path = strdup(name);
	if (cfg->path == NULL) {
		free(cfg);
		return NULL;
	}
	return cfg;
}

void config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->n; i++) {
		free(cfg->entries[i].key);
		free(cfg->entries[i].value);
	}
	free(cfg->entries);
	free(cfg->path);
	free(cfg);
}

static struct config_entry *config_find(const struct config *cfg,
					const char *key)
{
	for (size_t i = 0; i < cfg->n; i++)
		if (strcmp(cfg->entries[i].key, key) == 0)
			return &cfg->entries[i];
	return NULL;
}

static int config_add(struct config *cfg, const char *key, const char *value,
		      int line)
{
	struct config_entry *e;

	if (cfg->n == cfg->alloc) {
		size_t nalloc = cfg->alloc ? cfg->alloc * 2 : 16;
		struct config_entry *p =
			realloc(cfg->entries, nalloc * sizeof(*p));

		if (p == NULL)
			return err_set("out of memory");
		cfg->entries = p;
		cfg->alloc = nalloc;
	}
	e = &cfg->entries[cfg->n];
	e->key = strdup(key);
	e->value = strdup(value);
	e->line = line;
	if (e->key == NULL || e->value == NULL) {
		free(e->key);
		free(e->value);
		return err_set("out of memory");
	}
	cfg->n++;
	return 0;
}

int config_set(struct config *cfg, const char *key, const char *value)
{
	struct config_entry *e = config_find(cfg, key);
	char *v;

	if (e == NULL)
		return config_add(cfg, key, value, 0);
	v = strdup(value);
	if (v == NULL)
		return err_set("out of memory");
	free(e->value);
	e->value = v;
	e->line = 0;
	return 0;
}

static bool key_char_ok(int c)
{
	return islower(c) || isdigit(c) || c == '_' || c == '.' || c == '-';
}

/* Parse one line (modified in place). Returns 0 for a blank or comment
 * line (*key NULL), 1 with *key and *value set, -1 on a syntax error. */
static int config_parse_line(char *line, char **key, char **value)
{
	char *eq, *k, *v;

	*key = NULL;
	k = str_trim(line);
	if (*k == '\0' || *k == '#')
		return 0;
	eq = strchr(k, '=');
	if (eq == NULL)
		return err_set("expected 'key = value', got '%s'", k);
	*eq = '\0';
	k = str_trim(k);
	v = str_trim(eq + 1);
	if (*k == '\0')
		return err_set("missing key before '='");
	for (char *p = k; *p; p++)
		if (!key_char_ok((unsigned char)*p))
			return err_set("bad key '%s': use lowercase letters, "
				       "digits, '_', '.' and '-'",
				       k);
	if (*v == '"') {
		char *close = strchr(v + 1, '"');
		char *rest;

		if (close == NULL)
			return err_set("key '%s': unterminated quoted value", k);
		*close = '\0';
		rest = str_trim(close + 1);
		if (*rest != '\0' && *rest != '#')
			return err_set("key '%s': unexpected text after the "
				       "quoted value: '%s'",
				       k, rest);
		v++;
	} else {
		/* A '#' after white space starts a trailing comment. */
		for (char *p = v; *p; p++) {
			if (*p == '#' && p > v && isspace((unsigned char)p[-1])) {
				*p = '\0';
				v = str_trim(v);
				break;
			}
		}
	}
	*key = k;
	*value = v;
	return 1;
}

int config_parse(const char *name, const char *text, struct config **out)
{
	struct config *cfg = config_new(name);
	const char *p = text;
	int lineno = 0;

	if (cfg == NULL)
		return err_set("out of memory");
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line, *key = NULL, *value = NULL;
		int r;

		lineno++;
		line = strndup(p, len);
		if (line == NULL) {
			config_free(cfg);
			return err_set("out of memory");
		}
		if (memchr(p, '\0', len) != NULL || strlen(line) != len) {
			free(line);
			config_free(cfg);
			return err_set("%s:%d: line contains a NUL byte", name,
				       lineno);
		}
		r = config_parse_line(line, &key, &value);
		if (r < 0) {
			free(line);
			err_prefix("%s:%d", name, lineno);
			config_free(cfg);
			return -1;
		}
		if (r == 1) {
			struct config_entry *dup = config_find(cfg, key);

			if (dup != NULL) {
				err_set("%s:%d: key '%s' is already set on line "
					"%d: keep one of them",
					name, lineno, key, dup->line);
				free(line);
				config_free(cfg);
				return -1;
			}
			if (config_add(cfg, key, value, lineno) < 0) {
				free(line);
				config_free(cfg);
				return -1;
			}
		}
		free(line);
		p += len;
		if (*p == '\n')
			p++;
	}
	*out = cfg;
	return 0;
}

int config_load(const char *path, bool missing_ok, struct config **out)
{
	char *text = NULL;
	int ret;

	if (file_read_all(path, CONFIG_MAX_BYTES, &text, NULL) < 0) {
		if (missing_ok && errno == ENOENT) {
			*out = config_new(path);
			if (*out == NULL)
				return err_set("out of memory");
			err_clear();
			return 0;
		}
		return -1;
	}
	ret = config_parse(path, text, out);
	free(text);
	return ret;
}

const char *config_get(const struct config *cfg, const char *key)
{
	struct config_entry *e = config_find(cfg, key);

	return e ? e->value : NULL;
}

const char *config_where(const struct config *cfg, const char *key,
			 char *buf, size_t size)
{
	struct config_entry *e = config_find(cfg, key);

	if (e == NULL || e->line == 0)
		snprintf(buf, size, "command line");
	else
		snprintf(buf, size, "%s:%d", cfg->path, e->line);
	return buf;
}

int config_err(const struct config *cfg, const char *key, const char *fmt,
	       ...)
{
	char where[PATH_MAX + 32], msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set("%s: key '%s': %s",
		       config_where(cfg, key, where, sizeof(where)), key, msg);
}

static int config_bad(const struct config *cfg, const char *key,
		      const char *expected)
{
	return config_err(cfg, key, "expected %s, got '%s'", expected,
			  config_get(cfg, key));
}

int config_get_str(const struct config *cfg, const char *key,
		   const char *def, const char **out)
{
	const char *v = config_get(cfg, key);

	*out = v ? v : def;
	return 0;
}

int config_get_int(const struct config *cfg, const char *key, int64_t min,
		   int64_t max, int64_t def, int64_t *out)
{
	const char *v = config_get(cfg, key);
	char expected[96];
	int64_t n;

	if (v == NULL) {
		*out = def;
		return 0;
	}
	snprintf(expected, sizeof(expected), "an integer from %" PRId64
		 " to %" PRId64, min, max);
	if (parse_int64(v, &n) < 0 || n < min || n > max)
		return config_bad(cfg, key, expected);
	*out = n;
	return 0;
}

int config_get_double(const struct config *cfg, const char *key, double min,
		      double max, double def, double *out)
{
	const char *v = config_get(cfg, key);
	char expected[96];
	double d;

	if (v == NULL) {
		*out = def;
		return 0;
	}
	snprintf(expected, sizeof(expected), "a number from %g to %g", min,
		 max);
	if (parse_double(v, &d) < 0 || d < min || d > max)
		return config_bad(cfg, key, expected);
	*out = d;
	return 0;
}

int config_get_bool(const struct config *cfg, const char *key, bool def,
		    bool *out)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };
	const char *v = config_get(cfg, key);

	if (v == NULL) {
		*out = def;
		return 0;
	}
	for (size_t i = 0; i < FC_ARRAY_LEN(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return config_bad(cfg, key, "yes or no");
}

/* Levenshtein distance, for "did you mean" hints on short keys. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[64];

	if (la >= 63 || lb >= 63)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t sub = prev + (a[i - 1] != b[j - 1]);
			size_t best = row[j] + 1;

			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			if (sub < best)
				best = sub;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

int config_check_keys(const struct config *cfg, const char *const *known)
{
	for (size_t i = 0; i < cfg->n; i++) {
		const struct config_entry *e = &cfg->entries[i];
		const char *best = NULL;
		size_t best_d = 3;
		bool ok = false;

		for (const char *const *k = known; *k; k++) {
			size_t d;

			if (strcmp(*k, e->key) == 0) {
				ok = true;
				break;
			}
			d = edit_distance(*k, e->key);
			if (d < best_d) {
				best_d = d;
				best = *k;
			}
		}
		if (ok)
			continue;
		if (best)
			return err_set("%s:%d: unknown key '%s' (did you mean "
				       "'%s'?)",
				       cfg->path, e->line, e->key, best);
		return err_set("%s:%d: unknown key '%s'", cfg->path, e->line,
			       e->key);
	}
	return 0;
}

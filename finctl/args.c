/*
 * args.c - finctl's command line, read against the command table before
 * anything is sent: the global options (--url, -o) wherever they stand,
 * the positional arguments, and each option of the row with its value
 * checked against the option's type (struct finctl_optspec). A handler
 * runs only when every argument has passed, so a bad value never leaves
 * half a change behind.
 */
#include "finctl/finctl.h"

#include "common/err.h"
#include "common/util.h"

bool finctl_optspec_next(const char **p, struct finctl_optspec *o)
{
	const char *s = *p;
	size_t l = strcspn(s, ","), nl = strcspn(s, "=,");

	memset(o, 0, sizeof(*o));
	if (l == 0)
		return false;
	o->has_val = nl < l;
	if (nl > 0 && s[nl - 1] == '!') {
		o->required = true;
		nl--;
	}
	snprintf(o->name, sizeof(o->name), "%.*s", (int)nl, s);
	if (o->has_val)
		snprintf(o->type, sizeof(o->type), "%.*s",
			 (int)(l - strcspn(s, "=") - 1), s + strcspn(s, "=") + 1);
	*p = s + l + (s[l] == ',');
	return true;
}

/* The option of c named key (as long as klen), or false. */
static bool find_opt(const struct finctl_cmd *c, const char *key, size_t klen,
		     struct finctl_optspec *o)
{
	const char *p = c->opts;

	while (finctl_optspec_next(&p, o))
		if (strlen(o->name) == klen && memcmp(o->name, key, klen) == 0)
			return true;
	return false;
}

void finctl_optspec_words(const struct finctl_optspec *o, char *out,
			  size_t size)
{
	size_t n = 0;

	for (const char *t = o->type; *t && n + 3 < size; t++) {
		if (*t == '|') {
			out[n++] = ',';
			out[n++] = ' ';
		} else {
			out[n++] = *t;
		}
	}
	out[n] = '\0';
}

bool finctl_optspec_find(const struct finctl_cmd *c, const char *name,
			 struct finctl_optspec *o)
{
	return find_opt(c, name, strlen(name), o);
}

/* Whether val is one of the words of "a|b|c". */
static bool is_word_of(const char *words, const char *val)
{
	char w[sizeof(((struct finctl_optspec *)NULL)->type) + 2], v[sizeof(w)];

	snprintf(w, sizeof(w), "|%s|", words);
	return strchr(val, '|') == NULL &&
	       snprintf(v, sizeof(v), "|%s|", val) < (int)sizeof(v) &&
	       strstr(w, v) != NULL;
}

/* Seconds in "90", "90s", "5m", "2h"; -1 when s is none of these. */
static int64_t parse_secs(const char *s)
{
	static const struct { char unit; int64_t secs; } units[] = {
		{'s', 1}, {'m', 60}, {'h', 3600},
	};
	char num[32];
	size_t l = strlen(s);
	int64_t n, mult = 1;

	if (l == 0 || l >= sizeof(num))
		return -1;
	/* one unit at most: "5ms" or "m" alone is no duration */
	for (size_t i = 0; i < FC_ARRAY_LEN(units); i++)
		if (s[l - 1] == units[i].unit) {
			mult = units[i].secs;
			l--;
			break;
		}
	if (l == 0)
		return -1;
	snprintf(num, sizeof(num), "%.*s", (int)l, s);
	if (strspn(num, "0123456789") != l || parse_int64(num, &n) < 0 ||
	    n > INT64_MAX / 3600)
		return -1;
	return n * mult;
}

int finctl_optspec_check(const struct finctl_optspec *o, const char *val)
{
	const char *t = o->type;
	int64_t n = 0;
	double d = 0;
	bool digits = val[0] && strspn(val, "0123456789") == strlen(val);

	if (t[0] == '\0')
		return 0;
	if (strchr(t, '|')) {
		char words[2 * sizeof(o->type)];

		if (is_word_of(t, val))
			return 0;
		finctl_optspec_words(o, words, sizeof(words));
		return err_set("--%s: expected one of %s, got '%s'", o->name,
			       words, val);
	}
	if (strcmp(t, "quota") == 0 && strcmp(val, "none") == 0)
		return 0;
	if (strcmp(t, "int") == 0 || strcmp(t, "quota") == 0 ||
	    strcmp(t, "count") == 0) {
		if (!digits || parse_int64(val, &n) < 0 ||
		    (n < 1 && strcmp(t, "count") == 0))
			return err_set("--%s: expected an integer of %s or more%s, "
				       "got '%s'", o->name,
				       strcmp(t, "count") == 0 ? "1" : "0",
				       strcmp(t, "quota") == 0 ? ", or 'none'"
							       : "", val);
		return 0;
	}
	if (strcmp(t, "num") == 0 || strcmp(t, "fraction") == 0) {
		if (parse_double(val, &d) < 0 || d < 0 ||
		    (d > 1 && strcmp(t, "fraction") == 0))
			return err_set("--%s: expected a number %s, got '%s'",
				       o->name, strcmp(t, "num") == 0
				       ? "of 0 or more" : "from 0 to 1", val);
		return 0;
	}
	if (strcmp(t, "secs") == 0) {
		if (parse_secs(val) < 1)
			return err_set("--%s: expected a duration of 1 s or more "
				       "(90, 90s, 5m, 2h), got '%s'", o->name,
				       val);
		return 0;
	}
	return err_set("--%s: the command table names an unknown type '%s'",
		       o->name, t);
}

int64_t finctl_opt_secs(const struct finctl_ctx *x, const char *key,
			int64_t dflt)
{
	const char *v = finctl_opt(x, key);
	int64_t s = v ? parse_secs(v) : -1;

	return s > 0 ? s : dflt;
}

/* "--name" or "--name=value" of option name (nl characters at s). */
static bool is_named(const char *s, const char *name)
{
	size_t nl = strlen(name);

	return strncmp(s, name, nl) == 0 && (s[nl] == '\0' || s[nl] == '=');
}

int finctl_global_opt(int argc, char **argv, int *i, struct finctl_global *g)
{
	const char *s = argv[*i], *val;
	const char **to;

	if (is_named(s, "--url"))
		to = &g->url;
	else if (is_named(s, "--output") || strncmp(s, "-o", 2) == 0)
		to = &g->format;
	else
		return 0;
	if (strchr(s, '=') && s[1] == '-')
		val = strchr(s, '=') + 1;
	else if (s[1] == 'o' && s[2])
		val = s + 2; /* -ojson */
	else if (*i + 1 < argc)
		val = argv[++*i];
	else
		return err_set("option '%s' needs a value", s);
	*to = val;
	++*i;
	return 1;
}

/* One "--key[=value]" (argv[*i], its value maybe argv[*i + 1]) into a,
 * its value checked. */
static int parse_opt(const struct finctl_cmd *c, int argc, char **argv,
		     int *i, struct finctl_args *a)
{
	char *s = argv[*i];
	const char *eq = strchr(s + 2, '='), *val = "";
	size_t kl = eq ? (size_t)(eq - s - 2) : strlen(s + 2);
	struct finctl_optspec o;

	if (!find_opt(c, s + 2, kl, &o))
		return err_set("unknown option '--%.*s' for '%s %s': see "
			       "'finctl %s %s --help'", (int)kl, s + 2, c->noun,
			       c->verb, c->noun, c->verb);
	if (a->nopt == FINCTL_MAX_OPTS)
		return err_set("too many options");
	if (o.has_val && eq)
		val = eq + 1;
	else if (o.has_val && *i + 1 < argc)
		val = argv[++*i];
	else if (o.has_val)
		return err_set("option '--%s' needs a value", o.name);
	else if (eq)
		return err_set("option '--%s' takes no value", o.name);
	if (finctl_optspec_check(&o, val) < 0)
		return -1;
	s[2 + kl] = '\0';
	a->key[a->nopt] = s + 2;
	a->val[a->nopt++] = val;
	return 0;
}

/* Whether a names option key. */
static bool has_opt(const struct finctl_args *a, const char *key)
{
	for (int i = 0; i < a->nopt; i++)
		if (strcmp(a->key[i], key) == 0)
			return true;
	return false;
}

int finctl_args_parse(const struct finctl_cmd *c, int argc, char **argv,
		      struct finctl_global *g, struct finctl_args *a)
{
	const char *p = c->opts;
	struct finctl_optspec o;
	int i = 0, r;

	memset(a, 0, sizeof(*a));
	while (i < argc) {
		const char *s = argv[i];

		if ((r = finctl_global_opt(argc, argv, &i, g)) != 0) {
			if (r < 0)
				return -1;
		} else if (strncmp(s, "--", 2) == 0 && s[2]) {
			if (parse_opt(c, argc, argv, &i, a) < 0)
				return -1;
			i++;
		} else if (a->npos == FINCTL_MAX_POS || a->npos >= c->npos) {
			return err_set("unexpected argument '%s': usage: "
				       "finctl %s %s %s", s, c->noun, c->verb,
				       c->usage);
		} else {
			a->pos[a->npos++] = argv[i++];
		}
	}
	if (a->npos < c->npos)
		return err_set("missing argument: usage: finctl %s %s %s",
			       c->noun, c->verb, c->usage);
	while (finctl_optspec_next(&p, &o))
		if (o.required && !has_opt(a, o.name))
			return err_set("'%s %s' needs --%s: usage: finctl %s %s "
				       "%s", c->noun, c->verb, o.name, c->noun,
				       c->verb, c->usage);
	return 0;
}

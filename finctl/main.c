/*
 * main.c - finctl's entry point: the global options (--url, -o), help at
 * every level (generated from finctl_commands[]), the arguments of one
 * command checked against its row, the token, and the dispatch.
 *
 *   finctl [--url URL] [-o table|json] NOUN VERB [ARGS]
 *
 * Exit codes: 0 done, 1 the controller refused or failed the request,
 * 2 usage error, 3 controller unreachable, 4 not found, 5 a --wait ended
 * with the operation failed or timed out (enum finctl_exit).
 */
#include "finctl/finctl.h"

#include "common/err.h"
#include "common/http_client.h"
#include "common/util.h"

/* ----------------------------------------------------------- arguments */

/* Whether spec ("a=,b,c=") names key; *has_val: it takes a value. */
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

/* One "--key[=value]" (argv[*i], its value maybe argv[*i + 1]) into a. */
static int parse_opt(const struct finctl_cmd *c, int argc, char **argv,
		     int *i, struct finctl_args *a)
{
	const char *s = argv[*i];
	const char *eq = strchr(s + 2, '=');
	size_t kl = eq ? (size_t)(eq - s - 2) : strlen(s + 2);
	char key[64];
	bool has_val;

	snprintf(key, sizeof(key), "%.*s", (int)kl, s + 2);
	if (!opt_spec(c->opts, key, &has_val))
		return err_set("unknown option '--%s' for '%s %s': see 'finctl "
			       "%s %s --help'", key, c->noun, c->verb, c->noun,
			       c->verb);
	if (a->nopt == FINCTL_MAX_OPTS)
		return err_set("too many options");
	a->key[a->nopt] = argv[*i] + 2;
	argv[*i][2 + kl] = '\0';
	if (has_val && eq)
		a->val[a->nopt] = eq + 1;
	else if (has_val && *i + 1 < argc)
		a->val[a->nopt] = argv[++*i];
	else if (has_val)
		return err_set("option '--%s' needs a value", key);
	else if (eq)
		return err_set("option '--%s' takes no value", key);
	else
		a->val[a->nopt] = "";
	a->nopt++;
	return 0;
}

/* The arguments after "NOUN VERB" against the row c; 0, or -1 with
 * err_set (what is wrong, and the usage). */
static int parse_args(const struct finctl_cmd *c, int argc, char **argv,
		      struct finctl_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];

		if (strncmp(s, "--", 2) == 0 && s[2]) {
			if (parse_opt(c, argc, argv, &i, a) < 0)
				return -1;
		} else if (a->npos == FINCTL_MAX_POS || a->npos >= c->npos) {
			return err_set("unexpected argument '%s': usage: "
				       "finctl %s %s %s", s, c->noun, c->verb,
				       c->usage);
		} else {
			a->pos[a->npos++] = s;
		}
	}
	if (a->npos < c->npos)
		return err_set("missing argument: usage: finctl %s %s %s",
			       c->noun, c->verb, c->usage);
	return 0;
}

/* ---------------------------------------------------------------- help */

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
	for (size_t i = 0; i < finctl_ncommands; i++)
		if (strcmp(finctl_commands[i].noun, last) != 0) {
			last = finctl_commands[i].noun;
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
	for (size_t i = 0; i < finctl_ncommands; i++)
		if (strcmp(finctl_commands[i].noun, noun) == 0)
			fprintf(f, "  %-12s %s\n", finctl_commands[i].verb,
				finctl_commands[i].help);
	fprintf(f, "\n'finctl %s VERB --help' shows a verb's arguments.\n", noun);
}

static bool is_help(const char *s)
{
	return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0 ||
	       strcmp(s, "help") == 0;
}

/* The row of "noun verb" (verb NULL: the first row of noun), or NULL. */
static const struct finctl_cmd *find_cmd(const char *noun, const char *verb)
{
	for (size_t k = 0; k < finctl_ncommands; k++)
		if (strcmp(finctl_commands[k].noun, noun) == 0 &&
		    (verb == NULL || strcmp(finctl_commands[k].verb, verb) == 0))
			return &finctl_commands[k];
	return NULL;
}

/* ------------------------------------------------------------- running */

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

/* Connect to url and run the command whose arguments are in x. */
static int run(struct finctl_ctx *x, const char *url)
{
	const char *ca = getenv("FINCLOUD_CA");
	char *token = read_token();
	int rc;

	/* FINCLOUD_CA: a PEM bundle to trust for an https controller with a
	 * certificate of its own */
	x->http = http_client_new(url && *url ? url : "http://127.0.0.1:8740",
				  token, ca && *ca ? ca : NULL);
	free(token);
	if (x->http == NULL) {
		fprintf(stderr, "finctl: %s\n", err_msg());
		return FINCTL_FAIL;
	}
	http_client_set_timeout(x->http, 60000);
	rc = x->cmd->fn(x);
	http_client_free(x->http);
	return rc;
}

/* argv[0] is the noun: help, or the command's row and arguments. */
static int command(int argc, char **argv, const char *url, bool json)
{
	const struct finctl_cmd *c;
	struct finctl_ctx x;

	if (find_cmd(argv[0], NULL) == NULL) {
		fprintf(stderr, "finctl: unknown noun '%s': see 'finctl "
			"--help'\n", argv[0]);
		return FINCTL_USAGE;
	}
	if (argc < 2 || is_help(argv[1])) {
		help_noun(argc < 2 ? stderr : stdout, argv[0]);
		return argc < 2 ? FINCTL_USAGE : FINCTL_OK;
	}
	if ((c = find_cmd(argv[0], argv[1])) == NULL) {
		fprintf(stderr, "finctl: '%s' has no verb '%s': see 'finctl %s "
			"--help'\n", argv[0], argv[1], argv[0]);
		return FINCTL_USAGE;
	}
	for (int k = 2; k < argc; k++)
		if (is_help(argv[k]) && strcmp(argv[k], "help") != 0) {
			printf("usage: finctl %s %s %s\n\n%s\n", c->noun, c->verb,
			       c->usage, c->help);
			return FINCTL_OK;
		}
	memset(&x, 0, sizeof(x));
	x.cmd = c;
	x.json = json;
	if (parse_args(c, argc - 2, argv + 2, &x.a) < 0)
		return finctl_usage_err();
	return run(&x, url);
}

int main(int argc, char **argv)
{
	const char *url = getenv("FINCLOUD_URL"), *format = "table";
	int i = 1;

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
			return FINCTL_OK;
		} else {
			fprintf(stderr, "finctl: unknown option '%s': see "
				"'finctl --help'\n", argv[i]);
			return FINCTL_USAGE;
		}
	}
	if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0) {
		fprintf(stderr, "finctl: -o takes 'table' or 'json', not '%s'\n",
			format);
		return FINCTL_USAGE;
	}
	if (i >= argc) {
		help_main(stderr);
		return FINCTL_USAGE;
	}
	return command(argc - i, argv + i, url, strcmp(format, "json") == 0);
}

/*
 * main.c - finctl's entry point: what it does without a command
 * (--help, --version, --man, --bash-completion), help at every level,
 * the command's row and its arguments (args.c), the token, the dispatch.
 *
 *   finctl [--url URL] [-o table|json] NOUN VERB [ARGS]
 *
 * The exit codes are FINCTL_EXIT_CODES (finctl.h).
 */
#include "finctl/finctl.h"

#include "common/err.h"
#include "common/http_client.h"
#include "common/util.h"
#include "common/version.h"

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

/* "table" or "json" into *json; else a usage error. */
static int check_format(const char *format, bool *json)
{
	if (format && strcmp(format, "table") != 0 &&
	    strcmp(format, "json") != 0)
		return err_set("-o takes 'table' or 'json', not '%s'", format);
	*json = format && strcmp(format, "json") == 0;
	return 0;
}

/* Whether s asks for something that needs no command (--version,
 * --help, --man, --bash-completion); if so it is printed. */
static bool no_command(const char *s)
{
	static const struct {
		const char *opt;
		void (*print)(FILE *f);
	} alone[] = {
		{"--help", finctl_help_main}, {"-h", finctl_help_main},
		{"--man", finctl_help_man}, {"--bash-completion", finctl_help_bash},
	};

	if (strcmp(s, "--version") == 0) {
		printf("finctl %s\n", version_str());
		return true;
	}
	for (size_t i = 0; i < FC_ARRAY_LEN(alone); i++)
		if (strcmp(s, alone[i].opt) == 0) {
			alone[i].print(stdout);
			return true;
		}
	return false;
}

/* The noun and verb among argv (global options before, between and after
 * them into g): their indexes in *noun and *verb (-1 when missing). The
 * command's own arguments start after *verb. -1 with err_set for an
 * unknown option before the verb. */
static int find_words(int argc, char **argv, struct finctl_global *g,
		      int *noun, int *verb)
{
	int i = 1, r;

	*noun = *verb = -1;
	while (i < argc && *verb < 0) {
		if ((r = finctl_global_opt(argc, argv, &i, g)) < 0)
			return -1;
		if (r > 0)
			continue;
		if (argv[i][0] == '-' && !is_help(argv[i]))
			return err_set("unknown option '%s': see 'finctl "
				       "--help'", argv[i]);
		if (*noun < 0)
			*noun = i;
		else
			*verb = i;
		i++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct finctl_global g = {.url = getenv("FINCLOUD_URL")};
	const struct finctl_cmd *c;
	struct finctl_ctx x;
	int noun, verb;

	memset(&x, 0, sizeof(x));
	/* among the global options before a noun */
	for (int i = 1; i < argc && argv[i][0] == '-';) {
		struct finctl_global scratch = {0};

		if (no_command(argv[i]))
			return FINCTL_OK;
		if (finctl_global_opt(argc, argv, &i, &scratch) <= 0)
			break;
	}
	if (find_words(argc, argv, &g, &noun, &verb) < 0)
		return finctl_usage_err();
	if (noun < 0) {
		finctl_help_main(stderr);
		return FINCTL_USAGE;
	}
	if (is_help(argv[noun])) {
		finctl_help_main(stdout);
		return FINCTL_OK;
	}
	if (find_cmd(argv[noun], NULL) == NULL) {
		fprintf(stderr, "finctl: unknown noun '%s': see 'finctl "
			"--help'\n", argv[noun]);
		return FINCTL_USAGE;
	}
	if (verb < 0 || is_help(argv[verb])) {
		finctl_help_noun(verb < 0 ? stderr : stdout, argv[noun]);
		return verb < 0 ? FINCTL_USAGE : FINCTL_OK;
	}
	if ((c = find_cmd(argv[noun], argv[verb])) == NULL) {
		fprintf(stderr, "finctl: '%s' has no verb '%s': see 'finctl %s "
			"--help'\n", argv[noun], argv[verb], argv[noun]);
		return FINCTL_USAGE;
	}
	for (int k = verb + 1; k < argc; k++)
		if (is_help(argv[k]) && strcmp(argv[k], "help") != 0) {
			finctl_help_cmd(stdout, c);
			return FINCTL_OK;
		}
	x.cmd = c;
	if (finctl_args_parse(c, argc - verb - 1, argv + verb + 1, &g,
			      &x.a) < 0 ||
	    check_format(g.format, &x.json) < 0)
		return finctl_usage_err();
	return run(&x, g.url);
}

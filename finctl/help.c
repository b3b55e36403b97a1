/*
 * help.c - what finctl says about itself: --help at every level, the man
 * page finctl(1) (finctl --man) and the bash completion script (finctl
 * --bash-completion). All of it is generated from finctl_commands[] and
 * FINCTL_EXIT_CODES; the build writes the man page and the completion
 * with the finctl it just linked (finctl/finctl.mk), so they cannot
 * drift from the command table.
 */
#include "finctl/finctl.h"

#include "common/version.h"

static const struct {
	int code;
	const char *text;
} exits[] = {
#define EXIT_ROW(name, code, text) {code, text},
	FINCTL_EXIT_CODES(EXIT_ROW)
#undef EXIT_ROW
};

static const char synopsis[] =
	"finctl [--url URL] [-o table|json] NOUN VERB [ARGS]";

static const char *const about[] = {
	"The operators' CLI of fincloud, a client of the controller's REST "
	"API. The controller's URL comes from --url, FINCLOUD_URL or "
	"http://127.0.0.1:8740; several controllers' URLs separated by "
	"commas are tried in turn when one does not answer or answers 5xx "
	"(never after a 4xx); the token from FINCLOUD_TOKEN or "
	"~/.config/fincloud/token; FINCLOUD_CA names a PEM file to trust for "
	"an https controller.",
	"--url and -o (--output) may stand anywhere on the command line. "
	"Every argument and option value is checked before the first "
	"request: a usage error (exit 2) has changed nothing.",
	NULL,
};

/* The nouns in table order, each once: calls fn(f, noun). */
static void each_noun(FILE *f, void (*fn)(FILE *, const char *))
{
	const char *last = "";

	for (size_t i = 0; i < finctl_ncommands; i++)
		if (strcmp(finctl_commands[i].noun, last) != 0) {
			last = finctl_commands[i].noun;
			fn(f, last);
		}
}

static void noun_word(FILE *f, const char *noun)
{
	fprintf(f, " %s", noun);
}

/* The nouns, "a b c", for the completion script. */
static void noun_list(FILE *f, const char *noun)
{
	fprintf(f, "%s%s", strcmp(noun, finctl_commands[0].noun) ? " " : "",
		noun);
}

/* What an option takes, in words, into out. */
static void opt_text(const struct finctl_optspec *o, char *out, size_t size)
{
	static const struct {
		const char *type, *text;
	} types[] = {
		{"", "text"},
		{"int", "an integer of 0 or more"},
		{"count", "an integer of 1 or more"},
		{"num", "a number of 0 or more"},
		{"fraction", "a number from 0 to 1"},
		{"secs", "a duration: seconds, or a number with s, m or h"},
		{"quota", "an integer of 0 or more, or none (no limit)"},
	};
	const char *t = o->has_val ? "text" : "a flag";
	char words[2 * sizeof(o->type)];

	for (size_t i = 0; o->has_val && i < FC_ARRAY_LEN(types); i++)
		if (strcmp(o->type, types[i].type) == 0)
			t = types[i].text;
	if (strchr(o->type, '|')) {
		finctl_optspec_words(o, words, sizeof(words));
		snprintf(out, size, "one of %s%s", words,
			 o->required ? " (required)" : "");
		return;
	}
	snprintf(out, size, "%s%s", t, o->required ? " (required)" : "");
}

/* ---------------------------------------------------------------- help */

/* lead, then text wrapped at 78 columns, its later lines indented as
 * far as lead. */
static void print_wrapped(FILE *f, const char *lead, const char *text)
{
	size_t col = (size_t)fprintf(f, "%s", lead), start = col;

	while (*text) {
		size_t l = strcspn(text, " ");

		if (col > start && col + 1 + l > 78) {
			col = (size_t)fprintf(f, "\n%*s", (int)start, "") - 1;
		} else if (col > start) {
			col += (size_t)fprintf(f, " ");
		}
		col += (size_t)fprintf(f, "%.*s", (int)l, text);
		text += l + (text[l] == ' ');
	}
	fprintf(f, "\n");
}

void finctl_help_main(FILE *f)
{
	fprintf(f, "usage: %s\n       finctl --help | --version | --man | "
		"--bash-completion\n\n", synopsis);
	for (size_t i = 0; about[i]; i++) {
		print_wrapped(f, "", about[i]);
		fprintf(f, "\n");
	}
	fprintf(f, "nouns:");
	each_noun(f, noun_word);
	fprintf(f, "\n\n'finctl NOUN --help' lists a noun's verbs.\n\n"
		   "exit codes:\n");
	for (size_t i = 0; i < FC_ARRAY_LEN(exits); i++) {
		char lead[16];

		snprintf(lead, sizeof(lead), "  %d  ", exits[i].code);
		print_wrapped(f, lead, exits[i].text);
	}
}

void finctl_help_noun(FILE *f, const char *noun)
{
	fprintf(f, "usage: finctl %s VERB [ARGS]\n\n", noun);
	for (size_t i = 0; i < finctl_ncommands; i++)
		if (strcmp(finctl_commands[i].noun, noun) == 0)
			fprintf(f, "  %-12s %s\n", finctl_commands[i].verb,
				finctl_commands[i].help);
	fprintf(f, "\n'finctl %s VERB --help' shows a verb's arguments.\n", noun);
}

void finctl_help_cmd(FILE *f, const struct finctl_cmd *c)
{
	const char *p = c->opts;
	struct finctl_optspec o;
	char text[512];
	bool first = true;

	fprintf(f, "usage: finctl %s %s %s\n\n%s\n", c->noun, c->verb,
		c->usage, c->help);
	while (finctl_optspec_next(&p, &o)) {
		if (first)
			fprintf(f, "\noptions:\n");
		first = false;
		opt_text(&o, text, sizeof(text));
		fprintf(f, "  --%-18s %s\n", o.name, text);
	}
}

/* ------------------------------------------------------------ man page */

/* s as roff text: backslashes and hyphens escaped, a leading dot or
 * quote made harmless. */
static void roff(FILE *f, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

/* A paragraph tagged with tag (in bold), then text; the text indented
 * by width ens when width > 0, else as the last paragraph's. */
static void man_tp(FILE *f, int width, const char *tag, const char *text)
{
	if (width > 0)
		fprintf(f, ".TP %d\n.B ", width);
	else
		fputs(".TP\n.B ", f);
	roff(f, tag);
	fputs("\n", f);
	roff(f, text);
	fputs("\n", f);
}

static void man_noun(FILE *f, const char *noun)
{
	fputs(".SS ", f);
	roff(f, noun);
	fputs("\n", f);
	for (size_t i = 0; i < finctl_ncommands; i++) {
		const struct finctl_cmd *c = &finctl_commands[i];
		const char *p = c->opts;
		struct finctl_optspec o;
		char line[512], text[512];
		bool first = true;

		if (strcmp(c->noun, noun) != 0)
			continue;
		snprintf(line, sizeof(line), "finctl %s %s %s", c->noun, c->verb,
			 c->usage);
		man_tp(f, 0, line, c->help);
		while (finctl_optspec_next(&p, &o)) {
			if (first)
				fputs(".RS\n.PD 0\n", f);
			snprintf(line, sizeof(line), "--%s", o.name);
			opt_text(&o, text, sizeof(text));
			man_tp(f, first ? 22 : 0, line, text);
			first = false;
		}
		if (!first)
			fputs(".PD\n.RE\n", f);
	}
}

void finctl_help_man(FILE *f)
{
	fprintf(f, ".\\\" finctl(1), generated by finctl --man from its "
		   "command table: do not edit\n"
		   ".TH FINCTL 1 \"\" \"fincloud %s\" \"fincloud manual\"\n"
		   ".nh\n.ad l\n"
		   ".SH NAME\nfinctl \\- the operators' CLI of fincloud\n"
		   ".SH SYNOPSIS\n", version_str());
	roff(f, synopsis);
	fputs("\n.br\nfinctl \\-\\-help | \\-\\-version | \\-\\-man | "
	      "\\-\\-bash\\-completion\n.SH DESCRIPTION\n", f);
	for (size_t i = 0; about[i]; i++) {
		roff(f, about[i]);
		fputs("\n.PP\n", f);
	}
	fputs("finctl NOUN VERB \\-\\-help shows a command's usage and "
	      "options.\n.SH OPTIONS\n", f);
	man_tp(f, 0, "--url URL[,URL...]", "the controller (default: "
	       "FINCLOUD_URL, else http://127.0.0.1:8740); with several "
	       "(controllers sharing one PostgreSQL database), a request "
	       "that gets no answer or a 5xx goes to the next, never after "
	       "a 4xx");
	man_tp(f, 0, "-o, --output table|json", "human tables and key/value "
	       "lines (table, the default), or the API's JSON (json; lists "
	       "as one array of all pages)");
	man_tp(f, 0, "--help", "this help at every level: finctl --help, finctl "
	       "NOUN --help, finctl NOUN VERB --help");
	man_tp(f, 0, "--version", "the version of fincloud");
	man_tp(f, 0, "--man", "this manual page in roff");
	man_tp(f, 0, "--bash-completion", "the bash completion script");
	fputs(".SH COMMANDS\n", f);
	each_noun(f, man_noun);
	fputs(".SH EXIT STATUS\n", f);
	for (size_t i = 0; i < FC_ARRAY_LEN(exits); i++) {
		char code[16];

		snprintf(code, sizeof(code), "%d", exits[i].code);
		man_tp(f, 0, code, exits[i].text);
	}
	fputs(".SH ENVIRONMENT\n", f);
	man_tp(f, 0, "FINCLOUD_URL", "the controller's URL, or several "
	       "separated by commas, when --url is not given");
	man_tp(f, 0, "FINCLOUD_TOKEN", "the API token (else the file below)");
	man_tp(f, 0, "FINCLOUD_CA", "a PEM file to trust when the controller "
	       "serves HTTPS with a certificate of its own");
	fputs(".SH FILES\n", f);
	man_tp(f, 0, "~/.config/fincloud/token", "the API token when "
	       "FINCLOUD_TOKEN is not set");
	fputs(".SH SEE ALSO\n.BR fincloud\\-controller (8),\n"
	      ".BR fincloud\\-agent (8),\n.BR fincloud\\-sched (1)\n", f);
}

/* ------------------------------------------------------ bash completion */

static void bash_verbs(FILE *f, const char *noun)
{
	fprintf(f, "\t\t%s)\n\t\t\twords='", noun);
	for (size_t i = 0, n = 0; i < finctl_ncommands; i++)
		if (strcmp(finctl_commands[i].noun, noun) == 0)
			fprintf(f, "%s%s", n++ ? " " : "",
				finctl_commands[i].verb);
	fprintf(f, "' ;;\n");
}

/* The options of each command (valued ones with a trailing '='), and
 * the words each option that takes one of a list may take. */
static void bash_opts(FILE *f, bool values)
{
	for (size_t i = 0; i < finctl_ncommands; i++) {
		const struct finctl_cmd *c = &finctl_commands[i];
		const char *p = c->opts;
		struct finctl_optspec o;
		bool any = false;

		while (finctl_optspec_next(&p, &o)) {
			if (values && strchr(o.type, '|')) {
				fprintf(f, "\t\t'%s %s --%s')\n\t\t\twords='", c->noun,
					c->verb, o.name);
				for (const char *t = o.type; *t; t++)
					fputc(*t == '|' ? ' ' : *t, f);
				fprintf(f, "' ;;\n");
			} else if (!values) {
				if (!any)
					fprintf(f, "\t\t'%s %s')\n\t\t\twords='",
						c->noun, c->verb);
				fprintf(f, "%s--%s%s", any ? " " : "", o.name,
					o.has_val ? "=" : "");
				any = true;
			}
		}
		if (any)
			fprintf(f, "' ;;\n");
	}
}

void finctl_help_bash(FILE *f)
{
	fprintf(f, "# bash completion for finctl %s, generated by finctl "
		   "--bash-completion\n# from its command table: do not edit\n"
		   "\n_finctl_words() # KIND KEY: the words of KEY\n{\n"
		   "\tlocal words=\n\tcase $1 in\n\tnouns) words='",
		version_str());
	each_noun(f, noun_list);
	fprintf(f, "' ;;\n\tverbs)\n\t\tcase $2 in\n");
	each_noun(f, bash_verbs);
	fprintf(f, "\t\tesac ;;\n\topts)\n\t\tcase $2 in\n");
	bash_opts(f, false);
	fprintf(f, "\t\tesac ;;\n\tvalues)\n\t\tcase $2 in\n");
	bash_opts(f, true);
	fputs("\t\tesac ;;\n\tesac\n\tprintf '%s\\n' \"$words\"\n}\n\n", f);
	fputs("_finctl()\n{\n"
	      "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev= noun= verb= i w\n"
	      "\t[ \"$COMP_CWORD\" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	      "\tCOMPREPLY=()\n"
	      "\t# the noun and the verb: the first two words that are not\n"
	      "\t# options, nor the values of --url and -o\n"
	      "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	      "\t\tw=${COMP_WORDS[i]}\n"
	      "\t\tcase $w in\n"
	      "\t\t--url | -o | --output) i=$((i + 1)) ;;\n"
	      "\t\t-*) ;;\n"
	      "\t\t*) if [ -z \"$noun\" ]; then noun=$w; "
	      "elif [ -z \"$verb\" ]; then verb=$w; fi ;;\n"
	      "\t\tesac\n"
	      "\tdone\n"
	      "\tcase $prev in\n"
	      "\t-o | --output)\n"
	      "\t\tmapfile -t COMPREPLY < <(compgen -W 'table json' -- \"$cur\")\n"
	      "\t\treturn ;;\n"
	      "\t--url) return ;;\n"
	      "\tesac\n"
	      "\tif [ -n \"$verb\" ] && [[ $prev == --* ]]; then\n"
	      "\t\tw=$(_finctl_words values \"$noun $verb $prev\")\n"
	      "\t\tif [ -n \"$w\" ]; then\n"
	      "\t\t\tmapfile -t COMPREPLY < <(compgen -W \"$w\" -- \"$cur\")\n"
	      "\t\t\treturn\n"
	      "\t\tfi\n"
	      "\t\t# an option that takes free text: nothing to offer\n"
	      "\t\t[[ \" $(_finctl_words opts \"$noun $verb\") \" == "
	      "*\" $prev= \"* ]] && return\n"
	      "\tfi\n"
	      "\tif [ -z \"$noun\" ] && [[ $cur == -* ]]; then\n"
	      "\t\tw='--url -o --output --help --version'\n"
	      "\telif [ -z \"$noun\" ]; then\n"
	      "\t\tw=$(_finctl_words nouns)\n"
	      "\telif [ -z \"$verb\" ]; then\n"
	      "\t\tw=\"$(_finctl_words verbs \"$noun\") --help\"\n"
	      "\telif [ -z \"$cur\" ] || [[ $cur == -* ]]; then\n"
	      "\t\tw=\"$(_finctl_words opts \"$noun $verb\") --help\"\n"
	      "\t\tw=${w//=/}\n"
	      "\telse\n"
	      "\t\treturn\n"
	      "\tfi\n"
	      "\tmapfile -t COMPREPLY < <(compgen -W \"$w\" -- \"$cur\")\n"
	      "}\n"
	      "complete -F _finctl finctl\n", f);
}

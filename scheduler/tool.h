/*
 * tool.h - what the files of the fincloud-sched tool share (not part of
 * libfcsched): a row of its command table, and the help and error
 * messages made from a row.
 *
 * The table is commands[] in scheduler/fincloud-sched.c: one row per
 * subcommand with its handler, usage and help; 'fincloud-sched --help',
 * 'fincloud-sched help CMD' and 'fincloud-sched CMD --help' all print
 * from it.
 */
#ifndef FC_SCHED_TOOL_H
#define FC_SCHED_TOOL_H

#include "common/fc.h"

/* Exit codes of every subcommand: 0 success, TOOL_PARTIAL some of the
 * work could not be done, TOOL_BAD bad input or usage (nothing on
 * stdout then). */
#define TOOL_PARTIAL 1
#define TOOL_BAD 2

struct tool_cmd {
	const char *name;
	/* argv[0] is the name; returns an exit code */
	int (*run)(const struct tool_cmd *c, int argc, char **argv);
	const char *usage; /* one line, after "fincloud-sched " */
	const char *help;  /* paragraphs, each line ending in '\n' */
};

/* Print "usage: fincloud-sched USAGE", a blank line and the help on
 * stdout; returns 0 (the exit code of CMD --help). */
int tool_help(const struct tool_cmd *c);

/* Print "fincloud-sched NAME: MESSAGE" on stderr; returns TOOL_BAD. */
int tool_error(const struct tool_cmd *c, const char *fmt, ...) FC_PRINTF(2, 3);

/* tool_error, then "usage: fincloud-sched USAGE"; returns TOOL_BAD. */
int tool_usage_error(const struct tool_cmd *c, const char *fmt, ...)
	FC_PRINTF(2, 3);

#endif

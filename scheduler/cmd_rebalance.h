/*
 * cmd_rebalance.h - `fincloud-sched rebalance`, a row of the tool's
 * command table (scheduler/tool.h).
 */
#ifndef FC_SCHED_CMD_REBALANCE_H
#define FC_SCHED_CMD_REBALANCE_H

#include "scheduler/tool.h"

/* argv[0] is "rebalance". Exit status: 0 plan made, 1 some of it could
 * not be done (printed on stderr), 2 bad input (nothing on stdout). */
int cmd_rebalance(const struct tool_cmd *c, int argc, char **argv);

/* Its help, the part after the usage line. */
extern const char cmd_rebalance_help[];

#endif

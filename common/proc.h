/*
 * proc.h - run a standard tool (qemu-img, genisoimage) without a shell
 * and collect what it prints.
 *
 * The program's stdout and stderr are read into capped buffers; a tool
 * that prints more than the cap fails the call (its output is refused,
 * not cut). stdin is /dev/null. The child is waited for (no zombie is
 * left), also when it runs past the time limit, which kills it.
 */
#ifndef FC_PROC_H
#define FC_PROC_H

#include "common/fc.h"

struct proc_result {
	int status;    /* exit status (0..255); -1 when killed by a signal */
	char *out;     /* stdout, NUL-terminated, malloc'd */
	size_t out_len;
	char *err;     /* stderr, NUL-terminated, malloc'd (trimmed) */
};

/* Run argv[0] (looked up in PATH) with argv (NULL-terminated) and wait at
 * most timeout_ms for it to end. On 0 r holds its exit status and output
 * (stdout at most max_out bytes, stderr at most 16 KiB); release it with
 * proc_result_free(). -1 with err_set() when it could not be started, ran
 * past the limit (killed), or printed more than the cap. A non-zero exit
 * status is not a failure of proc_run(): the caller reads r->status. */
int proc_run(char *const argv[], size_t max_out, int64_t timeout_ms,
	     struct proc_result *r);

/* Free what r holds; safe on a zeroed or freed result. */
void proc_result_free(struct proc_result *r);

#endif

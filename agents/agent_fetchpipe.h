/*
 * agent_fetchpipe.h - the bytes of an image fetch written to their file
 * and hashed (SHA-256) by a second thread while the first one receives
 * the next ones, so that the digest check costs no pass of its own over
 * the file and no time on the receiving thread.
 *
 * The receiving thread copies each piece into one of a few 1 MiB
 * buffers (agent_fetchpipe_put(), an http_stream sink) and hands the
 * full ones over; the writer thread writes them to the file and feeds
 * them to OpenSSL's SHA-256 (which uses the CPU's SHA extensions where
 * there are some). The receiver waits only when all buffers are full
 * (the digest or the page cache is slower than the network). Making the
 * file durable is the caller's (fdatasync). One pipe serves one fetch,
 * from one receiving thread.
 */
#ifndef AGENT_FETCHPIPE_H
#define AGENT_FETCHPIPE_H

#include "common/fc.h"

#define AGENT_FETCHPIPE_HEX 64

struct agent_fetchpipe;

/* Start a pipe that appends to fd (open for writing, kept open and
 * closed by the caller; what names it in errors, copied). NULL with
 * err_set() when memory or a thread is missing. End it with
 * agent_fetchpipe_finish() and release it with agent_fetchpipe_free(). */
struct agent_fetchpipe *agent_fetchpipe_new(int fd, const char *what);

/* The next len bytes of data (copied; ud is the pipe): 0, or -1 with
 * err_set() when the writer stopped on an error (its message: the file
 * cannot be written). Shaped as struct http_stream's sink. */
int agent_fetchpipe_put(void *ud, const void *data, size_t len);

/* Wait until every byte put is written and hashed; the SHA-256 of them
 * all as lowercase hex into hex. 0, or -1 with err_set() (a write that
 * failed). Call it once. */
int agent_fetchpipe_finish(struct agent_fetchpipe *p,
			   char hex[AGENT_FETCHPIPE_HEX + 1]);

/* Stop the writer (when not finished, after the buffers it holds) and
 * release p. NULL is fine. */
void agent_fetchpipe_free(struct agent_fetchpipe *p);

#endif

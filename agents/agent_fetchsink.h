/*
 * agent_fetchsink.h - the bytes of an image fetch written to their file
 * and hashed (SHA-256) as they arrive, in the receiving thread, so that
 * the digest check costs no second pass over the file.
 *
 * The digest is OpenSSL's, which uses the CPU's SHA extensions where
 * there are some (docs/decisions.md: about 2 GB/s a core here, faster
 * than the network and the disk deliver). Making the file durable is the
 * caller's (fdatasync). One sink serves one fetch, from one thread.
 */
#ifndef AGENT_FETCHSINK_H
#define AGENT_FETCHSINK_H

#include "common/fc.h"

#define AGENT_FETCHSINK_HEX 64

struct agent_fetchsink;

/* A sink that appends to fd (open for writing, kept open and closed by
 * the caller; what names it in errors, copied). NULL with err_set() when
 * memory or the digest is missing. End it with agent_fetchsink_finish()
 * and release it with agent_fetchsink_free(). */
struct agent_fetchsink *agent_fetchsink_new(int fd, const char *what);

/* Write and hash the next len bytes of data (ud is the sink): 0, or -1
 * with err_set() when the file cannot be written. Shaped as struct
 * http_stream's sink. */
int agent_fetchsink_put(void *ud, const void *data, size_t len);

/* The SHA-256 of every byte put, as lowercase hex into hex. 0, or -1
 * with err_set(). Call it once. */
int agent_fetchsink_finish(struct agent_fetchsink *s,
			   char hex[AGENT_FETCHSINK_HEX + 1]);

/* Release s. NULL is fine. */
void agent_fetchsink_free(struct agent_fetchsink *s);

#endif

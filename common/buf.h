/*
 * buf.h - a growable byte buffer with a hard size cap.
 *
 * Untrusted input (HTTP bodies, files from the network) is read into a
 * struct buf whose cap is set at init: an append that would pass the cap
 * fails and leaves the buffer as it was, so oversized input is refused,
 * never silently truncated. data is always NUL-terminated.
 *
 *   struct buf b;
 *   buf_init(&b, 1 << 20);
 *   if (buf_printf(&b, "%d", n) < 0) ...
 *   char *s = buf_detach(&b);   // caller now owns s; b is empty again
 *   buf_free(&b);               // safe on an empty or detached buffer
 */
#ifndef FC_BUF_H
#define FC_BUF_H

#include "common/fc.h"

struct buf {
	char *data; /* NULL until the first append */
	size_t len;
	size_t alloc;
	size_t max; /* most bytes of content (0: unlimited) */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);

/* 0, or -1 (with err_set) when the cap would be passed or memory ran out. */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) FC_PRINTF(2, 3);

/* The content as a NUL-terminated string ("" when empty). */
const char *buf_str(const struct buf *b);

/* Hand the content to the caller (never NULL unless out of memory); the
 * buffer is left empty and reusable. */
char *buf_detach(struct buf *b);

#endif

/*
 * idem.h - idempotency keys of creates: a client that retries a create
 * with the same Idempotency-Key header gets the first answer again, and
 * nothing is created twice.
 *
 * A key is stored with its caller (the token id), the SHA-256 of the
 * request body and the id of what the first request created, in the
 * transaction that creates it: either both are recorded or neither. Keys
 * are per caller, and expire IDEM_TTL_MS after their first use (removed
 * lazily, by the next request that carries a key).
 */
#ifndef FC_CTRL_IDEM_H
#define FC_CTRL_IDEM_H

#include "controller/api.h"

#define IDEM_TTL_MS (24 * 3600 * 1000LL)
#define IDEM_KEY_MAX 128   /* printable ASCII, no space */
#define IDEM_ID_LEN 64     /* what a key records, with its NUL */

/* With the request's transaction open, before a create does anything: the
 * request's key (c->idempotency_key; none: 0). 0 when the key is new (go
 * on, then idem_record()); 1 when the caller used it before with the same
 * body, with the id that request created in id (answer it again); -1 with
 * the answer set: 400 invalid_field for a malformed key, 409
 * idempotency_conflict when the body differs, 500. */
int idem_check(struct api_ctx *c, char id[IDEM_ID_LEN]);

/* Record the request's key (none: nothing to do) as having created id,
 * in the request's transaction. 0, or -1 with a 500 answer. */
int idem_record(struct api_ctx *c, const char *id);

#endif

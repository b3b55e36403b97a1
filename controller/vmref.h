/*
 * vmref.h - what a VM reference in a request names: the one resolver
 * every VM route (/v1/vms/{vm} and its actions) and the ?vm= filter of
 * the task list go through.
 *
 * A reference is a VM id, a unique prefix of one (at least 4 hex digits,
 * dashes allowed), or a VM name (unique per tenant). An exact id wins;
 * otherwise every VM whose name is the reference or whose id starts with
 * it is a candidate, and exactly one must remain. A tenant principal only
 * ever resolves its own VMs: another tenant's VM is as absent as a VM
 * that does not exist.
 */
#ifndef FC_CTRL_VMREF_H
#define FC_CTRL_VMREF_H

#include "controller/api.h"

#define VMREF_ID_LEN 37 /* a UUID and its NUL */

/* The VM that ref names, as the caller of c sees VMs, among the VMs of
 * tenant (NULL: of every tenant the caller sees), into id. 1 when one VM
 * is named; 0 with the answer set when none is (404 not_found) or several
 * are (409 ambiguous, listing up to 5 candidates with their tenants and
 * how to name one); -1 with a 500 answer when the VMs cannot be read.
 * Reads inside the request's transaction when one is open. */
int vmref_resolve(struct api_ctx *c, const char *ref, const char *tenant,
		  char id[VMREF_ID_LEN]);

/* Whether ref has the shape of a full VM id (a UUID, lowercase or not):
 * what a filter on VMs that may be gone compares as it is. */
bool vmref_is_id(const char *ref);

#endif

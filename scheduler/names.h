/*
 * names.h - a small string -> index hash table for the scheduler model.
 *
 * Keys are not copied: the caller keeps every key string alive (and
 * unchanged) for as long as the table is used. Used to resolve references
 * by name (a VM's tenant, a host's pool) and to refuse duplicate names in
 * O(1) per lookup, which matters at 100,000 VMs.
 */
#ifndef FC_SCHED_NAMES_H
#define FC_SCHED_NAMES_H

#include "common/fc.h"

struct sched_names;

/* An empty table sized for about `hint` keys (it grows as needed). NULL
 * with err_set() when out of memory. Free with sched_names_free(). */
struct sched_names *sched_names_new(size_t hint);
void sched_names_free(struct sched_names *n);

/* Add name -> index. Returns 0 when added, 1 when the name was already
 * there (nothing changed; *existing, when not NULL, gets its index), -1
 * with err_set() when out of memory. */
int sched_names_add(struct sched_names *n, const char *name, int index,
		    int *existing);

/* The index stored for name, or -1. */
int sched_names_find(const struct sched_names *n, const char *name);

#endif

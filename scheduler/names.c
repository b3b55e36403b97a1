#include "common/fc.h"

#include "common/err.h"
#include "scheduler/names.h"

struct slot {
	const char *key; /* NULL: empty */
	int index;
};

struct sched_names {
	struct slot *slots;
	size_t cap; /* a power of two */
	size_t count;
};

/* FNV-1a: short keys, no adversary beyond a malformed file. */
static uint64_t names_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static int names_alloc(struct sched_names *n, size_t cap)
{
	n->slots = calloc(cap, sizeof(*n->slots));
	if (n->slots == NULL)
		return err_set("out of memory for a name table of %zu slots",
			       cap);
	n->cap = cap;
	n->count = 0;
	return 0;
}

struct sched_names *sched_names_new(size_t hint)
{
	struct sched_names *n = calloc(1, sizeof(*n));
	size_t cap = 16;

	if (n == NULL) {
		err_set("out of memory for a name table");
		return NULL;
	}
	while (cap < hint * 2)
		cap *= 2;
	if (names_alloc(n, cap) < 0) {
		free(n);
		return NULL;
	}
	return n;
}

void sched_names_free(struct sched_names *n)
{
	if (n == NULL)
		return;
	free(n->slots);
	free(n);
}

static struct slot *names_slot(const struct sched_names *n, const char *name)
{
	size_t i = (size_t)names_hash(name) & (n->cap - 1);

	while (n->slots[i].key != NULL && strcmp(n->slots[i].key, name) != 0)
		i = (i + 1) & (n->cap - 1);
	return &n->slots[i];
}

static int names_grow(struct sched_names *n)
{
	struct sched_names bigger;
	size_t i;

	if (names_alloc(&bigger, n->cap * 2) < 0)
		return -1;
	for (i = 0; i < n->cap; i++) {
		if (n->slots[i].key != NULL)
			*names_slot(&bigger, n->slots[i].key) = n->slots[i];
	}
	bigger.count = n->count;
	free(n->slots);
	*n = bigger;
	return 0;
}

int sched_names_add(struct sched_names *n, const char *name, int index,
		    int *existing)
{
	struct slot *s;

	if ((n->count + 1) * 2 > n->cap && names_grow(n) < 0)
		return -1;
	s = names_slot(n, name);
	if (s->key != NULL) {
		if (existing != NULL)
			*existing = s->index;
		return 1;
	}
	s->key = name;
	s->index = index;
	n->count++;
	return 0;
}

int sched_names_find(const struct sched_names *n, const char *name)
{
	const struct slot *s = names_slot(n, name);

	return s->key != NULL ? s->index : -1;
}

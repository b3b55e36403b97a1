#include "common/fc.h"

#include "common/err.h"
#include "common/util.h"
#include "scheduler/gen.h"
#include "scheduler/problem.h"

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static size_t pick(uint64_t *x, size_t n)
{
	return (size_t)(splitmix(x) % n);
}

struct model {
	double vcpus, mem_mib, disk_gib, cost;
};

static const struct model models[] = {
	{32, 262144, 2000, 10},
	{64, 524288, 4000, 17},
	{48, 393216, 3000, 14},
	{32, 131072, 2000, 7},
};

struct flavor {
	double vcpus, mem_mib, disk_gib;
	unsigned weight; /* out of 100 */
};

static const struct flavor flavors[] = {
	{1, 2048, 20, 20},   {2, 4096, 40, 20},   {2, 8192, 40, 15},
	{4, 8192, 80, 15},   {4, 16384, 80, 10},  {8, 16384, 160, 10},
	{8, 32768, 200, 6},  {16, 65536, 400, 4},
};

static const char *const tenant_names[] = {
	"payment-settlement", "loan-approval", "account-opening",
	"credit-risk", "batch-analytics",
};

static char **one_tag(const char *t, size_t *n)
{
	char **tags = calloc(1, sizeof(*tags));

	if (tags == NULL)
		return NULL;
	tags[0] = strdup(t);
	if (tags[0] == NULL) {
		free(tags);
		return NULL;
	}
	*n = 1;
	return tags;
}

struct sched_problem *sched_gen(size_t hosts, size_t vms, uint64_t seed,
				bool simple)
{
	struct sched_problem *p = sched_problem_new();
	uint64_t x = seed;
	size_t nt, ng = 0, v;

	if (p == NULL)
		return NULL;
	if (hosts == 0) {
		err_set("gen: --hosts must be at least 1");
		goto fail;
	}
	nt = vms / 400;
	nt = nt < FC_ARRAY_LEN(tenant_names) ? FC_ARRAY_LEN(tenant_names)
					     : (nt > 60 ? 60 : nt);
	p->npools = 2;
	p->nhosts = hosts;
	p->ntenants = nt;
	p->pools = calloc(2, sizeof(*p->pools));
	p->hosts = calloc(hosts, sizeof(*p->hosts));
	p->tenants = calloc(nt, sizeof(*p->tenants));
	/* Groups have at least two members. */
	p->groups = calloc(vms / 2 + 1, sizeof(*p->groups));
	p->vms = calloc(vms + 1, sizeof(*p->vms));
	if (p->pools == NULL || p->hosts == NULL || p->tenants == NULL ||
	    p->groups == NULL || p->vms == NULL)
		goto oom;
	p->nvms = vms;

	str_copy(p->pools[0].name, SCHED_NAME_MAX, "prod");
	p->pools[0].ratio[DIM_VCPU] = 4;
	p->pools[0].ratio[DIM_MEM] = 1;
	p->pools[0].ratio[DIM_DISK] = 1;
	str_copy(p->pools[1].name, SCHED_NAME_MAX, "dev");
	p->pools[1].ratio[DIM_VCPU] = 8;
	p->pools[1].ratio[DIM_MEM] = 1.2;
	p->pools[1].ratio[DIM_DISK] = 1.5;

	for (size_t h = 0; h < hosts; h++) {
		struct sched_host *ho = &p->hosts[h];
		const struct model *m = &models[pick(&x, FC_ARRAY_LEN(models))];
		size_t r = pick(&x, 100);

		snprintf(ho->name, SCHED_NAME_MAX, "h%05zu", h);
		ho->pool = h % 10 < 7 ? 0 : 1;
		ho->cap[DIM_VCPU] = m->vcpus;
		ho->cap[DIM_MEM] = m->mem_mib;
		ho->cap[DIM_DISK] = m->disk_gib;
		/* Prices vary by up to +-10% between purchases. */
		ho->cost = m->cost * (90 + (double)pick(&x, 21)) / 100;
		ho->availability = (990 + (double)pick(&x, 10)) / 1000;
		ho->state = r == 0 ? HOST_DOWN
				   : (r == 1 ? HOST_MAINTENANCE : HOST_UP);
		if (pick(&x, 5) == 0) {
			ho->tags = one_tag("ssd", &ho->ntags);
			if (ho->tags == NULL)
				goto oom;
		}
	}
	for (size_t t = 0; t < nt; t++) {
		struct sched_tenant *te = &p->tenants[t];

		if (t < FC_ARRAY_LEN(tenant_names))
			str_copy(te->name, SCHED_NAME_MAX, tenant_names[t]);
		else
			snprintf(te->name, SCHED_NAME_MAX, "tenant-%02zu", t);
		if (t == 0 || t == 4 || (t > 4 && t % 4 == 1)) {
			te->pools = calloc(1, sizeof(*te->pools));
			if (te->pools == NULL)
				goto oom;
			te->npools = 1;
			te->pools[0] = t == 4 ? 1 : 0;
		}
		te->isolation = !simple && (t == 0 || (t > 4 && t % 12 == 5))
					? ISOLATION_DEDICATED
					: ISOLATION_SHARED;
	}
	for (v = 0; v < vms;) {
		size_t t = pick(&x, nt), r = pick(&x, 100), acc = 0, f = 0;
		size_t members = 1;
		int group = -1;

		for (f = 0; f < FC_ARRAY_LEN(flavors); f++) {
			acc += flavors[f].weight;
			if (r < acc)
				break;
		}
		if (pick(&x, 20) == 0 && v + 3 <= vms && t != 4) {
			struct sched_group *g = &p->groups[ng];

			snprintf(g->name, SCHED_NAME_MAX, "grp%05zu", ng);
			g->tenant = (int)t;
			g->policy = GROUP_ANTI_AFFINITY;
			members = 2 + pick(&x, 2);
			if (pick(&x, 4) == 0 && !simple)
				g->availability = 0.9999;
			group = (int)ng++;
		}
		for (size_t m = 0; m < members; m++, v++) {
			struct sched_vm *vm = &p->vms[v];

			snprintf(vm->name, SCHED_NAME_MAX, "vm%06zu", v);
			vm->tenant = (int)t;
			vm->group = group;
			vm->host = -1;
			vm->req[DIM_VCPU] = flavors[f].vcpus;
			vm->req[DIM_MEM] = flavors[f].mem_mib;
			vm->req[DIM_DISK] = flavors[f].disk_gib;
			if (pick(&x, 10) == 0) {
				vm->tags = one_tag("ssd", &vm->ntags);
				if (vm->tags == NULL)
					goto oom;
			}
		}
	}
	p->ngroups = ng;
	return p;
oom:
	err_set("gen: out of memory for %zu hosts and %zu vms", hosts, vms);
fail:
	sched_problem_free(p);
	return NULL;
}

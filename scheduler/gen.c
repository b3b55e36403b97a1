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

struct flavor {
	double vcpus, mem_mib, disk_gib;
	unsigned weight; /* out of 100 */
};

#define LIST(a) {a, FC_ARRAY_LEN(a)}

/* ---- the default fleet ---------------------------------------------- */

static const struct model models[] = {
	{32, 262144, 2000, 10},
	{64, 524288, 4000, 17},
	{48, 393216, 3000, 14},
	{32, 131072, 2000, 7},
};

static const struct flavor flavors[] = {
	{1, 2048, 20, 20},   {2, 4096, 40, 20},   {2, 8192, 40, 15},
	{4, 8192, 80, 15},   {4, 16384, 80, 10},  {8, 16384, 160, 10},
	{8, 32768, 200, 6},  {16, 65536, 400, 4},
};

/* ---- the other shapes' hosts and flavors ------------------------------ */

/* hetero: small cheap hosts, CPU-rich and memory-rich ones, big
 * expensive ones; the cost per vCPU and per GiB differs up to 4x. */
static const struct model hetero_models[] = {
	{16, 65536, 1000, 3.5}, {48, 196608, 2000, 11}, {16, 524288, 1000, 15},
	{32, 131072, 1000, 6}, {64, 524288, 4000, 22}, {24, 98304, 1000, 3.2},
};

/* mem-tight: hosts with little memory per core, memory-hungry VMs, and
 * the CPU-bound ones of every other tenant. */
static const struct model lean_models[] = {
	{64, 131072, 2000, 9}, {96, 196608, 3000, 13}, {48, 98304, 2000, 7},
};
static const struct flavor mem_flavors[] = {
	{2, 8192, 40, 35}, {2, 12288, 40, 25}, {4, 16384, 80, 20},
	{4, 24576, 80, 15}, {8, 49152, 160, 5},
};
static const struct flavor cpu_flavors[] = {
	{8, 4096, 40, 30}, {8, 8192, 80, 30}, {16, 8192, 80, 25},
	{16, 16384, 160, 10}, {32, 16384, 160, 5},
};

/* tiny: small hosts, VMs of 512 MiB to 2 GiB. */
static const struct model tiny_models[] = {
	{8, 16384, 200, 1.2}, {16, 32768, 400, 2.1}, {12, 24576, 300, 1.7},
};
static const struct flavor tiny_flavors[] = {
	{0.5, 512, 5, 25},
	{1, 512, 10, 20},
	{1, 1024, 10, 25},
	{1, 2048, 20, 20},
	{2, 2048, 20, 10},
};

/* huge: the default flavors, and a few VMs as big as half a host or more. */
static const struct flavor huge_flavors[] = {
	{1, 2048, 20, 19}, {2, 4096, 40, 19}, {2, 8192, 40, 14},
	{4, 8192, 80, 14}, {4, 16384, 80, 10}, {8, 16384, 160, 10},
	{8, 32768, 200, 6}, {16, 65536, 400, 3}, {32, 196608, 1000, 3},
	{48, 393216, 2000, 2},
};

/* The memory pool of the 'dedicated' shape. */
static const struct model mem_models[] = {
	{32, 1048576, 2000, 28},
	{48, 786432, 3000, 24},
};

static const char *const tenant_names[] = {
	"payment-settlement", "loan-approval", "account-opening",
	"credit-risk", "batch-analytics",
};

static const char *const dedicated_names[] = {
	"payment-settlement", "market-risk", "card-authorisation",
	"account-opening", "batch-analytics",
};

/* ---- shapes --------------------------------------------------------- */

/* A fleet's recipe. Every field left 0 behaves as in the default shape,
 * and draws from the generator only where the default shape does, so the
 * default shape stays what sched_gen() always made. */
struct models {
	const struct model *m;
	size_t n;
};

struct flavors {
	const struct flavor *f;
	size_t n;
};

struct shape {
	const char *name;
	const char *help;
	struct models models;         /* none: the default's */
	struct flavors flavors;       /* none: the default's */
	struct flavors alt_flavors;   /* of the tenants alt_tenant() picks */
	/* Hosts with h % 10 >= third_from go to a third pool ("mem", its
	 * own models); 0: two pools. */
	unsigned third_from;
	struct models third_models;
	double ratio[3][DIM_COUNT]; /* per pool; all 0: the default's */
	unsigned down, maintenance; /* hosts per 100 (0, 0: 1 and 1) */
	unsigned group_one_in;      /* a VM starts a group (0: 20) */
	unsigned group_min, group_spread; /* members min + pick(spread) */
	unsigned target_one_in;     /* a group has a target (0: 4) */
	unsigned affinity_pct;      /* groups kept together, of 100 */
	bool more_dedicated;        /* tenants as tenant_rules() says */
	bool varied_targets;        /* 0.999 to 0.99999, hosts 0.98+ */
};

static const struct shape shapes[] = {
	{.name = "default",
	 .help = "the bank-like fleet (see gen.h)"},
	{.name = "hetero",
	 .help = "six host models, cost per vCPU and GiB differing up to 4x, "
		 "dev overcommitted 16:1",
	 .models = LIST(hetero_models),
	 .ratio = {{4, 1, 1}, {16, 1.5, 2}}},
	{.name = "mem-tight",
	 .help = "hosts with 2 GiB per core, half the tenants CPU-bound",
	 .models = LIST(lean_models),
	 .flavors = LIST(mem_flavors),
	 .alt_flavors = LIST(cpu_flavors),
	 .ratio = {{2, 1, 1}, {4, 1, 1.5}}},
	{.name = "tiny",
	 .help = "small hosts and VMs of 512 MiB to 2 GiB",
	 .models = LIST(tiny_models),
	 .flavors = LIST(tiny_flavors)},
	{.name = "huge",
	 .help = "5% of the VMs take a third to most of a host",
	 .flavors = LIST(huge_flavors)},
	{.name = "dedicated",
	 .help = "a third pool 'mem' that a memory-hungry tenant must use and "
		 "a dedicated tenant may; a third of the tenants dedicated",
	 .alt_flavors = LIST(mem_flavors),
	 .third_from = 8,
	 .third_models = LIST(mem_models),
	 .more_dedicated = true},
	{.name = "anti-affinity",
	 .help = "groups of 3-6 VMs on distinct hosts for a quarter of the "
		 "VMs, half with availability targets of 0.999-0.99999",
	 .group_one_in = 4,
	 .group_min = 3,
	 .group_spread = 4,
	 .target_one_in = 2,
	 .varied_targets = true},
	{.name = "affinity",
	 .help = "pairs and triples of VMs that must share a host",
	 .group_one_in = 5,
	 .affinity_pct = 80},
	{.name = "hosts-down",
	 .help = "15% of the hosts down and 10% in maintenance",
	 .down = 15,
	 .maintenance = 10},
};

static const struct shape *find_shape(const char *name)
{
	if (name == NULL)
		return &shapes[0];
	for (size_t i = 0; i < FC_ARRAY_LEN(shapes); i++)
		if (strcmp(shapes[i].name, name) == 0)
			return &shapes[i];
	return NULL;
}

size_t sched_gen_shape_count(void)
{
	return FC_ARRAY_LEN(shapes);
}

const char *sched_gen_shape_name(size_t i)
{
	return i < FC_ARRAY_LEN(shapes) ? shapes[i].name : NULL;
}

const char *sched_gen_shape_help(size_t i)
{
	return i < FC_ARRAY_LEN(shapes) ? shapes[i].help : NULL;
}

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

static void set_pool(struct sched_pool *pl, const char *name,
		     const double *ratio, const double *dflt)
{
	const double *r = ratio[DIM_VCPU] > 0 ? ratio : dflt;

	str_copy(pl->name, SCHED_NAME_MAX, name);
	for (int d = 0; d < DIM_COUNT; d++)
		pl->ratio[d] = r[d];
}

static void make_pools(const struct shape *s, struct sched_problem *p)
{
	static const double prod[DIM_COUNT] = {4, 1, 1};
	static const double dev[DIM_COUNT] = {8, 1.2, 1.5};
	static const double mem[DIM_COUNT] = {2, 1, 1};

	set_pool(&p->pools[0], "prod", s->ratio[0], prod);
	set_pool(&p->pools[1], "dev", s->ratio[1], dev);
	if (s->third_from > 0)
		set_pool(&p->pools[2], "mem", s->ratio[2], mem);
}

static int make_hosts(const struct shape *s, struct sched_problem *p,
		      uint64_t *x)
{
	const struct model *ms = s->models.n ? s->models.m : models;
	size_t nm = s->models.n ? s->models.n : FC_ARRAY_LEN(models);
	unsigned down = s->down || s->maintenance ? s->down : 1;
	unsigned maint = s->down || s->maintenance ? s->maintenance : 1;

	for (size_t h = 0; h < p->nhosts; h++) {
		struct sched_host *ho = &p->hosts[h];
		bool third = s->third_from > 0 && h % 10 >= s->third_from;
		const struct model *m = third
			? &s->third_models.m[pick(x, s->third_models.n)]
			: &ms[pick(x, nm)];
		size_t r = pick(x, 100);

		snprintf(ho->name, SCHED_NAME_MAX, "h%05zu", h);
		ho->pool = third ? 2 : (h % 10 < 7 ? 0 : 1);
		ho->cap[DIM_VCPU] = m->vcpus;
		ho->cap[DIM_MEM] = m->mem_mib;
		ho->cap[DIM_DISK] = m->disk_gib;
		/* Prices vary by up to +-10% between purchases. */
		ho->cost = m->cost * (90 + (double)pick(x, 21)) / 100;
		ho->availability = (990 + (double)pick(x, 10)) / 1000;
		if (s->varied_targets)
			ho->availability = (980 + (double)pick(x, 20)) / 1000;
		ho->state = r < down ? HOST_DOWN
				     : (r < down + maint ? HOST_MAINTENANCE
							 : HOST_UP);
		if (pick(x, 5) == 0) {
			ho->tags = one_tag("ssd", &ho->ntags);
			if (ho->tags == NULL)
				return -1;
		}
	}
	return 0;
}

/* Pools a tenant may use (bit q: pool q; 0: all) and its isolation. */
static void tenant_rules(const struct shape *s, size_t t, bool simple,
			 unsigned *pools, bool *dedicated)
{
	if (s->more_dedicated) {
		/* payment-settlement: dedicated, prod or mem; market-risk:
		 * mem only; card-authorisation: dedicated, prod; then every
		 * third tenant dedicated. */
		static const unsigned first[] = {0x5, 0x4, 0x1, 0, 0x2};

		*pools = t < FC_ARRAY_LEN(first) ? first[t]
						 : (t % 4 == 1 ? 0x1 : 0);
		*dedicated = !simple && (t == 0 || t == 2 ||
					 (t > 4 && t % 3 == 2));
		return;
	}
	*pools = 0;
	if (t == 0 || (t > 4 && t % 4 == 1))
		*pools = 0x1;
	else if (t == 4)
		*pools = 0x2;
	*dedicated = !simple && (t == 0 || (t > 4 && t % 12 == 5));
}

static int make_tenants(const struct shape *s, struct sched_problem *p,
			bool simple)
{
	const char *const *names =
		s->more_dedicated ? dedicated_names : tenant_names;

	for (size_t t = 0; t < p->ntenants; t++) {
		struct sched_tenant *te = &p->tenants[t];
		unsigned mask;
		bool dedicated;

		if (t < FC_ARRAY_LEN(tenant_names))
			str_copy(te->name, SCHED_NAME_MAX, names[t]);
		else
			snprintf(te->name, SCHED_NAME_MAX, "tenant-%02zu", t);
		tenant_rules(s, t, simple, &mask, &dedicated);
		if (mask != 0) {
			te->pools = calloc(3, sizeof(*te->pools));
			if (te->pools == NULL)
				return -1;
			for (int q = 0; q < 3; q++)
				if (mask & (1u << q))
					te->pools[te->npools++] = q;
		}
		te->isolation = dedicated ? ISOLATION_DEDICATED
					  : ISOLATION_SHARED;
	}
	return 0;
}

/* Tenants that draw from the shape's alternative flavors: every other
 * one for CPU-bound tenants, market-risk in the 'dedicated' shape. */
static bool alt_tenant(const struct shape *s, size_t t)
{
	if (s->alt_flavors.n == 0)
		return false;
	return s->more_dedicated ? t == 1 : t % 2 == 1;
}

static size_t pick_flavor(const struct flavor *fl, size_t n, size_t r)
{
	size_t acc = 0, f;

	for (f = 0; f < n; f++) {
		acc += fl[f].weight;
		if (r < acc)
			break;
	}
	return f < n ? f : n - 1;
}

static double pick_target(const struct shape *s, uint64_t *x)
{
	static const double targets[] = {0.999, 0.9999, 0.99999};

	if (!s->varied_targets)
		return 0.9999;
	return targets[pick(x, FC_ARRAY_LEN(targets))];
}

static int make_vms(const struct shape *s, struct sched_problem *p,
		    uint64_t *x, bool simple)
{
	unsigned one_in = s->group_one_in ? s->group_one_in : 20;
	unsigned gmin = s->group_min ? s->group_min : 2;
	unsigned spread = s->group_spread ? s->group_spread : 2;
	unsigned target_one_in = s->target_one_in ? s->target_one_in : 4;
	size_t ng = 0, nt = p->ntenants;

	for (size_t v = 0; v < p->nvms;) {
		size_t t = pick(x, nt), r = pick(x, 100), members = 1;
		const struct flavor *fl = s->flavors.n ? s->flavors.f : flavors;
		size_t nf = s->flavors.n ? s->flavors.n : FC_ARRAY_LEN(flavors);
		const struct flavor *f;
		int group = -1;

		if (alt_tenant(s, t)) {
			fl = s->alt_flavors.f;
			nf = s->alt_flavors.n;
		}
		f = &fl[pick_flavor(fl, nf, r)];
		if (pick(x, one_in) == 0 && v + gmin + spread - 1 <= p->nvms &&
		    t != 4) {
			struct sched_group *g = &p->groups[ng];

			snprintf(g->name, SCHED_NAME_MAX, "grp%05zu", ng);
			g->tenant = (int)t;
			g->policy = GROUP_ANTI_AFFINITY;
			members = gmin + pick(x, spread);
			if (s->affinity_pct > 0 && !simple &&
			    pick(x, 100) < s->affinity_pct)
				g->policy = GROUP_AFFINITY;
			else if (pick(x, target_one_in) == 0 && !simple)
				g->availability = pick_target(s, x);
			group = (int)ng++;
		}
		for (size_t m = 0; m < members; m++, v++) {
			struct sched_vm *vm = &p->vms[v];

			snprintf(vm->name, SCHED_NAME_MAX, "vm%06zu", v);
			vm->tenant = (int)t;
			vm->group = group;
			vm->host = -1;
			vm->req[DIM_VCPU] = f->vcpus;
			vm->req[DIM_MEM] = f->mem_mib;
			vm->req[DIM_DISK] = f->disk_gib;
			if (pick(x, 10) == 0) {
				vm->tags = one_tag("ssd", &vm->ntags);
				if (vm->tags == NULL)
					return -1;
			}
		}
	}
	p->ngroups = ng;
	return 0;
}

struct sched_problem *sched_gen_shape(const char *shape, size_t hosts,
				      size_t vms, uint64_t seed, bool simple)
{
	const struct shape *s = find_shape(shape);
	struct sched_problem *p = sched_problem_new();
	uint64_t x = seed;
	size_t nt, gmin;

	if (p == NULL)
		return NULL;
	if (s == NULL) {
		char names[256];
		size_t len = 0;

		for (size_t i = 0; i < FC_ARRAY_LEN(shapes); i++)
			len += (size_t)snprintf(names + len, sizeof(names) - len,
						"%s%s", i ? ", " : "",
						shapes[i].name);
		err_set("--shape '%s': unknown shape; use one of %s",
			shape, names);
		goto fail;
	}
	if (hosts == 0) {
		err_set("gen: --hosts must be at least 1");
		goto fail;
	}
	nt = vms / 400;
	nt = nt < FC_ARRAY_LEN(tenant_names) ? FC_ARRAY_LEN(tenant_names)
					     : (nt > 60 ? 60 : nt);
	gmin = s->group_min ? s->group_min : 2;
	p->npools = s->third_from > 0 ? 3 : 2;
	p->nhosts = hosts;
	p->ntenants = nt;
	p->pools = calloc(p->npools, sizeof(*p->pools));
	p->hosts = calloc(hosts, sizeof(*p->hosts));
	p->tenants = calloc(nt, sizeof(*p->tenants));
	p->groups = calloc(vms / gmin + 1, sizeof(*p->groups));
	p->vms = calloc(vms + 1, sizeof(*p->vms));
	if (p->pools == NULL || p->hosts == NULL || p->tenants == NULL ||
	    p->groups == NULL || p->vms == NULL)
		goto oom;
	p->nvms = vms;
	make_pools(s, p);
	if (make_hosts(s, p, &x) < 0 || make_tenants(s, p, simple) < 0 ||
	    make_vms(s, p, &x, simple) < 0)
		goto oom;
	return p;
oom:
	err_set("gen: out of memory for %zu hosts and %zu vms", hosts, vms);
fail:
	sched_problem_free(p);
	return NULL;
}

struct sched_problem *sched_gen(size_t hosts, size_t vms, uint64_t seed,
				bool simple)
{
	return sched_gen_shape(NULL, hosts, vms, seed, simple);
}

#include "common/fc.h"

#include "common/err.h"
#include "common/util.h"
#include "scheduler/capacity.h"
#include "scheduler/htools.h"
#include "scheduler/problem.h"
#include "scheduler/rank.h"

static double now_s(void)
{
	return (double)time_mono_ns() / 1e9;
}

int sched_capacity_parse_spec(const char *spec,
			      struct sched_capacity_opts *o)
{
	char buf[128], *parts[3], *s;
	double v[3];
	int n = 0;

	if (str_copy(buf, sizeof(buf), spec) < 0)
		return err_set("--spec '%.20s...': too long", spec);
	s = buf;
	parts[n++] = s;
	while ((s = strchr(s, ',')) != NULL) {
		*s++ = '\0';
		if (n == 3)
			return err_set("--spec '%s': expected DISK_MIB,MEM_MIB,"
				       "VCPUS (three numbers)",
				       spec);
		parts[n++] = s;
	}
	if (n != 3)
		return err_set("--spec '%s': expected DISK_MIB,MEM_MIB,VCPUS "
			       "(three numbers)",
			       spec);
	for (int i = 0; i < 3; i++) {
		if (parse_double(parts[i], &v[i]) < 0 || v[i] < 0 ||
		    v[i] > 1e12)
			return err_set("--spec '%s': '%s' is not a size >= 0",
				       spec, parts[i]);
	}
	if (v[1] <= 0 && v[2] <= 0)
		return err_set("--spec '%s': memory or vcpus must be > 0",
			       spec);
	o->disk_mib = v[0];
	o->mem_mib = v[1];
	o->vcpus = v[2];
	return 0;
}

void sched_capacity_result_free(struct sched_capacity_result *r)
{
	if (r == NULL)
		return;
	free(r->per_host);
	r->per_host = NULL;
}

/* The working model: free resources per host, and the restartable load
 * each host would hand to the others if it failed. */
struct cap {
	const struct sched_problem *p;
	size_t nh;
	double (*room)[DIM_COUNT];  /* usable - used, per host */
	double *drbd_need;          /* memory DRBD secondaries must give */
	int **mov;                  /* per host: movable VM sizes (indices) */
	size_t *nmov, *capmov;
	size_t *added;              /* new instances per host */
	double spec[DIM_COUNT];
	bool *initial_fail;
	double *rmem;               /* Ganeti's r_mem: DRBD failover reserve */
	bool *allocable;            /* host's group takes new instances */
	/* scratch for the relocation test */
	double (*scratch)[DIM_COUNT];
	double *items;
};

static bool local_template(const char *t)
{
	return strcmp(t, "plain") == 0 || strcmp(t, "drbd") == 0 ||
	       strcmp(t, "file") == 0;
}

/* The first disk template of the cluster-wide ipolicy line, if any. */
static void policy_template(const struct sched_problem *p, char *out,
			    size_t size)
{
	const struct htools_data *h = p->htools;

	str_copy(out, size, "diskless");
	if (h == NULL)
		return;
	for (size_t i = 0; i < h->nipolicy; i++) {
		const char *l = h->ipolicy[i], *f = l;
		int field = 0;

		if (l[0] != '|')
			continue; /* a group's policy, not the cluster's */
		while (field < 3 && (f = strchr(f, '|')) != NULL) {
			f++;
			field++;
		}
		if (f != NULL && field == 3) {
			size_t n = strcspn(f, ",|");

			if (n > 0 && n < size) {
				memcpy(out, f, n);
				out[n] = '\0';
			}
		}
		return;
	}
}

/* Instances a failed host's group must take in: every one that uses
 * memory except DRBD ones, which fail over to their secondary (as
 * Ganeti's canEvacuateNode: shared storage moves, the rest is
 * recreated). */
static bool vm_restartable(const struct sched_problem *p, size_t v)
{
	if (p->vms[v].req[DIM_MEM] <= 0)
		return false;
	return p->htools == NULL ||
	       p->htools->insts[v].mirror != HT_MIRROR_INTERNAL;
}

/* Does the failure of host f leave room for its restartable load? */
static bool survives(struct cap *c, size_t f)
{
	const struct sched_problem *p = c->p;
	size_t n = 0, pool = (size_t)p->hosts[f].pool;

	for (size_t i = 0; i < c->nmov[f]; i++)
		c->items[n++] = (double)c->mov[f][i];
	for (size_t i = 0; i < c->added[f]; i++)
		c->items[n++] = -1; /* a new instance */
	if (n == 0)
		return true;
	for (size_t h = 0; h < c->nh; h++)
		for (int d = 0; d < DIM_COUNT; d++)
			c->scratch[h][d] = c->room[h][d];
	/* Largest first: sort by memory (insertion sort; per host lists are
	 * short). */
	for (size_t i = 1; i < n; i++) {
		double x = c->items[i];
		double mx = x < 0 ? c->spec[DIM_MEM]
				  : p->vms[(size_t)x].req[DIM_MEM];
		size_t j = i;

		for (; j > 0; j--) {
			double y = c->items[j - 1];
			double my = y < 0 ? c->spec[DIM_MEM]
					  : p->vms[(size_t)y].req[DIM_MEM];

			if (my >= mx)
				break;
			c->items[j] = y;
		}
		c->items[j] = x;
	}
	for (size_t i = 0; i < n; i++) {
		const double *req = c->items[i] < 0
					    ? c->spec
					    : p->vms[(size_t)c->items[i]].req;
		size_t best = SIZE_MAX;

		for (size_t h = 0; h < c->nh; h++) {
			bool fits = h != f && p->hosts[h].state == HOST_UP &&
				    (size_t)p->hosts[h].pool == pool;

			/* Evacuation ignores Ganeti's soft limits (the
			 * vCPU ratio); memory must stay above zero. */
			fits = fits && c->scratch[h][DIM_MEM] - req[DIM_MEM] >
						1e-9;
			fits = fits && (req[DIM_DISK] <= 0 ||
					c->scratch[h][DIM_DISK] + 1e-9 >=
						req[DIM_DISK]);
			if (fits && (best == SIZE_MAX ||
				     c->scratch[h][DIM_MEM] >
					     c->scratch[best][DIM_MEM]))
				best = h;
		}
		if (best == SIZE_MAX)
			return false;
		for (int d = 0; d < DIM_COUNT; d++)
			c->scratch[best][d] -= req[d];
	}
	return true;
}

/* DRBD: each secondary must hold the memory of the instances whose
 * primary it backs, for the failure of any one primary. */
static bool drbd_ok(const struct cap *c, size_t f)
{
	const struct sched_problem *p = c->p;
	const struct htools_data *h = p->htools;
	double *need;
	bool ok = true;

	if (h == NULL || c->drbd_need[f] <= 0)
		return true;
	need = calloc(c->nh + 1, sizeof(*need));
	if (need == NULL)
		return false;
	for (size_t v = 0; v < p->nvms; v++) {
		const struct htools_inst *in = &h->insts[v];

		if (in->mirror == HT_MIRROR_INTERNAL && in->snode >= 0 &&
		    p->vms[v].host == (int)f)
			need[in->snode] += p->vms[v].req[DIM_MEM];
	}
	for (size_t s = 0; s < c->nh && ok; s++)
		ok = need[s] <= c->room[s][DIM_MEM] + 1e-9;
	free(need);
	return ok;
}

static bool n1_ok(struct cap *c, size_t host)
{
	const struct sched_problem *p = c->p;

	for (size_t f = 0; f < c->nh; f++) {
		if (c->initial_fail[f] ||
		    p->hosts[f].pool != p->hosts[host].pool)
			continue;
		if (!survives(c, f) || !drbd_ok(c, f))
			return false;
	}
	return true;
}

static void cap_free(struct cap *c)
{
	if (c->mov != NULL)
		for (size_t h = 0; h < c->nh; h++)
			free(c->mov[h]);
	free(c->mov);
	free(c->nmov);
	free(c->capmov);
	free(c->room);
	free(c->drbd_need);
	free(c->initial_fail);
	free(c->rmem);
	free(c->allocable);
	free(c->scratch);
	free(c->items);
}

int sched_capacity(const struct sched_problem *p,
		   const struct sched_capacity_opts *o,
		   struct sched_capacity_result *r)
{
	struct cap c = {0};
	struct sched_rank *cand = NULL;
	double t0 = now_s();
	size_t maxmov = 0;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	c.p = p;
	c.nh = p->nhosts;
	if (o->disk_template[0] != '\0')
		str_copy(r->disk_template, sizeof(r->disk_template),
			 o->disk_template);
	else
		policy_template(p, r->disk_template, sizeof(r->disk_template));
	if (strcmp(r->disk_template, "drbd") == 0)
		return err_set("capacity: disk template 'drbd' needs a "
			       "secondary node per instance, which is not "
			       "modelled: use a shared or plain template");
	r->disk_counted = local_template(r->disk_template);
	c.spec[DIM_VCPU] = o->vcpus;
	c.spec[DIM_MEM] = o->mem_mib;
	c.spec[DIM_DISK] = r->disk_counted ? o->disk_mib / 1024.0 : 0;
	r->nhosts = c.nh;
	r->per_host = calloc(c.nh + 1, sizeof(*r->per_host));
	c.added = r->per_host;
	c.room = calloc(c.nh + 1, sizeof(*c.room));
	c.scratch = calloc(c.nh + 1, sizeof(*c.scratch));
	c.drbd_need = calloc(c.nh + 1, sizeof(*c.drbd_need));
	c.initial_fail = calloc(c.nh + 1, sizeof(*c.initial_fail));
	c.mov = calloc(c.nh + 1, sizeof(*c.mov));
	c.nmov = calloc(c.nh + 1, sizeof(*c.nmov));
	c.capmov = calloc(c.nh + 1, sizeof(*c.capmov));
	c.rmem = calloc(c.nh + 1, sizeof(*c.rmem));
	c.allocable = calloc(c.nh + 1, sizeof(*c.allocable));
	if (r->per_host == NULL || c.room == NULL || c.scratch == NULL ||
	    c.drbd_need == NULL || c.initial_fail == NULL || c.mov == NULL ||
	    c.nmov == NULL || c.capmov == NULL || c.rmem == NULL ||
	    c.allocable == NULL)
		goto oom;
	for (size_t h = 0; h < c.nh; h++) {
		const struct htools_data *ht = p->htools;

		c.allocable[h] = p->hosts[h].state == HOST_UP;
		/* Ganeti allocates nothing in an 'unallocable' group. */
		if (ht != NULL && (size_t)p->hosts[h].pool < ht->ngroups &&
		    ht->groups[p->hosts[h].pool].field[2] != NULL &&
		    strcmp(ht->groups[p->hosts[h].pool].field[2],
			   "unallocable") == 0)
			c.allocable[h] = false;
	}
	if (p->htools != NULL) {
		/* r_mem: for each secondary, the most memory the DRBD
		 * instances of any one primary would bring on failover. */
		double *peer = calloc(c.nh * c.nh + 1, sizeof(*peer));

		if (peer == NULL)
			goto oom;
		for (size_t v = 0; v < p->nvms; v++) {
			const struct htools_inst *in = &p->htools->insts[v];

			if (in->mirror == HT_MIRROR_INTERNAL && in->snode >= 0 &&
			    p->vms[v].host >= 0 && in->uses_memory)
				peer[(size_t)in->snode * c.nh +
				     (size_t)p->vms[v].host] += (double)in->mem;
		}
		for (size_t h = 0; h < c.nh; h++)
			for (size_t q = 0; q < c.nh; q++)
				if (peer[h * c.nh + q] > c.rmem[h])
					c.rmem[h] = peer[h * c.nh + q];
		free(peer);
	}
	for (size_t h = 0; h < c.nh; h++)
		for (int d = 0; d < DIM_COUNT; d++)
			c.room[h][d] = p->hosts[h].cap[d] *
				       p->pools[p->hosts[h].pool].ratio[d];
	for (size_t v = 0; v < p->nvms; v++) {
		int h = p->vms[v].host;

		if (h < 0)
			continue;
		for (int d = 0; d < DIM_COUNT; d++)
			c.room[h][d] -= p->vms[v].req[d];
		if (vm_restartable(p, v)) {
			if (c.nmov[h] == c.capmov[h]) {
				size_t nc = c.capmov[h] ? 2 * c.capmov[h] : 8;
				int *nm = realloc(c.mov[h], nc * sizeof(*nm));

				if (nm == NULL)
					goto oom;
				c.mov[h] = nm;
				c.capmov[h] = nc;
			}
			c.mov[h][c.nmov[h]++] = (int)v;
		}
		if (p->htools != NULL &&
		    p->htools->insts[v].mirror == HT_MIRROR_INTERNAL)
			c.drbd_need[h] += p->vms[v].req[DIM_MEM];
	}
	for (size_t h = 0; h < c.nh; h++)
		if (c.nmov[h] > maxmov)
			maxmov = c.nmov[h];
	/* Restartable items of one host: its VMs plus every instance that
	 * could be added to it (bounded by its memory). */
	{
		size_t extra = 0;

		for (size_t h = 0; h < c.nh; h++) {
			size_t k = 0;

			if (c.spec[DIM_MEM] > 0)
				k = (size_t)(p->hosts[h].cap[DIM_MEM] /
					     c.spec[DIM_MEM]) + 1;
			else if (c.spec[DIM_VCPU] > 0)
				k = (size_t)(p->hosts[h].cap[DIM_VCPU] *
					     p->pools[p->hosts[h].pool]
						     .ratio[DIM_VCPU] /
					     c.spec[DIM_VCPU]) + 1;
			if (k > extra)
				extra = k;
		}
		c.items = calloc(maxmov + extra + 1, sizeof(*c.items));
		if (c.items == NULL)
			goto oom;
	}
	if (o->n_plus_one) {
		for (size_t f = 0; f < c.nh; f++) {
			c.initial_fail[f] = !survives(&c, f) || !drbd_ok(&c, f);
			if (c.initial_fail[f])
				r->initial_n1_failures++;
		}
	}
	cand = calloc(c.nh + 1, sizeof(*cand));
	if (cand == NULL)
		goto oom;
	for (;;) {
		size_t ncand = 0, best = SIZE_MAX;

		r->fail_mem = r->fail_cpu = r->fail_disk = r->fail_n1 =
			r->fail_down = 0;
		for (size_t h = 0; h < c.nh; h++) {
			double u = p->hosts[h].cap[DIM_MEM] *
				   p->pools[p->hosts[h].pool].ratio[DIM_MEM];
			double left_mem = c.room[h][DIM_MEM] - c.spec[DIM_MEM];
			/* As Ganeti: memory and disk must stay above zero,
			 * and above the DRBD reserve unless already below. */
			double floor_mem = c.room[h][DIM_MEM] > c.rmem[h]
						   ? c.rmem[h]
						   : 0;

			if (!c.allocable[h]) {
				r->fail_down++;
			} else if (left_mem <= floor_mem + 1e-9) {
				r->fail_mem++;
			} else if (c.room[h][DIM_VCPU] + 1e-9 <
				   c.spec[DIM_VCPU]) {
				r->fail_cpu++;
			} else if (c.spec[DIM_DISK] > 0 &&
				   c.room[h][DIM_DISK] - c.spec[DIM_DISK] <=
					   1e-9) {
				r->fail_disk++;
			} else {
				cand[ncand].i = h;
				cand[ncand].key =
					u > 0 ? c.room[h][DIM_MEM] / u : 0;
				ncand++;
			}
		}
		/* The host with the largest share of free memory first: it
		 * keeps the cluster balanced, which is also what leaves room
		 * for a failed host's instances. */
		qsort(cand, ncand, sizeof(*cand), sched_rank_desc);
		for (size_t i = 0; i < ncand && best == SIZE_MAX; i++) {
			size_t h = cand[i].i;

			if (!o->n_plus_one) {
				best = h;
				break;
			}
			for (int d = 0; d < DIM_COUNT; d++)
				c.room[h][d] -= c.spec[d];
			c.added[h]++;
			if (n1_ok(&c, h))
				best = h;
			else
				r->fail_n1++;
			for (int d = 0; d < DIM_COUNT; d++)
				c.room[h][d] += c.spec[d];
			c.added[h]--;
		}
		if (best == SIZE_MAX)
			break;
		for (int d = 0; d < DIM_COUNT; d++)
			c.room[best][d] -= c.spec[d];
		c.added[best]++;
		r->instances++;
	}
	r->seconds = now_s() - t0;
	ret = 0;
	goto out;
oom:
	err_set("out of memory");
out:
	free(cand);
	cap_free(&c);
	if (ret < 0)
		sched_capacity_result_free(r);
	return ret;
}

cJSON *sched_capacity_to_json(const struct sched_problem *p,
			      const struct sched_capacity_opts *o,
			      const struct sched_capacity_result *r)
{
	cJSON *doc = cJSON_CreateObject(), *spec, *hosts, *fail;

	if (doc == NULL)
		return NULL;
	if ((spec = cJSON_AddObjectToObject(doc, "spec")) == NULL ||
	    !cJSON_AddNumberToObject(spec, "disk_mib", o->disk_mib) ||
	    !cJSON_AddNumberToObject(spec, "mem_mib", o->mem_mib) ||
	    !cJSON_AddNumberToObject(spec, "vcpus", o->vcpus) ||
	    !cJSON_AddStringToObject(spec, "disk_template", r->disk_template) ||
	    !cJSON_AddBoolToObject(spec, "disk_counted", r->disk_counted) ||
	    !cJSON_AddBoolToObject(doc, "n_plus_one", o->n_plus_one) ||
	    !cJSON_AddNumberToObject(doc, "instances", (double)r->instances) ||
	    !cJSON_AddNumberToObject(doc, "initial_n1_failures",
				     (double)r->initial_n1_failures) ||
	    (hosts = cJSON_AddArrayToObject(doc, "hosts")) == NULL ||
	    (fail = cJSON_AddObjectToObject(doc, "last_failure")) == NULL ||
	    !cJSON_AddNumberToObject(fail, "memory", (double)r->fail_mem) ||
	    !cJSON_AddNumberToObject(fail, "vcpus", (double)r->fail_cpu) ||
	    !cJSON_AddNumberToObject(fail, "disk", (double)r->fail_disk) ||
	    !cJSON_AddNumberToObject(fail, "n_plus_one", (double)r->fail_n1) ||
	    !cJSON_AddNumberToObject(fail, "not_up", (double)r->fail_down) ||
	    !cJSON_AddNumberToObject(doc, "seconds", r->seconds))
		goto oom;
	for (size_t h = 0; h < r->nhosts; h++) {
		cJSON *o2;

		if (r->per_host[h] == 0)
			continue;
		if ((o2 = cJSON_CreateObject()) == NULL ||
		    !cJSON_AddItemToArray(hosts, o2) ||
		    !cJSON_AddStringToObject(o2, "host", p->hosts[h].name) ||
		    !cJSON_AddNumberToObject(o2, "instances",
					     (double)r->per_host[h]))
			goto oom;
	}
	return doc;
oom:
	cJSON_Delete(doc);
	return NULL;
}

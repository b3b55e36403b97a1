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
	int **mov;                  /* per host: movable VMs, largest first */
	size_t *nmov, *capmov;
	size_t *added;              /* new instances per host */
	double spec[DIM_COUNT];
	bool *initial_fail;
	double *rmem;               /* Ganeti's r_mem: DRBD failover reserve */
	bool *allocable;            /* host's group takes new instances */
	/* Hosts by pool: pool q's are by_pool[pool_at[q] .. pool_at[q + 1])
	 * in index order, and the up ones among them up_pool[up_at[q] ..
	 * up_at[q + 1]) most free memory first (see cap_rank()). */
	size_t *by_pool, *pool_at, *up_pool, *up_at;
	/* DRBD: per primary f, the memory each secondary would take in
	 * (peer[f][i], npeer[f] of them). */
	struct cap_peer **peer;
	size_t *npeer;
	size_t mem_short;           /* hosts whose free memory is below 0 */
	/* scratch for the relocation test: free room, and a heap of the
	 * target hosts (most free memory first) */
	double (*scratch)[DIM_COUNT];
	size_t *heap, *held;
	/* What the last evacuation of each host needed: bit h of row f
	 * (words uint64_t per row) is set when host f's load went partly
	 * to host h. Taking room from a host f's evacuation did not use
	 * cannot change its outcome (that host still ranks below the one
	 * chosen at every step), so an instance added to h only calls for
	 * the evacuations of h itself and of the hosts whose row has h.
	 * used holds the rows of the cluster as it is, tried those of the
	 * instance being tried (for the hosts in redo[0 .. nredo)); stale
	 * marks rows to compute again. */
	uint64_t *used, *tried;
	size_t words;
	bool *stale;
	size_t *redo, nredo;
	struct sched_capacity_result *r; /* for the counters */
};

struct cap_peer {
	size_t s;
	double need;
};

/* Heap order: more free memory first, then the lower index (the host the
 * linear scan of Ganeti's order would pick among equals). */
static bool heap_before(const struct cap *c, size_t a, size_t b)
{
	double ma = c->scratch[a][DIM_MEM], mb = c->scratch[b][DIM_MEM];

	return ma > mb || (ma == mb && a < b);
}

static void heap_down(struct cap *c, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, top = i, t;

		if (l < n && heap_before(c, c->heap[l], c->heap[top]))
			top = l;
		if (l + 1 < n && heap_before(c, c->heap[l + 1], c->heap[top]))
			top = l + 1;
		if (top == i)
			return;
		t = c->heap[i];
		c->heap[i] = c->heap[top];
		c->heap[top] = t;
		i = top;
	}
}

static void heap_push(struct cap *c, size_t *n, size_t h)
{
	size_t i = (*n)++;

	while (i > 0 && heap_before(c, h, c->heap[(i - 1) / 2])) {
		c->heap[i] = c->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	c->heap[i] = h;
}

static size_t heap_pop(struct cap *c, size_t *n)
{
	size_t h = c->heap[0];

	c->heap[0] = c->heap[--*n];
	heap_down(c, *n, 0);
	return h;
}

/* One evacuation's targets: a heap of the hosts that took part so far
 * (heap[0 .. n)), and the rest of the pool's up hosts in the order of
 * their free memory (up_pool[next .. end), see cap_rank()), still with
 * all their room. */
struct evac {
	size_t f, n, next, end;
};

/* Bring the best host not yet in the heap into it when it beats the
 * heap's top: the heap's top is then the best host of the whole pool,
 * as if every host were in the heap, without building a heap of them
 * all for every evacuation. */
static void evac_bring(struct cap *c, struct evac *e)
{
	while (e->next < e->end && c->up_pool[e->next] == e->f)
		e->next++;
	if (e->next == e->end)
		return;
	{
		size_t x = c->up_pool[e->next];

		for (int d = 0; d < DIM_COUNT; d++)
			c->scratch[x][d] = c->room[x][d];
		if (e->n > 0 && !heap_before(c, x, c->heap[0]))
			return;
		heap_push(c, &e->n, x);
		e->next++;
	}
}

/* The target of one restarted instance: the host with the most free
 * memory that keeps memory above zero and has the disk, taken out of the
 * heap; SIZE_MAX when none fits. The best host has the most memory, so
 * when it lacks memory every host does: only a disk shortage makes the
 * search look further. */
static size_t evac_take(struct cap *c, struct evac *e, const double *req)
{
	size_t nheld = 0, best = SIZE_MAX;

	for (;;) {
		size_t h;

		evac_bring(c, e);
		if (e->n == 0)
			break;
		h = c->heap[0];
		c->r->n1_hosts_examined++;
		if (!(c->scratch[h][DIM_MEM] - req[DIM_MEM] > 1e-9))
			break;
		h = heap_pop(c, &e->n);
		if (req[DIM_DISK] <= 0 ||
		    c->scratch[h][DIM_DISK] + 1e-9 >= req[DIM_DISK]) {
			best = h;
			break;
		}
		c->held[nheld++] = h;
	}
	while (nheld > 0)
		heap_push(c, &e->n, c->held[--nheld]);
	return best;
}

/* Does the failure of host f leave room for its restartable load? Its
 * VMs and new instances go largest first (VMs before new instances of
 * the same memory), each to the up host of the pool with the most free
 * memory that takes it. */
static bool survives(struct cap *c, size_t f)
{
	const struct sched_problem *p = c->p;
	size_t q = (size_t)p->hosts[f].pool, i = 0, k = 0;
	struct evac e = {f, 0, c->up_at[q], c->up_at[q + 1]};

	memset(&c->tried[f * c->words], 0, c->words * sizeof(*c->tried));
	if (c->nmov[f] + c->added[f] == 0)
		return true;
	c->r->n1_evacuations++;
	while (i < c->nmov[f] || k < c->added[f]) {
		const double *req;
		size_t best;

		if (i < c->nmov[f] &&
		    (k == c->added[f] ||
		     p->vms[c->mov[f][i]].req[DIM_MEM] >= c->spec[DIM_MEM]))
			req = p->vms[c->mov[f][i++]].req;
		else {
			req = c->spec;
			k++;
		}
		c->r->n1_items_moved++;
		best = evac_take(c, &e, req);
		if (best == SIZE_MAX)
			return false;
		for (int d = 0; d < DIM_COUNT; d++)
			c->scratch[best][d] -= req[d];
		c->tried[f * c->words + best / 64] |= UINT64_C(1) << (best % 64);
		heap_push(c, &e.n, best);
	}
	return true;
}

/* DRBD: each secondary must hold the memory of the instances whose
 * primary it backs, for the failure of any one primary (and, as Ganeti
 * checks every node, no node may be short of memory already). */
static bool drbd_ok(const struct cap *c, size_t f)
{
	if (c->drbd_need[f] <= 0)
		return true;
	if (c->mem_short > 0)
		return false;
	for (size_t i = 0; i < c->npeer[f]; i++)
		if (!(c->peer[f][i].need <=
		      c->room[c->peer[f][i].s][DIM_MEM] + 1e-9))
			return false;
	return true;
}

static bool used_by(const struct cap *c, size_t f, size_t h)
{
	return (c->used[f * c->words + h / 64] >> (h % 64)) & 1;
}

/* Can every host of host's pool fail, now that host has one more
 * instance? Only the evacuations that instance can change are simulated
 * again (see struct cap); n1_keep() keeps them when the instance stays. */
static bool n1_ok(struct cap *c, size_t host)
{
	size_t q = (size_t)c->p->hosts[host].pool;

	c->nredo = 0;
	for (size_t j = c->pool_at[q]; j < c->pool_at[q + 1]; j++) {
		size_t f = c->by_pool[j];

		if (c->initial_fail[f])
			continue;
		if (f == host || c->stale[f] || used_by(c, f, host)) {
			c->redo[c->nredo++] = f;
			if (!survives(c, f))
				return false;
		}
		if (!drbd_ok(c, f))
			return false;
	}
	return true;
}

/* The instance n1_ok() accepted stays: its evacuations become current. */
static void n1_keep(struct cap *c)
{
	for (size_t i = 0; i < c->nredo; i++) {
		size_t f = c->redo[i];

		memcpy(&c->used[f * c->words], &c->tried[f * c->words],
		       c->words * sizeof(*c->used));
		c->stale[f] = false;
	}
}

/* Rows of host's pool computed before host's room changed by rounding
 * (taking an instance back need not restore the exact value). */
static void n1_forget(struct cap *c, size_t host)
{
	size_t q = (size_t)c->p->hosts[host].pool;

	for (size_t j = c->pool_at[q]; j < c->pool_at[q + 1]; j++)
		c->stale[c->by_pool[j]] = true;
}

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

/* Memory hspace keeps on an instance's node although the instance does
 * not use it now: a stopped instance's (it may start again) and a
 * forthcoming one's (it is about to be created), which the node's free
 * memory (f_mem) does not count as used. */
static double reserved_mem(const struct sched_problem *p, size_t v)
{
	const struct htools_inst *in;

	if (p->htools == NULL)
		return 0;
	in = &p->htools->insts[v];
	return in->uses_memory ? 0 : (double)in->mem;
}

static void cap_free(struct cap *c)
{
	for (size_t h = 0; h < c->nh; h++) {
		free(c->mov != NULL ? c->mov[h] : NULL);
		free(c->peer != NULL ? c->peer[h] : NULL);
	}
	free(c->mov);
	free(c->nmov);
	free(c->capmov);
	free(c->room);
	free(c->drbd_need);
	free(c->initial_fail);
	free(c->rmem);
	free(c->allocable);
	free(c->scratch);
	free(c->by_pool);
	free(c->pool_at);
	free(c->up_pool);
	free(c->up_at);
	free(c->peer);
	free(c->npeer);
	free(c->heap);
	free(c->held);
	free(c->used);
	free(c->tried);
	free(c->stale);
	free(c->redo);
}

/* Is host h's free memory below zero (as Ganeti's DRBD check sees it)? */
static bool mem_short(const struct cap *c, size_t h)
{
	return !(0 <= c->room[h][DIM_MEM] + 1e-9);
}

static bool same_room(const double *a, const double *b)
{
	for (int d = 0; d < DIM_COUNT; d++)
		if (a[d] != b[d])
			return false;
	return true;
}

static bool room_before(const struct cap *c, size_t a, size_t b)
{
	double ma = c->room[a][DIM_MEM], mb = c->room[b][DIM_MEM];

	return ma > mb || (ma == mb && a < b);
}

static int room_cmp(const void *x, const void *y, void *arg)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;

	return room_before(arg, a, b) ? -1 : (room_before(arg, b, a) ? 1 : 0);
}

/* Keep host h, whose room changed, in its place in up_pool: most free
 * memory first, the lower index first among equals (the order of the
 * evacuation heap). */
static void cap_rank(struct cap *c, size_t h)
{
	size_t q = (size_t)c->p->hosts[h].pool, i;
	size_t *o = &c->up_pool[c->up_at[q]], n = c->up_at[q + 1] - c->up_at[q];

	if (c->p->hosts[h].state != HOST_UP)
		return;
	for (i = 0; o[i] != h; i++)
		;
	for (; i > 0 && room_before(c, h, o[i - 1]); i--)
		o[i] = o[i - 1];
	for (; i + 1 < n && room_before(c, o[i + 1], h); i++)
		o[i] = o[i + 1];
	o[i] = h;
}

/* Add (sign 1) or take back (sign -1) one new instance on host h. */
static void cap_add(struct cap *c, size_t h, int sign)
{
	c->mem_short -= mem_short(c, h);
	for (int d = 0; d < DIM_COUNT; d++)
		c->room[h][d] -= sign * c->spec[d];
	c->mem_short += mem_short(c, h);
	cap_rank(c, h);
	if (sign > 0)
		c->added[h]++;
	else
		c->added[h]--;
}

/* by_pool / up_pool and their offsets (counting sort by pool). */
static int cap_index_pools(struct cap *c)
{
	const struct sched_problem *p = c->p;
	size_t np = p->npools;

	c->pool_at = calloc(np + 2, sizeof(*c->pool_at));
	c->up_at = calloc(np + 2, sizeof(*c->up_at));
	c->by_pool = calloc(c->nh + 1, sizeof(*c->by_pool));
	c->up_pool = calloc(c->nh + 1, sizeof(*c->up_pool));
	if (c->pool_at == NULL || c->up_at == NULL || c->by_pool == NULL ||
	    c->up_pool == NULL)
		return -1;
	for (size_t h = 0; h < c->nh; h++) {
		c->pool_at[p->hosts[h].pool + 1]++;
		if (p->hosts[h].state == HOST_UP)
			c->up_at[p->hosts[h].pool + 1]++;
	}
	for (size_t q = 0; q < np; q++) {
		c->pool_at[q + 1] += c->pool_at[q];
		c->up_at[q + 1] += c->up_at[q];
	}
	/* Fill with the start offsets moving forward, then shift back. */
	for (size_t h = 0; h < c->nh; h++) {
		size_t q = (size_t)p->hosts[h].pool;

		c->by_pool[c->pool_at[q]++] = h;
		if (p->hosts[h].state == HOST_UP)
			c->up_pool[c->up_at[q]++] = h;
	}
	for (size_t q = np; q > 0; q--) {
		c->pool_at[q] = c->pool_at[q - 1];
		c->up_at[q] = c->up_at[q - 1];
	}
	c->pool_at[0] = c->up_at[0] = 0;
	return 0;
}

/* For each primary, the memory each of its DRBD secondaries takes in on
 * failover (summed in VM order). */
static int cap_drbd_peers(struct cap *c)
{
	const struct sched_problem *p = c->p;
	size_t *capp;
	int ret = -1;

	c->peer = calloc(c->nh + 1, sizeof(*c->peer));
	c->npeer = calloc(c->nh + 1, sizeof(*c->npeer));
	capp = calloc(c->nh + 1, sizeof(*capp));
	if (c->peer == NULL || c->npeer == NULL || capp == NULL)
		goto out;
	for (size_t v = 0; p->htools != NULL && v < p->nvms; v++) {
		const struct htools_inst *in = &p->htools->insts[v];
		int f = p->vms[v].host;
		size_t i = 0;

		if (in->mirror != HT_MIRROR_INTERNAL || in->snode < 0 || f < 0)
			continue;
		while (i < c->npeer[f] && c->peer[f][i].s != (size_t)in->snode)
			i++;
		if (i == c->npeer[f]) {
			if (c->npeer[f] == capp[f]) {
				size_t nc = capp[f] ? 2 * capp[f] : 4;
				struct cap_peer *np =
					realloc(c->peer[f], nc * sizeof(*np));

				if (np == NULL)
					goto out;
				c->peer[f] = np;
				capp[f] = nc;
			}
			c->peer[f][i].s = (size_t)in->snode;
			c->peer[f][i].need = 0;
			c->npeer[f]++;
		}
		c->peer[f][i].need += p->vms[v].req[DIM_MEM];
	}
	ret = 0;
out:
	free(capp);
	return ret;
}

/* Each host's movable VMs largest memory first, equal ones in VM order
 * (the order a failed host's load is restarted in). */
static void cap_sort_mov(struct cap *c)
{
	const struct sched_problem *p = c->p;

	for (size_t h = 0; h < c->nh; h++) {
		int *m = c->mov[h];

		for (size_t i = 1; i < c->nmov[h]; i++) {
			int x = m[i];
			size_t j = i;

			for (; j > 0 && p->vms[m[j - 1]].req[DIM_MEM] <
						p->vms[x].req[DIM_MEM];
			     j--)
				m[j] = m[j - 1];
			m[j] = x;
		}
	}
}

int sched_capacity(const struct sched_problem *p,
		   const struct sched_capacity_opts *o,
		   struct sched_capacity_result *r)
{
	struct cap c = {0};
	struct sched_rank *cand = NULL;
	double t0 = now_s();
	int ret = -1;

	memset(r, 0, sizeof(*r));
	c.p = p;
	c.r = r;
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
	c.heap = calloc(c.nh + 1, sizeof(*c.heap));
	c.held = calloc(c.nh + 1, sizeof(*c.held));
	c.words = c.nh / 64 + 1;
	c.used = calloc(c.nh * c.words + 1, sizeof(*c.used));
	c.tried = calloc(c.nh * c.words + 1, sizeof(*c.tried));
	c.stale = calloc(c.nh + 1, sizeof(*c.stale));
	c.redo = calloc(c.nh + 1, sizeof(*c.redo));
	if (r->per_host == NULL || c.room == NULL || c.scratch == NULL ||
	    c.drbd_need == NULL || c.initial_fail == NULL || c.mov == NULL ||
	    c.nmov == NULL || c.capmov == NULL || c.rmem == NULL ||
	    c.allocable == NULL || c.heap == NULL || c.held == NULL ||
	    c.used == NULL || c.tried == NULL || c.stale == NULL ||
	    c.redo == NULL ||
	    cap_index_pools(&c) < 0 || cap_drbd_peers(&c) < 0)
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
		c.room[h][DIM_MEM] -= reserved_mem(p, v);
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
	cap_sort_mov(&c);
	for (size_t q = 0; q < p->npools; q++)
		qsort_r(&c.up_pool[c.up_at[q]], c.up_at[q + 1] - c.up_at[q],
			sizeof(*c.up_pool), room_cmp, &c);
	for (size_t h = 0; h < c.nh; h++)
		c.mem_short += mem_short(&c, h);
	if (o->n_plus_one) {
		for (size_t f = 0; f < c.nh; f++) {
			c.initial_fail[f] = !survives(&c, f) || !drbd_ok(&c, f);
			if (c.initial_fail[f])
				r->initial_n1_failures++;
			c.redo[0] = f;
			c.nredo = 1;
			n1_keep(&c);
		}
	}
	cand = calloc(c.nh + 1, sizeof(*cand));
	if (cand == NULL)
		goto oom;
	for (;;) {
		size_t ncand = 0, best = SIZE_MAX;
		double before[DIM_COUNT], tried[DIM_COUNT];

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
			memcpy(before, c.room[h], sizeof(before));
			cap_add(&c, h, 1);
			memcpy(tried, c.room[h], sizeof(tried));
			r->n1_checks++;
			if (n1_ok(&c, h))
				best = h;
			else
				r->fail_n1++;
			cap_add(&c, h, -1);
			if (best == SIZE_MAX && !same_room(c.room[h], before))
				n1_forget(&c, h);
		}
		if (best == SIZE_MAX)
			break;
		cap_add(&c, best, 1);
		if (o->n_plus_one) {
			n1_keep(&c);
			if (!same_room(c.room[best], tried))
				n1_forget(&c, best);
		}
		r->instances++;
	}
	ret = 0;
	goto out;
oom:
	err_set("out of memory");
out:
	r->seconds = now_s() - t0;
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

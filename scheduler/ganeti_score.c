/*
 * ganeti_score.c - Ganeti's static cluster score with O(1) move updates.
 *
 * Node values follow Ganeti's Node.hs as hinfo computes them right after
 * loading a text file:
 *   free_mem   min(f_mem, t_mem - n_mem - used) / t_mem  (used: memory of
 *              primaries that are up; forthcoming and down ones count only
 *              in the "forth" value, against f_mem as given)
 *   free_disk  f_dsk / t_dsk (1 when t_dsk is 0; free/total spindles with
 *              exclusive storage)
 *   vcpu       (n_cpu + vCPUs of primaries not offline) / t_cpu / cpu_speed
 *   spindles   spindle use of local-disk (plain, drbd) instances / (32 *
 *              node spindles)
 *   reserved   the largest sum of memory of DRBD instances this node is
 *              secondary for, per primary node, / t_mem
 *   n1         primaries + secondaries when free memory < reserved
 *   pri_tags   primaries sharing an exclusion tag (htools:iextags:PREFIX)
 * and the offline counts over offline nodes.
 */
#include <math.h>

#include "scheduler/ganeti_score.h"

#include "common/err.h"
#include "common/util.h"
#include "scheduler/htools.h"

#define HI_SPINDLE_RATIO 32.0

static const struct {
	const char *name;
	double weight;
	bool stddev;
	bool online;
} comp_info[GS_NCOMP] = {
	[GS_FREE_MEM] = { "free_mem_cv", 0.5, true, true },
	[GS_FREE_DISK] = { "free_disk_cv", 0.5, true, true },
	[GS_N1] = { "n1_cnt", 1, false, true },
	[GS_RES_MEM] = { "reserved_mem_cv", 1, true, true },
	[GS_OFF_ALL] = { "offline_all_cnt", 4, false, false },
	[GS_OFF_PRI] = { "offline_pri_cnt", 16, false, false },
	[GS_VCPU] = { "vcpu_ratio_cv", 0.5, true, true },
	[GS_CPU_LOAD] = { "cpu_load_cv", 1, true, true },
	[GS_MEM_LOAD] = { "mem_load_cv", 1, true, true },
	[GS_DISK_LOAD] = { "disk_load_cv", 1, true, true },
	[GS_NET_LOAD] = { "net_load_cv", 1, true, true },
	[GS_PRI_TAGS] = { "pri_tags_score", 2, false, true },
	[GS_SPINDLES] = { "spindles_cv", 0.5, true, true },
	[GS_FREE_MEM_F] = { "free_mem_cv_forth", 0.5, true, true },
	[GS_FREE_DISK_F] = { "free_disk_cv_forth", 0.5, true, true },
	[GS_VCPU_F] = { "vcpu_ratio_cv_forth", 0.5, true, true },
	[GS_SPINDLES_F] = { "spindles_cv_forth", 0.5, true, true },
	[GS_LOCATION] = { "location_score", 1, false, true },
	[GS_LOC_EXCL] = { "location_exclusion_score", 1, false, true },
	[GS_RES_RTOTAL] = { "reserved_mem_rtotal", 0.25, false, true },
};

/* The components a primary move can change. */
static const enum gs_comp move_comps[] = {
	GS_FREE_MEM, GS_FREE_DISK, GS_N1, GS_OFF_ALL, GS_OFF_PRI, GS_VCPU,
	GS_PRI_TAGS, GS_SPINDLES, GS_FREE_MEM_F, GS_FREE_DISK_F, GS_VCPU_F,
	GS_SPINDLES_F,
};

struct gs_node {
	bool online, excl;
	double tmem, tdsk, tcpu_eff, hisp;
	int64_t fmem, fmem_f, fdsk, fdsk_f, ucpu, ucpu_f, rmem, fsp, tsp;
	double isp, isp_f;
	int npri, nsec, conflicts;
	double v[GS_NCOMP];
};

/* (node, tag) -> count of primaries on node carrying the tag. */
struct tag_slot {
	uint64_t key; /* node * ntags + tag + 1; 0 = empty */
	int count;
};

struct ganeti_score {
	const struct sched_problem *p;
	const struct htools_data *h;
	struct gs_node *nodes;
	size_t nnodes, non;
	int *host;              /* current primary of each instance */
	int **itags;            /* exclusion tag ids per instance */
	int *nitags;
	size_t ntags;
	struct tag_slot *slots;
	size_t nslots;          /* power of two */
	double sum[GS_NCOMP], sq[GS_NCOMP];
	double term[GS_NCOMP];  /* weight x value, as of the last change */
	double total;           /* sum of term */
	/* ganeti_score_try() keeps the source node of the VM it tried last,
	 * as it would be without the VM: valid while version (counting the
	 * moves) is still src_version. */
	uint64_t version, src_version;
	size_t src_vm;
	struct gs_node src;
};

const char *ganeti_score_name(enum gs_comp c)
{
	return comp_info[c].name;
}

double ganeti_score_weight(enum gs_comp c)
{
	return comp_info[c].weight;
}

static double pdsk(int64_t f, double t)
{
	return t == 0 ? 1.0 : (double)f / t;
}

static void node_values(const struct gs_node *n, double *v)
{
	memset(v, 0, GS_NCOMP * sizeof(*v));
	if (!n->online) {
		v[GS_OFF_ALL] = n->npri + n->nsec;
		v[GS_OFF_PRI] = n->npri;
		return;
	}
	v[GS_FREE_MEM] = (double)n->fmem / n->tmem;
	v[GS_FREE_MEM_F] = (double)n->fmem_f / n->tmem;
	if (n->excl) {
		v[GS_FREE_DISK] = pdsk(n->fsp, (double)n->tsp);
		v[GS_FREE_DISK_F] = v[GS_FREE_DISK];
	} else {
		v[GS_FREE_DISK] = pdsk(n->fdsk, n->tdsk);
		v[GS_FREE_DISK_F] = pdsk(n->fdsk_f, n->tdsk);
	}
	v[GS_N1] = n->fmem < n->rmem ? n->npri + n->nsec : 0;
	v[GS_RES_MEM] = (double)n->rmem / n->tmem;
	v[GS_RES_RTOTAL] = v[GS_RES_MEM];
	v[GS_VCPU] = (double)n->ucpu / n->tcpu_eff;
	v[GS_VCPU_F] = (double)n->ucpu_f / n->tcpu_eff;
	v[GS_SPINDLES] = n->isp / n->hisp;
	v[GS_SPINDLES_F] = n->isp_f / n->hisp;
	v[GS_PRI_TAGS] = n->conflicts;
}

static double comp_value(const struct ganeti_score *g, enum gs_comp c,
			 double sum, double sq)
{
	double n, avg, var;

	if (!comp_info[c].stddev)
		return sum;
	if (g->non == 0)
		return 0;
	n = (double)g->non;
	avg = sum / n;
	var = sq / n - avg * avg;
	return var > 0 ? sqrt(var) : 0;
}

static double stat_term(const struct ganeti_score *g, enum gs_comp c,
			double sum, double sq)
{
	return comp_info[c].weight * comp_value(g, c, sum, sq);
}

double ganeti_score_component(const struct ganeti_score *g, enum gs_comp c)
{
	return comp_value(g, c, g->sum[c], g->sq[c]);
}

double ganeti_score_value(const struct ganeti_score *g)
{
	return g->total;
}

static void refresh_terms(struct ganeti_score *g)
{
	int c;

	g->total = 0;
	for (c = 0; c < GS_NCOMP; c++) {
		g->term[c] = comp_info[c].weight *
			     comp_value(g, (enum gs_comp)c, g->sum[c], g->sq[c]);
		g->total += g->term[c];
	}
}

static struct tag_slot *tag_slot(struct ganeti_score *g, size_t node, int tag)
{
	uint64_t key = (uint64_t)node * g->ntags + (uint64_t)tag + 1;
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) &
		   (g->nslots - 1);

	while (g->slots[i].key != 0 && g->slots[i].key != key)
		i = (i + 1) & (g->nslots - 1);
	if (g->slots[i].key == 0)
		g->slots[i].key = key;
	return &g->slots[i];
}

static int tag_count(const struct ganeti_score *g, size_t node, int tag)
{
	uint64_t key = (uint64_t)node * g->ntags + (uint64_t)tag + 1;
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) &
		   (g->nslots - 1);

	while (g->slots[i].key != 0) {
		if (g->slots[i].key == key)
			return g->slots[i].count;
		i = (i + 1) & (g->nslots - 1);
	}
	return 0;
}

/* Apply instance i as primary of node (sign +1 add, -1 remove) to the
 * node's raw state; tags only when tags is true. */
static void apply_pri(struct ganeti_score *g, size_t i, struct gs_node *n,
		      size_t node, int sign, bool tags)
{
	const struct htools_inst *in = &g->h->insts[i];
	int k;

	if (in->forthcoming) {
		n->fmem_f -= sign * in->mem;
		if (in->local_storage) {
			n->fdsk_f -= sign * in->dsk;
			n->isp_f += sign * (double)in->spindle_use *
				    !n->excl;
		}
		if (in->online)
			n->ucpu_f += sign * in->vcpus;
	} else {
		if (in->uses_memory)
			n->fmem -= sign * in->mem;
		n->fmem_f -= sign * in->mem;
		if (in->local_storage) {
			n->fdsk -= sign * in->dsk;
			n->fdsk_f -= sign * in->dsk;
			n->isp += sign * (double)in->spindle_use * !n->excl;
			n->isp_f += sign * (double)in->spindle_use * !n->excl;
		}
		if (in->online) {
			n->ucpu += sign * in->vcpus;
			n->ucpu_f += sign * in->vcpus;
		}
		n->npri += sign;
	}
	if (!tags)
		return;
	for (k = 0; k < g->nitags[i]; k++) {
		int c = tag_count(g, node, g->itags[i][k]);

		if (sign > 0 && c >= 1)
			n->conflicts++;
		else if (sign < 0 && c >= 2)
			n->conflicts--;
	}
}

static void apply_tags(struct ganeti_score *g, size_t i, size_t node,
		       int sign)
{
	int k;

	for (k = 0; k < g->nitags[i]; k++)
		tag_slot(g, node, g->itags[i][k])->count += sign;
}

static void stats_replace(struct ganeti_score *g, const double *old,
			  const double *nv, bool online)
{
	int c;

	for (c = 0; c < GS_NCOMP; c++) {
		if (comp_info[c].online != online)
			continue;
		g->sum[c] += nv[c] - old[c];
		if (comp_info[c].stddev)
			g->sq[c] += nv[c] * nv[c] - old[c] * old[c];
	}
}

static bool tag_has_prefix(const char *tag, size_t len, const char *prefix)
{
	size_t pl = strlen(prefix);

	return len >= pl && memcmp(tag, prefix, pl) == 0;
}

/* Exclusion tags: instance tags starting with a prefix named by a cluster
 * tag htools:iextags:PREFIX. Returns 0 or -1. */
static int build_tags(struct ganeti_score *g)
{
	const struct htools_data *h = g->h;
	const char **prefixes = NULL, **names = NULL;
	size_t np = 0, nn = 0, capn = 0, i, total = 0;
	int ret = -1;

	g->itags = calloc(h->ninsts ? h->ninsts : 1, sizeof(*g->itags));
	g->nitags = calloc(h->ninsts ? h->ninsts : 1, sizeof(*g->nitags));
	prefixes = calloc(h->nctags ? h->nctags : 1, sizeof(*prefixes));
	if (g->itags == NULL || g->nitags == NULL || prefixes == NULL) {
		err_set("out of memory");
		goto out;
	}
	for (i = 0; i < h->nctags; i++) {
		const char *t = h->ctags[i];

		if (str_startswith(t, "htools:nlocation:")) {
			err_set("cluster tag '%s': location tags are not "
				"supported by the score; remove them to plan "
				"with fincloud", t);
			goto out;
		}
		if (str_startswith(t, "htools:iextags:"))
			prefixes[np++] = t + strlen("htools:iextags:");
	}
	for (i = 0; i < h->ninsts; i++) {
		const char *s = h->insts[i].field[9];
		int *ids = NULL;
		int nids = 0;

		while (s != NULL && *s != '\0') {
			const char *comma = strchr(s, ',');
			size_t len = comma ? (size_t)(comma - s) : strlen(s);
			size_t k, id;
			bool ex = false;

			if (tag_has_prefix(s, len, "htools:desiredlocation:")) {
				err_set("instance '%s': desired location tags "
					"are not supported by the score",
					h->insts[i].field[0]);
				free(ids);
				goto out;
			}
			for (k = 0; k < np && !ex; k++)
				ex = tag_has_prefix(s, len, prefixes[k]);
			if (ex) {
				int *t;

				for (id = 0; id < nn; id++)
					if (strlen(names[id]) == len &&
					    memcmp(names[id], s, len) == 0)
						break;
				if (id == nn) {
					if (nn == capn) {
						const char **nt;

						capn = capn ? capn * 2 : 16;
						nt = realloc(names, capn *
							     sizeof(*nt));
						if (nt == NULL) {
							free(ids);
							err_set("out of memory");
							goto out;
						}
						names = nt;
					}
					names[nn] = strndup(s, len);
					if (names[nn] == NULL) {
						free(ids);
						err_set("out of memory");
						goto out;
					}
					nn++;
				}
				t = realloc(ids, (size_t)(nids + 1) *
						 sizeof(*ids));
				if (t == NULL) {
					free(ids);
					err_set("out of memory");
					goto out;
				}
				ids = t;
				ids[nids++] = (int)id;
			}
			s = comma ? comma + 1 : NULL;
		}
		g->itags[i] = ids;
		g->nitags[i] = nids;
		total += (size_t)nids;
	}
	g->ntags = nn ? nn : 1;
	g->nslots = 16;
	while (g->nslots < 4 * total + 16)
		g->nslots *= 2;
	/* Moves add (node, tag) keys; leave room for them. */
	g->nslots *= 4;
	g->slots = calloc(g->nslots, sizeof(*g->slots));
	if (g->slots == NULL) {
		err_set("out of memory");
		goto out;
	}
	ret = 0;
out:
	for (i = 0; i < nn; i++)
		free((char *)names[i]);
	free(names);
	free(prefixes);
	return ret;
}

void ganeti_score_free(struct ganeti_score *g)
{
	size_t i;

	if (g == NULL)
		return;
	if (g->itags != NULL)
		for (i = 0; i < g->h->ninsts; i++)
			free(g->itags[i]);
	free(g->itags);
	free(g->nitags);
	free(g->slots);
	free(g->nodes);
	free(g->host);
	free(g);
}

/* Reserved memory: per secondary node, the largest per-primary sum of the
 * memory of DRBD instances that would fail over to it. */
static int compute_rmem(struct ganeti_score *g)
{
	const struct htools_data *h = g->h;
	size_t i, j, n = 0;
	struct pair {
		int s, pn;
		int64_t mem;
	} *pr;

	pr = calloc(h->ninsts ? h->ninsts : 1, sizeof(*pr));
	if (pr == NULL)
		return err_set("out of memory");
	for (i = 0; i < h->ninsts; i++) {
		const struct htools_inst *in = &h->insts[i];

		if (in->snode < 0)
			continue;
		if (in->forthcoming) {
			struct gs_node *s = &g->nodes[in->snode];

			if (in->local_storage) {
				s->fdsk_f -= in->dsk;
				s->isp_f += (double)in->spindle_use * !s->excl;
			}
			continue;
		}
		g->nodes[in->snode].nsec++;
		if (in->local_storage) {
			struct gs_node *s = &g->nodes[in->snode];

			s->isp += (double)in->spindle_use * !s->excl;
			s->isp_f += (double)in->spindle_use * !s->excl;
		}
		if (in->mirror != HT_MIRROR_INTERNAL || !in->online)
			continue;
		for (j = 0; j < n; j++)
			if (pr[j].s == in->snode && pr[j].pn == g->host[i])
				break;
		if (j == n) {
			pr[n].s = in->snode;
			pr[n].pn = g->host[i];
			pr[n].mem = 0;
			n++;
		}
		pr[j].mem += in->mem;
	}
	for (j = 0; j < n; j++)
		if (pr[j].mem > g->nodes[pr[j].s].rmem)
			g->nodes[pr[j].s].rmem = pr[j].mem;
	free(pr);
	return 0;
}

struct ganeti_score *ganeti_score_new(const struct sched_problem *p,
				      const int *host)
{
	struct ganeti_score *g;
	const struct htools_data *h = p->htools;
	int64_t *imem = NULL;
	size_t i;

	if (h == NULL) {
		err_set("the Ganeti score needs a cluster read from an htools "
			"file");
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (g == NULL) {
		err_set("out of memory");
		return NULL;
	}
	g->p = p;
	g->h = h;
	g->version = 1; /* src_version 0: nothing kept yet */
	g->nnodes = h->nnodes;
	g->nodes = calloc(h->nnodes ? h->nnodes : 1, sizeof(*g->nodes));
	g->host = calloc(h->ninsts ? h->ninsts : 1, sizeof(*g->host));
	imem = calloc(h->nnodes ? h->nnodes : 1, sizeof(*imem));
	if (g->nodes == NULL || g->host == NULL || imem == NULL) {
		err_set("out of memory");
		goto fail;
	}
	if (build_tags(g) < 0)
		goto fail;
	for (i = 0; i < h->ninsts; i++) {
		g->host[i] = h->insts[i].pnode;
		if (h->insts[i].uses_memory)
			imem[g->host[i]] += h->insts[i].mem;
	}
	/* The nodes as hinfo sees them after loading the file as read. */
	for (i = 0; i < h->nnodes; i++) {
		const struct htools_node *hn = &h->nodes[i];
		struct gs_node *n = &g->nodes[i];
		int64_t avail;

		n->online = !hn->offline;
		if (!n->online)
			continue;
		n->excl = hn->excl_stor;
		n->tmem = hn->tmem;
		n->tdsk = hn->tdsk;
		n->tcpu_eff = hn->tcpu * hn->cpu_speed;
		n->hisp = HI_SPINDLE_RATIO * (double)hn->tspindles;
		avail = (int64_t)hn->tmem - hn->nmem - imem[i];
		n->fmem = hn->fmem < avail ? hn->fmem : avail;
		n->fmem_f = hn->fmem;
		n->fdsk = n->fdsk_f = hn->fdsk;
		n->fsp = hn->fspindles;
		n->tsp = hn->tspindles;
		n->ucpu = n->ucpu_f = hn->ncpu;
		g->non++;
	}
	for (i = 0; i < h->ninsts; i++) {
		const struct htools_inst *in = &h->insts[i];
		struct gs_node *n = &g->nodes[g->host[i]];

		/* Loading takes f_mem and f_dsk from the file as they are. */
		if (in->forthcoming) {
			apply_pri(g, i, n, (size_t)g->host[i], +1, true);
		} else {
			if (!in->uses_memory)
				n->fmem_f -= in->mem;
			if (in->local_storage) {
				n->isp += (double)in->spindle_use * !n->excl;
				n->isp_f += (double)in->spindle_use * !n->excl;
			}
			if (in->online) {
				n->ucpu += in->vcpus;
				n->ucpu_f += in->vcpus;
			}
			n->npri++;
			{
				int k;

				for (k = 0; k < g->nitags[i]; k++)
					if (tag_count(g, (size_t)g->host[i],
						      g->itags[i][k]) >= 1)
						n->conflicts++;
			}
		}
		apply_tags(g, i, (size_t)g->host[i], +1);
	}
	if (compute_rmem(g) < 0)
		goto fail;
	for (i = 0; i < h->nnodes; i++) {
		struct gs_node *n = &g->nodes[i];
		double zero[GS_NCOMP] = { 0 };

		node_values(n, n->v);
		stats_replace(g, zero, n->v, n->online);
	}
	free(imem);
	imem = NULL;
	refresh_terms(g);
	if (host != NULL)
		for (i = 0; i < h->ninsts; i++)
			if (host[i] != g->host[i] && host[i] >= 0)
				ganeti_score_move(g, i, (size_t)host[i]);
	return g;
fail:
	free(imem);
	ganeti_score_free(g);
	return NULL;
}

double ganeti_score_try(struct ganeti_score *g, size_t vm, size_t to)
{
	size_t from = (size_t)g->host[vm];
	const struct gs_node *oa = &g->nodes[from], *ob = &g->nodes[to];
	const struct gs_node *a = &g->src;
	struct gs_node b;
	double s = g->total;
	size_t k;

	if (from == to)
		return s;
	/* Trying one VM on many hosts in a row computes its source once. */
	if (g->src_version != g->version || g->src_vm != vm) {
		g->src = *oa;
		apply_pri(g, vm, &g->src, from, -1, true);
		node_values(&g->src, g->src.v);
		g->src_vm = vm;
		g->src_version = g->version;
	}
	b = *ob;
	apply_pri(g, vm, &b, to, +1, true);
	node_values(&b, b.v);
	for (k = 0; k < FC_ARRAY_LEN(move_comps); k++) {
		enum gs_comp c = move_comps[k];
		double sum = g->sum[c], sq = g->sq[c];
		bool changed = false;

		if (comp_info[c].online == oa->online && a->v[c] != oa->v[c]) {
			sum += a->v[c] - oa->v[c];
			sq += a->v[c] * a->v[c] - oa->v[c] * oa->v[c];
			changed = true;
		}
		if (comp_info[c].online == ob->online && b.v[c] != ob->v[c]) {
			sum += b.v[c] - ob->v[c];
			sq += b.v[c] * b.v[c] - ob->v[c] * ob->v[c];
			changed = true;
		}
		if (changed)
			s += stat_term(g, c, sum, sq) - g->term[c];
	}
	return s;
}

void ganeti_score_move(struct ganeti_score *g, size_t vm, size_t to)
{
	size_t from = (size_t)g->host[vm];
	struct gs_node *a = &g->nodes[from], *b = &g->nodes[to];
	double old[GS_NCOMP];

	if (from == to)
		return;
	memcpy(old, a->v, sizeof(old));
	apply_pri(g, vm, a, from, -1, true);
	apply_tags(g, vm, from, -1);
	node_values(a, a->v);
	stats_replace(g, old, a->v, a->online);
	memcpy(old, b->v, sizeof(old));
	apply_pri(g, vm, b, to, +1, true);
	apply_tags(g, vm, to, +1);
	node_values(b, b->v);
	stats_replace(g, old, b->v, b->online);
	g->host[vm] = (int)to;
	g->version++;
	refresh_terms(g);
}

int ganeti_score_of(const struct sched_problem *p, double *out)
{
	struct ganeti_score *g;
	int *host;
	size_t i;

	host = calloc(p->nvms ? p->nvms : 1, sizeof(*host));
	if (host == NULL)
		return err_set("out of memory");
	for (i = 0; i < p->nvms; i++)
		host[i] = p->vms[i].host;
	g = ganeti_score_new(p, host);
	free(host);
	if (g == NULL)
		return -1;
	*out = ganeti_score_value(g);
	ganeti_score_free(g);
	return 0;
}

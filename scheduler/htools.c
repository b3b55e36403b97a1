/*
 * htools.c - read and write Ganeti's htools text format (see htools.h).
 *
 * The reader follows Ganeti's Backend/Text.hs: sections split on empty
 * lines, fields on '|', older shorter rows accepted with Ganeti's defaults,
 * extra trailing fields ignored. Every error names FILE:LINE, the object
 * and the field.
 */
#include "scheduler/htools.h"

#include "common/buf.h"
#include "common/err.h"
#include "common/util.h"
#include "scheduler/names.h"
#include "scheduler/problem.h"

/* Instance states that keep the instance's memory in use. */
static const char *const status_mem[] = {
	"running", "ERROR_up", "ERROR_nodedown", "ERROR_nodeoffline",
	"ERROR_wrongnode", NULL,
};
static const char *const status_nomem[] = {
	"ADMIN_down", "ADMIN_offline", "ERROR_down", "USER_down", NULL,
};

struct dt_info {
	const char *name;
	bool local;
	enum htools_mirror mirror;
};

static const struct dt_info disk_templates[] = {
	{ "diskless", false, HT_MIRROR_EXTERNAL },
	{ "file", false, HT_MIRROR_NONE },
	{ "sharedfile", false, HT_MIRROR_EXTERNAL },
	{ "plain", true, HT_MIRROR_NONE },
	{ "blockdev", false, HT_MIRROR_EXTERNAL },
	{ "drbd", true, HT_MIRROR_INTERNAL },
	{ "rbd", false, HT_MIRROR_EXTERNAL },
	{ "ext", false, HT_MIRROR_EXTERNAL },
	{ "gluster", false, HT_MIRROR_EXTERNAL },
};

struct line {
	char *s;
	size_t no; /* 1-based line number */
};

struct sections {
	struct line *lines;
	size_t nlines;
	size_t start[8]; /* first line index of each section */
	size_t count[8];
	size_t n;
};

void htools_data_free(struct htools_data *h)
{
	if (h == NULL)
		return;
	free(h->groups);
	free(h->nodes);
	free(h->insts);
	free(h->ctags);
	free(h->ipolicy);
	free(h->text);
	free(h);
}

static void htools_free_cb(struct htools_data *h)
{
	htools_data_free(h);
}

/* Split s on '|' in place into at most max fields; returns the count of
 * fields in the line (which may be more than max: the rest is ignored). */
static int split_fields(char *s, char **f, int max)
{
	int n = 0;
	char *p = s;

	for (;;) {
		char *bar = strchr(p, '|');

		if (n < max)
			f[n] = p;
		n++;
		if (bar == NULL)
			break;
		*bar = '\0';
		p = bar + 1;
	}
	return n;
}

static int htools_too_big(const char *file, size_t line, const char *what,
			  const char *obj, const char *field, const char *s)
{
	return err_set("%s:%zu: %s '%s': field '%s' is out of range (at most "
		       "%" PRId64 " either way), got '%s'", file, line, what,
		       obj, field, HTOOLS_MAX_NUM, s);
}

static int get_i64(const char *file, size_t line, const char *what,
		   const char *obj, const char *field, const char *s,
		   int64_t *out)
{
	if (parse_int64(s, out) < 0)
		return err_set("%s:%zu: %s '%s': field '%s' must be an integer, "
			       "got '%s'", file, line, what, obj, field, s);
	if (*out < -HTOOLS_MAX_NUM || *out > HTOOLS_MAX_NUM)
		return htools_too_big(file, line, what, obj, field, s);
	return 0;
}

static int get_dbl(const char *file, size_t line, const char *what,
		   const char *obj, const char *field, const char *s,
		   double *out)
{
	if (parse_double(s, out) < 0)
		return err_set("%s:%zu: %s '%s': field '%s' must be a number, "
			       "got '%s'", file, line, what, obj, field, s);
	if (*out < (double)-HTOOLS_MAX_NUM || *out > (double)HTOOLS_MAX_NUM)
		return htools_too_big(file, line, what, obj, field, s);
	return 0;
}

static int get_yn(const char *file, size_t line, const char *what,
		  const char *obj, const char *field, const char *s, bool *out)
{
	if (strcmp(s, "Y") == 0)
		*out = true;
	else if (strcmp(s, "N") == 0)
		*out = false;
	else
		return err_set("%s:%zu: %s '%s': field '%s' must be Y or N, "
			       "got '%s'", file, line, what, obj, field, s);
	return 0;
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static int split_sections(const char *name, char *text, struct sections *sec)
{
	size_t cap = 1024, i;
	char *p = text;
	size_t no = 0;

	memset(sec, 0, sizeof(*sec));
	sec->lines = malloc(cap * sizeof(*sec->lines));
	if (sec->lines == NULL)
		return err_set("out of memory");
	while (*p != '\0') {
		char *nl = strchr(p, '\n');

		if (nl != NULL)
			*nl = '\0';
		if (nl != NULL && nl > p && nl[-1] == '\r')
			nl[-1] = '\0';
		/* htools_format() ends lines with '\n' alone: a field ending
		 * in '\r' would read back as a shorter one, or a line of only
		 * '\r' as a section's end */
		if (strchr(p, '\r') != NULL)
			return err_set("%s:%zu: a carriage return inside a line: "
				       "an htools file has none (a CRLF line "
				       "end is fine)", name, no + 1);
		if (sec->nlines == cap) {
			struct line *t;

			cap *= 2;
			t = realloc(sec->lines, cap * sizeof(*t));
			if (t == NULL)
				return err_set("out of memory");
			sec->lines = t;
		}
		sec->lines[sec->nlines].s = p;
		sec->lines[sec->nlines].no = ++no;
		sec->nlines++;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	/* Haskell's sepSplit "": every empty line ends a section. */
	sec->n = 1;
	sec->start[0] = 0;
	for (i = 0; i < sec->nlines; i++) {
		if (sec->lines[i].s[0] != '\0') {
			if (sec->n <= FC_ARRAY_LEN(sec->start))
				sec->count[sec->n - 1]++;
			continue;
		}
		if (sec->n < FC_ARRAY_LEN(sec->start)) {
			sec->start[sec->n] = i + 1;
			sec->count[sec->n] = 0;
		}
		sec->n++;
	}
	if (sec->n < 4)
		return err_set("%s: %zu sections instead of 4 or 5 (node groups, "
			       "nodes, instances, cluster tags, ipolicy), "
			       "separated by one empty line", name, sec->n);
	return 0;
}

static int parse_groups(const char *name, struct sections *sec,
			struct htools_data *h, struct sched_names *uuids,
			struct sched_problem *p)
{
	size_t i, n = sec->count[0];

	h->groups = calloc(n ? n : 1, sizeof(*h->groups));
	p->pools = calloc(n ? n : 1, sizeof(*p->pools));
	if (h->groups == NULL || p->pools == NULL)
		return err_set("out of memory");
	for (i = 0; i < n; i++) {
		struct line *l = &sec->lines[sec->start[0] + i];
		struct htools_group *g = &h->groups[i];
		struct sched_pool *pool = &p->pools[i];
		int nf, r;

		nf = split_fields(l->s, g->field, HTOOLS_GROUP_NF);
		if (nf < 4)
			return err_set("%s:%zu: node group: %d fields, expected "
				       "name|uuid|alloc_policy|tags[|networks]",
				       name, l->no, nf);
		g->nfields = nf < HTOOLS_GROUP_NF ? nf : HTOOLS_GROUP_NF;
		if (strcmp(g->field[2], "preferred") != 0 &&
		    strcmp(g->field[2], "last_resort") != 0 &&
		    strcmp(g->field[2], "unallocable") != 0)
			return err_set("%s:%zu: node group '%s': field "
				       "'alloc_policy' must be preferred, "
				       "last_resort or unallocable, got '%s'",
				       name, l->no, g->field[0], g->field[2]);
		if (str_copy(pool->name, sizeof(pool->name), g->field[0]) < 0)
			return err_set("%s:%zu: node group '%s': name is longer "
				       "than %d characters", name, l->no,
				       g->field[0], SCHED_NAME_MAX - 1);
		g->vcpu_ratio = 4.0;
		g->spindle_ratio = 32.0;
		pool->ratio[DIM_VCPU] = 4.0;
		pool->ratio[DIM_MEM] = 1.0;
		pool->ratio[DIM_DISK] = 1.0;
		pool->policy = POLICY_SPREAD;
		r = sched_names_add(uuids, g->field[1], (int)i, NULL);
		if (r < 0)
			return -1;
		if (r == 1)
			return err_set("%s:%zu: node group '%s': uuid '%s' is "
				       "used twice", name, l->no, g->field[0],
				       g->field[1]);
	}
	h->ngroups = n;
	p->npools = n;
	return 0;
}

static int parse_nodes(const char *name, struct sections *sec,
		       struct htools_data *h, struct sched_names *uuids,
		       struct sched_names *nodes, struct sched_problem *p)
{
	size_t i, n = sec->count[1];

	h->nodes = calloc(n ? n : 1, sizeof(*h->nodes));
	p->hosts = calloc(n ? n : 1, sizeof(*p->hosts));
	if (h->nodes == NULL || p->hosts == NULL)
		return err_set("out of memory");
	for (i = 0; i < n; i++) {
		struct line *l = &sec->lines[sec->start[1] + i];
		struct htools_node *nd = &h->nodes[i];
		struct sched_host *host = &p->hosts[i];
		const char *nm;
		int nf, k, r;

		nf = split_fields(l->s, nd->field, HTOOLS_NODE_NF);
		if (nf < 9)
			return err_set("%s:%zu: node: %d fields, expected at "
				       "least name|t_mem|n_mem|f_mem|t_dsk|f_dsk|"
				       "t_cpu|offline|group_uuid", name, l->no,
				       nf);
		nd->nfields = nf < HTOOLS_NODE_NF ? nf : HTOOLS_NODE_NF;
		nm = nd->field[0];
		if (str_copy(host->name, sizeof(host->name), nm) < 0)
			return err_set("%s:%zu: node '%s': name is longer than "
				       "%d characters", name, l->no, nm,
				       SCHED_NAME_MAX - 1);
		nd->group = sched_names_find(uuids, nd->field[8]);
		if (nd->group < 0)
			return err_set("%s:%zu: node '%s': field 'group_uuid': "
				       "no node group has uuid '%s'", name,
				       l->no, nm, nd->field[8]);
		r = sched_names_add(nodes, nm, (int)i, NULL);
		if (r < 0)
			return -1;
		if (r == 1)
			return err_set("%s:%zu: node '%s' is listed twice",
				       name, l->no, nm);
		if (strcmp(nd->field[7], "Y") != 0 &&
		    strcmp(nd->field[7], "N") != 0 &&
		    strcmp(nd->field[7], "M") != 0)
			return err_set("%s:%zu: node '%s': field 'offline' must "
				       "be Y, N or M, got '%s'", name, l->no,
				       nm, nd->field[7]);
		nd->offline = strcmp(nd->field[7], "Y") == 0;
		for (k = 1; k <= 6; k++)
			if (strcmp(nd->field[k], "?") == 0)
				nd->unknown = true;
		nd->cpu_speed = 1.0;
		nd->tspindles = 1;
		nd->ncpu = 1;
		if (!nd->unknown) {
			if (get_dbl(name, l->no, "node", nm, "t_mem",
				    nd->field[1], &nd->tmem) < 0 ||
			    get_i64(name, l->no, "node", nm, "n_mem",
				    nd->field[2], &nd->nmem) < 0 ||
			    get_i64(name, l->no, "node", nm, "f_mem",
				    nd->field[3], &nd->fmem) < 0 ||
			    get_dbl(name, l->no, "node", nm, "t_dsk",
				    nd->field[4], &nd->tdsk) < 0 ||
			    get_i64(name, l->no, "node", nm, "f_dsk",
				    nd->field[5], &nd->fdsk) < 0 ||
			    get_dbl(name, l->no, "node", nm, "t_cpu",
				    nd->field[6], &nd->tcpu) < 0)
				return -1;
			if (nf > 9 && get_i64(name, l->no, "node", nm,
					      "spindles", nd->field[9],
					      &nd->tspindles) < 0)
				return -1;
			if (nf > 11 && get_yn(name, l->no, "node", nm,
					      "excl_stor", nd->field[11],
					      &nd->excl_stor) < 0)
				return -1;
			if (nf > 12 && get_i64(name, l->no, "node", nm,
					       "free_spindles", nd->field[12],
					       &nd->fspindles) < 0)
				return -1;
			if (nf > 13 && get_i64(name, l->no, "node", nm, "n_cpu",
					       nd->field[13], &nd->ncpu) < 0)
				return -1;
			if (nf > 14 && get_dbl(name, l->no, "node", nm,
					       "cpu_speed", nd->field[14],
					       &nd->cpu_speed) < 0)
				return -1;
			if (nd->tmem <= 0)
				return err_set("%s:%zu: node '%s': field 't_mem' "
					       "must be > 0, got '%s'", name,
					       l->no, nm, nd->field[1]);
			if (nd->tcpu <= 0)
				return err_set("%s:%zu: node '%s': field 't_cpu' "
					       "must be > 0, got '%s'", name,
					       l->no, nm, nd->field[6]);
			if (nd->cpu_speed <= 0)
				return err_set("%s:%zu: node '%s': field "
					       "'cpu_speed' must be > 0, got "
					       "'%s'", name, l->no, nm,
					       nd->field[14]);
		} else {
			nd->offline = true;
		}
		host->pool = nd->group;
		host->cost = 1.0;
		host->availability = 0.99;
		host->state = nd->offline ? HOST_DOWN : HOST_UP;
	}
	h->nnodes = n;
	p->nhosts = n;
	return 0;
}

static int parse_insts(const char *name, struct sections *sec,
		       struct htools_data *h, struct sched_names *nodes,
		       struct sched_problem *p)
{
	size_t i, n = sec->count[2];
	struct sched_names *seen;
	int ret = -1;

	h->insts = calloc(n ? n : 1, sizeof(*h->insts));
	p->vms = calloc(n ? n : 1, sizeof(*p->vms));
	seen = sched_names_new(n);
	if (h->insts == NULL || p->vms == NULL || seen == NULL) {
		err_set("out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct line *l = &sec->lines[sec->start[2] + i];
		struct htools_inst *in = &h->insts[i];
		struct sched_vm *vm = &p->vms[i];
		const struct dt_info *dt = NULL;
		const char *nm;
		size_t k;
		int nf, r;

		nf = split_fields(l->s, in->field, HTOOLS_INST_NF);
		if (nf < 10) {
			err_set("%s:%zu: instance: %d fields, expected at least "
				"name|mem|dsk|vcpus|status|auto_balance|pnode|"
				"snode|disk_template|tags", name, l->no, nf);
			goto out;
		}
		in->nfields = nf < HTOOLS_INST_NF ? nf : HTOOLS_INST_NF;
		nm = in->field[0];
		if (str_copy(vm->name, sizeof(vm->name), nm) < 0) {
			err_set("%s:%zu: instance '%s': name is longer than %d "
				"characters", name, l->no, nm,
				SCHED_NAME_MAX - 1);
			goto out;
		}
		r = sched_names_add(seen, nm, (int)i, NULL);
		if (r < 0)
			goto out;
		if (r == 1) {
			err_set("%s:%zu: instance '%s' is listed twice", name,
				l->no, nm);
			goto out;
		}
		in->pnode = sched_names_find(nodes, in->field[6]);
		if (in->pnode < 0) {
			err_set("%s:%zu: instance '%s': field 'pnode': no node "
				"is named '%s'", name, l->no, nm, in->field[6]);
			goto out;
		}
		in->snode = -1;
		if (in->field[7][0] != '\0') {
			in->snode = sched_names_find(nodes, in->field[7]);
			if (in->snode < 0) {
				err_set("%s:%zu: instance '%s': field 'snode': "
					"no node is named '%s'", name, l->no,
					nm, in->field[7]);
				goto out;
			}
		}
		if (get_i64(name, l->no, "instance", nm, "mem", in->field[1],
			    &in->mem) < 0 ||
		    get_i64(name, l->no, "instance", nm, "dsk", in->field[2],
			    &in->dsk) < 0 ||
		    get_i64(name, l->no, "instance", nm, "vcpus", in->field[3],
			    &in->vcpus) < 0)
			goto out;
		if (in->mem < 0 || in->dsk < 0 || in->vcpus < 0) {
			err_set("%s:%zu: instance '%s': mem, dsk and vcpus must "
				"not be negative", name, l->no, nm);
			goto out;
		}
		if (in_list(in->field[4], status_mem)) {
			in->uses_memory = true;
		} else if (!in_list(in->field[4], status_nomem)) {
			err_set("%s:%zu: instance '%s': field 'status' must be "
				"one of running, ADMIN_down, ADMIN_offline, "
				"ERROR_down, ERROR_up, ERROR_nodedown, "
				"ERROR_nodeoffline, ERROR_wrongnode, USER_down; "
				"got '%s'", name, l->no, nm, in->field[4]);
			goto out;
		}
		in->online = strcmp(in->field[4], "ADMIN_offline") != 0;
		{
			bool ab;

			if (get_yn(name, l->no, "instance", nm, "auto_balance",
				   in->field[5], &ab) < 0)
				goto out;
		}
		for (k = 0; k < FC_ARRAY_LEN(disk_templates); k++)
			if (strcmp(in->field[8], disk_templates[k].name) == 0)
				dt = &disk_templates[k];
		if (dt == NULL) {
			err_set("%s:%zu: instance '%s': field 'disk_template' "
				"must be one of diskless, file, sharedfile, "
				"plain, blockdev, drbd, rbd, ext, gluster; got "
				"'%s'", name, l->no, nm, in->field[8]);
			goto out;
		}
		in->local_storage = dt->local;
		in->mirror = dt->mirror;
		if (in->mirror == HT_MIRROR_INTERNAL && in->snode == in->pnode) {
			err_set("%s:%zu: instance '%s' has the same primary and "
				"secondary node '%s'", name, l->no, nm,
				in->field[6]);
			goto out;
		}
		in->spindle_use = 1;
		if (nf > 10 && get_i64(name, l->no, "instance", nm,
				       "spindle_use", in->field[10],
				       &in->spindle_use) < 0)
			goto out;
		if (nf > 11 && strcmp(in->field[11], "-") != 0) {
			int64_t sp;

			if (get_i64(name, l->no, "instance", nm, "spindles",
				    in->field[11], &sp) < 0)
				goto out;
		}
		if (nf > 12 && get_yn(name, l->no, "instance", nm,
				      "forthcoming", in->field[12],
				      &in->forthcoming) < 0)
			goto out;
		if (in->forthcoming)
			in->uses_memory = false;

		vm->tenant = 0;
		vm->group = -1;
		vm->host = in->pnode;
		vm->req[DIM_VCPU] = (in->online && !in->forthcoming) ?
					    (double)in->vcpus : 0;
		vm->req[DIM_MEM] = in->uses_memory ? (double)in->mem : 0;
		vm->req[DIM_DISK] = (in->local_storage && !in->forthcoming) ?
					    (double)in->dsk / 1024.0 : 0;
	}
	h->ninsts = n;
	p->nvms = n;
	ret = 0;
out:
	sched_names_free(seen);
	return ret;
}

/* One ipolicy line: its vCPU ratio goes to its node group (the line with
 * an empty owner, the cluster's own, changes no group). The line is
 * split in a copy, so that h->ipolicy keeps it whole for htools_write();
 * every error names the owner before the copy is freed. */
static int parse_policy(const char *name, const struct line *l,
			struct htools_data *h, struct sched_problem *p)
{
	char *copy, *f[7];
	int nf, gi = -1, ret = -1;
	double vr, sr;
	size_t g;

	copy = strdup(l->s);
	if (copy == NULL)
		return err_set("out of memory");
	nf = split_fields(copy, f, 7);
	if (nf < 6) {
		err_set("%s:%zu: ipolicy: %d fields, expected owner|stdspec|"
			"minmaxspecs|disk_templates|vcpu_ratio|spindle_ratio",
			name, l->no, nf);
		goto out;
	}
	if (get_dbl(name, l->no, "ipolicy", f[0], "vcpu_ratio", f[4], &vr) < 0 ||
	    get_dbl(name, l->no, "ipolicy", f[0], "spindle_ratio", f[5],
		    &sr) < 0)
		goto out;
	if (!(vr > 0)) {
		err_set("%s:%zu: ipolicy '%s': field 'vcpu_ratio' must be > 0",
			name, l->no, f[0]);
		goto out;
	}
	if (f[0][0] != '\0') {
		for (g = 0; g < h->ngroups; g++)
			if (strcmp(h->groups[g].field[0], f[0]) == 0)
				gi = (int)g;
		if (gi < 0) {
			err_set("%s:%zu: ipolicy: no node group is named '%s'",
				name, l->no, f[0]);
			goto out;
		}
		h->groups[gi].vcpu_ratio = vr;
		h->groups[gi].spindle_ratio = sr;
		p->pools[gi].ratio[DIM_VCPU] = vr;
	}
	ret = 0;
out:
	free(copy);
	return ret;
}

static int parse_policies(const char *name, struct sections *sec,
			  struct htools_data *h, struct sched_problem *p)
{
	size_t i, n = sec->n > 4 ? sec->count[4] : 0;

	h->has_ipolicy_section = sec->n > 4;
	h->ipolicy = calloc(n ? n : 1, sizeof(*h->ipolicy));
	if (h->ipolicy == NULL)
		return err_set("out of memory");
	for (i = 0; i < n; i++) {
		const struct line *l = &sec->lines[sec->start[4] + i];

		h->ipolicy[i] = l->s;
		if (parse_policy(name, l, h, p) < 0)
			return -1;
	}
	h->nipolicy = n;
	return 0;
}

struct sec_mem {
	int snode, pnode;
	int64_t mem;
};

static int cmp_sec_mem(const void *x, const void *y)
{
	const struct sec_mem *a = x, *b = y;

	if (a->snode != b->snode)
		return a->snode < b->snode ? -1 : 1;
	return (a->pnode > b->pnode) - (a->pnode < b->pnode);
}

/* Capacity the model gives each host: what Ganeti lets instances use.
 * Memory: the node's free memory as Ganeti counts it (f_mem, or less when
 * t_mem - n_mem leaves less), plus what its running primaries use, minus
 * what it keeps for DRBD failovers (N+1: the most memory the instances of
 * any one primary node would bring here). */
static int set_capacity(struct htools_data *h, struct sched_problem *p)
{
	struct sec_mem *sm;
	int64_t *imem, *rmem;
	size_t i, n = 0;

	sm = calloc(h->ninsts ? h->ninsts : 1, sizeof(*sm));
	imem = calloc(h->nnodes ? h->nnodes : 1, sizeof(*imem));
	rmem = calloc(h->nnodes ? h->nnodes : 1, sizeof(*rmem));
	if (sm == NULL || imem == NULL || rmem == NULL) {
		free(sm);
		free(imem);
		free(rmem);
		return err_set("out of memory");
	}
	for (i = 0; i < h->ninsts; i++) {
		const struct htools_inst *in = &h->insts[i];

		if (in->uses_memory)
			imem[in->pnode] += in->mem;
		if (in->mirror == HT_MIRROR_INTERNAL && in->snode >= 0 &&
		    in->online && !in->forthcoming) {
			sm[n].snode = in->snode;
			sm[n].pnode = in->pnode;
			sm[n].mem = in->mem;
			n++;
		}
	}
	qsort(sm, n, sizeof(*sm), cmp_sec_mem);
	for (i = 0; i < n;) {
		size_t j = i;
		int64_t sum = 0;

		for (; j < n && sm[j].snode == sm[i].snode &&
		       sm[j].pnode == sm[i].pnode;
		     j++)
			sum += sm[j].mem;
		if (sum > rmem[sm[i].snode])
			rmem[sm[i].snode] = sum;
		i = j;
	}
	for (i = 0; i < h->nnodes; i++) {
		struct htools_node *nd = &h->nodes[i];
		struct sched_host *host = &p->hosts[i];
		double ratio = p->pools[host->pool].ratio[DIM_VCPU];
		int64_t avail = (int64_t)nd->tmem - nd->nmem - imem[i];
		int64_t fmem = nd->fmem < avail ? nd->fmem : avail;

		if (nd->unknown) {
			host->cap[DIM_VCPU] = 0;
			host->cap[DIM_MEM] = 0;
			host->cap[DIM_DISK] = 0;
			continue;
		}
		/* Ganeti refuses (n_cpu + vcpus) / t_cpu > vcpu_ratio. */
		host->cap[DIM_VCPU] = nd->tcpu - (double)nd->ncpu / ratio;
		if (host->cap[DIM_VCPU] < 0)
			host->cap[DIM_VCPU] = 0;
		host->cap[DIM_MEM] = (double)(fmem - rmem[i]);
		host->cap[DIM_DISK] = (double)nd->fdsk / 1024.0;
	}
	for (i = 0; i < h->ninsts; i++) {
		struct sched_vm *vm = &p->vms[i];

		p->hosts[vm->host].cap[DIM_MEM] += vm->req[DIM_MEM];
		p->hosts[vm->host].cap[DIM_DISK] += vm->req[DIM_DISK];
	}
	for (i = 0; i < p->nhosts; i++)
		if (p->hosts[i].cap[DIM_MEM] < 0)
			p->hosts[i].cap[DIM_MEM] = 0;
	free(sm);
	free(imem);
	free(rmem);
	return 0;
}

int htools_parse(const char *name, const char *text, size_t len,
		 struct sched_problem **out)
{
	struct sched_problem *p = NULL;
	struct htools_data *h = NULL;
	struct sched_names *uuids = NULL, *nodes = NULL;
	struct sections sec = { 0 };
	size_t i;
	int ret = -1;

	p = sched_problem_new();
	h = calloc(1, sizeof(*h));
	if (p == NULL || h == NULL) {
		err_set("out of memory");
		goto out;
	}
	p->htools = h;
	p->htools_free = htools_free_cb;
	h->text = malloc(len + 1);
	if (h->text == NULL) {
		err_set("out of memory");
		goto out;
	}
	memcpy(h->text, text, len);
	h->text[len] = '\0';
	if (strlen(h->text) != len) {
		err_set("%s: the file holds a NUL byte: it is not an htools "
			"text file", name);
		goto out;
	}
	if (split_sections(name, h->text, &sec) < 0)
		goto out;
	h->nsections = sec.n;
	uuids = sched_names_new(sec.count[0]);
	nodes = sched_names_new(sec.count[1]);
	if (uuids == NULL || nodes == NULL)
		goto out;
	if (parse_groups(name, &sec, h, uuids, p) < 0 ||
	    parse_nodes(name, &sec, h, uuids, nodes, p) < 0 ||
	    parse_insts(name, &sec, h, nodes, p) < 0)
		goto out;
	h->ctags = calloc(sec.count[3] ? sec.count[3] : 1, sizeof(*h->ctags));
	if (h->ctags == NULL) {
		err_set("out of memory");
		goto out;
	}
	for (i = 0; i < sec.count[3]; i++)
		h->ctags[i] = sec.lines[sec.start[3] + i].s;
	h->nctags = sec.count[3];
	if (parse_policies(name, &sec, h, p) < 0)
		goto out;

	p->tenants = calloc(1, sizeof(*p->tenants));
	if (p->tenants == NULL) {
		err_set("out of memory");
		goto out;
	}
	str_copy(p->tenants[0].name, sizeof(p->tenants[0].name), "ganeti");
	p->tenants[0].isolation = ISOLATION_SHARED;
	p->ntenants = 1;
	if (set_capacity(h, p) < 0)
		goto out;
	*out = p;
	p = NULL;
	ret = 0;
out:
	free(sec.lines);
	sched_names_free(uuids);
	sched_names_free(nodes);
	sched_problem_free(p);
	return ret;
}

int htools_read(const char *path, struct sched_problem **out)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	if (file_read_all(path, HTOOLS_MAX_BYTES, &text, &len) < 0)
		return -1;
	ret = htools_parse(path, text, len, out);
	free(text);
	return ret;
}

bool htools_vm_movable(const struct sched_problem *p, size_t vm)
{
	const struct htools_inst *in;

	if (p->htools == NULL || vm >= p->htools->ninsts)
		return true;
	in = &p->htools->insts[vm];
	return in->mirror == HT_MIRROR_EXTERNAL && !in->forthcoming;
}

static int put_fields(struct buf *b, char *const *f, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (buf_printf(b, "%s%s", i ? "|" : "", f[i] ? f[i] : "") < 0)
			return -1;
	return buf_puts(b, "\n");
}

char *htools_format(const struct sched_problem *p)
{
	const struct htools_data *h = p->htools;
	int64_t *dmem = NULL, *ddsk = NULL;
	struct buf b;
	size_t i;
	char *res = NULL;

	if (h == NULL) {
		err_set("the problem was not read from an htools file: write "
			"it as JSON instead");
		return NULL;
	}
	buf_init(&b, 0);
	dmem = calloc(h->nnodes ? h->nnodes : 1, sizeof(*dmem));
	ddsk = calloc(h->nnodes ? h->nnodes : 1, sizeof(*ddsk));
	if (dmem == NULL || ddsk == NULL) {
		err_set("out of memory");
		goto out;
	}
	for (i = 0; i < h->ninsts; i++) {
		const struct htools_inst *in = &h->insts[i];
		int to = p->vms[i].host;

		if (to < 0 || (size_t)to >= h->nnodes) {
			err_set("instance '%s' has no node: an htools file "
				"needs every instance placed", p->vms[i].name);
			goto out;
		}
		if (to == in->pnode || in->forthcoming)
			continue;
		/* Ganeti counts used memory from running instances and free
		 * disk from local ones; shift f_mem / f_dsk with the move so
		 * the node's unaccounted memory stays what it was. */
		if (in->uses_memory) {
			dmem[in->pnode] += in->mem;
			dmem[to] -= in->mem;
		}
		if (in->local_storage) {
			ddsk[in->pnode] += in->dsk;
			ddsk[to] -= in->dsk;
		}
	}
	for (i = 0; i < h->ngroups; i++)
		if (put_fields(&b, h->groups[i].field, h->groups[i].nfields) < 0)
			goto out;
	if (buf_puts(&b, "\n") < 0)
		goto out;
	for (i = 0; i < h->nnodes; i++) {
		const struct htools_node *nd = &h->nodes[i];
		char *f[HTOOLS_NODE_NF];
		char fm[32], fd[32];

		memcpy(f, nd->field, sizeof(f));
		if (!nd->unknown && (dmem[i] != 0 || ddsk[i] != 0)) {
			snprintf(fm, sizeof(fm), "%" PRId64, nd->fmem + dmem[i]);
			snprintf(fd, sizeof(fd), "%" PRId64, nd->fdsk + ddsk[i]);
			f[3] = fm;
			f[5] = fd;
		}
		if (put_fields(&b, f, nd->nfields) < 0)
			goto out;
	}
	if (buf_puts(&b, "\n") < 0)
		goto out;
	for (i = 0; i < h->ninsts; i++) {
		const struct htools_inst *in = &h->insts[i];
		char *f[HTOOLS_INST_NF];

		memcpy(f, in->field, sizeof(f));
		f[6] = h->nodes[p->vms[i].host].field[0];
		if (put_fields(&b, f, in->nfields) < 0)
			goto out;
	}
	if (buf_puts(&b, "\n") < 0)
		goto out;
	for (i = 0; i < h->nctags; i++)
		if (buf_printf(&b, "%s\n", h->ctags[i]) < 0)
			goto out;
	if (h->has_ipolicy_section) {
		if (buf_puts(&b, "\n") < 0)
			goto out;
		for (i = 0; i < h->nipolicy; i++)
			if (buf_printf(&b, "%s\n", h->ipolicy[i]) < 0)
				goto out;
	}
	res = buf_detach(&b);
	if (res == NULL)
		err_set("out of memory");
out:
	free(dmem);
	free(ddsk);
	buf_free(&b);
	return res;
}

int htools_write(const struct sched_problem *p, const char *path)
{
	char *text = htools_format(p);
	int ret;

	if (text == NULL)
		return -1;
	ret = file_write_atomic(path, text, strlen(text), 0644);
	if (ret < 0)
		err_prefix("%s", path);
	free(text);
	return ret;
}

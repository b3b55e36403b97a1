/*
 * htools.h - Ganeti's htools text format (hbal/hspace/hinfo -t FILE).
 *
 * A file has sections separated by one empty line: node groups, nodes,
 * instances, cluster tags and (optional) instance policies:
 *
 *   name|uuid|alloc_policy|tags[|networks]
 *   name|t_mem|n_mem|f_mem|t_dsk|f_dsk|t_cpu|offline(Y/N/M)|group_uuid
 *       [|spindles|tags|excl_stor|free_spindles|n_cpu|cpu_speed]
 *   name|mem|dsk|vcpus|status|auto_balance|pnode|snode|disk_template|tags
 *       [|spindle_use|spindles|forthcoming]
 *   one cluster tag per line
 *   owner|stdspec|minspec;maxspec[;...]|disk_templates|vcpu_ratio|spindle_ratio
 *
 * Memory and disk are MiB in the file. htools_read() maps the cluster onto
 * the placement model: one pool per node group, one host per node, one VM
 * per instance (primary node -> host, vcpus, memory in MiB, local disk in
 * GiB), one shared tenant "ganeti". Whatever the model does not hold (the
 * file's fields, secondary nodes, status, disk template, tags, policies)
 * stays in struct htools_data, so htools_write() can write the cluster
 * back with its meaning intact and only the placement changed.
 */
#ifndef FC_SCHED_HTOOLS_H
#define FC_SCHED_HTOOLS_H

#include "scheduler/sched.h"

#define HTOOLS_NODE_NF 15
#define HTOOLS_INST_NF 13
#define HTOOLS_GROUP_NF 5

/* Largest htools file read (bytes). */
#define HTOOLS_MAX_BYTES (256u << 20)

/* Largest magnitude of any number in a file: 2^36 (64 PiB when it counts
 * MiB). The reader refuses more, so that converting a size to an integer
 * is defined and sums over every instance a file can hold (at most 2^25
 * lines) stay within int64_t. */
#define HTOOLS_MAX_NUM ((int64_t)1 << 36)

enum htools_mirror {
	HT_MIRROR_NONE = 0, /* plain, file: pinned to its node */
	HT_MIRROR_INTERNAL, /* drbd: primary + secondary node */
	HT_MIRROR_EXTERNAL, /* rbd, ext, sharedfile, gluster, blockdev,
			       diskless: may move to any node of its group */
};

struct htools_group {
	char *field[HTOOLS_GROUP_NF]; /* as read */
	int nfields;
	double vcpu_ratio;            /* from the group's ipolicy line */
	double spindle_ratio;
};

struct htools_node {
	char *field[HTOOLS_NODE_NF];  /* as read; unread trailing ones NULL */
	int nfields;
	bool unknown;                 /* a '?' resource: treated as offline */
	bool offline;                 /* flag Y */
	double tmem, tdsk, tcpu, cpu_speed;
	int64_t nmem, fmem, fdsk, ncpu, tspindles, fspindles;
	bool excl_stor;
	int group;                    /* index into groups */
};

struct htools_inst {
	char *field[HTOOLS_INST_NF];
	int nfields;
	int64_t mem, dsk, vcpus, spindle_use;
	int pnode;                    /* as read */
	int snode;                    /* -1: none */
	bool uses_memory;             /* status running / ERROR_up / ... */
	bool online;                  /* status not ADMIN_offline */
	bool local_storage;           /* plain, drbd */
	bool forthcoming;
	enum htools_mirror mirror;
};

struct htools_data {
	char *text;                   /* the file; fields point into it */
	struct htools_group *groups;
	size_t ngroups;
	struct htools_node *nodes;    /* parallel to p->hosts */
	size_t nnodes;
	struct htools_inst *insts;    /* parallel to p->vms */
	size_t ninsts;
	char **ctags;                 /* cluster tags, one per line */
	size_t nctags;
	char **ipolicy;               /* policy lines as read */
	size_t nipolicy;
	bool has_ipolicy_section;
	size_t nsections;             /* sections read (4 or 5) */
};

/* Read path into a new problem. On success *out is owned by the caller
 * (sched_problem_free() also frees its htools data); errors name
 * "FILE:LINE: ..." and the field. */
int htools_read(const char *path, struct sched_problem **out);

/* The same from text held in memory; name is used in messages. */
int htools_parse(const char *name, const char *text, size_t len,
		 struct sched_problem **out);

/* Write p (read by htools_read()) to path in the same format, with every
 * instance on p->vms[i].host and the nodes' free memory and disk adjusted
 * for the instances that moved, so that Ganeti's tools see the new
 * placement. -1 when p holds no htools data or a VM has no host. */
int htools_write(const struct sched_problem *p, const char *path);

/* The file text for p (caller frees), as htools_write() writes it. */
char *htools_format(const struct sched_problem *p);

/* True when the instance behind VM i may be moved by a plan (externally
 * mirrored disk, not forthcoming); false for pinned ones. */
bool htools_vm_movable(const struct sched_problem *p, size_t vm);

void htools_data_free(struct htools_data *h);

#endif

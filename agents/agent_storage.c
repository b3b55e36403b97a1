/*
 * agent_storage.c - the VMs' files that must not outlive their VM on
 * this node (agent_storage.h).
 */
#include <unistd.h>

#include "agents/agent_storage.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

bool agent_storage_marked(const char *file, char vm_id[37])
{
	static const char *const suffixes[] = { ".qcow2", ".console.log",
						".seed.iso" };

	/* the lower-case form the agent writes, nothing else */
	if (!uuid_prefix(file, true))
		return false;
	for (size_t i = 0; i < FC_ARRAY_LEN(suffixes); i++)
		if (strcmp(file + 36, suffixes[i]) == 0) {
			memcpy(vm_id, file, 36);
			vm_id[36] = '\0';
			return true;
		}
	return false;
}

static bool id_known(const char *const *known, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(known[i], id) == 0)
			return true;
	return false;
}

int agent_storage_orphans(const char *const *files, size_t nfiles,
			  const char *const *known, size_t nknown,
			  const struct agent_orphan *prev, size_t nprev,
			  uint64_t now_ns, uint64_t grace_ns,
			  struct agent_orphan **next, size_t *nnext,
			  struct agent_orphan **remove, size_t *nremove)
{
	struct agent_orphan *nx = calloc(nfiles + 1, sizeof(*nx));
	struct agent_orphan *rm = calloc(nfiles + 1, sizeof(*rm));
	size_t nn = 0, nr = 0;

	if (nx == NULL || rm == NULL) {
		free(nx);
		free(rm);
		return err_set("out of memory");
	}
	for (size_t i = 0; i < nfiles; i++) {
		struct agent_orphan o = { .since_ns = now_ns };

		if (!agent_storage_marked(files[i], o.vm_id) ||
		    id_known(known, nknown, o.vm_id))
			continue;
		str_copy(o.file, sizeof(o.file), files[i]);
		for (size_t j = 0; j < nprev; j++)
			if (strcmp(prev[j].file, o.file) == 0 &&
			    prev[j].since_ns <= now_ns)
				o.since_ns = prev[j].since_ns;
		if (now_ns - o.since_ns >= grace_ns)
			rm[nr++] = o;
		else
			nx[nn++] = o;
	}
	*next = nx;
	*nnext = nn;
	*remove = rm;
	*nremove = nr;
	return 0;
}

void agent_storage_purge_migrated(struct agent_virt *v,
				  const struct agent_journal_entry *journal,
				  size_t n, const struct agent_domain *doms,
				  size_t n_doms)
{
	char disk[PATH_MAX];

	for (size_t i = 0; i < n; i++) {
		const struct agent_journal_entry *e = &journal[i];
		bool here = false;

		if (e->state != AGENT_JOURNAL_DONE)
			continue;
		for (size_t j = 0; j < n_doms; j++)
			if (strcasecmp(doms[j].uuid, e->vm_id) == 0)
				here = true;
		if (here || agent_virt_disk_path(v, e->vm_id, disk,
						 sizeof(disk)) < 0 ||
		    access(disk, F_OK) != 0)
			continue;
		if (agent_virt_purge(v, e->vm_id) < 0)
			log_warn("migrated to node '%s': %s", e->target_node,
				 err_msg());
	}
}

int agent_storage_sweep(struct agent_storage *st, struct agent_virt *v,
			const char *const *known, size_t nknown,
			uint64_t now_ns)
{
	struct agent_orphan *next = NULL, *rm = NULL, *old;
	size_t nnext = 0, nrm = 0, nfiles = 0;
	char **files = NULL;
	int ret = -1;

	if (agent_virt_storage_files(v, &files, &nfiles) < 0)
		goto out;
	if (agent_storage_orphans((const char *const *)files, nfiles, known,
				  nknown, st->orphans, st->norphans, now_ns,
				  st->grace_ns, &next, &nnext, &rm, &nrm) < 0)
		goto out;
	for (size_t i = 0; i < nnext; i++) {
		bool seen = false;

		for (size_t j = 0; j < st->norphans; j++)
			if (strcmp(st->orphans[j].file, next[i].file) == 0)
				seen = true;
		if (!seen)
			log_info("storage: '%s' has no vm on this node: "
				 "removed in %" PRIu64 " s unless one "
				 "appears",
				 next[i].file, (uint64_t)(st->grace_ns / 1000000000ULL));
	}
	for (size_t i = 0; i < nrm; i++) {
		if (agent_virt_storage_remove(v, rm[i].file) < 0)
			log_warn("storage: orphan '%s': %s", rm[i].file,
				 err_msg());
		else
			log_info("storage: removed orphan '%s' (vm %s, none "
				 "on this node for %" PRIu64 " s)",
				 rm[i].file, rm[i].vm_id,
				 (uint64_t)((now_ns - rm[i].since_ns) / 1000000000ULL));
	}
	/* next becomes the list; the old one is freed with the rest */
	ret = 0;
	old = st->orphans;
	st->orphans = next;
	next = old;
	st->norphans = nnext;
out:
	free(rm);
	free(next);
	agent_virt_strv_free(files);
	return ret;
}

void agent_storage_clear(struct agent_storage *st)
{
	free(st->orphans);
	st->orphans = NULL;
	st->norphans = 0;
}

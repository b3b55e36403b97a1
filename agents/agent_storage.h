/*
 * agent_storage.h - the VMs' files that must not outlive their VM on
 * this node: the disk, seed and console log of a VM whose migration away has
 * completed (the migration journal says so), and orphaned fincloud files
 * in storage_dir that no VM of this node stands behind, removed after a
 * grace period (docs/agent.md "Storage clean-up").
 *
 * fincloud's marker: a file of the agent's own storage_dir (the directory
 * of its libvirt pool) named "<uuid>.qcow2", "<uuid>.seed.iso" or
 * "<uuid>.console.log", the
 * uuid in the lowercase 8-4-4-4-12 form the agent writes. A file without
 * it is never touched.
 *
 * agent_storage_orphans() is the pure rule (no I/O); the rest calls
 * agent_virt. Main loop only: no locking.
 */
#ifndef AGENT_STORAGE_H
#define AGENT_STORAGE_H

#include "agents/agent_journal.h"
#include "agents/agent_virt.h"

/* A file of storage_dir with fincloud's marker and no VM behind it. */
struct agent_orphan {
	char file[64];       /* bare name, "<uuid>.qcow2" or ".console.log" */
	char vm_id[37];
	uint64_t since_ns;   /* monotonic: the first pass that saw it so */
};

/* True when file (a bare name) carries fincloud's marker; then the VM's
 * UUID goes into vm_id (37 bytes). */
bool agent_storage_marked(const char *file, char vm_id[37]);

/* The orphan rule. files: the nfiles names in storage_dir; known: the
 * nknown UUIDs (any case) of the VMs this node stands behind (specs of
 * any state, libvirt domains, migrations not known done); prev: the
 * nprev orphans of the previous pass. A marked file whose VM is not
 * known is an orphan since prev's since_ns (now_ns when new); once
 * now_ns - since_ns >= grace_ns it goes into *remove (*nremove), else
 * into *next (*nnext): the orphans to pass as prev next time. Unmarked
 * files and files with a VM are in neither. The caller frees *next and
 * *remove with free() (both allocated, also when empty). -1 with
 * err_set() when out of memory (nothing to free). */
int agent_storage_orphans(const char *const *files, size_t nfiles,
			  const char *const *known, size_t nknown,
			  const struct agent_orphan *prev, size_t nprev,
			  uint64_t now_ns, uint64_t grace_ns,
			  struct agent_orphan **next, size_t *nnext,
			  struct agent_orphan **remove, size_t *nremove);

/* The orphans being timed and the grace period, kept from pass to pass. */
struct agent_storage {
	uint64_t grace_ns;
	struct agent_orphan *orphans;
	size_t norphans;
};

/* Remove the disk and console log of every VM whose migration away the
 * journal (n entries) records as done, when the VM is not among doms
 * (n_doms, a list taken after those entries ended): agent_virt_purge()
 * refuses anyway while it is defined here. Failures are logged. */
void agent_storage_purge_migrated(struct agent_virt *v,
				  const struct agent_journal_entry *journal,
				  size_t n, const struct agent_domain *doms,
				  size_t n_doms);

/* One orphan sweep over storage_dir: the rule above with known (nknown
 * UUIDs) and the time now, each orphan past its grace removed and
 * logged. Failures are logged; -1 only when out of memory or storage_dir
 * cannot be read. */
int agent_storage_sweep(struct agent_storage *st, struct agent_virt *v,
			const char *const *known, size_t nknown,
			uint64_t now_ns);

/* Free what st holds (not st). */
void agent_storage_clear(struct agent_storage *st);

#endif

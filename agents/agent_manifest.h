/*
 * agent_manifest.h - the static manifest directory: one VM spec per
 * manifest_dir/NAME.json file, reconciled with or without a controller
 * (the node's own infrastructure VMs; an agent testable on its own).
 */
#ifndef AGENT_MANIFEST_H
#define AGENT_MANIFEST_H

#include "agents/agent_report.h"

#define AGENT_MANIFEST_MAX_BYTES (64 * 1024)
#define AGENT_MANIFEST_MAX_FILES 1024

/* Read every *.json file of dir in name order. Good specs go to *specs
 * (from_manifest set), each bad file becomes one entry of *errs naming
 * the file; neither stops the others. A missing dir means no manifests.
 * The caller frees both arrays with free(). -1 only when the directory
 * cannot be read or memory ran out. */
int agent_manifest_load(const char *dir, struct agent_vm_spec **specs,
			size_t *nspecs, struct agent_vm_error **errs,
			size_t *nerrs);

#endif

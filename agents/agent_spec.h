/*
 * agent_spec.h - one VM spec: what the controller's desired state (or a
 * static manifest file) says a VM on this node should be.
 *
 * The shape is schemas/agent-desired.json $defs.vm_spec. Parsing checks
 * every field (type, range, name rules, unknown fields), because a spec
 * comes from the network or from a file an operator wrote, and it ends up
 * in domain XML and in file names.
 */
#ifndef AGENT_SPEC_H
#define AGENT_SPEC_H

#include <cjson/cJSON.h>

#include "common/fc.h"
#include "agents/agent_net.h"
#include "common/util.h"

enum agent_want {
	AGENT_WANT_RUNNING = 0,
	AGENT_WANT_STOPPED,
	AGENT_WANT_DELETED,
};

struct agent_seed;

struct agent_vm_spec {
	char vm_id[37];                  /* lowercase UUID */
	char name[NAME_MAX_LEN + 1];
	char tenant[NAME_MAX_LEN + 1];
	char group[NAME_MAX_LEN + 1];    /* "" when none */
	char base_image[NAME_MAX_LEN + 1]; /* "" when none */
	/* a catalogue image (the disk is an overlay of the cached base,
	 * agent_image.h): its digest ("" when none), format, bytes */
	char image_sha256[65];
	char image_format[8];
	int64_t image_size;
	/* its NoCloud seed (agent_seed.h), owned by the desired state the
	 * spec came from; NULL when none */
	const struct agent_seed *seed;
	int vcpus;
	int64_t mem_mib;
	int64_t disk_gib;
	enum agent_want want;
	bool wipe;                       /* wipe the disk before deleting it */
	/* an RBD disk (agent_rbd.h): its Ceph pool ("" when the disk is a
	 * local qcow2 overlay), monitors ("host[:port],..."), cephx user */
	char rbd_pool[65];
	char rbd_monitors[512];
	char rbd_user[65];
	bool from_manifest;
	/* its NICs (agent_net.h): owned by the struct agent_desired the
	 * spec was parsed into, borrowed by copies of the spec */
	struct agent_net_port *ports;
	size_t nports;
};

/* Fill *out from obj (path names it in errors, e.g. "$.vms[2]").
 * -1 with err_set() on the first problem found. out->ports, when the
 * spec has any, is the caller's to free (agent_net_ports_free()). */
int agent_spec_parse(const cJSON *obj, const char *path,
		     struct agent_vm_spec *out);

/* 0 when s is a UUID in 8-4-4-4-12 hex form. */
int agent_uuid_check(const char *what, const char *s);

/* Point *out at the required string obj[key] (obj stands at the JSON path
 * `path`, e.g. "$.tasks[0]") once it is a UUID in 8-4-4-4-12 hex form, in
 * either case; *out lives as long as obj. Returns 0, or -1 with err_set()
 * naming path.key. */
int agent_uuid_get(const cJSON *obj, const char *path, const char *key,
		   const char **out);

const char *agent_want_name(enum agent_want w);

#endif

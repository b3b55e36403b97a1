/*
 * agent_seed.h - a VM's NoCloud seed: what its first boot is told
 * (docs/images.md "First boot"), written as an ISO 9660 image labelled
 * "cidata" that the domain gets as a read-only CD-ROM.
 *
 * The seed holds three files:
 *
 *   meta-data       instance-id (the VM's id), local-hostname, and
 *                   public-keys (the SSH keys) as a YAML list
 *   user-data       the VM's user-data as given (empty when none)
 *   network-config  version 2; one ethernets entry per port matched by
 *                   its MAC (the NIC's name in the guest is not known in
 *                   advance) with its static address, MTU and default
 *                   route (agent_net_seed_ethernets()), or none
 *                   ("ethernets: {}")
 *
 * The text of each file is made by a pure function (unit-tested); the
 * ISO is written by genisoimage (docs/decisions.md), into a temporary
 * file renamed into place, so a seed is whole or absent.
 */
#ifndef AGENT_SEED_H
#define AGENT_SEED_H

#include <cjson/cJSON.h>

#include "common/fc.h"
#include "common/util.h"

struct buf;
struct agent_net_port;

#define AGENT_SEED_KEYS_MAX 32
#define AGENT_SEED_KEY_LEN 8192
#define AGENT_SEED_USER_DATA_MAX 65536

/* What a seed says; owned by the desired state it was parsed from. */
struct agent_seed {
	char vm_id[37];
	char hostname[NAME_MAX_LEN + 1];
	char **keys;        /* nkeys one-line strings */
	size_t nkeys;
	char *user_data;    /* NULL when none */
	/* the VM's ports, borrowed from its vm_spec (agent_net.h) */
	const struct agent_net_port *ports;
	size_t nports;
};

/* Read a vm_spec's "first_boot" object (at JSON path path) for VM vm_id
 * into *out (its ports are left to the caller to set): hostname a valid name, at most AGENT_SEED_KEYS_MAX keys of
 * one line each, user-data at most AGENT_SEED_USER_DATA_MAX bytes. -1
 * with err_set() naming the field; *out is then empty. Release with
 * agent_seed_free(). */
int agent_seed_parse(const cJSON *obj, const char *path, const char *vm_id,
		     struct agent_seed *out);

/* Free what s holds (not s itself); safe on a zeroed seed. */
void agent_seed_free(struct agent_seed *s);

/* The text of meta-data, network-config and user-data into out
 * (appended). 0, or -1 with err_set() when out is full. */
int agent_seed_meta_data(const struct agent_seed *s, struct buf *out);
int agent_seed_network_config(const struct agent_seed *s, struct buf *out);
int agent_seed_user_data(const struct agent_seed *s, struct buf *out);

/* Write the seed ISO of s to iso_path (mode 0600, replaced atomically
 * when there is one). 0, or -1 with err_set() naming the VM. */
int agent_seed_write(const struct agent_seed *s, const char *iso_path);

#endif

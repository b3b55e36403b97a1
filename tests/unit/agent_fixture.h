/*
 * agent_fixture.h - what the agent's unit tests share (linked into each
 * of them): a VM spec to start from and a struct agent_virt connected to
 * libvirt's test:///default driver (a private in-memory host per
 * connection, with one foreign domain "test").
 */
#ifndef AGENT_FIXTURE_H
#define AGENT_FIXTURE_H

#include "agents/agent_virt.h"

/* A valid spec: vm_id id, name name (both copied), tenant "loan", 2
 * vCPUs, 128 MiB, a 1 GiB disk, no base image, want want. */
struct agent_vm_spec agent_fixture_spec(const char *id, const char *name,
					enum agent_want want);

/* The agent's default migration settings: auto-converge, no time
 * limit, no post-copy. */
extern const struct agent_migrate_opts agent_fixture_migrate_opts;

/* Start libvirt's event loop and connect to test:///default, with fn
 * (may be NULL) as the event callback; the disk and image directories do
 * not exist (the test driver has no storage). NULL after printing why.
 * Release it with agent_fixture_virt_close(). */
struct agent_virt *agent_fixture_virt_open(agent_virt_event_fn fn,
					   void *opaque);

/* cmocka teardown for a group whose state is agent_fixture_virt_open()'s:
 * disconnects, stops the event loop, drops the parsed schema. */
int agent_fixture_virt_close(void **state);

#endif

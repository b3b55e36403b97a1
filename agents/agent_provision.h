/*
 * agent_provision.h - what a VM needs on this node before libvirt
 * defines it or receives it (docs/images.md): its catalogue image
 * fetched from the controller into the image cache (agent_image.h) and
 * checked; and, for a VM migrating here, its disk (an overlay of that
 * image, at the path the source uses) and its NoCloud seed made in
 * advance, since libvirt copies only the overlay of an incremental
 * storage migration and creates no disk for it.
 *
 * Images are fetched by a thread of its own, one at a time, so that a
 * large first fetch does not hold up the main loop's work for the other
 * VMs of the node: a VM whose image is not cached yet waits (its create
 * or its preparation for a migration is left for a later pass, the VM
 * stays pending at the controller) and the loop is woken when the fetch
 * ends.
 *
 * One struct agent_provision per agent. The main loop calls everything
 * but agent_provision_set_credential() (any thread) and
 * agent_provision_prepared() (the heartbeat thread), which take its lock.
 */
#ifndef AGENT_PROVISION_H
#define AGENT_PROVISION_H

#include "agents/agent_config.h"
#include "agents/agent_image.h"
#include "agents/agent_spec.h"
#include "agents/agent_virt.h"

struct agent_provision;

/* For cfg's controller, node, image_dir and image_cache_max (cfg must
 * outlive it); no_controller: nothing can be fetched. wake(ctx) is
 * called from the fetch thread each time a fetch ended (NULL: not
 * called). A cache directory that cannot be made is logged: VMs from
 * images then fail, each with the reason. NULL when out of memory. */
struct agent_provision *agent_provision_new(const struct agent_config *cfg,
					    bool no_controller,
					    void (*wake)(void *ctx), void *ctx);
/* Stops a fetch in progress (at its next piece of data; its temporary
 * file is removed) and the fetch thread, then releases p. NULL is
 * fine. */
void agent_provision_free(struct agent_provision *p);

/* Fetch images with fetch(ud, ...) instead of from the controller (the
 * unit tests' bytes from memory). Before the first fetch. */
void agent_provision_set_fetch(struct agent_provision *p,
			       agent_image_fetch_fn fetch, void *ud);

/* The credential fetches use (copied; "" until registered). */
void agent_provision_set_credential(struct agent_provision *p,
				    const char *cred);

/* The start of a pass: the images in use are those of specs (nspecs; a
 * spec to be deleted uses its image until its domain is gone from doms,
 * ndoms) and of incoming (nincoming, VMs migrating here). Pointers into
 * specs and incoming are kept until agent_provision_pass_end(). */
int agent_provision_pass_begin(struct agent_provision *p,
			       const struct agent_vm_spec *specs, size_t nspecs,
			       const struct agent_vm_spec *incoming,
			       size_t nincoming,
			       const struct agent_domain *doms, size_t ndoms);

/* Before s is defined: its image (if any) in the cache and good. 0 when
 * it is (or s has none); 1 when it is being fetched (queued now when it
 * was not; the VM must wait for a later pass); -1 with err_set() naming
 * the VM (also when its fetch failed: "SHA-256 mismatch" when the
 * controller sent other bytes twice; the next call fetches again). */
int agent_provision_image(struct agent_provision *p,
			  const struct agent_vm_spec *s);

/* Define s (and with start, start it; agent_virt_create()) once its
 * image is in the cache: 0 also when it is not yet (its fetch queued or
 * running; a later pass, woken when the fetch ends, creates it). -1
 * with err_set() naming the VM. */
int agent_provision_create(struct agent_provision *p, struct agent_virt *v,
			   const struct agent_vm_spec *s, bool start);

/* Wait until no image fetch is queued or running (agent --once: the
 * pass after it creates the VMs that waited). True when there was one
 * to wait for. */
bool agent_provision_wait(struct agent_provision *p);

/* Whether an image fetch is queued or running: a pass will follow its
 * end, whose report the heartbeat thread must not hold back behind a
 * long-poll. Any thread (takes the provisioner's lock). */
bool agent_provision_busy(struct agent_provision *p);

/* The VMs migrating here (incoming, n) that are not here yet (doms,
 * ndoms): fetch each one's image and make its disk and seed, so that
 * the source may start the migration; the ones ready are what
 * agent_provision_prepared() reports. A failure is logged per VM (the
 * controller keeps the migration waiting). */
void agent_provision_incoming(struct agent_provision *p,
			      struct agent_virt *v,
			      const struct agent_vm_spec *incoming, size_t n,
			      const struct agent_domain *doms, size_t ndoms);

/* The end of a pass: the cache brought within its bound (when trim:
 * the pass knew every VM of the node), the in-use list dropped. */
void agent_provision_pass_end(struct agent_provision *p, bool trim);

/* The ids of the incoming VMs ready for their migration, as a new JSON
 * array (for the heartbeat's "prepared"); NULL when out of memory. */
cJSON *agent_provision_prepared(struct agent_provision *p);

#endif

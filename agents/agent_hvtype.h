/*
 * agent_hvtype.h - which hypervisor type this node's guests run with:
 * "kvm" (hardware KVM) or "qemu" (TCG emulation), and why.
 *
 * /dev/kvm alone does not say that KVM can run an operating system: the
 * paravirtual nested KVM of some cloud machines (the kvm_pvm module) runs
 * 64-bit paged code but fails on a guest's firmware and boot loader, so
 * guests that boot an OS must run under TCG there. The verdict is a pure
 * function of the facts (agent_hvtype_judge) and of the agent's
 * virt_type setting; the facts come from the filesystem under a root
 * (agent_hvtype_facts: "/" in the agent, a fake tree in tests).
 */
#ifndef AGENT_HVTYPE_H
#define AGENT_HVTYPE_H

#include "common/fc.h"

/* What the node offers. */
struct agent_hvtype_facts {
	bool dev_kvm;   /* ROOT/dev/kvm exists and is readable and writable */
	bool kvm_pvm;   /* ROOT/sys/module/kvm_pvm exists: paravirtual
			   nested KVM */
};

struct agent_hvtype_verdict {
	char type[8];     /* "kvm" or "qemu": the domain type of guests */
	char reason[256]; /* why, for the node's inventory and the log */
};

/* Gather the facts under root (a directory; "/" on a node). Never fails:
 * what cannot be read counts as absent. */
void agent_hvtype_facts(const char *root, struct agent_hvtype_facts *f);

/* Judge f into *v (zeroed first). setting is the agent's virt_type:
 * "auto" (or NULL) decides from the facts: no /dev/kvm -> qemu, kvm_pvm
 * -> qemu, otherwise kvm; "kvm" or "qemu" is taken as the operator's
 * choice, the reason then naming what detection would have said.
 * -1 with err_set() for any other setting. */
int agent_hvtype_judge(const struct agent_hvtype_facts *f,
		       const char *setting, struct agent_hvtype_verdict *v);

/* 0 when s is a valid virt_type setting ("auto", "kvm", "qemu"), else -1
 * with err_set(). */
int agent_hvtype_setting_check(const char *s);

#endif

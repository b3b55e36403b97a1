/*
 * domname.h - the libvirt domain name of a VM: "TENANT.NAME".
 *
 * The controller builds it into each host's desired state (api_agent.c);
 * the agent names the domain with it and accepts at most NAME_MAX_LEN
 * characters (agents/agent_spec.c). A VM is therefore only created when
 * its domain name fits (api_vm.c): both sides of the rule are here.
 */
#ifndef FC_CTRL_DOMNAME_H
#define FC_CTRL_DOMNAME_H

#include "common/fc.h"
#include "common/util.h"

/* Room for the domain name of any tenant and VM name (each at most
 * NAME_MAX_LEN characters), with its NUL. */
#define DOMNAME_SIZE (2 * NAME_MAX_LEN + 2)

/* 0 when the domain name of VM `name` of `tenant` is at most NAME_MAX_LEN
 * characters long; -1 with err_set() ("the domain name 'T.N' would be
 * longer than 63 characters") when not. */
int domname_check(const char *tenant, const char *name);

/* Write the domain name of VM `name` of `tenant` into out (size bytes):
 * 0, or -1 with err_set() when it does not fit out (it always fits
 * DOMNAME_SIZE bytes for valid names). */
int domname_format(const char *tenant, const char *name, char *out,
		   size_t size);

#endif

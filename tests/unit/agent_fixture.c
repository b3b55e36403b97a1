/* agent_fixture.c - see agent_fixture.h. */
#include "tests/unit/fc_test.h"

#include "agents/agent_domxml.h"
#include "common/err.h"
#include "common/util.h"
#include "tests/unit/agent_fixture.h"

const struct agent_migrate_opts agent_fixture_migrate_opts = {
	.auto_converge = true,
};

struct agent_vm_spec agent_fixture_spec(const char *id, const char *name,
					enum agent_want want)
{
	struct agent_vm_spec s;

	memset(&s, 0, sizeof(s));
	str_copy(s.vm_id, sizeof(s.vm_id), id);
	str_copy(s.name, sizeof(s.name), name);
	str_copy(s.tenant, sizeof(s.tenant), "loan");
	s.vcpus = 2;
	s.mem_mib = 128;
	s.disk_gib = 1;
	s.want = want;
	return s;
}

struct agent_virt *agent_fixture_virt_open(agent_virt_event_fn fn,
					   void *opaque)
{
	struct agent_virt *v = NULL;

	if (agent_virt_event_loop_start() < 0)
		goto fail;
	v = agent_virt_new("test:///default", "/nonexistent/disks",
			   "/nonexistent/images");
	if (v == NULL)
		goto fail;
	if (fn)
		agent_virt_set_event_cb(v, fn, opaque);
	if (agent_virt_connect(v) < 0)
		goto fail;
	return v;
fail:
	print_message("%s\n", err_msg());
	agent_virt_free(v);
	return NULL;
}

int agent_fixture_virt_close(void **state)
{
	agent_virt_free(*state);
	agent_virt_event_loop_stop();
	agent_domxml_cleanup();
	return 0;
}

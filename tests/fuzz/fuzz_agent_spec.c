/* libFuzzer target: agents/agent_spec.c (with agents/agent_net.c for the
 * ports) reads the input as one VM spec (schemas/agent-desired.json
 * $defs.vm_spec) or, for an array, as a list
 * of them, as the agent does with the controller's desired state and its
 * manifest files. Corpus: tests/fuzz/seeds/agent_spec/. */
#include <stddef.h>
#include <stdint.h>

#include "agents/agent_net.h"
#include "agents/agent_spec.h"
#include "common/err.h"
#include "common/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_vm_spec spec = { 0 };
	cJSON *root = NULL;
	const cJSON *it;

	if (json_parse((const char *)data, size, "fuzz.json", &root) < 0)
		goto out;
	if (cJSON_IsArray(root)) {
		cJSON_ArrayForEach(it, root) {
			if (agent_spec_parse(it, "$[]", &spec) == 0)
				agent_net_ports_free(spec.ports, spec.nports);
		}
	} else if (agent_spec_parse(root, "$", &spec) == 0) {
		agent_net_ports_free(spec.ports, spec.nports);
	}
	(void)agent_want_name(spec.want);
out:
	cJSON_Delete(root);
	err_clear();
	return 0;
}

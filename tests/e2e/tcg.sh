#!/usr/bin/env bash
# fincloud on nodes without KVM: two testbed nodes whose /dev has no kvm
# (testbed.sh --no-kvm), as on a machine where only /dev/kvm is missing.
# The agents report virt_type qemu, a VM created through finctl runs as a
# TCG guest (domain type 'qemu') with the size asked for, and it
# live-migrates to the other node.
set -u
. "$(dirname "$0")/lib.sh"

e2e_require_testbed
e2e_require_fincloud
E2E_VIRT=qemu
e2e_testbed_up 2 fcq 10.250.15 --no-kvm || exit 1
e2e_ok "testbed up 2 --no-kvm"

types=$(e2e_finctl -o json host list | e2e_json "' '.join(sorted(h['virt_type'] for h in d))")
if [ "$types" = "qemu qemu" ]; then
	e2e_ok "both agents report virt_type qemu (TCG)"
else
	e2e_fail "both agents report virt_type qemu (TCG)" "got '$types'"
fi

e2e_finctl flavor create tiny --vcpus 1 --mem-mib 64 --disk-gib 1 >/dev/null &&
	e2e_finctl tenant create loan >/dev/null
if id=$(e2e_create loan tiny tcg-1 --wait --timeout 120 2>/dev/null); then
	e2e_ok "finctl vm create --wait on TCG nodes"
else
	e2e_fail "finctl vm create --wait on TCG nodes"
	exit 1
fi
from=$(e2e_nodes_of "$id")
if [ -n "$from" ] && e2e_virsh "$from" dumpxml "$id" | grep -q "^<domain type='qemu'" &&
	[ "$(e2e_dominfo "$from" "$id" State)" = running ] &&
	[ "$(e2e_dominfo "$from" "$id" 'CPU(s)')" = 1 ] &&
	[ "$(e2e_dominfo "$from" "$id" 'Max memory')" = "65536 KiB" ]; then
	e2e_ok "the guest runs under TCG on node $from with 1 vCPU and 64 MiB"
else
	e2e_fail "the guest runs under TCG with 1 vCPU and 64 MiB" "on node(s) '$from'"
fi
to=$((3 - ${from:-1}))
if out=$(e2e_finctl vm migrate "$id" --to "node$to" --wait --timeout 120 2>&1) &&
	down=$(e2e_arrived_live "$to" "$id") && [ "$(e2e_nodes_of "$id")" = "$to" ]; then
	e2e_ok "the TCG guest moved live to node $to (downtime $down) and runs there only"
else
	e2e_fail "the TCG guest moves live to node $to and runs there only" "$out" "on node(s) '$(e2e_nodes_of "$id")'"
fi

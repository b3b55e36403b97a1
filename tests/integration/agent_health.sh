#!/usr/bin/env bash
# Node health (issue 19): the real controller and a real fincloud-agent on
# a test:/// simulated host. With min_free_disk_mib set higher than any
# disk, the agent reports its node degraded with the reason and the
# controller shows the host degraded (audited) and places no VM on it;
# a storage dir that disappears makes it degraded too, and once the dir
# is back and the threshold is sane it is healthy again and takes VMs.
. "$FC_TOP/tests/integration/ctrl_lib.bash"
. "$FC_TOP/tests/integration/agent_lib.bash"

host_json() { fc -o json host show "$1" 2>/dev/null; } # NODE
host_status() { host_json "$1" | jq -r .status; } # NODE
restart_agent() { # NODE: stop its agent (by PID), start it again
	kill "${AGENT_PID[$1]}" && wait "${AGENT_PID[$1]}" 2>/dev/null
	sim_agent "$1" 8 16384 200
}

one_node h1 || exit 1
check "a node with room on its disk is healthy" \
	wait_for 10 eval '[ "$(host_status h1)" = ok ]'
fc flavor create small --vcpus 1 --mem-mib 256 --disk-gib 1 >/dev/null
fc tenant create loan >/dev/null

SIM_AGENT_ARGS="--min-free-disk-mib 999999999999" restart_agent h1
check "with min_free_disk_mib above the disk's free space the host turns degraded" \
	wait_for 20 eval '[ "$(host_status h1)" = degraded ]'
check "the controller shows the agent's reason" \
	eval 'host_json h1 | jq -r .degraded_reason | grep -q "below min_free_disk_mib 999999999999"'
check "the host stays up (it is not down, only degraded)" test "$(host_state h1)" = up
check "the change is audited (host.degraded)" \
	test "$(fc -o json audit list | jq '[.[] | select(.action == "host.degraded")] | length')" = 1
fc vm create --tenant loan --flavor small --name web1 >"$work/out" 2>&1
rc=$?
check "no VM is placed on the degraded host: 409 (exit 6) naming it and its reason" \
	eval '[ $rc = 6 ] && grep -q "host .h1. is degraded" "$work/out" && grep -q min_free_disk_mib "$work/out"'
grep -q "degraded: disk:" "$work/nodes/h1/agent.log"
check "the agent logs why it is degraded" test $? = 0

restart_agent h1
check "with a sane threshold the host is healthy again" \
	wait_for 20 eval '[ "$(host_status h1)" = ok ]'
check "the change is audited (host.healthy)" \
	test "$(fc -o json audit list | jq '[.[] | select(.action == "host.healthy")] | length')" = 1

mv "$work/nodes/h1/disks" "$work/nodes/h1/disks.gone"
check "a storage dir that disappears makes the host degraded" \
	wait_for 20 eval 'host_json h1 | jq -r .degraded_reason | grep -q "storage: .* is missing or not writable"'
mv "$work/nodes/h1/disks.gone" "$work/nodes/h1/disks"
check "the dir back, the host is healthy again" \
	wait_for 20 eval '[ "$(host_status h1)" = ok ]'
vm=$(fc vm create --tenant loan --flavor small --name web2 --wait --timeout 30 2>/dev/null)
check "and takes VMs again" test "$(fc -o json vm show "$vm" 2>/dev/null | jq -r .host)" = h1

echo "1..$n"
[ "$nfail" -eq 0 ]

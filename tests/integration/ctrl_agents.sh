#!/usr/bin/env bash
# The real controller with real fincloud-agent processes, one per simulated
# host on libvirt's test:/// driver, driven through finctl only: tenants
# and VMs are created, the VMs run on the hosts the scheduler chose
# (dedicated isolation and anti-affinity hold), stop / start / reboot /
# delete reach libvirt, a killed agent's host goes down and is reconciled
# when it comes back, a failed migration leaves the VM where it was.
. "$FC_TOP/tests/integration/ctrl_lib.bash"
[ -x "$agent" ] || { echo "SKIP: fincloud-agent is not built"; exit 77; }
"$agent" --help >/dev/null 2>&1 || { echo "SKIP: fincloud-agent does not run"; exit 77; }

ctrl_start --heartbeat-timeout 4 --heartbeat-interval 1 || { nok "controller starts"; exit 1; }
fc() { "$finctl" "$@"; }
JOIN=$(fc token create --role join --uses 1000 --description sim 2>/dev/null)
check "finctl token create prints the join token alone" eval '[[ $JOIN =~ ^fc_[0-9a-f]{64}$ ]]'
sim_agent s1 8 16384 200
sim_agent s2 8 16384 200
sim_agent s3 4 8192 100
check "three agents register and report up" \
	wait_for 20 eval '[ "$(fc -o json host list --state up | jq length)" = 3 ]'
fc -o json host show s3 >"$work/out"
check "the inventory comes from each node's libvirt" \
	test "$(jq -r '"\(.vcpus)/\(.mem_mib)/\(.virt_type)"' "$work/out")" = 4/8192/test

fc flavor create small --vcpus 1 --mem-mib 256 --disk-gib 1 >/dev/null &&
	fc flavor create big --vcpus 4 --mem-mib 4096 --disk-gib 10 >/dev/null
check "finctl creates flavors" test $? = 0
fc tenant create loan --quota-vms 20 >/dev/null &&
	fc tenant create pay --isolation dedicated >/dev/null &&
	fc group create pay-ha --tenant pay --policy anti-affinity --availability 0.999 >/dev/null
check "finctl creates tenants and a group" test $? = 0

loan=()
for i in 1 2 3; do
	id=$(fc vm create --tenant loan --flavor small --name "web$i" --wait --timeout 30 2>>"$work/progress")
	loan+=("$id")
done
check "finctl vm create --wait returns once each VM runs" \
	eval '[ ${#loan[@]} = 3 ] && [ -n "${loan[2]}" ]'
check "--wait shows progress until running" grep -q ': running on s' "$work/progress"
v=${loan[0]}
src=$(fc -o json vm show "$v" | jq -r .host)
dst=$(fc -o json host list | jq -r --arg s "$src" '[.[] | select(.name != $s)][0].name')
fc vm migrate "$v" --to "$dst" --wait --timeout 30 >"$work/mig" 2>&1
rc=$?
echo "# migrate: rc=$rc: $(tail -1 "$work/mig" | tr -cd '[:print:]')"
# libvirt's test driver cannot migrate: the task must fail cleanly
if [ $rc = 0 ]; then
	check "a migration moves the VM" test "$(fc -o json vm show "$v" | jq -r .host)" = "$dst"
else
	check "a failed migration is reported (exit 5) with the agent's error" \
		eval '[ $rc = 5 ] && grep -q "failed" "$work/mig"'
	fc -o json vm show "$v" >"$work/out"
	check "and the VM keeps running on its source" \
		test "$(jq -r '"\(.host)/\(.state)"' "$work/out")" = "$src/running"
fi
pay=()
for i in 1 2; do
	pay+=("$(fc vm create --tenant pay --flavor small --group pay-ha --wait --timeout 30 2>/dev/null)")
done
fc -o json vm list >"$work/vms.json"
check "all five VMs run" test "$(jq '[.[] | select(.state == "running")] | length' "$work/vms.json")" = 5
check "each VM runs on the host it was placed on (the host's agent reports it)" \
	test "$(fc -o json host list | jq '[.[].vm_count] | add')" = 5
check "anti-affinity: the pay-ha members are on distinct hosts" \
	test "$(jq -r '[.[] | select(.group == "pay-ha") | .host] | unique | length' "$work/vms.json")" = 2
check "dedicated: no host holds both pay and loan VMs" \
	test "$(jq -r 'group_by(.host) | map([.[].tenant] | unique | length) | max' "$work/vms.json")" = 1
payhost=$(jq -r '[.[] | select(.tenant == "pay")][0].host' "$work/vms.json")
fc vm migrate "${loan[1]}" --to "$payhost" >"$work/out" 2>&1
rc=$?
check "a migration onto a host dedicated to another tenant is refused (409, exit 6: a conflict)" \
	eval '[ $rc = 6 ] && grep -q "dedicated to tenant .pay." "$work/out"'
fc vm list --tenant loan --state running >"$work/out"
check "finctl vm list filters by tenant and state" test "$(grep -c ' running ' "$work/out")" = 3

v=${loan[0]}
fc vm stop "$v" --wait --timeout 30 2>/dev/null
check "finctl vm stop --wait: stopped" test "$(fc -o json vm show "$v" | jq -r .state)" = stopped
fc vm start "$v" --wait --timeout 30 2>/dev/null
check "finctl vm start --wait: running" test "$(fc -o json vm show "$v" | jq -r .state)" = running
fc vm reboot "$v" --wait --timeout 30 2>/dev/null
check "finctl vm reboot --wait: the agent ran the reboot task" test $? = 0
fc -o json task list --vm "$v" >"$work/tasks.json"
check "create, stop, start and reboot are tasks, each done" \
	test "$(jq -r '[.[] | select(.type != "migrate") | "\(.type):\(.state)"] | join(",")' "$work/tasks.json")" = \
	"create:done,stop:done,start:done,reboot:done"
fc vm delete "${loan[2]}" --wait --timeout 30 2>/dev/null
check "the delete task is done once the host confirms" \
	test "$(fc -o json task list --vm "${loan[2]}" | jq -r '[.[] | select(.type == "delete")][0].state')" = "done"
check "finctl vm delete --wait: gone, claim released" \
	eval '! fc vm show "${loan[2]}" >/dev/null 2>&1 && [ "$(fc -o json host list | jq "[.[].vm_count] | add")" = 4 ]'

# a host whose agent dies goes down; its VMs become unknown; reconciled on return
victim=$(fc -o json vm show "${loan[1]}" | jq -r .host)
kill -KILL "${AGENT_PID[$victim]}"
check "a host without heartbeats is marked down" \
	wait_for 15 eval '[ "$(fc -o json host show "$victim" | jq -r .state)" = down ]'
check "its VMs are unknown" \
	test "$(fc -o json vm list --host "$victim" | jq '[.[] | select(.state != "unknown")] | length')" = 0
case $victim in s1) sim_agent s1 8 16384 200 ;; s2) sim_agent s2 8 16384 200 ;; s3) sim_agent s3 4 8192 100 ;; esac
check "its agent comes back (same credential, no new registration) and the host is up" \
	wait_for 20 eval '[ "$(fc -o json host show "$victim" | jq -r .state)" = up ]'
check "its VMs are reconciled to running again" \
	wait_for 20 eval '[ "$(fc -o json vm list --host "$victim" | jq "[.[] | select(.state == \"running\")] | length")" = "$(fc -o json vm list --host "$victim" | jq length)" ]'
check "the restarted agent did not register again" \
	test "$(grep -c 'registered node' "$work/nodes/$victim/agent.log")" = 1

# 200 concurrent creates against the real hosts: never oversubscribed, and
# every acknowledged VM ends up running on its host
fc tenant create burst >/dev/null
fc pool update default --cpu-ratio 8 >/dev/null
check "finctl pool update sets an overcommit ratio" test "$(fc -o json pool show default | jq .cpu_ratio)" = 8
read -r _ made refused <<<"$($py "$FC_TOP/tests/data/ctrl/burst.py" "$URL" "$ADMIN" /v1/vms '{"tenant":"burst","flavor":"small"}' 200 32)"
check "200 concurrent creates: $made created, $refused refused" eval '[ $((made + refused)) = 200 ] && [ $made -gt 0 ] && [ $refused -gt 0 ]'
over=$(fc -o json host list | jq -r '.[] | select(.allocated.vcpus > 8 * .vcpus or .allocated.mem_mib > .mem_mib or .allocated.disk_gib > .disk_gib) | .name')
check "no host is oversubscribed after the burst (vCPUs x 8, memory x 1)" test -z "$over"
check "every VM of the burst runs on its host" \
	wait_for 30 eval '[ "$(fc -o json vm list --tenant burst --state running | jq length)" = "$made" ]'

# capacity: fill up with big VMs until placement refuses, with the reason
for i in $(seq 1 8); do fc vm create --tenant loan --flavor big >/dev/null 2>"$work/out" || break; done
check "when nothing fits, finctl vm create fails (exit 1) saying why" \
	eval 'grep -q "no host" "$work/out" || grep -q quota "$work/out"'
over=$(fc -o json host list | jq -r '.[] | select(.allocated.vcpus > 8 * .vcpus or .allocated.mem_mib > .mem_mib) | .name')
check "no host is oversubscribed" test -z "$over"

fc util show default >"$work/out"
check "finctl util show reports eta for the pool" grep -q '^mem_mib ' "$work/out"
fc audit verify >"$work/out"
check "finctl audit verify: intact" grep -q 'intact' "$work/out"
check "VM state changes are in the audit log" \
	test "$(fc -o json audit list | jq '[.[] | select(.action == "vm.state.running")] | length')" -ge 5
fc --help >/dev/null && fc vm --help >/dev/null && fc vm create --help >/dev/null
check "--help works on every level" test $? = 0
fc vm frobnicate >/dev/null 2>&1
check "an unknown verb is a usage error (exit 2)" test $? = 2
FINCLOUD_URL=http://127.0.0.1:1 fc vm list >/dev/null 2>"$work/out"
rc=$?
check "an unreachable controller is exit 3 with advice" eval '[ $rc = 3 ] && grep -q FINCLOUD_URL "$work/out"'

echo "1..$n"
[ "$nfail" -eq 0 ]

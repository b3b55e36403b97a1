#!/usr/bin/env bash
# fc-test: serial
# Live migration through fincloud-agent between two real KVM nodes: two
# libvirt nodes of scripts/testbed.sh (network + mount namespaces, no
# fincloud controller), one agent in each, and the fake controller
# (tests/data/agent/fake_controller.py) on the test's own bridge address
# handing node 1 a "migrate" task. The guest's disk is local to each node
# (private /var/lib/fincloud), so the agent copies it during the migration.
# Checks: the task is reported done, the guest runs persistently on node 2
# with its disk there and is gone from node 1, node 1's agent does not
# recreate it although its desired state still lists it, and node 2's
# agent takes it over; a port filter copied to node 2 ahead of a
# migration is kept there by its agent until a VM names it; migrated back, node 1's agent manages it again. A migration to a node that does not answer fails and
# leaves the guest running where it was.
set -u
: "${FC_TOP:?run me through tests/run.sh}" "${FC_BIN:?}"
agent=$FC_BIN/fincloud-agent
py=/usr/bin/python3
tb=$FC_TOP/scripts/testbed.sh
[ -x "$agent" ] || { echo "SKIP: $agent is not built"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root for namespaces and libvirt"; exit 77; }
[ -f "$tb" ] || { echo "SKIP: scripts/testbed.sh is missing"; exit 77; }
command -v ip >/dev/null && command -v nsenter >/dev/null ||
	{ echo "SKIP: ip or nsenter missing (iproute2, util-linux)"; exit 77; }
$py -c 'import jsonschema' 2>/dev/null || { echo "SKIP: python3-jsonschema is missing"; exit 77; }

tmp=$(mktemp -d /tmp/fctest-agentmig.XXXXXX)
chmod 755 "$tmp"
# A subnet and a prefix of this test's own, so that it can run next to
# other testbeds.
sub=10.250.$((150 + $$ % 50))
pfx=am$(($$ % 10000))
ctl_pid= a1= a2=
tbargs=(--dir "$tmp/tb" --subnet "$sub" --prefix "$pfx")
cleanup() {
	for p in $a1 $a2 $ctl_pid; do kill "$p" 2>/dev/null; done
	for p in $a1 $a2 $ctl_pid; do wait "$p" 2>/dev/null; done
	bash "$tb" down "${tbargs[@]}" >"$tmp/tb-down.log" 2>&1 || cat "$tmp/tb-down.log"
	rm -rf "$tmp"
}
trap cleanup EXIT

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else nok "$what" "failed: $*"; fi; }
wait_for() { # seconds command...
	local t=$1; shift
	for _ in $(seq 1 $((t * 10))); do "$@" && return 0; sleep 0.1; done
	return 1
}
node_uri() { echo "qemu+tcp://$sub.$(($1 + 1))/system"; }
vsh() { local i=$1; shift; timeout 30 virsh -q -c "$(node_uri "$i")" "$@"; }
state_on() { [ "$(vsh "$1" domstate "$2" 2>/dev/null | head -1)" = "$3" ]; }
absent_on() { ! vsh "$1" dominfo "$2" >/dev/null 2>&1; }
last_hb() { # node python-expr over h
	[ -s "$tmp/ctl/heartbeat-$1.log" ] || return 1
	tail -n 1 "$tmp/ctl/heartbeat-$1.log" | $py -c "import json,sys
h=json.load(sys.stdin)
sys.exit(0 if ($2) else 1)"
}
desired() { # node json
	printf '%s\n' "$2" >"$tmp/ctl/d.tmp" && mv "$tmp/ctl/d.tmp" "$tmp/ctl/desired-$1.json"
}
# Starts node i's agent in the node's namespaces; nsenter execs it, so
# $! is the agent itself.
start_agent() { # i
	local lpid
	mkdir -p "$tmp/n$1/manifests"
	echo "join-$$" >"$tmp/n$1/join.token"
	lpid=$(node_do "$1" cat /run/libvirtd.pid) || return 1
	nsenter -t "$lpid" -n -m -- "$agent" --controller-url "http://$sub.1:$port" \
		--node-name "n$1" --libvirt-uri qemu:///system \
		--migration-uri "$(node_uri "$1")" \
		--storage-dir /var/lib/fincloud/disks --image-dir /var/lib/fincloud/images \
		--credential-file "$tmp/n$1/cred" --join-token-file "$tmp/n$1/join.token" \
		--manifest-dir "$tmp/n$1/manifests" --heartbeat-interval 1 \
		--stop-timeout 2 --log-level debug --insecure yes </dev/null >"$tmp/n$1/agent.log" 2>&1 &
}

# Namespaces are what the testbed needs; without them this test skips.
probe=${pfx}probe
if ! ip netns add "$probe" 2>/dev/null; then
	echo "SKIP: cannot create network namespaces here"
	exit 77
fi
ip netns del "$probe"
unshare --mount --propagation private true 2>/dev/null ||
	{ echo "SKIP: cannot create mount namespaces here"; exit 77; }

# plain qemu+tcp (--insecure): this test is about the agent's migration,
# tests/e2e/tls.sh about its TLS
if ! bash "$tb" up 2 --no-fincloud --insecure "${tbargs[@]}" >"$tmp/tb-up.log" 2>&1; then
	echo "not ok 1 - testbed up 2"; sed 's/^/# /' "$tmp/tb-up.log" | tail -20
	exit 1
fi
ok "two libvirt nodes up ($(node_uri 1), $(node_uri 2))"
node_do() { bash "$tb" exec "${tbargs[@]}" -- "$@"; } # i cmd...
# The point is a migration without shared storage: each node must have
# its own /var/lib/fincloud.
node_do 1 sh -c "mkdir -p /var/lib/fincloud && echo $$ >/var/lib/fincloud/node1.mark"
check "the nodes' storage is private (no shared disks)" \
	sh -c "! bash '$tb' exec ${tbargs[*]} -- 2 test -e /var/lib/fincloud/node1.mark"

mkdir -p "$tmp/ctl"
$py "$FC_TOP/tests/data/agent/fake_controller.py" "$tmp/ctl" "$FC_TOP/schemas" "join-$$" 0 "$sub.1" \
	2>"$tmp/ctl.log" &
ctl_pid=$!
wait_for 10 test -s "$tmp/ctl/port" || { nok "fake controller starts"; exit 1; }
port=$(cat "$tmp/ctl/port")

VM=0c6f8e9a-5555-4222-8333-$(printf '%012d' $$)
T1=7c000000-0000-4000-8000-$(printf '%012d' $$)
T2=7d000000-0000-4000-8000-$(printf '%012d' $$)
name=mig-$$
spec="{\"vm_id\":\"$VM\",\"name\":\"$name\",\"tenant\":\"pay\",\"group\":null,\"vcpus\":1,\"mem_mib\":64,\"disk_gib\":1,\"base_image\":null,\"state\":\"running\"}"
desired n1 "{\"generation\":1,\"vms\":[$spec],\"tasks\":[]}"
desired n2 '{"generation":1,"vms":[],"tasks":[]}'
start_agent 1 && a1=$!
start_agent 2 && a2=$!
[ -n "$a1" ] && [ -n "$a2" ] || { nok "agents start in the nodes"; exit 1; }

check "node 1's agent creates the guest" wait_for 60 state_on 1 "$name" running
check "both agents heartbeat" wait_for 20 last_hb n2 "h['status']=='ok'"

# A target that does not answer: the task fails, the guest stays.
desired n1 "{\"generation\":2,\"vms\":[$spec],\"tasks\":[{\"task_id\":\"$T1\",\"type\":\"migrate\",\"vm_id\":\"$VM\",\"target_node\":\"n9\",\"target_uri\":\"qemu+tcp://$sub.99/system\"}]}"
check "a migration to a node that does not answer is reported failed" \
	wait_for 90 last_hb n1 "any(t['task_id']=='$T1' and t['state']=='failed' for t in h['tasks'])"
check "and the guest keeps running on node 1" state_on 1 "$name" running

# A source copies the port filters a migrating domain references to the
# target just before it migrates (agent_virt_net_copy_filters): the
# target's sweep must not undefine such a filter, defined by someone
# else, while no VM of its own names it yet (orphan_grace).
PF=fincloud-port-7f000000-0000-4000-8000-$(printf '%012d' $$)
printf "<filter name='%s' chain='root'><filterref filter='clean-traffic'/></filter>\n" "$PF" >"$tmp/pf.xml"
pf_on2() { vsh 2 nwfilter-dumpxml "$PF" >/dev/null 2>&1; }
check "a port filter copied to node 2 is defined there" vsh 2 nwfilter-define "$tmp/pf.xml"
hb0=$(wc -l <"$tmp/ctl/heartbeat-n2.log")
wait_for 20 sh -c "[ \$(wc -l <'$tmp/ctl/heartbeat-n2.log') -ge $((hb0 + 3)) ]"
check "node 2's agent keeps it through its passes (no VM of its names it yet)" pf_on2
vsh 2 nwfilter-undefine "$PF" >/dev/null 2>&1

desired n1 "{\"generation\":3,\"vms\":[$spec],\"tasks\":[{\"task_id\":\"$T2\",\"type\":\"migrate\",\"vm_id\":\"$VM\",\"target_node\":\"n2\",\"target_uri\":\"$(node_uri 2)\"}]}"
check "the live migration to node 2 is reported done" \
	wait_for 120 last_hb n1 "any(t['task_id']=='$T2' and t['state']=='done' for t in h['tasks'])"
if ! last_hb n1 "any(t['task_id']=='$T2' and t['state']=='done' for t in h['tasks'])"; then
	tail -n 1 "$tmp/ctl/heartbeat-n1.log" | $py -c 'import json,sys; print("# tasks:", json.load(sys.stdin)["tasks"])'
fi
check "the guest runs on node 2" state_on 2 "$name" running
check "persistently (defined there)" sh -c "virsh -q -c '$(node_uri 2)' dominfo '$name' | grep -Eq '^Persistent:[[:space:]]+yes'"
check "with its disk copied to node 2's storage" \
	sh -c "virsh -q -c '$(node_uri 2)' domblklist '$name' | grep -q '/var/lib/fincloud/disks/$VM.qcow2' && bash '$tb' exec ${tbargs[*]} -- 2 test -s /var/lib/fincloud/disks/$VM.qcow2"
check "and is gone from node 1 (undefined there)" absent_on 1 "$name"
check "its disk and console log left node 1's storage" \
	wait_for 20 sh -c "! bash '$tb' exec ${tbargs[*]} -- 1 sh -c 'ls /var/lib/fincloud/disks/$VM.*' >/dev/null 2>&1"
check "and node 1's pool no longer lists the volume" \
	sh -c "! virsh -q -c '$(node_uri 1)' vol-list --pool fincloud | grep -q '$VM'"
sleep 3
check "node 1's agent does not recreate it although its desired state still lists it" absent_on 1 "$name"
check "node 2's agent reports the arrived guest as a fincloud domain" \
	wait_for 10 last_hb n2 "any(d['vm_id']=='$VM' and d['state']=='running' for d in h['domains'])"

# The controller catches up (the VM is node 2's now) and sends it back.
T3=7e000000-0000-4000-8000-$(printf '%012d' $$)
desired n1 '{"generation":4,"vms":[],"tasks":[]}'
desired n2 "{\"generation\":2,\"vms\":[$spec],\"tasks\":[{\"task_id\":\"$T3\",\"type\":\"migrate\",\"vm_id\":\"$VM\",\"target_node\":\"n1\",\"target_uri\":\"$(node_uri 1)\"}]}"
check "migrating back to node 1 is reported done" \
	wait_for 120 last_hb n2 "any(t['task_id']=='$T3' and t['state']=='done' for t in h['tasks'])"
check "the guest runs on node 1 again and not on node 2" \
	sh -c "virsh -q -c '$(node_uri 1)' domstate '$name' | grep -qx running && ! virsh -q -c '$(node_uri 2)' dominfo '$name' >/dev/null 2>&1"
check "and its disk left node 2's storage" \
	wait_for 20 sh -c "! bash '$tb' exec ${tbargs[*]} -- 2 test -e /var/lib/fincloud/disks/$VM.qcow2"
check "while node 1 has it again" node_do 1 test -s "/var/lib/fincloud/disks/$VM.qcow2"
# Node 1's agent manages the returned VM again: it stops and deletes it.
desired n2 '{"generation":3,"vms":[],"tasks":[]}'
desired n1 "{\"generation\":5,\"vms\":[${spec/\"running\"/\"stopped\"}],\"tasks\":[]}"
check "node 1's agent reconciles the returned VM again (stopped)" \
	wait_for 30 state_on 1 "$name" "shut off"
desired n1 "{\"generation\":6,\"vms\":[${spec/\"running\"/\"deleted\"}],\"tasks\":[]}"
check "and deletes it on request" wait_for 60 absent_on 1 "$name"
check "with its disk" wait_for 20 sh -c "! bash '$tb' exec ${tbargs[*]} -- 1 test -e /var/lib/fincloud/disks/$VM.qcow2"
check "no message broke its schema" test ! -s "$tmp/ctl/violations"
for i in 1 2; do echo "# node $i agent log tail:"; tail -n 6 "$tmp/n$i/agent.log" | sed 's/^/#   /'; done

#!/usr/bin/env bash
# The agent's self-fencing (docs/agent.md "Self-fencing") and the return
# of a node (docs/agent.md "A node that comes back"), against the fake
# controller (tests/data/agent/fake_controller.py) and libvirt's
# test:///default driver, with self_fence_timeout 10 s:
#   - a fincloud domain the desired state stops listing while the node is
#     healthy and that runs stays (it may be arriving by migration);
#   - the controller stops answering (SIGSTOP: connections hang): the
#     guests run on at half the timeout, are destroyed after it (logged,
#     the fence recorded in the state directory), and none is started
#     again while the controller stays silent;
#   - the controller answers again with a desired state that lists one of
#     the two guests (the other was restarted elsewhere): the fence is
#     lifted, the one not listed is undefined (destroyed first), the
#     listed one runs again -- only after the lift;
#   - fenced again, the controller answers with the same desired state:
#     lifted, the listed guest runs again;
#   - an agent restarted while its fence record is on disk starts fenced.
set -u
: "${FC_TOP:?run me through tests/run.sh}" "${FC_BIN:?}"
. "$FC_TOP/tests/integration/tap.bash"
agent=$FC_BIN/fincloud-agent
py=/usr/bin/python3
[ -x "$agent" ] || { echo "SKIP: $agent is not built"; exit 77; }
$py -c 'import jsonschema' 2>/dev/null || { echo "SKIP: python3-jsonschema is missing (scripts/deps.sh)"; exit 77; }

tmp=$(mktemp -d /tmp/fctest-agentfence.XXXXXX)
ctl_pid= agent_pid=
cleanup() {
	[ -n "$ctl_pid" ] && kill -CONT "$ctl_pid" 2>/dev/null
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
	[ -n "$ctl_pid" ] && kill "$ctl_pid" 2>/dev/null && wait "$ctl_pid" 2>/dev/null
	if [ "$failed" -ne 0 ]; then
		echo "# agent log tail:"
		tail -n 25 "$tmp/agent.log" | sed 's/^/#   /'
	fi
	rm -rf "$tmp"
	[ "$failed" -eq 0 ] || exit 1
}
trap cleanup EXIT

wait_for() { # seconds command...
	local t=$1
	shift
	for _ in $(seq 1 $((t * 10))); do "$@" && return 0; sleep 0.1; done
	return 1
}
last_hb() { # PYTHON-EXPR on the newest heartbeat (as h)
	[ -s "$tmp/ctl/heartbeat.log" ] || return 1
	tail -n 1 "$tmp/ctl/heartbeat.log" | $py -c "import json,sys
h=json.load(sys.stdin)
sys.exit(0 if ($1) else 1)"
}
desired() {
	printf '%s\n' "$1" >"$tmp/ctl/desired.tmp" && mv "$tmp/ctl/desired.tmp" "$tmp/ctl/desired.json"
}
vm() { # id name state
	printf '{"vm_id":"%s","name":"%s","tenant":"loan","group":null,"vcpus":1,"mem_mib":64,"disk_gib":1,"base_image":null,"state":"%s"}' "$1" "$2" "$3"
}
# line NUMBER of the first agent log line matching ERE (0: none)
line_of() { grep -nE "$1" "$tmp/agent.log" | head -n 1 | cut -d: -f1 | grep . || echo 0; }

mkdir -p "$tmp/ctl" "$tmp/manifests"
echo "join-$$-secret" >"$tmp/join.token"
V1=0c6f8e9a-1111-4222-8333-$(printf '%012d' $$)
V2=0c6f8e9a-2222-4222-8333-$(printf '%012d' $$)
V3=0c6f8e9a-3333-4222-8333-$(printf '%012d' $$)
$py "$FC_TOP/tests/data/agent/fake_controller.py" "$tmp/ctl" "$FC_TOP/schemas" \
	"join-$$-secret" 0 2>>"$tmp/ctl.log" &
ctl_pid=$!
wait_for 10 test -s "$tmp/ctl/port" || { echo "Bail out! the fake controller did not start"; exit 1; }
port=$(cat "$tmp/ctl/port")
start_agent() {
	"$agent" --controller-url "http://127.0.0.1:$port" --node-name n1 \
		--libvirt-uri test:///default --manifest-dir "$tmp/manifests" \
		--storage-dir "$tmp/disks" --image-dir "$tmp/images" \
		--credential-file "$tmp/state/agent.credential" \
		--join-token-file "$tmp/join.token" --heartbeat-interval 1 \
		--self-fence-timeout 10 --stop-timeout 2 --log-level debug \
		--insecure yes >>"$tmp/agent.log" 2>&1 &
	agent_pid=$!
}

desired "{\"generation\":1,\"vms\":[$(vm "$V1" loan.vm1 running),$(vm "$V2" loan.vm2 running),$(vm "$V3" loan.vm3 running)],\"tasks\":[]}"
start_agent
check "the agent logs that self-fencing is on" \
	wait_for 15 grep -q "self-fence: on, after 10 s without the controller" "$tmp/agent.log"
check "three guests run" \
	wait_for 20 last_hb "h['generation_seen']==1 and sum(d['state']=='running' for d in h['domains'] if d['vm_id'] in ('$V1','$V2','$V3'))==3"

# Healthy node: a running domain the desired state stops listing stays.
desired "{\"generation\":2,\"vms\":[$(vm "$V1" loan.vm1 running),$(vm "$V2" loan.vm2 running)],\"tasks\":[]}"
check "a running fincloud domain no longer listed, on a healthy node, is left running and reported" \
	wait_for 15 last_hb "h['generation_seen']==2 and any(d['vm_id']=='$V3' and d['state']=='running' for d in h['domains'])"

# The controller stops answering: its connections hang.
kill -STOP "$ctl_pid"
sleep 5
if grep -q "self-fence: no successful exchange" "$tmp/agent.log" || grep -qE "\(($V1|$V2|$V3)\): destroy" "$tmp/agent.log"; then
	fail "5 s into the silence (half the timeout) no guest is destroyed" "$(grep -E 'self-fence|destroy' "$tmp/agent.log" | tail -n 3)"
else
	ok "5 s into the silence (half the timeout) no guest is destroyed"
fi
check "after the timeout the agent fences itself (logged)" \
	wait_for 30 grep -q "self-fence: no successful exchange with the controller for [0-9]* s (self_fence_timeout 10 s): destroying this node's 3 fincloud guest(s)" "$tmp/agent.log"
check "each guest is destroyed through libvirt" \
	wait_for 15 eval 'grep -q "($V1): destroy" "$tmp/agent.log" && grep -q "($V2): destroy" "$tmp/agent.log" && grep -q "($V3): destroy" "$tmp/agent.log"'
check "the fence is recorded in the agent's state directory" \
	grep -q "self-fenced at .* 3 guest(s) destroyed" "$tmp/state/self-fence"
fenced_at=$(line_of "self-fence: no successful exchange")
sleep 4
if tail -n +"$fenced_at" "$tmp/agent.log" | grep -qE "\(($V1|$V2|$V3)\): (start|resume)"; then
	fail "while the controller stays silent no guest is started again" "$(tail -n +"$fenced_at" "$tmp/agent.log" | grep -E ': (start|resume)' | head -n 3)"
else
	ok "while the controller stays silent no guest is started again (4 s of passes)"
fi

# The controller answers again: vm1 stays here, vm2 was restarted
# elsewhere (no longer listed), vm3 was never listed again.
desired "{\"generation\":3,\"vms\":[$(vm "$V1" loan.vm1 running)],\"tasks\":[]}"
kill -CONT "$ctl_pid"
check "once the controller answers, the fence is lifted (logged) and its record removed" \
	wait_for 40 eval 'grep -q "self-fence: lifted" "$tmp/agent.log" && test ! -e "$tmp/state/self-fence"'
check "the guests its desired state no longer lists are undefined (their disks stay)" \
	wait_for 15 eval 'grep -q "($V2): shutoff and not in this node.s desired state" "$tmp/agent.log" && grep -q "($V3): shutoff and not in this node.s desired state" "$tmp/agent.log"'
check "the node reports vm1 running and neither vm2 nor vm3" \
	wait_for 15 last_hb "h['generation_seen']==3 and any(d['vm_id']=='$V1' and d['state']=='running' for d in h['domains']) and not any(d['vm_id'] in ('$V2','$V3') for d in h['domains'])"
lift=$(line_of "self-fence: lifted")
start=$(tail -n +"$fenced_at" "$tmp/agent.log" | grep -nE "\($V1\): start" | head -n 1 | cut -d: -f1)
undef=$(line_of "\($V2\): shutoff and not in this node")
if [ -n "$start" ] && [ "$lift" -gt 0 ] && [ $((fenced_at + start - 1)) -gt "$lift" ] && [ "$undef" -lt $((fenced_at + start - 1)) ]; then
	ok "vm1 started again only after the lift, and after vm2 was undefined"
else
	fail "vm1 started again only after the lift, after vm2 was undefined" "lift line $lift, start line $((fenced_at + ${start:-0} - 1)), undefine line $undef"
fi

# Silent again; the controller comes back with the same desired state
# (generation 3): that answer lifts the fence too, and vm1 runs again.
kill -STOP "$ctl_pid"
check "silent again: the node fences itself again" \
	wait_for 40 eval 'test -e "$tmp/state/self-fence" && test "$(grep -c "($V1): destroy" "$tmp/agent.log")" -ge 2'
kill -CONT "$ctl_pid"
check "answered with an unchanged desired state, the fence is lifted and vm1 runs again" \
	wait_for 40 eval 'test "$(grep -c "self-fence: lifted" "$tmp/agent.log")" -ge 2 && test ! -e "$tmp/state/self-fence" && last_hb "h[\"generation_seen\"]==3 and any(d[\"vm_id\"]==\"$V1\" and d[\"state\"]==\"running\" for d in h[\"domains\"])"'

# Silent a third time, then the agent restarts: it starts fenced from
# its record.
kill -STOP "$ctl_pid"
check "silent a third time: fenced again" \
	wait_for 40 test -e "$tmp/state/self-fence"
kill "$agent_pid"
wait "$agent_pid"
agent_pid=
start_agent
check "an agent started with a fence record on disk starts fenced" \
	wait_for 15 grep -q "says this node fenced itself; no guest starts here until the controller answers" "$tmp/agent.log"
kill -CONT "$ctl_pid"
check "and is lifted once the controller answers" \
	wait_for 40 eval 'test "$(grep -c "self-fence: lifted" "$tmp/agent.log")" -ge 3 && test ! -e "$tmp/state/self-fence"'
check "then runs what its desired state lists" \
	wait_for 15 last_hb "any(d['vm_id']=='$V1' and d['state']=='running' for d in h['domains'])"
check "every message matched its schema (schemas/agent-*.json)" test ! -s "$tmp/ctl/violations"
echo "1..$n"

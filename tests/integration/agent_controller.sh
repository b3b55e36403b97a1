#!/usr/bin/env bash
# The agent's exchange with a controller, against a fake controller
# (tests/data/agent/fake_controller.py, which validates every message
# against schemas/agent-*.json) and libvirt's test:///default driver:
# register -> 0600 credential -> heartbeats -> desired state applied ->
# events posted; bad specs reported alone; tasks; controller outage;
# revoked credential; restart without registering again; a registration
# waiting for an operator (202) retried until let in; an agent
# restarted after being killed during a live migration (its migration
# journal) neither recreates the VM nor runs the task again.
set -u
: "${FC_TOP:?run me through tests/run.sh}" "${FC_BIN:?}"
agent=$FC_BIN/fincloud-agent
py=/usr/bin/python3
[ -x "$agent" ] || { echo "SKIP: $agent is not built"; exit 77; }
$py -c 'import jsonschema' 2>/dev/null || { echo "SKIP: python3-jsonschema is missing (scripts/deps.sh)"; exit 77; }

tmp=$(mktemp -d /tmp/fctest-agentctl.XXXXXX)
ctl_pid= agent_pid=
cleanup() {
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
	[ -n "$ctl_pid" ] && kill "$ctl_pid" 2>/dev/null && wait "$ctl_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
check() { # what command...
	local what=$1; shift
	if "$@"; then ok "$what"; else nok "$what" "failed: $*"; fi
}
wait_for() { # seconds command...
	local t=$1; shift
	for _ in $(seq 1 $((t * 10))); do "$@" && return 0; sleep 0.1; done
	return 1
}
# last_hb PYTHON-EXPR: evaluate EXPR on the newest heartbeat (as h).
last_hb() {
	[ -s "$tmp/ctl/heartbeat.log" ] || return 1
	tail -n 1 "$tmp/ctl/heartbeat.log" | $py -c "import json,sys
h=json.load(sys.stdin)
sys.exit(0 if ($1) else 1)"
}
lines() { wc -l <"$tmp/ctl/$1" 2>/dev/null || echo 0; }
more_lines() { test "$(lines "$1")" -gt "$2"; } # file count
desired() { # write the fake controller's desired state
	printf '%s\n' "$1" >"$tmp/ctl/desired.tmp" && mv "$tmp/ctl/desired.tmp" "$tmp/ctl/desired.json"
}
start_ctl() {
	rm -f "$tmp/ctl/port"
	$py "$FC_TOP/tests/data/agent/fake_controller.py" "$tmp/ctl" "$FC_TOP/schemas" \
		"join-$$-secret" "${1:-0}" 2>>"$tmp/ctl.log" &
	ctl_pid=$!
	wait_for 10 test -s "$tmp/ctl/port"
}
start_agent() {
	"$agent" --controller-url "http://127.0.0.1:$port" --node-name n1 \
		--libvirt-uri test:///default --manifest-dir "$tmp/manifests" \
		--storage-dir "$tmp/disks" --image-dir "$tmp/images" \
		--credential-file "$tmp/state/agent.credential" \
		--join-token-file "$tmp/join.token" --heartbeat-interval 1 \
		--migration-uri qemu+tcp://127.0.0.1/system \
		--stop-timeout 2 --log-level debug --insecure yes >>"$tmp/agent.log" 2>&1 &
	agent_pid=$!
}

mkdir -p "$tmp/ctl" "$tmp/manifests"
echo "join-$$-secret" >"$tmp/join.token"
V1=0c6f8e9a-1111-4222-8333-$(printf '%012d' $$)
V2=0c6f8e9a-2222-4222-8333-$(printf '%012d' $$)
V3=0c6f8e9a-3333-4222-8333-$(printf '%012d' $$)
T1=7a000000-0000-4000-8000-$(printf '%012d' $$)
T2=7b000000-0000-4000-8000-$(printf '%012d' $$)
T3=7c000000-0000-4000-8000-$(printf '%012d' $$)
vm() { # id name state
	printf '{"vm_id":"%s","name":"%s","tenant":"loan","group":null,"vcpus":2,"mem_mib":128,"disk_gib":1,"base_image":null,"state":"%s"}' "$1" "$2" "$3"
}

start_ctl || { echo "fake controller did not start"; cat "$tmp/ctl.log"; exit 1; }
port=$(cat "$tmp/ctl/port")
desired "{\"generation\":1,\"vms\":[$(vm "$V1" loan.vm1 running)],\"tasks\":[]}"
start_agent

check "the agent registers and stores the issued credential" \
	wait_for 15 test -s "$tmp/state/agent.credential"
check "the credential file is mode 0600" \
	test "$(stat -c %a "$tmp/state/agent.credential")" = 600
check "the stored credential is the one the controller issued" \
	cmp -s "$tmp/state/agent.credential" "$tmp/ctl/issued"
check "registration names the node, pool and migration URI" \
	$py -c "import json,sys
r=json.loads(open('$tmp/ctl/register.log').readline())
sys.exit(0 if (r['node'],r['pool'],r['migration_uri'])==('n1','default','qemu+tcp://127.0.0.1/system') and r['inventory']['virt_type']=='test' else 1)"
check "desired generation 1 is applied: loan.vm1 running, reported with its size" \
	wait_for 15 last_hb "h['generation_seen']==1 and any(d['vm_id']=='$V1' and d['state']=='running' and d['vcpus']==2 and d['mem_mib']==128 for d in h['domains'])"
check "the test driver's own domain is reported as foreign" \
	last_hb "any(d['name']=='test' for d in h['foreign_domains']) and h['status']=='ok'"

desired "{\"generation\":2,\"vms\":[$(vm "$V1" loan.vm1 stopped)],\"tasks\":[]}"
check "desired stopped: the VM shuts off" \
	wait_for 15 last_hb "h['generation_seen']==2 and any(d['vm_id']=='$V1' and d['state']=='shutoff' for d in h['domains'])"
check "the shutdown was posted as an event at once" \
	wait_for 5 grep -q "\"vm_id\": \"$V1\", \"state\": \"shutoff\", \"reason\": \"shutdown\"" "$tmp/ctl/events.log"

bad='{"vm_id":"'$V2'","name":"bad vm","tenant":"loan","vcpus":1,"mem_mib":64,"disk_gib":1,"state":"running"}'
desired "{\"generation\":3,\"vms\":[$(vm "$V1" loan.vm1 running),$bad],\"tasks\":[{\"task_id\":\"$T1\",\"type\":\"reboot\",\"vm_id\":\"$V1\"}]}"
check "a malformed VM is reported alone in vm_errors" \
	wait_for 15 last_hb "h['generation_seen']==3 and any(e['vm_id']=='$V2' and 'name' in e['error'] for e in h.get('vm_errors',[]))"
check "the other VM of the same desired state runs again" \
	wait_for 15 last_hb "any(d['vm_id']=='$V1' and d['state']=='running' for d in h['domains'])"
check "the reboot task is reported done" \
	wait_for 15 last_hb "any(t['task_id']=='$T1' and t['state']=='done' for t in h['tasks'])"

desired "{\"generation\":4,\"vms\":[$(vm "$V1" loan.vm1 running)],\"tasks\":[{\"task_id\":\"$T2\",\"type\":\"migrate\",\"vm_id\":\"$V1\",\"target_node\":\"n2\",\"target_uri\":\"test+tcp://127.0.0.1:1/default\"}]}"
check "a migration to an unreachable node is reported failed with the reason" \
	wait_for 20 last_hb "any(t['task_id']=='$T2' and t['state']=='failed' and 'migration to' in t['error'] for t in h['tasks'])"
check "after the failed migration the VM still runs here" \
	last_hb "any(d['vm_id']=='$V1' and d['state']=='running' for d in h['domains'])"

# The controller goes away: the agent keeps running and keeps its VMs.
kill "$ctl_pid"; wait "$ctl_pid" 2>/dev/null; ctl_pid=
beats=$(wc -l <"$tmp/ctl/heartbeat.log")
sleep 3
check "with the controller down the agent keeps running" kill -0 "$agent_pid"
check "and says it will retry, keeping the VMs" \
	grep -q "VMs stay as they are" "$tmp/agent.log"
start_ctl "$port" || nok "fake controller restarts on port $port"
check "the agent comes back to the restarted controller" \
	wait_for 40 more_lines heartbeat.log "$beats"
check "the VM is still reported running after the outage" \
	wait_for 5 last_hb "any(d['vm_id']=='$V1' and d['state']=='running' for d in h['domains'])"

# The restarted fake forgot its credentials: the agent registers again.
check "a refused credential makes the agent register again" \
	wait_for 20 more_lines register.log 1
check "the new credential is stored, still 0600" \
	wait_for 5 sh -c "cmp -s '$tmp/state/agent.credential' '$tmp/ctl/issued' && test \"\$(stat -c %a '$tmp/state/agent.credential')\" = 600"

# A restarted agent uses its stored credential and does not register.
regs=$(wc -l <"$tmp/ctl/register.log")
kill "$agent_pid"; wait "$agent_pid"; rc=$?; agent_pid=
check "SIGTERM stops the agent cleanly" test "$rc" -eq 0
beats=$(wc -l <"$tmp/ctl/heartbeat.log")
start_agent
check "the restarted agent heartbeats again" \
	wait_for 15 more_lines heartbeat.log "$beats"
check "without registering again" test "$(wc -l <"$tmp/ctl/register.log")" -eq "$regs"

# A registration the controller holds for an operator (202 pending): the
# agent stores nothing, logs the command to run and retries with back-off
# until it is let in.
before=$(md5sum <"$tmp/state/agent.credential")
touch "$tmp/ctl/pending" "$tmp/ctl/revoke"
check "a registration waiting for an operator is logged with the command to run" \
	wait_for 20 grep -q "waits for an operator's approval.*finctl host approve n1" "$tmp/agent.log"
check "it is retried with back-off, nothing stored meanwhile" \
	wait_for 20 eval '[ "$(lines register.log)" -ge $((regs + 2)) ] && [ "$(md5sum <"$tmp/state/agent.credential")" = "$before" ]'
rm -f "$tmp/ctl/pending"
check "once let in, the agent registers and stores its new credential" \
	wait_for 40 sh -c "cmp -s '$tmp/state/agent.credential' '$tmp/ctl/issued' && [ \"\$(md5sum <'$tmp/state/agent.credential')\" != '$before' ]"

# The agent is killed while it live-migrates loan.vm3 to n2; libvirt
# finishes the migration, so the VM is gone from this node, and the
# controller has not settled the task yet: it still lists the VM here and
# the task. The journal the killed agent wrote before the migration
# started is all the restarted agent has to go by.
kill "$agent_pid"; wait "$agent_pid"; agent_pid=
printf '{"version": 1, "migrations": [{"task_id": "%s", "vm_id": "%s", "target_node": "n2", "started_ms": %s, "state": "running"}]}\n' \
	"$T3" "$V3" "$(($(date +%s) * 1000))" >"$tmp/state/migrations.journal"
mig="{\"task_id\":\"$T3\",\"type\":\"migrate\",\"vm_id\":\"$V3\",\"target_node\":\"n2\",\"target_uri\":\"test+tcp://127.0.0.1:1/default\"}"
desired "{\"generation\":5,\"vms\":[$(vm "$V1" loan.vm1 running),$(vm "$V3" loan.vm3 running)],\"tasks\":[$mig]}"
start_agent
check "after a restart mid-migration the agent applies the rest of the desired state" \
	wait_for 15 last_hb "h['generation_seen']==5 and any(d['vm_id']=='$V1' for d in h['domains'])"
sleep 2
check "it does not recreate the VM it was migrating away (it may run on the target)" \
	last_hb "not any(d['vm_id']=='$V3' for d in h['domains'])"
check "nor run the migration task again" \
	eval '! grep -q "task $T3: migrate" "$tmp/agent.log" && last_hb "not any(t[\"task_id\"]==\"$T3\" for t in h[\"tasks\"])"'
check "it reports the interrupted migration from its journal" \
	last_hb "[(m['task_id'],m['vm_id'],m['target_node'],m['state']) for m in h.get('migrations',[])]==[('$T3','$V3','n2','interrupted')]"
desired "{\"generation\":6,\"vms\":[$(vm "$V1" loan.vm1 running),$(vm "$V3" loan.vm3 running)],\"tasks\":[]}"
check "once the controller settles the task with the VM still here, the VM runs here again" \
	wait_for 15 last_hb "h['generation_seen']==6 and 'migrations' not in h and any(d['vm_id']=='$V3' and d['state']=='running' for d in h['domains'])"
check "and the journal no longer holds it" \
	eval '! grep -q "$T3" "$tmp/state/migrations.journal"'

check "every message matched its schema (schemas/agent-*.json)" test ! -s "$tmp/ctl/violations"
if [ -s "$tmp/ctl/violations" ]; then sed 's/^/# /' "$tmp/ctl/violations" | head -20; fi
echo "# agent log tail:"; tail -n 15 "$tmp/agent.log" | sed 's/^/#   /'

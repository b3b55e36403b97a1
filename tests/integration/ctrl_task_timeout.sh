#!/usr/bin/env bash
# Tasks do not hang (issue 17), with curl acting as the agents: a create
# whose node never reports the VM, a migration whose source's agent never
# reports it done and a stop on a host that went down each fail after
# their type's timeout (task_timeout_TYPE) with an error that says so and
# names the host, audited task.timeout; a timed-out migration leaves the
# VM recorded (and claimed) on its source alone, leaves the source's
# desired state, and is still settled from the nodes' reports when it
# completes afterwards (the VM moves to the target, task.migrate.late);
# a task that ends in time is not touched.
. "$FC_TOP/tests/integration/ctrl_lib.bash"

ctrl_start --heartbeat-timeout 60 --heartbeat-interval 5 --task-timeout-create 5 \
	--task-timeout-start 5 --task-timeout-stop 5 --task-timeout-migrate 6 ||
	{ nok "controller starts"; exit 1; }
api POST /v1/pools '{"name":"side","cpu_ratio":1,"mem_ratio":1,"disk_ratio":1,"policy":"pack"}'
api POST /v1/flavors '{"name":"small","vcpus":1,"mem_mib":512,"disk_gib":1}'
api POST /v1/tenants '{"name":"loan","isolation":"shared","pools":["default"]}'
api POST /v1/tenants '{"name":"edge","isolation":"shared","pools":["side"]}'
api POST /v1/tokens '{"role":"join","description":"timeout test","uses":100}'
JOIN=$(jv .token)
register_fake n1 8 16384 100
register_fake n2 8 16384 100
register_fake n3 8 16384 100 side
check "three nodes registered" test "$(db 'SELECT count(*) FROM hosts')" = 3

declare -A GEN DESIRED RUNS
GEN=([n1]=0 [n2]=0 [n3]=0)
RUNS=([n1]="" [n2]="" [n3]="")
hb() { # NODE DOMAINS_JSON [TASKS_JSON]: keeps the desired state in DESIRED
	heartbeat "$1" "${GEN[$1]}" "$2" 0 "${3:-[]}"
	if [ "$status" = 200 ]; then
		GEN[$1]=$(jv .generation)
		DESIRED[$1]=$body
	fi
}
doms() { # NODE: the domains JSON of NODE's RUNS ("id:state" words)
	local w out=
	for w in ${RUNS[$1]}; do out=${out:+$out,}$(domain "${w%%:*}" "${w#*:}"); done
	echo "[$out]"
}
report() { hb "$1" "$(doms "$1")" "${2:-[]}"; } # NODE [TASKS]
runs() { RUNS[$1]="${RUNS[$1]} $2:running"; }    # NODE VM
drop() { RUNS[$1]=$(tr ' ' '\n' <<<"${RUNS[$1]}" | grep -v "^$2:" | tr '\n' ' '); }
# API calls stay out of $(...): each response is recorded for validation
tq() { api GET "/v1/tasks/$1"; R=$(jv .state) E=$(jv .error); } # TASK
vmq() { api GET "/v1/vms/$1"; R=$(jv "$2"); }                   # VM FILTER
task_of() { # VM TYPE: the id of VM's task of TYPE into T
	api GET "/v1/tasks?vm=$1"
	T=$(jv "[.items[] | select(.type == \"$2\") | .id][0] // \"\"")
}
failed() { tq "$1"; [ "$R" = failed ]; }
audited() { db "SELECT count(*) FROM audit WHERE action = '$1' AND target = '$2'"; }
other() { if [ "$1" = n1 ]; then echo n2; else echo n1; fi; }

# --- a create whose node never reports the VM -------------------------------
api POST /v1/vms '{"tenant":"loan","flavor":"small","name":"never"}'
VM=$(jv .id) SRC=$(jv .host)
task_of "$VM" create
tc=$T
check "a create task is open" eval 'tq "$tc"; [ "$R" = pending ]'
check "it fails after task_timeout_create" wait_for 15 failed "$tc"
check "its error says it timed out and what the node never reported ($E)" \
	test "$E" = "timed out after 5 s (task_timeout_create): host '$SRC' never reported the VM running"
check "audited task.timeout" test "$(audited task.timeout "task:$tc")" = 1

# --- a start reported in time is not touched ---------------------------------
api POST /v1/vms '{"tenant":"loan","flavor":"small","name":"quick"}'
VQ=$(jv .id) QH=$(jv .host)
task_of "$VQ" create
tq_=$T
runs "$QH" "$VQ"
report "$QH"
check "a create reported in time is done" eval 'tq "$tq_"; [ "$R" = done ]'
sleep 6
check "and stays done, its error empty, past the timeout" eval 'tq "$tq_"; [ "$R" = done ] && { [ "$E" = null ] || [ "$E" = "" ]; }'

# --- a migration that never completes ---------------------------------------
api POST /v1/vms '{"tenant":"loan","flavor":"small","name":"mover"}'
VM=$(jv .id) SRC=$(jv .host)
DST=$(other "$SRC")
runs "$SRC" "$VM"
report "$SRC"
report "$DST"
api POST "/v1/vms/$VM/migrate" "{\"target_host\":\"$DST\"}"
check "a migration is accepted" is 202
tm=$(jv .id)
report "$SRC" "[{\"task_id\":\"$tm\",\"state\":\"running\"}]"
check "its source's agent runs it" eval 'tq "$tm"; [ "$R" = running ]'
check "it fails after task_timeout_migrate" wait_for 15 failed "$tm"
check "its error says the agent never reported it done, the VM stays on the source ($E)" \
	test "$E" = "timed out after 6 s (task_timeout_migrate): the agent of host '$SRC' never reported the migration to '$DST' done; the VM stays recorded on '$SRC' (should the migration still complete, the nodes' reports move it)"
check "audited task.timeout" test "$(audited task.timeout "task:$tm")" = 1
check "the VM stays recorded on its source" eval 'vmq "$VM" .host; [ "$R" = "$SRC" ]'
check "no open task holds a claim on the target any more" \
	test "$(db "SELECT count(*) FROM tasks WHERE vm_id = '$VM' AND state IN ('pending','running')")" = 0
old=${GEN[$SRC]}
report "$SRC" "[{\"task_id\":\"$tm\",\"state\":\"running\"}]"
check "the source got a new desired state without the task" \
	eval '[ "${GEN[$SRC]}" -gt "$old" ] && [ "$(jq ".tasks | length" <<<"${DESIRED[$SRC]}")" = 0 ]'
check "the agent's late word does not revive it" eval 'tq "$tm"; [ "$R" = failed ]'

# --- ... that completes on the nodes afterwards ------------------------------
drop "$SRC" "$VM"
report "$SRC"
check "the VM left its source: still recorded there (the target has not said)" \
	eval 'vmq "$VM" .host; [ "$R" = "$SRC" ]'
runs "$DST" "$VM"
report "$DST"
check "the target runs it: the VM is recorded on the target" eval 'vmq "$VM" .host; [ "$R" = "$DST" ]'
check "without a conflict flag" eval 'vmq "$VM" .error; [ "$R" = "" ] || [ "$R" = null ]'
check "audited task.migrate.late" test "$(audited task.migrate.late "task:$tm")" = 1
check "the task stays failed" eval 'tq "$tm"; [ "$R" = failed ]'
check "the target's desired state runs it" \
	test "$(jq -r --arg v "$VM" '[.vms[] | select(.vm_id == $v) | .state][0] // ""' <<<"${DESIRED[$DST]}")" = running
report "$DST"
check "settled once" test "$(audited task.migrate.late "task:$tm")" = 1

# --- ... that its agent said failed, libvirt having finished it ---------------
# (the source's libvirtd killed at the very end: the target runs the VM,
# the source keeps a shut-off copy it never undefined)
api POST "/v1/vms/$VM/migrate" "{\"target_host\":\"$SRC\"}"
check "a migration back is accepted" is 202
tb=$(jv .id)
report "$DST" "[{\"task_id\":\"$tb\",\"state\":\"failed\",\"error\":\"lost libvirt\"}]"
check "its agent says it failed: the task fails" eval 'tq "$tb"; [ "$R" = failed ]'
check "the VM stays recorded on the migration's source" eval 'vmq "$VM" .host; [ "$R" = "$DST" ]'
drop "$DST" "$VM"
RUNS[$DST]="${RUNS[$DST]} $VM:shutoff"
runs "$SRC" "$VM"
report "$DST"
report "$SRC"
check "the target runs it, the source holds it shut off: the VM is recorded on the target" \
	eval 'vmq "$VM" .host; [ "$R" = "$SRC" ]'
check "without a conflict flag, audited task.migrate.late" \
	eval 'vmq "$VM" .error; { [ "$R" = "" ] || [ "$R" = null ]; } && [ "$(audited task.migrate.late "task:$tb")" = 1 ]'
report "$DST"
check "the source's desired state has its copy deleted" \
	test "$(jq -r --arg v "$VM" '[.vms[] | select(.vm_id == $v) | .state] | join(",")' <<<"${DESIRED[$DST]}")" = deleted
check "the target's desired state runs it" \
	test "$(jq -r --arg v "$VM" '[.vms[] | select(.vm_id == $v) | .state] | join(",")' <<<"${DESIRED[$SRC]}")" = running
drop "$DST" "$VM"
report "$DST"
report "$DST"
check "once the source no longer has the copy, its desired state does not name the VM" \
	eval '[ "$(db "SELECT count(*) FROM ha_evictions")" = 0 ] && [ -z "$(jq -r --arg v "$VM" ".vms[] | select(.vm_id == \$v) | .state" <<<"${DESIRED[$DST]}")" ]'

# --- ... its source's copy left paused by a pre-copy migration ----------------
# (the source's libvirtd killed in the final phase: its QEMU stays paused,
# the target was resumed, so it got the whole guest)
api POST "/v1/vms/$VM/migrate" "{\"target_host\":\"$DST\",\"postcopy\":false}"
check "a pre-copy migration is accepted" is 202
tp=$(jv .id)
report "$SRC" "[{\"task_id\":\"$tp\",\"state\":\"failed\",\"error\":\"lost libvirt\"}]"
check "its agent says it failed: the task fails" eval 'tq "$tp"; [ "$R" = failed ]'
drop "$SRC" "$VM"
RUNS[$SRC]="${RUNS[$SRC]} $VM:paused"
runs "$DST" "$VM"
report "$SRC"
report "$DST"
check "the target runs it, the source holds it paused after pre-copy: the VM is recorded on the target" \
	eval 'vmq "$VM" .host; [ "$R" = "$DST" ]'
check "without a conflict flag, audited task.migrate.late" \
	eval 'vmq "$VM" .error; { [ "$R" = "" ] || [ "$R" = null ]; } && [ "$(audited task.migrate.late "task:$tp")" = 1 ]'
report "$SRC"
check "the source's desired state has its paused copy deleted" \
	test "$(jq -r --arg v "$VM" '[.vms[] | select(.vm_id == $v) | .state] | join(",")' <<<"${DESIRED[$SRC]}")" = deleted
drop "$SRC" "$VM"
report "$SRC"
report "$SRC"

# --- ... but not after post-copy, whose paused source may hold pages ---------
api POST "/v1/vms/$VM/migrate" "{\"target_host\":\"$SRC\",\"postcopy\":true}"
check "a post-copy migration is accepted" is 202
tq2=$(jv .id)
report "$DST" "[{\"task_id\":\"$tq2\",\"state\":\"failed\",\"error\":\"lost libvirt\"}]"
drop "$DST" "$VM"
RUNS[$DST]="${RUNS[$DST]} $VM:paused"
runs "$SRC" "$VM"
report "$DST"
report "$SRC"
check "a post-copy cut short (source paused, target running) is not settled: the VM stays on its source, flagged" \
	eval 'vmq "$VM" "\"\(.host) \(.error)\""; [[ $R == "$DST conflict:"* ]] && [ "$(audited task.migrate.late "task:$tq2")" = 0 ]'
drop "$DST" "$VM"
drop "$SRC" "$VM"
report "$DST"
report "$SRC"

# --- a stop on a host that went down -----------------------------------------
api POST /v1/vms '{"tenant":"edge","flavor":"small","name":"stranded"}'
VM=$(jv .id)
check "a VM on n3" eval 'vmq "$VM" .host; [ "$R" = n3 ]'
runs n3 "$VM"
report n3
api POST "/v1/vms/$VM/stop"
task_of "$VM" stop
ts=$T
# n3 falls silent: its last heartbeat made older than heartbeat_timeout
db "UPDATE hosts SET last_seen_ms = 0 WHERE name = 'n3'" >/dev/null
check "n3 is marked down" wait_for 10 eval '[ "$(db "SELECT state FROM hosts WHERE name = '"'n3'"'")" = down ]'
check "the stop fails after task_timeout_stop" wait_for 15 failed "$ts"
check "its error names the host that is down ($E)" \
	test "$E" = "timed out after 5 s (task_timeout_stop): host 'n3' is down"

check "the controller logged each timeout" test "$(grep -c 'failed: timed out' "$work/controller.log")" = 3
validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

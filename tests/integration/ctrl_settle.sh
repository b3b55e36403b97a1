#!/usr/bin/env bash
# The nodes' reports settle what is in flight (issue 19), with curl acting
# as the agents: a migration whose target reports the VM running and whose
# source no longer has it is done (record and claim move) even when the
# source's agent lost the task, also from degraded nodes' heartbeats that
# list their domains, and one its restarted source no longer
# runs while the VM stayed there is failed; a VM that two nodes report running is
# recorded on one of them and flagged, never handed to another node; a
# delete during a migration is refused with 409 naming the task, and a
# deleted VM is released only once no node reports it; a fincloud domain
# with no VM behind it is recorded and, after orphan_grace, handed to its
# node for destruction, audited.
. "$FC_TOP/tests/integration/ctrl_lib.bash"
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 CLI is missing"; exit 77; }

ctrl_start --heartbeat-timeout 60 --heartbeat-interval 5 --orphan-grace 2 ||
	{ nok "controller starts"; exit 1; }
api POST /v1/pools '{"name":"side","cpu_ratio":1,"mem_ratio":1,"disk_ratio":1,"policy":"pack"}'
api POST /v1/flavors '{"name":"small","vcpus":1,"mem_mib":512,"disk_gib":1}'
api POST /v1/tenants '{"name":"loan","isolation":"shared","pools":["default"]}'
api POST /v1/tokens '{"role":"join","description":"settle test","uses":1000}'
JOIN=$(jv .token)
register_fake n1 8 16384 100
register_fake n2 8 16384 100
register_fake n3 8 16384 100 side
check "three nodes registered" test "$(db 'SELECT count(*) FROM hosts')" = 3

# hb NODE DOMAINS_JSON [TASKS_JSON]: one heartbeat of NODE that says it
# applied the last desired state it got; keeps that state in DESIRED[NODE].
declare -A GEN DESIRED
GEN=([n1]=0 [n2]=0 [n3]=0)
hb() {
	heartbeat "$1" "${GEN[$1]}" "$2" 0 "${3:-[]}"
	if [ "$status" = 200 ]; then
		GEN[$1]=$(jv .generation)
		DESIRED[$1]=$body
	fi
}
# wants NODE VM: the state NODE's last desired state gives VM ("" if none)
wants() { jq -r --arg v "$2" '[.vms[] | select(.vm_id == $v) | .state][0] // ""' <<<"${DESIRED[$1]}"; }
# API calls stay out of $(...): each response is recorded for validation
vmq() { api GET "/v1/vms/$1"; R=$(jv "$2"); } # VM FILTER: into R
tq() { api GET "/v1/tasks/$1"; R=$(jv .state); } # TASK: its state into R
audited() { # ACTION TARGET-SUBSTRING
	db "SELECT count(*) FROM audit WHERE action = '$1' AND target LIKE '%$2%'"
}
other() { if [ "$1" = n1 ]; then echo n2; else echo n1; fi; }
new_vm() { # NAME: create a VM; its id into VM, its host into SRC, the
	# other of n1 and n2 into DST
	api POST /v1/vms "{\"tenant\":\"loan\",\"flavor\":\"small\",\"name\":\"$1\"}"
	VM=$(jv .id) SRC=$(jv .host)
	DST=$(other "$SRC")
}
# the domains each node runs, as the fake agents report them
declare -A RUNS
RUNS=([n1]="" [n2]="" [n3]="")
doms() { # NODE: the domains JSON of NODE's RUNS ("id:state" words)
	local w out=
	for w in ${RUNS[$1]}; do out=${out:+$out,}$(domain "${w%%:*}" "${w#*:}"); done
	echo "[$out]"
}
report() { hb "$1" "$(doms "$1")" "${2:-[]}"; } # NODE [TASKS]
runs() { RUNS[$1]="${RUNS[$1]} $2:${3:-running}"; }       # NODE VM [STATE]
drop() { RUNS[$1]=$(tr ' ' '\n' <<<"${RUNS[$1]}" | grep -v "^$2:" | tr '\n' ' '); }
running_task() { echo "[{\"task_id\":\"$1\",\"state\":\"running\"}]"; } # TASK
# migrating NAME: a new VM that runs on its host, then a migration of it
# to the other node that the source's agent reports running; sets VM,
# SRC, DST and TASK
migrating() {
	new_vm "$1"
	runs "$SRC" "$VM"
	report "$SRC"
	api POST "/v1/vms/$VM/migrate" "{\"target_host\":\"$DST\"}"
	TASK=$(jv .id)
	report "$SRC" "$(running_task "$TASK")"
}

# --- (a) a migration settled from the reports --------------------------------
migrating mig-a
vma=$VM src=$SRC dst=$DST ta=$TASK
vmq "$vma" .state
check "(a) the VM runs on its source" test "$R" = running
tq "$ta"
check "(a) the agent reports the migration running" test "$R" = running
# libvirt finishes the migration while the source's agent is down: the
# target reports the VM, the restarted source agent neither the VM nor
# the task
drop "$src" "$vma"
runs "$dst" "$vma"
report "$dst"
report "$src"
tq "$ta"
check "(a) target runs it, source does not: the task is done" test "$R" = done
vmq "$vma" .host
check "(a) the VM's host is the target" test "$R" = "$dst"
api GET "/v1/hosts/$dst"
check "(a) its claim is on the target" eval 'jqt ".vm_count == 1 and .allocated.vcpus == 1"'
api GET "/v1/hosts/$src"
check "(a) and no longer on the source" eval 'jqt ".vm_count == 0"'
check "(a) the settling is audited" test "$(audited task.migrate.done "$ta")" = 1
report "$src"
report "$dst"
check "(a) the source is not handed the VM again" test -z "$(wants "$src" "$vma")"
check "(a) the target is handed it" test "$(wants "$dst" "$vma")" = running
vmq "$vma" .state
check "(a) and it shows running there" test "$R" = running

# the source's agent restarts during a migration that libvirt did not
# finish: it no longer runs the task (its journal keeps it from running it
# again), the VM is still on the source, the target never got it
migrating mig-e
vme=$VM src=$SRC dst=$DST te=$TASK
report "$dst"
report "$src"
api GET "/v1/tasks/$te"
check "(a) a migration its restarted source no longer runs, VM still there: failed" \
	eval 'jqt ".state == \"failed\" and (.error | test(\"interrupted\"))"'
vmq "$vme" '"\(.host) \(.state)"'
check "(a) and the VM stays on its source, running" test "$R" = "$src running"
check "(a) which keeps it in its desired state" test "$(wants "$src" "$vme")" = running

# both ends of a migration turn degraded (their disks fill up) while
# libvirt finishes it: their heartbeats still list what libvirt runs
# (domains_listed), and that settles the migration as an ok one would;
# one without a list (libvirt unreachable) changes nothing
# hbd NODE LISTED: a degraded heartbeat of NODE with its RUNS
hbd() {
	local doms='[]'
	[ "$2" = true ] && doms=$(doms "$1")
	api POST "/v1/agents/$1/heartbeat" \
		"{\"generation_seen\":${GEN[$1]},\"status\":\"degraded\",\"degraded_reason\":\"disk: 1 MiB free\",\"domains_listed\":$2,\"inventory\":$(inventory 16 32768 500),\"domains\":$doms,\"foreign_domains\":[],\"tasks\":[]}" \
		"${CRED[$1]}"
}
migrating mig-g
vmg=$VM src=$SRC dst=$DST tg=$TASK
drop "$src" "$vmg"
runs "$dst" "$vmg"
hbd "$dst" false
check "(a) a degraded heartbeat without a list is accepted" is 200
hbd "$src" false
tq "$tg"
check "(a) it settles nothing: the task still runs" test "$R" = running
hbd "$src" true
check "(a) a degraded heartbeat with libvirt's list is accepted" is 200
hbd "$dst" true
tq "$tg"
check "(a) degraded target runs it, degraded source does not: the task is done" test "$R" = done
vmq "$vmg" .host
check "(a) and the VM's host is the target" test "$R" = "$dst"
api POST "/v1/agents/$src/heartbeat" \
	"{\"generation_seen\":0,\"status\":\"ok\",\"domains_listed\":false,\"inventory\":$(inventory 16 32768 500),\"domains\":[],\"foreign_domains\":[],\"tasks\":[]}" \
	"${CRED[$src]}"
check "(a) domains_listed false with status ok is refused (400)" is_err 400 invalid_field domains_listed
report "$src"
report "$dst"

# --- (b) two nodes report one VM running -------------------------------------
migrating mig-b
vmb=$VM src=$SRC dst=$DST tb=$TASK
runs "$dst" "$vmb"
report "$dst"
report "$src" "$(running_task "$tb")"
tq "$tb"
check "(b) both report it running during its migration: the task is not done" test "$R" = running
check "(b) the VM is recorded on its source only" \
	test "$(db "SELECT group_concat(host) FROM vms WHERE id = '$vmb'")" = "$src"
vmq "$vmb" .error
check "(b) no conflict while the migration is open (libvirt never runs both: the reports differ in age)" \
	test "$R" = null
check "(b) and none audited" test "$(audited vm.conflict "$vmb")" = 0
# the source's agent says the migration failed, and both still run it
report "$src" "[{\"task_id\":\"$tb\",\"state\":\"failed\",\"error\":\"migration failed\"}]"
report "$dst"
tq "$tb"
check "(b) the source's agent reports the migration failed" test "$R" = failed
vmq "$vmb" .error
check "(b) with the task ended and both running it, the VM is flagged: a conflict naming the other node" \
	grep -q "conflict.*$dst" <<<"$R"
check "(b) the conflict is audited" test "$(audited vm.conflict "$vmb")" -ge 1
check "(b) neither node is handed the VM while the other runs it" \
	eval '[ -z "$(wants "$src" "$vmb")" ] && [ -z "$(wants "$dst" "$vmb")" ]'
# a third node reports a VM it was never given
new_vm plain-c
vmc=$VM csrc=$SRC
runs "$csrc" "$vmc"
report "$csrc"
runs n3 "$vmc"
report n3
vmq "$vmc" '"\(.host) \(.error)"'
check "(b) a VM reported running off its host is flagged, host unchanged" grep -q "^$csrc conflict.*n3" <<<"$R"
report "$csrc"
check "(b) and not handed to its own host while n3 runs it" test -z "$(wants "$csrc" "$vmc")"
check "(b) n3 is not handed it either" test -z "$(wants n3 "$vmc")"
check "(b) the flag stays while both report it (no flapping state)" \
	test "$(audited vm.state.running "$vmc")" = 1
# the source's copy goes away: the failed migration that libvirt
# finished settles on the target (task.migrate.late)
drop "$src" "$vmb"
report "$src"
report "$dst"
vmq "$vmb" '"\(.host) \(.error)"'
check "(b) once the source no longer has it, it is on the target, unflagged" \
	test "$R" = "$dst null"

# --- (c) no delete during a migration; a delete ends when no node reports ----
migrating mig-d
vmd=$VM src=$SRC dst=$DST td=$TASK
api DELETE "/v1/vms/$vmd"
check "(c) a delete during a migration is 409 naming the task" \
	eval 'is_err 409 busy && has "$td" && has "finctl task show"'
api POST "/v1/vms/$vmd/reboot"
check "(c) so is a reboot" eval 'is_err 409 busy && has "$td"'
tq "$td"
t=$R
vmq "$vmd" .desired_state
check "(c) the VM is still there, still wanted running" test "$R/$t" = running/running
api POST "/v1/vms/$vmd/stop"
check "(c) a stop is queued (applied where the VM lands)" is 202
drop "$src" "$vmd"
runs "$dst" "$vmd"
report "$src" "[{\"task_id\":\"$td\",\"state\":\"done\"}]"
report "$dst"
vmq "$vmd" .host
check "(c) the migration lands; the stop goes with the VM" \
	test "$R/$(wants "$dst" "$vmd")" = "$dst/stopped"
api DELETE "/v1/vms/$vmd"
check "(c) after the migration the delete is accepted" is 202
report "$dst"
check "(c) the target is told to delete it" test "$(wants "$dst" "$vmd")" = deleted
drop "$dst" "$vmd"
report "$dst"
report "$dst"
api GET "/v1/vms/$vmd"
check "(c) once the target no longer reports it the VM is gone" is 404
check "(c) no VM is left that a node still runs" \
	test "$(db "SELECT count(*) FROM vms WHERE desired = 'deleted'")" = 0
# the flagged VM c, deleted while n3 still runs a copy: released only once
# n3 no longer reports it
api DELETE "/v1/vms/$vmc"
check "(c) a flagged VM can be deleted" is 202
report "$csrc"
drop "$csrc" "$vmc"
report "$csrc"
report "$csrc"
api GET "/v1/vms/$vmc"
check "(c) its host dropped it, but n3 still reports it: not released" \
	eval 'is 200 && [ "$(jv .state)" = deleting ]'
report n3
check "(c) n3 is told to delete it" test "$(wants n3 "$vmc")" = deleted
drop n3 "$vmc"
report n3
report "$csrc"
api GET "/v1/vms/$vmc"
check "(c) gone once no node reports it" is 404

# --- (d) a fincloud domain with no VM behind it -------------------------------
orphan=0c6f8e9a-1111-4222-8333-444455556666
runs n3 "$orphan"
report n3
api GET /v1/hosts/n3
check "(d) the host shows the orphan" \
	eval 'jqt "[.orphans[] | select(.vm_id == \"$orphan\" and .state == \"running\")] | length == 1"'
check "(d) the orphan is audited" test "$(audited host.orphan "$orphan")" = 1
check "(d) it is not destroyed before the grace" test -z "$(wants n3 "$orphan")"
api GET /metrics "" -
check "(d) /metrics counts it" has 'fincloud_orphan_domains 1'
sleep 2.5
report n3
check "(d) after orphan_grace its node is told to destroy it" test "$(wants n3 "$orphan")" = deleted
check "(d) the destruction is audited" test "$(audited host.orphan.destroy "$orphan")" = 1
report n3
check "(d) audited once" test "$(audited host.orphan.destroy "$orphan")" = 1
drop n3 "$orphan"
report n3
api GET /v1/hosts/n3
check "(d) once destroyed, the host shows no orphan" eval 'jqt ".orphans == []"'
check "(d) and its desired state no longer names it" test -z "$(wants n3 "$orphan")"

api GET /v1/audit/verify
check "the audit chain is intact" eval 'is 200 && jqt ".ok == true"'
validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

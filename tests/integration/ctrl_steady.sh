#!/usr/bin/env bash
# Steady hosts (controller/steady.h, docs/controller.md "Agents and
# liveness"): a heartbeat that repeats its host's last word, once a full
# pass left the host quiet, is recorded in a few statements
# (fincloud_heartbeats_total{pass="steady"}), and everything a full pass
# would have done still happens: usage that moved is written, a changed
# list is worked through, and a host with something in flight (an open
# task, an orphan, a VM another node reports, a VM being deleted, a
# domain event since) is worked through in full every time until it is
# quiet again; the steady state outlives a controller's restart. Run on
# SQLite and (integration-pg) on PostgreSQL.
. "$FC_TOP/tests/integration/ctrl_lib.bash"

ctrl_start --heartbeat-timeout 1200 --heartbeat-interval 600 --orphan-grace 1 ||
	{ nok "controller starts"; exit 1; }
api POST /v1/tokens '{"role":"join","uses":100}'
JOIN=$(jv .token)
register_fake n1 64 262144 5000
register_fake n2 64 262144 5000
api POST /v1/pools '{"name":"p1","cpu_ratio":1,"mem_ratio":1,"disk_ratio":1,"policy":"pack"}'
register_fake n3 64 262144 5000 p1
api POST /v1/flavors '{"name":"s","vcpus":1,"mem_mib":64,"disk_gib":1}'
api POST /v1/tenants '{"name":"t","isolation":"shared","pools":["p1"]}'
ids=()
for i in 1 2 3; do
	api POST /v1/vms "{\"tenant\":\"t\",\"flavor\":\"s\",\"name\":\"v$i\"}"
	is 201 && ids+=("$(jv .id)")
done
check "3 VMs on n3" test "$(db "SELECT count(*) FROM vms WHERE host = 'n3'")" = 3

# metric NAME LABELS: its value now (0 when absent)
metric() {
	curl -s "$URL/metrics" | awk -v k="$1{$2}" '$1 == k {print $2}' | grep . || echo 0
}
steady() { metric fincloud_heartbeats_total 'pass="steady"'; }
full() { metric fincloud_heartbeats_total 'pass="full"'; }
locked() { metric fincloud_db_statements_locked_total 'route="agent.heartbeat"'; }
# doms STATE CPU [EXTRA]: n3's three domains in STATE with cpu_pct CPU,
# then EXTRA entries (JSON, comma-separated)
doms() {
	local i out=
	for i in "${!ids[@]}"; do
		out=$out${out:+,}$(printf '{"vm_id":"%s","name":"t.v%d","state":"%s","cpu_pct":%s,"balloon_mib":64,"disk_alloc_bytes":4096}' \
			"${ids[$i]}" "$i" "$1" "$2")
	done
	echo "[$out${3:+,$3}]"
}
gen=0
# beat NODE DOMAINS: a heartbeat at the generation last answered; GEN
# becomes the one it answers
beat() {
	heartbeat "$1" "$gen" "$2"
	is 200 && gen=$(jv .generation)
}
# kind CMD...: run CMD (a heartbeat; not in a subshell, which would lose
# GEN and the recorded responses), then KIND is the pass that took it
kind() {
	local s0 f0
	s0=$(steady) f0=$(full)
	"$@"
	if [ "$(steady)" -gt "$s0" ]; then KIND=steady
	elif [ "$(full)" -gt "$f0" ]; then KIND=full
	else KIND=none; fi
}

# steady_after WHAT DOMAINS: n3 heartbeats DOMAINS twice more (the
# first works through what is left); the second is steady
steady_after() {
	beat n3 "$2"
	kind beat n3 "$2"
	check "$1" test "$KIND" = steady
}

# in_flight WHAT WHILE: n3's VMs all running, three times: after WHAT
# (the generation bumped: the heartbeat still carries the old one), then
# twice WHILE it is in flight, with the agent at the new generation, so
# that only report_quiet() keeps the third from being steady
in_flight() {
	kind beat n3 "$(doms running 42.5)"
	check "after $1: in full" test "$KIND" = full
	kind beat n3 "$(doms running 42.5)"
	check "$2: in full" test "$KIND" = full
	kind beat n3 "$(doms running 42.5)"
	check "$2, the same heartbeat again: still in full" test "$KIND" = full
}

# the first heartbeats: the creates end, then the host is quiet
beat n3 "$(doms running 1.5)"
check "the first heartbeat is worked through in full" test "$(full)" -ge 1
check "the create tasks ended" test "$(db "SELECT count(*) FROM tasks WHERE type = 'create' AND state = 'done'")" = 3
for _ in 1 2; do beat n3 "$(doms running 1.5)"; done
l0=$(locked)
kind beat n3 "$(doms running 1.5)"
check "the same heartbeat once the host is quiet: steady" test "$KIND" = steady
ls=$(($(locked) - l0))
# the same heartbeat worked through in full: after the host is forgotten
# (a domain event, here with no events)
api POST /v1/agents/n3/events '{"events":[]}' "${CRED[n3]}"
l0=$(locked)
kind beat n3 "$(doms running 1.5)"
lf=$(($(locked) - l0))
check "the same heartbeat after an event: in full" test "$KIND" = full
echo "# statements under the lock: a steady heartbeat $ls, the same in full $lf"
check "a steady heartbeat runs at least 10 statements fewer under the lock than in full ($ls, $lf)" \
	test "$ls" -le $((lf - 10))
seen0=$(db "SELECT last_seen_ms FROM hosts WHERE name = 'n3'")
steady_after "steady again" "$(doms running 1.5)"
check "and it is answered with n3's VMs" jqt ".vms | length == 3"
check "a steady heartbeat records when the host was last heard from (HA reads it)" \
	test "$(db "SELECT last_seen_ms FROM hosts WHERE name = 'n3'")" -gt "$seen0"

# usage that moved is written by a steady heartbeat
kind beat n3 "$(doms running 42.5)"
check "new usage: still steady" test "$KIND" = steady
api GET "/v1/vms/${ids[0]}"
check "the new usage is recorded" jqt '.usage.cpu_pct == 42.5'

# a changed list: in full, and its state recorded
kind beat n3 "$(doms shutoff 42.5)"
check "a VM reported shut off: in full" test "$KIND" = full
check "the VMs read stopped" test "$(db "SELECT count(*) FROM vms WHERE host = 'n3' AND state = 'stopped'")" = 3
steady_after "the same list again: steady" "$(doms shutoff 42.5)"

beat n3 "$(doms running 42.5)"
check "the VMs run again" test "$(db "SELECT count(*) FROM vms WHERE host = 'n3' AND state = 'running'")" = 3
steady_after "quiet again: steady" "$(doms running 42.5)"

# an operation bumps the generation: the agent's next word is in full,
# and while the stop task is open every heartbeat is
api POST "/v1/vms/${ids[0]}/stop"
check "stop accepted" is 202
in_flight "the stop" "with the stop task open"
check "the stop task is still open" test "$(db "SELECT count(*) FROM tasks WHERE type = 'stop' AND state IN ('pending','running')")" = 1
# ids[0] shut off, the others running
stopped_doms() { doms running 42.5 | jq -c '.[0].state = "shutoff"'; }
beat n3 "$(stopped_doms)"
check "the stop task ended" test "$(db "SELECT count(*) FROM tasks WHERE type = 'stop' AND state = 'done'")" = 1
steady_after "quiet again: steady" "$(stopped_doms)"
api POST "/v1/vms/${ids[0]}/start"
beat n3 "$(stopped_doms)"
beat n3 "$(doms running 42.5)"
check "started again" test "$(db "SELECT count(*) FROM vms WHERE host = 'n3' AND state = 'running'")" = 3

# an orphan: in full every time, so that its grace is counted
orphan='{"vm_id":"0c6f8e9a-0000-4000-8000-000000000001","name":"gone.x","state":"running"}'
beat n3 "$(doms running 42.5 "$orphan")"
kind beat n3 "$(doms running 42.5 "$orphan")"
check "an orphan reported: in full" test "$KIND" = full
sleep 1.2
beat n3 "$(doms running 42.5 "$orphan")"
check "the orphan is told to be destroyed after its grace, by a repeated heartbeat" \
	test "$(db "SELECT count(*) FROM reports WHERE host = 'n3' AND destroy_ms IS NOT NULL")" = 1
beat n3 "$(doms running 42.5)"
steady_after "the orphan gone: steady" "$(doms running 42.5)"

# another node reports one of n3's VMs running: flagged, and n3 is in
# full until that ends
gen3=$gen gen=0
beat n2 "[$(domain "${ids[1]}" running)]"
gen2=$gen gen=$gen3
check "the VM is flagged" test "$(db "SELECT error LIKE 'conflict:%' FROM vms WHERE id = '${ids[1]}'")" = "$(if [ -n "$PG_DIR" ]; then echo t; else echo 1; fi)"
in_flight "the flag" "n3 while n2 reports its VM"
gen3=$gen gen=$gen2
beat n2 '[]'
gen=$gen3
beat n3 "$(doms running 42.5)"
check "the conflict is cleared by n3's heartbeat" test "$(db "SELECT error FROM vms WHERE id = '${ids[1]}'")" = ""
steady_after "then steady" "$(doms running 42.5)"

# a domain event since the last list: the next heartbeat in full
api POST /v1/agents/n3/events "{\"events\":[{\"vm_id\":\"${ids[2]}\",\"state\":\"crashed\",\"reason\":\"crashed\"}]}" "${CRED[n3]}"
check "an event is accepted" is 200
check "the VM reads what the event said" test "$(db "SELECT state FROM vms WHERE id = '${ids[2]}'")" = crashed
kind beat n3 "$(doms running 42.5)"
check "after an event: in full" test "$KIND" = full
check "the VM reads what the list says again" test "$(db "SELECT state FROM vms WHERE id = '${ids[2]}'")" = running

# a VM deleted: in full until its domain is gone and its row released
beat n3 "$(doms running 42.5)"
api DELETE "/v1/vms/${ids[2]}"
check "delete accepted" is 202
in_flight "the delete" "with the deleted VM still listed"
unset 'ids[2]'
beat n3 "$(doms running 42.5)"
check "the deleted VM's row is released once it is no longer listed" \
	test "$(db "SELECT count(*) FROM vms WHERE host = 'n3'")" = 2
steady_after "quiet again: steady" "$(doms running 42.5)"

# the steady state is in the database: a restarted controller (or the
# one a fleet fails over to) records a steady host's heartbeat as steady
# at once
ctrl_kill TERM
ctrl_start --heartbeat-timeout 1200 --heartbeat-interval 600 --orphan-grace 1 ||
	nok "the controller starts again"
kind beat n3 "$(doms running 42.5)"
check "after a controller restart: steady at once" test "$KIND" = steady

# degraded, or down: in full
api POST /v1/agents/n3/heartbeat "{\"generation_seen\":$gen,\"status\":\"degraded\",\"degraded_reason\":\"disk\",\"inventory\":$(inventory 16 32768 500),\"domains\":$(doms running 42.5),\"foreign_domains\":[],\"tasks\":[]}" "${CRED[n3]}"
check "a degraded heartbeat is answered" is 200
kind beat n3 "$(doms running 42.5)"
check "back to ok: in full" test "$KIND" = full
steady_after "and steady after" "$(doms running 42.5)"
# (fenced: the leader's detection never changes it, so the heartbeat
# meets it; a suspect host heard from again it would set ok itself)
db "UPDATE hosts SET ha_state = 'fenced' WHERE name = 'n3'" >/dev/null
kind beat n3 "$(doms running 42.5)"
check "a fenced host: in full" test "$KIND" = full
check "which unfences it (it holds nothing restarted elsewhere)" \
	test "$(db "SELECT ha_state FROM hosts WHERE name = 'n3'")" = ok
steady_after "steady again after" "$(doms running 42.5)"
db "UPDATE hosts SET state = 'down' WHERE name = 'n3'" >/dev/null
kind beat n3 "$(doms running 42.5)"
check "a host marked down: in full" test "$KIND" = full
check "and up again" test "$(db "SELECT state FROM hosts WHERE name = 'n3'")" = up
validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

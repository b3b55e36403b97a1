#!/usr/bin/env bash
# A heartbeat's list of domains is read and written in a number of
# statements that does not grow with its length (controller/report.h
# "Batched"; docs/decisions.md "A heartbeat in a few statements"),
# counted by the controller's fincloud_db_statements_total for the
# heartbeat route, each worked through in full: an unchanged list of 300 domains (200 VMs and 100
# orphans: more than one chunk of every batched statement) costs what an
# unchanged list of one does, writes no report row, and each edge of the
# batched SQL keeps its meaning: usage changed on every VM, one state
# change among unchanged ones (its VM's state, one audit entry), a
# domain vanishing, an empty list. Run on SQLite and (integration-pg) on
# PostgreSQL.
. "$FC_TOP/tests/integration/ctrl_lib.bash"

ctrl_start --heartbeat-timeout 600 --heartbeat-interval 5 ||
	{ nok "controller starts"; exit 1; }
api POST /v1/flavors '{"name":"small","vcpus":1,"mem_mib":64,"disk_gib":1}'
api POST /v1/tenants '{"name":"loan","isolation":"shared","pools":["default"]}'
api POST /v1/tokens '{"role":"join","uses":10}'
JOIN=$(jv .token)
register_fake n1 512 1048576 10000
check "node n1 registered" is 201
ids=()
for i in $(seq 1 200); do
	api POST /v1/vms "{\"tenant\":\"loan\",\"flavor\":\"small\",\"name\":\"v$i\"}"
	is 201 && ids+=("$(jv .id)")
done
check "200 VMs created on n1" test "${#ids[@]}" = 200 -a \
	"$(db "SELECT count(*) FROM vms WHERE host = 'n1'")" = 200
api POST /v1/pools '{"name":"solo","cpu_ratio":1,"mem_ratio":1,"disk_ratio":1,"policy":"pack"}'
register_fake n2 8 16384 100 solo
api POST /v1/tenants '{"name":"one","isolation":"shared","pools":["solo"]}'
api POST /v1/vms '{"tenant":"one","flavor":"small","name":"only"}'
solo=$(jv .id)
check "one VM on n2" test "$(db "SELECT host FROM vms WHERE id = '$solo'")" = n2
orphans=()
for i in $(seq 1 100); do orphans+=("$(printf '0c6f8e9a-0000-4000-8000-%012d' "$i")"); done

# stmts: the statements all heartbeats have run so far
stmts() {
	curl -s "$URL/metrics" |
		awk '/^fincloud_db_statements_total\{route="agent.heartbeat"\}/ {print $2}' |
		grep . || echo 0
}
# doms STATE CPU [SKIP_INDEX [NO_ORPHANS]]: the 200 VMs (but SKIP_INDEX,
# 0-based) in STATE with cpu_pct CPU, then (unless NO_ORPHANS) the 100
# orphans running
doms() {
	local i out=
	for i in "${!ids[@]}"; do
		[ "$i" = "${3:--1}" ] && continue
		out=$out${out:+,}$(printf '{"vm_id":"%s","name":"loan.v%d","state":"%s","cpu_pct":%s,"balloon_mib":64,"disk_alloc_bytes":4096}' \
			"${ids[$i]}" "$i" "$1" "$2")
	done
	[ -n "${4-}" ] && { echo "[$out]"; return; }
	for i in "${orphans[@]}"; do
		out=$out,$(printf '{"vm_id":"%s","name":"gone.x","state":"running"}' "$i")
	done
	echo "[$out]"
}
declare -A GEN=([n1]=0 [n2]=0)
# hb NODE DOMAINS: one heartbeat (checked 200), worked through in full,
# and the statements it ran into D. Full: the node's domain events (none)
# first make the controller forget the host was steady (docs/controller.md
# "Steady hosts"; ctrl_steady.sh tests the steady ones)
hb() {
	local a b
	api POST "/v1/agents/$1/events" '{"events":[]}' "${CRED[$1]}"
	a=$(stmts)
	heartbeat "$1" "${GEN[$1]}" "$2"
	b=$(stmts)
	D=$((b - a))
	echo "# heartbeat of $1: $D statements"
	is 200 && GEN[$1]=$(jv .generation)
}
reports() { db "SELECT count(*) FROM reports WHERE host = '$1'"; }
running() { db "SELECT count(*) FROM vms WHERE host = '$1' AND state = 'running'"; }

# the first reports: everything is new
hb n1 "$(doms running 1.5)"
check "the first list of 300 domains is answered" is 200
check "its 300 domains are recorded" test "$(reports n1)" = 300
check "its 200 VMs run" test "$(running n1)" = 200
check "its 100 orphans are recorded" test \
	"$(db "SELECT count(*) FROM reports WHERE host = 'n1' AND orphan_ms IS NOT NULL")" = 100
hb n2 "[$(domain "$solo" running)]"
check "n2's one VM runs" test "$(running n2)" = 1

# unchanged lists, once more each so that both are at their generation
hb n1 "$(doms running 1.5)"
hb n2 "[$(domain "$solo" running)]"
seen0=$(db "SELECT sum(seen_ms) FROM reports WHERE host = 'n1'")
hb n1 "$(doms running 1.5)"
big=$D
hb n2 "[$(domain "$solo" running)]"
small=$D
echo "# statements of an unchanged heartbeat: 300 domains $big, 1 domain $small"
# (the slack: a heartbeat's token check writes its last use now and then)
check "an unchanged heartbeat of 300 domains runs about as many statements as one of 1: $big vs $small" \
	test "$small" -gt 0 -a "$big" -le $((small + 10))
check "an unchanged heartbeat runs fewer than 50 statements ($big)" test "$big" -lt 50
check "an unchanged heartbeat writes no report row" \
	test "$(db "SELECT sum(seen_ms) FROM reports WHERE host = 'n1'")" = "$seen0"

# usage changed on all 200 VMs: 4 chunks of usage writes at most
hb n1 "$(doms running 2.5)"
check "usage changed on 200 VMs: a few statements more than unchanged ($D)" \
	test "$D" -le $((small + 14))
check "the new usage is recorded on all 200" test \
	"$(db "SELECT count(*) FROM vms WHERE host = 'n1' AND cpu_pct = 2.5")" = 200

# one state change among unchanged ones
a_paused=$(db "SELECT count(*) FROM audit WHERE action = 'vm.state.paused'")
body=$(doms running 2.5 | jq -c --arg v "${ids[150]}" 'map(if .vm_id == $v then .state = "paused" else . end)')
hb n1 "$body"
check "one VM paused among 300 domains" test \
	"$(db "SELECT state FROM vms WHERE id = '${ids[150]}'")" = paused -a "$(running n1)" = 199
check "its report says paused" test \
	"$(db "SELECT state FROM reports WHERE host = 'n1' AND vm_id = '${ids[150]}'")" = paused
check "one vm.state.paused audited" test \
	"$(db "SELECT count(*) FROM audit WHERE action = 'vm.state.paused'")" = $((a_paused + 1))

# a domain vanishing
hb n1 "$(doms running 2.5 7)"
check "a vanished domain's report is gone, the others stay" test \
	"$(reports n1)" = 299 -a \
	"$(db "SELECT count(*) FROM reports WHERE vm_id = '${ids[7]}'")" = 0
check "its VM is pending again, the paused one runs again" test \
	"$(db "SELECT state FROM vms WHERE id = '${ids[7]}'")" = pending -a \
	"$(db "SELECT state FROM vms WHERE id = '${ids[150]}'")" = running
hb n1 "$(doms running 2.5)"
check "back in the list, it runs" test "$(running n1)" = 200 -a "$(reports n1)" = 300

# an empty list
hb n1 "[]"
check "an empty list empties the report" test "$(reports n1)" = 0
check "and the VMs are pending" test \
	"$(db "SELECT count(*) FROM vms WHERE host = 'n1' AND state = 'pending'")" = 200
check "n2's report is untouched" test "$(reports n2)" = 1

# 200 state changes at once (pending to running), no new orphan: the
# changes are written, audited and their tasks ended in chunks
a_run=$(db "SELECT count(*) FROM audit WHERE action = 'vm.state.running'")
hb n1 "$(doms running 1.5 -1 no-orphans)"
echo "# statements of a heartbeat moving 200 VMs to running: $D"
check "200 VMs run again after one heartbeat" test "$(running n1)" = 200
check "200 vm.state.running audited" test \
	"$(db "SELECT count(*) FROM audit WHERE action = 'vm.state.running'")" = $((a_run + 200))
check "200 state changes in a bounded number of statements ($D)" \
	test "$D" -le $((small + 40))
api GET /v1/audit/verify
check "the audit chain verifies after the batched entries" eval 'jqt ".ok"'
hb n1 "$(doms running 1.5)"
check "all 300 back" test "$(reports n1)" = 300 -a "$(running n1)" = 200
validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

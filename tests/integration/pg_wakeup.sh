#!/usr/bin/env bash
# Two controllers on one PostgreSQL (issue 17): an agent's long-poll held
# by controller A is woken by a change made through controller B (a NOTIFY
# at B's commit, A's listener, controller/wakeup.h), well before its
# 30 s wait ends, and its answer carries the change; a change through A
# itself still wakes it; after PostgreSQL restarts, A's listener listens
# again and the wakeups from B resume. Task timeouts run on the leader
# alone: a task that times out is failed (and audited) once.
FINCLOUD_TEST_DB=pg
. "$FC_TOP/tests/integration/ctrl_lib.bash"

ctrl_start --task-timeout-create 5 || { nok "controller A starts"; exit 1; }
url_a=$URL log_a=$work/controller.log
check "controller B starts on the same database" ctrl_start_b --task-timeout-create 5
api POST /v1/flavors '{"name":"small","vcpus":1,"mem_mib":512,"disk_gib":1}'
api POST /v1/tenants '{"name":"loan","isolation":"shared","pools":["default"]}'
api POST /v1/tokens '{"role":"join","uses":10}'
JOIN=$(jv .token)
register_fake n1 8 16384 100
check "a node registered through A" is 201

# poll_a GEN WAIT OUT: a long-poll of n1's agent held by A, in the
# background; its answer in OUT, its status in OUT.status, how long it
# took in OUT.ms (written last)
poll_a() {
	local body
	body="{\"generation_seen\":$1,\"status\":\"ok\",\"inventory\":$(inventory 8 16384 100),\"domains\":[],\"foreign_domains\":[],\"tasks\":[]}"
	(
		t0=$(date +%s%N)
		curl -s -o "$3" -w '%{http_code}' -X POST -H "Authorization: Bearer ${CRED[n1]}" \
			-H 'Content-Type: application/json' --data-binary "$body" \
			"$url_a/v1/agents/n1/heartbeat?wait_s=$2" >"$3.status"
		echo $((($(date +%s%N) - t0) / 1000000)) >"$3.ms"
	) &
	pids+=($!)
}
# record OUT: its answer validated with the others
record() {
	rn=$((rn + 1))
	cp "$1" "$work/resp/$rn.body"
	printf 'POST\t/v1/agents/n1/heartbeat\t%s\t%s\n' "$(cat "$1.status")" "$work/resp/$rn.body" >>"$work/resp/index"
}
# woken OUT GEN: the long-poll ended before its 30 s wait with a newer
# generation than GEN
woken() {
	wait_for 25 test -s "$1.ms" || return 1
	echo "# the long-poll returned after $(cat "$1.ms") ms"
	[ "$(cat "$1.status")" = 200 ] && [ "$(jq .generation "$1")" -gt "$2" ] &&
		[ "$(cat "$1.ms")" -lt 20000 ]
}
held() { sleep 1; [ ! -e "$1.ms" ]; } # OUT: still waiting after a second

heartbeat n1 0 '[]'
gen=$(jv .generation)
poll_a "$gen" 30 "$work/p1"
check "A holds n1's long-poll (nothing new)" held "$work/p1"
URL=$url_b
api POST /v1/vms '{"tenant":"loan","flavor":"small","name":"via-b"}'
check "a VM for n1 created through B" eval 'is 201 && [ "$(jv .host)" = n1 ]'
vm=$(jv .id)
check "A's long-poll is woken by B's change, long before its 30 s" woken "$work/p1" "$gen"
check "and its answer hands n1 the new VM" \
	test "$(jq -r --arg v "$vm" '[.vms[] | select(.vm_id == $v)] | length' "$work/p1")" = 1
record "$work/p1"
gen=$(jq .generation "$work/p1")

URL=$url_a
poll_a "$gen" 30 "$work/p2"
check "A holds the next long-poll" held "$work/p2"
api POST "/v1/vms/$vm/stop"
check "a change through A itself wakes it as before" woken "$work/p2" "$gen"
record "$work/p2"
gen=$(jq .generation "$work/p2")

check "PostgreSQL restarts (every session cut)" pg_ctl restart
check "A's listener listens again" wait_for 15 grep -q "wakeups from other controllers: listening again" "$log_a"
poll_a "$gen" 30 "$work/p3"
check "A holds a long-poll after the restart" held "$work/p3"
URL=$url_b
api POST "/v1/vms/$vm/start"
check "a change through B" is 202
check "wakes it again" woken "$work/p3" "$gen"
record "$work/p3"

# --- task timeouts: the leader alone ------------------------------------------
api POST /v1/vms '{"tenant":"loan","flavor":"small","name":"never"}'
never=$(jv .id)
api GET "/v1/tasks?vm=$never"
tc=$(jv '.items[0].id')
check "a create task nobody reports" test "$(jv '.items[0].state')" = pending
tstate() { api GET "/v1/tasks/$tc"; [ "$(jv .state)" = failed ]; }
check "times out" wait_for 15 tstate
sleep 2
check "once (one task.timeout entry)" \
	test "$(db "SELECT count(*) FROM audit WHERE action = 'task.timeout' AND target = 'task:$tc'")" = 1
check "logged by one controller only" \
	test "$(cat "$log_a" "$log_b" | grep -c "task $tc (create .*failed: timed out")" = 1

validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

#!/usr/bin/env bash
# Rebalance and drain executed by the real controller (docs/rebalancing.md).
#
# Part 1 drives the controller with curl acting as the agents of four
# hosts in pool "default" and two in pool "p2": it answers the migrate
# tasks the runs hand out (done, or failed when told to), so the
# execution rules can be checked while they happen: at most K
# migrations at a time and at most one per host, a re-check before each
# move, a failed migration stopping the run, progress and audit entries,
# 409 on a second run of the same pool, drain and resume, bad input,
# roles. Part 2 runs real fincloud-agent processes on libvirt's test:///
# driver, which cannot migrate: a rebalance through finctl must fail
# cleanly with the agent's error and leave the VM running on its host.
. "$FC_TOP/tests/integration/ctrl_lib.bash"

ctrl_start --heartbeat-timeout 300 --heartbeat-interval 5 || { nok "controller starts"; exit 1; }
fc() { "$finctl" "$@"; }
mkvm() { "$finctl" -o json vm create "$@" | jq -r .id; }
JOIN=$(fc token create --role join --uses 1000 --description rebal 2>/dev/null)

declare -A GEN
fake_hosts=()
fake() { # NODE POOL
	register_fake "$1" 16 32768 500 "$2"
	GEN[$1]=0
	fake_hosts+=("$1")
}
FAIL_VM=
# One heartbeat per fake host: report every VM the controller places on
# it as running, and every migrate task handed to it as done (failed for
# the VM in $FAIL_VM).
agents_round() {
	local h doms tasks id first
	for h in "${fake_hosts[@]}"; do
		doms=$(db "SELECT id || ' ' || desired FROM vms WHERE host = '$h' AND desired != 'deleted'" |
			while read -r id want; do
				if [ "$want" = running ]; then domain "$id" running; else domain "$id" shutoff; fi
				echo
			done | paste -sd, -)
		tasks=$(db "SELECT id || ' ' || vm_id FROM tasks WHERE type = 'migrate' AND source_host = '$h' AND state IN ('pending','running')" |
			while read -r id vm; do
				if [ "$vm" = "$FAIL_VM" ]; then
					printf '{"task_id":"%s","state":"failed","error":"simulated: connection refused by the target"}\n' "$id"
				else
					printf '{"task_id":"%s","state":"done"}\n' "$id"
				fi
			done | paste -sd, -)
		heartbeat "$h" "${GEN[$h]}" "[$doms]" 0 "[$tasks]"
		[ "$status" = 200 ] && GEN[$h]=$(jv .generation)
	done
}
# The execution rules, checked against the database at this instant.
violations=0
check_rules() { # K
	local inflight dup
	inflight=$(db "SELECT count(*) FROM tasks WHERE type = 'migrate' AND state IN ('pending','running')")
	dup=$(db "SELECT h FROM (SELECT source_host AS h FROM tasks WHERE type = 'migrate' AND state IN ('pending','running') UNION ALL SELECT target_host FROM tasks WHERE type = 'migrate' AND state IN ('pending','running')) t GROUP BY h HAVING count(*) > 1")
	if [ "$inflight" -gt "$1" ] || [ -n "$dup" ]; then
		violations=$((violations + 1))
		echo "# rule broken: $inflight migrations in flight (max $1), hosts in two: '$dup'"
	fi
}
# drive TASK K: play the agents until the task ends (at most 60 s).
drive() {
	local i
	for i in $(seq 1 300); do
		check_rules "$2"
		agents_round
		check_rules "$2"
		[ "$(db "SELECT state FROM tasks WHERE id = '$1'")" != running ] && return 0
		sleep 0.2
	done
	return 1
}
task_state() { db "SELECT state FROM tasks WHERE id = '$1'"; }

fake f1 default
fake f2 default
fake f3 default
fake f4 default
fc pool create p2 --policy pack >/dev/null
fake g1 p2
fake g2 p2
agents_round
check "six fake hosts are up" test "$(fc -o json host list --state up | jq length)" = 6
fc flavor create small --vcpus 2 --mem-mib 2048 --disk-gib 10 >/dev/null &&
	fc tenant create loan >/dev/null && fc tenant create risk >/dev/null
check "flavor and tenants" test $? = 0

# pack every VM onto f1 (and g1) while the other hosts are in maintenance
for h in f2 f3 f4 g2; do fc host maintenance "$h" on >/dev/null; done
ids=()
for i in 1 2 3 4 5 6; do
	ids+=("$(mkvm --tenant loan --flavor small --name "web$i" --pool default 2>/dev/null)")
done
p2ids=()
for i in 1 2 3; do
	p2ids+=("$(mkvm --tenant risk --flavor small --name "batch$i" --pool p2 2>/dev/null)")
done
for h in f2 f3 f4 g2; do fc host maintenance "$h" off >/dev/null; done
agents_round
check "six VMs run on f1 and three on g1" \
	eval '[ "$(db "SELECT count(*) FROM vms WHERE host = '"'f1'"' AND state = '"'running'"'")" = 6 ] &&
	      [ "$(db "SELECT count(*) FROM vms WHERE host = '"'g1'"' AND state = '"'running'"'")" = 3 ]'

# --- plan (dry run)
before=$(db "SELECT group_concat(id || host) FROM (SELECT id, host FROM vms ORDER BY id) v")
ntasks=$(db "SELECT count(*) FROM tasks")
fc rebalance plan --pool default --policy spread >"$work/plan.txt" 2>&1
rc=$?
check "finctl rebalance plan prints a table of moves and eta before / after" \
	eval '[ $rc = 0 ] && grep -q "^VM  *ID  *FROM  *TO" "$work/plan.txt" && grep -q "^mem_mib " "$work/plan.txt" && grep -q " f1  *f[234] " "$work/plan.txt"'
api POST /v1/pools/default/rebalance '{"policy":"spread","dry_run":true,"max_moves":4}'
check "a dry run answers 200 with at most max_moves moves, all off f1" \
	eval 'is 200 && jqt "(.moves | length) >= 1 and (.moves | length) <= 4 and all(.moves[]; .source == \"f1\" and .target != \"f1\")"'
check "the plan predicts a better spread: eta stddev and max fall, the pool's eta stays" \
	eval 'jqt ".eta_after.mem_mib.stddev < .eta_before.mem_mib.stddev and .eta_after.mem_mib.max < .eta_before.mem_mib.max and .eta_after.mem_mib.pool == .eta_before.mem_mib.pool and .hosts_active_after > .hosts_active_before"'
fc -o json rebalance plan --pool default --policy pack >"$work/pack.json"
check "rebalance plan -o json (pack) is the API's plan" \
	eval 'jq -e ".policy == \"pack\" and (.moves | type == \"array\")" "$work/pack.json" >/dev/null'
check "a dry run changes nothing (no task, no VM moved)" \
	eval '[ "$(db "SELECT group_concat(id || host) FROM (SELECT id, host FROM vms ORDER BY id) v")" = "$before" ] && [ "$(db "SELECT count(*) FROM tasks")" = "$ntasks" ]'

# --- bad input
api POST /v1/pools/nosuch/rebalance '{"dry_run":true}'
check "unknown pool: 404" is_err 404 not_found
api POST /v1/pools/default/rebalance '{"policy":"sideways","dry_run":true}'
check "bad policy: 400 naming the field" is_err 400 invalid_field policy
api POST /v1/pools/default/rebalance '{"max_moves":-1,"dry_run":true}'
check "negative max_moves: 400 naming the field" is_err 400 invalid_field max_moves
api POST /v1/pools/default/rebalance '{"concurrency":0}'
check "concurrency 0: 400 naming the field" is_err 400 invalid_field concurrency
api POST /v1/pools/default/rebalance '{"dryrun":true}'
check "an unknown field: 400 naming it" is_err 400 unknown_field dryrun
api POST /v1/hosts/nosuch/drain ''
check "drain of an unknown host: 404" is_err 404 not_found
fc rebalance plan --pool default --policy sideways >/dev/null 2>"$work/err"
rc=$?
check "finctl rebalance plan --policy sideways: exit 2 naming the option and its words" \
	eval '[ $rc = 2 ] && grep -q -- "--policy: expected one of spread, pack" "$work/err"'
fc rebalance run --pool default --max-moves -3 >/dev/null 2>"$work/err"
rc=$?
check "finctl rebalance run --max-moves -3: exit 2 naming the option" \
	eval '[ $rc = 2 ] && grep -q -- "--max-moves" "$work/err"'
fc rebalance plan --pool nosuch >/dev/null 2>&1
check "finctl rebalance plan --pool nosuch: exit 4" test $? = 4
fc rebalance plan >/dev/null 2>&1
check "finctl rebalance plan without --pool: usage error (exit 2)" test $? = 2
fc rebalance run --pool default --max-moves lots >/dev/null 2>&1
check "finctl rebalance run --max-moves lots: usage error (exit 2)" test $? = 2

# --- roles
VIEWER=$(fc token create --role viewer 2>/dev/null)
TENANT=$(fc token create --role tenant --tenant loan 2>/dev/null)
api POST /v1/pools/default/rebalance '{"dry_run":true}' "$VIEWER"
check "a viewer cannot rebalance (403)" is 403
api POST /v1/pools/default/rebalance '{}' "$TENANT"
check "a tenant cannot rebalance (403)" is 403
api POST /v1/hosts/f2/drain '' "$TENANT"
check "a tenant cannot drain (403)" is 403
api POST /v1/hosts/f2/resume '' "$VIEWER"
check "a viewer cannot resume (403)" is 403
FINCLOUD_TOKEN=$VIEWER fc rebalance run --pool default >/dev/null 2>&1
check "finctl rebalance run as viewer: exit 1" test $? = 1

# --- a run: K = 2, re-check before each move, progress, audit
api POST /v1/pools/default/rebalance '{"policy":"spread","max_moves":4,"concurrency":2}'
task=$(jv .id)
check "rebalance run: 202 with a running task of type rebalance" \
	eval 'is 202 && jqt ".type == \"rebalance\" and .state == \"running\" and .progress.total >= 2 and .progress.concurrency == 2 and .vm_id == null"'
moves=$(jv '.progress.moves | length')
api POST /v1/pools/default/rebalance '{"policy":"spread"}'
check "a second run of the same pool is refused (409) naming the running task" \
	eval 'is_err 409 busy && has "$task"'
api POST /v1/hosts/f3/drain ''
check "so is a drain of a host in that pool (409)" is_err 409 busy
api POST /v1/pools/default/rebalance '{"dry_run":true}'
check "a dry run is still allowed meanwhile" is 200
sleep 0.5
check_rules 2
check "at most 2 migrations start at once, never two on one host" \
	eval '[ "$(db "SELECT count(*) FROM tasks WHERE type = '"'migrate'"' AND state = '"'pending'"'")" -le 2 ] && [ $violations = 0 ]'
# the last planned VM is deleted before its move starts: the re-check skips it
last_vm=$(db "SELECT progress FROM tasks WHERE id = '$task'" | jq -r '.moves[-1].vm')
last_state=$(db "SELECT progress FROM tasks WHERE id = '$task'" | jq -r '.moves[-1].state')
[ "$last_state" = pending ] && fc vm delete "$last_vm" >/dev/null
drive "$task" 2
check "the run ends done" test "$(task_state "$task")" = done
check "throughout it, at most 2 migrations at a time and at most one per host" test $violations = 0
api GET "/v1/tasks/$task"
if [ "$last_state" = pending ]; then
	check "a move whose VM was deleted meanwhile is skipped with a note (re-check)" \
		jqt '.progress.moves[-1].state == "skipped" and (.progress.moves[-1].note | test("deleted"))'
else
	ok "a move whose VM was deleted meanwhile is skipped # SKIP the last move had started already"
fi
check "progress: every move done or skipped, none running" \
	jqt '.progress.done + .progress.skipped == .progress.total and .progress.running == 0 and (.progress.current | length) == 0'
check "the VMs are where the moves put them" \
	eval 'for m in $(jv ".progress.moves[] | select(.state == \"done\") | .vm + \"=\" + .target"); do
		[ "$(db "SELECT host FROM vms WHERE id = '"'"'${m%%=*}'"'"'")" = "${m#*=}" ] || exit 1; done'
check "f1 holds fewer VMs than before" test "$(db "SELECT count(*) FROM vms WHERE host = 'f1' AND desired != 'deleted'")" -lt 6
fc -o json audit list --limit 1000 >"$work/audit.json"
check "each move and the run's outcome are in the audit log" \
	eval '[ "$(jq "[.[] | select(.action == \"rebalance.move.start\")] | length" "$work/audit.json")" -ge 1 ] &&
	      [ "$(jq "[.[] | select(.action == \"rebalance.move.done\")] | length" "$work/audit.json")" -ge 1 ] &&
	      jq -e "any(.[]; .action == \"rebalance.run.done\" and (.target | contains(\"$task\")))" "$work/audit.json" >/dev/null'

# --- a failed migration stops the run cleanly (pool p2, K = 1)
api POST /v1/pools/p2/rebalance '{"policy":"spread","concurrency":1}'
t2=$(jv .id)
first=$(jv '.progress.moves[0].vm')
n2=$(jv '.progress.total')
check "pool p2: a run with concurrency 1 starts" eval 'is 202 && [ "$n2" -ge 1 ]'
FAIL_VM=$first
drive "$t2" 1
FAIL_VM=
api GET "/v1/tasks/$t2"
check "a failed migration fails the run, naming the VM, both hosts and the agent's error" \
	eval 'jqt ".state == \"failed\"" && has "$first" && has "g1" && has "g2" && has "simulated: connection refused"'
check "no move started after the failure" \
	jqt '[.progress.moves[] | select(.state == "done" or .state == "running")] | length == 0'
check "the VM stays running on its host" \
	test "$(db "SELECT host || '/' || state FROM vms WHERE id = '$first'")" = g1/running
check "the failure is in the audit log" \
	eval 'fc -o json audit list --limit 1000 | jq -e "any(.[]; .action == \"rebalance.run.failed\")" >/dev/null'

# --- drain, new VMs avoid the host, resume
fc pool update default --policy spread >/dev/null
victim=f2
n_on=$(db "SELECT count(*) FROM vms WHERE host = '$victim'")
fc -o json host drain "$victim" --no-wait >"$work/drain.json"
dtask=$(jq -r .id "$work/drain.json")
check "finctl host drain --no-wait starts a drain task" \
	eval 'jq -e ".type == \"drain\" and .progress.host == \"'$victim'\"" "$work/drain.json" >/dev/null'
check "the host is in maintenance" test "$(fc -o json host show "$victim" | jq -r .maintenance)" = true
if [ "$(task_state "$dtask")" = running ]; then
	api POST "/v1/hosts/$victim/resume" ''
	check "resume while the drain runs is refused (409)" is_err 409 busy
else
	ok "resume while the drain runs is refused # SKIP the drain had nothing to do ($n_on VMs)"
fi
drive "$dtask" 2
check "the drain ends done and the host is empty" \
	eval '[ "$(task_state "$dtask")" = done ] && [ "$(db "SELECT count(*) FROM vms WHERE host = '"'$victim'"'")" = 0 ]'
check "throughout the drain, at most 2 migrations at a time and one per host" test $violations = 0
new=$(mkvm --tenant loan --flavor small --name after-drain 2>/dev/null)
check "a new VM avoids the drained host (pool policy spread, the host is empty)" \
	eval '[ -n "$new" ] && [ "$(db "SELECT host FROM vms WHERE id = '"'$new'"'")" != "$victim" ]'
fc host resume "$victim" >"$work/out"
check "finctl host resume: out of maintenance" \
	eval '[ $? = 0 ] && [ "$(fc -o json host show "$victim" | jq -r .maintenance)" = false ]'
agents_round
new=$(mkvm --tenant loan --flavor small --name after-resume 2>/dev/null)
check "after resume the empty host takes new VMs again" \
	test "$(db "SELECT host FROM vms WHERE id = '$new'")" = "$victim"
agents_round
fc host drain "$victim" >"$work/drain.out" 2>&1 &
dpid=$!
for _ in $(seq 1 100); do agents_round; kill -0 "$dpid" 2>/dev/null || break; sleep 0.2; done
wait "$dpid"
rc=$?
check "finctl host drain waits, printing each move, and exits 0" \
	eval '[ $rc = 0 ] && grep -q "move 1/1: after-resume '$victim' -> f[0-9]*: done" "$work/drain.out" && grep -q "drain .* done" "$work/drain.out"'
fc host resume "$victim" >/dev/null

# a stopped VM cannot leave live: the drain fails naming it
for h in f1 f3 f4; do fc host maintenance "$h" on >/dev/null; done
cold=$(mkvm --tenant loan --flavor small --name cold 2>/dev/null)
for h in f1 f3 f4; do fc host maintenance "$h" off >/dev/null; done
agents_round
fc vm stop "$cold" >/dev/null
agents_round
fc host drain "$victim" --timeout 60 >"$work/drain.out" 2>&1
rc=$?
check "a drain that leaves a stopped VM behind fails (exit 5) naming it" \
	eval '[ "$(db "SELECT host || '"'/'"' || state FROM vms WHERE id = '"'$cold'"'")" = "$victim/stopped" ] && [ $rc = 5 ] && grep -q "still holds 1 VM(s): cold (stopped)" "$work/drain.out"'
fc vm delete "$cold" >/dev/null
fc host resume "$victim" >/dev/null
agents_round

# -o json: stdout is the final task alone, the move lines go to stderr
for h in f1 f3 f4; do fc host maintenance "$h" on >/dev/null; done
mkvm --tenant loan --flavor small --name warm >/dev/null 2>&1
for h in f1 f3 f4; do fc host maintenance "$h" off >/dev/null; done
agents_round
fc -o json host drain "$victim" >"$work/drain.json" 2>"$work/drain.err" &
dpid=$!
for _ in $(seq 1 100); do agents_round; kill -0 "$dpid" 2>/dev/null || break; sleep 0.2; done
wait "$dpid"
rc=$?
check "finctl -o json host drain: exit 0, stdout the finished task, moves on stderr" \
	eval '[ $rc = 0 ] && jq -e ".type == \"drain\" and .state == \"done\" and .progress.done == 1" "$work/drain.json" >/dev/null && grep -q "move 1/1: warm" "$work/drain.err"'
fc host resume "$victim" >/dev/null

# --- the controller restarting mid-run leaves no run "running" (pool p2
# still has its VMs on g1 after the failed run)
api POST /v1/pools/p2/rebalance '{"policy":"spread","concurrency":1}'
t3=$(jv .id)
check "a new run of pool p2 starts after the failed one" is 202
ctrl_kill KILL
ctrl_start --heartbeat-timeout 300 --heartbeat-interval 5 >/dev/null
api GET "/v1/tasks/$t3"
check "a run interrupted by a controller crash is failed at the next start" \
	jqt '.state == "failed" and (.error | test("interrupted"))'
api POST /v1/pools/default/rebalance '{"dry_run":true}'
check "and the pool can be planned again" is 200

validate_responses

# --- part 2: real agents on test:/// (the driver cannot migrate)
if [ -x "$agent" ] && "$agent" --help >/dev/null 2>&1; then
	fc pool create sim --policy pack >/dev/null
	fc tenant create simt --pools sim >/dev/null
	sim_agent s1 8 16384 200 sim
	sim_agent s2 8 16384 200 sim
	check "two real agents register in pool sim" \
		wait_for 20 eval '[ "$(fc -o json host list --pool sim --state up | jq length)" = 2 ]'
	fc host maintenance s2 on >/dev/null
	sv=()
	for i in 1 2; do
		sv+=("$(fc vm create --tenant simt --flavor small --pool sim --wait --timeout 30 2>/dev/null)")
	done
	fc host maintenance s2 off >/dev/null
	check "two VMs run on s1" \
		test "$(fc -o json vm list --host s1 --state running | jq length)" = 2
	fc rebalance run --pool sim --policy spread --max-moves 1 --timeout 60 >"$work/sim.out" 2>&1
	rc=$?
	echo "# $(tail -2 "$work/sim.out" | tr -cd '[:print:]\n' | paste -sd' ' -)"
	if [ $rc = 0 ]; then
		check "the rebalance moved one VM to s2" \
			test "$(fc -o json vm list --host s2 | jq length)" = 1
	else
		check "the test driver cannot migrate: finctl rebalance run exits 5 with the agent's error" \
			eval '[ $rc = 5 ] && grep -q "failed: migration of VM" "$work/sim.out"'
		check "and both VMs keep running on s1" \
			test "$(fc -o json vm list --host s1 --state running | jq length)" = 2
	fi
else
	ok "real agents on test:/// # SKIP fincloud-agent is not built"
fi

echo "1..$n"
[ "$nfail" -eq 0 ]

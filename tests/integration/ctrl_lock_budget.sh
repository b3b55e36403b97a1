#!/usr/bin/env bash
# What one controller can keep up with at scale (docs/architecture.md "A
# thousand agents") rests on two budgets, counted by the controller's own
# metrics, never by wall-clock time:
#  - the leader's background pass runs a number of statements that does
#    not grow with the hosts (its utilisation sample of every host is a
#    few batched statements: series_put_many()), read from
#    fincloud_leader_passes_total and fincloud_leader_db_statements_total
#    with 2 hosts and then with 60;
#  - an agent's heartbeat answered with its desired state reads that
#    state beside the lock on PostgreSQL (the reader, ctrl.h): its
#    statements under the lock (fincloud_db_statements_locked_total) are
#    fewer than all it ran (fincloud_db_statements_total); on SQLite all
#    run under it.
# Run on SQLite and (integration-pg) on PostgreSQL.
. "$FC_TOP/tests/integration/ctrl_lib.bash"

# a long heartbeat interval: no host falls suspect while the test runs
ctrl_start --heartbeat-timeout 1200 --heartbeat-interval 600 --sample-interval 1 ||
	{ nok "controller starts"; exit 1; }
api POST /v1/tokens '{"role":"join","uses":100}'
JOIN=$(jv .token)

# metric NAME [ROUTE]: its value now (0 when absent)
metric() {
	local sel="^$1 "
	[ -n "${2-}" ] && sel="^$1\\{route=\"$2\"\\} "
	curl -s "$URL/metrics" | awk -v re="$sel" '$0 ~ re {print $2}' | grep . || echo 0
}
# per_pass: statements per leader pass over the next 5 passes (each
# samples every host: sample_interval 1 s), into PER
per_pass() {
	local p0 s0 p1 s1
	p0=$(metric fincloud_leader_passes_total)
	s0=$(metric fincloud_leader_db_statements_total)
	for _ in $(seq 300); do
		p1=$(metric fincloud_leader_passes_total)
		[ "$p1" -ge $((p0 + 5)) ] && break
		sleep 0.2
	done
	s1=$(metric fincloud_leader_db_statements_total)
	PER=$(((s1 - s0) / (p1 - p0)))
}

for i in 1 2; do register_fake "h$i" 16 32768 500; done
check "2 hosts registered" test "$(db "SELECT count(*) FROM hosts WHERE state = 'up'")" = 2
per_pass
few=$PER
for i in $(seq 3 60); do register_fake "h$i" 16 32768 500; done
check "60 hosts registered, up" test "$(db "SELECT count(*) FROM hosts WHERE state = 'up'")" = 60
per_pass
many=$PER
echo "# statements per leader pass: 2 hosts $few, 60 hosts $many"
check "the leader's passes ran" test "$(metric fincloud_leader_passes_total)" -gt 10
check "each samples every host in a few statements: 60 hosts cost at most 20 more than 2, not one or more each ($few, $many)" \
	test "$many" -le $((few + 20))
check "the samples of every host are recorded" \
	test "$(db "SELECT count(DISTINCT host) FROM host_util_samples")" = 60

# one heartbeat answered at once with h1's desired state
api POST /v1/flavors '{"name":"s","vcpus":1,"mem_mib":64,"disk_gib":1}'
api POST /v1/tenants '{"name":"t","isolation":"shared","pools":["default"]}'
api POST /v1/vms '{"tenant":"t","flavor":"s","name":"v1"}'
check "a VM created" is 201
vm=$(jv .id)
host=$(db "SELECT host FROM vms WHERE id = '$vm'")
a=$(metric fincloud_db_statements_total agent.heartbeat)
la=$(metric fincloud_db_statements_locked_total agent.heartbeat)
heartbeat "$host" 0 '[]'
check "the heartbeat is answered" is 200
check "its answer lists the VM" jqt ".vms | map(.vm_id) | index(\"$vm\") != null"
b=$(metric fincloud_db_statements_total agent.heartbeat)
lb=$(metric fincloud_db_statements_locked_total agent.heartbeat)
echo "# the heartbeat: $((b - a)) statements, $((lb - la)) under the lock"
check "the heartbeat ran statements" test $((b - a)) -gt 0
if [ -n "$PG_DIR" ]; then
	# BEGIN, the generation, the VMs, tasks, incoming, networks, COMMIT
	check "on PostgreSQL its desired state is read beside the lock (7 statements)" \
		test $((lb - la)) -le $((b - a - 7))
else
	check "on SQLite every statement runs under the lock" test $((lb - la)) = $((b - a))
fi
check "the time it held the lock is counted" \
	awk "BEGIN {exit !($(metric fincloud_lock_held_seconds_total agent.heartbeat) > 0)}"
validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

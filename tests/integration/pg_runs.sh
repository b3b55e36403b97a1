#!/usr/bin/env bash
# Two controllers on one PostgreSQL and a drain run: the controller that
# started it drives it; the other restarting leaves it running (it is
# still driven); killed with SIGKILL, its driver's run is stopped cleanly
# by the leader within seconds (failed, saying why), not left running.
FINCLOUD_TEST_DB=pg
. "$FC_TOP/tests/integration/ctrl_lib.bash"

ctrl_start --heartbeat-timeout 300 --heartbeat-interval 5 || { nok "controller A starts"; exit 1; }
pid_a=$ctl_pid url_a=$URL
check "controller B starts on the same database" ctrl_start_b --heartbeat-timeout 300 --heartbeat-interval 5

burst_fleet
api POST /v1/tenants '{"name":"t1","pools":["burst"]}'
for i in 1 2 3 4; do api POST /v1/vms '{"tenant":"t1","flavor":"s"}'; done
# as if their nodes had reported them running (only those migrate)
db "UPDATE vms SET state = 'running'" >/dev/null
host=$(db "SELECT host FROM vms GROUP BY host ORDER BY count(*) DESC, host LIMIT 1")
# started through A; no agent carries out its migrations, so it runs on
api POST "/v1/hosts/$host/drain" ''
task=$(jv .id)
check "a drain of $host starts through A" eval 'is 202 && [ -n "$task" ]'
state() { db "SELECT state FROM tasks WHERE id = '$task'"; }
check "it runs" wait_for 5 eval '[ "$(state)" = running ]'

kill -TERM "$pid_b"
wait "$pid_b" 2>/dev/null
check "B restarts" ctrl_start_b --heartbeat-timeout 300 --heartbeat-interval 5
sleep 4
check "the run A drives is still running after B's restart and B's recovery passes" test "$(state)" = running

kill -KILL "$pid_a"
check "A killed: the run it drove is stopped within 10 s" wait_for 10 eval '[ "$(state)" = failed ]'
check "saying why" test "$(db "SELECT error FROM tasks WHERE id = '$task'")" = \
	"interrupted: the controller that drove it stopped; start it again"
URL=$url_b
api POST "/v1/hosts/$host/drain" ''
check "the drain can be started again, through B" is 202

validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

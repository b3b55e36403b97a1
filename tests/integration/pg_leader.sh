#!/usr/bin/env bash
# fc-test: alone
# Two controllers on one PostgreSQL: one leads (controller/leader.h) and
# alone marks silent hosts down; killed with SIGKILL, the other takes
# over within 10 s and marks the next silent host down; restarted, the
# old leader follows.
FINCLOUD_TEST_DB=pg
. "$FC_TOP/tests/integration/ctrl_lib.bash"

leads='now runs the background work'
ctrl_start --heartbeat-timeout 3 --heartbeat-interval 1 || { nok "controller A starts"; exit 1; }
pid_a=$ctl_pid log_a=$work/controller.log url_a=$URL
start_b() { ctrl_start_b --heartbeat-timeout 3 --heartbeat-interval 1; }
check "controller B starts on the same database" start_b
nleaders() { cat "$log_a" "$log_b" | grep -c "$leads"; }
check "exactly one of them leads" eval 'wait_for 5 test "$(nleaders)" -ge 1 && sleep 2 && [ "$(nleaders)" = 1 ]'
if grep -q "$leads" "$log_a"; then
	leader=$pid_a follower_log=$log_b follower_url=$url_b
else
	leader=$pid_b follower_log=$log_a follower_url=$url_a
fi

downs() { db "SELECT count(*) FROM audit WHERE action = 'host.down' AND target = 'host:$1'"; }
api POST /v1/tokens '{"role":"join","uses":10}'
JOIN=$(jv .token)
register_fake n1 4 4096 40
check "a silent host is marked down" wait_for 10 eval '[ "$(downs n1)" = 1 ]'
sleep 2
check "once, by the leader alone (one host.down entry, nothing in the follower's log)" \
	eval '[ "$(downs n1)" = 1 ] && ! grep -q "marked down" "$follower_log"'

kill -KILL "$leader"
t0=$(date +%s%N)
check "the follower leads within 10 s of the leader's SIGKILL" wait_for 10 grep -q "$leads" "$follower_log"
took=$((($(date +%s%N) - t0) / 1000000))
echo "# takeover after ${took} ms"
URL=$follower_url
register_fake n2 4 4096 40
check "the new leader marks the next silent host down" wait_for 10 eval '[ "$(downs n2)" = 1 ]'
check "itself" grep -q "host 'n2' sent no heartbeat" "$follower_log"

# the old leader back: it follows
if [ "$leader" = "$pid_a" ]; then
	: >"$log_a"
	URL=$url_a
	port=${url_a##*:}
	ctrl_start --heartbeat-timeout 3 --heartbeat-interval 1 >/dev/null
	back_log=$log_a
else
	: >"$log_b"
	start_b
	back_log=$log_b
fi
URL=$follower_url
sleep 3
check "the old leader, restarted, does not lead while the new one lives" \
	eval '! grep -q "$leads" "$back_log"'

validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

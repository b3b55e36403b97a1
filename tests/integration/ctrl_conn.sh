#!/usr/bin/env bash
# One unauthenticated client cannot starve the controller (issue 12): with
# 1,100 idle, half-sent connections open /healthz still answers (a
# select()-based server stops near 1,024 descriptors); a client trickling
# one byte a second is cut at request_timeout; connections beyond
# per_ip_connections from one address are refused (without a log line
# each) while other addresses get through; with the API port full, an
# agent's heartbeat still gets through on the agents' port.
. "$FC_TOP/tests/integration/ctrl_lib.bash"
flood=$FC_TOP/tests/data/ctrl/connflood.py
ulimit -n 8192 2>/dev/null || { echo "SKIP: cannot raise the descriptor limit"; exit 77; }
healthz() { # [CURL ARGS...] : 0 when /healthz answers 200 within 5 s
	[ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$@" "$URL/healthz")" = 200 ]
}
flood_pids=()
stop_floods() {
	local p
	for p in "${flood_pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	flood_pids=()
}

# --- the connection settings in check mode -------------------------------
data=$FC_TOP/tests/data/ctrl
"$ctl" --check-config --config "$data/conn-good.conf" >"$work/out" 2>&1
check "--check-config accepts the connection settings" test $? -eq 0
for f in per-ip:2:per_ip_connections timeout:2:request_timeout \
	agent-port:2:"agent_listen_port': must differ" threads:2:http_threads; do
	name=${f%%:*} rest=${f#*:} line=${rest%%:*} msg=${rest#*:}
	"$ctl" --check-config --config "$data/bad-conn-$name.conf" >"$work/out" 2>&1
	rc=$?
	check "--check-config refuses bad-conn-$name.conf with file:line" \
		eval '[ $rc -eq 2 ] && grep -q "bad-conn-$name.conf:$line: .*$msg" "$work/out"'
done

# --- 1,100 idle connections, a trickle, the per-address limit -----------
ctrl_start --request-timeout 4 --per-ip-connections 100 || { nok "controller starts"; exit 1; }
$py "$flood" idle 127.0.0.1 "$port" 1100 30 >"$work/idle.out" 2>"$work/idle.err" &
flood_pids+=($!)
pids+=($!)
wait_for 20 grep -q '^open' "$work/idle.out"
check "1,100 half-sent connections are open" grep -qx 'open 1100' "$work/idle.out"
check "and /healthz still answers" healthz
check "a 101st connection from one address is refused" eval '! healthz --interface 127.0.1.1'
$py "$flood" idle 127.0.0.1 "$port" 500 1 >/dev/null 2>&1
sleep 1
check "500 refused connections do not flood the log (at most one line a second)" \
	eval '[ "$(grep -ci "connection limit" "$work/controller.log")" -le 10 ]'
echo "# $(grep -ci "connection limit" "$work/controller.log") 'connection limit' line(s) in the log"
stop_floods

$py "$flood" trickle 127.0.0.1 "$port" 20 >"$work/trickle.out" 2>&1
check "a client trickling one byte a second is cut (request_timeout 4 s, it tries for 20)" \
	grep -q "^cut after" "$work/trickle.out"
echo "# trickle: $(cat "$work/trickle.out")"
check "and /healthz answers after the flood" healthz
ctrl_kill

# --- the agents' port while the API port is full --------------------------
aport=$(free_port)
ctrl_start --max-connections 200 --per-ip-connections 100 --request-timeout 60 \
	--agent-listen-port "$aport" || { nok "controller starts with an agents' port"; exit 1; }
api POST /v1/tokens '{"role":"join","uses":1000}'
JOIN=$(jv .token)
register_fake n1 8 16384 100
$py "$flood" idle 127.0.0.1 "$port" 200 30 >"$work/full.out" 2>"$work/full.err" &
flood_pids+=($!)
pids+=($!)
wait_for 20 grep -q '^open' "$work/full.out"
sleep 1
check "anonymous clients fill the API port (200 connections)" eval '! healthz'
hb=$(curl -s -m 10 -o "$work/hb.json" -w '%{http_code}' -X POST \
	-H "Authorization: Bearer ${CRED[n1]}" -H 'Content-Type: application/json' \
	--data-binary "{\"generation_seen\":0,\"status\":\"ok\",\"inventory\":$(inventory 16 32768 500),\"domains\":[],\"foreign_domains\":[],\"tasks\":[]}" \
	"http://127.0.0.1:$aport/v1/agents/n1/heartbeat?wait_s=0")
check "an agent's heartbeat still gets through on the agents' port" \
	eval '[ "$hb" = 200 ] && jq -e .generation "$work/hb.json" >/dev/null'
check "the agents' port serves nothing else" \
	eval '[ "$(curl -s -m 5 -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $ADMIN" "http://127.0.0.1:$aport/v1/vms")" = 404 ]'
stop_floods
check "once the flood ends the API port answers again" wait_for 10 healthz

echo "1..$n"
[ "$nfail" -eq 0 ]

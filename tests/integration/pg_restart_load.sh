#!/usr/bin/env bash
# fc-test: alone
# PostgreSQL restarted in the middle of a burst of creates through two
# controllers, twice: a fast restart (every session cut) and an immediate
# one (the server quits as in a crash and recovers from its WAL). Each
# burst is 600 creates with Idempotency-Keys (tests/data/ctrl/failover.py),
# the restart started after the 150th answer. During the burst every
# request gets an HTTP answer (no reset, no hang): a 2xx, or a 503
# "unavailable" whose JSON body says the database cannot be reached and
# to retry (api_err_internal()). Afterwards both controllers
# still run and answer without a restart of their own, each key sent
# again after a 5xx gets one VM, every acknowledged VM is stored, once,
# and the leader's background work (a utilisation sample a second)
# resumes within 10 s of the server's return.
FINCLOUD_TEST_DB=pg
# a commit reaches the kernel before its answer: the immediate restart
# (a crash of the server, not of the machine) must lose nothing
export PG_SYNC=commit
. "$FC_TOP/tests/integration/ctrl_lib.bash"

flags=(--heartbeat-timeout 3600 --heartbeat-interval 5 --sample-interval 1 --log-level info)
ctrl_start "${flags[@]}" || { nok "controller A starts"; exit 1; }
pid_a=$ctl_pid url_a=$URL
check "controller B starts on the same database" ctrl_start_b "${flags[@]}"

api POST /v1/tokens '{"role":"join","uses":100}'
JOIN=$(jv .token)
api POST /v1/pools '{"name":"big","cpu_ratio":1,"mem_ratio":1,"disk_ratio":1}'
for i in 1 2 3 4; do register_fake "big$i" 1000 4194304 10000 big; done
api POST /v1/flavors '{"name":"s","vcpus":1,"mem_mib":512,"disk_gib":1}'
api POST /v1/tenants '{"name":"t1","pools":["big"]}'
check "a pool of 4 hosts with room for 4,000 VMs" is 201

# the restart, run by failover.py from a shell of its own
cat >"$work/pg-restart.sh" <<EOF
. "$FC_TOP/tests/integration/pg_lib.bash"
PG_DIR=$PG_DIR PG_STOP_MODE=\$1
pg_ctl restart >"$work/pg-restart.\$1.out" 2>&1 && echo "done \$(date +%s%3N)" >>"$work/pg-restart.\$1.out"
EOF

# the failed attempts' answers, counted by kind (the step that failed)
unclear_list() {
	jq -r 'select(.status == null or .status >= 500) | "\(.status) \(.code): \(.message // .exc | split(" (")[0])"' "$1/answers.jsonl" |
		sort | uniq -c | sort -rn | head -6 | sed 's/^/#   /'
}

total=0
for mode in fast immediate; do
	out=$work/$mode
	mkdir -p "$out"
	old_pid=$PG_PID
	sum=$($py "$FC_TOP/tests/data/ctrl/failover.py" --url "$url_a" --url "$url_b" \
		--token "$ADMIN" --out "$out" --count 600 --par 8 --tenant t1 --prefix "$mode" \
		--twins 20 --at 150 --run "bash $work/pg-restart.sh $mode" --settle 60)
	PG_PID=$(head -1 "$PG_DIR/data/postmaster.pid")
	# when the server was back (pg_ctl -w returned)
	back_ms=$(awk '$1 == "done" {print $2}' "$work/pg-restart.$mode.out")
	echo "# $mode restart: $sum"
	n5=$(jq -r 'select(.status != null and .status >= 500) | .status' "$out/answers.jsonl" | wc -l)
	echo "# $mode restart: $n5 attempts answered 5xx (first sends and retries while it was down); by kind:"
	unclear_list "$out"
	check "PostgreSQL restarted ($mode) during the burst" \
		eval 'grep -q done "$work/pg-restart.$mode.out" && [ "$PG_PID" != "$old_pid" ]'
	check "$mode: every request got an HTTP answer, none reset or hung (slowest $(jq .slowest_s <<<"$sum") s)" \
		test "$(jq .noanswer <<<"$sum")" = 0
	check "$mode: every 5xx ($n5) is a 503 'unavailable' JSON error saying the database cannot be reached" \
		eval '[ "$(jq .unclear <<<"$sum")" = 0 ] && ! jq -e "select(.status != null and .status >= 500 and (.status != 503 or .code != \"unavailable\" or (.message | test(\"the database cannot be reached\") | not)))" "$out/answers.jsonl" >/dev/null'
	check "both controllers still run (no crash, no restart)" \
		eval 'kill -0 "$pid_a" && kill -0 "$pid_b" && curl -sf "$url_a/healthz" -o /dev/null && curl -sf "$url_b/healthz" -o /dev/null'
	wait_for 10 eval '[ -n "$(db "SELECT min(time_ms) FROM util_samples WHERE level = 0 AND time_ms > ${back_ms:-0}")" ]'
	resumed=$(db "SELECT min(time_ms) - ${back_ms:-0} FROM util_samples WHERE level = 0 AND time_ms > ${back_ms:-0}")
	check "$mode: the leader's background work resumes within 10 s of the server's return (${resumed:-not} ms)" \
		eval '[ -n "$back_ms" ] && [ -n "$resumed" ] && [ "$resumed" -le 10000 ]'
	total=$((total + 600))
	db "SELECT id FROM vms ORDER BY id" >"$out/stored"
	cat "$work"/*/acked | sort >"$out/acked-all"
	missing=$(comm -23 "$out/acked-all" "$out/stored" | wc -l)
	extra=$(comm -13 "$out/acked-all" "$out/stored" | wc -l)
	check "$mode: after sending again what got a 5xx, all 600 keys acknowledged, one VM each" \
		eval '[ "$(jq -r ".keys == 600 and .acked == 600 and .ids == 600 and .split == 0" <<<"$sum")" = true ]'
	check "$mode: every acknowledged VM is stored ($missing missing), none more ($extra), $total in all" \
		eval '[ "$missing" = 0 ] && [ "$extra" = 0 ] && [ "$(wc -l <"$out/stored")" = "$total" ]'
	mkdir -p "$work/post"
	URL=$url_a api POST /v1/vms '{"tenant":"t1","flavor":"s"}'
	a_ok=$status
	is 201 && jv .id >>"$work/post/acked"
	URL=$url_b api POST /v1/vms '{"tenant":"t1","flavor":"s"}'
	is 201 && jv .id >>"$work/post/acked"
	check "$mode: a create through each controller right after commits ($a_ok, $status)" \
		eval '[ "$a_ok" = 201 ] && is 201'
	total=$((total + 2))
done
check "the controllers logged the lost connection, not a crash" \
	eval '! grep -qiE "assert|segfault|sanitizer" "$work/controller.log" "$log_b"'
URL=$url_a
api GET /v1/audit/verify
check "the audit chain is intact after two restarts under load" jqt '.ok == true'

validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

#!/usr/bin/env bash
# fc-test: alone
# Two controllers on one PostgreSQL, 1,000 concurrent creates split
# across both, and the leader killed with SIGKILL in the middle of the
# burst; FC_PG_KILL9_ROUNDS rounds on a growing database (default 20,
# the issue's figure: 87 checks).
# Each round makes a pool and tenant pair of its own: tenant qR (quota 250
# VMs, a pool with room for 800) and tenant cR (no quota, a pool with
# room for exactly 300 VMs), 500 creates each, every 10th also sent
# through the other controller at the same moment with the same
# Idempotency-Key (tests/data/ctrl/failover.py). A create the killed
# controller did not answer is sent again, same key, through the
# survivor, as a client would. After each round:
#   - every key got an answer below 500 and every 2xx answer's VM is in
#     the database (0 acknowledged-but-missing);
#   - one VM per key, one key per VM, no name twice (0 duplicated);
#   - exactly 250 VMs for qR, exactly 300 for cR (0 quota overruns),
#     and no host of any round claims more than it holds;
#   - the survivor samples the utilisation (the leader's background
#     work) within 10 s of the SIGKILL; the time taken is printed.
# The killed controller is started again for the next round, in which
# the other one (the leader since the kill) is killed.
FINCLOUD_TEST_DB=pg
. "$FC_TOP/tests/integration/ctrl_lib.bash"

rounds=${FC_PG_KILL9_ROUNDS:-20}
flags=(--heartbeat-timeout 3600 --heartbeat-interval 5 --sample-interval 1 --log-level info)
ctrl_start "${flags[@]}" || { nok "controller A starts"; exit 1; }
pid_a=$ctl_pid url_a=$URL port_a=$port log_a=$work/controller.log
check "controller B starts on the same database" ctrl_start_b "${flags[@]}"
leads='now runs the background work'
check "one of them leads" wait_for 10 eval 'cat "$log_a" "$log_b" | grep -q "$leads"'
if grep -q "$leads" "$log_a"; then leader=a; else leader=b; fi

api POST /v1/tokens '{"role":"join","uses":10000}'
JOIN=$(jv .token)
api POST /v1/flavors '{"name":"s","vcpus":1,"mem_mib":512,"disk_gib":1}'
# pool NAME HOSTS VCPUS: a pool (ratios 1) of HOSTS fake hosts of VCPUS
# each, memory and disk to spare; fails unless all are registered
pool() {
	local i
	api POST /v1/pools "{\"name\":\"$1\",\"cpu_ratio\":1,\"mem_ratio\":1,\"disk_ratio\":1}"
	is 201 || return 1
	for i in $(seq 1 "$2"); do
		register_fake "$1-h$i" "$3" 1048576 4000 "$1"
		is 201 || return 1
	done
}
# ctl_restart a|b: the killed one started again, on its port
ctl_restart() {
	if [ "$1" = a ]; then
		wait "$pid_a" 2>/dev/null
		port=$port_a ctrl_start "${flags[@]}" >/dev/null || return 1
		pid_a=$ctl_pid
	else
		wait "$pid_b" 2>/dev/null
		ctrl_start_b "${flags[@]}" || return 1
	fi
}

# failover.py's summary: every key has a final answer, none 5xx
all_answered='.keys == 1000 and .final.None == null and ([.final | keys[] | select(tonumber >= 500)] | length) == 0'
t_start=$(date +%s)
takeovers=()
for r in $(seq 1 "$rounds"); do
	if ! pool "q$r" 2 400 || ! pool "c$r" 6 50; then
		nok "round $r: its pools are made" "last status: $status body: $body"
		break
	fi
	api POST /v1/tenants "{\"name\":\"q$r\",\"pools\":[\"q$r\"],\"quota\":{\"vms\":250}}"
	api POST /v1/tenants "{\"name\":\"c$r\",\"pools\":[\"c$r\"]}"
	if [ "$leader" = a ]; then
		kpid=$pid_a kurl=$url_a klog=$log_a slog=$log_b
	else
		kpid=$pid_b kurl=$url_b klog=$log_b slog=$log_a
	fi
	slog_lines=$(wc -l <"$slog")
	at=$((150 + RANDOM % 450))
	out=$work/round$r
	mkdir -p "$out"
	sum=$($py "$FC_TOP/tests/data/ctrl/failover.py" --url "$url_a" --url "$url_b" \
		--token "$ADMIN" --out "$out" --count 1000 --par 16 --tenant "q$r,c$r" \
		--prefix "r$r" --twins 10 --at "$at" --run "kill -KILL $kpid" --avoid "$kurl")
	kill_ms=$(jq -r .run_ms <<<"$sum")
	# the survivor's first utilisation sample after the kill
	first_ms=
	for _ in $(seq 1 150); do
		first_ms=$(db "SELECT min(time_ms) FROM util_samples WHERE level = 0 AND time_ms > $kill_ms")
		[ -n "$first_ms" ] && break
		sleep 0.1
	done
	took=$([ -n "$first_ms" ] && echo $((first_ms - kill_ms)) || echo none)
	takeovers+=("$took")
	db "SELECT id FROM vms WHERE tenant IN ('q$r', 'c$r') ORDER BY id" >"$out/stored"
	missing=$(comm -23 "$out/acked" "$out/stored" | wc -l)
	extra=$(comm -13 "$out/acked" "$out/stored" | wc -l)
	dupnames=$(db "SELECT count(*) FROM (SELECT tenant, name FROM vms WHERE tenant IN ('q$r', 'c$r') GROUP BY 1, 2 HAVING count(*) > 1) d")
	nq=$(db "SELECT count(*) FROM vms WHERE tenant = 'q$r'")
	nc=$(db "SELECT count(*) FROM vms WHERE tenant = 'c$r'")
	over=$(oversubscribed)
	echo "# round $r: killed the leader ($([ "$leader" = a ] && echo A || echo B)) after $at answers; $sum"
	echo "# round $r: stored q$r $nq, c$r $nc; missing $missing, unacknowledged extra $extra; takeover $took ms"
	check "round $r: all 1,000 keys answered below 500, every acknowledged VM stored (missing: $missing)" \
		eval '[ "$(jq -r "$all_answered" <<<"$sum")" = true ] && [ "$missing" = 0 ]'
	check "round $r: one VM per key, one key per VM, no name twice (extra $extra, split $(jq .split <<<"$sum"), names $dupnames)" \
		eval '[ "$extra" = 0 ] && [ "$dupnames" = 0 ] && [ "$(jq "[.split, .acked - .ids] | add" <<<"$sum")" = 0 ] && [ "$(jq .acked <<<"$sum")" = "$(wc -l <"$out/stored")" ]'
	check "round $r: quota 250 held exactly ($nq), the 300-VM pool filled exactly ($nc), no host oversubscribed" \
		eval '[ "$nq" = 250 ] && [ "$nc" = 300 ] && [ -z "$over" ]'
	[ -n "$over" ] && echo "# $over"
	check "round $r: the survivor runs the background work within 10 s of the SIGKILL ($took ms)" \
		eval '[ "$took" != none ] && [ "$took" -le 10000 ] && tail -n +$((slog_lines + 1)) "$slog" | grep -q "$leads"'
	# the killed one back, as a follower; the survivor is the next victim
	if ! ctl_restart "$leader"; then
		nok "round $r: the killed controller starts again"
		break
	fi
	if [ "$leader" = a ]; then leader=b; else leader=a; fi
done
t_all=$(($(date +%s) - t_start))
echo "# $rounds rounds in $t_all s; takeover ms: ${takeovers[*]}"
printf '%s\n' ${takeovers[@]+"${takeovers[@]}"} | grep -v '^none$' | grep . | sort -n |
	awk '{a[NR] = $1} END {if (NR) printf "# takeover after SIGKILL: min %d ms, median %d ms, max %d ms (%d rounds)\n", a[1], a[int((NR + 1) / 2)], a[NR], NR}'

check "no host of any round oversubscribed at the end" test -z "$(oversubscribed)"
check "the summed claims equal the VM rows" \
	test "$(db "SELECT count(*) FROM (SELECT host, tenant, coalesce(grp, ''), sum(vcpus), sum(mem_mib), sum(disk_gib), count(*) FROM vms GROUP BY 1, 2, 3 EXCEPT SELECT * FROM claims) d")" = 0
check "one idempotency record per VM" \
	test "$(db "SELECT count(*) FROM idempotency")" = "$(db "SELECT count(*) FROM vms")"
URL=$url_a
api GET /v1/audit/verify
check "the audit chain written by both controllers, across $rounds kills, is intact" jqt '.ok == true'

validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

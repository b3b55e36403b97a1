#!/usr/bin/env bash
# scripts/bench-pg.sh BUILD_DIR: the controller on PostgreSQL (issue 17).
#
#   1. API throughput, each on a fresh database with 50 hosts, the same
#      client load (16 keep-alive connections in all):
#        - one controller on SQLite: the baseline, measured in this run;
#        - one controller on PostgreSQL;
#        - two controllers on one PostgreSQL, the load split across both.
#      creates/s: FC_BENCH_PG_CREATES (default 2,000) POST /v1/vms
#      (tests/data/ctrl/burst.py); reads/s: GET /v1/vms/{id} with wrk for
#      FC_BENCH_SECONDS (default 5). PostgreSQL runs durable (fsync and
#      synchronous_commit on), as SQLite commits with fsync before each
#      answer. The three take turns FC_BENCH_PG_ROUNDS times (default 2),
#      each keeping its best, as the machine's load moves under them.
#      Printed with the ratio to the SQLite baseline.
#   2. Scale, one controller on PostgreSQL: 1,000 simulated agents
#      (FC_BENCH_PG_AGENTS; tests/data/ctrl/simagents.py, one process of
#      threads: 1,000 fincloud-agent processes on libvirt's test:///
#      driver would take ~10 GiB and both CPUs of this machine by
#      themselves) and 100,000 VMs (FC_BENCH_PG_VMS): the first
#      FC_BENCH_PG_API_VMS (default 2,000) created through the API (their
#      rate is printed), the rest copied from them in SQL (the claims
#      follow by the schema's triggers), as 100,000 creates through the
#      API take an hour on this 2-CPU machine and are set-up here, not the
#      measure; then every agent long-polls (wait_s FC_BENCH_PG_WAIT, default
#      5, fincloud-agent's heartbeat interval) and reports its ~100 VMs
#      running. Printed: the controller's RSS and CPU (CPU seconds per
#      second, over FC_BENCH_PG_WINDOW s, default 30, once all VMs are
#      reported running or FC_BENCH_PG_SETTLE s, default 300, have
#      passed), PostgreSQL's CPU over the same window, heartbeats answered
#      per second and how many VMs run; the same controller idle with the
#      same database (agents registered, not yet heartbeating) is the
#      baseline. That first controller runs without HA detection (the
#      hosts are silent while the fleet is filled); once every VM runs, a
#      second one with the default HA settings is started in its place
#      (same port, same database: a restart, or a failover, under a
#      running fleet) and the window is measured on it, with the hosts
#      by HA state at its end (docs/controller.md "Steady hosts": its
#      first heartbeats are steady, not 1,000 full passes).
#      The controller's /metrics say where a heartbeat's time goes:
#      fincloud_lock_held_seconds_total{route="agent.heartbeat"} over its
#      requests is the lock time of one (the controller answers at most
#      1 / that a second), fincloud_db_statements_locked_total its
#      statements under the lock; the reader (ctrl.h) builds answers
#      beside it. Figures and what limits them: docs/decisions.md "A
#      thousand agents" (26-57 heartbeats/s answered with the machine's
#      load, 16-24 ms of lock each; 1,000 agents at wait_s 5 send 200/s).
set -u
build=${1:?usage: scripts/bench-pg.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$top/$build ;; esac
bin=$build/bin
for t in wrk curl jq psql; do
	command -v $t >/dev/null || { echo "SKIP: $t is missing (scripts/deps.sh)"; exit 77; }
done
[ -x "$bin/fincloud-controller" ] || { echo "SKIP: $bin/fincloud-controller is not built"; exit 77; }
py=/usr/bin/python3
burst=$top/tests/data/ctrl/burst.py
secs=${FC_BENCH_SECONDS:-5}
ncreates=${FC_BENCH_PG_CREATES:-2000}
nagents=${FC_BENCH_PG_AGENTS:-1000}
nvms=${FC_BENCH_PG_VMS:-100000}
napi=${FC_BENCH_PG_API_VMS:-2000}
[ "$napi" -le "$nvms" ] || napi=$nvms
waits=${FC_BENCH_PG_WAIT:-5}
window=${FC_BENCH_PG_WINDOW:-30}
rounds=${FC_BENCH_PG_ROUNDS:-2}
settle=${FC_BENCH_PG_SETTLE:-300}

. "$top/scripts/bench-lib.bash" pg
. "$top/tests/integration/pg_lib.bash"
trap 'bench_cleanup; pg_stop' EXIT
PG_SYNC=fsync PG_MAX_CONN=100 pg_start >/dev/null || { echo "SKIP: a private PostgreSQL does not start"; exit 77; }
ulimit -n 8192 2>/dev/null
# pg_url NAME: a new database NAME (C collation), its URL
pg_url() {
	pg_sql "CREATE DATABASE $1 TEMPLATE template0 LOCALE 'C' ENCODING 'UTF8'" >/dev/null || return 1
	echo "postgresql:///$1?host=$PG_DIR&user=fincloud"
}
flags=(--heartbeat-interval 5 --heartbeat-timeout 3600 --log-level warn --per-ip-connections 4000)
post() { curl -sf -X POST -H "$AUTH" -H 'Content-Type: application/json' --data-binary "$2" "$URL$1"; }
inv() { printf '{"vcpus":%d,"mem_mib":%d,"mem_free_mib":%d,"disk_gib":%d,"disk_free_gib":%d,"cpu_model":"sim","virt_type":"test","libvirt_version":"9.0.0"}' "$1" "$2" "$2" "$3" "$3"; }
# setup: 50 big hosts, a flavor, a tenant, one VM to read (into vm)
setup() {
	local join
	join=$(post /v1/tokens '{"role":"join","uses":100}' | jq -r .token)
	seq 1 50 | xargs -P 8 -I{} curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
		--data-binary "{\"join_token\":\"$join\",\"node\":\"h{}\",\"pool\":\"default\",\"migration_uri\":\"\",\"inventory\":$(inv 4096 16777216 1000000)}" \
		"$URL/v1/agents/register"
	post /v1/flavors '{"name":"s","vcpus":1,"mem_mib":256,"disk_gib":1}' >/dev/null
	post /v1/tenants '{"name":"bench"}' >/dev/null
	vm=$(post /v1/vms '{"tenant":"bench","flavor":"s"}' | jq -r .id)
}
# rps OUTPUT-OF-WRK: its requests per second
rps() { awk '/Requests\/sec/ {print $2}' <<<"$1"; }
stop_all() { # PID...
	kill "$@" 2>/dev/null
	wait "$@" 2>/dev/null
}

# measure NAME URL...: creates/s and reads/s through the controllers at
# URL... (the load split evenly); sets c_rate, r_rate, bad
measure() {
	local name=$1 u i n=$(($# - 1)) t0 t1 out created=0 total_rps=0 x
	local run=()
	shift
	t0=$(date +%s%N)
	i=0
	for u in "$@"; do
		i=$((i + 1))
		$py "$burst" "$u" "$TOKEN" /v1/vms '{"tenant":"bench","flavor":"s"}' \
			$((ncreates / n)) $((16 / n)) >"$work/$name.burst$i" &
		run+=($!)
	done
	wait "${run[@]}"
	run=()
	t1=$(date +%s%N)
	for i in $(seq 1 "$n"); do
		read -r _ x _ <"$work/$name.burst$i"
		created=$((created + x))
	done
	c_rate=$(awk "BEGIN {printf \"%.0f\", $created / (($t1 - $t0) / 1e9)}")
	c_ok=$created
	i=0
	for u in "$@"; do
		i=$((i + 1))
		wrk -t1 -c$((16 / n)) -d"${secs}s" -H "$AUTH" "$u/v1/vms/$vm" >"$work/$name.wrk$i" 2>&1 &
		run+=($!)
	done
	wait "${run[@]}"
	for i in $(seq 1 "$n"); do
		out=$(cat "$work/$name.wrk$i")
		total_rps=$(awk "BEGIN {print $total_rps + $(rps "$out")}")
		grep -q 'Non-2xx' <<<"$out" && echo "# $name: wrk $i: $(grep Non-2xx <<<"$out")"
	done
	r_rate=$(awk "BEGIN {printf \"%.0f\", $total_rps}")
}

echo "== fincloud-controller on PostgreSQL (loopback, $(nproc) CPUs; PostgreSQL $(psql --version | awk '{print $3}'), durable)"

# --- 1: throughput --------------------------------------------------------
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b > a) ? b : a }'; }
sq_c= sq_r= p1_c= p1_r= p2_c= p2_r=
for r in $(seq 1 "$rounds"); do
	ctl_start "$bin/fincloud-controller" "$work/sqlite$r" "${flags[@]}"
	setup
	measure sqlite "$URL"
	sq_c=$(best "$sq_c" "$c_rate") sq_r=$(best "$sq_r" "$r_rate") sq_ok=$c_ok
	stop_all "$ctl_pid"

	url1=$(pg_url one$r) || { echo "FAILED: creating a database"; exit 1; }
	ctl_start "$bin/fincloud-controller" "$work/pg1-$r" --database "$url1" "${flags[@]}"
	setup
	measure pg1 "$URL"
	p1_c=$(best "$p1_c" "$c_rate") p1_r=$(best "$p1_r" "$r_rate") p1_ok=$c_ok
	stop_all "$ctl_pid"

	url2=$(pg_url two$r) || { echo "FAILED: creating a database"; exit 1; }
	ctl_start "$bin/fincloud-controller" "$work/pg2a-$r" --database "$url2" "${flags[@]}"
	pid_a=$ctl_pid url_a=$URL tok=$TOKEN
	ctl_start "$bin/fincloud-controller" "$work/pg2b-$r" --database "$url2" "${flags[@]}" 2>/dev/null
	pid_b=$ctl_pid url_b=$URL TOKEN=$tok AUTH="Authorization: Bearer $tok" URL=$url_a
	setup
	measure pg2 "$url_a" "$url_b"
	p2_c=$(best "$p2_c" "$c_rate") p2_r=$(best "$p2_r" "$r_rate") p2_ok=$c_ok
	stop_all "$pid_a" "$pid_b"
done

ratio() { awk "BEGIN {if ($2 > 0) printf \"%.2f\", $1 / $2; else print \"-\"}"; }
echo
printf '%-44s %10s %10s %8s\n' "API throughput (16 connections; best of $rounds)" "per s" "SQLite" "ratio"
printf '%-44s %10s %10s %8s\n' "creates, 1 controller on SQLite (baseline)" "$sq_c" "$sq_c" "1.00"
printf '%-44s %10s %10s %8s\n' "creates, 1 controller on PostgreSQL" "$p1_c" "$sq_c" "$(ratio "$p1_c" "$sq_c")"
printf '%-44s %10s %10s %8s\n' "creates, 2 controllers on PostgreSQL" "$p2_c" "$sq_c" "$(ratio "$p2_c" "$sq_c")"
printf '%-44s %10s %10s %8s\n' "reads, 1 controller on SQLite (baseline)" "$sq_r" "$sq_r" "1.00"
printf '%-44s %10s %10s %8s\n' "reads, 1 controller on PostgreSQL" "$p1_r" "$sq_r" "$(ratio "$p1_r" "$sq_r")"
printf '%-44s %10s %10s %8s\n' "reads, 2 controllers on PostgreSQL" "$p2_r" "$sq_r" "$(ratio "$p2_r" "$sq_r")"
echo "creates acknowledged of $ncreates (last round): SQLite $sq_ok, PostgreSQL $p1_ok, 2 controllers $p2_ok"
echo

# --- 2: 1,000 agents and 100,000 VMs on one controller ---------------------
# cpu_s PID...: the CPU seconds (user + system) the processes used so far
cpu_s() {
	local p t=0 tck
	tck=$(getconf CLK_TCK)
	for p in "$@"; do
		[ -r "/proc/$p/stat" ] || continue
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
	done
	awk "BEGIN {printf \"%.2f\", $t / $tck}"
}
# pg_pids: the PostgreSQL server's processes (the postmaster, its children)
pg_pids() { echo "$PG_PID" $(ps -o pid= --ppid "$PG_PID"); }
rss_mib() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
# window_cpu PID...: CPU per second of PID... over the window
window_cpu() {
	local a b
	a=$(cpu_s "$@")
	sleep "$window"
	b=$(cpu_s "$@")
	awk "BEGIN {printf \"%.2f\", ($b - $a) / $window}"
}

url3=$(pg_url scale) || { echo "FAILED: creating a database"; exit 1; }
# while the fleet is built its hosts are silent (the agents wait for the
# fill): HA detection would fail them all, so this first controller runs
# without it (ha_*_intervals as the tests that do not test it); the
# measure is on a second one started in its place once the fleet runs
ctl_start "$bin/fincloud-controller" "$work/scale" --database "$url3" "${flags[@]}" \
	--ha-suspect-intervals 1000 --ha-fail-intervals 10000
post /v1/flavors '{"name":"s","vcpus":1,"mem_mib":256,"disk_gib":1}' >/dev/null
post /v1/tenants '{"name":"bench"}' >/dev/null
# the agents heartbeat from the go (after the fill) until all VMs run (at
# most settle s), then for the window
$py "$top/tests/data/ctrl/simagents.py" "$URL" "$TOKEN" "$nagents" "$waits" $((window + settle + 60)) \
	"$work/agents.status" 2>"$work/agents.err" &
agents_pid=$!
pids+=("$agents_pid")
for _ in $(seq 1200); do grep -q registered "$work/agents.status" 2>/dev/null && break; sleep 0.1; done
grep -q registered "$work/agents.status" 2>/dev/null || { echo "FAILED: the simulated agents did not register"; cat "$work/agents.err"; exit 1; }
t0=$(date +%s%N)
read -r _ api_ok api_bad <<<"$($py "$burst" "$URL" "$TOKEN" /v1/vms '{"tenant":"bench","flavor":"s"}' "$napi" 16)"
t1=$(date +%s%N)
api_s=$(awk "BEGIN {printf \"%.1f\", ($t1 - $t0) / 1e9}")
# the rest: copies of the API's first VM, each host topped up to its share
# (placement packed the API's VMs on the first hosts)
psql -X -q -h "$PG_DIR" -U fincloud -d scale -v ON_ERROR_STOP=1 -c "
	INSERT INTO vms(id, name, tenant, grp, flavor, pool, host, vcpus, mem_mib, disk_gib,
		desired, state, created_ms, updated_ms, ssh_keys, storage)
	SELECT gen_random_uuid()::text, 'bulk-' || h.name || '-' || g, v.tenant, v.grp,
		v.flavor, v.pool, h.name, v.vcpus, v.mem_mib, v.disk_gib, v.desired, v.state,
		v.created_ms, v.updated_ms, v.ssh_keys, v.storage
	FROM (SELECT * FROM vms ORDER BY seq LIMIT 1) v,
		(SELECT name, greatest(0, $(((nvms + nagents - 1) / nagents)) -
			(SELECT count(*) FROM vms WHERE host = hosts.name)) k FROM hosts) h,
		generate_series(1, h.k) g" >/dev/null ||
	{ echo "FAILED: copying VMs"; exit 1; }
fill_ok=$(psql -X -A -t -h "$PG_DIR" -U fincloud -d scale -c "SELECT count(*) FROM vms")
over=$(psql -X -A -t -h "$PG_DIR" -U fincloud -d scale -c "SELECT count(*) FROM (SELECT c.host FROM claims c JOIN hosts h ON h.name = c.host GROUP BY c.host, h.vcpus HAVING sum(c.vcpus) > h.vcpus) o")

idle_cpu=$(window_cpu "$ctl_pid")
idle_rss=$(rss_mib "$ctl_pid")
# count SQL: one number from the scale database (not through the
# controller, which the fleet keeps busy)
count() { psql -X -A -t -h "$PG_DIR" -U fincloud -d scale -c "$1"; }
touch "$work/agents.status.go"
t0=$(date +%s%N)
running=0
while [ $(($(date +%s%N) - t0)) -lt $((settle * 1000000000)) ]; do
	running=$(count "SELECT count(*) FROM vms WHERE state = 'running'")
	[ "${running:-0}" -ge "$fill_ok" ] && break
	sleep 2
done
t1=$(date +%s%N)
run_s=$(awk "BEGIN {printf \"%.0f\", ($t1 - $t0) / 1e9}")
# the fleet runs: a controller with HA detection on (the defaults)
# takes over on the same port and database, as after a restart or a
# failover; the agents reconnect to it, and the window is measured on it
sleep 10
kill "$ctl_pid"
wait "$ctl_pid" 2>/dev/null
BENCH_PORT=$port ctl_start "$bin/fincloud-controller" "$work/scale" --database "$url3" "${flags[@]}"
sleep 10
hb0=$(tail -1 "$work/agents.status" | awk '{print $2}')
pg_a=$(cpu_s $(pg_pids)) ag_a=$(cpu_s "$agents_pid")
ctl_cpu=$(window_cpu "$ctl_pid")
pg_b=$(cpu_s $(pg_pids)) ag_b=$(cpu_s "$agents_pid")
hb1=$(tail -1 "$work/agents.status" | awk '{print $2}')
pg_cpu=$(awk "BEGIN {printf \"%.2f\", ($pg_b - $pg_a) / $window}")
ag_cpu=$(awk "BEGIN {printf \"%.2f\", ($ag_b - $ag_a) / $window}")
ctl_rss=$(rss_mib "$ctl_pid")
hb=$(tail -1 "$work/agents.status")
hosts_up=$(count "SELECT count(*) FROM hosts WHERE state = 'up'")
running=$(count "SELECT count(*) FROM vms WHERE state = 'running'")
threads=$(awk '/^Threads/ {print $2}' "/proc/$ctl_pid/status")
# what keeps hosts from being steady: HA states, tasks by type and state
ha_states=$(count "SELECT string_agg(ha_state || ' ' || n, ', ') FROM (SELECT ha_state, count(*) n FROM hosts GROUP BY 1 ORDER BY 1) x")
task_states=$(count "SELECT string_agg(type || ' ' || state || ' ' || n, ', ') FROM (SELECT type, state, count(*) n FROM tasks GROUP BY 1, 2 ORDER BY 1, 2) x")
read -r _ hb_ok hb_bad hb_vms hb_why <<<"$hb"
# what the controller counted of its heartbeats (all of the run)
m=$(curl -s "$URL/metrics")
mval() { awk -v k="$1" '$1 == k {print $2}' <<<"$m" | grep . || echo 0; }
hb_n=$(mval 'fincloud_http_requests_total{route="agent.heartbeat",code="2xx"}')
hb_lock=$(mval 'fincloud_lock_held_seconds_total{route="agent.heartbeat"}')
hb_st=$(mval 'fincloud_db_statements_total{route="agent.heartbeat"}')
hb_stl=$(mval 'fincloud_db_statements_locked_total{route="agent.heartbeat"}')
hb_full=$(mval 'fincloud_heartbeats_total{pass="full"}')
hb_steady=$(mval 'fincloud_heartbeats_total{pass="steady"}')
sleep 1
echo "Scale: one controller on PostgreSQL, $nagents simulated agents, $fill_ok VMs"
printf '%-52s %12s %12s %8s\n' "measure" "with agents" "idle" "ratio"
printf '%-52s %12s %12s %8s\n' "controller CPU, s per s ($window s window)" "$ctl_cpu" "$idle_cpu" "$(ratio "$ctl_cpu" "$idle_cpu")"
printf '%-52s %12s %12s %8s\n' "controller RSS, MiB" "$ctl_rss" "$idle_rss" "$(ratio "$ctl_rss" "$idle_rss")"
printf '%-52s %12s %12s %8s\n' "PostgreSQL CPU, s per s (all its processes)" "$pg_cpu" "" ""
printf '%-52s %12s %12s %8s\n' "the simulated agents' CPU, s per s (one process)" "$ag_cpu" "" ""
echo "the first $api_ok VMs through the API ($api_bad refused) in $api_s s ($(awk "BEGIN {printf \"%.0f\", $api_ok / $api_s}")/s, $nagents hosts), the rest copied; hosts over their vCPUs: $over;"
echo "running (reported by their agents) at the window's end: ${running:-0} of $fill_ok, $run_s s after the agents began; hosts up: ${hosts_up:-?}; controller threads: $threads;"
[ "$hb_n" -gt 0 ] 2>/dev/null && echo "per heartbeat answered: $(awk "BEGIN {printf \"%.1f ms of the controller lock, %.1f statements, %.1f of them under the lock\", $hb_lock * 1000 / $hb_n, $hb_st / $hb_n, $hb_stl / $hb_n}") (the controller's /metrics); worked through in full $hb_full, steady $hb_steady (docs/controller.md \"Steady hosts\");"
echo "hosts by HA state: $ha_states; tasks by type and state: $task_states;"
echo "agents' heartbeats: $(awk "BEGIN {printf \"%.0f\", ($hb1 - $hb0) / $window}")/s in the window; $hb_ok answered 200, $hb_bad failed in all (by kind: ${hb_why:-none}); VMs in their last reports: $hb_vms."

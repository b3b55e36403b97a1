#!/usr/bin/env bash
# scripts/bench-conn.sh BUILD_DIR: the controller under a connection flood.
#
# On loopback, one controller holds 10,000 idle, half-sent connections
# (from 100 source addresses, 127.0.1.x) and 2,000 simulated agents
# long-polling their heartbeats on the agents' port (127.0.2.x), while
# /healthz and a VM create are timed from 127.0.0.1. Prints the latencies
# against the same requests on the idle controller (the baseline, measured
# first in the same run), the controller's RSS and thread count with the
# fleet connected (and with the idle flood on top), and whether the
# targets hold (docs/controller.md): RSS <= 64 MiB at 2,000 agents,
# healthz and the create answered during the flood.
# Bounded: the clients stop by themselves after FC_BENCH_CONN_SECS (60 s).
# FC_BENCH_CONN_CTL names another controller binary to measure (one
# without the connection settings: set FC_BENCH_CONN_OLD=1).
set -u
build=${1:?usage: scripts/bench-conn.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$top/$build ;; esac
ctl=${FC_BENCH_CONN_CTL:-$build/bin/fincloud-controller}
py=/usr/bin/python3
flood=$top/tests/data/ctrl/connflood.py
idle_n=${FC_BENCH_CONN_IDLE:-10000}
agents_n=${FC_BENCH_CONN_AGENTS:-2000}
secs=${FC_BENCH_CONN_SECS:-60}
for t in curl jq; do
	command -v $t >/dev/null || { echo "SKIP: $t is missing (scripts/deps.sh)"; exit 77; }
done
[ -x "$ctl" ] || { echo "SKIP: $ctl is not built"; exit 77; }
# both ends of every connection are descriptors of this machine
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" -ge $((idle_n + agents_n + 100)) ] ||
	{ echo "SKIP: the descriptor limit ($(ulimit -n)) is below $((idle_n + agents_n + 100))"; exit 77; }

. "$top/scripts/bench-lib.bash" conn

aport=$(free_port)
flags=(--max-connections 16000 --per-ip-connections 128 --agent-listen-port "$aport")
[ "${FC_BENCH_CONN_OLD:-0}" = 1 ] && flags=()
ctl_start "$ctl" "$work" --heartbeat-interval 5 --heartbeat-timeout 120 --log-level error "${flags[@]}"
[ "${FC_BENCH_CONN_OLD:-0}" = 1 ] && aport=$port
post() { curl -sf -m 10 -X POST -H "$AUTH" -H 'Content-Type: application/json' --data-binary "$2" "$URL$1"; }
post /v1/flavors '{"name":"s","vcpus":1,"mem_mib":128,"disk_gib":1}' >/dev/null
post /v1/tenants '{"name":"bench"}' >/dev/null

# healthz_ms: the median of 20 GET /healthz (ms), "-" when one fails
healthz_ms() {
	local i t out=()
	for i in $(seq 20); do
		t=$(curl -s -m 10 -o /dev/null -w '%{http_code} %{time_total}' "$URL/healthz")
		[ "${t%% *}" = 200 ] || { echo -; return; }
		out+=("${t#* }")
	done
	printf '%s\n' "${out[@]}" | sort -n | awk '{a[NR] = $1} END {printf "%.2f", a[int((NR + 1) / 2)] * 1000}'
}
# create_ms: one POST /v1/vms (ms), "-" when it is not answered 2xx
create_ms() {
	local t
	t=$(curl -s -m 20 -o /dev/null -w '%{http_code} %{time_total}' -X POST -H "$AUTH" \
		-H 'Content-Type: application/json' --data-binary '{"tenant":"bench","flavor":"s"}' "$URL/v1/vms")
	case ${t%% *} in 2??) awk "BEGIN {printf \"%.2f\", ${t#* } * 1000}" ;; *) echo - ;; esac
}
status_kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$ctl_pid/status"; }

echo "== fincloud-controller under a connection flood (loopback, $(nproc) CPUs)"
# a host for the creates to land on
$py "$flood" agents "$URL" "$TOKEN" 1 5 >/dev/null 2>&1
healthz_ms >/dev/null # warm up
base_h=$(healthz_ms)
base_c=$(create_ms)
base_rss=$(($(status_kib VmRSS) / 1024))

$py "$flood" agents "$URL" "$TOKEN" "$agents_n" "$secs" "$aport" >"$work/agents.out" 2>"$work/agents.err" &
pids+=($!)
for _ in $(seq $((secs * 10))); do grep -q '^polling' "$work/agents.out" && break; sleep 0.1; done
sleep 2
agents_rss=$(($(status_kib VmRSS) / 1024))
$py "$flood" idle 127.0.0.1 "$port" "$idle_n" "$secs" >"$work/idle.out" 2>"$work/idle.err" &
pids+=($!)
for _ in $(seq $((secs * 10))); do grep -q '^open' "$work/idle.out" && break; sleep 0.1; done
sleep 3
open_n=$(awk '/^open/ {print $2}' "$work/idle.out")
poll_n=$(awk '/^polling/ {print $2}' "$work/agents.out")
conns=$(ls "/proc/$ctl_pid/fd" 2>/dev/null | wc -l)
load_h=$(healthz_ms)
load_c=$(create_ms)
rss=$(($(status_kib VmRSS) / 1024))
threads=$(status_kib Threads)
wait "${pids[-2]}" 2>/dev/null
answers=$(awk '/^answers/ {print $2 " answers and " $4 " errors"}' "$work/agents.out")

ratio() {
	case $1$2 in *-*) echo - ;; *) awk "BEGIN {if ($2 > 0) printf \"%.2f\", $1 / $2; else print \"-\"}" ;; esac
}
printf '%-50s %12s %12s %8s %10s %5s\n' measure flooded idle ratio target met
printf '%-50s %12s %12s %8s %10s %5s\n' "GET /healthz median ms" "$load_h" "$base_h" \
	"$(ratio "$load_h" "$base_h")" answered "$([ "$load_h" != - ] && echo yes || echo NO)"
printf '%-50s %12s %12s %8s %10s %5s\n' "POST /v1/vms ms" "$load_c" "$base_c" \
	"$(ratio "$load_c" "$base_c")" answered "$([ "$load_c" != - ] && echo yes || echo NO)"
printf '%-50s %12s %12s %8s %10s %5s\n' "RSS MiB, $agents_n agents long-polling" "$agents_rss" "$base_rss" \
	"$(ratio "$agents_rss" "$base_rss")" "<= 64" "$([ "$agents_rss" -le 64 ] && echo yes || echo NO)"
printf '%-50s %12s %12s %8s %10s %5s\n' "RSS MiB, and $idle_n idle connections" "$rss" "$base_rss" \
	"$(ratio "$rss" "$base_rss")" "" ""
echo
echo "flood: ${open_n:-0} of $idle_n idle half-sent connections opened, ${poll_n:-0} of $agents_n agents"
echo "long-polling; the controller had $conns descriptors open and ran $threads threads;"
echo "over ${secs} s the agents got ${answers:-no answers} (a heartbeat is answered at its 30 s wait or a change)."
echo "baseline: the same requests on the same controller before the flood."
[ "$load_h" != - ] && [ "$load_c" != - ] && [ "$agents_rss" -le 64 ]

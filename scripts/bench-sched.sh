#!/usr/bin/env bash
# scripts/bench-sched.sh BUILD_DIR - placement, single-VM decisions and
# capacity, each beside a baseline measured in the same run.
#
#   1. cost / lower bound on `fincloud-sched gen` problems of 100 x 1,000,
#      1,000 x 10,000 and 10,000 x 100,000 hosts x VMs: `place` (LP-guided
#      construction + close-host and neighbourhood-MIP improvement, time
#      limit SCHED_BENCH_LIMIT seconds, default 1; 3 at 10,000 hosts)
#      beside `place --baseline ffd` (cost-aware first-fit decreasing).
#   2. small `gen --simple` problems: `place` against the exact GLPK MIP.
#   3. single-VM decisions (sched_place_one) on a loaded 1,000-host
#      cluster: median and p99 microseconds, against the 50 us target.
#   4. `capacity` against `hspace --standard-alloc` on the same htools
#      clusters: instances fitted and time, without and with N+1.
# Times are wall-clock seconds on a shared machine; "solver s" is the time
# the solver reports for itself (without reading and writing JSON).
set -u
build=${1:?usage: scripts/bench-sched.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$top/$build ;; esac
S=$build/bin/fincloud-sched
B=$build/bench/sched-place-one
PY=/usr/bin/python3
limit=${SCHED_BENCH_LIMIT:-1}
sizes=${SCHED_BENCH_SIZES:-"100:1000 1000:10000 10000:100000"}
[ -x "$S" ] && [ -x "$B" ] || { echo "bench-sched: build $S and $B first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

now() { date +%s.%N; }
field() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2"; }

echo "== placement cost / LP lower bound (gen, seed 1) =="
printf '%-16s %9s %9s %8s %8s %9s %8s %8s %10s\n' "hosts x vms" "bound" "place" "/bound" "solver s" "ffd" "/bound" "ffd s" "place/ffd"
for sz in $sizes; do
	h=${sz%%:*} v=${sz##*:}
	f=$tmp/g$h.json
	"$S" gen --hosts "$h" --vms "$v" --seed 1 >"$f"
	t=$limit
	[ "$h" -ge 10000 ] && t=$((limit > 3 ? limit : 3))
	"$S" place --summary --time-limit "$t" "$f" >"$tmp/p.json"; rc=$?
	"$S" place --summary --baseline ffd "$f" >"$tmp/f.json"; rcf=$?
	if [ $rc -gt 1 ] || [ $rcf -gt 1 ]; then echo "place failed on $h x $v"; continue; fi
	$PY - "$h x $v" "$tmp/p.json" "$tmp/f.json" <<'PYEOF'
import json, sys
p = json.load(open(sys.argv[2])); f = json.load(open(sys.argv[3]))
note = ""
if len(p["unplaced"]) or len(f["unplaced"]):
    note = "  (unplaced: place %d, ffd %d)" % (len(p["unplaced"]), len(f["unplaced"]))
print("%-16s %9.1f %9.1f %8.4f %8.2f %9.1f %8.4f %8.2f %10.4f%s" % (
    sys.argv[1], p["lower_bound"], p["cost"], p["cost"] / p["lower_bound"],
    p["seconds"], f["cost"], f["cost"] / p["lower_bound"], f["seconds"],
    p["cost"] / f["cost"], note))
PYEOF
done
echo "target at 1000 x 10000: place/bound <= 1.02 within 1 s, below ffd"

echo
echo "== small problems: place against the exact MIP (gen --simple) =="
printf '%-22s %9s %9s %9s %9s %9s\n' "problem" "bound" "place" "exact" "place/ex" "exact s"
worst=1
for spec in 8:30:1 8:30:2 10:40:3 10:40:4 12:50:5 12:50:6; do
	IFS=: read -r h v seed <<<"$spec"
	f=$tmp/s.json
	"$S" gen --hosts "$h" --vms "$v" --seed "$seed" --simple >"$f"
	"$S" place --summary --time-limit "$limit" "$f" >"$tmp/p.json"
	t0=$(now)
	"$S" place --summary --baseline exact --time-limit 60 "$f" >"$tmp/e.json" 2>"$tmp/e.err"
	[ $? -le 1 ] || { echo "exact failed: $(cat "$tmp/e.err")"; continue; }
	t1=$(now)
	$PY - "${h}x${v} seed $seed" "$tmp/p.json" "$tmp/e.json" "$(echo "$t1 - $t0" | bc)" <<'PYEOF'
import json, sys
p = json.load(open(sys.argv[2])); e = json.load(open(sys.argv[3]))
same = len(p["unplaced"]) == len(e["unplaced"])
print("%-22s %9.2f %9.2f %9.2f %9.4f %9.2f%s" % (sys.argv[1], p["lower_bound"],
    p["cost"], e["cost"], p["cost"] / e["cost"], float(sys.argv[4]),
    "" if same else "  (placed counts differ)"))
PYEOF
done
echo "target: place within 1% of the exact optimum"

echo
echo "== single-VM placement (sched_place_one), 1000 hosts, 10000 VMs loaded =="
"$B" 1000 10000 5000 1 >"$tmp/one.json" || echo "sched-place-one failed"
$PY - "$tmp/one.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
print("decisions %d (placed %d): median %.2f us, p99 %.2f us, max %.2f us; p99 / 50 us target = %.3f" % (
    d["requests"], d["placed"], d["median_us"], d["p99_us"], d["max_us"], d["p99_us"] / 50))
PYEOF

echo
echo "== capacity against hspace --standard-alloc (spec 10240,4096,2) =="
if ! command -v hspace >/dev/null 2>&1; then
	echo "SKIP: hspace (Debian package ganeti-htools) is not installed"
	exit 0
fi
printf '%-26s %-5s %9s %9s %9s %9s %9s\n' "cluster" "N+1" "ours" "ours s" "hspace" "hspace s" "ours/hs"
cap_row() { # name file n1(0/1) hspace-timeout
	local name=$1 f=$2 n1=$3 to=$4 t0 t1 t2 ours hs opt=--no-capacity-checks flag=
	[ "$n1" = 1 ] && { opt=; flag=--n-plus-one; }
	t0=$(now)
	"$S" capacity --htools "$f" --spec 10240,4096,2 $flag >"$tmp/c.json" || { echo "$name: capacity failed"; return; }
	t1=$(now)
	hs=$(timeout "$to" hspace -t "$f" --standard-alloc=10240,4096,2 --machine-readable $opt 2>/dev/null | sed -n 's/^HTS_ALLOC_INSTANCES=//p')
	t2=$(now)
	ours=$(field "$tmp/c.json" 'd["instances"]')
	if [ -z "$hs" ]; then hs="(none in ${to}s)"; ratio=-; else ratio=$($PY -c "print('%.3f' % ($ours / $hs if $hs else float('inf')))"); fi
	printf '%-26s %-5s %9s %9.3f %9s %9.2f %9s\n' "$name" "$([ "$n1" = 1 ] && echo yes || echo no)" "$ours" \
		"$(echo "$t1 - $t0" | bc)" "$hs" "$(echo "$t2 - $t1" | bc)" "$ratio"
}
cap_row "gen-12 (tests/data)" "$top/tests/data/htools/gen-12.data" 0 120
cap_row "gen-12 (tests/data)" "$top/tests/data/htools/gen-12.data" 1 120
for n in 20 60 200; do
	bash "$top/scripts/htools-gen" -n "$n" -v 8 -s 3 >"$tmp/h$n.data"
	cap_row "htools-gen -n $n -v 8" "$tmp/h$n.data" 0 300
done
bash "$top/scripts/htools-gen" -n 16 -v 8 -s 3 >"$tmp/h16.data"
cap_row "htools-gen -n 16 -v 8" "$tmp/h16.data" 1 ${SCHED_BENCH_HSPACE_N1:-180}
echo "without N+1 both count what fits under Ganeti's allocation limits (equal counts"
echo "are expected); with N+1 hspace runs Ganeti's global N+1 check on every"
echo "allocation, which it may not finish within the time shown"

#!/usr/bin/env bash
# scripts/bench-sched.sh BUILD_DIR - placement, single-VM decisions and
# capacity, each beside a baseline measured in the same run.
#
#   1. every `gen --shape` (docs/scheduler.md) at 100 x 1,000 and
#      1,000 x 10,000 hosts x VMs (and 10,000 x 100,000 with
#      SCHED_BENCH_LARGE=1: slow on a small machine): `place` (LP-guided
#      construction + close-host and neighbourhood-MIP improvement, with
#      its default time limit, sched_place_default_limit(): 1 s up to
#      25,000 VMs, 4 s at 100,000; or SCHED_BENCH_LIMIT seconds)
#      against its LP lower bound and against `place --baseline ffd`
#      (cost-aware first-fit decreasing), with place's time.
#   2. small problems of every shape, sizes SCHED_BENCH_SMALL_SIZES
#      (default 10 x 60 and 12 x 80) and seeds SCHED_BENCH_SMALL_SEEDS
#      (default 1-5 and 19): `place` (default limit) against the whole
#      problem as one MIP solved by glpsol (scripts/sched-mip.mod, every
#      constraint; time limit SCHED_BENCH_MIP_LIMIT seconds, default 60),
#      with a count of the problems at the optimum, within 1% and not;
#      and small `gen --simple` problems against place's own exact MIP.
#   3. single-VM decisions (sched_place_one) on a loaded 1,000-host
#      cluster: median and p99 microseconds, against the 50 us target.
#   4. `capacity` against `hspace --standard-alloc` on the same htools
#      clusters: instances fitted and time, without and with N+1.
# SCHED_BENCH_SHAPES (default: all) and SCHED_BENCH_SIZES ("H:V ...")
# narrow section 1. Times are wall-clock seconds on a shared machine;
# "solver s" is the time the solver reports for itself (without reading
# and writing JSON).
set -u
build=${1:?usage: scripts/bench-sched.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$top/$build ;; esac
S=$build/bin/fincloud-sched
B=$build/bench/sched-place-one
G=$build/bench/sched-gen
PY=/usr/bin/python3
limit=${SCHED_BENCH_LIMIT:-}
mip_limit=${SCHED_BENCH_MIP_LIMIT:-60}
sizes=${SCHED_BENCH_SIZES:-"100:1000 1000:10000"}
[ "${SCHED_BENCH_LARGE:-0}" = 1 ] && sizes="$sizes 10000:100000"
[ -x "$S" ] && [ -x "$B" ] && [ -x "$G" ] || { echo "bench-sched: build $S, $B and $G first" >&2; exit 1; }
shapes=${SCHED_BENCH_SHAPES:-$("$G" --list)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

now() { date +%s.%N; }
field() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2"; }
gen_shape() { # shape hosts vms seed
	"$S" gen --shape "$1" --hosts "$2" --vms "$3" --seed "$4"
}

echo "== placement: cost / LP lower bound and / FFD, per shape (seed 1) =="
printf '%-14s %-14s %9s %9s %7s %7s %9s %8s %7s %s\n' "shape" "hosts x vms" "bound" "place" "/bound" "place s" "ffd" "/ffd" "ffd s" "unplaced place/ffd"
for sh in $shapes; do
	for sz in $sizes; do
		h=${sz%%:*} v=${sz##*:}
		f=$tmp/g.json
		gen_shape "$sh" "$h" "$v" 1 >"$f" || { echo "gen $sh $h x $v failed"; continue; }
		"$S" place --summary ${limit:+--time-limit "$limit"} "$f" >"$tmp/p.json"; rc=$?
		"$S" place --summary --baseline ffd "$f" >"$tmp/f.json"; rcf=$?
		if [ $rc -gt 1 ] || [ $rcf -gt 1 ]; then echo "place failed on $sh $h x $v"; continue; fi
		$PY - "$sh" "$h x $v" "$tmp/p.json" "$tmp/f.json" <<'PYEOF'
import json, sys
p = json.load(open(sys.argv[3])); f = json.load(open(sys.argv[4]))
print("%-14s %-14s %9.1f %9.1f %7.4f %7.2f %9.1f %8.4f %7.2f %d/%d" % (
    sys.argv[1], sys.argv[2], p["lower_bound"], p["cost"], p["cost"] / p["lower_bound"],
    p["seconds"], f["cost"], p["cost"] / f["cost"], f["seconds"],
    len(p["unplaced"]), len(f["unplaced"])))
PYEOF
	done
done
echo "the bound covers every VM (bound_kind says which bound); with VMs unplaced"
echo "cost/FFD compares different sets of VMs (see the unplaced column)"
echo "targets: /ffd <= 0.97 on every shape at 1000 x 10000 and 10000 x 100000;"
echo "default at 1000 x 10000: /bound <= 1.02 within 1 s"

echo
small_sizes=${SCHED_BENCH_SMALL_SIZES:-"10:60 12:80"}
small_seeds=${SCHED_BENCH_SMALL_SEEDS:-"1 2 3 4 5 19"}
echo "== small problems: place (default limit) against the full MIP in glpsol, seeds $small_seeds =="
if command -v glpsol >/dev/null 2>&1; then
	printf '%-14s %-12s %9s %5s %9s %5s %-20s %9s %7s %8s\n' "shape" "size seed" "place" "unpl" "mip" "unpl" "mip status" "place/mip" "place s" "mip s"
	: >"$tmp/small.txt"
	for sh in $shapes; do
		for sz in $small_sizes; do
			for seed in $small_seeds; do
				h=${sz%%:*} v=${sz##*:}
				f=$tmp/m.json
				gen_shape "$sh" "$h" "$v" "$seed" >"$f"
				"$S" place --summary "$f" >"$tmp/p.json"
				$PY "$top/scripts/sched-mip.py" "$f" >"$tmp/m.dat"
				t0=$(now)
				glpsol --math "$top/scripts/sched-mip.mod" -d "$tmp/m.dat" --cuts --tmlim "$mip_limit" >"$tmp/m.out" 2>&1
				t1=$(now)
				$PY - "$sh" "${h}x$v s$seed" "$tmp/p.json" "$tmp/m.out" "$(echo "$t1 - $t0" | bc)" "$tmp/small.txt" <<'PYEOF'
import json, re, sys
p = json.load(open(sys.argv[3])); out = open(sys.argv[4]).read()
tally = open(sys.argv[6], "a")
m = re.search(r"mip cost ([0-9.]+) unplaced ([0-9]+)", out)
if not m:
    print("%-14s %-12s glpsol found no solution" % (sys.argv[1], sys.argv[2]))
    tally.write("nosolution\n")
    sys.exit(0)
cost, unpl = float(m.group(1)), int(m.group(2))
proven = "INTEGER OPTIMAL SOLUTION FOUND" in out
if proven:
    status = "optimal"
else:
    gaps = re.findall(r"mip =\s*\S+ >=\s*\S+\s+([0-9.]+)%", out)
    status = "limit, gap %s%%" % (gaps[-1] if gaps else "?")
ratio = p["cost"] / cost if cost > 0 else 1.0
pu = len(p["unplaced"])
if pu > unpl:
    verdict, note = "fewer", "  (place leaves more VMs out)"
elif pu < unpl:
    verdict, note = "more", "  (place places more: glpsol not proven)"
elif ratio <= 1 + 1e-6:
    verdict, note = "optimum" if proven else "atbest", ""
elif ratio <= 1.01:
    verdict, note = "within1", ""
else:
    verdict, note = "above", "  (above 1%)"
tally.write("%s %s %s %.6f\n" % (verdict, "proven" if proven else "limit", sys.argv[1] + "/" + sys.argv[2].replace(" ", "/"), ratio))
print("%-14s %-12s %9.2f %5d %9.2f %5d %-20s %9.4f %7.2f %8.2f%s" % (
    sys.argv[1], sys.argv[2], p["cost"], pu, cost, unpl, status,
    ratio, p["seconds"], float(sys.argv[5]), note))
PYEOF
			done
		done
	done
	$PY - "$tmp/small.txt" <<'PYEOF'
import collections, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
c = collections.Counter(r[0] for r in rows)
proven = sum(1 for r in rows if len(r) > 1 and r[1] == "proven")
worst = max([(float(r[3]), r[2]) for r in rows if len(r) > 3 and
             r[0] in ("optimum", "atbest", "within1", "above")] or [(float("nan"), "none")])
print("%d problems (%d proven optimal by glpsol): at glpsol's optimum %d, at or below its best (not proven) %d,"
      " within 1%% %d, above 1%% %d, more VMs left out %d, fewer %d; worst place/mip %.4f (%s)" % (
    len(rows), proven, c["optimum"], c["atbest"], c["within1"], c["above"], c["fewer"], c["more"],
    worst[0], worst[1]))
PYEOF
	echo "target: every VM placed that the MIP places, cost within 1% of the optimum"
else
	echo "SKIP: glpsol (Debian package glpk-utils, scripts/deps.sh --bench) is not installed"
fi

echo
echo "== small problems: place against the exact MIP (gen --simple) =="
printf '%-22s %9s %9s %9s %9s %9s\n' "problem" "bound" "place" "exact" "place/ex" "exact s"
worst=1
for spec in 8:30:1 8:30:2 10:40:3 10:40:4 12:50:5 12:50:6; do
	IFS=: read -r h v seed <<<"$spec"
	f=$tmp/s.json
	"$S" gen --hosts "$h" --vms "$v" --seed "$seed" --simple >"$f"
	"$S" place --summary ${limit:+--time-limit "$limit"} "$f" >"$tmp/p.json"
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
	# The human-readable count: --machine-readable stops on clusters with
	# stopped instances ("internal inconsistency") in Ganeti 3.0.
	hs=$(timeout "$to" hspace -t "$f" --standard-alloc=10240,4096,2 $opt 2>/dev/null | sed -n 's/^ *- *\([0-9]*\) instances allocated$/\1/p' | tail -1)
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
# N+1 at 120 nodes: ours against the 0.5 s target (hspace rarely ends).
bash "$top/scripts/htools-gen" -n 120 -v 8 -s 3 >"$tmp/h120.data"
cap_row "htools-gen -n 120 -v 8" "$tmp/h120.data" 1 ${SCHED_BENCH_HSPACE_N1_120:-20}
# Stopped, offline and forthcoming instances (-m), with their DRBD
# instances made rbd: equal counts expected; with DRBD see docs/scheduler.md.
for n in 12 30; do
	bash "$top/scripts/htools-gen" -n "$n" -v 8 -s 3 -m |
		awk -F'|' 'BEGIN { OFS = "|" } NF > 10 && $9 == "drbd" { $9 = "rbd"; $8 = "" } { print }' >"$tmp/m$n.data"
	cap_row "htools-gen -n $n -m (no drbd)" "$tmp/m$n.data" 0 120
done
echo "without N+1 both count what fits under Ganeti's allocation limits (equal counts"
echo "are expected); with N+1 hspace runs Ganeti's global N+1 check on every"
echo "allocation, which it may not finish within the time shown"

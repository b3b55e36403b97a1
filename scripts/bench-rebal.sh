#!/usr/bin/env bash
# scripts/bench-rebal.sh BUILD_DIR - rebalancing plans against Ganeti's hbal.
#
# On unbalanced clusters from scripts/htools-gen (12, 30, 60, 100, 200 and
# 1,000 nodes, 10 instances per node), runs in the same session
#   fincloud-sched rebalance --htools FILE -S OUT
#   hbal -t FILE --ignore-dynu -S OUT
# and prints, per tool: the final score as `hinfo --ignore-dynu` prints it,
# the number of moves, the MiB of memory they migrate, and the time; then
# the ratios fincloud / hbal. Then the time of a plan for 1,000 nodes x
# 10,000 VMs (htools input and JSON input).
#
# hbal gets a time budget per cluster: HBAL_BUDGET seconds (default 900)
# up to 100 nodes, HBAL_BUDGET_BIG (default 300) above, where it would run
# for hours. When it runs out, hbal is stopped and its result is the
# solution it had printed so far (marked "cut"): hbal prints its moves as
# it finds them, so that solution is known.
#
# Scoring hbal's result: hbal's -S file keeps each node's f_mem as it was
# before the moves (only the instances' primary nodes change), so hinfo
# reading that file sees stale free memory. The score in the table is
# hinfo's on the cluster with hbal's placement applied the way Ganeti
# accounts memory (f_mem / f_dsk shifted by what moved, as fincloud writes
# its own OUT.balanced); it equals the score hbal itself reports. hinfo on
# hbal's raw file is shown too ("raw -S").
# Times are wall-clock seconds of each run (the machine may be shared:
# the notes give each run's CPU seconds as well).
#
# Beside the 70% row, scripts/rebal-bound gives a proven lower bound on
# the score of any plan of that many moves (an LP relaxation, glpsol;
# clusters of at most REBAL_BOUND_NODES nodes, default 100): when it is
# above hbal's score, the 70% target cannot be met by any planner.
#
# HBAL_KEEP=DIR keeps hbal's output for each cluster in DIR and, when DIR
# already holds it for the same input file, reuses it instead of running
# hbal again (its time is then the one measured when it ran), so that
# fincloud can be compared before and after a change in one sitting.
set -u
build=${1:?usage: scripts/bench-rebal.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$top/$build ;; esac
sched=$build/bin/fincloud-sched
budget_small=${HBAL_BUDGET:-900}
budget_big=${HBAL_BUDGET_BIG:-300}
sizes=${REBAL_BENCH_SIZES:-"12 30 60 100 200 1000"}
keep=${HBAL_KEEP:-}
bound_nodes=${REBAL_BOUND_NODES:-100}
py=/usr/bin/python3

[ -x "$sched" ] || { echo "bench-rebal: build $sched first" >&2; exit 1; }
for t in hbal hinfo; do
	command -v $t >/dev/null 2>&1 || {
		echo "SKIP: $t (Debian package ganeti-htools) is not installed"
		exit 77
	}
done
tmp=$(mktemp -d)
hpid=
# hbal runs under /usr/bin/time (pid hpid): stop hbal itself, then time.
stop_hbal() {
	local c
	[ -n "$hpid" ] || return 0
	for c in $(pgrep -P "$hpid"); do kill "$c" 2>/dev/null; done
	kill "$hpid" 2>/dev/null
}
cleanup() {
	stop_hbal
	rm -rf "$tmp"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
hinfo_score() { hinfo --ignore-dynu -t "$1" 2>/dev/null | sed -n 's/^Cluster score: //p'; }

# apply_moves ORIG MOVES > FILE: ORIG with each instance on the last node
# MOVES ("inst node" lines) gives it, and the nodes' f_mem / f_dsk shifted
# by the memory of running instances / local disk that moved.
apply_moves() {
	awk -F'|' '
	BEGIN { OFS = "|" }
	FNR == 1 { file++; sec = 1 }
	file == 1 { np[$1] = $2; next }
	{ line[++n] = $0; lsec[n] = sec; if ($0 == "") { sec++; next } }
	sec == 3 && ($1 in np) && np[$1] != $7 {
		if ($5 ~ /^(running|ERROR_up|ERROR_nodedown|ERROR_nodeoffline|ERROR_wrongnode)$/) {
			dm[$7] += $2; dm[np[$1]] -= $2
		}
		if ($9 == "plain" || $9 == "drbd") { dd[$7] += $3; dd[np[$1]] -= $3 }
	}
	END {
		for (i = 1; i <= n; i++) {
			l = line[i]
			if (l != "" && (lsec[i] == 2 || lsec[i] == 3)) {
				k = split(l, f, "|")
				if (lsec[i] == 2) { f[4] += dm[f[1]]; f[6] += dd[f[1]] }
				else if (f[1] in np) f[7] = np[f[1]]
				l = f[1]; for (j = 2; j <= k; j++) l = l "|" f[j]
			}
			print l
		}
	}' FS='[ |]' "$2" FS='|' "$1"
}

# run_hbal N FILE BUDGET: hbal on FILE into $tmp/hbN.*, stopped after
# BUDGET seconds; sets hsec (wall seconds) and cut (why it stopped early).
run_hbal() {
	local t0 t1
	t0=$(now)
	/usr/bin/time -f '%U %S' -o "$tmp/hb$1.cpu" \
		hbal -t "$2" --ignore-dynu -S "$tmp/hb$1" >"$tmp/hb$1.out" 2>"$tmp/hb$1.err" &
	hpid=$!
	cut=
	while kill -0 "$hpid" 2>/dev/null; do
		if [ "$(elapsed "$t0" "$(now)" | cut -d. -f1)" -ge "$3" ]; then
			stop_hbal
			cut="cut at ${3}s"
			break
		fi
		sleep 0.2
	done
	wait "$hpid" 2>/dev/null
	hpid=
	t1=$(now)
	hsec=$(elapsed "$t0" "$t1")
}

printf '%s\n' "Rebalancing: fincloud-sched rebalance vs hbal (ganeti-htools $(hinfo --version | sed -n '1s/.*version //p')), hbal budget ${budget_small}s (<= 100 nodes) / ${budget_big}s"
printf '%-6s %-9s %11s %11s %6s %10s %9s  %s\n' nodes tool score_in score_out moves MiB_moved seconds notes
rows=()
for n in $sizes; do
	f=$tmp/c$n.data
	"$top/scripts/htools-gen" -n "$n" -v 10 -s 1 >"$f"
	sin=$(hinfo_score "$f")

	# fincloud
	t0=$(now)
	/usr/bin/time -f '%U %S' -o "$tmp/fc$n.cpu" \
		"$sched" rebalance --htools "$f" -o json -S "$tmp/fc$n" >"$tmp/fc$n.json" 2>"$tmp/fc$n.err"
	rc=$?
	t1=$(now)
	fsec=$(elapsed "$t0" "$t1")
	fcpu=$(awk '{ printf "%.2f", $1 + $2 }' "$tmp/fc$n.cpu")
	if [ $rc -gt 1 ]; then
		echo "bench-rebal: fincloud-sched failed on $n nodes: $(cat "$tmp/fc$n.err")" >&2
		exit 1
	fi
	fmoves=$("$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["moves"]))' "$tmp/fc$n.json")
	fmib=$("$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.0f" % d["mib_moved"])' "$tmp/fc$n.json")
	fclaim=$("$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.8f" % d["score_after"])' "$tmp/fc$n.json")
	fout=$(hinfo_score "$tmp/fc$n.balanced")
	fnote="cpu ${fcpu}s; claimed $fclaim"
	[ "$fclaim" = "$fout" ] && fnote="$fnote = hinfo"
	printf '%-6s %-9s %11s %11s %6s %10s %9s  %s\n' "$n" fincloud "$sin" "$fout" "$fmoves" "$fmib" "$fsec" "$fnote"

	# hbal, with a time budget (or its kept result for the same input)
	budget=$budget_small
	[ "$n" -gt 100 ] && budget=$budget_big
	if [ -n "$keep" ] && cmp -s "$f" "$keep/c$n.data" &&
		[ -f "$keep/hb$n.time" ]; then
		cp "$keep/hb$n.out" "$keep/hb$n.cpu" "$tmp/"
		[ -f "$keep/hb$n.balanced" ] && cp "$keep/hb$n.balanced" "$tmp/"
		read -r hsec cut <"$keep/hb$n.time"
	else
		run_hbal "$n" "$f" "$budget"
		if [ -n "$keep" ]; then
			mkdir -p "$keep"
			cp "$f" "$keep/c$n.data"
			cp "$tmp/hb$n.out" "$tmp/hb$n.cpu" "$keep/"
			[ -f "$tmp/hb$n.balanced" ] && cp "$tmp/hb$n.balanced" "$keep/"
			echo "$hsec $cut" >"$keep/hb$n.time"
		fi
	fi
	# move lines: "  12. inst-00042 node-0001 => node-0007 0.1234 a=..."
	grep -E '^ *[0-9]+\. [^ ]+ +[^ ]+ +=> +[^ ]+ +[0-9.]+ ' "$tmp/hb$n.out" >"$tmp/hb$n.moves"
	hmoves=$(wc -l <"$tmp/hb$n.moves")
	# MiB moved: the memory of the moved instances that run (as fincloud
	# counts it: a stopped instance moves with no memory to copy)
	hmib=$(awk 'NR == FNR { if ($1 != "" && $5 ~ /^(running|ERROR_up|ERROR_nodedown|ERROR_nodeoffline|ERROR_wrongnode)$/) mem[$1] = $2; next } { s += mem[$2] } END { printf "%.0f", s }' \
		FS='|' "$f" FS=' ' "$tmp/hb$n.moves")
	hclaim=$(awk 'END { printf "%.8f", $6 }' "$tmp/hb$n.moves")
	[ "$hmoves" -eq 0 ] && hclaim=$sin
	awk '{ print $2, $5 }' "$tmp/hb$n.moves" >"$tmp/hb$n.final"
	apply_moves "$f" "$tmp/hb$n.final" >"$tmp/hb$n.applied"
	hout=$(hinfo_score "$tmp/hb$n.applied")
	# no move (an empty move list is no file for apply_moves): the input
	[ "$hmoves" -eq 0 ] && hout=$sin
	hcpu=$(awk '/^[0-9.]+ [0-9.]+$/ { printf "%.2f", $1 + $2 }' "$tmp/hb$n.cpu" 2>/dev/null)
	hnote="cpu ${hcpu:-?}s; claimed $hclaim"
	[ "$hclaim" = "$hout" ] && hnote="$hnote = hinfo"
	if [ -s "$tmp/hb$n.balanced" ]; then
		hnote="$hnote; raw -S $(hinfo_score "$tmp/hb$n.balanced")"
	fi
	[ -n "$cut" ] && hnote="$hnote; $cut"
	printf '%-6s %-9s %11s %11s %6s %10s %9s  %s\n' "$n" hbal "$sin" "$hout" "$hmoves" "$hmib" "$hsec" "$hnote"
	# what fincloud reaches with 70% of hbal's moves (of the moves hbal
	# had made when it was cut: then against its score at that point)
	f70=-
	m70=$((hmoves * 7 / 10))
	if [ "$hmoves" -gt 0 ] && [ "$m70" -eq 0 ]; then
		# 70% of hbal's moves is no move (--max-moves 0 means no limit)
		f70=$sin
		printf '%-6s %-9s %11s %11s %6s %10s %9s  %s\n' "$n" "fc@70%" "$sin" \
			"$f70" 0 0 0 "70% of hbal's $hmoves move(s) is no move: the score stays"
	elif [ "$hmoves" -gt 0 ]; then
		t0=$(now)
		"$sched" rebalance --htools "$f" --max-moves "$m70" -S "$tmp/f70$n" >/dev/null 2>"$tmp/f70$n.err"
		t1=$(now)
		f70=$(hinfo_score "$tmp/f70$n.balanced")
		printf '%-6s %-9s %11s %11s %6s %10s %9s  %s\n' "$n" "fc@70%" "$sin" \
			"$f70" "$m70" \
			"$(sed -n 's/.*moves, \([0-9]*\) MiB moved.*/\1/p' "$tmp/f70$n.err")" \
			"$(elapsed "$t0" "$t1")" "fincloud with --max-moves $m70 (70% of hbal's${cut:+ before it was cut})"
	fi
	b70=-
	if [ "$m70" -gt 0 ] && [ "$n" -le "$bound_nodes" ] &&
		command -v glpsol >/dev/null 2>&1; then
		t0=$(now)
		"$top/scripts/rebal-bound" "$f" "$m70" >"$tmp/b70$n.out" 2>&1
		rc=$?
		t1=$(now)
		if [ $rc -eq 0 ]; then
			b70=$(sed -n 's/^bound \([0-9.]*\).*/\1/p' "$tmp/b70$n.out")
			printf '%-6s %-9s %11s %11s %6s %10s %9s  %s\n' "$n" "bound@70%" "$sin" \
				"$b70" "$m70" - "$(elapsed "$t0" "$t1")" \
				"no plan of $m70 moves scores below this (scripts/rebal-bound)"
		else
			echo "$n bound@70%: $(tail -1 "$tmp/b70$n.out")"
		fi
	fi
	rows+=("$n $fout $fmoves $fmib $fsec $hout $hmoves $hmib $hsec $f70 $b70 ${cut:+cut}")
done

echo
echo "Ratios fincloud / hbal (targets: score <= 1, moves <= 0.70, time <= 0.05;"
echo "and with 70% of hbal's moves, score@70% - hbal's score <= 0; bound@70% - hbal's"
echo "score > 0 means no plan of that many moves can reach hbal's score)"
printf '%-6s %12s %8s %9s %9s %12s %12s  %s\n' nodes score_diff moves MiB time score@70%-hb bound@70%-hb notes
for r in "${rows[@]}"; do
	set -- $r
	awk -v n="$1" -v fs="$2" -v fm="$3" -v fb="$4" -v ft="$5" -v hs="$6" \
		-v hm="$7" -v hb="$8" -v ht="$9" -v f70="${10}" -v b70="${11}" \
		-v cut="${12:-}" 'BEGIN {
		note = (fs <= hs + 1e-9 ? "score ok" : "score WORSE")
		note = note ", " (hm > 0 && fm <= 0.7 * hm ? "moves ok" : "moves over 70%")
		note = note ", " (ht > 0 && ft <= ht / 20 ? "time ok" : "time over 1/20")
		d70 = "-"
		if (f70 != "-") {
			d70 = sprintf("%+.8f", f70 - hs)
			note = note ", " (f70 <= hs + 1e-9 ? "70% ok" : "70% WORSE")
		}
		b = "-"
		if (b70 != "-") {
			b = sprintf("%+.8f", b70 - hs)
			if (b70 > hs + 1e-9) note = note " (unreachable: bound)"
		}
		if (cut != "") note = note " (hbal cut by its budget)"
		printf "%-6s %+12.8f %8.2f %9.2f %9.4f %12s %12s  %s\n", n, fs - hs,
			hm ? fm / hm : 0, hb ? fb / hb : 0, ht ? ft / ht : 0, d70, b, note
	}'
done

echo
echo "Plan time at 1,000 nodes x 10,000 VMs (target < 5 s)"
"$top/scripts/htools-gen" -n 1000 -v 10 -s 1 >"$tmp/big.data"
t0=$(now)
"$sched" rebalance --htools "$tmp/big.data" >"$tmp/big.plan" 2>"$tmp/big.err"
t1=$(now)
printf '  htools input (Ganeti score): %ss, %s\n' "$(elapsed "$t0" "$t1")" "$(tail -1 "$tmp/big.err" | sed 's/^rebalance: //')"
if "$sched" gen --hosts 1000 --vms 10000 --seed 1 >"$tmp/big.json" 2>/dev/null &&
	"$sched" place "$tmp/big.json" --summary --no-improve --write "$tmp/bigp.json" >/dev/null 2>&1; then
	t0=$(now)
	"$sched" rebalance "$tmp/bigp.json" >"$tmp/bigj.plan" 2>"$tmp/bigj.err"
	t1=$(now)
	printf '  JSON input (eta balance):    %ss, %s\n' "$(elapsed "$t0" "$t1")" "$(tail -1 "$tmp/bigj.err" | sed 's/^rebalance: //')"
	t0=$(now)
	"$sched" rebalance "$tmp/bigp.json" --policy pack >"$tmp/bigk.plan" 2>"$tmp/bigk.err"
	t1=$(now)
	printf '  JSON input (pack):           %ss, %s\n' "$(elapsed "$t0" "$t1")" "$(tail -1 "$tmp/bigk.err" | sed 's/^rebalance: //')"
else
	echo "  JSON input: could not generate and place the problem (fincloud-sched gen/place)"
fi

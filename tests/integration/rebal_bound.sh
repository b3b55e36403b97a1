#!/usr/bin/env bash
# fc-test: alone
# Integration test of scripts/rebal-bound, the proven lower bound on the
# score a plan of at most K moves can reach: it holds against real plans
# (fincloud's with --max-moves, scored by hinfo), it is the score's
# fixed part when every instance may move, it refuses clusters outside
# its model, and on the 30-node generated cluster it shows that 70% of
# hbal's 84 moves cannot reach hbal's 0.09561510 (docs/rebalancer.md).
set -u
top=${FC_TOP:?} bin=${FC_BIN:?}
sched=$bin/fincloud-sched
bound=$top/scripts/rebal-bound
for t in hinfo glpsol; do
	command -v $t >/dev/null 2>&1 || {
		echo "SKIP: $t (ganeti-htools, glpk-utils) is not installed"
		exit 77
	}
done
[ -x "$sched" ] || { echo "not ok 1 - $sched is not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$top/tests/integration/tap.bash"
hinfo_score() { hinfo --ignore-dynu -t "$1" 2>/dev/null | sed -n 's/^Cluster score: //p'; }
bound_of() { "$bound" "$1" "$2" | sed -n 's/^bound \([0-9.]*\).*/\1/p'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && b != "" && a <= b + 1e-9) }'; }
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && b != "" && a > b + 1e-9) }'; }

f12=$top/tests/data/htools/gen-12.data
sin=$(hinfo_score "$f12")
# 1. The bound holds against plans of 10 and 21 moves, and without moves
# it is at most the score itself.
for k in 10 21; do
	"$sched" rebalance --htools "$f12" --max-moves "$k" -S "$tmp/p$k" \
		>/dev/null 2>&1
	s=$(hinfo_score "$tmp/p$k.balanced")
	b=$(bound_of "$f12" "$k")
	check "bound with $k moves ($b) <= the $k-move plan's score ($s)" le "$b" "$s"
done
b=$(bound_of "$f12" 0)
check "bound with no move ($b) <= the score now ($sin)" le "$b" "$sin"
check "bound with no move ($b) is far above the balanced score" gt "$b" 0.5
# 2. With every instance free to move, the bound is the fixed part of the
# score (free disk and spindles): 0.04197677 as hinfo prints it.
b=$(bound_of "$f12" 1000)
check "bound with every move allowed ($b) = the fixed components" \
	awk -v a="$b" 'BEGIN { exit !(a > 0.041976 && a < 0.041977) }'
# 3. Clusters outside the model are refused with the reason, exit 2.
"$bound" "$top/tests/data/htools/mixed-30.data" 10 >"$tmp/out" 2>"$tmp/err"
rc=$?
check "a cluster with DRBD / stopped instances is refused (exit 2)" test $rc -eq 2
check "the refusal names the instance or node" grep -qE "^rebal-bound: (instance|node) " "$tmp/err"
"$bound" "$f12" >/dev/null 2>"$tmp/err"
check "missing MOVES is a usage error" test $? -eq 2
# 4. 30 nodes: hbal reaches 0.09561510 in 84 moves; no plan of 58 (70%)
# can, and --moves-for agrees with the bound at both ends.
"$top/scripts/htools-gen" -n 30 -v 10 -s 1 >"$tmp/c30.data"
b=$(bound_of "$tmp/c30.data" 58)
check "30 nodes: bound with 58 moves ($b) > hbal's 0.09561510" gt "$b" 0.09561510
m=$("$bound" "$tmp/c30.data" --moves-for 0.09561510 | sed -n 's/^moves \([0-9]*\).*/\1/p')
check "30 nodes: --moves-for 0.0956 says $m moves, between 59 and 84" \
	test -n "$m" -a "${m:-0}" -gt 58 -a "${m:-0}" -le 84
b=$(bound_of "$tmp/c30.data" "$m")
check "the bound with those $m moves ($b) is <= 0.09561510" le "$b" 0.09561510
echo "1..$n"
exit $failed

#!/usr/bin/env bash
# Integration test of `fincloud-sched rebalance` against Ganeti's own tools:
# the score Ganeti's hinfo prints for OUT.balanced is the score the plan
# claimed; plus the CLI's output formats, exit codes and bad input.
set -u
top=${FC_TOP:?} bin=${FC_BIN:?}
sched=$bin/fincloud-sched
py=/usr/bin/python3
if ! command -v hinfo >/dev/null 2>&1; then
	echo "SKIP: hinfo (Debian package ganeti-htools) is not installed"
	exit 77
fi
[ -x "$sched" ] || { echo "not ok 1 - $sched is not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check() { # description command...
	local d=$1
	shift
	if "$@"; then ok "$d"; else notok "$d"; fi
}
hinfo_score() { hinfo --ignore-dynu -t "$1" 2>/dev/null | sed -n 's/^Cluster score: //p'; }
json_get() { # file python-expression-on-d
	"$py" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

# 1. The claimed score is what hinfo prints, on generated and example
# clusters (mixed ones: DRBD, offline node, tags, forthcoming, ...).
"$top/scripts/htools-gen" -n 24 -v 10 -s 5 >"$tmp/gen24.data"
"$top/scripts/htools-gen" -n 16 -v 8 -s 11 -g 2 -m >"$tmp/mixed16.data"
for f in "$tmp/gen24.data" "$tmp/mixed16.data" \
	"$top/tests/data/htools/mixed-30.data" \
	"$top/tests/data/htools/exclusion-tags.data" \
	"$top/tests/data/htools/offline-node.data"; do
	name=$(basename "$f" .data)
	"$sched" rebalance --htools "$f" -o json -S "$tmp/$name" \
		>"$tmp/$name.json" 2>"$tmp/$name.err"
	rc=$?
	if [ $rc -gt 1 ]; then
		notok "$name: rebalance exits $rc: $(cat "$tmp/$name.err")"
		continue
	fi
	before=$(json_get "$tmp/$name.json" '"%.8f" % d["score_before"]')
	claim=$(json_get "$tmp/$name.json" '"%.8f" % d["score_after"]')
	moves=$(json_get "$tmp/$name.json" 'len(d["moves"])')
	check "$name: hinfo on the input prints the score_before ($before)" \
		test "$(hinfo_score "$f")" = "$before"
	got=$(hinfo_score "$tmp/$name.balanced")
	check "$name: hinfo on OUT.balanced prints the claimed $claim ($moves moves), got $got" \
		test "$got" = "$claim"
	if [ "$name" = gen24 ]; then
		check "$name: the plan improves the score ($before -> $claim)" \
			"$py" -c "import sys; sys.exit(not float(sys.argv[2]) < float(sys.argv[1]))" "$before" "$claim"
	fi
done

# 2. Text output: one "migrate VM SRC -> DST" line per move, the same
# moves as JSON; every VM at most once.
"$sched" rebalance --htools "$tmp/gen24.data" >"$tmp/plan.txt" 2>/dev/null
check "text plan lines all read 'migrate VM SRC -> DST'" \
	test -z "$(grep -v -E '^migrate [^ ]+ [^ ]+ -> [^ ]+$' "$tmp/plan.txt")"
check "text plan has as many moves as the JSON plan" \
	test "$(wc -l <"$tmp/plan.txt")" = "$(json_get "$tmp/gen24.json" 'len(d["moves"])')"
check "no VM moves twice" \
	test -z "$(awk '{print $2}' "$tmp/plan.txt" | sort | uniq -d)"

# 3. --max-moves and --evacuate.
"$sched" rebalance --htools "$tmp/gen24.data" --max-moves 4 >"$tmp/m4.txt" 2>"$tmp/m4.err"
check "--max-moves 4 gives 4 moves" test "$(wc -l <"$tmp/m4.txt")" = 4
check "--max-moves says it stopped" grep -q 'stopped at --max-moves 4' "$tmp/m4.err"
"$sched" rebalance --htools "$tmp/gen24.data" --evacuate node-0003 -o json -S "$tmp/ev" >"$tmp/ev.json" 2>/dev/null
rc=$?
left=$(awk -F'|' 'BEGIN { s = 1 } /^$/ { s++; next } s == 3 && $7 == "node-0003"' "$tmp/ev.balanced" | wc -l)
pinned=$(awk -F'|' 'BEGIN { s = 1 } /^$/ { s++; next } s == 3 && $7 == "node-0003" && $9 == "plain"' "$tmp/gen24.data" | wc -l)
check "--evacuate node-0003 leaves only its plain (pinned) instances ($pinned), got $left" \
	test "$left" = "$pinned"
if [ "$pinned" -gt 0 ]; then
	check "--evacuate with pinned instances exits 1 and lists them" \
		test "$rc" = 1 -a "$(json_get "$tmp/ev.json" 'len(d["unresolved"])')" = "$pinned"
else
	check "--evacuate exits 0" test "$rc" = 0
fi

# 4. pack on JSON input: six hosts each running one small VM; one host
# would do.
{
	echo '{"pools": [{"name": "prod", "cpu_ratio": 4, "mem_ratio": 1, "disk_ratio": 1, "policy": "pack"}],'
	echo ' "tenants": [{"name": "bank", "isolation": "shared"}],'
	echo ' "hosts": ['
	for i in 0 1 2 3 4 5; do
		echo "  {\"name\": \"h$i\", \"pool\": \"prod\", \"vcpus\": 32, \"mem_mib\": 65536, \"disk_gib\": 1000, \"cost\": $((10 + i))}$([ $i -lt 5 ] && echo ,)"
	done
	echo ' ],'
	echo ' "vms": ['
	for i in 0 1 2 3 4 5; do
		echo "  {\"name\": \"v$i\", \"tenant\": \"bank\", \"vcpus\": 2, \"mem_mib\": 4096, \"disk_gib\": 20, \"host\": \"h$i\"}$([ $i -lt 5 ] && echo ,)"
	done
	echo ' ]}'
} >"$tmp/placed.json"
"$sched" rebalance "$tmp/placed.json" --policy pack -o json -S "$tmp/pk" >"$tmp/pk.json" 2>"$tmp/pk.err"
rc=$?
check "pack on a JSON problem exits 0 (rc $rc: $(cat "$tmp/pk.err"))" test "$rc" = 0
check "pack empties the five hosts the LP does not need, most expensive first" \
	"$py" -c "import json,sys; d=json.load(open(sys.argv[1])); m=d['moves']; sys.exit(not (d['hosts_emptied'] == 5 and len(m) == 5 and m[0]['from'] == 'h5' and all(x['to'] == 'h0' for x in m)))" "$tmp/pk.json"
check "pack lowers the cost to the one host left (75 -> 10)" \
	"$py" -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d['metric'] == 'cost' and d['score_before'] == 75 and d['score_after'] == 10))" "$tmp/pk.json"
reread() { "$sched" rebalance "$tmp/pk.balanced" --policy pack -o json >"$tmp/pk2.json" 2>/dev/null; }
check "pack writes a problem JSON the tool reads back" reread

# 5. Bad input: exit 2, nothing on stdout, the field named.
printf 'g|u|preferred||\n\nn1|lots|0|0|0|0|1|N|u\n\n\n' >"$tmp/bad.data"
"$sched" rebalance --htools "$tmp/bad.data" >"$tmp/bad.out" 2>"$tmp/bad.err"
rc=$?
check "bad htools file: exit 2" test "$rc" = 2
check "bad htools file: nothing on stdout" test ! -s "$tmp/bad.out"
check "bad htools file: file:line and field named" \
	grep -q "bad.data:3: node 'n1': field 't_mem' must be a number, got 'lots'" "$tmp/bad.err"
"$sched" rebalance --htools "$tmp/gen24.data" --evacuate nosuch >"$tmp/bad.out" 2>"$tmp/bad.err"
rc=$?
check "unknown --evacuate host: exit 2, named, nothing on stdout" \
	test "$rc" = 2 -a ! -s "$tmp/bad.out" -a -n "$(grep "no host is named 'nosuch'" "$tmp/bad.err")"
"$sched" rebalance --htools "$tmp/gen24.data" --policy sideways >"$tmp/bad.out" 2>/dev/null
check "bad --policy: exit 2" test "$?" = 2 -a ! -s "$tmp/bad.out"
"$sched" rebalance --help >"$tmp/help.txt"
check "--help explains the options" grep -q -- '--evacuate HOST' "$tmp/help.txt"
# The --min-gain default: --help and docs/rebalancer.md give the same one,
# and it is what the tool does without the option.
hdef=$(grep -A1 -- '^  --min-gain G ' "$tmp/help.txt" | sed -n 's/.*(default \([0-9.]*\).*/\1/p')
ddef=$(sed -n 's/.*By default (`--min-gain \([0-9.]*\)`).*/\1/p' "$top/docs/rebalancer.md")
check "--min-gain default: --help says '$hdef', docs/rebalancer.md '$ddef'" \
	test -n "$hdef" -a "$hdef" = "$ddef"
"$sched" rebalance --htools "$tmp/gen24.data" --min-gain "${hdef:-x}" >"$tmp/mg.txt" 2>/dev/null
check "--min-gain $hdef (the stated default) plans what no option does" \
	cmp -s "$tmp/mg.txt" "$tmp/plan.txt"

exit $failed

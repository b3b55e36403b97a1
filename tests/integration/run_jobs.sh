#!/usr/bin/env bash
# tests/run.sh's scheduling, in a copy of the tree with stand-in tests
# that record when they start and end: integration tests run
# FC_TEST_JOBS at a time; the e2e tests and those marked
# "# fc-test: serial" run FC_TEST_LANES at a time beside them; those marked
# "# fc-test: alone" run after everything else, by themselves; every
# result is counted once (a failing one too, with its failed check first),
# and FC_TEST_JOBS=1 runs one test at a time.
set -u
top=${FC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top/tests/integration/tap.bash"
work=$(mktemp -d "${TMPDIR:-/tmp}/fc-runjobs.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"; [ "$failed" -eq 0 ] || exit 1' EXIT

t=$work/tree
mkdir -p "$t/tests/e2e" "$t/tests/integration" "$t/build"
cp "$top/tests/run.sh" "$t/tests/run.sh"
# mk KIND NAME MARK SECONDS [fail]: a test that logs "start NAME" and
# "end NAME" (with a sequence number from the log's length) around a sleep
mk() {
	local f=$t/tests/$1/$2.sh res='echo "ok 1 - '"$2"'"'
	[ "${5:-}" = fail ] && res='echo "ok 1 - first"; echo "not ok 2 - '"$2"' broke"; echo "#   why it broke"; echo "ok 3 - last"'
	{
		echo '#!/usr/bin/env bash'
		[ -z "$3" ] || echo "# fc-test: $3"
		echo "echo \"start $2\" >>\"\$FC_TOP/../events\""
		echo "sleep $4"
		echo "echo \"end $2\" >>\"\$FC_TOP/../events\""
		echo "$res"
	} >"$f"
	chmod +x "$f"
}
for i in 1 2 3 4 5; do mk integration "p$i" "" 4; done
mk integration pfail "" 4 fail
mk integration ser "serial" 4
mk integration solo "alone" 1
mk e2e e1 "" 4
mk e2e e2 "" 4

# most tests running at once while EVENT of NAME... is seen: reads
# $work/events in order
most_at_once() {
	awk '$1 == "start" { n++; if (n > m) m = n } $1 == "end" { n-- } END { print m + 0 }' "$work/events"
}
# overlaps A B: B started before A ended
overlaps() {
	awk -v a="$1" -v b="$2" '$0 == "end " a { ea = NR } $0 == "start " b { sb = NR } END { exit !(sb && ea && sb < ea) }' "$work/events"
}

FC_TEST_JOBS=3 FC_TEST_LANES=1 bash "$t/tests/run.sh" "$t/build" >"$work/out" 2>&1
rc=$?
check "a run with a failing test fails" [ "$rc" -ne 0 ]
check "every result is counted once: 9 passed, 1 failed (the failing test's 2 passing checks count)" \
	grep -qx '11 passed, 1 failed, 0 skipped' "$work/out"
check "each test has one result line with its time" \
	[ "$(grep -cE '^(PASS|FAIL) [a-z0-9]+/[a-z0-9]+ \(.*[0-9]+ s\)' "$work/out")" = 10 ]
check "the failure shows its failed check and its details first" \
	eval 'grep -A2 "^FAIL integration/pfail" "$work/out" | grep -q "    > not ok 2 - pfail broke" &&
		grep -A2 "^FAIL integration/pfail" "$work/out" | grep -q "    > #   why it broke"'
check "the slowest tests are named at the end" grep -q '^slowest: ' "$work/out"
check "integration tests ran 3 at a time, and one lane beside them (4 at once)" \
	[ "$(most_at_once)" = 4 ]
check "with FC_TEST_LANES=1 the lane runs one after the other (ser, e1, e2)" \
	eval '! overlaps ser e1 && ! overlaps e1 e2 && ! overlaps ser e2'
check "... beside the integration tests" eval 'overlaps p1 ser || overlaps ser p1'
check "the 'alone' test started after everything else had ended" \
	[ "$(grep -n '^start solo$' "$work/events" | cut -d: -f1)" = $(($(wc -l <"$work/events") - 1)) ]

rm -f "$work/events"
FC_TEST_JOBS=3 FC_TEST_LANES=2 bash "$t/tests/run.sh" "$t/build" 'e2e/*' >"$work/out3" 2>&1
check "FC_TEST_LANES=2 runs two of the lane's tests at once" \
	eval '[ "$(most_at_once)" = 2 ] && grep -qx "2 passed, 0 failed, 0 skipped" "$work/out3"'

rm -f "$work/events"
FC_TEST_JOBS=1 bash "$t/tests/run.sh" "$t/build" 'integration/p[12]' >"$work/out1" 2>&1
check "FC_TEST_JOBS=1 runs one test at a time" \
	eval '[ "$(most_at_once)" = 1 ] && grep -qx "2 passed, 0 failed, 0 skipped" "$work/out1"'
FC_TEST_JOBS=x bash "$t/tests/run.sh" "$t/build" 'integration/p1' >"$work/out2" 2>&1
rc=$?
check "a bad FC_TEST_JOBS is refused, naming it" \
	eval '[ "$rc" -ne 0 ] && grep -q "FC_TEST_JOBS must be" "$work/out2"'
# two e2e tests at a time need testbeds apart: each test (each
# executable tests/e2e/*.sh) brings one up with a prefix and subnet of its
# own (e2e_*_up N PREFIX SUBNET, or testbed.sh's prefix=/subnet=)
pairs=$(
	for f in "$top"/tests/e2e/*.sh; do
		[ -x "$f" ] || continue
		sed -nE 's/^[[:space:]]*e2e_(testbed|fincloud|guests)_up [0-9]+ ([a-z]+) ([0-9.]+).*/\2 \3/p' "$f"
		p=$(sed -n 's/^prefix=\([a-z]*\)$/\1/p' "$f") s=$(sed -n 's/^subnet=\([0-9.]*\)$/\1/p' "$f")
		[ -z "$p" ] || echo "$p $s"
	done
)
ntests=$(find "$top/tests/e2e" -maxdepth 1 -name '*.sh' -perm -u+x | wc -l)
dup=$( (cut -d' ' -f1 <<<"$pairs"; cut -d' ' -f2 <<<"$pairs") | sort | uniq -d | tr '\n' ' ')
check "each e2e test's testbed has a prefix and a subnet of its own ($ntests tests${dup:+; used twice: $dup})" \
	eval '[ -z "$dup" ] && [ "$(wc -l <<<"$pairs")" = "$ntests" ] && [ "$ntests" -gt 10 ]'
echo "1..$n"

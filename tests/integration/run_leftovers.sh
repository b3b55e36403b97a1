#!/usr/bin/env bash
# tests/run.sh takes down what a killed test left: in a copy of the tree
# with a stand-in scripts/testbed.sh (it records its calls), a fake e2e
# test names its dir through tests/e2e/lib.sh and then hangs past
# FC_TEST_TIMEOUT, ignoring SIGTERM so that its EXIT trap never runs;
# run.sh reports it failed, stops the test with what it started (its
# sleep), calls "testbed.sh down" on the dir's tb and removes the dir. A test that cleans up itself gets no such call.
set -u
top=${FC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top/tests/integration/tap.bash"
work=$(mktemp -d "${TMPDIR:-/tmp}/fc-leftovers.XXXXXX")
trap 'rm -rf "$work"; [ "$failed" -eq 0 ] || exit 1' EXIT

t=$work/tree
mkdir -p "$t/tests/e2e" "$t/tests/integration" "$t/scripts" "$t/build"
cp "$top/tests/run.sh" "$t/tests/run.sh"
cat >"$t/scripts/testbed.sh" <<TB
#!/usr/bin/env bash
echo "\$*" >>"$work/testbed.calls"
TB
# hung: its dir is named, then it ignores TERM and sleeps past the limit
cat >"$t/tests/e2e/hung.sh" <<'T'
#!/usr/bin/env bash
E2E_DIR=$(mktemp -d "${TMPDIR:-/tmp}/fc-e2e-hung.XXXXXX")
echo "$E2E_DIR" >>"$FC_TEST_LEFTOVERS"
echo "$E2E_DIR" >"$FC_TOP/../hung.dir"
trap '' TERM
echo "ok 1 - named its dir"
sleep 60 &
echo $! >"$FC_TOP/../hung.child"
wait
T
# tidy: names its dir and removes it itself
cat >"$t/tests/e2e/tidy.sh" <<'T'
#!/usr/bin/env bash
d=$(mktemp -d "${TMPDIR:-/tmp}/fc-e2e-tidy.XXXXXX")
echo "$d" >>"$FC_TEST_LEFTOVERS"
rm -rf "$d"
echo "ok 1 - tidied up"
T
chmod +x "$t/tests/e2e/"*.sh "$t/scripts/testbed.sh"

FC_TEST_TIMEOUT=2 bash "$t/tests/run.sh" "$t/build" 'e2e/*' >"$work/out" 2>&1
rc=$?
check "run.sh fails when a test is killed by its time limit" [ "$rc" -ne 0 ]
check "run.sh names the killed test" grep -q '^FAIL e2e/hung' "$work/out"
dir=$(cat "$work/hung.dir" 2>/dev/null)
check "the killed test's dir is gone" [ -n "$dir" ] && [ ! -e "$dir" ]
check "its testbed was taken down ('down --dir DIR/tb')" \
	grep -qx -- "down --dir $dir/tb" "$work/testbed.calls"
check "the tidy test got no such call (one call in all)" \
	[ "$(wc -l <"$work/testbed.calls")" = 1 ]
child=$(cat "$work/hung.child" 2>/dev/null)
# gone: killed, and reaped by init (within 5 s)
gone() { for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; return 1; }
check "what the killed test started is stopped too (its sleep, pid ${child:-none})" \
	eval '[ -n "$child" ] && gone "$child"'
check "the killed test's log says what was taken down" \
	grep -q "run.sh: the test left $dir" "$t/build/test-logs/e2e-hung.log"
echo "1..$n"

#!/usr/bin/env bash
# tests/run.sh BUILD_DIR [PATTERN]
#
# Runs every test of fincloud and ends with one line
#   N passed, N failed, N skipped
# exiting non-zero when anything failed.
#
#   unit         every cmocka program in BUILD_DIR/tests/unit
#   integration  every executable tests/integration/*.sh (real processes)
#   integration-pg  tests/integration/ctrl_*.sh again with
#                FINCLOUD_TEST_DB=pg (the controller on PostgreSQL)
#   e2e          every executable tests/e2e/*.sh (real KVM nodes)
#
# A script test exits 0 (pass), 77 (skip; its last line starting "SKIP:"
# says why) or anything else (fail). A script may also print TAP lines
# ("ok N - what", "not ok N - what", "ok N - what # SKIP why"), which are
# then counted one by one. PATTERN (a shell glob) runs only matching tests.
# Each test's output goes to BUILD_DIR/test-logs/; a failing test's tail
# is printed. FC_TEST_TIMEOUT (seconds, default 900) bounds each test.
#
# FC_TEST_JOBS (default 3) integration tests run at once: most of their
# time is spent waiting (heartbeat intervals, timeouts they provoke);
# beside them FC_TEST_LANES (default 2) of the e2e tests (each on a
# testbed of its own, with a prefix and subnet of its own) and of the
# integration tests whose header has the line "# fc-test: serial" (a
# testbed too). A script whose header has the line "# fc-test: alone"
# (it uses the host's own libvirt, installs packages, keeps the CPUs busy,
# or times heartbeats closely) runs by itself after all of them.
# FC_TEST_JOBS=1 runs everything one at a time. Each result line
# gives the test's time; the slowest ones are listed at the end.
set -u
build=${1:?usage: tests/run.sh BUILD_DIR [PATTERN]}
pattern=${2:-*}
top=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$top/$build ;; esac
logs=$build/test-logs
mkdir -p "$logs"

export FC_TOP=$top FC_BUILD=$build FC_BIN=$build/bin
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
timeout_s=${FC_TEST_TIMEOUT:-900}

jobs=${FC_TEST_JOBS:-3}
[[ $jobs =~ ^[1-9][0-9]?$ ]] || { echo "run.sh: FC_TEST_JOBS must be 1-99, not '$jobs'" >&2; exit 2; }
lanes=${FC_TEST_LANES:-2}
[[ $lanes =~ ^[1-9]$ ]] || { echo "run.sh: FC_TEST_LANES must be 1-9, not '$lanes'" >&2; exit 2; }
passed=0 failed=0 skipped=0
failed_names=()
times=$(mktemp)
trap 'rm -f "$times"' EXIT

report_fail() { # name log [seconds]
	failed_names+=("$1")
	echo "FAIL $1 (log: $2${3:+; $3 s})"
	# each failed check with the first lines of its details (the
	# tail below is often a testbed's logs, dumped on the way out)
	awk '/^not ok [0-9]/ { n = 6 } n > 0 && (/^not ok/ || /^#/) { print substr($0, 1, 400); n-- } !/^#/ && !/^not ok/ { n = 0 }' "$2" |
		head -n 60 | sed 's/^/    > /'
	tail -n 30 "$2" | sed 's/^/    | /'
}

# take_down FILE: every e2e dir FILE names that still exists (its test
# did not clean up) has its testbed taken down and is removed
take_down() {
	local d
	while read -r d; do
		[ -d "$d" ] || continue
		echo "# run.sh: the test left $d: taking its testbed down"
		bash "$top/scripts/testbed.sh" down --dir "$d/tb" >/dev/null 2>&1 </dev/null
		rm -rf "$d"
	done <"$1"
	rm -f "$1"
}

run_unit() { # path
	local t=$1 name log rc p f s
	name=unit/$(basename "$t")
	log=$logs/$(basename "$t").log
	timeout -k 10 "$timeout_s" "$t" >"$log" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	p=${p:-0} f=${f:-0} s=${s:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed, timed out or a sanitizer stopped it
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	if [ "$f" -gt 0 ]; then
		report_fail "$name" "$log"
	else
		if [ "$s" -gt 0 ]; then echo "PASS $name ($p passed, $s skipped)"; else echo "PASS $name ($p passed)"; fi
	fi
	grep '^\[  SKIPPED \] [a-z_]' "$log" | sed 's/^/    /'
}

# script_job PATH KIND: runs one script test; writes "OK NOTOK SKIP RC
# SECONDS" to its LOG.res for collect (it may run in the background)
script_job() {
	local t=$1 kind=$2 log rc ok notok skip t0
	log=$logs/$kind-$(basename "$t" .sh).log
	t0=$SECONDS
	# setsid (-w: its status is the test's), then timeout: timeout leads a process group of its own that
	# the test and everything it starts belong to (in a session of their
	# own), and a timeout signals that whole group, not the test alone.
	# A test killed before its EXIT trap ran leaves its testbed up: the
	# dirs it named in FC_TEST_LEFTOVERS are taken down here.
	: >"$log.leftovers"
	FC_TEST_LEFTOVERS=$log.leftovers setsid -w timeout -k 10 "$timeout_s" "$t" >"$log" 2>&1 </dev/null
	rc=$?
	take_down "$log.leftovers" >>"$log"
	ok=$(grep -cE '^ok [0-9]+' "$log")
	skip=$(grep -cE '^ok [0-9]+.*# SKIP' "$log")
	notok=$(grep -cE '^not ok [0-9]+' "$log")
	echo "$ok $notok $skip $rc $((SECONDS - t0))" >"$log.res.tmp"
	mv "$log.res.tmp" "$log.res"
}

# collect PATH KIND: counts and prints the result script_job left
collect() {
	local t=$1 kind=$2 name log ok notok skip rc secs why
	name=$kind/$(basename "$t" .sh)
	log=$logs/$kind-$(basename "$t" .sh).log
	read -r ok notok skip rc secs <"$log.res"
	rm -f "$log.res"
	echo "$secs $name" >>"$times"
	ok=$((ok - skip))
	if [ "$ok" -eq 0 ] && [ "$notok" -eq 0 ] && [ "$skip" -eq 0 ]; then
		case $rc in
		0) ok=1 ;;
		77) skip=1 ;;
		*) notok=1 ;;
		esac
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ "$notok" -eq 0 ]; then
		notok=1
	fi
	passed=$((passed + ok)) failed=$((failed + notok)) skipped=$((skipped + skip))
	if [ "$notok" -gt 0 ]; then
		report_fail "$name" "$log" "$secs"
	elif [ "$ok" -eq 0 ] && [ "$skip" -gt 0 ]; then
		why=$(grep -E '^SKIP:|# SKIP' "$log" | tail -1)
		echo "SKIP $name: ${why:-no reason given}"
	else
		if [ "$skip" -gt 0 ]; then echo "PASS $name ($ok passed, $skip skipped; $secs s)"; else echo "PASS $name ($ok passed; $secs s)"; fi
		grep -E '# SKIP' "$log" | sed 's/^/    /'
	fi
}

# runs KIND/NAME with the environment its kind asks for
job() { # path kind
	if [ "$2" = integration-pg ]; then
		FINCLOUD_TEST_DB=pg script_job "$1" "$2"
	else
		script_job "$1" "$2"
	fi
}

shopt -s nullglob
for t in "$build"/tests/unit/*; do
	[ -x "$t" ] || continue
	# shellcheck disable=SC2053
	[[ unit/$(basename "$t") == $pattern ]] || continue
	run_unit "$t"
done
# the script tests: KIND PATH, those that run alone last
pool=() alone=() lane=()
for kind in integration integration-pg e2e; do
	# integration-pg: the controller's integration tests once more, its
	# state on a private PostgreSQL (tests/integration/pg_lib.bash)
	glob=$kind/*.sh
	[ "$kind" = integration-pg ] && glob=integration/ctrl_*.sh
	for t in "$top"/tests/$glob; do
		[ -x "$t" ] || continue
		[[ $kind/$(basename "$t" .sh) == $pattern ]] || continue
		if [ "$jobs" -eq 1 ] || grep -qx '# fc-test: alone' "$t"; then
			alone+=("$kind $t")
		elif [ "$kind" = e2e ] || grep -qx '# fc-test: serial' "$t"; then
			lane+=("$kind $t")
		else
			pool+=("$kind $t")
		fi
	done
done

# the pools: integration tests FC_TEST_JOBS at a time, the lane's tests
# FC_TEST_LANES at a time; reap waits for one job to end (its LOG.res
# appears: bash's "wait -n" does not report a job that ended before it
# was called) and collects it
declare -A running=() class=()
reap() {
	local pid t kind
	while :; do
		for pid in "${!running[@]}"; do
			read -r t kind <<<"${running[$pid]}"
			[ -e "$logs/$kind-$(basename "$t" .sh).log.res" ] || continue
			wait "$pid"
			collect "$t" "$kind"
			unset "running[$pid]" "class[$pid]"
			return
		done
		sleep 0.5
	done
}
busy() { # CLASS: how many of its jobs run
	local pid n=0
	for pid in "${!class[@]}"; do [ "${class[$pid]}" != "$1" ] || n=$((n + 1)); done
	echo "$n"
}
launch() { # "KIND PATH" CLASS
	local kind t
	read -r kind t <<<"$1"
	job "$t" "$kind" &
	running[$!]="$t $kind"
	class[$!]=$2
}
pi=0 li=0
while [ "$pi" -lt ${#pool[@]} ] || [ "$li" -lt ${#lane[@]} ]; do
	if [ "$li" -lt ${#lane[@]} ] && [ "$(busy lane)" -lt "$lanes" ]; then
		launch "${lane[$li]}" lane
		li=$((li + 1))
	elif [ "$pi" -lt ${#pool[@]} ] && [ "$(busy pool)" -lt "$jobs" ]; then
		launch "${pool[$pi]}" pool
		pi=$((pi + 1))
	else
		reap
	fi
done
while [ ${#running[@]} -gt 0 ]; do reap; done
for e in "${alone[@]}"; do
	read -r kind t <<<"$e"
	job "$t" "$kind"
	collect "$t" "$kind"
done

if [ -s "$times" ]; then
	echo
	echo "slowest: $(sort -rn "$times" | head -n 8 | awk '{ printf "%s%s %ss", (NR > 1 ? ", " : ""), $2, $1 }')"
fi
echo
if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failed: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

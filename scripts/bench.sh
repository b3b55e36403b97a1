#!/usr/bin/env bash
# scripts/bench.sh BUILD_DIR [NAME...]: run the benchmarks (`make bench`).
#
# Runs every scripts/bench-*.sh (or only bench-NAME.sh for each NAME) with
# the build directory as its argument, one after the other, each printing
# its own table of ratios against a baseline measured in the same run.
# A benchmark that fails does not stop the others; the summary at the end
# names each one with its outcome and time, and the exit status is
# non-zero when any failed. A benchmark exiting 77 was skipped (its last
# line says why). Each one's full output is also kept in
# BUILD_DIR/bench-logs/NAME.log.
set -u
build=${1:?usage: scripts/bench.sh BUILD_DIR [NAME...]}
shift
top=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$top/$build ;; esac
logs=$build/bench-logs
mkdir -p "$logs"

scripts=()
if [ $# -gt 0 ]; then
	for n in "$@"; do
		f=$top/scripts/bench-$n.sh
		[ -f "$f" ] || {
			echo "bench: no scripts/bench-$n.sh" >&2
			exit 2
		}
		scripts+=("$f")
	done
else
	shopt -s nullglob
	scripts=("$top"/scripts/bench-*.sh)
fi
if [ ${#scripts[@]} -eq 0 ]; then
	echo "bench: no scripts/bench-*.sh to run"
	exit 0
fi

summary=()
failed=0
for f in "${scripts[@]}"; do
	name=$(basename "$f" .sh)
	name=${name#bench-}
	echo "=== bench $name ($(date -u +%H:%M:%S) UTC)"
	start=$(date +%s)
	# the benchmark's output goes to the terminal and to its log
	bash "$f" "$build" 2>&1 | tee "$logs/$name.log"
	rc=${PIPESTATUS[0]}
	secs=$(($(date +%s) - start))
	case $rc in
	0) outcome="done" ;;
	77) outcome="skipped: $(grep -E '^SKIP:' "$logs/$name.log" | tail -1 | cut -c7-)" ;;
	*)
		outcome="FAILED (exit $rc; log $logs/$name.log)"
		failed=$((failed + 1))
		;;
	esac
	summary+=("$(printf '%-8s %5ss  %s' "$name" "$secs" "$outcome")")
	echo
done

echo "=== bench summary"
printf '%s\n' "${summary[@]}"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# fc-test: alone
# A short run of each libFuzzer target (tests/fuzz/, built by `make test`
# into BUILD/fuzz): FC_FUZZ_RUNS inputs (default 2000) from its seeds. A
# crash, a sanitizer report or a broken promise of the parser fails it;
# `make fuzz` runs them longer.
set -u
: "${FC_TOP:?run me through tests/run.sh}" "${FC_BUILD:?}"
runs=${FC_FUZZ_RUNS:-2000}
work=$(mktemp -d /tmp/fctest-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
n=0 failed=0
for t in fuzz_json:json fuzz_config:config fuzz_htools:htools \
	fuzz_problem:problem fuzz_agent_spec:agent_spec; do
	bin=$FC_BUILD/fuzz/${t%%:*} seeds=$FC_TOP/tests/fuzz/seeds/${t#*:}
	n=$((n + 1))
	if [ ! -x "$bin" ]; then
		echo "ok $n - ${t%%:*} # SKIP not built (make fuzz-build needs clang)"
		continue
	fi
	mkdir -p "$work/${t%%:*}"
	if "$bin" -runs="$runs" -max_len=16384 "$work/${t%%:*}" "$seeds" >"$work/log" 2>&1; then
		echo "ok $n - ${t%%:*}: $runs inputs"
	else
		failed=1
		echo "not ok $n - ${t%%:*}: $runs inputs"
		grep -E 'ERROR|SUMMARY|abort|#0 |#1 |#2 ' "$work/log" | head -20 | sed 's/^/# /'
	fi
done
echo "1..$n"
exit $failed

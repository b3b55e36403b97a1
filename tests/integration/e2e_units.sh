#!/usr/bin/env bash
# The systemd units in scripts/systemd/: systemd-analyze verify accepts
# each (and rejects a broken copy, so the check can fail); the rebalance
# service's command runs "finctl rebalance run --pool P --max-moves N"
# under its lock, and a second run while the first holds the lock exits
# at once with the status the unit counts as success.
set -u
top=${FC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
units=$top/scripts/systemd
. "$top/tests/integration/tap.bash"
command -v systemd-analyze >/dev/null 2>&1 || {
	echo "SKIP: systemd-analyze is not installed"
	exit 77
}
work=$(mktemp -d "${TMPDIR:-/tmp}/fc-units.XXXXXX")
trap 'rm -rf "$work"; [ "$failed" -eq 0 ] || exit 1' EXIT

# stand-ins for the installed programs, so verify can check the commands
mkdir -p "$work/bin" "$work/units"
for b in fincloud-agent fincloud-controller finctl; do
	printf '#!/bin/sh\nexit 0\n' >"$work/bin/$b"
	chmod +x "$work/bin/$b"
done
for u in fincloud-agent.service fincloud-controller.service fincloud-rebalance.service fincloud-rebalance.timer; do
	if [ ! -f "$units/$u" ]; then
		fail "$u exists"
		continue
	fi
	sed "s|/usr/local/bin/|$work/bin/|g" "$units/$u" >"$work/units/$u"
done
verify() { # unit file...
	local out
	out=$(cd "$work/units" && systemd-analyze verify --man=no "$@" 2>&1)
	local rc=$?
	printf '%s' "$out"
	[ "$rc" -eq 0 ] && [ -z "$out" ]
}
for u in fincloud-agent.service fincloud-controller.service; do
	if out=$(verify "./$u"); then ok "systemd-analyze verify $u"; else fail "systemd-analyze verify $u" "$out"; fi
done
if out=$(verify ./fincloud-rebalance.service ./fincloud-rebalance.timer); then
	ok "systemd-analyze verify fincloud-rebalance.service and .timer"
else
	fail "systemd-analyze verify fincloud-rebalance.service and .timer" "$out"
fi
sed 's/^Type=oneshot/Type=once/' "$work/units/fincloud-rebalance.service" >"$work/units/broken.service"
if out=$(verify ./broken.service); then
	fail "a broken unit (Type=once) is rejected"
else
	ok "a broken unit (Type=once) is rejected"
fi
if grep -qx 'OnCalendar=hourly' "$units/fincloud-rebalance.timer" &&
	grep -qx 'Persistent=true' "$units/fincloud-rebalance.timer"; then
	ok "the timer fires hourly and catches up a missed run"
else
	fail "the timer fires hourly and catches up a missed run"
fi
if grep -qx 'KillMode=process' "$units/fincloud-agent.service"; then
	ok "stopping the agent unit kills only the agent, never a guest"
else
	fail "stopping the agent unit kills only the agent, never a guest"
fi

# --- the rebalance command and its lock
cmdline=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$units/fincloud-rebalance.service" |
	sed 's/^ExecStart=//; s/\\$//' | tr '\n' ' ')
grep -qx 'SuccessExitStatus=75' "$units/fincloud-rebalance.service" || fail "the unit counts exit 75 (lock taken) as success"
cat >"$work/bin/finctl" <<EOF
#!/bin/sh
echo "\$*" >>"$work/finctl.args"
sleep 3
EOF
cmdline=${cmdline//\/usr\/local\/bin\//$work\/bin\/}
cmdline=${cmdline//\/run\/fincloud-rebalance\/lock/$work\/lock}
cmdline=${cmdline//\$\{FINCLOUD_POOL\}/prod}
cmdline=${cmdline//\$\{FINCLOUD_MAX_MOVES\}/5}
# shellcheck disable=SC2086
bash -c "exec $cmdline" &
first=$!
for _ in $(seq 1 50); do
	[ -s "$work/finctl.args" ] && break
	sleep 0.1
done
start=$(date +%s%N)
bash -c "exec $cmdline"
rc2=$?
took=$((($(date +%s%N) - start) / 1000000))
wait "$first"
rc1=$?
if [ "$(cat "$work/finctl.args" 2>/dev/null)" = "rebalance run --pool prod --max-moves 5" ] && [ "$rc1" -eq 0 ]; then
	ok "the service runs 'finctl rebalance run --pool prod --max-moves 5' under the lock"
else
	fail "the service runs 'finctl rebalance run --pool prod --max-moves 5' under the lock" \
		"command: $cmdline" "finctl got: $(cat "$work/finctl.args" 2>/dev/null)" "exit $rc1"
fi
if [ "$rc2" -eq 75 ] && [ "$(wc -l <"$work/finctl.args")" -eq 1 ]; then
	ok "a second run while the first holds the lock exits 75 without running finctl (${took} ms)"
else
	fail "a second run while the first holds the lock exits 75 without running finctl" "exit $rc2"
fi

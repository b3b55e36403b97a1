#!/usr/bin/env bash
# A busy node stays up: the real controller (heartbeat timeout 4 s) and a
# real fincloud-agent on a test:/// simulated host whose reconcile pass
# is held for 12 s (a manifest that is a FIFO: the pass blocks reading it,
# as it would in a long libvirt call such as a migration's final phase
# or 126 creates). The agent's heartbeats do not wait for the pass, so
# the node is never marked down; once the pass ends the agent goes on.
. "$FC_TOP/tests/integration/ctrl_lib.bash"
. "$FC_TOP/tests/integration/agent_lib.bash"
command -v mkfifo >/dev/null || { echo "SKIP: mkfifo is missing"; exit 77; }

fifo=
# Let a held pass end: move the FIFO out of the manifests (no later pass
# opens it), then open it for writing (the pass reading it gets EOF).
# Also on exit, so that the agent can stop.
release() {
	[ -n "$fifo" ] && [ -p "$fifo" ] || return 1
	mv "$fifo" "$fifo.held" && timeout 5 sh -c ": >'$fifo.held'"
	local rc=$?
	rm -f "$fifo.held"
	fifo=
	return $rc
}
trap 'release; cleanup' EXIT

one_node b1 || exit 1
fc flavor create small --vcpus 1 --mem-mib 256 --disk-gib 1 >/dev/null
fc tenant create loan >/dev/null
vm=$(fc vm create --tenant loan --flavor small --name web1 --wait --timeout 30 2>/dev/null)
check "a VM runs on it" test -n "$vm"

fifo=$work/nodes/b1/m/slow.json
mkfifo "$fifo"
sleep 2 # the next pass opens the FIFO and waits there
down=0
for _ in $(seq 1 24); do
	[ "$(host_state b1)" = up ] || down=$((down + 1))
	sleep 0.5
done
check "during a 12 s pass (3 x the heartbeat timeout) the host stays up" test "$down" -eq 0
check "its VM is never unknown" test "$(fc -o json vm show "$vm" | jq -r .state)" = running
check "no host.down in the audit log" \
	test "$(fc -o json audit list | jq '[.[] | select(.action == "host.down")] | length')" = 0
check "the pass was really held (the agent was reading the FIFO)" release
fc vm stop "$vm" --wait --timeout 30 >/dev/null 2>&1
check "after the long pass the agent reconciles again (vm stop --wait)" \
	test "$(fc -o json vm show "$vm" | jq -r .state)" = stopped

echo "1..$n"
[ "$nfail" -eq 0 ]

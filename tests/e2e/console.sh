#!/usr/bin/env bash
# Consoles on two real nodes of the testbed, through finctl only: a guest
# booted from the test image (scripts/build-image.sh, uploaded onto its
# disk with virsh vol-upload while it is stopped) shows its ready line in
# finctl vm console-log; a command typed through finctl vm console runs
# in the guest's serial shell and its answer comes back; after a live
# migration to the other node the console is served there, the guest's
# boot id unchanged, and answers again; the sessions are audited.
set -u
. "$(dirname "$0")/lib.sh"

e2e_fincloud_up 2 fcc 10.250.220

f() { e2e_finctl "$@" >/dev/null; }
if f flavor create small --vcpus 1 --mem-mib 128 --disk-gib 1 && f tenant create loan &&
	bash "$FC_TOP/scripts/build-image.sh" "$E2E_DIR/guest.qcow2" >"$E2E_DIR/image.log" 2>&1; then
	e2e_ok "a flavor, a tenant and the test image"
else
	e2e_fail "a flavor, a tenant and the test image" "$(tail -n 3 "$E2E_DIR/image.log")"
	exit 1
fi

# the VM with an empty disk, stopped; its disk replaced by the test image
vm=$(e2e_create loan small web1 --wait --timeout 120) && f vm stop "$vm" --wait --timeout 60 ||
	{ e2e_fail "a VM is created and stopped"; exit 1; }
node=$(e2e_nodes_of "$vm")
disk=$(e2e_virsh "$node" domblklist "$vm" --details | awk '$3 == "vda" { print $4 }')
if e2e_virsh "$node" vol-upload "$disk" "$E2E_DIR/guest.qcow2" &&
	f vm start "$vm" --wait --timeout 120; then
	e2e_ok "the VM boots the test image on node $node"
else
	e2e_fail "the VM boots the test image on node $node" "disk '$disk'"
fi

# log_has REGEX SECONDS [console-log options]: until finctl vm console-log
# shows a line matching REGEX, each call bounded, SECONDS in all
log_has() {
	local re=$1 end=$((SECONDS + $2))
	shift 2
	while [ "$SECONDS" -lt "$end" ]; do
		timeout 40 "$FC_BIN/finctl" vm console-log "$vm" "$@" 2>/dev/null | grep -aq "$re" && return 0
		sleep 1
	done
	return 1
}
ready() { e2e_finctl vm console-log "$vm" 2>/dev/null | grep -a '^fincloud-ready hostname=' | tail -1; }
e2e_check "finctl vm console-log shows the guest's ready line" \
	log_has '^fincloud-ready' 180
boot_id=$(ready | sed -n 's/.*boot_id=\([0-9a-f-]*\).*/\1/p')

# rt N: type an arithmetic command into the guest's shell (until the shell
# answers); the answer is computed in the guest
rt() {
	local i
	for i in $(seq 1 20); do
		printf '\necho fcc-$((%d*7))-rt\n' "$1" |
			e2e_finctl vm console "$vm" --linger 3 >"$E2E_DIR/rt.out" 2>&1
		grep -aq "^fcc-$(($1 * 7))-rt" "$E2E_DIR/rt.out" && return 0
	done
	return 1
}
e2e_check "a command typed through finctl vm console runs in the guest; its answer comes back" rt 6

other=$((node % 2 + 1))
if f vm migrate "$vm" --to "node$other" --wait --timeout 300 && [ "$(e2e_nodes_of "$vm")" = "$other" ]; then
	e2e_ok "the guest live-migrates to node $other"
else
	e2e_fail "the guest live-migrates to node $other" "virsh finds it on '$(e2e_nodes_of "$vm")'"
fi
e2e_check "after it, node $other serves its console log: ticks with the same boot id ($boot_id)" \
	log_has "fincloud-tick .*boot_id=$boot_id" 60 --tail 3
e2e_check "and its console: another command's answer comes back" rt 9
e2e_check "each session's end is audited with its length (within 10 s of its close)" \
	sh -c "for i in \$(seq 1 20); do [ \$(timeout 20 '$FC_BIN/finctl' -o json audit list --limit 1000 | $PY -c 'import json,sys; print(sum(1 for a in json.load(sys.stdin) if a[\"action\"] == \"vm.console.end\" and \"seconds=\" in a[\"target\"]))') -ge 2 ] && exit 0; sleep 0.5; done; exit 1"

f vm delete "$vm" --wait --timeout 120 || e2e_fail "the VM is deleted"
echo "1..$e2e_n"
[ "$e2e_failed" -eq 0 ]

#!/usr/bin/env bash
# Live migration on three real KVM nodes, through finctl only, checked with
# virsh on each node: "finctl vm migrate" moves a running guest live (the
# target's last job is an incoming migration, its QEMU process there was
# started with -incoming, and the controller never audits it as stopped)
# and afterwards it runs on exactly one node; a migration to a node whose libvirtd is down fails,
# is reported, and leaves the guest running on its node; "finctl rebalance run" spreads guests that were packed
# onto two nodes with live migrations; "finctl host drain" empties a node,
# which then takes no new VM until "finctl host resume".
set -u
. "$(dirname "$0")/lib.sh"

e2e_fincloud_up 3 fcm 10.250.14

f() { e2e_finctl "$@" >/dev/null; }
# pick I: vm is the I-th VM, from the node it runs on, to the next node
pick() {
	vm=${ids[$1]}
	from=$(e2e_nodes_of "$vm")
	to=$((from % 3 + 1))
}
if f pool update default --cpu-ratio 4 --policy pack &&
	f flavor create tiny --vcpus 1 --mem-mib 64 --disk-gib 1 &&
	f tenant create loan; then
	e2e_ok "pool, flavor and tenant"
else
	e2e_fail "pool, flavor and tenant"
fi

# keep node 3 empty while the VMs are placed, so a rebalance has work
f host maintenance node3 on
ids=()
for i in 1 2 3 4; do
	if id=$(e2e_create loan tiny "loan-$i" --wait --timeout 120 2>/dev/null); then
		ids+=("$id")
	fi
done
f host maintenance node3 off
if [ ${#ids[@]} -eq 4 ] && out=$(e2e_placement_ok "${ids[@]}") && [ -z "$(e2e_fincloud_domains 3)" ]; then
	e2e_ok "4 VMs run where the controller says, none on node 3 (in maintenance meanwhile)"
else
	e2e_fail "4 VMs run where the controller says" "$out"
fi

# --- one migration through finctl
pick 0
if out=$(e2e_finctl vm migrate "$vm" --to "node$to" --wait --timeout 120 2>&1); then
	e2e_ok "finctl vm migrate --to node$to --wait"
else
	e2e_fail "finctl vm migrate --to node$to --wait" "$out"
fi
if down=$(e2e_arrived_live "$to" "$vm") && [ "$(e2e_nodes_of "$vm")" = "$to" ] &&
	[ "$(e2e_vm_field "$vm" host)" = "node$to" ]; then
	e2e_ok "the guest moved live from node $from to node $to (downtime $down) and runs there only"
else
	e2e_fail "the guest moved live from node $from to node $to and runs there only" \
		"virsh finds it on '$(e2e_nodes_of "$vm")', controller says '$(e2e_vm_field "$vm" host)'"
fi
# the node's QEMU log: the process that runs it there was started to
# receive the migration, and the controller never took it for stopped
stops=$(e2e_finctl -o json audit list --limit 1000 2>/dev/null |
	e2e_json "[a['action'] for a in (d if isinstance(d, list) else d.get('items', [])) if a['target'] == 'vm:$vm' and a['action'] == 'vm.state.stopped']")
if why=$(bash "$TESTBED" arrived --dir "$E2E_DIR/tb" "$to" "$vm" 2>&1) && [ "$stops" = "[]" ]; then
	e2e_ok "testbed.sh arrived: $why; no vm.state.stopped audited"
else
	e2e_fail "the guest's QEMU process on node $to was started to receive it, and it was never audited as stopped" \
		"arrived: $why" "vm.state.stopped entries: $stops"
fi
if out=$(e2e_placement_ok "${ids[@]}"); then
	e2e_ok "after the migration every VM runs on exactly one node, the one the controller names"
else
	e2e_fail "after the migration every VM runs on exactly one node" "$out"
fi

# --- a migration that fails leaves the guest running where it was
pick 1
bash "$TESTBED" libvirtd-stop "$to" --dir "$E2E_DIR/tb" >/dev/null 2>&1
if out=$(e2e_finctl vm migrate "$vm" --to "node$to" --wait --timeout 120 2>&1); then
	e2e_fail "a migration to a node whose libvirtd is down fails and says so" "$out"
else
	e2e_ok "a migration to a node whose libvirtd is down fails and says so: $(printf '%s' "$out" | grep -i -m1 -E 'fail|error|cannot' | cut -c1-90)"
fi
bash "$TESTBED" libvirtd-start "$to" --dir "$E2E_DIR/tb" >/dev/null 2>&1
if [ "$(e2e_nodes_of "$vm")" = "$from" ] && [ "$(e2e_dominfo "$from" "$vm" State)" = running ] &&
	[ "$(e2e_vm_field "$vm" host)" = "node$from" ] && [ "$(e2e_vm_field "$vm" state)" = running ]; then
	e2e_ok "after the failed migration the guest still runs on node $from only, as the controller says"
else
	e2e_fail "after the failed migration the guest still runs on node $from only" \
		"virsh: node(s) '$(e2e_nodes_of "$vm")'; controller: $(e2e_vm_field "$vm" host) $(e2e_vm_field "$vm" state)"
fi
# the node's agent finds its libvirt again
ok_hosts=0
for _ in $(seq 1 300); do
	ok_hosts=$(e2e_finctl -o json host list 2>/dev/null | e2e_json "sum(1 for h in d if h['state'] == 'up' and h['status'] == 'ok')" 2>/dev/null) || ok_hosts=0
	[ "${ok_hosts:-0}" -eq 3 ] && break
	sleep 0.2
done
if [ "${ok_hosts:-0}" -eq 3 ]; then
	e2e_ok "node $to's agent reports 'ok' again once its libvirtd is back"
else
	e2e_fail "node $to's agent reports 'ok' again once its libvirtd is back" \
		"$(e2e_finctl host show "node$to" 2>&1 | grep -E 'status|degraded')"
fi

# --- a rebalance run, as the scheduled job runs it: the command line of
# scripts/systemd/fincloud-rebalance.service, under its lock, with a move
# budget of 2
if ! e2e_has_cmd rebalance run; then
	e2e_ok "rebalance moves running guests live # SKIP finctl has no 'rebalance run' command yet"
else
	declare -A before
	for id in "${ids[@]}"; do before[$id]=$(e2e_nodes_of "$id"); done
	unit=$FC_TOP/scripts/systemd/fincloud-rebalance.service
	cmdline=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$unit" | sed 's/^ExecStart=//; s/\\$//' | tr '\n' ' ')
	cmdline=${cmdline//\/usr\/local\/bin\//$FC_BIN\/}
	cmdline=${cmdline//\/run\/fincloud-rebalance\/lock/$E2E_DIR\/rebalance.lock}
	cmdline=${cmdline//\$\{FINCLOUD_POOL\}/default}
	cmdline=${cmdline//\$\{FINCLOUD_MAX_MOVES\}/2}
	if out=$(timeout 300 bash -c "exec $cmdline" 2>&1); then
		e2e_ok "the scheduled rebalance command runs: finctl rebalance run --pool default --max-moves 2 under flock"
	else
		e2e_fail "the scheduled rebalance command runs" "command: $cmdline" "$out"
	fi
	moved=0 bad=()
	for id in "${ids[@]}"; do
		now=$(e2e_nodes_of "$id")
		[ "$now" = "${before[$id]}" ] && continue
		moved=$((moved + 1))
		e2e_arrived_live "$now" "$id" >/dev/null || bad+=("vm $id on node $now did not arrive by live migration")
	done
	[ "$moved" -ge 1 ] || bad+=("no VM moved although node 3 was empty")
	[ "$moved" -le 2 ] || bad+=("$moved VMs moved, more than the budget of 2")
	if [ ${#bad[@]} -eq 0 ] && out=$(e2e_placement_ok "${ids[@]}"); then
		e2e_ok "the rebalance moved $moved running guest(s) live within its budget; each VM runs on exactly one node"
	else
		e2e_fail "the rebalance moves running guests live within its budget; each VM runs on exactly one node" "${bad[@]}" "$out"
	fi
	if e2e_finctl -o json audit list 2>/dev/null | grep -qi 'rebalance'; then
		e2e_ok "the rebalance run is in the audit log"
	else
		e2e_fail "the rebalance run is in the audit log"
	fi
fi

# --- drain and resume
if ! e2e_has_cmd host drain; then
	e2e_ok "drain empties a node # SKIP finctl has no 'host drain' command yet"
else
	victim=$(e2e_nodes_of "${ids[1]}")
	if out=$(e2e_finctl host drain "node$victim" 2>&1); then
		e2e_ok "finctl host drain node$victim"
	else
		e2e_fail "finctl host drain node$victim" "$out"
	fi
	left=$(e2e_fincloud_domains "$victim")
	if [ -z "$left" ] && out=$(e2e_placement_ok "${ids[@]}"); then
		e2e_ok "node $victim is empty; every VM runs on exactly one other node"
	else
		e2e_fail "node $victim is empty; every VM runs on exactly one other node" "left: $left" "$out"
	fi
	if id=$(e2e_create loan tiny loan-after-drain --wait --timeout 120 2>/dev/null) &&
		[ "$(e2e_nodes_of "$id")" != "$victim" ]; then
		e2e_ok "a drained node takes no new VM"
	else
		e2e_fail "a drained node takes no new VM"
	fi
	if e2e_has_cmd host resume && out=$(e2e_finctl host resume "node$victim" 2>&1); then
		e2e_ok "finctl host resume node$victim"
	else
		e2e_fail "finctl host resume node$victim" "$out"
	fi
fi

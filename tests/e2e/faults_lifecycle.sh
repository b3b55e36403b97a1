#!/usr/bin/env bash
# Fault injection during a VM's lifecycle (issue 19), on one testbed of
# two real nodes: for "finctl vm delete", "vm stop" and "vm start", the
# VM's node's agent, its libvirtd or the controller is killed (SIGKILL)
# before the operation, during it (a stop waits for the guest's ACPI
# shutdown; a start or delete is met as early as it can be) or right
# after it took effect, then started again; after every case each VM runs
# on at most one node, the one the controller names, in the state asked
# for, no fincloud domain runs without a VM record (a deleted VM is gone
# from every node), every task has ended and the hosts' claims are what
# the nodes hold. FAULTS_SEED picks one point per (operation, victim)
# pair; FAULTS_ALL=1 runs all 27 cases (docs/testbed.md).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults_lib.bash"

faults_plan "delete stop start" "agent libvirtd controller" "before during after"
[ ${#faults_cases[@]} -gt 0 ] || e2e_skip "FAULTS_ONLY='$FAULTS_ONLY' matches no case"

e2e_fincloud_up 2 fcf 10.250.60
faults_setup spread
if life=$(e2e_create loan tiny life --wait --timeout 120 2>/dev/null) &&
	e2e_create loan tiny bystander --wait --timeout 120 >/dev/null 2>&1 && faults_settle; then
	e2e_ok "2 VMs run where the controller says; the invariants hold"
else
	e2e_fail "2 VMs run where the controller says" "${PROBLEMS:-}"
	exit 1
fi

ndel=0
# prepare OP: the VM the case works on into VM, in the state OP needs
# (delete: a new one; stop: running; start: stopped), its node into N
prepare() {
	case $1 in
	delete)
		ndel=$((ndel + 1))
		VM=$(e2e_create loan tiny "del-$ndel" --wait --timeout 120 2>/dev/null) || return 1
		;;
	stop)
		VM=$life
		[ "$(e2e_vm_field "$VM" desired_state)" = running ] || f vm start "$VM"
		e2e_wait_state "$VM" running 60 || return 1
		;;
	start)
		VM=$life
		[ "$(e2e_vm_field "$VM" desired_state)" = stopped ] || f vm stop "$VM"
		e2e_wait_state "$VM" stopped 60 || return 1
		;;
	esac
	N=$(e2e_vm_field "$VM" host)
	N=${N#node}
}

# done_yet OP: OP took effect on the node (the domain is gone, shut
# off, running)
done_yet() {
	case $1 in
	delete) [ -z "$(e2e_nodes_of "$VM")" ] ;;
	stop) [ "$(e2e_dominfo "$N" "$VM" State)" = "shut off" ] ;;
	start) [ "$(e2e_dominfo "$N" "$VM" State)" = running ] ;;
	esac
}

# what the node has of VM now, for the TAP line
dom_now() {
	local st
	st=$(e2e_dominfo "$N" "$VM" State 2>/dev/null)
	echo "${st:-no domain}"
}

run_case() {
	local c=$1 op victim point who i
	IFS=/ read -r op victim point <<<"$c"
	if ! prepare "$op"; then
		e2e_fail "$c: could not prepare the VM" "$(faults_problems)"
		return
	fi
	case $victim in
	agent) who=agent:$N ;;
	libvirtd) who=libvirtd:$N ;;
	controller) who=controller ;;
	esac
	case $point in
	before) faults_before "$who" vm "$op" "$VM" ;;
	during)
		faults_op vm "$op" "$VM"
		# a stop waits for an ACPI shutdown the guest never answers
		# (the testbed's stop timeout is 5 s): meet it in that wait
		if [ "$op" = stop ]; then sleep 1.5; else sleep 0.3; fi
		PHASE="during the operation (the node had: $(dom_now))"
		faults_kill_start "$who" 2
		;;
	after)
		faults_op vm "$op" "$VM"
		PHASE="after the operation, which did not take effect within 30 s"
		for ((i = 0; i < 300; i++)); do
			if done_yet "$op"; then
				PHASE="right after the operation took effect (the node had: $(dom_now))"
				break
			fi
			sleep 0.1
		done
		faults_kill_start "$who" 1
		;;
	esac
	faults_report "$c" "$op of $VM on node$N; $who killed at: $PHASE; $OUT"
}

for c in "${faults_cases[@]}"; do
	FAULTS_T0=$SECONDS
	run_case "$c"
done
faults_summary

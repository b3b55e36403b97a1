#!/usr/bin/env bash
# Fault injection during live migrations (issue 19), on one testbed of
# three real nodes: for "finctl vm migrate", "finctl rebalance run" and
# "finctl host drain", the source's agent, the target's agent, the
# source's libvirtd, the target's libvirtd or the controller is killed
# (SIGKILL) before the operation, during the disk copy, in the final
# phase (disk copied, memory pass) or right after libvirt finished it,
# then started again; after every case each VM runs on at most one node,
# the one the controller names, no fincloud domain runs without a VM
# record, every task has ended and the hosts' claims are what the nodes
# hold. Each TAP line names the phase the kill actually met (read from
# "virsh domjobinfo"). FAULTS_SEED picks one point per (operation,
# victim) pair; FAULTS_ALL=1 runs all 60 cases (docs/testbed.md).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults_lib.bash"

faults_plan "migrate rebalance drain" \
	"src-agent dst-agent src-libvirtd dst-libvirtd controller" \
	"before copy final after"
[ ${#faults_cases[@]} -gt 0 ] || e2e_skip "FAULTS_ONLY='$FAULTS_ONLY' matches no case"

e2e_fincloud_up 3 fcv 10.250.90
faults_setup spread
ids=()
for i in 1 2 3 4; do
	id=$(e2e_create loan tiny "mv-$i" --wait --timeout 120 2>/dev/null) && ids+=("$id")
done
if [ ${#ids[@]} -eq 4 ] && faults_settle; then
	e2e_ok "4 VMs run where the controller says; the invariants hold"
else
	e2e_fail "4 VMs run where the controller says" "${PROBLEMS:-}"
	exit 1
fi

# VMs on node N, one id a line
vms_on() {
	local id
	for id in "${ids[@]}"; do
		[ "$(e2e_nodes_of "$id")" = "$1" ] && echo "$id"
	done
}

turn=0
# pick OP: the VM, source and target nodes of OP's first move into VM,
# SRC and DST, and its command into CMD; also HOLD: a node kept in
# maintenance for the case (drain: so that its target is known)
pick() {
	local plan pol n best=0 cnt min=99
	HOLD=''
	case $1 in
	migrate)
		VM=${ids[turn % ${#ids[@]}]}
		turn=$((turn + 1))
		SRC=$(e2e_nodes_of "$VM")
		DST=$((SRC % 3 + 1))
		CMD=(vm migrate "$VM" --to "node$DST")
		;;
	rebalance)
		for pol in spread pack; do
			plan=$(e2e_finctl -o json rebalance plan --pool default --policy "$pol" --max-moves 1 2>/dev/null |
				e2e_json "' '.join([d['moves'][0]['vm'], d['moves'][0]['source'][4:], d['moves'][0]['target'][4:]]) if d['moves'] else ''")
			[ -n "$plan" ] && break
		done
		[ -n "$plan" ] || return 1
		read -r VM SRC DST <<<"$plan"
		CMD=(rebalance run --pool default --policy "$pol" --max-moves 1 --no-wait)
		;;
	drain)
		for n in 1 2 3; do
			cnt=$(vms_on "$n" | wc -l)
			if [ "$cnt" -ge 1 ] && [ "$cnt" -lt "$min" ]; then
				min=$cnt
				best=$n
			fi
		done
		SRC=$best
		DST=$((SRC % 3 + 1))
		HOLD=$((DST % 3 + 1))
		VM=$(vms_on "$SRC" | head -1)
		CMD=(host drain "node$SRC" --no-wait)
		;;
	esac
	[ -n "$VM" ] && [ -n "$SRC" ]
}

# one case: OP/VICTIM/POINT
run_case() {
	local c=$1 op victim point who what id mv
	IFS=/ read -r op victim point <<<"$c"
	if ! pick "$op"; then
		e2e_fail "$c: no move to make (the rebalance plans nothing)"
		return
	fi
	[ -z "$HOLD" ] || f host maintenance "node$HOLD" on
	case $victim in
	src-agent) who=agent:$SRC ;;
	dst-agent) who=agent:$DST ;;
	src-libvirtd) who=libvirtd:$SRC ;;
	dst-libvirtd) who=libvirtd:$DST ;;
	controller) who=controller ;;
	esac
	if [ "$point" = copy ] || [ "$point" = final ]; then
		for id in $(vms_on "$SRC"); do throttle "$SRC" "$id" "$FAULTS_COPY_MIBS"; done
	fi
	mark_tasks
	case $point in
	before) faults_before "$who" "${CMD[@]}" ;;
	copy | final)
		# a drain or rebalance may start with another VM than planned
		faults_op "${CMD[@]}" && mv=$(first_move "") && read -r VM _ _ <<<"$mv"
		wait_phase "$SRC" "$VM" "$point" || true
		faults_victim kill "$who"
		case $who in
		libvirtd:*) sleep 2 ;;
		controller) sleep 2 ;;
		*) # libvirt goes on without the agent: it comes back to a
			# migration that ended while it was away
			unthrottle
			wait_moved "$VM" "$SRC" "$DST" >/dev/null || sleep 2
			;;
		esac
		faults_victim start "$who"
		unthrottle
		;;
	after)
		PHASE="after the operation, which did not move the VM"
		if faults_op "${CMD[@]}" && wait_moved "$VM" "$SRC" "$DST"; then
			PHASE="right after libvirt finished (task $(e2e_finctl -o json task list --limit 1000 2>/dev/null |
				e2e_json "[t['state'] for t in d if t['type'] == 'migrate' and t['vm_id'] == '$VM'][-1]" 2>/dev/null))"
		fi
		faults_kill_start "$who" 1
		;;
	esac
	what="$op of $VM node$SRC -> node$DST; $who killed"
	faults_report "$c" "$what at: $PHASE; $OUT"
	# a drained host takes VMs again, the held one too
	if [ "$op" = drain ]; then
		f host resume "node$SRC"
		f host maintenance "node$HOLD" off
	fi
	# every VM migrates at full speed in the next case
	unthrottle
}

for c in "${faults_cases[@]}"; do
	FAULTS_T0=$SECONDS
	run_case "$c"
done
faults_summary

#!/usr/bin/env bash
# scripts/bench-e2e.sh BUILD_DIR: fincloud against raw virsh on a real
# 3-node KVM testbed, in one run.
#
#  1. provisioning: 30 guests (1 vCPU, 64 MiB, 1 GiB qcow2) created with
#     "finctl vm create" (one after the other, no --wait) until virsh on
#     the nodes shows all 30 running, against the same guests (the XML the
#     agent defined, renamed) created by raw virsh from the host, per node
#     one stream of vol-create-as + define + start, the three nodes in
#     parallel with the same number of guests each as fincloud placed there.
#     Target: ratio <= 1.3.
#  2. one live migration (with its local disk), "finctl vm migrate --to
#     HOST --wait" against "virsh migrate --live --p2p --persistent
#     --undefinesource --copy-storage-all", median of 3 each.
#     Target: ratio <= 1.2.
#
# Exits 77 (with a SKIP line) where the testbed cannot run, 1 when a
# measurement failed, else 0 (a missed target is reported, not an error).
set -u
build=${1:?usage: scripts/bench-e2e.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$top/$build ;; esac
export FC_TOP=$top FC_BUILD=$build FC_BIN=$build/bin
export E2E_NO_LOG_TAILS=1
# shellcheck source=../tests/e2e/lib.sh
. "$top/tests/e2e/lib.sh"

N=${FC_BENCH_GUESTS:-30}
REPS=3
e2e_require_testbed
e2e_require_fincloud
e2e_testbed_up 3 fcb 10.250.12 >/dev/null || {
	cat "$E2E_DIR/up.log"
	exit 1
}
echo "# testbed: 3 nodes up ($E2E_VIRT), $N guests per side"

# shellcheck source=bench-virsh.bash
. "$top/scripts/bench-virsh.bash"
fail=0

e2e_finctl pool update default --cpu-ratio 16 --policy spread >/dev/null &&
	e2e_finctl flavor create tiny --vcpus 1 --mem-mib 64 --disk-gib 1 >/dev/null &&
	e2e_finctl tenant create bench >/dev/null || {
	echo "bench: setting up pool, flavor and tenant failed"
	exit 1
}

# ---------------------------------------------------------- provisioning
t0=$(now)
ok=1
for i in $(seq 1 "$N"); do
	e2e_finctl vm create --tenant bench --flavor tiny --name "b$i" >/dev/null 2>"$E2E_DIR/create.err" || {
		ok=0
		echo "bench: finctl vm create b$i failed: $(cat "$E2E_DIR/create.err")"
		break
	}
done
if [ "$ok" -eq 1 ] && wait_running '^bench\.b' "$N"; then
	t_fc=$(elapsed "$t0" "$(now)")
else
	t_fc=''
	fail=1
	echo "bench: the $N fincloud guests did not all run within 150 s"
fi
declare -a per_node
for n in 1 2 3; do per_node[n]=$(running_on "$n" '^bench\.b'); done
echo "# fincloud placed ${per_node[1]} / ${per_node[2]} / ${per_node[3]} guests on nodes 1 / 2 / 3"

# the agent's own domain XML, renamed, is the raw baseline's guest
tmpl=$E2E_DIR/template.xml
first=$(e2e_virsh 1 list --name | grep '^bench\.b' | head -1)
[ -n "$first" ] || first=$(e2e_virsh 2 list --name | grep '^bench\.b' | head -1)
src=1
e2e_virsh 1 dominfo "$first" >/dev/null 2>&1 || src=2
e2e_virsh "$src" dumpxml --inactive "$first" >"$tmpl" 2>/dev/null
# the raw run starts on nodes as empty as fincloud's did
bench_delete_tenant bench '^bench\.b' || fail=1

# the agent's storage pool: the one over its storage_dir
pooldir=/var/lib/fincloud/disks
bench_agent_pools "$pooldir"
raw_stream() { # node count
	local n=$1 c=$2 j name
	for ((j = 1; j <= c; j++)); do
		name=raw-$n-$j
		bench_raw_xml "$tmpl" "$name" "$pooldir/$name.qcow2" >"$E2E_DIR/$name.xml"
		e2e_virsh "$n" vol-create-as "${pool_of[n]:-fincloud}" "$name.qcow2" 1G --format qcow2 >/dev/null &&
			e2e_virsh "$n" define "$E2E_DIR/$name.xml" >/dev/null &&
			e2e_virsh "$n" start "$name" >/dev/null || return 1
	done
}
t_raw=''
if [ -s "$tmpl" ]; then
	t0=$(now)
	pids=()
	for n in 1 2 3; do
		raw_stream "$n" "${per_node[n]}" &
		pids+=($!)
	done
	ok=1
	for p in "${pids[@]}"; do wait "$p" || ok=0; done
	total=$((per_node[1] + per_node[2] + per_node[3]))
	if [ "$ok" -eq 1 ] && wait_running '^raw-' "$total"; then
		t_raw=$(elapsed "$t0" "$(now)")
	else
		fail=1
		echo "bench: raw virsh provisioning failed"
	fi
else
	fail=1
	echo "bench: no fincloud domain to take the XML template from"
fi

# only raw-1-1 stays for the migration runs, next to one fincloud guest
for n in 1 2 3; do
	for d in $(e2e_virsh "$n" list --all --name 2>/dev/null | grep '^raw-' | grep -vx raw-1-1); do
		e2e_virsh "$n" destroy "$d" >/dev/null 2>&1
		e2e_virsh "$n" undefine --remove-all-storage "$d" >/dev/null 2>&1
	done &
done
wait
vm_id=$(e2e_create bench tiny b1 --wait --timeout 120 2>/dev/null) || {
	vm_id=''
	echo "bench: creating the fincloud guest to migrate failed"
	fail=1
}

# --------------------------------------------------------------- migration
node_of_name() { # domain name -> node
	local n
	for n in 1 2 3; do
		e2e_virsh "$n" dominfo "$1" >/dev/null 2>&1 && {
			echo "$n"
			return 0
		}
	done
	return 1
}
fc_mig=()
for _ in $(seq 1 $REPS); do
	[ -n "$vm_id" ] || break
	from=$(node_of_name bench.b1) || break
	to=$((from % 3 + 1))
	t0=$(now)
	if out=$(e2e_finctl vm migrate "$vm_id" --to "node$to" --wait --timeout 120 2>&1) &&
		[ "$(node_of_name bench.b1)" = "$to" ]; then
		fc_mig+=("$(elapsed "$t0" "$(now)")")
	else
		echo "bench: finctl vm migrate failed: $(printf '%s' "$out" | tail -n 2)"
		fail=1
		break
	fi
done
raw_mig=()
for _ in $(seq 1 $REPS); do
	from=$(node_of_name raw-1-1) || break
	to=$((from % 3 + 1))
	ip=$E2E_SUBNET.$((to + 1))
	t0=$(now)
	# shellcheck disable=SC2046 # --tls or nothing
	if e2e_virsh "$from" migrate --live --p2p --persistent --undefinesource --copy-storage-all \
		$(e2e_mig_tls) raw-1-1 "$(e2e_peer_uri "$to")" "tcp://$ip" >/dev/null 2>"$E2E_DIR/mig.err" &&
		[ "$(node_of_name raw-1-1)" = "$to" ]; then
		raw_mig+=("$(elapsed "$t0" "$(now)")")
		# the source keeps the disk; drop it so a later move back starts clean
		e2e_virsh "$from" vol-delete --pool "${pool_of[from]:-fincloud}" raw-1-1.qcow2 >/dev/null 2>&1
	else
		echo "bench: raw virsh migrate failed: $(cat "$E2E_DIR/mig.err")"
		fail=1
		break
	fi
done

# ------------------------------------------------------------------ report
m_fc=''
m_raw=''
[ ${#fc_mig[@]} -eq $REPS ] && m_fc=$(median "${fc_mig[@]}")
[ ${#raw_mig[@]} -eq $REPS ] && m_raw=$(median "${raw_mig[@]}")
r1=$(ratio "$t_fc" "$t_raw")
r2=$(ratio "$m_fc" "$m_raw")
echo
printf '%-40s %10s %10s %7s %8s  %s\n' "benchmark (seconds)" fincloud "raw virsh" ratio target verdict
printf '%-40s %10s %10s %7s %8s  %s\n' "provision $N guests on 3 nodes" "${t_fc:--}" "${t_raw:--}" "$r1" "<= 1.3" "$(verdict "$r1" 1.3)"
printf '%-40s %10s %10s %7s %8s  %s\n' "live migration with disk (median of $REPS)" "${m_fc:--}" "${m_raw:--}" "$r2" "<= 1.2" "$(verdict "$r2" 1.2)"
echo "# migration runs: fincloud ${fc_mig[*]:-none}; raw ${raw_mig[*]:-none}"
exit "$fail"

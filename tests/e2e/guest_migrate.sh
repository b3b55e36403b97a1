#!/usr/bin/env bash
# Live migration of a guest that works, proven from the guest itself. Two
# testbed nodes; each agent reports the hypervisor type it chose and why.
# A VM created through finctl gets the test image as its disk
# (scripts/build-image.sh, docs/images.md) and a NoCloud seed whose
# user-data keeps rewriting ~100 MiB of tmpfs. With the source node's
# link limited:
#   - a migration with a time limit too short for it is aborted, and the
#     guest keeps running on the source;
#   - a migration with auto-converge (the agent's default) completes;
#   - a migration back in post-copy completes;
# and after each, the guest's own serial console shows its liveness tick
# counting on from where it was, with the boot id it booted with.
set -u
. "$(dirname "$0")/lib.sh"

e2e_require_testbed
e2e_require_fincloud
command -v genisoimage >/dev/null || e2e_skip "genisoimage is not installed (scripts/deps.sh)"
bash "$FC_TOP/scripts/deps.sh" --print >/dev/null ||
	e2e_skip "missing: $(bash "$FC_TOP/scripts/deps.sh" --print) (scripts/deps.sh as root)"

# the link of the source node: enough for the guest's memory, not for
# the rate at which it rewrites it; the post-copy leg goes slower still,
# so that its first pass leaves pages to copy however little CPU the
# guest gets on a loaded machine (and the agent switches to post-copy)
RATE=${FCI_RATE:-400mbit}
RATE_PC=${FCI_RATE_POSTCOPY:-100mbit}
# how long a guest under TCG on a busy machine may take to print its
# next line (a wait, not a measure: it ends as soon as the line is there)
LINE_WAIT=${FCI_LINE_WAIT:-90}

e2e_testbed_up 2 fci 10.250.140 || exit 1
e2e_ok "testbed up 2 with controller and agents"

# --- the hypervisor type each node chose, and why
if [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then
	want_type=kvm
else
	want_type=qemu
fi
hosts=$(e2e_finctl -o json host list)
types=$(printf '%s' "$hosts" | e2e_json "' '.join(h['virt_type'] for h in d)")
reasons=$(printf '%s' "$hosts" | e2e_json "' | '.join(h['virt_type_reason'] for h in d)")
if [ "$types" = "$want_type $want_type" ] && [ -n "$reasons" ] &&
	{ [ ! -e /dev/kvm ] || [ ! -d /sys/module/kvm_pvm ] || [[ $reasons == *kvm_pvm* ]]; }; then
	e2e_ok "both agents report virt_type $want_type: $reasons"
else
	e2e_fail "both agents report virt_type $want_type with the reason" "types '$types'" "reasons '$reasons'"
fi

# --- the image, the seed with the workload
img=$E2E_DIR/fincloud-test.qcow2
if ! out=$(bash "$FC_TOP/scripts/build-image.sh" "$img" 2>&1); then
	e2e_fail "build-image.sh builds the test image" "$out"
	exit 1
fi
mkdir -p "$E2E_DIR/seed"
cat >"$E2E_DIR/seed/meta-data" <<'EOF'
instance-id: fci-churn-1
local-hostname: fci-churn
EOF
cat >"$E2E_DIR/seed/user-data" <<'EOF'
#!/bin/sh
# rewrite ~100 MiB of tmpfs with data that is not zero, for ever
mkdir -p /mnt/churn
mount -t tmpfs -o size=110m tmpfs /mnt/churn
dd if=/dev/urandom of=/mnt/churn/block bs=1M count=4 2>/dev/null
echo "fincloud-workload started"
r=0
while :; do
	k=0
	while [ $k -lt 25 ]; do
		dd if=/mnt/churn/block of=/mnt/churn/data bs=4M seek=$k count=1 conv=notrunc 2>/dev/null
		k=$((k + 1))
	done
	r=$((r + 1))
	[ $((r % 5)) -ne 0 ] || echo "fincloud-workload round $r"
done
EOF
genisoimage -quiet -output "$E2E_DIR/seed.iso" -volid cidata -joliet -rock "$E2E_DIR/seed"/* ||
	{ e2e_fail "genisoimage writes the seed"; exit 1; }
# the seed is read-only: it is not copied by a migration, so every node
# holds it at the same path
seed_in_node=/var/lib/fincloud/images/fci-seed.iso
for i in 1 2; do
	cp "$E2E_DIR/seed.iso" "$E2E_DIR/tb/node$i/root$seed_in_node"
done

if e2e_finctl flavor create churn --vcpus 1 --mem-mib 256 --disk-gib 1 >/dev/null &&
	e2e_finctl tenant create loan >/dev/null &&
	id=$(e2e_create loan churn fci-churn --wait --timeout 120 2>/dev/null); then
	e2e_ok "finctl vm create --wait (flavor 1 vCPU, 256 MiB)"
else
	e2e_fail "finctl vm create --wait"
	exit 1
fi
src=$(e2e_nodes_of "$id")
disk() { echo "$E2E_DIR/tb/node$1/root/var/lib/fincloud/disks/$id.qcow2"; }
clog() { echo "$E2E_DIR/tb/node$1/root/var/lib/fincloud/disks/$id.console.log"; }

# The agent's disk of the VM becomes the test image (the catalogue
# does this with an overlay; here the file is replaced while the VM is
# stopped), and the seed is attached as a CD-ROM.
if e2e_finctl vm stop "$id" --wait --timeout 60 >/dev/null &&
	qemu-img convert -O qcow2 "$img" "$(disk "$src")" &&
	qemu-img resize -q "$(disk "$src")" 1G &&
	e2e_virsh "$src" attach-disk "$id" "$seed_in_node" hdc --type cdrom --mode readonly --config >/dev/null &&
	: >"$(clog "$src")" &&
	e2e_finctl vm start "$id" --wait --timeout 60 >/dev/null; then
	e2e_ok "the VM's disk holds the test image, its seed is attached, it is started"
else
	e2e_fail "the VM's disk holds the test image and it starts" "$(e2e_virsh "$src" dumpxml "$id" 2>&1 | tail -n 5)"
	exit 1
fi

# wait_log NODE REGEX SECONDS: the guest's console log on NODE matches
wait_log() {
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do
		grep -aqE "$2" "$(clog "$1")" 2>/dev/null && return 0
		sleep 0.5
	done
	return 1
}
# last_tick NODE: "N BOOT_ID" of the newest tick in NODE's console log
last_tick() {
	tr -d '\r' <"$(clog "$1")" | sed -n 's/.*fincloud-tick \([0-9]*\) boot_id=\([0-9a-f-]*\).*/\1 \2/p' | tail -n 1
}
# first_tick NODE: the oldest tick
first_tick() {
	tr -d '\r' <"$(clog "$1")" | sed -n 's/.*fincloud-tick \([0-9]*\) boot_id=\([0-9a-f-]*\).*/\1 \2/p' | head -n 1
}

# tick_past NODE N: wait up to LINE_WAIT s for a tick past N on NODE;
# prints the newest tick ("N BOOT_ID", maybe empty)
tick_past() {
	local end=$((SECONDS + LINE_WAIT)) now
	while :; do
		now=$(last_tick "$1" 2>/dev/null)
		if { [ -n "$now" ] && [ "${now%% *}" -gt "$2" ]; } || [ $SECONDS -ge $end ]; then
			echo "$now"
			return
		fi
		sleep 0.5
	done
}
# guest_state NODE: what a failure report needs to tell a stuck guest
# from a slow one: its state, CPU time 5 s apart, the console's tail
guest_state() {
	local c1 c2
	c1=$(e2e_virsh "$1" domstats --cpu-total "$id" 2>/dev/null | awk -F= '/cpu.time/ { print $2 }')
	sleep 5
	c2=$(e2e_virsh "$1" domstats --cpu-total "$id" 2>/dev/null | awk -F= '/cpu.time/ { print $2 }')
	echo "state on node $1: '$(e2e_dominfo "$1" "$id" State)', CPU time ${c1:-?} then ${c2:-?} ns 5 s later, load: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "console tail on node $1:"
	tail -n 8 "$(clog "$1")" 2>/dev/null | tr -d '\r'
}

# ticks_went_on NODE "N BOOT_ID" WHERE: the newest tick on NODE goes
# past N, with the boot id the guest booted with
ticks_went_on() {
	local now
	now=$(tick_past "$1" "${2%% *}")
	if [ "${now#* }" = "$boot_id" ] && [ "${now%% *}" -gt "${2%% *}" ]; then
		e2e_ok "$3 the tick went on from ${2%% *} to ${now%% *}, boot id unchanged"
	else
		e2e_fail "$3 the tick goes on with the same boot id" "before '$2'" "now '$now'" "$(guest_state "$1")"
	fi
}

t0=$SECONDS
if wait_log "$src" "^fincloud-ready hostname=fci-churn " 120 && wait_log "$src" "fincloud-workload round 5" 120; then
	ready=$(grep -a '^fincloud-ready' "$(clog "$src")" | tr -d '\r')
	boot_id=${ready##*boot_id=}
	e2e_ok "the guest is ready and its workload runs after $((SECONDS - t0)) s: $ready"
else
	e2e_fail "the guest is ready and its workload runs" "$(tail -n 5 "$(clog "$src")")"
	exit 1
fi

# limit the source node's link (its side of the veth, egress)
dst=$((3 - src))
lim_ns=${E2E_PREFIX}$src lim_dev=${E2E_PREFIX}n$src
limit() { # NODE: only that node's egress is limited
	ip netns exec "${E2E_PREFIX}$1" tc qdisc replace dev "${E2E_PREFIX}n$1" root tbf rate "$RATE" burst 256kb latency 200ms
}
unlimit() {
	ip netns exec "${E2E_PREFIX}$1" tc qdisc del dev "${E2E_PREFIX}n$1" root 2>/dev/null || true
}
if limit "$src"; then
	e2e_ok "node $src's link limited to $RATE ($lim_ns/$lim_dev)"
else
	e2e_fail "tc limits node $src's link"
fi

# --- 1. a time limit too short: aborted, the guest stays
before=$(last_tick "$src")
t0=$SECONDS
out=$(e2e_finctl vm migrate "$id" --to "node$dst" --max-seconds 3 --wait --timeout 120 2>&1)
rc=$?
if [ $rc -ne 0 ] && [[ $out == *"aborted at its time limit of 3 s"* ]] &&
	[ "$(e2e_nodes_of "$id")" = "$src" ] && [ "$(e2e_dominfo "$src" "$id" State)" = running ]; then
	e2e_ok "a migration with --max-seconds 3 is aborted after $((SECONDS - t0)) s, the guest still runs on node $src"
else
	e2e_fail "a migration past its time limit is aborted and the guest stays" "rc $rc" "$out" "on node(s) '$(e2e_nodes_of "$id")'"
fi
ticks_went_on "$src" "$before" "after the aborted migration, on node $src"

# --- 2. auto-converge: the migration completes on the limited link
before=$(last_tick "$src")
t0=$SECONDS
if out=$(e2e_finctl vm migrate "$id" --to "node$dst" --max-seconds 240 --wait --timeout 300 2>&1) &&
	[ "$(e2e_nodes_of "$id")" = "$dst" ]; then
	took=$((SECONDS - t0))
	down=$(e2e_arrived_live "$dst" "$id") || down=unknown
	e2e_ok "with auto-converge the working guest moved to node $dst in $took s on $RATE (downtime $down)"
else
	e2e_fail "with auto-converge the working guest moves to node $dst" "$out" "on node(s) '$(e2e_nodes_of "$id")'"
	exit 1
fi
wait_log "$dst" "fincloud-tick [0-9]+ boot_id=" "$LINE_WAIT"
first=$(first_tick "$dst")
last=$(tick_past "$dst" "${first%% *}")
if [ "${first#* }" = "$boot_id" ] && [ "${last#* }" = "$boot_id" ] &&
	[ "${first%% *}" -ge "${before%% *}" ] && [ "${last%% *}" -gt "${first%% *}" ] &&
	! grep -aq '^fincloud-ready' "$(clog "$dst")"; then
	e2e_ok "on node $dst the tick counts on from ${first%% *} (last on node $src: ${before%% *}) to ${last%% *}, same boot id, no new boot"
else
	e2e_fail "the tick continues on node $dst with the same boot id" "last on $src: '$before'" "first on $dst: '$first'" "last on $dst: '$last'" "$(guest_state "$dst")"
fi
if wait_log "$dst" "fincloud-workload round" "$LINE_WAIT"; then
	e2e_ok "the workload keeps running on node $dst"
else
	e2e_fail "the workload keeps running on node $dst" "$(guest_state "$dst")"
fi

# --- 3. back in post-copy
unlimit "$src"
RATE=$RATE_PC limit "$dst"
before=$(last_tick "$dst")
t0=$SECONDS
if out=$(e2e_finctl vm migrate "$id" --to "node$src" --postcopy yes --max-seconds 240 --wait --timeout 300 2>&1) &&
	[ "$(e2e_nodes_of "$id")" = "$src" ]; then
	e2e_ok "in post-copy the guest moved back to node $src in $((SECONDS - t0)) s on $RATE_PC"
	ticks_went_on "$src" "$before" "after the post-copy migration, back on node $src"
	if grep -q "switched to post-copy" "$E2E_DIR/tb/node$dst/agent.log"; then
		e2e_ok "the agent switched to post-copy after the first pass"
	else
		e2e_fail "the agent logged its switch to post-copy" "$(grep -a migrat "$E2E_DIR/tb/node$dst/agent.log" | tail -n 3)"
	fi
else
	e2e_fail "in post-copy the guest moves back to node $src" "$out" "on node(s) '$(e2e_nodes_of "$id")'"
fi
unlimit "$dst"

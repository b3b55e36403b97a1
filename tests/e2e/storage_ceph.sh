#!/usr/bin/env bash
# VMs on replicated storage (docs/operations.md "Replicated storage on
# Ceph") on a 3-node testbed with a real Ceph cluster (testbed.sh up
# --ceph: a monitor, an OSD per node, cephx keys per node): a ceph
# storage pool with the nodes' own cephx users ("fincloud-{node}"); a VM
# of the test image boots from an RBD clone of the image, imported into
# the pool once; its user-data writes a marker on its disk, bypassing
# the guest's cache; it live-migrates to another node with no disk data
# copied (the migration job's figures) and its counter goes on with the
# same boot id; the marker is on the RBD disk after the move (read by
# qemu-io through librbd, not through the guest); the group's storage
# availability is the pool's; deleting the VM removes its clone and
# keeps the image.
set -u
. "$(dirname "$0")/lib.sh"

e2e_require_testbed
e2e_require_fincloud
for p in ceph-mon ceph-osd rbd qemu-io genisoimage; do
	command -v "$p" >/dev/null 2>&1 || e2e_skip "'$p' is missing (scripts/deps.sh)"
done
work=$(mktemp -d "${TMPDIR:-/tmp}/fc-e2e-ceph.XXXXXX")
trap 'rm -rf "$work"' EXIT
img=$work/fincloud-test.qcow2
e2e_test_image "$img"
opts=(--ceph)
if [ -e /sys/module/kvm_pvm ] || [ "$E2E_VIRT" = qemu ]; then
	opts+=(--no-kvm)
fi
t0=$(date +%s)
e2e_testbed_up 3 fcs 10.250.20 "${opts[@]}" || exit 1
trap 'rm -rf "$work"; e2e_cleanup' EXIT
ceph_dir=$FC_TESTBED_CEPH
e2e_ok "testbed up 3 ${opts[*]} in $(($(date +%s) - t0)) s ($(grep -o 'up in [0-9.]* s' "$E2E_DIR/up.log" | head -n 1) for Ceph)"
admin() { bash "$FC_TOP/scripts/ceph-testbed.sh" admin --dir "$ceph_dir" "$@"; }
mem=$(ps -o rss= -p "$(awk '{print $2}' "$ceph_dir/pids" | paste -sd,)" | awk '{ s += $1 } END { printf "%.0f", s / 1024 }')
e2e_ok "the Ceph daemons ($(wc -l <"$ceph_dir/pids")) hold ${mem} MiB resident"
mon=$(. "$ceph_dir/cluster.env" && echo "$mon_host")
disks() { echo "$E2E_DIR/tb/node$1/root/var/lib/fincloud/disks"; }

# --- the storage pool, a flavor on it, the image --------------------------------
if e2e_finctl storage create rbd --type ceph --ceph-pool fincloud --monitors "$mon" \
	--client 'fincloud-{node}' --replicas 3 --replica-hosts node1,node2,node3 >/dev/null &&
	e2e_finctl tenant create pay >/dev/null &&
	e2e_finctl flavor create rbd-tiny --vcpus 1 --mem-mib 128 --disk-gib 1 --requires-image yes \
		--storage rbd >/dev/null &&
	e2e_finctl group create settle --tenant pay --availability 0.99 >/dev/null &&
	e2e_finctl image create --name fincloud-test --file "$img" --os-type linux --min-mem-mib 96 >/dev/null; then
	e2e_ok "a ceph storage pool (per-node cephx users), a flavor on it and the test image"
else
	e2e_fail "the ceph storage pool, flavor and image are created"
	exit 1
fi
sha=$(sha256sum "$img" | cut -d' ' -f1)

# --- a VM boots from an RBD clone ----------------------------------------------
marker="fincloud-marker-$RANDOM$RANDOM"
# 1000000 sectors in: past the image's bytes, inside the 1 GiB clone;
# written and read back with O_DIRECT so that the guest's cache answers
# nothing
printf '#!/bin/sh\nprintf "%%-512s" %s | dd of=/dev/vda bs=512 seek=1000000 oflag=direct conv=fsync 2>/dev/null\nsync\necho "marker-readback $(dd if=/dev/vda bs=512 skip=1000000 count=1 iflag=direct 2>/dev/null | tr -d " ")"\n' \
	"$marker" >"$work/ud.sh"
t0=$(date +%s.%N)
if id=$(e2e_create pay rbd-tiny r1 --image fincloud-test --group settle --user-data "$work/ud.sh" \
	--wait --timeout 300); then
	e2e_ok "finctl vm create on the ceph flavor --wait: the VM runs ($(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s)"
else
	e2e_fail "a VM on the ceph flavor runs"
	exit 1
fi
from=$(e2e_nodes_of "$id")
log=$(disks "$from")/$id.console.log
xml=$(e2e_virsh "$from" dumpxml "$id" 2>/dev/null)
if grep -q "protocol='rbd' name='fincloud/fincloud-vm-$id'" <<<"$xml" &&
	grep -q "username='fincloud-node$from'" <<<"$xml" &&
	! grep -q "source file=.*$id.qcow2" <<<"$xml" && [ ! -e "$(disks "$from")/$id.qcow2" ]; then
	e2e_ok "its disk is the RBD image fincloud/fincloud-vm-$id, opened as client.fincloud-node$from; no local disk file"
else
	e2e_fail "its disk is an RBD network disk" "$(grep -A8 '<disk' <<<"$xml" | head -n 12)"
fi
parent=$(admin rbd info --format json "fincloud/fincloud-vm-$id" 2>/dev/null | e2e_json "d['parent']['image'] + '@' + d['parent']['snapshot'] + ' ' + str(d['size'])")
if [ "$parent" = "fincloud-img-$sha@base 1073741824" ]; then
	e2e_ok "the clone's parent is the image's protected snapshot, grown to 1 GiB"
else
	e2e_fail "the clone's parent is fincloud-img-SHA@base" "'$parent'"
fi
imp=$(grep -ho "imported into rbd pool 'fincloud' as 'fincloud-img-$sha' in [0-9.]* s" "$E2E_DIR"/tb/node*/agent.log | head -n 1)
if [ -n "$imp" ]; then
	e2e_ok "the image was imported into the pool once: ${imp##* in }"
else
	e2e_fail "the agent logged the image's import"
fi
if e2e_wait_line "$log" '^fincloud-ready hostname=r1 ' 240 && e2e_wait_line "$log" "^marker-readback $marker" 120; then
	boot_id=$(grep -aE '^fincloud-ready ' "$log" | head -n 1 | sed -n 's/.*boot_id=\([0-9a-f-]*\).*/\1/p')
	e2e_ok "the guest booted from the clone and wrote its marker on its disk (read back with O_DIRECT)"
else
	e2e_fail "the guest boots and writes its marker" "$(tail -n 5 "$log" 2>/dev/null | tr -d '\r')"
fi
avail=$(e2e_finctl -o json group show settle | e2e_json "'%.6f %.6f' % (d['storage_availability'], d['achieved_availability'])")
want=$(e2e_finctl -o json storage show rbd | e2e_json "'%.6f' % d['availability']")
if [ "${avail%% *}" = "$want" ]; then
	e2e_ok "the group's storage availability is the pool's ($want over 3 replica hosts; hosts: ${avail##* })"
else
	e2e_fail "the group's storage availability is the pool's" "group '$avail' pool '$want'"
fi

# --- live migration copies no disk -----------------------------------------------
to=$((from % 3 + 1))
e2e_wait_line "$log" '^fincloud-tick [0-9]+ boot_id=' 30
last=$(grep -aoE '^fincloud-tick [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
t0=$(date +%s.%N)
# the target's figures of the incoming job, kept for e2e_arrived_live
# (a plain --completed read discards them)
if out=$(e2e_finctl vm migrate "$id" --to "node$to" --wait --timeout 300 2>&1) &&
	job=$(e2e_virsh "$to" domjobinfo "$id" --completed --keep-completed 2>/dev/null) &&
	down=$(e2e_arrived_live "$to" "$id") && [ "$(e2e_nodes_of "$id")" = "$to" ]; then
	secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	e2e_ok "the VM moved live to node $to in $secs s (downtime $down)"
else
	e2e_fail "the VM moves live to node $to" "$out" "on node(s) '$(e2e_nodes_of "$id")'"
fi
disk_bytes=$(awk -F': *' '/^Disk (processed|total|remaining)/ { gsub(/ .*/, "", $2); s += $2 } END { print s + 0 }' <<<"$job")
mem_bytes=$(awk -F': *' '$1 == "Memory processed" { print $2 }' <<<"$job")
flags_ok=0
grep -q "migrating live to .*shared RBD disk, not copied" "$E2E_DIR/tb/node$from/agent.log" && flags_ok=1
if [ "$disk_bytes" = 0 ] && [ "$flags_ok" = 1 ] && [ -n "$mem_bytes" ]; then
	e2e_ok "the migration copied no disk data (job: memory $mem_bytes, disk 0; no storage-copy flag)"
else
	e2e_fail "the migration copies no disk" "disk bytes '$disk_bytes', flag logged $flags_ok" "$(tr '\n' '|' <<<"$job")"
fi
xml=$(e2e_virsh "$to" dumpxml "$id" 2>/dev/null)
if grep -q "username='fincloud-node$to'" <<<"$xml"; then
	e2e_ok "on node $to the disk is opened as that node's own cephx user (client.fincloud-node$to)"
else
	e2e_fail "on node $to the disk is opened as client.fincloud-node$to" "$(grep -A3 '<auth' <<<"$xml")"
fi
tlog=$(disks "$to")/$id.console.log
if [ -n "${boot_id:-}" ] && e2e_wait_line "$tlog" "fincloud-tick [0-9]+ boot_id=$boot_id" 60 &&
	n=$(grep -aoE '^fincloud-tick [0-9]+' "$tlog" | tail -n 1 | cut -d' ' -f2) && [ "${n:-0}" -gt "${last:-0}" ]; then
	e2e_ok "on node $to the guest's counter goes on ($last -> $n) with the same boot id"
else
	e2e_fail "the counter goes on with the same boot id on node $to" "$(tail -n 3 "$tlog" 2>/dev/null | tr -d '\r')"
fi
# the marker, read from the RBD image through librbd (qemu-io), as the
# cluster holds it: the shared disk kept it across the move
got=$(qemu-io -r -f raw -c "read -v 512000000 64" \
	"rbd:fincloud/fincloud-vm-$id:id=admin:keyring=$ceph_dir/ceph.client.admin.keyring:conf=$ceph_dir/ceph.conf" 2>/dev/null |
	awk '/^[0-9a-f]+:/ { for (i = 2; i <= 17; i++) printf "%s", $i }' |
	$PY -c 'import sys; print(bytes.fromhex(sys.stdin.read().strip()).decode("ascii", "replace").strip())')
if [[ $got == "$marker"* ]]; then
	e2e_ok "after the move the marker is on the RBD disk (read through librbd: '$marker')"
else
	e2e_fail "the marker is on the RBD disk after the move" "read '$got'"
fi

# --- delete removes the clone, keeps the image --------------------------------------
if e2e_finctl vm delete "$id" --wait --timeout 180 >/dev/null 2>&1; then
	e2e_ok "the VM is deleted"
else
	e2e_fail "the VM is deleted"
fi
gone() { ! admin rbd ls fincloud 2>/dev/null | grep -qx "fincloud-vm-$id"; }
for _ in $(seq 1 50); do gone && break; sleep 0.2; done
if gone && admin rbd ls fincloud 2>/dev/null | grep -qx "fincloud-img-$sha"; then
	e2e_ok "its RBD clone is removed; the image stays for the next VM"
else
	e2e_fail "its RBD clone is removed, the image stays" "$(admin rbd ls fincloud 2>&1 | tr '\n' ' ')"
fi
out=$(e2e_finctl storage delete rbd 2>&1)
if [ $? -ne 0 ] && [[ $out == *rbd* ]]; then
	e2e_ok "the storage pool its flavor uses is not deleted (naming it)"
else
	e2e_fail "the storage pool in use is not deleted" "$out"
fi
echo "1..$e2e_n"

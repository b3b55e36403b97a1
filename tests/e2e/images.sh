#!/usr/bin/env bash
# Real guests from the image catalogue on a 3-node testbed (docs/images.md):
# the test image (scripts/build-image.sh) uploaded through finctl; a VM
# created from it with two SSH keys and a user-data script reaches its
# ready line on the serial console with the hostname asked for and both
# keys, and runs its user-data; its disk is an overlay of the node's
# cached, checked copy of the image; the image cannot be deleted while
# the VM uses it and an image with a backing file is refused; the VM
# live-migrates (only its overlay copied, the target prepared first):
# its tick counter continues with the same boot id on the target, and
# the source keeps no overlay, seed or console log; a cached image whose
# bytes were corrupted is noticed, fetched again and only then booted.
set -u
. "$(dirname "$0")/lib.sh"

e2e_require_testbed
e2e_require_fincloud
command -v genisoimage >/dev/null || e2e_skip "genisoimage is missing (scripts/deps.sh)"
work=$(mktemp -d "${TMPDIR:-/tmp}/fc-e2e-images.XXXXXX")
trap 'rm -rf "$work"' EXIT
img=$work/fincloud-test.qcow2
e2e_test_image "$img"
# guests that boot an OS need TCG where KVM is the nested paravirtual one
opts=()
if [ -e /sys/module/kvm_pvm ] || [ "$E2E_VIRT" = qemu ]; then
	opts=(--no-kvm)
	E2E_VIRT=qemu
fi
cp "$img" "$work/test.qcow2"
e2e_testbed_up 3 fcg 10.250.180 "${opts[@]}" || exit 1
trap 'rm -rf "$work"; e2e_cleanup' EXIT
e2e_ok "testbed up 3 ${opts[*]}"
disks() { echo "$E2E_DIR/tb/node$1/root/var/lib/fincloud/disks"; }
cache() { echo "$E2E_DIR/tb/node$1/root/var/lib/fincloud/images/sha256"; }

# --- the catalogue ------------------------------------------------------------
t0=$(date +%s.%N)
if out=$(e2e_finctl -o json image create --name fincloud-test --file "$work/test.qcow2" \
	--os-type linux --min-mem-mib 96 2>&1) && sha=$(printf '%s' "$out" | e2e_json "d['sha256']") &&
	[ "$sha" = "$(sha256sum "$work/test.qcow2" | cut -d' ' -f1)" ]; then
	e2e_ok "the test image is uploaded with its SHA-256 ($(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s)"
else
	e2e_fail "the test image is uploaded with its SHA-256" "$out"
	exit 1
fi
qemu-img create -q -f qcow2 -b "$work/test.qcow2" -F qcow2 "$work/backed.qcow2"
out=$(e2e_finctl image create --name backed --file "$work/backed.qcow2" 2>&1)
rc=$?
if [ "$rc" = 2 ] && [[ $out == *"backing file"* ]]; then
	e2e_ok "an image with a backing file is refused (exit 2, naming it)"
else
	e2e_fail "an image with a backing file is refused" "exit $rc: $out"
fi

# --- a VM from it, with keys and user-data --------------------------------------
e2e_finctl tenant create loan >/dev/null &&
	e2e_finctl flavor create tiny --vcpus 1 --mem-mib 128 --disk-gib 1 --requires-image yes >/dev/null
printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFincloudTestKeyOne one@test\n' >"$work/k1.pub"
printf '# a comment\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFincloudTestKeyTwo two@test\n' >"$work/k2.pub"
printf '#!/bin/sh\necho "user-data says hello from $(hostname)"\n' >"$work/ud.sh"
if id=$(e2e_create loan tiny web-1 --image fincloud-test --ssh-key "$work/k1.pub" \
	--ssh-key "$work/k2.pub" --user-data "$work/ud.sh" --wait --timeout 240); then
	e2e_ok "finctl vm create --image --ssh-key x2 --user-data --wait: the VM runs"
else
	e2e_fail "finctl vm create --image --ssh-key x2 --user-data --wait"
	exit 1
fi
from=$(e2e_nodes_of "$id")
log=$(disks "$from")/$id.console.log
if e2e_wait_line "$log" '^fincloud-ready hostname=web-1 .*keys=2' 180; then
	ready=$(grep -aE '^fincloud-ready ' "$log" | head -n 1 | tr -d '\r')
	e2e_ok "its ready line on node $from's serial log has the hostname and both keys: $ready"
else
	e2e_fail "its ready line has hostname=web-1 and keys=2" "$(tail -n 5 "$log" 2>/dev/null | tr -d '\r')"
fi
boot_id=$(sed -n 's/.*boot_id=\([0-9a-f-]*\).*/\1/p' <<<"${ready:-}")
if e2e_wait_line "$log" '^user-data says hello from web-1' 60 && e2e_wait_line "$log" '^fincloud-user-data exit=0' 30; then
	e2e_ok "its user-data script ran (exit 0, output on the console)"
else
	e2e_fail "its user-data script ran" "$(tail -n 5 "$log" | tr -d '\r')"
fi
vm_sha=$(e2e_vm_field "$id" image | e2e_json "d['sha256']" 2>/dev/null)
backing=$(qemu-img info --output=json -U "$(disks "$from")/$id.qcow2" 2>/dev/null |
	e2e_json "d.get('backing-filename', '') + ' ' + str(d['virtual-size'])")
if [ "$vm_sha" = "$sha" ] && cmp -s "$(cache "$from")/$sha" "$work/test.qcow2" &&
	[ "$backing" = "/var/lib/fincloud/images/sha256/$sha 1073741824" ]; then
	e2e_ok "its disk is a 1 GiB overlay of node $from's cached copy of the image (same digest)"
else
	e2e_fail "its disk is an overlay of the cached image" "vm sha '$vm_sha'" "backing '$backing'"
fi
out=$(e2e_finctl image delete fincloud-test 2>&1)
rc=$?
if [ "$rc" = 6 ] && [[ $out == *web-1* ]]; then
	e2e_ok "the image cannot be deleted while the VM uses it (exit 6, naming it)"
else
	e2e_fail "the image cannot be deleted while the VM uses it" "exit $rc: $out"
fi

# --- live migration: the target prepared, only the overlay copied ------------
to=$((3 - from))
# the counter the guest printed last on the source (the source's log goes
# with the VM once it has moved)
e2e_wait_line "$log" '^fincloud-tick [0-9]+ boot_id=' 30
last=$(grep -aoE '^fincloud-tick [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
if out=$(e2e_finctl vm migrate "$id" --to "node$to" --wait --timeout 240 2>&1) &&
	down=$(e2e_arrived_live "$to" "$id") && [ "$(e2e_nodes_of "$id")" = "$to" ]; then
	e2e_ok "the VM moved live to node $to (downtime $down)"
else
	e2e_fail "the VM moves live to node $to" "$out" "on node(s) '$(e2e_nodes_of "$id")'"
fi
tlog=$(disks "$to")/$id.console.log
if [ -n "$last" ] && e2e_wait_line "$tlog" "^fincloud-tick [0-9]+ boot_id=$boot_id" 60 &&
	n=$(grep -aoE '^fincloud-tick [0-9]+' "$tlog" | tail -n 1 | cut -d' ' -f2) &&
	[ -n "$boot_id" ] && [ "${n:-0}" -gt "${last:-0}" ]; then
	e2e_ok "on node $to the guest's counter goes on ($last -> $n) with the same boot id"
else
	e2e_fail "the counter goes on with the same boot id on node $to" "boot_id '$boot_id' last '$last'" "$(tail -n 3 "$tlog" 2>/dev/null | tr -d '\r')"
fi
if cmp -s "$(cache "$to")/$sha" "$work/test.qcow2"; then
	e2e_ok "node $to fetched the base image before the migration"
else
	e2e_fail "node $to fetched the base image"
fi
gone_src() { [ ! -e "$(disks "$from")/$id.qcow2" ] && [ ! -e "$(disks "$from")/$id.seed.iso" ]; }
for _ in $(seq 1 100); do gone_src && break; sleep 0.2; done
if gone_src; then
	e2e_ok "node $from keeps no overlay or seed of the VM"
else
	e2e_fail "node $from keeps no overlay or seed of the VM" "$(ls "$(disks "$from")")"
fi

# --- a corrupted cached image is fetched again, never booted ----------------
# one byte of the cached base flipped on every node that holds it (the
# running guest needs nothing more from its disk); the next VM's node
# finds the mismatch, drops the file and fetches good bytes before it
# defines the VM
for n in 1 2 3; do
	f=$(cache "$n")/$sha
	[ -f "$f" ] || continue
	printf '\377' | dd of="$f" bs=1 seek=4096 conv=notrunc status=none
done
if id2=$(e2e_create loan tiny web-2 --image fincloud-test --wait --timeout 240); then
	n2=$(e2e_nodes_of "$id2")
	if grep -q "image $sha: the cached file's SHA-256 is .*: removed" "$E2E_DIR/tb/node$n2/agent.log" &&
		cmp -s "$(cache "$n2")/$sha" "$work/test.qcow2" &&
		e2e_wait_line "$(disks "$n2")/$id2.console.log" '^fincloud-ready hostname=web-2 ' 180; then
		e2e_ok "a corrupted cached image is noticed on node $n2, fetched again (same bytes as uploaded) and the VM boots from it"
	else
		e2e_fail "a corrupted cached image is fetched again before a VM boots from it" \
			"$(grep -m2 "image $sha" "$E2E_DIR/tb/node$n2/agent.log")"
	fi
	e2e_finctl vm delete "$id2" --wait --timeout 120 >/dev/null 2>&1
else
	e2e_fail "a VM from a corrupted cached image is created"
fi
if e2e_finctl vm delete "$id" --wait --timeout 120 >/dev/null 2>&1 &&
	e2e_finctl image delete fincloud-test >/dev/null 2>&1; then
	e2e_ok "once the VM is deleted the image is deleted"
else
	e2e_fail "once the VM is deleted the image is deleted"
fi
echo "1..$e2e_n"

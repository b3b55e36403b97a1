#!/usr/bin/env bash
# The testbed itself, with raw virsh only: two nodes come up, each node's
# own libvirt answers over TLS with its own host UUID, a guest live-
# migrates (with its local disk) from one node to the other and back, and
# "down" leaves no namespace, link, process or file behind.
set -u
. "$(dirname "$0")/lib.sh"

e2e_require_testbed
prefix=fcy
subnet=10.250.10

e2e_testbed_up 2 "$prefix" "$subnet" --no-fincloud || exit 1
prefix=$E2E_PREFIX subnet=$E2E_SUBNET
e2e_ok "testbed up 2 (libvirt nodes only)"

# each node answers on its own address, with its own identity
uuid1=$(e2e_virsh 1 capabilities | sed -n 's:.*<uuid>\(.*\)</uuid>.*:\1:p' | head -1)
uuid2=$(e2e_virsh 2 capabilities | sed -n 's:.*<uuid>\(.*\)</uuid>.*:\1:p' | head -1)
if [ -n "$uuid1" ] && [ -n "$uuid2" ] && [ "$uuid1" != "$uuid2" ]; then
	e2e_ok "virsh reaches both nodes over qemu+tls, distinct host UUIDs"
else
	e2e_fail "virsh reaches both nodes over qemu+tls, distinct host UUIDs" "node1 '$uuid1' node2 '$uuid2'"
fi

# the nodes do not see the host's libvirt or each other's guests
name=fct-$$
disk=/var/lib/libvirt/images/$name.qcow2
pooldef() { # node
	e2e_virsh "$1" pool-define-as fctpool dir --target /var/lib/libvirt/images >/dev/null &&
		e2e_virsh "$1" pool-build fctpool >/dev/null &&
		e2e_virsh "$1" pool-start fctpool >/dev/null
}
if pooldef 1 && pooldef 2 &&
	e2e_virsh 1 vol-create-as fctpool "$name.qcow2" 64M --format qcow2 >/dev/null &&
	e2e_guest_xml "$name" "$disk" >"$E2E_DIR/guest.xml" &&
	e2e_virsh 1 define "$E2E_DIR/guest.xml" >/dev/null &&
	e2e_virsh 1 start "$name" >/dev/null; then
	e2e_ok "a $E2E_VIRT guest runs on node 1"
else
	e2e_fail "a $E2E_VIRT guest runs on node 1" "$(tail -n 5 "$E2E_DIR/tb/node1/libvirtd.log" 2>/dev/null)"
fi
if [ -z "$(e2e_virsh 2 list --all --name)" ]; then
	e2e_ok "node 2 does not see node 1's guest"
else
	e2e_fail "node 2 does not see node 1's guest" "$(e2e_virsh 2 list --all --name)"
fi

# migrate MIGRATE_FROM TO: live, peer to peer, disk copied to the target
# (the target's dir pool over the same path lets libvirt precreate it)
migrate() {
	local from=$1 to=$2 ip
	ip=$subnet.$((to + 1))
	# shellcheck disable=SC2046 # --tls or nothing
	e2e_virsh "$from" migrate --live --p2p --persistent --undefinesource --copy-storage-all \
		$(e2e_mig_tls) "$name" "$(e2e_peer_uri "$to")" "tcp://$ip"
}
on_node() { # node: the guest runs there and nowhere else
	local here=$1 other=$((3 - $1))
	[ "$(e2e_virsh "$here" domstate "$name" 2>/dev/null)" = running ] &&
		! e2e_virsh "$other" dominfo "$name" >/dev/null 2>&1
}
if out=$(migrate 1 2 2>&1) && on_node 2; then
	e2e_ok "live migration node 1 -> node 2 (disk copied); the guest runs only on node 2"
else
	e2e_fail "live migration node 1 -> node 2" "$out"
fi
if out=$(migrate 2 1 2>&1) && on_node 1; then
	e2e_ok "live migration node 2 -> node 1; the guest runs only on node 1"
else
	e2e_fail "live migration node 2 -> node 1" "$out"
fi

# down removes everything; record what to look for first
pids=$(awk '$1 == "pid" { print $3 }' "$E2E_DIR/tb/state")
qemu_pids=$(ip netns pids "${prefix}1" 2>/dev/null; ip netns pids "${prefix}2" 2>/dev/null)
if bash "$TESTBED" down --dir "$E2E_DIR/tb" >"$E2E_DIR/down.log" 2>&1; then
	e2e_ok "testbed down"
else
	e2e_fail "testbed down" "$(tail -n 5 "$E2E_DIR/down.log")"
fi
left=()
for p in $pids $qemu_pids; do
	[ -d "/proc/$p" ] && left+=("process $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-60))")
done
for ns in $(ip netns list | awk '{print $1}'); do
	case $ns in "$prefix"[0-9]*) left+=("namespace $ns") ;; esac
done
for l in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
	case $l in "$prefix"br | "$prefix"h[0-9]* | "$prefix"n[0-9]*) left+=("link $l") ;; esac
done
[ ! -e "$E2E_DIR/tb" ] || left+=("directory $E2E_DIR/tb: $(ls "$E2E_DIR/tb" | tr '\n' ' ')")
if [ ${#left[@]} -eq 0 ]; then
	e2e_ok "down leaves no process, namespace, link or file behind"
else
	e2e_fail "down leaves no process, namespace, link or file behind" "${left[@]}"
fi

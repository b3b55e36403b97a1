#!/usr/bin/env bash
# fc-test: serial
# scripts/testbed.sh with one node: up, status, a second up refused, down
# leaves nothing behind; an "up" that fails half way (a controller that
# dies at once) undoes what it did; --keep-logs keeps the logs of both;
# bad arguments are refused.
set -u
. "$(dirname "$0")/../e2e/lib.sh"

e2e_require_testbed
# another run of this test (a second "make check") may hold fci: take the
# next free prefix, with a subnet of its own
for k in "" a b c d; do
	prefix=fci$k
	subnet=10.250.$((11 + 20 * ${#k} * ($(printf '%d' "'${k:-a}") - 96)))
	ip link show "${prefix}br" >/dev/null 2>&1 || ip netns list | grep -q "^${prefix}[0-9]" || break
done
work=$(mktemp -d "${TMPDIR:-/tmp}/fc-e2e-testbed.XXXXXX")
cleanup() {
	local rc=$?
	bash "$TESTBED" down --dir "$work/tb" >/dev/null 2>&1
	bash "$TESTBED" down --dir "$work/tb2" >/dev/null 2>&1
	rm -rf "$work"
	[ "$e2e_failed" -eq 0 ] || rc=1
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

leftovers() { # prints what of prefix $1 is still there
	local ns l
	for ns in $(ip netns list | awk '{print $1}'); do
		case $ns in "$1"[0-9]*) echo "namespace $ns" ;; esac
	done
	for l in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
		case $l in "$1"br | "$1"h[0-9]* | "$1"n[0-9]*) echo "link $l" ;; esac
	done
}

tb() { bash "$TESTBED" "$@" --prefix "$prefix" --subnet "$subnet"; }

# --- bad arguments
for bad in "up" "up 0" "up x" "up 1 --subnet 10.250" "up 1 --prefix Bad-Name" "frobnicate"; do
	# shellcheck disable=SC2086
	if bash "$TESTBED" $bad --dir "$work/bad" >"$work/bad.log" 2>&1; then
		e2e_fail "testbed.sh $bad is refused" "$(cat "$work/bad.log")"
	elif [ -e "$work/bad/state" ]; then
		e2e_fail "testbed.sh $bad is refused without leaving state"
	else
		e2e_ok "testbed.sh $bad is refused"
	fi
done

# --- one node up and down
if tb up 1 --dir "$work/tb" --no-fincloud >"$work/up.log" 2>&1; then
	e2e_ok "up 1 --no-fincloud"
else
	e2e_fail "up 1 --no-fincloud" "$(tail -n 10 "$work/up.log")"
fi
e2e_check "the node's libvirt answers on qemu+tls://$subnet.2/system with the testbed's client certificate" \
	timeout 20 virsh -c "qemu+tls://$subnet.2/system?pkipath=$work/tb/pki/virsh" list --all
e2e_check "and not on plain TCP" eval '! timeout 20 virsh -c "qemu+tcp://$subnet.2/system" list --all'
e2e_check "the node's keys are 0600" eval '[ "$(stat -c %a "$work/tb/node1/root/etc/pki/libvirt/private/serverkey.pem" "$work/tb/pki/node1/key.pem" | sort -u)" = 600 ]'
e2e_check "status lists the node's libvirtd as running" \
	sh -c "bash '$TESTBED' status --dir '$work/tb' | grep -E 'libvirtd-1 .*running'"
e2e_check "exec runs inside the node's namespaces" \
	sh -c "bash '$TESTBED' exec 1 --dir '$work/tb' -- ip -o addr show | grep -q ' $subnet.2/24'"
if tb up 1 --dir "$work/tb" --no-fincloud >"$work/up2.log" 2>&1; then
	e2e_fail "a second up into the same directory is refused"
else
	e2e_ok "a second up into the same directory is refused"
fi
pids=$(awk '$1 == "pid" { print $3 }' "$work/tb/state" 2>/dev/null)
if bash "$TESTBED" down --dir "$work/tb" --keep-logs "$work/kept" >"$work/down.log" 2>&1; then
	e2e_ok "down --keep-logs"
else
	e2e_fail "down --keep-logs" "$(tail -n 5 "$work/down.log")"
fi
if [ -f "$work/kept/node1/libvirtd.log" ] && [ -f "$work/kept/node1/virtlogd.log" ] &&
	[ -f "$work/kept/state" ] && [ -z "$(find "$work/kept" -name '*.token' -o -name '*.credential' -o -name '*.qcow2' -o -name '*.pem')" ]; then
	e2e_ok "down --keep-logs kept the node's logs, and no token, credential, certificate, key or disk"
else
	e2e_fail "down --keep-logs kept the node's logs, and no token, credential or disk" \
		"$(cd "$work/kept" 2>/dev/null && find . -type f | head -n 20)"
fi
left=$(leftovers "$prefix")
for p in $pids; do [ -d "/proc/$p" ] && left+=" process $p"; done
[ ! -e "$work/tb" ] || left+=" directory $work/tb"
if [ -z "$left" ]; then
	e2e_ok "down leaves nothing behind"
else
	e2e_fail "down leaves nothing behind" "$left"
fi

# --- an up that fails half way cleans up after itself
mkdir -p "$work/fakebin"
for p in fincloud-controller finctl fincloud-agent; do
	printf '#!/bin/sh\necho "%s: this stand-in fails on purpose" >&2\nexit 1\n' "$p" >"$work/fakebin/$p"
	chmod +x "$work/fakebin/$p"
done
if tb up 1 --dir "$work/tb2" --bin "$work/fakebin" --keep-logs "$work/kept2" >"$work/up3.log" 2>&1; then
	e2e_fail "up with a failing controller fails"
else
	e2e_ok "up with a failing controller fails"
fi
if grep -q "undoing what it did" "$work/up3.log"; then
	e2e_ok "the failed up says it undoes its work"
else
	e2e_fail "the failed up says it undoes its work" "$(tail -n 5 "$work/up3.log")"
fi
if grep -q "this stand-in fails on purpose" "$work/kept2/controller/controller.log" 2>/dev/null &&
	[ -f "$work/kept2/node1/libvirtd.log" ] && grep -q "$work/kept2" "$work/up3.log"; then
	e2e_ok "the failed up --keep-logs kept the controller's and the node's logs and said where"
else
	e2e_fail "the failed up --keep-logs kept the controller's and the node's logs and said where" \
		"$(cd "$work/kept2" 2>/dev/null && find . -type f | head -n 20)"
fi
left=$(leftovers "$prefix")
[ ! -e "$work/tb2/state" ] || left+=" state file"
if [ -z "$left" ]; then
	e2e_ok "the failed up leaves nothing behind"
else
	e2e_fail "the failed up leaves nothing behind" "$left"
fi

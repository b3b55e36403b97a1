#!/usr/bin/env bash
# fc-test: alone
# The test image (scripts/build-image.sh, docs/images.md) builds offline
# and boots from its disk alone under TCG: with a NoCloud seed ISO made
# here (genisoimage) it prints its ready line with the hostname, address
# and key count asked for, runs the user-data script with its output on
# the serial console, ticks with a counter that counts up under one boot
# id, and powers off on the ACPI power button. Its network-config reader
# is checked on its own first.
#
#   image_boot.sh                  build the test image and boot it
#   image_boot.sh --debian IMAGE   boot a Debian image (make image-debian)
set -u
top=${FC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top/tests/integration/tap.bash"

debian=0 image=
if [ "${1:-}" = --debian ]; then
	debian=1 image=${2:?usage: image_boot.sh --debian IMAGE}
fi
for tool in qemu-system-x86_64 qemu-img genisoimage; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/deps.sh)"; exit 77; }
done
if [ $debian -eq 0 ] && ! bash "$top/scripts/deps.sh" --print >/dev/null; then
	echo "SKIP: missing: $(bash "$top/scripts/deps.sh" --print) (run scripts/deps.sh as root)"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fc-image-boot.XXXXXX")
qemu_pid=
cleanup() {
	[ -z "$qemu_pid" ] || kill "$qemu_pid" 2>/dev/null
	[ -z "$qemu_pid" ] || wait "$qemu_pid" 2>/dev/null
	rm -rf "$tmp"
	[ "$failed" -eq 0 ] || exit 1
}
trap cleanup EXIT

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# network-config v2 as the agent and cloud-init's docs write it: by MAC,
# list or inline addresses, gateway4 or a default route, MTU, dhcp4.
cat >"$tmp/nc" <<'EOF'
version: 2
ethernets:
  id0:
    match:
      macaddress: "52:54:00:AA:BB:01"
    set-name: ens2
    mtu: 1450
    addresses: [10.0.0.5/24, "fd00::5/64"]
    gateway4: 10.0.0.1
  ens3:
    dhcp4: true
    routes:
      - to: 10.9.0.0/16
        via: 10.0.1.9
      - via: 10.0.1.1
        to: default
  id2:
    match:
      macaddress: 52:54:00:aa:bb:03
    addresses:
      - 192.168.7.7/28
EOF
want=$'id0 52:54:00:aa:bb:01 0 10.0.0.1 1450 10.0.0.5/24 fd00::5/64\nens3 - 1 10.0.1.1 - \nid2 52:54:00:aa:bb:03 0 - - 192.168.7.7/28'
got=$(sh "$top/scripts/image/netcfg" "$tmp/nc")
if [ "$got" = "$want" ]; then
	ok "network-config: MACs, addresses (list and inline), gateways, MTU, dhcp4 read"
else
	fail "network-config read" "want: $want" "got:  $got"
fi
# the same with busybox's awk, the one in the image
mkdir "$tmp/bb"
ln -s "$(command -v busybox)" "$tmp/bb/awk"
got=$(PATH=$tmp/bb:$PATH sh "$top/scripts/image/netcfg" "$tmp/nc")
if [ "$got" = "$want" ]; then
	ok "... and with busybox's awk, as in the image"
else
	fail "network-config read with busybox's awk" "want: $want" "got:  $got"
fi

if [ $debian -eq 0 ]; then
	image=$tmp/fincloud-test.qcow2
	t0=$(now)
	if out=$(bash "$top/scripts/build-image.sh" "$image" 2>&1); then
		size=$(du -m "$image" | cut -f1)
		ok "build-image.sh wrote a $(qemu-img info --output=json "$image" | sed -n 's/.*"format": "\([a-z0-9]*\)".*/\1/p') image of $size MiB in $(secs "$t0" "$(now)") s"
		[ "$size" -le 64 ] || fail "the test image stays small" "$size MiB"
	else
		fail "build-image.sh builds the test image" "$out"
		exit 1
	fi
	mem=96 ready_wait=45
else
	mem=512 ready_wait=300
fi

# The seed, as the agent makes it: meta-data, user-data, network-config.
name=ib-$$-loan
mac=52:54:00:fc:01:0a
mkdir "$tmp/seed"
cat >"$tmp/seed/meta-data" <<EOF
instance-id: 7d9d1b38-0000-4000-8000-0000000$$
local-hostname: $name
public-keys:
  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtestkeyone op1@bank
  - "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtestkeytwo op2@bank"
EOF
cat >"$tmp/seed/user-data" <<'EOF'
#!/bin/sh
echo "user-data-marker host=$(hostname) sum=$((6 * 7))"
EOF
cat >"$tmp/seed/network-config" <<EOF
version: 2
ethernets:
  nic0:
    match:
      macaddress: "$mac"
    addresses:
      - 10.250.140.77/24
    gateway4: 10.250.140.1
EOF
genisoimage -quiet -output "$tmp/seed.iso" -volid cidata -joliet -rock "$tmp/seed"/* ||
	{ fail "genisoimage writes the seed"; exit 1; }

log=$tmp/serial.log
: >"$log"
t0=$(now)
# -snapshot: the image itself is never written.
qemu-system-x86_64 -machine pc,accel=tcg -m $mem -smp 1 -nographic -snapshot \
	-monitor "unix:$tmp/monitor,server,nowait" -serial "file:$log" -no-reboot \
	-drive "file=$image,if=virtio,format=qcow2" \
	-drive "file=$tmp/seed.iso,media=cdrom,readonly=on" \
	-netdev user,id=n0 -device "virtio-net-pci,netdev=n0,mac=$mac" \
	>"$tmp/qemu.out" 2>&1 &
qemu_pid=$!

wait_for() { # REGEX SECONDS
	local end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do
		grep -qaE "$1" "$log" && return 0
		kill -0 "$qemu_pid" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

if wait_for '^fincloud-ready ' $ready_wait; then
	ready=$(grep -aE '^fincloud-ready ' "$log" | head -n 1 | tr -d '\r')
	ok "ready line after $(secs "$t0" "$(now)") s under TCG: $ready"
else
	fail "the guest prints its ready line within $ready_wait s" "$(tail -n 20 "$log")" "$(cat "$tmp/qemu.out")"
	exit 1
fi
case " $ready " in
*" hostname=$name "*) ok "the ready line names the hostname from meta-data" ;;
*) fail "the ready line names hostname=$name" "$ready" ;;
esac
case " $ready " in
*" addr=10.250.140.77/24 "*) ok "the static address was set on the NIC matched by MAC" ;;
*) fail "the ready line shows addr=10.250.140.77/24" "$ready" ;;
esac
case " $ready " in
*" keys=2 "*) ok "both public keys were installed" ;;
*) fail "the ready line counts keys=2" "$ready" ;;
esac
if wait_for "user-data-marker host=$name sum=42" 30; then
	ok "the user-data script ran at the end of boot, output on the serial console"
else
	fail "the user-data script's output is on the serial console" "$(tail -n 20 "$log")"
fi
boot_id=${ready##*boot_id=}
# a tick may follow a login prompt on its line
if wait_for "fincloud-tick 3 boot_id=$boot_id" 15; then
	ticks=$(grep -acE "fincloud-tick [0-9]+ boot_id=$boot_id" "$log")
	ok "the liveness tick counts up under boot id $boot_id ($ticks ticks)"
else
	fail "the guest ticks fincloud-tick N boot_id=$boot_id" "$(tail -n 5 "$log")"
fi

# the ACPI power button, as `virsh shutdown` presses it; a press the
# guest's acpid is not yet listening for is lost (as on real hardware), so
# it is pressed again every 5 s, as an operator would
if [ $debian -eq 0 ]; then
	end=$((SECONDS + 40))
	press=0
	while kill -0 "$qemu_pid" 2>/dev/null && [ $SECONDS -lt $end ]; do
		if [ $SECONDS -ge $press ]; then
			/usr/bin/python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"system_powerdown\n")
time.sleep(0.5)' "$tmp/monitor" 2>/dev/null
			press=$((SECONDS + 5))
		fi
		sleep 0.2
	done
	if ! kill -0 "$qemu_pid" 2>/dev/null; then
		wait "$qemu_pid" 2>/dev/null
		qemu_pid=
		ok "the ACPI power button powers the guest off"
	else
		fail "the ACPI power button powers the guest off within 40 s" "$(tail -n 3 "$log")"
	fi
fi

#!/usr/bin/env bash
# scripts/libvirtd-ensure.sh PIDFILE
# scripts/libvirtd-ensure.sh --stop PIDFILE
#
# Makes sure qemu:///system answers: starts virtlogd and libvirtd when they
# are not running and appends "NAME PID" lines for exactly the processes it
# started to PIDFILE (nothing when libvirt was already up). Exit 0 when
# libvirt answers, 1 when it could not be started (the reason on stderr),
# 77 when not root.
#
# --stop PIDFILE stops the processes listed in PIDFILE, by PID (each only
# if it still runs the program recorded for it), waits for them to end and
# removes PIDFILE. Callers run it from their EXIT trap.
set -u

answers() {
	timeout 10 virsh -q -c qemu:///system version >/dev/null 2>&1
}

stop_listed() { # pidfile
	local f=$1 name pid i
	[ -f "$f" ] || return 0
	while read -r name pid; do
		[ -n "$pid" ] || continue
		if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
			kill "$pid" 2>/dev/null
			for i in $(seq 1 50); do
				[ -d "/proc/$pid" ] || break
				sleep 0.1
			done
			[ -d "/proc/$pid" ] && kill -9 "$pid" 2>/dev/null
		fi
	done <"$f"
	rm -f "$f"
}

if [ "${1:-}" = --stop ]; then
	stop_listed "${2:?usage: libvirtd-ensure.sh --stop PIDFILE}"
	exit 0
fi
pidfile=${1:?usage: libvirtd-ensure.sh PIDFILE | --stop PIDFILE}

answers && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "libvirtd-ensure: qemu:///system does not answer and starting libvirtd needs root" >&2
	exit 77
fi
for p in libvirtd virtlogd; do
	if ! command -v "$p" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$p" ]; then
		echo "libvirtd-ensure: '$p' is not installed: run scripts/deps.sh" >&2
		exit 1
	fi
done
PATH=$PATH:/usr/sbin
logdir=${TMPDIR:-/tmp}
mkdir -p /run/libvirt

sock_answers() { # path: a process accepts connections on the unix socket
	[ -S "$1" ] && /usr/bin/python3 -c 'import socket,sys
s=socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(sys.argv[1])' "$1" 2>/dev/null
}

# virtlogd writes the guests' console logs; libvirtd needs it for qemu.
# Sockets, not process names, say what runs: libvirtds of other network
# and mount namespaces (test nodes) show up in pgrep but serve other /run.
if ! sock_answers /run/libvirt/virtlogd-sock; then
	rm -f /run/libvirt/virtlogd-sock /run/virtlogd.pid
	virtlogd >"$logdir/fc-virtlogd.$$.log" 2>&1 </dev/null &
	echo "virtlogd $!" >>"$pidfile"
fi
if ! sock_answers /run/libvirt/libvirt-sock; then
	rm -f /run/libvirtd.pid
	libvirtd >"$logdir/fc-libvirtd.$$.log" 2>&1 </dev/null &
	echo "libvirtd $!" >>"$pidfile"
fi
for _ in $(seq 1 100); do
	answers && exit 0
	sleep 0.2
done
echo "libvirtd-ensure: qemu:///system still does not answer after 20 s (see $logdir/fc-libvirtd.$$.log)" >&2
exit 1

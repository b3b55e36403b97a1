#!/usr/bin/env bash
# scripts/testbed-fence.sh: the fence agent of a testbed node
# (scripts/testbed.sh), for the controller's per-host fence_command.
#
#   testbed-fence.sh [--dir DIR] HOST [ADDRESS]
#
# HOST is the node's host name at the controller ("node2") or its number
# ("2"). The controller runs a host's fence agent as "AGENT HOST ADDRESS"
# with the host's fence address: for a testbed node that is the
# testbed's state directory (an absolute path; it wins over --dir).
#
# The node's QEMU processes are killed (SIGKILL) and then its libvirtd,
# each by PID: QEMU from the node's libvirt pid files
# (/run/libvirt/qemu/*.pid inside the node's mount namespace) and from
# the processes of the node's network namespace whose program is a
# qemu-system-* binary; libvirtd by the PID and start time the testbed
# recorded. The node's agent and virtlogd are left running: what a fence
# must ensure is that no guest runs and none can be started (libvirtd is
# gone). Nothing outside that node is touched.
#
# Exit status: 0 when the node runs no QEMU process and its libvirtd is
# gone (also when they were gone already: fencing twice is fine), 1 when
# one survived (named on stderr), 2 for a usage error or a testbed that
# does not know the node.
#
# Options:
#   --dir DIR   the testbed's state directory (default: $FC_TESTBED_DIR,
#               else build/testbed of this checkout)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
dir=${FC_TESTBED_DIR:-$top/build/testbed}
host=''
address=''
usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}
while [ $# -gt 0 ]; do
	case $1 in
	--dir) dir=${2:?--dir needs a directory}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	-*) echo "testbed-fence: unknown option '$1' (see --help)" >&2; exit 2 ;;
	*)
		if [ -z "$host" ]; then
			host=$1
		elif [ -z "$address" ]; then
			address=$1
		else
			echo "testbed-fence: HOST [ADDRESS] only (got '$host', '$address' and '$1')" >&2
			exit 2
		fi
		shift
		;;
	esac
done
if [ -n "$address" ]; then
	case $address in
	/*) dir=$address ;;
	*) echo "testbed-fence: bad ADDRESS '$address': give the testbed's state directory (an absolute path)" >&2; exit 2 ;;
	esac
fi
[ -n "$host" ] || { usage >&2; exit 2; }
i=${host#node}
[[ $i =~ ^[0-9]+$ ]] || { echo "testbed-fence: bad HOST '$host': give nodeN or N" >&2; exit 2; }
state=$dir/state
[ -f "$state" ] || { echo "testbed-fence: no testbed in '$dir' (no state file; pass --dir)" >&2; exit 2; }
prefix=fc
# shellcheck disable=SC1091
[ ! -f "$dir/testbed.env" ] || . "$dir/testbed.env"
ns=$prefix$i
ip netns list 2>/dev/null | awk '{print $1}' | grep -x -- "$ns" >/dev/null ||
	{ echo "testbed-fence: the testbed in '$dir' has no node $i (namespace '$ns')" >&2; exit 2; }

start_time() { # pid -> start time in clock ticks (field 22 of stat)
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	echo "${20}"
}
# the latest "pid NAME PID START" line the testbed recorded for NAME
recorded() {
	awk -v n="$1" '$1 == "pid" && $2 == n { l = $3 " " $4 } END { if (l == "") exit 1; print l }' "$state"
}
is_qemu() { # pid: its program is a qemu-system-* binary
	local exe
	exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
	exe=${exe% (deleted)}
	case ${exe##*/} in qemu-system-* | qemu-kvm) return 0 ;; esac
	return 1
}
# the node's QEMU processes: its libvirt pid files (read through the root
# of a process of the node, which sees the node's /run) and its network
# namespace's processes
qemu_pids() {
	local p f root=''
	for p in $(ip netns pids "$ns" 2>/dev/null); do
		root=/proc/$p/root
		[ -d "$root/run/libvirt/qemu" ] && break
		root=''
	done
	{
		if [ -n "$root" ]; then
			for f in "$root"/run/libvirt/qemu/*.pid; do
				[ -f "$f" ] && tr -dc '0-9' <"$f" && echo
			done
		fi
		ip netns pids "$ns" 2>/dev/null
	} | sort -un | while read -r p; do
		if [ -n "$p" ] && is_qemu "$p"; then echo "$p"; fi
	done
	return 0
}

killed=0
for p in $(qemu_pids); do
	kill -KILL "$p" 2>/dev/null && killed=$((killed + 1))
done
lv=''
if line=$(recorded "libvirtd-$i"); then
	read -r pid t <<<"$line"
	if [ "$(start_time "$pid" 2>/dev/null)" = "$t" ]; then
		kill -KILL "$pid" 2>/dev/null || true
		lv=$pid
	fi
fi
# wait (at most 10 s) for them to be gone
for _ in $(seq 1 100); do
	left=$(qemu_pids | tr '\n' ' ')
	alive=0
	if [ -n "$lv" ] && [ -e "/proc/$lv" ] && [ "$(awk '{print $3}' "/proc/$lv/stat" 2>/dev/null)" != Z ]; then
		alive=1
	fi
	[ -z "${left// /}" ] && [ "$alive" -eq 0 ] && break
	sleep 0.1
done
if [ -n "${left// /}" ] || [ "$alive" -eq 1 ]; then
	echo "testbed-fence: node $i not fenced: QEMU pid(s) '${left% }' or libvirtd pid '$lv' still run" >&2
	exit 1
fi
echo "testbed-fence: node $i fenced: $killed QEMU process(es) killed${lv:+, libvirtd (pid $lv) killed}"

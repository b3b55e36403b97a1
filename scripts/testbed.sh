#!/usr/bin/env bash
# scripts/testbed.sh: real KVM compute nodes on one machine.
#
#   testbed.sh up N [options]      N nodes, a controller and one agent per node
#   testbed.sh down [options]      stop exactly what "up" started, remove it
#   testbed.sh status [options]    what runs, and how to reach it
#   testbed.sh env [options]       shell lines: FINCLOUD_URL, FINCLOUD_TOKEN, ...
#   testbed.sh exec NODE CMD...    run CMD inside node NODE (1..N)
#   testbed.sh agent-stop NODE     stop node NODE's agent (SIGTERM, by PID)
#   testbed.sh agent-kill NODE     the same with SIGKILL
#   testbed.sh agent-start NODE    start node NODE's agent again
#   testbed.sh libvirtd-stop NODE  stop node NODE's libvirtd (its guests run on)
#   testbed.sh libvirtd-kill NODE  the same with SIGKILL
#   testbed.sh libvirtd-start NODE start it again
#   testbed.sh controller-kill     stop the controller with SIGKILL
#   testbed.sh controller-start    start it again, on its database and config
#   testbed.sh arrived NODE VM     whether guest VM (UUID) on node NODE
#                                  arrived by live migration: the QEMU
#                                  process that runs it there was started
#                                  to receive one (node's QEMU log); exit 1
#                                  and why when not
#   testbed.sh arrived --log FILE  the same verdict from a QEMU log file
#                                  (one kept with --keep-logs, say)
#
# Options:
#   --dir DIR        state directory (default: $FC_TESTBED_DIR or
#                    build/testbed of this checkout); not under /run,
#                    which each node replaces with its own
#   --subnet A.B.C   the /24 the nodes live in (default 10.250.0): the host
#                    side is A.B.C.1 on a bridge, node i is A.B.C.(i+1)
#   --prefix P       name prefix of namespaces and links (default fc):
#                    namespaces P1..PN, bridge Pbr, veths Ph1/Pn1 ...
#   --bin DIR        where fincloud-controller, finctl and fincloud-agent
#                    are (default: build/bin of this checkout)
#   --port PORT      controller port (default 8740)
#   --pool NAME      pool the agents join (default: default)
#   --stop-timeout S the agents' ACPI shutdown grace before power-off
#                    (default 5: the testbed's guests have no OS and never
#                    answer ACPI, so the agent's own default of 60 s only
#                    makes every stop take a minute)
#   --insecure       plain text everywhere, for development: the
#                    controller on http://, the agents without
#                    certificates, each node's libvirtd on qemu+tcp
#                    without authentication, migrations in plain text.
#                    Without it (the default) every channel runs TLS
#                    with certificates of a CA made for this testbed in
#                    DIR/pki (scripts/fincloud-ca.sh): the controller on
#                    https:// with an agents' port (--port + 1) that
#                    requires each node's client certificate (CN nodeI),
#                    libvirtd on qemu+tls, QEMU's migration stream TLS
#   --no-fincloud    libvirt nodes only: no controller, no agents
#   --ceph           a Ceph cluster over the nodes (scripts/ceph-testbed.sh:
#                    a monitor in node 1, an OSD per node, pool "fincloud",
#                    state in DIR/ceph), before the agents start; node i
#                    gets its ceph.conf and client.fincloud-nodeI keyring
#                    in its /etc/fincloud/ceph/. "down" stops it after
#                    the guests and before the nodes' daemons
#   --no-kvm         the nodes get a /dev without /dev/kvm, so their guests
#                    run under TCG as on a machine without KVM
#   --local          one node without namespaces: the host's own libvirt
#                    (started by scripts/libvirtd-ensure.sh if needed),
#                    for machines where network namespaces are missing
#   --provider-link IFNAME
#                    give every node an extra link IFNAME (a veth, no
#                    address) joined to a bridge Ppbr on the host that
#                    carries nothing else: the "physical" interface of
#                    provider networks (docs/networking.md)
#   --keep-logs DIR  down (and a failed up): before anything is stopped,
#                    copy every log into DIR: the controller's log, config
#                    and database, each node's agent, libvirtd and virtlogd
#                    logs, its QEMU and console logs and domain XML, and
#                    any *.json, *.err and *.txt files in the state
#                    directory (never a token, credential or disk)
#
# Each node is a network namespace with a veth pair to a bridge on the
# host, and inside it a private mount namespace with its own /run,
# /etc/libvirt, /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt,
# /etc/fincloud, /var/lib/fincloud and /etc/pki, where virtlogd and
# "libvirtd --listen" (TLS with the node's certificate, or with --insecure
# plain TCP without auth, on the node's address only) run, and the node's
# agent, installed by scripts/install-agent.sh --root. The host reaches
# the nodes' libvirt with DIR/pki/virsh (pkipath=, in FC_TESTBED_URIS).
# Everything "up" creates is written to DIR/state as it is created, so
# "down" undoes exactly that, in reverse order, also after a failed "up".
# See docs/testbed.md.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
self=$top/scripts/testbed.sh

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

die() {
	echo "testbed: $*" >&2
	exit 1
}

say() {
	echo "testbed: $*"
}

# ---------------------------------------------------------------- options
cmd=${1:-}
[ -n "$cmd" ] || {
	usage >&2
	exit 2
}
shift
dir=${FC_TESTBED_DIR:-$top/build/testbed}
subnet=10.250.0
prefix="fc"
bin=$top/build/bin
port=8740
pool=default
stop_timeout=5
no_kvm=0
fincloud=1
local_mode=0
ceph=0
keep_logs=''
provider_link=''
log_file=''
tls=1
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--dir) dir=${2:?--dir needs a directory}; shift 2 ;;
	--subnet) subnet=${2:?--subnet needs A.B.C}; shift 2 ;;
	--prefix) prefix=${2:?--prefix needs a name}; shift 2 ;;
	--bin) bin=${2:?--bin needs a directory}; shift 2 ;;
	--port) port=${2:?--port needs a number}; shift 2 ;;
	--pool) pool=${2:?--pool needs a name}; shift 2 ;;
	--stop-timeout) stop_timeout=${2:?--stop-timeout needs seconds}; shift 2 ;;
	--no-fincloud) fincloud=0; shift ;;
	--no-kvm) no_kvm=1; shift ;;
	--ceph) ceph=1; shift ;;
	--insecure) tls=0; shift ;;
	--local) local_mode=1; shift ;;
	--keep-logs) keep_logs=${2:?--keep-logs needs a directory}; shift 2 ;;
	--provider-link) provider_link=${2:?--provider-link needs an interface name}; shift 2 ;;
	--log) log_file=${2:?--log needs a QEMU log file}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	--) shift; args+=("$@"); break ;;
	*) args+=("$1"); shift ;;
	esac
done
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
case $dir/ in /run/* | /var/run/*) die "--dir '$dir' is under /run, which every node replaces with a private tmpfs: pick another directory" ;; esac
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
case $keep_logs in /* | '') ;; *) keep_logs=$PWD/$keep_logs ;; esac
[[ $subnet =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "bad --subnet '$subnet': give the first three octets, e.g. 10.250.0"
[[ $prefix =~ ^[a-z][a-z0-9]{0,7}$ ]] || die "bad --prefix '$prefix': 1-8 lowercase letters or digits, starting with a letter"
[[ $port =~ ^[0-9]+$ ]] || die "bad --port '$port'"
[[ -z $provider_link || $provider_link =~ ^[a-z][a-z0-9]{0,9}$ ]] || die "bad --provider-link '$provider_link': 1-10 lowercase letters or digits"
[[ $stop_timeout =~ ^[0-9]+$ ]] || die "bad --stop-timeout '$stop_timeout'"

state=$dir/state
host_ip=$subnet.1
bridge=${prefix}br

node_ip() { echo "$subnet.$(($1 + 1))"; }
node_dir() { echo "$dir/node$1"; }
pki=$dir/pki
ca_sh=$top/scripts/fincloud-ca.sh
# How the host reaches node i's libvirt: over TLS with the testbed's own
# client certificate (DIR/pki/virsh), or plain TCP with --insecure.
node_uri() {
	if [ "${tls:-1}" = 1 ]; then
		echo "qemu+tls://$(node_ip "$1")/system?pkipath=$pki/virsh"
	else
		echo "qemu+tcp://$(node_ip "$1")/system"
	fi
}
# How other nodes reach it for a migration (their own certificates).
node_migration_uri() {
	if [ "${tls:-1}" = 1 ]; then
		echo "qemu+tls://$(node_ip "$1")/system"
	else
		echo "qemu+tcp://$(node_ip "$1")/system"
	fi
}
ctl_scheme() { if [ "${tls:-1}" = 1 ]; then echo https; else echo http; fi; }

# A saved testbed's settings win over the defaults for every later command.
load_env() {
	if [ -f "$dir/testbed.env" ]; then
		# shellcheck disable=SC1091
		. "$dir/testbed.env"
		host_ip=$subnet.1
		bridge=${prefix}br
	fi
}

record() { # what... : one line per created resource, undone in reverse
	echo "$*" >>"$state"
}

proc_start_time() { # pid -> start time in clock ticks (field 22 of stat)
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	# after "comm) " the fields start at 3 (state); start time is 22
	set -- $s
	echo "${20}"
}

record_pid() { # name pid
	local t
	t=$(proc_start_time "$2") || die "process '$1' (pid $2) exited at once; see its log in $dir"
	record pid "$1" "$2" "$t"
}

# pid_alive PID STARTTIME: the same process we started is still there
pid_alive() {
	local t
	t=$(proc_start_time "$1") || return 1
	[ "$t" = "$2" ]
}

# stop_pids SIGNAL "name pid start"...: signal them all, then wait for
# each (SIGKILL after 10 s), so nodes stop in parallel.
stop_pids() {
	local sig=$1 l name pid t i alive
	shift
	for l in "$@"; do
		read -r name pid t <<<"$l"
		pid_alive "$pid" "$t" && kill "-$sig" "$pid" 2>/dev/null || true
	done
	for i in $(seq 1 100); do
		alive=0
		for l in "$@"; do
			read -r name pid t <<<"$l"
			pid_alive "$pid" "$t" && alive=1
		done
		[ "$alive" -eq 0 ] && return 0
		sleep 0.1
	done
	for l in "$@"; do
		read -r name pid t <<<"$l"
		if pid_alive "$pid" "$t"; then
			echo "testbed: '$name' (pid $pid) ignored SIG$sig for 10 s; sending SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	sleep 0.5
}

stop_pid() { # name pid starttime [signal]
	stop_pids "${4:-TERM}" "$1 $2 $3"
}

# Latest recorded pid line of NAME: "pid NAME PID START"
find_pid() {
	[ -f "$state" ] || return 1
	awk -v n="$1" '$1 == "pid" && $2 == n { l = $0 } END { if (l == "") exit 1; print l }' "$state"
}

# ------------------------------------------------------------------ down
undo_line() { # one state line
	local kind=$1
	shift
	case $kind in
	pid) stop_pid "$@" ;;
	netns)
		# every process left in the node's namespace (qemu guests that
		# libvirtd started for us, helpers) belongs to this testbed
		local p
		for p in $(ip netns pids "$1" 2>/dev/null); do kill -TERM "$p" 2>/dev/null || true; done
		sleep 0.5
		for p in $(ip netns pids "$1" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
		ip netns del "$1" 2>/dev/null || true
		;;
	link) ip link del "$1" 2>/dev/null || true ;;
	domains) destroy_domains "$1" ;;
	domains-under) destroy_domains "$1" "$2" ;;
	mkdir) sweep_mountpoints ;;
	ceph) bash "$top/scripts/ceph-testbed.sh" down --dir "$1" || true ;;
	file) rm -f "$1" ;;
	*) echo "testbed: unknown state line '$kind $*' ignored" >&2 ;;
	esac
}

# Mount points a testbed created on the host (/etc/fincloud,
# /var/lib/fincloud when they did not exist) are listed in one file shared
# by every testbed on the machine, one "PATH STATE_FILE" line per testbed
# that needs them. Whichever testbed goes down last, when no other testbed
# that needs them is still up (its state file exists) and no process
# mounts on them any more, removes those still empty; a directory that
# something else filled is left alone and forgotten. A testbed that is
# coming up registers itself before it looks for the directory, under the
# same lock, so a sweep never removes a mount point it is about to use.
mountpoints=/run/fincloud-testbed.mountpoints

mountpoint_add() { # path: create it if missing; register this testbed
	(
		flock 9
		if [ ! -d "$1" ]; then
			mkdir "$1"
			echo "$1 $state" >>"$mountpoints"
		elif grep -q "^$1 " "$mountpoints" 2>/dev/null; then
			grep -qxF "$1 $state" "$mountpoints" || echo "$1 $state" >>"$mountpoints"
		fi
	) 9<"/run"
}

sweep_mountpoints() {
	[ -f "$mountpoints" ] || return 0
	(
		flock 9
		# another testbed's sweep may have removed the list while this
		# one waited for the lock: then there is nothing left to sweep
		# (reading it anyway failed this "down" half way, leaving its
		# state file, so the next "up" in DIR was refused)
		[ -f "$mountpoints" ] || exit 0
		local m owner keep=() busy=()
		# paths another testbed that is still up needs
		while read -r m owner; do
			[ -n "$m" ] || continue
			if [ -n "$owner" ] && [ "$owner" != "$state" ] && [ -f "$owner" ]; then
				keep+=("$m $owner")
				busy+=("$m")
			fi
		done <"$mountpoints"
		while read -r m owner; do
			[ -n "$m" ] || continue
			[ -n "$owner" ] && [ "$owner" != "$state" ] && [ -f "$owner" ] && continue
			if printf '%s\n' "${busy[@]}" | grep -xF "$m" >/dev/null; then
				continue
			elif cat /proc/[0-9]*/mountinfo 2>/dev/null | awk -v m="$m" '$5 == m { f = 1 } END { exit !f }'; then
				keep+=("$m") # something still mounts on it
			elif [ -d "$m" ]; then
				rmdir "$m" 2>/dev/null || true
			fi
		done <"$mountpoints"
		if [ ${#keep[@]} -eq 0 ]; then
			rm -f "$mountpoints"
		else
			printf '%s\n' "${keep[@]}" >"$mountpoints"
		fi
	) 9<"/run"
}

# Destroy and undefine every domain of a node while its libvirtd still
# answers, so no guest outlives the testbed (the netns sweep is the
# backstop).
destroy_domains() { # uri [only those with a disk under this path]
	local uri=$1 under=${2:-} d
	timeout 10 virsh -c "$uri" version >/dev/null 2>&1 || return 0
	for d in $(timeout 10 virsh -c "$uri" list --all --uuid 2>/dev/null); do
		if [ -n "$under" ] && ! timeout 10 virsh -c "$uri" domblklist "$d" --details 2>/dev/null |
			awk -v p="$under" 'index($4, p) == 1 { f = 1 } END { exit !f }'; then
			continue
		fi
		timeout 30 virsh -c "$uri" destroy "$d" >/dev/null 2>&1 || true
		timeout 30 virsh -c "$uri" undefine --nvram "$d" >/dev/null 2>&1 ||
			timeout 30 virsh -c "$uri" undefine "$d" >/dev/null 2>&1 || true
	done
	# a shared libvirt (--local) also keeps the storage pools our agent
	# defined over directories of this testbed
	[ -n "$under" ] || return 0
	local p
	for p in $(timeout 10 virsh -c "$uri" pool-list --all --name 2>/dev/null); do
		if timeout 10 virsh -c "$uri" pool-dumpxml "$p" 2>/dev/null |
			awk -v u="$under" '{ if (match($0, /<path>[^<]*<\/path>/)) { s = substr($0, RSTART + 6, RLENGTH - 13); if (index(s, u) == 1) f = 1 } } END { exit !f }'; then
			timeout 30 virsh -c "$uri" pool-destroy "$p" >/dev/null 2>&1 || true
			timeout 30 virsh -c "$uri" pool-undefine "$p" >/dev/null 2>&1 || true
		fi
	done
}

cmd_down() {
	load_env
	if [ ! -f "$state" ]; then
		if [ -d "$dir" ]; then
			say "no state file in '$dir': nothing recorded to stop"
		else
			say "no testbed in '$dir'"
		fi
		return 0
	fi
	say "tearing down the testbed in '$dir'"
	local lines i l first=() second=()
	mapfile -t lines <"$state"
	# 1. the controller and the agents, so nothing recreates guests;
	# 2. every node's guests, while its libvirtd still answers;
	# 3. the node daemons, all at once; 4. the rest, newest first.
	[ -z "$keep_logs" ] || copy_logs "$keep_logs"
	for l in "${lines[@]}"; do
		case $l in
		"pid controller "* | "pid agent-"*) first+=("${l#pid }") ;;
		"pid "*) second+=("${l#pid }") ;;
		esac
	done
	[ ${#first[@]} -eq 0 ] || stop_pids TERM "${first[@]}"
	for l in "${lines[@]}"; do
		case $l in
		"domains "*) destroy_domains "${l#domains }" & ;;
		"domains-under "*) read -r _ a b <<<"$l"; destroy_domains "$a" "$b" & ;;
		esac
	done
	wait
	[ ${#second[@]} -eq 0 ] || stop_pids TERM "${second[@]}"
	for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
		case ${lines[i]} in "pid "* | "domains "* | "domains-under "*) continue ;; esac
		# shellcheck disable=SC2086
		undo_line ${lines[i]}
	done
	sweep_mountpoints
	rm -f "$state" "$dir/testbed.env"
	rm -rf "${dir:?}"/node* "${dir:?}/controller" "${dir:?}/pki"
	rmdir "$dir" 2>/dev/null || true
	say "down: everything 'up' started is stopped and removed"
}

# copy_logs DEST: the logs and records of this testbed, with their paths
# below DIR, copied before "down" stops anything: they show the testbed as
# it was (the guests' domain XML is still there, and no QEMU log ends yet
# in the teardown's "shutting down, reason=destroyed"). Tokens,
# credentials and disks stay behind.
copy_logs() {
	local to=$1 n
	if ! mkdir -p "$to"; then
		echo "testbed: cannot create '$to': the logs are not kept" >&2
		return 0
	fi
	n=$(cd "$dir" && find . -type f \( -name '*.log' -o -name '*.json' \
		-o -name '*.err' -o -name '*.txt' -o -name 'controller.conf' \
		-o -name 'fincloud.db' -o -name 'fincloud.db-wal' \
		-o -path './node*/root/etc/libvirt/qemu/*.xml' \
		-o -path './node*/root/etc/fincloud/*.conf' \
		-o -name state -o -name testbed.env -o -name pids \) \
		-print0 | xargs -0 -r cp --parents -t "$to" -- && find "$to" -type f | wc -l)
	say "kept ${n:-0} log file(s) of this testbed in '$to'"
}

# -------------------------------------------------------------------- up
need() {
	command -v "$1" >/dev/null 2>&1 || die "'$1' is missing: run scripts/deps.sh (package $2)"
}

# The node side, run inside "ip netns exec NS unshare --mount
# --propagation private": private /run and libvirt directories, then the
# daemons. It records their PIDs for the host in NODEDIR/pids.
node_script() {
	cat <<'EOF'
set -eu
nd=$1
no_kvm=$2
mount -t tmpfs -o mode=0755 tmpfs /run
# /var/lock is /run/lock: libvirtd locks a pty there when it opens a
# guest's serial console (finctl vm console)
mkdir -m 1777 /run/lock
if [ "$no_kvm" = 1 ]; then
	# a /dev of the few nodes QEMU and libvirt use, without kvm; tun
	# for the guests' NICs (tenant networks)
	mkdir -p /run/fc-dev/net
	for f in null zero full random urandom tty; do cp -a "/dev/$f" /run/fc-dev/; done
	cp -a /dev/net/tun /run/fc-dev/net/
	mount -t tmpfs -o mode=0755 tmpfs /dev
	cp -a /run/fc-dev/. /dev/
	rm -rf /run/fc-dev
	mkdir /dev/pts /dev/shm
	mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts
	ln -s pts/ptmx /dev/ptmx
	mount -t tmpfs -o mode=1777 tmpfs /dev/shm
	ln -s /proc/self/fd /dev/fd
	ln -s /proc/self/fd/0 /dev/stdin
	ln -s /proc/self/fd/1 /dev/stdout
	ln -s /proc/self/fd/2 /dev/stderr
fi
for m in etc/libvirt var/lib/libvirt var/cache/libvirt var/log/libvirt etc/fincloud var/lib/fincloud etc/pki; do
	mount --bind "$nd/root/$m" "/$m"
done
ip link set lo up
virtlogd </dev/null >>"$nd/virtlogd.log" 2>&1 &
echo "virtlogd $!" >>"$nd/pids"
libvirtd --listen </dev/null >>"$nd/libvirtd.log" 2>&1 &
echo "libvirtd $!" >>"$nd/pids"
for i in $(seq 1 150); do
	if virsh -c qemu:///system version >/dev/null 2>&1; then exit 0; fi
	sleep 0.2
done
echo "libvirtd in node did not answer within 30 s; see $nd/libvirtd.log" >&2
exit 1
EOF
}

# Private copies of the host's libvirt configuration for node i.
node_prepare() { # i
	local i=$1 nd ip uuid
	nd=$(node_dir "$i")
	ip=$(node_ip "$i")
	mkdir -p "$nd/root"/{var/lib/libvirt,var/cache/libvirt,var/log/libvirt,etc/fincloud,var/lib/fincloud,etc/pki}
	# the host's settings files only: none of its guests, networks,
	# storage pools, secrets or hooks
	mkdir -p "$nd/root/etc/libvirt/qemu"
	find /etc/libvirt -maxdepth 1 -type f -exec cp -p {} "$nd/root/etc/libvirt/" \;
	# and libvirt's stock network filters (clean-traffic, ...), which the
	# guests' port filters build on
	[ ! -d /etc/libvirt/nwfilter ] || cp -pr /etc/libvirt/nwfilter "$nd/root/etc/libvirt/"
	uuid=$(cat /proc/sys/kernel/random/uuid)
	if [ "$tls" = 1 ]; then
		# the node's certificate (CN nodeI, its address), where its
		# libvirtd, QEMU and agent read it (/etc/pki in the node)
		bash "$ca_sh" issue "node$i" --dir "$pki" --server --client --ip "$ip" >/dev/null ||
			die "node $i: fincloud-ca.sh could not issue its certificate"
		bash "$ca_sh" install-node "$pki/node$i" --root "$nd/root" ||
			die "node $i: fincloud-ca.sh could not install its certificate"
		cat >>"$nd/root/etc/libvirt/libvirtd.conf" <<EOF

# fincloud testbed node $i: TLS only, clients need a certificate of the
# testbed's CA (the other nodes' libvirtd, the host's virsh)
host_uuid = "$uuid"
listen_addr = "$ip"
log_outputs = "3:file:$nd/libvirtd-debug.log"
$(bash "$ca_sh" libvirt-conf libvirtd)
EOF
	else
		cat >>"$nd/root/etc/libvirt/libvirtd.conf" <<EOF

# fincloud testbed node $i (--insecure)
host_uuid = "$uuid"
listen_tls = 0
listen_tcp = 1
auth_tcp = "none"
listen_addr = "$ip"
log_outputs = "3:file:$nd/libvirtd-debug.log"
EOF
	fi
	# Guests run as root without a security driver or cgroups: every node
	# shares the host's cgroup tree, where two libvirtds would pick the
	# same machine names (qemu-1-NAME) during a migration.
	cat >>"$nd/root/etc/libvirt/qemu.conf" <<EOF

# fincloud testbed node $i
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
EOF
	if [ "$tls" = 1 ]; then
		cat >>"$nd/root/etc/libvirt/qemu.conf" <<EOF
# migration streams over TLS both ways, the peer's certificate checked;
# a migration without TLS is refused
$(bash "$ca_sh" libvirt-conf qemu)
EOF
	fi
	echo "$uuid" >"$nd/host_uuid"
	# the QEMU capabilities node 1 probed (seconds of work) serve the
	# others too: same binaries, same host
	if [ "$i" -gt 1 ] && [ -d "$(node_dir 1)/root/var/cache/libvirt/qemu" ]; then
		cp -a "$(node_dir 1)/root/var/cache/libvirt/qemu" "$nd/root/var/cache/libvirt/"
	fi
}

node_up() { # i
	local i=$1 ns=$prefix$1 vh=${prefix}h$1 vn=${prefix}n$1 nd ip line name pid
	nd=$(node_dir "$i")
	ip=$(node_ip "$i")
	node_prepare "$i"
	ip netns add "$ns"
	record netns "$ns"
	ip link add "$vh" type veth peer name "$vn"
	record link "$vh"
	ip link set "$vn" netns "$ns"
	ip link set "$vh" master "$bridge"
	ip link set "$vh" up
	ip netns exec "$ns" ip addr add "$ip/24" dev "$vn"
	ip netns exec "$ns" ip link set "$vn" up
	ip netns exec "$ns" ip link set lo up
	if [ -n "$provider_link" ]; then
		# the node's provider link: Ppi on the host's Ppbr, named
		# $provider_link in the node
		ip link add "${prefix}p$i" type veth peer name "${prefix}q$i"
		record link "${prefix}p$i"
		ip link set "${prefix}q$i" netns "$ns"
		ip link set "${prefix}p$i" master "${prefix}pbr"
		ip link set "${prefix}p$i" up
		ip netns exec "$ns" ip link set "${prefix}q$i" name "$provider_link"
		ip netns exec "$ns" ip link set "$provider_link" up
	fi
	node_script >"$nd/node.sh"
	: >"$nd/pids"
	local rc=0
	ip netns exec "$ns" unshare --mount --propagation private bash "$nd/node.sh" "$nd" "$no_kvm" || rc=$?
	while read -r name pid; do
		record_pid "$name-$i" "$pid"
	done <"$nd/pids"
	[ "$rc" -eq 0 ] || die "node $i: libvirt did not start (see $nd/libvirtd.log)"
	# destroy the node's guests before its libvirtd stops (reverse order)
	record domains "$(node_uri "$i")"
	timeout 20 virsh -c "$(node_uri "$i")" version >/dev/null 2>&1 ||
		die "node $i: libvirtd does not answer on $(node_uri "$i") (see $nd/libvirtd.log)"
	say "node $i: namespace $ns, libvirt at $(node_migration_uri "$i")"
}

# Run a command in node i's network and mount namespaces.
# node_pid i: a live process of node i (its libvirtd, else its
# virtlogd), whose namespaces are the node's
node_pid() {
	local i=$1 d line pid start
	for d in libvirtd virtlogd; do
		line=$(find_pid "$d-$i") || continue
		read -r _ _ pid start <<<"$line"
		if pid_alive "$pid" "$start"; then
			echo "$pid"
			return 0
		fi
	done
	die "node $i has no running libvirtd or virtlogd in this testbed"
}

node_exec() { # i cmd...
	local i=$1 pid
	shift
	pid=$(node_pid "$i") || exit 1
	nsenter -t "$pid" -n -m -- "$@"
}

libvirtd_stop() { # i [signal]
	local line name pid start
	line=$(find_pid "libvirtd-$1") || die "node $1 has no libvirtd in this testbed"
	read -r _ name pid start <<<"$line"
	stop_pid "$name" "$pid" "$start" "${2:-TERM}"
	say "node $1: libvirtd stopped (SIG${2:-TERM})"
}

libvirtd_start() { # i
	local i=$1 nd pid ip
	nd=$(node_dir "$i")
	ip=$(node_ip "$i")
	pid=$(node_pid "$i") || exit 1
	nsenter -t "$pid" -n -m -- libvirtd --listen </dev/null >>"$nd/libvirtd.log" 2>&1 &
	pid=$!
	sleep 0.2
	record_pid "libvirtd-$i" "$pid"
	for _ in $(seq 1 100); do
		timeout 5 virsh -c "$(node_uri "$i")" version >/dev/null 2>&1 && {
			say "node $i: libvirtd started again (pid $pid)"
			return 0
		}
		sleep 0.2
	done
	die "node $i: libvirtd does not answer after a restart (see $nd/libvirtd.log)"
}

# port_taken ADDRESS PORT; it reads what ss prints whole: see
# qemu_log_arrived on why no check here pipes into a quiet grep
port_taken() {
	[ -n "$(ss -Hltn "src $1:$2" 2>/dev/null)" ] ||
		[ -n "$(ss -Hltn "src 0.0.0.0:$2" 2>/dev/null)" ]
}

# The agents' port: the API port + 1, with TLS (client certificates).
agent_port() { echo $((port + 1)); }
ctl_curl() { # URL: one quiet GET that fails on an error status
	if [ "$tls" = 1 ]; then
		curl -fsS --cacert "$pki/ca-cert.pem" "$1" >/dev/null 2>&1
	else
		curl -fsS "$1" >/dev/null 2>&1
	fi
}

controller_up() {
	local cd=$dir/controller
	port_taken "$host_ip" "$port" &&
		die "port $host_ip:$port is taken by another program: pick another --port"
	mkdir -p "$cd"
	cat >"$cd/controller.conf" <<EOF
listen_address = $host_ip
listen_port = $port
database = $cd/fincloud.db
state_dir = $cd
heartbeat_timeout = 15
log_level = info
EOF
	if [ "$tls" = 1 ]; then
		port_taken "$host_ip" "$(agent_port)" &&
			die "port $host_ip:$(agent_port) (the agents' port) is taken by another program: pick another --port"
		bash "$ca_sh" issue controller --dir "$pki" --server --ip "$host_ip" >/dev/null ||
			die "fincloud-ca.sh could not issue the controller's certificate"
		cat >>"$cd/controller.conf" <<EOF
tls_cert = $pki/controller/cert.pem
tls_key = $pki/controller/key.pem
tls_ca = $pki/ca-cert.pem
require_client_cert = yes
agent_listen_port = $(agent_port)
EOF
	else
		echo "insecure = yes" >>"$cd/controller.conf"
	fi
	# the dashboard of this build (docs/dashboard.md)
	[ ! -d "$bin/../ui" ] || echo "ui_dir = $(cd "$bin/../ui" && pwd)" >>"$cd/controller.conf"
	controller_start
}

# Start the controller of this testbed on its config and database (again,
# after controller-kill) and wait until it answers.
controller_start() {
	local cd=$dir/controller i url
	url=$(ctl_scheme)://$host_ip:$port
	[ -f "$cd/controller.conf" ] || die "this testbed has no controller"
	"$bin/fincloud-controller" --config "$cd/controller.conf" </dev/null >>"$cd/controller.log" 2>&1 &
	record_pid controller $!
	for i in $(seq 1 100); do
		if [ -s "$cd/admin.token" ] && ctl_curl "$url/healthz"; then
			break
		fi
		sleep 0.1
	done
	ctl_curl "$url/healthz" ||
		die "the controller does not answer on $url/healthz (see $cd/controller.log)"
	local line pid start
	line=$(find_pid controller)
	read -r _ _ pid start <<<"$line"
	pid_alive "$pid" "$start" || die "the controller exited (see $cd/controller.log)"
	[ -s "$cd/admin.token" ] || die "the controller wrote no '$cd/admin.token'"
	say "controller: $url (state in $cd)"
}

finctl_admin() {
	local ca=''
	[ "$tls" = 0 ] || ca=$pki/ca-cert.pem
	FINCLOUD_URL=$(ctl_scheme)://$host_ip:$port FINCLOUD_TOKEN=$(cat "$dir/controller/admin.token") \
		FINCLOUD_CA=$ca "$bin/finctl" "$@"
}

join_token() { # uses: one registration per node
	local out tok
	out=$(finctl_admin -o json token create --role join --uses "$1") ||
		die "finctl token create --role join failed: $out"
	tok=$(printf '%s' "$out" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("token") or d.get("secret") or "")')
	[ -n "$tok" ] || die "finctl token create printed no token: $out"
	echo "$tok"
}

agent_install() { # i token
	local i=$1 tok=$2 nd sec
	nd=$(node_dir "$i")
	if [ "$tls" = 1 ]; then
		# --local: the node's certificate is made here (a namespace
		# node got it with its libvirtd)
		[ -f "$pki/node$i/cert.pem" ] ||
			bash "$ca_sh" issue "node$i" --dir "$pki" --client >/dev/null ||
			die "node $i: fincloud-ca.sh could not issue its certificate"
		sec=(--controller "https://$host_ip:$(agent_port)" --tls-dir "$pki/node$i")
	else
		sec=(--controller "http://$host_ip:$port" --insecure)
	fi
	bash "$top/scripts/install-agent.sh" --root "$nd/root" --binary "$bin/fincloud-agent" \
		"${sec[@]}" --join-token "$tok" --pool "$pool" \
		--node "node$i" --migration-uri "$(node_migration_uri "$i")" >"$nd/install.log" 2>&1 ||
		die "node $i: install-agent.sh failed: $(tail -n 3 "$nd/install.log")"
}

agent_start() { # i
	local i=$1 nd
	nd=$(node_dir "$i")
	[ -x "$nd/root/usr/local/bin/fincloud-agent" ] || die "node $i has no agent installed"
	local lpid
	lpid=$(node_pid "$i") || exit 1
	# nsenter enters the namespaces and execs the agent: $! is the agent
	nsenter -t "$lpid" -n -m -- "$nd/root/usr/local/bin/fincloud-agent" \
		--config /etc/fincloud/agent.conf --stop-timeout "$stop_timeout" \
		</dev/null >>"$nd/agent.log" 2>&1 &
	local pid=$!
	sleep 0.2
	record_pid "agent-$i" "$pid"
	say "node $i: agent started (pid $pid, log $nd/agent.log)"
}

agent_stop() { # i signal
	local line
	local line name pid start
	line=$(find_pid "agent-$1") || die "node $1 has no agent in this testbed"
	read -r _ name pid start <<<"$line"
	stop_pid "$name" "$pid" "$start" "$2"
}

wait_hosts_up() { # n
	local n=$1 i out up
	for i in $(seq 1 150); do
		out=$(finctl_admin -o json host list 2>/dev/null) || out=
		up=$(printf '%s' "$out" | /usr/bin/python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception:
    print(0); sys.exit()
items = d.get("hosts", d.get("items", d)) if isinstance(d, dict) else d
print(sum(1 for h in items if h.get("state", h.get("status")) in ("up", "ready", "active")))
' 2>/dev/null || echo 0)
		[ "$up" -ge "$n" ] && return 0
		sleep 0.2
	done
	die "only ${up:-0} of $n hosts came up at the controller within 30 s (see $dir/node*/agent.log, $dir/controller/controller.log)"
}

check_namespaces() {
	ip netns add "${prefix}probe$$" 2>/dev/null || return 1
	ip netns del "${prefix}probe$$"
	unshare --mount --propagation private true 2>/dev/null || return 1
}

on_up_failure() {
	local rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "testbed: 'up' failed; undoing what it did" >&2
		[ -z "$keep_logs" ] || echo "testbed: its logs go to '$keep_logs'" >&2
		cmd_down >&2 || true
	fi
	exit "$rc"
}

cmd_up() {
	local n=${args[0]:-}
	[[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 50 ] || die "usage: testbed.sh up N (1..50 nodes)"
	[ "$(id -u)" -eq 0 ] || die "the testbed needs root (namespaces, bridges, libvirtd)"
	need ip iproute2
	need unshare util-linux
	need nsenter util-linux
	need libvirtd libvirt-daemon-system
	need virtlogd libvirt-daemon-system
	need virsh libvirt-clients
	need curl curl
	[ ! -f "$state" ] || die "a testbed already runs in '$dir' (run: $self down --dir $dir)"
	[ "$tls" = 0 ] || need certtool gnutls-bin
	[ "$ceph" -eq 0 ] || [ "$local_mode" -eq 0 ] || die "--ceph needs namespace nodes, not --local"
	[ -z "$(ip netns list 2>/dev/null | awk -v p="$prefix" '$1 ~ "^" p "[0-9]+$"')" ] ||
		die "namespaces named '$prefix<N>' exist already: another testbed uses --prefix $prefix; pick another --prefix and --subnet"
	if [ "$local_mode" -eq 0 ] && ! check_namespaces; then
		die "network or mount namespaces are not available here; use --local for one node on the host's libvirt"
	fi
	mkdir -p "$dir"
	: >"$state"
	trap on_up_failure EXIT
	cat >"$dir/testbed.env" <<EOF
subnet=$subnet
prefix=$prefix
bin=$bin
port=$port
pool=$pool
stop_timeout=$stop_timeout
no_kvm=$no_kvm
nodes=$n
local_mode=$local_mode
tls=$tls
fincloud=0
EOF
	if [ "$tls" = 1 ]; then
		# the testbed's CA, and the host's own client certificate for
		# virsh (libvirt's pkipath layout)
		rm -rf "$pki"
		bash "$ca_sh" init "$pki" --cn "fincloud testbed CA" >/dev/null &&
			bash "$ca_sh" issue virsh-host --dir "$pki" --client >/dev/null ||
			die "fincloud-ca.sh could not make the testbed's CA in '$pki'"
		mkdir -p "$pki/virsh"
		chmod 0700 "$pki/virsh"
		cp "$pki/ca-cert.pem" "$pki/virsh/cacert.pem"
		cp "$pki/virsh-host/cert.pem" "$pki/virsh/clientcert.pem"
		install -m 0600 "$pki/virsh-host/key.pem" "$pki/virsh/clientkey.pem"
	fi
	if [ "$local_mode" -eq 1 ]; then
		up_local
	else
		local m
		# mount points for the nodes' private /etc/fincloud,
		# /var/lib/fincloud and /etc/pki; the host's own stay untouched
		for m in /etc/fincloud /var/lib/fincloud /etc/pki; do
			mountpoint_add "$m"
			if [ -f "$mountpoints" ] && grep -qxF "$m $state" "$mountpoints"; then
				grep -qx "mkdir $m" "$state" || record mkdir "$m"
			fi
		done
		ip link add "$bridge" type bridge
		record link "$bridge"
		ip addr add "$host_ip/24" dev "$bridge"
		ip link set "$bridge" up
		if [ -n "$provider_link" ]; then
			ip link add "${prefix}pbr" type bridge
			record link "${prefix}pbr"
			ip link set "${prefix}pbr" up
		fi
		local i
		for i in $(seq 1 "$n"); do node_up "$i"; done
		[ "$ceph" -eq 0 ] || ceph_up "$n"
		up_fincloud "$n"
	fi
	trap - EXIT
	say "up: $n node(s) in '$dir'"
	cmd_status
}

# The testbed's Ceph cluster (--ceph), stopped before the nodes' daemons
# by the "ceph" state line; each node's client files in its /etc/fincloud.
ceph_up() { # n
	local i
	record ceph "$dir/ceph"
	bash "$top/scripts/ceph-testbed.sh" up --dir "$dir/ceph" --nodes "$1" \
		--prefix "$prefix" --subnet "$subnet" || die "scripts/ceph-testbed.sh up failed"
	for i in $(seq 1 "$1"); do
		mkdir -p "$(node_dir "$i")/root/etc/fincloud/ceph"
		cp "$dir/ceph/clients/node$i/"* "$(node_dir "$i")/root/etc/fincloud/ceph/"
	done
	echo "ceph=1" >>"$dir/testbed.env"
}

# --local: no namespaces; the host's own libvirt is the only node.
up_local() {
	[ "${args[0]}" = 1 ] || die "--local gives exactly one node"
	mkdir -p "$(node_dir 1)/root"
	local pidfile=$dir/libvirtd-ensure.pids
	if [ -x "$top/scripts/libvirtd-ensure.sh" ]; then
		bash "$top/scripts/libvirtd-ensure.sh" "$pidfile" || die "scripts/libvirtd-ensure.sh could not start libvirtd"
		local name pid
		# what it started and still runs is ours to stop (one that lost
		# a race with another starter has exited already)
		[ -f "$pidfile" ] && while read -r name pid _; do
			[ -n "$pid" ] && proc_start_time "$pid" >/dev/null && record_pid "$name" "$pid"
		done <"$pidfile"
	fi
	timeout 20 virsh -c qemu:///system version >/dev/null 2>&1 || die "the host's libvirt (qemu:///system) does not answer"
	host_ip=127.0.0.1
	sed -i 's/^subnet=.*/subnet=127.0.0/' "$dir/testbed.env"
	subnet=127.0.0
	say "node 1: the host's own libvirt, qemu:///system (no namespaces)"
	up_fincloud 1
}

up_fincloud() { # n
	local n=$1 i tok missing=()
	if [ "$fincloud" -eq 0 ]; then
		say "--no-fincloud: libvirt nodes only, no controller and no agents"
		return 0
	fi
	for p in fincloud-controller finctl fincloud-agent; do
		[ -x "$bin/$p" ] || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		say "SKIPPED the controller and the agents: missing in '$bin': ${missing[*]} (build them with make; the libvirt nodes run without them)"
		echo "fincloud=0" >>"$dir/testbed.env"
		return 0
	fi
	controller_up
	# agents join an existing pool only
	if [ "$pool" != default ] && ! finctl_admin pool show "$pool" >/dev/null 2>&1; then
		finctl_admin pool create "$pool" >/dev/null || die "finctl pool create $pool failed"
		say "pool '$pool' created for the agents to join"
	fi
	tok=$(join_token "$n")
	for i in $(seq 1 "$n"); do
		agent_install "$i" "$tok"
		if [ "$local_mode" -eq 1 ]; then
			agent_start_local
		else
			agent_start "$i"
		fi
	done
	wait_hosts_up "$n"
	echo "fincloud=1" >>"$dir/testbed.env"
	say "all $n agents registered and up"
}

# --local: no mount namespace to put the node's /etc/fincloud and
# /var/lib/fincloud in place, so the paths point into the node's root.
agent_start_local() {
	local r tls_files=()
	r=$(node_dir 1)/root
	[ "$tls" = 0 ] || tls_files=(--ca-file "$r/etc/pki/CA/cacert.pem"
		--cert-file "$r/etc/pki/libvirt/clientcert.pem"
		--key-file "$r/etc/pki/libvirt/private/clientkey.pem")
	"$r/usr/local/bin/fincloud-agent" --config "$r/etc/fincloud/agent.conf" \
		--credential-file "$r/var/lib/fincloud/agent.credential" \
		--join-token-file "$r/etc/fincloud/join.token" \
		--storage-dir "$r/var/lib/fincloud/disks" --image-dir "$r/var/lib/fincloud/images" \
		--manifest-dir "$r/etc/fincloud/manifests" --migration-uri qemu:///system \
		"${tls_files[@]}" \
		--stop-timeout "$stop_timeout" \
		</dev/null >>"$(node_dir 1)/agent.log" 2>&1 &
	local pid=$!
	sleep 0.2
	record_pid agent-1 "$pid"
	# "down" destroys the guests whose disks live in this node's root,
	# and no other guest of the host's libvirt
	grep -q "^domains-under qemu:///system " "$state" || record domains-under qemu:///system "$r/"
}

cmd_status() {
	load_env
	[ -f "$state" ] || {
		say "no testbed in '$dir'"
		return 1
	}
	local i line name pid start st
	echo "testbed in $dir: ${nodes:-?} node(s), subnet $subnet.0/24, prefix $prefix"
	while read -r line; do
		# shellcheck disable=SC2086
		set -- $line
		[ "$1" = pid ] || continue
		if pid_alive "$3" "$4"; then st=running; else st=gone; fi
		printf '  %-14s pid %-8s %s\n' "$2" "$3" "$st"
	done <"$state"
	if [ "${local_mode:-0}" = 1 ]; then
		echo "  node 1: qemu:///system (local)"
	else
		for i in $(seq 1 "${nodes:-0}"); do
			echo "  node $i: virsh -c '$(node_uri "$i")'"
		done
	fi
	[ "${ceph:-0}" = 0 ] || echo "  ceph: $top/scripts/ceph-testbed.sh status --dir $dir/ceph"
	if [ "${fincloud:-0}" = 1 ]; then
		echo "  controller: $(ctl_scheme)://$host_ip:$port  (eval \"\$($self env --dir $dir)\" sets FINCLOUD_URL, FINCLOUD_TOKEN and FINCLOUD_CA)"
		[ "$tls" = 0 ] || echo "  agents' port: https://$host_ip:$(agent_port) (client certificates of $pki/ca-cert.pem)"
	else
		echo "  controller: not running"
	fi
}

# qemu_log_arrived FILE: 0 when the last QEMU process the log records was
# started to receive a migration (-incoming) and has not stopped since;
# prints the evidence either way. libvirt writes one block per process
# start: a "starting up libvirt" line, then the command line (one argument
# per line, each but the last ending in a backslash, since libvirt 4.x;
# all on one line before), then QEMU's messages, and a "shutting down,
# reason=..." line when the process ends.
# The verdict is read into a variable, never piped into "grep -q": under
# "set -o pipefail" grep's early exit kills a writer that prints line by
# line (virsh) with SIGPIPE, and a true check then reads as false.
qemu_log_arrived() {
	[ -r "$1" ] || {
		echo "no QEMU log '$1'"
		return 1
	}
	awk '
	/: starting up libvirt version/ {
		starts++
		when = $0
		sub(/: starting up.*/, "", when)
		incoming = 0
		cmdline = 1
		stopped = ""
		next
	}
	cmdline {
		if ($0 ~ /(^| )-incoming( |$)/)
			incoming = 1
		if ($0 !~ /\\$/)
			cmdline = 0
		next
	}
	/: shutting down, reason=/ {
		stopped = $0
		sub(/^.*: shutting down, /, "", stopped)
	}
	END {
		if (starts == 0) {
			print "the log records no QEMU start"
			exit 1
		}
		if (stopped != "") {
			print "its last QEMU process (started " when ") has stopped (" stopped ")"
			exit 1
		}
		if (!incoming) {
			print "its QEMU process was started afresh at " when ", not to receive a migration"
			exit 1
		}
		print "its QEMU process was started at " when " to receive a live migration (-incoming)"
	}' "$1"
}

# Whether guest VM on node i arrived by live migration (see usage).
cmd_arrived() {
	local i vm uri st name log why
	if [ -n "$log_file" ]; then
		qemu_log_arrived "$log_file"
		return
	fi
	load_env
	[ -f "$state" ] || die "no testbed in '$dir'"
	[ ${#args[@]} -eq 2 ] || die "usage: testbed.sh arrived NODE VM_UUID, or arrived --log QEMU_LOG"
	i=${args[0]}
	vm=${args[1]}
	[[ $i =~ ^[0-9]+$ ]] && [ "$i" -ge 1 ] && [ "$i" -le "${nodes:-0}" ] || die "no node '$i' in this testbed"
	if [ "${local_mode:-0}" = 1 ]; then
		uri=qemu:///system
		log=/var/log/libvirt/qemu
	else
		uri=$(node_uri "$i")
		log=$(node_dir "$i")/root/var/log/libvirt/qemu
	fi
	if ! st=$(timeout 30 virsh -q -c "$uri" domstate "$vm" 2>&1); then
		echo "vm $vm is not on node $i: ${st//$'\n'/ }"
		return 1
	fi
	st=${st%%$'\n'*}
	if [ "$st" != running ]; then
		echo "vm $vm on node $i is $st, not running"
		return 1
	fi
	name=$(timeout 30 virsh -q -c "$uri" domname "$vm" 2>/dev/null) || name=''
	name=${name%%$'\n'*}
	[ -n "$name" ] || {
		echo "vm $vm on node $i: virsh domname failed"
		return 1
	}
	if why=$(qemu_log_arrived "$log/$name.log"); then
		echo "vm $vm ($name) on node $i: $why"
		return 0
	fi
	echo "vm $vm ($name) on node $i: $why"
	return 1
}

cmd_env() {
	load_env
	[ -f "$state" ] || die "no testbed in '$dir'"
	echo "export FC_TESTBED_DIR='$dir'"
	echo "export FC_TESTBED_NODES='${nodes:-0}'"
	local i uris=()
	if [ "${local_mode:-0}" = 1 ]; then
		uris=(qemu:///system)
	else
		for i in $(seq 1 "${nodes:-0}"); do uris+=("$(node_uri "$i")"); done
	fi
	echo "export FC_TESTBED_URIS='${uris[*]}'"
	echo "export FC_TESTBED_TLS='$tls'"
	[ "${ceph:-0}" = 0 ] || echo "export FC_TESTBED_CEPH='$dir/ceph'"
	[ "$tls" = 0 ] || echo "export FC_TESTBED_PKI='$pki'"
	if [ "${fincloud:-0}" = 1 ]; then
		echo "export FINCLOUD_URL='$(ctl_scheme)://$host_ip:$port'"
		echo "export FINCLOUD_TOKEN='$(cat "$dir/controller/admin.token")'"
		if [ "$tls" = 1 ]; then
			echo "export FINCLOUD_CA='$pki/ca-cert.pem'"
		else
			echo "unset FINCLOUD_CA"
		fi
	fi
}

case $cmd in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
arrived) cmd_arrived ;;
exec)
	load_env
	[ ${#args[@]} -ge 2 ] || die "usage: testbed.sh exec NODE CMD..."
	node_exec "${args[@]}"
	;;
agent-stop | agent-kill)
	load_env
	[ ${#args[@]} -eq 1 ] || die "usage: testbed.sh $cmd NODE"
	if [ "$cmd" = agent-kill ]; then agent_stop "${args[0]}" KILL; else agent_stop "${args[0]}" TERM; fi
	;;
libvirtd-stop | libvirtd-kill | libvirtd-start)
	load_env
	[ ${#args[@]} -eq 1 ] || die "usage: testbed.sh $cmd NODE"
	[ "${local_mode:-0}" = 0 ] || die "$cmd works on namespace nodes only, not with --local"
	case $cmd in
	libvirtd-stop) libvirtd_stop "${args[0]}" ;;
	libvirtd-kill) libvirtd_stop "${args[0]}" KILL ;;
	*) libvirtd_start "${args[0]}" ;;
	esac
	;;
controller-kill)
	load_env
	line=$(find_pid controller) || die "this testbed has no controller"
	read -r _ name pid start <<<"$line"
	stop_pid "$name" "$pid" "$start" KILL
	say "controller killed (pid $pid)"
	;;
controller-start)
	load_env
	controller_start
	;;
agent-start)
	load_env
	[ ${#args[@]} -eq 1 ] || die "usage: testbed.sh agent-start NODE"
	if [ "${local_mode:-0}" = 1 ]; then agent_start_local; else agent_start "${args[0]}"; fi
	;;
-h | --help | help) usage ;;
*)
	usage >&2
	exit 2
	;;
esac

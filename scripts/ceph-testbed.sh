#!/usr/bin/env bash
# scripts/ceph-testbed.sh: a real small Ceph cluster for a testbed.
#
#   ceph-testbed.sh up --dir DIR --nodes N [options]
#   ceph-testbed.sh down --dir DIR
#   ceph-testbed.sh status --dir DIR
#   ceph-testbed.sh admin --dir DIR CMD...   run a ceph/rbd/rados command
#                                            as client.admin of the cluster
#
# "up" runs, in the network namespaces PREFIX1..PREFIXN of a testbed that
# is up (scripts/testbed.sh up N --no-fincloud, or testbed.sh up N --ceph,
# which calls this), one Ceph monitor (mon.a, in node 1) and one bluestore
# OSD per node (osd.I-1 in node I, CRUSH host "nodeI") on a sparse file of
# --osd-size bytes kept outside the OSD's data directory. No manager
# daemon: I/O needs none. Authentication is cephx with keys issued here:
#
#   client.admin                  DIR/ceph.client.admin.keyring (the script)
#   client.fincloud-nodeI         DIR/clients/nodeI/: ceph.conf and
#                                 ceph.client.fincloud-nodeI.keyring;
#                                 caps "profile rbd" on the pool
#   client.fincloud-controller    DIR/clients/controller/: may read the
#                                 cluster maps and blocklist a client
#                                 ("osd blocklist"), nothing else
#
# and one replicated RBD pool (--pool, default "fincloud") of size
# min(3, N) and min_size size-1 (1 with one node), failure domain host.
# The monitor binds messenger v1 on node 1's address port 6789.
#
# Options:
#   --dir DIR          the cluster's state (daemons' data, logs, keys,
#                      sockets, the OSD devices); "down" removes it
#   --nodes N          number of nodes (namespaces PREFIX1..PREFIXN)
#   --prefix P         namespace prefix of the testbed (default fc)
#   --subnet A.B.C     the testbed's /24 (default 10.250.0); node I is
#                      A.B.C.(I+1)
#   --pool NAME        the RBD pool (default fincloud)
#   --osd-size BYTES   size of each OSD's sparse device file (default
#                      3 GiB; only the bytes written take disk space)
#
# Every daemon's PID and start time goes to DIR/pids as it starts; "down"
# stops exactly those (SIGTERM, SIGKILL after 10 s) and removes DIR. Stop
# the guests that use the pool first, or their QEMU hangs on I/O.
set -euo pipefail

die() {
	echo "ceph-testbed: $*" >&2
	exit 1
}

say() {
	echo "ceph-testbed: $*"
}

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

cmd=${1:-}
[ -n "$cmd" ] || {
	usage >&2
	exit 2
}
shift
dir=''
nodes=''
prefix=fc
subnet=10.250.0
pool=fincloud
osd_size=$((3 * 1024 * 1024 * 1024))
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--dir) dir=${2:?--dir needs a directory}; shift 2 ;;
	--nodes) nodes=${2:?--nodes needs a number}; shift 2 ;;
	--prefix) prefix=${2:?--prefix needs a name}; shift 2 ;;
	--subnet) subnet=${2:?--subnet needs A.B.C}; shift 2 ;;
	--pool) pool=${2:?--pool needs a name}; shift 2 ;;
	--osd-size) osd_size=${2:?--osd-size needs bytes}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	--) shift; args+=("$@"); break ;;
	*) args+=("$1"); shift ;;
	esac
done
[ -n "$dir" ] || die "--dir is required (the cluster's state directory)"
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac

conf=$dir/ceph.conf
admin_keyring=$dir/ceph.client.admin.keyring
pids=$dir/pids

proc_start_time() { # pid -> start time in clock ticks
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	echo "${20}"
}

pid_alive() { # pid start
	local t
	t=$(proc_start_time "$1") || return 1
	[ "$t" = "$2" ]
}

# admin CMD ARGS...: a Ceph tool as client.admin, bounded in time (a
# cluster without quorum makes every client wait forever)
admin() {
	local tool=$1
	shift
	timeout 60 "$tool" --conf "$conf" --keyring "$admin_keyring" --name client.admin "$@"
}

node_ip() { echo "$subnet.$(($1 + 1))"; }

# start_daemon NAME NAMESPACE CMD...: CMD in the foreground of a process
# of its own inside the namespace, its PID recorded
start_daemon() {
	local name=$1 ns=$2 pid t
	shift 2
	ip netns exec "$ns" "$@" </dev/null >>"$dir/log/$name.out" 2>&1 &
	pid=$!
	sleep 0.2
	t=$(proc_start_time "$pid") || die "'$name' exited at once; see $dir/log/$name.out and $dir/log/$name.log"
	echo "$name $pid $t" >>"$pids"
}

write_conf() { # mon_ip size min_size
	cat >"$conf" <<EOF
# Ceph cluster of a fincloud testbed (scripts/ceph-testbed.sh)
[global]
fsid = $fsid
mon_initial_members = a
mon_host = v1:$1:6789
ms_bind_msgr2 = false
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
auth_allow_insecure_global_id_reclaim = false
mon_warn_on_insecure_global_id_reclaim_allowed = false
osd_pool_default_size = $2
osd_pool_default_min_size = $3
osd_pool_default_pg_autoscale_mode = off
mon_allow_pool_delete = true
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
run_dir = $dir/run
admin_socket = $dir/run/\$name.asok
log_file = $dir/log/\$name.log
mon_cluster_log_file = $dir/log/cluster.log
mon_data = $dir/mon/\$cluster-\$id
osd_data = $dir/osd/\$cluster-\$id
# small daemons: a testbed holds three OSDs and guests in a few GiB
osd_objectstore = bluestore
bluestore_cache_autotune = false
bluestore_cache_size = 67108864
osd_memory_target = 939524096
osd_op_num_shards = 2
osd_op_num_threads_per_shard = 1
mon_osd_down_out_interval = 0

[client.admin]
keyring = $admin_keyring
EOF
}

client_conf() { # mon_ip: what a client (agent, QEMU, controller) needs
	cat <<EOF
[global]
fsid = $fsid
mon_host = v1:$1:6789
EOF
}

cmd_up() {
	[[ $nodes =~ ^[0-9]+$ ]] && [ "$nodes" -ge 1 ] && [ "$nodes" -le 50 ] || die "--nodes N (1..50) is required"
	[[ $subnet =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "bad --subnet '$subnet'"
	[[ $pool =~ ^[a-zA-Z0-9_.-]{1,64}$ ]] || die "bad --pool '$pool'"
	[[ $osd_size =~ ^[0-9]+$ ]] && [ "$osd_size" -ge $((1024 * 1024 * 1024)) ] || die "--osd-size must be at least 1 GiB (bytes)"
	[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
	local t p i
	for p in ceph-mon:ceph-mon ceph-osd:ceph-osd ceph:ceph-common ceph-authtool:ceph-common monmaptool:ceph-common rbd:ceph-common uuidgen:uuid-runtime; do
		command -v "${p%%:*}" >/dev/null 2>&1 || die "'${p%%:*}' is missing: run scripts/deps.sh (package ${p#*:})"
	done
	for i in $(seq 1 "$nodes"); do
		[ -e "/run/netns/$prefix$i" ] ||
			die "no namespace '$prefix$i': bring the testbed up first (scripts/testbed.sh up $nodes --prefix $prefix)"
	done
	[ ! -f "$pids" ] || die "a cluster already runs in '$dir' (run: $0 down --dir $dir)"
	t=$(date +%s%N)
	mkdir -p "$dir"/{run,log,mon,osd,dev,clients}
	: >"$pids"
	trap on_up_failure EXIT
	fsid=$(uuidgen)
	local size min_size mon_ip
	size=$((nodes < 3 ? nodes : 3))
	min_size=$((size > 1 ? size - 1 : 1))
	mon_ip=$(node_ip 1)
	write_conf "$mon_ip" "$size" "$min_size"

	# keys: the monitor's, the admin's (imported into the monitor's so
	# the monitor knows it from its first start)
	ceph-authtool --create-keyring "$dir/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
	ceph-authtool --create-keyring "$admin_keyring" --gen-key -n client.admin \
		--cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
	chmod 0600 "$dir/mon.keyring" "$admin_keyring"
	ceph-authtool "$dir/mon.keyring" --import-keyring "$admin_keyring" >/dev/null
	monmaptool --create --fsid "$fsid" --addv a "[v1:$mon_ip:6789]" "$dir/monmap" >/dev/null
	ceph-mon --conf "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/mon.keyring" \
		>>"$dir/log/mkfs-mon.out" 2>&1 || die "ceph-mon --mkfs failed: $(tail -n 3 "$dir/log/mkfs-mon.out")"
	start_daemon mon.a "${prefix}1" ceph-mon -f --conf "$conf" -i a --public-addr "$mon_ip"
	for i in $(seq 1 150); do
		admin ceph -s >/dev/null 2>&1 && break
		sleep 0.2
	done
	admin ceph -s >/dev/null 2>&1 || die "the monitor does not answer on $mon_ip:6789; see $dir/log/mon.a.log"
	admin ceph osd crush add-bucket default root >/dev/null 2>&1 || true

	# one OSD per node, each its own CRUSH host
	local uuid id data dev
	for i in $(seq 1 "$nodes"); do
		uuid=$(uuidgen)
		id=$(admin ceph osd new "$uuid") || die "ceph osd new failed for node $i"
		data=$dir/osd/ceph-$id
		dev=$dir/dev/osd$id.block
		mkdir -p "$data"
		# outside the data directory: bluestore links "block" to it, and
		# a device inside the directory fails mkfs
		truncate -s "$osd_size" "$dev"
		ceph-authtool --create-keyring "$data/keyring" --gen-key -n "osd.$id" >/dev/null
		admin ceph auth add "osd.$id" osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' \
			-i "$data/keyring" >/dev/null 2>&1 || die "ceph auth add osd.$id failed"
		ceph-osd --conf "$conf" -i "$id" --mkfs --osd-uuid "$uuid" --keyring "$data/keyring" \
			--bluestore-block-path "$dev" >>"$dir/log/mkfs-osd.$id.out" 2>&1 ||
			die "ceph-osd --mkfs of osd.$id failed: $(tail -n 3 "$dir/log/mkfs-osd.$id.out")"
		admin ceph osd crush add-bucket "node$i" host >/dev/null 2>&1
		admin ceph osd crush move "node$i" root=default >/dev/null 2>&1
		admin ceph osd crush add "osd.$id" 1.0 "host=node$i" >/dev/null 2>&1
		start_daemon "osd.$id" "$prefix$i" ceph-osd -f --conf "$conf" -i "$id" \
			--keyring "$data/keyring" --bluestore-block-path "$dev" \
			--public-addr "$(node_ip "$i")" --cluster-addr "$(node_ip "$i")" \
			--osd-crush-update-on-start=false
	done
	for i in $(seq 1 300); do
		[ "$(admin ceph osd stat -f json 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get("num_up_osds", 0))' 2>/dev/null || echo 0)" -ge "$nodes" ] && break
		sleep 0.2
	done
	[ "$i" -lt 300 ] || die "not all $nodes OSDs came up within 60 s; see $dir/log/osd.*.log"

	# the pool, replicated across hosts
	admin ceph osd pool create "$pool" 32 32 replicated >/dev/null 2>&1 || die "ceph osd pool create $pool failed"
	admin ceph osd pool set "$pool" size "$size" --yes-i-really-mean-it >/dev/null 2>&1 || true
	admin ceph osd pool set "$pool" min_size "$min_size" >/dev/null 2>&1 || true
	admin ceph osd pool application enable "$pool" rbd >/dev/null 2>&1 ||
		die "ceph osd pool application enable $pool rbd failed"
	admin rbd pool init "$pool" >/dev/null 2>&1 || die "rbd pool init $pool failed (are the PGs active? see $dir/log/)"

	# the clients' keys and config
	local cd
	for i in $(seq 1 "$nodes"); do
		cd=$dir/clients/node$i
		mkdir -p "$cd"
		client_conf "$mon_ip" >"$cd/ceph.conf"
		admin ceph auth get-or-create "client.fincloud-node$i" mon 'profile rbd' \
			osd "profile rbd pool=$pool" -o "$cd/ceph.client.fincloud-node$i.keyring" >/dev/null 2>&1 ||
			die "ceph auth get-or-create client.fincloud-node$i failed"
		chmod 0600 "$cd/ceph.client.fincloud-node$i.keyring"
	done
	cd=$dir/clients/controller
	mkdir -p "$cd"
	client_conf "$mon_ip" >"$cd/ceph.conf"
	admin ceph auth get-or-create client.fincloud-controller \
		mon 'allow r, allow command "osd blocklist"' -o "$cd/ceph.client.fincloud-controller.keyring" >/dev/null 2>&1 ||
		die "ceph auth get-or-create client.fincloud-controller failed"
	chmod 0600 "$cd/ceph.client.fincloud-controller.keyring"
	cat >"$dir/cluster.env" <<EOF
fsid=$fsid
nodes=$nodes
prefix=$prefix
subnet=$subnet
pool=$pool
size=$size
min_size=$min_size
mon_host=$mon_ip:6789
EOF
	trap - EXIT
	t=$((($(date +%s%N) - t) / 1000000))
	say "up in $((t / 1000)).$((t % 1000 / 100)) s: mon.a on $mon_ip:6789, $nodes OSD(s), pool '$pool' size $size min_size $min_size"
}

on_up_failure() {
	local rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "ceph-testbed: 'up' failed; stopping what it started (logs in $dir/log)" >&2
		stop_all
	fi
	exit "$rc"
}

# Stop every recorded daemon: SIGTERM, SIGKILL after 10 s.
stop_all() {
	[ -f "$pids" ] || return 0
	local name pid t i alive
	while read -r name pid t; do
		pid_alive "$pid" "$t" && kill -TERM "$pid" 2>/dev/null || true
	done <"$pids"
	for i in $(seq 1 100); do
		alive=0
		while read -r name pid t; do
			pid_alive "$pid" "$t" && alive=1
		done <"$pids"
		[ "$alive" -eq 0 ] && break
		sleep 0.1
	done
	while read -r name pid t; do
		if pid_alive "$pid" "$t"; then
			echo "ceph-testbed: '$name' (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done <"$pids"
	rm -f "$pids"
}

cmd_down() {
	if [ ! -d "$dir" ]; then
		say "no cluster in '$dir'"
		return 0
	fi
	stop_all
	rm -rf "${dir:?}"
	say "down: every daemon stopped, '$dir' removed"
}

cmd_status() {
	[ -f "$pids" ] || {
		say "no cluster in '$dir'"
		return 1
	}
	local name pid t st
	# shellcheck disable=SC1091
	. "$dir/cluster.env" 2>/dev/null || true
	echo "ceph cluster in $dir: fsid ${fsid:-?}, mon ${mon_host:-?}, pool ${pool} size ${size:-?} min_size ${min_size:-?}"
	while read -r name pid t; do
		if pid_alive "$pid" "$t"; then st=running; else st=gone; fi
		printf '  %-10s pid %-8s %s\n' "$name" "$pid" "$st"
	done <"$pids"
	admin ceph osd stat 2>&1 | sed 's/^/  /' || true
}

case $cmd in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
admin)
	[ -f "$conf" ] || die "no cluster in '$dir'"
	[ ${#args[@]} -ge 1 ] || die "usage: ceph-testbed.sh admin --dir DIR ceph|rbd|rados ARGS..."
	case ${args[0]} in ceph | rbd | rados) ;; *) die "admin runs ceph, rbd or rados, not '${args[0]}'" ;; esac
	admin "${args[@]}"
	;;
-h | --help | help) usage ;;
*)
	usage >&2
	exit 2
	;;
esac

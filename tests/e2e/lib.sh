# shellcheck shell=bash
# tests/e2e/lib.sh: shared by the end-to-end tests (sourced, not run).
#
# Every test brings up its own testbed under a temporary directory with a
# prefix and subnet of its own, stops it on exit (also on failure), and
# prints TAP lines through e2e_ok / e2e_fail.

FC_TOP=${FC_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
FC_BUILD=${FC_BUILD:-$FC_TOP/build}
FC_BIN=${FC_BIN:-$FC_BUILD/bin}
TESTBED=$FC_TOP/scripts/testbed.sh
PY=/usr/bin/python3

e2e_n=0
e2e_failed=0

# each result is followed by "# at N s": the time since the test began,
# so that a slow step shows in the log
e2e_ok() { # description
	e2e_n=$((e2e_n + 1))
	echo "ok $e2e_n - $*"
	echo "#   at $SECONDS s"
}

e2e_fail() { # description [details]
	e2e_n=$((e2e_n + 1))
	e2e_failed=$((e2e_failed + 1))
	echo "not ok $e2e_n - $1"
	shift
	[ $# -eq 0 ] || printf '#   %s\n' "$@"
	echo "#   at $SECONDS s"
}

# e2e_check DESCRIPTION CMD...: ok when CMD succeeds
e2e_check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		e2e_ok "$what"
	else
		e2e_fail "$what" "command: $*" "${out//$'\n'/ | }"
	fi
}

e2e_skip() { # why
	echo "SKIP: $*"
	exit 77
}

# Skips the test unless this machine can hold a testbed: root, network
# and mount namespaces, libvirt and QEMU. Sets E2E_VIRT to kvm or qemu
# (TCG) for domain XML written by the tests.
e2e_require_testbed() {
	[ "$(id -u)" -eq 0 ] || e2e_skip "needs root for network namespaces and libvirtd"
	local p
	for p in ip unshare nsenter libvirtd virtlogd virsh qemu-img curl; do
		command -v "$p" >/dev/null 2>&1 || e2e_skip "'$p' is not installed (scripts/deps.sh installs it)"
	done
	command -v qemu-system-x86_64 >/dev/null 2>&1 || e2e_skip "qemu-system-x86_64 is not installed"
	local probe=fcprobe$$
	if ! ip netns add "$probe" 2>/dev/null; then
		e2e_skip "network namespaces are not available here (ip netns add failed)"
	fi
	ip netns del "$probe"
	unshare --mount --propagation private true 2>/dev/null ||
		e2e_skip "mount namespaces are not available here (unshare --mount failed)"
	if [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then
		E2E_VIRT=kvm
	else
		E2E_VIRT=qemu
		echo "# no hardware KVM (no /dev/kvm, or kvm_pvm): guests run under TCG (domain type qemu)"
	fi
}

# Skips unless the fincloud programs are built.
e2e_require_fincloud() {
	local p
	for p in fincloud-controller finctl fincloud-agent; do
		[ -x "$FC_BIN/$p" ] || e2e_skip "'$FC_BIN/$p' is not built yet"
	done
}

# e2e_testbed_up N PREFIX SUBNET [testbed options]: up into a temporary
# dir; the EXIT trap takes it down again.
e2e_testbed_up() {
	local n=$1 prefix0=$2 subnet=$3 prefix k base third
	shift 3
	# another run of the same test (a second "make check") holds the
	# prefix: take the next free one, with a subnet of its own
	base=${subnet%.*}
	third=${subnet##*.}
	for k in "" a b c d; do
		if ! ip link show "$prefix0${k}br" >/dev/null 2>&1; then
			prefix=$prefix0$k
			subnet=$base.$((third + 20 * ${#k} * ($(printf '%d' "'${k:-a}") - 96)))
			break
		fi
	done
	E2E_DIR=$(mktemp -d "${TMPDIR:-/tmp}/fc-e2e-$prefix.XXXXXX")
	# tests/run.sh takes it down after the test, should the test be
	# killed before its EXIT trap runs (a timeout's SIGKILL)
	[ -z "${FC_TEST_LEFTOVERS:-}" ] || echo "$E2E_DIR" >>"$FC_TEST_LEFTOVERS"
	E2E_PREFIX=$prefix
	E2E_SUBNET=$subnet
	trap e2e_cleanup EXIT
	trap 'exit 143' TERM INT
	if ! bash "$TESTBED" up "$n" --dir "$E2E_DIR/tb" --prefix "$prefix" --subnet "$subnet" \
		--bin "$FC_BIN" "$@" >"$E2E_DIR/up.log" 2>&1; then
		e2e_fail "testbed up $n" "$(tail -n 15 "$E2E_DIR/up.log")"
		return 1
	fi
	eval "$(bash "$TESTBED" env --dir "$E2E_DIR/tb")"
	# shellcheck disable=SC2206
	E2E_URIS=($FC_TESTBED_URIS)
	return 0
}

# e2e_fincloud_up N PREFIX SUBNET [testbed options]: skips unless the
# machine can hold a testbed and fincloud is built, then brings up N nodes
# with the controller and agents (one TAP line); ends the test when they
# do not come up
e2e_fincloud_up() {
	e2e_require_testbed
	e2e_require_fincloud
	e2e_testbed_up "$@" || exit 1
	e2e_ok "testbed up $1 with controller and agents"
}

e2e_cleanup() {
	local rc=$?
	if [ -n "${E2E_DIR:-}" ]; then
		if { [ "$rc" -ne 0 ] || [ "$e2e_failed" -ne 0 ]; } && [ -z "${E2E_NO_LOG_TAILS:-}" ]; then
			local f
			for f in "$E2E_DIR"/tb/controller/controller.log "$E2E_DIR"/tb/node*/agent.log; do
				[ -f "$f" ] || continue
				echo "# --- tail of $f"
				tail -n 15 "$f" | sed 's/^/#   /'
			done
		fi
		bash "$TESTBED" down --dir "$E2E_DIR/tb" >/dev/null 2>&1 || true
		rm -rf "$E2E_DIR"
	fi
	if [ "$rc" -eq 0 ] && [ "$e2e_failed" -ne 0 ]; then
		rc=1
	fi
	exit "$rc"
}

# e2e_virsh NODE ARGS...: virsh against node NODE (1-based) of the testbed
e2e_virsh() {
	local i=$1
	shift
	timeout 60 virsh -q -c "${E2E_URIS[$((i - 1))]}" "$@"
}

# e2e_peer_uri NODE: how another node's libvirt reaches node NODE for a
# peer-to-peer migration (qemu+tls with the nodes' own certificates, or
# qemu+tcp on a testbed up with --insecure); E2E_MIG_TLS holds the virsh
# migrate option that asks for TLS on the migration stream too
e2e_peer_uri() {
	if [ "${FC_TESTBED_TLS:-1}" = 1 ]; then
		echo "qemu+tls://$E2E_SUBNET.$(($1 + 1))/system"
	else
		echo "qemu+tcp://$E2E_SUBNET.$(($1 + 1))/system"
	fi
}
e2e_mig_tls() { [ "${FC_TESTBED_TLS:-1}" = 1 ] && echo --tls; }

# e2e_guest_xml NAME DISK [MEM_MIB] [VCPUS]: a small domain without an OS
e2e_guest_xml() {
	local name=$1 disk=$2 mem=${3:-64} vcpus=${4:-1}
	cat <<EOF
<domain type='$E2E_VIRT'>
  <name>$name</name>
  <memory unit='MiB'>$mem</memory>
  <vcpu>$vcpus</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$disk'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='pty'/>
    <console type='pty'/>
  </devices>
</domain>
EOF
}

# e2e_test_image OUT: builds the test image (scripts/build-image.sh,
# seconds) into OUT, afresh: a copy left in the build dir may predate a
# change to scripts/image/; skips the test when it cannot be built here
e2e_test_image() {
	bash "$FC_TOP/scripts/build-image.sh" "$1" >"$1.log" 2>&1 ||
		e2e_skip "the test image cannot be built here: $(tail -n 1 "$1.log")"
}

# e2e_finctl ARGS...: finctl as the testbed's admin
e2e_finctl() {
	timeout 120 "$FC_BIN/finctl" "$@"
}

# e2e_json EXPR: evaluate a Python expression over the JSON on stdin (as d)
e2e_json() {
	$PY -c 'import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
if isinstance(r, (dict, list)):
    print(json.dumps(r))
elif r is not None:
    print(r)' "$1"
}

# ------------------------------------------------------------ fincloud
# Node i of the testbed is host "node<i>" at the controller.

# e2e_vm_field ID FIELD: one field of a VM as the API reports it
e2e_vm_field() {
	e2e_finctl -o json vm show "$1" | e2e_json "d.get('$2')"
}

# e2e_create TENANT FLAVOR NAME [finctl options]: creates a VM and waits
# until it runs; prints its id
e2e_create() {
	local tenant=$1 flavor=$2 name=$3 out
	shift 3
	out=$(e2e_finctl -o json vm create --tenant "$tenant" --flavor "$flavor" --name "$name" "$@") ||
		{ echo "finctl vm create $name: $out" >&2; return 1; }
	printf '%s' "$out" | e2e_json "d['id'] if isinstance(d, dict) and 'id' in d else None" ||
		{ echo "finctl vm create $name printed no id: $out" >&2; return 1; }
}

# e2e_wait_line FILE REGEX SECONDS: until a line of FILE matches
e2e_wait_line() {
	local i
	for ((i = 0; i < $3 * 5; i++)); do
		grep -aqE "$2" "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

# e2e_wait_state ID STATE [SECONDS]: until the API reports STATE
e2e_wait_state() {
	local id=$1 want=$2 secs=${3:-120} i st=''
	for ((i = 0; i < secs * 5; i++)); do
		st=$(e2e_vm_field "$id" state 2>/dev/null) || st=''
		[ "$st" = "$want" ] && return 0
		sleep 0.2
	done
	echo "vm $id is '$st', not '$want', after ${secs}s" >&2
	return 1
}

# e2e_nodes_of UUID: the testbed nodes (1..N) whose libvirt has the domain
e2e_nodes_of() {
	local i out=()
	for ((i = 1; i <= ${#E2E_URIS[@]}; i++)); do
		e2e_virsh "$i" dominfo "$1" >/dev/null 2>&1 && out+=("$i")
	done
	echo "${out[*]}"
}

# e2e_dominfo NODE UUID KEY: one line of virsh dominfo ("CPU(s)", "State")
e2e_dominfo() {
	e2e_virsh "$1" dominfo "$2" 2>/dev/null | awk -F': *' -v k="$3" '$1 == k { print $2 }'
}

# e2e_fincloud_domains NODE: "uuid name" of the fincloud domains on a node
# (those carrying fincloud metadata), running or not
e2e_fincloud_domains() {
	local u
	for u in $(e2e_virsh "$1" list --all --uuid 2>/dev/null); do
		if e2e_virsh "$1" dumpxml "$u" 2>/dev/null | grep -q 'urn:fincloud:domain:1'; then
			echo "$u $(e2e_virsh "$1" domname "$u" 2>/dev/null)"
		fi
	done
}

# e2e_wait_hosts_up N [SECONDS]
e2e_wait_hosts_up() {
	local n=$1 secs=${2:-60} i up=0
	for ((i = 0; i < secs * 5; i++)); do
		up=$(e2e_finctl -o json host list 2>/dev/null | e2e_json "sum(1 for h in d if h['state'] == 'up')" 2>/dev/null) || up=0
		[ "${up:-0}" -ge "$n" ] && return 0
		sleep 0.2
	done
	echo "only $up of $n hosts are up after ${secs}s" >&2
	return 1
}

# e2e_arrived_live NODE UUID: the domain's last completed job on NODE is
# an incoming migration (it arrived live, it was not started afresh);
# prints the downtime
e2e_arrived_live() {
	local info
	info=$(e2e_virsh "$1" domjobinfo "$2" --completed 2>/dev/null) || return 1
	printf '%s\n' "$info" | grep -q 'Operation: *Incoming migration' || return 1
	printf '%s\n' "$info" | awk -F': *' '$1 == "Total downtime" { print $2 }' | tr -s ' '
}

# e2e_has_cmd NOUN VERB: finctl knows the command
e2e_has_cmd() {
	"$FC_BIN/finctl" "$1" "$2" --help >/dev/null 2>&1
}

# e2e_placement_ok IDS...: every VM runs on exactly the node the controller
# names; prints the problems otherwise
e2e_placement_ok() {
	local id host where st bad=0
	for id in "$@"; do
		host=$(e2e_vm_field "$id" host)
		st=$(e2e_vm_field "$id" state)
		where=$(e2e_nodes_of "$id")
		if [ "node$where" != "$host" ] || [ "$st" != running ] ||
			[ "$(e2e_dominfo "$where" "$id" State)" != running ]; then
			echo "vm $id: controller says '$host' ($st), virsh finds it on node(s) '$where'"
			bad=1
		fi
	done
	return "$bad"
}

# ------------------------------------------------------ guests' consoles
# The network tests' guests (the test image) run their user-data scripts
# and print "MARK NAME KEY=VALUE" lines on their serial consoles, read
# with finctl vm console-log.

# e2e_runs IDS...: wait until each VM runs; a failed one ends the wait
# (its finctl vm show is printed)
e2e_runs() {
	local id st i
	for id in "$@"; do
		for ((i = 0; i < 120; i++)); do
			st=$(e2e_vm_field "$id" state 2>/dev/null)
			[ "$st" = running ] || [ "$st" = failed ] && break
			sleep 2
		done
		[ "$st" = running ] || { e2e_finctl vm show "$id"; return 1; }
	done
}

# e2e_console ID: the VM's serial output so far, carriage returns removed
e2e_console() { e2e_finctl vm console-log "$1" 2>/dev/null | tr -d '\r'; }

# e2e_line MARK NAME ID KEY SECONDS: the newest "MARK NAME KEY..." line of
# VM ID's console, once there is one; else why not, and 1
e2e_line() {
	local i l
	for ((i = 0; i < $5; i += 2)); do
		l=$(e2e_console "$3" | grep -aE "^$1 $2 $4(=| |\$)" | tail -n 1)
		[ -n "$l" ] && { echo "$l"; return 0; }
		sleep 2
	done
	echo "no '$1 $2 $4' line after $5 s; console: $(e2e_console "$3" | grep -av fincloud-tick | tail -n 4 | tr '\n' '|')"
	return 1
}

# e2e_want MARK NAME ID KEY VALUE SECONDS DESCRIPTION: one TAP line, ok
# when the guest printed "MARK NAME KEY=VALUE"
e2e_want() {
	local l
	l=$(e2e_line "$1" "$2" "$3" "$4" "$6")
	if [ "$l" = "$1 $2 $4=$5" ]; then
		e2e_ok "$7: $l"
	else
		e2e_fail "$7" "want '$1 $2 $4=$5'" "got '$l'"
	fi
}

# e2e_guests_up N PREFIX SUBNET [testbed options]: the testbed of a test
# whose guests boot the test image: built afresh into $work (a new
# directory, removed on exit with the testbed) as $img, and N nodes under
# TCG where KVM cannot boot an OS (the nested paravirtual kvm_pvm). Exits
# the test (skip or failure) when either cannot be had.
e2e_guests_up() {
	local n=$1 prefix=$2 subnet=$3 opts=()
	shift 3
	e2e_require_testbed
	e2e_require_fincloud
	command -v genisoimage >/dev/null || e2e_skip "genisoimage is missing (scripts/deps.sh)"
	work=$(mktemp -d "${TMPDIR:-/tmp}/fc-e2e-$prefix.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	img=$work/fincloud-test.qcow2
	e2e_test_image "$img"
	if [ -e /sys/module/kvm_pvm ] || [ "$E2E_VIRT" = qemu ]; then
		opts=(--no-kvm)
	fi
	e2e_testbed_up "$n" "$prefix" "$subnet" "$@" "${opts[@]}" || exit 1
	# e2e_cleanup reads the test's exit status from $?
	trap 'rc=$?; rm -rf "$work"; (exit "$rc"); e2e_cleanup' EXIT
	e2e_ok "testbed up $n $* ${opts[*]}"
}

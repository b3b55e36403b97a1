#!/usr/bin/env bash
# scripts/bench-agent.sh BUILD_DIR: fincloud-agent against raw virsh.
#
# 1. Create and start 20 guests (1 vCPU, 64 MiB, a 1 GiB qcow2 disk, a
#    logged serial console) on qemu:///system:
#      - baseline A: qemu-img create + `virsh define` + `virsh start`, one
#        virsh process per command (what an operator's script does);
#      - baseline B: the same commands in one virsh session (no connection
#        set-up per command: the floor for the libvirt work itself);
#      - fincloud-agent --once --no-controller on 20 manifests (start-up,
#        connection, schema parse, 20 RelaxNG-validated creates).
#    Printed: seconds and the ratio agent / baseline (target <= 1.2).
#    The three take turns FC_BENCH_AGENT_ROUNDS times (default 2) and each
#    keeps its best time, as the machine's load moves under them.
#    FC_BENCH_AGENT_N and FC_BENCH_AGENT_NRSS change the counts.
# 2. The agent's memory with 50 domains: on libvirt's test:/// driver (the
#    driver and its 50 domains live inside the agent) and with 50 defined
#    guests on qemu:///system (defined, not running: 50 idle guests would
#    only load the CPUs the measurement runs on). Printed: VmRSS (target
#    <= 16 MiB), its anonymous part (the agent's own heap and stacks; the
#    rest is shared library pages: libvirt, OpenSSL, GnuTLS, GLib, libxml2
#    and ICU, shared with libvirtd and virsh), PSS and the peak VmHWM.
#
# Everything it creates is named fcbench-PID-* under its own temporary
# directory and removed at the end; virtlogd/libvirtd are started only
# when they do not answer, and then stopped again by PID.
set -u
build=${1:?usage: scripts/bench-agent.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$top/$build ;; esac
agent=$build/bin/fincloud-agent
[ -x "$agent" ] || { echo "SKIP: $agent is not built (make)"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root for qemu:///system"; exit 77; }

N=${FC_BENCH_AGENT_N:-20}   # guests created and started
ROUNDS=${FC_BENCH_AGENT_ROUNDS:-2} # turns of A, B and the agent (best kept)
NRSS=${FC_BENCH_AGENT_NRSS:-50} # domains for the memory figure
pref=fcbench-$$
tmp=$(mktemp -d /tmp/fcbench-agent.XXXXXX)
chmod 755 "$tmp"
pids=$tmp/libvirtd.pids
agent_pid=
vsh() { timeout 120 virsh -q -c qemu:///system "$@"; }
cleanup() {
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
	local cmds=
	for d in $(vsh list --all --name 2>/dev/null | grep "^$pref-"); do
		cmds="$cmds destroy $d; undefine $d;"
	done
	[ -n "$cmds" ] && vsh "$cmds" >/dev/null 2>&1
	for p in $(vsh pool-list --all --name 2>/dev/null); do
		case $(vsh pool-dumpxml "$p" 2>/dev/null | sed -n 's:.*<path>\(.*\)</path>.*:\1:p' | head -1) in
		"$tmp"/*) vsh pool-destroy "$p" >/dev/null 2>&1; vsh pool-undefine "$p" >/dev/null 2>&1 ;;
		esac
	done
	bash "$top/scripts/libvirtd-ensure.sh" --stop "$pids"
	rm -rf "$tmp"
}
trap cleanup EXIT

bash "$top/scripts/libvirtd-ensure.sh" "$pids" || { echo "SKIP: qemu:///system does not answer"; exit 77; }
vtype=qemu; [ -w /dev/kvm ] && vtype=kvm
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
uuid() { printf '5e0bbe00-%04d-4000-8000-%012d' "$1" $$; }
remove_all() { # destroy and undefine every fcbench domain, remove disks
	local cmds=
	for d in $(vsh list --all --name | grep "^$pref-"); do
		cmds="$cmds destroy $d; undefine $d;"
	done
	[ -n "$cmds" ] && vsh "$cmds" >/dev/null 2>&1
	rm -f "$tmp"/disks/*
}

domain_xml() { # i name disk log
	cat <<EOF
<domain type='$vtype'>
  <name>$2</name>
  <uuid>$(uuid "$1")</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$3'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='pty'><log file='$4' append='on'/><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
  </devices>
</domain>
EOF
}

mkdir -p "$tmp/disks" "$tmp/xml" "$tmp/manifests" "$tmp/images"
for i in $(seq 1 "$N"); do
	domain_xml "$i" "$pref-v$i" "$tmp/disks/v$i.qcow2" "$tmp/disks/v$i.log" >"$tmp/xml/v$i.xml"
done

manifest() { # i name mem
	printf '{"vm_id":"%s","name":"%s","tenant":"bench","group":null,"vcpus":1,"mem_mib":%s,"disk_gib":1,"base_image":null,"state":"running"}\n' \
		"$(uuid "$1")" "$2" "${3:-64}" >"$tmp/manifests/v$1.json"
}

# Baseline A: one virsh process per command.
run_a() {
	local t0 i
	t0=$(now)
	for i in $(seq 1 "$N"); do
		qemu-img create -q -f qcow2 "$tmp/disks/v$i.qcow2" 1G &&
			vsh define "$tmp/xml/v$i.xml" >/dev/null &&
			vsh start "$pref-v$i" >/dev/null || { echo "baseline A failed at guest $i" >&2; return 1; }
	done
	secs "$t0" "$(now)"
}
# Baseline B: one virsh session for all defines and starts.
run_b() {
	local t0 i cmds=
	for i in $(seq 1 "$N"); do cmds="$cmds define $tmp/xml/v$i.xml; start $pref-v$i;"; done
	t0=$(now)
	for i in $(seq 1 "$N"); do qemu-img create -q -f qcow2 "$tmp/disks/v$i.qcow2" 1G || return 1; done
	vsh "$cmds" >/dev/null || { echo "baseline B failed" >&2; return 1; }
	secs "$t0" "$(now)"
}
# The agent: one pass over N manifests.
run_agent() {
	local t0 i running
	rm -f "$tmp"/manifests/*
	for i in $(seq 1 "$N"); do manifest "$i" "$pref-v$i"; done
	t0=$(now)
	"$agent" --once --no-controller --node-name bench --libvirt-uri qemu:///system \
		--storage-dir "$tmp/disks" --image-dir "$tmp/images" \
		--manifest-dir "$tmp/manifests" --log-level warn 2>"$tmp/agent-once.log" ||
		{ echo "agent --once failed:" >&2; tail "$tmp/agent-once.log" >&2; return 1; }
	secs "$t0" "$(now)"
	running=$(vsh list --name | grep -c "^$pref-")
	[ "$running" -eq "$N" ] || { echo "agent started $running of $N guests" >&2; return 1; }
}
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b < a) ? b : a }'; }

# The machine is shared and its load moves: the three runs take turns,
# ROUNDS times, and each keeps its best time.
ta= tb= tg=
for r in $(seq 1 "$ROUNDS"); do
	x=$(run_a) || exit 1; ta=$(best "$ta" "$x"); remove_all
	x=$(run_b) || exit 1; tb=$(best "$tb" "$x"); remove_all
	x=$(run_agent) || exit 1; tg=$(best "$tg" "$x"); remove_all
done

echo "agent: create + start $N $vtype guests (1 vCPU, 64 MiB, 1 GiB qcow2, console log); best of $ROUNDS rounds"
printf '  %-44s %8s s\n' "A: qemu-img + virsh define + virsh start" "$ta"
printf '  %-44s %8s s\n' "B: qemu-img + one virsh session" "$tb"
printf '  %-44s %8s s\n' "fincloud-agent --once ($N manifests)" "$tg"
printf '  %-44s %8s   (target <= 1.2)\n' "ratio agent / A" "$(awk -v g="$tg" -v a="$ta" 'BEGIN { printf "%.2f", g / a }')"
printf '  %-44s %8s\n' "ratio agent / B" "$(awk -v g="$tg" -v b="$tb" 'BEGIN { printf "%.2f", g / b }')"

# RSS with NRSS domains.
rss_of() { awk -v k="$2:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
hport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
domains_seen() {
	curl -s "http://127.0.0.1:$hport/metrics" | awk '$1 == "fincloud_agent_domains" { print $2 }'
}
test_ready() { [ "$(domains_seen)" = $((NRSS + 1)) ]; } # + the driver's own
qemu_ready() { [ "$(vsh list --all --name | grep -c "^$pref-r")" = "$NRSS" ]; }
measure_rss() { # uri ready-function label
	rm -f "$tmp"/manifests/*
	for i in $(seq 1 "$NRSS"); do
		manifest "$i" "$pref-r$i" 32
		sed -i 's/"running"/"stopped"/' "$tmp/manifests/v$i.json"
	done
	"$agent" --no-controller --node-name bench --libvirt-uri "$1" \
		--storage-dir "$tmp/disks" --image-dir "$tmp/images" \
		--manifest-dir "$tmp/manifests" --heartbeat-interval 1 \
		--health-listen "127.0.0.1:$hport" --log-level warn 2>"$tmp/agent-rss.log" &
	agent_pid=$!
	for _ in $(seq 1 600); do
		"$2" && break
		sleep 0.2
	done
	if ! "$2"; then
		echo "  $3: the agent did not reach $NRSS domains"; tail -3 "$tmp/agent-rss.log"
	else
		sleep 3 # a few more passes with all domains
		printf '  %-40s RSS %5s MiB  anon %5s MiB  PSS %5s MiB  peak %5s MiB\n' "$3" \
			"$(rss_of "$agent_pid" VmRSS)" "$(rss_of "$agent_pid" RssAnon)" \
			"$(awk '$1 == "Pss:" { printf "%.1f", $2 / 1024 }' "/proc/$agent_pid/smaps_rollup")" \
			"$(rss_of "$agent_pid" VmHWM)"
	fi
	kill "$agent_pid"; wait "$agent_pid" 2>/dev/null; agent_pid=
}
echo "agent: memory with $NRSS domains (target: RSS <= 16 MiB)"
measure_rss test:///default test_ready "test:///default, $NRSS domains"
measure_rss qemu:///system qemu_ready "qemu:///system, $NRSS defined guests"
remove_all

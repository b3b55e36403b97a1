#!/usr/bin/env bash
# fc-test: alone
# fincloud-agent against the real qemu:///system (KVM, or TCG without
# hardware KVM), driven by static manifests: a manifest creates a real guest
# that virsh shows with the right vCPUs and memory; stop, start, a guest
# killed behind the agent's back, delete (wiped first when the spec
# says so); a foreign domain and a bad
# manifest; libvirtd restarted under the agent (when this test started
# libvirtd itself); the agent restarted without touching its VMs.
#
# Starts virtlogd/libvirtd through scripts/libvirtd-ensure.sh when they do
# not answer and stops exactly those at the end. Every domain, disk and
# storage pool it creates is named fctest-PID-* / lives under its own
# temporary directory and is removed on exit, also on failure.
set -u
: "${FC_TOP:?run me through tests/run.sh}" "${FC_BIN:?}"
agent=$FC_BIN/fincloud-agent
py=/usr/bin/python3
[ -x "$agent" ] || { echo "SKIP: $agent is not built"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root for qemu:///system"; exit 77; }
command -v virsh >/dev/null && command -v qemu-img >/dev/null ||
	{ echo "SKIP: virsh or qemu-img missing (scripts/deps.sh)"; exit 77; }

pref=fctest-$$
tmp=$(mktemp -d /tmp/fctest-agentkvm.XXXXXX)
chmod 755 "$tmp" # qemu runs as its own user and must reach the disks
pids=$tmp/libvirtd.pids
agent_pid=
V() { printf '0c6f8e9a-%04d-4222-8333-%012d' "$1" $$; }

. "$FC_TOP/tests/integration/libvirt_lib.bash"
cleanup() {
	if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null; wait "$agent_pid" 2>/dev/null; fi
	libvirt_remove "^$pref-" "$tmp"
	bash "$FC_TOP/scripts/libvirtd-ensure.sh" --stop "$pids"
	rm -rf "$tmp"
}
trap cleanup EXIT

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else nok "$what" "failed: $*"; fi; }
wait_for() { # seconds command...
	local t=$1; shift
	for _ in $(seq 1 $((t * 10))); do "$@" && return 0; sleep 0.1; done
	return 1
}
state_is() { [ "$(vsh domstate "$1" 2>/dev/null | head -1)" = "$2" ]; }
gone() { ! vsh dominfo "$1" >/dev/null 2>&1; }
dominfo_is() { vsh dominfo "$1" 2>/dev/null | grep -Eq "^$2:[[:space:]]+$3\$"; }
health() { # expected HTTP code of /healthz
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$hport/healthz")" = "$1" ]
}
logged() { grep -q -- "$1" "$tmp/agent.log"; }
manifest() { # file id name state [vcpus mem base_image more-fields]
	printf '{"vm_id":"%s","name":"%s","tenant":"loan","group":"infra","vcpus":%s,"mem_mib":%s,"disk_gib":1,"base_image":%s,"state":"%s"%s}\n' \
		"$2" "$3" "${5:-2}" "${6:-128}" "${7:-null}" "$4" "${8:-}" >"$tmp/manifests/$1.tmp" &&
		mv "$tmp/manifests/$1.tmp" "$tmp/manifests/$1"
}
start_agent() {
	"$agent" --no-controller --node-name "$pref" --libvirt-uri qemu:///system \
		--storage-dir "$tmp/disks" --image-dir "$tmp/images" \
		--manifest-dir "$tmp/manifests" --heartbeat-interval 1 \
		--stop-timeout 3 --health-listen "127.0.0.1:$hport" \
		--log-level debug >>"$tmp/agent.log" 2>&1 &
	agent_pid=$!
}

if ! bash "$FC_TOP/scripts/libvirtd-ensure.sh" "$pids"; then
	echo "SKIP: qemu:///system does not answer and libvirtd could not be started"
	exit 77
fi
started_libvirtd=$(awk '$1 == "libvirtd" { print $2 }' "$pids" 2>/dev/null | tail -1)
# the agent's choice (docs/agent.md "Hypervisor type"): TCG without
# /dev/kvm and with the paravirtual nested KVM of kvm_pvm
vtype=qemu; [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ] && vtype=kvm
hport=$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$tmp/manifests" "$tmp/images"
qemu-img create -q -f qcow2 "$tmp/images/base.qcow2" 64M # vm3's base image

# A domain fincloud does not own, defined and started with plain virsh.
cat >"$tmp/foreign.xml" <<EOF
<domain type='$vtype'>
  <name>$pref-foreign</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
</domain>
EOF
vsh define "$tmp/foreign.xml" >/dev/null && vsh start "$pref-foreign" >/dev/null ||
	nok "plain virsh defines and starts the foreign domain"
foreign_uuid=$(vsh domuuid "$pref-foreign")
foreign_xml_before=$(vsh dumpxml --inactive "$pref-foreign")

manifest vm1.json "$(V 1)" "$pref-vm1" running 2 128
echo '{"vm_id": "not-a-uuid", "name": "x"}' >"$tmp/manifests/broken.json"
manifest clash.json "$(V 9)" "$pref-foreign" running 1 64
start_agent

check "a manifest creates a running $vtype guest" wait_for 60 state_is "$pref-vm1" running
check "virsh dominfo shows 2 vCPUs" dominfo_is "$pref-vm1" 'CPU\(s\)' 2
check "virsh dominfo shows 128 MiB" dominfo_is "$pref-vm1" 'Max memory' '131072 KiB'
check "the domain carries fincloud metadata (tenant, group)" \
	sh -c "virsh -q -c qemu:///system metadata '$pref-vm1' urn:fincloud:domain:1 | grep -q '<tenant>loan</tenant>'"
check "its disk is a qcow2 image in storage_dir" \
	sh -c "qemu-img info -U '$tmp/disks/$(V 1).qcow2' | grep -q 'file format: qcow2'"
check "its serial console is logged to a file" test -e "$tmp/disks/$(V 1).console.log"
check "the domain type is $vtype" sh -c "virsh -q -c qemu:///system dumpxml '$pref-vm1' | grep -q \"<domain type='$vtype'\""
check "a broken manifest is reported with its file name" \
	wait_for 10 logged "broken.json: \$.vm_id: expected a UUID"
check "a manifest naming the foreign domain is refused" \
	wait_for 10 logged "vm '$pref-foreign': the name is taken by foreign domain $foreign_uuid"
check "/healthz answers 200 on loopback" wait_for 10 health 200
check "/metrics answers Prometheus text with the domain count" \
	sh -c "curl -s http://127.0.0.1:$hport/metrics | grep -Eq '^fincloud_agent_domains [1-9]' && curl -s http://127.0.0.1:$hport/metrics | grep -q '^# TYPE fincloud_agent_passes_total counter'"
check "the health endpoint listens on loopback only" \
	sh -c "ss -ltnH 'sport = :$hport' | awk '{print \$4}' | grep -qx '127.0.0.1:$hport'"

manifest vm1.json "$(V 1)" "$pref-vm1" stopped
check "stopped: the guest is shut off (ACPI, then power-off after the timeout)" \
	wait_for 30 state_is "$pref-vm1" "shut off"
check "the agent said it powered the guest off after the timeout" logged "no shutdown after 3 s"
manifest vm1.json "$(V 1)" "$pref-vm1" running
check "running again: the guest is started" wait_for 30 state_is "$pref-vm1" running

vsh destroy "$pref-vm1" >/dev/null
check "a guest killed behind the agent's back is seen by a domain event" \
	wait_for 10 logged "event: vm $(V 1) shutoff (destroyed)"
check "and started again at once" wait_for 10 state_is "$pref-vm1" running

kill "$agent_pid"; wait "$agent_pid"; rc=$?; agent_pid=
check "SIGTERM stops the agent with status 0" test "$rc" -eq 0
check "its VM keeps running without it" state_is "$pref-vm1" running
id_before=$(vsh domid "$pref-vm1")
start_agent
check "a restarted agent is healthy again" wait_for 20 health 200
sleep 2
check "and leaves the running VM alone (same qemu process)" test "$(vsh domid "$pref-vm1")" = "$id_before"

if [ -n "$started_libvirtd" ]; then
	kill "$started_libvirtd"
	for _ in $(seq 1 100); do [ -d "/proc/$started_libvirtd" ] || break; sleep 0.1; done
	check "libvirtd stopped under the agent: the agent reports degraded" wait_for 30 health 503
	check "and keeps running" kill -0 "$agent_pid"
	manifest vm3.json "$(V 3)" "$pref-vm3" running 1 64 '"base.qcow2"'
	if bash "$FC_TOP/scripts/libvirtd-ensure.sh" "$pids"; then
		check "libvirtd back: the agent reconnects and is healthy" wait_for 60 health 200
		check "and reconciles again: a VM added while libvirt was down runs" \
			wait_for 60 state_is "$pref-vm3" running
		check "the guest that ran through the libvirtd restart still runs" state_is "$pref-vm1" running
	else
		nok "libvirtd restarts"
	fi
else
	skip "libvirtd restart under the agent" "libvirtd was already running and this test did not start it, so it does not stop it"
	manifest vm3.json "$(V 3)" "$pref-vm3" running 1 64 '"base.qcow2"'
	check "a second VM from a new manifest runs" wait_for 60 state_is "$pref-vm3" running
fi

check "vm3's disk is backed by its base image from image_dir" \
	sh -c "qemu-img info -U '$tmp/disks/$(V 3).qcow2' | grep -q 'backing file: $tmp/images/base.qcow2'"
manifest vm4.json "$(V 4)" "$pref-vm4" running 1 64 '"missing.qcow2"'
check "a missing base image is reported for that VM, which is not defined" \
	sh -c "for i in \$(seq 1 100); do grep -q \"vm '$pref-vm4': base image 'missing.qcow2' not found in image_dir\" '$tmp/agent.log' && break; sleep 0.1; done; ! virsh -q -c qemu:///system dominfo '$pref-vm4' >/dev/null 2>&1"
rm -f "$tmp/manifests/vm4.json"

manifest vm1.json "$(V 1)" "$pref-vm1" deleted 2 128 null ',"wipe":true'
manifest vm3.json "$(V 3)" "$pref-vm3" deleted
check "deleted: the domains are undefined" wait_for 30 sh -c "! virsh -q -c qemu:///system dominfo '$pref-vm1' >/dev/null 2>&1 && ! virsh -q -c qemu:///system dominfo '$pref-vm3' >/dev/null 2>&1"
check "and their disks and console logs are removed" \
	wait_for 10 sh -c "! ls '$tmp/disks/' | grep -q ."
check "vm1's disk (its spec says wipe) was wiped before it was removed" \
	logged "disk '$tmp/disks/$(V 1).qcow2': wiped"
check "vm3's (no wipe) was not" sh -c "! grep -q '$(V 3).qcow2.: wiped' '$tmp/agent.log'"
check "the base image stays" test -s "$tmp/images/base.qcow2"
check "the foreign domain still runs" state_is "$pref-foreign" running
check "its definition is unchanged" test "$(vsh dumpxml --inactive "$pref-foreign")" = "$foreign_xml_before"
check "the agent never acted on it" sh -c "! grep -E \"vm '$pref-foreign' \\(|$foreign_uuid\\): (defined|started|destroy|undefined|shut)\" '$tmp/agent.log'"
check "the agent is still running" kill -0 "$agent_pid"
echo "# agent log tail:"; tail -n 12 "$tmp/agent.log" | sed 's/^/#   /'

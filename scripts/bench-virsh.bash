# Helpers of the benchmarks that compare fincloud with raw virsh on a
# testbed (scripts/bench-e2e.sh, scripts/bench-image.sh); sourced after
# tests/e2e/lib.sh and e2e_testbed_up (they use e2e_virsh, e2e_finctl,
# e2e_json).

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# running_on NODE PATTERN: how many running domains' names match PATTERN
running_on() {
	e2e_virsh "$1" list --name 2>/dev/null | grep -c -- "$2"
}
# wait_running PATTERN TOTAL [TENTHS]: until the three nodes run TOTAL
# domains matching PATTERN (at most TENTHS tenths of a second, 1500)
wait_running() {
	local i t
	for ((i = 0; i < ${3:-1500}; i++)); do
		t=0
		for n in 1 2 3; do t=$((t + $(running_on "$n" "$1"))); done
		[ "$t" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# bench_delete_tenant TENANT PATTERN: deletes the tenant's VMs through
# finctl and waits (60 s) until no node defines a domain matching
# PATTERN; 1 with a message when either fails
bench_delete_tenant() {
	local id t i rc=0
	for id in $(e2e_finctl -o json vm list --tenant "$1" | e2e_json "' '.join(v['id'] for v in d)"); do
		e2e_finctl vm delete "$id" >/dev/null 2>&1 || {
			echo "bench: finctl vm delete $id failed"
			rc=1
		}
	done
	for i in $(seq 1 600); do
		t=0
		for n in 1 2 3; do t=$((t + $(e2e_virsh "$n" list --all --name 2>/dev/null | grep -c -- "$2"))); done
		[ "$t" -eq 0 ] && break
		sleep 0.1
	done
	[ "$t" -eq 0 ] || {
		echo "bench: $t fincloud guests were still defined 60 s after their delete"
		rc=1
	}
	return "$rc"
}

# bench_agent_pools DIR: sets pool_of[N] to the name of node N's libvirt
# storage pool over DIR (the agent's storage_dir)
# shellcheck disable=SC2034 # pool_of is the caller's
bench_agent_pools() {
	local n p
	declare -g -a pool_of
	for n in 1 2 3; do
		for p in $(e2e_virsh "$n" pool-list --name 2>/dev/null); do
			if e2e_virsh "$n" pool-dumpxml "$p" 2>/dev/null | grep -q "<path>$1</path>"; then
				pool_of[n]=$p
			fi
		done
	done
}

ratio() { # a b: a / b, or - when either is missing
	if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; else echo '-'; fi
}
# verdict RATIO TARGET [OP]: "met" when RATIO OP TARGET (OP <= or >=,
# default <=), "MISSED", or "not measured" for -
verdict() {
	[ "$1" = - ] && {
		echo "not measured"
		return
	}
	if awk -v r="$1" -v t="$2" -v op="${3:-<=}" 'BEGIN { exit !(op == "<=" ? r <= t : r >= t) }'; then echo "met"; else echo "MISSED"; fi
}

# bench_raw_xml TEMPLATE NAME [DISK]: the domain XML TEMPLATE (a guest the
# agent defined) as the raw baseline's guest NAME on stdout: renamed,
# without uuid, metadata, seclabels or interface MACs (libvirt makes
# them), every file named after the agent's VM id named after NAME, and
# its disk's source DISK when given
bench_raw_xml() {
	$PY - "$@" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
t = ET.parse(sys.argv[1]); d = t.getroot()
old = d.find("uuid").text
d.find("name").text = sys.argv[2]
for tag in ("uuid", "metadata"):
    e = d.find(tag)
    if e is not None:
        d.remove(e)
if len(sys.argv) > 3:
    for disk in d.iter("disk"):
        s = disk.find("source")
        if disk.get("device", "disk") == "disk" and s is not None and s.get("file"):
            s.set("file", sys.argv[3])
for e in d.iter():
    for a in ("file", "path"):
        v = e.get(a)
        if v and old in v:
            e.set(a, v.replace(old, sys.argv[2]))
for e in d.findall("seclabel"):
    d.remove(e)
for iface in d.findall("devices/interface"):
    mac = iface.find("mac")
    if mac is not None:
        iface.remove(mac)
sys.stdout.write(ET.tostring(d, encoding="unicode"))
PYEOF
}

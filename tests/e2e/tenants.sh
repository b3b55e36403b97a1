#!/usr/bin/env bash
# Tenants on three real KVM nodes, driven through finctl only and checked
# with virsh on each node: every VM runs on the node the controller names
# (and on no other) with the vCPUs and memory asked for; a dedicated
# tenant's nodes hold none of another tenant's guests; an anti-affinity
# group is spread over distinct nodes; the eta the API reports per pool
# matches what virsh nodeinfo / dominfo add up to; an agent killed with
# SIGKILL and started again loses and duplicates no VM.
set -u
. "$(dirname "$0")/lib.sh"

e2e_fincloud_up 3 fce 10.250.13

f() { e2e_finctl "$@" >/dev/null; }
# each node has the host's few cores: allow 4 vCPUs per core
if f pool update default --cpu-ratio 4 &&
	f flavor create tiny --vcpus 1 --mem-mib 64 --disk-gib 1 &&
	f flavor create duo --vcpus 2 --mem-mib 96 --disk-gib 1 &&
	f tenant create loan --isolation shared &&
	f tenant create pay --isolation dedicated &&
	f group create settle --tenant pay --policy anti-affinity --availability 0.9999; then
	e2e_ok "flavors, a shared and a dedicated tenant, an anti-affinity group"
else
	e2e_fail "flavors, a shared and a dedicated tenant, an anti-affinity group"
fi

# --- provisioning
declare -A flavor_of tenant_of
ids=()
add() { # tenant flavor name [options]
	local id
	if id=$(e2e_create "$@" --wait --timeout 120); then
		ids+=("$id")
		tenant_of[$id]=$1
		flavor_of[$id]=$2
	else
		e2e_fail "vm create $3 runs"
	fi
}
add loan tiny loan-1
add loan duo loan-2
add loan tiny loan-3
add pay tiny settle-1 --group settle
add pay duo settle-2 --group settle
[ ${#ids[@]} -eq 5 ] && e2e_ok "5 VMs created through finctl reach 'running'"

# --- each VM runs where the controller says, with its size, nowhere else
declare -A node_of
bad=()
for id in "${ids[@]}"; do
	host=$(e2e_vm_field "$id" host)
	where=$(e2e_nodes_of "$id")
	node_of[$id]=$where
	if [ "node$where" != "$host" ]; then
		bad+=("vm $id: controller says '$host', virsh finds it on node(s) '$where'")
		continue
	fi
	st=$(e2e_dominfo "$where" "$id" State)
	cpus=$(e2e_dominfo "$where" "$id" 'CPU(s)')
	mem=$(e2e_dominfo "$where" "$id" 'Max memory')
	case ${flavor_of[$id]} in tiny) want="1 65536 KiB" ;; duo) want="2 98304 KiB" ;; esac
	[ "$st" = running ] || bad+=("vm $id on node $where is '$st'")
	[ "$cpus $mem" = "$want" ] || bad+=("vm $id: virsh says $cpus vCPUs, $mem; asked for $want")
done
if [ ${#bad[@]} -eq 0 ]; then
	e2e_ok "every VM runs on exactly the node the controller names, with the vCPUs and memory asked for"
else
	e2e_fail "every VM runs on exactly the node the controller names, with the vCPUs and memory asked for" "${bad[@]}"
fi

# --- a dedicated tenant's nodes hold only its own guests
bad=()
pay_nodes=()
for id in "${ids[@]}"; do
	[ "${tenant_of[$id]}" = pay ] && pay_nodes+=("${node_of[$id]}")
done
for n in $(printf '%s\n' "${pay_nodes[@]}" | sort -u); do
	while read -r u name; do
		[ -n "$u" ] || continue
		case $name in pay.*) ;; *) bad+=("node $n holds '$name' ($u) next to tenant pay") ;; esac
	done < <(e2e_fincloud_domains "$n")
done
if [ ${#pay_nodes[@]} -eq 2 ] && [ ${#bad[@]} -eq 0 ]; then
	e2e_ok "the dedicated tenant's nodes (${pay_nodes[*]}) hold no other tenant's guest"
else
	e2e_fail "the dedicated tenant's nodes hold no other tenant's guest" "${bad[@]}" "pay nodes: ${pay_nodes[*]}"
fi

# --- anti-affinity: the group's members are on distinct nodes
if [ ${#pay_nodes[@]} -eq 2 ] && [ "${pay_nodes[0]}" != "${pay_nodes[1]}" ]; then
	e2e_ok "the anti-affinity group 'settle' is spread over nodes ${pay_nodes[*]}"
else
	e2e_fail "the anti-affinity group 'settle' is spread over distinct nodes" "nodes: ${pay_nodes[*]}"
fi

# --- eta per pool against virsh
check_eta() {
	local util tot_cpu=0 tot_mem=0 al_cpu=0 al_mem=0 i u c m
	util=$(e2e_finctl -o json util show default) || {
		echo "finctl util show default failed: $util"
		return 1
	}
	for ((i = 1; i <= 3; i++)); do
		c=$(e2e_virsh "$i" nodeinfo | awk -F': *' '$1 == "CPU(s)" { print $2 }')
		m=$(e2e_virsh "$i" nodeinfo | awk -F': *' '$1 == "Memory size" { print int($2 / 1024) }')
		tot_cpu=$((tot_cpu + c)) tot_mem=$((tot_mem + m))
		while read -r u _; do
			[ -n "$u" ] || continue
			[ "$(e2e_dominfo "$i" "$u" State)" = running ] || continue
			al_cpu=$((al_cpu + $(e2e_dominfo "$i" "$u" 'CPU(s)')))
			al_mem=$((al_mem + $(e2e_dominfo "$i" "$u" 'Max memory' | awk '{ print int($1 / 1024) }')))
		done < <(e2e_fincloud_domains "$i")
	done
	printf '%s' "$util" | $PY -c '
import json, sys
d = json.load(sys.stdin)["dimensions"]
tc, tm, ac, am = (int(x) for x in sys.argv[1:5])
bad = []
def near(a, b, tol):
    return abs(a - b) <= tol
checks = [("vcpus total", d["vcpus"]["total"], tc, 0),
          ("mem_mib total", d["mem_mib"]["total"], tm, 3),
          ("vcpus allocated", d["vcpus"]["allocated"], ac, 0),
          ("mem_mib allocated", d["mem_mib"]["allocated"], am, 0),
          ("vcpus usable", d["vcpus"]["usable"], 4 * tc, 1e-6),
          ("vcpus eta_allocated", d["vcpus"]["eta_allocated"], ac / (4 * tc), 1e-6),
          ("mem_mib eta_allocated", d["mem_mib"]["eta_allocated"], am / tm, 1e-3)]
for name, api, virsh, tol in checks:
    if not near(api, virsh, tol):
        bad.append("%s: API %s, virsh %s" % (name, api, virsh))
print("; ".join(bad) if bad else "vcpus %d/%d, mem %d/%d MiB" % (ac, tc, am, tm))
sys.exit(1 if bad else 0)' "$tot_cpu" "$tot_mem" "$al_cpu" "$al_mem"
}
if out=$(check_eta); then
	e2e_ok "eta of pool 'default' matches virsh nodeinfo/dominfo ($out)"
else
	e2e_fail "eta of pool 'default' matches virsh nodeinfo/dominfo" "$out"
fi

# --- an agent killed and restarted loses and duplicates nothing
victim=${node_of[${ids[0]}]}
if bash "$TESTBED" agent-kill "$victim" --dir "$E2E_DIR/tb" >/dev/null 2>&1; then
	e2e_ok "agent of node $victim killed with SIGKILL"
else
	e2e_fail "agent of node $victim killed with SIGKILL"
fi
before=$(e2e_fincloud_domains "$victim" | sort)
running=0
for id in "${ids[@]}"; do
	[ "${node_of[$id]}" = "$victim" ] || continue
	[ "$(e2e_dominfo "$victim" "$id" State)" = running ] && running=$((running + 1))
done
# while the agent is away: create a VM (it may be placed on that node),
# stop one of the node's VMs
new=$(e2e_create loan tiny loan-late) || new=''
stopped=''
for id in "${ids[@]}"; do
	if [ "${node_of[$id]}" = "$victim" ] && [ "${tenant_of[$id]}" = loan ]; then
		stopped=$id
		break
	fi
done
[ -z "$stopped" ] || e2e_finctl vm stop "$stopped" >/dev/null 2>&1 || true
if bash "$TESTBED" agent-start "$victim" --dir "$E2E_DIR/tb" >/dev/null 2>&1 && e2e_wait_hosts_up 3 60; then
	e2e_ok "agent of node $victim started again; all 3 hosts up"
else
	e2e_fail "agent of node $victim started again; all 3 hosts up"
fi
[ -z "$new" ] || e2e_wait_state "$new" running 120 >/dev/null 2>&1
[ -z "$stopped" ] || e2e_wait_state "$stopped" stopped 120 >/dev/null 2>&1
bad=()
all=("${ids[@]}")
[ -z "$new" ] && bad+=("vm create loan-late failed while the agent was away") || all+=("$new")
for id in "${all[@]}"; do
	host=$(e2e_vm_field "$id" host)
	where=$(e2e_nodes_of "$id")
	want=running
	[ "$id" = "$stopped" ] && want=stopped
	st=$(e2e_vm_field "$id" state)
	[ "node$where" = "$host" ] || bad+=("vm $id: controller says '$host', virsh finds it on '$where'")
	[ "$st" = "$want" ] || bad+=("vm $id: state '$st', want '$want'")
done
# no fincloud domain that the controller does not know
known=" ${all[*]} "
for ((i = 1; i <= 3; i++)); do
	while read -r u name; do
		[ -n "$u" ] || continue
		case $known in *" $u "*) ;; *) bad+=("node $i has '$name' ($u) the controller does not know") ;; esac
	done < <(e2e_fincloud_domains "$i")
done
if [ ${#bad[@]} -eq 0 ]; then
	e2e_ok "after the restart every VM exists exactly once, where and as the controller says ($running guest(s) on that node still ran while its agent was dead)"
else
	e2e_fail "after the restart every VM exists exactly once, where and as the controller says" "${bad[@]}" "domains on node $victim before: $before"
fi

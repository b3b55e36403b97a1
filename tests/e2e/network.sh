#!/usr/bin/env bash
# Tenant networks on three real nodes (namespace nodes of scripts/
# testbed.sh with their own libvirtd), driven through finctl and checked
# on each node with ip, bridge and virsh. Guests here have no OS (the
# checks from inside guests need the test image): this test proves the
# nodes' side. Each node hosting a network has its bridge and VXLAN
# device (its VNI, the node's own address, dstport 4789, nolearning,
# MTU 1450) with an all-zero FDB entry for every other node hosting it
# and for no other; another tenant's network with the same CIDR gets a
# VNI and bridge of its own; each guest's NIC carries its port's MAC, is
# on its network's bridge with MTU 1450 and has its port's filter
# (clean-traffic with the port's address, its groups' rules) defined in
# libvirt; deleting the last VM of a network on a node removes its
# bridge, VXLAN device and filter there and the node from its peers'
# FDB; a network in use cannot be deleted. A node whose network cannot
# be set up (a link of the bridge's name that is not fincloud's) turns
# degraded with a reason naming it, and healthy again, with the
# network set up, once that link is gone.
set -u
. "$(dirname "$0")/lib.sh"

e2e_fincloud_up 3 fnw 10.250.230

f() { e2e_finctl "$@" >/dev/null; }
on() { bash "$TESTBED" exec --dir "$E2E_DIR/tb" -- "$@"; }
node_ip() { echo "$E2E_SUBNET.$((1 + $1))"; }

if f pool update default --cpu-ratio 4 --policy spread &&
	f flavor create tiny --vcpus 1 --mem-mib 64 --disk-gib 1 &&
	f tenant create pay && f tenant create batch &&
	f network create paynet --tenant pay --cidr 10.10.0.0/24 --gateway 10.10.0.1 &&
	f network create batchnet --tenant batch --cidr 10.10.0.0/24 &&
	f secgroup create api --tenant pay &&
	f secgroup create web --tenant pay &&
	f secgroup rule-add web --tenant pay --protocol tcp --port-min 8443 --source-group api; then
	e2e_ok "two tenants' networks with the same CIDR, groups api and web (TCP 8443 from api)"
else
	e2e_fail "networks and groups created"
fi
VNI_PAY=$(e2e_finctl -o json network show paynet | e2e_json "d['vni']")
VNI_BATCH=$(e2e_finctl -o json network show batchnet | e2e_json "d['vni']")
e2e_check "the two networks have VNIs of their own ($VNI_PAY, $VNI_BATCH)" \
	test -n "$VNI_PAY" -a -n "$VNI_BATCH" -a "$VNI_PAY" != "$VNI_BATCH"

declare -A ID NODE
add() { # name tenant network [options]
	local id
	if id=$(e2e_create "$2" tiny "$1" --network "$3" "${@:4}" --wait --timeout 180); then
		ID[$1]=$id
		NODE[$1]=$(e2e_vm_field "$id" host)
		NODE[$1]=${NODE[$1]#node}
	else
		e2e_fail "vm create $1 runs"
	fi
}
add p1 pay paynet --secgroup web
add p2 pay paynet --secgroup api
add p3 pay paynet
add b1 batch batchnet,ip=10.10.0.2
e2e_check "4 VMs with ports run (pay on nodes ${NODE[p1]:-?} ${NODE[p2]:-?} ${NODE[p3]:-?}, batch on ${NODE[b1]:-?})" \
	test "${#ID[@]}" = 4
pay_nodes=$(printf '%s\n' "${NODE[p1]}" "${NODE[p2]}" "${NODE[p3]}" | sort -u)

# --- each node hosting paynet: its bridge, VXLAN device and peers --------
vxlan_ok() { # node vni
	local d
	d=$(on "$1" ip -d link show "fcvx$2") || return 1
	grep -q "vxlan id $2 local $(node_ip "$1") dev\|vxlan id $2 local $(node_ip "$1") srcport" <<<"$d" &&
		grep -q 'dstport 4789' <<<"$d" && grep -q 'nolearning' <<<"$d" &&
		grep -q 'mtu 1450' <<<"$d" && grep -q "master fcbr$2" <<<"$d" &&
		on "$1" ip link show "fcbr$2" | grep -q 'mtu 1450'
}
peers_of() { # node vni: the FDB's all-zero destinations, sorted
	on "$1" bridge fdb show dev "fcvx$2" | awk '/^00:00:00:00:00:00/ { print $3 }' | sort | tr '\n' ' '
}
for n in $pay_nodes; do
	e2e_check "node $n: fcbr$VNI_PAY and fcvx$VNI_PAY (id, local address, dstport, nolearning, MTU 1450)" \
		vxlan_ok "$n" "$VNI_PAY"
	want=$(for m in $pay_nodes; do [ "$m" = "$n" ] || node_ip "$m"; done | sort | tr '\n' ' ')
	got=$(peers_of "$n" "$VNI_PAY")
	e2e_check "node $n: head-end replication to the other paynet nodes [$want]" test "$got" = "$want"
done
nb=${NODE[b1]:-1}
e2e_check "node $nb: batchnet has its own bridge and VXLAN device (VNI $VNI_BATCH)" \
	vxlan_ok "$nb" "$VNI_BATCH"
for n in 1 2 3; do
	grep -qx "$n" <<<"$pay_nodes" && continue
	e2e_check "node $n hosts no paynet VM and has no fcbr$VNI_PAY" \
		eval "! on $n ip link show fcbr$VNI_PAY >/dev/null 2>&1"
done

# --- each guest's NIC: MAC, bridge, MTU, filter ------------------------------
nic_ok() { # vm network vni
	local id=${ID[$1]} n=${NODE[$1]} port mac ip xml tap
	port=$(e2e_finctl -o json port list --vm "$id" | e2e_json "d[0]") || return 1
	mac=$(e2e_json "d['mac']" <<<"$port")
	ip=$(e2e_json "d['ip']" <<<"$port")
	pid=$(e2e_json "d['id']" <<<"$port")
	xml=$(e2e_virsh "$n" dumpxml "$id") || return 1
	grep -q "<mac address='$mac'/>" <<<"$xml" &&
		grep -q "<source bridge='fcbr$3'/>" <<<"$xml" &&
		grep -q "<mtu size='1450'/>" <<<"$xml" &&
		grep -q "<filterref filter='fincloud-port-$pid'>" <<<"$xml" &&
		grep -q "<parameter name='IP' value='$ip'/>" <<<"$xml" || { echo "$xml" | grep -A8 '<interface'; return 1; }
	tap=$(sed -n "s/.*<target dev='\([^']*\)'.*/\1/p" <<<"$xml" | grep -v '^vda$' | head -1)
	on "$n" ip link show "$tap" | grep -q "master fcbr$3" || { echo "tap $tap is not on fcbr$3"; return 1; }
	e2e_virsh "$n" nwfilter-dumpxml "fincloud-port-$pid" >"$E2E_DIR/filter-$1.xml" || return 1
	grep -q "<filterref filter='clean-traffic'/>" "$E2E_DIR/filter-$1.xml"
}
for v in p1 p2 p3; do
	e2e_check "vm $v: its NIC has its port's MAC, sits on fcbr$VNI_PAY with MTU 1450 and its filter" \
		nic_ok "$v" paynet "$VNI_PAY"
done
e2e_check "vm b1 (other tenant, same address 10.10.0.2): on fcbr$VNI_BATCH, not on paynet's bridge" \
	nic_ok b1 batchnet "$VNI_BATCH"
P2IP=$(e2e_finctl -o json port list --vm "${ID[p2]}" | e2e_json "d[0]['ip']")
# the rule from group api's members only, then the drop of the rest
filter_ok() { # vm source
	$PY - "$E2E_DIR/filter-$1.xml" "$2" <<'PYEOF' || { cat "$E2E_DIR/filter-$1.xml"; return 1; }
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
rules = root.findall("rule")
ins = [(r.get("action"), [(c.tag, c.attrib) for c in r]) for r in rules if r.get("direction") == "in"]
want = ("accept", [("tcp", {"srcipaddr": sys.argv[2], "srcipmask": "32", "dstportstart": "8443", "dstportend": "8443"})])
assert ins == [want, ("drop", [("all", {})])], ins
PYEOF
}
e2e_check "vm p1's filter lets TCP 8443 in from group api's member $P2IP only, drops the rest" \
	filter_ok p1 "$P2IP"
e2e_check "a network in use cannot be deleted" eval '! e2e_finctl network delete paynet >/dev/null 2>&1'

# --- the last VM of a network on a node goes: so do its links there --------
gone=''
for v in p1 p2 p3; do
	n=${NODE[$v]}
	c=0
	for w in p1 p2 p3; do [ "${NODE[$w]}" = "$n" ] && c=$((c + 1)); done
	[ "$c" = 1 ] && { gone=$v; break; }
done
if [ -z "$gone" ]; then
	e2e_fail "a paynet VM alone on its node (the spread pool put them together)"
else
	n=${NODE[$gone]}
	gport=$(e2e_finctl -o json port list --vm "${ID[$gone]}" | e2e_json "d[0]['id']")
	f vm delete "${ID[$gone]}" --wait --timeout 120
	links_gone() { ! on "$n" ip link show "fcbr$VNI_PAY" >/dev/null 2>&1 && ! on "$n" ip link show "fcvx$VNI_PAY" >/dev/null 2>&1; }
	for _ in $(seq 1 150); do links_gone && break; sleep 0.2; done
	e2e_check "deleting vm $gone, paynet's last VM on node $n, removes fcbr$VNI_PAY and fcvx$VNI_PAY there" links_gone
	e2e_check "... and its port's filter" \
		eval "! e2e_virsh $n nwfilter-dumpxml fincloud-port-$gport >/dev/null 2>&1"
	for m in $pay_nodes; do
		[ "$m" = "$n" ] && continue
		ok=0
		for _ in $(seq 1 150); do
			grep -q "$(node_ip "$n") " <<<"$(peers_of "$m" "$VNI_PAY")" || { ok=1; break; }
			sleep 0.2
		done
		e2e_check "node $m no longer replicates paynet to node $n" test "$ok" = 1
	done
	e2e_check "batchnet stays on node $nb" vxlan_ok "$nb" "$VNI_BATCH"

	# --- a network the node cannot set up makes it degraded ------------
	host_is() { # node status [reason-part]
		local j
		j=$(e2e_finctl -o json host show "node$1") || return 1
		[ "$(e2e_json "d['status']" <<<"$j")" = "$2" ] &&
			e2e_json "d.get('degraded_reason') or ''" <<<"$j" | grep -qF -- "${3-}"
	}
	e2e_check "a bridge fcbr$VNI_PAY that is not fincloud's made on node $n" \
		on "$n" ip link add "fcbr$VNI_PAY" type bridge
	others=$(printf '%s\n' 1 2 3 | grep -vx "$n")
	for m in $others; do f host maintenance "node$m" on; done
	P4=$(e2e_create pay tiny p4 --network paynet 2>/dev/null)
	for m in $others; do f host maintenance "node$m" off; done
	ok=0
	for _ in $(seq 1 300); do host_is "$n" degraded "fcbr$VNI_PAY" && { ok=1; break; }; sleep 0.2; done
	e2e_check "a foreign link fcbr$VNI_PAY on node $n, where paynet is wanted again, makes it degraded, the reason naming the link" \
		test "$ok" = 1
	e2e_check "... and vm p4 is not started there on a bridge that is not fincloud's" \
		eval '[ -n "$P4" ] && [ "$(e2e_dominfo "$n" "$P4" State)" != running ] && [ -z "$(on "$n" ip -o link show master "fcbr$VNI_PAY")" ]'
	on "$n" ip link del "fcbr$VNI_PAY"
	ok=0
	for _ in $(seq 1 300); do host_is "$n" ok && vxlan_ok "$n" "$VNI_PAY" && { ok=1; break; }; sleep 0.2; done
	e2e_check "once it is gone, node $n sets paynet up and is healthy again" test "$ok" = 1
	e2e_check "... and vm p4 runs there" eval 'test -n "$P4" && e2e_wait_state "$P4" running 120 && [ "$(e2e_vm_field "$P4" host)" = "node$n" ]'
fi

echo "1..$e2e_n"

#!/usr/bin/env bash
# Provider networks proven from inside guests booted from the test image,
# on three testbed nodes whose link eth1 (testbed.sh --provider-link) is
# joined to one bridge on the host: the "physical" network. Node 3's eth1
# is put in a bridge of the operator's, so it is not free: no VM with a
# port on a provider network may go there, and the agent never takes it.
#
#   pub   flat on eth1, 192.168.120.0/24, shared with pay and batch
#     A (pay)    192.168.120.10
#     B (batch)  192.168.120.11
#   v120  VLAN 120 on eth1 (eth1.120), the same CIDR, shared with pay
#     V (pay)    192.168.120.11 (B's address)
#     U (pay)    192.168.120.12
#
# Checks, each printed by a guest on its serial console:
#   - A and B (two tenants, two nodes) reach each other over the flat
#     network: ping, a TCP port; the MTU is the link's 1500;
#   - V and U reach each other over VLAN 120 across nodes;
#   - no traffic crosses between the flat network and VLAN 120: A's ARP
#     for .11 is answered by B's MAC only, never V's; V gets nothing from
#     A's address, B nothing from U's;
#   - a tenant the network is not shared with is refused a port (403);
#   - the VMs are placed only on nodes 1 and 2, and when they are gone
#     the nodes have no bridge and no VLAN link of the agent's left, eth1
#     is back out of any master, and node 3's eth1 is still in its own
#     bridge.
set -u
. "$(dirname "$0")/lib.sh"

e2e_guests_up 3 fnp 10.250.120 --provider-link eth1

f() { e2e_finctl "$@" >/dev/null; }
on() { bash "$TESTBED" exec --dir "$E2E_DIR/tb" -- "$@"; }

# node 3's eth1 belongs to the operator's bridge
if on 3 ip link add opsbr type bridge && on 3 ip link set eth1 master opsbr; then
	e2e_ok "node 3: eth1 put in the operator's bridge opsbr"
else
	e2e_fail "node 3: eth1 in a bridge of its own"
fi
ifaces() { e2e_finctl -o json host show "node$1" | e2e_json "' '.join(d['interfaces'] or ['-'])"; }
for ((i = 0; i < 60; i++)); do
	i1=$(ifaces 1) i2=$(ifaces 2) i3=$(ifaces 3)
	[[ " $i1 " == *" eth1 "* && " $i2 " == *" eth1 "* && $i3 != - && " $i3 " != *" eth1 "* ]] && break
	sleep 1
done
e2e_check "the agents report the links free for provider networks: node1 [$i1] node2 [$i2] node3 [$i3] (eth1 in opsbr is not)" \
	eval '[[ " $i1 " == *" eth1 "* && " $i3 " != *" eth1 "* && $i3 != - ]]'

if f image create --name fincloud-test --file "$img" --min-mem-mib 96 &&
	f pool update default --cpu-ratio 4 --policy spread &&
	f flavor create small --vcpus 1 --mem-mib 128 --disk-gib 1 &&
	f tenant create pay && f tenant create batch && f tenant create other &&
	f network create pub --provider flat --interface eth1 --pool default \
		--shared-with pay,batch --cidr 192.168.120.0/24 &&
	f network create v120 --provider vlan --interface eth1 --vlan-id 120 --pool default \
		--shared-with pay --cidr 192.168.120.0/24; then
	e2e_ok "the test image, tenants pay, batch and other, provider networks pub (flat) and v120 (VLAN 120, the same CIDR)"
else
	e2e_fail "the test image, tenants and provider networks"
	exit 1
fi
out=$(e2e_finctl vm create --tenant other --flavor small --network pub 2>&1) && rc=0 || rc=$?
e2e_check "a tenant pub is not shared with gets no port on it (finctl exit $rc): $out" \
	eval '[ "$rc" != 0 ] && [[ $out == *"not shared with tenant '"'other'"'"* ]]'
out=$(FINCLOUD_TOKEN=$(e2e_finctl -o json token create --role tenant --tenant pay | e2e_json "d['token']") \
	"$FC_BIN/finctl" -o json network show pub 2>&1)
e2e_check "a tenant sees the network it may use, not where it is bridged" \
	eval '[[ $out == *"\"kind\": \"provider\""* || $out == *"\"kind\":\"provider\""* ]] && [[ $out != *eth1* ]]'

# --- the guests' scripts --------------------------------------------------------
prelude=$(
	cat <<'EOF'
#!/bin/sh
ifc=$(ip -o -4 addr show | awk '/ 192\.168\.120\./ { print $2; exit }')
mac=$(cat /sys/class/net/$ifc/address)
rx() { sed -n "s/.* \([0-9]*\) packets received.*/\1/p"; }
EOF
)
cat >"$work/B.sh" <<EOF
$prelude
printf '#!/bin/sh\necho fnp-hello-from-B\n' >/root/hello
chmod +x /root/hello
nc -ll -p 7000 -e /root/hello &
echo "fnp B up ifc=\$ifc mtu=\$(cat /sys/class/net/\$ifc/mtu) mac=\$mac"
i=0
until ping -c 1 -W 1 192.168.120.10 >/dev/null 2>&1 || [ \$i -ge 240 ]; do i=\$((i + 1)); done
echo "fnp B ping-A=\$(ping -c 5 -W 2 192.168.120.10 | rx)/5"
echo "fnp B ping-U=\$(ping -c 5 -W 2 192.168.120.12 | rx) arp-U=\$(arping -c 3 -w 4 -I \$ifc 192.168.120.12 | grep -c reply)"
wait
EOF
cat >"$work/A.sh" <<EOF
$prelude
echo "fnp A up ifc=\$ifc mtu=\$(cat /sys/class/net/\$ifc/mtu) mac=\$mac"
i=0
until ping -c 1 -W 1 192.168.120.11 >/dev/null 2>&1 || [ \$i -ge 240 ]; do i=\$((i + 1)); done
echo "fnp A ping-B=\$(ping -c 5 -W 2 192.168.120.11 | rx)/5"
echo "fnp A ping-B-1500=\$(ping -c 3 -s 1472 -W 2 192.168.120.11 | rx)/3"
echo "fnp A tcp-B=[\$(nc -w 5 192.168.120.11 7000 </dev/null)]"
sleep 20
echo "fnp A arp-11=[\$(arping -b -c 6 -w 7 -I \$ifc 192.168.120.11 | sed -n 's/.*\[\(.*\)\].*/\1/p' | tr A-F a-f | sort -u | tr '\n' ' ')]"
echo "fnp A done"
EOF
cat >"$work/U.sh" <<EOF
$prelude
echo "fnp U up ifc=\$ifc mtu=\$(cat /sys/class/net/\$ifc/mtu) mac=\$mac"
wait
EOF
cat >"$work/V.sh" <<EOF
$prelude
echo "fnp V up ifc=\$ifc mtu=\$(cat /sys/class/net/\$ifc/mtu) mac=\$mac"
i=0
until ping -c 1 -W 1 192.168.120.12 >/dev/null 2>&1 || [ \$i -ge 240 ]; do i=\$((i + 1)); done
echo "fnp V ping-U=\$(ping -c 5 -W 2 192.168.120.12 | rx)/5"
echo "fnp V ping-A=\$(ping -c 5 -W 2 192.168.120.10 | rx) arp-A=\$(arping -c 3 -w 4 -I \$ifc 192.168.120.10 | grep -c reply)"
wait
EOF

# --- the guests -------------------------------------------------------------
declare -A ID
mk() { # name tenant network
	ID[$1]=$(e2e_create "$2" small "$1" --image fincloud-test --network "$3" \
		--user-data "$work/$1.sh") || return 1
}
runs() { local v ids=(); for v in "$@"; do ids+=("${ID[$v]}"); done; e2e_runs "${ids[@]}"; }
if mk A pay pub,ip=192.168.120.10 && mk B batch pub,ip=192.168.120.11 &&
	mk V pay v120,ip=192.168.120.11 && mk U pay v120,ip=192.168.120.12 &&
	out=$(runs A B V U 2>&1); then
	e2e_ok "4 VMs from the image on the provider networks run"
else
	e2e_fail "4 VMs on the provider networks run" "${out:-}"
	exit 1
fi
node() { e2e_nodes_of "${ID[$1]}"; }
e2e_ok "nodes: A on $(node A), B on $(node B), V on $(node V), U on $(node U)"
e2e_check "A and B (two tenants) on different nodes, V and U too" \
	eval '[ "$(node A)" != "$(node B)" ] && [ "$(node V)" != "$(node U)" ]'
e2e_check "none on node 3, whose eth1 is not free" \
	eval '[[ "$(node A) $(node B) $(node V) $(node U)" != *3* ]]'
vlan_nodes=$(printf '%s\n' "$(node V)" "$(node U)" | sort -u)

con() { e2e_console "${ID[$1]}"; }
# line NAME KEY SECONDS: the newest "fnp NAME KEY..." line, once there is one
line() { e2e_line fnp "$1" "${ID[$1]}" "$2" "$3"; }
want() { e2e_want fnp "$1" "${ID[$1]}" "$2" "$3" "$4" "$5"; }
declare -A MAC
for v in A B V U; do
	l=$(line "$v" up 240)
	MAC[$v]=$(sed -n 's/.* mac=\(.*\)/\1/p' <<<"$l")
	port_mac=$(e2e_finctl -o json port list --vm "${ID[$v]}" | e2e_json "d[0]['mac']")
	if [[ $l == *" mtu=1500 "* ]] && [ "${MAC[$v]}" = "$port_mac" ]; then
		e2e_ok "guest $v: its NIC has the port's MAC and the link's MTU 1500: $l"
	else
		e2e_fail "guest $v: NIC with MTU 1500 and the port's MAC $port_mac" "$l"
	fi
done
for n in $vlan_nodes; do
	k=$(e2e_finctl -o json network show v120 | e2e_json "d['bridge']")
	e2e_check "node $n: eth1.120 made by the agent, in v120's bridge $k" \
		eval 'on "$n" ip -d link show eth1.120 | grep -q "master $k" && on "$n" ip -d link show eth1.120 | grep -q "vlan protocol 802.1Q id 120"'
done

want A ping-B 5/5 300 "A (pay) pings B (batch) across nodes over the flat network"
want B ping-A 5/5 60 "B pings A"
want A ping-B-1500 3/3 30 "1500-byte packets (the link's MTU, unfragmented) reach B"
want A tcp-B "[fnp-hello-from-B]" 30 "A reaches B's TCP port 7000"
want V ping-U 5/5 300 "V pings U across nodes over VLAN 120"
want V ping-A "0 arp-A=0" 120 "V (VLAN 120) gets nothing from A's address on the flat network, ARP included"
want B ping-U "0 arp-U=0" 120 "B (flat) gets nothing from U's address on VLAN 120, ARP included"
want A arp-11 "[${MAC[B]} ]" 120 "A's ARP for .11 is answered by B's MAC only (V has that address on VLAN 120)"

# --- cleaning up: nothing of the agent's is left, eth1 as it was ----------------
for v in A B V U; do
	f vm delete "${ID[$v]}" --wait --timeout 180 || e2e_fail "vm delete $v"
done
pk=$(e2e_finctl -o json network show pub | e2e_json "d['bridge']")
vk=$(e2e_finctl -o json network show v120 | e2e_json "d['bridge']")
for n in 1 2; do
	for ((i = 0; i < 30; i++)); do
		links=$(on "$n" ip -o link show 2>&1)
		! grep -qE " ($pk|$vk|eth1\.120)[:@]" <<<"$links" && break
		sleep 1
	done
	e2e_check "node $n: no $pk, $vk or eth1.120 once its last VM is gone; eth1 is in no master" \
		eval '! grep -qE " ($pk|$vk|eth1\.120)[:@]" <<<"$links" && on "$n" ip -o link show eth1 | grep -qv master'
done
e2e_check "node 3: eth1 is still in the operator's bridge opsbr" \
	eval 'on 3 ip -o link show eth1 | grep -q "master opsbr"'
f network delete v120 && f network delete pub
e2e_check "the provider networks are deleted once no port uses them" \
	eval '! e2e_finctl network show pub >/dev/null 2>&1'

echo "1..$e2e_n"

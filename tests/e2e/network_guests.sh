#!/usr/bin/env bash
# Tenant networks proven from inside guests booted from the test image
# (scripts/build-image.sh), on three testbed nodes. Each guest gets its
# address, MTU and MAC match through its NoCloud seed; its user-data
# script runs the checks and prints "fnx NAME ..." lines on its serial
# console, which this test reads with finctl vm console-log.
#
#   pay (tenant)  paynet 10.10.0.0/24
#     A 10.10.0.10  groups default, api
#     B 10.10.0.11  group default
#     W 10.10.0.12  group web: TCP 8443 from group api only
#   batch         batchnet 10.10.0.0/24 (the same CIDR)
#     X 10.10.0.11  (B's address) group default
#
# A and B are on different nodes (an anti-affinity group).
#   - A and B reach each other across nodes: ping, a TCP port, 512 KiB
#     through TCP, a 1450-byte packet (the MTU the guests are told, 1500
#     less VXLAN's 50 bytes);
#   - A's ARP for 10.10.0.11 is answered by B's MAC only, never X's; X's
#     pings and ARP requests for A and W get nothing;
#   - W answers TCP 8443 from A (api), not its other port, not ping, and
#     not TCP 8443 from B (not in api);
#   - A pings B every 20 ms while B live-migrates to another node: the
#     pings lost and the longest time without answers are printed;
#   - then B takes W's address, and then another MAC: it reaches nobody
#     (pings and ARP); with its own address and MAC back it does again.
set -u
. "$(dirname "$0")/lib.sh"

e2e_guests_up 3 fnx 10.250.240

f() { e2e_finctl "$@" >/dev/null; }
if f image create --name fincloud-test --file "$img" --min-mem-mib 96 &&
	f pool update default --cpu-ratio 4 &&
	f flavor create small --vcpus 1 --mem-mib 128 --disk-gib 1 &&
	f tenant create pay && f tenant create batch &&
	f group create apart --tenant pay --policy anti-affinity &&
	f network create paynet --tenant pay --cidr 10.10.0.0/24 &&
	f network create batchnet --tenant batch --cidr 10.10.0.0/24 &&
	f secgroup create api --tenant pay && f secgroup create web --tenant pay &&
	f secgroup rule-add web --tenant pay --protocol tcp --port-min 8443 --source-group api; then
	e2e_ok "the test image, tenants pay and batch with networks of the same CIDR, groups api and web"
else
	e2e_fail "the test image, tenants, networks and groups"
	exit 1
fi

# --- the guests' scripts --------------------------------------------------------
# each: its NIC is the one with a 10.10. address
prelude=$(
	cat <<'EOF'
#!/bin/sh
ifc=$(ip -o -4 addr show | awk '/ 10\.10\./ { print $2; exit }')
mac=$(cat /sys/class/net/$ifc/address)
rx() { sed -n "s/.* \([0-9]*\) packets received.*/\1/p"; }
EOF
)
cat >"$work/W.sh" <<EOF
$prelude
printf '#!/bin/sh\necho fnx-port-8443\n' >/root/p8443
printf '#!/bin/sh\necho fnx-port-8080\n' >/root/p8080
chmod +x /root/p8443 /root/p8080
nc -ll -p 8443 -e /root/p8443 &
nc -ll -p 8080 -e /root/p8080 &
echo "fnx W up ifc=\$ifc mtu=\$(cat /sys/class/net/\$ifc/mtu) mac=\$mac"
wait
EOF
cat >"$work/B.sh" <<EOF
$prelude
printf '#!/bin/sh\necho fnx-hello-from-B\n' >/root/hello
printf '#!/bin/sh\ndd if=/dev/zero bs=1k count=512 2>/dev/null\n' >/root/bulk
printf '#!/bin/sh\nread x\necho ok\n' >/root/go
chmod +x /root/hello /root/bulk /root/go
nc -ll -p 7000 -e /root/hello &
nc -ll -p 7001 -e /root/bulk &
echo "fnx B up ifc=\$ifc mtu=\$(cat /sys/class/net/\$ifc/mtu) mac=\$mac"
# A says when its checks and the migration are over
nc -l -p 7002 -e /root/go </dev/null
echo "fnx B to-W-8443=[\$(nc -w 3 10.10.0.12 8443 </dev/null 2>/dev/null)]"
echo "fnx B own ping-A=\$(ping -c 3 -W 2 10.10.0.10 | rx)"
ip addr del 10.10.0.11/24 dev \$ifc
ip addr add 10.10.0.12/24 dev \$ifc
echo "fnx B spoof-ip ping-A=\$(ping -c 3 -W 2 10.10.0.10 | rx) arp-A=\$(arping -c 3 -w 4 -I \$ifc 10.10.0.10 | grep -c reply)"
ip addr del 10.10.0.12/24 dev \$ifc
ip addr add 10.10.0.11/24 dev \$ifc
echo "fnx B own-again ping-A=\$(ping -c 3 -W 2 10.10.0.10 | rx)"
ip link set \$ifc down
ip link set \$ifc address 02:fc:00:00:0b:0b
ip link set \$ifc up
ip neigh flush dev \$ifc
echo "fnx B spoof-mac ping-A=\$(ping -c 3 -W 2 10.10.0.10 | rx) arp-A=\$(arping -c 3 -w 4 -I \$ifc 10.10.0.10 | grep -c reply)"
ip link set \$ifc down
ip link set \$ifc address \$mac
ip link set \$ifc up
echo "fnx B mac-again ping-A=\$(ping -c 3 -W 2 10.10.0.10 | rx)"
echo "fnx B done"
wait
EOF
cat >"$work/A.sh" <<EOF
$prelude
echo "fnx A up ifc=\$ifc mtu=\$(cat /sys/class/net/\$ifc/mtu) mac=\$mac"
i=0
until ping -c 1 -W 1 10.10.0.11 >/dev/null 2>&1 || [ \$i -ge 240 ]; do i=\$((i + 1)); done
echo "fnx A ping-B=\$(ping -c 5 -W 2 10.10.0.11 | rx)/5"
echo "fnx A ping-B-1450=\$(ping -c 3 -s 1422 -W 2 10.10.0.11 | rx)/3"
echo "fnx A tcp-B=[\$(nc -w 5 10.10.0.11 7000 </dev/null)]"
echo "fnx A bulk-B=\$(nc -w 5 10.10.0.11 7001 </dev/null | wc -c)"
echo "fnx A arp-11=[\$(arping -b -c 4 -w 5 -I \$ifc 10.10.0.11 | sed -n 's/.*\[\(.*\)\].*/\1/p' | tr A-F a-f | sort -u | tr '\n' ' ')]"
i=0
until [ "\$(nc -w 2 10.10.0.12 8443 </dev/null 2>/dev/null)" = fnx-port-8443 ] || [ \$i -ge 120 ]; do i=\$((i + 1)); sleep 1; done
echo "fnx A W-8443=[\$(nc -w 3 10.10.0.12 8443 </dev/null 2>/dev/null)]"
echo "fnx A W-8080=[\$(nc -w 3 10.10.0.12 8080 </dev/null 2>/dev/null)]"
echo "fnx A ping-W=\$(ping -c 3 -W 2 10.10.0.12 | rx)/3"
echo "fnx A migration-ping start"
ping -i 0.02 -w 75 10.10.0.11 >/tmp/mp 2>&1
echo "fnx A migration-ping \$(awk -F'[= ]' '
	/bytes from/ { for (i = 1; i < NF; i++) if (\$i == "seq") s = \$(i + 1) + 0
		if (n && s - last - 1 > gap) gap = s - last - 1; last = s; n++ }
	/packets transmitted/ { t = \$1 }
	END { printf "sent=%d received=%d lost=%d longest-gap=%d", t, n, t - n, gap }' /tmp/mp)"
echo go | nc -w 5 10.10.0.11 7002 >/dev/null
echo "fnx A done"
EOF
cat >"$work/X.sh" <<EOF
$prelude
echo "fnx X up ifc=\$ifc mtu=\$(cat /sys/class/net/\$ifc/mtu) mac=\$mac"
n=0
while [ \$n -lt 400 ]; do
	n=\$((n + 1))
	for t in 10.10.0.10 10.10.0.12; do
		ping -c 1 -W 1 \$t >/dev/null 2>&1 && echo "fnx X REACHED \$t"
		arping -c 1 -w 1 -I \$ifc \$t 2>/dev/null | grep -q reply && echo "fnx X ARP-REPLY \$t"
	done
	[ \$((n % 10)) -ne 0 ] || echo "fnx X probes=\$n"
done
EOF

# --- the guests -------------------------------------------------------------
declare -A ID
mk() { # name tenant network groups...
	local name=$1 t=$2 net=$3 g a=()
	shift 3
	for g in "$@"; do a+=(--secgroup "$g"); done
	case $name in A | B) a+=(--group apart) ;; esac
	ID[$name]=$(e2e_create "$t" small "$name" --image fincloud-test --network "$net" \
		"${a[@]}" --user-data "$work/$name.sh") || return 1
}
runs() { local v ids=(); for v in "$@"; do ids+=("${ID[$v]}"); done; e2e_runs "${ids[@]}"; }
if mk W pay paynet,ip=10.10.0.12 web && mk B pay paynet,ip=10.10.0.11 &&
	mk X batch batchnet,ip=10.10.0.11 && mk A pay paynet,ip=10.10.0.10 default api &&
	out=$(runs W B X A 2>&1); then
	e2e_ok "4 VMs from the image, each with its address on its network, run"
else
	e2e_fail "4 VMs from the image run" "${out:-}"
	exit 1
fi
node() { e2e_nodes_of "${ID[$1]}"; }
e2e_ok "nodes: A ${ID[A]:0:8} on $(node A), B on $(node B), W on $(node W), X (batch) on $(node X)"

con() { e2e_console "${ID[$1]}"; }
# line NAME KEY SECONDS: the newest "fnx NAME KEY..." line, once there is one
line() { e2e_line fnx "$1" "${ID[$1]}" "$2" "$3"; }
declare -A MAC
for v in A B W X; do
	l=$(line "$v" up 240)
	MAC[$v]=$(sed -n 's/.* mac=\(.*\)/\1/p' <<<"$l")
	port_mac=$(e2e_finctl -o json port list --vm "${ID[$v]}" | e2e_json "d[0]['mac']")
	if [[ $l == *" mtu=1450 "* ]] && [ "${MAC[$v]}" = "$port_mac" ]; then
		e2e_ok "guest $v: its seed gave its NIC the port's MAC match and MTU 1450: $l"
	else
		e2e_fail "guest $v: NIC with MTU 1450 and the port's MAC $port_mac" "$l"
	fi
done

# want NAME KEY VALUE SECONDS: the guest printed KEY=VALUE
want() { e2e_want fnx "$1" "${ID[$1]}" "$2" "$3" "$4" "$5"; }
want A ping-B 5/5 300 "A pings B across nodes"
want A ping-B-1450 3/3 30 "A's 1450-byte packets (the MTU) reach B through VXLAN"
want A tcp-B "[fnx-hello-from-B]" 30 "A reaches B's TCP port 7000"
want A bulk-B 524288 30 "512 KiB through TCP from B to A in full-size segments"
want A arp-11 "[${MAC[B]} ]" 30 "A's ARP for 10.10.0.11 is answered by B's MAC only (X, of batch, has that address too)"
want A W-8443 "[fnx-port-8443]" 150 "W (group web) lets TCP 8443 in from A (group api)"
want A W-8080 "[]" 30 "W drops TCP 8080 from A"
want A ping-W 0/3 30 "W drops A's pings"

# --- live migration of B while A pings it every 20 ms -----------------------------
line A "migration-ping start" 60 >/dev/null
# the node that holds neither A nor B
to=$(printf '%s\n' 1 2 3 | grep -vx "$(node A)" | grep -vx "$(node B)" | head -n 1)
sleep 5
if out=$(e2e_finctl vm migrate "${ID[B]}" --to "node$to" --wait --timeout 300 2>&1) &&
	[ "$(node B)" = "$to" ]; then
	e2e_ok "B migrated live to node $to while A pings it"
else
	e2e_fail "B migrates live to node $to" "$out"
fi
mp=$(line A "migration-ping sent" 120)
sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' <<<"$mp")
lost=$(sed -n 's/.*lost=\([0-9]*\).*/\1/p' <<<"$mp")
gap=$(sed -n 's/.*longest-gap=\([0-9]*\).*/\1/p' <<<"$mp")
if [ "${sent:-0}" -gt 1000 ] && [ -n "$gap" ] && [ $((gap * 20)) -lt 1000 ]; then
	e2e_ok "pings at 20 ms during B's migration: $lost of $sent lost, longest silence $((gap * 20)) ms (target under 1 s)"
else
	e2e_fail "pings during B's migration: under 1 s without answers" "$mp"
fi

# --- B, not in group api, and B spoofing -----------------------------------------
want B to-W-8443 "[]" 120 "W drops TCP 8443 from B (not in group api)"
want B "own ping-A" 3 30 "B, on node $to now, pings A with its own address"
want B "spoof-ip ping-A" "0 arp-A=0" 60 "with W's address B reaches nobody, ARP included: dropped on its node"
want B "own-again ping-A" 3 30 "its own address back, B reaches A again"
want B "spoof-mac ping-A" "0 arp-A=0" 60 "with another MAC B reaches nobody, ARP included"
# B's filter drops its frames at its tap, before its node's bridge learns
# their source: the other MAC is in no bridge's FDB, B's own is in its
# node's
on() { bash "$TESTBED" exec --dir "$E2E_DIR/tb" -- "$@"; }
vni=$(e2e_finctl -o json network show paynet | e2e_json "d['vni']")
fdb_b=$(on "$(node B)" bridge fdb show br "fcbr$vni" 2>&1)
fdb_a=$(on "$(node A)" bridge fdb show br "fcbr$vni" 2>&1)
if grep -q "^${MAC[B]} " <<<"$fdb_b" && ! grep -q '^02:fc:00:00:0b:0b ' <<<"$fdb_b$fdb_a"; then
	e2e_ok "the other MAC's frames were dropped on B's node: in neither node's fcbr$vni FDB (B's own MAC is)"
else
	e2e_fail "the other MAC's frames are dropped on B's node" "node $(node B): $fdb_b" "node $(node A): $fdb_a"
fi
want B "mac-again ping-A" 3 60 "its own MAC back, B reaches A again"

# --- X, of the other tenant, all along ------------------------------------------
xl=$(con X)
probes=$(grep -a '^fnx X probes=' <<<"$xl" | tail -n 1)
if [ -n "$probes" ] && ! grep -aqE '^fnx X (REACHED|ARP-REPLY)' <<<"$xl"; then
	e2e_ok "X (batch, same CIDR) got no answer from A's or W's address, ICMP or ARP ($probes)"
else
	e2e_fail "X gets no answer from pay's addresses" "$(grep -aE '^fnx X' <<<"$xl" | tail -n 5 | tr '\n' '|')"
fi

echo "1..$e2e_n"

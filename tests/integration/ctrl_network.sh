#!/usr/bin/env bash
# Tenant networks through the API: networks (VNIs from the configured
# range, overlapping CIDRs across tenants, delete refused while a port
# uses it), ports made with the VM's claim (never one address twice, even
# under 200 concurrent creates on one /24; a deleted VM's address free
# only once its node has removed it), security groups and their rules,
# and what each node's desired state says of them (ports, networks,
# peers); provider networks (flat and VLAN, shared with listed tenants,
# placed only on nodes that report their interface). curl acts as the
# agents.
. "$FC_TOP/tests/integration/ctrl_lib.bash"
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 CLI is missing"; exit 77; }

check "the sample controller.conf (vni_min, vni_max) passes --check-config" \
	"$ctl" --config "$FC_TOP/scripts/etc/fincloud/controller.conf" --state-dir "$work/s0" --check-config
check "vni_min above vni_max is refused" \
	eval '! "$ctl" --config /dev/null --state-dir "$work/s0" --vni-min 10 --vni-max 9 --check-config 2>"$work/err" && grep -q vni_max "$work/err"'
check "a VNI over 24 bits is refused" \
	eval '! "$ctl" --config /dev/null --state-dir "$work/s0" --vni-max 16777216 --check-config 2>/dev/null'
ctrl_start --vni-min 5000 --vni-max 5002 || { nok "controller starts"; exit 1; }
api POST /v1/tokens '{"role":"join","uses":1000}'
JOIN=$(jv .token)
# nodes whose migration URIs name their underlay addresses
for i in 1 2 3; do
	api POST /v1/agents/register "{\"join_token\":\"$JOIN\",\"node\":\"n$i\",\"pool\":\"default\",\"migration_uri\":\"qemu+tcp://10.250.30.$i/system\",\"inventory\":$(inventory 256 262144 2000)}" -
	CRED[n$i]=$(jv .credential)
done
api POST /v1/flavors '{"name":"s","vcpus":1,"mem_mib":64,"disk_gib":1}'
api PATCH /v1/pools/default '{"policy":"spread"}'
api POST /v1/tenants '{"name":"pay"}'
api POST /v1/tenants '{"name":"batch"}'
check "setup" is 201

# --- networks ---------------------------------------------------------------
api POST /v1/networks '{"name":"paynet","tenant":"pay","cidr":"10.10.0.0/24","gateway":"10.10.0.1"}'
check "create a network" is 201
check "its VNI is the lowest of the configured range" test "$(jv .vni)" = 5000
check "its MTU leaves room for VXLAN" test "$(jv .mtu)" = 1450
api POST /v1/networks '{"name":"batchnet","tenant":"batch","cidr":"10.10.0.0/24"}'
check "another tenant's network may overlap (same CIDR)" is 201
check "... with the next VNI and no gateway" \
	test "$(jv .vni) $(jv .gateway)" = "5001 null"
api POST /v1/networks '{"name":"paynet","tenant":"pay","cidr":"10.11.0.0/24"}'
check "a network name is taken once" is_err 409 exists name
api POST /v1/networks '{"name":"n3","tenant":"pay","cidr":"10.12.0.0/24","vni":5000}'
check "a VNI another network has is refused" is_err 409 vni_in_use vni
api POST /v1/networks '{"name":"n3","tenant":"pay","cidr":"10.12.0.1/24"}'
check "a CIDR with host bits set is refused, naming the network meant" \
	eval 'is_err 400 invalid_field cidr && has 10.12.0.0/24'
api POST /v1/networks '{"name":"n3","tenant":"pay","cidr":"10.12.0.0/8"}'
check "a prefix outside /16../29 is refused" is_err 400 invalid_field cidr
api POST /v1/networks '{"name":"n3","tenant":"pay","cidr":"10.12.0.0/24","gateway":"10.13.0.1"}'
check "a gateway outside the network is refused" is_err 400 invalid_field gateway
api POST /v1/networks '{"name":"n3","tenant":"ghost","cidr":"10.12.0.0/24"}'
check "a network of a tenant that does not exist" is_err 404 not_found tenant
api POST /v1/networks '{"name":"n3","tenant":"pay","cidr":"10.12.0.0/24","vni":77}'
check "an operator may choose a VNI outside the range" \
	eval 'is 201 && [ "$(jv .vni)" = 77 ]'
api POST /v1/networks '{"name":"n4","tenant":"pay","cidr":"10.13.0.0/24"}'
api POST /v1/networks '{"name":"n5","tenant":"pay","cidr":"10.14.0.0/24"}'
check "the VNI range exhausted: 409 naming the settings" \
	eval 'is_err 409 vni_exhausted && has vni_max'
api GET '/v1/networks?tenant=pay'
check "list a tenant's networks" test "$(jv '[.items[].name] | join(",")')" = "n3,n4,paynet"
api POST /v1/tokens '{"role":"tenant","tenant":"batch"}'
BATCH=$(jv .token)
api GET /v1/networks/paynet "" "$BATCH"
check "another tenant's network looks absent" is_err 404 not_found
api POST /v1/networks '{"name":"bn2","cidr":"10.20.0.0/24","vni":9}' "$BATCH"
check "a tenant may not choose a VNI" is_err 400 invalid_field vni

# --- ports with the VM --------------------------------------------------------
api POST /v1/vms '{"tenant":"pay","flavor":"s","name":"a","networks":[{"network":"paynet"}]}'
check "create a VM with a port" is 201
A=$(jv .id)
api GET "/v1/ports?vm=$A"
check "its port has the lowest free address (the gateway skipped)" \
	test "$(jv '.items[0].address')" = 10.10.0.2/24
check "... a locally administered MAC of fincloud's prefix" \
	eval '[[ $(jv ".items[0].mac") =~ ^02:fc(:[0-9a-f]{2}){4}$ ]]'
check "... and the tenant's default security group" \
	test "$(jv '.items[0].secgroups | join(",")')" = default
api POST /v1/vms '{"tenant":"batch","flavor":"s","name":"x","networks":[{"network":"batchnet","ip":"10.10.0.2"}]}'
check "the same address on another tenant's overlapping network" is 201
X=$(jv .id)
api POST /v1/vms '{"tenant":"pay","flavor":"s","name":"b","networks":[{"network":"paynet","ip":"10.10.0.2"}]}'
check "an address taken on the network is refused" is_err 409 address_in_use networks
check "... and nothing of the VM is left" \
	test "$(db "SELECT count(*) FROM vms WHERE name = 'b'")" = 0
api POST /v1/vms '{"tenant":"pay","flavor":"s","name":"b","networks":[{"network":"paynet","ip":"10.10.0.1"}]}'
check "the gateway's address is refused" is_err 400 invalid_field "networks[0]"
api POST /v1/vms '{"tenant":"pay","flavor":"s","name":"b","networks":[{"network":"paynet","ip":"10.10.0.255"}]}'
check "the broadcast address is refused" is_err 400 invalid_field "networks[0]"
api POST /v1/vms '{"tenant":"pay","flavor":"s","name":"b","networks":[{"network":"batchnet"}]}'
check "another tenant's network is refused" is_err 404 not_found "networks[0]"
api POST /v1/vms '{"tenant":"pay","flavor":"s","name":"b","networks":[{"network":"paynet"},{"network":"paynet"}]}'
check "one port per network" is_err 400 invalid_field networks
api POST /v1/vms '{"tenant":"pay","flavor":"s","name":"b","networks":[{"network":"paynet"}],"secgroups":["ghost"]}'
check "a security group the tenant does not have" is_err 404 not_found secgroups

# --- security groups ----------------------------------------------------------
api POST /v1/secgroups '{"name":"api","tenant":"pay"}'
check "create a security group" is 201
api POST /v1/secgroups '{"name":"web","tenant":"pay","description":"front"}'
api POST /v1/secgroups '{"name":"api","tenant":"pay"}'
check "a tenant's group name is taken once" is_err 409 exists name
api POST /v1/secgroups '{"name":"api","tenant":"batch"}'
check "another tenant may have a group of the same name" is 201
api GET /v1/secgroups/api
check "a name two tenants have needs the tenant" is_err 409 ambiguous tenant
api POST '/v1/secgroups/web/rules?tenant=pay' '{"protocol":"tcp","port_min":8443,"source_group":"api"}'
check "add a rule: TCP 8443 from group api" \
	eval 'is 201 && [ "$(jv ".rules[0].port_max") $(jv ".rules[0].source_group")" = "8443 api" ]'
RULE=$(jv '.rules[0].id')
api POST '/v1/secgroups/web/rules?tenant=pay' '{"protocol":"udp","port_min":53,"source_cidr":"10.0.0.0/8"}'
check "add a rule: UDP 53 from a CIDR" is 201
api POST '/v1/secgroups/web/rules?tenant=pay' '{"protocol":"sctp","source_cidr":"0.0.0.0/0"}'
check "an unknown protocol is refused" is_err 400 invalid_field protocol
api POST '/v1/secgroups/web/rules?tenant=pay' '{"protocol":"tcp","source_cidr":"10.0.0.0/8","source_group":"api"}'
check "a rule has one source" is_err 400 invalid_field source_cidr
api POST '/v1/secgroups/web/rules?tenant=pay' '{"protocol":"tcp","port_min":90,"port_max":80,"source_cidr":"0.0.0.0/0"}'
check "a port range upside down is refused" is_err 400 invalid_field port_max
api POST '/v1/secgroups/web/rules?tenant=pay' '{"protocol":"tcp","source_group":"ghost"}'
check "a source group the tenant does not have" is_err 404 not_found source_group
api POST /v1/vms '{"tenant":"pay","flavor":"s","name":"w","networks":[{"network":"paynet"}],"secgroups":["web"]}'
W=$(jv .id)
api POST /v1/vms '{"tenant":"pay","flavor":"s","name":"c","networks":[{"network":"paynet"}],"secgroups":["api"]}'
C=$(jv .id)
api GET "/v1/ports?vm=$C"
CIP=$(jv '.items[0].ip')
# a member of api on another network: not a source of W's rules
api POST /v1/vms '{"tenant":"pay","flavor":"s","name":"o","networks":[{"network":"n3"}],"secgroups":["api"]}'
check "a VM of group api on another network of the tenant" is 201
api DELETE /v1/secgroups/web?tenant=pay
check "a group with ports cannot be deleted" is_err 409 in_use
api DELETE /v1/secgroups/api?tenant=pay
check "a group another group's rule names cannot be deleted" is_err 409 in_use
api DELETE "/v1/secgroups/web/rules/00000000-0000-4000-8000-000000000000?tenant=pay"
check "delete a rule that does not exist" is_err 404 not_found

# --- the desired state --------------------------------------------------------
host_of() { db "SELECT host FROM vms WHERE id = '$1'"; }
HW=$(host_of "$W")
gen() { db "SELECT generation FROM hosts WHERE name = '$1'"; }
heartbeat "$HW" "$(gen "$HW")" '[]'
check "a node's desired state lists its VMs' ports" \
	eval "jqt '.vms[] | select(.vm_id == \"$W\") | .ports[0] | .mtu == 1450 and .vni == 5000 and .gateway == \"10.10.0.1\" and (.address | endswith(\"/24\"))'"
check "... with the group's rules resolved to the members' addresses on the port's network (not o's on n3)" \
	eval "jqt '[.vms[] | select(.vm_id == \"$W\") | .ports[0].rules[] | select(.protocol == \"tcp\")] == [{\"protocol\":\"tcp\",\"port_min\":8443,\"port_max\":8443,\"source\":\"$CIP/32\"}]'"
check "... and its networks" eval "jqt '[.networks[].name] | index(\"paynet\") != null'"
hosts=$(db "SELECT group_concat(DISTINCT host) FROM vms v JOIN ports p ON p.vm_id = v.id WHERE p.network = 'paynet'")
npeer=$(($(tr ',' '\n' <<<"$hosts" | wc -l) - 1))
check "... with every other node hosting it as a peer ($npeer)" \
	eval "jqt '[.networks[] | select(.name == \"paynet\") | .peers[].address] | length == $npeer and all(startswith(\"10.250.30.\"))'"
api DELETE /v1/networks/paynet
check "a network in use cannot be deleted" is_err 409 in_use

# --- a deleted VM's address is free once its node has removed it ---------------
HA=$(host_of "$A")
api DELETE "/v1/vms/$A"
api POST /v1/vms '{"tenant":"pay","flavor":"s","name":"a2","networks":[{"network":"paynet","ip":"10.10.0.2"}]}'
check "a deleted VM's address is not reused before its node removed it" is_err 409 address_in_use
heartbeat "$HA" "$(gen "$HA")" '[]'
api POST /v1/vms '{"tenant":"pay","flavor":"s","name":"a2","networks":[{"network":"paynet","ip":"10.10.0.2"}]}'
check "... and is once it has" is 201

# --- provider networks ----------------------------------------------------------
prov() { # NAME EXTRA-FIELDS
	api POST /v1/networks "{\"name\":\"$1\",\"cidr\":\"192.168.59.0/24\",\"pool\":\"default\",\"shared_with\":[\"pay\"]$2}" "${3:-$ADMIN}"
}
api POST /v1/networks '{"name":"pub","provider":"flat","interface":"eth1","pool":"default","shared_with":["pay"],"cidr":"192.168.50.0/24","gateway":"192.168.50.1"}'
check "an operator creates a flat provider network shared with a tenant" \
	eval 'is 201 && [ "$(jv .kind) $(jv .tenant) $(jv .vni) $(jv .mtu) $(jv .provider.type) $(jv .provider.interface) $(jv ".shared_with|join(\",\")")" = "provider null null 1500 flat eth1 pay" ]'
check "... bridged by fcbrKEY, a key above every VXLAN id" test "$(jv .bridge)" = fcbr16777216
api POST /v1/networks '{"name":"v120","provider":"vlan","interface":"eth1","vlan_id":120,"pool":"default","shared_with":["batch","pay"],"cidr":"192.168.52.0/24","dhcp":true}'
check "a VLAN provider network with DHCP: its server's address is taken from the CIDR" \
	eval 'is 201 && [ "$(jv .provider.vlan_id) $(jv .dhcp) $(jv .dhcp_address)" = "120 true 192.168.52.1" ]'
api POST /v1/networks '{"name":"gone","provider":"flat","interface":"eth3","pool":"default","shared_with":["pay"],"cidr":"192.168.53.0/24"}'
gone_br=$(jv .bridge)
api DELETE /v1/networks/gone
check "an unused provider network is deleted" eval 'is 204 || is 200'
api POST /v1/networks '{"name":"gone2","provider":"flat","interface":"eth4","pool":"default","shared_with":["pay"],"cidr":"192.168.54.0/24"}'
check "a deleted provider network's key is never handed out again ($gone_br, then $(jv .bridge)): a node may still bridge its uplink there" \
	eval 'is 201 && [ "$(jv .bridge)" != "$gone_br" ] && [ "$gone_br" = fcbr16777218 ]'
api DELETE /v1/networks/gone2
prov p2 ',"provider":"flat","interface":"eth1"'
check "a second network on the same link of the pool" is_err 409 interface_in_use interface
prov p2 ',"provider":"vlan","interface":"eth1"'
check "a VLAN network without its tag" is_err 400 invalid_field vlan_id
prov p2 ',"provider":"flat","interface":"eth1","vlan_id":7'
check "a flat network with a tag" is_err 400 invalid_field vlan_id
prov p2 ',"provider":"vxlan","interface":"eth1"'
check "an unknown provider type" is_err 400 invalid_field provider
prov p2 ',"provider":"flat","interface":"fcbr7"'
check "fincloud's own link as the interface" is_err 400 invalid_field interface
prov p2 ',"provider":"vlan","interface":"enp0s31f6abcd","vlan_id":4000'
check "an interface whose IFACE.VLAN does not fit in 15 bytes" is_err 400 invalid_field interface
prov p2 ',"provider":"flat"'
check "a provider network without its interface" is_err 400 invalid_field interface
prov p2 ',"provider":"flat","interface":"eth2","tenant":"pay"'
check "a provider network with an owning tenant" is_err 400 invalid_field tenant
api POST /v1/networks '{"name":"p2","provider":"flat","interface":"eth2","shared_with":["pay"],"cidr":"192.168.59.0/24"}'
check "a provider network without its pool" is_err 400 invalid_field pool
api POST /v1/networks '{"name":"p2","provider":"flat","interface":"eth2","pool":"ghost","shared_with":["pay"],"cidr":"192.168.59.0/24"}'
check "a pool that does not exist" is_err 404 not_found pool
api POST /v1/networks '{"name":"p2","provider":"flat","interface":"eth2","pool":"default","shared_with":[],"cidr":"192.168.59.0/24"}'
check "a provider network shared with nobody" is_err 400 invalid_field shared_with
api POST /v1/networks '{"name":"p2","provider":"flat","interface":"eth2","pool":"default","shared_with":["ghost"],"cidr":"192.168.59.0/24"}'
check "shared with a tenant that does not exist" is_err 404 not_found shared_with
api POST /v1/networks '{"name":"p2","tenant":"pay","interface":"eth2","cidr":"192.168.59.0/24"}'
check "an interface without --provider" is_err 400 invalid_field interface
prov p2 ',"provider":"flat","interface":"eth2"' "$BATCH"
check "a tenant token cannot create a provider network" is_err 403 forbidden provider
api GET /v1/networks/pub "" "$BATCH"
check "a tenant it is not shared with does not see it" is_err 404 not_found
api GET /v1/networks/v120 "" "$BATCH"
check "a tenant it is shared with sees it, without where it is bridged, whom else it serves or their ports" \
	eval 'is 200 && jqt "has(\"provider\") or has(\"shared_with\") or has(\"bridge\") or has(\"ports\") | not" && [ "$(jv .kind)" = provider ]'
api GET /v1/networks "" "$BATCH"
check "... and lists it with its own, never the other" \
	eval 'jqt "[.items[].name] | index(\"v120\") != null and index(\"pub\") == null"'
api DELETE /v1/networks/v120 "" "$BATCH"
check "... but cannot delete it" is_err 404 not_found
api POST /v1/vms '{"tenant":"pay","flavor":"s","name":"pv0","networks":[{"network":"pub"}]}'
check "no node has reported the interface: no placement, saying why" \
	eval 'is_err 409 no_capacity && has "reports their interface"'
hb_if() { # NODE INTERFACES-JSON [VLAN-CAPABLE]
	api POST "/v1/agents/$1/heartbeat" "{\"generation_seen\":0,\"status\":\"ok\",\"inventory\":$(inventory 256 262144 2000),\"domains\":[],\"foreign_domains\":[],\"tasks\":[],\"interfaces\":$2,\"vlan_capable\":${3:-false}}" "${CRED[$1]}"
}
hb_if n1 '["eth0","eth1"]'
hb_if n2 '["eth0","eth1"]'
hb_if n3 '["eth0"]'
check "nodes report the links free for provider networks" is 200
hb_if n3 '["fcbr7"]'
check "... never fincloud's own" is_err 400 invalid_field interfaces
api GET /v1/hosts/n1
check "a host shows them" test "$(jv '.interfaces | join(",")')" = eth0,eth1
api POST /v1/vms '{"tenant":"batch","flavor":"s","name":"pvb","networks":[{"network":"pub"}]}'
check "a tenant the network is not shared with gets no port on it (403)" \
	is_err 403 not_shared "networks[0]"
api POST /v1/vms '{"flavor":"s","name":"pvb","networks":[{"network":"pub"}]}' "$BATCH"
check "... and its own token learns no more than of a network that does not exist (404, no pool named)" \
	eval 'is_err 404 not_found "networks[0]" && [[ $body != *default* ]]'
api POST /v1/pools '{"name":"other"}'
api POST /v1/vms '{"tenant":"pay","flavor":"s","name":"pv0","pool":"other","networks":[{"network":"pub"}]}'
check "a pool other than the provider network's" is_err 400 invalid_field pool
pv_hosts=
for i in 1 2 3 4; do
	api POST /v1/vms "{\"tenant\":\"pay\",\"flavor\":\"s\",\"name\":\"pv$i\",\"networks\":[{\"network\":\"pub\"}]}"
	pv_hosts+=" $(jv .host)"
done
check "VMs on a provider network go only to nodes with its interface:$pv_hosts" \
	eval '[[ " $pv_hosts " != *" n3 "* ]] && [[ "$pv_hosts" == *n1* ]] && [[ "$pv_hosts" == *n2* ]]'
api GET "/v1/ports?network=pub"
check "their ports get the network's addresses (the gateway skipped)" \
	test "$(jv '[.items[].ip] | sort | join(",")')" = 192.168.50.2,192.168.50.3,192.168.50.4,192.168.50.5
api POST /v1/vms '{"tenant":"batch","flavor":"s","name":"pvd","networks":[{"network":"v120"}]}'
check "a VLAN network's VM goes to no node without 802.1Q support, saying so" \
	eval 'is_err 409 no_capacity && has 802.1Q'
hb_if n1 '["eth0","eth1"]' true
api GET /v1/hosts/n1
check "a host shows its 802.1Q support" test "$(jv .vlan_capable)" = true
api POST /v1/vms '{"tenant":"batch","flavor":"s","name":"pvd","networks":[{"network":"v120","ip":"192.168.52.1"}]}'
check "the DHCP server's address is never a port's" is_err 400 invalid_field "networks[0]"
api POST /v1/vms '{"tenant":"batch","flavor":"s","name":"pvd","networks":[{"network":"v120"}]}'
check "a shared tenant's VM gets the next address" \
	eval 'is 201 && [ "$(db "SELECT ip FROM ports WHERE network = '"'v120'"'")" = 3232248834 ]'
PVH=$(jv .host)
heartbeat "$PVH" "$(gen "$PVH")" '[]'
check "the node's desired state: the VLAN network's link and DHCP server" \
	eval "jqt '.networks[] | select(.name == \"v120\") | .provider == {\"type\":\"vlan\",\"interface\":\"eth1\",\"vlan_id\":120} and .dhcp.address == \"192.168.52.1/24\" and .mtu == 1500'"
check "... on the node with 802.1Q" test "$PVH" = n1
check "... and its port, the DHCP server its filter lets in" \
	eval "jqt '[.vms[].ports[] | select(.network == \"v120\") | .dhcp_server] == [\"192.168.52.1\"]'"
# each node's server answers every port of the network (a guest that
# migrated away renews with whichever node answers ARP)
hb_if n2 '["eth0","eth1"]' true
for i in 1 2 3 4; do
	api POST /v1/vms "{\"tenant\":\"pay\",\"flavor\":\"s\",\"name\":\"pve$i\",\"networks\":[{\"network\":\"v120\"}]}"
	[ "$(jv .host)" != "$PVH" ] && break
done
check "a second VM on the DHCP network on another node" test "$(jv .host)" != "$PVH"
v120_hosts=$(db "SELECT mac FROM ports WHERE network = 'v120' ORDER BY ip" | tr '\n' ' ')
for h in "$PVH" "$(jv .host)"; do
	heartbeat "$h" "$(gen "$h")" '[]'
	check "node $h's desired state lists every port of the DHCP network for its server ($v120_hosts)" \
		eval "[ \"\$(jv '[.networks[] | select(.name == \"v120\") | .dhcp.hosts[] | .mac + \" \"] | join(\"\")')\" = \"\$v120_hosts\" ] && jqt '.networks[] | select(.name == \"v120\") | .dhcp.hosts[0].address == \"192.168.52.2\"'"
done
api DELETE /v1/tenants/batch
check "a tenant a provider network is shared with cannot be deleted" is_err 409 in_use
api PATCH /v1/networks/v120 '{"shared_with":["pay"]}'
check "a tenant with ports on it cannot be left out of a network's tenants" \
	eval 'is_err 409 in_use shared_with && has batch'
api PATCH /v1/networks/pub '{"shared_with":["pay","batch"]}'
check "an operator shares a provider network with another tenant" \
	eval 'is 200 && [ "$(jv ".shared_with|join(\",\")")" = batch,pay ]'
api POST /v1/vms '{"tenant":"batch","flavor":"s","name":"pvb","networks":[{"network":"pub"}]}'
check "... whose VMs may then have ports on it" is 201
api PATCH /v1/networks/pub '{"shared_with":["pay"]}' "$BATCH"
check "a tenant cannot change whom a network is shared with" is 403
api PATCH /v1/networks/paynet '{"shared_with":["pay"]}'
check "a tenant network is not shared" is_err 409 not_provider shared_with

# --- 200 concurrent creates on one /24 ----------------------------------------
api POST /v1/networks '{"name":"burst","tenant":"batch","cidr":"10.30.0.0/24","vni":3000}'
bdir=$work/burst
mkdir -p "$bdir"
seq 1 200 | xargs -P 48 -I{} sh -c '
	curl -s -m 120 -o "$0/{}.json" -w "%{http_code}\n" -X POST \
		-H "Authorization: Bearer $1" -H "Content-Type: application/json" \
		--data-binary "{\"tenant\":\"batch\",\"flavor\":\"s\",\"networks\":[{\"network\":\"burst\"}]}" \
		"$2/v1/vms" >"$0/{}.code"' "$bdir" "$ADMIN" "$URL"
for f in "$bdir"/*.code; do
	printf 'POST\t/v1/vms\t%s\t%s\n' "$(cat "$f")" "${f%.code}.json" >>"$work/resp/index"
done
created=$(cat "$bdir"/*.code | grep -c '^201$')
codes=$(cat "$bdir"/*.code | sort | uniq -c | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1 }')
others=$(grep -L '"id"' "$bdir"/*.json 2>/dev/null | head -n 3 | xargs -r cat | tr '\n' ' ' | cut -c1-600)
check "200 concurrent creates with a port on one /24: all created (HTTP $codes)${others:+; first errors: $others}" \
	test "$created" = 200
check "200 ports, 200 distinct addresses, all host addresses of the /24" \
	test "$(db "SELECT count(*) || ' ' || count(DISTINCT ip) || ' ' || sum(CASE WHEN ip > 169738240 AND ip < 169738495 THEN 1 ELSE 0 END) FROM ports WHERE network = 'burst'")" = "200 200 200"
check "... and 200 distinct MACs" \
	test "$(db "SELECT count(DISTINCT mac) FROM ports WHERE network = 'burst'")" = 200
api GET '/v1/ports?network=burst&limit=1000'
check "port list shows them" test "$(jv '.items | length')" = 200

validate_responses
echo "1..$n"
exit $((nfail > 0))

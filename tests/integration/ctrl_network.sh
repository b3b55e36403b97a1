#!/usr/bin/env bash
# Tenant networks through the API: networks (VNIs from the configured
# range, overlapping CIDRs across tenants, delete refused while a port
# uses it), ports made with the VM's claim (never one address twice, even
# under 200 concurrent creates on one /24; a deleted VM's address free
# only once its node has removed it), security groups and their rules,
# and what each node's desired state says of them (ports, networks,
# peers). curl acts as the agents.
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
check "... with the group's rules resolved to the members' addresses" \
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
check "200 concurrent creates with a port on one /24: all created ($created)" test "$created" = 200
check "200 ports, 200 distinct addresses, all host addresses of the /24" \
	test "$(db "SELECT count(*) || ' ' || count(DISTINCT ip) || ' ' || sum(CASE WHEN ip > 169738240 AND ip < 169738495 THEN 1 ELSE 0 END) FROM ports WHERE network = 'burst'")" = "200 200 200"
check "... and 200 distinct MACs" \
	test "$(db "SELECT count(DISTINCT mac) FROM ports WHERE network = 'burst'")" = 200
api GET '/v1/ports?network=burst&limit=1000'
check "port list shows them" test "$(jv '.items | length')" = 200

validate_responses
echo "1..$n"
exit $((nfail > 0))

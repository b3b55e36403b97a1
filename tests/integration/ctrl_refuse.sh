#!/usr/bin/env bash
# Refusals name the real cause with one mapping: a named object of a
# request body (flavor, pool, group, target host, a tenant's pools, an
# agent's pool) that does not exist is 404 not_found naming the field and
# finctl exit 4; a pool the tenant's list leaves out names the allowed
# pools and how to change them; a migration that cannot succeed (a stopped
# VM) is 409 before any task is made; and a host counts the VMs migrating
# in to it in its vm_count and allocated figures, as placement does.
. "$FC_TOP/tests/integration/ctrl_lib.bash"
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 CLI is missing"; exit 77; }

ctrl_start || { nok "controller starts"; exit 1; }
api POST /v1/pools '{"name":"prod","compliance_classes":["pci"]}'
api POST /v1/flavors '{"name":"small","vcpus":1,"mem_mib":512,"disk_gib":1}'
api POST /v1/tenants '{"name":"loan"}'
api POST /v1/tenants '{"name":"pay","compliance_class":"pci","pools":["prod"]}'
fake_nodes n1 n2

# --- missing named objects: 404 naming the field, finctl exit 4 -----------
api POST /v1/vms '{"tenant":"loan","flavor":"nosuch"}'
check "a VM of a missing flavor is 404 naming flavor" is_err 404 not_found flavor
api POST /v1/vms '{"tenant":"loan","flavor":"small","pool":"nosuch"}'
check "a VM in a missing pool is 404 naming pool" is_err 404 not_found pool
api POST /v1/vms '{"tenant":"loan","flavor":"small","group":"nosuch"}'
check "a VM in a missing group is 404 naming group" is_err 404 not_found group
check "none of them made a VM" test "$(db 'SELECT count(*) FROM vms')" = 0
for o in "--flavor nosuch" "--flavor small --pool nosuch" "--flavor small --group nosuch"; do
	# shellcheck disable=SC2086
	"$finctl" vm create --tenant loan $o >"$work/out" 2>&1
	rc=$?
	check "finctl vm create $o: exit 4 ($rc)" test "$rc" = 4
done
api POST /v1/tenants '{"name":"half","pools":["nosuch"]}'
check "a tenant naming a missing pool is 404 naming pools" is_err 404 not_found pools
api POST /v1/agents/register "{\"join_token\":\"$JOIN\",\"node\":\"x1\",\"pool\":\"nosuch\",\"migration_uri\":\"\",\"inventory\":$(inventory 1 1 1)}" -
check "an agent joining a missing pool is 404 naming pool" is_err 404 not_found pool

# --- the pool refusal names the tenant's allowed pools ----------------------
api POST /v1/vms '{"tenant":"pay","flavor":"small","pool":"default"}'
check "a pool outside the tenant's list is 409 naming its allowed pools and the fix" \
	eval 'is_err 409 no_capacity && jv .error.message | grep -q "allowed pools (prod).*finctl tenant update pay --pools prod,default"'
check "and does not blame the compliance class" eval '! jv .error.message | grep -q compliance'
api POST /v1/vms '{"tenant":"loan","flavor":"small","pool":"prod"}'
check "a pool whose compliance classes exclude the tenant still says so" \
	eval 'is_err 409 no_capacity && jv .error.message | grep -q "compliance class"'

# --- migrate: a missing target is 404, a stopped VM 409 with no task ------
api POST /v1/vms '{"tenant":"loan","flavor":"small","name":"a"}'
A=$(jv .id) A_host=$(jv .host)
other=n1
[ "$A_host" = n1 ] && other=n2
api POST "/v1/vms/$A/migrate" '{"target_host":"node9"}'
check "migrate to a missing host is 404 naming target_host" is_err 404 not_found target_host
"$finctl" vm migrate "$A" --to node9 >"$work/out" 2>&1
rc=$?
check "finctl vm migrate --to node9: exit 4 ($rc)" test "$rc" = 4
tasks=$(db "SELECT count(*) FROM tasks WHERE type = 'migrate'")
api POST "/v1/vms/$A/migrate" "{\"target_host\":\"$other\"}"
check "migrate of a VM that has not started is 409 naming its state" \
	eval 'is_err 409 not_running && jv .error.message | grep -q "is pending"'
heartbeat "$A_host" 0 "[$(domain "$A" running)]"
api POST "/v1/vms/$A/stop"
heartbeat "$A_host" 0 "[$(domain "$A" shutoff)]"
api GET "/v1/vms/$A"
stopped=$(jv .state)
api POST "/v1/vms/$A/migrate" "{\"target_host\":\"$other\"}"
check "migrate of a stopped VM ($stopped) is 409 not_running" \
	eval 'is_err 409 not_running && jv .error.message | grep -q "desired stopped"'
check "and no migrate task row was made" \
	test "$(db "SELECT count(*) FROM tasks WHERE type = 'migrate'")" = "$tasks"

# --- host show counts an incoming migration ---------------------------------
api POST "/v1/vms/$A/start"
heartbeat "$A_host" 0 "[$(domain "$A" running)]"
api GET "/v1/hosts/$other"
before_n=$(jv .vm_count) before_cpu=$(jv .allocated.vcpus)
api POST "/v1/vms/$A/migrate" "{\"target_host\":\"$other\"}"
check "a running VM migrates (202)" is 202
api GET "/v1/hosts/$other"
check "the target's vm_count and allocated count the incoming VM" \
	eval '[ "$(jv .vm_count)" = $((before_n + 1)) ] && [ "$(jv .allocated.vcpus)" = $((before_cpu + 1)) ] && [ "$(jv .allocated.mem_mib)" = 512 ]'
api GET /v1/hosts
check "so does the host list" \
	eval 'jqt ".items[] | select(.name == \"$other\" and .vm_count == $((before_n + 1)))"'
api GET "/v1/hosts/$A_host"
check "the source still counts it" eval '[ "$(jv .vm_count)" = 1 ]'

validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

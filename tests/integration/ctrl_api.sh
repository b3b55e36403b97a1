#!/usr/bin/env bash
# The controller's REST API end to end with curl acting as the agents:
# config check mode, tenants, flavors, VMs placed on the registered hosts,
# lists, filters and pages, quotas, every auth rule, bad input (413, 400
# naming the field, unknown fields, names), no partial rows after a
# failure, the heartbeat / desired-state exchange, host down and back,
# migrate tasks, the audit chain catching a row edited with sqlite3, and
# every response validated against schemas/openapi.yaml.
. "$FC_TOP/tests/integration/ctrl_lib.bash"
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 CLI is missing"; exit 77; }

# --- configuration check mode -------------------------------------------
"$ctl" --check-config --config "$FC_TOP/tests/data/ctrl/good.conf" >"$work/out" 2>&1
check "--check-config accepts a good file" test $? -eq 0
for f in unknown-key:2:"unknown key 'listen_prot'" port:2:"listen_port" \
	timeout:2:"heartbeat_timeout" tls:1:"tls_cert" log-level:1:"log_level"; do
	name=${f%%:*} rest=${f#*:} line=${rest%%:*} msg=${rest#*:}
	"$ctl" --check-config --config "$FC_TOP/tests/data/ctrl/bad-$name.conf" >"$work/out" 2>&1
	rc=$?
	if [ $rc -eq 2 ] && grep -q "bad-$name.conf:$line: .*$msg" "$work/out"; then
		ok "--check-config refuses bad-$name.conf with file:line"
	else
		nok "--check-config refuses bad-$name.conf with file:line" "rc=$rc: $(cat "$work/out")"
	fi
done
"$ctl" --check-config --config "$FC_TOP/tests/data/ctrl/good.conf" --listen-port 99999 >"$work/out" 2>&1
check "a flag overrides the file and is checked too" test $? -eq 2

ctrl_start --heartbeat-timeout 20 --heartbeat-interval 1 || { nok "controller starts"; exit 1; }
ok "controller starts and creates its admin token"
check "admin.token is mode 0600" test "$(stat -c %a "$work/state/admin.token")" = 600
check "state_dir is mode 0700" test "$(stat -c %a "$work/state")" = 700

api GET /healthz "" -
check "/healthz answers without a token" is 200

# --- setup: pools, flavors, tenants, tokens, hosts ------------------------
api POST /v1/pools '{"name":"prod","cpu_ratio":2,"mem_ratio":1,"disk_ratio":1,"policy":"spread","compliance_classes":["pci"]}'
check "pool created, post-copy off by default" eval 'is 201 && jqt ".migration_postcopy == false"'
api PATCH /v1/pools/prod '{"migration_postcopy":true}'
check "a pool's migrations may be allowed post-copy" eval 'is 200 && jqt ".migration_postcopy == true and .policy == \"spread\""'
api PATCH /v1/pools/prod '{"migration_postcopy":"yes"}'
check "migration_postcopy must be a boolean" is_err 400 invalid_field migration_postcopy
api POST /v1/flavors '{"name":"small","vcpus":1,"mem_mib":512,"disk_gib":1}'
check "flavor created" is 201
api POST /v1/flavors '{"name":"huge","vcpus":64,"mem_mib":1048576,"disk_gib":1}'
api POST /v1/tenants '{"name":"loan","isolation":"shared","quota":{"vms":4,"vcpus":null}}'
check "tenant with a quota created" is 201
api POST /v1/tenants '{"name":"pay","isolation":"dedicated","compliance_class":"pci","pools":["prod"]}'
check "dedicated PCI tenant created" is 201
api POST /v1/groups '{"name":"pay-ha","tenant":"pay","policy":"anti-affinity","availability":0.9999}'
check "anti-affinity group created" is 201
api POST /v1/tokens '{"role":"join","description":"test nodes","uses":1000}'
check "join token created" is 201
JOIN=$(jv .token)
api POST /v1/tokens '{"role":"viewer"}'
TOK_viewer=$(jv .token)
api POST /v1/tokens '{"role":"operator"}'
TOK_operator=$(jv .token)
api POST /v1/tokens '{"role":"tenant","tenant":"loan"}'
TOK_loan=$(jv .token)
api POST /v1/tokens '{"role":"tenant","tenant":"pay"}'
TOK_pay=$(jv .token)
api GET /v1/tokens
check "token list never shows a secret" eval '! has fc_'
check "tokens are stored as hashes only" \
	test "$(db "SELECT count(*) FROM tokens WHERE substr(hash, 1, 3) = 'fc_' OR length(hash) != 64")" = 0

register_fake n1 8 16384 100
check "agent n1 registers with the join token" is 201
register_fake n2 8 16384 100
register_fake p1 16 32768 200 prod
register_fake p2 16 32768 200 prod
check "hosts registered in two pools" test "$(db 'SELECT count(*) FROM hosts')" = 4
api POST /v1/agents/register "{\"join_token\":\"nope\",\"node\":\"x1\",\"pool\":\"default\",\"migration_uri\":\"\",\"inventory\":$(inventory 1 1 1)}" -
check "a wrong join token is refused (401)" is_err 401 unauthenticated join_token

# --- VMs: placement, lists, filters, pages -------------------------------
ids=()
for i in 1 2 3; do
	api POST /v1/vms "{\"tenant\":\"loan\",\"flavor\":\"small\",\"name\":\"web$i\"}"
	ids+=("$(jv .id)")
done
check "VMs created (201) and placed in pool default" \
	test "$(db "SELECT count(*) FROM vms WHERE tenant='loan' AND host IN ('n1','n2')")" = 3
api POST /v1/vms '{"tenant":"pay","flavor":"small","group":"pay-ha"}'
pay1=$(jv .id) pay1_host=$(jv .host)
api POST /v1/vms '{"tenant":"pay","flavor":"small","group":"pay-ha"}'
pay2_host=$(jv .host)
check "PCI tenant lands in its PCI pool" test "$(jv .pool)" = prod
check "anti-affinity members on distinct hosts" test "$pay1_host" != "$pay2_host"
api GET /v1/groups/pay-ha
check "the group reports 1 - prod(1 - A_host) over its 2 hosts against its target" \
	eval 'jqt ".members == 2 and .hosts == 2 and .achieved_availability > 0.999998 and .meets_target"'
api POST /v1/vms '{"tenant":"pay","flavor":"small","group":"pay-ha"}'
check "a third anti-affinity member with 2 hosts is refused (409) with the reason" \
	eval 'is 409 && has "anti-affinity group .pay-ha."'
api POST /v1/vms '{"tenant":"loan","flavor":"small","pool":"prod"}'
check "a tenant cannot use a pool whose compliance classes exclude it" is_err 409 no_capacity
api POST /v1/vms '{"tenant":"loan","flavor":"huge"}'
check "a VM no host can hold gets 409 no_capacity naming the dimension" \
	eval 'is_err 409 no_capacity && has "64 vCPUs"'

api GET "/v1/vms?tenant=loan"
check "list filtered by tenant" test "$(jv '.items | length')" = 3
api GET "/v1/vms?host=$pay1_host"
check "list filtered by host" test "$(jv '[.items[].host] | unique | .[0]')" = "$pay1_host"
api GET "/v1/vms?state=pending&tenant=pay"
check "list filtered by state and tenant" test "$(jv '.items | length')" = 2
api GET "/v1/vms?limit=2"
next=$(jv .next)
check "first page has 2 VMs and a next cursor" test "$(jv '.items | length')" = 2 -a "$next" != null
api GET "/v1/vms?limit=2&after=$next"
next=$(jv .next)
check "second page has 2 more and a cursor" test "$(jv '.items | length')" = 2 -a "$next" != null
api GET "/v1/vms?limit=2&after=$next"
check "the last page has the fifth VM and no cursor" test "$(jv '.items | length')" = 1 -a "$(jv .next)" = null
api GET "/v1/vms?limit=0"
check "limit out of range is 400 naming it" is_err 400 invalid_query limit
"$finctl" vm list --tenant loan >"$work/out" 2>&1
check "finctl vm list --tenant shows a table" eval 'head -1 "$work/out" | grep -q "^ID " && [ $(grep -c loan "$work/out") = 3 ]'
"$finctl" -o json vm list --state pending >"$work/out"
check "finctl -o json vm list gives all pending VMs" test "$(jq length "$work/out")" = 5

# --- quotas ----------------------------------------------------------------
api POST /v1/vms '{"tenant":"loan","flavor":"small","name":"web4"}'
check "fourth VM within the quota of 4" is 201
before=$(db 'SELECT count(*) FROM vms')
api POST /v1/vms '{"tenant":"loan","flavor":"small","name":"web5"}'
check "fifth VM over the quota is refused (403 quota_exceeded)" is_err 403 quota_exceeded
check "the refused create left no row" test "$(db 'SELECT count(*) FROM vms')" = "$before"
"$finctl" vm create --tenant loan --flavor small >"$work/out" 2>&1
rc=$?
check "finctl reports the quota with exit 1 and says what to do" \
	eval '[ $rc = 1 ] && grep -q quota "$work/out" && grep -q "finctl tenant" "$work/out"'
api PATCH /v1/tenants/loan '{"quota":{"vms":5}}'
check "operator can raise the quota" eval 'is 200 && jqt ".quota.vms == 5"'

# --- auth ------------------------------------------------------------------
api GET /v1/vms "" -
check "no token: 401" is_err 401 unauthenticated
api GET /v1/vms "" "fc_0000000000000000000000000000000000000000000000000000000000000000"
check "unknown token: 401" is_err 401 unauthenticated
api GET /v1/vms "" "$JOIN"
check "a join token is not a bearer token: 401" is 401
api GET /v1/vms "" "$TOK_viewer"
check "viewer can read" is 200
api POST /v1/flavors '{"name":"v1","vcpus":1,"mem_mib":64,"disk_gib":1}' "$TOK_viewer"
check "viewer cannot mutate (403)" is_err 403 forbidden
api DELETE "/v1/vms/${ids[0]}" "" "$TOK_viewer"
check "viewer cannot delete a VM (403)" is 403
api GET /v1/tokens "" "$TOK_operator"
check "operator cannot manage tokens (403)" is 403
api POST /v1/flavors '{"name":"medium","vcpus":2,"mem_mib":1024,"disk_gib":2}' "$TOK_operator"
check "operator can create flavors" is 201
api GET /v1/vms "" "$TOK_loan"
check "tenant token of loan lists its VMs" test "$(jv '[.items[].tenant] | unique | join(",")')" = loan
api GET /v1/vms "" "$TOK_pay"
check "tenant token lists only its own VMs" test "$(jv '[.items[].tenant] | unique | join(",")')" = pay
api GET "/v1/vms?tenant=loan" "" "$TOK_pay"
check "tenant token asking for another tenant's VMs gets none" test "$(jv '.items | length')" = 0
api GET "/v1/vms/${ids[0]}" "" "$TOK_pay"
check "another tenant's VM is 404, not 403" is_err 404 not_found
api POST "/v1/vms/${ids[0]}/stop" "" "$TOK_pay"
check "stopping another tenant's VM is 404" is 404
api DELETE "/v1/vms/${ids[0]}" "" "$TOK_pay"
check "deleting another tenant's VM is 404" is 404
api GET /v1/tenants/loan "" "$TOK_pay"
check "another tenant is 404" is 404
api POST /v1/vms '{"tenant":"loan","flavor":"small"}' "$TOK_pay"
check "creating in another tenant is 404" is 404
api POST /v1/vms '{"flavor":"small","group":"pay-ha"}' "$TOK_pay"
check "tenant token creates in its own tenant without naming it (placement then refuses a 3rd member)" \
	eval 'is_err 409 no_capacity && has "tenant .pay."'
api GET /v1/hosts "" "$TOK_pay"
check "tenant token cannot list hosts (403)" is 403
api GET "/v1/vms/$pay1" "" "$TOK_pay"
check "tenant token sees its own VM" is 200
api GET /v1/vms "" "${CRED[n1]}"
check "agent credential cannot reach /v1/vms (403)" is 403
heartbeat n2 0 '[]'
status_n2=$status
api POST /v1/agents/n2/heartbeat '{}' "${CRED[n1]}"
check "agent credential of n1 cannot heartbeat as n2 (403)" is 403
check "agent n2 heartbeats with its own credential" test "$status_n2" = 200
old=${CRED[n1]}
register_fake n1 8 16384 100
check "re-registering a node with a valid credential waits for an operator (202 pending)" \
	eval 'is 202 && [ "$(jv .registration)" = pending ] && has "finctl host approve n1"'
CRED[n1]=$old
heartbeat n1 0 '[]'
check "and its credential keeps working meanwhile" is 200
api POST /v1/hosts/n1/approve
check "an operator approves it (finctl host approve)" eval 'is 200 && [ "$(jv .registration)" = approved ]'
register_fake n1 8 16384 100
check "the next attempt gets a new credential" eval 'is 201 && [ "${CRED[n1]}" != "$old" ]'
api POST /v1/agents/n1/heartbeat '{}' "$old"
check "which revokes the old credential (401)" is 401

# --- bad input -----------------------------------------------------------
head -c 1100000 /dev/zero | tr '\0' 'a' >"$work/big"
status=$(curl -s -o "$work/resp/big.body" -w '%{http_code}' -X POST -H "Authorization: Bearer $ADMIN" \
	-H 'Content-Type: application/json' --data-binary @"$work/big" "$URL/v1/flavors")
body=$(cat "$work/resp/big.body")
printf 'POST\t/v1/flavors\t%s\t%s\n' "$status" "$work/resp/big.body" >>"$work/resp/index"
check "an oversized body is refused with 413" is_err 413 too_large
api POST /v1/flavors '{"name":"x","vcpus":1,'
check "malformed JSON is 400 invalid_json with line and column, naming the field" \
	eval 'is_err 400 invalid_json vcpus && has "line 1, column"'
api POST /v1/flavors '{"name":"x",
  "vcpus": 1,
  "mem_mib": 64 64}'
check "a syntax error on a later line names that line and field" \
	eval 'is_err 400 invalid_json mem_mib && has "line 3, column"'
api POST /v1/flavors '{"name":"x","vcpus":"two","mem_mib":64,"disk_gib":1}'
check "a wrong type is 400 naming the field" is_err 400 invalid_field vcpus
api POST /v1/flavors '{"name":"x","vcpus":1,"mem_mib":64,"disk_gib":1,"gpus":1}'
check "an unknown field is refused (400 naming it)" is_err 400 unknown_field gpus
api POST /v1/tenants '{"name":"a b"}'
check "a name with a space is refused before SQL" is_err 400 invalid_field name
api POST /v1/tenants "{\"name\":\"$(printf 'x%.0s' $(seq 64))\"}"
check "a 64-character name is refused" is_err 400 invalid_field name
api POST /v1/tenants "{\"name\":\"x'); DROP TABLE vms; --\"}"
check "an SQL-shaped name is refused" is_err 400 invalid_field name
api GET "/v1/vms/'%20OR%201=1"
check "a malformed VM id is just not found" is 404
api POST /v1/tenants '[1,2]'
check "a body that is not an object is 400" is_err 400 invalid_body
api PUT /v1/vms '{}'
check "a wrong method is 405" is 405
api GET /v1/nothing
check "an unknown path is 404" is 404
before=$(db 'SELECT (SELECT count(*) FROM tenants) || "/" || (SELECT count(*) FROM tenant_pools)')
api POST /v1/tenants '{"name":"half","pools":["default","nosuchpool"]}'
check "a tenant naming a missing pool is refused (404 naming pools)" is_err 404 not_found pools
check "and leaves no partial rows (tenant or pool links)" \
	test "$(db 'SELECT (SELECT count(*) FROM tenants) || "/" || (SELECT count(*) FROM tenant_pools)')" = "$before"

# --- the agent exchange -----------------------------------------------------
gen=$(db "SELECT generation FROM hosts WHERE name = 'n1'")
heartbeat n1 0 '[]'
check "heartbeat answers the desired state" eval 'is 200 && jqt ".generation == $gen"'
nvms=$(jv '.vms | length')
doms=$(jv '[.vms[] | .vm_id] | map("{\"vm_id\":\"" + . + "\",\"name\":\"d\",\"state\":\"running\",\"vcpus\":1,\"mem_mib\":512,\"balloon_mib\":512,\"cpu_time_ns\":1,\"cpu_pct\":2,\"disk_alloc_bytes\":1}") | join(",")')
check "the desired state lists n1's VMs" test "$nvms" = "$(db "SELECT count(*) FROM vms WHERE host='n1'")"
first=$(jv '.vms[0].vm_id')
api GET "/v1/tasks?vm=$first"
check "a new VM has a pending create task" eval 'jqt ".items[0].type == \"create\" and .items[0].state == \"pending\""'
heartbeat n1 "$gen" "[$doms]"
check "reported domains make their VMs running" \
	test "$(db "SELECT count(*) FROM vms WHERE host='n1' AND state='running'")" = "$nvms"
api GET "/v1/tasks?vm=$first"
check "and end their create tasks (done)" eval 'jqt ".items[0].state == \"done\""'
start=$(date +%s%N)
heartbeat n1 "$gen" "[$doms]" 1
took=$(( ($(date +%s%N) - start) / 1000000 ))
check "a long-poll with nothing new waits (wait_s=1)" test "$took" -ge 900
( sleep 0.5; curl -s -X POST -H "Authorization: Bearer $ADMIN" "$URL/v1/vms/$(db "SELECT id FROM vms WHERE host='n1' LIMIT 1")/stop" >/dev/null ) &
pids+=($!)
start=$(date +%s%N)
heartbeat n1 "$gen" "[$doms]" 10
took=$(( ($(date +%s%N) - start) / 1000000 ))
check "a change wakes the long-poll at once with a new generation" \
	eval '[ $took -lt 5000 ] && jqt ".generation > $gen" && jqt "[.vms[] | select(.state == \"stopped\")] | length == 1"'

victim=$(db "SELECT id FROM vms WHERE host='n1' AND state='running' LIMIT 1")
api DELETE "/v1/vms/$victim"
check "delete answers 202 with the VM deleting" eval 'is 202 && jqt ".state == \"deleting\""'
heartbeat n1 0 '[]'
gen=$(jv .generation)
check "the desired state says deleted" eval 'jqt ".vms[] | select(.vm_id == \"$victim\" and .state == \"deleted\")"'
rest=$(jv "[.vms[] | select(.vm_id != \"$victim\") | .vm_id] | map(\"{\\\"vm_id\\\":\\\"\" + . + \"\\\",\\\"name\\\":\\\"d\\\",\\\"state\\\":\\\"running\\\",\\\"vcpus\\\":1,\\\"mem_mib\\\":512,\\\"balloon_mib\\\":512,\\\"cpu_time_ns\\\":1,\\\"cpu_pct\\\":2,\\\"disk_alloc_bytes\\\":1}\") | join(\",\")")
heartbeat n1 "$gen" "[$rest]"
api GET "/v1/vms/$victim"
check "once the node applied it and no longer reports it, the VM and its claim are gone" is 404

# --- migrate task -----------------------------------------------------------
mig=$(db "SELECT id FROM vms WHERE host='n1' AND desired='running' LIMIT 1")
heartbeat n2 0 '[]'
api POST "/v1/vms/$mig/migrate" '{"target_host":"n2","max_seconds":0}'
check "a migration's time limit is at least a second" is_err 400 invalid_field max_seconds
api POST "/v1/vms/$mig/migrate" '{"target_host":"n2","max_seconds":45,"postcopy":true}'
task=$(jv .id)
check "migrate answers 202 with a pending task" eval 'is 202 && jqt ".state == \"pending\" and .type == \"migrate\""'
api POST "/v1/vms/$mig/migrate" '{"target_host":"n2"}'
check "a second migrate while one runs is 409 busy" is_err 409 busy
heartbeat n1 0 '[]'
gen=$(jv .generation)
check "the source's desired state carries the migrate task with the target URI" \
	eval 'jqt ".tasks[] | select(.task_id == \"$task\" and .target_node == \"n2\" and .target_uri == \"test:///n2\")"'
check "and the migration's own time limit and post-copy choice" \
	eval 'jqt ".tasks[] | select(.task_id == \"$task\" and .max_seconds == 45 and .postcopy == true)"'
heartbeat n1 "$gen" "[$rest]" 0 "[{\"task_id\":\"$task\",\"state\":\"done\"}]"
api GET "/v1/tasks/$task"
check "the task is done" test "$(jv .state)" = "done"
api GET "/v1/vms/$mig"
check "the VM (and its claim) moved to the target" test "$(jv .host)" = n2
"$finctl" task list --vm "$mig" >"$work/out" 2>&1
check "finctl task list --vm shows it" grep -q "$task.*done" "$work/out"

# --- a VM's own post-copy setting (its migrations' order: unit test_ctrl_task)
api POST /v1/tenants '{"name":"pcopy"}'
api POST /v1/vms '{"tenant":"pcopy","flavor":"small","migration_postcopy":"yes"}'
check "a VM's migration_postcopy must be a boolean" is_err 400 invalid_field migration_postcopy
"$finctl" -o json vm create --tenant pcopy --flavor small --name keep --postcopy no >"$work/out" 2>&1
check "finctl vm create --postcopy no records the VM's own setting" \
	eval 'jq -e ".migration_postcopy == false" "$work/out" >/dev/null'
api POST /v1/vms '{"tenant":"pcopy","flavor":"small","name":"allow","migration_postcopy":true}'
check "migration_postcopy true is the VM's" eval 'is 201 && jqt ".migration_postcopy == true"'
api POST /v1/vms '{"tenant":"pcopy","flavor":"small","name":"inherit","migration_postcopy":null}'
check "null (or absent) leaves it to the VM's pool" eval 'is 201 && jqt ".migration_postcopy == null"'
"$finctl" -o json vm update inherit --tenant pcopy --postcopy yes >"$work/out" 2>&1
check "finctl vm update --postcopy yes sets it on an existing VM" \
	eval 'jq -e ".migration_postcopy == true and .name == \"inherit\"" "$work/out" >/dev/null'
"$finctl" -o json vm update inherit --tenant pcopy --postcopy pool >"$work/out" 2>&1
check "and --postcopy pool gives it back to the pool (null)" \
	eval 'jq -e ".migration_postcopy == null" "$work/out" >/dev/null'
"$finctl" vm update inherit --tenant pcopy --postcopy maybe >"$work/out" 2>&1
rc=$?
check "finctl vm update refuses another value (exit 2)" eval '[ $rc = 2 ] && grep -q "expected one of yes, no, pool" "$work/out"'

# --- host down and back ------------------------------------------------------
check "a silent host is marked down after heartbeat_timeout" \
	wait_for 60 eval '[ "$(db "SELECT state FROM hosts WHERE name='"'p1'"'")" = down ]'
check "and its VMs are unknown" \
	test "$(db "SELECT count(*) FROM vms WHERE host='p1' AND state != 'unknown'")" = 0
pvm=$(db "SELECT id FROM vms WHERE host='p1' LIMIT 1")
heartbeat p1 0 "[$(domain "$pvm" running)]"
check "its next heartbeat brings it up and reconciles its VMs" \
	test "$(db "SELECT state FROM hosts WHERE name='p1'")/$(db "SELECT state FROM vms WHERE id='$pvm'")" = up/running

# --- utilisation, metrics ----------------------------------------------------
heartbeat n1 0 '[]'
heartbeat n2 0 '[]'
"$finctl" host maintenance n2 on >/dev/null
check "finctl host maintenance takes a host out of placement" \
	test "$(db "SELECT maintenance FROM hosts WHERE name='n2'")" = 1
api POST /v1/vms '{"tenant":"loan","flavor":"small","name":"maint"}'
check "a new VM avoids the host in maintenance" eval 'is 201 && jqt ".host == \"n1\""'
"$finctl" host maintenance n2 off >/dev/null
api GET /v1/hosts?state=maintenance
check "and back in" test "$(jv '.items | length')" = 0
api GET /v1/pools/default/utilization
check "utilisation has eta per dimension" eval 'jqt ".hosts == 2 and .dimensions.vcpus.eta_allocated > 0 and .dimensions.mem_mib.total == 65536"'
check "eta_allocated is allocated over usable (capacity x ratio)" eval 'jqt "(.dimensions.vcpus.usable > 0) and ((.dimensions.vcpus.eta_allocated - .dimensions.vcpus.allocated / .dimensions.vcpus.usable) | fabs) < 1e-9"'
"$finctl" util show default >"$work/out" 2>&1
check "finctl util show prints eta" grep -q '^vcpus ' "$work/out"
api GET /metrics "" -
check "/metrics has eta, hosts, VMs and request counters" \
	eval 'has "^fincloud_pool_eta{pool=\"default\",dimension=\"vcpus\",kind=\"allocated\"}" && has "^fincloud_hosts{state=\"up\"}" && has "^fincloud_vms{" && has fincloud_http_request_duration_seconds_bucket'

# --- pages of the other lists -----------------------------------------------
api GET "/v1/flavors?limit=1"
next=$(jv .next)
check "a page of flavors ends at its cursor, the last name on it" \
	eval 'jqt ".items | length == 1" && [ "$next" = "$(jv .items[0].name)" ]'
api GET "/v1/flavors?after=$next"
check "the next page starts after it and is the last" \
	eval 'jqt "(.items | map(.name) | index(\"$next\")) == null and .next == null and (.items | length) >= 1"'
api GET "/v1/tokens?limit=2"
check "tokens page by id" eval 'jqt ".items | length == 2" && [ "$(jv .next)" = "$(jv .items[1].id)" ]'
api GET "/v1/audit?after=x"
check "an audit cursor that is not an entry number is 400 naming it" is_err 400 invalid_query after
api GET "/v1/tasks?limit=1001"
check "a task page over 1000 is 400 naming limit" is_err 400 invalid_query limit

# --- deletes -----------------------------------------------------------------
# every DELETE of a resource answers 204 with no body, and finctl's delete
# verbs exit 0 (they answered 500 "no answer was produced" once)
mk_all() { # SUFFIX: a pool, flavor, tenant, group and token named after it
	api POST /v1/pools "{\"name\":\"tmp$1\"}"
	api POST /v1/flavors "{\"name\":\"tmp$1\",\"vcpus\":1,\"mem_mib\":64,\"disk_gib\":1}"
	api POST /v1/tenants "{\"name\":\"tmp$1\"}"
	api POST /v1/groups "{\"name\":\"tmp$1\",\"tenant\":\"tmp$1\"}"
	api POST /v1/tokens "{\"role\":\"viewer\",\"description\":\"tmp$1\"}"
	tmp_token=$(jv .id)
}
mk_all a
for r in "groups/tmpa" "tenants/tmpa" "flavors/tmpa" "pools/tmpa" "tokens/$tmp_token"; do
	api DELETE "/v1/$r"
	check "DELETE /v1/${r%%/*}/NAME answers 204 with no body" eval 'is 204 && [ -z "$body" ]'
	api GET "/v1/$r"
	[ "${r%%/*}" = tokens ] || check "and ${r%%/*}/NAME is gone (404)" is_err 404 not_found
	api DELETE "/v1/$r"
	check "a second DELETE /v1/${r%%/*}/NAME is 404" is_err 404 not_found
done
check "the audit log records each delete as 204" \
	test "$(db "SELECT count(*) FROM audit WHERE action LIKE '%.delete' AND result = 204 AND (target LIKE '%:tmpa' OR target = 'token:$tmp_token')")" = 5
api DELETE /v1/pools/prod
check "a pool with hosts is 409 in_use" is_err 409 in_use
api DELETE /v1/flavors/small
check "a flavor used by VMs is 409 in_use" is_err 409 in_use
api DELETE /v1/tenants/loan
check "a tenant with VMs is 409 in_use" is_err 409 in_use
api DELETE /v1/groups/pay-ha
check "a group with VMs is 409 in_use" is_err 409 in_use
api DELETE /v1/groups/pay-ha "" "$TOK_loan"
check "another tenant's group is 404 to a tenant token" is_err 404 not_found
check "and the refused deletes left every row" \
	test "$(db "SELECT (SELECT count(*) FROM pools WHERE name = 'prod') + (SELECT count(*) FROM flavors WHERE name = 'small') + (SELECT count(*) FROM tenants WHERE name = 'loan') + (SELECT count(*) FROM groups WHERE name = 'pay-ha')")" = 4
mk_all b
for v in "group:tmpb" "tenant:tmpb" "flavor:tmpb" "pool:tmpb" "token:$tmp_token"; do
	"$finctl" "${v%%:*}" delete "${v#*:}" >"$work/out" 2>&1
	rc=$?
	check "finctl ${v%%:*} delete exits 0 and says so" \
		eval '[ $rc = 0 ] && grep -q "deleted" "$work/out"'
done
check "and the rows are gone" \
	test "$(db "SELECT (SELECT count(*) FROM pools WHERE name = 'tmpb') + (SELECT count(*) FROM flavors WHERE name = 'tmpb') + (SELECT count(*) FROM tenants WHERE name = 'tmpb') + (SELECT count(*) FROM groups WHERE name = 'tmpb') + (SELECT count(*) FROM tokens WHERE id = '$tmp_token')")" = 0

# --- audit -------------------------------------------------------------------
api GET /v1/audit/verify
check "the audit chain verifies" test "$(jv .ok)" = true
api GET "/v1/audit?limit=5"
check "audit entries carry actor, action, result and request id" \
	eval 'jqt ".items[0].actor and .items[0].request_id and .next"'
check "failed requests are audited too" \
	test "$(db "SELECT count(*) FROM audit WHERE action='flavor.create' AND result=403")" -ge 1
api POST /v1/flavors '{"name":"anon","vcpus":1,"mem_mib":64,"disk_gib":1}' -
check "so are mutating requests without a valid token" \
	test "$(db "SELECT count(*) FROM audit WHERE action='flavor.create' AND result=401 AND actor='none:-'")" = 1
db "UPDATE audit SET target = 'x' WHERE seq = 3" 2>"$work/out"
check "an UPDATE of an audit row is refused by the trigger" grep -q "append-only" "$work/out"
db "$(drop_audit_trigger audit_no_update) UPDATE audit SET target = 'vm:forged' WHERE seq = 3"
"$finctl" audit verify >"$work/out" 2>&1
rc=$?
check "finctl audit verify detects the edited row (exit 1, names entry 3)" \
	eval '[ $rc = 1 ] && grep -q "entry 3 was modified" "$work/out"'
api GET /v1/audit/verify
check "GET /v1/audit/verify reports bad_seq 3" test "$(jv .bad_seq)" = 3

validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

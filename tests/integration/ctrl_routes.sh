#!/usr/bin/env bash
# Every operation of schemas/openapi.yaml driven to every status it lists:
# its successes and its errors (400, 401, 403, 404, 409), each answer
# validated against the spec, and the suite fails when an operation or a
# listed status is never answered, or a status answered is not listed
# (openapi_validate.py --coverage). A status no request can reach goes in
# ctrl_routes.allow with the reason. curl acts as the agents, with a join
# token as ctrl_agents.sh does. (This is the test that would have caught
# the 500 every successful DELETE answered.)
. "$FC_TOP/tests/integration/ctrl_lib.bash"

# hosts must stay up through the scenario; host_down is reached at the end;
# every operation is driven to 401, more than auth_fail_limit allows
mkdir -p "$work/ui"
printf '<!doctype html><title>t</title>\n' >"$work/ui/index.html"
printf 'export const x = 1;\n' >"$work/ui/app.js"
ctrl_start --ui-dir "$work/ui" --heartbeat-timeout 120 --heartbeat-interval 1 --auth-fail-limit 1000000 --image-max-size 4194304 || { nok "controller starts"; exit 1; }
# expect STATUS WHAT: the last answer has STATUS
expect() { check "$2 -> $1" is "$1"; }
# req STATUS WHAT METHOD PATH [BODY [TOKEN]]: a request that answers STATUS
req() {
	local st=$1 what=$2
	shift 2
	api "$@"
	expect "$st" "$what"
}
NOPE_ID=00000000-0000-4000-8000-000000000000

# --- public ----------------------------------------------------------------
req 200 "GET /healthz" GET /healthz "" -
req 200 "GET /metrics" GET /metrics "" -
# the dashboard's files (ui_serve.sh has the rules)
req 302 "GET / redirects to the dashboard" GET / "" -
req 302 "GET /ui redirects to the dashboard" GET /ui "" -
req 200 "GET /ui/" GET /ui/ "" -
req 200 "GET a file of the dashboard" GET /ui/app.js "" -
etag=$(curl -s -D - -o /dev/null "$URL/ui/app.js" | tr -d '\r' | sed -n 's/^ETag: //Ip')
API_HEADER="If-None-Match: $etag" req 304 "GET a file of the dashboard that did not change" GET /ui/app.js "" -
etag=$(curl -s -D - -o /dev/null "$URL/ui/" | tr -d '\r' | sed -n 's/^ETag: //Ip')
API_HEADER="If-None-Match: $etag" req 304 "GET /ui/ that did not change" GET /ui/ "" -
req 404 "GET a file the dashboard does not have" GET /ui/missing.js "" -
rm "$work/ui/index.html"
req 404 "GET /ui/ without its index.html" GET /ui/ "" -

# --- pools, flavors, tenants, tokens ----------------------------------------
# COLLECTION KEY BODY BAD-BODY: create (and again: 409), a bad create, list, show
while read -r coll key good bad; do
	req 201 "create one of $coll" POST "/v1/$coll" "$good"
	req 409 "create one of $coll that exists" POST "/v1/$coll" "$good"
	req 400 "create one of $coll with a bad field" POST "/v1/$coll" "$bad"
	req 200 "list $coll" GET "/v1/$coll"
	req 200 "show one of $coll" GET "/v1/$coll/$key"
done <<'EOF'
pools prod {"name":"prod","policy":"spread"} {"name":"bad name"}
flavors small {"name":"small","vcpus":1,"mem_mib":512,"disk_gib":1} {"name":"zero","vcpus":0,"mem_mib":512,"disk_gib":1}
tenants loan {"name":"loan"} {"name":"t","isolation":"private"}
storage rbd {"name":"rbd","type":"ceph","ceph_pool":"vms","monitors":["10.0.0.1:6789"],"client":"fincloud-{node}"} {"name":"r2","type":"local"}
EOF
api POST /v1/flavors '{"name":"huge","vcpus":64,"mem_mib":1048576,"disk_gib":1}'
req 200 "update a pool" PATCH /v1/pools/prod '{"cpu_ratio":2}'
req 400 "update a pool with a ratio of 0" PATCH /v1/pools/prod '{"cpu_ratio":0}'
req 200 "a pool's utilization" GET /v1/pools/prod/utilization
req 400 "utilization since a time that is not one" GET '/v1/pools/prod/utilization?since=soon'
req 200 "update a tenant" PATCH /v1/tenants/loan '{"quota":{"vms":20}}'
req 400 "update a tenant with a negative quota" PATCH /v1/tenants/loan '{"quota":{"vms":-1}}'
req 404 "create a tenant allowed a pool that does not exist" POST /v1/tenants '{"name":"t2","pools":["ghost"]}'

req 201 "create a join token" POST /v1/tokens '{"role":"join","description":"routes","uses":1000}'
JOIN=$(jv .token)
api POST /v1/tokens '{"role":"viewer"}'
VIEWER=$(jv .token)
api POST /v1/tokens '{"role":"operator"}'
SPARE_TOKEN=$(jv .id)
req 404 "create a token of a tenant that does not exist" POST /v1/tokens '{"role":"tenant","tenant":"ghost"}'
req 400 "create a token of an unknown role" POST /v1/tokens '{"role":"root"}'
req 200 "list tokens" GET /v1/tokens
ADMIN_ID=$(jv '.items[] | select(.role == "admin") | .id')
req 200 "show a token" GET "/v1/tokens/$ADMIN_ID"

# --- agents --------------------------------------------------------------
register_fake n1 8 16384 100
expect 201 "register an agent"
register_fake n2 8 16384 100
register_fake p1 8 16384 100 prod
register_fake p2 8 16384 100 prod
req 401 "register with a wrong join token" POST /v1/agents/register "{\"join_token\":\"fc_nope\",\"node\":\"x1\",\"pool\":\"default\",\"migration_uri\":\"\",\"inventory\":$(inventory 1 1 1)}" -
req 404 "register in a pool that does not exist" POST /v1/agents/register "{\"join_token\":\"$JOIN\",\"node\":\"x1\",\"pool\":\"ghost\",\"migration_uri\":\"\",\"inventory\":$(inventory 1 1 1)}" -
req 400 "register without a node name" POST /v1/agents/register "{\"join_token\":\"$JOIN\",\"pool\":\"default\"}" -
# n1 again from another machine: it waits for an operator, who rejects it,
# then approves it (the agent never comes back for it: n1 runs on)
again="{\"join_token\":\"$JOIN\",\"node\":\"n1\",\"pool\":\"default\",\"migration_uri\":\"test:///x\",\"machine_id\":\"other\",\"inventory\":$(inventory 8 16384 100)}"
req 202 "register a node name that has a valid credential" POST /v1/agents/register "$again" -
req 200 "reject a host's pending registration" POST /v1/hosts/n1/reject
req 409 "reject a host with no registration waiting" POST /v1/hosts/n1/reject
req 403 "register a node whose re-registration was rejected" POST /v1/agents/register "$again" -
req 200 "approve a host's registration" POST /v1/hosts/n1/approve
req 409 "approve a host with nothing to approve" POST /v1/hosts/n1/approve
declare -A DOMS=([n1]="" [n2]="" [p1]="" [p2]="")
beat() { # NODE: a heartbeat reporting the domains in DOMS[NODE] running
	heartbeat "$1" 0 "[${DOMS[$1]}]"
}
# every host up again (a loaded machine may take a while between steps)
beat_all() { for h in n1 n2 p1 p2; do beat "$h"; done; }
beat_all
expect 200 "a heartbeat"
req 400 "a heartbeat with wait_s out of range" POST '/v1/agents/n1/heartbeat?wait_s=99' '{}' "${CRED[n1]}"
heartbeat n2 0 '[]' >/dev/null
req 403 "a heartbeat for another node" POST /v1/agents/n2/heartbeat "{}" "${CRED[n1]}"
req 400 "events that are not events" POST /v1/agents/n1/events '{"events":[{"vm_id":"x"}]}' "${CRED[n1]}"
req 403 "events for another node" POST /v1/agents/n2/events '{"events":[]}' "${CRED[n1]}"

# --- groups, VMs, tasks --------------------------------------------------
req 201 "create a group" POST /v1/groups '{"name":"ha","tenant":"loan"}'
req 409 "create a group that exists" POST /v1/groups '{"name":"ha","tenant":"loan"}'
req 404 "create a group of a tenant that does not exist" POST /v1/groups '{"name":"g","tenant":"ghost"}'
req 400 "create a group with a bad policy" POST /v1/groups '{"name":"g","tenant":"loan","policy":"near"}'
req 200 "list groups" GET /v1/groups
req 200 "show a group" GET /v1/groups/ha

# curl_agent_image NODE SHA256: the node fetches an image with its credential
curl_agent_image() {
	api GET "/v1/agents/$1/images/$2" "" "${CRED[$1]}"
}
# vm_new NAME [MORE JSON]: create a loan VM, report it running on its host
vm_new() {
	api POST /v1/vms "{\"tenant\":\"loan\",\"flavor\":\"small\",\"name\":\"$1\"${2:+,$2}}"
	local id host
	id=$(jv .id) host=$(jv .host)
	VM[$1]=$id HOST[$1]=$host
	DOMS[$host]+="${DOMS[$host]:+,}$(domain "$id" running)"
}
declare -A VM HOST
vm_new web1 '"group":"ha"'
expect 201 "create a VM"
vm_new web2
vm_new batch '"pool":"prod"'
beat_all
api POST "/v1/agents/${HOST[web1]}/events" \
	"{\"events\":[{\"vm_id\":\"${VM[web1]}\",\"state\":\"running\",\"reason\":\"booted\",\"time_ms\":$(date +%s000)}]}" \
	"${CRED[${HOST[web1]}]}"
expect 200 "events of a node's VM"
api GET "/v1/vms/${VM[web2]}"
check "a VM reported by its host runs" eval 'is 200 && [ "$(jv .state)" = running ]'
req 409 "create a VM whose name the tenant uses" POST /v1/vms '{"tenant":"loan","flavor":"small","name":"web1"}'
req 409 "create a VM that fits on no host" POST /v1/vms '{"tenant":"loan","flavor":"huge"}'
req 404 "create a VM of a tenant that does not exist" POST /v1/vms '{"tenant":"ghost","flavor":"small"}'
req 404 "create a VM of a flavor that does not exist" POST /v1/vms '{"tenant":"loan","flavor":"ghost"}'
req 404 "create a VM in a pool that does not exist" POST /v1/vms '{"tenant":"loan","flavor":"small","pool":"ghost"}'
req 400 "create a VM with a bad name" POST /v1/vms '{"tenant":"loan","flavor":"small","name":"bad name"}'
api POST /v1/vms '{"tenant":"loan","flavor":"small","name":"idle"}'
IDLE=$(jv .id)
req 200 "list VMs" GET /v1/vms
req 200 "show a VM" GET "/v1/vms/${VM[web1]}"
req 200 "show a VM by its name" GET /v1/vms/web2
# a VM named as web1's id begins: the reference names both
api POST /v1/vms "{\"tenant\":\"loan\",\"flavor\":\"small\",\"name\":\"${VM[web1]:0:8}\"}"
req 409 "show a VM by a reference that names two" GET "/v1/vms/${VM[web1]:0:8}"
req 200 "set a VM's own post-copy setting" PATCH "/v1/vms/${VM[web1]}" '{"migration_postcopy":false}'
req 400 "set a VM's post-copy setting to a string" PATCH "/v1/vms/${VM[web1]}" '{"migration_postcopy":"yes"}'
req 409 "update a VM by a reference that names two" PATCH "/v1/vms/${VM[web1]:0:8}" '{"migration_postcopy":null}'
req 409 "list the tasks of a VM reference that names two" GET "/v1/tasks?vm=${VM[web1]:0:8}"
req 404 "list the tasks of a VM name nobody uses" GET "/v1/tasks?vm=nope"
req 202 "stop a VM" POST "/v1/vms/${VM[web1]}/stop"
req 202 "start a VM" POST "/v1/vms/${VM[web1]}/start"
req 202 "reboot a running VM" POST "/v1/vms/${VM[web1]}/reboot"
TASK=$(jv .id)
req 409 "reboot a VM with a task in progress" POST "/v1/vms/${VM[web1]}/reboot"
req 409 "reboot a VM that does not run" POST "/v1/vms/$IDLE/reboot"
other=n1
[ "${HOST[web2]}" = n1 ] && other=n2
req 202 "migrate a VM" POST "/v1/vms/${VM[web2]}/migrate" "{\"target_host\":\"$other\"}"
req 409 "migrate a VM with a task in progress" POST "/v1/vms/${VM[web2]}/migrate" "{\"target_host\":\"$other\"}"
req 404 "migrate to a host that does not exist" POST "/v1/vms/${VM[batch]}/migrate" '{"target_host":"ghost"}'
req 409 "migrate a VM that does not run" POST "/v1/vms/$IDLE/migrate" "{\"target_host\":\"$other\"}"
req 400 "migrate with an unknown field" POST "/v1/vms/${VM[batch]}/migrate" '{"to":"n2"}'
req 200 "list tasks" GET /v1/tasks
req 200 "show a task" GET "/v1/tasks/$TASK"

# --- images ----------------------------------------------------------------
qemu-img create -q -f qcow2 "$work/img.qcow2" 64M
qemu-img create -q -f qcow2 -b "$work/img.qcow2" -F qcow2 "$work/backed.qcow2"
head -c 5000000 /dev/zero >"$work/big.raw"
api_file POST '/v1/images?name=base&os_type=linux' "$work/img.qcow2"
expect 201 "upload an image"
IMG=$(jv .id) IMG_SHA=$(jv .sha256)
api_file POST '/v1/images?name=base' "$work/img.qcow2"
expect 409 "upload an image whose name is taken"
api_file POST '/v1/images?name=backed' "$work/backed.qcow2"
expect 400 "upload an image with a backing file"
api_file POST '/v1/images?name=big' "$work/big.raw"
expect 413 "upload an image over image_max_size"
api_file POST '/v1/images?name=t&tenant=ghost' "$work/img.qcow2"
expect 404 "upload an image of a tenant that does not exist"
req 200 "list images" GET /v1/images
req 200 "show an image by its name" GET /v1/images/base
api POST /v1/flavors '{"name":"imaged","vcpus":1,"mem_mib":256,"disk_gib":1,"requires_image":true}'
req 400 "create a VM of a flavor that requires an image, without one" POST /v1/vms '{"tenant":"loan","flavor":"imaged"}'
req 201 "create a VM from an image" POST /v1/vms '{"tenant":"loan","flavor":"imaged","name":"imaged","image":"base","ssh_keys":["ssh-ed25519 AAAA test"],"user_data":"#!/bin/sh\necho hi\n"}'
IMGVM=$(jv .id) IMGHOST=$(jv .host)
check "the VM names its image and checksum" eval '[ "$(jv .image.sha256)" = "$IMG_SHA" ] && [ "$(jv .image.name)" = base ]'
req 409 "delete an image a VM uses" DELETE /v1/images/base
curl_agent_image "$IMGHOST" "$IMG_SHA"
expect 200 "a node fetches its VM's image"
other=n1
[ "$IMGHOST" = n1 ] && other=n2
curl_agent_image "$other" "$IMG_SHA"
expect 404 "a node fetches an image none of its VMs uses"
curl_agent_image "$IMGHOST" nothex
expect 400 "a node fetches an image by a digest that is not one"
# the same bytes under another name: one file serves both
api_file POST '/v1/images?name=spare' "$work/img.qcow2"
SPARE_IMG=$(jv .id)
req 204 "delete an image no VM uses" DELETE "/v1/images/$SPARE_IMG"
check "the bytes another image has stay stored" test -f "$work/state/images/sha256/$IMG_SHA"
# --- consoles: curl acts as the agent, python as a client that switches ----
# up NAME PATH TOKEN HOLD_S [SEND]: GET PATH asking to switch to
# fincloud-console (curl does not switch), sending SEND once switched and
# holding the connection HOLD_S seconds; its status goes to
# $work/up-NAME, its answer is recorded for validation
up() {
	local f=$work/resp/up-$1.body
	rm -f "$work/up-$1"
	$py - "$port" "$2" "$3" "$4" "$f" "$work/up-$1" "${5:-}" <<'PYEOF'
import socket, sys, time
port, path, tok, hold, out, status_file, send = sys.argv[1:8]
s = socket.create_connection(("127.0.0.1", int(port)))
s.sendall(("GET %s HTTP/1.1\r\nHost: routes\r\nAuthorization: Bearer %s\r\n"
           "Connection: Upgrade\r\nUpgrade: fincloud-console\r\n\r\n"
           % (path, tok)).encode())
data = b""
while b"\r\n\r\n" not in data:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
head, _, rest = data.partition(b"\r\n\r\n")
status = int(head.split()[1]) if head else 0
want = 0
for line in head.split(b"\r\n"):
    if line.lower().startswith(b"content-length:"):
        want = int(line.split(b":")[1])
while status != 101 and len(rest) < want:
    chunk = s.recv(4096)
    if not chunk:
        break
    rest += chunk
open(out, "wb").write(b"" if status == 101 else rest)
with open(status_file + ".tmp", "w") as f:
    f.write("%d\n" % status)
import os
os.rename(status_file + ".tmp", status_file)
if status == 101:
    s.sendall(send.encode().decode("unicode_escape").encode("latin-1"))
    time.sleep(float(hold))
PYEOF
	printf '%s\t%s\t%s\t%s\n' GET "${2%%\?*}" "$(cat "$work/up-$1")" "$f" >>"$work/resp/index"
}
up_is() { [ "$(cat "$work/up-$1" 2>/dev/null)" = "$2" ]; } # NAME STATUS
# sid TAIL: the session of web1 with that tail its host's desired state
# lists (a heartbeat of the host) into SID; false when there is none
sid() {
	beat "$CH"
	SID=$(jv ".consoles[]? | select(.vm_id == \"$CV\" and .tail == $1) | .session_id" | head -1)
	[ -n "$SID" ]
}
CV=${VM[web1]} CH=${HOST[web1]}
req 400 "a console with a bad force flag" GET "/v1/vms/$CV/console?force=maybe"
req 426 "a console that does not switch protocols" GET "/v1/vms/$CV/console"
req 409 "the console of a VM that does not run" GET "/v1/vms/$IDLE/console"
req 400 "a console log with a bad tail" GET "/v1/vms/$CV/console-log?tail=x"
req 426 "a console log followed without switching" GET "/v1/vms/$CV/console-log?follow=1"
req 426 "an agent calls back without switching" GET "/v1/agents/$CH/consoles/$NOPE_ID" "" "${CRED[$CH]}"
req 404 "an agent calls back for a session that does not exist" GET "/v1/agents/$CH/consoles/$NOPE_ID?error=x" "" "${CRED[$CH]}"
req 400 "an agent's reason over 400 characters" GET "/v1/agents/$CH/consoles/$NOPE_ID?error=$(printf 'x%.0s' $(seq 401))" "" "${CRED[$CH]}"
up l502 "/v1/vms/$CV/console-log?tail=3" "$ADMIN" 0 &
bg=$!
wait_for 10 sid 3
req 204 "an agent says why it cannot serve a session" GET "/v1/agents/$CH/consoles/$SID?error=no%20log%20here" "" "${CRED[$CH]}"
wait "$bg"
check "its operator gets 502 with the reason" up_is l502 502
up l200 "/v1/vms/$CV/console-log?tail=9" "$ADMIN" 0 &
bg=$!
wait_for 10 sid 9
up al200 "/v1/agents/$CH/consoles/$SID" "${CRED[$CH]}" 0 'fincloud-log 0\n'
wait "$bg"
check "an agent switches (101) and sends an empty log (its length line, 0): the operator gets 200" \
	eval 'up_is al200 101 && up_is l200 200'
up c101 "/v1/vms/$CV/console" "$ADMIN" 3 &
bg=$!
wait_for 10 sid 0
up ac101 "/v1/agents/$CH/consoles/$SID" "${CRED[$CH]}" 3 &
bg2=$!
wait_for 10 up_is c101 101
up c409 "/v1/vms/$CV/console" "$ADMIN" 0
check "a second console of the VM is refused (409)" up_is c409 409
wait "$bg" "$bg2"
check "the console switches once its agent has (101)" eval 'up_is c101 101 && up_is ac101 101'
up f101 "/v1/vms/$CV/console-log?follow=1&tail=4" "$ADMIN" 1 &
bg=$!
wait_for 10 sid 4
up af101 "/v1/agents/$CH/consoles/$SID" "${CRED[$CH]}" 1
wait "$bg"
check "a followed log switches (101)" up_is f101 101
# eight logs nobody serves fill the controller's log sessions: a ninth is
# 503; the eight end 504 after 30 s (waited for before the validation)
waiting=()
for i in 1 2 3 4 5 6 7 8; do
	up "l504-$i" "/v1/vms/$CV/console-log?tail=7" "$ADMIN" 0 &
	waiting+=($!)
done
logs_waiting() { beat "$CH"; [ "$(jv '[.consoles[]? | select(.tail == 7)] | length')" = 8 ]; }
wait_for 10 logs_waiting
up l503 "/v1/vms/$CV/console-log?tail=2" "$ADMIN" 0
check "a log beyond the controller's sessions is refused (503)" up_is l503 503

# --- hosts, drain, rebalance ---------------------------------------------
beat_all
req 200 "list hosts" GET /v1/hosts
req 200 "show a host" GET /v1/hosts/n1
req 200 "a host's utilization" GET '/v1/hosts/n1/utilization?since=0'
req 400 "host utilization since a time that is not one" GET '/v1/hosts/n1/utilization?since=soon'
req 404 "utilization of a host that does not exist" GET /v1/hosts/ghost/utilization
req 200 "update a host" PATCH /v1/hosts/n1 '{"cost":2}'
req 400 "update a host with a negative cost" PATCH /v1/hosts/n1 '{"cost":-1}'
req 200 "plan a rebalance (dry run)" POST /v1/pools/default/rebalance '{"dry_run":true}'
req 400 "rebalance with a bad policy" POST /v1/pools/default/rebalance '{"policy":"even"}'
req 400 "drain with a concurrency of 0" POST /v1/hosts/n2/drain '{"concurrency":0}'
req 400 "resume with a body" POST /v1/hosts/n2/resume '{"now":true}'
req 400 "evacuate with a body" POST /v1/hosts/n1/evacuate '{"now":true}'
beat_all
req 409 "evacuate a host that heartbeats" POST /v1/hosts/n1/evacuate
req 400 "unfence with a body" POST /v1/hosts/n1/unfence '{"now":true}'
req 409 "unfence a host that is not fenced" POST /v1/hosts/n1/unfence
req 200 "resume a host" POST /v1/hosts/n2/resume
req 202 "drain a host" POST "/v1/hosts/${HOST[batch]}/drain"
# its VM cannot leave until the fake agent reports: the drain runs on
req 409 "rebalance a pool that is being drained" POST /v1/pools/prod/rebalance
req 409 "resume a host that is being drained" POST "/v1/hosts/${HOST[batch]}/resume"
other=p1
[ "${HOST[batch]}" = p1 ] && other=p2
req 409 "drain in a pool that is being drained" POST "/v1/hosts/$other/drain"
req 202 "start a rebalance" POST /v1/pools/default/rebalance '{}'

# --- audit ----------------------------------------------------------------
req 200 "list the audit log" GET /v1/audit
req 200 "verify the audit log" GET /v1/audit/verify

# --- networks, ports, security groups --------------------------------------
req 201 "create a network" POST /v1/networks '{"name":"loannet","tenant":"loan","cidr":"10.10.0.0/24"}'
req 409 "create a network that exists" POST /v1/networks '{"name":"loannet","tenant":"loan","cidr":"10.10.0.0/24"}'
req 400 "create a network with a bad CIDR" POST /v1/networks '{"name":"n2","tenant":"loan","cidr":"10.10.0.0"}'
req 404 "create a network of a tenant that does not exist" POST /v1/networks '{"name":"n2","tenant":"ghost","cidr":"10.10.0.0/24"}'
req 200 "list networks" GET /v1/networks
req 200 "show a network" GET /v1/networks/loannet
req 201 "create a provider network" POST /v1/networks '{"name":"pnet","provider":"flat","interface":"eth1","pool":"default","shared_with":["loan"],"cidr":"10.40.0.0/24"}'
req 200 "share a provider network" PATCH /v1/networks/pnet '{"shared_with":["loan"]}'
req 400 "share a provider network with nobody" PATCH /v1/networks/pnet '{"shared_with":[]}'
req 409 "share a tenant network" PATCH /v1/networks/loannet '{"shared_with":["loan"]}'
req 201 "create a security group" POST /v1/secgroups '{"name":"api","tenant":"loan"}'
req 409 "create a security group that exists" POST /v1/secgroups '{"name":"api","tenant":"loan"}'
req 400 "create a security group with a bad name" POST /v1/secgroups '{"name":"a b","tenant":"loan"}'
req 404 "create a security group of a tenant that does not exist" POST /v1/secgroups '{"name":"api","tenant":"ghost"}'
req 200 "list security groups" GET /v1/secgroups
req 200 "show a security group" GET /v1/secgroups/api
req 201 "add a rule" POST /v1/secgroups/api/rules '{"protocol":"tcp","port_min":8443,"source_group":"api"}'
RULE=$(jv '.rules[0].id')
req 400 "add a rule of an unknown protocol" POST /v1/secgroups/api/rules '{"protocol":"gre","source_cidr":"10.0.0.0/8"}'
req 404 "add a rule from a group that does not exist" POST /v1/secgroups/api/rules '{"protocol":"tcp","source_group":"ghost"}'
req 204 "delete a rule" DELETE "/v1/secgroups/api/rules/$RULE"
api POST /v1/tenants '{"name":"other"}'
req 201 "a group of that name in another tenant" POST /v1/secgroups '{"name":"api","tenant":"other"}'
req 409 "show a security group whose name two tenants have" GET /v1/secgroups/api
req 201 "create a VM with a port" POST /v1/vms '{"tenant":"loan","flavor":"small","name":"netvm","networks":[{"network":"loannet"}],"secgroups":["api"]}'
req 200 "list ports" GET /v1/ports
req 409 "delete a network with ports" DELETE /v1/networks/loannet
req 409 "delete a security group with ports" DELETE '/v1/secgroups/api?tenant=loan'
req 204 "delete a security group" DELETE '/v1/secgroups/api?tenant=other'
api POST /v1/networks '{"name":"spare","tenant":"loan","cidr":"10.11.0.0/24"}'
req 204 "delete a network" DELETE /v1/networks/spare

# --- deletes ---------------------------------------------------------------
req 202 "delete a VM" DELETE "/v1/vms/$IDLE"
req 409 "delete a VM that is being deleted" DELETE "/v1/vms/$IDLE"
req 409 "start a VM that is being deleted" POST "/v1/vms/$IDLE/start"
req 409 "stop a VM that is being deleted" POST "/v1/vms/$IDLE/stop"
# COLLECTION, one of it still in use (409), the body of a new one (204)
while read -r coll used spare; do
	api DELETE "/v1/$coll/$used"
	expect 409 "delete one of $coll still in use"
	api POST "/v1/$coll" "$spare"
	api DELETE "/v1/$coll/$(jv .name)"
	expect 204 "delete one of $coll"
done <<'EOF'
groups ha {"name":"g2","tenant":"loan"}
flavors small {"name":"spare","vcpus":1,"mem_mib":64,"disk_gib":1}
tenants loan {"name":"gone"}
pools prod {"name":"spare"}
storage local {"name":"spare","type":"ceph","ceph_pool":"p","monitors":["m"],"client":"c"}
EOF
req 409 "revoke the token the request uses" DELETE "/v1/tokens/$ADMIN_ID"
req 200 "rotate a token" POST "/v1/tokens/$SPARE_TOKEN/rotate" '{"ttl_s":3600}'
req 400 "rotate a token with a negative lifetime" POST "/v1/tokens/$SPARE_TOKEN/rotate" '{"ttl_s":-1}'
req 404 "rotate a token that does not exist" POST "/v1/tokens/$NOPE_ID/rotate"
req 204 "revoke a token" DELETE "/v1/tokens/$SPARE_TOKEN"

# --- every operation: 400 for a bad list page, 401 without a token, 403
# for a role it does not serve, 404 for an object that does not exist ------
# ops: METHOD PATH (parameters filled in) ERRORS (of these, that it lists)
$py - "$FC_TOP/schemas/openapi.yaml" "$NOPE_ID" >"$work/ops" <<'PYEOF'
import re, sys, yaml
spec = yaml.safe_load(open(sys.argv[1]))
for path, item in spec["paths"].items():
    for method, op in item.items():
        if not isinstance(op, dict) or "responses" not in op:
            continue
        p = re.sub(r"\{id\}", sys.argv[2], path)
        p = re.sub(r"\{[a-z]+\}", "nope", p)
        codes = [c for c in op["responses"] if c in ("401", "403", "404")]
        if op.get("security") == []:  # public: no token to refuse
            codes = [c for c in codes if c not in ("401", "403")]
        if {"$ref": "#/components/parameters/limit"} in op.get("parameters", []):
            codes.append("400")       # a list: its page is checked
        print(method.upper(), p, ",".join(codes) or "-")
PYEOF
while read -r m p codes; do
	case ,$codes, in *,401,*)
		api "$m" "$p" "" -
		check "$m $p without a token -> 401" is 401 ;;
	esac
	case ,$codes, in *,403,*)
		case $p in
		/v1/agents/*) api "$m" "$p" "" "$VIEWER" ;;
		*) api "$m" "$p" "" "${CRED[n1]}" ;;
		esac
		check "$m $p with a role it does not serve -> 403" is 403 ;;
	esac
	case ,$codes,$p in
	*,404,/v1/agents/*) ;; # an agent's 404s need its own credential: above
	*,404,*/nope* | *,404,*/"$NOPE_ID"*)
		b=
		[ "$m" = PATCH ] && b='{}'
		api "$m" "$p" "$b"
		check "$m $p of an object that does not exist -> 404" is 404 ;;
	esac
	case ,$codes,$m in *,400,*GET)
		api "$m" "$p?limit=0"
		check "$m $p?limit=0 -> 400" is 400 ;;
	esac
done <"$work/ops"

# --- a host without heartbeats goes down; a drain of it cannot start -------
check "a host without heartbeats goes down" \
	wait_for 300 eval '[ "$(db "SELECT state FROM hosts WHERE name = '"'n2'"'")" = down ]'
req 409 "drain a host that is down" POST /v1/hosts/n2/drain
req 202 "evacuate a host that is down" POST /v1/hosts/n2/evacuate
check "the evacuated host is fenced by the fence pass" \
	wait_for 30 eval 'api GET /v1/hosts/n2; [ "$(jv .ha.state)" = fenced ]'
req 202 "unfence a fenced host" POST /v1/hosts/n2/unfence

wait "${waiting[@]}"
check "logs no agent served end 504" up_is l504-1 504
req 409 "the console log of a VM being deleted" GET "/v1/vms/$IDLE/console-log"

# --- every answer matches the spec, and covers it ----------------------------
if out=$($py "$FC_TOP/tests/integration/openapi_validate.py" "$FC_TOP/schemas" \
	"$work/resp/index" --coverage "$FC_TOP/tests/integration/ctrl_routes.allow" 2>&1); then
	ok "every answer ($(wc -l <"$work/resp/index")) matches schemas/openapi.yaml, and every status it lists was answered"
else
	nok "every answer matches schemas/openapi.yaml, and every status it lists was answered" \
		"$(echo "$out" | grep -v '^[0-9]* responses checked' | head -40)"
fi
echo "1..$n"
[ "$nfail" -eq 0 ]

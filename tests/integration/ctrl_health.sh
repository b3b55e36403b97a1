#!/usr/bin/env bash
# Node health (issue 19), with curl acting as the agents: a heartbeat
# reporting "degraded" with its reasons is recorded on the host
# (status, degraded_reason) and audited (host.degraded); placement then
# skips that host (a VM lands elsewhere, or 409 no_capacity naming the
# degraded host and its reason), as does a migration to it; a migration
# from it and a drain of it are refused (409 host_degraded); a healthy
# heartbeat brings it back (host.healthy) and VMs land on it again.
. "$FC_TOP/tests/integration/ctrl_lib.bash"
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 CLI is missing"; exit 77; }

ctrl_start --heartbeat-timeout 60 --heartbeat-interval 5 ||
	{ nok "controller starts"; exit 1; }
api POST /v1/flavors '{"name":"small","vcpus":1,"mem_mib":512,"disk_gib":1}'
api POST /v1/tenants '{"name":"loan","isolation":"shared","pools":["default"]}'
fake_nodes n1 n2

REASON="disk: 12 MiB free in '/var/lib/fincloud/disks', below min_free_disk_mib 1024"
# hb NODE STATUS [REASON] [DOMAINS_JSON]: one heartbeat of NODE
hb() {
	api POST "/v1/agents/$1/heartbeat" \
		"{\"generation_seen\":0,\"status\":\"$2\",\"degraded_reason\":\"${3-}\",\"inventory\":$(inventory 8 16384 100),\"domains\":${4:-[]},\"foreign_domains\":[],\"tasks\":[]}" \
		"${CRED[$1]}"
}
audited() { db "SELECT count(*) FROM audit WHERE action = '$1' AND target = 'host:$2'"; }
new_vm() { # NAME: its host into HOST (empty when refused)
	api POST /v1/vms "{\"tenant\":\"loan\",\"flavor\":\"small\",\"name\":\"$1\"}"
	HOST=$(jv '.host // ""')
}

hb n1 ok
hb n2 ok
hb n1 degraded "$REASON"
check "a degraded heartbeat is accepted" is 200
api GET /v1/hosts/n1
check "the host shows status degraded with the agent's reason" \
	eval 'jqt ".status == \"degraded\" and .state == \"up\"" && [ "$(jv .degraded_reason)" = "$REASON" ]'
check "turning degraded is audited once (host.degraded)" test "$(audited host.degraded n1)" = 1
hb n1 degraded "$REASON"
check "a second degraded heartbeat is not audited again" test "$(audited host.degraded n1)" = 1

ok_hosts=1
for i in 1 2 3 4; do
	new_vm "a$i"
	[ "$HOST" = n2 ] || ok_hosts=0
done
check "every VM created lands on the healthy host, never the degraded one" test $ok_hosts = 1
a1=$(db "SELECT id FROM vms WHERE name = 'a1'")
hb n2 ok "" "[$(domain "$a1" running)]"
api POST /v1/vms/"$a1"/migrate '{"target_host":"n1"}'
check "a migration to the degraded host is refused (409) naming it and its reason" \
	eval 'is_err 409 no_capacity target_host && has "host .n1. is degraded" && has "min_free_disk_mib 1024"'

hb n2 degraded "libvirt: not connected"
new_vm b1
check "with every host degraded a VM is refused: 409 no_capacity" is_err 409 no_capacity
check "the refusal names each degraded host and its reason" \
	eval 'has "host .n1. is degraded ($REASON)" && has "host .n2. is degraded (libvirt: not connected)"'
check "a refused VM is not recorded" test "$(db "SELECT count(*) FROM vms WHERE name = 'b1'")" = 0

# a degraded host's VMs stay where they are: no migration from it, no drain
api POST /v1/vms/"$a1"/migrate '{"target_host":"n1"}'
check "a migration from a degraded host is refused (409 host_degraded) naming it, its reason and the fix" \
	eval 'is_err 409 host_degraded && has "host .n2. is degraded (libvirt: not connected)" && has "finctl host show n2"'
api POST /v1/vms/"$a1"/migrate
check "so is one without a target" eval 'is_err 409 host_degraded && has "host .n2. is degraded"'
check "no task was made for them" \
	test "$(db "SELECT count(*) FROM tasks WHERE type = 'migrate'")" = 0
api POST /v1/hosts/n2/drain
check "a drain of a degraded host is refused (409 host_degraded) naming it, its reason and the fix" \
	eval 'is_err 409 host_degraded && has "cannot drain host .n2." && has "libvirt: not connected" && has "finctl host show n2"'
check "the refused drain left the host out of maintenance" \
	test "$(db "SELECT maintenance FROM hosts WHERE name = 'n2'")" = 0

hb n1 ok
api GET /v1/hosts/n1
check "a healthy heartbeat clears the status and the reason" \
	eval 'jqt ".status == \"ok\" and .degraded_reason == \"\""'
check "turning healthy is audited (host.healthy)" test "$(audited host.healthy n1)" = 1
new_vm b2
check "the host that is healthy again takes VMs" test "$HOST" = n1

api GET /v1/audit/verify
check "the audit chain is intact" eval 'is 200 && jqt ".ok == true"'
validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

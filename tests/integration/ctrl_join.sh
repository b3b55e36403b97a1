#!/usr/bin/env bash
# Joining (docs/agent-protocol.md "Joining"), with the real controller and
# curl acting as the agents:
# - a join token registers at most --uses nodes and always expires
#   (join_token_ttl, join_token_ttl_max); finctl shows its uses left;
# - agents racing for the last use of a token: exactly one registers;
# - absurd inventories are refused (400 naming the field and its limit),
#   at registration and in heartbeats;
# - a jump against the registered figures is flagged (host field, audit,
#   log) and the scheduler keeps the registered figures until an operator
#   approves.
. "$FC_TOP/tests/integration/ctrl_lib.bash"

ctrl_start --join-token-ttl 600 --join-token-ttl-max 3600 || { nok "controller starts"; exit 1; }
fc() { "$finctl" "$@"; }

# --- the settings and finctl ------------------------------------------------
check "a join_token_ttl over join_token_ttl_max does not start" \
	eval '! "$ctl" --config /dev/null --state-dir "$work/s2" --join-token-ttl 7200 --join-token-ttl-max 3600 --check-config >/dev/null 2>&1'
JOIN=$(fc token create --role join --uses 2 --description two 2>/dev/null)
check "finctl token create --role join --uses 2 prints the secret alone" eval '[[ "$JOIN" =~ ^fc_[0-9a-f]{64}$ ]]'
id=$(fc -o json token list | jq -r '.[] | select(.description == "two") | .id')
check "finctl token list shows its uses left" \
	eval 'fc token list | grep -q "USES LEFT" && fc token list | grep "$id" | grep -q " 2 *$"'
api GET "/v1/tokens/$id"
check "GET /v1/tokens/ID: uses_left 2, expiring after join_token_ttl" \
	eval 'is 200 && [ "$(jv .uses_left)" = 2 ] && [ $(( $(jv .expires_ms) - $(jv .created_ms) )) = 600000 ]'
check "finctl token show gives them too" eval 'fc token show "$id" | grep -q "^uses_left  *2"'
check "a join token longer than join_token_ttl_max is refused" \
	eval '! fc token create --role join --ttl 3601 >/dev/null 2>&1'
api POST /v1/tokens '{"role":"join","ttl_s":0}'
check "a join token never expiring is refused (400 ttl_s)" is_err 400 invalid_field ttl_s
api POST /v1/tokens '{"role":"operator","uses":3}'
check "uses on another role is refused (400 uses)" is_err 400 invalid_field uses
api POST /v1/tokens '{"role":"join","uses":0}'
check "uses of 0 is refused (400 uses)" is_err 400 invalid_field uses
register_fake a1 8 16384 100
register_fake a2 8 16384 100
register_fake a3 8 16384 100
check "a third node with a two-use token is 401 saying it is used up and how to make a new one" \
	eval 'is_err 401 unauthenticated join_token && has "no registration left" && has "token create --role join"'
api GET "/v1/tokens/$id"
check "and the token has no use left" eval '[ "$(jv .uses_left)" = 0 ]'

# --- racing for the last use -----------------------------------------------
api POST /v1/tokens '{"role":"join","description":"race"}'
JOIN=$(jv .token) race_id=$(jv .id)
check "a join token has one use by default" eval '[ "$(jv .uses_left)" = 1 ]'
racers=()
for i in 1 2 3 4 5 6 7 8; do
	curl -s -o "$work/race$i.body" -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' \
		--data-binary "{\"join_token\":\"$JOIN\",\"node\":\"r$i\",\"pool\":\"default\",\"migration_uri\":\"test:///r$i\",\"inventory\":$(inventory 8 16384 100)}" \
		"$URL/v1/agents/register" >"$work/race$i.code" &
	racers+=($!)
done
wait "${racers[@]}"
codes=$(cat "$work"/race*.code | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')
check "8 agents racing with a single-use token: exactly one registers ($codes)" \
	eval '[ "$(cat "$work"/race*.code | grep -c "^201$")" = 1 ] && [ "$(cat "$work"/race*.code | grep -c "^401$")" = 7 ]'
check "one host, one credential" \
	eval '[ "$(db "SELECT count(*) FROM hosts WHERE name LIKE '"'r%'"'")" = 1 ] && [ "$(db "SELECT count(*) FROM tokens WHERE role = '"'agent'"' AND node LIKE '"'r%'"'")" = 1 ]'
check "and the token is used up" test "$(db "SELECT uses_left FROM tokens WHERE id = '$race_id'")" = 0

# --- bounds ------------------------------------------------------------------
api POST /v1/tokens '{"role":"join","uses":20}'
JOIN=$(jv .token)
register_fake big 5000 16384 100
check "registering 5000 vCPUs is 400 naming inventory.vcpus and its limit" \
	eval 'is_err 400 invalid_field inventory.vcpus && has 4096'
register_fake big 8 70000000 100
check "registering 70,000,000 MiB of memory is 400 naming inventory.mem_mib and 64 TiB" \
	eval 'is_err 400 invalid_field inventory.mem_mib && has "64 TiB"'
register_fake big 8 16384 2000000
check "registering 2,000,000 GiB of disk is 400 naming inventory.disk_gib and 1 PiB" \
	eval 'is_err 400 invalid_field inventory.disk_gib && has "1 PiB"'
api POST /v1/agents/register "{\"join_token\":\"$JOIN\",\"node\":\"big\",\"pool\":\"default\",\"migration_uri\":\"\",\"inventory\":{\"vcpus\":-1,\"mem_mib\":1,\"mem_free_mib\":1,\"disk_gib\":1,\"disk_free_gib\":1,\"cpu_model\":\"x\",\"virt_type\":\"test\",\"libvirt_version\":\"1\"}}" -
check "negative vCPUs are 400" is_err 400 invalid_field inventory.vcpus
api POST /v1/agents/register "{\"join_token\":\"$JOIN\",\"node\":\"big\",\"pool\":\"default\",\"migration_uri\":\"\",\"inventory\":{\"vcpus\":8,\"mem_mib\":1.5,\"mem_free_mib\":1,\"disk_gib\":1,\"disk_free_gib\":1,\"cpu_model\":\"x\",\"virt_type\":\"test\",\"libvirt_version\":\"1\"}}" -
check "a fraction of a MiB is 400" is_err 400 invalid_field inventory.mem_mib
check "no host was made of them" test "$(db "SELECT count(*) FROM hosts WHERE name = 'big'")" = 0

# --- a jump is flagged, not trusted --------------------------------------------
register_fake j1 8 16384 100
check "j1 registers with 8 vCPUs" eval 'is 201'
beat() { # VCPUS MEM_MIB: a heartbeat of j1 reporting them
	api POST /v1/agents/j1/heartbeat \
		"{\"generation_seen\":0,\"status\":\"ok\",\"inventory\":$(inventory "$1" "$2" 100),\"domains\":[],\"foreign_domains\":[],\"tasks\":[]}" \
		"${CRED[j1]}"
}
beat 5000 16384
check "a heartbeat with 5000 vCPUs is 400 naming the field" is_err 400 invalid_field inventory.vcpus
beat 16 32768
check "twice the registered figures is trusted" \
	eval 'api GET /v1/hosts/j1; [ "$(jv .vcpus)" = 16 ] && [ "$(jv .inventory_flag)" = null ]'
api POST /v1/tenants '{"name":"t"}'
api POST /v1/flavors '{"name":"wide","vcpus":32,"mem_mib":1024,"disk_gib":1}'
beat 64 16384
check "a heartbeat is answered as usual" is 200
api GET /v1/hosts/j1
check "64 vCPUs against 8 registered: the host is flagged, saying what jumped" \
	eval '[ "$(jv .inventory_flag)" != null ] && has "vcpus 8 -> 64"'
check "the scheduler's figures stay the registered ones (vcpus 8, reported 64)" \
	eval '[ "$(jv .vcpus)" = 8 ] && [ "$(jv .reported.vcpus)" = 64 ]'
check "audited host.inventory.jump, and logged" \
	eval '[ "$(db "SELECT count(*) FROM audit WHERE action = '"'host.inventory.jump'"' AND target = '"'host:j1'"'")" = 1 ] && grep -q "host .j1. reports an inventory it did not register" "$work/controller.log"'
beat 64 16384
check "a second such heartbeat audits nothing more" \
	test "$(db "SELECT count(*) FROM audit WHERE action = 'host.inventory.jump'")" = 1
api POST /v1/vms '{"tenant":"t","flavor":"wide"}'
check "a 32-vCPU VM finds no room on the 8 registered vCPUs (409)" is_err 409 no_capacity
fc host show j1 >"$work/j1" 2>&1
check "finctl host show j1 shows the flag" grep -q "^inventory_flag .*vcpus 8 -> 64" "$work/j1"
check "finctl host approve j1 trusts the report" \
	eval 'fc host approve j1 >/dev/null && api GET /v1/hosts/j1 && [ "$(jv .vcpus)" = 64 ] && [ "$(jv .inventory_flag)" = null ]'
api POST /v1/vms '{"tenant":"t","flavor":"wide"}'
check "then the VM is placed on j1" eval 'is 201 && [ "$(jv .host)" = j1 ]'
check "a second approve has nothing to approve (exit non-zero, 409)" \
	eval '! fc host approve j1 >"$work/again" 2>&1 && grep -q "nothing to approve" "$work/again"'
beat 8 16384
check "a drop is no jump" eval 'api GET /v1/hosts/j1; [ "$(jv .vcpus)" = 8 ] && [ "$(jv .inventory_flag)" = null ]'

# --- a guessed join token counts as a failed authentication ----------------
out=$($py - "$port" <<'PY'
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
counts = {}
for i in range(60):
    body = json.dumps({"join_token": "fc_%064x" % i, "node": "g%d" % i,
                       "pool": "default", "migration_uri": "test:///g",
                       "inventory": {"vcpus": 1, "mem_mib": 1024, "mem_free_mib": 1024,
                                     "disk_gib": 1, "disk_free_gib": 1, "cpu_model": "sim",
                                     "virt_type": "test", "libvirt_version": "9.0.0"}})
    c.request("POST", "/v1/agents/register", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    counts[r.status] = counts.get(r.status, 0) + 1
print(counts.get(401, 0), counts.get(429, 0), len(counts))
PY
)
read -r n401 n429 nkinds <<<"$out"
check "60 guessed join tokens get at most auth_fail_limit 401s ($n401), the rest 429 ($n429)" \
	eval '[ "$n401" -ge 1 ] && [ "$n401" -le 20 ] && [ "$n429" = $((60 - n401)) ] && [ "$nkinds" = 2 ]'
api POST /v1/tokens '{"role":"join"}'
good=$(jv .token)
api POST /v1/agents/register "{\"join_token\":\"$good\",\"node\":\"g-real\",\"pool\":\"default\",\"migration_uri\":\"test:///g\",\"inventory\":$(inventory 8 16384 100)}" -
check "then a valid join token from that address waits too (429 rate_limited)" is_err 429 rate_limited
api GET /metrics "" -
check "/metrics counts the guessed join tokens" \
	eval '[ "$(grep "^fincloud_auth_failures_total " <<<"$body" | cut -d" " -f2)" -ge "$n401" ]'

validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

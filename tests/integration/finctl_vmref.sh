#!/usr/bin/env bash
# finctl names VMs by id, unique id prefix or name (--tenant when several
# tenants have the name): found -> 0, several -> 6 listing them, none ->
# 4; and vm create --request-id KEY makes one VM however often it is
# retried, the same key with other options exits 6, and a create without
# --request-id still sends a key of its own. (On the code before, every
# name or prefix exits 4 and a retried create makes a second VM or
# exits 6 on the name: these checks fail there.)
. "$FC_TOP/tests/integration/ctrl_lib.bash"

ctrl_start || { nok "controller starts"; exit 1; }
fc() { "$finctl" "$@"; }
api POST /v1/tokens '{"role":"join","uses":1000}'
JOIN=$(jv .token)
register_fake n1 64 262144 1000
heartbeat n1 0 '[]' >/dev/null
fc flavor create small --vcpus 1 --mem-mib 512 --disk-gib 1 >/dev/null
for t in loan bank; do fc tenant create "$t" >/dev/null; done
mk() { fc -o json vm create --tenant "$1" --flavor small --name "$2" | jq -r .id; }
WEB_LOAN=$(mk loan web-1)
WEB_BANK=$(mk bank web-1)
DB=$(mk loan db-1)

# rc EXPECTED WHAT finctl-args...: exit code and output (in $out)
rc() {
	local want=$1 what=$2 got
	shift 2
	out=$(fc "$@" 2>&1)
	got=$?
	if [ "$got" = "$want" ]; then ok "$what"; else nok "$what" "exit $got, want $want" "${out:0:400}"; fi
}
rc 0 "vm show NAME" -o json vm show db-1
check "  names the VM" eval '[ "$(jq -r .id <<<"$out")" = "$DB" ]'
rc 0 "vm show ID-PREFIX" -o json vm show "${DB:0:6}"
check "  names the VM" eval '[ "$(jq -r .id <<<"$out")" = "$DB" ]'
rc 6 "vm show of a name two tenants use exits 6" vm show web-1
check "  listing both VMs and how to choose" eval \
	'grep -q "$WEB_LOAN" <<<"$out" && grep -q "$WEB_BANK" <<<"$out" && grep -q -- "--tenant" <<<"$out"'
rc 0 "vm show NAME --tenant T" -o json vm show web-1 --tenant bank
check "  names that tenant's VM" eval '[ "$(jq -r .id <<<"$out")" = "$WEB_BANK" ]'
rc 4 "vm show of a name nobody has exits 4" vm show nothing-here
rc 0 "vm stop NAME --tenant T" -o json vm stop web-1 --tenant loan
check "  stops that VM" eval '[ "$(jq -r .id <<<"$out")" = "$WEB_LOAN" ]'
rc 0 "task list --vm NAME" -o json task list --vm db-1
check "  lists that VM's tasks" eval 'jq -e "[.[].vm_id] | unique == [\"$DB\"]" <<<"$out" >/dev/null'

count() { db "SELECT count(*) FROM vms WHERE name LIKE 'retry%'"; }
rc 0 "vm create --request-id" vm create --tenant loan --flavor small --name retry-1 --request-id job-42
rc 0 "the same create again with the same --request-id" -o json vm create --tenant loan --flavor small --name retry-1 --request-id job-42
check "  one VM was made" eval '[ "$(count)" = 1 ]'
rc 6 "the same --request-id with other options exits 6" vm create --tenant loan --flavor small --name retry-2 --request-id job-42
check "  naming the conflict" eval 'grep -q "idempotency key" <<<"$out" && [ "$(count)" = 1 ]'
rc 2 "a --request-id over 128 characters exits 2" vm create --tenant loan --flavor small --request-id "$(printf 'k%.0s' $(seq 129))"
rc 0 "vm create without --request-id" vm create --tenant loan --flavor small --name retry-3
check "  sent a key of finctl's own" eval '[ "$(db "SELECT count(*) FROM idempotency WHERE key LIKE '"'finctl-%'"'")" -ge 1 ]'

validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

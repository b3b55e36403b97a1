#!/usr/bin/env bash
# PostgreSQL restarted under a controller: the controller reconnects by
# itself, reads that found the connection cut run again on the new one
# (no request fails for it), and nothing acknowledged before is lost.
FINCLOUD_TEST_DB=pg
. "$FC_TOP/tests/integration/ctrl_lib.bash"

ctrl_start || { nok "controller starts"; exit 1; }
burst_fleet
api POST /v1/tenants '{"name":"t1","pools":["burst"]}'
ids=()
for i in 1 2 3 4 5; do
	api POST /v1/vms '{"tenant":"t1","flavor":"s"}'
	is 201 && ids+=("$(jv .id)")
done
check "5 VMs created before the restart" test "${#ids[@]}" = 5
old_pid=$PG_PID
check "PostgreSQL restarts (fast: every session cut)" pg_ctl restart
check "it is a new server process" test "$PG_PID" != "$old_pid"
api GET '/v1/vms?limit=100'
check "the first request after the restart is answered (a read runs again on a new connection)" \
	eval 'is 200 && [ "$(jv ".items | length")" = 5 ]'
api POST /v1/vms '{"tenant":"t1","flavor":"s"}'
check "a create after the restart commits" is 201
check "every VM acknowledged before the restart is there" \
	eval 'for id in "${ids[@]}"; do [ "$(db "SELECT count(*) FROM vms WHERE id = '"'"'$id'"'"'")" = 1 ] || exit 1; done'
check "the controller logged no failed request" eval '! grep -q "error: request" "$work/controller.log"'
pg_ctl restart >/dev/null
api POST /v1/vms '{"tenant":"t1","flavor":"s"}'
check "a create first after a second restart commits" is 201
api GET /v1/audit/verify
check "the audit chain is intact" jqt '.ok == true'

validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

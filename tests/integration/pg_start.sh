#!/usr/bin/env bash
# Two controllers started at the same moment on one new PostgreSQL
# database: the schema is made once (each migration by one of them, the
# other finds it done) and one first admin token is made, not one each.
FINCLOUD_TEST_DB=pg
. "$FC_TOP/tests/integration/ctrl_lib.bash"

port=$(free_port)
"$ctl" --config /dev/null --state-dir "$work/state" --listen-port "$port" "${db_args[@]}" \
	>>"$work/controller.log" 2>&1 &
pids+=("$!")
ctrl_start_b
check "both controllers answer" wait_for 10 curl -sf "http://127.0.0.1:$port/healthz" -o /dev/null
migrated() { cat "$work/controller.log" "$log_b" | grep -c "migrated to schema version $1\$"; }
check "every migration ran once in all (1 and the last: $(migrated 1), $(migrated "$(db 'SELECT version FROM schema_version')"))" \
	eval '[ "$(migrated 1)" = 1 ] && [ "$(migrated "$(db "SELECT version FROM schema_version")")" = 1 ]'
check "one first admin token in the database" test "$(db "SELECT count(*) FROM tokens WHERE role = 'admin'")" = 1
check "and in one of the two state directories" \
	test "$(ls "$work/state/admin.token" "$work/state-b/admin.token" 2>/dev/null | wc -l)" = 1
ADMIN=$(cat "$work/state/admin.token" "$work/state-b/admin.token" 2>/dev/null)
URL=http://127.0.0.1:$port
api GET /v1/pools
check "it works on the first controller" is 200
URL=$url_b
api GET /v1/pools
check "and on the second" is 200

validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

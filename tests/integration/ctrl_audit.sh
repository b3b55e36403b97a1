#!/usr/bin/env bash
# The audit chain's anchor end to end: the controller keeps
# state/audit.anchor (mode 0640) at the newest head and logs each head;
# the newest rows deleted with sqlite3 behind a stopped controller (the
# head row rewritten to match, or removed) are caught by
# `finctl audit verify --anchor` with a copy of the anchor, given as a
# file or as SEQ:HASH, with a clear message and exit 1; the restarted
# controller keeps the anchor the log no longer holds as
# audit.anchor.mismatch; a malformed anchor is a usage error (400 from
# the API); every response matches schemas/openapi.yaml.
. "$FC_TOP/tests/integration/ctrl_lib.bash"
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 CLI is missing"; exit 77; }

ctrl_start || { nok "controller starts"; exit 1; }
ok "controller starts"
anchor=$work/state/audit.anchor
check "audit.anchor exists and is mode 0640" test "$(stat -c %a "$anchor" 2>/dev/null)" = 640

for i in 1 2 3 4 5 6; do
	api POST /v1/flavors "{\"name\":\"f$i\",\"vcpus\":1,\"mem_mib\":64,\"disk_gib\":1}"
done
check "six audited creates" is 201
api GET /v1/audit/verify
check "the chain verifies and names its head" \
	eval 'jqt ".ok and .anchored == false and .head.seq >= 6"'
head_seq=$(jv .head.seq) head_hash=$(jv .head.hash)
check "the anchor file follows the head" \
	wait_for 5 grep -qx "$head_seq:$head_hash" "$anchor"
check "the controller logged the head" grep -q "audit head $head_seq:$head_hash" "$work/controller.log"

"$finctl" audit verify --anchor "$anchor" >"$work/out" 2>&1
rc=$?
check "finctl audit verify --anchor FILE holds (exit 0)" \
	eval '[ $rc = 0 ] && grep -q "intact.*anchor held" "$work/out"'
api GET "/v1/audit/verify?seq=$head_seq&hash=$head_hash"
check "GET /v1/audit/verify with the anchor holds" eval 'jqt ".ok and .anchored"'
api GET "/v1/audit/verify?seq=$head_seq"
check "an anchor without its hash is 400" is_err 400 invalid_query hash
api GET "/v1/audit/verify?seq=x&hash=$head_hash"
check "an anchor with a bad seq is 400" is_err 400 invalid_query seq
"$finctl" audit verify --anchor "$work/nope" >"$work/out" 2>&1
rc=$?
check "finctl --anchor with a missing file is a usage error (exit 2)" \
	eval '[ $rc = 2 ] && grep -q "anchor" "$work/out"'

# the operator ships the anchor elsewhere
cp "$anchor" "$work/shipped.anchor"
cut=$((head_seq - 3))
ctrl_kill TERM
cut_hash=$(db "SELECT hash FROM audit WHERE seq = $cut")
db "$(drop_audit_trigger audit_no_delete) DELETE FROM audit WHERE seq > $cut; UPDATE meta SET value = '$cut:$cut_hash' WHERE key = 'audit_head'"
ctrl_start || { nok "controller restarts"; exit 1; }
check "the restarted controller logs that the log no longer holds its anchor" \
	grep -q "audit log does not hold the anchor" "$work/controller.log"
check "and keeps that anchor as audit.anchor.mismatch" \
	grep -qx "$head_seq:$head_hash" "$work/state/audit.anchor.mismatch"

"$finctl" audit verify >"$work/out" 2>&1
check "without the anchor, the cut log with its head rewritten verifies (what the database alone cannot prove)" \
	test $? = 0
"$finctl" audit verify --anchor "$work/shipped.anchor" >"$work/out" 2>&1
rc=$?
check "finctl audit verify --anchor FILE catches the cut (exit 1, says entries were removed)" \
	eval '[ $rc = 1 ] && grep -q "AUDIT LOG TAMPERED: the log ends at entry $cut but the anchor is at entry $head_seq: entries were removed from the end" "$work/out"'
"$finctl" audit verify --anchor "$head_seq:$head_hash" >"$work/out" 2>&1
rc=$?
check "finctl audit verify --anchor SEQ:HASH too" \
	eval '[ $rc = 1 ] && grep -q "entries were removed from the end" "$work/out"'

# everything and the head row removed
ctrl_kill TERM
db "$(drop_audit_trigger audit_no_delete) DELETE FROM audit; DELETE FROM meta WHERE key = 'audit_head'"
ctrl_start || { nok "controller restarts"; exit 1; }
api GET /v1/audit/verify
check "every entry and the head removed: verification fails (no skip)" \
	eval 'jqt ".ok == false" && has "is missing"'
"$finctl" audit verify --anchor "$work/shipped.anchor" >"$work/out" 2>&1
check "and --anchor fails with exit 1" test $? = 1

validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

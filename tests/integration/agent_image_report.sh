#!/usr/bin/env bash
# The report that follows an image fetch is not held back behind a
# long-poll (agents/agent_hb.c settled()). With a heartbeat interval of
# 30 s the controller may hold each heartbeat for up to 30 s. A VM that
# migrates to a node which has not cached its image yet makes the target
# fetch it first, and only the target's heartbeat ("prepared") lets the
# controller hand the migration to the source (controller/vmimage.c).
# While the fetch runs the target polls instead of parking a long-poll,
# so the migration is handed over at once, well before a held heartbeat
# would have ended (half the interval is the bound checked: without the
# rule the target's report comes when its long-poll ends, up to the
# whole interval after the fetch). A VM created on a node without its
# image is reported running at once too (its start event).
. "$FC_TOP/tests/integration/ctrl_lib.bash"
. "$FC_TOP/tests/integration/agent_lib.bash"
command -v qemu-img >/dev/null || { echo "SKIP: qemu-img is missing (scripts/deps.sh)"; exit 77; }

INTERVAL=30
ctrl_start --heartbeat-interval "$INTERVAL" || { nok "controller starts"; exit 1; }
JOIN=$(fc token create --role join --uses 2 --description image-report 2>/dev/null)
sim_agent n1 8 16384 200
check "the first agent registers" wait_for 20 eval '[ "$(host_state n1)" = up ]'
fc tenant create loan >/dev/null
fc flavor create small --vcpus 1 --mem-mib 128 --disk-gib 1 >/dev/null
vm_state() { fc -o json vm show "$1" --tenant loan 2>/dev/null | jq -r .state; }
head -c 67108864 /dev/urandom >"$work/a.raw"
fc image create --name a --file "$work/a.raw" >/dev/null

t0=$SECONDS
fc vm create --tenant loan --flavor small --image a --name va >/dev/null
if wait_for $((INTERVAL / 2)) eval '[ "$(vm_state va)" = running ]'; then
	ok "a VM whose image its node fetched first is reported running after $((SECONDS - t0)) s, not held behind a $INTERVAL s long-poll"
else
	nok "a VM whose image its node fetched first is reported running within $((INTERVAL / 2)) s" "state '$(vm_state va)'"
fi

sim_agent n2 8 16384 200
check "the second agent registers" wait_for 20 eval '[ "$(host_state n2)" = up ]'
# n2 is parked in a long-poll by now: it has nothing to do
sleep 3
vid=$(fc -o json vm show va --tenant loan | jq -r .id)
t0=$SECONDS
fc vm migrate va --tenant loan --to n2 >/dev/null 2>&1
ready() { [ "$(db "SELECT count(*) FROM tasks WHERE vm_id = '$vid' AND type = 'migrate' AND target_ready = 1")" = 1 ]; }
if wait_for $((INTERVAL / 2)) ready; then
	ok "the target fetched the image and reported the migration prepared after $((SECONDS - t0)) s, not held behind its $INTERVAL s long-poll"
else
	nok "the target reports the migration prepared within $((INTERVAL / 2)) s" \
		"$(db "SELECT state, target_ready, error FROM tasks WHERE vm_id = '$vid' AND type = 'migrate'")" \
		"$(grep -a "image\|va" "$work/nodes/n2/agent.log" | tail -n 4)"
fi
check "the target fetched the image once" \
	eval '[ "$(grep -c "fetched, checked and flushed" "$work/nodes/n2/agent.log")" = 1 ]'

validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

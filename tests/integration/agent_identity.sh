#!/usr/bin/env bash
# One identity per machine, and no new identity without an operator, with
# the real controller and a real fincloud-agent on a test:/// simulated
# host:
# - a second machine registering an existing node's name with a join
#   token is not given a credential: the attempt is recorded as pending
#   (202, audited, the host shows what changed) and the node's own agent is
#   not disturbed; an operator's 'finctl host reject' makes it 403;
# - the node's own machine, having lost its credential file, waits too:
#   the agent logs the command the operator runs and retries with
#   back-off; after 'finctl host approve' its next attempt registers;
# - an agent holding a credential for one node name refuses to start
#   under another name, saying which and what to do; the controller never
#   sees the new name.
. "$FC_TOP/tests/integration/ctrl_lib.bash"
. "$FC_TOP/tests/integration/agent_lib.bash"

one_node i1 || exit 1
mid=$(db "SELECT machine_id FROM hosts WHERE name = 'i1'")
uri=$(db "SELECT migration_uri FROM hosts WHERE name = 'i1'")
check "registration records the agent's machine id" test -n "$mid"

# Another machine, same name, a join token.
other=0a0b0c0d-0000-4000-8000-00000000beef
again="{\"join_token\":\"$JOIN\",\"node\":\"i1\",\"pool\":\"default\",\"migration_uri\":\"test:///other\",\"machine_id\":\"$other\",\"inventory\":$(inventory 4 8192 100)}"
api POST /v1/agents/register "$again" -
check "another machine registering the name of a node with a valid credential gets no credential (202 pending)" \
	eval 'is 202 && [ "$(jv .registration)" = pending ] && [ "$(jv .credential)" = null ]'
check "the answer says what changed and what the operator runs" \
	eval 'has "machine_id" && has "finctl host approve i1"'
check "it is audited" \
	test "$(fc -o json audit list | jq '[.[] | select(.action == "agent.register" and .target == "host:i1" and .result == 202)] | length')" = 1
check "the host keeps its machine id and migration URI" \
	eval '[ "$(db "SELECT machine_id FROM hosts WHERE name = '"'i1'"'")" = "$mid" ] && [ "$(db "SELECT migration_uri FROM hosts WHERE name = '"'i1'"'")" = "$uri" ]'
check "finctl host show says registration pending, with the other machine" \
	eval 'fc host show i1 | grep -q "^registration  *pending" && fc -o json host show i1 | jq -e ".registration_request.machine_id == \"$other\"" >/dev/null'
regs=$(grep -c 'registered node' "$work/nodes/i1/agent.log")
sleep 3
check "the node's own agent keeps its credential (no new registration) and its host stays up" \
	eval '[ "$(grep -c "registered node" "$work/nodes/i1/agent.log")" = "$regs" ] && [ "$(host_state i1)" = up ]'
check "finctl host reject refuses it" eval 'fc host reject i1 >/dev/null'
api POST /v1/agents/register "$again" -
check "then the same attempt is refused (403)" is_err 403 forbidden node
check "host.reject is audited" \
	test "$(fc -o json audit list | jq '[.[] | select(.action == "host.reject" and .target == "host:i1" and .result == 200)] | length')" = 1

# The same machine, its credential file lost: it waits for an operator.
kill "${AGENT_PID[i1]}"; wait "${AGENT_PID[i1]}" 2>/dev/null
rm -f "$work/nodes/i1/credential" "$work/nodes/i1/credential.node"
sim_agent i1 8 16384 200
check "the node's own machine, without its credential, is told to wait for an operator" \
	wait_for 20 grep -q "waits for an operator's approval.*finctl host approve i1" "$work/nodes/i1/agent.log"
check "and the agent retries with back-off" \
	wait_for 20 eval '[ "$(grep -c "waits for an operator" "$work/nodes/i1/agent.log")" -ge 2 ]'
check "the host says why: the agent has no credential" \
	eval 'fc -o json host show i1 | jq -e ".registration == \"pending\" and (.registration_request.changes | test(\"credential file\"))" >/dev/null'
check "no credential was issued meanwhile" \
	eval '[ "$(grep -c "registered node" "$work/nodes/i1/agent.log")" = "$regs" ] && [ ! -e "$work/nodes/i1/credential" ]'
check "finctl host approve lets it in" eval 'fc host approve i1 | grep -q "^registration  *approved"'
check "the node's own machine registers its name again at its next attempt" \
	wait_for 40 eval '[ "$(grep -c "registered node" "$work/nodes/i1/agent.log")" -gt "$regs" ]'
check "and its host is up, registered" \
	wait_for 10 eval '[ "$(host_state i1)" = up ] && [ "$(fc -o json host show i1 | jq -r .registration)" = registered ]'
check "host.approve is audited" \
	test "$(fc -o json audit list | jq '[.[] | select(.action == "host.approve" and .target == "host:i1" and .result == 200)] | length')" = 1

# The agent is restarted under a new node_name with the old credential.
kill "${AGENT_PID[i1]}"; wait "${AGENT_PID[i1]}" 2>/dev/null
d=$work/nodes/i1
timeout 20 "$agent" --controller-url "$URL" --node-name i1new --pool default \
	--libvirt-uri "test://$d/node.xml" --manifest-dir "$d/m" --storage-dir "$d/disks" \
	--image-dir "$d/images" --credential-file "$d/credential" \
	--join-token-file "$work/join.token" --heartbeat-interval 1 --log-level info \
	--insecure yes >"$work/renamed.log" 2>&1
rc=$?
check "an agent renamed while it holds a credential refuses to start (exit 1)" test "$rc" = 1
check "its error names both names and the credential file to remove" \
	eval 'grep -q "issued to node .i1., but this agent is configured as node .i1new." "$work/renamed.log" && grep -q "remove .$d/credential." "$work/renamed.log"'
check "the controller never heard of the new name" \
	eval '! fc host show i1new >/dev/null 2>&1 && [ "$(db "SELECT count(*) FROM hosts")" = 1 ]'
check "the credential file's node is recorded next to it" test "$(cat "$d/credential.node")" = i1
sim_agent i1 8 16384 200
check "under its old name the agent runs on" \
	wait_for 20 eval '[ "$(host_state i1)" = up ]'

validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

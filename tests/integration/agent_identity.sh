#!/usr/bin/env bash
# One identity per machine, with the real controller and a real
# fincloud-agent on a test:/// simulated host:
# - a second machine registering an existing node's name with the join
#   token is refused (409, audited) while that node's credential is valid,
#   and the node's own agent is not disturbed;
# - the node's own machine may register its name again (it lost its
#   credential file);
# - an agent holding a credential for one node name refuses to start
#   under another name, saying which and what to do; the controller never
#   sees the new name.
. "$FC_TOP/tests/integration/ctrl_lib.bash"
. "$FC_TOP/tests/integration/agent_lib.bash"

one_node i1 || exit 1
mid=$(db "SELECT machine_id FROM hosts WHERE name = 'i1'")
check "registration records the agent's machine id" test -n "$mid"

# Another machine, same name, the shared join token.
other=0a0b0c0d-0000-4000-8000-00000000beef
api POST /v1/agents/register "{\"join_token\":\"$JOIN\",\"node\":\"i1\",\"pool\":\"default\",\"migration_uri\":\"test:///other\",\"machine_id\":\"$other\",\"inventory\":$(inventory 4 8192 100)}" -
check "another machine registering the name of a node with a valid credential gets 409" \
	is_err 409 conflict node
check "the refusal says why and what to do" has "another machine"
check "it is audited" \
	test "$(fc -o json audit list | jq '[.[] | select(.action == "agent.register" and .target == "host:i1" and .result == 409)] | length')" = 1
check "the host keeps its machine id" test "$(db "SELECT machine_id FROM hosts WHERE name = 'i1'")" = "$mid"
regs=$(grep -c 'registered node' "$work/nodes/i1/agent.log")
sleep 3
check "the node's own agent keeps its credential (no new registration) and its host stays up" \
	eval '[ "$(grep -c "registered node" "$work/nodes/i1/agent.log")" = "$regs" ] && [ "$(host_state i1)" = up ]'

# The same machine, its credential file lost: it may register again.
kill "${AGENT_PID[i1]}"; wait "${AGENT_PID[i1]}" 2>/dev/null
rm -f "$work/nodes/i1/credential" "$work/nodes/i1/credential.node"
sim_agent i1 8 16384 200
check "the node's own machine registers its name again after losing its credential" \
	wait_for 20 eval '[ "$(grep -c "registered node" "$work/nodes/i1/agent.log")" -gt "$regs" ]'
check "and its host is up" \
	wait_for 10 eval '[ "$(host_state i1)" = up ]'

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

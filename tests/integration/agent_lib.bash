# Shared helpers of tests/integration/agent_busy.sh and agent_identity.sh
# (sourced after ctrl_lib.bash, not run): the real controller with real
# fincloud-agent processes on test:/// simulated nodes.
[ -x "$agent" ] || { echo "SKIP: fincloud-agent is not built"; exit 77; }

fc() { "$finctl" "$@"; }
host_state() { fc -o json host show "$1" 2>/dev/null | jq -r .state; } # NODE

# one_node NODE: the controller (heartbeat timeout 4 s, interval 1 s), a
# join token in JOIN and an agent on the simulated node NODE, up; 1 when
# the controller does not start.
one_node() {
	ctrl_start --heartbeat-timeout 4 --heartbeat-interval 1 || { nok "controller starts"; return 1; }
	JOIN=$(fc token create --role join --uses 1000 --description "$1" 2>/dev/null)
	sim_agent "$1" 8 16384 200
	check "the agent registers and its host is up" \
		wait_for 20 eval "[ \"\$(host_state '$1')\" = up ]"
}

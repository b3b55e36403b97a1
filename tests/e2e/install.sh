#!/usr/bin/env bash
# scripts/install-agent.sh on a node as an operator runs it (no --root):
# inside a testbed node, whose /etc/fincloud, /var/lib/fincloud and /run
# are its own (and, for this test, /etc/systemd/system too), where systemd
# does not run. It installs the agent with the node's certificates
# (--tls-dir), registers the node with the real controller over https on
# its agents' port through one agent pass (credential 0600), a second run
# changes nothing, and --uninstall stops at exactly what it installed.
set -u
. "$(dirname "$0")/lib.sh"

e2e_require_testbed
e2e_require_fincloud
[ -d /etc/systemd/system ] || e2e_skip "no /etc/systemd/system to shadow with a private one"
e2e_testbed_up 1 fcn 10.250.16 || exit 1
e2e_ok "testbed up 1"

# the node's own agent (installed with --root by the testbed) makes room
bash "$TESTBED" agent-stop 1 --dir "$E2E_DIR/tb" >/dev/null 2>&1
nd=$E2E_DIR/tb/node1
bash "$FC_TOP/scripts/install-agent.sh" --uninstall --root "$nd/root" >/dev/null 2>&1
mkdir -p "$E2E_DIR/units" "$E2E_DIR/prefix"
tok=$(e2e_finctl -o json token create --role join | e2e_json "d.get('token') or d.get('secret')")
[ -n "$tok" ] || e2e_fail "finctl token create --role join"
# node1 is registered already (by the testbed's agent): its name registers
# again only with an operator's approval, or once the operator revoked
# its credential, as one does who reinstalls a node
cred=$(e2e_finctl -o json token list | e2e_json "[t['id'] for t in d if t['role'] == 'agent' and t['node'] == 'node1'][0]")
e2e_finctl token delete "$cred" >/dev/null || e2e_fail "finctl token delete (node1's credential)"

# in_node CMD...: a shell command in node 1 with a private /etc/systemd/system
in_node() {
	bash "$TESTBED" exec 1 --dir "$E2E_DIR/tb" -- unshare --mount --propagation private \
		sh -c "mount --bind '$E2E_DIR/units' /etc/systemd/system && $1"
}
snap() { in_node "find /etc/fincloud /var/lib/fincloud /etc/systemd/system '$E2E_DIR/prefix' -printf '%y %m %s %p\n' 2>/dev/null | sort -k4"; }
before=$(snap)
inst="bash '$FC_TOP/scripts/install-agent.sh' --controller https://$E2E_SUBNET.1:8741 --join-token - \
	--tls-dir '$E2E_DIR/tb/pki/node1' --node node1 --pool default --migration-uri qemu+tls://$E2E_SUBNET.2/system \
	--binary '$FC_BIN/fincloud-agent' --prefix '$E2E_DIR/prefix'"
if out=$(printf '%s\n' "$tok" | in_node "$inst" 2>&1) && printf '%s' "$out" | grep -q "node 'node1' is registered"; then
	e2e_ok "install-agent.sh without --root registers the node with one agent pass"
else
	e2e_fail "install-agent.sh without --root registers the node with one agent pass" "$out"
fi
if printf '%s' "$out" | grep -q 'systemd does not run here'; then
	e2e_ok "where systemd does not run it says so and how to start the agent"
else
	e2e_fail "where systemd does not run it says so and how to start the agent" "$out"
fi
mode=$(in_node "stat -c %a /var/lib/fincloud/agent.credential" 2>/dev/null)
if [ "$mode" = 600 ]; then
	e2e_ok "the node credential is stored with mode 0600"
else
	e2e_fail "the node credential is stored with mode 0600" "mode '$mode'"
fi
seen=$(e2e_finctl -o json host show node1 | e2e_json "d.get('migration_uri')")
if [ "$seen" = "qemu+tls://$E2E_SUBNET.2/system" ]; then
	e2e_ok "the controller knows node1 with the migration URI given to the installer"
else
	e2e_fail "the controller knows node1 with the migration URI given to the installer" "got '$seen'"
fi
installed=$(snap)
if printf '%s\n' "$tok" | in_node "$inst" >/dev/null 2>&1 && [ "$(snap)" = "$installed" ]; then
	e2e_ok "a second run changes nothing"
else
	e2e_fail "a second run changes nothing" "$(diff <(printf '%s\n' "$installed") <(snap))"
fi
if out=$(in_node "bash '$FC_TOP/scripts/install-agent.sh' --uninstall" 2>&1) && [ "$(snap)" = "$before" ]; then
	e2e_ok "--uninstall leaves the node's directories as they were before"
else
	e2e_fail "--uninstall leaves the node's directories as they were before" "$out" \
		"$(diff <(printf '%s\n' "$before") <(snap))"
fi

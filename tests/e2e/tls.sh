#!/usr/bin/env bash
# Every channel of the testbed runs TLS with certificates of its own CA
# (the default; testbed.sh --insecure turns it off), and a node's identity
# is its certificate: finctl reaches the controller over https only with
# FINCLOUD_CA; the agents register and heartbeat on the agents' port with
# their node's certificate, and a node's credential without it gets 403;
# the nodes' libvirt listens on qemu+tls only and refuses a client whose
# certificate is not of the CA; a live migration through finctl runs over
# TLS (the target's QEMU is started with TLS credentials); a node whose
# certificate is not of the CA cannot receive a migration (it fails, the
# guest runs on where it was) and receives it once its certificate is back.
set -u
. "$(dirname "$0")/lib.sh"

e2e_fincloud_up 2 fct 10.250.100
tb=$E2E_DIR/tb
pki=$FC_TESTBED_PKI
sub=$E2E_SUBNET

# --- the controller
case $FINCLOUD_URL in
https://*) e2e_ok "the testbed's controller is $FINCLOUD_URL, FINCLOUD_CA $FINCLOUD_CA" ;;
*) e2e_fail "the testbed's controller speaks https" "FINCLOUD_URL=$FINCLOUD_URL" ;;
esac
FINCLOUD_CA='' "$FC_BIN/finctl" host list >"$E2E_DIR/out" 2>&1
rc=$?
if [ "$rc" = 3 ] && grep -qi "certificate" "$E2E_DIR/out"; then
	e2e_ok "finctl without FINCLOUD_CA refuses the testbed's certificate (exit 3)"
else
	e2e_fail "finctl without FINCLOUD_CA refuses the testbed's certificate (exit 3)" "exit $rc: $(cat "$E2E_DIR/out")"
fi
if e2e_wait_hosts_up 2 60; then
	e2e_ok "both agents registered and heartbeat over https with their certificates"
else
	e2e_fail "both agents registered and heartbeat over https with their certificates"
fi
cred=$(cat "$tb/node1/root/var/lib/fincloud/agent.credential" 2>/dev/null)
hb='{"generation_seen":0,"status":"ok","inventory":{"vcpus":1,"mem_mib":1,"mem_free_mib":1,"disk_gib":1,"disk_free_gib":1,"cpu_model":"x","virt_type":"kvm","libvirt_version":"9"},"domains":[],"foreign_domains":[],"tasks":[]}'
code=$(curl -s --cacert "$pki/ca-cert.pem" -o "$E2E_DIR/out" -w '%{http_code}' -H "Authorization: Bearer $cred" \
	-H 'Content-Type: application/json' --data "$hb" "https://$sub.1:8741/v1/agents/node1/heartbeat")
if [ "$code" = 403 ] && grep -q "no client certificate" "$E2E_DIR/out"; then
	e2e_ok "node1's credential without node1's certificate cannot heartbeat (403)"
else
	e2e_fail "node1's credential without node1's certificate cannot heartbeat (403)" "$code $(cat "$E2E_DIR/out")"
fi
code=$(curl -s --cacert "$pki/ca-cert.pem" --cert "$pki/node2/cert.pem" --key "$pki/node2/key.pem" \
	-o "$E2E_DIR/out" -w '%{http_code}' -H "Authorization: Bearer $cred" \
	-H 'Content-Type: application/json' --data "$hb" "https://$sub.1:8741/v1/agents/node1/heartbeat")
if [ "$code" = 403 ] && grep -q "names node 'node2'" "$E2E_DIR/out"; then
	e2e_ok "node2's certificate cannot heartbeat as node1, even with node1's credential (403)"
else
	e2e_fail "node2's certificate cannot heartbeat as node1 (403)" "$code $(cat "$E2E_DIR/out")"
fi

# --- the nodes' libvirt
if ! timeout 20 virsh -c "qemu+tcp://$sub.2/system" version >"$E2E_DIR/out" 2>&1; then
	e2e_ok "node 1's libvirt does not listen on plain TCP ($(grep -m1 error "$E2E_DIR/out" | cut -c1-60))"
else
	e2e_fail "node 1's libvirt does not listen on plain TCP"
fi
# a client certificate of another CA, with this testbed's CA to trust
bash "$FC_TOP/scripts/fincloud-ca.sh" init "$E2E_DIR/foreign" >/dev/null &&
	bash "$FC_TOP/scripts/fincloud-ca.sh" issue node1 --dir "$E2E_DIR/foreign" --server --client \
		--ip "$sub.2" >/dev/null
mkdir -p "$E2E_DIR/rogue"
cp "$pki/ca-cert.pem" "$E2E_DIR/rogue/cacert.pem"
cp "$E2E_DIR/foreign/node1/cert.pem" "$E2E_DIR/rogue/clientcert.pem"
cp "$E2E_DIR/foreign/node1/key.pem" "$E2E_DIR/rogue/clientkey.pem"
if ! timeout 20 virsh -c "qemu+tls://$sub.2/system?pkipath=$E2E_DIR/rogue" version >"$E2E_DIR/out" 2>&1; then
	e2e_ok "node 1's libvirt refuses a client whose certificate is not of the CA"
else
	e2e_fail "node 1's libvirt refuses a client whose certificate is not of the CA" "$(cat "$E2E_DIR/out")"
fi

# --- migrations
f() { e2e_finctl "$@" >/dev/null; }
if f flavor create tiny --vcpus 1 --mem-mib 64 --disk-gib 1 && f tenant create loan &&
	vm=$(e2e_create loan tiny tls-1 --wait --timeout 120 2>/dev/null); then
	e2e_ok "a VM runs"
else
	e2e_fail "a VM runs"
	exit 1
fi
from=$(e2e_nodes_of "$vm")
to=$((3 - from))
if out=$(e2e_finctl vm migrate "$vm" --to "node$to" --wait --timeout 120 2>&1) &&
	down=$(e2e_arrived_live "$to" "$vm") && [ "$(e2e_nodes_of "$vm")" = "$to" ]; then
	e2e_ok "finctl vm migrate: live from node $from to node $to (downtime $down)"
else
	e2e_fail "finctl vm migrate: live from node $from to node $to" "$out"
fi
if grep -q "migrating live to 'qemu+tls://$sub.$((to + 1))/system' (over TLS" "$tb/node$from/agent.log"; then
	e2e_ok "node $from's agent migrated it over TLS (qemu+tls, VIR_MIGRATE_TLS)"
else
	e2e_fail "node $from's agent migrated it over TLS" "$(grep -m3 'migrating live' "$tb/node$from/agent.log")"
fi
# the nodes refuse a migration without TLS (migrate_tls_force)
if out=$(e2e_virsh "$to" migrate --live --p2p --persistent --undefinesource --copy-storage-inc \
	"$vm" "qemu+tls://$sub.$((from + 1))/system" "tcp://$sub.$((from + 1))" 2>&1); then
	e2e_fail "a migration without TLS is refused" "it went through: $out"
	e2e_finctl vm migrate "$vm" --to "node$to" --wait --timeout 120 >/dev/null 2>&1
elif printf '%s' "$out" | grep -q 'only with VIR_MIGRATE_TLS'; then
	e2e_ok "a migration without TLS is refused: $(printf '%s' "$out" | grep -m1 -o 'allows migration only with VIR_MIGRATE_TLS.*')"
else
	e2e_fail "a migration without TLS is refused, saying it requires TLS" "$out"
fi

# node $from gets a server certificate of another CA for QEMU: it cannot
# receive the guest back
back=$from
q=$tb/node$back/root/etc/pki/qemu
cp -p "$q/server-cert.pem" "$E2E_DIR/server-cert.pem"
cp -p "$q/server-key.pem" "$E2E_DIR/server-key.pem"
cp "$E2E_DIR/foreign/node1/cert.pem" "$q/server-cert.pem"
cp "$E2E_DIR/foreign/node1/key.pem" "$q/server-key.pem"
if out=$(e2e_finctl vm migrate "$vm" --to "node$back" --wait --timeout 120 2>&1); then
	e2e_fail "a node whose certificate is not of the CA cannot receive a migration" "$out"
else
	why=$(grep -o "failed validation against [^ ]*: .*" "$tb/node$to/agent.log" | tail -1)
	e2e_ok "a node whose certificate is not of the CA cannot receive a migration (node $back's QEMU: ${why:-see the log})"
fi
if [ "$(e2e_nodes_of "$vm")" = "$to" ] && [ "$(e2e_dominfo "$to" "$vm" State)" = running ] &&
	[ "$(e2e_vm_field "$vm" host)" = "node$to" ]; then
	e2e_ok "the guest still runs on node $to only, as the controller says"
else
	e2e_fail "the guest still runs on node $to only" "virsh: '$(e2e_nodes_of "$vm")', controller: $(e2e_vm_field "$vm" host)"
fi
cp -p "$E2E_DIR/server-cert.pem" "$q/server-cert.pem"
cp -p "$E2E_DIR/server-key.pem" "$q/server-key.pem"
if out=$(e2e_finctl vm migrate "$vm" --to "node$back" --wait --timeout 120 2>&1) &&
	[ "$(e2e_nodes_of "$vm")" = "$back" ]; then
	e2e_ok "with its own certificate back, node $back receives the guest"
else
	e2e_fail "with its own certificate back, node $back receives the guest" "$out"
fi

echo "1..$e2e_n"

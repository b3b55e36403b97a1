#!/usr/bin/env bash
# Agents' identity is their client certificate. With tls_ca (and so
# require_client_cert) the agents' port asks for a certificate of the
# installation's CA whose CN is the node: without one a node cannot
# register, heartbeat (long-poll) or send events (403 with a JSON body);
# node1's valid certificate cannot act as node2, not even with node2's
# credential; an expired certificate, one of a foreign CA and a server-only
# certificate are refused; /healthz stays open; the API port, which asks
# for no certificate when the agents have their own port, serves no agent.
# Config checks: require_client_cert needs tls_ca, tls_ca needs TLS, plain
# HTTP off loopback needs insecure = yes. The real agent registers and
# heartbeats over https with its certificate; with another node's it is
# refused.
. "$FC_TOP/tests/integration/ctrl_lib.bash"
command -v certtool >/dev/null || { echo "SKIP: certtool is missing (gnutls-bin)"; exit 77; }
ca=$FC_TOP/scripts/fincloud-ca.sh
d=$work/ca
{
	bash "$ca" init "$d" &&
		bash "$ca" issue ctl --dir "$d" --server --ip 127.0.0.1 &&
		bash "$ca" issue node1 --dir "$d" --client &&
		bash "$ca" issue node2 --dir "$d" --server --client --ip 127.0.0.1 &&
		bash "$ca" issue node3 --dir "$d" --server --ip 127.0.0.1 &&
		bash "$ca" issue node4 --dir "$d" --client &&
		bash "$ca" init "$work/other" &&
		bash "$ca" issue node1 --dir "$work/other" --client
} >"$work/ca.log" 2>&1 || { nok "the test CA" "$(tail -3 "$work/ca.log")"; exit 1; }
# an expired certificate of node1, signed by the right CA
mkdir -p "$d/old"
printf 'cn = "node1"\ntls_www_client\nsigning_key\nencryption_key\nactivation_date = "2020-01-01 00:00:00"\nexpiration_date = "2021-01-01 00:00:00"\n' >"$work/old.tmpl"
certtool --generate-privkey --key-type=rsa --bits=3072 --no-text --outfile "$d/old/key.pem" >/dev/null 2>&1 &&
	certtool --generate-certificate --load-privkey "$d/old/key.pem" --load-ca-certificate "$d/ca-cert.pem" \
		--load-ca-privkey "$d/private/ca-key.pem" --template "$work/old.tmpl" --no-text \
		--outfile "$d/old/cert.pem" >/dev/null 2>&1 || { nok "an expired test certificate"; exit 1; }

# --- config checks
conf() { "$ctl" --check-config --config /dev/null "$@" >"$work/out" 2>&1; rc=$?; }
conf --require-client-cert yes
check "require_client_cert without tls_ca is refused (exit 2)" eval '[ $rc = 2 ] && grep -q "set tls_ca" "$work/out"'
conf --tls-ca "$d/ca-cert.pem"
check "tls_ca without tls_cert is refused (exit 2)" eval '[ $rc = 2 ] && grep -q "need TLS" "$work/out"'
conf --tls-cert "$d/ctl/cert.pem" --tls-key "$d/ctl/key.pem" --tls-ca "$work/none.pem"
check "an unreadable tls_ca is refused (exit 2)" eval '[ $rc = 2 ] && grep -q "tls_ca" "$work/out"'
conf --listen-address 0.0.0.0
check "plain HTTP off loopback is refused without insecure = yes (exit 2)" eval '[ $rc = 2 ] && grep -q "insecure = yes" "$work/out"'
conf --listen-address 0.0.0.0 --insecure yes
check "plain HTTP off loopback with insecure = yes passes" test $rc = 0
conf --listen-address 0.0.0.0 --tls-cert "$d/ctl/cert.pem" --tls-key "$d/ctl/key.pem" --tls-ca "$d/ca-cert.pem"
check "TLS with tls_ca passes" test $rc = 0

# --- the controller: API port and agents' port, both https
port=$(free_port)
aport=$(free_port)
"$ctl" --config /dev/null --state-dir "$work/state" --listen-port "$port" --agent-listen-port "$aport" ${db_args[@]+"${db_args[@]}"} \
	--tls-cert "$d/ctl/cert.pem" --tls-key "$d/ctl/key.pem" --tls-ca "$d/ca-cert.pem" \
	--heartbeat-interval 1 --heartbeat-timeout 10 >>"$work/controller.log" 2>&1 &
ctl_pid=$!
pids+=("$ctl_pid")
check "the controller answers over https on both ports" \
	wait_for 10 eval 'curl -sf --cacert "$d/ca-cert.pem" "https://127.0.0.1:$port/healthz" -o /dev/null &&
		curl -sf --cacert "$d/ca-cert.pem" "https://127.0.0.1:$aport/healthz" -o /dev/null'
check "the log says agents need a client certificate" grep -q "agents need a client certificate" "$work/controller.log"
ADMIN=$(cat "$work/state/admin.token")
URL=https://127.0.0.1:$port
API_CURL=(--cacert "$d/ca-cert.pem")
api POST /v1/tokens '{"role":"join","uses":100}'
JOIN=$(jv .token)
check "a join token" test -n "$JOIN"

# as NAME: the agents' port with NAME's certificate ("-": none)
as() {
	URL=https://127.0.0.1:$aport
	API_CURL=(--cacert "$d/ca-cert.pem")
	case $1 in
	-) ;;
	foreign) API_CURL+=(--cert "$work/other/node1/cert.pem" --key "$work/other/node1/key.pem") ;;
	*) API_CURL+=(--cert "$d/$1/cert.pem" --key "$d/$1/key.pem") ;;
	esac
}
reg() { # NODE
	api POST /v1/agents/register "{\"join_token\":\"$JOIN\",\"node\":\"$1\",\"pool\":\"default\",\"migration_uri\":\"qemu+tls://127.0.0.1/system\",\"inventory\":$(inventory 8 16384 100)}" -
}
refused() { # WHAT PATTERN: 403 forbidden, its message matching PATTERN
	want=$2
	check "$1 (403 forbidden, JSON body)" eval 'is_err 403 forbidden && jv .error.message | grep -q -- "$want"'
}

as -
reg node1
refused "register without a client certificate" "no client certificate"
as foreign
reg node1
refused "register with a certificate of a foreign CA" "issuer is unknown"
as old
reg node1
refused "register with an expired certificate" "expired"
as node3
reg node3
refused "register with a server-only certificate (not for TLS clients)" "purpose"
as node1
reg node2
refused "node1's valid certificate cannot register node2" "names node 'node1'"
check "nothing was registered" test "$(db 'SELECT count(*) FROM hosts')" = 0

as node1
reg node1
check "node1 registers with its own certificate (201)" is 201
CRED[node1]=$(jv .credential)
as node2
reg node2
check "node2 registers with its own certificate (201)" is 201
CRED[node2]=$(jv .credential)

as node1
heartbeat node1 0 '[]'
check "node1 heartbeats with its certificate and credential (200)" is 200
gen=$(jv .generation)
heartbeat node1 "$gen" '[]' 1
check "node1 long-polls with its certificate (200)" is 200
as -
heartbeat node1 "$gen" '[]'
refused "node1's credential without a certificate cannot heartbeat" "no client certificate"
as foreign
heartbeat node1 "$gen" '[]'
refused "node1's credential with a foreign CA's certificate cannot heartbeat" "issuer is unknown"
as old
heartbeat node1 "$gen" '[]'
refused "node1's credential with its expired certificate cannot heartbeat" "expired"
as node1
heartbeat node2 0 '[]'
refused "node1's certificate cannot heartbeat as node2, even with node2's credential" "names node 'node1'"
api POST /v1/agents/node2/events '{"events":[]}' "${CRED[node2]}"
refused "node1's certificate cannot send node2's events" "names node 'node1'"
api GET "/v1/agents/node2/images/$(printf '%064d' 0)" "" "${CRED[node2]}"
refused "node1's certificate cannot fetch node2's images" "names node 'node1'"
api GET "/v1/agents/node2/consoles/$(printf '%032d' 0)?error=x" "" "${CRED[node2]}"
refused "node1's certificate cannot answer node2's console sessions" "names node 'node1'"
as -
api GET "/v1/agents/node2/images/$(printf '%064d' 0)" "" "${CRED[node2]}"
refused "node2's credential without a certificate fetches no image" "no client certificate"
as node1
as node2
api POST /v1/agents/node2/events '{"events":[]}' "${CRED[node2]}"
check "node2 sends its events with its certificate" is 200
as -
api GET /healthz "" -
check "/healthz on the agents' port needs no certificate" is 200

# the API port asks for no certificate: agents cannot use it
URL=https://127.0.0.1:$port
API_CURL=(--cacert "$d/ca-cert.pem" --cert "$d/node1/cert.pem" --key "$d/node1/key.pem")
heartbeat node1 "$gen" '[]'
refused "the API port serves no agent when the agents have their own port" "no client certificate"
API_CURL=(--cacert "$d/ca-cert.pem")
api GET /v1/hosts
check "operators use the API port without a certificate" is 200
check "plain http gets no answer on the agents' port" eval '! curl -sf "http://127.0.0.1:$aport/healthz" -o /dev/null'
check "an agent that does not trust the CA cannot connect (curl exit 60)" eval \
	'curl -s --cert "$d/node1/cert.pem" --key "$d/node1/key.pem" "https://127.0.0.1:$aport/healthz" -o /dev/null; [ $? = 60 ]'

# the real agent: verifies the controller with ca_file, presents
# cert_file/key_file; with another node's certificate it is refused
real_agent() { # NODE CERT-NAME
	local nd=$work/nodes/$1
	mkdir -p "$nd/m" "$nd/disks" "$nd/images"
	printf '%s\n' "$JOIN" >"$work/join.token"
	"$agent" --controller-url "https://127.0.0.1:$aport" --node-name "$1" --pool default \
		--libvirt-uri test:///default --migration-uri test:///default \
		--manifest-dir "$nd/m" --storage-dir "$nd/disks" --image-dir "$nd/images" \
		--credential-file "$nd/credential" --join-token-file "$work/join.token" \
		--ca-file "$d/ca-cert.pem" --cert-file "$d/$2/cert.pem" --key-file "$d/$2/key.pem" \
		--heartbeat-interval 1 --stop-timeout 2 >>"$nd/agent.log" 2>&1 &
	pids+=($!)
}
URL=https://127.0.0.1:$port
API_CURL=(--cacert "$d/ca-cert.pem")
host_up() { api GET "/v1/hosts/$1"; [ "$(jv .state)" = up ]; }
real_agent node4 node4
check "fincloud-agent with ca_file, cert_file and key_file registers node4 and keeps it up" \
	wait_for 20 eval 'host_up node4 && [ -s "$work/nodes/node4/credential" ]'
real_agent node5 node4
check "fincloud-agent named node5 with node4's certificate is refused (403, logged)" \
	wait_for 20 grep -q "names node 'node4'" "$work/nodes/node5/agent.log"
api GET /v1/hosts/node5
check "node5 is not registered" is 404

validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

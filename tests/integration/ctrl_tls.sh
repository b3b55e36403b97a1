#!/usr/bin/env bash
# The controller with tls_cert / tls_key speaks HTTPS only; finctl reaches
# it with FINCLOUD_CA; a key without a certificate is refused by
# --check-config.
. "$FC_TOP/tests/integration/ctrl_lib.bash"
command -v openssl >/dev/null || { echo "SKIP: openssl is missing"; exit 77; }

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
	-days 1 -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" >/dev/null 2>&1 ||
	{ echo "SKIP: openssl cannot make a test certificate"; exit 77; }
"$ctl" --check-config --config /dev/null --tls-key "$work/key.pem" >"$work/out" 2>&1
# shellcheck disable=SC2034 # read by the eval below
rc=$?
check "a key without a certificate is refused (exit 2)" eval '[ $rc = 2 ] && grep -q "tls_cert and tls_key go together" "$work/out"'
"$ctl" --check-config --config /dev/null --tls-cert "$work/nope.pem" --tls-key "$work/key.pem" >"$work/out" 2>&1
check "an unreadable certificate is refused (exit 2)" test $? = 2

port=$(free_port)
"$ctl" --config /dev/null --state-dir "$work/state" --listen-port "$port" \
	--tls-cert "$work/cert.pem" --tls-key "$work/key.pem" >>"$work/controller.log" 2>&1 &
ctl_pid=$!
pids+=("$ctl_pid")
check "the controller answers over https" \
	wait_for 10 curl -sf --cacert "$work/cert.pem" "https://127.0.0.1:$port/healthz" -o /dev/null
curl -sf "http://127.0.0.1:$port/healthz" -o /dev/null 2>&1
check "plain http gets no answer" test $? != 0
FINCLOUD_TOKEN=$(cat "$work/state/admin.token")
export FINCLOUD_URL=https://127.0.0.1:$port FINCLOUD_TOKEN
FINCLOUD_CA=$work/cert.pem "$finctl" flavor create s --vcpus 1 --mem-mib 64 --disk-gib 1 >/dev/null
check "finctl works over https with FINCLOUD_CA" test $? = 0
"$finctl" flavor list >/dev/null 2>"$work/out"
check "without FINCLOUD_CA the self-signed certificate is refused (exit 3)" test $? = 3

echo "1..$n"
[ "$nfail" -eq 0 ]

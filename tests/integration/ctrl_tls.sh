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
"$ctl" --config /dev/null --state-dir "$work/state" --listen-port "$port" ${db_args[@]+"${db_args[@]}"} \
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


# A console over https on both legs: a python agent (TLS, trusting the
# test certificate) registers, reports its VM running and serves console
# sessions by switching its call-back to fincloud-console and echoing
# each line it reads, prefixed; finctl types a line and reads the echo.
export FINCLOUD_CA=$work/cert.pem
JOIN=$("$finctl" token create --role join 2>/dev/null)
"$finctl" tenant create t >/dev/null
$py - "https://127.0.0.1:$port" "$work/cert.pem" "$JOIN" >"$work/tls-agent.log" 2>&1 <<'PYEOF' &
import json, socket, ssl, sys, time, urllib.request
base, ca, join = sys.argv[1:4]
ctx = ssl.create_default_context(cafile=ca)
def call(method, path, body, tok=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if tok:
        req.add_header("Authorization", "Bearer " + tok)
    with urllib.request.urlopen(req, context=ctx, timeout=40) as r:
        return json.loads(r.read() or b"{}")
inv = {"vcpus": 8, "mem_mib": 16384, "mem_free_mib": 16384, "disk_gib": 100,
       "disk_free_gib": 100, "cpu_model": "sim", "virt_type": "test",
       "libvirt_version": "9.0.0"}
cred = call("POST", "/v1/agents/register", {"join_token": join, "node": "t1",
            "pool": "default", "migration_uri": "test:///t1",
            "inventory": inv})["credential"]
# a log: its framing line, 50,008 bytes, then the agent keeps the
# connection open (the controller must not wait for its close)
LOG = b"".join(b"tls-log line %05d\n" % i for i in range(2632))
def serve(sid, kind):
    raw = socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])))
    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    s.sendall(("GET /v1/agents/t1/consoles/%s HTTP/1.1\r\nHost: t\r\n"
               "Authorization: Bearer %s\r\nConnection: Upgrade\r\n"
               "Upgrade: fincloud-console\r\n\r\n" % (sid, cred)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    print("call-back:", head.split(b"\r\n")[0].decode(), flush=True)
    if kind == "log":
        s.sendall(b"fincloud-log %d\n" % len(LOG) + LOG)
        time.sleep(3)
        s.close()
        return
    s.settimeout(5)
    line = b""
    try:
        while True:
            data = s.recv(4096)
            if not data:
                break
            line += data
            while b"\n" in line:
                one, line = line.split(b"\n", 1)
                s.sendall(b"echo:" + one + b"\n")
    except socket.timeout:
        pass
    s.close()
gen, seen = 0, set()
end = time.time() + 60
while time.time() < end:
    d = call("POST", "/v1/agents/t1/heartbeat?wait_s=1",
             {"generation_seen": gen, "status": "ok", "inventory": inv,
              "domains": [{"vm_id": v["vm_id"], "name": v["name"],
                           "state": "running"} for v in vms]
              if gen else [], "foreign_domains": [], "tasks": []}, cred)
    gen, vms = d["generation"], d["vms"]
    for c in d.get("consoles", []):
        if c["session_id"] not in seen:
            seen.add(c["session_id"])
            serve(c["session_id"], c["kind"])
PYEOF
pids+=($!)
"$finctl" flavor create tiny --vcpus 1 --mem-mib 64 --disk-gib 1 >/dev/null
check "a VM runs on the python agent" \
	wait_for 20 "$finctl" vm create --tenant t --flavor tiny --name c1 --wait --timeout 15
printf 'hello-over-tls\n' | "$finctl" vm console c1 --tenant t --linger 2 >"$work/tls-console.out" 2>&1
check "finctl vm console over https reads the agent's echo of what it typed" \
	grep -q "echo:hello-over-tls" "$work/tls-console.out"
check "the agent's call-back over https switched protocols" \
	grep -q "call-back: HTTP/1.1 101" "$work/tls-agent.log"
# under TLS the controller's side of a switched connection is a relay
# that does not pass a close on: finctl's close must still end the
# session (the agent's side is closed, the end audited)
audited_end() { "$finctl" -o json audit list 2>/dev/null | grep -q '"vm.console.end"'; }
check "the session ends when finctl closes over https: its end is audited" wait_for 10 audited_end
"$finctl" vm console-log c1 --tenant t >"$work/tls-log.out" 2>"$work/tls-log.err"
check "finctl vm console-log over https gets the agent's whole log (50,008 bytes, ended by its length line, not by a close)" \
	sh -c "[ \$(wc -c <'$work/tls-log.out') = 50008 ] && tail -n 1 '$work/tls-log.out' | grep -q '^tls-log line 02631\$'"

echo "1..$n"
[ "$nfail" -eq 0 ]

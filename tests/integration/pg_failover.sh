#!/usr/bin/env bash
# fc-test: alone
# Two controllers on one PostgreSQL, their clients given both URLs (issue
# 17): finctl (FINCLOUD_URL / --url "A,B") and a real fincloud-agent
# (--controller-url "A,B") work through A, then, A killed with SIGKILL,
# through B without a failed command: the agent's heartbeats reach B (its
# host stays up), a VM created through B runs on it, the scheduled
# rebalance (finctl rebalance run) completes. A client fails over on no
# answer and on a 5xx, never on a 4xx (a recording stub stands for the
# other controller and shows which requests reached it).
FINCLOUD_TEST_DB=pg
. "$FC_TOP/tests/integration/ctrl_lib.bash"
[ -x "$agent" ] || { echo "SKIP: fincloud-agent is not built"; exit 77; }
"$agent" --help >/dev/null 2>&1 || { echo "SKIP: fincloud-agent does not run"; exit 77; }

ctrl_start --heartbeat-timeout 4 --heartbeat-interval 1 || { nok "controller A starts"; exit 1; }
url_a=$URL pid_a=$ctl_pid
check "controller B starts on the same database" ctrl_start_b --heartbeat-timeout 4 --heartbeat-interval 1
fc() { "$finctl" "$@"; }

# stub STATUS: a stand-in controller on a free port that answers every
# request with STATUS and records its method and path in $work/stub.log;
# sets stub_url
stub() {
	local p
	p=$(free_port)
	$py - "$p" "$1" "$work/stub.log" <<'EOF' &
import http.server, sys
port, status, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        n = int(self.headers.get('Content-Length') or 0)
        if n:
            self.rfile.read(n)
        with open(log, 'a') as f:
            f.write('%s %s\n' % (self.command, self.path))
        body = b'{"error":{"code":"internal","message":"stub"}}'
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = do_PATCH = do_DELETE = answer
    def log_message(self, *a):
        pass
http.server.HTTPServer(('127.0.0.1', port), H).serve_forever()
EOF
	pids+=($!)
	stub_url=http://127.0.0.1:$p
	wait_for 10 eval "curl -s -o /dev/null $stub_url/healthz"
}

# --- the failover rule, with a stub ---------------------------------------------
stub 500
: >"$work/stub.log"
fc --url "$stub_url,$url_b" pool list >"$work/out" 2>&1
check "a 5xx from the first: the request goes to the next and succeeds" \
	eval '[ $? = 0 ] && grep -q "^default" "$work/out" && grep -q "^GET /v1/pools" "$work/stub.log"'
: >"$work/stub.log"
fc --url "$url_b,$stub_url" vm show no-such-vm >"$work/out" 2>&1
rc=$?
check "a 4xx is final: exit 4 (not found), the next controller never asked" \
	eval '[ $rc = 4 ] && [ ! -s "$work/stub.log" ]'
dead=http://127.0.0.1:$(free_port)
fc --url "$dead,$url_b" pool list >/dev/null 2>&1
check "a refused connection: the next one answers" test $? = 0
fc --url "$dead,$dead" pool list >"$work/out" 2>&1
rc=$?
check "none answers: exit 3 saying so" \
	eval '[ $rc = 3 ] && grep -q "none of the 2 controllers answered" "$work/out"'

# --- finctl and an agent across a SIGKILL of A ---------------------------------
export FINCLOUD_URL="$url_a,$url_b"
JOIN=$(fc token create --role join --uses 10 --description failover 2>/dev/null)
check "finctl works through A" eval '[[ $JOIN =~ ^fc_ ]]'
URL="$url_a,$url_b"
sim_agent s1 8 16384 200
check "an agent given both URLs registers and is up" \
	wait_for 20 eval '[ "$(fc -o json host list --state up | jq length)" = 1 ]'
fc flavor create small --vcpus 1 --mem-mib 256 --disk-gib 1 >/dev/null &&
	fc tenant create loan --quota-vms 10 >/dev/null
check "flavor and tenant created" test $? = 0
id=$(fc vm create --tenant loan --flavor small --name before --wait --timeout 30 2>/dev/null)
check "a VM created before the kill runs" test -n "$id"

kill -KILL "$pid_a"
wait "$pid_a" 2>/dev/null
check "after A's SIGKILL, finctl answers through B" eval 'fc pool list >/dev/null'
id2=$(fc vm create --tenant loan --flavor small --name after --wait --timeout 30 2>"$work/after.err")
check "a VM created after the kill (through B) runs on the agent's node" \
	eval '[ -n "$id2" ] && [ "$(fc -o json vm show "$id2" | jq -r .state)" = running ]'
check "the agent says it moved to B" \
	wait_for 10 grep -q "talking to $url_b" "$work/nodes/s1/agent.log"
sleep 6
check "its host stayed up past heartbeat_timeout (heartbeats reach B)" \
	test "$(fc -o json host show s1 | jq -r .state)" = up
fc vm delete "$id" >/dev/null && fc vm delete "$id2" >/dev/null
gone() { [ "$(fc -o json vm list | jq length)" = 0 ]; }
check "deletes through B reach the agent" wait_for 30 gone
fc rebalance run --pool default >"$work/rebal.out" 2>&1
check "the scheduled rebalance (finctl rebalance run) completes through B" test $? = 0

validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

#!/usr/bin/env bash
# fc-test: alone
# The web dashboard in a real browser (docs/dashboard.md): the real
# controller serving build/ui, two real fincloud-agents on libvirt's
# test:/// driver and 120 hosts registered by curl (a second page of
# hosts), tenants with VMs, a group and a network; then Debian's chromium,
# headless under puppeteer-core (ui_browser.js), loads every page as an
# administrator and as a tenant and compares what it shows with what the
# API answered to curl: no console error, no CSP violation, the numbers,
# the plots' points, paging, the confirmation before a drain and a
# rebalance, a tenant seeing only its tenant, an API error shown.
# Screenshots of every page go to build/test-logs/ui/. Chromium and the
# controller are stopped by PID on every exit.
. "$FC_TOP/tests/integration/ctrl_lib.bash"

npm_cache=${FINCLOUD_NPM_CACHE:-/var/cache/fincloud/npm}
chromium=$(command -v chromium) || { echo "SKIP: chromium is missing (scripts/deps.sh --browser)"; exit 77; }
command -v node >/dev/null || { echo "SKIP: node is missing (scripts/deps.sh)"; exit 77; }
[ -f "$npm_cache/node_modules/puppeteer-core/package.json" ] ||
	{ echo "SKIP: puppeteer-core is not in $npm_cache (scripts/deps.sh)"; exit 77; }
ui_dir=$FC_BUILD/ui
[ -f "$ui_dir/index.html" ] && [ -f "$ui_dir/uplot.esm.js" ] || { echo "SKIP: $ui_dir is not built (make)"; exit 77; }
shots=$FC_BUILD/test-logs/ui
rm -rf "$shots"
mkdir -p "$shots"

# chromium and its children: a process group of their own (puppeteer
# starts it detached); stopped by that PID, whatever ended the test
browser_pid=
stop_browser() {
	[ -s "$work/chromium.pid" ] && browser_pid=$(cat "$work/chromium.pid")
	if [ -n "$browser_pid" ] && kill -0 "$browser_pid" 2>/dev/null; then
		kill -- "-$browser_pid" 2>/dev/null || kill "$browser_pid" 2>/dev/null
	fi
}
trap 'stop_browser; cleanup' EXIT

ctrl_start --ui-dir "$ui_dir" --sample-interval 1 --heartbeat-timeout 300 --heartbeat-interval 1 ||
	{ nok "controller starts"; exit 1; }
api POST /v1/pools '{"name":"prod","policy":"pack"}'
# loan's VMs spread over n1 and n2: a pack plan then has moves
api PATCH /v1/pools/default '{"policy":"spread"}'
api POST /v1/flavors '{"name":"small","vcpus":1,"mem_mib":512,"disk_gib":1}'
api POST /v1/tenants '{"name":"loan","quota":{"vms":10}}'
api POST /v1/tenants '{"name":"pay"}'
api POST /v1/groups '{"name":"pay-ha","tenant":"pay","policy":"anti-affinity","availability":0.999}'
api POST /v1/networks '{"name":"paynet","tenant":"pay","cidr":"10.20.0.0/24","gateway":"10.20.0.1"}'
api POST /v1/tokens '{"role":"join","uses":1000}'
JOIN=$(jv .token)
api POST /v1/tokens '{"role":"tenant","tenant":"loan"}'
TENANT_TOKEN=$(jv .token)
check "setup: pools, tenants, a group, a network and tokens" test -n "$TENANT_TOKEN"

sim_agent n1 8 16384 100
sim_agent n2 8 16384 100
check "two simulated hosts come up" wait_for 30 eval \
	'[ "$("$finctl" -o json host list --pool default --state up | jq length)" = 2 ]'
for i in 1 2 3; do
	"$finctl" vm create --tenant loan --flavor small --name "loan-$i" --pool default --wait --timeout 30 >/dev/null 2>&1
done
check "loan's three VMs run on them" test "$("$finctl" -o json vm list --tenant loan | jq '[.[] | select(.state == "running")] | length')" = 3
for i in $(seq -w 1 120); do register_fake "p$i" 16 32768 500 prod; done
for i in 1 2; do
	api POST /v1/vms "{\"tenant\":\"pay\",\"flavor\":\"small\",\"name\":\"pay-$i\",\"pool\":\"prod\",\"group\":\"pay-ha\",\"networks\":[{\"network\":\"paynet\"}]}"
done
check "122 hosts, pay's two VMs placed" test "$(db 'SELECT count(*) FROM hosts')/$(db "SELECT count(*) FROM vms WHERE tenant = 'pay'")" = 122/2
# a prod host without VMs for a drain that succeeds
drain_host=$(db "SELECT name FROM hosts WHERE pool = 'prod' AND name NOT IN (SELECT host FROM vms WHERE host IS NOT NULL) ORDER BY name LIMIT 1")
# utilisation samples (one a second)
sleep 3

# what the API says, for the browser to find on the pages
q() { curl -sf -H "Authorization: Bearer $ADMIN" "$URL$1"; }
plan=$(curl -sf -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
	-d '{"dry_run":true,"policy":"pack"}' "$URL/v1/pools/default/rebalance")
util=$(q /v1/pools/default/utilization)
jq -n --argjson util "$util" --argjson plan "$plan" \
	--argjson pool "$(q /v1/pools/default)" \
	--argjson n1 "$(q /v1/hosts/n1)" \
	--argjson n1util "$(q /v1/hosts/n1/utilization)" \
	--argjson n1vms "$(q '/v1/vms?host=n1&limit=1000' | jq '[.items[].name] | sort')" \
	--argjson loan "$(q /v1/tenants/loan)" \
	--argjson loanvms "$(q '/v1/vms?tenant=loan&limit=1000' | jq '[.items[].name] | sort')" \
	--argjson payvms "$(q '/v1/vms?tenant=pay&limit=1000' | jq '[.items[].name] | sort')" \
	--argjson payips "$(q '/v1/ports?tenant=pay&limit=1000' | jq '[.items[].ip]')" \
	--argjson group "$(q /v1/groups/pay-ha)" \
	--argjson hosts "$(db 'SELECT count(*) FROM hosts')" \
	--argjson audit "$(q /v1/audit/verify)" \
	--arg drain "$drain_host" \
	'{util_default: $util, series_default: ($util.series | length), plan_default: $plan,
	  pool_default: $pool, n1: $n1, n1_vms: $n1vms, loan_usage: $loan.usage, loan_vms: $loanvms,
	  pay_vms: $payvms, pay_ips: $payips, pay_group: $group, hosts_total: $hosts, audit: $audit,
	  drain_host: $drain, series_n1: ($n1util.series | length)}' >"$work/expect.json"
check "what the API says is recorded (a plan with moves, pay's addresses, a series)" \
	jq -e '.plan_default.moves | length > 0' "$work/expect.json"
check "pay's VMs have addresses and pool default and host n1 have samples" \
	jq -e '(.pay_ips | length) == 2 and .series_default > 0 and .series_n1 > 0 and .drain_host != ""' "$work/expect.json"

# the browser: one line a check
UI_URL=$URL UI_ADMIN_TOKEN=$ADMIN UI_TENANT_TOKEN=$TENANT_TOKEN UI_EXPECT=$work/expect.json \
	UI_SHOTS=$shots UI_PIDFILE=$work/chromium.pid UI_PROFILE=$work/chromium UI_CHROMIUM=$chromium \
	NODE_PATH=$npm_cache/node_modules HOME=$work \
	timeout -k 5 240 node "$FC_TOP/tests/integration/ui_browser.js" >"$work/browser.out" 2>"$work/browser.err"
rc=$?
while IFS=$'\t' read -r line detail; do
	case $line in
	"PASS "*) ok "${line#PASS }" ;;
	"FAIL "*) nok "${line#FAIL }" "$detail" ;;
	esac
done <"$work/browser.out"
check "the browser ran to its end (rc $rc)" eval '[ $rc -eq 0 ] && [ -s "$work/browser.out" ]'
[ $rc -eq 0 ] || sed 's/^/# /' "$work/browser.err" | tail -20
stop_browser
check "chromium is stopped" eval '[ -z "$browser_pid" ] || ! kill -0 "$browser_pid" 2>/dev/null'

# what the clicks did, and did not do
api GET /v1/hosts/n1
check "the cancelled drain left n1 out of maintenance" jqt '.maintenance == false'
api GET "/v1/hosts/$drain_host"
check "the confirmed drain put $drain_host in maintenance" jqt '.maintenance == true'
check "the cancelled rebalance started no run" test "$(db "SELECT count(*) FROM tasks WHERE type = 'rebalance'")" = 0
for p in pools hosts host-n1 tenants-loan tenants-pay rebalance audit tenant-vms; do
	check "a screenshot of $p" test -s "$shots/$p.png"
done
validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

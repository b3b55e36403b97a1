# Shared helpers of tests/integration/ctrl_*.sh (sourced, not run).
#
# Starts the real fincloud-controller on a free loopback port with its own
# state directory, records every API response for validation against
# schemas/openapi.yaml, prints TAP lines and cleans up (only the processes
# it started, by PID) on exit.
set -u
: "${FC_TOP:?run me through tests/run.sh}" "${FC_BIN:?}"
ctl=$FC_BIN/fincloud-controller
finctl=$FC_BIN/finctl
agent=$FC_BIN/fincloud-agent
py=/usr/bin/python3
[ -x "$ctl" ] && [ -x "$finctl" ] || { echo "SKIP: controller or finctl not built"; exit 77; }
$py -c 'import jsonschema, yaml' 2>/dev/null ||
	{ echo "SKIP: python3-jsonschema / python3-yaml missing (scripts/deps.sh)"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl is missing"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq is missing"; exit 77; }

work=$(mktemp -d /tmp/fctest-ctrl.XXXXXX)
mkdir -p "$work/resp"
: >"$work/resp/index"
pids=()
ctl_pid=
# FINCLOUD_TEST_DB=pg (tests/run.sh's integration-pg pass): the
# controller's state on a private PostgreSQL (pg_lib.bash); db_args are
# the controller flags that select it, for the tests that start the
# controller themselves.
db_args=()
source "$FC_TOP/tests/integration/pg_lib.bash"
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	pg_stop
	rm -rf "$work"
}
trap cleanup EXIT
# a test stopped by run.sh's timeout still stops what it started
trap 'exit 143' TERM INT
if [ "${FINCLOUD_TEST_DB:-sqlite}" = pg ]; then
	pg_start || { echo "not ok 1 - a private PostgreSQL starts"; exit 1; }
	db_args=(--database "$PG_URL")
fi

n=0 nfail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() {
	n=$((n + 1)) nfail=$((nfail + 1))
	echo "not ok $n - $1"
	shift
	local l
	for l in "$@"; do echo "# $l"; done
}
check() { # what command...
	local what=$1
	shift
	local b=${body:-}
	if "$@"; then ok "$what"; else nok "$what" "failed: $*" "last status: ${status:-} body: ${b:0:400}"; fi
}
wait_for() { # seconds command...
	local t=$1
	shift
	for _ in $(seq 1 $((t * 10))); do "$@" && return 0; sleep 0.1; done
	return 1
}
free_port() {
	$py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ctrl_timing FLAGS...: sets the array hb to the flags a test controller
# gets unless FLAGS set them. A test that does not time its hosts'
# heartbeats itself keeps its fake hosts up however long a loaded machine
# makes it take (heartbeat_timeout 3600 s); and one that does not test
# host failure (ctrl_ha) has no fake host made suspect (a task) or failed
# and fenced by HA detection after a few silent intervals (it does not
# wait for down: controller/hapolicy.h): ha_suspect_intervals 1000 and
# ha_fail_intervals 10000 unless FLAGS set either.
ctrl_timing() {
	hb=()
	[[ " $* " == *" --heartbeat-timeout "* ]] || hb=(--heartbeat-timeout 3600)
	[[ " $* " == *" --ha-fail-intervals "* || " $* " == *" --ha-suspect-intervals "* ]] ||
		hb+=(--ha-suspect-intervals 1000 --ha-fail-intervals 10000)
}
# ctrl_start [EXTRA FLAGS...]: start (or restart) the controller on
# $work/state, with ctrl_timing's flags; sets URL, ADMIN, FINCLOUD_URL,
# FINCLOUD_TOKEN.
ctrl_start() {
	local hb
	port=${port:-$(free_port)}
	ctrl_timing "$@"
	"$ctl" --config /dev/null --state-dir "$work/state" --listen-port "$port" \
		${db_args[@]+"${db_args[@]}"} "${hb[@]}" "$@" \
		>>"$work/controller.log" 2>&1 &
	ctl_pid=$!
	pids+=("$ctl_pid")
	URL=http://127.0.0.1:$port
	if ! wait_for 10 curl -sf "$URL/healthz" -o /dev/null; then
		echo "# controller did not start:"
		sed 's/^/# /' "$work/controller.log" | tail -20
		return 1
	fi
	ADMIN=$(cat "$work/state/admin.token")
	export FINCLOUD_URL=$URL FINCLOUD_TOKEN=$ADMIN
}
# ctrl_start_b [FLAGS...]: start (or restart) a second controller on the
# same database (FINCLOUD_TEST_DB=pg), its state in $work/state-b, its log
# in $work/controller-b.log; sets pid_b, url_b and log_b
ctrl_start_b() {
	local hb
	port_b=${port_b:-$(free_port)}
	url_b=http://127.0.0.1:$port_b log_b=$work/controller-b.log
	ctrl_timing "$@"
	"$ctl" --config /dev/null --state-dir "$work/state-b" --listen-port "$port_b" \
		${db_args[@]+"${db_args[@]}"} "${hb[@]}" "$@" >>"$log_b" 2>&1 &
	pid_b=$!
	pids+=("$pid_b")
	wait_for 10 curl -sf "$url_b/healthz" -o /dev/null
}
ctrl_kill() { # SIGNAL
	kill -"${1:-TERM}" "$ctl_pid" 2>/dev/null
	wait "$ctl_pid" 2>/dev/null
}

# api METHOD PATH [BODY] [TOKEN|-]: sets $status and $body; "-" sends no
# Authorization header; API_HEADER, when set, is one more header line;
# the array API_CURL, when set, more options of curl (TLS files).
# Every response is recorded for validation.
rn=0
api() {
	local m=$1 p=$2 b=${3-} t=${4-$ADMIN}
	rn=$((rn + 1))
	local f=$work/resp/$rn.body
	local args=(-s -o "$f" -w '%{http_code}' -X "$m")
	: >"$f" # curl writes no file for an answer without a body (304)
	[ "$t" != "-" ] && args+=(-H "Authorization: Bearer $t")
	[ -n "$b" ] && args+=(-H 'Content-Type: application/json' --data-binary "$b")
	[ -n "${API_HEADER-}" ] && args+=(-H "$API_HEADER")
	args+=(${API_CURL[@]+"${API_CURL[@]}"})
	status=$(curl "${args[@]}" "$URL$p")
	body=$(cat "$f")
	printf '%s\t%s\t%s\t%s\n' "$m" "${p%%\?*}" "$status" "$f" >>"$work/resp/index"
}
# api_file METHOD PATH FILE [TOKEN|-]: as api, the body the bytes of FILE
# (application/octet-stream: an image upload); recorded the same way.
api_file() {
	local m=$1 p=$2 file=$3 t=${4-$ADMIN}
	rn=$((rn + 1))
	local f=$work/resp/$rn.body
	local args=(-s -o "$f" -w '%{http_code}' -X "$m" -H 'Content-Type: application/octet-stream' --data-binary "@$file")
	[ "$t" != "-" ] && args+=(-H "Authorization: Bearer $t")
	status=$(curl "${args[@]}" "$URL$p")
	body=$(cat "$f")
	printf '%s\t%s\t%s\t%s\n' "$m" "${p%%\?*}" "$status" "$f" >>"$work/resp/index"
}
# jv JQ-FILTER: apply to $body
jv() { printf '%s' "$body" | jq -r "$1"; }
is() { [ "$status" = "$1" ]; }
is_err() { # STATUS CODE [FIELD]
	[ "$status" = "$1" ] && [ "$(jv .error.code)" = "$2" ] &&
		{ [ $# -lt 3 ] || [ "$(jv .error.field)" = "$3" ]; }
}

# register_fake NODE VCPUS MEM_MIB DISK_GIB [POOL]: register a host with curl
# acting as its agent; sets CRED[NODE] when it is registered (201).
declare -A CRED
inventory() { # VCPUS MEM DISK
	printf '{"vcpus":%d,"mem_mib":%d,"mem_free_mib":%d,"disk_gib":%d,"disk_free_gib":%d,"cpu_model":"sim","virt_type":"test","libvirt_version":"9.0.0"}' \
		"$1" "$2" "$2" "$3" "$3"
}
register_fake() {
	local node=$1
	api POST /v1/agents/register "{\"join_token\":\"$JOIN\",\"node\":\"$node\",\"pool\":\"${5:-default}\",\"migration_uri\":\"test:///$node\",\"inventory\":$(inventory "$2" "$3" "$4")}" -
	if is 201; then CRED[$node]=$(jv .credential); fi
}
# fake_nodes NODE...: a join token (into JOIN), then each NODE registered
# by curl with 8 vCPUs, 16 GiB and 100 GiB, checked to be there
fake_nodes() {
	local node
	api POST /v1/tokens '{"role":"join","uses":1000}'
	JOIN=$(jv .token)
	for node in "$@"; do register_fake "$node" 8 16384 100; done
	check "$# fake nodes registered" test "$(db 'SELECT count(*) FROM hosts')" = $#
}
# burst_fleet: a join token (JOIN), the pool "burst" (vCPU ratio 2,
# spread) of 8 fake hosts b1..b8 of different sizes, flavors s and m
burst_fleet() {
	local i=0 spec
	api POST /v1/tokens '{"role":"join","uses":1000}'
	JOIN=$(jv .token)
	api POST /v1/pools '{"name":"burst","cpu_ratio":2,"mem_ratio":1,"disk_ratio":1,"policy":"spread"}'
	# vcpus mem_mib disk_gib
	for spec in "4 8192 40" "4 4096 40" "8 16384 20" "2 8192 40" "6 6144 40" "8 8192 10" "4 16384 40" "2 2048 40"; do
		i=$((i + 1))
		register_fake "b$i" $spec burst
	done
	api POST /v1/flavors '{"name":"s","vcpus":1,"mem_mib":512,"disk_gib":1}'
	api POST /v1/flavors '{"name":"m","vcpus":2,"mem_mib":2048,"disk_gib":2}'
}
# oversubscribed: one line per host whose VMs claim more than it holds in
# some dimension (with its pool's ratios); a line saying so when the
# query fails, so that a broken query never reads as "none"
oversubscribed() {
	db "SELECT h.name || ': ' || total(v.vcpus) || '/' || h.vcpus * p.ratio_vcpus || ' vcpus, '
	|| total(v.mem_mib) || '/' || h.mem_mib * p.ratio_mem || ' MiB, '
	|| total(v.disk_gib) || '/' || h.disk_gib * p.ratio_disk || ' GiB'
	FROM hosts h JOIN pools p ON p.name = h.pool LEFT JOIN vms v ON v.host = h.name
	GROUP BY h.name, p.name HAVING total(v.vcpus) > h.vcpus * p.ratio_vcpus
	OR total(v.mem_mib) > h.mem_mib * p.ratio_mem OR total(v.disk_gib) > h.disk_gib * p.ratio_disk" ||
		echo "the query failed"
}
# heartbeat NODE GEN DOMAINS_JSON [WAIT] [TASKS_JSON]
heartbeat() {
	api POST "/v1/agents/$1/heartbeat?wait_s=${4:-0}" \
		"{\"generation_seen\":$2,\"status\":\"ok\",\"inventory\":$(inventory 16 32768 500),\"domains\":$3,\"foreign_domains\":[],\"tasks\":${5:-[]}}" \
		"${CRED[$1]}"
}
domain() { # VM_ID STATE
	printf '{"vm_id":"%s","name":"d","state":"%s","vcpus":1,"mem_mib":512,"balloon_mib":512,"cpu_time_ns":1,"cpu_pct":1.5,"disk_alloc_bytes":4096}' "$1" "$2"
}

# Validate every recorded response; one TAP line.
validate_responses() {
	local out
	if out=$($py "$FC_TOP/tests/integration/openapi_validate.py" "$FC_TOP/schemas" "$work/resp/index" 2>&1); then
		ok "every response ($(wc -l <"$work/resp/index")) matches schemas/openapi.yaml"
	else
		nok "every response matches schemas/openapi.yaml" "$(echo "$out" | head -20)"
	fi
}

# db SQL: run SQL on the controller's database (SQLite or PostgreSQL)
db() {
	if [ -n "$PG_DIR" ]; then pg_sql "$1"; else sqlite3 "$work/state/state.db" "$@"; fi
}
# drop_audit_trigger NAME: the SQL that removes the audit log's trigger
# NAME (a tamperer's first step) on the engine at hand
drop_audit_trigger() {
	if [ -n "$PG_DIR" ]; then echo "DROP TRIGGER IF EXISTS $1 ON audit;"; else echo "DROP TRIGGER IF EXISTS $1;"; fi
}
# has PATTERN: $body contains it; jqt FILTER: the filter is true on $body
has() { grep -q -- "$1" <<<"$body"; }
jqt() { jq -e "$1" <<<"$body" >/dev/null; }

# sim_agent NODE CORES MEM_MIB DISK_GIB [POOL]: start a real fincloud-agent
# on a test:/// simulated host; its PID is in AGENT_PID[NODE].
# SIM_AGENT_ARGS, when set, adds options (split on blanks).
# shellcheck disable=SC2034 # used by the scripts that source this file
declare -A AGENT_PID
sim_agent() {
	local node=$1 d=$work/nodes/$1
	mkdir -p "$d/m" "$d/disks" "$d/images"
	if [ ! -f "$d/node.xml" ]; then
		sed -e "s/@CORES@/$2/g" -e "s/@MEM_KIB@/$(($3 * 1024))/g" -e "s/@DISK_GIB@/$4/g" \
			"$FC_TOP/tests/data/ctrl/node-template.xml" >"$d/node.xml"
	fi
	[ -f "$work/join.token" ] || printf '%s\n' "$JOIN" >"$work/join.token"
	# shellcheck disable=SC2086 # SIM_AGENT_ARGS is split on purpose
	"$agent" --controller-url "$URL" --node-name "$node" --pool "${5:-default}" \
		--libvirt-uri "test://$d/node.xml" --migration-uri "test://$d/node.xml" \
		--manifest-dir "$d/m" --storage-dir "$d/disks" --image-dir "$d/images" \
		--credential-file "$d/credential" --join-token-file "$work/join.token" \
		--heartbeat-interval 1 --stop-timeout 2 --log-level info --insecure yes \
		${SIM_AGENT_ARGS-} >>"$d/agent.log" 2>&1 &
	# shellcheck disable=SC2034 # read by the scripts that source this file
	AGENT_PID[$node]=$!
	pids+=($!)
}

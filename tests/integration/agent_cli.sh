#!/usr/bin/env bash
# fincloud-agent's command line: --check-config on good and bad files
# (exit 0, or 2 with "file:line: why"), flags overriding the file, --help,
# --version, unknown options; and --once --no-controller on manifests
# against test:///default (exit 0, or 1 when a VM could not be applied).
set -u
: "${FC_TOP:?run me through tests/run.sh}" "${FC_BIN:?}"
agent=$FC_BIN/fincloud-agent
data=$FC_TOP/tests/data/agent
[ -x "$agent" ] || { echo "SKIP: $agent is not built"; exit 77; }
tmp=$(mktemp -d /tmp/fctest-agentcli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
# expect WHAT STATUS STDERR-SUBSTRING ARGS...: run the agent, compare.
expect() {
	local what=$1 want=$2 msg=$3 rc
	shift 3
	"$agent" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		nok "$what" "exit $rc, expected $want" "stderr: $(head -c 300 "$tmp/err")"
	elif [ -n "$msg" ] && ! grep -qF -- "$msg" "$tmp/err" "$tmp/out"; then
		nok "$what" "output lacks: $msg" "stderr: $(head -c 300 "$tmp/err")"
	else
		ok "$what"
	fi
}

expect "--check-config accepts a complete file" 0 "good.conf: ok" \
	--check-config --config "$data/good.conf"
for f in "$data"/bad-*.conf; do
	line=$(grep -n . "$f" | tail -1 | cut -d: -f1)
	case $(basename "$f") in bad-node-name.conf) line=1 ;; esac
	expect "--check-config refuses $(basename "$f") naming file and line" 2 "$f:$line: " \
		--check-config --config "$f"
done
expect "a flag overrides the file (and is checked like it)" 2 \
	"command line: key 'heartbeat_interval': expected an integer from 1 to 3600, got '0'" \
	--check-config --config "$data/good.conf" --heartbeat-interval 0
expect "flags may use = and underscores" 0 "ok" \
	--check-config --config "$data/good.conf" --heartbeat_interval=9 --log-level=warn
expect "a missing named config file is an error" 2 "cannot open" \
	--check-config --config "$tmp/nonexistent.conf"
expect "an unknown option is refused" 2 "unknown option '--bogus'" --bogus 1
expect "an option without its value is refused" 2 "needs a value" --node-name
expect "--help prints the usage" 0 "usage: fincloud-agent" --help
expect "--version prints the version" 0 "fincloud-agent " --version

# --once on manifests, test driver: one good VM and a broken file.
mkdir -p "$tmp/m"
printf '{"vm_id":"0c6f8e9a-1111-4222-8333-%012d","name":"cli.vm","tenant":"t","group":null,"vcpus":1,"mem_mib":64,"disk_gib":1,"base_image":null,"state":"running"}\n' $$ >"$tmp/m/good.json"
once() {
	"$agent" --once --no-controller --libvirt-uri test:///default \
		--manifest-dir "$tmp/m" --storage-dir "$tmp/d" --image-dir "$tmp/i" "$@"
}
once >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 0 ] && grep -q "vm 'cli.vm' (.*): started" "$tmp/err"; then
	ok "--once applies a manifest and exits 0"
else
	nok "--once applies a manifest and exits 0" "exit $rc" "$(tail -3 "$tmp/err")"
fi
echo '{"vm_id": 5}' >"$tmp/m/broken.json"
once >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "broken.json: \$.vm_id: expected a string" "$tmp/err" &&
	grep -q "vm 'cli.vm' (.*): started" "$tmp/err"; then
	ok "--once exits 1 on a broken manifest, naming it, and still applies the good one"
else
	nok "--once exits 1 on a broken manifest, naming it, and still applies the good one" "exit $rc" "$(tail -3 "$tmp/err")"
fi
"$agent" --once --no-controller --libvirt-uri "test:///$tmp/no-such-node.xml" \
	--manifest-dir "$tmp/m" --storage-dir "$tmp/d" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "degraded: libvirt: cannot connect" "$tmp/err"; then
	ok "--once with an unusable libvirt URI reports degraded and exits 1"
else
	nok "--once with an unusable libvirt URI reports degraded and exits 1" "exit $rc" "$(tail -3 "$tmp/err")"
fi

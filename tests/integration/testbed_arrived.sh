#!/usr/bin/env bash
# "testbed.sh arrived", the check `make demo` and the e2e tests use to
# prove that a moved guest arrived by live migration and was not started
# afresh: its verdict on QEMU logs as libvirt 9 writes them (the command
# line one argument per line) and as older libvirt did (one line), for a
# guest that arrived live, one started afresh, one restarted after it
# arrived, one that left again; and no check in a script that runs under
# "set -o pipefail" pipes into "grep -q" (grep's early exit kills a writer
# such as virsh with SIGPIPE, and pipefail turns a true check false: the
# demo failed that way in most runs).
set -u
top=${FC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top/tests/integration/tap.bash"
work=$(mktemp -d "${TMPDIR:-/tmp}/fc-arrived.XXXXXX")
trap 'rm -rf "$work"; [ "$failed" -eq 0 ] || exit 1' EXIT

start() { # time [incoming]: a libvirt 9 start block
	echo "$1: starting up libvirt version: 9.0.0, package: 9.0.0-4 (Debian), qemu version: 7.2.0, hostname: vm"
	printf '%s \\\n' "LC_ALL=C" "HOME=/var/lib/libvirt/qemu/domain-5-loan.loan-2" \
		"/usr/bin/qemu-system-x86_64" "-name guest=loan.loan-2,debug-threads=on" "-S" \
		"-uuid c16d8af4-688e-4a20-9d9c-92ccd09b5536" "-display none"
	[ -z "${2:-}" ] || printf '%s \\\n' "-incoming defer"
	echo "-msg timestamp=on"
	echo "$1: Domain id=5 is tainted: high-privileges"
	echo "char device redirected to /dev/pts/5 (label charserial0)"
}
stop() { # time reason
	echo "$1: shutting down, reason=$2"
	echo "${1/ /T}Z qemu-system-x86_64: terminating on signal 15 from pid 20182 (libvirtd)"
}

t1='2026-11-30 14:28:04.615+0000' t2='2026-11-30 14:28:17.254+0000' t3='2026-11-30 14:29:01.100+0000'
start "$t1" incoming >"$work/live.log"
start "$t1" >"$work/fresh.log"
{ start "$t1" incoming; stop "$t2" destroyed; start "$t3"; } >"$work/restarted.log"
{ start "$t1" incoming; stop "$t2" migrated; } >"$work/left.log"
{ start "$t1"; stop "$t2" migrated; start "$t3" incoming; } >"$work/back.log"
{
	echo "$t1: starting up libvirt version: 3.0.0, qemu version: 2.8.0"
	echo "LC_ALL=C /usr/bin/qemu-system-x86_64 -name guest=loan.loan-2 -S -incoming defer -msg timestamp=on"
} >"$work/oneline.log"
{ start "$t1"; echo "qemu-system-x86_64: warning: -incoming was not asked for here"; } >"$work/later.log"
: >"$work/empty.log"

verdict() { # want(0|1) log what
	local out rc=0
	out=$(bash "$top/scripts/testbed.sh" arrived --log "$work/$2") || rc=$?
	if [ "$rc" -eq "$1" ] && [ -n "$out" ]; then
		ok "$3: $out"
	else
		fail "$3" "exit $rc, want $1: $out"
	fi
}
verdict 0 live.log "a guest started with -incoming (libvirt 9 log) arrived live"
verdict 0 oneline.log "the same from an older libvirt's one-line command line"
verdict 0 back.log "a guest that left and came back live arrived live"
verdict 1 fresh.log "a guest started afresh did not arrive live"
verdict 1 restarted.log "a guest restarted after it arrived live was started afresh"
verdict 1 left.log "a guest whose QEMU process stopped (migrated away) is not there"
verdict 1 later.log "-incoming outside the command line does not count"
verdict 1 empty.log "a log without a start proves nothing"
verdict 1 missing.log "a missing log proves nothing"

# the kind: "| grep -q" under pipefail
bad=()
for f in "$top"/scripts/*.sh; do
	grep -q 'pipefail' "$f" || continue
	while IFS= read -r l; do
		bad+=("${f#"$top"/}:$l")
	done < <(awk '# a pipe at the end of a line goes on on the next one
		{ l = held $0; held = "" }
		/\|[[:space:]]*$/ { held = l " "; next }
		l ~ /\|[[:space:]]*grep[[:space:]]+(-[[:alnum:]]*q|--quiet)/ { print FNR ": " l }' "$f")
done
if [ ${#bad[@]} -eq 0 ]; then
	ok "no script under pipefail pipes into grep -q"
else
	fail "no script under pipefail pipes into grep -q" "${bad[@]}"
fi

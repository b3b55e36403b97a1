#!/usr/bin/env bash
# fincloud-agent's storage clean-up on test:///default, manifests only
# (--once --no-controller): files in storage_dir that carry fincloud's
# marker ("<uuid>.qcow2", "<uuid>.console.log") and have no VM of this
# node behind them are removed once orphan_grace has passed; a file of a
# VM the node has, and any file without the marker, stay.
set -u
: "${FC_TOP:?run me through tests/run.sh}" "${FC_BIN:?}"
. "$FC_TOP/tests/integration/tap.bash"
agent=$FC_BIN/fincloud-agent
[ -x "$agent" ] || { echo "SKIP: $agent is not built"; exit 77; }
tmp=$(mktemp -d /tmp/fctest-agentorph.XXXXXX)
trap 'rm -rf "$tmp"; [ "$failed" -eq 0 ] || exit 1' EXIT

KEEP=0c6f8e9a-1111-4222-8333-$(printf '%012d' $$)
GONE=0c6f8e9a-2222-4222-8333-$(printf '%012d' $$)
mkdir -p "$tmp/m" "$tmp/d" "$tmp/i"
printf '{"vm_id":"%s","name":"orph.vm","tenant":"t","group":null,"vcpus":1,"mem_mib":64,"disk_gib":1,"base_image":null,"state":"running"}\n' "$KEEP" >"$tmp/m/keep.json"
for f in "$KEEP.qcow2" "$KEEP.console.log" "$GONE.qcow2" "$GONE.console.log" \
	base.qcow2 "$GONE.qcow2.bak" "$(echo "$GONE" | tr a-f A-F).qcow2"; do
	echo data >"$tmp/d/$f"
done
once() {
	"$agent" --once --no-controller --libvirt-uri test:///default \
		--manifest-dir "$tmp/m" --storage-dir "$tmp/d" --image-dir "$tmp/i" \
		--log-level debug "$@" >"$tmp/out" 2>"$tmp/err"
}

once
check "within the grace period (default 1 h) an orphan stays" test -e "$tmp/d/$GONE.qcow2"
check "and is logged as waiting for it" grep -q "'$GONE.qcow2' has no vm on this node" "$tmp/err" ||
	tail -c 600 "$tmp/err" | sed 's/^/#   /'
once --orphan-grace 0
check "past it, the orphan's disk is removed" test ! -e "$tmp/d/$GONE.qcow2"
check "and its console log" test ! -e "$tmp/d/$GONE.console.log"
check "each removal is logged" grep -q "removed orphan '$GONE.qcow2'" "$tmp/err"
check "the disk of a VM this node has stays" test -e "$tmp/d/$KEEP.qcow2"
check "and its console log" test -e "$tmp/d/$KEEP.console.log"
check "files without fincloud's marker stay" \
	test -e "$tmp/d/base.qcow2" -a -e "$tmp/d/$GONE.qcow2.bak" -a -e "$tmp/d/$(echo "$GONE" | tr a-f A-F).qcow2"
echo "1..$n"

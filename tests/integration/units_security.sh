#!/usr/bin/env bash
# systemd-analyze security rates each service of scripts/systemd/ (the
# units `make install` and the packages ship) at most 4.0 ("OK"), read
# offline from the unit file; a copy of the controller's unit stripped
# of its hardening rates above 4.0, so the check can fail.
set -u
top=${FC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
limit=4.0
command -v systemd-analyze >/dev/null 2>&1 || {
	echo "SKIP: systemd-analyze is not installed"
	exit 77
}
systemd-analyze security --help 2>/dev/null | grep -q -- '--offline' || {
	echo "SKIP: this systemd-analyze cannot rate a unit file offline (--offline, systemd 250 or later)"
	exit 77
}
. "$top/tests/integration/tap.bash"
work=$(mktemp -d "${TMPDIR:-/tmp}/fc-unitsec.XXXXXX")
trap 'rm -rf "$work"; [ "$failed" -eq 0 ] || exit 1' EXIT

# exposure FILE: prints the overall exposure (0.0-10.0) of the unit file
exposure() {
	(cd "$(dirname "$1")" && systemd-analyze security --offline=yes --no-pager "./$(basename "$1")" 2>&1) |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}
at_most() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 <= b + 0) }'; }

for u in "$top"/scripts/systemd/*.service; do
	e=$(exposure "$u")
	if at_most "$e" "$limit"; then
		ok "$(basename "$u") rates $e (at most $limit)"
	else
		fail "$(basename "$u") rates ${e:-nothing} (at most $limit)"
		(cd "$(dirname "$u")" && systemd-analyze security --offline=yes --no-pager "./$(basename "$u")" 2>&1) |
			grep '✗' | sed 's/^/#   /'
	fi
done

# the negative control: the same unit without its hardening
sed -n '/^# The controller needs its state directory/q; p' \
	"$top/scripts/systemd/fincloud-controller.service" >"$work/fincloud-controller.service"
echo '[Install]' >>"$work/fincloud-controller.service"
e=$(exposure "$work/fincloud-controller.service")
if [ -n "$e" ] && ! at_most "$e" "$limit"; then
	ok "the controller's unit without its hardening rates $e, above $limit"
else
	fail "the controller's unit without its hardening rates ${e:-nothing}, should be above $limit"
fi

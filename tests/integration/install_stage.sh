#!/usr/bin/env bash
# `make install DESTDIR=... PREFIX=/usr` lays every built program out under
# the stage's usr/bin, the schemas and docs under usr/share/fincloud, the
# systemd units (rewritten for the prefix) under usr/lib/systemd/system,
# and writes nothing outside the stage.
set -u
cd "$FC_TOP" || exit 1
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
build=${FC_BUILD#"$FC_TOP"/}

if make -s install BUILD="$build" DESTDIR="$stage" PREFIX=/usr >"$stage.log" 2>&1; then
	echo "ok 1 - make install into a stage succeeds"
else
	echo "not ok 1 - make install failed:"; sed 's/^/# /' "$stage.log"
fi
rm -f "$stage.log"

bins=$(make -s --no-print-directory BUILD="$build" print-bins 2>/dev/null)
missing=
for b in $bins; do
	[ -x "$stage/usr/bin/$(basename "$b")" ] || missing="$missing $(basename "$b")"
done
if [ -z "$missing" ]; then
	echo "ok 2 - every built program is in usr/bin ($(echo $bins | wc -w) programs)"
else
	echo "not ok 2 - missing from usr/bin:$missing"
fi

outside=$(cd "$stage" && find . -mindepth 1 -maxdepth 1 ! -name usr)
if [ -z "$outside" ]; then
	echo "ok 3 - nothing outside usr/ in the stage"
else
	echo "not ok 3 - unexpected top-level entries: $outside"
fi

units=$(ls "$stage/usr/lib/systemd/system" 2>/dev/null | wc -l)
if [ "$units" -gt 0 ] && ! grep -rq /usr/local "$stage/usr/lib/systemd/system"; then
	echo "ok 5 - $units systemd units installed, pointing at /usr"
else
	echo "not ok 5 - systemd units missing or still naming /usr/local"
fi

if [ -d "$stage/usr/share/fincloud/schemas" ]; then
	echo "ok 4 - schemas installed under usr/share/fincloud"
else
	echo "not ok 4 - no usr/share/fincloud/schemas"
fi

#!/usr/bin/env bash
# `make install DESTDIR=... PREFIX=/usr` lays every built program out under
# the stage's usr/bin, the schemas, docs and web dashboard under
# usr/share/fincloud, the
# systemd units (rewritten for the prefix) under usr/lib/systemd/system,
# a man page for every program under usr/share/man/man1 or man8 (each
# rendering without a warning and naming every option or command of its
# program's --help), finctl's bash completion under
# usr/share/bash-completion/completions, and writes nothing outside the
# stage.
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

if [ -s "$stage/usr/share/fincloud/ui/index.html" ] && [ -s "$stage/usr/share/fincloud/ui/app.js" ] &&
	[ -s "$stage/usr/share/fincloud/ui/uplot.esm.js" ]; then
	echo "ok 10 - the web dashboard under usr/share/fincloud/ui, uPlot included"
else
	echo "not ok 10 - the web dashboard is not under usr/share/fincloud/ui"
fi

if [ -d "$stage/usr/share/fincloud/schemas" ]; then
	echo "ok 4 - schemas installed under usr/share/fincloud"
else
	echo "not ok 4 - no usr/share/fincloud/schemas"
fi

# --- man pages: one per program, clean, naming what its --help names
missing= warned= unnamed=
for b in $bins; do
	name=$(basename "$b")
	page=$(ls "$stage"/usr/share/man/man[18]/"$name".[18] 2>/dev/null | head -1)
	if [ -z "$page" ]; then
		missing="$missing $name"
		continue
	fi
	w=$(groff -ww -man -Tutf8 -z "$page" 2>&1
	    LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
	[ -z "$w" ] || warned="$warned $name: $w;"
	grep -q "^\.TH .*\"fincloud $(cat VERSION)\"" "$page" || warned="$warned $name: not version $(cat VERSION);"
	text=$(groff -man -Tascii -P-cbou "$page" 2>/dev/null)
	if [ "$name" = fincloud-sched ]; then
		# its commands: the first word of each usage line of "help"
		want=$("$b" help 2>&1 | sed -n 's/^  \([a-z-]*\).*/\1/p')
		for w in $want; do
			grep -qE "^ +$w( |$)" <<<"$text" || unnamed="$unnamed $name:$w"
		done
	else
		for o in $("$b" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
			grep -q -- "$o" <<<"$text" || unnamed="$unnamed $name:$o"
		done
	fi
done
if [ -z "$missing" ]; then
	echo "ok 6 - every program has a man page in usr/share/man/man1 or man8"
else
	echo "not ok 6 - no man page for:$missing"
fi
if [ -z "$warned" ] && command -v groff >/dev/null; then
	echo "ok 7 - every man page renders without a warning and carries the version"
else
	echo "not ok 7 - man page warnings:$warned"
fi
if [ -z "$unnamed" ]; then
	echo "ok 8 - every man page names each option (command) of its program's help"
else
	echo "not ok 8 - not in the man page:$unnamed"
fi

comp=$stage/usr/share/bash-completion/completions/finctl
if [ -f "$comp" ] && bash -n "$comp" && grep -q 'complete -F _finctl finctl' "$comp"; then
	echo "ok 9 - finctl's bash completion is in usr/share/bash-completion/completions"
else
	echo "not ok 9 - no usable usr/share/bash-completion/completions/finctl"
fi

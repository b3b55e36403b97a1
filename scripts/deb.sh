#!/usr/bin/env bash
# scripts/deb.sh OUTDIR
#
# Builds fincloud's Debian packages (debian/) into OUTDIR: the .deb
# files, the .buildinfo and the .changes. The build runs in a copy under
# OUTDIR/src of the files git knows in this checkout (tracked, and
# untracked ones not ignored; edits not yet committed included; outside
# git, every file but build/), so the checkout never sees debian/tmp,
# debian/<package>/ or a build/ of dpkg's; the copy is removed
# afterwards, also when the build fails.
# OUTDIR/build.log keeps dpkg-buildpackage's output. Needs
# `scripts/deps.sh --deb`; `make deb` runs both. Exit 0 when every
# package was built.
set -eu
out=${1:?usage: scripts/deb.sh OUTDIR}
top=$(cd "$(dirname "$0")/.." && pwd)
case $out in /*) ;; *) out=$top/$out ;; esac

for tool in dpkg-buildpackage dh; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "deb: '$tool' is missing: run 'bash scripts/deps.sh --deb'" >&2
		exit 1
	}
done
src=$(cd "$top" && dpkg-parsechangelog -S Source)
version=$(cd "$top" && dpkg-parsechangelog -S Version)

mkdir -p "$out"
rm -rf "$out/src"
trap 'rm -rf "$out/src"' EXIT
tree=$out/src/$src-$version
mkdir -p "$tree"
# the files as git sees them (no build/, nothing ignored); outside a git
# checkout (an unpacked tarball), everything but build/
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -xf - -C "$tree"
else
	(cd "$top" && tar --exclude=./build -cf - .) | tar -xf - -C "$tree"
fi

# A make above this one (`make deb BUILD=...`) must not hand its
# variables to the package's own build.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
export DEB_BUILD_OPTIONS="nocheck parallel=${FC_DEB_JOBS:-2}"
rm -f "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes
echo "deb: building $src $version in $tree (log: $out/build.log)"
if ! (cd "$tree" && nice dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1; then
	tail -n 30 "$out/build.log" >&2
	echo "deb: dpkg-buildpackage failed (log: $out/build.log)" >&2
	exit 1
fi
mv "$out/src"/*.deb "$out/src"/*.buildinfo "$out/src"/*.changes "$out/"
ls "$out"/*.deb

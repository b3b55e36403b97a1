#!/usr/bin/env bash
# scripts/deps.sh [--bench] [--deb] [--print]
#
# Installs exactly the Debian packages fincloud needs that are missing:
# what it builds with (clang for the fuzz targets), what its tests run
# against (libvirt, QEMU, the Ganeti htools and glpsol it is compared
# with), with --bench the load generators of `make bench`, and with --deb
# what `make deb` builds and checks the packages with (debhelper,
# lintian). Runs `apt-get update` only when something is missing, so a
# second run does nothing. Not root: prints
# the exact command to run and exits 1. --print lists the missing
# packages and exits (0 when none are missing, 1 otherwise).
set -eu

build_pkgs="gcc make pkg-config libvirt-dev libxml2-dev libglpk-dev
	libcurl4-openssl-dev libcjson-dev libmicrohttpd-dev libsqlite3-dev
	libcmocka-dev libssl-dev libgnutls28-dev clang"
run_pkgs="libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils gnutls-bin
	libxml2-utils iproute2 sqlite3 ganeti-htools curl procps psmisc
	python3 python3-jsonschema python3-yaml util-linux glpk-utils jq
	groff-base"
bench_pkgs="wrk hyperfine"
deb_pkgs="debhelper dpkg-dev fakeroot lintian"

want="$build_pkgs $run_pkgs"
print_only=0
for arg in "$@"; do
	case $arg in
	--bench) want="$want $bench_pkgs" ;;
	--deb) want="$want $deb_pkgs" ;;
	--print) print_only=1 ;;
	-h|--help) sed -n '2,/^set -eu/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "deps.sh: unknown option '$arg' (use --bench, --deb, --print or --help)" >&2; exit 2 ;;
	esac
done

missing=
for p in $want; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing="$missing $p"
done
missing=${missing# }

if [ -z "$missing" ]; then
	[ $print_only -eq 1 ] || echo "deps: all packages present"
	exit 0
fi
if [ $print_only -eq 1 ]; then
	echo "$missing"
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: $missing" >&2
	echo "deps: run as root:" >&2
	echo "  apt-get update && apt-get install -y $missing" >&2
	exit 1
fi
echo "deps: installing: $missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q $missing

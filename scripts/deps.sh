#!/usr/bin/env bash
# scripts/deps.sh [--bench] [--deb] [--browser] [--image-debian] [--print]
#
# Installs exactly the Debian packages fincloud needs that are missing:
# what it builds with (clang for the fuzz targets), what its tests run
# against (libvirt, QEMU, the Ganeti htools and glpsol it is compared
# with, what scripts/build-image.sh makes the test image with, the Ceph
# daemons and tools scripts/ceph-testbed.sh runs), with
# --bench the load generators of `make bench`, with --deb what `make deb`
# builds and checks the packages with (debhelper, lintian), and with
# --image-debian what `make image-debian` needs (mmdebstrap), with
# --browser what the dashboard's browser tests drive (Debian's chromium;
# `make check` asks for it). It fetches the npm packages of the
# dashboard (uPlot, built into build/ui) and of its tests
# (puppeteer-core), at the versions pinned below, into
# FINCLOUD_NPM_CACHE (/var/cache/fincloud/npm), never into the tree. It also
# downloads the Debian cloud kernel's .deb the test image is built from
# (the exact linux-image-<version>-cloud-amd64 that
# linux-image-cloud-amd64 names) into FINCLOUD_DEB_CACHE
# (/var/cache/fincloud/debs), so the image build never downloads.
# Runs `apt-get update` only when something is missing, so a second run
# does nothing. Not root: prints the exact command to run and exits 1.
# --print lists what is missing and exits (0 when nothing is, 1
# otherwise).
set -eu

build_pkgs="gcc make pkg-config libvirt-dev libxml2-dev libglpk-dev
	libcurl4-openssl-dev libcjson-dev libmicrohttpd-dev libsqlite3-dev libpq-dev
	libcmocka-dev libssl-dev libgnutls28-dev clang"
run_pkgs="libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils gnutls-bin
	libxml2-utils iproute2 sqlite3 postgresql ganeti-htools curl procps psmisc
	python3 python3-jsonschema python3-yaml util-linux glpk-utils jq
	groff-base busybox-static syslinux syslinux-common mtools dosfstools
	fdisk cpio genisoimage iptables dnsmasq-base ceph-mon ceph-osd ceph-common
	uuid-runtime qemu-block-extra"
image_debian_pkgs="mmdebstrap e2fsprogs"
bench_pkgs="wrk hyperfine"
deb_pkgs="debhelper dpkg-dev fakeroot lintian"
browser_pkgs="chromium"
# npm packages (docs/decisions.md "The dashboard"), pinned; the npm
# client is Debian's npm, or the one a nodejs package already brings
npm_pkgs="uplot@1.6.32 puppeteer-core@24.43.1"
run_pkgs="$run_pkgs nodejs"

want="$build_pkgs $run_pkgs"
print_only=0
for arg in "$@"; do
	case $arg in
	--bench) want="$want $bench_pkgs" ;;
	--deb) want="$want $deb_pkgs" ;;
	--image-debian) want="$want $image_debian_pkgs" ;;
	--browser) want="$want $browser_pkgs" ;;
	--print) print_only=1 ;;
	-h|--help) sed -n '2,/^set -eu/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "deps.sh: unknown option '$arg' (use --bench, --deb, --browser, --image-debian, --print or --help)" >&2; exit 2 ;;
	esac
done

missing=
for p in $want; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing="$missing $p"
done
missing=${missing# }

# The test image's kernel: any cloud kernel .deb already in the cache
# will do (builds stay offline and repeatable); otherwise the one the
# metapackage names now.
deb_cache=${FINCLOUD_DEB_CACHE:-/var/cache/fincloud/debs}
kernel_missing=1
for d in "$deb_cache"/linux-image-*-cloud-amd64_*_amd64.deb; do
	[ -f "$d" ] && kernel_missing=0
done

# The npm packages: each NAME@VERSION present in the cache, or missing.
npm_cache=${FINCLOUD_NPM_CACHE:-/var/cache/fincloud/npm}
npm_missing=
for p in $npm_pkgs; do
	v=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
		"$npm_cache/node_modules/${p%@*}/package.json" 2>/dev/null | head -n 1)
	[ "$v" = "${p##*@}" ] || npm_missing="$npm_missing${npm_missing:+ }$p"
done

if [ -z "$missing" ] && [ $kernel_missing -eq 0 ] && [ -z "$npm_missing" ]; then
	[ $print_only -eq 1 ] || echo "deps: all packages present"
	exit 0
fi
if [ $print_only -eq 1 ]; then
	[ $kernel_missing -eq 0 ] || missing="$missing${missing:+ }cloud-kernel-deb"
	[ -z "$npm_missing" ] || missing="$missing${missing:+ }npm:$npm_missing"
	echo "$missing"
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	[ -z "$missing" ] || echo "deps: missing packages: $missing" >&2
	[ $kernel_missing -eq 0 ] || echo "deps: no Debian cloud kernel .deb in $deb_cache" >&2
	[ -z "$npm_missing" ] || echo "deps: not in $npm_cache: $npm_missing" >&2
	echo "deps: run this script as root" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if [ -n "$missing" ]; then
	echo "deps: installing: $missing"
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q $missing
fi
if [ $kernel_missing -eq 1 ]; then
	kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[^ ]*-cloud-amd64\)$/\1/p' | head -n 1)
	if [ -z "$kpkg" ]; then
		apt-get update -q
		kpkg=$(apt-cache depends linux-image-cloud-amd64 |
			sed -n 's/^ *Depends: \(linux-image-[^ ]*-cloud-amd64\)$/\1/p' | head -n 1)
	fi
	[ -n "$kpkg" ] || { echo "deps: linux-image-cloud-amd64 names no kernel package" >&2; exit 1; }
	echo "deps: downloading $kpkg into $deb_cache"
	mkdir -p "$deb_cache"
	# the _apt user downloads into a directory it may write
	chown _apt "$deb_cache" 2>/dev/null || true
	(cd "$deb_cache" && apt-get download -q "$kpkg")
fi
if [ -n "$npm_missing" ]; then
	echo "deps: fetching from npm into $npm_cache: $npm_missing"
	command -v npm >/dev/null || apt-get install -y -q npm
	mkdir -p "$npm_cache"
	# shellcheck disable=SC2086
	npm install --prefix "$npm_cache" --no-save --no-package-lock \
		--no-audit --no-fund --ignore-scripts $npm_pkgs
fi

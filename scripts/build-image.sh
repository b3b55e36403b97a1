#!/usr/bin/env bash
# scripts/build-image.sh [--debian] OUT
#
# Writes a bootable qcow2 disk image to OUT (docs/images.md).
#
# Default: the fincloud test image, offline and in seconds, from Debian
# packages only: the Debian cloud kernel (its .deb, fetched by
# scripts/deps.sh into FINCLOUD_DEB_CACHE, /var/cache/fincloud/debs),
# an initramfs of the static busybox with the virtio, CD-ROM and seed
# filesystem modules and the image's /init (scripts/image/), and
# syslinux on a FAT partition. Nothing is mounted and nothing needs root:
# mkfs.vfat -C, mcopy and syslinux --install work on files, sfdisk
# writes the partition table, the MBR is syslinux's.
#
# --debian: a minimal Debian 12 with cloud-init (mmdebstrap
# --variant=minbase, then mkfs.ext4 -d; a FAT boot partition with
# syslinux as above). Fetches from the Debian mirror (MIRROR, default
# http://deb.debian.org/debian) and takes minutes; needs root.
#
# Exits 0 with OUT written whole (built beside it, renamed into place),
# non-zero with a message naming what is missing otherwise.
set -eu

usage() { sed -n '2,/^set -eu/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "build-image: $*" >&2; exit 1; }

debian=0
out=
for arg in "$@"; do
	case $arg in
	--debian) debian=1 ;;
	-h|--help) usage; exit 0 ;;
	-*) die "unknown option '$arg' (use --debian or --help)" ;;
	*) [ -z "$out" ] || die "one OUT only (got '$out' and '$arg')"; out=$arg ;;
	esac
done
[ -n "$out" ] || { usage >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
cache=${FINCLOUD_DEB_CACHE:-/var/cache/fincloud/debs}
syslinux_mbr=/usr/lib/syslinux/mbr/mbr.bin
kernel_args="console=ttyS0,115200 quiet panic=10"
# The modules the test image loads at boot (their dependencies come
# along): virtio disks, NICs, consoles and SCSI; the IDE CD-ROM libvirt
# attaches a seed ISO as; the seed's filesystems; the ACPI power button.
modules="virtio_pci virtio_blk virtio_net virtio_console virtio_scsi
	virtio-rng ata_piix sr_mod sd_mod isofs vfat nls_cp437 nls_iso8859-1
	nls_utf8 button evdev"

for tool in mkfs.vfat mcopy syslinux sfdisk qemu-img cpio gzip; do
	command -v "$tool" >/dev/null || die "'$tool' is missing: run scripts/deps.sh"
done
[ -f "$syslinux_mbr" ] || die "$syslinux_mbr is missing: run scripts/deps.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fc-image.XXXXXX")
trap 'rm -rf "$tmp" "$out.tmp.$$"' EXIT

mib_of() { # path...: size in MiB, rounded up
	du -scb "$@" | awk 'END { print int(($1 + 1048575) / 1048576) }'
}

# disk_assemble FAT_DIR ROOT_PART|- RAW: a raw disk with an MBR, a
# bootable FAT partition holding FAT_DIR's files and syslinux, and
# ROOT_PART (a filesystem image) as the second partition.
disk_assemble() {
	local dir=$1 root=$2 raw=$3 fat=$tmp/fat.img fat_mib root_mib=0
	fat_mib=$(( $(mib_of "$dir") + 2 ))
	[ "$root" = - ] || root_mib=$(mib_of "$root")
	# -h 2048: the partition starts at sector 2048, which syslinux's
	# boot sector reads from the FAT's hidden-sectors field.
	mkfs.vfat -C -h 2048 -n FCBOOT "$fat" $((fat_mib * 1024)) >/dev/null
	MTOOLS_SKIP_CHECK=1 mcopy -i "$fat" "$dir"/* ::/
	syslinux --install "$fat"
	truncate -s $(( (1 + fat_mib + root_mib) * 1048576 )) "$raw"
	{
		echo "label: dos"
		echo "start=2048, size=$((fat_mib * 2048)), type=c, bootable"
		[ "$root" = - ] || echo "start=$(( (1 + fat_mib) * 2048 )), type=83"
	} | sfdisk -q "$raw"
	dd if="$syslinux_mbr" of="$raw" bs=440 count=1 conv=notrunc status=none
	dd if="$fat" of="$raw" bs=1M seek=1 conv=notrunc status=none
	[ "$root" = - ] ||
		dd if="$root" of="$raw" bs=1M seek=$((1 + fat_mib)) conv=notrunc,sparse status=none
}

syslinux_cfg() { # APPEND-LINE
	printf 'DEFAULT fincloud\nPROMPT 0\nTIMEOUT 0\nLABEL fincloud\n'
	printf '  LINUX /vmlinuz\n  INITRD /initrd.img\n  APPEND %s\n' "$1"
}

# The newest linux-image-*-cloud-amd64 .deb in the cache (deps.sh
# downloads exactly the one the distribution's metapackage names).
kernel_deb() {
	local d best=
	for d in "$cache"/linux-image-*-cloud-amd64_*_amd64.deb; do
		[ -f "$d" ] || continue
		if [ -z "$best" ] || dpkg --compare-versions "$(dpkg-deb -f "$d" Version)" gt \
			"$(dpkg-deb -f "$best" Version)"; then
			best=$d
		fi
	done
	[ -n "$best" ] || die "no Debian cloud kernel in $cache: run scripts/deps.sh (as root)"
	echo "$best"
}

build_test_image() {
	local deb ver k root=$tmp/initrd m path dep todo done_list=" "
	deb=$(kernel_deb)
	dpkg-query -W -f='${db:Status-Status}' busybox-static 2>/dev/null | grep -q '^installed$' ||
		die "busybox-static is not installed: run scripts/deps.sh"
	mkdir -p "$tmp/k" "$tmp/boot" "$root"/{bin,sbin,etc/fincloud,proc,sys,dev,run,tmp,root,mnt}
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp/k" --wildcards './boot/vmlinuz-*' './lib/modules/*'
	k=$(echo "$tmp"/k/boot/vmlinuz-*)
	ver=${k##*/vmlinuz-}
	cp "$k" "$tmp/boot/vmlinuz"

	# Each wanted module and, before it, what it depends on (its
	# modinfo "depends=" field names them).
	declare -A path_of
	while read -r path; do
		m=${path##*/}
		m=${m%.ko}
		path_of[$m]=$path
		path_of[${m//-/_}]=$path
	done < <(cd "$tmp/k/lib/modules/$ver" && find kernel -name '*.ko')
	todo=$modules
	while [ -n "${todo// /}" ]; do
		set -- $todo
		m=$1
		shift
		todo="$*"
		[[ $done_list == *" $m "* ]] && continue
		path=${path_of[$m]:-}
		[ -n "$path" ] || die "module '$m' is not in kernel $ver (built in?)"
		mkdir -p "$root/lib/modules/$ver/$(dirname "$path")"
		cp "$tmp/k/lib/modules/$ver/$path" "$root/lib/modules/$ver/$path"
		done_list="$done_list$m "
		for dep in $(tr '\0' '\n' <"$tmp/k/lib/modules/$ver/$path" | sed -n 's/^depends=//p' | tr ',' ' '); do
			todo="$todo $dep"
		done
	done
	cp "$tmp/k/lib/modules/$ver"/modules.{builtin,order} "$root/lib/modules/$ver/"
	/bin/busybox depmod -b "$root" "$ver"
	printf '%s\n' $modules >"$root/etc/fincloud/modules"

	cp /bin/busybox "$root/bin/busybox"
	install -m 0755 "$here/image/init" "$root/init"
	install -m 0755 "$here/image/netcfg" "$root/bin/fincloud-netcfg"
	install -m 0755 "$here/image/dhcp" "$root/bin/fincloud-dhcp"
	install -m 0644 "$here/image/inittab" "$root/etc/inittab"
	install -m 0755 "$here/image/console" "$root/bin/fincloud-console"
	# the ACPI power button (virsh shutdown): busybox acpid maps the
	# event to PWRF and runs the scripts of /etc/acpi/PWRF (run-parts)
	mkdir -p "$root/etc/acpi/PWRF"
	printf 'PWRF PWRF\n' >"$root/etc/acpid.conf"
	printf '#!/bin/sh\nsync\nexec /bin/poweroff -f\n' >"$root/etc/acpi/PWRF/power"
	chmod 755 "$root/etc/acpi/PWRF/power"
	echo "root::0:0:root:/root:/bin/sh" >"$root/etc/passwd"
	echo "root:x:0:" >"$root/etc/group"
	echo "fincloud test image (kernel $ver, $(dpkg-deb -f "$deb" Version))" >"$root/etc/fincloud/version"
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 >"$tmp/boot/initrd.img"
	syslinux_cfg "$kernel_args" >"$tmp/boot/syslinux.cfg"
	disk_assemble "$tmp/boot" - "$tmp/disk.raw"
}

build_debian_image() {
	local rootfs=$tmp/rootfs mirror=${MIRROR:-http://deb.debian.org/debian} k size
	command -v mmdebstrap >/dev/null || die "'mmdebstrap' is missing: run scripts/deps.sh --image-debian"
	command -v mkfs.ext4 >/dev/null || die "'mkfs.ext4' is missing: run scripts/deps.sh --image-debian"
	[ "$(id -u)" -eq 0 ] || die "--debian needs root (mmdebstrap's root mode)"
	mmdebstrap --variant=minbase --quiet \
		--include=linux-image-cloud-amd64,systemd-sysv,udev,cloud-init,openssh-server,iproute2,netbase,ifupdown,isc-dhcp-client \
		--customize-hook='echo "LABEL=fcroot / ext4 defaults,errors=remount-ro 0 1" >"$1/etc/fstab"' \
		--customize-hook='echo "datasource_list: [ NoCloud, None ]" >"$1/etc/cloud/cloud.cfg.d/90-fincloud.cfg"' \
		--customize-hook='rm -f "$1/etc/machine-id" "$1/var/lib/dbus/machine-id"; touch "$1/etc/machine-id"' \
		--customize-hook="mkdir -p \"\$1/etc/systemd/system/cloud-init.target.wants\" && cp '$here/image/debian-ready.service' \"\$1/etc/systemd/system/fincloud-ready.service\" && cp '$here/image/debian-ready' \"\$1/usr/local/sbin/fincloud-ready\" && chmod 755 \"\$1/usr/local/sbin/fincloud-ready\" && ln -sf ../fincloud-ready.service \"\$1/etc/systemd/system/cloud-init.target.wants/fincloud-ready.service\"" \
		bookworm "$rootfs" "$mirror"
	mkdir -p "$tmp/boot"
	k=$(ls "$rootfs"/boot/vmlinuz-* | sort -V | tail -n 1)
	cp "$k" "$tmp/boot/vmlinuz"
	cp "$rootfs/boot/initrd.img-${k##*/vmlinuz-}" "$tmp/boot/initrd.img"
	syslinux_cfg "root=LABEL=fcroot ro console=ttyS0,115200 panic=10" >"$tmp/boot/syslinux.cfg"
	# a quarter free for logs and packages a user adds
	size=$(( $(mib_of "$rootfs") * 5 / 4 + 64 ))
	mkfs.ext4 -q -L fcroot -d "$rootfs" "$tmp/root.img" "${size}M"
	rm -rf "$rootfs"
	disk_assemble "$tmp/boot" "$tmp/root.img" "$tmp/disk.raw"
}

if [ $debian -eq 1 ]; then build_debian_image; else build_test_image; fi
mkdir -p "$(dirname "$out")"
qemu-img convert -f raw -O qcow2 "$tmp/disk.raw" "$out.tmp.$$"
mv -f "$out.tmp.$$" "$out"
echo "build-image: wrote $out ($(du -h "$out" | cut -f1))"

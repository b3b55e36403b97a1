#!/usr/bin/env bash
# scripts/install-agent.sh: install fincloud-agent on a compute node.
#
#   install-agent.sh --controller URL --join-token TOKEN [options]
#   install-agent.sh --uninstall [--root DIR]
#
#   --controller URL      the controller, e.g. https://ctl.example:8740
#   --join-token TOKEN    a join token (finctl token create --role join [--uses N]);
#                         "-" reads it from standard input, so it stays
#                         out of the process list
#   --pool P              the pool the node joins (default: default)
#   --node NAME           the node's name (default: the short host name)
#   --migration-uri URI   how other nodes reach this node's libvirt
#                         (default: qemu+tls://NODE/system)
#   --tls-dir DIR         this node's bundle from "fincloud-ca.sh issue
#                         NODE --server --client" (ca-cert.pem, cert.pem,
#                         key.pem): installed where libvirt, QEMU and the
#                         agent read them (fincloud-ca.sh layout), and the
#                         agent verifies the controller with that CA and
#                         presents that certificate; needed with an
#                         https:// controller
#   --libvirt-tls         with --tls-dir: also turn libvirt's TLS on, a
#                         marked block appended to /etc/libvirt/libvirtd.conf
#                         (listen_tls, the node's certificate, clients
#                         verified, no TCP) and /etc/libvirt/qemu.conf
#                         (migrate_tls_x509_cert_dir, verify, force); the
#                         files as they were are saved and --uninstall
#                         puts them back. Where systemd runs, it enables
#                         libvirtd-tls.socket and restarts libvirtd
#                         (running guests are not touched)
#   --insecure            plain http:// to the controller and qemu+tcp
#                         migrations (agent.conf insecure = yes): for a
#                         closed development network only
#   --binary PATH         the fincloud-agent to install (default: the
#                         build of this checkout, else fincloud-agent in PATH)
#   --prefix DIR          where the binary goes (default: /usr/local)
#   --root DIR            install into another root (for images and the
#                         testbed); nothing is enabled or started there
#   --no-start            install only: do not enable, start or register
#   --uninstall           remove what an earlier run installed, and only that
#   -h, --help            this text
#
# What it installs, each recorded in ROOT/var/lib/fincloud/install-manifest:
#   PREFIX/bin/fincloud-agent
#   /etc/fincloud/agent.conf                  (0644)
#   /etc/fincloud/join.token                  (0600)
#   with --tls-dir, the node's certificates under /etc/pki (keys 0600;
#   docs/security.md)
#   /etc/systemd/system/fincloud-agent.service
#   the directories among /etc/fincloud, /etc/fincloud/manifests,
#   /var/lib/fincloud, /var/lib/fincloud/disks, /var/lib/fincloud/images
#   that did not exist before.
# A file that existed before and was not installed by this script is
# saved under /var/lib/fincloud/install-backup and put back by
# --uninstall. Running the script again with other options updates the
# installation in place (idempotent).
#
# Where systemd runs (and without --root or --no-start) it enables and
# starts fincloud-agent.service, which registers the node with the join
# token; elsewhere it runs the agent once (--once) to register, and says
# how to keep it running. --uninstall stops and disables the service,
# removes the files and the now empty directories it created, and the
# node credential the agent received; VM disks under /var/lib/fincloud
# stay where they are.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

die() {
	echo "install-agent: $*" >&2
	exit 1
}

bad_usage() {
	echo "install-agent: $*" >&2
	echo "install-agent: see install-agent.sh --help" >&2
	exit 2
}

say() {
	echo "install-agent: $*"
}

controller='' token='' token_given=0 pool=default node='' migration_uri=''
binary='' prefix=/usr/local root='' no_start=0 uninstall=0 tls_dir='' insecure=0
libvirt_tls=0
need_arg() { [ $# -ge 2 ] || bad_usage "option '$1' needs a value"; }
while [ $# -gt 0 ]; do
	case $1 in
	--controller) need_arg "$@"; controller=$2; shift 2 ;;
	--join-token) need_arg "$@"; token=$2; token_given=1; shift 2 ;;
	--pool) need_arg "$@"; pool=$2; shift 2 ;;
	--node) need_arg "$@"; node=$2; shift 2 ;;
	--migration-uri) need_arg "$@"; migration_uri=$2; shift 2 ;;
	--binary) need_arg "$@"; binary=$2; shift 2 ;;
	--tls-dir) need_arg "$@"; tls_dir=$2; shift 2 ;;
	--insecure) insecure=1; shift ;;
	--libvirt-tls) libvirt_tls=1; shift ;;
	--prefix) need_arg "$@"; prefix=$2; shift 2 ;;
	--root) need_arg "$@"; root=$2; shift 2 ;;
	--no-start) no_start=1; shift ;;
	--uninstall) uninstall=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) bad_usage "unknown argument '$1'" ;;
	esac
done

if [ -n "$root" ]; then
	[ -d "$root" ] || bad_usage "--root '$root' is not a directory"
	root=$(cd "$root" && pwd)
	[ "$root" != / ] || root=''
fi
case $prefix in /*) ;; *) bad_usage "--prefix '$prefix' must be an absolute path" ;; esac

manifest=/var/lib/fincloud/install-manifest
backup_dir=/var/lib/fincloud/install-backup
conf=/etc/fincloud/agent.conf
token_file=/etc/fincloud/join.token
credential_file=/var/lib/fincloud/agent.credential
unit=/etc/systemd/system/fincloud-agent.service
bin_path=$prefix/bin/fincloud-agent

systemd_runs() {
	[ -z "$root" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1
}

in_manifest() { # kind path
	[ -f "$root$manifest" ] && grep -qxF "$1 $2" "$root$manifest"
}

# ------------------------------------------------------------- uninstall
do_uninstall() {
	if [ ! -f "$root$manifest" ]; then
		say "nothing to uninstall: no '$root$manifest'"
		return 0
	fi
	if systemd_runs && in_manifest file "$unit"; then
		systemctl disable --now fincloud-agent.service >/dev/null 2>&1 || true
	fi
	local lines i kind path
	mapfile -t lines <"$root$manifest"
	# files first, newest first; then put back what was there before
	for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
		read -r kind path <<<"${lines[i]}"
		[ "$kind" = file ] || continue
		rm -f "$root$path"
		say "removed $root$path"
	done
	for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
		read -r kind path <<<"${lines[i]}"
		[ "$kind" = backup ] || continue
		if [ -e "$root$backup_dir$path" ]; then
			mv -f "$root$backup_dir$path" "$root$path"
			say "restored the earlier $root$path"
		fi
	done
	# the credential the agent received at registration is of no use
	# without it, and a secret: it goes too
	if [ -f "$root$credential_file" ]; then
		rm -f "$root$credential_file"
		say "removed the node credential $root$credential_file"
	fi
	if systemd_runs && in_manifest file "$unit"; then
		systemctl daemon-reload || true
	fi
	rm -f "$root$manifest"
	[ ! -d "$root$backup_dir" ] || find "$root$backup_dir" -depth -type d -empty -delete
	# directories last, deepest first, and only when empty
	for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
		read -r kind path <<<"${lines[i]}"
		[ "$kind" = dir ] || continue
		if rmdir "$root$path" 2>/dev/null; then
			say "removed directory $root$path"
		elif [ -d "$root$path" ]; then
			say "kept $root$path: it is not empty (VM disks or files of others)"
		fi
	done
	say "uninstalled"
}

if [ "$uninstall" -eq 1 ]; then
	[ -z "$controller" ] && [ "$token_given" -eq 0 ] ||
		bad_usage "--uninstall takes no --controller or --join-token"
	[ -n "$root" ] || [ "$(id -u)" -eq 0 ] || die "uninstalling needs root (or --root DIR)"
	do_uninstall
	exit 0
fi

# --------------------------------------------------------------- install
[ -n "$controller" ] || bad_usage "--controller URL is required"
[[ $controller =~ ^https?://[^[:space:]/]+(/[^[:space:]]*)?$ ]] ||
	bad_usage "--controller '$controller' is not an http:// or https:// URL"
[ "$token_given" -eq 1 ] || bad_usage "--join-token TOKEN is required (finctl token create --role join)"
if [ "$token" = - ]; then
	IFS= read -r token || true
fi
[ -n "$token" ] || bad_usage "the join token is empty"
[[ $token =~ ^[[:graph:]]+$ ]] || bad_usage "the join token has blanks or control characters"
name_ok() { [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$ ]]; }
name_ok "$pool" || bad_usage "--pool '$pool': use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit"
if [ -z "$node" ]; then
	node=$(hostname -s 2>/dev/null || hostname)
fi
name_ok "$node" || bad_usage "--node '$node': use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit"
case $controller in
https://*)
	[ -n "$tls_dir" ] || bad_usage "--controller '$controller' is https: give --tls-dir, this node's bundle from 'fincloud-ca.sh issue $node --dir CA --server --client'"
	;;
http://*)
	[ "$insecure" -eq 1 ] || bad_usage "--controller '$controller' is plain http: use https:// with --tls-dir, or --insecure on a closed development network"
	;;
esac
[ "$libvirt_tls" -eq 0 ] || [ -n "$tls_dir" ] || bad_usage "--libvirt-tls needs --tls-dir (the node's certificates)"
if [ -n "$tls_dir" ]; then
	for f in ca-cert.pem cert.pem key.pem; do
		[ -r "$tls_dir/$f" ] || bad_usage "--tls-dir '$tls_dir' has no readable $f: give a bundle made by 'fincloud-ca.sh issue'"
	done
	tls_dir=$(cd "$tls_dir" && pwd)
fi
if [ -z "$migration_uri" ]; then
	if [ "$insecure" -eq 1 ]; then
		migration_uri=qemu+tcp://$node/system
	else
		migration_uri=qemu+tls://$node/system
	fi
fi
[[ $migration_uri =~ ^[a-z0-9+]+://[^[:space:]]*$ ]] ||
	bad_usage "--migration-uri '$migration_uri' is not a libvirt URI such as qemu+tcp://10.250.0.2/system"
if [ -z "$binary" ]; then
	if [ -x "$here/../build/bin/fincloud-agent" ]; then
		binary=$here/../build/bin/fincloud-agent
	else
		binary=$(command -v fincloud-agent 2>/dev/null) ||
			die "no fincloud-agent to install: build it (make) or give --binary PATH"
	fi
fi
[ -f "$binary" ] && [ -x "$binary" ] || die "--binary '$binary' is not an executable file"
unit_src=''
for u in "$here/systemd/fincloud-agent.service" "$prefix/share/fincloud/systemd/fincloud-agent.service"; do
	if [ -f "$u" ]; then
		unit_src=$u
		break
	fi
done
[ -n "$unit_src" ] || die "fincloud-agent.service not found next to this script (scripts/systemd/) or in $prefix/share/fincloud/systemd"
[ -n "$root" ] || [ "$(id -u)" -eq 0 ] || die "installing needs root (or --root DIR)"

# make_dir PATH: create it (and parents) under the root, recording each
# directory this run created
make_dir() {
	local d=$1 parent
	[ -d "$root$d" ] && return 0
	parent=$(dirname "$d")
	[ "$parent" = "$d" ] || make_dir "$parent"
	mkdir -m 0755 "$root$d"
	record dir "$d"
}

# Records wait in "pending" until the manifest's own directory exists.
pending=()
record() { # kind path
	if [ ! -d "$root$(dirname "$manifest")" ]; then
		pending+=("$1 $2")
		return 0
	fi
	local p
	for p in "${pending[@]}"; do echo "$p" >>"$root$manifest"; done
	pending=()
	in_manifest "$1" "$2" && return 0
	echo "$1 $2" >>"$root$manifest"
}

# put_file SRC DEST MODE: install SRC as DEST; a file there that this
# script did not install is saved first
put_file() {
	local src=$1 dest=$2 mode=$3
	make_dir "$(dirname "$dest")"
	if [ -e "$root$dest" ] && ! in_manifest file "$dest"; then
		make_dir "$backup_dir$(dirname "$dest")"
		if [ ! -e "$root$backup_dir$dest" ]; then
			cp -a "$root$dest" "$root$backup_dir$dest"
			record backup "$dest"
			say "saved the existing $root$dest (put back by --uninstall)"
		fi
	fi
	if [ -f "$root$dest" ] && cmp -s "$src" "$root$dest"; then
		chmod "$mode" "$root$dest"
	else
		install -m "$mode" "$src" "$root$dest.tmp.$$"
		mv -f "$root$dest.tmp.$$" "$root$dest"
	fi
	record file "$dest"
}

umask 022
make_dir /var/lib/fincloud
[ -f "$root$manifest" ] || : >"$root$manifest"
chmod 0600 "$root$manifest"
for p in "${pending[@]}"; do echo "$p" >>"$root$manifest"; done
pending=()
make_dir /etc/fincloud
make_dir /etc/fincloud/manifests
make_dir /var/lib/fincloud/disks
make_dir /var/lib/fincloud/images

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/agent.conf" <<EOF
# fincloud-agent configuration, written by install-agent.sh.
controller_url = $controller
node_name = $node
pool = $pool
libvirt_uri = qemu:///system
migration_uri = $migration_uri
storage_dir = /var/lib/fincloud/disks
image_dir = /var/lib/fincloud/images
credential_file = $credential_file
join_token_file = $token_file
manifest_dir = /etc/fincloud/manifests
heartbeat_interval = 5
health_listen =
log_level = info
EOF
if [ -n "$tls_dir" ]; then
	# the node's CA and client certificate, where libvirt has them too
	cat >>"$tmp/agent.conf" <<EOF
ca_file = /etc/pki/CA/cacert.pem
cert_file = /etc/pki/libvirt/clientcert.pem
key_file = /etc/pki/libvirt/private/clientkey.pem
EOF
fi
[ "$insecure" -eq 0 ] || echo "insecure = yes" >>"$tmp/agent.conf"
printf '%s\n' "$token" >"$tmp/join.token"
# the unit starts the binary this run installs, wherever the unit file
# came from (this checkout, or a copy installed under another prefix)
sed -E "s|^(ExecStart(Pre)?=)[^ ]*/fincloud-agent |\1$bin_path |" "$unit_src" >"$tmp/unit"

put_file "$binary" "$bin_path" 0755
put_file "$tmp/agent.conf" "$conf" 0644
put_file "$tmp/join.token" "$token_file" 0600
put_file "$tmp/unit" "$unit" 0644
say "installed $bin_path, $conf, $token_file, $unit${root:+ under $root}"
if [ -n "$tls_dir" ]; then
	# one table says where each file goes (fincloud-ca.sh layout)
	while read -r f dest mode; do
		put_file "$tls_dir/$f" "$dest" "$mode"
	done < <(bash "$here/fincloud-ca.sh" layout)
	chmod 0700 "$root/etc/pki/libvirt/private"
	say "installed this node's certificates under ${root}/etc/pki (libvirt, QEMU, the agent)"
fi

# with_block FILE BLOCK-FILE OUT: FILE without an earlier fincloud block,
# then BLOCK-FILE between the markers
mark_begin='# --- fincloud TLS (install-agent.sh --libvirt-tls): begin'
mark_end='# --- fincloud TLS: end'
with_block() {
	{
		[ ! -f "$1" ] || awk -v b="$mark_begin" -v e="$mark_end" \
			'$0 == b { skip = 1 } !skip { print } $0 == e { skip = 0 }' "$1"
		echo "$mark_begin"
		cat "$2"
		echo "$mark_end"
	} >"$3"
}
if [ "$libvirt_tls" -eq 1 ]; then
	for f in libvirtd qemu; do
		bash "$here/fincloud-ca.sh" libvirt-conf "$f" >"$tmp/$f.block"
	done
	for f in libvirtd qemu; do
		with_block "$root/etc/libvirt/$f.conf" "$tmp/$f.block" "$tmp/$f.conf"
		put_file "$tmp/$f.conf" "/etc/libvirt/$f.conf" 0644
	done
	say "libvirt's TLS is on in ${root}/etc/libvirt/libvirtd.conf and qemu.conf (migrations over TLS only)"
	if [ -z "$root" ] && systemd_runs; then
		# Debian's libvirtd is socket-activated: its TLS port is a unit
		systemctl enable --now libvirtd-tls.socket >/dev/null 2>&1 ||
			say "could not enable libvirtd-tls.socket: check 'systemctl status libvirtd-tls.socket'"
		systemctl restart libvirtd.service || die "libvirtd did not restart with TLS: check 'journalctl -u libvirtd'"
	elif [ -z "$root" ]; then
		say "restart libvirtd (libvirtd --listen) for its TLS settings to take effect"
	fi
fi

if ! "$root$bin_path" --check-config --config "$root$conf" >"$tmp/check" 2>&1; then
	# under --root the paths in the file point into the root; the check
	# only reads the file, so its verdict holds
	die "the agent refuses the configuration it was given: $(cat "$tmp/check")"
fi

if [ -n "$root" ] || [ "$no_start" -eq 1 ]; then
	say "not enabling or starting anything${root:+ in another root}; the node registers when its agent first starts"
	exit 0
fi
if systemd_runs; then
	systemctl daemon-reload
	systemctl enable fincloud-agent.service >/dev/null
	systemctl restart fincloud-agent.service
	say "fincloud-agent.service enabled and started"
else
	say "systemd does not run here: registering with one agent pass (fincloud-agent --once)"
	"$bin_path" --config "$conf" --once || die "the agent could not register with '$controller' (see above)"
fi
for _ in $(seq 1 300); do
	[ -s "$credential_file" ] && break
	sleep 0.1
done
if [ -s "$credential_file" ]; then
	say "node '$node' is registered with $controller (pool '$pool')"
else
	die "node '$node' did not register within 30 s: a node name that is registered already waits for an operator's 'finctl host approve $node' on the controller, a used-up or expired join token needs a new one ('finctl token create --role join'); check 'journalctl -u fincloud-agent' and the controller's log"
fi
if ! systemd_runs; then
	say "start the agent with your service manager: $bin_path --config $conf"
fi

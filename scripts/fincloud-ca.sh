#!/usr/bin/env bash
# scripts/fincloud-ca.sh: the small certificate authority of a fincloud
# installation, a wrapper around GnuTLS's certtool (package gnutls-bin).
#
#   fincloud-ca.sh init DIR [--cn NAME] [--days N]
#       create the CA: DIR/ca-cert.pem (0644) and DIR/private/ca-key.pem
#       (0600, its directory 0700); refused when DIR already holds a CA
#   fincloud-ca.sh issue NAME --dir DIR [--server] [--client]
#                   [--ip ADDRESS]... [--dns NAME]... [--days N] [--force]
#       a certificate with CN = NAME signed by the CA in DIR, written as
#       the bundle DIR/NAME/ with ca-cert.pem, cert.pem and key.pem (0600)
#       - the three files a machine needs. --server: for a TLS server
#       (the controller; a node's libvirtd and QEMU), with its addresses
#       (--ip, --dns) as subject alternative names that clients check;
#       --client: for a TLS client (an agent, whose node name is the CN);
#       both flags: a compute node, whose libvirt and QEMU are server and
#       client of the other nodes'. Neither flag means --client.
#       An existing NAME is refused without --force.
#   fincloud-ca.sh install-node BUNDLE [--root ROOT]
#       lay out a node's bundle (DIR/NAME from "issue") where libvirt,
#       QEMU and the agent read it, under ROOT (default /): the paths of
#       "fincloud-ca.sh layout"
#   fincloud-ca.sh layout
#       print the node layout, one "FILE DEST MODE" line each (FILE is
#       ca-cert.pem, cert.pem or key.pem of a bundle): what install-node
#       and scripts/install-agent.sh --tls-dir install
#   fincloud-ca.sh libvirt-conf libvirtd|qemu
#       print the settings that turn TLS on with that layout, for
#       /etc/libvirt/libvirtd.conf (TLS only, clients verified) or
#       /etc/libvirt/qemu.conf (migrations over TLS only, both ends
#       verified): what the testbed and install-agent.sh --libvirt-tls add
#
# Keys are RSA 3072 bits: libvirt refuses a certificate whose (critical)
# key usage lacks key encipherment, which an ECDSA key cannot carry.
# Certificates last --days days (CA 3650, others 825 by default). See
# docs/security.md.
set -euo pipefail

die() {
	echo "fincloud-ca: $*" >&2
	exit 1
}

bad_usage() {
	echo "fincloud-ca: $*" >&2
	echo "fincloud-ca: see fincloud-ca.sh --help" >&2
	exit 2
}

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

need_certtool() {
	command -v certtool >/dev/null 2>&1 ||
		die "'certtool' is missing: install the package gnutls-bin (scripts/deps.sh)"
}

# The node layout: libvirt's default paths for its server and its client
# (libvirtd.conf key_file/cert_file/ca_file; a libvirt client of
# qemu+tls, which the source libvirtd of a peer-to-peer migration is),
# QEMU's migration TLS directory (qemu.conf migrate_tls_x509_cert_dir),
# and the agent's ca_file/cert_file/key_file, which reuse libvirt's.
layout() {
	cat <<'EOF'
ca-cert.pem /etc/pki/CA/cacert.pem 0644
cert.pem /etc/pki/libvirt/servercert.pem 0644
key.pem /etc/pki/libvirt/private/serverkey.pem 0600
cert.pem /etc/pki/libvirt/clientcert.pem 0644
key.pem /etc/pki/libvirt/private/clientkey.pem 0600
ca-cert.pem /etc/pki/qemu/ca-cert.pem 0644
cert.pem /etc/pki/qemu/server-cert.pem 0644
key.pem /etc/pki/qemu/server-key.pem 0600
cert.pem /etc/pki/qemu/client-cert.pem 0644
key.pem /etc/pki/qemu/client-key.pem 0600
EOF
}

libvirt_conf() {
	case ${1:-} in
	libvirtd)
		cat <<'EOF'
listen_tls = 1
listen_tcp = 0
key_file = "/etc/pki/libvirt/private/serverkey.pem"
cert_file = "/etc/pki/libvirt/servercert.pem"
ca_file = "/etc/pki/CA/cacert.pem"
tls_no_verify_certificate = 0
EOF
		;;
	qemu)
		cat <<'EOF'
default_tls_x509_cert_dir = "/etc/pki/qemu"
default_tls_x509_verify = 1
migrate_tls_x509_cert_dir = "/etc/pki/qemu"
migrate_tls_x509_verify = 1
migrate_tls_force = 1
EOF
		;;
	*) bad_usage "usage: fincloud-ca.sh libvirt-conf libvirtd|qemu" ;;
	esac
}

positive() { [[ $1 =~ ^[1-9][0-9]{0,4}$ ]]; }

name_ok() { [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$ ]]; }

cmd_init() {
	local dir='' cn='fincloud CA' days=3650 tmp
	while [ $# -gt 0 ]; do
		case $1 in
		--cn) [ $# -ge 2 ] || bad_usage "--cn needs a name"; cn=$2; shift 2 ;;
		--days) [ $# -ge 2 ] || bad_usage "--days needs a number"; days=$2; shift 2 ;;
		-*) bad_usage "unknown option '$1' of init" ;;
		*) [ -z "$dir" ] || bad_usage "init takes one DIR"; dir=$1; shift ;;
		esac
	done
	[ -n "$dir" ] || bad_usage "usage: fincloud-ca.sh init DIR"
	positive "$days" || bad_usage "--days '$days': expected 1..99999"
	[[ $cn =~ ^[[:alnum:]\ ._-]{1,64}$ ]] || bad_usage "--cn '$cn': 1-64 letters, digits, blanks, '.', '_' or '-'"
	need_certtool
	[ ! -e "$dir/ca-cert.pem" ] && [ ! -e "$dir/private/ca-key.pem" ] ||
		die "'$dir' already holds a CA (ca-cert.pem): remove it first or use another DIR"
	mkdir -p "$dir/private"
	chmod 0700 "$dir/private"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	cat >"$tmp/ca.tmpl" <<EOF
cn = "$cn"
ca
cert_signing_key
crl_signing_key
expiration_days = $days
EOF
	(umask 077 && certtool --generate-privkey --key-type=rsa --bits=3072 --no-text \
		--outfile "$tmp/ca-key.pem") >"$tmp/log" 2>&1 || die "certtool could not make the CA key: $(tail -n 3 "$tmp/log")"
	certtool --generate-self-signed --load-privkey "$tmp/ca-key.pem" --template "$tmp/ca.tmpl" \
		--no-text --outfile "$tmp/ca-cert.pem" >"$tmp/log" 2>&1 ||
		die "certtool could not make the CA certificate: $(tail -n 3 "$tmp/log")"
	install -m 0600 "$tmp/ca-key.pem" "$dir/private/ca-key.pem"
	install -m 0644 "$tmp/ca-cert.pem" "$dir/ca-cert.pem"
	echo "fincloud-ca: CA '$cn' created in $dir (certificate ca-cert.pem, key private/ca-key.pem, valid $days days)"
}

cmd_issue() {
	local name='' dir='' server=0 client=0 days=825 force=0 ips=() dnss=() tmp a out
	while [ $# -gt 0 ]; do
		case $1 in
		--dir) [ $# -ge 2 ] || bad_usage "--dir needs a directory"; dir=$2; shift 2 ;;
		--server) server=1; shift ;;
		--client) client=1; shift ;;
		--ip) [ $# -ge 2 ] || bad_usage "--ip needs an address"; ips+=("$2"); shift 2 ;;
		--dns) [ $# -ge 2 ] || bad_usage "--dns needs a name"; dnss+=("$2"); shift 2 ;;
		--days) [ $# -ge 2 ] || bad_usage "--days needs a number"; days=$2; shift 2 ;;
		--force) force=1; shift ;;
		-*) bad_usage "unknown option '$1' of issue" ;;
		*) [ -z "$name" ] || bad_usage "issue takes one NAME"; name=$1; shift ;;
		esac
	done
	[ -n "$name" ] && [ -n "$dir" ] || bad_usage "usage: fincloud-ca.sh issue NAME --dir DIR [--server] [--client] [--ip A] [--dns N]"
	name_ok "$name" || bad_usage "NAME '$name': 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit (a node's name)"
	positive "$days" || bad_usage "--days '$days': expected 1..99999"
	for a in "${ips[@]}"; do
		[[ $a =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ || $a =~ ^[0-9A-Fa-f:]+$ ]] || bad_usage "--ip '$a' is not an IP address"
	done
	for a in "${dnss[@]}"; do
		[[ $a =~ ^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$ ]] || bad_usage "--dns '$a' is not a host name"
	done
	[ "$server" -eq 1 ] || [ "$client" -eq 1 ] || client=1
	if [ "$server" -eq 1 ] && [ ${#ips[@]} -eq 0 ] && [ ${#dnss[@]} -eq 0 ]; then
		bad_usage "a --server certificate needs the addresses clients reach it by: give --ip and/or --dns"
	fi
	need_certtool
	[ -f "$dir/ca-cert.pem" ] && [ -f "$dir/private/ca-key.pem" ] ||
		die "no CA in '$dir' (ca-cert.pem, private/ca-key.pem): create one with 'fincloud-ca.sh init $dir'"
	out=$dir/$name
	[ "$force" -eq 1 ] || [ ! -e "$out/cert.pem" ] ||
		die "'$out/cert.pem' exists: give --force to issue '$name' again"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	{
		echo "cn = \"$name\""
		echo "expiration_days = $days"
		echo "signing_key"
		echo "encryption_key"
		[ "$server" -eq 0 ] || echo "tls_www_server"
		[ "$client" -eq 0 ] || echo "tls_www_client"
		for a in "${ips[@]}"; do echo "ip_address = \"$a\""; done
		for a in "${dnss[@]}"; do echo "dns_name = \"$a\""; done
	} >"$tmp/leaf.tmpl"
	(umask 077 && certtool --generate-privkey --key-type=rsa --bits=3072 --no-text \
		--outfile "$tmp/key.pem") >"$tmp/log" 2>&1 || die "certtool could not make the key of '$name': $(tail -n 3 "$tmp/log")"
	certtool --generate-certificate --load-privkey "$tmp/key.pem" \
		--load-ca-certificate "$dir/ca-cert.pem" --load-ca-privkey "$dir/private/ca-key.pem" \
		--template "$tmp/leaf.tmpl" --no-text --outfile "$tmp/cert.pem" >"$tmp/log" 2>&1 ||
		die "certtool could not sign '$name': $(tail -n 3 "$tmp/log")"
	mkdir -p "$out"
	chmod 0700 "$out"
	install -m 0600 "$tmp/key.pem" "$out/key.pem"
	install -m 0644 "$tmp/cert.pem" "$out/cert.pem"
	install -m 0644 "$dir/ca-cert.pem" "$out/ca-cert.pem"
	local kind=client
	[ "$server" -eq 0 ] || kind=server
	[ "$server" -eq 0 ] || [ "$client" -eq 0 ] || kind="server and client"
	echo "fincloud-ca: issued '$name' ($kind, $days days${ips[*]:+, IP ${ips[*]}}${dnss[*]:+, DNS ${dnss[*]}}) in $out"
}

cmd_install_node() {
	local bundle='' root='' f dest mode
	while [ $# -gt 0 ]; do
		case $1 in
		--root) [ $# -ge 2 ] || bad_usage "--root needs a directory"; root=$2; shift 2 ;;
		-*) bad_usage "unknown option '$1' of install-node" ;;
		*) [ -z "$bundle" ] || bad_usage "install-node takes one BUNDLE"; bundle=$1; shift ;;
		esac
	done
	[ -n "$bundle" ] || bad_usage "usage: fincloud-ca.sh install-node BUNDLE [--root ROOT]"
	for f in ca-cert.pem cert.pem key.pem; do
		[ -r "$bundle/$f" ] || die "'$bundle/$f' is missing: give a directory made by 'fincloud-ca.sh issue'"
	done
	[ "$root" != / ] || root=''
	while read -r f dest mode; do
		mkdir -p "$root$(dirname "$dest")"
		install -m "$mode" "$bundle/$f" "$root$dest"
	done < <(layout)
	chmod 0700 "$root/etc/pki/libvirt/private"
}

case ${1:-} in
init) shift; cmd_init "$@" ;;
issue) shift; cmd_issue "$@" ;;
install-node) shift; cmd_install_node "$@" ;;
layout) layout ;;
libvirt-conf) libvirt_conf "${2:-}" ;;
-h | --help | help) usage ;;
'') usage >&2; exit 2 ;;
*) bad_usage "unknown command '$1'" ;;
esac

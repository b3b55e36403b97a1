#!/usr/bin/env bash
# scripts/install-agent.sh into a temporary --root: what it installs and
# with which modes, the agent accepts the configuration it writes,
# running it twice changes nothing, --uninstall leaves the root exactly as
# before (also a file that was there before), VM disks are kept, bad
# arguments are refused without touching the root.
set -u
top=${FC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${FC_BIN:-$top/build/bin}
inst=$top/scripts/install-agent.sh
. "$top/tests/integration/tap.bash"
work=$(mktemp -d "${TMPDIR:-/tmp}/fc-install-agent.XXXXXX")
trap 'rm -rf "$work"; [ "$failed" -eq 0 ] || exit 1' EXIT

# The real agent when it is built; otherwise a stand-in, and the test
# that the agent accepts the configuration is skipped.
agent=$bin/fincloud-agent
real_agent=1
if [ ! -x "$agent" ]; then
	real_agent=0
	agent=$work/fincloud-agent
	printf '#!/bin/sh\n# stand-in for fincloud-agent\nexit 0\n' >"$agent"
	chmod +x "$agent"
fi

# snapshot ROOT: every path with type, mode, size and checksum
snapshot() {
	(cd "$1" && find . -printf '%y %m %s %p\n' | sort -k4) >"$2.list"
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum) >"$2.sum"
	cat "$2.list" "$2.sum"
}

root=$work/root
mkdir -p "$root"/{etc,usr/local/bin,var/lib}
echo "127.0.0.1 localhost" >"$root/etc/hosts"
echo "keep me" >"$root/usr/local/bin/other-tool"
mkdir -p "$root/etc/libvirt"
printf '# the node'"'"'s own libvirtd settings\nlog_level = 3\n' >"$root/etc/libvirt/libvirtd.conf"
printf 'user = "libvirt-qemu"\n' >"$root/etc/libvirt/qemu.conf"
snapshot "$root" "$work/before" >/dev/null

run() { bash "$inst" "$@" >"$work/out" 2>&1; }
# node7's bundle of a test CA
command -v certtool >/dev/null || { echo "SKIP: certtool is missing (gnutls-bin)"; exit 77; }
{ bash "$top/scripts/fincloud-ca.sh" init "$work/ca" &&
	bash "$top/scripts/fincloud-ca.sh" issue node7 --dir "$work/ca" --server --client --ip 10.250.0.8; } >/dev/null ||
	{ fail "a test CA"; exit 1; }
args=(--root "$root" --binary "$agent" --controller https://10.250.0.1:8740
	--join-token jt-0123456789abcdef --pool prod --node node7
	--migration-uri qemu+tls://10.250.0.8/system --tls-dir "$work/ca/node7" --libvirt-tls)

# --- help and bad arguments
if bash "$inst" --help >"$work/help" 2>&1 && grep -q -- '--uninstall' "$work/help"; then
	ok "--help prints the usage"
else
	fail "--help prints the usage"
fi
check_refused() { # description pattern args...: refused, saying pattern
	local what=$1 pat=$2
	shift 2
	if run "$@"; then
		fail "refused: $what" "$(cat "$work/out")"
	elif ! grep -q -- "$pat" "$work/out"; then
		fail "refused for the right reason: $what" "want '$pat', got: $(cat "$work/out")"
	elif [ "$(snapshot "$root" "$work/now")" != "$(cat "$work/before.list" "$work/before.sum")" ]; then
		fail "refused without touching the root: $what"
	else
		ok "refused without touching the root: $what ($(head -1 "$work/out" | cut -c1-70))"
	fi
}
check_refused "no --controller" "--controller URL is required" --root "$root" --binary "$agent" --join-token t
check_refused "no --join-token" "--join-token TOKEN is required" --root "$root" --binary "$agent" --controller http://a:1
check_refused "a controller URL that is not http(s)" "is not an http" --root "$root" --binary "$agent" --controller ftp://a --join-token t
check_refused "a pool name with a slash" "--pool 'a/b'" "${args[@]}" --pool 'a/b'
check_refused "a node name with a quote" "--node" "${args[@]}" --node "n'1"
check_refused "a token with a blank" "blanks" "${args[@]}" --join-token 'a b'
check_refused "an unknown option" "unknown argument '--frobnicate'" "${args[@]}" --frobnicate
check_refused "a missing --root" "is not a directory" --root "$work/nowhere" --binary "$agent" --controller http://a:1 --join-token t
check_refused "a --binary that does not exist" "is not an executable" "${args[@]}" --binary "$work/nope"
check_refused "an https controller without --tls-dir" "give --tls-dir" --root "$root" --binary "$agent" \
	--controller https://a:1 --join-token t --node n1
check_refused "a plain http controller without --insecure" "or --insecure" --root "$root" --binary "$agent" \
	--controller http://a:1 --join-token t --node n1
check_refused "a --tls-dir that is no bundle" "no readable" "${args[@]}" --tls-dir "$work/ca/private"
check_refused "--libvirt-tls without --tls-dir" "needs --tls-dir" --root "$root" --binary "$agent" \
	--controller http://a:1 --insecure --join-token t --node n1 --libvirt-tls
check_refused "--uninstall with --controller" "takes no --controller" --uninstall --root "$root" --controller http://a:1

# --- install
if run "${args[@]}"; then
	ok "install into --root"
else
	fail "install into --root" "$(cat "$work/out")"
fi
mode() { stat -c %a "$root$1" 2>/dev/null; }
want=("/usr/local/bin/fincloud-agent 755" "/etc/fincloud/agent.conf 644"
	"/etc/fincloud/join.token 600" "/etc/systemd/system/fincloud-agent.service 644"
	"/var/lib/fincloud/install-manifest 600")
while read -r f dest m; do want+=("$dest ${m#0}"); done < <(bash "$top/scripts/fincloud-ca.sh" layout)
bad=()
for w in "${want[@]}"; do
	read -r p m <<<"$w"
	[ "$(mode "$p")" = "$m" ] || bad+=("$p: mode '$(mode "$p")', want $m")
done
for d in /etc/fincloud/manifests /var/lib/fincloud/disks /var/lib/fincloud/images; do
	[ -d "$root$d" ] || bad+=("$d missing")
done
if [ ${#bad[@]} -eq 0 ]; then
	ok "binary, config, 0600 join token, unit, manifest, directories and the node's certificates (keys 0600) are in place"
else
	fail "binary, config, 0600 join token, unit, manifest, directories and the node's certificates are in place" "${bad[@]}"
fi
if cmp -s "$work/ca/node7/key.pem" "$root/etc/pki/qemu/server-key.pem" &&
	cmp -s "$work/ca/ca-cert.pem" "$root/etc/pki/CA/cacert.pem" &&
	grep -qx 'ca_file = /etc/pki/CA/cacert.pem' "$root/etc/fincloud/agent.conf" &&
	grep -qx 'cert_file = /etc/pki/libvirt/clientcert.pem' "$root/etc/fincloud/agent.conf" &&
	grep -qx 'key_file = /etc/pki/libvirt/private/clientkey.pem' "$root/etc/fincloud/agent.conf" &&
	! grep -q '^insecure' "$root/etc/fincloud/agent.conf"; then
	ok "--tls-dir: the bundle is installed and agent.conf names the CA, certificate and key"
else
	fail "--tls-dir: the bundle is installed and agent.conf names the CA, certificate and key" "$(cat "$root/etc/fincloud/agent.conf")"
fi
lv=$root/etc/libvirt
if grep -qx 'log_level = 3' "$lv/libvirtd.conf" && grep -qx 'listen_tls = 1' "$lv/libvirtd.conf" &&
	grep -qx 'listen_tcp = 0' "$lv/libvirtd.conf" && grep -qx 'tls_no_verify_certificate = 0' "$lv/libvirtd.conf" &&
	grep -qx 'user = "libvirt-qemu"' "$lv/qemu.conf" && grep -qx 'migrate_tls_force = 1' "$lv/qemu.conf" &&
	grep -qx 'migrate_tls_x509_cert_dir = "/etc/pki/qemu"' "$lv/qemu.conf" && grep -qx 'migrate_tls_x509_verify = 1' "$lv/qemu.conf"; then
	ok "--libvirt-tls: libvirtd.conf and qemu.conf keep their settings and get TLS (listen_tls, no TCP, migrate_tls_force)"
else
	fail "--libvirt-tls: libvirtd.conf and qemu.conf get TLS" "$(cat "$lv/libvirtd.conf" "$lv/qemu.conf")"
fi
if [ "$(cat "$root/etc/fincloud/join.token" 2>/dev/null)" = jt-0123456789abcdef ] &&
	grep -qx 'controller_url = https://10.250.0.1:8740' "$root/etc/fincloud/agent.conf" &&
	grep -qx 'pool = prod' "$root/etc/fincloud/agent.conf" &&
	grep -qx 'node_name = node7' "$root/etc/fincloud/agent.conf" &&
	grep -qx 'migration_uri = qemu+tls://10.250.0.8/system' "$root/etc/fincloud/agent.conf" &&
	grep -qx 'join_token_file = /etc/fincloud/join.token' "$root/etc/fincloud/agent.conf"; then
	ok "agent.conf and the token file say what was asked"
else
	fail "agent.conf and the token file say what was asked" "$(cat "$root/etc/fincloud/agent.conf" 2>&1)"
fi
if grep -qx 'ExecStart=/usr/local/bin/fincloud-agent --config /etc/fincloud/agent.conf' \
	"$root/etc/systemd/system/fincloud-agent.service"; then
	ok "the unit starts the installed binary"
else
	fail "the unit starts the installed binary"
fi
if grep -q 'not enabling or starting anything' "$work/out"; then
	ok "under --root nothing is enabled or started, and it says so"
else
	fail "under --root nothing is enabled or started, and it says so" "$(cat "$work/out")"
fi
if [ "$real_agent" -eq 1 ]; then
	if out=$("$bin/fincloud-agent" --check-config --config "$root/etc/fincloud/agent.conf" 2>&1); then
		ok "fincloud-agent --check-config accepts the written agent.conf"
	else
		fail "fincloud-agent --check-config accepts the written agent.conf" "$out"
	fi
else
	ok "fincloud-agent --check-config accepts the written agent.conf # SKIP fincloud-agent is not built"
fi

# --- another prefix: the unit follows the binary
root2=$work/root2
mkdir -p "$root2"
if run --root "$root2" --binary "$agent" --controller http://a:1 --insecure --join-token t --node n1 --prefix /opt/fc &&
	grep -qx 'insecure = yes' "$root2/etc/fincloud/agent.conf" &&
	grep -qx 'migration_uri = qemu+tcp://n1/system' "$root2/etc/fincloud/agent.conf" &&
	[ -x "$root2/opt/fc/bin/fincloud-agent" ] &&
	grep -qx 'ExecStart=/opt/fc/bin/fincloud-agent --config /etc/fincloud/agent.conf' "$root2/etc/systemd/system/fincloud-agent.service" &&
	grep -q '^ExecStartPre=/opt/fc/bin/fincloud-agent --check-config' "$root2/etc/systemd/system/fincloud-agent.service"; then
	ok "--prefix /opt/fc: the binary and the unit's commands go there"
else
	fail "--prefix /opt/fc: the binary and the unit's commands go there" "$(cat "$work/out")" \
		"$(grep ExecStart "$root2/etc/systemd/system/fincloud-agent.service" 2>&1)"
fi

# --- idempotence
snapshot "$root" "$work/installed" >/dev/null
if run "${args[@]}" && [ "$(snapshot "$root" "$work/again")" = "$(cat "$work/installed.list" "$work/installed.sum")" ]; then
	ok "a second identical run changes nothing"
else
	fail "a second identical run changes nothing" "$(diff "$work/installed.list" "$work/again.list")"
fi
lines=$(wc -l <"$root/var/lib/fincloud/install-manifest")
if printf '%s\n' jt-new | run "${args[@]}" --pool batch --join-token - &&
	grep -qx 'pool = batch' "$root/etc/fincloud/agent.conf" &&
	[ "$(cat "$root/etc/fincloud/join.token")" = jt-new ] &&
	[ "$(wc -l <"$root/var/lib/fincloud/install-manifest")" = "$lines" ]; then
	ok "a run with another pool and a token from stdin updates in place"
else
	fail "a run with another pool and a token from stdin updates in place" "$(cat "$work/out")"
fi

# --- uninstall
if run --uninstall --root "$root" &&
	[ "$(snapshot "$root" "$work/after")" = "$(cat "$work/before.list" "$work/before.sum")" ]; then
	ok "--uninstall leaves the root exactly as before"
else
	fail "--uninstall leaves the root exactly as before" "$(diff "$work/before.list" "$work/after.list")"
fi
if run --uninstall --root "$root" && grep -q 'nothing to uninstall' "$work/out"; then
	ok "a second --uninstall has nothing to do"
else
	fail "a second --uninstall has nothing to do" "$(cat "$work/out")"
fi

# --- a file that was there before is saved and put back
mkdir -p "$root/etc/fincloud"
echo "controller_url = http://old:1" >"$root/etc/fincloud/agent.conf"
snapshot "$root" "$work/before2" >/dev/null
if run "${args[@]}" && grep -qx 'pool = prod' "$root/etc/fincloud/agent.conf" &&
	run --uninstall --root "$root" &&
	[ "$(snapshot "$root" "$work/after2")" = "$(cat "$work/before2.list" "$work/before2.sum")" ]; then
	ok "an agent.conf that was there before is replaced, then put back by --uninstall"
else
	fail "an agent.conf that was there before is replaced, then put back by --uninstall" \
		"$(cat "$work/out")" "$(diff "$work/before2.list" "$work/after2.list" 2>&1)"
fi
rm -rf "$root/etc/fincloud"

# --- VM disks and the credential
run "${args[@]}"
echo disk >"$root/var/lib/fincloud/disks/vm1.qcow2"
echo secret >"$root/var/lib/fincloud/agent.credential"
if run --uninstall --root "$root" && [ -f "$root/var/lib/fincloud/disks/vm1.qcow2" ] &&
	[ ! -e "$root/var/lib/fincloud/agent.credential" ] && [ ! -e "$root/etc/fincloud" ] &&
	[ ! -e "$root/usr/local/bin/fincloud-agent" ] && [ -f "$root/usr/local/bin/other-tool" ]; then
	ok "--uninstall keeps VM disks, removes the credential and everything it installed"
else
	fail "--uninstall keeps VM disks, removes the credential and everything it installed" "$(cat "$work/out")"
fi

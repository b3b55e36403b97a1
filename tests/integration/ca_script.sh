#!/usr/bin/env bash
# scripts/fincloud-ca.sh: init makes a CA once, with its key 0600; issue
# signs server, client and node (both) certificates whose CN is the name
# and whose purposes and addresses are the ones asked for, each chaining
# to the CA; keys are 0600; an existing name, a server certificate
# without an address and a name that is no node name are refused;
# install-node lays a bundle out where libvirt, QEMU and the agent read it.
set -u
top=${FC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
ca=$top/scripts/fincloud-ca.sh
. "$top/tests/integration/tap.bash"
command -v certtool >/dev/null || { echo "SKIP: certtool is missing (gnutls-bin)"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/fc-ca.XXXXXX")
trap 'rm -rf "$work"; [ "$failed" -eq 0 ] || exit 1' EXIT
d=$work/ca

quiet() { "$@" >/dev/null; }
mode() { stat -c %a "$1"; }
info() { certtool -i --infile "$1" 2>/dev/null; }
chains() { # cert [ca]
	certtool --verify --load-ca-certificate "${2:-$d/ca-cert.pem}" --infile "$1" 2>&1 |
		grep -q '^Chain verification output: Verified'
}

check "init creates the CA" quiet bash "$ca" init "$d"
check "the CA key is 0600 in a 0700 directory" \
	test "$(mode "$d/private/ca-key.pem") $(mode "$d/private")" = "600 700"
info "$d/ca-cert.pem" | grep -q 'Certificate Authority (CA): TRUE'
check "the CA certificate is a CA" test $? = 0
bash "$ca" init "$d" >"$work/out" 2>&1
rc=$?
check "a second init in the same DIR is refused" eval '[ $rc = 1 ] && grep -q "already holds a CA" "$work/out"'

check "issue ctl --server --ip --dns" quiet bash "$ca" issue ctl --dir "$d" --server --ip 10.9.8.1 --dns ctl.example
check "issue node1 (client)" quiet bash "$ca" issue node1 --dir "$d"
check "issue node2 --server --client" quiet bash "$ca" issue node2 --dir "$d" --server --client --ip 10.9.8.3
for m in ctl node1 node2; do
	check "$m: certificate chains to the CA" chains "$d/$m/cert.pem"
	check "$m: key 0600, bundle directory 0700, CA certificate in the bundle" \
		eval "[ \"\$(mode $d/$m/key.pem) \$(mode $d/$m)\" = '600 700' ] && cmp -s $d/ca-cert.pem $d/$m/ca-cert.pem"
	check "$m: CN is the name" eval "info $d/$m/cert.pem | grep -q 'Subject: CN=$m\$'"
done
i=$(info "$d/ctl/cert.pem")
check "ctl: a server certificate with its addresses, no client purpose" \
	eval 'grep -q "TLS WWW Server" <<<"$i" && ! grep -q "TLS WWW Client" <<<"$i" && grep -q "IPAddress: 10.9.8.1" <<<"$i" && grep -q "DNSname: ctl.example" <<<"$i"'
i=$(info "$d/node1/cert.pem")
check "node1: a client certificate only" eval 'grep -q "TLS WWW Client" <<<"$i" && ! grep -q "TLS WWW Server" <<<"$i"'
i=$(info "$d/node2/cert.pem")
check "node2: server and client" eval 'grep -q "TLS WWW Client" <<<"$i" && grep -q "TLS WWW Server" <<<"$i"'
check "node2: key usage digital signature and key encipherment (libvirt needs both)" \
	eval 'grep -q "Digital signature" <<<"$i" && grep -q "Key encipherment" <<<"$i"'

bash "$ca" issue node1 --dir "$d" >"$work/out" 2>&1
rc=$?
check "issuing an existing name again is refused without --force" eval '[ $rc = 1 ] && grep -q -- "--force" "$work/out"'
old=$(sha256sum <"$d/node1/cert.pem")
check "--force issues it again" eval 'bash "$ca" issue node1 --dir "$d" --force >/dev/null && [ "$(sha256sum <"$d/node1/cert.pem")" != "$old" ]'
bash "$ca" issue srv --dir "$d" --server >"$work/out" 2>&1
check "a server certificate without an address is refused (exit 2)" test $? = 2
bash "$ca" issue 'bad/name' --dir "$d" >"$work/out" 2>&1
check "a name that is no node name is refused (exit 2)" test $? = 2
bash "$ca" issue x --dir "$work/none" >"$work/out" 2>&1
rc=$?
check "issue without a CA says how to make one" eval '[ $rc = 1 ] && grep -q "fincloud-ca.sh init" "$work/out"'
bash "$ca" init "$work/other" >/dev/null && bash "$ca" issue node1 --dir "$work/other" >/dev/null
check "a certificate of another CA does not chain to this one" eval '! chains "$work/other/node1/cert.pem"'

mkdir "$work/root"
check "install-node lays out node2's bundle" quiet bash "$ca" install-node "$d/node2" --root "$work/root"
bad=()
while read -r f dest m; do
	cmp -s "$d/node2/$f" "$work/root$dest" && [ "$(mode "$work/root$dest")" = "${m#0}" ] || bad+=("$dest")
done < <(bash "$ca" layout)
check "every file of the layout is in place with its mode (keys 0600)" test ${#bad[@]} = 0
echo "1..$n"

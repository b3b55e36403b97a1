#!/usr/bin/env bash
# fc-test: alone
# The Debian packages, built and installed as an operator would:
#
#   make deb builds fincloud-controller, fincloud-agent, finctl,
#   fincloud-tools and fincloud-doc without touching the checkout;
#   lintian finds no error, and every warning it gives is one that
#   docs/decisions.md accepts by name;
#   dpkg -i --root installs them into a fresh root and runs their
#   maintainer scripts there (chrooted): the root is a private mount
#   namespace whose /usr is an overlay over the host's /usr (the files of
#   the packages' dependencies; the root's dpkg database starts empty, so
#   dpkg gets --force-depends) and whose /etc holds only a skeleton
#   passwd and group and the configuration of adduser and PAM. Nothing
#   is written to the host: the overlay's upper layer, the root and the
#   namespace are this test's own;
#   the layout: programs, units (rewritten for /usr), the configuration
#   files as conffiles, the 'fincloud' system user made by the
#   controller's postinst, the state directory the units ask systemd for,
#   the services enabled and the rebalance timer not;
#   the packaged controller starts with the packaged default
#   configuration (state directory and port moved to this test's own on
#   its command line) and answers /healthz, and serves the packaged
#   dashboard under /ui/; the agent accepts its
#   packaged configuration;
#   dpkg --purge removes them again, conffiles included.
set -u
: "${FC_TOP:?run me through tests/run.sh}" "${FC_BUILD:?}"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (dpkg --root, mount namespaces)"; exit 77; }

# Run again inside a private mount namespace: the overlay below then
# disappears with this process, however it ends.
if [ -z "${FC_DEB_NS:-}" ]; then
	command -v unshare >/dev/null || { echo "SKIP: unshare (util-linux) is missing"; exit 77; }
	FC_DEB_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi

. "$FC_TOP/tests/integration/tap.bash"

work=$(mktemp -d /tmp/fctest-deb.XXXXXX)
root=$work/root
ctl_pid=
cleanup() {
	if [ -n "$ctl_pid" ]; then
		kill "$ctl_pid" 2>/dev/null
		wait "$ctl_pid" 2>/dev/null
	fi
	umount "$root/usr" 2>/dev/null
	# --one-file-system: should the overlay still be mounted, its files
	# (the host's /usr underneath) are never reached
	rm -rf --one-file-system "$work"
	[ "$failed" -eq 0 ] || exit 1
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

cd "$FC_TOP" || exit 1
build=${FC_BUILD#"$FC_TOP"/}
debs=$FC_BUILD/deb
pkgs=(fincloud-controller fincloud-agent finctl fincloud-tools fincloud-doc)

# --- build
before=$(git status --porcelain --ignored=no)
if make -s deb BUILD="$build" >"$work/make-deb.log" 2>&1; then
	ok "make deb builds the packages"
else
	fail "make deb builds the packages" "$(tail -n 20 "$work/make-deb.log")"
	exit 1
fi
after=$(git status --porcelain --ignored=no)
check "make deb leaves the checkout as it found it" test "$before" = "$after"
missing=
files=()
for p in "${pkgs[@]}"; do
	f=$(compgen -G "$debs/${p}_*.deb" | head -n 1)
	if [ -n "$f" ]; then files+=("$f"); else missing="$missing $p"; fi
done
check "make deb builds ${pkgs[*]} into $build/deb/" test -z "$missing"
[ -z "$missing" ] || exit 1

# --- lintian
lintian --fail-on error "${files[@]}" >"$work/lintian.log" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && ! grep -q '^E: ' "$work/lintian.log"; then
	ok "lintian finds no error"
else
	fail "lintian finds no error" "$(grep '^E: ' "$work/lintian.log" | head -n 20)"
fi
unaccepted=
while read -r tag; do
	grep -q -- "\`$tag\`" docs/decisions.md || unaccepted="$unaccepted $tag"
done < <(sed -n 's/^W: [^:]*: \([a-z0-9-]*\).*/\1/p' "$work/lintian.log" | sort -u)
check "every lintian warning is one docs/decisions.md accepts (${unaccepted:-none other})" \
	test -z "$unaccepted"

# --- a fresh root
host_ids=$(cat /etc/passwd /etc/group | md5sum)
mkdir -p "$root"/{etc,usr,var/lib/dpkg/info,var/lib/dpkg/updates,dev,run,tmp} "$work/upper" "$work/ovl"
for d in bin sbin lib lib64; do ln -s "usr/$d" "$root/$d"; done
chmod 1777 "$root/tmp"
mknod -m 0666 "$root/dev/null" c 1 3
: >"$root/var/lib/dpkg/status"
printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
printf 'root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n' >"$root/etc/shadow"
printf 'root:*::\nnogroup:*::\n' >"$root/etc/gshadow"
chmod 0640 "$root/etc/shadow" "$root/etc/gshadow"
# what adduser reads (its chfn runs through PAM)
for f in adduser.conf login.defs nsswitch.conf pam.conf pam.d security; do
	[ -e "/etc/$f" ] && cp -a "/etc/$f" "$root/etc/$f"
done
if ! mount -t overlay overlay -o "lowerdir=/usr,upperdir=$work/upper,workdir=$work/ovl" "$root/usr"; then
	echo "SKIP: cannot mount an overlay over /usr for the test root"
	exit 77
fi

# --- install
if dpkg --root="$root" --force-depends -i "${files[@]}" >"$work/dpkg.log" 2>&1; then
	ok "dpkg --root -i installs and configures the packages (maintainer scripts run chrooted)"
else
	fail "dpkg --root -i installs and configures the packages (maintainer scripts run chrooted)" \
		"$(tail -n 20 "$work/dpkg.log")"
fi
q() { dpkg-query --root="$root" "$@" 2>/dev/null; }
notinst=
for p in "${pkgs[@]}"; do
	# shellcheck disable=SC2016 # a dpkg-query format, not a shell expansion
	[ "$(q -W -f '${db:Status-Status}' "$p")" = installed ] || notinst="$notinst $p"
done
check "every package is 'installed' in the root's dpkg database" test -z "$notinst"

# --- layout
for pb in fincloud-controller:fincloud-controller fincloud-agent:fincloud-agent \
	finctl:finctl fincloud-tools:fincloud-sched; do
	p=${pb%%:*} b=${pb#*:}
	check "$p installs /usr/bin/$b" \
		eval "[ -x '$root/usr/bin/$b' ] && q -L $p | grep -qx /usr/bin/$b"
done
"$root/usr/bin/fincloud-controller" --version >/dev/null 2>&1
check "the packaged controller runs (--version)" test $? -eq 0
units=$root/lib/systemd/system
for pu in fincloud-controller:fincloud-controller.service fincloud-agent:fincloud-agent.service \
	finctl:fincloud-rebalance.service finctl:fincloud-rebalance.timer; do
	p=${pu%%:*} u=${pu#*:}
	check "$p installs /lib/systemd/system/$u" \
		eval "[ -f '$units/$u' ] && q -L $p | grep -qx /lib/systemd/system/$u"
done
check "the units run /usr/bin programs and name no /usr/local path" \
	eval "grep -q '^ExecStart=/usr/bin/fincloud-controller ' '$units/fincloud-controller.service' &&
		grep -q '^ExecStart=/usr/bin/fincloud-agent ' '$units/fincloud-agent.service' &&
		! grep -rq /usr/local '$units'/fincloud-*"
for pc in fincloud-controller:/etc/fincloud/controller.conf fincloud-agent:/etc/fincloud/agent.conf; do
	p=${pc%%:*} c=${pc#*:}
	check "$c is a conffile of $p (DEBIAN/conffiles)" \
		eval "dpkg-deb --ctrl-tarfile '$(compgen -G "$debs/${p}_*.deb" | head -n 1)' | tar -xOf - ./conffiles | grep -qx '$c' &&
			q -W -f '\${Conffiles}' $p | grep -q '^ $c [0-9a-f]\{32\}$'"
done
check "the packaged controller.conf passes --check-config" \
	"$root/usr/bin/fincloud-controller" --check-config --config "$root/etc/fincloud/controller.conf"
check "the packaged agent.conf passes --check-config" \
	eval "'$root/usr/bin/fincloud-agent' --check-config --config '$root/etc/fincloud/agent.conf' >/dev/null"
check "the agent's manifest directory exists" test -d "$root/etc/fincloud/manifests"

# --- the user and the state directory
pw=$(grep '^fincloud:' "$root/etc/passwd")
IFS=: read -r _ _ uid gid _ home shell <<<"$pw"
check "postinst made the system user fincloud ($pw)" \
	eval "[ -n '$pw' ] && [ '$uid' -lt 1000 ] && [ '$shell' = /usr/sbin/nologin ] &&
		[ '$home' = /var/lib/fincloud/controller ] && grep -q '^fincloud:x:$gid:' '$root/etc/group'"
check "the host's /etc/passwd and /etc/group are untouched" \
	test "$(cat /etc/passwd /etc/group | md5sum)" = "$host_ids"
cu=$units/fincloud-controller.service
state=$(sed -n 's/^state_dir *= *//p' "$root/etc/fincloud/controller.conf")
check "the controller runs as fincloud in /var/lib/fincloud/controller (User=, StateDirectory=, state_dir)" \
	eval "grep -qx 'User=fincloud' '$cu' && grep -qx 'StateDirectory=fincloud/controller' '$cu' &&
		grep -qx 'StateDirectoryMode=0700' '$cu' && [ '$state' = /var/lib/fincloud/controller ]"
check "the agent's state directory is /var/lib/fincloud (StateDirectory=fincloud)" \
	grep -qx 'StateDirectory=fincloud' "$units/fincloud-agent.service"
check "nothing logs to a file: the units log to the journal" \
	eval "! grep -q '^Standard\\(Output\\|Error\\)=' '$units'/fincloud-*.service"

# --- enabled at install, as deb-systemd-helper records it in the root
wants=$root/etc/systemd/system/multi-user.target.wants
check "postinst enables fincloud-controller.service and fincloud-agent.service" \
	eval "[ -L '$wants/fincloud-controller.service' ] && [ -L '$wants/fincloud-agent.service' ]"
check "the rebalance timer is installed but not enabled (it needs rebalance.env)" \
	test ! -e "$root/etc/systemd/system/timers.target.wants/fincloud-rebalance.timer"

# --- the packaged controller starts on its packaged configuration
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# (ui_dir: the package's files in this root; its default, the same path
# from /, is checked below)
"$root/usr/bin/fincloud-controller" --config "$root/etc/fincloud/controller.conf" \
	--state-dir "$work/state" --listen-port "$port" --ui-dir "$root/usr/share/fincloud/ui" \
	>"$work/controller.log" 2>&1 &
ctl_pid=$!
up=0
for _ in $(seq 1 100); do
	if [ "$(curl -s -o "$work/healthz" -w '%{http_code}' "http://127.0.0.1:$port/healthz")" = 200 ]; then
		up=1
		break
	fi
	kill -0 "$ctl_pid" 2>/dev/null || break
	sleep 0.1
done
check "the packaged controller on the packaged config answers /healthz with 200" test "$up" -eq 1
check "it wrote its admin token (0600) and database into the state directory" \
	eval "[ \"\$(stat -c %a '$work/state/admin.token' 2>/dev/null)\" = 600 ] && [ -s '$work/state/state.db' ]"
check "it serves the packaged dashboard (/ui/ and uPlot)" eval \
	"[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$port/ui/)\" = 200 ] &&
	 [ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$port/ui/uplot.esm.js)\" = 200 ]"
check "the packaged controller's default ui_dir is /usr/share/fincloud/ui" \
	grep -aq /usr/share/fincloud/ui "$root/usr/bin/fincloud-controller"
if [ "$up" -ne 1 ]; then
	sed 's/^/# /' "$work/controller.log"
fi
kill "$ctl_pid" 2>/dev/null
wait "$ctl_pid" 2>/dev/null
ctl_pid=

# --- purge
if dpkg --root="$root" --force-depends --purge "${pkgs[@]}" >"$work/purge.log" 2>&1; then
	ok "dpkg --root --purge removes the packages"
else
	fail "dpkg --root --purge removes the packages" "$(tail -n 20 "$work/purge.log")"
fi
left=$(cd "$root" && ls -d usr/bin/fincloud-* usr/bin/finctl lib/systemd/system/fincloud-* \
	etc/fincloud/*.conf 2>/dev/null)
check "nothing of theirs is left, conffiles included" test -z "$left"

#!/usr/bin/env bash
# fc-test: alone
# VM consoles through the controller, end to end on one machine: the real
# controller, a real fincloud-agent on qemu:///system and finctl.
#
# console-log: a guest without an operating system still prints SeaBIOS's
# words on its serial port (<bios useserial='yes'/>), which reach finctl
# from the node's console log; --tail N gives its last N lines; --follow
# streams what the log gains; 32 MiB streamed through the controller
# leave its peak memory (VmHWM) within a bound, and a log over 1 MiB is
# answered as its last 1 MiB. console: an interactive session opens and
# ends (audited with its length), a second one is refused (409) unless
# --force, which ends the first; a command typed into the test image's
# serial shell runs and its answer comes back, from a pipe and from a
# terminal (script(1)), which Ctrl-] detaches and leaves as it was.
# Refused: another tenant's VM (404), a stopped VM (409 naming the fix),
# a request that does not switch protocols (426), a bad --tail (400).
# Every answer is validated against schemas/openapi.yaml.
#
# Starts virtlogd/libvirtd through scripts/libvirtd-ensure.sh when they do
# not answer and stops exactly those at the end; its domains are named
# fctest<PID>.* and removed on exit, also on failure.
. "$FC_TOP/tests/integration/ctrl_lib.bash"
[ -x "$agent" ] || { echo "SKIP: fincloud-agent is not built"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root for qemu:///system"; exit 77; }
command -v virsh >/dev/null || { echo "SKIP: virsh is missing (scripts/deps.sh)"; exit 77; }

T=fctest$$
chmod 755 "$work" # qemu reaches the disks under it
lv_pids=$work/libvirtd.pids
agent_pid=
. "$FC_TOP/tests/integration/libvirt_lib.bash"
console_cleanup() {
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
	libvirt_remove "^$T\\." "$work"
	bash "$FC_TOP/scripts/libvirtd-ensure.sh" --stop "$lv_pids"
	cleanup
}
trap console_cleanup EXIT
if ! bash "$FC_TOP/scripts/libvirtd-ensure.sh" "$lv_pids"; then
	echo "SKIP: qemu:///system does not answer and libvirtd could not be started"
	exit 77
fi

fc() { "$finctl" "$@"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$ctl_pid/status"; }
audited() { # ACTION: an audit row with that action exists
	[ "$(db "SELECT count(*) FROM audit WHERE action = '$1'")" -gt 0 ]
}

ctrl_start --heartbeat-interval 1 --heartbeat-timeout 10 || { nok "controller starts"; exit 1; }
JOIN=$(fc token create --role join --description console 2>/dev/null)
printf '%s\n' "$JOIN" >"$work/join.token"
mkdir -p "$work/m" "$work/disks" "$work/images"
"$agent" --controller-url "$URL" --node-name "n$$" --pool default \
	--libvirt-uri qemu:///system --migration-uri qemu:///system \
	--manifest-dir "$work/m" --storage-dir "$work/disks" --image-dir "$work/images" \
	--credential-file "$work/credential" --join-token-file "$work/join.token" \
	--heartbeat-interval 1 --stop-timeout 2 --log-level info --insecure yes >>"$work/agent.log" 2>&1 &
agent_pid=$!
pids+=("$agent_pid")
host_up() { [ "$(fc -o json host show "n$$" 2>/dev/null | jq -r .state)" = up ]; }
check "the agent on qemu:///system registers" wait_for 60 host_up

fc tenant create "$T" >/dev/null && fc tenant create "${T}b" >/dev/null &&
	fc flavor create tiny --vcpus 1 --mem-mib 64 --disk-gib 1 >/dev/null ||
	nok "tenants and a flavor are created"
TOK=$(fc token create --role tenant --tenant "$T" 2>/dev/null)
OTHER=$(fc token create --role tenant --tenant "${T}b" 2>/dev/null)
check "a VM without an operating system runs" \
	fc vm create --tenant "$T" --flavor tiny --name vm1 --wait --timeout 120
VM=$(fc -o json vm show vm1 --tenant "$T" | jq -r .id)
LOG=$work/disks/$VM.console.log

echo "# $(date +%T) console-log"
# ---- console-log --------------------------------------------------------
check "console-log shows SeaBIOS's words from the serial port" \
	wait_for 60 sh -c "'$finctl' vm console-log vm1 --tenant '$T' 2>/dev/null | grep -q SeaBIOS"
api GET "/v1/vms/$VM/console-log" "" "$TOK"
check "the VM's tenant reads it through the API: 200 text/plain" \
	sh -c "[ '$status' = 200 ] && printf '%s' \"\$1\" | grep -q SeaBIOS" _ "$body"
fc vm console-log vm1 --tenant "$T" >"$work/full.log"
fc vm console-log vm1 --tenant "$T" --tail 2 >"$work/tail.log"
check "--tail 2 gives the log's last 2 lines" \
	sh -c "[ \$(wc -l <'$work/tail.log') -le 2 ] && [ -s '$work/tail.log' ] && tail -n 2 '$work/full.log' | cmp -s - '$work/tail.log'"
api GET "/v1/vms/$VM/console-log?tail=0"
check "tail=0 is refused (400)" is_err 400 invalid_query tail
fc vm console-log vm1 --tenant "$T" --tail 0 2>/dev/null
check "finctl refuses --tail 0 itself (exit 2)" test $? -eq 2
api GET "/v1/vms/$VM/console-log" "" "$OTHER"
check "another tenant's token gets 404 for the log" is_err 404 not_found
FINCLOUD_TOKEN=$OTHER fc vm console-log "$VM" >/dev/null 2>&1
check "and finctl exits 4" test $? -eq 4
api GET "/v1/vms/$VM/console-log?follow=1"
check "follow without switching protocols is refused (426)" is_err 426 upgrade_required

"$finctl" vm console-log vm1 --tenant "$T" --follow >"$work/follow.out" 2>"$work/follow.err" &
fpid=$!
pids+=("$fpid")
sleep 2
echo "MARK-$$-follow" >>"$LOG"
check "--follow streams a line the log gains" wait_for 15 grep -q "MARK-$$-follow" "$work/follow.out"
hwm0=$(hwm_kib)
yes "fincloud console line $$ 0123456789abcdefghijklmnopqrstuvwxyz" | head -c $((32 << 20)) >>"$LOG"
check "32 MiB of log stream through the controller" \
	wait_for 120 sh -c "[ \$(stat -c %s '$work/follow.out') -ge $((32 << 20)) ]"
hwm1=$(hwm_kib)
check "the controller's peak memory grew by less than 8 MiB ($hwm0 -> $hwm1 KiB)" \
	test $((hwm1 - hwm0)) -lt 8192
kill "$fpid" 2>/dev/null; wait "$fpid" 2>/dev/null
check "the follow session's end is audited" wait_for 10 audited vm.console_log.end
fc vm console-log vm1 --tenant "$T" >"$work/big.log"
size=$(stat -c %s "$work/big.log")
check "a log over 1 MiB is answered as its last 1 MiB ($size bytes)" \
	bash -c "[ $size -le 1048576 ] && [ $size -gt 1000000 ] && tail -c 1000 '$LOG' | cmp -s - <(tail -c 1000 '$work/big.log')"

echo "# $(date +%T) the interactive console"
# ---- the interactive console --------------------------------------------
sleep 60 | "$finctl" vm console vm1 --tenant "$T" --linger 1 >"$work/c1.out" 2>"$work/c1.err" &
c1=$!
pids+=("$c1")
check "an interactive session is audited as it opens" wait_for 30 audited vm.console
sleep 1
FINCLOUD_TOKEN=$TOK fc vm console vm1 --linger 1 </dev/null >/dev/null 2>"$work/c2.err"
check "a second session is refused with exit 6 (409)" test $? -eq 6
check "naming --force" grep -q -- "--force" "$work/c2.err"
FINCLOUD_TOKEN=$TOK fc vm console vm1 --force --linger 1 </dev/null >/dev/null 2>"$work/c3.err"
check "--force takes the console" test $? -eq 0
check "the first session ends (its stdin is still open)" wait_for 10 sh -c "! kill -0 $c1 2>/dev/null"
check "and was told it was taken over" grep -q "took this console over" "$work/c1.out"
check "each session's end is audited with its length" \
	wait_for 10 sh -c "[ \$(sqlite3 '$work/state/state.db' \"SELECT count(*) FROM audit WHERE action = 'vm.console.end' AND target LIKE '%seconds=%'\") -ge 2 ]"
check "who opened it is in the audit row" \
	test "$(db "SELECT count(*) FROM audit WHERE action = 'vm.console' AND actor LIKE 'tenant:%' AND result = 101")" -ge 1
FINCLOUD_TOKEN=$OTHER fc vm console "$VM" </dev/null >/dev/null 2>&1
check "another tenant's console is 404 (exit 4)" test $? -eq 4
api GET "/v1/vms/$VM/console" "" "$OTHER"
check "through the API too" is_err 404 not_found
api GET "/v1/vms/$VM/console"
check "a console request that does not switch protocols is refused (426)" is_err 426 upgrade_required

fc vm stop vm1 --tenant "$T" --wait --timeout 60 >/dev/null || nok "the VM stops"
fc vm console vm1 --tenant "$T" </dev/null >/dev/null 2>"$work/c4.err"
check "a stopped VM's console is refused with exit 6 (409)" test $? -eq 6
check "naming the fix" grep -q "finctl vm start" "$work/c4.err"
API_HEADER="Upgrade: fincloud-console" api GET "/v1/vms/$VM/console"
check "through the API: 409 not_running" is_err 409 not_running
check "a stopped VM's log still reads" \
	sh -c "'$finctl' vm console-log vm1 --tenant '$T' --tail 1 >'$work/stopped.log' && [ -s '$work/stopped.log' ] && tail -n 1 '$LOG' | cmp -s - '$work/stopped.log'"
fc vm delete vm1 --tenant "$T" --wait --timeout 60 >/dev/null || nok "the VM is deleted"

echo "# $(date +%T) a round trip through a guest"
# ---- a round trip through a guest that answers --------------------------
# The test image (scripts/build-image.sh) keeps a root shell on its serial
# console: typed through finctl, a command runs in the guest and its
# output comes back. Its disk replaces the VM's empty one while it is
# stopped (the image catalogue is another part's).
if bash "$FC_TOP/scripts/build-image.sh" "$work/guest.qcow2" >"$work/image.log" 2>&1; then
	fc flavor create small --vcpus 1 --mem-mib 128 --disk-gib 1 >/dev/null
	fc vm create --tenant "$T" --flavor small --name vm2 --wait --timeout 120 >/dev/null &&
		fc vm stop vm2 --tenant "$T" --wait --timeout 60 >/dev/null ||
		nok "a second VM is created and stopped"
	VM2=$(fc -o json vm show vm2 --tenant "$T" | jq -r .id)
	cp "$work/guest.qcow2" "$work/disks/$VM2.qcow2"
	fc vm start vm2 --tenant "$T" --wait --timeout 60 >/dev/null || nok "it starts from the test image"
	check "the guest's ready line is in its console log" \
		wait_for 180 sh -c "'$finctl' vm console-log vm2 --tenant '$T' 2>/dev/null | grep -q '^fincloud-ready hostname=fincloud'"
	rt() { # the shell may still be starting: type until it answers
		printf '\necho fcc-$((6*7))-rt\n' |
			FINCLOUD_TOKEN=$TOK "$finctl" vm console vm2 --linger 3 >"$work/rt.out" 2>&1
		grep -q "^fcc-42-rt" "$work/rt.out"
	}
	check "a command typed through finctl vm console runs in the guest and its answer comes back" \
		wait_for 60 rt
	# on a terminal (script(1) gives finctl one): raw mode, the detach
	# key, and the terminal's mode as it was afterwards
	(sleep 6; printf 'echo tty-$((5*5))-ok\r'; sleep 5; printf '\035') |
		script -qec "stty -g >'$work/stty.before'; FINCLOUD_TOKEN=$TOK '$finctl' vm console vm2; echo rc=\$? >'$work/tty.rc'; stty -g >'$work/stty.after'" /dev/null >"$work/tty.out" 2>&1
	check "on a terminal, what is typed runs in the guest" grep -aq "^tty-25-ok" "$work/tty.out"
	check "Ctrl-] detaches (exit 0)" sh -c "grep -q 'rc=0' '$work/tty.rc' && grep -aq 'detached' '$work/tty.out'"
	check "and the terminal's mode is restored" cmp -s "$work/stty.before" "$work/stty.after"
	check "the session left an audit row with its length" \
		test "$(db "SELECT count(*) FROM audit WHERE action = 'vm.console.end' AND target LIKE 'vm:$VM2 %seconds=%'")" -ge 1
	fc vm delete vm2 --tenant "$T" --wait --timeout 60 >/dev/null || nok "the second VM is deleted"
else
	echo "# the test image cannot be built here:"; tail -3 "$work/image.log" | sed 's/^/#   /'
	ok "a round trip through a guest # SKIP scripts/build-image.sh fails (scripts/deps.sh --image)"
fi

validate_responses
echo "# agent log tail:"; tail -n 8 "$work/agent.log" | sed 's/^/#   /'
[ "$nfail" -eq 0 ]

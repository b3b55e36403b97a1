#!/usr/bin/env bash
# When a host dies (controller/ha.h), with curl acting as the agents and
# stand-ins for Ceph's `ceph` tool and a fence agent that record their
# arguments and answer with the exit status the test sets:
#   - N+1 reserve: a pool with ha_reserve n+1 refuses an HA VM once some
#     host's HA VMs would not fit on the others (409 ha_reserve), and
#     `finctl util show` says whether it holds;
#   - a silent host goes suspect, then failed; its fence fails while
#     `ceph osd blocklist add` fails (nothing restarts), then succeeds
#     (the controller's cephx identity, the host's storage address, its
#     fence agent with host and BMC address): its Ceph VMs with ha
#     restart go to other hosts, highest priority first; its local HA VM
#     is lost with its last state; its VM without HA stays, unknown;
#     every step is a task, an audit entry and a metric;
#   - the host's return: its desired state deletes the restarted VMs
#     (no storage: their disks are not touched), unfence is refused while
#     it holds them, and once it reports them gone it is unfenced
#     (`ceph osd blocklist rm`);
#   - a host without a fence agent: its VMs restart only once its
#     agent's self-fence has surely destroyed them (its last heartbeat +
#     the long-poll hold + the self_fence_s it reported + 2 s); with an
#     agent that does not fence itself, not until an operator's evacuate
#     says the host is off;
#   - a VM with a port on a provider network restarts only on a host
#     that reports the network's interface: none (it stays, saying
#     why), then one that does;
#   - evacuate: refused (409) while a host heartbeats, accepted once it
#     is silent;
#   - the partition guard: most hosts silent at once stay suspect.
. "$FC_TOP/tests/integration/ctrl_lib.bash"
command -v qemu-img >/dev/null || { echo "SKIP: qemu-img is missing"; exit 77; }

# the stand-ins: `ceph` on the controller's PATH, the fence agent in its
# fence_agents_dir; each appends its arguments to a log and exits with
# the status in its .rc file (0 when there is none)
mkdir -p "$work/bin" "$work/fence"
cat >"$work/bin/ceph" <<EOF
#!/bin/sh
echo "\$*" >>"$work/ceph.log"
exit \$(cat "$work/ceph.rc" 2>/dev/null || echo 0)
EOF
cat >"$work/fence/ipmi-test" <<EOF
#!/bin/sh
echo "\$*" >>"$work/fence.log"
exit \$(cat "$work/fence.rc" 2>/dev/null || echo 0)
EOF
chmod +x "$work/bin/ceph" "$work/fence/ipmi-test"
: >"$work/ceph.log"
: >"$work/fence.log"
echo 1 >"$work/ceph.rc"
printf '[client.fincloud-controller]\n\tkey = AQ==\n' >"$work/keyring"

# intervals of 3 s: the heartbeat loop below is shell, slow on a loaded
# machine, and a stall of a whole suspect window would make a live host
# suspect (as it should)
PATH="$work/bin:$PATH" ctrl_start --heartbeat-interval 3 --heartbeat-timeout 12 \
	--ha-suspect-intervals 2 --ha-fail-intervals 5 --ha-fence-retry 1 \
	--ha-fence-timeout 10 --ceph-keyring "$work/keyring" \
	--fence-agents-dir "$work/fence" || { nok "controller starts"; exit 1; }

# alive NODE...: these nodes heartbeat from now on (a loop in the
# background, every 0.3 s, listing the VMs the store puts on each as
# running); dead NODE...: they stop
: >"$work/alive"
alive() { for h in "$@"; do echo "$h" >>"$work/alive"; done; }
dead() { for h in "$@"; do sed -i "/^$h\$/d" "$work/alive"; done; }
INV=$(inventory 8 16384 100)
beat() { # NODE DOMAINS_JSON [MORE_FIELDS]: one heartbeat, not recorded
	curl -s -m 10 -o /dev/null -X POST -H "Authorization: Bearer ${CRED[$1]}" \
		-H 'Content-Type: application/json' --data-binary \
		"{\"generation_seen\":0,\"status\":\"ok\",\"inventory\":$INV,\"domains\":$2,\"foreign_domains\":[],\"tasks\":[]${3:+,$3}}" \
		"$URL/v1/agents/$1/heartbeat"
}
keep_alive() {
	local h v d placed
	while :; do
		placed=$(db "SELECT host || ' ' || id FROM vms WHERE desired = 'running'" 2>/dev/null)
		while read -r h; do
			d=
			while read -r ph v; do
				[ "$ph" = "$h" ] && d="$d${d:+,}$(domain "$v" running)"
			done <<<"$placed"
			beat "$h" "[$d]" "$(cat "$work/extra.$h" 2>/dev/null)"
		done <"$work/alive"
		sleep 0.2
	done
}

api POST /v1/tokens '{"role":"join","uses":100}'
JOIN=$(jv .token)
for h in n1 n2 n3 n4; do register_fake "$h" 8 16384 100; done
api POST /v1/pools '{"name":"tight","ha_reserve":"n+1"}'
check "a pool is created with an N+1 reserve" eval 'is 201 && [ "$(jv .ha_reserve)" = n+1 ]'
for h in t1 t2; do register_fake "$h" 8 16384 100 tight; done
check "six fake nodes registered" test "$(db 'SELECT count(*) FROM hosts')" = 6
alive n1 n2 n3 n4 t1 t2
keep_alive &
pids+=($!)

api POST /v1/tenants '{"name":"loan","pools":["default"]}'
api POST /v1/tenants '{"name":"pay","pools":["tight"]}'
api POST /v1/flavors '{"name":"small","vcpus":1,"mem_mib":512,"disk_gib":1}'
api POST /v1/flavors '{"name":"half","vcpus":4,"mem_mib":8192,"disk_gib":10}'
api POST /v1/storage '{"name":"rbd","type":"ceph","ceph_pool":"vms","monitors":["10.0.0.1:6789"],"client":"fincloud-{node}","replicas":3}'
api POST /v1/flavors '{"name":"rbd-small","vcpus":1,"mem_mib":512,"disk_gib":1,"storage":"rbd"}'
qemu-img create -q -f qcow2 "$work/base.qcow2" 16M
api_file POST '/v1/images?name=base' "$work/base.qcow2"
check "the image is uploaded" is 201

# --- the N+1 reserve ---------------------------------------------------------
api POST /v1/vms '{"tenant":"pay","flavor":"half","name":"p1","ha":"restart"}'
check "a first HA VM fits the reserve" eval 'is 201 && [ "$(jv .ha)" = restart ]'
api POST /v1/vms '{"tenant":"pay","flavor":"half","name":"p2","ha":"restart"}'
check "a second one on the other host still does" eval 'is 201 && [ "$(jv .ha)" = restart ]'
out=$("$finctl" util show tight)
check "finctl util show says the reserve holds" eval 'grep -q "ha reserve: n+1, holds" <<<"$out"'
api POST /v1/vms '{"tenant":"pay","flavor":"half","name":"p3","ha":"restart"}'
check "a third HA VM is refused: 409 ha_reserve naming the pool and the fix" \
	eval 'is_err 409 ha_reserve ha && has "pool .tight." && has "ha none"'
check "the refused VM is not recorded" test "$(db "SELECT count(*) FROM vms WHERE name = 'p3'")" = 0
api POST /v1/vms '{"tenant":"pay","flavor":"half","name":"p3","ha":"none"}'
check "the same VM without HA is placed" eval 'is 201 && [ "$(jv .ha)" = none ]'
api PATCH "/v1/vms/$(jv .id)" '{"ha":"restart"}'
check "making it HA later is refused by the reserve too" is_err 409 ha_reserve ha
api POST /v1/vms '{"tenant":"pay","flavor":"half","name":"p4","ha":"always"}'
check "an unknown HA policy is refused naming ha" is_err 400 invalid_field ha
api PATCH /v1/pools/tight '{"ha_reserve":"all"}'
check "an unknown reserve is refused naming ha_reserve" is_err 400 invalid_field ha_reserve
api GET /v1/pools/tight/utilization
check "a VM without HA may eat the reserve: the pool's utilization says it no longer holds, naming the host" \
	eval 'is 200 && jqt ".ha_reserve.policy == \"n+1\" and (.ha_reserve.holds | not)" && has "HA VMs of host .t[12]. would not fit"'
out=$("$finctl" util show tight)
check "and so does finctl util show" eval 'grep -q "ha reserve: n+1, does not hold: .*host .t[12]." <<<"$out"'

# --- a host's fencing settings ------------------------------------------------
api PATCH /v1/hosts/n1 '{"storage_address":"nope"}'
check "a storage address that is not an IP address is refused" is_err 400 invalid_field storage_address
api PATCH /v1/hosts/n1 '{"fence_command":"../bin/sh"}'
check "a fence command that is not a plain file name is refused" is_err 400 invalid_field fence_command
api PATCH /v1/hosts/n1 '{"fence_address":"a b"}'
check "a fence address with a blank is refused" is_err 400 invalid_field fence_address
out=$("$finctl" -o json host set n1 --storage-address 192.0.2.11 --fence-command ipmi-test --fence-address 10.9.9.1 2>&1)
body=$out
check "finctl host set records the host's fencing" \
	eval '[ -n "$out" ] && jq -e ".ha.storage_address == \"192.0.2.11\" and .ha.fence_command == \"ipmi-test\" and .ha.fence_address == \"10.9.9.1\" and .ha.state == \"ok\"" <<<"$out" >/dev/null'

# --- VMs on n1 (the others in maintenance while they are placed) -------------
for h in n2 n3 n4; do api PATCH "/v1/hosts/$h" '{"maintenance":true}'; done
api POST /v1/vms '{"tenant":"loan","flavor":"rbd-small","image":"base","name":"low","ha":"restart","ha_priority":10}'
LOW=$(jv .id)
out=$("$finctl" -o json vm create --tenant loan --flavor rbd-small --image base --name high --ha restart --ha-priority 50)
HIGH=$(jq -r .id <<<"$out")
check "finctl vm create --ha restart --ha-priority records the policy" \
	eval '[ -n "$out" ] && jq -e ".ha == \"restart\" and .ha_priority == 50" <<<"$out" >/dev/null'
api POST /v1/vms '{"tenant":"loan","flavor":"small","name":"loc","ha":"restart"}'
LOC=$(jv .id)
api POST /v1/vms '{"tenant":"loan","flavor":"rbd-small","image":"base","name":"plain"}'
PLAIN=$(jv .id)
check "a VM without a policy has ha none" eval '[ "$(jv .ha)" = none ] && [ "$(jv .ha_priority)" = 0 ]'
api PATCH "/v1/vms/$PLAIN" '{"ha_priority":5}'
check "PATCH changes a VM's HA priority" eval 'is 200 && [ "$(jv .ha_priority)" = 5 ] && [ "$(jv .ha)" = none ]'
api PATCH "/v1/vms/$PLAIN" '{"ha_priority":5000}'
check "an HA priority out of range is refused" is_err 400 invalid_field ha_priority
for h in n2 n3 n4; do api PATCH "/v1/hosts/$h" '{"maintenance":false}'; done
check "the four VMs are on n1" test "$(db "SELECT count(*) FROM vms WHERE host = 'n1'")" = 4
wait_for 10 eval '[ "$(db "SELECT count(*) FROM vms WHERE host = '"'n1'"' AND state = '"'running'"'")" = 4 ]'

# --- n1 dies; its fence fails first -------------------------------------------
dead n1
check "the silent host turns suspect (a suspect task, host.suspect)" \
	wait_for 30 eval 'api GET /v1/hosts/n1; [ "$(jv .ha.state)" = suspect ] || [ "$(jv .ha.state)" = failed ]'
check "suspect is audited" test "$(db "SELECT count(*) FROM audit WHERE action = 'host.suspect' AND target = 'host:n1'")" -ge 1
check "then failed, and its fence fails while ceph fails" \
	wait_for 40 eval '[ "$(db "SELECT count(*) FROM tasks WHERE type = '"'fence'"' AND state = '"'failed'"'")" -ge 1 ]'
api GET /v1/hosts/n1
check "the failed host says why (the fence step and its error)" \
	eval 'jqt ".ha.state == \"failed\"" && has "fence failed: ceph osd blocklist add 192.0.2.11"'
check "no VM moved while the fence fails" test "$(db "SELECT count(*) FROM vms WHERE host = 'n1'")" = 4
check "no fence agent ran before the storage fence succeeded" test ! -s "$work/fence.log"
check "a failed fence is audited (host.fence.failed)" \
	test "$(db "SELECT count(*) FROM audit WHERE action = 'host.fence.failed'")" -ge 1
check "the suspect task ended done when the host was confirmed failed" \
	test "$(db "SELECT state FROM tasks WHERE type = 'suspect' AND source_host = 'n1' ORDER BY seq DESC LIMIT 1")" = done

echo 0 >"$work/ceph.rc"
check "with ceph answering, the host is fenced" \
	wait_for 20 eval 'api GET /v1/hosts/n1; [ "$(jv .ha.state)" = fenced ]'
check "ceph blocklisted the host's storage address as the controller's cephx user" \
	grep -q -- "--id fincloud-controller --keyring $work/keyring -m 10.0.0.1:6789 osd blocklist add 192.0.2.11" "$work/ceph.log"
check "the fence agent ran with the host and its BMC address" grep -qx "n1 10.9.9.1" "$work/fence.log"
check "the host shows it is blocklisted" jqt '.ha.blocklisted'

# --- its VMs ---------------------------------------------------------------
host_of() { db "SELECT host FROM vms WHERE id = '$1'"; }
check "its Ceph HA VMs run elsewhere" eval '[ "$(host_of "$HIGH")" != n1 ] && [ "$(host_of "$LOW")" != n1 ]'
check "the higher priority was restarted first" \
	test "$(db "SELECT vm_id FROM tasks WHERE type = 'restart' ORDER BY seq LIMIT 1")" = "$HIGH"
check "each restart is a task naming the failed host and the new one" \
	test "$(db "SELECT count(*) FROM tasks WHERE type = 'restart' AND source_host = 'n1' AND target_host != ''")" = 2
check "restarts are audited (vm.restarted)" test "$(db "SELECT count(*) FROM audit WHERE action = 'vm.restarted'")" = 2
check "the restart tasks end done when the new hosts report the VMs running" \
	wait_for 20 eval '[ "$(db "SELECT count(*) FROM tasks WHERE type = '"'restart'"' AND state = '"'done'"'")" = 2 ]'
api GET "/v1/vms/$LOC"
check "its local HA VM is lost with its last state, not restarted" \
	eval 'jqt ".state == \"lost\" and .host == \"n1\"" && has "while the VM was running"'
check "a lost task (failed) and vm.lost record it" \
	eval '[ "$(db "SELECT state FROM tasks WHERE type = '"'lost'"' AND vm_id = '"'$LOC'"'")" = failed ] && [ "$(db "SELECT count(*) FROM audit WHERE action = '"'vm.lost'"'")" = 1 ]'
api GET "/v1/vms/$PLAIN"
check "its VM without HA stays on it, unknown" eval 'jqt ".state == \"unknown\" and .host == \"n1\""'
api GET /metrics "" -
check "metrics count hosts by HA state and the HA steps" \
	eval 'has "fincloud_hosts_ha{state=\"fenced\"} 1" && has "fincloud_ha_tasks{type=\"restart\",state=\"done\"} 2" && has "fincloud_ha_tasks{type=\"lost\",state=\"failed\"} 1"'
out=$("$finctl" -o json task list --state failed)
check "finctl task list shows the failed fence and the lost VM" \
	eval '[ -n "$out" ] && jq -e "[.[] | .type] | index(\"fence\") and index(\"lost\")" <<<"$out" >/dev/null'

# --- n1 returns: it deletes the restarted copies, then is unfenced -----------
api POST /v1/agents/n1/heartbeat "{\"generation_seen\":0,\"status\":\"ok\",\"inventory\":$(inventory 8 16384 100),\"domains\":[$(domain "$HIGH" running),$(domain "$LOW" shutoff),$(domain "$PLAIN" shutoff)],\"foreign_domains\":[],\"tasks\":[]}" "${CRED[n1]}"
check "the returning host's desired state deletes the VMs restarted elsewhere" \
	eval 'is 200 && jqt "[.vms[] | select(.vm_id == \"$HIGH\" or .vm_id == \"$LOW\") | .state] == [\"deleted\",\"deleted\"]"'
check "without their storage (the agent never removes their RBD disks)" \
	eval 'jqt "[.vms[] | select(.vm_id == \"$HIGH\" or .vm_id == \"$LOW\") | has(\"storage\")] == [false,false]"'
check "its VM without HA stays in its desired state" \
	eval 'jqt "[.vms[] | select(.vm_id == \"$PLAIN\")] | length == 1"'
api POST /v1/hosts/n1/unfence
check "unfence is refused while it may hold a restarted VM (409 naming it)" \
	eval 'is_err 409 evictions_pending && has "$HIGH\|$LOW"'
api GET /v1/hosts/n1
check "the host stays fenced, two evictions pending" eval 'jqt ".ha.state == \"fenced\" and .ha.evictions == 2"'
beat n1 "[$(domain "$PLAIN" running)]"
alive n1
check "once it reports them gone it is unfenced: ceph blocklist rm" \
	wait_for 20 grep -q -- "osd blocklist rm 192.0.2.11" "$work/ceph.log"
check "and the host is ok again (host.unfenced)" \
	wait_for 10 eval 'api GET /v1/hosts/n1; jqt ".ha.state == \"ok\" and (.ha.blocklisted | not)" && [ "$(db "SELECT count(*) FROM audit WHERE action = '"'host.unfenced'"'")" = 1 ]'
api POST /v1/hosts/n1/unfence
check "unfence of a host that is not fenced is refused (409)" is_err 409 not_fenced

# --- n4, without a fence agent: its VMs wait for its self-fence -------------
api PATCH /v1/hosts/n4 '{"storage_address":"192.0.2.14"}'
for h in n1 n2 n3; do api PATCH "/v1/hosts/$h" '{"maintenance":true}'; done
api POST /v1/vms '{"tenant":"loan","flavor":"rbd-small","image":"base","name":"sf","ha":"restart"}'
SF=$(jv .id)
for h in n1 n2 n3; do api PATCH "/v1/hosts/$h" '{"maintenance":false}'; done
check "an HA VM on Ceph runs on n4" test "$(host_of "$SF")" = n4
wait_for 10 eval '[ "$(db "SELECT state FROM vms WHERE id = '"'$SF'"'")" = running ]'
# first: its agent says it does not fence itself (self_fence_s 0)
dead n4
beat n4 "[$(domain "$SF" running)]" '"self_fence_s":0'
api GET /v1/hosts/n4
check "the host shows what its agent said of its self-fence (self_fence_s 0)" jqt '.ha.self_fence_s == 0 and (.ha.off | not)'
check "once fenced (Ceph blocklist only) its VM is not restarted: it may still run there" \
	wait_for 40 eval 'api GET /v1/hosts/n4; jqt ".ha.state == \"fenced\"" && has "does not fence itself" && has "finctl host evacuate n4"'
sleep 2
check "the VM stays on n4" test "$(host_of "$SF")" = n4
out=$("$finctl" -o json host evacuate n4 2>&1)
check "an operator's evacuate says it is off: the VM restarts elsewhere" \
	eval 'jq -e ".ha.off" <<<"$out" >/dev/null && wait_for 10 eval "[ \"\$(host_of "$SF")\" != n4 ]"'
beat n4 '[]'
check "n4 back without the VM is unfenced" \
	wait_for 20 eval 'api GET /v1/hosts/n4; jqt ".ha.state == \"ok\""'
# then: its agent fences itself within 16 s of its last answered heartbeat
# (the VM put back on n4 directly in the store: a migration needs agents)
db "UPDATE vms SET host = 'n4' WHERE id = '$SF'"
beat n4 "[$(domain "$SF" running)]" '"self_fence_s":16'
api GET /v1/hosts/n4
check "the host shows its self-fence window (self_fence_s 16)" jqt '.ha.self_fence_s == 16'
check "once fenced its VM waits for the agent's self-fence" \
	wait_for 40 eval 'api GET /v1/hosts/n4; jqt ".ha.state == \"fenced\"" && has "once its agent has fenced itself"'
check "the VM is still on n4 meanwhile" test "$(host_of "$SF")" = n4
check "its restart is due at its last heartbeat + 3 s (long-poll hold) + 16 s + 2 s" \
	test "$(db "SELECT fence_next_ms - last_seen_ms FROM hosts WHERE name = 'n4'")" = 21000
check "and then it restarts elsewhere" wait_for 30 eval '[ "$(host_of "$SF")" != n4 ]'
beat n4 '[]'
check "n4 back without the VM is unfenced again" \
	wait_for 20 eval 'api GET /v1/hosts/n4; jqt ".ha.state == \"ok\""'
alive n4

# --- provider networks constrain the restart ---------------------------------
# n4 alone reports eth1, the provider network's interface
echo '"interfaces":["eth1"]' >"$work/extra.n4"
api POST /v1/networks '{"name":"pub","provider":"flat","interface":"eth1","pool":"default","shared_with":["loan"],"cidr":"192.168.50.0/24"}'
check "a flat provider network on eth1" is 201
wait_for 10 eval 'api GET /v1/hosts/n4; jqt ".interfaces == [\"eth1\"]"'
api POST /v1/vms '{"tenant":"loan","flavor":"rbd-small","image":"base","name":"pv","ha":"restart","networks":[{"network":"pub"}]}'
PV=$(jv .id)
check "an HA VM with a port on it is placed on n4, the one host with eth1" test "$(host_of "$PV")" = n4
wait_for 10 eval '[ "$(db "SELECT state FROM vms WHERE id = '"'$PV'"'")" = running ]'
dead n4
wait_for 30 eval '[ "$(db "SELECT ha_state FROM hosts WHERE name = '"'n4'"'")" = suspect ]'
"$finctl" host evacuate n4 >/dev/null 2>&1
check "n4 dies: no other host reports eth1, so the VM is not restarted, and says why" \
	wait_for 20 eval 'api GET "/v1/vms/$PV"; has "ha: not restarted" && has "eth1"'
check "it stays on n4" test "$(host_of "$PV")" = n4
echo '"interfaces":["eth1"]' >"$work/extra.n3"
check "once n3 reports eth1 the VM restarts there (the next try, ha_fence_retry)" \
	wait_for 20 eval '[ "$(host_of "$PV")" = n3 ]'
api DELETE "/v1/vms/$PV"
wait_for 20 eval '[ "$(db "SELECT count(*) FROM vms WHERE id = '"'$PV'"'")" = 0 ]'
beat n4 '[]'
wait_for 20 eval 'api GET /v1/hosts/n4; jqt ".ha.state == \"ok\""'
alive n4

# --- evacuate -------------------------------------------------------------------
out=$("$finctl" host evacuate n3 2>&1)
rc=$?
check "finctl host evacuate refuses a host that heartbeats (non-zero exit), naming it and the fix" \
	eval '[ $rc -ne 0 ] && grep -q "host .n3. still heartbeats" <<<"$out" && grep -q "finctl host drain n3" <<<"$out"'
dead n3
wait_for 30 eval '[ "$(db "SELECT ha_state FROM hosts WHERE name = '"'n3'"'")" = suspect ]'
out=$("$finctl" -o json host evacuate n3 2>&1)
body=$out
check "finctl host evacuate fails a silent host at once" eval '[ -n "$out" ] && jq -e ".ha.state == \"failed\"" <<<"$out" >/dev/null'
check "which is then fenced (no fence step configured for it)" \
	wait_for 20 eval 'api GET /v1/hosts/n3; jqt ".ha.state == \"fenced\"" && has "no fence step configured"'

# --- the partition guard ---------------------------------------------------
# n1, n2, n4 are the pool's live hosts (n3 is fenced): all three go silent
dead n1 n2 n4
# held shows once they are silent for ha_fail_intervals and down
wait_for 40 eval '[ "$(db "SELECT count(*) FROM hosts WHERE name IN ('"'n1','n2','n4'"') AND ha_reason LIKE '"'partition guard%'"'")" = 3 ]'
sleep 2
api GET /v1/hosts/n2
check "most hosts silent at once are held suspect, not failed" \
	eval 'jqt ".ha.state == \"suspect\"" && has "partition guard: [23] of 3 live hosts of pool .default."'
check "holding them is audited (host.ha.held)" \
	test "$(db "SELECT count(*) FROM audit WHERE action = 'host.ha.held' AND target = 'host:n2'")" -ge 1
check "no host of the wave failed" \
	test "$(db "SELECT count(*) FROM hosts WHERE name IN ('n1','n2','n4') AND ha_state != 'suspect'")" = 0
alive n1 n2 n4
check "their heartbeats bring them back to ok, their suspect tasks failed" \
	wait_for 10 eval '[ "$(db "SELECT count(*) FROM hosts WHERE name IN ('"'n1','n2','n4'"') AND ha_state = '"'ok'"'")" = 3 ]'

api GET /v1/audit/verify
check "the audit chain is intact" jqt '.ok'
validate_responses
[ "$nfail" -eq 0 ] || grep -i "error\|warn" "$work/controller.log" | tail -40 | sed 's/^/# /'
echo "1..$n"
[ "$nfail" -eq 0 ]

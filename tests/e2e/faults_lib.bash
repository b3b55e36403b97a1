# shellcheck shell=bash
# tests/e2e/faults_lib.bash: the fault-injection suite's shared part
# (sourced by tests/e2e/faults_*.sh after lib.sh; not run by itself).
#
# A case is OPERATION/VICTIM/POINT: the operation is started on a running
# testbed, the victim (an agent, a libvirtd or the controller) is killed
# with SIGKILL at the point, started again, and then the invariants of
# issue 19 must hold (faults_problems). docs/testbed.md "Fault
# injection" lists the cases and how to replay a run.
#
# The seed (FAULTS_SEED, printed first; by default taken from the clock)
# picks one point for every (operation, victim) pair, so each run covers
# every pair; FAULTS_ALL=1 runs every point; FAULTS_ONLY (a glob over
# OPERATION/VICTIM/POINT) keeps the matching cases only.

FAULTS_SEED=${FAULTS_SEED:-$(($(date +%s) % 100000))}
FAULTS_ALL=${FAULTS_ALL:-0}
FAULTS_ONLY=${FAULTS_ONLY:-*}
# seconds the invariants may take to hold again after the victim is back
FAULTS_SETTLE_S=${FAULTS_SETTLE_S:-120}
# migration speed (MiB/s) while a case waits for the copy: with the
# testbed's 1 GiB disks the copy takes about 5 s; the memory pass after
# it is slowed to 1 MiB/s so the final phase can be met
FAULTS_COPY_MIBS=${FAULTS_COPY_MIBS:-200}
RANDOM=$FAULTS_SEED

faults_cases=()
faults_pass=0
faults_fail=0

# faults_plan "OP ..." "VICTIM ..." "POINT ...": the cases of this file
# into faults_cases, in a fixed order; the seed picks the points
faults_plan() {
	local ops=($1) victims=($2) points=($3) op v p
	for op in "${ops[@]}"; do
		for v in "${victims[@]}"; do
			if [ "$FAULTS_ALL" = 1 ]; then
				for p in "${points[@]}"; do faults_cases+=("$op/$v/$p"); done
			else
				faults_cases+=("$op/$v/${points[RANDOM % ${#points[@]}]}")
			fi
		done
	done
	local keep=() c
	for c in "${faults_cases[@]}"; do
		# shellcheck disable=SC2053
		[[ $c == $FAULTS_ONLY ]] && keep+=("$c")
	done
	faults_cases=("${keep[@]}")
	echo "# FAULTS_SEED=$FAULTS_SEED FAULTS_ALL=$FAULTS_ALL: ${#faults_cases[@]} case(s): ${faults_cases[*]}"
	echo "# replay: FAULTS_SEED=$FAULTS_SEED tests/run.sh build 'e2e/$(basename "$0" .sh)'"
}

tb() { # testbed.sh COMMAND ARGS... on this test's testbed
	bash "$TESTBED" "$@" --dir "$E2E_DIR/tb" >>"$E2E_DIR/faults.log" 2>&1
}

f() { e2e_finctl "$@" >/dev/null 2>&1; }

node_no() { echo "${1#node}"; } # nodeN -> N

# ------------------------------------------------------------ victims
# faults_victim kill|start VICTIM: SIGKILL it, or start it again.
# VICTIM is controller, or agent:N or libvirtd:N (node N).
faults_victim() {
	local n=''
	[[ $2 == *:* ]] && n=${2#*:}
	# faults_problems() waits for every node to report after a start
	[ "$1" = start ] && FAULTS_SINCE_MS=$(($(date +%s%N) / 1000000))
	# shellcheck disable=SC2086
	tb "${2%%:*}-$1" $n
}

# faults_op CMD...: the operation (finctl CMD...); how it went into OUT
faults_op() {
	local out rc=0
	out=$(e2e_finctl "$@" 2>&1) || rc=$?
	if [ "$rc" -eq 0 ]; then
		OUT="the operation was accepted"
	else
		OUT="the operation was refused (exit $rc: $(printf '%s' "$out" | head -1 | cut -c1-160))"
	fi
	return "$rc"
}

# faults_before VICTIM CMD...: the victim is down when the operation
# comes (the controller: it was killed and started again just before)
faults_before() {
	local who=$1
	shift
	PHASE="before the operation"
	faults_victim kill "$who"
	if [ "$who" = controller ]; then
		faults_victim start "$who"
		PHASE="before the operation (controller killed and started again first)"
	fi
	faults_op "$@"
	sleep 2
	[ "$who" = controller ] || faults_victim start "$who"
}

# faults_kill_start VICTIM PAUSE: kill it, PAUSE seconds, start it again
faults_kill_start() {
	faults_victim kill "$1"
	sleep "$2"
	faults_victim start "$1"
}

# faults_setup POLICY: the pool's policy, flavor tiny, tenant loan; ends
# the test when they cannot be made
faults_setup() {
	f pool update default --cpu-ratio 4 --policy "$1" &&
		f flavor create tiny --vcpus 1 --mem-mib 64 --disk-gib 1 &&
		f tenant create loan ||
		{
			e2e_fail "pool, flavor and tenant"
			exit 1
		}
}

# ------------------------------------------------------------ migrations
# The active migration job of VM on node N, one line: "none", or
# "starting", "copy (...)" (the disk copy has begun) or "final (...)"
# (disk copied, the memory pass runs). Fails when the node's libvirt does
# not answer, or the domain is not there.
job_phase() {
	local info m
	info=$(e2e_virsh "$1" domjobinfo "$2" 2>/dev/null) || return 1
	if ! grep -q 'Operation: *Outgoing migration' <<<"$info" ||
		grep -q 'Job type: *None' <<<"$info"; then
		echo none
	elif grep -qE 'Memory processed:' <<<"$info" || grep -qE 'File remaining: *0\.000 B' <<<"$info"; then
		m=$(awk -F': *' '$1 == "Memory remaining" { print $2 }' <<<"$info" | tr -d ' ')
		echo "final (disk copied, memory pass: ${m:-all} of the memory left)"
	elif grep -qE 'File processed: *[1-9]' <<<"$info"; then
		echo "copy ($(awk -F': *' '$1 == "File processed" { print $2 }' <<<"$info" | tr -d ' ') of the disk copied)"
	else
		echo starting
	fi
}

# throttle N VM MIBS: VM's next (or current) migration from node N
throttle() { e2e_virsh "$1" migrate-setspeed "$2" "$3" >/dev/null 2>&1; }

# Every migration job of the testbed at full speed again.
unthrottle() {
	local i u
	for ((i = 1; i <= ${#E2E_URIS[@]}; i++)); do
		for u in $(e2e_virsh "$i" list --uuid 2>/dev/null); do
			throttle "$i" "$u" 100000
		done
	done
}

# wait_phase N VM WANT: until VM's migration from node N reaches WANT
# (copy or final); the phase met into PHASE. Returns 1 when the job ended
# first (PHASE says so), or did not start within 60 s.
wait_phase() {
	local n=$1 vm=$2 want=$3 i ph seen=0
	PHASE="no migration started within 30 s"
	for ((i = 0; i < 300; i++)); do
		ph=$(job_phase "$n" "$vm") || ph=gone
		echo "$(date +%T.%N) wait_phase node $n vm $vm: $ph" >>"$E2E_DIR/faults.log"
		case $ph in
		copy*)
			seen=1
			if [ "$want" = copy ]; then PHASE=$ph; return 0; fi
			# the disk goes on at its speed; the memory pass after it
			# crawls, so the final phase lasts long enough to be met
			throttle "$n" "$vm" 1
			;;
		final*)
			PHASE=$ph
			[ "$want" = final ] && return 0
			PHASE="$ph (the copy was over)"
			return 1
			;;
		none | gone)
			if [ "$seen" = 1 ]; then
				PHASE="after: the migration ended before the $want phase was met"
				return 1
			fi
			;;
		esac
		sleep 0.1
	done
	return 1
}

# wait_moved VM FROM TO: until libvirt has finished VM's migration (it
# runs on node TO and is gone from node FROM), 60 s at most
wait_moved() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ "$(e2e_nodes_of "$1")" = "$3" ] &&
			[ "$(e2e_dominfo "$3" "$1" State)" = running ] && return 0
		sleep 0.1
	done
	return 1
}

# The first migrate task of VM (or of any VM when VM is empty) started
# after task sequence mark, "vm source target", waiting up to 30 s.
first_move() {
	local i out
	for ((i = 0; i < 150; i++)); do
		out=$(e2e_finctl -o json task list --limit 1000 2>/dev/null | e2e_json "
[f\"{t['vm_id']} {t['source_host']} {t['target_host']}\" for t in d if t['type'] == 'migrate' and t['id'] not in '''$MARK''' and ('$1' == '' or t['vm_id'] == '$1')][:1]" 2>/dev/null)
		case $out in '["'*) e2e_json 'd[0]' <<<"$out"; return 0 ;; esac
		sleep 0.2
	done
	return 1
}

# Remember the tasks there are now (first_move() looks past them).
mark_tasks() {
	MARK=$(e2e_finctl -o json task list --limit 1000 2>/dev/null | e2e_json "' '.join(t['id'] for t in d)" 2>/dev/null)
}

# ------------------------------------------------------------ invariants
# The invariants of issue 19 as they stand now; one line per problem,
# nothing when they all hold:
#   - every host is up and ok (the victim is back), has reported since
#     the victim was started again and applied its latest desired state;
#   - every task has ended (done, failed or cancelled);
#   - each VM runs on at most one node, the one the controller names
#     (running, or paused as a migration's target leaves it), and is in
#     the state asked for (running or stopped) with no error;
#     no deleted VM is left over;
#   - no node has a fincloud domain without a VM record;
#   - each host's claims (allocated vCPUs and memory) are what its node
#     holds: the sizes of the domains defined there.
faults_problems() {
	local d=$E2E_DIR/inv i u st
	mkdir -p "$d"
	e2e_finctl -o json vm list >"$d/vms.json" 2>&1 || { echo "finctl vm list: $(head -c 300 "$d/vms.json")"; return 0; }
	e2e_finctl -o json host list >"$d/hosts.json" 2>&1 || { echo "finctl host list: $(head -c 300 "$d/hosts.json")"; return 0; }
	e2e_finctl -o json task list --limit 1000 >"$d/tasks.json" 2>&1 || { echo "finctl task list: $(head -c 300 "$d/tasks.json")"; return 0; }
	: >"$d/doms"
	for ((i = 1; i <= ${#E2E_URIS[@]}; i++)); do
		if ! e2e_virsh "$i" version >/dev/null 2>&1; then
			echo "node $i: libvirt does not answer"
			continue
		fi
		for u in $(e2e_virsh "$i" list --all --uuid 2>/dev/null); do
			# gone since it was listed: not there
			st=$(e2e_virsh "$i" domstate "$u" 2>/dev/null | head -1) || continue
			[ -n "$st" ] && echo "$i $u ${st// /_}" >>"$d/doms"
		done
	done
	# a check that fails is a problem, never a pass
	if ! $PY - "$d" "${FAULTS_VM_VCPUS:-1}" "${FAULTS_VM_MEM:-64}" "${FAULTS_SINCE_MS:-0}" 2>"$d/err" <<'EOF'
import json, sys, os
d, vcpus, mem, since = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
load = lambda n: json.load(open(os.path.join(d, n)))
vms, hosts, tasks = load('vms.json'), load('hosts.json'), load('tasks.json')
doms = [l.split() for l in open(os.path.join(d, 'doms')) if l.strip()]
active = ('running', 'paused', 'blocked', 'in_shutdown', 'pmsuspended')
byid = {v['id']: v for v in vms}
for h in hosts:
    if h['state'] != 'up' or h['status'] != 'ok':
        print(f"host {h['name']} is {h['state']}/{h['status']} {h.get('degraded_reason', '')}")
    elif h['last_seen_ms'] < since:
        print(f"host {h['name']} has not reported since the victim came back")
    elif h['generation_seen'] < h['generation']:
        print(f"host {h['name']} has not applied its desired state yet ({h['generation_seen']:g} < {h['generation']:g})")
for t in tasks:
    if t['state'] in ('pending', 'running'):
        print(f"task {t['id']} ({t['type']} {t.get('vm_id') or ''}) is still {t['state']}")
for v in vms:
    on = [n for n, u, s in doms if u == v['id'] and s in active]
    where = [n for n, u, s in doms if u == v['id']]
    host = v['host']
    running = [n for n, u, s in doms if u == v['id'] and s == 'running']
    if len(running) > 1:
        print(f"vm {v['id']} is running on nodes {running} at once")
    elif len(on) > 1:
        print(f"vm {v['id']} runs on nodes {on}")
    for n in on:
        if f"node{n}" != host:
            print(f"vm {v['id']} runs on node{n}; the controller names {host}")
    if v['desired_state'] == 'deleted':
        print(f"vm {v['id']} is still recorded (being deleted; on nodes {where})")
    elif v['desired_state'] == 'running' and (v['state'] != 'running' or on != [host[4:]]):
        print(f"vm {v['id']} is {v['state']} (desired running) on {host}; running on nodes {on}")
    elif v['desired_state'] == 'stopped' and (v['state'] != 'stopped' or on or host[4:] not in where):
        print(f"vm {v['id']} is {v['state']} (desired stopped) on {host}; defined on nodes {where}, active on {on}")
    if v.get('error'):
        print(f"vm {v['id']}: error {v['error']}")
for n, u, s in doms:
    if u not in byid:
        print(f"node{n} has fincloud domain {u} ({s}) with no VM record")
for h in hosts:
    n = h['name'][4:]
    held = sum(1 for m, u, s in doms if m == n)
    a = h['allocated']
    if a['vcpus'] != held * vcpus or a['mem_mib'] != held * mem:
        print(f"host {h['name']} claims {a['vcpus']:g} vCPUs / {a['mem_mib']:g} MiB; its node holds {held} domain(s) of {vcpus} vCPU / {mem} MiB")
EOF
	then
		echo "the invariant check failed: $(tail -1 "$d/err")"
	fi
}

# faults_settle: until the invariants hold (0) or FAULTS_SETTLE_S pass
# (1, the last problems in PROBLEMS); the seconds taken into SETTLED_S.
# A VM seen running on two nodes in two samples in a row fails the case
# even when it settles afterwards (one sample may straddle the switch-
# over of a live migration that is still under way).
faults_settle() {
	local t0=$SECONDS twice='' prev='' now
	while :; do
		PROBLEMS=$(faults_problems)
		SETTLED_S=$((SECONDS - t0))
		now=$(grep 'at once$' <<<"$PROBLEMS")
		if [ -n "$now" ] && [ -n "$prev" ] && [ -z "$twice" ]; then
			twice="meanwhile (after ${SETTLED_S} s): $now"
		fi
		prev=$now
		if [ -z "$PROBLEMS" ] && [ -n "$twice" ]; then
			PROBLEMS=$twice
			return 1
		fi
		[ -z "$PROBLEMS" ] && return 0
		[ "$SETTLED_S" -ge "$FAULTS_SETTLE_S" ] && return 1
		sleep 1
	done
}

# faults_report CASE WHAT: the case's TAP line after the settle
faults_report() {
	if faults_settle; then
		faults_pass=$((faults_pass + 1))
		e2e_ok "$1: $2; invariants hold after ${SETTLED_S} s (case ${FAULTS_T0:+$((SECONDS - FAULTS_T0)) s})"
	else
		faults_fail=$((faults_fail + 1))
		mapfile -t lines <<<"$PROBLEMS"
		e2e_fail "$1: $2; invariants still broken after ${SETTLED_S} s" "${lines[@]}" \
			"logs: $(faults_keep_logs "$1")"
		# the next case starts from a clean testbed or not at all
		unthrottle
	fi
}

# faults_keep_logs CASE: the testbed's logs as they are now into
# BUILD/test-logs/faults/SEED/CASE (printed)
faults_keep_logs() {
	local to=$FC_BUILD/test-logs/faults/$FAULTS_SEED/${1//\//-}
	mkdir -p "$to"
	(cd "$E2E_DIR" && find . -name '*.log' -type f -print0 |
		xargs -0 -r cp --parents -t "$to" --) 2>/dev/null
	cp -r "$E2E_DIR/inv" "$to/" 2>/dev/null
	echo "$to"
}

faults_summary() {
	echo "# seed $FAULTS_SEED: ${#faults_cases[@]} case(s), $faults_pass passed, $faults_fail failed"
}

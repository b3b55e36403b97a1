#!/usr/bin/env bash
# scripts/bench-image.sh BUILD_DIR: guests from an image, fincloud against
# the raw tools, on a real 3-node testbed (prefix fbi, subnet 10.250.200),
# in one run. FC_BENCH_IMAGE_PARTS="provision fetch" (the default) names
# the parts to run.
#
#  1. provisioning: 20 guests (1 vCPU, 96 MiB, 1 GiB overlay) from the
#     test image (docs/images.md) created with "finctl vm create --image"
#     (one after the other, no --wait) until virsh on the nodes shows all
#     20 running, against the same guests created by raw virsh from the
#     host, per node one stream of: overlay on the node's cached image
#     (qemu-img create -b, the base named by its path in the node), a NoCloud
#     seed (genisoimage, as the agent writes it), define of the agent's
#     own domain XML renamed, start; the three nodes in parallel with as
#     many guests each as fincloud placed there. fincloud's time includes
#     each node's first fetch of the 16 MiB image. Target: ratio <= 1.3.
#  2. image fetch: a 256 MiB raw image (random bytes) fetched by the agent
#     of each node (a VM from it placed there; timed as the agent logs
#     it, from its temporary file's creation to the checked image renamed
#     into place, so its SHA-256 check and flush are included) against
#     curl inside the same node fetching the same URL the agent uses
#     (its controller_url, GET /v1/agents/NODE/images/SHA256) with the
#     agent's TLS files (CA, client certificate and key) and credential,
#     into the same directory, flushed the same way (fdatasync: sync -d),
#     timed inside the node from curl's start to the flush's end. One
#     fetch at a time: each node's agent fetch, then curl's on the same
#     node, so that both meet the same load; FC_BENCH_IMAGE_ROUNDS
#     (default 3) rounds of the 3 nodes, a new image each; MB/s, median
#     over all fetches of each.
#     Target: agent >= 80% of curl.
#
# Exits 77 (with a SKIP line) where the testbed cannot run, 1 when a
# measurement failed, else 0 (a missed target is reported, not an error).
set -u
build=${1:?usage: scripts/bench-image.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$top/$build ;; esac
export FC_TOP=$top FC_BUILD=$build FC_BIN=$build/bin
export E2E_NO_LOG_TAILS=1
# shellcheck source=../tests/e2e/lib.sh
. "$top/tests/e2e/lib.sh"

N=${FC_BENCH_IMAGE_GUESTS:-20}
BIG_MIB=256
ROUNDS=${FC_BENCH_IMAGE_ROUNDS:-3}
PARTS=${FC_BENCH_IMAGE_PARTS:-provision fetch}
part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
e2e_require_testbed
e2e_require_fincloud
command -v genisoimage >/dev/null || e2e_skip "genisoimage is missing (scripts/deps.sh)"
img=$build/images/fincloud-test.qcow2
if [ ! -s "$img" ]; then
	mkdir -p "$build/images"
	bash "$top/scripts/build-image.sh" "$img" >"$build/images/build.log" 2>&1 ||
		e2e_skip "the test image cannot be built here: $(tail -n 1 "$build/images/build.log")"
fi
e2e_testbed_up 3 fbi 10.250.200 >/dev/null || {
	cat "$E2E_DIR/up.log"
	exit 1
}
echo "# testbed: 3 nodes up ($E2E_VIRT), $N guests per side"

# shellcheck source=bench-virsh.bash
. "$top/scripts/bench-virsh.bash"
root_of() { echo "$E2E_DIR/tb/node$1/root"; }
fail=0

e2e_finctl pool update default --cpu-ratio 16 --policy spread >/dev/null &&
	e2e_finctl flavor create tiny --vcpus 1 --mem-mib 96 --disk-gib 1 >/dev/null &&
	e2e_finctl tenant create bench >/dev/null &&
	sha=$(e2e_finctl -o json image create --name test --file "$img" --min-mem-mib 96 | e2e_json "d['sha256']") || {
	echo "bench: setting up pool, flavor, tenant and image failed"
	exit 1
}

# ---------------------------------------------------------- provisioning
t_fc=''
t_raw=''
provision() {
	t0=$(now)
	ok=1
	for i in $(seq 1 "$N"); do
		e2e_finctl vm create --tenant bench --flavor tiny --image test --name "b$i" >/dev/null 2>"$E2E_DIR/create.err" || {
			ok=0
			echo "bench: finctl vm create b$i failed: $(cat "$E2E_DIR/create.err")"
			break
		}
	done
	if [ "$ok" -eq 1 ] && wait_running '^bench\.b' "$N" 3000; then
		t_fc=$(elapsed "$t0" "$(now)")
	else
		t_fc=''
		fail=1
		echo "bench: the $N fincloud guests did not all run within 300 s"
	fi
	declare -a per_node
	for n in 1 2 3; do per_node[n]=$(running_on "$n" '^bench\.b'); done
	echo "# fincloud placed ${per_node[1]} / ${per_node[2]} / ${per_node[3]} guests on nodes 1 / 2 / 3"

	# the agent's own domain XML, renamed, is the raw baseline's guest: its
	# overlay and seed named after the raw guest
	tmpl=$E2E_DIR/template.xml
	for n in 1 2 3; do
		first=$(e2e_virsh "$n" list --name | grep '^bench\.b' | head -1)
		[ -n "$first" ] && e2e_virsh "$n" dumpxml --inactive "$first" >"$tmpl" 2>/dev/null && break
	done
	# the raw run starts on nodes as empty as fincloud's did (the image stays
	# in each node's cache, as it would for the next fincloud guest)
	bench_delete_tenant bench '^bench\.b' || fail=1

	pooldir=/var/lib/fincloud/disks
	base=/var/lib/fincloud/images/sha256/$sha
	raw_stream() { # node count
		local n=$1 c=$2 j name sd
		for ((j = 1; j <= c; j++)); do
			name=raw-$n-$j
			sd=$E2E_DIR/seed-$name
			mkdir -p "$sd"
			printf 'instance-id: %s\nlocal-hostname: %s\n' "$name" "$name" >"$sd/meta-data"
			printf '#cloud-config\n' >"$sd/user-data"
			bench_raw_xml "$tmpl" "$name" >"$E2E_DIR/$name.xml"
			qemu-img create -q -u -f qcow2 -b "$base" -F qcow2 "$(root_of "$n")$pooldir/$name.qcow2" 1G &&
				genisoimage -quiet -o "$(root_of "$n")$pooldir/$name.seed.iso" -V cidata -J -r \
					"$sd/meta-data" "$sd/user-data" &&
				e2e_virsh "$n" define "$E2E_DIR/$name.xml" >/dev/null &&
				e2e_virsh "$n" start "$name" >/dev/null || return 1
		done
	}
	t_raw=''
	if [ -s "$tmpl" ]; then
		t0=$(now)
		pids=()
		for n in 1 2 3; do
			raw_stream "$n" "${per_node[n]}" 2>"$E2E_DIR/raw-$n.err" &
			pids+=($!)
		done
		ok=1
		for p in "${pids[@]}"; do wait "$p" || ok=0; done
		total=$((per_node[1] + per_node[2] + per_node[3]))
		if [ "$ok" -eq 1 ] && wait_running '^raw-' "$total"; then
			t_raw=$(elapsed "$t0" "$(now)")
		else
			fail=1
			echo "bench: raw virsh provisioning failed: $(cat "$E2E_DIR"/raw-*.err | head -n 3)"
		fi
	else
		fail=1
		echo "bench: no fincloud domain to take the XML template from"
	fi
	for n in 1 2 3; do
		for d in $(e2e_virsh "$n" list --all --name 2>/dev/null | grep '^raw-'); do
			e2e_virsh "$n" destroy "$d" >/dev/null 2>&1
			e2e_virsh "$n" undefine "$d" >/dev/null 2>&1
			rm -f "$(root_of "$n")$pooldir/$d".{qcow2,seed.iso,console.log}
		done &
	done
	wait
}
part provision && provision

# ------------------------------------------------------------ image fetch
agent_mbs=()
curl_mbs=()
# conf_of NODE KEY: a key of the node's agent.conf
conf_of() { awk -v k="$2" '$1 == k && $2 == "=" { print $3 }' "$(root_of "$1")/etc/fincloud/agent.conf"; }
# curl_fetch NODE SHA256: curl's MB/s into curl_mbs, fetching what the
# node's agent fetches as the agent does (its URL, TLS files, credential,
# directory; flushed with fdatasync), timed inside the node
curl_fetch() {
	local n=$1 url tls cred out secs
	url=$(conf_of "$n" controller_url)/v1/agents/node$n/images/$2
	tls=()
	[ -z "$(conf_of "$n" ca_file)" ] || tls+=(--cacert "$(conf_of "$n" ca_file)")
	[ -z "$(conf_of "$n" cert_file)" ] ||
		tls+=(--cert "$(conf_of "$n" cert_file)" --key "$(conf_of "$n" key_file)")
	cred=$(cat "$(root_of "$n")/var/lib/fincloud/agent.credential")
	out=/var/lib/fincloud/images/sha256/bench.curl
	# shellcheck disable=SC2016 # expanded in the node's shell
	if secs=$(bash "$TESTBED" exec --dir "$E2E_DIR/tb" -- "$n" bash -c '
		t0=$(date +%s.%N)
		curl -sSf -o "$1" -H "Authorization: Bearer $2" "${@:4}" "$3" && sync -d "$1" || exit 1
		awk -v a="$t0" -v b="$(date +%s.%N)" "BEGIN { printf \"%.3f\", b - a }"
		' fetch "$out" "$cred" "$url" "${tls[@]}"); then
		curl_mbs+=("$(awk -v m="$BIG_MIB" -v s="$secs" 'BEGIN { printf "%.1f", m * 1.048576 / s }')")
	else
		echo "bench: curl on node $n failed"
		fail=1
	fi
	rm -f "$(root_of "$n")$out"
}
# fetch_round R: a new image, fetched by each node's agent then by curl
# on the same node, one fetch at a time; the round's VMs deleted after
fetch_round() {
	local r=$1 big big_sha i k n secs done_nodes=()
	big=$E2E_DIR/big.raw
	head -c $((BIG_MIB << 20)) /dev/urandom >"$big"
	big_sha=$(e2e_finctl -o json image create --name "big$r" --file "$big" --min-mem-mib 96 | e2e_json "d['sha256']") || {
		echo "bench: uploading the $BIG_MIB MiB image of round $r failed"
		fail=1
		return
	}
	rm -f "$big"
	for i in 1 2 3; do
		e2e_finctl vm create --tenant bench --flavor tiny --image "big$r" --name "f$r-$i" >/dev/null 2>"$E2E_DIR/create.err" || {
			echo "bench: finctl vm create f$r-$i failed: $(cat "$E2E_DIR/create.err")"
			fail=1
			break
		}
		n='' secs=''
		for ((k = 0; k < 1200; k++)); do
			[ -z "$secs" ] || break
			sleep 0.1
			for n in 1 2 3; do
				[[ " ${done_nodes[*]} " == *" $n "* ]] && continue
				secs=$(sed -n "s/.*image $big_sha: fetched, checked and flushed [0-9]* bytes in \([0-9.]*\) s.*/\1/p" \
					"$E2E_DIR/tb/node$n/agent.log" 2>/dev/null | head -n 1)
				[ -n "$secs" ] && break
			done
		done
		[ -n "$secs" ] || {
			echo "bench: no agent logged its fetch of the image for f$r-$i"
			fail=1
			break
		}
		done_nodes+=("$n")
		agent_mbs+=("$(awk -v m="$BIG_MIB" -v s="$secs" 'BEGIN { printf "%.1f", m * 1.048576 / s }')")
		curl_fetch "$n" "$big_sha"
	done
	for i in 1 2 3; do
		e2e_finctl vm delete "f$r-$i" --tenant bench --wait --timeout 120 >/dev/null 2>&1
	done
}
fetch() {
	local r
	for ((r = 1; r <= ROUNDS; r++)); do fetch_round "$r"; done
	[ ${#agent_mbs[@]} -eq $((3 * ROUNDS)) ] && [ ${#curl_mbs[@]} -eq $((3 * ROUNDS)) ] || {
		echo "bench: fetches measured: ${#agent_mbs[@]} by the agents and ${#curl_mbs[@]} by curl of $((3 * ROUNDS)) each"
		fail=1
	}
}
part fetch && fetch

# ------------------------------------------------------------------ report
m_agent=''
m_curl=''
[ ${#agent_mbs[@]} -gt 0 ] && m_agent=$(median "${agent_mbs[@]}")
[ ${#curl_mbs[@]} -gt 0 ] && m_curl=$(median "${curl_mbs[@]}")
r1=$(ratio "$t_fc" "$t_raw")
r2=$(ratio "$m_agent" "$m_curl")
echo
printf '%-44s %10s %10s %7s %8s  %s\n' "benchmark" fincloud baseline ratio target verdict
printf '%-44s %10s %10s %7s %8s  %s\n' "provision $N guests from an image (s)" "${t_fc:--}" "${t_raw:--}" "$r1" "<= 1.3" "$(verdict "$r1" 1.3)"
printf '%-44s %10s %10s %7s %8s  %s\n' "fetch a $BIG_MIB MiB image to a node (MB/s)" "${m_agent:--}" "${m_curl:--}" "$r2" ">= 0.8" "$(verdict "$r2" 0.8 '>=')"
echo "# fetch MB/s, in order (node by node, agent then curl): agent ${agent_mbs[*]:-none}; curl ${curl_mbs[*]:-none}"
exit "$fail"

#!/usr/bin/env bash
# Two controllers on one PostgreSQL, 240 concurrent creates split across
# both: claims stay exact. Write transactions of every controller on the
# database run one at a time (db_begin() takes a transaction-level
# advisory lock), so no host is oversubscribed, no quota exceeded, no
# anti-affinity group has two members on one host and no address is
# handed out twice, whichever controller answered.
FINCLOUD_TEST_DB=pg
. "$FC_TOP/tests/integration/ctrl_lib.bash"

# the fake hosts heartbeat once: on a loaded machine the bursts outlast
# the default heartbeat timeout, and a host marked down takes no VM
ctrl_start --heartbeat-timeout 600 || { nok "controller A starts"; exit 1; }
url_a=$URL
check "controller B starts on the same database" ctrl_start_b --heartbeat-timeout 600
check "B made no admin token of its own (the database has one)" test ! -e "$work/state-b/admin.token"

burst_fleet
api POST /v1/tenants '{"name":"t1","pools":["burst"]}'
api POST /v1/groups '{"name":"spread","tenant":"t1","policy":"anti-affinity"}'
api POST /v1/pools '{"name":"quota"}'
register_fake q1 64 131072 1000 quota
api POST /v1/tenants '{"name":"t2","pools":["quota"],"quota":{"vms":9}}'
# a /27: 30 host addresses (no gateway) for 100 asking
api POST /v1/networks '{"name":"net","tenant":"t2","cidr":"10.40.0.0/27","vni":4000}'
check "setup through A, seen by B" eval 'is 201 && [ "$(curl -s -H "Authorization: Bearer $ADMIN" "$url_b/v1/hosts?limit=100" | jq ".items | length")" = 9 ]'

# burst N PARALLEL BODY-PREFIX: creates alternating between A and B
burst() {
	bn=$((${bn:-0} + 1))
	bdir=$work/burst$bn
	mkdir -p "$bdir"
	seq 1 "$1" | xargs -P "$2" -I{} sh -c '
		if [ $(( {} % 2 )) = 0 ]; then u=$4; else u=$5; fi
		f=$(( {} % 3 )); [ $f = 0 ] && fl=m || fl=s
		curl -s -m 120 -o "$0/{}.json" -w "%{http_code}\n" -X POST \
			-H "Authorization: Bearer $1" -H "Content-Type: application/json" \
			--data-binary "{$2,\"flavor\":\"$fl\"$3}" "$u/v1/vms" >"$0/{}.code"' \
		"$bdir" "$ADMIN" "$3" "${4-}" "$url_a" "$url_b"
	for f in "$bdir"/*.code; do
		printf 'POST\t/v1/vms\t%s\t%s\n' "$(cat "$f")" "${f%.code}.json" >>"$work/resp/index"
	done
}
count() { cat "$bdir"/*.code | grep -c "^$1\$"; }

# anti-affinity: 8 hosts with room, 20 members asked for at once
burst 20 20 '"tenant":"t1"' ',"group":"spread"'
g=$(count 201)
check "an anti-affinity group of 20 asked for on 8 hosts gets exactly 8 members, one per host ($g created)" \
	eval '[ "$g" = 8 ] && [ "$(db "SELECT count(*) FROM vms WHERE grp = '"'spread'"'")" = 8 ] &&
		[ "$(db "SELECT count(DISTINCT host) FROM vms WHERE grp = '"'spread'"'")" = 8 ]'

# capacity: more asked than the pool holds
burst 160 48 '"tenant":"t1"'
created=$(count 201) refused=$(count 409)
check "160 creates through A and B all answered: $created created, $refused refused for capacity" \
	test $((created + refused)) = 160
check "some were refused (the burst exceeds the pool)" test "$refused" -gt 0
check "every acknowledged VM has exactly one row" \
	test "$(db "SELECT count(*) FROM vms WHERE tenant = 't1'")" = $((created + g))
over=$(oversubscribed)
check "no host is oversubscribed in any dimension" test -z "$over"
[ -n "$over" ] && echo "# $over"
check "the summed claims equal the VM rows" \
	test "$(db "SELECT count(*) FROM (SELECT host, tenant, coalesce(grp, ''), sum(vcpus), sum(mem_mib), sum(disk_gib), count(*) FROM vms GROUP BY 1, 2, 3 EXCEPT SELECT * FROM claims) d")" = 0

# quota and addresses: 60 creates, each with a port on the /27
burst 60 32 '"tenant":"t2"' ',"networks":[{"network":"net"}]'
c2=$(count 201)
check "a quota of 9 VMs admits exactly 9 of 60 creates through two controllers ($c2 created)" test "$c2" = 9
check "the other 51 were refused for the quota" test "$(grep -l quota_exceeded "$bdir"/*.json | wc -l)" = 51
check "9 ports with 9 distinct addresses and 9 distinct MACs" \
	test "$(db "SELECT count(*) || ' ' || count(DISTINCT ip) || ' ' || count(DISTINCT mac) FROM ports WHERE network = 'net'")" = "9 9 9"

api PATCH /v1/tenants/t2 '{"quota":{"vms":100}}'
burst 40 32 '"tenant":"t2"' ',"networks":[{"network":"net"}]'
c3=$(count 201)
check "the /27 hands out its 30 addresses and no more ($c3 more created)" \
	eval '[ $((c2 + c3)) = 30 ] && [ "$(db "SELECT count(DISTINCT ip) FROM ports WHERE network = '"'net'"'")" = 30 ]'

api GET /v1/audit/verify
check "the audit chain written by both controllers is intact" jqt '.ok == true'
URL=$url_b api GET /v1/audit/verify
check "and B verifies it too" jqt '.ok == true'

validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

#!/usr/bin/env bash
# Every PATCH (pools, hosts, tenants) and every finctl update verb changes
# only the fields it is given, and null puts a field back to its default
# (issue 11, item 2: a quota PATCH of vms used to lift the vCPU and memory
# limits). Every answer matches schemas/openapi.yaml.
. "$FC_TOP/tests/integration/ctrl_lib.bash"

ctrl_start || { nok "controller starts"; exit 1; }
fc() { "$finctl" "$@"; }
# got FILTER WANT: the filter on $body prints WANT
got() { [ "$(jv "$1")" = "$2" ]; }
# patched WHAT PATH BODY FILTER WANT: a PATCH answers 200 and the row
# it shows gives WANT through FILTER
patched() {
	local f=$4 w=$5
	api PATCH "$2" "$3"
	check "$1" eval 'is 200 && got "$f" "$w"'
}

# --- tenants: quota, pools, compliance class ------------------------------
api POST /v1/pools '{"name":"p1"}'
api POST /v1/pools '{"name":"p2"}'
api POST /v1/tenants '{"name":"loan","compliance_class":"pci","pools":["p1"]}'
check "tenant created" is 201
patched "PATCH sets two quotas" /v1/tenants/loan '{"quota":{"vcpus":4,"mem_mib":2048}}' '[.quota.vcpus, .quota.mem_mib, .quota.vms] | @csv' '4,2048,'
patched "a PATCH of quota.vms leaves the vCPU and memory quotas" /v1/tenants/loan '{"quota":{"vms":10}}' '[.quota.vcpus, .quota.mem_mib, .quota.vms] | @csv' '4,2048,10'
patched "quota.vcpus null lifts that one limit only" /v1/tenants/loan '{"quota":{"vcpus":null}}' '[.quota.vcpus, .quota.mem_mib, .quota.vms] | @csv' ',2048,10'
patched "a PATCH of pools leaves the quota and the class" /v1/tenants/loan '{"pools":["p1","p2"]}' '[(.pools | join("+")), .compliance_class, .quota.mem_mib] | @csv' '"p1+p2","pci",2048'
api PATCH /v1/tenants/loan '{"compliance_class":"gold"}'
check "a PATCH of the class leaves the pools" eval 'is 200 && got ".pools | length" 2 && got .compliance_class gold'
api PATCH /v1/tenants/loan '{"pools":null,"compliance_class":null}'
check "null: every pool allowed, class standard" \
	eval 'is 200 && got ".pools | length" 0 && got .compliance_class standard && got .quota.vms 10'
api PATCH /v1/tenants/loan '{}'
check "an empty PATCH changes nothing" eval 'is 200 && got .quota.vms 10 && got .quota.mem_mib 2048'
api PATCH /v1/tenants/loan '{"quota":null}'
check "quota null lifts every limit" eval 'is 200 && got "[.quota[]] | map(. == null) | all" true'
api PATCH /v1/tenants/loan '{"quota":{"vms":-1}}'
check "a bad quota is still refused (400 naming quota)" is_err 400 invalid_field quota

# finctl sends only the options it is given
fc tenant set-quota loan --vcpus 4 --mem-mib 2048 >/dev/null &&
	fc tenant set-quota loan --vms 10 >/dev/null
check "finctl tenant set-quota --vms keeps --vcpus and --mem-mib" \
	test "$(fc -o json tenant show loan | jq -c '[.quota.vcpus, .quota.mem_mib, .quota.vms]')" = "[4,2048,10]"
fc tenant update loan --quota-vms 3 >/dev/null
check "finctl tenant update --quota-vms keeps the other quotas" \
	test "$(fc -o json tenant show loan | jq -c '[.quota.vcpus, .quota.mem_mib, .quota.vms]')" = "[4,2048,3]"
fc tenant set-quota loan --mem-mib none >/dev/null
check "finctl tenant set-quota --mem-mib none lifts that limit only" \
	test "$(fc -o json tenant show loan | jq -c '[.quota.vcpus, .quota.mem_mib, .quota.vms]')" = "[4,null,3]"
fc tenant update loan --pools p2 >/dev/null
check "finctl tenant update --pools keeps the quotas" \
	test "$(fc -o json tenant show loan | jq -c '[.pools, .quota.vcpus]')" = '[["p2"],4]'
fc tenant update loan --wipe-on-delete yes >/dev/null
check "finctl tenant update --wipe-on-delete yes sets the wipe policy only" \
	test "$(fc -o json tenant show loan | jq -c '[.wipe_on_delete, .quota.vcpus]')" = '[true,4]'
fc tenant update loan --wipe-on-delete no >/dev/null
check "and --wipe-on-delete no clears it" \
	test "$(fc -o json tenant show loan | jq -c .wipe_on_delete)" = false

# --- pools ---------------------------------------------------------------
api POST /v1/pools '{"name":"prod","cpu_ratio":2,"mem_ratio":1.5,"policy":"spread","compliance_classes":["pci"]}'
check "pool created" is 201
patched "a PATCH of disk_ratio leaves the other ratios, policy and classes" /v1/pools/prod '{"disk_ratio":3}' '[.cpu_ratio, .mem_ratio, .disk_ratio, .policy, .compliance_classes[0]] | @csv' '2,1.5,3,"spread","pci"'
patched "cpu_ratio null is the default ratio 1, the rest unchanged" /v1/pools/prod '{"cpu_ratio":null}' '[.cpu_ratio, .mem_ratio, .policy] | @csv' '1,1.5,"spread"'
api PATCH /v1/pools/prod '{"policy":null,"compliance_classes":null}'
check "policy and compliance_classes null: pack, any class" \
	eval 'is 200 && got .policy pack && got ".compliance_classes | length" 0 && got .disk_ratio 3'
fc pool update prod --mem-ratio 2 >/dev/null
check "finctl pool update --mem-ratio keeps the other fields" \
	test "$(fc -o json pool show prod | jq -c '[.cpu_ratio, .mem_ratio, .disk_ratio, .policy]')" = '[1,2,3,"pack"]'
api PATCH /v1/pools/nope '{"cpu_ratio":2}'
check "PATCH of a missing pool is 404" is_err 404 not_found

# --- hosts ---------------------------------------------------------------
api POST /v1/tokens '{"role":"join","uses":1000}'
JOIN=$(jv .token)
register_fake n1 8 16384 100
api PATCH /v1/hosts/n1 '{"cost":5}'
patched "a PATCH of availability leaves the cost" /v1/hosts/n1 '{"availability":0.9}' '[.cost, .availability, .maintenance] | @csv' '5,0.9,false'
patched "a PATCH of maintenance leaves cost and availability" /v1/hosts/n1 '{"maintenance":true}' '[.cost, .availability, .maintenance] | @csv' '5,0.9,true'
patched "null: cost 1, out of maintenance, availability unchanged" /v1/hosts/n1 '{"cost":null,"maintenance":null}' '[.cost, .availability, .maintenance] | @csv' '1,0.9,false'
api PATCH /v1/hosts/n1 '{"availability":null}'
check "availability null is the default 0.999" eval 'is 200 && got .availability 0.999'
fc host set n1 --cost 7 >/dev/null && fc host maintenance n1 on >/dev/null
check "finctl host set and host maintenance keep each other's field" \
	test "$(fc -o json host show n1 | jq -c '[.cost, .maintenance]')" = '[7,true]'
api PATCH /v1/hosts/n9 '{"cost":1}'
check "PATCH of a missing host is 404" is_err 404 not_found

validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

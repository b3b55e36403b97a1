#!/usr/bin/env bash
# Storage pools (controller/storage.h, docs/operations.md) through the
# real controller and finctl: "local" exists and cannot be deleted; a
# ceph pool is created with its RBD pool, monitors and cephx user (each
# field checked, the error naming it); a flavor and a VM choose one (the
# VM's choice, else its flavor's, else local); a VM on a ceph pool needs
# an image; its node's desired state carries the pool, monitors and the
# node's own cephx user ("{node}" replaced), never a key; a pool in use
# is not deleted; the pool's availability is 1 - prod(1 - A_i) over its
# replica hosts, and a group's target is met only when its storage
# reaches it too.
. "$FC_TOP/tests/integration/ctrl_lib.bash"
command -v qemu-img >/dev/null || { echo "SKIP: qemu-img is missing (scripts/deps.sh)"; exit 77; }
ctrl_start || { nok "controller starts"; exit 1; }

out=$("$finctl" -o json storage list)
check "the local storage pool exists from the start" eval '[ "$(jq -r ".[0].name + \" \" + .[0].type" <<<"$out")" = "local local" ]'
out=$("$finctl" -o json storage create rbd --type ceph --ceph-pool vms --monitors 10.0.0.1:6789,10.0.0.2 \
	--client 'fincloud-{node}' --replicas 2 --replica-hosts n1,n2)
check "finctl storage create makes a ceph pool" eval '[ "$(jq -r .ceph_pool <<<"$out")" = vms ] && [ "$(jq -c .monitors <<<"$out")" = "[\"10.0.0.1:6789\",\"10.0.0.2\"]" ]'
api POST /v1/storage '{"name":"x","type":"ceph","ceph_pool":"a b","monitors":["m"],"client":"c"}'
check "a ceph pool name with a blank is refused naming ceph_pool" is_err 400 invalid_field ceph_pool
api POST /v1/storage '{"name":"x","type":"ceph","ceph_pool":"p","monitors":["m;rm"],"client":"c"}'
check "a monitor address with a ';' is refused naming monitors" is_err 400 invalid_field monitors
api POST /v1/storage '{"name":"x","type":"ceph","ceph_pool":"-mX","monitors":["m"],"client":"c"}'
check "a ceph pool name that would read as an option ('-mX') is refused naming ceph_pool" is_err 400 invalid_field ceph_pool
api POST /v1/storage '{"name":"x","type":"ceph","ceph_pool":"p","monitors":["-m"],"client":"c"}'
check "... and a monitor the same" is_err 400 invalid_field monitors
api POST /v1/storage '{"name":"x","type":"ceph","ceph_pool":"p","monitors":[],"client":"c"}'
check "a ceph pool without monitors is refused" is_err 400 invalid_field monitors
api POST /v1/storage '{"name":"x","type":"ceph","ceph_pool":"p","monitors":["m"],"client":"client.admin"}'
check "a cephx user given with its 'client.' type is refused naming client" is_err 400 invalid_field client
api POST /v1/storage '{"name":"x","type":"nfs","ceph_pool":"p","monitors":["m"],"client":"c"}'
check "a storage type other than ceph is refused naming type" is_err 400 invalid_field type
api POST /v1/storage '{"name":"x","type":"ceph","ceph_pool":"p","monitors":["m"],"client":"c","replicas":0}'
check "0 replicas are refused" is_err 400 invalid_field replicas
check "nothing was left of the refused creates" test "$(db "SELECT count(*) FROM storage_pools")" = 2

# flavors and VMs choose a pool
api POST /v1/tokens '{"role":"join","uses":10}'
JOIN=$(jv .token)
register_fake n1 8 16384 100
register_fake n2 8 16384 100
api PATCH /v1/hosts/n1 '{"availability":0.9}'
api PATCH /v1/hosts/n2 '{"availability":0.8}'
api POST /v1/tenants '{"name":"loan"}'
api POST /v1/flavors '{"name":"small","vcpus":1,"mem_mib":128,"disk_gib":1}'
api POST /v1/flavors '{"name":"rbd-small","vcpus":1,"mem_mib":128,"disk_gib":1,"storage":"rbd"}'
check "a flavor names its storage pool" eval 'is 201 && [ "$(jv .storage)" = rbd ]'
api POST /v1/flavors '{"name":"bad","vcpus":1,"mem_mib":128,"disk_gib":1,"storage":"ghost"}'
check "a flavor on a storage pool that does not exist is refused (404)" is_err 404 not_found storage
qemu-img create -q -f qcow2 "$work/base.qcow2" 16M
api_file POST '/v1/images?name=base' "$work/base.qcow2"
api POST /v1/vms '{"tenant":"loan","flavor":"rbd-small","name":"noimg"}'
check "a VM on a ceph pool without an image is refused naming image" eval 'is_err 400 invalid_field image && has rbd'
api POST /v1/vms '{"tenant":"loan","flavor":"small","name":"ghost","storage":"ghost"}'
check "a VM on a storage pool that does not exist is refused (404)" is_err 404 not_found storage
out=$("$finctl" -o json vm create --tenant loan --flavor small --name plain)
check "a VM without a choice lives on local storage" eval '[ "$(jq -r .storage <<<"$out")" = local ]'
api POST /v1/groups '{"name":"ha","tenant":"loan","availability":0.95}'
out=$("$finctl" -o json vm create --tenant loan --flavor rbd-small --image base --name r1 --group ha)
check "a VM of a ceph flavor lives on its pool" eval '[ "$(jq -r .storage <<<"$out")" = rbd ]'
R1=$(jq -r .id <<<"$out") H1=$(jq -r .host <<<"$out")
out=$("$finctl" -o json vm create --tenant loan --flavor small --image base --storage rbd --name r2)
check "vm create --storage puts a VM of a local flavor on a ceph pool" eval '[ "$(jq -r .storage <<<"$out")" = rbd ]'

# what the VM's node is told: the pool, monitors and its own user
heartbeat "$H1" 0 '[]'
check "the node's desired state names the RBD pool, monitors and its own cephx user" \
	jqt ".vms[] | select(.vm_id == \"$R1\") | .storage == {\"type\":\"ceph\",\"pool\":\"vms\",\"monitors\":[\"10.0.0.1:6789\",\"10.0.0.2\"],\"user\":\"fincloud-$H1\"}"
check "a VM on local storage gets no storage object" jqt '.vms[] | select(.name == "loan.plain") | .storage == null'
check "no key travels in the desired state" eval '! has secret && ! has keyring && ! has \"key\"'

# a migration: the target is told the VM with its own user, the source
# the user the target opens the disk as
H2=n1
[ "$H1" = n1 ] && H2=n2
heartbeat "$H1" 0 "[$(domain "$R1" running)]"
api POST "/v1/vms/$R1/migrate" "{\"target_host\":\"$H2\"}"
check "a VM on a ceph pool may be migrated" is 202
heartbeat "$H2" 0 '[]'
check "the target's incoming spec names its own cephx user" \
	jqt ".incoming[] | select(.vm_id == \"$R1\") | .storage.user == \"fincloud-$H2\""
api POST "/v1/agents/$H2/heartbeat?wait_s=0" \
	"{\"generation_seen\":0,\"status\":\"ok\",\"inventory\":$(inventory 16 32768 500),\"domains\":[],\"foreign_domains\":[],\"tasks\":[],\"prepared\":[\"$R1\"]}" \
	"${CRED[$H2]}"
heartbeat "$H1" 0 "[$(domain "$R1" running)]"
check "the source's migrate task names the target's cephx user (rbd_user)" \
	jqt ".tasks[] | select(.vm_id == \"$R1\") | .rbd_user == \"fincloud-$H2\""

# availability: replicas on n1 (0.9) and n2 (0.8): 1 - 0.1 * 0.2 = 0.98
api GET /v1/storage/rbd
check "the pool's availability is 1 - prod(1 - A_i) over its replica hosts" \
	jqt '(.availability - 0.98 | fabs) < 1e-9 and .vms == 2'
api GET /v1/groups/ha
check "a group on a ceph pool reports the pool's availability as its storage's" \
	jqt '(.storage_availability - 0.98 | fabs) < 1e-9 and .meets_target == false'
api POST /v1/vms '{"tenant":"loan","flavor":"small","name":"l1","group":"ha"}'
api GET /v1/groups/ha
check "a local disk in the group adds its host to the storage places" \
	jqt '.storage_availability > 0.98'
out=$("$finctl" -o json storage create wide --type ceph --ceph-pool vms --monitors m --client fc --replicas 3 --replica-availability 0.9)
check "without replica hosts: replicas holders of replica-availability (1 - 0.1^3)" \
	eval '[ "$(jq ".availability * 1000 | round" <<<"$out")" = 999 ]'

# deletes
rc=0
"$finctl" storage delete rbd >"$work/del.out" 2>&1 || rc=$?
check "a storage pool VMs use is not deleted (non-zero exit, naming it)" eval '[ $rc -ne 0 ] && grep -q "rbd" "$work/del.out"'
api DELETE /v1/storage/local
check "the local pool is never deleted (409)" is_err 409 in_use
"$finctl" storage delete wide
check "an unused storage pool is deleted" eval '! "$finctl" storage show wide >/dev/null 2>&1'
out=$("$finctl" storage show rbd)
check "finctl storage show prints the pool" eval '[[ $out == *vms* ]]'
api POST /v1/tokens '{"role":"tenant","tenant":"loan"}'
LOAN=$(jv .token)
api GET /v1/storage/rbd "" "$LOAN"
check "a tenant sees a pool's name, type and availability, never its cluster (RBD pool, monitors, cephx user, replica hosts)" \
	eval 'is 200 && [ "$(jv .type)" = ceph ] && jqt "has(\"availability\") and (has(\"monitors\") or has(\"ceph_pool\") or has(\"client\") or has(\"replica_hosts\") or has(\"vms\") | not)"'

validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

#!/usr/bin/env bash
# The image catalogue (docs/images.md) through the real controller and
# finctl: uploads streamed to the state directory and checked by qemu-img
# (a backing file, an external data file, another format and an empty
# body are refused, naming the problem, and leave nothing behind), the
# SHA-256 recorded and the bytes stored content-addressed, image_max_size
# from the config file, tenant images seen by their tenant only, VMs that
# name their image and checksum, a delete refused while a VM uses it,
# and leftovers of a crashed upload removed at the next start.
. "$FC_TOP/tests/integration/ctrl_lib.bash"
command -v qemu-img >/dev/null || { echo "SKIP: qemu-img is missing (scripts/deps.sh)"; exit 77; }

# image_max_size set in the config file (5 MiB)
printf 'image_max_size = 5242880\n' >"$work/ctl.conf"
"$ctl" --config "$work/ctl.conf" --check-config
check "a config file with image_max_size passes --check-config" test $? = 0
printf 'image_max_size = 1000\n' >"$work/bad.conf"
out=$("$ctl" --config "$work/bad.conf" --check-config 2>&1)
check "an image_max_size under 1 MiB is refused naming the key" eval '[[ $out == *image_max_size* ]]'
port=$(free_port)
"$ctl" --config "$work/ctl.conf" --state-dir "$work/state" --listen-port "$port" ${db_args[@]+"${db_args[@]}"} >>"$work/controller.log" 2>&1 &
ctl_pid=$! pids+=("$ctl_pid")
URL=http://127.0.0.1:$port
wait_for 10 curl -sf "$URL/healthz" -o /dev/null || { nok "controller starts"; exit 1; }
ADMIN=$(cat "$work/state/admin.token")
export FINCLOUD_URL=$URL FINCLOUD_TOKEN=$ADMIN
store=$work/state/images
leftovers() { find "$store/tmp" -type f 2>/dev/null | wc -l; }

qemu-img create -q -f qcow2 "$work/base.qcow2" 32M
qemu-img create -q -f qcow2 -b "$work/base.qcow2" -F qcow2 "$work/backed.qcow2"
qemu-img create -q -f qcow2 -o data_file="$work/data.raw" "$work/datafile.qcow2" 32M
qemu-img create -q -f vmdk "$work/disk.vmdk" 16M
head -c 2097152 /dev/urandom >"$work/disk.raw"
head -c 6000000 /dev/zero >"$work/big.raw"
: >"$work/empty"

# --- upload through finctl ----------------------------------------------------
out=$("$finctl" -o json image create --name base --file "$work/base.qcow2" --os-type linux --min-mem-mib 64)
check "finctl image create uploads a qcow2" eval '[ "$(jq -r .format <<<"$out")" = qcow2 ]'
SHA=$(jq -r .sha256 <<<"$out") BASE=$(jq -r .id <<<"$out")
check "its SHA-256 is the file's" test "$SHA" = "$(sha256sum "$work/base.qcow2" | cut -d' ' -f1)"
check "its virtual size is qemu-img's" test "$(jq -r .virtual_size_bytes <<<"$out")" = 33554432
check "its bytes are stored under their digest, mode 0600" \
	eval '[ "$(stat -c %a "$store/sha256/$SHA")" = 600 ] && cmp -s "$store/sha256/$SHA" "$work/base.qcow2"'
api_file POST '/v1/images?name=disk' "$work/disk.raw"
check "a raw image is accepted" eval 'is 201 && [ "$(jv .format)" = raw ] && [ "$(jv .visibility)" = public ]'

# --- refused uploads name the problem and leave nothing -----------------------
api_file POST '/v1/images?name=backed' "$work/backed.qcow2"
check "an image with a backing file is refused (400 naming it)" eval 'is_err 400 invalid_image && has "backing file"'
api_file POST '/v1/images?name=datafile' "$work/datafile.qcow2"
check "an image with an external data file is refused (400 naming it)" eval 'is_err 400 invalid_image && has "external data file"'
api_file POST '/v1/images?name=vmdk' "$work/disk.vmdk"
check "a vmdk image is refused (400 naming its format)" eval 'is_err 400 invalid_image && has vmdk'
api_file POST '/v1/images?name=empty' "$work/empty"
check "an empty body is refused" is_err 400 invalid_image
api_file POST '/v1/images?name=big' "$work/big.raw"
check "an upload over image_max_size is refused (413)" is_err 413 too_large
curl -s -o /dev/null -H "Authorization: Bearer $ADMIN" -H 'Transfer-Encoding: chunked' \
	--data-binary "@$work/big.raw" "$URL/v1/images?name=big"
check "a chunked upload over image_max_size leaves nothing either" test "$(leftovers)" = 0
check "no refused upload left a file behind" eval '[ "$(leftovers)" = 0 ] && [ "$(ls "$store/sha256" | wc -l)" = 2 ]'
api_file POST '/v1/images?name=x&visibility=private' "$work/base.qcow2"
check "an unknown visibility is refused" is_err 400 invalid_query visibility
api_file POST '/v1/images' "$work/base.qcow2"
check "an upload without a name is refused" is_err 400 invalid_query name
FINCLOUD_TOKEN=fc_nope "$finctl" image create --name x --file "$work/big.raw" 2>"$work/err"
rc=$?
check "an upload without a valid token is refused before its body (finctl exit 1, the 401's message)" \
	eval '[ $rc = 1 ] && grep -q "not valid" "$work/err" && [ "$(leftovers)" = 0 ]'
"$finctl" image create --name nofile --file "$work/nothere" 2>/dev/null
check "finctl image create of a missing file exits 2" test $? = 2
"$finctl" image create --name backed --file "$work/backed.qcow2" 2>"$work/err"
rc=$?
check "finctl image create of a backed image exits 2 with the reason" \
	eval '[ $rc = 2 ] && grep -q "backing file" "$work/err"'

# --- tenants ------------------------------------------------------------------
api POST /v1/tenants '{"name":"loan"}'
api POST /v1/tenants '{"name":"bank"}'
api POST /v1/tokens '{"role":"tenant","tenant":"loan"}'
LOAN=$(jv .token)
api_file POST '/v1/images?name=loanimg' "$work/disk.raw" "$LOAN"
check "a tenant uploads a tenant image of its own" eval 'is 201 && [ "$(jv .tenant)" = loan ] && [ "$(jv .visibility)" = tenant ]'
LOANIMG=$(jv .id)
api_file POST '/v1/images?name=pub&visibility=public' "$work/disk.raw" "$LOAN"
check "a tenant may not publish a public image" is 403
api_file POST '/v1/images?name=base&tenant=bank' "$work/base.qcow2"
check "another tenant may use a public image's name for its own" is 201
api GET /v1/images "" "$LOAN"
check "a tenant lists the public images and its own only" \
	eval '[ "$(jv "[.items[].name] | sort | join(\",\")")" = base,disk,loanimg ]'
api GET /v1/images/base
check "an operator naming an image several tenants use gets 409" is_err 409 ambiguous
api GET /v1/images/base "" "$LOAN"
check "a tenant's name resolves to the public image it sees" eval 'is 200 && [ "$(jv .id)" = "$BASE" ]'

# --- VMs from images ----------------------------------------------------------
api POST /v1/tokens '{"role":"join","uses":2}'
JOIN=$(jv .token)
register_fake n1 16 65536 1000
heartbeat n1 0 '[]' >/dev/null
api POST /v1/flavors '{"name":"small","vcpus":1,"mem_mib":128,"disk_gib":1}'
api POST /v1/flavors '{"name":"imaged","vcpus":1,"mem_mib":128,"disk_gib":1,"requires_image":true}'
api POST /v1/flavors '{"name":"tiny","vcpus":1,"mem_mib":32,"disk_gib":1}'
api POST /v1/vms '{"tenant":"loan","flavor":"small","name":"plain"}'
check "a flavor without an image requirement creates a VM without one" eval 'is 201 && [ "$(jv .image)" = null ]'
api POST /v1/vms '{"tenant":"loan","flavor":"imaged","name":"noimg"}'
check "a flavor that requires an image refuses a VM without one" is_err 400 invalid_field image
api POST /v1/vms '{"tenant":"loan","flavor":"tiny","image":"base"}'
check "an image's min_mem_mib over the flavor's memory is refused" is_err 400 invalid_field image
api POST /v1/vms '{"tenant":"bank","flavor":"small","image":"loanimg"}'
check "another tenant's image is not found" is_err 404 not_found image
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey1 a@b" >"$work/k1.pub"
printf '# comment\nssh-rsa AAAAB3Key2 c@d\n\nssh-ed25519 AAAAKey3 e@f\n' >"$work/k2.pub"
printf '#!/bin/sh\necho hello\n' >"$work/ud.sh"
api POST /v1/networks '{"name":"webnet","tenant":"loan","cidr":"10.20.0.0/24"}'
out=$("$finctl" -o json vm create --tenant loan --flavor imaged --name web --image base --network webnet \
	--ssh-key "$work/k1.pub" --ssh-key "$work/k2.pub" --user-data "$work/ud.sh")
VM=$(jq -r .id <<<"$out")
check "finctl vm create --image records the image and its checksum" \
	eval '[ "$(jq -r .image.id <<<"$out")" = "$BASE" ] && [ "$(jq -r .image.sha256 <<<"$out")" = "$SHA" ]'
check "the VM's keys (3 of 2 files) and user-data are stored" \
	eval '[ "$(db "SELECT ssh_keys FROM vms WHERE id = '"'"'$VM'"'"'" | jq length)" = 3 ] &&
	      [ "$(db "SELECT user_data FROM vms WHERE id = '"'"'$VM'"'"'")" = "$(cat "$work/ud.sh")" ]'
api POST /v1/vms '{"tenant":"loan","flavor":"small","image":"base","ssh_keys":["two\nlines"]}'
check "a key of two lines is refused" is_err 400 invalid_field ssh_keys
heartbeat n1 0 '[]'
st=$body
check "the node's desired state carries the image and the first-boot settings" \
	eval 'jq -e --arg id "$VM" --arg sha "$SHA" ".vms[] | select(.vm_id == \$id) |
		.image.sha256 == \$sha and .image.format == \"qcow2\" and .first_boot.hostname == \"web\" and
		(.first_boot.ssh_keys | length) == 3 and (.first_boot.user_data | startswith(\"#!\"))" <<<"$st" >/dev/null'
# a migration of a VM from an image waits for its target to prepare it
register_fake n2 16 65536 1000
heartbeat n2 0 '[]'
heartbeat n1 0 "[$(domain "$VM" running)]"
api POST "/v1/vms/$VM/migrate" '{"target_host":"n2"}'
check "a VM from an image may be migrated" is 202
heartbeat n2 0 '[]'
check "its target's desired state lists it incoming, with its image and seed" \
	jqt "[.incoming[] | select(.vm_id == \"$VM\" and .image.sha256 == \"$SHA\" and .first_boot.hostname == \"web\")] | length == 1"
check "... with its port, whose network filter the target defines before the domain arrives" \
	jqt "[.incoming[] | select(.vm_id == \"$VM\") | .ports[] | select(.network == \"webnet\" and (.port_id | length) == 36)] | length == 1"
heartbeat n1 0 "[$(domain "$VM" running)]"
check "its source is not handed the migration before the target prepared it" \
	jqt '[.tasks[] | select(.type == "migrate")] | length == 0'
api POST /v1/agents/n2/heartbeat "{\"generation_seen\":0,\"status\":\"ok\",\"inventory\":$(inventory 16 65536 1000),\"domains\":[],\"foreign_domains\":[],\"tasks\":[],\"prepared\":[\"$VM\"]}" "${CRED[n2]}"
heartbeat n1 0 "[$(domain "$VM" running)]"
check "once the target reports it prepared, the source gets the migration" \
	jqt "[.tasks[] | select(.type == \"migrate\" and .vm_id == \"$VM\" and .target_node == \"n2\")] | length == 1"
api DELETE /v1/images/base "" "$LOAN"
check "a tenant may not delete a public image" is 403
api DELETE "/v1/images/$BASE"
check "deleting an image a VM uses is refused (409 naming the VM)" eval 'is_err 409 in_use && has web'
"$finctl" image delete "$BASE" 2>/dev/null
check "finctl image delete of an image in use exits 6" test $? = 6
out=$("$finctl" image list)
check "finctl image list shows the images" eval '[[ $out == *SHA256* && $out == *$SHA* ]]'
out=$("$finctl" image show "$LOANIMG")
check "finctl image show shows one" eval '[[ $out == *loanimg* ]]'
api DELETE /v1/tenants/bank
check "a tenant with an image is not deleted (409 naming its images)" eval 'is_err 409 in_use && has images'
"$finctl" image delete "$LOANIMG" >/dev/null
check "finctl image delete removes an unused image" eval 'api GET "/v1/images/$LOANIMG"; is 404'

# --- a crashed upload leaves nothing after a restart --------------------------
mkdir -p "$store/tmp"
echo partial >"$store/tmp/upload-crash"
echo stray >"$store/sha256/$(printf '%064d' 0)"
ctrl_kill TERM
"$ctl" --config "$work/ctl.conf" --state-dir "$work/state" --listen-port "$port" ${db_args[@]+"${db_args[@]}"} >>"$work/controller.log" 2>&1 &
ctl_pid=$! pids+=("$ctl_pid")
wait_for 10 curl -sf "$URL/healthz" -o /dev/null
check "a restart removes unfinished uploads and files no image names" \
	eval '[ "$(leftovers)" = 0 ] && [ ! -e "$store/sha256/$(printf "%064d" 0)" ] && [ -f "$store/sha256/$SHA" ]'

validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

#!/usr/bin/env bash
# The node's image cache (agents/agent_image.h) between the real
# controller and real fincloud-agent processes on test:/// simulated
# nodes: a VM from an image makes its node fetch the image over the
# agents' route and keep it under image_dir/sha256 with the catalogue's
# SHA-256; a corrupted cached file is fetched again before the next VM
# uses it; a controller that sends other bytes gets the VM failed, never
# started; image_cache_max (set as a flag) evicts the least recently
# used image no VM uses; the image cannot be deleted while a VM uses it.
. "$FC_TOP/tests/integration/ctrl_lib.bash"
. "$FC_TOP/tests/integration/agent_lib.bash"
command -v qemu-img >/dev/null || { echo "SKIP: qemu-img is missing (scripts/deps.sh)"; exit 77; }

ctrl_start --heartbeat-timeout 4 --heartbeat-interval 1 || { nok "controller starts"; exit 1; }
JOIN=$(fc token create --role join --description images 2>/dev/null)
# room for one 4 MiB image and a bit: a second one evicts an unused first
SIM_AGENT_ARGS="--image-cache-max 6000000" sim_agent n1 8 16384 200
check "the agent registers" wait_for 20 eval '[ "$(host_state n1)" = up ]'
fc tenant create loan >/dev/null
fc flavor create small --vcpus 1 --mem-mib 128 --disk-gib 1 >/dev/null
head -c 4194304 /dev/urandom >"$work/a.raw"
head -c 4194304 /dev/urandom >"$work/b.raw"
SHA_A=$(fc -o json image create --name a --file "$work/a.raw" | jq -r .sha256)
SHA_B=$(fc -o json image create --name b --file "$work/b.raw" | jq -r .sha256)
cache=$work/nodes/n1/images/sha256
vm_state() { fc -o json vm show "$1" --tenant loan 2>/dev/null | jq -r .state; }
vm_error() { fc -o json vm show "$1" --tenant loan 2>/dev/null | jq -r .error; }

fc vm create --tenant loan --flavor small --image a --name v1 >/dev/null
check "a VM from an image runs" wait_for 30 eval '[ "$(vm_state v1)" = running ]'
check "its node cached the image under its digest, the same bytes" \
	eval '[ -f "$cache/$SHA_A" ] && cmp -s "$cache/$SHA_A" "$work/a.raw"'
check "the cached file is the node's only (mode 0600)" \
	eval '[ "$(stat -c %a "$cache/$SHA_A")" = 600 ] && [ "$(ls -A "$cache" | wc -l)" = 1 ]'
out=$(fc image delete a 2>&1)
check "the image cannot be deleted while a VM uses it" eval '[[ $out == *in_use* || $out == *"used by 1 VM"* ]]'

# corrupt the cached copy: the next VM from it fetches it again
printf 'XXXX' | dd of="$cache/$SHA_A" bs=1 seek=100 conv=notrunc status=none
fc vm create --tenant loan --flavor small --image a --name v2 >/dev/null
check "a VM from a corrupted cached image runs (fetched again)" \
	wait_for 30 eval '[ "$(vm_state v2)" = running ]'
check "the corrupted file was noticed and replaced by good bytes" \
	eval 'grep -q "cached file.s SHA-256 is" "$work/nodes/n1/agent.log" && cmp -s "$cache/$SHA_A" "$work/a.raw"'

# the controller's own copy of b is damaged: the node refuses it
cp "$work/state/images/sha256/$SHA_B" "$work/b.keep"
printf 'XXXX' | dd of="$work/state/images/sha256/$SHA_B" bs=1 seek=100 conv=notrunc status=none
fc vm create --tenant loan --flavor small --image b --name v3 >/dev/null
check "a VM whose image arrives with other bytes fails, naming the mismatch" \
	wait_for 30 eval '[[ "$(vm_error v3)" == *"SHA-256 mismatch"* ]]'
check "it was never started, and no bad file stays in the cache" \
	eval '[ "$(vm_state v3)" != running ] && [ ! -e "$cache/$SHA_B" ] && [ -z "$(ls -A "$cache" | grep -v "^$SHA_A\$")" ]'
cp "$work/b.keep" "$work/state/images/sha256/$SHA_B"
fc vm delete v3 --tenant loan --wait --timeout 30 >/dev/null 2>&1

# a VM from b while a is still in use: both stay (over the bound)
fc vm create --tenant loan --flavor small --image b --name v4 >/dev/null
check "a VM from a second image runs" wait_for 30 eval '[ "$(vm_state v4)" = running ]'
check "an image in use is never evicted, even over image_cache_max" \
	eval '[ -f "$cache/$SHA_A" ] && [ -f "$cache/$SHA_B" ]'
# once no VM uses a, the cache comes back within its bound: a goes
fc vm delete v1 --tenant loan --wait --timeout 30 >/dev/null
fc vm delete v2 --tenant loan --wait --timeout 30 >/dev/null
check "the least recently used image no VM uses is evicted" \
	wait_for 20 eval '[ ! -e "$cache/$SHA_A" ] && [ -f "$cache/$SHA_B" ]'
fc image delete a >/dev/null
check "an image no VM uses is deleted" eval '! fc image show a >/dev/null 2>&1'

validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

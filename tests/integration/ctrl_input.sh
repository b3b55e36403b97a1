#!/usr/bin/env bash
# What a request body may hold (issue 11, item 6): a name with a NUL or
# another control character is refused with a 400 naming the field (it
# used to be cut: "abc\u0000" created tenant 'abc'), so are duplicate keys,
# bytes that are not UTF-8 and raw control characters; no answer echoes a
# raw invalid byte (every body stays UTF-8), and every answer matches
# schemas/openapi.yaml.
. "$FC_TOP/tests/integration/ctrl_lib.bash"

ctrl_start || { nok "controller starts"; exit 1; }

# api_raw METHOD PATH FILE: like api, with the body's exact bytes
api_raw() {
	rn=$((rn + 1))
	local f=$work/resp/$rn.body
	status=$(curl -s -o "$f" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $ADMIN" \
		-H 'Content-Type: application/json' --data-binary "@$3" "$URL$2")
	body=$(tr -d '\000' <"$f")
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$status" "$f" >>"$work/resp/index"
}
# utf8_clean: the last answer is UTF-8 without raw control characters
utf8_clean() {
	$py -c "
import sys
t = open(sys.argv[1], 'rb').read().decode('utf-8')
sys.exit(1 if any(ord(c) < 32 for c in t) else 0)" "$work/resp/$rn.body"
}

api POST /v1/tenants '{"name":"abc\u0000"}'
check "a tenant name with \\u0000 is refused (400 naming 'name')" is_err 400 invalid_json name
api GET /v1/tenants/abc
check "and no tenant 'abc' was created" is 404
api POST /v1/tenants '{"name":"ok1"}'
api POST /v1/tenants '{"name":"ok1\u0000evil"}'
check "'ok1\\u0000evil' is refused (400), not taken for 'ok1' (409)" is_err 400 invalid_json name
api POST /v1/tenants '{"name":"ab\u0007c"}'
check "a control character in a name is refused (400 naming 'name')" is_err 400 invalid_field name
check "and the message shows it scrubbed" eval 'utf8_clean && has "ab?c"'
api POST /v1/flavors '{"name":"f\u001f","vcpus":1,"mem_mib":64,"disk_gib":1}'
check "a flavor name with \\u001f is refused" is_err 400 invalid_field name
api PATCH /v1/tenants/ok1 '{"pools":["p\u0000"]}'
check "a NUL in a list of names is refused" is 400
api POST /v1/tokens '{"role":"viewer","description":"x\u0000y"}'
check "a NUL in free text is refused too (it would be cut)" is_err 400 invalid_json description

api POST /v1/tenants '{"name":"t1","name":"t2"}'
check "a duplicate key is refused (400 naming it)" is_err 400 invalid_json name
api POST /v1/tenants '{"name":"t3","quota":{"vms":1,"vms":null}}'
check "a duplicate key in a nested object is refused" is 400
api GET /v1/tenants/t1
check "and neither body created anything" is 404

printf '{"name":"t\xff4"}' >"$work/bad-utf8"
api_raw POST /v1/tenants "$work/bad-utf8"
check "a body that is not UTF-8 is refused (400)" is_err 400 invalid_json
check "the answer is UTF-8 and does not echo the byte" utf8_clean
printf '{"name":"t5\000"}' >"$work/raw-nul"
api_raw POST /v1/tenants "$work/raw-nul"
check "a raw NUL byte in a string is refused (400)" is_err 400 invalid_json name
printf '{"name":"t6"}\000' >"$work/trailing-nul"
api_raw POST /v1/tenants "$work/trailing-nul"
check "a NUL byte after the value is refused (400)" is_err 400 invalid_json
printf '{"name":"t7\x01"}' >"$work/raw-ctl"
api_raw POST /v1/tenants "$work/raw-ctl"
check "a raw control character in a string is refused (400)" is_err 400 invalid_json name

# messages that quote the request stay UTF-8 when they cut it short
api POST /v1/pools '{"name":"p1","policy":"ééééééééééééééééééééééééééééééééé"}'
check "a quoted value cut inside a character is scrubbed" eval 'is 400 && utf8_clean'
api GET '/v1/pools/%FF%FE'
check "a path that is not UTF-8 is answered 404 in UTF-8" eval 'is 404 && utf8_clean'
api POST /v1/tenants '{"name":"ééééééééééééééééééééééééééééééééééééé"}'
check "a long non-ASCII name is refused in UTF-8" eval 'is_err 400 invalid_field name && utf8_clean'

validate_responses
echo "1..$n"
[ "$nfail" -eq 0 ]

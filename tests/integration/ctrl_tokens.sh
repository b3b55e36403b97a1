#!/usr/bin/env bash
# Operator credentials: a token expires (401 saying so), rotation ends the
# old secret at once, last_used_ms moves at most once a minute, the
# settings bound ttl_s, and failed authentication is rate-limited per
# client address (429 with Retry-After, counted in /metrics).
. "$FC_TOP/tests/integration/ctrl_lib.bash"

ctrl_start --token-ttl-default 600 --token-ttl-max 3600 --auth-fail-limit 20 ||
	{ nok "controller starts"; exit 1; }

# --- the settings --------------------------------------------------------
api GET /v1/tokens
check "the first admin token never expires" \
	eval 'jqt ".items[] | select(.role == \"admin\" and .expires_ms == null)"'
api POST /v1/tokens '{"role":"viewer","ttl_s":3601}'
check "a ttl_s over token_ttl_max is refused (400)" is_err 400 invalid_field ttl_s
api POST /v1/tokens '{"role":"viewer","ttl_s":0}'
check "never (ttl_s 0) is refused when there is a maximum" is_err 400 invalid_field ttl_s
api POST /v1/tokens '{"role":"viewer"}'
check "a token without ttl_s gets token_ttl_default" \
	eval 'is 201 && [ $(( $(jv .expires_ms) - $(jv .created_ms) )) = 600000 ]'
check "a default above the maximum does not start" \
	eval '! "$ctl" --config /dev/null --state-dir "$work/s2" --token-ttl-default 7200 --token-ttl-max 3600 --check-config >/dev/null 2>&1'

# --- expiry --------------------------------------------------------------
api POST /v1/tokens '{"role":"viewer","ttl_s":1}'
SHORT=$(jv .token)
api GET /v1/pools "" "$SHORT"
check "a token works before its expiry" is 200
sleep 2.2
api GET /v1/pools "" "$SHORT"
check "an expired token is 401 saying it expired and how to get a new one" \
	eval 'is_err 401 unauthenticated && has expired && has "token rotate"'

# --- rotation ------------------------------------------------------------
api POST /v1/tokens '{"role":"operator","description":"rotated"}'
OLD=$(jv .token) ROT_ID=$(jv .id)
api GET /v1/pools "" "$OLD"
check "the token works before rotation" is 200
api POST "/v1/tokens/$ROT_ID/rotate" '{"ttl_s":60}'
NEW=$(jv .token)
check "rotate answers the same token with a new secret" \
	eval 'is 200 && [ "$(jv .id)" = "$ROT_ID" ] && [ "$(jv .role)" = operator ] && [ "$NEW" != "$OLD" ] && [ "$(jv .description)" = rotated ]'
api GET /v1/pools "" "$OLD"
check "the old secret is 401 at once" is_err 401 unauthenticated
api GET /v1/pools "" "$NEW"
check "the new secret works" is 200
export FINCLOUD_URL=$URL FINCLOUD_TOKEN=$ADMIN
check "finctl token rotate prints the new secret alone" \
	eval 'NEW2=$("$finctl" token rotate "$ROT_ID" 2>/dev/null) && [[ "$NEW2" =~ ^fc_[0-9a-f]{64}$ ]]'
api GET /v1/pools "" "$NEW"
check "after finctl's rotation the previous secret is 401" is 401
api GET /v1/pools "" "$NEW2"
check "and finctl's new secret works" is 200

# --- last_used_ms --------------------------------------------------------
api POST /v1/tokens '{"role":"viewer","description":"used"}'
USED=$(jv .token) USED_ID=$(jv .id)
check "a new token was never used" eval '[ "$(jv .last_used_ms)" = null ]'
api GET /v1/pools "" "$USED"
api GET /v1/tokens
first=$(jv ".items[] | select(.id == \"$USED_ID\") | .last_used_ms")
check "last_used_ms moves when the token is used" eval '[ "$first" != null ] && [ "$first" -gt 0 ]'
sleep 0.1
api GET /v1/pools "" "$USED"
api GET /v1/tokens
check "but not again within the minute (no write per request)" \
	eval '[ "$(jv ".items[] | select(.id == \"$USED_ID\") | .last_used_ms")" = "$first" ]'
check "finctl token list shows it" \
	eval '"$finctl" token list | grep -q "LAST USED"'

# --- failed authentication is rate-limited -------------------------------
validate_responses
out=$($py - "$port" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
counts, retry = {}, set()
for i in range(3000):
    c.request("GET", "/v1/pools", headers={"Authorization": "Bearer fc_" + "0" * 64})
    r = c.getresponse()
    r.read()
    counts[r.status] = counts.get(r.status, 0) + 1
    if r.status == 429:
        retry.add(r.getheader("Retry-After"))
print(counts.get(401, 0), counts.get(429, 0), len(counts),
      min(int(x) for x in retry) if retry else 0,
      max(int(x) for x in retry) if retry else 0)
PY
)
read -r n401 n429 nkinds rmin rmax <<<"$out"
check "3,000 bad tokens get at most auth_fail_limit 401s ($n401)" eval '[ "$n401" -le 20 ] && [ "$n401" -ge 1 ]'
check "and the rest 429 ($n429)" eval '[ "$n429" = $((3000 - n401)) ] && [ "$nkinds" = 2 ]'
check "each 429 has a Retry-After of 1..60 s ($rmin..$rmax)" eval '[ "$rmin" -ge 1 ] && [ "$rmax" -le 60 ]'
api GET /v1/pools
check "a good token from that address waits too (429 rate_limited)" is_err 429 rate_limited
api GET /metrics "" -
fails=$(grep '^fincloud_auth_failures_total ' <<<"$body" | cut -d' ' -f2)
limited=$(grep '^fincloud_auth_rate_limited_total ' <<<"$body" | cut -d' ' -f2)
check "/metrics counts the failures ($fails)" eval '[ "${fails:-0}" -ge 20 ]'
check "/metrics counts the 429s ($limited)" eval '[ "${limited:-0}" -ge "$n429" ]'
check "one log line for the address, not one per attempt" \
	eval '[ "$(grep -c "127.0.0.1 failed" "$work/controller.log")" = 1 ]'

echo "1..$n"
[ "$nfail" -eq 0 ]

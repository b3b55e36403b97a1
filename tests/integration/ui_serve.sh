#!/usr/bin/env bash
# The dashboard's files under /ui/ (controller/ui.c): GET / redirects,
# /ui/ and its files answer with their Content-Type, validators and the
# strict Content-Security-Policy; HEAD answers the headers alone; a
# conditional GET is 304; every traversal (.., %2e%2e, %2f, a NUL, a
# hidden file, a directory, a symbolic link out of ui_dir) is a 404 with
# the JSON error and the same headers; other methods are 405; /ui
# redirects to /ui/; ui_dir is a setting (the flag here, the config file
# in --check-config).
. "$FC_TOP/tests/integration/ctrl_lib.bash"

ui=$work/ui
mkdir -p "$ui/sub"
printf '<!doctype html><title>t</title>\n' >"$ui/index.html"
printf 'export const x = 1;\n' >"$ui/app.js"
printf 'body{margin:0}\n' >"$ui/style.css"
printf 'hidden\n' >"$ui/.secret.js"
printf 'in sub\n' >"$ui/sub/a.js"
printf 'outside\n' >"$work/outside.js"
ln -s "$work/outside.js" "$ui/link-out.js"
ln -s app.js "$ui/link-in.js"

printf 'ui_dir = relative/ui\n' >"$work/bad.conf"
"$ctl" --check-config --config "$work/bad.conf" >"$work/out" 2>&1
rc=$?
check "--check-config refuses a relative ui_dir with file:line" eval '[ $rc -eq 2 ] && grep -q "bad.conf:1: .*ui_dir" "$work/out"'
printf 'ui_dir = %s\n' "$ui" >"$work/good.conf"
"$ctl" --check-config --config "$work/good.conf" >"$work/out" 2>&1
check "--check-config accepts an absolute ui_dir" test $? -eq 0

ctrl_start --ui-dir "$ui" || { nok "controller starts"; exit 1; }

# get PATH [CURL OPTIONS...]: headers into $hdr, body into $body, $status
get() {
	local p=$1
	shift
	rm -f "$work/hdr" "$work/body"
	status=$(curl -s --path-as-is -D "$work/hdr" -o "$work/body" -w '%{http_code}' "$@" "$URL$p")
	hdr=$(tr -d '\r' <"$work/hdr")
	body=$(cat "$work/body" 2>/dev/null)
}
header() { printf '%s\n' "$hdr" | sed -n "s/^$1: //Ip" | head -n 1; }
csp_ok() {
	local csp
	csp=$(header Content-Security-Policy)
	case $csp in *"default-src 'self'"*"script-src 'self'"*"frame-ancestors 'none'"*) ;; *) return 1 ;; esac
	case $csp in *unsafe-inline*|*unsafe-eval*) return 1 ;; esac
	[ "$(header X-Content-Type-Options)" = nosniff ] &&
		[ "$(header Referrer-Policy)" = no-referrer ]
}

get /
check "GET / redirects to /ui/" eval '[ "$status" = 302 ] && [ "$(header Location)" = /ui/ ]'
check "the redirect carries the CSP" csp_ok
get /ui
check "GET /ui redirects to /ui/ with the CSP" eval '[ "$status" = 302 ] && [ "$(header Location)" = /ui/ ] && csp_ok'
get /ui/
check "GET /ui/ is index.html as text/html" eval '[ "$status" = 200 ] && [ "$body" = "$(cat "$ui/index.html")" ] && header Content-Type | grep -q "^text/html"'
check "/ui/ carries a strict CSP, nosniff, no-referrer" csp_ok
check "/ui/ carries ETag, Last-Modified and Cache-Control" eval '[ -n "$(header ETag)" ] && [ -n "$(header Last-Modified)" ] && [ "$(header Cache-Control)" = no-cache ]'
etag=$(header ETag)
get /ui/index.html -H "If-None-Match: $etag"
check "If-None-Match with its ETag is 304 without a body" eval '[ "$status" = 304 ] && [ -z "$body" ] && csp_ok'
get /ui/app.js
check "a module is text/javascript" eval '[ "$status" = 200 ] && header Content-Type | grep -q "^text/javascript" && csp_ok'
get /ui/style.css
check "a style sheet is text/css" eval '[ "$status" = 200 ] && header Content-Type | grep -q "^text/css"'
get /ui/link-in.js
check "a link inside ui_dir is served" eval '[ "$status" = 200 ] && [ "$body" = "export const x = 1;" ]'
# (curl -I writes the headers where the body would go)
get /ui/app.js -I
check "HEAD answers the headers alone" eval '[ "$status" = 200 ] && ! has "export const" && [ "$(header Content-Length)" = 20 ] && csp_ok'

# PATH WHAT: a 404 with the JSON error, the headers, and no file's bytes
for t in "/ui/..:.." "/ui/%2e%2e:%2e%2e" "/ui/..%2fcontroller.log:..%2f" \
	"/ui/../controller.log:../" "/ui/%2e%2e%2f%2e%2e%2fetc%2fpasswd:encoded ../../etc/passwd" \
	"/ui/app.js%00.png:a NUL" "/ui/.secret.js:a hidden file" "/ui/sub:a directory" \
	"/ui/sub/a.js:a file below a directory" "/ui/link-out.js:a link out of ui_dir" \
	"/ui/missing.js:a missing file" "/ui/app.exe:a type not served" \
	"/ui/index.html/:a file as a directory"; do
	p=${t%%:*} what=${t#*:}
	get "$p"
	if [ "$status" = 404 ] && [ "$(jv .error.code)" = not_found ] && csp_ok &&
		! grep -q "outside\|hidden\|in sub\|export const\|root:" "$work/body"; then
		ok "$what ($p) is a 404 with the JSON error and the CSP"
	else
		nok "$what ($p) is a 404 with the JSON error and the CSP" "status $status: $body" "$hdr"
	fi
done
for m in POST PUT DELETE PATCH; do
	get /ui/app.js -X "$m"
	check "$m /ui/app.js is 405 with the CSP" eval '[ "$status" = 405 ] && [ "$(jv .error.code)" = method_not_allowed ] && csp_ok'
done
get /v1/pools
check "the API answers without the dashboard's headers" eval '[ "$status" = 401 ] && [ -z "$(header Content-Security-Policy)" ]'
get "/v1/pools?limit=1%000" -H "Authorization: Bearer $ADMIN"
check "a NUL in a query value is not cut short" eval '[ "$status" = 400 ] && [ "$(jv .error.field)" = limit ]'

echo "1..$n"
[ "$nfail" -eq 0 ]

#!/usr/bin/env bash
# finctl checks every argument before its first request, against a real
# controller that counts the requests it gets (its /metrics counter
# fincloud_http_requests_total): for every command of the table and every
# option with a typed value (finctl NOUN VERB --help lists them), a bad
# value exits 2 naming the option, and the controller has received
# nothing. Then what scripts rely on: -o json in any position, filters
# checked, one exit code per kind of refusal, times as ISO 8601, numbers
# as given, --version, and a drain's progress as JSON.
. "$FC_TOP/tests/integration/ctrl_lib.bash"

ctrl_start || { nok "controller starts"; exit 1; }
fc() { "$finctl" "$@"; }
# jqf FILTER FILE: FILE holds one JSON document and FILTER is true on it
# (jq -e alone passes an empty file)
jqf() { jq -se "length == 1 and (.[0] | $1)" "$2" >/dev/null; }

# requests the controller has answered, but for /metrics itself
requests() {
	curl -s "$URL/metrics" | awk '/^fincloud_http_requests_total/ && !/route="metrics"/ { n += $2 } END { print n + 0 }'
}

# A bad value for each kind of option finctl --help describes.
bad_value() { # TYPE-TEXT
	case $1 in
	"an integer of 0 or more"*) echo -1 ;;
	"an integer of 1 or more"*) echo 0 ;;
	"a number of 0 or more"*) echo abc ;;
	"a number from 0 to 1"*) echo 1.5 ;;
	"a duration"*) echo abc ;;
	"an integer of 0 or more, or none"*) echo nine ;;
	"one of "*) echo bogus ;;
	*) echo "" ;;
	esac
}

# --- every typed option of every command: exit 2, nothing sent
before=$(requests)
ncases=0 bad=()
while read -r noun verb; do
	help=$(fc "$noun" "$verb" --help)
	usage=$(head -1 <<<"$help")
	# the positional arguments: the usage's words before the first option
	pos=()
	for w in ${usage#usage: finctl "$noun" "$verb"}; do
		case $w in -* | \[*) break ;; *) pos+=(x) ;; esac
	done
	while read -r opt text; do
		v=$(bad_value "$text")
		[ -n "$v" ] || continue
		ncases=$((ncases + 1))
		fc "$noun" "$verb" "${pos[@]}" "$opt" "$v" >/dev/null 2>"$work/err"
		rc=$?
		if [ $rc != 2 ] || ! grep -q -- "$opt" "$work/err"; then
			bad+=("finctl $noun $verb ${pos[*]} $opt $v: exit $rc: $(head -c 200 "$work/err")")
		fi
	done < <(sed -n '/^options:/,$p' <<<"$help" | sed -n 's/^  \(--[a-z-]*\) *\(.*\)/\1 \2/p')
done < <(fc --help | sed -n 's/^nouns: //p' | tr ' ' '\n' | while read -r noun; do
	fc "$noun" --help | sed -n "s/^  \([a-z-]*\) .*/$noun \1/p"
done)
after=$(requests)
if [ ${#bad[@]} -eq 0 ] && [ "$ncases" -ge 20 ]; then
	ok "a bad value of any of $ncases typed options exits 2 naming the option"
else
	nok "a bad value of any typed option exits 2 naming the option ($ncases cases)" "${bad[@]}"
fi
check "the controller received no request from any of them ($before -> $after)" \
	test "$before" = "$after"

# the case of the issue: nothing created, however the value is wrong
fc flavor create small --vcpus 1 --mem-mib 512 --disk-gib 10 >/dev/null
fc tenant create loan >/dev/null
before=$(requests)
fc vm create --tenant loan --flavor small --wait --timeout abc >"$work/out" 2>&1
rc=$?
check "vm create --wait --timeout abc: exit 2 naming --timeout" \
	eval '[ $rc = 2 ] && grep -q -- --timeout "$work/out"'
fc vm create --tenant loan --wait >"$work/out" 2>&1
rc=$?
check "vm create without --flavor: exit 2 naming --flavor" \
	eval '[ $rc = 2 ] && grep -q -- --flavor "$work/out"'
check "no request, and no VM" \
	eval '[ "$(requests)" = "$before" ] && [ "$(db "SELECT count(*) FROM vms")" = 0 ]'

# --- filters: a state that does not exist is an error naming those that do
fc vm list --state runing >"$work/out" 2>&1
rc=$?
check "vm list --state runing: exit 2 naming the states, no request" \
	eval '[ $rc = 2 ] && grep -q "running" "$work/out" && grep -q "stopped" "$work/out" && [ "$(requests)" = "$before" ]'
fc -o json vm list --state running >"$work/out"
check "vm list --state running: a list" jqf 'type == "array"' "$work/out"

# --- -o json (and --url) in any position
want=$(fc -o json flavor list)
same=1
for args in "flavor list -o json" "flavor -o json list" "flavor list --output=json" \
	"flavor list -ojson" "--url $URL flavor list -o json"; do
	# shellcheck disable=SC2086
	[ "$(FINCLOUD_URL=http://127.0.0.1:1 fc --url "$URL" $args)" = "$want" ] || { same=0; echo "# differs: $args"; }
done
check "-o json works before, between and after the noun and verb" test $same = 1
check "-o json is JSON" eval 'jqf ".[0].name == \"small\"" <(printf "%s" "$want")'
fc flavor list -o yaml >/dev/null 2>&1
check "-o yaml after the verb: exit 2" test $? = 2

# --- one exit code per kind of refusal
fc flavor create small --vcpus 1 --mem-mib 512 --disk-gib 10 >/dev/null 2>&1
check "creating a flavor that exists (409): exit 6" test $? = 6
fc pool show nosuch >/dev/null 2>&1
check "a pool that does not exist (404): exit 4" test $? = 4
fc flavor create huge --vcpus 100000000 --mem-mib 512 --disk-gib 10 >/dev/null 2>&1
check "a value the controller refuses (400): exit 2" test $? = 2
FINCLOUD_TOKEN=nope fc flavor list >/dev/null 2>&1
check "a bad token (401): exit 1" test $? = 1
fc --url http://127.0.0.1:1 flavor list >/dev/null 2>&1
check "no controller: exit 3" test $? = 3

# --- tables: times as ISO 8601 in UTC, numbers as given
fc audit list >"$work/out"
check "audit list shows times as ISO 8601 UTC" \
	grep -qE '^[0-9]+ +20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z ' "$work/out"
ms=$(fc -o json flavor show small | jq .created_ms)
iso=$(date -u -d "@$((ms / 1000))" +%Y-%m-%dT%H:%M:%SZ)
check "flavor show: created_ms as $iso; -o json keeps the milliseconds" \
	eval 'fc flavor show small | grep -q "^created_ms  *$iso\$" && [ "$ms" -gt 1000000000000 ]'
fc group create pay-ha --tenant loan --availability 0.9999 >"$work/out"
check "an availability of 0.9999 shows as 0.9999" \
	eval 'grep -q "^availability  *0.9999\$" "$work/out" && fc group list | grep -q " 0.9999 "'

# --- --version: the file VERSION, the same for every program with one
check "finctl --version prints VERSION" \
	test "$(fc --version)" = "finctl $(cat "$FC_TOP/VERSION")"
check "fincloud-agent --version prints VERSION" \
	test "$("$agent" --version)" = "fincloud-agent $(cat "$FC_TOP/VERSION")"

# --- a drain in the background: its progress is JSON in task show
JOIN=$(fc token create --role join --uses 1000 2>/dev/null)
register_fake h1 16 32768 500
register_fake h2 16 32768 500
vm=$(fc -o json vm create --tenant loan --flavor small --name web-1 | jq -r .id)
src=$(fc -o json vm show "$vm" | jq -r .host)
heartbeat "$src" 0 "[$(domain "$vm" running)]" # its agent: it runs
fc -o json host drain "$src" --no-wait >"$work/drain.json"
task=$(jq -r .id "$work/drain.json")
fc task show "$task" -o json >"$work/task.json"
check "task show ID -o json of a background drain: its progress is JSON" \
	jqf '.type == "drain" and (.progress | type == "object") and (.progress.moves | length == 1)' "$work/task.json"
fc task show "$task" >"$work/task.txt"
check "task show (a table) prints the moves as one line of valid JSON" \
	eval 'sed -n "s/^progress.moves  *//p" "$work/task.txt" | jq -se "length == 1 and .[0][0].vm_name == \"web-1\"" >/dev/null'

validate_responses
[ "$nfail" -eq 0 ]

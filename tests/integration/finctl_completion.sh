#!/usr/bin/env bash
# finctl's bash completion (the build writes it with finctl
# --bash-completion from the command table) completes, in a real bash
# with COMP_WORDS set as bash sets them: the global options, the nouns,
# each noun's verbs, each command's options (exactly those its --help
# names), the words of an option that takes one of a list, and -o's
# formats, also after global options.
set -u
: "${FC_TOP:?}" "${FC_BIN:?}" "${FC_BUILD:?}"
F=$FC_BIN/finctl
script=$FC_BUILD/completion/finctl
if [ ! -x "$F" ]; then
	echo "SKIP: $F is not built"
	exit 77
fi
if [ ! -f "$script" ]; then
	echo "not ok 1 - the build wrote no bash completion ($script)"
	exit 1
fi
n=0 nfail=0
# tap STATUS WHAT [DETAIL...]: one TAP line, ok when STATUS is 0
tap() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; return; fi
	nfail=$((nfail + 1))
	echo "not ok $n - $2"
	shift 2
	printf '# %s\n' "$@"
}

# complete WORD...: what the script offers for the last word, sorted, on
# one line
complete_words() {
	bash --norc --noprofile -c '
		source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_finctl
		printf "%s\n" "${COMPREPLY[@]}" | sort | paste -sd" " -' _ "$script" "$@"
}
sorted() { tr ' ' '\n' | grep -v '^$' | sort -u | paste -sd' ' -; }
expect() { # WHAT WANT WORD...
	local what=$1 want got
	want=$(sorted <<<"$2")
	shift 2
	got=$(complete_words "$@")
	[ "$got" = "$want" ]
	tap $? "$what" "words: $*" "want: $want" "got:  $got"
}

bash -n "$script" && [ "$(cat "$script")" = "$("$F" --bash-completion)" ]
tap $? "the built script is bash and what finctl --bash-completion prints"
grep -q "complete -F _finctl finctl" "$script"
tap $? "it registers _finctl for finctl"

nouns=$("$F" --help | sed -n 's/^nouns: //p')
expect "finctl <TAB>: every noun" "$nouns" finctl ""
expect "finctl v<TAB>: vm" "vm" finctl v
expect "finctl --<TAB>: the global options" "--url --output --help --version" finctl --
expect "finctl -o <TAB>: the formats" "table json" finctl -o ""
expect "finctl --url U -o json vm cr<TAB>: create (after global options)" "create" \
	finctl --url http://x -o json vm cr

# every noun's verbs and every command's options, against --help
bad=()
ncmd=0
for noun in $nouns; do
	verbs=$("$F" "$noun" --help | sed -n 's/^  \([a-z-]*\) .*/\1/p')
	got=$(complete_words finctl "$noun" "")
	[ "$got" = "$(sorted <<<"$verbs --help")" ] || bad+=("finctl $noun <TAB>: got '$got', want '$verbs --help'")
	for verb in $verbs; do
		ncmd=$((ncmd + 1))
		opts=$("$F" "$noun" "$verb" --help | head -1 | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
		got=$(complete_words finctl "$noun" "$verb" --)
		[ "$got" = "$(sorted <<<"$opts --help")" ] || bad+=("finctl $noun $verb --<TAB>: got '$got', want '$(sorted <<<"$opts --help")'")
	done
done
[ ${#bad[@]} -eq 0 ] && [ "$ncmd" -gt 30 ]
tap $? "each noun completes its verbs and each of $ncmd commands its options" "${bad[@]}"

expect "finctl vm list --state r<TAB>: the VM states with r" "running" finctl vm list --state r
expect "finctl host list --state <TAB>: the host states" "up down maintenance" finctl host list --state ""
expect "finctl token create --role <TAB>: the roles" "admin operator tenant viewer join" \
	finctl token create --role ""
expect "finctl vm create --tenant <TAB>: nothing (free text)" "" finctl vm create --tenant ""
expect "finctl -o json pool create p --policy s<TAB>: spread" "spread" \
	finctl -o json pool create p --policy s
[ "$nfail" -eq 0 ]

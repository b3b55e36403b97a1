#!/usr/bin/env bash
# The banned string calls must not compile in fincloud code, and no source
# file may call them by getting around common/banned.h.
set -u
cd "$FC_TOP" || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for call in 'strcpy(d, s)' 'strcat(d, s)' 'sprintf(d, "%s", s)' \
	'gets(d)' 'strtok(d, s)' 'strncpy(d, s, 1)'; do
	n=$((n + 1))
	cat >"$tmp/t.c" <<EOC
#include "common/fc.h"
char *f(char *d, char *s);
char *f(char *d, char *s) { (void)s; (void)d; return (char *)(uintptr_t)$call; }
EOC
	if cc -std=c11 -D_GNU_SOURCE -I. -c -o "$tmp/t.o" "$tmp/t.c" 2>"$tmp/err"; then
		echo "not ok $n - $call compiled"
	elif grep -q 'banned_function' "$tmp/err"; then
		echo "ok $n - $call is refused at compile time"
	else
		echo "not ok $n - $call failed for another reason:"
		sed 's/^/# /' "$tmp/err"
	fi
done
n=$((n + 1))
# Every .c file must see banned.h (directly or through common/fc.h).
flags=$(pkg-config --cflags libcjson libcurl libxml-2.0 libvirt libmicrohttpd sqlite3 libpq cmocka 2>/dev/null)
missing=
while IFS= read -r f; do
	# shellcheck disable=SC2086
	cc -std=c11 -D_GNU_SOURCE -I. $flags -E -dM "$f" 2>/dev/null |
		grep -q 'define FC_BANNED_H' || missing="$missing $f"
done < <(find common scheduler controller finctl agents tests -name '*.c' 2>/dev/null | sort)
if [ -z "$missing" ]; then
	echo "ok $n - every C file is compiled with common/banned.h"
else
	echo "not ok $n - files that never include common/banned.h:$missing"
fi
n=$((n + 1))
# A .c file of the product is compiled on its own, never #included by
# another.
included=$(grep -rlE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"][^>"]*\.c[>"]' \
	common scheduler controller finctl agents --include='*.[ch]' 2>/dev/null)
if [ -z "$included" ]; then
	echo "ok $n - no source file includes a .c file"
else
	echo "not ok $n - these include a .c file:" $included
fi

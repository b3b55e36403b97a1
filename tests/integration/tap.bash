# tests/integration/tap.bash: TAP lines for the integration scripts.
#
#   . "$top/tests/integration/tap.bash"
#   ok "what held"
#   fail "what did not" ["detail line"...]   (details print as "#   ...")
#   check "what" COMMAND...                  (ok when COMMAND succeeds)
#
# n counts the lines, failed the failures. tests/run.sh counts the
# "not ok" lines; for the script's own status to say so too, its EXIT
# trap ends with `[ "$failed" -eq 0 ] || exit 1` (a trap's last status
# alone does not change the script's).
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() {
	n=$((n + 1)) failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	[ $# -eq 0 ] || printf '#   %s\n' "$@"
}
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what" "failed: $*"; fi
}

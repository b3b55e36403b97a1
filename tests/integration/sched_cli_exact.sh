#!/usr/bin/env bash
# fincloud-sched place on the small fixtures of tests/data/sched/ against
# glpsol's full MIP (sched_glpsol.py writes the model from the problem
# file, independently of scheduler/place_exact.c): never fewer VMs placed,
# never below a proven optimum, within 1% of it; the output follows its
# schema and says which bound it gives.
set -u
: "${FC_TOP:?}" "${FC_BIN:?}"
S=$FC_BIN/fincloud-sched
D=$FC_TOP/tests/data/sched
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }

if [ ! -x "$S" ]; then
	echo "SKIP: $S is not built"
	exit 77
fi
if ! command -v glpsol >/dev/null; then
	echo "SKIP: glpsol is not installed (package glpk-utils)"
	exit 77
fi

# fixture glpsol-seconds
for c in "place-12x80-groups 30" "place-12x80-cost 30" "place-10x60-dedicated 10"; do
	set -- $c
	f=$D/$1.json
	"$S" place --summary "$f" >"$tmp/p.json" 2>"$tmp/err"; rc=$?
	if [ $rc -gt 1 ]; then
		not_ok "$1: place runs" "rc=$rc" "$(cat "$tmp/err")"
		continue
	fi
	"$PY" - "$D/place-output.schema.json" "$tmp/p.json" <<'PYEOF' && ok "$1: output follows its schema" || not_ok "$1: output follows its schema"
import json, sys, jsonschema
jsonschema.Draft7Validator(json.load(open(sys.argv[1]))).validate(json.load(open(sys.argv[2])))
PYEOF
	"$PY" "$FC_TOP/tests/integration/sched_glpsol.py" "$f" "$2" >"$tmp/g.json"
	msg=$("$PY" - "$tmp/p.json" "$tmp/g.json" <<'PYEOF'
import json, sys
p = json.load(open(sys.argv[1])); g = json.load(open(sys.argv[2]))
errs = []
if len(p["unplaced"]) > g["unplaced"]:
    errs.append(f"{len(p['unplaced'])} unplaced, glpsol {g['unplaced']}")
if g["optimal"] and len(p["unplaced"]) == g["unplaced"]:
    if p["cost"] < g["cost"] - 1e-6:
        errs.append(f"cost {p['cost']} below glpsol's optimum {g['cost']}")
    if p["cost"] > g["cost"] * 1.01 + 1e-9:
        errs.append(f"cost {p['cost']} above 1.01 x glpsol's optimum {g['cost']}")
    if p["lower_bound"] > g["cost"] + 1e-6:
        errs.append(f"bound {p['lower_bound']} ({p['bound_kind']}) above the optimum {g['cost']}")
if p["optimal"] != (p["bound_kind"] == "optimal"):
    errs.append("optimal and bound_kind disagree")
print(f"cost {p['cost']:.2f} ({len(p['unplaced'])} out, {p['bound_kind']} bound "
      f"{p['lower_bound']:.2f}), glpsol {g['cost']:.2f} ({g['unplaced']} out, "
      f"{'optimal' if g['optimal'] else 'not proven'} in {g['seconds']} s)")
print("; ".join(errs))
sys.exit(1 if errs else 0)
PYEOF
)
	if [ $? -eq 0 ]; then
		ok "$1 against glpsol: $(head -1 <<<"$msg")"
	else
		not_ok "$1 against glpsol" "$msg"
	fi
done

echo "1..$n"
exit $failed

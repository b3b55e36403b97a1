#!/usr/bin/env python3
"""scripts/sched-mip.py PROBLEM.json > DATA.dat - the data section of
scripts/sched-mip.mod for a placement problem (docs/scheduler.md), so that
`glpsol --math scripts/sched-mip.mod -d DATA.dat` solves the whole problem
exactly (used by scripts/bench-sched.sh)."""
import json
import math
import sys

DIMS = ("vcpus", "mem_mib", "disk_gib")
RATIO = {"vcpus": "cpu_ratio", "mem_mib": "mem_ratio", "disk_gib": "disk_ratio"}
EPS = 1e-9


def q(name):
    return "'" + name.replace("'", "''") + "'"


def strength(a):
    """-ln(1 - a): availabilities multiply, their logarithms add."""
    return -math.log(max(1 - a, 1e-12))


def main():
    p = json.load(open(sys.argv[1]))
    pools = {pl["name"]: pl for pl in p["pools"]}
    tenants = {t["name"]: t for t in p.get("tenants", [])}
    groups = {g["name"]: g for g in p.get("groups", [])}
    hosts, vms = p["hosts"], p["vms"]
    out = []
    w = out.append
    w("data;")
    w("set H := %s;" % " ".join(q(h["name"]) for h in hosts))
    w("set V := %s;" % " ".join(q(v["name"]) for v in vms))
    w("set T := %s;" % " ".join(q(t) for t in tenants))
    w("set G := %s;" % " ".join(q(g) for g in groups))
    usable = {}
    w("param cost := %s;" % " ".join("%s %r" % (q(h["name"]), h.get("cost", 0)) for h in hosts))
    w("param L := %s;" % " ".join("%s %r" % (q(h["name"]), strength(h.get("availability", 0))) for h in hosts))
    w("param usable :=")
    for h in hosts:
        pl = pools[h["pool"]]
        usable[h["name"]] = {d: h[d] * pl.get(RATIO[d], 1) for d in DIMS}
        for d in DIMS:
            w("  %s %s %r" % (q(h["name"]), d, usable[h["name"]][d]))
    w(";")
    w("param req :=")
    for v in vms:
        for d in DIMS:
            w("  %s %s %r" % (q(v["name"]), d, v.get(d, 0)))
    w(";")
    w("param M := %r;" % (sum(h.get("cost", 0) for h in hosts) + 1))
    ok, pin = [], []
    for v in vms:
        t = tenants.get(v["tenant"], {})
        allowed = t.get("pools") or list(pools)
        tags = set(v.get("tags", []))
        for h in hosts:
            fits = all(v.get(d, 0) <= usable[h["name"]][d] + EPS for d in DIMS)
            if v.get("host") == h["name"]:
                pin.append((v["name"], h["name"]))
                ok.append((v["name"], h["name"]))
            elif (h.get("state", "up") == "up" and h["pool"] in allowed
                  and tags <= set(h.get("tags", [])) and fits):
                ok.append((v["name"], h["name"]))
    w("set OK := %s;" % " ".join("(%s, %s)" % (q(a), q(b)) for a, b in ok))
    w("set PIN := %s;" % " ".join("(%s, %s)" % (q(a), q(b)) for a, b in pin))
    w("set DED := %s;" % " ".join(q(n) for n, t in tenants.items()
                                  if t.get("isolation") == "dedicated"))
    for n in tenants:
        w("set TV[%s] := %s;" % (q(n), " ".join(q(v["name"]) for v in vms if v["tenant"] == n)))
    aa = [n for n, g in groups.items() if g.get("policy", "anti-affinity") == "anti-affinity"]
    w("set AA := %s;" % " ".join(q(n) for n in aa))
    w("set AF := %s;" % " ".join(q(n) for n in groups if n not in aa))
    for n in groups:
        w("set GV[%s] := %s;" % (q(n), " ".join(q(v["name"]) for v in vms if v.get("group") == n)))
    w("param target := %s;" % " ".join(
        "%s %r" % (q(n), strength(g["availability"]) if g.get("availability", 0) > 0 else 0)
        for n, g in groups.items()))
    w("param ord := %s;" % " ".join("%s %d" % (q(h["name"]), i + 1) for i, h in enumerate(hosts)))
    last, sym = {}, []
    for v in vms:
        if "host" in v or v.get("group"):
            continue
        key = (v["tenant"], tuple(v.get(d, 0) for d in DIMS), tuple(sorted(v.get("tags", []))))
        if key in last:
            sym.append((last[key], v["name"]))
        last[key] = v["name"]
    w("set SYM := %s;" % " ".join("(%s, %s)" % (q(a), q(b)) for a, b in sym))
    w("end;")
    print("\n".join(out))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The full placement MIP of a problem file (schemas/placement-problem.schema.json)
solved by glpsol, written independently of scheduler/place_exact.c so that
each checks the other.

usage: sched_glpsol.py PROBLEM.json SECONDS [PLACE-OUTPUT.json]
prints JSON: {"status", "optimal", "cost", "placed", "unplaced", "seconds"};
with the output of `fincloud-sched place` on the same problem, compares
instead and prints one line: exit 1 when place leaves out more VMs than
glpsol, costs less than a proven optimum or more than 1.01 times it, or
reports a bound above it.

The model, over one binary x[v,j] per VM without a host and host it may
use (host up, pool allowed for the tenant, every tag of the VM on the host):
each VM placed once or left out (u[v], priced above all hosts together);
y[j] pays a host's cost; capacity x pool ratio per dimension; a dedicated
tenant t holds a host alone (z[t,j]); anti-affinity at most one member per
host; affinity members on one host (a[g,j]); an availability target, once
every member is placed: sum -log(1 - A_j) over the members' hosts reaches
-log(1 - target).
"""
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time

DIMS = (("vcpus", "cpu_ratio"), ("mem_mib", "mem_ratio"), ("disk_gib", "disk_ratio"))


def lg(a):
    return -math.log(max(1 - a, 1e-15))


def model(prob):
    pools = {p["name"]: p for p in prob["pools"]}
    hosts = prob["hosts"]
    tenants = {t["name"]: t for t in prob["tenants"]}
    groups = {g["name"]: g for g in prob.get("groups", [])}
    vms = prob.get("vms", [])
    hidx = {h["name"]: j for j, h in enumerate(hosts)}
    cap = []
    for h in hosts:
        pl = pools[h["pool"]]
        cap.append([h[d] * pl.get(r, 1.0) for d, r in DIMS])
    used = [[0.0] * 3 for _ in hosts]
    pinned = {}
    for i, v in enumerate(vms):
        if "host" in v:
            j = hidx[v["host"]]
            pinned[i] = j
            for k, (d, _) in enumerate(DIMS):
                used[j][k] += v[d]
    free = [i for i in range(len(vms)) if i not in pinned]
    ok = {}
    for i in free:
        v = vms[i]
        t = tenants[v["tenant"]]
        for j, h in enumerate(hosts):
            if h.get("state", "up") != "up":
                continue
            if t.get("pools") and h["pool"] not in t["pools"]:
                continue
            if not set(v.get("tags", [])) <= set(h.get("tags", [])):
                continue
            ok[i, j] = True
    big = 2 * sum(h.get("cost", 1) for h in hosts) + 1
    obj, rows, bins = [], [], []

    def x(i, j):
        return f"x_{i}_{j}"

    for j, h in enumerate(hosts):
        obj.append(f"{h.get('cost', 1)} y_{j}")
        bins.append(f"y_{j}")
        if any(p == j for p in pinned.values()):
            rows.append(f"y_{j} = 1")
    for i in free:
        obj.append(f"{big} u_{i}")
        bins.append(f"u_{i}")
        terms = [x(i, j) for j in range(len(hosts)) if (i, j) in ok]
        bins += terms
        rows.append(" + ".join(terms + [f"u_{i}"]) + " = 1")
    for j in range(len(hosts)):
        for k, (d, _) in enumerate(DIMS):
            terms = [f"{vms[i][d]} {x(i, j)}" for i in free
                     if (i, j) in ok and vms[i][d] > 0]
            if terms:
                room = max(cap[j][k] - used[j][k], 0) * (1 + 1e-12)
                rows.append(" + ".join(terms) + f" - {room!r} y_{j} <= 0")
    for tn, t in tenants.items():
        if t.get("isolation") != "dedicated":
            continue
        ti = list(tenants).index(tn)
        for j in range(len(hosts)):
            mine = [i for i in free if (i, j) in ok and vms[i]["tenant"] == tn]
            other = [i for i in free if (i, j) in ok and vms[i]["tenant"] != tn]
            pin_mine = any(p == j and vms[i]["tenant"] == tn for i, p in pinned.items())
            pin_other = any(p == j and vms[i]["tenant"] != tn for i, p in pinned.items())
            if not mine and not pin_mine:
                continue
            z = f"z_{ti}_{j}"
            bins.append(z)
            if pin_mine:
                rows.append(f"{z} = 1")
            if pin_other:
                rows.append(f"{z} = 0")
            rows += [f"{x(i, j)} - {z} <= 0" for i in mine]
            rows += [f"{x(i, j)} + {z} <= 1" for i in other]
    for gi, (gn, g) in enumerate(groups.items()):
        mem = [i for i in free if vms[i].get("group") == gn]
        pmem = [i for i in pinned if vms[i].get("group") == gn]
        if g.get("policy", "anti-affinity") == "affinity":
            at = {pinned[i] for i in pmem}
            for j in range(len(hosts)):
                for i in mem:
                    if (i, j) in ok and at and j not in at:
                        rows.append(f"{x(i, j)} = 0")
                    elif (i, j) in ok:
                        rows.append(f"{x(i, j)} - a_{gi}_{j} <= 0")
                        if f"a_{gi}_{j}" not in bins:
                            bins.append(f"a_{gi}_{j}")
            aterms = [f"a_{gi}_{j}" for j in range(len(hosts)) if f"a_{gi}_{j}" in bins]
            if aterms:
                rows.append(" + ".join(aterms) + " <= 1")
            continue
        for j in range(len(hosts)):
            terms = [x(i, j) for i in mem if (i, j) in ok]
            taken = any(pinned[i] == j for i in pmem)
            if terms:
                rows.append(" + ".join(terms) + f" <= {0 if taken else 1}")
        target = g.get("availability", 0)
        if target > 0 and mem:
            need = lg(target) - sum(lg(hosts[pinned[i]].get("availability", 0.99)) for i in pmem)
            need -= 1e-13 / (1 - target + 1e-15)
            if need > 0:
                terms = [f"{lg(hosts[j].get('availability', 0.99))!r} {x(i, j)}"
                         for i in mem for j in range(len(hosts)) if (i, j) in ok]
                terms += [f"{need!r} u_{i}" for i in mem]
                rows.append(" + ".join(terms) + f" >= {need!r}")
    lp = ["Minimize", " obj: " + " + ".join(obj), "Subject To"]
    lp += [f" r{n}: {r}" for n, r in enumerate(rows)]
    lp += ["Binary"] + [f" {b}" for b in dict.fromkeys(bins)] + ["End"]
    return "\n".join(lp) + "\n", big, free


def main():
    prob = json.load(open(sys.argv[1]))
    seconds = int(float(sys.argv[2]))
    text, big, free = model(prob)
    with tempfile.TemporaryDirectory() as d:
        lp, out = os.path.join(d, "p.lp"), os.path.join(d, "p.out")
        open(lp, "w").write(text)
        t0 = time.monotonic()
        subprocess.run(["glpsol", "--lp", lp, "--tmlim", str(seconds), "-o", out],
                       stdout=subprocess.DEVNULL, check=False)
        took = time.monotonic() - t0
        report = open(out).read()
    status = re.search(r"Status:\s+(.*)", report).group(1).strip()
    objv = float(re.search(r"Objective:\s+obj = (\S+)", report).group(1))
    vals = {}
    for m in re.finditer(r"^\s*\d+\s+(\S+)\s*(?:\n\s*)?\*\s+(\S+)", report, re.M):
        vals[m.group(1)] = float(m.group(2))
    unplaced = sum(1 for i in free if vals.get(f"u_{i}", 0) > 0.5)
    g = {"status": status, "optimal": status == "INTEGER OPTIMAL",
         "cost": objv - big * unplaced, "placed": len(free) - unplaced,
         "unplaced": unplaced, "seconds": round(took, 2)}
    if len(sys.argv) < 4:
        print(json.dumps(g))
        return 0
    return compare(json.load(open(sys.argv[3])), g)


def compare(p, g):
    errs = []
    out = len(p["unplaced"])
    if out > g["unplaced"]:
        errs.append(f"{out} unplaced, glpsol {g['unplaced']}")
    if g["optimal"] and out == g["unplaced"]:
        if p["cost"] < g["cost"] - 1e-6:
            errs.append("cost below glpsol's optimum")
        if p["cost"] > g["cost"] * 1.01 + 1e-9:
            errs.append("cost above 1.01 x glpsol's optimum")
        if p["lower_bound"] > g["cost"] + 1e-6:
            errs.append("bound above the optimum")
    if p["optimal"] != (p["bound_kind"] == "optimal"):
        errs.append("optimal and bound_kind disagree")
    print(f"cost {p['cost']:.2f} ({out} out, {p['bound_kind']} bound "
          f"{p['lower_bound']:.2f}), glpsol {g['cost']:.2f} ({g['unplaced']} out, "
          f"{'optimal' if g['optimal'] else 'not proven'} in {g['seconds']} s)"
          + ("; " + "; ".join(errs) if errs else ""))
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())

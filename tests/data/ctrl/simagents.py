#!/usr/bin/python3
"""simagents.py URL ADMIN_TOKEN COUNT WAIT_S SECONDS STATUS_FILE: COUNT
simulated agents in one process (scripts/bench-pg.sh), for a fleet too
large to run as fincloud-agent processes on one machine.

Each registers a node simN (128 vCPUs, 512 GiB, 10 TB) in the pool
"default", then heartbeats on a keep-alive connection of its own
(POST /v1/agents/simN/heartbeat?wait_s=WAIT_S, a long poll, as
fincloud-agent does): it reports every VM of its last desired state as a
running domain (with CPU, balloon and disk figures), and every reboot task
it was given as done, as an agent on libvirt's test:/// driver would once
it has defined and started the domains. It writes "registered N" to STATUS_FILE
once all are registered, waits for the file STATUS_FILE.go to exist (the
caller may fill the fleet first), then runs for SECONDS, adding every
second "heartbeats OK FAILED VMS WHY" (answers 200, other answers or
errors, VMs reported running in the last heartbeat of each node, the
failures by status or exception as a JSON object)."""
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse

from simnode import post, register

INV = {"vcpus": 128, "mem_mib": 524288, "mem_free_mib": 524288,
       "disk_gib": 10000, "disk_free_gib": 10000, "cpu_model": "sim",
       "virt_type": "test", "libvirt_version": "9.0.0"}


def main():
    url, admin, count, wait_s, secs, status_file = sys.argv[1:7]
    count, wait_s, secs = int(count), int(wait_s), float(secs)
    u = urllib.parse.urlsplit(url)
    lock = threading.Lock()
    stats = {"ok": 0, "bad": 0}
    why = {}  # failure (status or exception name) -> count
    vms = [0] * count
    end = time.monotonic() + secs

    creds = register(u, admin, "sim", count, INV)
    with open(status_file, "w") as f:
        f.write("registered %d\n" % count)
    while not os.path.exists(status_file + ".go"):
        time.sleep(0.2)
    end = time.monotonic() + secs

    def agent(i):
        # spread the first heartbeats over a few seconds, as a fleet's
        # agents do not start at one instant
        time.sleep(random.random() * 3)
        c = None
        gen, desired, tasks = 0, [], []
        while time.monotonic() < end:
            doms = [{"vm_id": v["vm_id"], "name": v["name"], "state": "running",
                     "vcpus": v["vcpus"], "mem_mib": v["mem_mib"],
                     "balloon_mib": v["mem_mib"], "cpu_time_ns": 1,
                     "cpu_pct": 1.5, "disk_alloc_bytes": 4096}
                    for v in desired if v.get("state") == "running"]
            body = {"generation_seen": gen, "status": "ok", "inventory": INV,
                    "domains": doms, "foreign_domains": [],
                    "tasks": [{"task_id": t, "state": "done"} for t in tasks]}
            try:
                if c is None:
                    c = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
                st, d = post(c, "/v1/agents/sim%d/heartbeat?wait_s=%d" % (i, wait_s),
                             body, creds[i])
            except (OSError, http.client.HTTPException, ValueError) as e:
                st, d = type(e).__name__, None
                if c is not None:
                    c.close()
                c = None
            if st != 200 or not isinstance(d, dict):
                with lock:
                    stats["bad"] += 1
                    why[str(st)] = why.get(str(st), 0) + 1
                time.sleep(1)
                continue
            with lock:
                stats["ok"] += 1
                vms[i] = len(doms)
            gen = d.get("generation", gen)
            if "vms" in d:
                desired = d["vms"]
            tasks = [t["task_id"] for t in d.get("tasks", [])
                     if t.get("type") == "reboot"]
        if c is not None:
            c.close()

    threads = [threading.Thread(target=agent, args=(i,), daemon=True)
               for i in range(count)]
    for t in threads:
        t.start()
    while time.monotonic() < end:
        time.sleep(1)
        with lock:
            line = "heartbeats %d %d %d %s\n" % (stats["ok"], stats["bad"], sum(vms),
                                                json.dumps(why, separators=(",", ":")))
        with open(status_file, "a") as f:
            f.write(line)


if __name__ == "__main__":
    main()

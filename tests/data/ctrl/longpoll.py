#!/usr/bin/python3
"""longpoll.py URL ADMIN_TOKEN COUNT SECONDS: register COUNT simulated
nodes and keep each one long-polling its heartbeat (wait_s=30) on its own
connection for SECONDS, as COUNT real agents would. Prints "polling" once
every node has registered. Used by scripts/bench-ctrl.sh to measure the
controller's memory with a whole fleet connected."""
import http.client
import sys
import threading
import time
import urllib.parse

from simnode import post, register

INV = {"vcpus": 64, "mem_mib": 262144, "mem_free_mib": 262144,
       "disk_gib": 10000, "disk_free_gib": 10000, "cpu_model": "sim",
       "virt_type": "test", "libvirt_version": "9.0.0"}


def main():
    url, admin, count, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    u = urllib.parse.urlsplit(url)
    creds = register(u, admin, "lp", count, INV)

    def poller(i):
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        gen = 0
        while True:
            try:
                _, d = post(c, "/v1/agents/lp%d/heartbeat?wait_s=30" % i,
                            {"generation_seen": gen, "status": "ok",
                             "inventory": INV, "domains": [],
                             "foreign_domains": [], "tasks": []}, creds[i])
                gen = d["generation"]
            except (OSError, http.client.HTTPException, TypeError, KeyError):
                return

    for i in range(count):
        threading.Thread(target=poller, args=(i,), daemon=True).start()
    print("polling", flush=True)
    time.sleep(secs)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""failover.py: a burst of VM creates through several controllers while
something breaks (tests/integration/pg_kill9.sh, pg_restart_load.sh).

  failover.py --url URL [--url URL...] --token T --out DIR --count N
      --par P --tenant NAME[,NAME...] [--flavor F] [--prefix K]
      [--at N --run CMD] [--avoid URL] [--twins K] [--settle S]

Request i (0 <= i < N) creates a VM named PREFIX-i in the i-th tenant of
the list (round robin) with Idempotency-Key PREFIX-i, through the URL of
index i % len(urls); P keep-alive connections (threads) per URL send them.
Every K-th request (--twins) is also sent at the same time through the
next URL with the same key and body: both must answer the same VM.

--at N --run CMD: once N answers have come back, CMD runs (sh -c, in the
background of the burst); its start is recorded as run_ms (wall clock,
ms). --avoid URL: from then on, requests for URL go to the next URL
instead (the controller CMD killed).

A request that gets no HTTP answer (connection refused, reset, closed) or
a 5xx is sent again with the same key and body: at once through the next
URL when the first is the avoided one, else once the burst is over, for
up to S seconds (--settle, default 30) until it gets an answer below 500.

Writes DIR/answers.jsonl (one line per attempt: key, url, status, error
code, VM id, whether the body was JSON with error.code and error.message,
seconds taken) and prints one JSON summary line:
  {"keys", "acked" (keys with a 2xx), "ids" (distinct VM ids answered),
   "split" (keys answered with two different ids), "final" {status: n},
   "first" {status: n} (the first answer of each attempt in the burst),
   "noanswer" (attempts without an HTTP answer), "unclear" (5xx answers
   whose body lacks a JSON error with code and message), "slowest_s"
   (the longest attempt), "burst_s" (the burst without the settling
   retries), "run_ms"}
and DIR/acked (the acknowledged VM ids, one a line, sorted).
"""
import argparse
import http.client
import json
import os
import subprocess
import threading
import time
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", action="append", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--par", type=int, default=8)
    ap.add_argument("--tenant", required=True)
    ap.add_argument("--flavor", default="s")
    ap.add_argument("--prefix", default="k")
    ap.add_argument("--at", type=int, default=-1)
    ap.add_argument("--run")
    ap.add_argument("--avoid")
    ap.add_argument("--twins", type=int, default=0)
    ap.add_argument("--settle", type=float, default=30)
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    urls = a.url
    tenants = a.tenant.split(",")
    lock = threading.Lock()
    st = {"answers": 0, "run_ms": None, "avoid": None}
    log = open(os.path.join(a.out, "answers.jsonl"), "w")
    results = {}  # key -> list of (status, id)
    redo = []     # (key, body, url index) to send again after the burst
    noanswer = [0]
    unclear = [0]
    first = {}
    slowest = [0.0]

    def body_of(i):
        return json.dumps({"tenant": tenants[i % len(tenants)],
                           "flavor": a.flavor,
                           "name": "%s-%d" % (a.prefix, i)})

    queues = [[] for _ in urls]
    for i in range(a.count):
        key = "%s-%d" % (a.prefix, i)
        queues[i % len(urls)].append((key, body_of(i)))
        if a.twins and i % a.twins == 0 and len(urls) > 1:
            queues[(i + 1) % len(urls)].append((key, body_of(i)))

    def connect(u):
        p = urllib.parse.urlsplit(u)
        return http.client.HTTPConnection(p.hostname, p.port, timeout=a.timeout)

    def send(conns, ui, key, body):
        """One attempt: (status or None, parsed body or None)."""
        u = urls[ui]
        t0 = time.monotonic()
        status, doc, err = None, None, None
        try:
            if conns.get(ui) is None:
                conns[ui] = connect(u)
            conns[ui].request("POST", "/v1/vms", body=body, headers={
                "Authorization": "Bearer " + a.token,
                "Content-Type": "application/json",
                "Idempotency-Key": key})
            r = conns[ui].getresponse()
            raw = r.read()
            status = r.status
            try:
                doc = json.loads(raw)
            except ValueError:
                doc = None
            if r.getheader("Connection", "").lower() == "close":
                conns[ui].close()
                conns[ui] = None
        except (OSError, http.client.HTTPException) as e:
            err = type(e).__name__
            if conns.get(ui) is not None:
                conns[ui].close()
            conns[ui] = None
        took = time.monotonic() - t0
        e = doc.get("error") if isinstance(doc, dict) else None
        clear = isinstance(e, dict) and bool(e.get("code")) and bool(e.get("message"))
        vid = doc.get("id") if isinstance(doc, dict) and status and status < 300 else None
        with lock:
            slowest[0] = max(slowest[0], took)
            if status is None:
                noanswer[0] += 1
            elif status >= 500 and not clear:
                unclear[0] += 1
            log.write(json.dumps({"key": key, "url": u, "status": status,
                                  "code": e.get("code") if isinstance(e, dict) else None,
                                  "message": e.get("message") if isinstance(e, dict) else None,
                                  "id": vid, "exc": err,
                                  "s": round(took, 3)}) + "\n")
        return status, vid

    def record(key, status, vid):
        with lock:
            results.setdefault(key, []).append((status, vid))

    def tick():
        with lock:
            st["answers"] += 1
            fire = st["answers"] == a.at and a.run
        if fire:
            with lock:
                st["run_ms"] = int(time.time() * 1000)
                st["avoid"] = a.avoid
            subprocess.Popen(["sh", "-c", a.run])

    def worker(ui, q):
        conns = {}
        while True:
            with lock:
                if not q:
                    break
                key, body = q.pop(0)
                target = ui
                if st["avoid"] == urls[ui]:
                    target = (ui + 1) % len(urls)
            status, vid = send(conns, target, key, body)
            tick()
            with lock:
                first[str(status)] = first.get(str(status), 0) + 1
            if (status is None or status >= 500) and st["avoid"] == urls[target]:
                # the controller was killed under it: the next one, now
                target = (target + 1) % len(urls)
                status, vid = send(conns, target, key, body)
            if status is None or status >= 500:
                with lock:
                    redo.append((key, body, target))
                continue
            record(key, status, vid)
        for c in conns.values():
            if c is not None:
                c.close()

    t_burst = time.monotonic()
    threads = []
    for ui in range(len(urls)):
        for _ in range(a.par):
            threads.append(threading.Thread(target=worker, args=(ui, queues[ui])))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    burst_s = time.monotonic() - t_burst
    # the burst is over: what got no answer or a 5xx, again until answered
    deadline = time.monotonic() + a.settle
    conns = {}
    while redo and time.monotonic() < deadline:
        left = []
        for key, body, ui in redo:
            if st["avoid"] == urls[ui]:
                ui = (ui + 1) % len(urls)
            status, vid = send(conns, ui, key, body)
            if status is None or status >= 500:
                left.append((key, body, (ui + 1) % len(urls)))
            else:
                record(key, status, vid)
        redo = left
        if redo:
            time.sleep(0.5)
    for key, _, _ in redo:
        record(key, None, None)
    log.close()

    final, ids, split, acked = {}, set(), 0, 0
    for key, rs in results.items():
        got = {vid for s, vid in rs if s is not None and s < 300}
        if len(got) > 1:
            split += 1
        if got:
            acked += 1
        ids |= got
        s = str(rs[-1][0])
        final[s] = final.get(s, 0) + 1
    with open(os.path.join(a.out, "acked"), "w") as f:
        for vid in sorted(ids):
            f.write("%s\n" % vid)
    print(json.dumps({"keys": len(results), "acked": acked, "ids": len(ids),
                      "split": split, "final": final, "first": first,
                      "noanswer": noanswer[0], "unclear": unclear[0],
                      "slowest_s": round(slowest[0], 3),
                      "burst_s": round(burst_s, 3), "run_ms": st["run_ms"]}))


if __name__ == "__main__":
    main()

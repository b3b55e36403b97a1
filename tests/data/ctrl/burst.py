#!/usr/bin/python3
"""burst.py URL TOKEN PATH BODY COUNT PARALLEL: send COUNT POSTs of BODY
to URL+PATH over PARALLEL keep-alive connections (one thread each) and
print "SECONDS CREATED OTHER" (2xx answers / other answers). Used by
scripts/bench-ctrl.sh: spawning one curl per request would measure curl."""
import http.client
import sys
import threading
import time
import urllib.parse


def main():
    url, token, path, body, count, par = sys.argv[1:7]
    count, par = int(count), int(par)
    u = urllib.parse.urlsplit(url)
    lock = threading.Lock()
    state = {"left": count, "ok": 0, "other": 0}
    headers = {"Authorization": "Bearer " + token,
               "Content-Type": "application/json"}

    def worker():
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        while True:
            with lock:
                if state["left"] == 0:
                    break
                state["left"] -= 1
            try:
                conn.request("POST", path, body=body, headers=headers)
                r = conn.getresponse()
                r.read()
                good = 200 <= r.status < 300
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
                good = False
            with lock:
                state["ok" if good else "other"] += 1
        conn.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(par)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("%.3f %d %d" % (time.monotonic() - t0, state["ok"], state["other"]))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""connflood.py: loopback clients that try to starve the controller.

  connflood.py idle HOST PORT COUNT SECONDS
      open COUNT connections, each sending half a request and then
      nothing, spread over source addresses 127.0.1.x (100 a source);
      prints "open N" once done, "closed N" when SECONDS have passed
  connflood.py trickle HOST PORT SECONDS
      one connection sending one byte of a request a second; prints
      "cut after S" when the controller closes it, "alive after S" when
      it is still open after SECONDS
  connflood.py agents URL ADMIN_TOKEN COUNT SECONDS [AGENT_PORT]
      register COUNT simulated nodes, then keep each one long-polling its
      heartbeat (wait_s=30) on its own connection from 127.0.2.x (100 a
      source), on AGENT_PORT when given; prints "polling N" once every
      node has sent its first heartbeat, then "answers A errors E" when
      SECONDS have passed

Everything runs in one thread on non-blocking sockets; the process ends
by itself after SECONDS. Used by scripts/bench-conn.sh and
tests/integration/ctrl_conn.sh."""
import http.client
import json
import selectors
import socket
import sys
import time
import urllib.parse

INV = {"vcpus": 64, "mem_mib": 262144, "mem_free_mib": 262144,
       "disk_gib": 10000, "disk_free_gib": 10000, "cpu_model": "sim",
       "virt_type": "test", "libvirt_version": "9.0.0"}
PER_SOURCE = 100


def connect(host, port, src, block=False):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(10)
    s.connect((host, port))
    if not block:
        s.setblocking(False)
    return s


def idle(host, port, count, secs):
    socks = []
    for i in range(count):
        src = "127.0.1.%d" % (i // PER_SOURCE + 1)
        try:
            s = connect(host, port, src)
            s.send(b"POST /v1/vms HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n")
            socks.append(s)
        except OSError as e:
            print("connect %d failed: %s" % (i, e), file=sys.stderr)
            break
    print("open %d" % len(socks), flush=True)
    time.sleep(secs)
    print("closed %d" % len(socks), flush=True)


def trickle(host, port, secs):
    s = connect(host, port, "127.0.3.1", block=True)
    req = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 4000
    t0 = time.monotonic()
    for b in req:
        if time.monotonic() - t0 > secs:
            print("alive after %.0f" % (time.monotonic() - t0), flush=True)
            return
        try:
            s.send(bytes([b]))
            s.settimeout(1)
            if s.recv(1) == b"":
                break
        except socket.timeout:
            continue
        except OSError:
            break
    print("cut after %.1f" % (time.monotonic() - t0), flush=True)


def register(url, admin, count):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)

    def post(path, body, token=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        conn.request("POST", path, body=json.dumps(body), headers=headers)
        r = conn.getresponse()
        return json.loads(r.read() or b"null")

    tok = post("/v1/tokens", {"role": "join", "uses": 10000}, admin)["token"]
    creds = []
    for i in range(count):
        reg = post("/v1/agents/register",
                   {"join_token": tok, "node": "cf%d" % i, "pool": "default",
                    "migration_uri": "", "inventory": INV})
        creds.append(reg["credential"])
    conn.close()
    return creds


class Poller:
    def __init__(self, i, cred, host, port):
        self.i, self.cred, self.gen, self.buf = i, cred, 0, b""
        self.sock = connect(host, port, "127.0.2.%d" % (i // PER_SOURCE + 1))
        self.sent = 0

    def send(self):
        body = json.dumps({"generation_seen": self.gen, "status": "ok",
                           "inventory": INV, "domains": [],
                           "foreign_domains": [], "tasks": []}).encode()
        req = ("POST /v1/agents/cf%d/heartbeat?wait_s=30 HTTP/1.1\r\n"
               "Host: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
               % (self.i, self.cred, len(body))).encode() + body
        self.sock.sendall(req)
        self.sent += 1

    def read(self):
        """Read what arrived: 1 per whole answer (then sends the next
        heartbeat), -1 when the connection ended, 0 otherwise."""
        data = self.sock.recv(65536)
        if not data:
            return -1
        self.buf += data
        head, sep, rest = self.buf.partition(b"\r\n\r\n")
        if not sep:
            return 0
        n = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                n = int(v)
        if len(rest) < n:
            return 0
        status = int(head.split(b" ")[1])
        self.buf = rest[n:]
        if status != 200:
            return -1
        self.gen = json.loads(rest[:n])["generation"]
        self.send()
        return 1


def agents(url, admin, count, secs, agent_port=None):
    u = urllib.parse.urlsplit(url)
    creds = register(url, admin, count)
    sel = selectors.DefaultSelector()
    pollers = []
    for i, cred in enumerate(creds):
        p = Poller(i, cred, u.hostname, agent_port or u.port)
        p.sock.setblocking(True)
        p.send()
        p.sock.setblocking(False)
        sel.register(p.sock, selectors.EVENT_READ, p)
        pollers.append(p)
    print("polling %d" % len(pollers), flush=True)
    answers = errors = 0
    end = time.monotonic() + secs
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.5):
            p = key.data
            try:
                r = p.read()
            except (OSError, ValueError, KeyError):
                r = -1
            if r < 0:
                errors += 1
                sel.unregister(p.sock)
                p.sock.close()
            else:
                answers += r
    print("answers %d errors %d" % (answers, errors), flush=True)


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "idle":
        idle(args[0], int(args[1]), int(args[2]), float(args[3]))
    elif mode == "trickle":
        trickle(args[0], int(args[1]), float(args[2]))
    elif mode == "agents":
        agents(args[0], args[1], int(args[2]), float(args[3]),
               int(args[4]) if len(args) > 4 else None)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""A stand-in for fincloud-controller's agent endpoints, for the agent's
integration tests. It speaks docs/agent-protocol.md on 127.0.0.1 only:

  POST /v1/agents/register          checks the join token, issues a credential
  POST /v1/agents/{node}/heartbeat  answers the desired state from a file
  POST /v1/agents/{node}/events     records the events

Every request body is validated against its schema in schemas/ and every
answer too; a violation by the agent is appended to DIR/violations, one
in the test's desired state to DIR/desired_violations. Bodies are appended,
one JSON document per line, to DIR/register.log, DIR/heartbeat.log and
DIR/events.log. The desired state is re-read from DIR/desired.json at each
heartbeat (DIR/desired-NODE.json first, when it exists, so that several
agents can each get their own). Creating DIR/revoke makes the current credential invalid (the
next heartbeat gets 401, the file is removed). While DIR/pending exists a
registration is answered 202 pending (it waits for an operator), and no
credential is issued.

usage: fake_controller.py DIR SCHEMA_DIR JOIN_TOKEN [PORT [ADDRESS]]
Listens on ADDRESS (default 127.0.0.1: a test passes its own namespace
bridge address) and writes the port to DIR/port. Heartbeat bodies also go
to DIR/heartbeat-NODE.log.
"""
import http.server
import json
import os
import secrets
import sys
import threading

import jsonschema

state_dir, schema_dir, join_token = sys.argv[1], sys.argv[2], sys.argv[3]
port = int(sys.argv[4]) if len(sys.argv) > 4 else 0
address = sys.argv[5] if len(sys.argv) > 5 else "127.0.0.1"
lock = threading.Lock()
credentials = {}


def schema(name, sub=None):
    with open(os.path.join(schema_dir, name)) as f:
        s = json.load(f)
    if sub:
        s = dict(s["$defs"][sub], **{"$defs": s["$defs"]})
    return jsonschema.Draft202012Validator(s)


register_req = schema("agent-register.json")
register_resp = schema("agent-register.json", "response")
register_pending = schema("agent-register.json", "pending")
heartbeat_req = schema("agent-heartbeat.json")
desired_resp = schema("agent-desired.json")
events_req = schema("agent-events.json")


def note(fname, text):
    with lock, open(os.path.join(state_dir, fname), "a") as f:
        f.write(text + "\n")


def check(validator, doc, what, fname="violations"):
    errs = sorted(validator.iter_errors(doc), key=str)
    for e in errs:
        note(fname, "%s: %s at %s" % (what, e.message, list(e.path)))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("fake-controller: " + (fmt % args) + "\n")

    def reply(self, code, doc):
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def node_of_credential(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return None
        with lock:
            return credentials.get(auth[7:])

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        try:
            doc = json.loads(raw)
        except ValueError:
            note("violations", "%s: body is not JSON" % self.path)
            return self.reply(400, {"error": {"code": "bad_json",
                                              "message": "not JSON"}})
        path = self.path.split("?")[0]
        parts = path.strip("/").split("/")
        if path == "/v1/agents/register":
            check(register_req, doc, "register request")
            note("register.log", json.dumps(doc))
            if doc.get("join_token") != join_token:
                return self.reply(401, {"error": {
                    "code": "unauthorized", "message": "bad join token"}})
            if os.path.exists(os.path.join(state_dir, "pending")):
                resp = {"node": doc["node"], "registration": "pending",
                        "changes": "nothing but the credential",
                        "message": "waits for 'finctl host approve %s'"
                                   % doc["node"]}
                check(register_pending, resp, "register response")
                return self.reply(202, resp)
            cred = secrets.token_hex(24)
            with lock:
                for k in [k for k, v in credentials.items()
                          if v == doc["node"]]:
                    del credentials[k]
                credentials[cred] = doc["node"]
            with open(os.path.join(state_dir, "issued"), "w") as f:
                f.write(cred)
            resp = {"node": doc["node"], "credential": cred,
                    "heartbeat_interval_s": 1}
            check(register_resp, resp, "register response")
            return self.reply(201, resp)
        if len(parts) != 4 or parts[:2] != ["v1", "agents"]:
            return self.reply(404, {"error": {"code": "not_found",
                                              "message": path}})
        node = self.node_of_credential()
        revoke = os.path.join(state_dir, "revoke")
        if os.path.exists(revoke):
            os.unlink(revoke)
            with lock:
                credentials.clear()
            node = None
        if node != parts[2]:
            return self.reply(401, {"error": {
                "code": "unauthorized", "message": "bad credential"}})
        if parts[3] == "heartbeat":
            check(heartbeat_req, doc, "heartbeat request")
            note("heartbeat.log", json.dumps(doc))
            note("heartbeat-%s.log" % node, json.dumps(doc))
            desired = {"generation": 0, "vms": [], "tasks": []}
            for name in ("desired-%s.json" % node, "desired.json"):
                try:
                    with open(os.path.join(state_dir, name)) as f:
                        desired = json.load(f)
                    break
                except FileNotFoundError:
                    pass
            # Tests hand the agent bad desired states on purpose: those
            # go to their own file, not to the agent's violations.
            check(desired_resp, desired, "desired state",
                  "desired_violations")
            return self.reply(200, desired)
        if parts[3] == "events":
            check(events_req, doc, "events request")
            note("events.log", json.dumps(doc))
            return self.reply(202, {"accepted": len(doc["events"])})
        return self.reply(404, {"error": {"code": "not_found",
                                          "message": path}})


server = http.server.ThreadingHTTPServer((address, port), Handler)
with open(os.path.join(state_dir, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(state_dir, "port.tmp"), os.path.join(state_dir, "port"))
server.serve_forever()

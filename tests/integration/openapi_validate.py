#!/usr/bin/python3
"""Validate recorded API responses against schemas/openapi.yaml.

usage: openapi_validate.py SCHEMAS_DIR INDEX [--coverage ALLOW_FILE]

INDEX has one line per response: METHOD<TAB>PATH<TAB>STATUS<TAB>BODY_FILE.
Each response is matched to its operation in the OpenAPI document and
validated (JSON Schema 2020-12, python3-jsonschema) against the schema of
its status code (or `default`), resolving $refs into the document's
components and into schemas/agent-*.json. A status the operation does not
list, a JSON body where none is described, or a body that does not match
is an error. Prints one line per failure; exit 0 when all pass.

With --coverage, the responses must also cover the spec: every status
that an operation lists (its errors included, not `default`) must have
been answered at least once, and every status answered must be listed,
except the pairs in ALLOW_FILE, one "OPERATION-ID STATUS REASON" a line
("#" starts a comment): statuses no request can reach, with the reason.
"""
import json
import os
import re
import sys

import jsonschema
import yaml

BASE = "https://fincloud.example/schemas/"


def load(schemas_dir):
    with open(os.path.join(schemas_dir, "openapi.yaml")) as f:
        spec = yaml.safe_load(f)
    store = {}
    for name in os.listdir(schemas_dir):
        if name.endswith(".json"):
            with open(os.path.join(schemas_dir, name)) as f:
                doc = json.load(f)
            store[doc.get("$id", BASE + name)] = doc
            store[BASE + name] = doc
    store[BASE + "openapi.yaml"] = spec
    return spec, store


def operations(spec):
    ops = []
    for path, item in spec["paths"].items():
        rx = "^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"
        ops.append((re.compile(rx), path, item))
    # static paths before templated ones
    ops.sort(key=lambda o: o[1].count("{"))
    return ops


def load_allow(path):
    allow = {}
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                op, status, reason = (line.split(None, 2) + [""])[:3]
                allow[(op, status)] = reason
    return allow


def coverage(spec, hits, allow):
    """Failures of coverage: listed statuses never answered, answered
    statuses not listed, allow-list entries that are wrong."""
    bad = []
    listed = set()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            oid = op.get("operationId", method.upper() + " " + path)
            for status in op["responses"]:
                if status != "default":
                    listed.add((oid, str(status)))
    for key in sorted(listed - hits - set(allow)):
        bad.append("%s %s: listed in openapi.yaml but never answered" % key)
    for key in sorted(hits - listed):
        bad.append("%s %s: answered but not listed in openapi.yaml" % key)
    for key in sorted(set(allow) - listed):
        bad.append("%s %s: in the allow-list but not listed" % key)
    for key in sorted(set(allow) & hits):
        bad.append("%s %s: in the allow-list but answered" % key)
    return bad


def main():
    schemas_dir, index = sys.argv[1], sys.argv[2]
    allow = None
    if len(sys.argv) > 4 and sys.argv[3] == "--coverage":
        allow = load_allow(sys.argv[4])
    hits = set()
    spec, store = load(schemas_dir)
    ops = operations(spec)
    resolver = jsonschema.RefResolver(base_uri=BASE + "openapi.yaml",
                                      referrer=spec, store=store)
    bad = 0
    count = 0
    with open(index) as f:
        lines = [l.rstrip("\n").split("\t") for l in f if l.strip()]
    for method, path, status, body_file in lines:
        count += 1
        where = "%s %s -> %s" % (method, path, status)
        item = next((it for rx, p, it in ops if rx.match(path)), None)
        if item is None:
            # an unknown path must still answer with the error object
            resp = {"content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/Error"}}}}
        else:
            op = item.get(method.lower())
            if op is None:
                resp = {"content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/Error"}}}}
            else:
                hits.add((op.get("operationId", method + " " + path), status))
                resp = op["responses"].get(status) or op["responses"].get("default")
        if resp is None:
            print("%s: status not described in openapi.yaml" % where)
            bad += 1
            continue
        if "$ref" in resp:
            name = resp["$ref"].split("/")[-1]
            resp = spec["components"]["responses"][name]
        with open(body_file, "rb") as bf:
            raw = bf.read()
        content = resp.get("content")
        if not content:
            if raw.strip():
                print("%s: body %r where openapi.yaml describes none" % (where, raw[:80]))
                bad += 1
            continue
        if "application/json" not in content:
            continue
        try:
            inst = json.loads(raw)
        except ValueError as e:
            print("%s: body is not JSON: %s" % (where, e))
            bad += 1
            continue
        schema = content["application/json"]["schema"]
        v = jsonschema.Draft202012Validator(schema, resolver=resolver)
        errs = sorted(v.iter_errors(inst), key=lambda e: list(e.path))
        for e in errs[:3]:
            print("%s: %s at $%s" % (where, e.message[:300],
                                      "".join("[%r]" % p for p in e.path)))
        if errs:
            bad += 1
    print("%d responses checked, %d failed" % (count, bad))
    if allow is not None:
        missing = coverage(spec, hits, allow)
        for m in missing:
            print(m)
        print("%d operation statuses answered, %d coverage failures"
              % (len(hits), len(missing)))
        bad += len(missing)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

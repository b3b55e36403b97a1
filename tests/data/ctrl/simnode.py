"""Helpers of the simulated nodes of tests/data/ctrl/longpoll.py and
simagents.py (imported, not run): a JSON POST on a keep-alive connection
and the registration of a fleet of nodes."""
import http.client
import json


def post(conn, path, body, token=None):
    """POST body (JSON) on conn: (status, decoded answer or None)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request("POST", path, body=json.dumps(body), headers=headers)
    r = conn.getresponse()
    return r.status, json.loads(r.read() or b"null")


def register(u, admin, prefix, count, inv):
    """Register count nodes PREFIX0.. in the pool "default" with
    inventory inv, through the controller at u (a urlsplit result), with
    a join token made by the admin token; their credentials, in order.
    Exits naming the node when one is refused."""
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    _, tok = post(conn, "/v1/tokens", {"role": "join", "uses": count}, admin)
    creds = []
    for i in range(count):
        st, reg = post(conn, "/v1/agents/register",
                       {"join_token": tok["token"], "node": "%s%d" % (prefix, i),
                        "pool": "default", "migration_uri": "",
                        "inventory": inv})
        if st != 201:
            raise SystemExit("registering %s%d: %s %s" % (prefix, i, st, reg))
        creds.append(reg["credential"])
    conn.close()
    return creds

# SPDX-License-Identifier: MIT
"""Operations: the graceful stop with timeouts.drain_delay, and the access line's fields."""

import json
import re
import signal
import socket
import time
import uuid

from conftest import HS_SECRET, hdrs, in_flight


def _connect_refused(b):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", b.port))
        return False
    except ConnectionRefusedError:
        return True
    finally:
        s.close()


def test_sigterm_drain_delay_order(bearerd_factory, upstream, tokens):
    """SIGTERM with drain_delay: readiness goes 503 on the admin listener and
    on the public health_path while a new connection is still accepted and
    served; then new connections are refused while a slow request in flight
    finishes; then exit 0."""
    b = bearerd_factory(timeouts={"drain": 10000, "drain_delay": 2500},
        health_path="/readyz")
    tok = tokens.hs("u1")
    assert b.admin("/readyz").status == 200
    assert b.get("/readyz").status == 200
    t, out = in_flight(b, upstream, "/api/u1/slow?s=5", tok, timeout=30)
    b.signal(signal.SIGTERM)
    # 1. readiness 503 (admin, then the public health path)
    deadline = time.monotonic() + 5
    while b.admin("/readyz").status != 503:
        assert time.monotonic() < deadline, "admin /readyz never went 503"
        time.sleep(0.02)
    r = b.admin("/readyz")
    assert json.loads(r.body) == {"status": "draining"}, r.body
    # 2. still accepting and serving: a new connection gets its answer,
    # with Connection: close (clients reconnect where the balancer says)
    r = b.get("/readyz")
    assert r.status == 503, r.status
    r = b.get("/public/during-delay")
    assert r.status == 200, r.status
    assert dict((k.lower(), v) for k, v in r.headers).get("connection") == "close"
    assert b.alive()
    assert "still serving for 2500 ms" in b.stderr()
    # 3. after the delay: connections refused while the slow request is
    # still in flight (the process has not exited)
    deadline = time.monotonic() + 10
    while not _connect_refused(b):
        assert time.monotonic() < deadline, "still accepting after drain_delay"
        time.sleep(0.05)
    assert b.alive(), "exited before the request in flight finished"
    assert "error" not in out and "status" not in out, out
    # 4. the request in flight finishes, then exit 0
    t.join(30)
    assert out.get("status") == 200, out
    assert json.loads(out["body"]) == {"slept": 5.0}
    b.wait_exit()
    b.check_clean_exit()
    err = b.stderr()
    assert err.index("still serving for") < err.index("draining (up to")


def _settle(b):
    """A public request first: the admin connection of the start-up probe is
    closed by then (a stop right after start made LeakSanitizer report that
    evhtp connection, freed by evhtp only once its client's EOF is read)."""
    assert b.get("/public/settle").status == 200
    time.sleep(0.5)


def test_sigint_skips_drain_delay(bearerd_factory):
    """^C in a terminal: no load balancer to wait for, the drain starts at once."""
    b = bearerd_factory(timeouts={"drain_delay": 60000})
    _settle(b)
    b.signal(signal.SIGINT)
    b.wait_exit()
    b.check_clean_exit()
    assert "still serving" not in b.stderr()


def test_second_sigterm_during_delay_stops(bearerd_factory):
    b = bearerd_factory(timeouts={"drain_delay": 60000})
    _settle(b)
    b.signal(signal.SIGTERM)
    deadline = time.monotonic() + 5
    while "still serving" not in b.stderr():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    # (no admin request just before: the immediate stop would leave its
    # evhtp connection to LeakSanitizer, see _settle)
    b.signal(signal.SIGTERM)
    b.wait_exit()
    b.check_clean_exit()


# ------------------------------------------------------------- access line

DURATION = re.compile(r'"duration_ms":\d+\.\d{3}[,}]')


def _line_for(b, tag, n=1):
    """The raw access line(s) whose path holds |tag| (waits for the write)."""
    deadline = time.monotonic() + 5
    while True:
        lines = [l for l in b.stderr().splitlines() if l.startswith("{") and tag in l]
        if len(lines) >= n or time.monotonic() > deadline:
            assert len(lines) == n, lines
            return lines


def test_access_line_fields(bearerd_factory, upstream, tokens):
    b = bearerd_factory()
    tok = tokens.hs("u1")
    tag = uuid.uuid4().hex
    secret_q = "apikey=qs-" + uuid.uuid4().hex
    cases = [
        # path, token, status, auth, route, upstream, sub
        ("/api/u1/%s-own?%s" % (tag, secret_q), tok, 200, "ok", "/api/{user_id}/**", "api", "u1"),
        ("/public/%s-pub?%s" % (tag, secret_q), tok, 200, "none", "/public/**", "api", None),
        ("/opt/%s-anon" % tag, None, 200, "no_token", "/opt/**", "api", None),
        ("/api/u2/%s-other" % tag, tok, 403, "forbidden", "/api/{user_id}/**", None, "u1"),
        ("/api/u1/%s-nocookie" % tag, None, 401, "no_token", "/api/{user_id}/**", None, None),
        ("/nothing/%s-none" % tag, tok, 404, "no_route", None, None, None),
    ]
    for path, t, status, auth, route, up, sub in cases:
        m = upstream.mark()
        r = b.get(path, token=t)
        assert r.status == status, (path, r.status)
        raw = _line_for(b, path.split("?")[0].rsplit("/", 1)[1])[0]
        d = json.loads(raw)
        where = (path, raw)
        assert d["path"] == path.split("?")[0], where
        assert d["status"] == status and d["method"] == "GET", where
        assert d["auth"] == auth, where
        assert d.get("route") == route, where
        assert d.get("upstream") == up, where
        assert d.get("sub") == sub, where
        assert DURATION.search(raw), where
        assert isinstance(d["duration_ms"], float) and d["duration_ms"] >= 0, where
        # the request id the upstream got is the one logged
        if up is not None:
            got = hdrs(upstream.one(m), "x-request-id")
            assert got == [d["request_id"]], (got, where)
        else:
            upstream.assert_not_reached(m)
            assert d["request_id"], where
        # never a token, a cookie, the query or a secret
        for bad in (tok, tok.split(".")[2], "token=", secret_q, "qs-", "Cookie",
                "Authorization", HS_SECRET):
            assert bad not in raw, (bad, where)


def test_access_line_duration_covers_upstream(bearerd_factory, tokens):
    """duration_ms is the whole request: never less than the upstream's sleep."""
    b = bearerd_factory()
    assert b.get("/api/u1/slow?s=0.3", token=tokens.hs("u1")).status == 200
    d = json.loads(_line_for(b, '"/api/u1/slow"')[0])
    # (asyncio's sleep may wake a little early: a margin, not a speed test)
    assert d["duration_ms"] >= 250.0, d
    assert d["duration_ms"] >= d["upstream_ms"] >= 250, d


def test_request_id_from_trusted_peer_only(bearerd_factory, upstream):
    for trusted in (True, False):
        b = bearerd_factory(trust_forwarded=True if trusted else None)
        tag = uuid.uuid4().hex
        sent = "edge-" + tag
        m = upstream.mark()
        r = b.request("GET", "/public/rid-%s" % tag, headers=[("X-Request-Id", sent)])
        assert r.status == 200
        got = hdrs(upstream.one(m), "x-request-id")
        d = json.loads(_line_for(b, "rid-" + tag)[0])
        assert got == [d["request_id"]], (got, d)
        if trusted:
            assert d["request_id"] == sent, d
        else:
            assert d["request_id"] != sent and sent not in json.dumps(d), d

# SPDX-License-Identifier: MIT
"""Operations: the graceful stop with timeouts.drain_delay, and the access line's fields."""

import json
import signal
import socket
import threading
import time
import uuid

from conftest import START_TIMEOUT


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
    out = {}

    def slow():
        try:
            r = b.get("/api/u1/slow?s=5", token=tok, timeout=30)
            out["status"] = r.status
            out["body"] = r.body
        except Exception as e:  # noqa: BLE001
            out["error"] = repr(e)

    m = upstream.mark()
    t = threading.Thread(target=slow)
    t.start()
    deadline = time.monotonic() + 5
    while not upstream.since(m):
        assert time.monotonic() < deadline, "slow request never reached the upstream"
        time.sleep(0.02)

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
    b.returncode = b.proc.wait(START_TIMEOUT)
    b.check_clean_exit()
    err = b.stderr()
    assert err.index("still serving for") < err.index("draining (up to")


def test_sigint_skips_drain_delay(bearerd_factory):
    """^C in a terminal: no load balancer to wait for, the drain starts at once."""
    b = bearerd_factory(timeouts={"drain_delay": 60000})
    b.signal(signal.SIGINT)
    b.returncode = b.proc.wait(START_TIMEOUT)
    b.check_clean_exit()
    assert "still serving" not in b.stderr()


def test_second_sigterm_during_delay_stops(bearerd_factory):
    b = bearerd_factory(timeouts={"drain_delay": 60000})
    b.signal(signal.SIGTERM)
    deadline = time.monotonic() + 5
    while "still serving" not in b.stderr():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert b.admin("/readyz").status == 503
    b.signal(signal.SIGTERM)
    b.returncode = b.proc.wait(START_TIMEOUT)
    b.check_clean_exit()

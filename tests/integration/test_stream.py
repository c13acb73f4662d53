# SPDX-License-Identifier: MIT
"""Streaming: 50 MB up and down with bounded RSS, SSE without buffering, WebSocket."""

import asyncio
import hashlib
import threading
import time

import httpx
import pytest
import websockets

from conftest import hdrs, problem_ok, raw

MB = 1024 * 1024
SIZE_MB = 50
# Streaming means bounded buffers: RSS may not grow anywhere near the
# transfer size while 50 MB go through.
MAX_GROWTH_KB = 64 * 1024
BLOCK = bytes(range(256)) * 256  # the upstream's download block, 64 KiB


class RssSampler:
    def __init__(self, b):
        self.b = b
        self.base = b.rss_kb()
        self.peak = self.base
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop_ev.is_set():
            try:
                self.peak = max(self.peak, self.b.rss_kb())
            except OSError:
                return
            time.sleep(0.02)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *a):
        self.stop_ev.set()
        self.t.join()

    @property
    def growth(self):
        return self.peak - self.base


def _payload_blocks(n_mb, pause_after=None, pause=0.0):
    """n_mb MiB of a pattern, 64 KiB at a time."""
    blk = bytes((i * 7) & 0xFF for i in range(65536))
    for i in range(n_mb * 16):
        if pause_after is not None and i == pause_after:
            time.sleep(pause)
        yield blk


def _payload_digest(n_mb):
    h = hashlib.sha256()
    for b in _payload_blocks(n_mb):
        h.update(b)
    return h.hexdigest()


@pytest.fixture(scope="module")
def big(module_factory):
    return module_factory(timeouts={"body": 30000},
        limits={"max_body_bytes": 200 * MB})


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_upload_50mb_streamed(big, upstream, tokens, framing):
    tok = tokens.hs("u1")
    c = big.conn(timeout=60)
    headers = {"Cookie": "token=" + tok, "Content-Type": "application/octet-stream"}
    if framing == "content-length":
        headers["Content-Length"] = str(SIZE_MB * MB)
    m = upstream.mark()
    with RssSampler(big) as s:
        # The upstream sleeps 1.5 s before reading: bearerd has to stop
        # reading the client instead of buffering the body.
        c.request("POST", "/api/u1/upload?delay=1.5", body=_payload_blocks(SIZE_MB),
            headers=headers, encode_chunked=(framing == "chunked"))
        r = c.getresponse()
        body = r.read()
    c.close()
    assert r.status == 200, body[:300]
    want = _payload_digest(SIZE_MB)
    got = __import__("json").loads(body)
    assert got == {"len": SIZE_MB * MB, "sha256": want}
    rec = upstream.one(m)
    assert rec["body"] == {"len": SIZE_MB * MB, "sha256": want}
    assert hdrs(rec, "authorization") == ["Bearer " + tok]
    print("upload %s: RSS base %d kB, growth %d kB" % (framing, s.base, s.growth))
    assert s.growth < MAX_GROWTH_KB, "RSS grew by %d kB during a %d MB upload" % (
        s.growth, SIZE_MB)


@pytest.mark.parametrize("cl", [0, 1], ids=["chunked", "content-length"])
def test_download_50mb_streamed(big, upstream, tokens, cl):
    tok = tokens.hs("u1")
    c = big.conn(timeout=60)
    h = hashlib.sha256()
    n = 0
    with RssSampler(big) as s:
        c.request("GET", "/api/u1/download?mb=%d&cl=%d" % (SIZE_MB, cl),
            headers={"Cookie": "token=" + tok})
        r = c.getresponse()
        assert r.status == 200
        if cl:
            assert r.getheader("content-length") == str(SIZE_MB * MB)
        first = True
        while True:
            chunk = r.read(65536)
            if not chunk:
                break
            h.update(chunk)
            n += len(chunk)
            if first and n >= 2 * MB:
                # a slow reader: an unbounded proxy would now slurp it all
                time.sleep(1.5)
                first = False
    c.close()
    want = hashlib.sha256()
    for _ in range(SIZE_MB * 16):
        want.update(BLOCK)
    assert n == SIZE_MB * MB
    assert h.hexdigest() == want.hexdigest()
    print("download cl=%d: RSS base %d kB, growth %d kB" % (cl, s.base, s.growth))
    assert s.growth < MAX_GROWTH_KB, "RSS grew by %d kB during a %d MB download" % (
        s.growth, SIZE_MB)


def test_upload_over_limit_refused(bearerd_factory, upstream, tokens):
    b = bearerd_factory(limits={"max_body_bytes": 1 * MB})
    tok = tokens.hs("u1")
    m = upstream.mark()
    head = ("POST /api/u1/upload HTTP/1.1\r\nHost: x\r\nCookie: token=%s\r\n"
        "Content-Length: %d\r\n\r\n" % (tok, 2 * MB)).encode()
    res = raw(b.port, head + b"x" * 4096, timeout=3)
    assert res.status == 413, res.data[:300]
    problem_ok(res.responses[0], 413)
    upstream.assert_not_reached(m)


def test_sse_events_not_buffered(bd, tokens):
    tok = tokens.hs("u1")
    n, delay = 4, 0.4
    stamps = []
    with httpx.Client(timeout=10) as cl:
        with cl.stream("GET", bd.url + "/api/u1/sse?n=%d&delay=%s" % (n, delay),
            headers={"Cookie": "token=" + tok}) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            t0 = time.monotonic()
            for line in r.iter_lines():
                if line.startswith("data:"):
                    stamps.append(time.monotonic() - t0)
    assert len(stamps) == n
    # each event arrives about |delay| after the previous one, not all at the end
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert all(g > delay * 0.5 for g in gaps), stamps
    assert stamps[-1] - stamps[0] > delay * (n - 1) * 0.7, stamps


def _ws(url, headers):
    async def go():
        async with websockets.connect(url, extra_headers=headers, open_timeout=5,
            close_timeout=2) as ws:
            await ws.send("hello")
            a = await asyncio.wait_for(ws.recv(), 5)
            await ws.send(b"\x00\x01binary")
            b = await asyncio.wait_for(ws.recv(), 5)
            big = "x" * 200000
            await ws.send(big)
            c = await asyncio.wait_for(ws.recv(), 5)
            return a, b, c == "echo:" + big
    return asyncio.run(go())


def test_websocket_echo_after_auth(bd, upstream, tokens):
    tok = tokens.hs("u1")
    m = upstream.mark()
    a, b, c = _ws("ws://127.0.0.1:%d/api/u1/ws" % bd.port, [("Cookie", "token=" + tok),
        ("X-User-Id", "u2")])
    assert a == "echo:hello"
    assert b == b"\x00\x01binary"
    assert c
    rec = upstream.one(m)
    assert rec["type"] == "websocket"
    assert hdrs(rec, "authorization") == ["Bearer " + tok]
    assert hdrs(rec, "x-user-id") == []


@pytest.mark.parametrize("case,cookie,status", [
    ("no_cookie", None, 401),
    ("forged", "forged", 401),
    ("other_user", "u2", 403),
])
def test_websocket_refused(bd, upstream, tokens, case, cookie, status):
    headers = []
    if cookie == "forged":
        headers = [("Cookie", "token=" + tokens.forged("u1"))]
    elif cookie:
        headers = [("Cookie", "token=" + tokens.hs(cookie))]
    m = upstream.mark()
    with pytest.raises(websockets.exceptions.InvalidStatusCode) as e:
        _ws("ws://127.0.0.1:%d/api/u1/ws" % bd.port, headers)
    assert e.value.status_code == status
    upstream.assert_not_reached(m)

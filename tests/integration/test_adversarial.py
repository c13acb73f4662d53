# SPDX-License-Identifier: MIT
"""Adversarial tests: desync by split reads, trailers, cookie ambiguity,
a hostile raw-socket upstream, connection floods. xfail(strict) marks a
known finding that still reproduces; it must start passing once fixed."""

import random
import socket
import time

import pytest

from conftest import hdrs, raw, read_heads, serve_in_threads

# ----------------------------------------------------------- helpers


def H(port, tok):
    return "Host: 127.0.0.1:%d\r\nCookie: token=%s\r\n" % (port, tok)


def random_chunks(data, n_cuts, rng):
    cuts = sorted(rng.sample(range(1, len(data)), n_cuts))
    return [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]


class RawUpstream:
    """A tiny raw-socket upstream that answers a request for .../<name> with
    script[name]: bytes, or a callable(sock) returning "close" to hang up.
    Lets a test send responses no real framework would."""

    def __init__(self):
        self.s = socket.socket()
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind(("127.0.0.1", 0))
        self.s.listen(128)
        self.port = self.s.getsockname()[1]
        self.script = {}
        self.heads = []
        self.conns = []
        self.done = False
        serve_in_threads(self.s, self._serve, lambda: not self.done,
            self.conns.append)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def _serve(self, c):
        try:
            for head in read_heads(c):
                self.heads.append(head)
                path = head.split(b" ")[1].decode().split("?")[0]
                act = self.script.get(path.rsplit("/", 1)[-1],
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                if callable(act):
                    if act(c) == "close":
                        return
                else:
                    c.sendall(act)
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.done = True
        self.s.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


@pytest.fixture(scope="module")
def rawup():
    u = RawUpstream()
    yield u
    u.close()


@pytest.fixture(scope="module")
def bd_raw(module_factory, rawup):
    """bearerd in front of the raw upstream (response timeout 1 s)."""
    return module_factory(upstream_url=rawup.url,
        upstream_opts={"response_timeout": 1000})


# ------------------------------------------- findings (xfail, strict)


def test_pipelined_heads_in_random_splits(bd, upstream, tokens):
    """Five pipelined GETs with long targets, cut at 30 random points with
    2 ms between writes: every request is answered, in order, unchanged.
    Stops at the first trial that goes wrong (about 1 in 7 does today)."""
    rng = random.Random(1)
    h = H(bd.port, tokens.hs("u1"))
    for trial in range(40):
        names = ["/api/u1/p%d_%s" % (i, "x" * rng.randint(1, 900)) for i in range(4)]
        reqs = "".join("GET %s?z=%d HTTP/1.1\r\n%s\r\n" % (p, i, h)
            for i, p in enumerate(names))
        reqs += "GET /api/u1/last HTTP/1.1\r\n%sConnection: close\r\n\r\n" % h
        data = reqs.encode()
        chunks = random_chunks(data, 30, rng)
        m = upstream.mark()
        res = raw(bd.port, None, chunks=chunks, gap=0.002, timeout=4)
        got = [x["raw_path"] for x in upstream.since(m, settle=0.2)]
        assert [r.status for r in res.responses] == [200] * 5, (
            "trial %d: statuses %r, upstream saw %d requests, stderr: %s" % (
            trial, [r.status for r in res.responses], len(got),
            [l for l in bd.stderr().splitlines()[-400:] if '"status":400' in l][-1:]))
        assert got == names + ["/api/u1/last"], trial


def test_upstream_1xx_trickle_is_bounded(bd_raw, rawup):
    def trickle(c):
        t = time.monotonic()
        while time.monotonic() - t < 4.0:
            c.sendall(b"HTTP/1.1 102 Processing\r\n\r\n")
            time.sleep(0.05)
        return "close"
    rawup.script["trickle"] = trickle
    t0 = time.monotonic()
    res = raw(bd_raw.port, b"GET /public/trickle HTTP/1.1\r\nHost: a\r\n"
        b"Connection: close\r\n\r\n", timeout=6)
    took = time.monotonic() - t0
    assert res.status == 504 and took < 3.0, (res.status, round(took, 2))


# ------------------------------------------- regressions (must pass)


@pytest.mark.parametrize("n_other", [1, 12])
def test_response_fields_named_by_connection_are_dropped(bd_raw, rawup, n_other):
    """RFC 9110 section 7.6.1: a field the upstream's Connection lists is
    hop-by-hop and never reaches the client, in any case, with the list
    split over two Connection fields; fields it does not list pass. With
    12 names the list is longer than the names bearerd splits out once per
    response, so each field is looked up in the lists themselves."""
    others = ", ".join("X-Other-%d" % i for i in range(n_other - 1))
    body = (b"HTTP/1.1 200 OK\r\nConnection: keep-alive, x-hop-one"
        + (", " + others).encode() * (n_other > 1)
        + b"\r\nX-Hop-One: 1\r\nX-Keep: 2\r\nconnection: X-HOP-TWO\r\n"
        b"X-Hop-Two: 3\r\nX-Hop-Twox: 4\r\nContent-Length: 2\r\n\r\nok")
    rawup.script["hop%d" % n_other] = body
    res = raw(bd_raw.port, ("GET /public/hop%d HTTP/1.1\r\nHost: a\r\n"
        "Connection: close\r\n\r\n" % n_other).encode()).responses[0]
    assert res.status == 200 and res.body == b"ok"
    assert res.header("X-Keep") == "2"
    assert res.header("X-Hop-Twox") == "4"
    assert res.header("X-Hop-One") is None
    assert res.header("X-Hop-Two") is None
    assert res.header_all("Connection") == ["close"]


def test_head_sent_byte_by_byte_reaches_upstream_intact(bd, upstream, tokens):
    """A head split across many reads must be parsed as one whole head (the
    old libevhtp server inserted a stray byte into a split URI). One byte
    per write."""
    path = "/api/u1/" + "a" * 700
    query = "q=" + "b" * 300
    req = ("GET %s?%s HTTP/1.1\r\n%sConnection: close\r\n\r\n"
        % (path, query, H(bd.port, tokens.hs("u1")))).encode()
    m = upstream.mark()
    res = raw(bd.port, None, chunks=[bytes([b]) for b in req], gap=0.0003, timeout=8)
    assert res.status == 200, res.data[:200]
    rec = upstream.one(m)
    assert rec["raw_path"] == path and rec["query"] == query


def test_chunked_trailers_never_reach_upstream(bd, upstream, tokens):
    """Trailers carrying another user's credential or an identity header are
    dropped: the upstream sees only the verified identity, and the body."""
    t1, t2 = tokens.hs("u1"), tokens.hs("u2")
    req = ("POST /api/u1/tasks HTTP/1.1\r\n%sTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n3\r\nabc\r\n0\r\nAuthorization: Bearer %s\r\n"
        "X-User-Id: u2\r\nCookie: token=%s\r\nX-Trailer: 1\r\n\r\n"
        % (H(bd.port, t1), t2, t2)).encode()
    m = upstream.mark()
    res = raw(bd.port, req)
    assert res.status == 201, res.data[:200]
    rec = upstream.one(m)
    assert hdrs(rec, "authorization") == ["Bearer " + t1]
    assert hdrs(rec, "x-user-id") == [] and hdrs(rec, "x-trailer") == []
    assert hdrs(rec, "cookie") == []
    assert rec["body"]["len"] == 3


@pytest.mark.parametrize("cookies", [
    # the same cookie name twice, across headers or within one
    ["token={t1}", "token={t2}"],
    ["token={t1}; token={t2}"],
    # the __Secure- variant with a different value
    ["token={t1}; __Secure-token={t2}"],
    # more Cookie headers than bearerd looks at
    ["a=b"] * 32 + ["token={t1}"],
], ids=["two_headers", "one_header", "secure_variant", "33_headers"])
def test_ambiguous_cookies_never_pick_an_identity(bd, upstream, tokens, cookies):
    t1, t2 = tokens.hs("u1"), tokens.hs("u2")
    lines = "".join("Cookie: %s\r\n" % c.format(t1=t1, t2=t2) for c in cookies)
    m = upstream.mark()
    for path in ("/api/u1/x", "/api/u2/x"):
        res = raw(bd.port, ("GET %s HTTP/1.1\r\nHost: a\r\n%sConnection: close\r\n\r\n"
            % (path, lines)).encode())
        assert res.status in (400, 401, 431), (path, res.data[:200])
    upstream.assert_not_reached(m)


def test_requests_after_a_401_on_one_connection(bd, upstream, tokens):
    """401, then a forbidden request, then one with a body that a 401 would
    leave unread: nothing reaches the upstream, nothing is smuggled."""
    t1 = tokens.hs("u1")
    smuggled = "GET /api/u1/smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
    payload = ("GET /api/u1/a HTTP/1.1\r\nHost: a\r\n\r\n"
        "GET /api/u2/b HTTP/1.1\r\n%s\r\n"
        "POST /api/u1/tasks HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s"
        % (H(bd.port, t1), len(smuggled), smuggled)).encode()
    m = upstream.mark()
    res = raw(bd.port, payload)
    assert [r.status for r in res.responses] == [401, 403, 401], res.data[:600]
    assert res.closed
    upstream.assert_not_reached(m)


def test_aborted_upload_does_not_poison_the_upstream_pool(bd, upstream, tokens):
    """A client that stops mid-body: the half-sent upstream request must not
    be completed by the next user's request on a pooled connection."""
    t1, t2 = tokens.hs("u1"), tokens.hs("u2")
    m = upstream.mark()
    for te in (False, True):
        s = socket.create_connection(("127.0.0.1", bd.port), timeout=5)
        framing = ("Transfer-Encoding: chunked\r\n\r\nc8\r\n" if te else
            "Content-Length: 200\r\n\r\n")
        s.sendall(("POST /api/u1/upload HTTP/1.1\r\n%s%s0123456789"
            % (H(bd.port, t1), framing)).encode())
        time.sleep(0.2)
        s.close()
        time.sleep(0.1)
        r = bd.get("/api/u2/after", token=t2)
        assert r.status == 200 and r.json()["path"] == "/api/u2/after"
    recs = upstream.since(m, settle=0.1)
    posts = [x for x in recs if x["method"] == "POST"]
    gets = [x for x in recs if x["method"] == "GET"]
    assert all(x["body"] is None for x in posts), posts
    assert len(gets) == 2 and all(x["raw_path"] == "/api/u2/after" for x in gets)
    # each GET came after an aborted POST: never on that POST's connection
    assert [x["method"] for x in recs] == ["POST", "GET", "POST", "GET"], recs
    assert recs[0]["peer"] != recs[1]["peer"] and recs[2]["peer"] != recs[3]["peer"]


# Responses no upstream should send: bearerd answers 502 (or cuts the
# connection once a head went out), never relays them.
BAD_RESPONSES = {
    "cl_te": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\n",
    "te_cl": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
        b"0\r\n\r\n",
    "two_cl": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nhello",
    "two_cl_same": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    "cl_list": b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello",
    "te_gzip_chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "te_space_colon": b"HTTP/1.1 200 OK\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    "obs_fold": b"HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 2\r\n\r\nok",
    "bare_lf": b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
    "nul": b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok",
    "huge_head": b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100)
        for i in range(2000)) + b"Content-Length: 2\r\n\r\nok",
    "switch_101_unasked": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\n\r\nGET /evil HTTP/1.1\r\n\r\n",
    "status_999": b"HTTP/1.1 999 Weird\r\nContent-Length: 2\r\n\r\nok",
}
CUT_RESPONSES = {
    "close_mid_body": lambda c: (c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
        b"0123456789"), time.sleep(0.1), "close")[-1],
    "close_mid_chunked": lambda c: (c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
        b"\r\n\r\n5\r\nhello\r\n"), time.sleep(0.1), "close")[-1],
    "chunk_size_17_digits": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"10000000000000005\r\nhello\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(BAD_RESPONSES) + sorted(CUT_RESPONSES))
def test_malformed_upstream_response_not_relayed(bd_raw, rawup, name):
    rawup.script[name] = BAD_RESPONSES.get(name) or CUT_RESPONSES[name]
    res = raw(bd_raw.port, ("GET /public/%s HTTP/1.1\r\nHost: a\r\n"
        "Connection: close\r\n\r\n" % name).encode(), timeout=4)
    assert res.closed, res.data[:200]
    if name in BAD_RESPONSES:
        assert [r.status for r in res.responses] == [502], res.data[:300]
        assert b"evil" not in res.data and b"hello" not in res.data
    else:
        # a head may have gone out: the body must then be visibly cut
        for r in res.responses:
            cl = r.header("content-length")
            assert r.status != 200 or (cl is not None and len(r.body) < int(cl)) or (
                r.header("transfer-encoding") and not res.data.endswith(b"0\r\n\r\n")), \
                res.data[:300]


def test_upstream_1xx_flood_then_final(bd_raw, rawup):
    """Many interim responses are skipped, never relayed; the final one is."""
    def flood(c):
        c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n" * 5000 +
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    rawup.script["flood"] = flood
    res = raw(bd_raw.port, b"GET /public/flood HTTP/1.1\r\nHost: a\r\n"
        b"Connection: close\r\n\r\n", timeout=4)
    assert [r.status for r in res.responses] == [200] and res.responses[0].body == b"ok"
    assert b"100 Continue" not in res.data


def test_idle_and_partial_head_floods_time_out(module_factory, tokens):
    """600 connections that never send a byte and 200 that stop mid-head
    (15 KB each): a real request is still served at once, every flood
    connection is closed by the head deadline, memory stays bounded."""
    b = module_factory(timeouts={"head": 700, "idle": 1000, "body": 1000})
    rss0 = b.rss_kb()
    idle, part = [], []
    try:
        for _ in range(600):
            idle.append(socket.create_connection(("127.0.0.1", b.port), timeout=5))
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", b.port), timeout=5)
            s.sendall(b"GET /api/u1/x HTTP/1.1\r\nHost: a\r\nX-Pad: " + b"p" * 15000)
            part.append(s)
        t0 = time.monotonic()
        r = b.get("/api/u1/tasks", token=tokens.hs("u1"))
        assert r.status == 200 and time.monotonic() - t0 < 1.0
        rss1 = b.rss_kb()
        time.sleep(1.6)
        alive = 0
        for s in idle + part:
            s.setblocking(False)
            try:
                d = s.recv(65536)
                if d and not d.startswith(b"HTTP/1.1 408"):
                    alive += 1
            except BlockingIOError:
                alive += 1
            except OSError:
                pass
        assert alive == 0, "%d flood connections still open" % alive
        # 200 x 15 KB of heads plus 800 connections: a few tens of MB at most
        assert rss1 - rss0 < 64 * 1024, (rss0, rss1)
    finally:
        for s in idle + part:
            s.close()


def test_http10_keepalive_and_streamed_response(bd, upstream, tokens):
    """HTTP/1.0 keep-alive is honoured with an explicit Connection header; a
    streamed (chunked upstream) response to 1.0 is close-delimited, never
    chunked (RFC 9112 section 6.1)."""
    h = H(bd.port, tokens.hs("u1"))
    res = raw(bd.port, ("GET /api/u1/a HTTP/1.0\r\n%sConnection: keep-alive\r\n\r\n"
        "GET /api/u1/download?mb=1 HTTP/1.0\r\n%s\r\n" % (h, h)).encode(), timeout=5)
    assert [r.status for r in res.responses] == [200, 200], res.data[:300]
    first, second = res.responses
    assert (first.header("connection") or "").lower() == "keep-alive"
    assert first.header("content-length") is not None
    assert second.header("transfer-encoding") is None
    assert len(second.body) == 1 << 20 and res.closed


def test_client_that_never_reads_is_cut(module_factory, tokens):
    b = module_factory(timeouts={"head": 1000, "idle": 1000, "body": 1000},
        upstream_opts={"response_timeout": 1000})
    s = socket.create_connection(("127.0.0.1", b.port), timeout=3)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(("GET /api/u1/download?mb=20 HTTP/1.1\r\n%s\r\n"
            % H(b.port, tokens.hs("u1"))).encode())
        time.sleep(3.5)  # no byte read for 3.5 idle timeouts
        total, eof = 0, False
        s.settimeout(1.0)
        while total < 4 << 20:
            try:
                d = s.recv(1 << 20)
            except socket.timeout:
                break
            except OSError:
                eof = True
                break
            if not d:
                eof = True
                break
            total += len(d)
        assert eof and total < 4 << 20, "still streaming after %d bytes" % total
    finally:
        s.close()


def test_slow_readers_and_sse_gaps_are_not_cut(module_factory, tokens):
    """The write-progress deadline (timeouts.idle) only cuts a client that
    takes nothing: a reader pausing 0.8 s between 1 MB reads with a 1 s idle
    timeout gets every byte, chunked or with Content-Length, and an SSE
    stream whose events are 1.5 s apart is not cut while nothing is queued.
    Each 1 MB read comes out of the kernel's send queue (megabytes after TCP
    autotuning) while bearerd's own buffer stays full and unwritten: the
    deadline must count that as progress (it once looked at its own buffer
    only, and cut this reader)."""
    b = module_factory(timeouts={"head": 1000, "idle": 1000, "body": 1000})
    tok = tokens.hs("u1")
    for cl in (0, 1):
        c = b.conn(timeout=10)
        # A receive buffer set before the handshake and larger than
        # loopback's 64 KB MSS. A 16 KB one set after connect made TCP
        # itself stall (zero window, persist-timer backoff, 4 MB unsent)
        # for over a second while the reader sat in recv.
        c.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 * 1024)
        c.sock.settimeout(10)
        c.sock.connect(("127.0.0.1", b.port))
        c.request("GET", "/api/u1/download?mb=6&cl=%d" % cl,
            headers={"Cookie": "token=" + tok})
        r = c.getresponse()
        assert r.status == 200
        n, rounds = 0, 0
        while True:
            d = r.read(1 << 20)
            if not d:
                break
            n += len(d)
            rounds += 1
            time.sleep(0.8)
        c.close()
        assert n == 6 << 20, (cl, n)
        assert rounds >= 4, rounds
    stamps = []
    c = b.conn(timeout=10)
    c.request("GET", "/api/u1/sse?n=3&delay=1.5", headers={"Cookie": "token=" + tok})
    r = c.getresponse()
    assert r.status == 200
    t0 = time.monotonic()
    while True:
        line = r.readline()
        if not line:
            break
        if line.startswith(b"data:"):
            stamps.append(time.monotonic() - t0)
    c.close()
    assert len(stamps) == 3, stamps
    assert stamps[-1] - stamps[0] > 2.5, stamps

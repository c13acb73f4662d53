# SPDX-License-Identifier: MIT
"""HTTP/1.1 framing: smuggling vectors, pipelining, HEAD/204, keep-alive, slow clients."""

import json
import threading
import time

import pytest

from conftest import hdrs, parse_responses, problem_ok, raw


def H(port, tok):
    return "Host: 127.0.0.1:%d\r\nCookie: token=%s\r\n" % (port, tok)


SMUGGLE_BODY = "0\r\n\r\nGET /api/u2/tasks HTTP/1.1\r\nHost: x\r\n\r\n"

# (id, request template, acceptable statuses). {h} is Host + Cookie lines.
SMUGGLING = [
    ("cl_and_te", "POST /api/u1/tasks HTTP/1.1\r\n{h}Content-Length: %d\r\n"
        "Transfer-Encoding: chunked\r\n\r\n%s" % (len(SMUGGLE_BODY), SMUGGLE_BODY), {400}),
    ("te_and_cl", "POST /api/u1/tasks HTTP/1.1\r\n{h}Transfer-Encoding: chunked\r\n"
        "Content-Length: 4\r\n\r\n0\r\n\r\n", {400}),
    ("duplicate_cl_differs", "POST /api/u1/tasks HTTP/1.1\r\n{h}Content-Length: 3\r\n"
        "Content-Length: 5\r\n\r\nabcde", {400}),
    ("duplicate_cl_same", "POST /api/u1/tasks HTTP/1.1\r\n{h}Content-Length: 3\r\n"
        "Content-Length: 3\r\n\r\nabc", {400}),
    ("cl_list", "POST /api/u1/tasks HTTP/1.1\r\n{h}Content-Length: 3, 3\r\n\r\nabc", {400}),
    ("cl_plus", "POST /api/u1/tasks HTTP/1.1\r\n{h}Content-Length: +3\r\n\r\nabc", {400}),
    ("cl_negative", "POST /api/u1/tasks HTTP/1.1\r\n{h}Content-Length: -1\r\n\r\nabc", {400}),
    ("cl_hex", "POST /api/u1/tasks HTTP/1.1\r\n{h}Content-Length: 0x3\r\n\r\nabc", {400}),
    ("cl_empty", "POST /api/u1/tasks HTTP/1.1\r\n{h}Content-Length: \r\n\r\nabc", {400}),
    ("cl_huge", "POST /api/u1/tasks HTTP/1.1\r\n{h}Content-Length: "
        "99999999999999999999999\r\n\r\nabc", {400, 413}),
    ("te_chunked_gzip", "POST /api/u1/tasks HTTP/1.1\r\n{h}Transfer-Encoding: chunked, gzip"
        "\r\n\r\n0\r\n\r\n", {400}),
    ("te_gzip_chunked", "POST /api/u1/tasks HTTP/1.1\r\n{h}Transfer-Encoding: gzip, chunked"
        "\r\n\r\n0\r\n\r\n", {400}),
    ("te_upper_space", "POST /api/u1/tasks HTTP/1.1\r\n{h}Transfer-Encoding: CHUNKED \r\n\r\n"
        "0\r\n\r\n", {400}),
    ("te_gzip", "POST /api/u1/tasks HTTP/1.1\r\n{h}Transfer-Encoding: gzip\r\n\r\nabc", {400}),
    ("te_twice", "POST /api/u1/tasks HTTP/1.1\r\n{h}Transfer-Encoding: chunked\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", {400}),
    ("te_vtab", "POST /api/u1/tasks HTTP/1.1\r\n{h}Transfer-Encoding:\x0bchunked\r\n\r\n"
        "0\r\n\r\n", {400}),
    ("te_http10", "POST /api/u1/tasks HTTP/1.0\r\n{h}Transfer-Encoding: chunked\r\n\r\n"
        "0\r\n\r\n", {400}),
    ("obs_fold", "GET /api/u1/tasks HTTP/1.1\r\n{h}X-Folded: a\r\n b\r\n\r\n", {400}),
    ("obs_fold_tab", "GET /api/u1/tasks HTTP/1.1\r\n{h}X-Folded: a\r\n\tb\r\n\r\n", {400}),
    ("bare_lf_header", "GET /api/u1/tasks HTTP/1.1\r\n{h}X-A: 1\nX-B: 2\r\n\r\n", {400}),
    ("bare_lf_request_line", "GET /api/u1/tasks HTTP/1.1\n{h}\r\n", {400}),
    ("bare_cr", "GET /api/u1/tasks HTTP/1.1\r\n{h}X-A: 1\rX-B: 2\r\n\r\n", {400}),
    ("nul_in_value", "GET /api/u1/tasks HTTP/1.1\r\n{h}X-A: a\x00b\r\n\r\n", {400}),
    ("nul_in_name", "GET /api/u1/tasks HTTP/1.1\r\n{h}X-\x00A: a\r\n\r\n", {400}),
    ("space_before_colon", "GET /api/u1/tasks HTTP/1.1\r\n{h}X-A : 1\r\n\r\n", {400}),
    ("space_before_colon_cl", "POST /api/u1/tasks HTTP/1.1\r\n{h}Content-Length : 3\r\n\r\nabc",
        {400}),
    ("space_before_colon_te", "POST /api/u1/tasks HTTP/1.1\r\n{h}Transfer-Encoding : chunked"
        "\r\n\r\n0\r\n\r\n", {400}),
    ("empty_header_name", "GET /api/u1/tasks HTTP/1.1\r\n{h}: x\r\n\r\n", {400}),
    ("missing_host", "GET /api/u1/tasks HTTP/1.1\r\nCookie: token={tok}\r\n\r\n", {400}),
    ("two_hosts", "GET /api/u1/tasks HTTP/1.1\r\n{h}Host: evil.example\r\n\r\n", {400}),
    ("connect", "CONNECT 127.0.0.1:22 HTTP/1.1\r\n{h}\r\n", {400, 405, 501}),
    ("upgrade_h2c", "GET /api/u1/tasks HTTP/1.1\r\n{h}Connection: Upgrade, HTTP2-Settings\r\n"
        "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n", {400}),
    ("http2_version", "GET /api/u1/tasks HTTP/2.0\r\n{h}\r\n", {400, 505}),
    ("http09_style", "GET /api/u1/tasks\r\n\r\n", {400}),
    ("bad_version", "GET /api/u1/tasks HTTP/1.10\r\n{h}\r\n", {400, 505}),
    ("lowercase_method_version", "GET /api/u1/tasks http/1.1\r\n{h}\r\n", {400}),
    ("double_space_request_line", "GET  /api/u1/tasks HTTP/1.1\r\n{h}\r\n", {400}),
    ("prior_knowledge_h2", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {400, 505}),
    ("chunk_size_overflow", "POST /api/u1/tasks HTTP/1.1\r\n{h}Transfer-Encoding: chunked\r\n"
        "\r\nFFFFFFFFFFFFFFFFF1\r\nabc\r\n0\r\n\r\n", {400, 413}),
    ("chunk_size_junk", "POST /api/u1/tasks HTTP/1.1\r\n{h}Transfer-Encoding: chunked\r\n"
        "\r\n3x\r\nabc\r\n0\r\n\r\n", {400}),
    ("chunk_size_16_digits", "POST /api/u1/tasks HTTP/1.1\r\n{h}Transfer-Encoding: chunked\r\n"
        "\r\nFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n", {400, 413}),
    # 2^64 wraps to 0 in a 64-bit parser: the body would end there and the
    # rest would be read as a second request
    ("chunk_size_2pow64", "POST /api/u1/tasks HTTP/1.1\r\n{h}Transfer-Encoding: chunked\r\n"
        "\r\n10000000000000000\r\nGET /api/u1/smuggled HTTP/1.1\r\n{h}\r\n", {400, 413}),
    ("chunk_size_negative", "POST /api/u1/tasks HTTP/1.1\r\n{h}Transfer-Encoding: chunked\r\n"
        "\r\n-3\r\nabc\r\n0\r\n\r\n", {400}),
    ("chunk_missing_crlf", "POST /api/u1/tasks HTTP/1.1\r\n{h}Transfer-Encoding: chunked\r\n"
        "\r\n3\r\nabcX0\r\n\r\n", {400}),
]


@pytest.mark.parametrize("case,tmpl,ok", SMUGGLING, ids=[c[0] for c in SMUGGLING])
def test_smuggling_rejected(bd, upstream, tokens, case, tmpl, ok):
    tok = tokens.hs("u1")
    req = tmpl.replace("{h}", H(bd.port, tok)).replace("{tok}", tok).encode("latin-1")
    m = upstream.mark()
    res = raw(bd.port, req, timeout=3)
    assert res.responses, "no response (closed=%s): %r" % (res.closed, res.data[:200])
    r = res.responses[0]
    assert r.status in ok, (r.status, r.body[:200])
    if r.status == 400:
        problem_ok(r, 400)
    # an ambiguous request is answered once and the connection closed
    assert len(res.responses) == 1, [x.status for x in res.responses]
    assert res.closed, "connection left open after %d" % r.status
    if case.startswith("chunk_"):
        # the head was fine, so the upstream may have started the request;
        # it must never have completed a body or seen a second request
        recs = upstream.since(m, settle=0.1)
        assert all(x["raw_path"] == "/api/u1/tasks" for x in recs), recs
        assert all(x["body"] is None for x in recs), recs
    else:
        upstream.assert_not_reached(m)


def test_too_many_headers(bd, upstream, tokens):
    tok = tokens.hs("u1")
    extra = "".join("X-H%d: v\r\n" % i for i in range(150))
    m = upstream.mark()
    res = raw(bd.port, ("GET /api/u1/tasks HTTP/1.1\r\n%s%s\r\n" % (H(bd.port, tok), extra))
        .encode())
    assert res.status in (400, 431), res.data[:200]
    assert res.closed
    upstream.assert_not_reached(m)


@pytest.mark.parametrize("where", ["one_header", "request_line"])
def test_huge_head(bd, upstream, tokens, where):
    tok = tokens.hs("u1")
    if where == "one_header":
        req = "GET /api/u1/tasks HTTP/1.1\r\n%sX-Big: %s\r\n\r\n" % (H(bd.port, tok), "a" * 40000)
    else:
        req = "GET /api/u1/tasks?q=%s HTTP/1.1\r\n%s\r\n" % ("a" * 40000, H(bd.port, tok))
    m = upstream.mark()
    res = raw(bd.port, req.encode())
    assert res.status in (400, 414, 431), res.data[:200]
    assert res.closed
    upstream.assert_not_reached(m)


def test_max_header_line(bearerd_factory, upstream, tokens):
    """limits.max_header_line bounds one field line (CRLF excluded); the
    whole head stays under max_head_bytes."""
    b = bearerd_factory(limits={"max_header_line": 2048})
    tok = tokens.hs("u1")
    fits = "X-Big: %s" % ("a" * (2048 - 7))
    m = upstream.mark()
    res = raw(b.port, ("GET /api/u1/tasks HTTP/1.1\r\n%s%s\r\n\r\n" % (H(b.port, tok), fits))
        .encode())
    assert res.status == 200, res.data[:200]
    assert hdrs(upstream.one(m), "x-big") == ["a" * (2048 - 7)]
    m = upstream.mark()
    res = raw(b.port, ("GET /api/u1/tasks HTTP/1.1\r\n%s%sa\r\n\r\n" % (H(b.port, tok), fits))
        .encode())
    assert res.status == 431, res.data[:200]
    problem_ok(res.responses[0], 431)
    assert res.closed
    upstream.assert_not_reached(m)


def test_head_just_under_limit_is_served(bd, upstream, tokens):
    tok = tokens.hs("u1")
    m = upstream.mark()
    req = "GET /api/u1/tasks HTTP/1.1\r\n%sX-Big: %s\r\nConnection: close\r\n\r\n" % (
        H(bd.port, tok), "a" * 7000)
    res = raw(bd.port, req.encode())
    assert res.status == 200, res.data[:200]
    assert hdrs(upstream.one(m), "x-big") == ["a" * 7000]


def test_absolute_form_reduced_to_path(bd, upstream, tokens):
    tok = tokens.hs("u1")
    m = upstream.mark()
    req = ("GET http://evil.example/api/u1/tasks?z=1 HTTP/1.1\r\n%sConnection: close\r\n\r\n"
        % H(bd.port, tok))
    res = raw(bd.port, req.encode())
    assert res.status == 200, res.data[:300]
    rec = upstream.one(m)
    assert rec["raw_path"] == "/api/u1/tasks"
    assert rec["query"] == "z=1"
    assert hdrs(rec, "authorization") == ["Bearer " + tok]


def test_absolute_form_cannot_change_route(bd, upstream, tokens):
    m = upstream.mark()
    req = ("GET http://127.0.0.1/api/u2/tasks HTTP/1.1\r\n%sConnection: close\r\n\r\n"
        % H(bd.port, tokens.hs("u1")))
    res = raw(bd.port, req.encode())
    assert res.status == 403, res.data[:300]
    upstream.assert_not_reached(m)


def test_pipelined_requests_in_order(bd, upstream, tokens):
    tok = tokens.hs("u1")
    h = H(bd.port, tok)
    reqs = ("GET /api/u1/a HTTP/1.1\r\n%s\r\n"
        "GET /api/u1/b HTTP/1.1\r\n%s\r\n"
        "GET /api/u1/c HTTP/1.1\r\n%sConnection: close\r\n\r\n" % (h, h, h)).encode()
    m = upstream.mark()
    res = raw(bd.port, reqs, timeout=5)
    assert [r.status for r in res.responses] == [200, 200, 200], (
        "closed=%s upstream saw %r" % (res.closed,
        [x["raw_path"] for x in upstream.since(m)]), res.data[-300:], bd.stderr()[-1500:])
    assert [r.json()["path"] for r in res.responses] == ["/api/u1/a", "/api/u1/b", "/api/u1/c"]
    assert res.closed
    assert [x["raw_path"] for x in upstream.since(m)] == ["/api/u1/a", "/api/u1/b", "/api/u1/c"]


def test_pipelined_with_bodies_and_a_rejection(bd, upstream, tokens):
    tok = tokens.hs("u1")
    h = H(bd.port, tok)
    reqs = ("POST /api/u1/tasks HTTP/1.1\r\n%sContent-Length: 5\r\n\r\nhello"
        "POST /api/u1/tasks HTTP/1.1\r\n%sTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n0\r\n\r\n"
        "GET /api/u2/tasks HTTP/1.1\r\n%s\r\n"
        "GET /api/u1/last HTTP/1.1\r\n%sConnection: close\r\n\r\n" % (h, h, h, h)).encode()
    m = upstream.mark()
    res = raw(bd.port, reqs, timeout=5)
    st = [r.status for r in res.responses]
    # bearerd may close after an early rejection (keep-alive off before it)
    assert st in ([201, 201, 403], [201, 201, 403, 200]), res.data[:800]
    assert res.closed
    recs = upstream.since(m, settle=0.1)
    want = [("POST", "/api/u1/tasks"), ("POST", "/api/u1/tasks")]
    if len(st) == 4:
        want.append(("GET", "/api/u1/last"))
    assert [(x["method"], x["raw_path"]) for x in recs] == want
    assert [x["body"]["len"] for x in recs[:2]] == [5, 3]


def test_head_and_204_have_no_body(bd, upstream, tokens):
    tok = tokens.hs("u1")
    h = H(bd.port, tok)
    # If bearerd sent a body after HEAD or 204 the next response would not parse.
    reqs = ("HEAD /api/u1/res HTTP/1.1\r\n%s\r\n"
        "GET /api/u1/empty HTTP/1.1\r\n%s\r\n"
        "GET /api/u1/res HTTP/1.1\r\n%sConnection: close\r\n\r\n" % (h, h, h)).encode()
    res = raw(bd.port, reqs, timeout=5, head_methods=(True, False, False))
    assert [r.status for r in res.responses] == [200, 204, 200], res.data[:600]
    head, empty, get = res.responses
    assert get.body == b"resource body, 31 bytes long.\n"
    assert head.header("content-length") == str(len(get.body))
    assert empty.header("content-length") in (None, "0")
    assert empty.header("transfer-encoding") is None
    # nothing trails the last response
    assert res.data.endswith(get.body)


def test_keep_alive_reuse(bd, upstream, tokens):
    tok = tokens.hs("u1")
    c = bd.conn()
    m = upstream.mark()
    ports = set()
    for i in range(5):
        c.request("GET", "/api/u1/tasks?i=%d" % i, headers={"Cookie": "token=" + tok})
        r = c.getresponse()
        assert r.status == 200
        r.read()
        ports.add(c.sock.getsockname()[1])
    c.close()
    assert len(ports) == 1, "client connection was not kept alive"
    recs = upstream.since(m)
    assert [x["query"] for x in recs] == ["i=%d" % i for i in range(5)]
    # bearerd pools its upstream connections too
    assert len({tuple(x["peer"]) for x in recs}) <= 2, [x["peer"] for x in recs]


def test_rejection_after_keepalive_requests(bd, upstream, tokens):
    """A 401 on a kept-alive connection does not break the earlier answers."""
    tok = tokens.hs("u1")
    c = bd.conn()
    c.request("GET", "/api/u1/tasks", headers={"Cookie": "token=" + tok})
    r = c.getresponse()
    assert r.status == 200
    r.read()
    c.request("GET", "/api/u1/tasks")
    r = c.getresponse()
    assert r.status == 401
    r.read()
    c.close()


def test_slowloris_timed_out_while_others_served(bearerd_factory, upstream, tokens):
    b = bearerd_factory(timeouts={"head": 1000})
    tok = tokens.hs("u1")
    req = ("GET /api/u1/tasks HTTP/1.1\r\n%sX-Pad: %s\r\n\r\n" % (
        H(b.port, tok), "p" * 40)).encode()
    result = {}

    def slow():
        t0 = time.monotonic()
        result["res"] = raw(b.port, None, timeout=8, chunks=[req[i:i + 1] for i in range(len(req))],
            gap=0.1)
        result["t"] = time.monotonic() - t0

    m = upstream.mark()
    th = threading.Thread(target=slow)
    th.start()
    served = 0
    t_end = time.monotonic() + 1.5
    while time.monotonic() < t_end:
        r = b.get("/public/normal")
        assert r.status == 200
        served += 1
        time.sleep(0.05)
    th.join(15)
    assert served >= 5
    res = result["res"]
    assert res.closed, "slowloris connection still open"
    # the whole head would take ~%d s at 10 bytes/s; the head timeout is 1 s
    assert result["t"] < 6, result["t"]
    if res.responses:
        assert res.responses[0].status in (408, 400), res.responses[0].status
    assert all(x["raw_path"] == "/public/normal" for x in upstream.since(m))


def test_idle_keepalive_closed(bearerd_factory):
    b = bearerd_factory(timeouts={"idle": 500})
    res = raw(b.port, b"GET /public/idle HTTP/1.1\r\nHost: x\r\n\r\n", timeout=4)
    assert res.status == 200
    assert res.closed, "idle keep-alive connection was not closed"


def test_deadlines_follow_the_connection_state(bearerd_factory):
    """One timer serves every deadline of a connection, re-armed lazily: a
    kept-alive connection outlives a short head deadline (its own is the
    longer idle one), and a head that stalls on it is cut by the head
    deadline, not by the idle one still pending on the timer."""
    import socket
    b = bearerd_factory(timeouts={"head": 400, "idle": 4000})
    s = socket.create_connection(("127.0.0.1", b.port), timeout=5)
    try:
        def one_response():
            # the head and its whole Content-Length body, no more
            data = b""
            while True:
                r = parse_responses(data)
                if r and data.endswith(r[0].body) and len(r[0].body) == \
                        int(r[0].header("content-length") or 0):
                    return r[0]
                d = s.recv(65536)
                assert d, "connection closed: %r" % data[:80]
                data += d

        s.sendall(b"GET /public/a HTTP/1.1\r\nHost: x\r\n\r\n")
        assert one_response().status == 200
        time.sleep(1.2)  # three head deadlines, well within idle
        s.sendall(b"GET /public/b HTTP/1.1\r\nHost: x\r\n\r\n")
        assert one_response().status == 200, "idle cut too early"
        t0 = time.monotonic()
        s.sendall(b"GET /public/c HTTP/1.1\r\nHost: x\r\n")  # stalls
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        took = time.monotonic() - t0
        assert took < 2.0, "stalled head cut after %.2f s, not by its 0.4 s" % took
        assert data.startswith(b"HTTP/1.1 408"), data[:80]
    finally:
        s.close()


def test_expect_100_continue(bd, upstream, tokens):
    import socket
    tok = tokens.hs("u1")
    s = socket.create_connection(("127.0.0.1", bd.port), timeout=5)
    try:
        m = upstream.mark()
        s.sendall(("POST /api/u1/tasks HTTP/1.1\r\n%sContent-Length: 5\r\n"
            "Expect: 100-continue\r\nConnection: close\r\n\r\n" % H(bd.port, tok)).encode())
        s.settimeout(1.5)
        first = b""
        try:
            first = s.recv(4096)
        except socket.timeout:
            pass  # no interim answer: a client sends the body after a wait
        assert not first or first.startswith(b"HTTP/1.1 100"), first[:200]
        s.sendall(b"hello")
        s.settimeout(5)
        data = first
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    finally:
        s.close()
    finals = [r for r in __import__("conftest").parse_responses(data) if r.status >= 200]
    assert [r.status for r in finals] == [201], data[:400]
    rec = upstream.one(m)
    assert rec["body"]["len"] == 5


def test_expect_100_continue_unauthenticated(bd, upstream):
    """A refused upload is answered on its head: the body is never waited for."""
    m = upstream.mark()
    t0 = time.monotonic()
    res = raw(bd.port, ("POST /api/u1/upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
        "Expect: 100-continue\r\n\r\n" % (50 * 1024 * 1024)).encode(), timeout=3)
    assert [r.status for r in res.responses if r.status >= 200][:1] == [401], res.data[:300]
    assert time.monotonic() - t0 < 2.5
    assert not any(r.status == 100 for r in res.responses)
    upstream.assert_not_reached(m)


def test_big_unauthenticated_upload_refused_on_head(bd, upstream):
    m = upstream.mark()
    t0 = time.monotonic()
    res = raw(bd.port, ("POST /api/u1/upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
        % (50 * 1024 * 1024)).encode() + b"x" * 65536, timeout=3)
    assert res.status == 401, res.data[:300]
    assert time.monotonic() - t0 < 2.5
    upstream.assert_not_reached(m)


@pytest.mark.parametrize("workers", [1, 2])
def test_concurrent_keepalive_clients(bearerd_factory, upstream, tokens, workers):
    """Several clients, each reusing one connection, none ever dropped."""
    b = bearerd_factory(workers=workers)
    tok = tokens.hs("u1")
    n_clients, n_req = 4, 40
    fails, oks = [], []

    def client(k):
        c = b.conn()
        for i in range(n_req):
            try:
                c.request("GET", "/api/u1/tasks?c=%d&i=%d" % (k, i),
                    headers={"Cookie": "token=" + tok})
                r = c.getresponse()
                body = r.read()
                if r.status != 200 or json.loads(body)["echo"]["query"] != "c=%d&i=%d" % (k, i):
                    fails.append((k, i, r.status))
                else:
                    oks.append(1)
            except Exception as e:  # noqa: BLE001 - every failure counts
                fails.append((k, i, repr(e)))
                c.close()
                c = b.conn()
        c.close()

    ths = [threading.Thread(target=client, args=(k,)) for k in range(n_clients)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(60)
    assert fails == [], "%d of %d failed, first: %r" % (len(fails), n_clients * n_req, fails[:3])
    assert len(oks) == n_clients * n_req


def test_chunk_extension_answered(bd, upstream, tokens):
    """Chunk extensions are legal (RFC 9112 §7.1.1): forwarded, or refused
    with an answer, never a silent close."""
    tok = tokens.hs("u1")
    m = upstream.mark()
    res = raw(bd.port, ("POST /api/u1/tasks HTTP/1.1\r\n%sTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n3;ext=1\r\nabc\r\n0\r\n\r\n" % H(bd.port, tok)).encode())
    assert res.responses, "closed without an answer (closed=%s)" % res.closed
    assert res.status in (201, 400), res.status
    recs = upstream.since(m, settle=0.1)
    if res.status == 201:
        assert [x["body"]["len"] for x in recs] == [3]
    else:
        assert all(x["body"] is None for x in recs), recs


@pytest.mark.parametrize("how", ["close", "reset"])
def test_client_gone_while_waiting(bd, upstream, tokens, how):
    """The client leaves while its request waits on the upstream: bearerd
    notices at once (499), not when the upstream answers, and keeps serving.
    A plain close() is a FIN, as a half-close is: bearerd tells them apart
    by the client's reset (see the half-close tests below)."""
    import socket
    import struct
    s = socket.create_connection(("127.0.0.1", bd.port), timeout=5)
    s.sendall(("GET /api/u1/slow?s=2 HTTP/1.1\r\n%s\r\n" % H(bd.port, tokens.hs("u1"))).encode())
    time.sleep(0.3)
    t0 = time.monotonic()
    if how == "reset":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    seen = None
    while time.monotonic() - t0 < 1.2 and seen is None:
        time.sleep(0.05)
        seen = next((x for x in bd.access_lines() if x.get("path") == "/api/u1/slow"), None)
    assert seen is not None, bd.stderr()[-1500:]
    assert seen["status"] == 499, seen
    r = bd.get("/api/u1/tasks", token=tokens.hs("u1"))
    assert r.status == 200


@pytest.mark.parametrize("version", ["1.1", "1.0"])
def test_half_close_after_request_gets_response(bd, upstream, tokens, version):
    """A client that half-closes (FIN) after a complete request still gets
    its response, then the connection is closed (RFC 9293 section 3.6). An
    HTTP/1.1 client may see an interim 100 first (it must accept one)."""
    import socket
    s = socket.create_connection(("127.0.0.1", bd.port), timeout=5)
    s.sendall(("GET /api/u1/slow?s=0.5 HTTP/%s\r\n%s\r\n" % (
        version, H(bd.port, tokens.hs("u1")))).encode())
    time.sleep(0.1)
    s.shutdown(socket.SHUT_WR)
    data, deadline = b"", time.monotonic() + 5
    while time.monotonic() < deadline:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    rs = [r for r in parse_responses(data) if r.status >= 200]
    assert [r.status for r in rs] == [200], data[:300]
    assert all(r.status == 100 for r in parse_responses(data)[:-1]), data[:300]
    seen = next(x for x in bd.access_lines() if x.get("path") == "/api/u1/slow"
        and x.get("status") == 200)
    assert seen["bytes"] == len(rs[0].body)


def test_half_close_after_pipelined_requests(bd, upstream, tokens):
    """Two pipelined requests then a FIN: both are answered, in order."""
    h = H(bd.port, tokens.hs("u1"))
    import socket
    s = socket.create_connection(("127.0.0.1", bd.port), timeout=5)
    s.sendall(("GET /api/u1/slow?s=0.3 HTTP/1.1\r\n%s\r\n"
        "GET /api/u1/tasks HTTP/1.1\r\n%s\r\n" % (h, h)).encode())
    s.shutdown(socket.SHUT_WR)
    data, deadline = b"", time.monotonic() + 5
    while time.monotonic() < deadline:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    assert [r.status for r in parse_responses(data) if r.status >= 200] == [200, 200], data[:300]


def test_fin_inside_a_body_cancels(bd, upstream, tokens):
    """A FIN before the announced body is complete: the body can never
    complete, the request is cancelled and never completes upstream."""
    import socket
    m = upstream.mark()
    s = socket.create_connection(("127.0.0.1", bd.port), timeout=5)
    s.sendall(("POST /api/u1/tasks HTTP/1.1\r\n%sContent-Length: 100\r\n\r\nabc"
        % H(bd.port, tokens.hs("u1"))).encode())
    time.sleep(0.2)
    s.shutdown(socket.SHUT_WR)
    s.settimeout(3)
    assert s.recv(65536) == b""
    s.close()
    recs = upstream.since(m, settle=0.3)
    assert all(x["body"] is None for x in recs), recs


def test_pipelined_past_read_ahead_while_waiting(bd, upstream, tokens):
    """A slow request followed by over 64 KiB of pipelined requests: every
    request is still answered, in order."""
    h = H(bd.port, tokens.hs("u1"))
    n = 300
    first = "GET /api/u1/slow?s=0.5 HTTP/1.1\r\n%s\r\n" % h
    rest = "".join("GET /api/u1/p?i=%d HTTP/1.1\r\n%sX-Pad: %s\r\n\r\n" % (i, h, "p" * 64)
        for i in range(n))
    last = "GET /api/u1/p?i=last HTTP/1.1\r\n%sConnection: close\r\n\r\n" % h
    payload = (first + rest + last).encode()
    assert len(payload) > 64 * 1024
    m = upstream.mark()
    res = raw(bd.port, payload, timeout=30)
    assert [r.status for r in res.responses] == [200] * (n + 2), res.data[-300:]
    assert res.closed
    got = [x["query"] for x in upstream.since(m)]
    assert got == ["s=0.5"] + ["i=%d" % i for i in range(n)] + ["i=last"]

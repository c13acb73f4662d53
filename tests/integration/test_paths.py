# SPDX-License-Identifier: MIT
"""Path canonicalisation: every traversal encoding is 400 and never reaches the upstream."""

import pytest

from conftest import hdrs, problem_ok, raw

# Sent byte for byte over a raw socket, so no client library normalises them.
TRAVERSAL = [
    "/api/u1/../u2/tasks",
    "/api/u1/%2e%2e/u2/tasks",
    "/api/u1/%2E%2E/u2/tasks",
    "/api/u1/.%2e/u2/tasks",
    "/api/u1/%2e./u2/tasks",
    "/api/u1/..",
    "/api/u1/tasks/..",
    "/api/u1%2f..%2fu2/tasks",
    "/api/u1%2F..%2Fu2/tasks",
    "/api/u1/x%2fy",
    "/api/u1%5c..%5cu2/tasks",
    "/api/u1%5C..%5Cu2/tasks",
    "/api/u1\\..\\u2/tasks",
    "/api/u1/tasks\\",
    "/api/u1/tasks%00",
    "/api/u1/tasks%00.json",
    "/api/u1/%01tasks",
    "/api/u1/tasks%7f",
    "/api/u1//tasks",
    "//api/u1/tasks",
    "/api/u1/./tasks",
    "/api/u1/%2e/tasks",
    "/api/./u1/tasks",
    "/api/u1/%c0%ae%c0%ae/u2/tasks",
    "/api/u1/%c0%af",
    "/api/u1/%e0%80%ae",
    "/api/u1/%ZZ",
    "/api/u1/%2",
    "/api/u1/%",
    "/api/u1/%ff",
    "/api/u1/t\xe4sks",
    "api/u1/tasks",
]


def _req(path, port, token):
    return ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nCookie: token=%s\r\n"
        "Connection: close\r\n\r\n" % (path, port, token)).encode("latin-1")


@pytest.mark.parametrize("path", TRAVERSAL)
def test_traversal_rejected(bd, upstream, tokens, path):
    m = upstream.mark()
    res = raw(bd.port, _req(path, bd.port, tokens.hs("u1")))
    assert res.responses, "no response: %r" % res.data[:200]
    problem_ok(res.responses[0], 400)
    upstream.assert_not_reached(m)


@pytest.mark.parametrize("path,forwarded", [
    ("/api/u1/tasks", "/api/u1/tasks"),
    ("/api/u1/%74%61%73%6b%73", "/api/u1/tasks"),
    ("/api/u1/a%2Db_c~d", "/api/u1/a-b_c~d"),
    ("/api/u1/caf%c3%a9", "/api/u1/caf%C3%A9"),
    ("/api/u1/a%20b", "/api/u1/a%20b"),
])
def test_canonical_form_is_forwarded(bd, upstream, tokens, path, forwarded):
    m = upstream.mark()
    res = raw(bd.port, _req(path, bd.port, tokens.hs("u1")))
    assert res.status == 200, res.data[:300]
    assert upstream.one(m)["raw_path"] == forwarded


@pytest.mark.parametrize("path", ["/nothing", "/apix/u1/tasks", "/Public/x", "/"])
def test_no_route_is_404(bd, upstream, tokens, path):
    m = upstream.mark()
    r = bd.get(path, token=tokens.hs("u1"))
    problem_ok(r, 404)
    upstream.assert_not_reached(m)


CATCH_ALL = ['route "/**" {\n  upstream = api\n  auth = optional\n  issuer = hs\n}']

# Spellings of /api/u2/... that a case-insensitive backend (Express,
# ASP.NET) routes as /api/u2/...: ASCII case, and the non-ASCII letters
# those backends fold to i, s or k.
CASE_VARIANTS = ["/API/u2/tasks", "/Api/u2/tasks", "/aPi/u2/x/y", "/api/u2/tasks",
    "/ap%C4%B1/u2/tasks", "/AP%C4%B0/u2/tasks"]


@pytest.mark.parametrize("path", CASE_VARIANTS)
def test_case_variant_of_another_user_is_403(bearerd_factory, upstream, tokens, path):
    """A binding route's literals fold by default: alice's cookie on a
    variant of bob's path is 403, never the catch-all."""
    b = bearerd_factory(tail=CATCH_ALL)
    m = upstream.mark()
    r = b.get(path, token=tokens.hs("u1"))
    assert problem_ok(r, 403)["code"] == "forbidden", (path, r.body)
    upstream.assert_not_reached(m)


def test_case_variant_of_own_path_forwarded_as_sent(bearerd_factory, upstream, tokens):
    b = bearerd_factory(tail=CATCH_ALL)
    tok = tokens.hs("u1")
    m = upstream.mark()
    r = b.get("/API/u1/tasks", token=tok)
    assert r.status == 200, r.body
    rec = upstream.one(m)
    assert rec["raw_path"] == "/API/u1/tasks"
    assert hdrs(rec, "authorization") == ["Bearer " + tok]


def test_case_sensitive_literals_when_turned_off(bearerd_factory, upstream, tokens):
    """case_insensitive_literals = false: the variant is another path,
    served by the catch-all as a case-sensitive backend sees it."""
    b = bearerd_factory(tail=CATCH_ALL + ["case_insensitive_literals = false"])
    m = upstream.mark()
    r = b.get("/API/u2/tasks", token=tokens.hs("u1"))
    assert r.status == 200, r.body
    assert upstream.one(m)["raw_path"] == "/API/u2/tasks"
    m = upstream.mark()
    assert problem_ok(b.get("/api/u2/tasks", token=tokens.hs("u1")), 403)
    upstream.assert_not_reached(m)

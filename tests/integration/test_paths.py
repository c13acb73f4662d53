# SPDX-License-Identifier: MIT
"""Path canonicalisation: every traversal encoding is 400 and never reaches the upstream."""

import pytest

from conftest import problem_ok, raw

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

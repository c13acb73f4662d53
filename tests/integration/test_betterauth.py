# SPDX-License-Identifier: MIT
"""Cookies and tokens from a real Better Auth server (tests/betterauth) through bearerd."""

import uuid

import httpx
import jwt
import pytest

from conftest import (MINT_SECRET, BetterAuth, assert_401, hdrs, issuer_block,
    needs_betterauth, problem_ok, route_block)

pytestmark = needs_betterauth


class Server(BetterAuth):
    """Better Auth with its cookie cache in |strategy| ("compact" or "jwt"),
    asked directly: sign-up, the token and JWKS endpoints."""

    def __init__(self, d, strategy):
        super().__init__(d, strategy, COOKIE_CACHE=strategy, JWT_ALG="EdDSA")
        self.strategy = strategy

    def sign_up(self):
        """A new user; returns (user id, {cookie name: value})."""
        email = "u-%s@example.com" % uuid.uuid4().hex[:12]
        r = httpx.post(self.base + "/api/auth/sign-up/email",
            json={"email": email, "password": "correct horse battery", "name": "T"},
            headers={"Origin": self.base}, timeout=10)
        assert r.status_code == 200, (r.status_code, r.text[:300])
        jar = {c.name: c.value for c in r.cookies.jar}
        return r.json()["user"]["id"], jar

    def token(self, jar):
        r = httpx.get(self.base + "/api/auth/token", cookies=jar, timeout=10)
        assert r.status_code == 200, (r.status_code, r.text[:300])
        return r.json()["token"]

    def jwks(self):
        r = httpx.get(self.base + "/api/auth/jwks", timeout=10)
        assert r.status_code == 200
        return r.text


@pytest.fixture(scope="module", params=["compact", "jwt"])
def ba_server(request, tmp_path_factory):
    s = Server(str(tmp_path_factory.mktemp("ba")), request.param)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def ba_bd(ba_server, module_factory, tmp_path_factory):
    """bearerd with the session_data cookie (of the server's strategy) in mint
    mode, and Better Auth's EdDSA JWT checked against its JWKS (as a file)."""
    d = tmp_path_factory.mktemp("bajwks")
    (d / "jwks.json").write_text(ba_server.jwks())
    cred = "better-auth-compact" if ba_server.strategy == "compact" else "jwt"
    issuers = issuer_block("ba", ["credential = %s" % cred,
        'cookie = "better-auth.session_data"', 'secret = "${BEARERD_TEST_BA_SECRET}"',
        'subject = "session.userId"', "forward = mint", "mint_alg = HS256",
        'mint_secret = "${BEARERD_TEST_MINT_SECRET}"', "mint_ttl = 60"])
    issuers += issuer_block("bajwt", ["credential = jwt", 'cookie = "ba_jwt"',
        'jwks_file = "%s"' % (d / "jwks.json"), 'issuer = "%s"' % ba_server.base,
        'audience = "%s"' % ba_server.base])
    routes = route_block("/ba/{user_id}/**", "ba") + route_block("/bajwt/{user_id}/**", "bajwt")
    return module_factory(issuers=issuers, routes=routes)


def test_session_data_cookie(ba_server, ba_bd, upstream):
    uid, jar = ba_server.sign_up()
    assert "better-auth.session_data" in jar, sorted(jar)
    cookie = "better-auth.session_data=%s; better-auth.session_token=%s" % (
        jar["better-auth.session_data"], jar["better-auth.session_token"])
    m = upstream.mark()
    r = ba_bd.get("/ba/%s/tasks" % uid, cookie=cookie)
    assert r.status == 200, (ba_server.strategy, r.status, r.body[:300])
    rec = upstream.one(m)
    auth = hdrs(rec, "authorization")
    assert len(auth) == 1
    c = jwt.decode(auth[0][7:], MINT_SECRET, algorithms=["HS256"],
        options={"verify_aud": False})
    assert c["sub"] == uid
    assert all(jar["better-auth.session_data"] not in v for v in hdrs(rec, "cookie"))

    other, _ = ba_server.sign_up()
    m = upstream.mark()
    problem_ok(ba_bd.get("/ba/%s/tasks" % other, cookie=cookie), 403)
    # one flipped byte in the signed cookie
    v = jar["better-auth.session_data"]
    i = len(v) // 2
    bad = v[:i] + ("A" if v[i] != "A" else "B") + v[i + 1:]
    r = ba_bd.get("/ba/%s/tasks" % uid, cookie="better-auth.session_data=" + bad)
    assert r.status in (400, 401), r.status
    upstream.assert_not_reached(m)


def test_eddsa_jwt_from_token_endpoint(ba_server, ba_bd, upstream):
    uid, jar = ba_server.sign_up()
    tok = ba_server.token(jar)
    assert jwt.get_unverified_header(tok)["alg"] == "EdDSA"
    m = upstream.mark()
    r = ba_bd.get("/bajwt/%s/tasks" % uid, token=tok, cookie_name="ba_jwt")
    assert r.status == 200, (r.status, r.body[:300])
    assert hdrs(upstream.one(m), "authorization") == ["Bearer " + tok]
    m = upstream.mark()
    problem_ok(ba_bd.get("/bajwt/other/tasks", token=tok, cookie_name="ba_jwt"), 403)
    h, p, s = tok.split(".")
    assert_401(ba_bd.get("/bajwt/%s/tasks" % uid, token=h + "." + p + "." + s[::-1],
        cookie_name="ba_jwt"))
    upstream.assert_not_reached(m)

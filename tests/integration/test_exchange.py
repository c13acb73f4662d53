# SPDX-License-Identifier: MIT
"""credential = session end to end: real Better Auth (npm), a real FastAPI
backend that verifies the Bearer itself (verify_app.py), bearerd between.

A relay in front of Better Auth counts every request that reaches it, so
"no call" and "exactly one call" are measured, not assumed.
"""

import collections
import http.client
import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest

from conftest import (MINT_SECRET, PY, BetterAuth, assert_401, free_port, issuer_block,
    needs_betterauth, problem_ok, serve_in_threads, stop_process, wait_port)

HERE = os.path.dirname(os.path.abspath(__file__))
ALGS = ["EdDSA", "ES256", "ES512", "RS256", "PS256"]
PASSWORD = "correct horse battery staple"

pytestmark = needs_betterauth


# ------------------------------------------------------------ Better Auth


class Relay:
    """A TCP relay in front of Better Auth that counts request lines by path."""

    LINE = re.compile(rb"^(GET|POST|HEAD|PUT|PATCH|DELETE|OPTIONS) (\S+) HTTP/1\.[01]$")

    def __init__(self, target_port):
        self.target = target_port
        self.counts = collections.Counter()
        self.lock = threading.Lock()
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(128)
        self.port = self.ls.getsockname()[1]
        self.closed = False
        serve_in_threads(self.ls, self._serve, lambda: not self.closed)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def count(self, path):
        with self.lock:
            return self.counts[path]

    def _serve(self, c):
        try:
            u = socket.create_connection(("127.0.0.1", self.target), timeout=5)
        except OSError:
            c.close()  # Better Auth is down: the connection just closes
            return
        u.settimeout(None)
        threading.Thread(target=self._pipe, args=(u, c, False), daemon=True).start()
        self._pipe(c, u, True)

    def _pipe(self, src, dst, count):
        buf = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if count:
                    buf += data
                    *lines, buf = buf.split(b"\r\n")
                    for line in lines:
                        m = self.LINE.match(line)
                        if m:
                            with self.lock:
                                self.counts[m.group(2).split(b"?")[0].decode()] += 1
                    buf = buf[-8192:]
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def stop(self):
        self.closed = True
        self.ls.close()


class Backend:
    """verify_app.py under uvicorn."""

    def __init__(self, d, name, jwks_url, issuer, secret):
        self.port = free_port()
        self.log = open(os.path.join(d, "verify-%s.log" % name), "w+")
        env = dict(os.environ, VERIFY_JWKS_URL=jwks_url, VERIFY_ISSUER=issuer,
            VERIFY_SECRET=secret)
        self.proc = subprocess.Popen([PY, "-m", "uvicorn", "verify_app:app", "--host",
            "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            cwd=HERE, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_port(self.port, 15, self.proc):
            self.log.seek(0)
            raise AssertionError("verify backend did not start: " + self.log.read())

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def stop(self):
        stop_process(self.proc)
        self.log.close()


MINT_SECRET_ENV = "${BEARERD_TEST_MINT_SECRET}"


def session_issuer(name, relay, base, forward="passthrough", **o):
    lines = ["credential = session", 'secret = "${BEARERD_TEST_BA_SECRET}"',
        'token_url = "%s/api/auth/token"' % relay.url,
        'jwks_url = "%s/api/auth/jwks"' % relay.url,
        'issuer = "%s"' % base, 'audience = "%s"' % base,
        "jwks_min_refresh = %d" % o.get("jwks_min_refresh", 1),
        "refresh_before = %d" % o.get("refresh_before", 60),
        "session_recheck = %d" % o.get("session_recheck", 2),
        "leeway = %d" % o.get("leeway", 0),
        'keep_claims = {"email"}']
    if forward == "mint":
        lines += ["forward = mint", "mint_alg = HS256",
            'mint_secret = "%s"' % MINT_SECRET_ENV, "mint_ttl = 300"]
    return issuer_block(name, lines)


def bd_route(prefix, issuer, strip=None):
    r = ['route "%s/{user_id}/**" {' % prefix, "  upstream = back", "  issuer = %s" % issuer,
        '  require = {"user_id == sub"}']
    if strip:
        r.append('  strip_prefix = "%s"' % strip)
    return r + ["}"]


class Stack:
    """Better Auth, its relay, the verifying backend and bearerd. |issuers|
    may be a function of the stack, for issuers that name its relay or Better
    Auth's base URL (known only once they run)."""

    def __init__(self, d, factory, name, ba_env=None, issuers=None, routes=None,
            workers=1):
        self.name = name
        self.ba = BetterAuth(d, name, **(ba_env or {}))
        self.relay = Relay(self.ba.port)
        self.back = Backend(d, name, self.relay.url + "/api/auth/jwks", self.ba.base,
            MINT_SECRET)
        ups = ["upstream back {", '  url = "%s"' % self.back.url, "}",
            "upstream auth {", '  url = "%s"' % self.relay.url, "}"]
        first = ['route "/api/auth/**" {', "  upstream = auth", "  auth = none",
            "  pass_auth_cookies = true", "}"]
        if callable(issuers):
            issuers = issuers(self)
        if issuers is None:
            issuers = (session_issuer("bap", self.relay, self.ba.base) +
                session_issuer("bam", self.relay, self.ba.base, "mint"))
            routes = bd_route("/p", "bap") + bd_route("/m", "bam") + [
                'route "/anon/**" {', "  upstream = back", "  auth = optional",
                "  issuer = bap", '  strip_prefix = "/anon"', "}"]
        self.bd = factory(issuers=ups + issuers, routes_first=first + routes,
            workers=workers)

    def tokens(self):
        return self.relay.count("/api/auth/token")

    def stop(self):
        self.back.stop()
        self.relay.stop()
        self.ba.stop()


def set_cookies(resp):
    """{name: value} from the Set-Cookie headers of an http.client-style Resp."""
    out = {}
    for v in resp.header_all("set-cookie"):
        name, _, rest = v.partition("=")
        out[name.strip()] = rest.split(";")[0]
    return out


def sign_up(bd, name="T", email=None):
    """Signs a new user up through bearerd; returns (user id, {cookie: value})."""
    email = email or "u-%s@example.com" % uuid.uuid4().hex[:12]
    body = ('{"email":"%s","password":"%s","name":"%s"}' % (email, PASSWORD, name)).encode()
    r = bd.request("POST", "/api/auth/sign-up/email", body=body,
        headers=[("Content-Type", "application/json")])
    assert r.status == 200, (r.status, r.body[:300])
    return r.json()["user"]["id"], set_cookies(r)


def cookie_of(jar, names=("better-auth.session_token",)):
    return "; ".join("%s=%s" % (n, jar[n]) for n in names)


def forged(value):
    """The same token with another valid-looking signature."""
    tok = value.rsplit(".", 1)[0]
    return tok + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D"


# ------------------------------------------------------- every algorithm


@pytest.fixture(scope="module", params=ALGS)
def stack(request, tmp_path_factory, module_factory):
    s = Stack(str(tmp_path_factory.mktemp("ex")), module_factory, request.param,
        ba_env={"JWT_ALG": request.param})
    s.alg = request.param
    yield s
    s.stop()


def test_session_every_alg_both_modes(stack):
    bd = stack.bd
    uid, jar = sign_up(bd)
    other, _ = sign_up(bd)
    assert "better-auth.session_token" in jar, jar
    ck = cookie_of(jar)
    for mode, alg in (("p", stack.alg), ("m", "HS256")):
        n = stack.tokens()
        r = bd.get("/%s/%s/tasks" % (mode, uid), cookie=ck)
        assert r.status == 200, (mode, r.status, r.body[:400])
        doc = r.json()
        assert doc["sub"] == uid and doc["n_authorization"] == 1, doc
        assert doc["alg"] == alg, doc
        assert "session_token" not in doc["cookies"], doc["cookies"]
        assert stack.tokens() == n + 1, "one exchange for a new session"
        # cached: no second call
        r = bd.get("/%s/%s/tasks" % (mode, uid), cookie=ck)
        assert r.status == 200 and stack.tokens() == n + 1
        problem_ok(bd.get("/%s/%s/tasks" % (mode, other), cookie=ck), 403)
        assert_401(bd.get("/%s/%s/tasks" % (mode, uid)), missing=True)
        bad = "better-auth.session_token=" + forged(jar["better-auth.session_token"])
        assert_401(bd.get("/%s/%s/tasks" % (mode, uid), cookie=bad))
        assert stack.tokens() == n + 1, "a forged cookie never reaches Better Auth"


# ------------------------------------------------ behaviour, on EdDSA


@pytest.fixture(scope="module")
def ed(tmp_path_factory, module_factory):
    s = Stack(str(tmp_path_factory.mktemp("ed")), module_factory, "ed")
    yield s
    s.stop()


def test_signed_out_session_refused_within_recheck(ed):
    uid, jar = sign_up(ed.bd)
    ck = cookie_of(jar)
    assert ed.bd.get("/p/%s/t" % uid, cookie=ck).status == 200
    r = ed.bd.request("POST", "/api/auth/sign-out", cookie=ck, body=b"{}",
        headers=[("Origin", ed.ba.base), ("Content-Type", "application/json")])
    assert r.status == 200, (r.status, r.body[:300])
    t0 = time.monotonic()
    while True:
        r = ed.bd.get("/p/%s/t" % uid, cookie=ck)
        if r.status != 200:
            break
        # session_recheck is 2 s: cached at most that long
        assert time.monotonic() - t0 < 2 + 1.5, "still served after session_recheck"
        time.sleep(0.2)
    assert_401(r)
    # Better Auth's cookie deletions reach the browser
    dels = [v for v in r.header_all("set-cookie")
        if v.startswith("better-auth.session_token=") and "Max-Age=0" in v]
    assert dels, r.header_all("set-cookie")
    # on an optional route the refused session goes up anonymously (the
    # backend's own 401 says it got no Bearer), the deletions relayed too
    r = ed.bd.get("/anon/p/%s/t" % uid, cookie=ck)
    assert r.status == 401 and r.json().get("n_authorization") == 0, r.body[:300]
    assert [v for v in r.header_all("set-cookie")
        if v.startswith("better-auth.session_token=") and "Max-Age=0" in v]


def reloads_ok(bd):
    m = re.search(rb'bearerd_config_reloads_total\{result="success"\} (\d+)',
        bd.admin("/metrics").body)
    return int(m.group(1)) if m else 0


def test_new_secret_refuses_the_cookie_on_a_kept_alive_connection(
        tmp_path_factory, module_factory):
    """A connection remembers the last session cookie whose signature
    verified, so the next request skips the HMAC; that memory belongs to
    the configuration that verified it. After a reload with another secret
    the same cookie on the same connection is checked again, and refused."""
    s = Stack(str(tmp_path_factory.mktemp("rot")), module_factory, "rot")
    c = None
    try:
        uid, jar = sign_up(s.bd)
        ck = cookie_of(jar)
        c = s.bd.conn()

        def get():
            c.request("GET", "/p/%s/t" % uid, headers={"Cookie": ck})
            r = c.getresponse()
            r.read()
            return r.status, c.sock.getsockname()

        st1, addr = get()
        st2, addr2 = get()
        assert (st1, st2) == (200, 200) and addr2 == addr
        text = open(s.bd.conf).read()
        assert "${BEARERD_TEST_BA_SECRET}" in text
        s.bd.write_config(text=text.replace("${BEARERD_TEST_BA_SECRET}",
            "rotated-secret-0123456789abcdef0123456789abcdef"))
        n0 = reloads_ok(s.bd)
        s.bd.signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while reloads_ok(s.bd) == n0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reloads_ok(s.bd) == n0 + 1, "the reload did not happen"
        st3, addr3 = get()
        assert addr3 == addr, "not the same connection"
        assert st3 == 401
    finally:
        if c is not None:
            c.close()
        s.stop()


def test_fifty_concurrent_one_exchange(ed):
    uid, jar = sign_up(ed.bd)
    ck = cookie_of(jar)
    n0 = ed.tokens()
    barrier = threading.Barrier(50)
    results = []

    def one():
        c = http.client.HTTPConnection("127.0.0.1", ed.bd.port, timeout=20)
        c.connect()
        barrier.wait()
        c.request("GET", "/p/%s/t" % uid, headers={"Cookie": ck})
        r = c.getresponse()
        r.read()
        results.append(r.status)
        c.close()

    ts = [threading.Thread(target=one) for _ in range(50)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    assert results == [200] * 50, collections.Counter(results)
    assert ed.tokens() == n0 + 1, "50 requests, %d exchanges" % (ed.tokens() - n0)


def metric(bd, line_start):
    r = bd.admin("/metrics")
    assert r.status == 200
    for line in r.body.decode().splitlines():
        if line.startswith(line_start + " "):
            return float(line.split()[-1])
    raise AssertionError("no metric %s in:\n%s" % (line_start, r.body.decode()))


def test_metrics_count_the_flow(ed):
    assert ed.bd.admin("/readyz").status == 200, "ready once the JWKS is in"
    uid, jar = sign_up(ed.bd)
    ck = cookie_of(jar)
    ok0 = metric(ed.bd, 'bearerd_exchanges_total{outcome="ok"}')
    miss0 = metric(ed.bd, 'bearerd_session_cache_lookups_total{result="miss"}')
    hit0 = metric(ed.bd, 'bearerd_session_cache_lookups_total{result="hit"}')
    assert ed.bd.get("/p/%s/t" % uid, cookie=ck).status == 200
    assert ed.bd.get("/p/%s/t" % uid, cookie=ck).status == 200
    assert metric(ed.bd, 'bearerd_exchanges_total{outcome="ok"}') == ok0 + 1
    assert metric(ed.bd, 'bearerd_session_cache_lookups_total{result="miss"}') == miss0 + 1
    # the request that waited, and the second one, both hit
    assert metric(ed.bd, 'bearerd_session_cache_lookups_total{result="hit"}') == hit0 + 2
    assert metric(ed.bd, 'bearerd_jwks_fetches_total{result="ok"}') >= 2
    assert metric(ed.bd, 'bearerd_jwks_age_seconds{issuer="bap"}') >= 0
    # the 50 above: those not served from the cache joined the one flight
    assert metric(ed.bd, "bearerd_exchange_joins_total") >= 1


def test_two_workers_each_with_its_keys(tmp_path_factory, module_factory):
    """Every worker fetches and holds its own JWKS (no key set is shared
    across threads); readiness waits for all of them; sessions work on
    whichever worker a connection lands, one exchange per worker at most."""
    s = Stack(str(tmp_path_factory.mktemp("w2")), module_factory, "w2", workers=2)
    try:
        deadline = time.monotonic() + 10
        while s.bd.admin("/readyz").status != 200:
            assert time.monotonic() < deadline, "not ready"
            time.sleep(0.1)
        assert metric(s.bd, 'bearerd_jwks_fetches_total{result="ok"}') >= 4, \
            "two issuers on two workers"
        uid, jar = sign_up(s.bd)
        n0 = s.tokens()
        for _ in range(12):
            r = s.bd.get("/p/%s/t" % uid, cookie=cookie_of(jar))
            assert r.status == 200, r.body[:300]
        assert 1 <= s.tokens() - n0 <= 2, s.tokens() - n0
    finally:
        s.stop()


# ------------------------------------- short-lived JWTs, outage, rotation


@pytest.fixture(scope="module")
def short(tmp_path_factory, module_factory):
    """JWTs living 5 s. Issuer r refreshes 2 s before exp and rechecks every
    60 s; issuer o rechecks every second and uses a JWT up to its exp."""
    def iss(s):
        return (session_issuer("r", s.relay, s.ba.base, refresh_before=2,
            session_recheck=60) +
            session_issuer("o", s.relay, s.ba.base, refresh_before=0, session_recheck=1))

    s = Stack(str(tmp_path_factory.mktemp("short")), module_factory, "short",
        ba_env={"JWT_EXPIRATION": 5, "SESSION_UPDATE_AGE": 1}, issuers=iss,
        routes=bd_route("/r/p", "r", strip="/r") + bd_route("/o/p", "o", strip="/o"))
    yield s
    s.stop()


def test_expiring_token_refreshed_unnoticed(short):
    uid, jar = sign_up(short.bd)
    ck = cookie_of(jar)
    n0 = short.tokens()
    r1 = short.bd.get("/r/p/%s/t" % uid, cookie=ck)
    assert r1.status == 200, r1.body[:300]
    assert short.tokens() == n0 + 1
    assert short.bd.get("/r/p/%s/t" % uid, cookie=ck).status == 200
    assert short.tokens() == n0 + 1, "fresh: served from the cache"
    # 2 s before its exp (5 s) the JWT is renewed, the client sees a 200
    time.sleep(max(0.0, r1.json()["exp"] - 2 - time.time()) + 0.3)
    r2 = short.bd.get("/r/p/%s/t" % uid, cookie=ck)
    assert r2.status == 200, r2.body[:300]
    assert short.tokens() == n0 + 2, "one exchange to refresh"
    assert r2.json()["token"] != r1.json()["token"]
    assert r2.json()["exp"] > r1.json()["exp"]


def test_reissued_session_cookie_relayed(short):
    """Better Auth slides a session older than updateAge (1 s here) and
    re-issues its cookie on /token: the browser gets it through bearerd."""
    uid, jar = sign_up(short.bd)
    ck = cookie_of(jar)
    time.sleep(1.2)
    r = short.bd.get("/o/p/%s/t" % uid, cookie=ck)
    assert r.status == 200, r.body[:300]
    new = [v for v in r.header_all("set-cookie")
        if v.startswith("better-auth.session_token=")]
    assert len(new) == 1 and "Max-Age=604800" in new[0], r.header_all("set-cookie")
    assert new[0].split(";")[0] == "better-auth.session_token=" + jar[
        "better-auth.session_token"], "the same session, a fresh Max-Age"
    assert "session_token" not in r.json()["cookies"]


def test_dont_remember_is_not_slid(short):
    """Signed in with rememberMe false, the session cookie has no Max-Age
    and Better Auth never slides it. bearerd sends dont_remember along, so
    the exchange does not turn it into a 7-day cookie either."""
    email = "u-%s@example.com" % uuid.uuid4().hex[:12]
    uid, _ = sign_up(short.bd, email=email)
    body = ('{"email":"%s","password":"%s","rememberMe":false}' % (email, PASSWORD)).encode()
    r = short.bd.request("POST", "/api/auth/sign-in/email", body=body,
        headers=[("Content-Type", "application/json")])
    assert r.status == 200, r.body[:300]
    jar = set_cookies(r)
    assert "better-auth.dont_remember" in jar, jar
    ck = cookie_of(jar, ("better-auth.session_token", "better-auth.dont_remember"))
    time.sleep(1.2)  # past updateAge
    r = short.bd.get("/o/p/%s/t" % uid, cookie=ck)
    assert r.status == 200, r.body[:300]
    assert not [v for v in r.header_all("set-cookie") if "Max-Age=604800" in v], \
        r.header_all("set-cookie")
    assert "dont_remember" not in r.json()["cookies"]


def test_better_auth_down_then_rotated(short):
    bd = short.bd
    a, jar_a = sign_up(bd)
    b, jar_b = sign_up(bd)
    ck_a, ck_b = cookie_of(jar_a), cookie_of(jar_b)
    r = bd.get("/o/p/%s/t" % a, cookie=ck_a)
    assert r.status == 200, r.body[:300]
    exp = r.json()["exp"]
    short.ba.stop()
    try:
        time.sleep(1.2)  # past session_recheck: a refresh is due
        r = bd.get("/o/p/%s/t" % a, cookie=ck_a)
        assert r.status == 200, "cached JWT inside its exp keeps working: %r" % (r.body[:300],)
        r = bd.get("/o/p/%s/t" % b, cookie=ck_b)
        problem_ok(r, 503)
        assert r.header("retry-after") is not None
        assert r.header("www-authenticate") is None, "an outage is never a 401"
        time.sleep(max(0.0, exp - time.time()) + 0.5)
        problem_ok(bd.get("/o/p/%s/t" % a, cookie=ck_a), 503)
    finally:
        short.ba.start()
    # Restarted without a database: a new key pair, a new kid. A new
    # session's JWT names it; bearerd refetches the JWKS and serves it.
    j0 = short.relay.count("/api/auth/jwks")
    c, jar_c = sign_up(bd)
    r = bd.get("/o/p/%s/t" % c, cookie=cookie_of(jar_c))
    assert r.status == 200, r.body[:300]
    assert short.relay.count("/api/auth/jwks") > j0, "the JWKS was refetched"
    # the old session died with the old process
    assert_401(bd.get("/o/p/%s/t" % a, cookie=ck_a))


# ------------------------------------------------ https cookie names


@pytest.fixture(scope="module")
def secure(tmp_path_factory, module_factory):
    s = Stack(str(tmp_path_factory.mktemp("sec")), module_factory, "secure",
        ba_env={"BETTER_AUTH_URL": "https://app.example.test"})
    yield s
    s.stop()


def test_secure_cookie_names(secure):
    uid, jar = sign_up(secure.bd)
    name = "__Secure-better-auth.session_token"
    assert name in jar, jar
    r = secure.bd.get("/p/%s/t" % uid, cookie="%s=%s" % (name, jar[name]))
    assert r.status == 200, r.body[:300]
    assert r.json()["sub"] == uid
    assert "session_token" not in r.json()["cookies"]
    r = secure.bd.get("/m/%s/t" % uid, cookie="%s=%s" % (name, jar[name]))
    assert r.status == 200, r.body[:300]


# ------------------------------------------------ chunked session_data


@pytest.fixture(scope="module")
def chunky(tmp_path_factory, module_factory):
    d = str(tmp_path_factory.mktemp("chunk"))
    iss = issuer_block("sd", ["credential = better-auth-compact",
        'cookie = "better-auth.session_data"', 'secret = "${BEARERD_TEST_BA_SECRET}"',
        "forward = mint", "mint_alg = HS256", 'mint_secret = "%s"' % MINT_SECRET_ENV,
        "mint_ttl = 60"])
    s = Stack(d, module_factory, "chunk", ba_env={"COOKIE_CACHE": "compact"},
        issuers=iss, routes=bd_route("/m", "sd"))
    yield s
    s.stop()


def test_chunked_session_data(chunky):
    uid, jar = sign_up(chunky.bd, name="N" * 3500)
    chunks = sorted(k for k in jar if k.startswith("better-auth.session_data."))
    assert chunks == ["better-auth.session_data.0", "better-auth.session_data.1"], sorted(jar)
    # the browser sends them in any order
    ck = "; ".join("%s=%s" % (k, jar[k]) for k in reversed(chunks))
    n0 = chunky.tokens()
    r = chunky.bd.get("/m/%s/t" % uid, cookie=ck)
    assert r.status == 200, r.body[:300]
    assert r.json()["sub"] == uid
    assert "session_data" not in r.json()["cookies"], "chunks are cut too"
    assert chunky.tokens() == n0, "session_data is verified locally"
    # one chunk alone is not the signed value
    assert_401(chunky.bd.get("/m/%s/t" % uid, cookie="%s=%s" % (chunks[0], jar[chunks[0]])))


# ------------------------------- session_data expired: the exchange instead


@pytest.fixture(scope="module")
def cached(tmp_path_factory, module_factory):
    """Better Auth's cookie cache living 2 s; bearerd reads session_data and,
    once it has expired or is gone, exchanges the session cookie."""
    def iss(s):
        return issuer_block("cc", ["credential = better-auth-compact",
            'cookie = "better-auth.session_data"',
            'session_cookie = "better-auth.session_token"',
            'secret = "${BEARERD_TEST_BA_SECRET}"', "leeway = 0",
            'token_url = "%s/api/auth/token"' % s.relay.url,
            'jwks_url = "%s/api/auth/jwks"' % s.relay.url,
            'issuer = "%s"' % s.ba.base, 'audience = "%s"' % s.ba.base,
            'keep_claims = {"user.email"}', "forward = mint", "mint_alg = HS256",
            'mint_secret = "%s"' % MINT_SECRET_ENV, "mint_ttl = 300"])

    # (mint_ttl above refresh_before: with 60 and 60 the entry would be
    # due again a second after its exchange, and "cached" below would hold
    # only while the clock stayed in that second)
    s = Stack(str(tmp_path_factory.mktemp("cc")), module_factory, "cc",
        ba_env={"COOKIE_CACHE": "compact", "COOKIE_CACHE_MAX_AGE": 2}, issuers=iss,
        routes=bd_route("/m", "cc"))
    yield s
    s.stop()


def test_expired_session_data_exchanged(cached):
    bd = cached.bd
    email = "u-%s@example.com" % uuid.uuid4().hex[:12]
    uid, jar = sign_up(bd, email=email)
    both = cookie_of(jar, ("better-auth.session_data", "better-auth.session_token"))
    n0 = cached.tokens()
    r = bd.get("/m/%s/t" % uid, cookie=both)
    assert r.status == 200, r.body[:300]
    assert r.json()["email"] == email
    assert cached.tokens() == n0, "a live session_data is verified locally"
    time.sleep(3.2)  # the cookie cache's maxAge passed
    r = bd.get("/m/%s/t" % uid, cookie=both)
    assert r.status == 200, r.body[:300]
    assert r.json()["sub"] == uid and r.json()["email"] == email, r.json()
    assert cached.tokens() == n0 + 1, "the session cookie was exchanged"
    # Better Auth issued a fresh session_data with the JWT: relayed, and
    # good for local verification again
    fresh = set_cookies(r).get("better-auth.session_data")
    assert fresh and fresh != jar["better-auth.session_data"], r.header_all("set-cookie")
    r = bd.get("/m/%s/t" % uid, cookie="better-auth.session_data=" + fresh)
    assert r.status == 200 and cached.tokens() == n0 + 1, r.body[:300]
    # the browser dropped session_data at its Max-Age: the same
    only = cookie_of(jar, ("better-auth.session_token",))
    r = bd.get("/m/%s/t" % uid, cookie=only)
    assert r.status == 200, r.body[:300]
    assert cached.tokens() == n0 + 1, "cached"
    # a forged session cookie leaves the expired session_data's answer
    bad = "better-auth.session_data=%s; better-auth.session_token=%s" % (
        jar["better-auth.session_data"], forged(jar["better-auth.session_token"]))
    doc = assert_401(bd.get("/m/%s/t" % uid, cookie=bad))
    assert doc["code"] == "expired", doc
    assert cached.tokens() == n0 + 1

"""Request policy end to end: header classes, trusted forwarders, request
ids, absolute-form targets, auth cookies, the CSRF guard, strip_prefix. Each
is sent through bearerd and checked at the upstream."""
from conftest import hdrs, norm_name, problem_ok, raw

# (header, value) pairs no upstream may see from an untrusted client, in
# several cases and '_'/'-' spellings.
IDENTITY = [
    ("X-User-Id", "u2"), ("x_user_id", "u2"), ("X-USER", "u2"),
    ("X-Username", "u2"), ("X-User-Groups", "admin"),
    ("X-Auth-Request-User", "u2"), ("x-auth-request-email", "e@x"),
    ("X_Auth_Request_Groups", "admin"), ("X-Authenticated-User", "u2"),
    ("X-Authenticated-Userid", "u2"), ("X-Remote-User", "u2"),
    ("x_remote_email", "e@x"), ("X-Forwarded-User", "u2"),
    ("X-Forwarded-Email", "e@x"), ("x_forwarded_email", "e@x"),
    ("X-Forwarded-Preferred-Username", "u2"), ("Remote-User", "u2"),
    ("REMOTE_USER", "u2"),
]
OVERRIDES = [
    ("X-Original-URL", "/admin"), ("x_original_url", "/admin"),
    ("X-Rewrite-URL", "/admin"), ("X-Override-URL", "/admin"),
    ("X-HTTP-Method-Override", "DELETE"), ("x-http-method", "DELETE"),
    ("X_HTTP_Method", "PUT"), ("X-Method-Override", "PATCH"),
]
ADDRESS = [
    ("X-Real-IP", "6.6.6.6"), ("x_real_ip", "6.6.6.6"),
    ("X-Client-IP", "6.6.6.6"), ("True-Client-IP", "6.6.6.6"),
    ("Forwarded", "for=6.6.6.6;proto=https"), ("X-Forwarded-Port", "443"),
    ("X-Forwarded-Prefix", "/evil"), ("X_Forwarded_For", "6.6.6.7"),
]


def seen(rec):
    out = {}
    for k, v in rec["headers"]:
        out.setdefault(norm_name(k), []).append(v)
    return out


def test_header_classes_dropped_in_every_spelling(bd, upstream):
    m = upstream.mark()
    r = bd.request("GET", "/public/x", headers=IDENTITY + OVERRIDES + ADDRESS + [
        ("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "evil.test"), ("X-Request-Id", "evil-id"),
        ("X-Keep-Me", "kept"), ("X-Userland", "x")])
    assert r.status == 200, r
    s = seen(upstream.one(m))
    for k, _ in IDENTITY + OVERRIDES + ADDRESS:
        assert norm_name(k) not in s or norm_name(k) == "x-forwarded-for", (k, s)
    assert s["x-forwarded-for"] == ["127.0.0.1"]
    assert s["x-forwarded-proto"] == ["http"]
    assert s["x-forwarded-host"] == ["127.0.0.1:%d" % bd.port]
    assert s["x-keep-me"] == ["kept"]
    # X-User* is a family: X-Userland is in it too
    assert "x-userland" not in s
    rid = s["x-request-id"]
    assert len(rid) == 1 and rid[0] != "evil-id" and rid[0], rid


def test_request_ids_differ(bd, upstream):
    ids = []
    for _ in range(3):
        m = upstream.mark()
        assert bd.get("/public/x").status == 200
        ids += hdrs(upstream.one(m), "x-request-id")
    assert len(set(ids)) == 3, ids
    # the access log names the id the upstream got
    logged = [l.get("request_id") for l in bd.access_lines()]
    assert all(i in logged for i in ids), (ids, logged[-5:])


def test_trusted_peer_forwarding_headers(bearerd_factory, upstream):
    b = bearerd_factory(trust_forwarded=["127.0.0.0/8", "::1"])
    m = upstream.mark()
    r = b.request("GET", "/public/x", headers=ADDRESS + [
        ("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "front.example"), ("X-Request-Id", "front-42")])
    assert r.status == 200, r
    s = seen(upstream.one(m))
    # the other client-address fields pass from a trusted forwarder
    assert s["x-real-ip"] == ["6.6.6.6", "6.6.6.6"]
    assert s["forwarded"] == ["for=6.6.6.6;proto=https"]
    xff = [p.strip() for p in s["x-forwarded-for"][0].split(",")]
    assert len(s["x-forwarded-for"]) == 1
    assert xff == ["6.6.6.7", "203.0.113.7", "127.0.0.1"], xff
    assert s["x-forwarded-proto"] == ["https"]
    assert s["x-forwarded-host"] == ["front.example"]
    assert s["x-request-id"] == ["front-42"]
    # identity is never a forwarder's to say
    m = upstream.mark()
    assert b.request("GET", "/public/x", headers=IDENTITY).status == 200
    s = seen(upstream.one(m))
    for k, _ in IDENTITY:
        assert norm_name(k) not in s, k


def test_untrusted_network_is_not_trusted(bearerd_factory, upstream):
    b = bearerd_factory(trust_forwarded=["10.0.0.0/8", "2001:db8::/32"])
    m = upstream.mark()
    r = b.request("GET", "/public/x", headers=[
        ("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https"),
        ("X-Real-IP", "6.6.6.6"), ("X-Request-Id", "front-42")])
    assert r.status == 200
    s = seen(upstream.one(m))
    assert s["x-forwarded-for"] == ["127.0.0.1"]
    assert s["x-forwarded-proto"] == ["http"]
    assert "x-real-ip" not in s
    assert s["x-request-id"] != ["front-42"]


def test_trust_forwarded_true_is_refused(tmp_path):
    """The old boolean would now mean "trust every client": refused, with
    what to write instead."""
    import subprocess
    import conftest
    text = conftest.render_config(1, "http://127.0.0.1:9", str(tmp_path))
    text = text.replace("headers {", 'headers {\n  trust_forwarded = true')
    p = tmp_path / "t.conf"
    p.write_text(text)
    r = subprocess.run([conftest.BEARERD, "-t", "-c", str(p)], capture_output=True,
        text=True, env=conftest.bearerd_env())
    assert r.returncode != 0
    assert "true would trust every client" in r.stderr + r.stdout


def test_absolute_form_authority_wins(bd, upstream):
    m = upstream.mark()
    res = raw(bd.port, b"GET http://abs.example:81/public/x?q=1 HTTP/1.1\r\n"
        b"Host: other.example\r\nConnection: close\r\n\r\n")
    assert res.status == 200, res.data[:200]
    rec = upstream.one(m)
    assert rec["raw_path"] == "/public/x"
    assert hdrs(rec, "x-forwarded-host") == ["abs.example:81"]


def test_better_auth_cookies_cut(bearerd_factory, upstream, tokens):
    b = bearerd_factory(routes_first=[
        'route "/api/auth/**" { upstream = api\n  auth = none\n'
        '  pass_auth_cookies = true }'])
    jar = ("better-auth.session_token=abc.sig; theme=dark; "
        "__Secure-better-auth.session_token=x; better-auth.session_data=d; "
        "better-auth.session_data.0=c0; __Secure-better-auth.session_data.1=c1; "
        "better-auth.dont_remember=t; token=%s; lang=en" % tokens.hs("u1"))
    for path, want in [("/public/x", ["theme=dark; lang=en"]),
            ("/opt/x", ["theme=dark; lang=en"]),
            ("/api/u1/x", ["theme=dark; lang=en"]),
            ("/api/auth/get-session", [jar])]:
        m = upstream.mark()
        r = b.request("GET", path, cookie=jar)
        assert r.status == 200, (path, r)
        assert hdrs(upstream.one(m), "cookie") == want, path


def test_csrf_guard(bd, upstream, tokens):
    ck = "token=" + tokens.hs("u1")
    own = "http://127.0.0.1:%d" % bd.port
    refused = [
        [("Origin", "https://evil.example")],
        [("Origin", "null")],
        [("Sec-Fetch-Site", "cross-site")],
        [("Sec-Fetch-Site", "cross-site"), ("Origin", own)],
        [("Origin", own.replace("http:", "https:"))],
    ]
    for h in refused:
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            m = upstream.mark()
            r = bd.request(method, "/api/u1/tasks", cookie=ck, headers=h, body=b"{}")
            doc = problem_ok(r, 403)
            assert doc["code"] == "csrf", (h, doc)
            upstream.assert_not_reached(m)
    allowed = [
        [("Origin", own)],
        [("Sec-Fetch-Site", "same-origin"), ("Origin", own)],
        [("Sec-Fetch-Site", "same-origin")],
        [],  # curl, scripts: no browser, no ambient cookie to abuse
    ]
    for h in allowed:
        m = upstream.mark()
        r = bd.request("POST", "/api/u1/tasks", cookie=ck, headers=h, body=b"{}")
        assert r.status in (200, 201), (h, r.status, r.body[:200])
        upstream.one(m)
    # safe methods and requests without a cookie identity are not checked
    m = upstream.mark()
    r = bd.request("GET", "/api/u1/tasks", cookie=ck,
        headers=[("Origin", "https://evil.example")])
    assert r.status == 200
    upstream.one(m)
    m = upstream.mark()
    r = bd.request("POST", "/public/x", headers=[("Origin", "https://evil.example")],
        body=b"{}")
    assert r.status == 200
    upstream.one(m)


def test_csrf_origins_and_require_origin(bearerd_factory, upstream, tokens):
    b = bearerd_factory(tail=['csrf {\n  origins = {"https://app.example"}\n'
        '  require_origin = true\n}'])
    ck = "token=" + tokens.hs("u1")
    m = upstream.mark()
    r = b.request("POST", "/api/u1/tasks", cookie=ck, body=b"{}",
        headers=[("Origin", "https://APP.example")])
    assert r.status == 201, r
    upstream.one(m)
    m = upstream.mark()
    r = b.request("POST", "/api/u1/tasks", cookie=ck, body=b"{}")
    assert problem_ok(r, 403)["code"] == "csrf"
    upstream.assert_not_reached(m)


def test_strip_prefix(bearerd_factory, upstream):
    b = bearerd_factory(routes_first=[
        'route "/svc/**" { upstream = api\n  auth = none\n  strip_prefix = "/svc" }'])
    for path, want in [("/svc/a/b?x=1", "/a/b"), ("/svc", "/"), ("/svc/", "/")]:
        m = upstream.mark()
        r = b.get(path)
        assert r.status == 200, (path, r)
        assert upstream.one(m)["raw_path"] == want, path


def test_dotted_keep_claims_fill_claim_headers(bearerd_factory, upstream, tokens):
    """claim email { header = "X-User-Email" } works for a JWT's top-level
    email and for Better Auth's session_data user.email alike, and the
    minted token carries it."""
    import jwt
    from conftest import MINT_SECRET, issuer_block, route_block
    issuers = issuer_block("ba", ["credential = better-auth-compact",
        'cookie = "better-auth.session_data"', 'secret = "${BEARERD_TEST_BA_SECRET}"',
        "forward = mint", 'mint_secret = "${BEARERD_TEST_MINT_SECRET}"',
        'keep_claims = {"user.email", "user.name"}'])
    b = bearerd_factory(issuers=issuers, routes=route_block("/ba/{user_id}/**", "ba"))
    m = upstream.mark()
    r = b.get("/ba/u1/tasks", cookie="better-auth.session_data=" + tokens.ba_compact("u1"))
    assert r.status == 200, (r.status, r.body[:300])
    rec = upstream.one(m)
    assert hdrs(rec, "x-user-email") == ["u1@example.com"]
    c = jwt.decode(hdrs(rec, "authorization")[0][7:], MINT_SECRET,
        algorithms=["HS256"], options={"verify_aud": False})
    assert c["email"] == "u1@example.com" and c["name"] == "Test", c
    m = upstream.mark()
    r = b.get("/api/u1/tasks", token=tokens.hs("u1", email="jwt@example.com"))
    assert r.status == 200
    assert hdrs(upstream.one(m), "x-user-email") == ["jwt@example.com"]

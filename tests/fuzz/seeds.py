#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Writes the hand-made seed corpora under tests/fuzz/corpus/ (seed-* files).
#
#   /usr/bin/python3 tests/fuzz/seeds.py
#
# Real Better Auth values come from tests/data/betterauth/{eddsa,es256}.json
# (the capture whose keys and secret fuzz_jwt.c embeds); HS256 variants are
# minted here with the standard library only. Files that libFuzzer adds
# (named by their SHA-1) are left alone.
import base64
import hashlib
import hmac
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIX = os.path.join(ROOT, "tests", "data", "betterauth")


def load(name):
    with open(os.path.join(FIX, name + ".json")) as f:
        return json.load(f)


ed = load("eddsa")
es = load("es256")
SECRET = es["secret"].encode()

# fuzz_jwt.c and fuzz_cookie.c embed this capture's keys and secret; after a
# recapture the real-token seeds would no longer verify, so say so.
with open(os.path.join(HERE, "fuzz_jwt.c")) as f:
    src = f.read()
if ed["jwks"]["keys"][0]["x"] not in src or es["secret"] not in src:
    sys.exit("seeds.py: tests/data/betterauth/ was recaptured; update the keys, "
             "issuers, secret and NOW in fuzz_jwt.c and fuzz_cookie.c first")
NOW = 1795697055  # fuzz_jwt.c's NOW


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def hs(header, payload, key=SECRET, alg=hashlib.sha256):
    h = b64u(header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode())
    p = b64u(payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode())
    sig = hmac.new(key, (h + "." + p).encode(), alg).digest()
    return h + "." + p + "." + b64u(sig)


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("latin-1")
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- cookie
tok = es["session_token_cookie"]
sdc = es["session_data_compact"]
N = "better-auth.session_token"
cookies = {
    "real": f"{N}={tok}",
    "real-with-data": f"theme=dark; {N}={tok}; better-auth.session_data={sdc}",
    "dup-same": f"{N}={tok}; {N}={tok}",
    "dup-different": f"{N}={tok}; {N}=planted.value",
    "quoted": f'{N}="{tok}"',
    "two-headers": f"a=1; {N}={tok}\nb=2; {N}={tok}",
    "two-headers-ambiguous": f"{N}={tok}\n{N}=other",
    "secure-prefix": f"__Secure-{N}={tok}; x=y",
    "bad-escape": f"{N}=abc%zz",
    "nul-escape": f"{N}=abc%00def",
    "raw-plus-slash": f"{N}=abc+/=def",
    "nbsp-name": f"\xa0{N}=smuggled; {N}={tok}",
    "vt-name": f"\x0b{N}=x",
    "no-equals": f"{N}; other=1",
    "empty-value": f"{N}=; a=b",
    "spaces": f"  {N}  =  {tok}  ;  ;;a=b ",
    "many": "; ".join(f"c{i}={i}" for i in range(70)) + f"; {N}=x",
    "only-separators": ";;; ; ;",
    "empty": "",
    "session-data-only": f"better-auth.session_data={sdc}",
}
for k, v in cookies.items():
    write("fuzz_cookie", k, v)

# ------------------------------------------------------------------ jwt
write("fuzz_jwt", "ba-eddsa", ed["token"])
write("fuzz_jwt", "ba-es256", es["token"])
write("fuzz_jwt", "ba-session-data-hs256", es["session_data_jwt"])
write("fuzz_jwt", "jwks-eddsa", json.dumps(ed["jwks"], separators=(",", ":")))
write("fuzz_jwt", "jwks-es256", json.dumps(es["jwks"], separators=(",", ":")))
for other in ("es512", "rs256", "ps256"):
    write("fuzz_jwt", "jwks-" + other, json.dumps(load(other)["jwks"], separators=(",", ":")))
write("fuzz_jwt", "jwks-oct", '{"keys":[{"kty":"oct","k":"c2VjcmV0","alg":"HS256"}]}')
write("fuzz_jwt", "jwks-dup-kid", '{"keys":[%s,%s]}' % (
    json.dumps(ed["jwks"]["keys"][0]), json.dumps(ed["jwks"]["keys"][0])))
write("fuzz_jwt", "jwks-use-enc", '{"keys":[{"kty":"OKP","crv":"Ed25519","use":"enc","x":"%s"}]}'
      % ed["jwks"]["keys"][0]["x"])

sd = {"session": {"userId": "u" * 32, "token": "t" * 32}, "user": {"id": "u" * 32},
      "iat": NOW - 10, "exp": NOW + 290}
h256 = {"alg": "HS256"}
write("fuzz_jwt", "hs-session-ok", hs(h256, sd))
write("fuzz_jwt", "hs-typ-jwt-kid", hs({"alg": "HS256", "typ": "JWT", "kid": "k1"}, sd))
write("fuzz_jwt", "hs-sub-only", hs(h256, {"sub": "abc", "exp": NOW + 100}))
write("fuzz_jwt", "hs-expired", hs(h256, dict(sd, exp=NOW - 61)))
write("fuzz_jwt", "hs-exp-edge", hs(h256, dict(sd, exp=NOW - 60)))
write("fuzz_jwt", "hs-nbf-future", hs(h256, dict(sd, nbf=NOW + 61)))
write("fuzz_jwt", "hs-iat-future", hs(h256, dict(sd, iat=NOW + 61)))
write("fuzz_jwt", "hs-exp-float", hs(h256, dict(sd, exp=1.5e9)))
write("fuzz_jwt", "hs-exp-string", hs(h256, dict(sd, exp="1795697355")))
write("fuzz_jwt", "hs-exp-huge", hs(h256, dict(sd, exp=2**63)))
write("fuzz_jwt", "hs-no-exp", hs(h256, {"session": {"userId": "x"}}))
write("fuzz_jwt", "hs-userid-number", hs(h256, dict(sd, session={"userId": 5})))
write("fuzz_jwt", "hs-userid-empty", hs(h256, dict(sd, session={"userId": ""})))
write("fuzz_jwt", "hs-userid-nul", hs(h256, dict(sd, session={"userId": "a\u0000b"})))
write("fuzz_jwt", "hs-crit", hs({"alg": "HS256", "crit": ["b64"], "b64": False}, sd))
write("fuzz_jwt", "hs-crit-empty", hs({"alg": "HS256", "crit": []}, sd))
write("fuzz_jwt", "hs-jku", hs({"alg": "HS256", "jku": "http://evil/jwks", "jwk": {"kty": "oct"}}, sd))
write("fuzz_jwt", "hs-dup-key", hs(b'{"alg":"HS256","alg":"none"}', sd))
write("fuzz_jwt", "hs-dup-claim", hs(h256, b'{"exp":1,"exp":9999999999,"session":{"userId":"a"}}'))
write("fuzz_jwt", "hs-deep", hs(h256, ("[" * 40 + "]" * 40).encode()))
write("fuzz_jwt", "hs-deep-obj", hs(h256, (b'{"a":' * 20) + b"1" + b"}" * 20))
write("fuzz_jwt", "hs-payload-array", hs(h256, b"[1,2]"))
write("fuzz_jwt", "hs-bad-utf8", hs(h256, b'{"session":{"userId":"\xff\xfe"},"exp":9999999999}'))
write("fuzz_jwt", "hs384", hs({"alg": "HS384"}, sd, alg=hashlib.sha384))
write("fuzz_jwt", "hs512", hs({"alg": "HS512"}, sd, alg=hashlib.sha512))
write("fuzz_jwt", "hs-wrong-key", hs(h256, sd, key=b"x" * 43))
write("fuzz_jwt", "hs-with-eddsa-kid", hs({"alg": "HS256", "kid": ed["jwks"]["keys"][0]["kid"]},
                                          {"sub": "a", "exp": NOW + 10}))
write("fuzz_jwt", "none", b64u(b'{"alg":"none"}') + "." + b64u(json.dumps(sd).encode()) + ".")
write("fuzz_jwt", "none-upper", b64u(b'{"alg":"NONE"}') + "." + b64u(b"{}") + ".")
p1, p2, p3 = es["token"].split(".")
write("fuzz_jwt", "two-parts", p1 + "." + p2)
write("fuzz_jwt", "four-parts", es["token"] + ".AAAA")
write("fuzz_jwt", "empty-sig", p1 + "." + p2 + ".")
write("fuzz_jwt", "padded", es["token"] + "==")
write("fuzz_jwt", "plus-slash", es["token"].replace("-", "+").replace("_", "/"))
write("fuzz_jwt", "es256-as-eddsa-kid", b64u(json.dumps(
    {"alg": "ES256", "kid": ed["jwks"]["keys"][0]["kid"]}).encode()) + "." + p2 + "." + p3)
write("fuzz_jwt", "es256-sig-der", p1 + "." + p2 + "." + b64u(b"\x30\x44\x02\x20" + b"\x01" * 32 + b"\x02\x20" + b"\x01" * 32))
write("fuzz_jwt", "es256-sig-short", p1 + "." + p2 + "." + p3[:40])
write("fuzz_jwt", "too-long", es["token"] + "A" * 8200)
write("fuzz_jwt", "empty", "")

# ----------------------------------------------------------------- path
paths = {
    # "root" once overflowed a 1-byte out buffer (fixed; see crashes/README.md).
    "root": "/", "simple": "/api/user/items", "trailing": "/a/b/",
    "dot": "/a/./b", "dotdot": "/a/../b", "enc-dotdot": "/a/%2e%2e/b",
    "enc-dot-mixed": "/a/.%2E/b", "dotdot-params": "/..;/admin", "dotdot-enc-semi": "/..%3Bx/admin",
    "enc-slash": "/a%2Fb", "enc-slash-lower": "/a%2fb", "enc-backslash": "/a%5cb",
    "double-slash": "//a", "double-slash-mid": "/a//b", "unreserved-enc": "/%41%42%7e%2D",
    "utf8": "/caf%c3%a9", "utf8-overlong": "/%C0%AF", "utf8-surrogate": "/%ED%A0%80",
    "utf8-4byte": "/%F0%9F%98%80", "utf8-too-big": "/%F4%90%80%80", "utf8-truncated": "/%E2%82",
    "raw-backslash": "/a\\b", "query": "/a?b=c", "fragment": "/a#x", "braces": "/{x}|^",
    "bad-escape": "/%ZZ", "short-escape": "/a%4", "nul": "/a%00b", "del": "/a%7Fb",
    "raw-ctl": "/a\x01b", "raw-high": "/a\xe9b", "space": "/a b", "relative": "a/b",
    "empty": "", "dot-end": "/a/.", "dotdot-end": "/a/..", "sub-delims": "/a:b@c!$&'()*+,;=",
    "long": "/" + "a/" * 2100,
}
for k, v in paths.items():
    write("fuzz_path", k, v)

# ---------------------------------------------------------------- route
routes = {
    "api-own": "user123\n/api/user123/items", "api-other": "user123\n/api/user124/items",
    "api-encoded": "user123\n/api/user%31%323/x", "api-bare": "/api/user123",
    "api-empty-var": "/api//x", "orgs-ok": "/orgs/acme/items/1", "orgs-bad": "/orgs/evil/items/1",
    "orgs-enc": "/orgs/ac%6De/items/1", "orgs-extra": "/orgs/acme/items/1/2",
    "admin": "/admin", "admin-slash": "/admin/", "admin-deep": "/admin/a/b",
    "public": "/public/a/b", "users": "u:1\n/users/u%3A1/profile", "healthz": "/healthz/",
    "colon": "/a:b/x", "colon-enc": "/a%3Ab/x", "files": "user123\n/files/user123/b/c/d",
    "files-short": "/files/user123", "root": "/", "dotdot": "/api/../admin",
    "sub-slash": "a/b\n/api/a%2Fb/x", "sub-space": "a b\n/api/a%20b/x", "none": "/nothing/here",
}
for k, v in routes.items():
    write("fuzz_route", k, v)

# ----------------------------------------------------------------- conf
# The project's own test configs and the demo config, verbatim, plus a few
# edge cases. fuzz_conf.c copies the key files they name next to its
# scratch config and sets BEARERD_TEST_SECRET, AUTH_SECRET and friends.
import glob  # noqa: E402

for f in sorted(glob.glob(os.path.join(ROOT, "tests", "data", "conf", "*.conf"))) + \
        [os.path.join(ROOT, "deploy", "compose", "bearerd.conf")]:
    with open(f, "rb") as fh:
        write("fuzz_conf", os.path.basename(f), fh.read())
BA = """listen = "127.0.0.1:8080"
upstream api { url = "http://127.0.0.1:8000" }
issuer ba {
  credential = better-auth-compact
  cookie = "better-auth.session_data"
  secret = "${AUTH_SECRET}"
  keep_claims = {"email"}
  forward = mint
  mint_secret = "${BACKEND_JWT_SECRET}"
}
route "/api/{user_id}/**" { upstream = api; auth = required; issuer = ba; require = {"user_id == sub"} }
"""
write("fuzz_conf", "ba-compact.conf", BA)
write("fuzz_conf", "short-secret.conf", BA.replace("AUTH_SECRET", "SHORT_SECRET"))
write("fuzz_conf", "empty-secret.conf", BA.replace("AUTH_SECRET", "EMPTY_VAR"))
write("fuzz_conf", "unset-secret.conf", BA.replace("AUTH_SECRET", "UNSET_VAR"))
write("fuzz_conf", "default-secret.conf", BA.replace("${AUTH_SECRET}", "${UNSET_VAR:-0123456789abcdef0123456789abcdef}"))
write("fuzz_conf", "unterminated.conf", 'listen = "127.0.0.1:80\nupstream a {')
write("fuzz_conf", "nested-comment.conf", "/* /* */ */ listen = 1")
write("fuzz_conf", "empty.conf", "")

# HTTP/1 codec: the request shapes of test_http1.c (smuggling included),
# responses (the first byte of a fuzz_http1_resp input is its flags: bit 0
# HEAD, bit 1 small limits) and chunked bodies.
H = "Host: a\r\nCookie: token=x\r\n"
REQS = {
    "get": "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "get10-ka": "GET /a?b=c HTTP/1.0\r\n" + H + "Connection: keep-alive\r\n\r\n",
    "absolute": "GET http://example.com:8080/a?b HTTP/1.1\r\nHost: a\r\n\r\n",
    "chunked": "POST /t HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    "cl": "POST /t HTTP/1.1\r\n" + H + "Content-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
    "ws": "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    "cl-te": "POST /t HTTP/1.1\r\n" + H + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
    "cl-twice": "POST /t HTTP/1.1\r\n" + H + "Content-Length: 3\r\nContent-Length: 3\r\n\r\n",
    "te-list": "POST /t HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip, chunked\r\n\r\n",
    "te-10": "POST /t HTTP/1.0\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n",
    "obs-fold": "GET /t HTTP/1.1\r\n" + H + "X-A: a\r\n b\r\n\r\n",
    "bare-lf": "GET /t HTTP/1.1\r\n" + H + "X-A: 1\nX-B: 2\r\n\r\n",
    "bare-cr": "GET /t HTTP/1.1\r\n" + H + "X-A: 1\rX-B: 2\r\n\r\n",
    "space-colon": "POST /t HTTP/1.1\r\n" + H + "Content-Length : 3\r\n\r\n",
    "two-hosts": "GET /t HTTP/1.1\r\n" + H + "Host: evil\r\n\r\n",
    "h2c": "GET /t HTTP/1.1\r\n" + H + "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
           "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
    "connect": "CONNECT 127.0.0.1:22 HTTP/1.1\r\n" + H + "\r\n",
    "pri": "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "leading-crlf": "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "underscore": "GET / HTTP/1.1\r\nHost: a\r\nContent_Length: 5\r\nX_Forwarded_For: 1\r\n\r\n",
}
for k, v in REQS.items():
    write("fuzz_http1_req", k, v.encode("latin-1"))
RESPS = {
    "cl": (0, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
    "chunked": (0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
    "close": (0, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n"),
    "no-reason": (0, "HTTP/1.1 204\r\nContent-Length: 3\r\n\r\n"),
    "100": (0, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    "101": (0, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
    "304": (0, "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"),
    "head": (1, "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"),
    "tiny": (2, "HTTP/1.1 200 OK\r\nX-A: 1\r\nX-B: 2\r\nSet-Cookie: a=b\r\n\r\n"),
    "cl-te": (0, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
    "te-10": (0, "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
    "999": (0, "HTTP/1.1 999 Weird\r\nContent-Length: 2\r\n\r\nok"),
}
for k, (flags, v) in RESPS.items():
    write("fuzz_http1_resp", k, bytes([flags]) + v.encode("latin-1"))
CHUNKS = {
    "one": "3\r\nabc\r\n0\r\n\r\n",
    "ext": "3;a=1;b=\"x y\"\r\nabc\r\nA\r\n0123456789\r\n0;last\r\n\r\n",
    "trailers": "3\r\nabc\r\n0\r\nX-T: 1\r\nAuthorization: b\r\n\r\nGET / HTTP/1.1\r\n",
    "bws": "3 \t;a\r\nabc\r\n0\r\n\r\n",
    "16-digits": "000000000000000A\r\n0123456789\r\n0\r\n\r\n",
    "2pow64": "10000000000000000\r\nGET /x HTTP/1.1\r\n",
    "missing-crlf": "3\r\nabcX0\r\n\r\n",
    "bare-lf": "3\nabc\r\n0\r\n\r\n",
}
for k, v in CHUNKS.items():
    write("fuzz_http1_chunk", k, v.encode("latin-1"))

print("seeds written", file=sys.stderr)

#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Writes vectors.txt: Better Auth cookie values made independently of the C
# code (hmac, hashlib, base64, json), the way Better Auth 1.x makes them:
#   session_token = token "." base64std(HMAC-SHA256(secret, token))
#   compact session_data = base64url_nopad(JSON.stringify({session: SD,
#     expiresAt, signature})), signature = base64url_nopad(HMAC-SHA256(
#     secret, JSON.stringify({...SD, expiresAt})))
# json.dumps(separators=(",", ":"), ensure_ascii=False) writes what V8's
# JSON.stringify writes for these objects. Run: /usr/bin/python3 make_vectors.py
import base64
import hashlib
import hmac
import json
import os

SECRET = "harness-secret-Xq3v9LrT2bWm8KpZ4nYc6HsJ0aFdEgU1"


def mac(msg):
    return hmac.new(SECRET.encode(), msg.encode(), hashlib.sha256).digest()


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def js(o):
    return json.dumps(o, separators=(",", ":"), ensure_ascii=False)


def session_token(token):
    return token + "." + base64.b64encode(mac(token)).decode()


def compact(sd, expires_at):
    sig = b64url(mac(js({**sd, "expiresAt": expires_at})))
    outer = {"session": sd, "expiresAt": expires_at, "signature": sig}
    return b64url(js(outer).encode())


SD = {
    "session": {
        "expiresAt": "2026-12-03T12:04:29.803Z",
        "token": "YqVExJ56ZhHroDtwxrb9J4vxIpHl4ooQ",
        "createdAt": "2026-11-26T12:04:29.803Z",
        "updatedAt": "2026-11-26T12:04:29.803Z",
        "ipAddress": "",
        "userAgent": "",
        "userId": "VF8TIUfWdLdt0xRtVee0L57oleOt9AmF",
        "id": "g4CE7yEahNeI9PKDdCR1G32rOGlZ6EGc",
    },
    "user": {
        "name": "Probe User",
        "email": "probe@example.com",
        "emailVerified": False,
        "createdAt": "2026-11-26T12:04:29.803Z",
        "updatedAt": "2026-11-26T12:04:29.803Z",
        "id": "VF8TIUfWdLdt0xRtVee0L57oleOt9AmF",
    },
    "updatedAt": 1795694669805,
    "version": "1",
}

# Escapes, non-ASCII and nesting inside the signed text, and a "}" in a
# string right before the end: the raw text must be used as is.
SD2 = {
    "session": {"userId": "u-\u00e9\u20ac-2", "token": "t}"},
    "user": {"name": "Zo\u00eb \"Q\" \\ </x>", "tags": ["a", {"b": [1, 2.5, None]}],
             "id": "u-\u00e9\u20ac-2"},
    "role": "admin",
    "note": "ends with }",
}

EXPIRES = 1795694966552

lines = [
    "secret " + SECRET,
    "token_plain " + session_token("XV6J1kDDCZL0e4XlqqGIfa1HyywCBZ5S"),
    "token_dots " + session_token("a.b.c"),
    "compact_expires " + str(EXPIRES),
    "compact_user " + SD["session"]["userId"],
    "compact " + compact(SD, EXPIRES),
    "compact2_user " + SD2["session"]["userId"],
    "compact2 " + compact(SD2, EXPIRES),
]
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "vectors.txt"), "w", encoding="utf-8") as f:
    f.write("\n".join(lines) + "\n")

# SPDX-License-Identifier: MIT
"""A backend that verifies the Bearer token itself, as a real API would.

Run with `/usr/bin/python3 -m uvicorn verify_app:app`. Environment:
VERIFY_JWKS_URL (Better Auth's /api/auth/jwks), VERIFY_ISSUER (its origin,
also the audience) and VERIFY_SECRET (bearerd's mint secret).

  /p/{user_id}/...  passthrough: Better Auth's own JWT, checked with its JWKS
  /m/{user_id}/...  mint: bearerd's HS256 token, checked with the secret

Both answer 200 {"sub", "user_id", "n_authorization", "alg", "kid",
"cookies"} when exactly one Authorization: Bearer header is there and its
token verifies, else 401 {"error"}. The body is what the tests assert on.
"""

import os

import jwt
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

JWKS_URL = os.environ.get("VERIFY_JWKS_URL", "")
ISSUER = os.environ.get("VERIFY_ISSUER", "")
SECRET = os.environ.get("VERIFY_SECRET", "")

app = FastAPI()
# Refetches the key set when a token names an unknown kid.
_jwks = jwt.PyJWKClient(JWKS_URL, cache_keys=True) if JWKS_URL else None


def _verify(request, user_id, mode):
    auth = [v for k, v in request.headers.raw if k.lower() == b"authorization"]
    cookies = request.headers.get("cookie", "")
    if len(auth) != 1 or not auth[0].startswith(b"Bearer "):
        return JSONResponse({"error": "want exactly one Bearer",
            "n_authorization": len(auth)}, status_code=401)
    tok = auth[0][7:].decode()
    try:
        if mode == "p":
            key = _jwks.get_signing_key_from_jwt(tok)
            # the algorithm is the key's (its JWK "alg"), never the token's
            alg = getattr(key, "algorithm_name", None) or key._jwk_data["alg"]
            claims = jwt.decode(tok, key.key, algorithms=[alg],
                issuer=ISSUER, audience=ISSUER)
        else:
            claims = jwt.decode(tok, SECRET, algorithms=["HS256"],
                options={"verify_aud": False})
    except Exception as e:  # noqa: BLE001 (the reason goes to the test)
        return JSONResponse({"error": "%s: %s" % (type(e).__name__, e)},
            status_code=401)
    if claims.get("sub") != user_id:
        return JSONResponse({"error": "not yours"}, status_code=403)
    h = jwt.get_unverified_header(tok)
    return {"sub": claims["sub"], "user_id": user_id, "n_authorization": len(auth),
        "alg": h.get("alg"), "kid": h.get("kid"), "iat": claims.get("iat"),
        "exp": claims.get("exp"), "email": claims.get("email"), "cookies": cookies,
        "token": tok}


@app.get("/p/{user_id}/{rest:path}")
async def passthrough(user_id: str, rest: str, request: Request):
    return _verify(request, user_id, "p")


@app.get("/m/{user_id}/{rest:path}")
async def mint(user_id: str, rest: str, request: Request):
    return _verify(request, user_id, "m")

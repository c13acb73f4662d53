#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Makes the test-only keys in tests/data/keys/ and PyJWT-signed tokens in
# tests/data/pyjwt/tokens.json, for interop tests of our verifier.
# Run with Debian's /usr/bin/python3 (python3-jwt, python3-cryptography).
import base64
import datetime
import hashlib
import hmac
import json
import os

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = os.path.join(HERE, "..", "keys")

# Fixed times: the tests pass NOW, and EXP is far beyond it.
NOW = 1795694643
IAT = 1795690000
EXP = 4102444800
ISS = "https://issuer.test"
AUD = "bearerd-test"
SECRET = "bearerd-test-only-hmac-secret-0123456789abcdef-not-for-production"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def write(name, data):
    with open(os.path.join(KEYS, name), "wb") as f:
        f.write(data)


def priv_pem(k):
    return k.private_bytes(serialization.Encoding.PEM,
                           serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption())


def pub_pem(k, fmt=serialization.PublicFormat.SubjectPublicKeyInfo):
    return k.public_key().public_bytes(serialization.Encoding.PEM, fmt)


def int_b64(n, size=None):
    size = size or (n.bit_length() + 7) // 8
    return b64u(n.to_bytes(size, "big"))


def main():
    os.makedirs(KEYS, exist_ok=True)
    rsa_k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    ec_k = {
        "p256": ec.generate_private_key(ec.SECP256R1()),
        "p384": ec.generate_private_key(ec.SECP384R1()),
        "p521": ec.generate_private_key(ec.SECP521R1()),
    }
    ed_k = ed25519.Ed25519PrivateKey.generate()

    write("rsa2048.pem", priv_pem(rsa_k))
    write("rsa2048.pub.pem", pub_pem(rsa_k))
    write("rsa2048.pkcs1.pub.pem",
          pub_pem(rsa_k, serialization.PublicFormat.PKCS1))
    write("rsa1024.pub.pem", pub_pem(rsa_small))
    for name, k in ec_k.items():
        write("ec%s.pem" % name[1:], priv_pem(k))
        write("ec%s.pub.pem" % name[1:], pub_pem(k))
    write("ed25519.pem", priv_pem(ed_k))
    write("ed25519.pub.pem", pub_pem(ed_k))
    write("hs.secret", SECRET.encode())

    # A self-signed certificate: a PEM that is not a bare public key.
    subj = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    cert = (x509.CertificateBuilder().subject_name(subj).issuer_name(subj)
            .public_key(rsa_k.public_key()).serial_number(1)
            .not_valid_before(datetime.datetime(2020, 1, 1))
            .not_valid_after(datetime.datetime(2100, 1, 1))
            .sign(rsa_k, hashes.SHA256()))
    write("rsa2048.cert.pem", cert.public_bytes(serialization.Encoding.PEM))

    # The public keys as a JWKS in Better Auth's shape (alg, kty, kid,
    # crv, x, y, n, e; no use). The RSA key appears once per alg, since
    # each key is pinned to one alg.
    pn = rsa_k.public_key().public_numbers()
    jwks = []
    for alg in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"):
        jwks.append({"alg": alg, "kty": "RSA", "kid": alg.lower(),
                     "n": int_b64(pn.n), "e": int_b64(pn.e)})
    for alg, name, crv, size in (("ES256", "p256", "P-256", 32),
                                 ("ES384", "p384", "P-384", 48),
                                 ("ES512", "p521", "P-521", 66)):
        n = ec_k[name].public_key().public_numbers()
        jwks.append({"alg": alg, "crv": crv, "kty": "EC",
                     "kid": alg.lower(), "x": int_b64(n.x, size),
                     "y": int_b64(n.y, size)})
    raw = ed_k.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw)
    jwks.append({"alg": "EdDSA", "crv": "Ed25519", "kty": "OKP",
                 "kid": "eddsa", "x": b64u(raw)})
    with open(os.path.join(KEYS, "jwks.json"), "w") as f:
        json.dump({"keys": jwks}, f, indent=1)
        f.write("\n")

    signers = {
        "HS256": SECRET, "HS384": SECRET, "HS512": SECRET,
        "RS256": rsa_k, "RS384": rsa_k, "RS512": rsa_k,
        "PS256": rsa_k, "PS384": rsa_k, "PS512": rsa_k,
        "ES256": ec_k["p256"], "ES384": ec_k["p384"],
        "ES512": ec_k["p521"], "EdDSA": ed_k,
    }
    tokens = []
    for alg, key in signers.items():
        sub = "user-" + alg
        claims = {"sub": sub, "iat": IAT, "exp": EXP, "iss": ISS,
                  "aud": AUD, "name": "Py JWT " + alg}
        tok = jwt.encode(claims, key, algorithm=alg,
                         headers={"kid": alg.lower()})
        h, p, s = tok.split(".")
        tokens.append({"name": alg, "alg": alg, "kid": alg.lower(),
                       "sub": sub, "token": tok,
                       # An interior character changes decoded bytes;
                       # the last one may only touch padding bits.
                       "tampered_payload": ".".join(
                           [h, flip(p, len(p) // 2), s]),
                       "tampered_signature": ".".join(
                           [h, p, flip(s, len(s) // 2)])})

    # Hand-made negatives, each with the verdict it must get.
    negatives = []
    msg_claims = {"sub": "attacker", "iat": IAT, "exp": EXP, "iss": ISS,
                  "aud": AUD}

    def signing_input(hdr):
        return (b64u(json.dumps(hdr, separators=(",", ":")).encode()) + "."
                + b64u(json.dumps(msg_claims,
                                  separators=(",", ":")).encode()))

    # PS256 with the maximum salt length, not the digest length.
    si = signing_input({"alg": "PS256", "kid": "ps256"})
    sig = rsa_k.sign(si.encode(), padding.PSS(
        mgf=padding.MGF1(hashes.SHA256()),
        salt_length=padding.PSS.MAX_LENGTH), hashes.SHA256())
    negatives.append({"name": "PS256 max salt length",
                      "token": si + "." + b64u(sig),
                      "status": "bad_signature"})
    # PS256 with a zero-length salt.
    sig = rsa_k.sign(si.encode(), padding.PSS(
        mgf=padding.MGF1(hashes.SHA256()), salt_length=0), hashes.SHA256())
    negatives.append({"name": "PS256 zero salt length",
                      "token": si + "." + b64u(sig),
                      "status": "bad_signature"})
    # ES256 with the DER signature cryptography produces, not r||s.
    si = signing_input({"alg": "ES256", "kid": "es256"})
    der = ec_k["p256"].sign(si.encode(), ec.ECDSA(hashes.SHA256()))
    negatives.append({"name": "ES256 DER signature",
                      "token": si + "." + b64u(der),
                      "status": "bad_signature"})
    r, s = decode_dss_signature(der)
    negatives.append({"name": "ES256 raw r||s (control)",
                      "token": si + "." + b64u(r.to_bytes(32, "big") +
                                               s.to_bytes(32, "big")),
                      "status": "ok"})
    # RS256 -> HS256 confusion: HMAC keyed with the public PEM text.
    pem = pub_pem(rsa_k)
    for kid in ("rs256", None):
        hdr = {"alg": "HS256"}
        if kid:
            hdr["kid"] = kid
        si = signing_input(hdr)
        mac = hmac.new(pem, si.encode(), hashlib.sha256).digest()
        negatives.append({"name": "RS256->HS256 confusion kid=%s" % kid,
                          "token": si + "." + b64u(mac),
                          "status": "alg_rejected" if kid else
                          "key_unknown"})
    # alg none, as PyJWT makes it.
    negatives.append({"name": "alg none",
                      "token": jwt.encode(msg_claims, None,
                                          algorithm="none"),
                      "status": "alg_rejected"})

    out = {"now": NOW, "iss": ISS, "aud": AUD, "secret": SECRET,
           "pyjwt": jwt.__version__, "tokens": tokens,
           "negatives": negatives}
    with open(os.path.join(HERE, "tokens.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


def flip(part, i):
    c = "B" if part[i] == "A" else "A"
    return part[:i] + c + part[i + 1:]


if __name__ == "__main__":
    main()

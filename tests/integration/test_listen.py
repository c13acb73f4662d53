# SPDX-License-Identifier: MIT
"""The listeners: TLS (curl and openssl s_client against a CA made here),
host names and IPv6 in listen, the admin listener, and what -t refuses."""

import datetime
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import BEARERD, Bearerd, bearerd_env, hdrs


def run_check(conf):
    p = subprocess.run([BEARERD, "-t", "-c", conf], capture_output=True, text=True,
        timeout=30, env=bearerd_env())
    return p.returncode, p.stdout + p.stderr


# ------------------------------------------------------------------ a CA


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class CA:
    """A test CA and server certificates it signs, as PEM files in |d|."""

    def __init__(self, d):
        self.d = d
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(_name("bearerd test CA"))
            .issuer_name(_name("bearerd test CA")).public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256()))
        self.path = os.path.join(d, "ca.pem")
        with open(self.path, "wb") as f:
            f.write(self.cert.public_bytes(serialization.Encoding.PEM))

    def server(self, name):
        """Writes NAME.crt and NAME.key for 127.0.0.1 and localhost; returns
        (cert path, key path, serial)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        serial = x509.random_serial_number()
        import ipaddress
        cert = (x509.CertificateBuilder().subject_name(_name("localhost"))
            .issuer_name(self.cert.subject).public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(self.key, hashes.SHA256()))
        c = os.path.join(self.d, name + ".crt")
        k = os.path.join(self.d, name + ".key")
        with open(c, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(k, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        return c, k, serial


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return CA(str(tmp_path_factory.mktemp("ca")))


class TlsBearerd(Bearerd):
    """Waits on the admin listener only (the public port speaks TLS)."""


@pytest.fixture(scope="module")
def tls_bd(module_factory, ca):
    crt, key, serial = ca.server("srv")
    b = module_factory(tls=(crt, key))
    b.serial = serial
    return b


def _ctx(ca):
    c = ssl.create_default_context(cafile=ca.path)
    c.set_alpn_protocols(["http/1.1"])
    return c


def test_tls_keepalive_and_forwarded_proto(tls_bd, upstream, tokens, ca):
    """Two requests on one TLS connection; the upstream sees
    X-Forwarded-Proto: https and the Bearer token."""
    tok = tokens.hs("u1")
    m = upstream.mark()
    c = http.client.HTTPSConnection("127.0.0.1", tls_bd.port, context=_ctx(ca), timeout=10)
    for _ in range(2):
        c.request("GET", "/api/u1/tasks", headers={"Cookie": "token=" + tok})
        r = c.getresponse()
        assert r.status == 200
        r.read()
    assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
    assert c.sock.selected_alpn_protocol() == "http/1.1"
    c.close()
    recs = upstream.since(m)
    assert len(recs) == 2
    assert hdrs(recs[0], "x-forwarded-proto") == ["https"]
    assert hdrs(recs[0], "authorization") == ["Bearer " + tok]


def test_tls_curl(tls_bd, tokens, ca):
    p = subprocess.run(["curl", "-sS", "--cacert", ca.path, "-o", "/dev/null",
        "-w", "%{http_code} %{http_version}", "-H", "Cookie: token=" + tokens.hs("u1"),
        "https://localhost:%d/api/u1/tasks" % tls_bd.port], capture_output=True,
        text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "200 1.1", p.stdout


@pytest.mark.parametrize("args,ok", [
    (["-tls1_2"], True),
    (["-tls1_3"], True),
    (["-tls1_1"], False),
    (["-tls1_3", "-alpn", "h2"], False),
])
def test_tls_s_client_versions_and_alpn(tls_bd, ca, args, ok):
    """TLS 1.2 and 1.3 only; ALPN http/1.1 only (h2 alone is refused)."""
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % tls_bd.port,
        "-CAfile", ca.path, "-verify_return_error", "-servername", "localhost",
        "-ign_eof"] + args,
        input="GET /public/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        capture_output=True, text=True, timeout=20)
    if ok:
        assert "Verify return code: 0 (ok)" in p.stdout, p.stdout + p.stderr
        assert "HTTP/1.1 200" in p.stdout, p.stdout[-2000:]
    else:
        assert "HTTP/1.1" not in p.stdout, p.stdout[-2000:]


def test_tls_plain_http_on_tls_port_gets_nothing(tls_bd):
    s = socket.create_connection(("127.0.0.1", tls_bd.port), timeout=5)
    s.sendall(b"GET /public/x HTTP/1.1\r\nHost: a\r\n\r\n")
    s.settimeout(5)
    try:
        d = s.recv(4096)
    except ConnectionResetError:
        d = b""
    s.close()
    assert not d.startswith(b"HTTP/1.1 200")


def _serial_of(port, ca):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with _ctx(ca).wrap_socket(raw, server_hostname="localhost") as s:
            der = s.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der).serial_number


def test_tls_certificate_reloaded_on_sighup(bearerd_factory, ca, tokens):
    """SIGHUP picks up a new certificate and key; a mismatched pair is
    refused and the running one kept."""
    crt, key, serial = ca.server("r1")
    b = bearerd_factory(tls=(crt, key))
    assert _serial_of(b.port, ca) == serial
    crt2, key2, serial2 = ca.server("r2")
    os.replace(crt2, crt)
    os.replace(key2, key)
    b.signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while _serial_of(b.port, ca) != serial2:
        assert time.monotonic() < deadline, "new certificate not served"
        time.sleep(0.05)
    # a broken pair: the certificate of r3 with the key of r2
    crt3, _, _ = ca.server("r3")
    os.replace(crt3, crt)
    b.signal(signal.SIGHUP)
    time.sleep(0.5)
    assert _serial_of(b.port, ca) == serial2
    assert "reload failed" in b.stderr()
    assert b.alive()


@pytest.mark.parametrize("what", ["missing", "mismatched", "not_pem"])
def test_tls_check_refuses_bad_pairs(tmp_path, upstream, keys, ca, what):
    crt, key, _ = ca.server("t-" + what)
    if what == "missing":
        key = str(tmp_path / "nope.key")
    elif what == "mismatched":
        _, key, _ = ca.server("t-other")
    else:
        with open(crt, "w") as f:
            f.write("not a certificate\n")
    b = Bearerd(str(tmp_path), upstream, keys, name="check", tls=(crt, key))
    rc, out = run_check(b.conf)
    assert rc != 0, out
    assert "tls" in out and b.conf + ":" in out, out


# ------------------------------------------------------------ listen


def _v6_loopback():
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def test_listen_host_name_binds_every_address(bearerd_factory, tokens):
    """localhost resolves to 127.0.0.1 (and ::1 when the machine has it):
    every address is bound, none of them 255.255.255.255."""
    b = bearerd_factory(listen_host="localhost")
    addrs = {a[4][0] for a in socket.getaddrinfo("localhost", b.port, socket.AF_UNSPEC,
        socket.SOCK_STREAM, 0, socket.AI_PASSIVE | socket.AI_ADDRCONFIG)}
    assert "127.0.0.1" in addrs, addrs
    for a in addrs:
        socket.create_connection((a, b.port), timeout=2).close()
    r = b.get("/api/u1/tasks", token=tokens.hs("u1"))
    assert r.status == 200


def test_listen_ipv6_brackets(bearerd_factory, tokens):
    if not _v6_loopback():
        pytest.skip("no IPv6 loopback")
    b = bearerd_factory(listen_host="[::1]")
    s = socket.create_connection(("::1", b.port), timeout=2)
    s.sendall(b"GET /public/x HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n")
    assert s.recv(100).startswith(b"HTTP/1.1 200")
    s.close()


@pytest.mark.parametrize("host,words", [
    ("no-such-host.invalid", ["cannot resolve"]),
    ("192.0.2.1", ["cannot bind"]),
])
def test_listen_check_refuses_what_cannot_be_bound(tmp_path, upstream, keys, host, words):
    b = Bearerd(str(tmp_path), upstream, keys, name="check", listen_host=host)
    rc, out = run_check(b.conf)
    assert rc != 0, out
    assert b.conf + ":1:" in out, out
    for w in words:
        assert w in out, out


# ------------------------------------------------------------ admin


def test_admin_listener_serves_metrics_health_ready(bd, tokens):
    assert bd.get("/public/x").status == 200
    r = bd.admin("/metrics")
    assert r.status == 200
    assert b"bearerd_requests_total{route=" in r.body
    assert bd.admin("/healthz").status == 200
    assert json.loads(bd.admin("/readyz").body) == {"status": "ready"}
    assert bd.admin("/nothing").status == 404


def test_public_listener_has_no_admin_paths_by_default(bd, upstream):
    """/metrics, /healthz and /readyz are the application's on the public
    port: here no route matches them (404 from the route table)."""
    for path in ("/metrics", "/healthz", "/readyz"):
        r = bd.get(path)
        assert r.status == 404, (path, r.status)
        assert json.loads(r.body)["code"] == "no_route"


def test_public_health_path_when_configured(bearerd_factory, upstream):
    b = bearerd_factory(health_path="/livez")
    m = upstream.mark()
    r = b.get("/livez")
    assert r.status == 200 and json.loads(r.body) == {"status": "ready"}
    upstream.assert_not_reached(m)
    assert b.get("/metrics").status == 404

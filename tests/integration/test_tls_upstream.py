# SPDX-License-Identifier: MIT
"""https upstreams: a uvicorn upstream over TLS with a CA made here (openssl
CLI); bearerd verifies its certificate and name, pools the connections, and
refuses a wrong CA or a wrong name with 502; request bodies with
backpressure and a WebSocket tunnel over the TLS connection; new
connections resume the upstream's TLS session, and only toward the host it
came from."""

import asyncio
import hashlib
import json
import os
import re
import socket
import ssl
import subprocess
import threading

import pytest
import websockets

from conftest import (BEARERD, HERE, PY, Upstream, bearerd_env, free_port,
    read_heads, serve_in_threads, wait_port)


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", name + ".key", "-out", name + ".pem", "-days", "2",
        "-subj", "/CN=bearerd test " + name,
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    return os.path.join(d, name + ".pem")


def make_leaf(d, ca, name, san):
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
            "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n" % san)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name, cwd=d)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
        "-CAcreateserial", "-out", name + ".pem", "-days", "2",
        "-extfile", name + ".ext", cwd=d)
    return os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")


class TlsUpstream(Upstream):
    """The recording app of conftest.Upstream, served by uvicorn over TLS."""

    def __init__(self, d, cert, key):
        self.port = free_port()
        self.record = os.path.join(d, "tls-record.jsonl")
        open(self.record, "w").close()
        self.log = open(os.path.join(d, "tls-uvicorn.log"), "w")
        env = dict(os.environ, UPSTREAM_RECORD=self.record)
        self.proc = subprocess.Popen(
            [PY, "-m", "uvicorn", "upstream_app:app", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning", "--no-access-log",
             "--timeout-keep-alive", "30", "--no-proxy-headers",
             "--ssl-certfile", cert, "--ssl-keyfile", key],
            cwd=HERE, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_port(self.port, 15, self.proc):
            raise RuntimeError("TLS upstream did not start: " +
                open(os.path.join(d, "tls-uvicorn.log")).read())


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("pki"))
    make_ca(d, "ca")
    make_ca(d, "other")
    # The name only: an address literal is checked against IP SANs, and
    # this certificate has none.
    cert, key = make_leaf(d, "ca", "localhost", "DNS:localhost")
    return {"dir": d, "ca": os.path.join(d, "ca.pem"),
        "other": os.path.join(d, "other.pem"), "cert": cert, "key": key}


@pytest.fixture(scope="module")
def tls_up(pki):
    u = TlsUpstream(pki["dir"], pki["cert"], pki["key"])
    yield u
    u.stop()


def start(factory, tls_up, host, ca):
    opts = {"ca_file": '"%s"' % ca} if ca else {}
    return factory(upstream_url="https://%s:%d" % (host, tls_up.port),
        upstream_opts=opts)


def test_https_upstream_verified_and_pooled(bearerd_factory, tls_up, pki):
    bd = start(bearerd_factory, tls_up, "localhost", pki["ca"])
    m = tls_up.mark()
    for i in range(3):
        r = bd.get("/public/u1/res?i=%d" % i)
        assert r.status == 200, (r.status, r.body[:200])
    recs = tls_up.since(m)
    assert [x["query"] for x in recs] == ["i=0", "i=1", "i=2"], recs
    # one pooled TLS connection carried all three
    assert len({tuple(x["peer"]) for x in recs}) == 1, recs
    host = [v for k, v in recs[0]["headers"] if k.lower() == "host"]
    assert host == ["localhost:%d" % tls_up.port], host
    # a streamed (chunked) body of 1 MiB over TLS
    r = bd.get("/public/u1/download?mb=1")
    assert r.status == 200 and len(r.body) == 1 << 20, (r.status, len(r.body))


@pytest.mark.parametrize("host,ca", [("localhost", "other"), ("127.0.0.1", "ca")],
    ids=["wrong_ca", "wrong_name"])
def test_https_upstream_refused(bearerd_factory, tls_up, pki, host, ca):
    bd = start(bearerd_factory, tls_up, host, pki[ca])
    m = tls_up.mark()
    r = bd.get("/public/u1/res")
    assert r.status == 502, (r.status, r.body[:200])
    tls_up.assert_not_reached(m)


def test_https_upstream_system_store_refuses_a_private_ca(bearerd_factory, tls_up):
    bd = start(bearerd_factory, tls_up, "localhost", None)
    r = bd.get("/public/u1/res")
    assert r.status == 502, (r.status, r.body[:200])


@pytest.mark.parametrize("content", [None, "not a certificate\n"], ids=["missing", "garbage"])
def test_config_check_refuses_a_bad_ca_file(bearerd_factory, tls_up, tmp_path, content):
    path = str(tmp_path / "ca.pem")
    if content is not None:
        with open(path, "w") as f:
            f.write(content)
    bd = bearerd_factory(start=False, upstream_url="https://localhost:%d" % tls_up.port,
        upstream_opts={"ca_file": '"%s"' % path})
    p = subprocess.run([BEARERD, "-t", "-c", bd.conf], capture_output=True, text=True,
        timeout=30, env=bearerd_env())
    assert p.returncode != 0, p.stdout + p.stderr
    assert "ca_file" in p.stderr + p.stdout, p.stdout + p.stderr
    assert bd.conf + ":" in p.stderr + p.stdout, p.stdout + p.stderr


def _blocks(n):
    """|n| blocks of 64 KiB of a pattern, and their SHA-256."""
    blk = bytes((i * 13) & 0xFF for i in range(65536))
    return [blk] * n, hashlib.sha256(blk * n).hexdigest()


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_https_upstream_upload_with_backpressure(bearerd_factory, tls_up, pki, framing):
    # 8 MiB toward an upstream that sleeps before reading: the TLS writes
    # stop and resume, and every byte arrives in order.
    bd = start(bearerd_factory, tls_up, "localhost", pki["ca"])
    blocks, digest = _blocks(128)
    headers = {"Content-Type": "application/octet-stream"}
    if framing == "content-length":
        headers["Content-Length"] = str(128 * 65536)
    c = bd.conn(timeout=60)
    c.request("POST", "/public/u1/upload?delay=0.5", body=iter(blocks), headers=headers,
        encode_chunked=(framing == "chunked"))
    r = c.getresponse()
    body = r.read()
    c.close()
    assert r.status == 200, body[:300]
    assert json.loads(body) == {"len": 128 * 65536, "sha256": digest}


def test_https_upstream_websocket_tunnel(bearerd_factory, tls_up, pki):
    # After the 101 the TLS connection is the tunnel's: frames both ways,
    # one larger than a TLS record, then a close from the client.
    bd = start(bearerd_factory, tls_up, "localhost", pki["ca"])

    async def go():
        async with websockets.connect("ws://127.0.0.1:%d/public/u1/ws" % bd.port,
            open_timeout=5, close_timeout=2) as ws:
            await ws.send("hello")
            a = await asyncio.wait_for(ws.recv(), 5)
            await ws.send(b"\x00\x01binary")
            b = await asyncio.wait_for(ws.recv(), 5)
            big = "y" * 200000
            await ws.send(big)
            c = await asyncio.wait_for(ws.recv(), 5)
            return a, b, c == "echo:" + big
    assert asyncio.run(go()) == ("echo:hello", b"\x00\x01binary", True)
    # the proxy still serves after the tunnel closed
    r = bd.get("/public/u1/res")
    assert r.status == 200, (r.status, r.body[:200])


class ResumeServer:
    """A small HTTP/1.1 server over TLS (Python's ssl, OpenSSL underneath)
    that records, for every connection, the server name the client sent,
    the TLS version and whether the handshake resumed a session. A request
    whose target contains "close" is answered with Connection: close and
    the connection closed; the others keep it open."""

    def __init__(self, cert, key, max_version=None):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        if max_version is not None:
            self.ctx.maximum_version = max_version
        self.ctx.sni_callback = self._sni
        self.sni = {}
        self.handshakes = []
        self.lock = threading.Lock()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        serve_in_threads(self.sock, self._serve)

    def _sni(self, conn, name, ctx):
        self.sni[id(conn)] = name

    def _serve(self, raw):
        raw.settimeout(10)
        try:
            with self.ctx.wrap_socket(raw, server_side=True) as conn:
                rec = {"sni": self.sni.pop(id(conn), None), "reused": conn.session_reused,
                    "version": conn.version()}
                with self.lock:
                    self.handshakes.append(rec)
                for head in read_heads(conn):
                    close = b"close" in head.split(b"\r\n", 1)[0]
                    body = json.dumps(rec).encode()
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n%s\r\n" % (len(body),
                        b"Connection: close\r\n" if close else b"") + body)
                    if close:
                        return
        except OSError:
            pass

    def mark(self):
        with self.lock:
            return len(self.handshakes)

    def since(self, mark):
        with self.lock:
            return [(h["sni"], h["reused"]) for h in self.handshakes[mark:]]

    def stop(self):
        self.sock.close()


@pytest.fixture(scope="module")
def resume_pki(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("pki-resume"))
    make_ca(d, "ca")
    cert, key = make_leaf(d, "ca", "resume", "DNS:localhost,IP:127.0.0.1")
    return {"ca": os.path.join(d, "ca.pem"), "cert": cert, "key": key}


@pytest.fixture(params=["tls1.2", "tls1.3"])
def resume_up(request, resume_pki):
    top = {"tls1.2": ssl.TLSVersion.TLSv1_2, "tls1.3": ssl.TLSVersion.TLSv1_3}
    s = ResumeServer(resume_pki["cert"], resume_pki["key"], top[request.param])
    yield s
    s.stop()


def tls_handshakes(bd, upstream):
    text = bd.admin("/metrics").body.decode()
    out = []
    for resumed in ("false", "true"):
        series = 'bearerd_upstream_tls_handshakes_total{upstream="%s",resumed="%s"}' % (
            upstream, resumed)
        m = re.search(r"^%s (\d+)$" % re.escape(series), text, re.M)
        assert m, (series, text)
        out.append(int(m.group(1)))
    return tuple(out)


@pytest.mark.parametrize("how", ["upstream_closes", "pool_keeps_none"])
def test_https_upstream_resumes_sessions(bearerd_factory, resume_up, resume_pki, how):
    # Every request needs a new connection (the upstream closes it, or the
    # pool keeps none): the first handshake is a full one, the later ones
    # resume its session. In TLS 1.3 the tickets arrive after the
    # handshake, so a session taken at handshake time would not resume.
    opts = {"ca_file": '"%s"' % resume_pki["ca"]}
    if how == "pool_keeps_none":
        opts["max_idle"] = 0
    bd = bearerd_factory(upstream_url="https://localhost:%d" % resume_up.port,
        upstream_opts=opts)
    q = "close=1" if how == "upstream_closes" else "keep=1"
    m = resume_up.mark()
    for i in range(4):
        r = bd.get("/public/u1/res?%s&i=%d" % (q, i))
        assert r.status == 200, (r.status, r.body[:200])
    assert resume_up.since(m) == [("localhost", False)] + [("localhost", True)] * 3
    assert tls_handshakes(bd, "api") == (1, 3)


def test_https_upstream_session_stays_with_its_host(bearerd_factory, resume_pki):
    # Two upstreams on one server (one ticket key, and a TLS 1.3 server
    # resumes whatever SNI comes with the ticket): "localhost" and the
    # address 127.0.0.1 (no SNI). The address's first handshake must be a
    # full one: a session is offered only to the host it came from.
    s = ResumeServer(resume_pki["cert"], resume_pki["key"])
    try:
        bd = bearerd_factory(upstream_url="https://localhost:%d" % s.port,
            upstream_opts={"ca_file": '"%s"' % resume_pki["ca"], "max_idle": 0},
            routes_first=['upstream ip {', '  url = "https://127.0.0.1:%d"' % s.port,
                '  ca_file = "%s"' % resume_pki["ca"], '  max_idle = 0', '}',
                'route "/ip/**" { upstream = ip\n  auth = none }'])
        m = s.mark()
        for path in ("/public/a", "/public/b", "/ip/a", "/ip/b", "/public/c"):
            r = bd.get(path)
            assert r.status == 200, (path, r.status, r.body[:200])
        assert s.since(m) == [("localhost", False), ("localhost", True), (None, False),
            (None, True), ("localhost", True)]
        assert tls_handshakes(bd, "api") == (1, 2)
        assert tls_handshakes(bd, "ip") == (1, 1)
    finally:
        s.stop()

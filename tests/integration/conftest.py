# SPDX-License-Identifier: MIT
"""Fixtures for the integration tests: a recording uvicorn upstream, bearerd, tokens, raw HTTP."""

import base64
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field

import http.client

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BEARERD = os.environ.get("BEARERD") or os.path.join(REPO, "build", "proxy", "bearerd")
VARIANT = os.environ.get("BEARERD_VARIANT", "")
ASAN = "asan" in VARIANT
PY = "/usr/bin/python3"
# Start-up and shutdown are slower under ASan.
START_TIMEOUT = 20.0 if ASAN else 10.0

HS_SECRET = "integration-hs256-secret-0123456789-abcdefghijklmnop"
MINT_SECRET = "integration-mint-secret-backend-0123456789-qrstuvwxyz"
BA_SECRET = "integration-better-auth-secret-0123456789-ABCDEFGHIJ"
OTHER_SECRET = "some-other-secret-nobody-configured-0123456789-xyz"

SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "SUMMARY: UndefinedBehaviorSanitizer",
    "SUMMARY: AddressSanitizer",
)


def serve_in_threads(sock, serve, running=lambda: True, keep=None):
    """Starts a thread that accepts on |sock| while |running()|, until the
    socket is closed, and serves each connection on a thread of its own
    with |serve|(conn); |keep|(conn), if given, sees each one first."""
    def loop():
        while running():
            try:
                c, _ = sock.accept()
            except OSError:
                return
            if keep is not None:
                keep(c)
            threading.Thread(target=serve, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()


def read_heads(conn):
    """Yields each request head read from |conn| (without its empty line;
    bodies are not read) until the peer closes."""
    buf = b""
    while True:
        while b"\r\n\r\n" not in buf:
            d = conn.recv(65536)
            if not d:
                return
            buf += d
        head, _, buf = buf.partition(b"\r\n\r\n")
        yield head


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout, proc=None, host="127.0.0.1"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def stop_process(proc, timeout=10):
    """Ends a helper process (uvicorn, node): SIGTERM, then SIGKILL when it
    has not exited after |timeout| seconds. A process already gone is fine."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def b64u(b):
    if isinstance(b, str):
        b = b.encode()
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


# ------------------------------------------------------------------ tokens


class Keys:
    """Key pairs generated once per session; public halves written as PEM files."""

    def __init__(self, d):
        self.dir = d
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.rsa_other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.ec_other = ec.generate_private_key(ec.SECP256R1())
        self.ed = ed25519.Ed25519PrivateKey.generate()
        self.ed_other = ed25519.Ed25519PrivateKey.generate()
        self.paths = {}
        for name, k in (("rsa", self.rsa), ("ec", self.ec), ("ed", self.ed)):
            pem = k.public_key().public_bytes(serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo)
            p = os.path.join(d, name + ".pub.pem")
            with open(p, "wb") as f:
                f.write(pem)
            self.paths[name] = p
        self.rsa_pub_pem = open(self.paths["rsa"], "rb").read()


def hs_raw(header, payload, secret):
    """A compact JWS built by hand, so any header (alg, kid, none) can be made."""
    h = b64u(json.dumps(header, separators=(",", ":")))
    p = b64u(json.dumps(payload, separators=(",", ":")))
    si = (h + "." + p).encode()
    if secret is None:
        return h + "." + p + "."
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384,
        "HS512": hashlib.sha512}[header["alg"]]
    key = secret.encode() if isinstance(secret, str) else secret
    return h + "." + p + "." + b64u(hmac.new(key, si, digest).digest())


class Tokens:
    def __init__(self, keys):
        self.k = keys

    @staticmethod
    def claims(sub, ttl=300, **extra):
        now = int(time.time())
        c = {"sub": sub, "iat": now, "exp": now + ttl}
        c.update(extra)
        return {k: v for k, v in c.items() if v is not None}

    def hs(self, sub="u1", secret=HS_SECRET, alg="HS256", ttl=300, **extra):
        return jwt.encode(self.claims(sub, ttl, **extra), secret, algorithm=alg)

    def rs(self, sub="u1", key=None, ttl=300, **extra):
        return jwt.encode(self.claims(sub, ttl, **extra), key or self.k.rsa, algorithm="RS256")

    def es(self, sub="u1", key=None, ttl=300, **extra):
        return jwt.encode(self.claims(sub, ttl, **extra), key or self.k.ec, algorithm="ES256")

    def ed(self, sub="u1", key=None, ttl=300, **extra):
        return jwt.encode(self.claims(sub, ttl, **extra), key or self.k.ed, algorithm="EdDSA")

    def expired(self, sub="u1"):
        now = int(time.time())
        return jwt.encode({"sub": sub, "iat": now - 3600, "exp": now - 600}, HS_SECRET,
            algorithm="HS256")

    def none(self, sub="u1"):
        return hs_raw({"alg": "none", "typ": "JWT"}, self.claims(sub), None)

    def forged(self, sub="u1"):
        return self.hs(sub, secret=OTHER_SECRET)

    def ba_compact(self, user_id="u1", secret=BA_SECRET, ttl_ms=300_000):
        """Better Auth's session_data cookie, `compact` strategy: base64url of
        {"session":SD,"expiresAt":ms,"signature":sig}, sig = b64url(HMAC-SHA256(
        secret, SD text with ,"expiresAt":ms spliced before its final brace))."""
        exp_ms = int(time.time() * 1000) + ttl_ms
        sd = {
            "session": {"expiresAt": "2030-01-01T00:00:00.000Z", "token": "tok" + user_id,
                "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z",
                "ipAddress": "", "userAgent": "", "userId": user_id, "id": "s-" + user_id},
            "user": {"name": "Test", "email": user_id + "@example.com", "emailVerified": False,
                "id": user_id},
            "updatedAt": exp_ms - ttl_ms, "version": "1",
        }
        sd_text = json.dumps(sd, separators=(",", ":"))
        signed = sd_text[:-1] + ',"expiresAt":' + str(exp_ms) + "}"
        sig = b64u(hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest())
        outer = ('{"session":' + sd_text + ',"expiresAt":' + str(exp_ms) +
            ',"signature":"' + sig + '"}')
        return b64u(outer)


# ---------------------------------------------------------------- upstream


class Upstream:
    """The recording uvicorn app (upstream_app.py) and its record file."""

    def __init__(self, d, keep_alive=30, name="upstream"):
        self.port = free_port()
        self.record = os.path.join(d, name + "-record.jsonl")
        open(self.record, "w").close()
        self.log = open(os.path.join(d, name + "-uvicorn.log"), "w")
        env = dict(os.environ, UPSTREAM_RECORD=self.record)
        self.proc = subprocess.Popen(
            [PY, "-m", "uvicorn", "upstream_app:app", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning", "--no-access-log",
             "--timeout-keep-alive", str(keep_alive), "--ws", "websockets",
             "--no-proxy-headers"],
            cwd=HERE, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_port(self.port, 15, self.proc):
            raise RuntimeError("uvicorn upstream did not start: " +
                open(os.path.join(d, name + "-uvicorn.log")).read())

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def mark(self):
        return os.path.getsize(self.record)

    def since(self, mark, settle=0.0):
        """Requests recorded after |mark|: "start" lines with their "body" merged."""
        if settle:
            time.sleep(settle)
        with open(self.record, "rb") as f:
            f.seek(mark)
            data = f.read()
        starts, order = {}, []
        for line in data.decode().splitlines():
            if not line.endswith("}"):
                continue
            r = json.loads(line)
            if r["kind"] == "start":
                r["body"] = None
                starts[r["id"]] = r
                order.append(r["id"])
            elif r["kind"] == "body" and r["id"] in starts:
                starts[r["id"]]["body"] = {"len": r["len"], "sha256": r["sha256"]}
        return [starts[i] for i in order]

    def one(self, mark):
        recs = self.since(mark)
        assert len(recs) == 1, "upstream saw %d requests, expected 1: %r" % (
            len(recs), [(r["method"], r["raw_path"]) for r in recs])
        return recs[0]

    def assert_not_reached(self, mark):
        recs = self.since(mark, settle=0.1)
        assert recs == [], "upstream was reached: %r" % [
            (r["method"], r["raw_path"]) for r in recs]

    def stop(self):
        stop_process(self.proc)
        self.log.close()


def hdrs(rec, name):
    """Every value of header |name| (case-insensitive) that the upstream saw."""
    n = name.lower()
    return [v for k, v in rec["headers"] if k.lower() == n]


def norm_name(name):
    return name.lower().replace("_", "-")


# ------------------------------------------------------------------ config

DEFAULT_STRIP = ("X-User-Id", "X-User-Email", "X-User", "X-Forwarded-User",
    "X-Auth-Request-User", "Remote-User")


def render_config(port, upstream_url, keydir, admin_port=None, **o):
    """bearerd.conf text (the syntax conf/bearerd.conf documents) with overrides |o|."""
    lim = {"max_head_bytes": 16384, "max_header_fields": 100,
        "max_body_bytes": 104857600, "token_cache_entries": 1024}
    lim.update(o.get("limits", {}))
    tmo = {"head": 10000, "body": 30000, "idle": 60000, "drain": 10000}
    tmo.update(o.get("timeouts", {}))
    up = {"connect_timeout": 2000, "response_timeout": 30000, "idle_timeout": 60000,
        "max_idle": 32}
    up.update(o.get("upstream_opts", {}))
    L = []
    L.append('listen  = "%s:%d"' % (o.get("listen_host", "127.0.0.1"), port))
    if o.get("health_path"):
        L.append('health_path = "%s"' % o["health_path"])
    if o.get("tls"):
        L.append('tls {\n  cert_file = "%s"\n  key_file = "%s"\n}' % o["tls"])
    L.append("workers = %d" % o.get("workers", 1))
    L.append("backlog = 256")
    L.append("")
    L.append("limits {")
    L += ["  %s = %s" % kv for kv in lim.items()]
    L.append("}")
    L.append("timeouts {")
    L += ["  %s = %s" % kv for kv in tmo.items()]
    L.append("}")
    L.append("upstream api {")
    L.append('  url = "%s"' % upstream_url)
    L += ["  %s = %s" % kv for kv in up.items()]
    L.append("}")
    L.append("")
    # The HS256 secret comes through ${} expansion, as in production.
    L.append("issuer hs {")
    L.append("  credential  = jwt")
    L.append('  cookie      = "token"')
    L.append('  secret      = "${BEARERD_TEST_SECRET}"')
    L.append("  secret_alg  = HS256")
    L.append("  leeway      = 5")
    L.append('  keep_claims = {"email", "role"}')
    L += ["  " + l for l in o.get("hs_extra", [])]
    L.append("}")
    L += o.get("issuers", [])
    L.append("")
    L += o.get("routes_first", [])
    L.append('route "/api/{user_id}/**" {')
    L.append("  upstream = api")
    L.append("  auth     = required")
    L.append("  issuer   = hs")
    L.append('  require  = {"user_id == sub"}')
    L.append("}")
    L += o.get("routes", [])
    L.append('route "/public/**" { upstream = api\n  auth = none }')
    L.append('route "/opt/**" {\n  upstream = api\n  auth = optional\n  issuer = hs\n}')
    L.append("")
    L.append("headers {")
    L.append("  strip = {%s}" % ", ".join('"%s"' % h for h in DEFAULT_STRIP))
    L.append('  claim email { header = "X-User-Email" }')
    tf = o.get("trust_forwarded")
    if tf is True:
        tf = ["127.0.0.0/8", "::1"]
    if tf:
        L.append("  trust_forwarded = {%s}" % ", ".join('"%s"' % n for n in tf))
    L.append("}")
    L += o.get("tail", [])
    # Health, readiness and metrics live on the admin listener, not on
    # the public port.
    L.append('admin {\n%s  health = "/healthz"\n  ready = "/readyz"\n}' % (
        '  listen = "127.0.0.1:%d"\n' % admin_port if admin_port else ""))
    L.append("log {\n  access = %s\n}" % ("false" if o.get("access_log") is False else "true"))
    return "\n".join(L) + "\n"


def issuer_block(name, lines):
    return ["issuer %s {" % name] + ["  " + l for l in lines] + ["}"]


def route_block(pattern, issuer, require=True, mode="required"):
    r = ['route "%s" {' % pattern, "  upstream = api", "  auth = %s" % mode,
        "  issuer = %s" % issuer]
    if require:
        r.append('  require = {"user_id == sub"}')
    return r + ["}"]


# ------------------------------------------------------------------ bearerd


def bearerd_env():
    env = dict(os.environ)
    env["BEARERD_TEST_SECRET"] = HS_SECRET
    env["BEARERD_TEST_MINT_SECRET"] = MINT_SECRET
    env["BEARERD_TEST_BA_SECRET"] = BA_SECRET
    if ASAN:
        opts = env.get("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=66")
        # The default 256 MB quarantine would hide whether big transfers
        # stream: keep freed memory small so RSS reflects live buffers.
        if "quarantine_size_mb" not in opts:
            opts += ":quarantine_size_mb=8"
        env["ASAN_OPTIONS"] = opts
        env.setdefault("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
    return env


class PortInUse(Exception):
    pass


class Bearerd:
    def __init__(self, d, upstream, keys, name="bearerd", upstream_url=None, **o):
        self.dir = d
        self.upstream = upstream
        self.keys = keys
        self.port = free_port()
        self.admin_port = free_port()
        self.host = o.get("listen_host", "127.0.0.1").strip("[]")
        self.upstream_url = upstream_url or upstream.url
        self.overrides = o
        self.conf = os.path.join(d, name + ".conf")
        self.stderr_path = os.path.join(d, name + ".stderr")
        self.write_config(**o)
        self.proc = None
        self.returncode = None

    def config_text(self, **o):
        return render_config(self.port, self.upstream_url, self.keys.dir,
            admin_port=self.admin_port, **o)

    def write_config(self, text=None, **o):
        if text is None:
            text = self.config_text(**o)
        tmp = self.conf + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.conf)

    def start(self):
        # Other test suites on this machine pick free ports too: if ours was
        # taken between free_port() and bind(), move to a new one.
        for _ in range(3):
            try:
                return self._start()
            except PortInUse:
                self.err.close()
                old, old_admin = self.port, self.admin_port
                self.port, self.admin_port = free_port(), free_port()
                text = open(self.conf).read().replace(
                    ":%d\"" % old, ":%d\"" % self.port, 1).replace(
                    ":%d\"" % old_admin, ":%d\"" % self.admin_port, 1)
                self.write_config(text=text)
        return self._start()

    def _start(self):
        assert os.access(BEARERD, os.X_OK), "no bearerd binary at %s" % BEARERD
        self.err = open(self.stderr_path, "ab")
        mark = os.path.getsize(self.stderr_path)
        self.proc = subprocess.Popen([BEARERD, "-c", self.conf], stdin=subprocess.DEVNULL,
            stdout=self.err, stderr=self.err, env=bearerd_env())
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if "cannot listen" in self.stderr()[mark:] and \
                    "in use" in self.stderr()[mark:]:
                    raise PortInUse()
                # reported here; teardown need not report it again
                self.returncode = 0 if self.proc.returncode == 0 else "start failed"
                self.start_failed = True
                raise AssertionError("bearerd exited %s at start:\n%s" % (
                    self.proc.returncode, self.stderr()))
            try:
                if self.admin("/healthz").status == 200 and wait_port(
                        self.port, 0.5, host=self.host):
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("bearerd did not answer /healthz:\n" + self.stderr())

    def admin(self, path, method="GET"):
        """One request to the admin listener (health, readiness, metrics)."""
        c = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=5)
        try:
            c.request(method, path)
            r = c.getresponse()
            return Resp(r.status, r.getheaders(), r.read())
        finally:
            c.close()

    @property
    def pid(self):
        return self.proc.pid

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def access_lines(self):
        out = []
        for line in self.stderr().splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def rss_kb(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def signal(self, sig):
        os.kill(self.pid, sig)

    def wait_exit(self, timeout=START_TIMEOUT):
        """Waits for the process to end on its own (after a signal); returns
        its exit status, also kept in .returncode for check_clean_exit()."""
        self.returncode = self.proc.wait(timeout)
        return self.returncode

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=20):
        """SIGTERM, wait; returns the exit code (also kept in .returncode)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.returncode = "hung after SIGTERM (killed)"
                self.err.close()
                return self.returncode
        self.returncode = self.proc.returncode
        self.err.close()
        return self.returncode

    def check_clean_exit(self):
        if getattr(self, "checked", False):
            return  # already reported by the test itself
        self.checked = True
        code = self.stop() if self.returncode is None else self.returncode
        err = self.stderr()
        problems = []
        if code != 0:
            problems.append("bearerd exit status %r (expected 0)" % (code,))
        found = [m for m in SANITIZER_MARKERS if m in err]
        if found:
            problems.append("sanitizer report in stderr: %s" % ", ".join(found))
        if problems:
            tail = "\n".join(err.splitlines()[-60:])
            raise AssertionError("; ".join(problems) + "\n--- stderr tail ---\n" + tail)

    # -- client helpers

    def conn(self, timeout=10):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, headers=(), body=None, cookie=None, timeout=10):
        """One request on a fresh connection, sent verbatim (no path
        normalisation). |headers| is a list of pairs, duplicates allowed."""
        c = self.conn(timeout)
        try:
            c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            names = [k.lower() for k, _ in headers]
            if "host" not in names:
                c.putheader("Host", "%s:%d" % (
                    "[::1]" if ":" in self.host else self.host, self.port))
            if cookie is not None:
                c.putheader("Cookie", cookie)
            for k, v in headers:
                c.putheader(k, v)
            if body is not None and "content-length" not in names:
                c.putheader("Content-Length", str(len(body)))
            c.endheaders(body)
            r = c.getresponse()
            data = r.read()
            return Resp(r.status, r.getheaders(), data)
        finally:
            c.close()

    def get(self, path, token=None, cookie_name="token", **kw):
        cookie = kw.pop("cookie", None)
        if token is not None and cookie is None:
            cookie = "%s=%s" % (cookie_name, token)
        return self.request("GET", path, cookie=cookie, **kw)


def in_flight(b, upstream, path, token, timeout=15):
    """Sends GET |path| with |token| through |b| on its own thread and returns
    once the upstream has received it, so that a signal sent next finds a
    request in flight. Returns (thread, out): after thread.join(), out holds
    "status" and "body", or "error" when the connection failed."""
    out = {}

    def run():
        try:
            r = b.get(path, token=token, timeout=timeout)
            out["status"] = r.status
            out["body"] = r.body
        except Exception as e:  # noqa: BLE001 - a closed connection can be the expected end
            out["error"] = repr(e)

    m = upstream.mark()
    t = threading.Thread(target=run)
    t.start()
    deadline = time.monotonic() + 5
    while not upstream.since(m):
        assert time.monotonic() < deadline, "%s never reached the upstream" % path
        time.sleep(0.02)
    return t, out


@dataclass
class Resp:
    status: int
    headers: list
    body: bytes
    closed: bool = False

    def header(self, name):
        n = name.lower()
        for k, v in self.headers:
            if k.lower() == n:
                return v
        return None

    def header_all(self, name):
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def json(self):
        return json.loads(self.body)


# -------------------------------------------------------------- raw sockets


def parse_responses(data, head_methods=()):
    """Splits raw bytes into responses. |head_methods| lists, per response,
    whether it answers a HEAD (no body). Stops at the first incomplete one."""
    out = []
    i = 0
    n = 0
    while i < len(data):
        end = data.find(b"\r\n\r\n", i)
        if end < 0:
            break
        head = data[i:end].decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3})", head[0])
        if not m:
            break
        status = int(m.group(1))
        headers = []
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers.append((k.strip(), v.strip()))
        r = Resp(status, headers, b"")
        j = end + 4
        is_head = n < len(head_methods) and head_methods[n]
        if is_head or status in (204, 304) or 100 <= status < 200:
            pass
        elif (r.header("transfer-encoding") or "").lower() == "chunked":
            body = b""
            while True:
                le = data.find(b"\r\n", j)
                if le < 0:
                    return out
                size = int(data[j:le].split(b";")[0], 16)
                j = le + 2
                if size == 0:
                    te = data.find(b"\r\n\r\n", j - 2)
                    j = (te + 4) if te >= 0 else len(data)
                    break
                body += data[j:j + size]
                j += size + 2
            r.body = body
        elif r.header("content-length") is not None:
            cl = int(r.header("content-length"))
            r.body = data[j:j + cl]
            j += cl
        else:
            r.body = data[j:]
            j = len(data)
        out.append(r)
        i = j
        n += 1
    return out


@dataclass
class RawResult:
    data: bytes
    closed: bool
    responses: list = field(default_factory=list)

    @property
    def status(self):
        return self.responses[0].status if self.responses else None


def raw(port, payload, timeout=3.0, head_methods=(), chunks=None, gap=0.0):
    """Sends |payload| (or |chunks| with |gap| seconds between them) on one
    connection and reads until the server closes or |timeout| passes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if chunks is None:
            s.sendall(payload)
        else:
            for c in chunks:
                try:
                    s.sendall(c)
                except OSError:
                    break
                time.sleep(gap)
        data = b""
        closed = False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not b:
                closed = True
                break
            data += b
        return RawResult(data, closed, parse_responses(data, head_methods))
    finally:
        s.close()


def problem_ok(resp, status):
    """The response is application/problem+json with |status| and a stable code."""
    assert resp.status == status, (resp.status, resp.body[:300])
    ct = (resp.header("content-type") or "").lower()
    assert ct.startswith("application/problem+json"), ct
    doc = json.loads(resp.body)
    assert isinstance(doc.get("code"), str) and doc["code"], doc
    if "status" in doc:
        assert doc["status"] == status, doc
    return doc


def assert_401(resp, missing=False):
    """401 problem+json with a Bearer challenge. An invalid credential carries
    error="invalid_token"; a missing one carries no error code (RFC 6750 §3.1:
    a request without authentication information SHOULD NOT get one)."""
    doc = problem_ok(resp, 401)
    www = resp.header("www-authenticate") or ""
    assert www.startswith("Bearer"), www
    if missing:
        assert "error=" not in www, www
    else:
        assert 'error="invalid_token"' in www, www
    return doc


# ------------------------------------------------------------ Better Auth

BA_DIR = os.path.join(REPO, "tests", "betterauth")

# For the modules that run the real Better Auth server (npm).
needs_betterauth = pytest.mark.skipif(
    not os.path.isdir(os.path.join(BA_DIR, "node_modules", "better-auth")) or
    shutil.which("node") is None,
    reason="tests/betterauth not installed (npm ci) or node missing")


class BetterAuth:
    """tests/betterauth/server.mjs on a free port, restartable. |env| adds to
    its environment (JWT_ALG, COOKIE_CACHE, ...); BETTER_AUTH_URL there is the
    base URL it believes it has (a relay in front of it), else its own."""

    def __init__(self, d, name, **env):
        self.port = free_port()
        self.base = env.pop("BETTER_AUTH_URL", None) or "http://127.0.0.1:%d" % self.port
        self.env = dict(os.environ, PORT=str(self.port), HOST="127.0.0.1",
            BETTER_AUTH_SECRET=BA_SECRET, BETTER_AUTH_URL=self.base,
            **{k: str(v) for k, v in env.items()})
        self.logpath = os.path.join(d, "betterauth-%s.log" % name)
        self.proc = None
        self.start()

    @property
    def direct(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        self.log = open(self.logpath, "a+")
        self.proc = subprocess.Popen(["node", "server.mjs"], cwd=BA_DIR, env=self.env,
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.output()
            try:
                if httpx.get(self.direct + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("Better Auth did not start: " + self.output())

    def output(self):
        self.log.flush()
        with open(self.logpath) as f:
            return f.read()

    def stop(self):
        stop_process(self.proc)
        self.log.close()


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    return Keys(str(tmp_path_factory.mktemp("keys")))


@pytest.fixture(scope="session")
def tokens(keys):
    return Tokens(keys)


@pytest.fixture(scope="session")
def upstream(tmp_path_factory):
    u = Upstream(str(tmp_path_factory.mktemp("upstream")))
    yield u
    u.stop()


class Factory:
    def __init__(self, d, upstream, keys):
        self.d, self.upstream, self.keys = d, upstream, keys
        self.started = []
        self.n = 0

    def __call__(self, start=True, **o):
        self.n += 1
        b = Bearerd(self.d, self.upstream, self.keys, name="bearerd%d" % self.n, **o)
        self.started.append(b)
        return b.start() if start else b

    def finish(self):
        errors = []
        for b in self.started:
            if b.proc is None or getattr(b, "start_failed", False):
                continue
            try:
                b.check_clean_exit()
            except AssertionError as e:
                errors.append(str(e))
        if errors:
            raise AssertionError("\n\n".join(errors))


@pytest.fixture
def bearerd_factory(tmp_path, upstream, keys):
    f = Factory(str(tmp_path), upstream, keys)
    yield f
    f.finish()


@pytest.fixture(scope="module")
def module_factory(tmp_path_factory, upstream, keys):
    f = Factory(str(tmp_path_factory.mktemp("bd")), upstream, keys)
    yield f
    f.finish()


@pytest.fixture(scope="module")
def bd(module_factory):
    """One bearerd with the default config, shared by a module's table tests."""
    return module_factory()

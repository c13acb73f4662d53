# SPDX-License-Identifier: MIT
"""The process: config check, admin endpoints, access log, upstream errors, SIGHUP, SIGTERM."""

import json
import re
import signal
import subprocess
import threading
import time
import uuid

import pytest

from conftest import (BEARERD, SANITIZER_MARKERS, START_TIMEOUT, Bearerd, bearerd_env, free_port,
    in_flight, problem_ok, render_config)

# ------------------------------------------------------------ bearerd -t


def run_check(conf, env=None):
    p = subprocess.run([BEARERD, "-t", "-c", conf], capture_output=True, text=True,
        timeout=30, env=env or bearerd_env())
    return p.returncode, p.stdout + p.stderr


def _block_range(lines, idx):
    """1-based line range of the top-level block holding line |idx| (0-based),
    or just that line when it is a top-level option."""
    start = idx
    while start > 0 and lines[start][:1] in (" ", "\t"):
        start -= 1
    end = idx
    if lines[start].rstrip().endswith("{") or start != idx:
        while end < len(lines) - 1 and lines[end].strip() != "}" and \
            not lines[end].rstrip().endswith("}"):
            end += 1
    return start + 1, end + 1


# (id, replacement (old, new) in the good config, marker of the bad line, words in message)
BAD = [
    ("unknown_option", ("backlog = 256", "backlog = 256\nfrobnicate = 3"), "frobnicate", []),
    ("unknown_upstream", ("  upstream = api\n  auth     = required",
        "  upstream = nope\n  auth     = required"), "upstream = nope", ["nope"]),
    ("short_secret", ('secret      = "${BEARERD_TEST_SECRET}"', 'secret      = "tooshort"'),
        '"tooshort"', ["secret"]),
    ("unset_env_secret", ('secret      = "${BEARERD_TEST_SECRET}"',
        'secret      = "${BEARERD_TEST_UNSET_VARIABLE}"'), "BEARERD_TEST_UNSET_VARIABLE",
        ["secret"]),
    ("bad_listen", ('listen  = "127.0.0.1:', 'listen  = "127.0.0.1:notaport'), "notaport", []),
    ("ca_file_on_http", ('url = "http://', 'ca_file = "ca.pem"\n  url = "http://'),
        'ca_file = "ca.pem"', ["ca_file"]),
    ("session_credential", ("credential  = jwt", "credential  = session"),
        "credential  = session", ["session"]),
    ("rule_unknown_var", ('require  = {"user_id == sub"}', 'require  = {"org == sub"}'),
        '"org == sub"', []),
    ("bad_timeout", ("  head = 10000", "  head = 0"), "head = 0", []),
    ("bad_workers", ("workers = 1", "workers = 100000"), "workers = 100000", []),
    ("syntax_error", ("backlog = 256", "backlog = 256\nlimits {{"), "limits {{", []),
]


@pytest.fixture
def check_conf(tmp_path, upstream, keys):
    b = Bearerd(str(tmp_path), upstream, keys, name="check")
    return b


def test_config_check_good(check_conf):
    rc, out = run_check(check_conf.conf)
    assert rc == 0, out


@pytest.mark.parametrize("case,repl,marker,words", BAD, ids=[b[0] for b in BAD])
def test_config_check_bad(check_conf, case, repl, marker, words):
    text = open(check_conf.conf).read()
    old, new = repl
    assert old in text, old
    text = text.replace(old, new, 1)
    with open(check_conf.conf, "w") as f:
        f.write(text)
    lines = text.split("\n")
    idx = next(i for i, l in enumerate(lines) if marker in l)
    lo, hi = _block_range(lines, idx)
    rc, out = run_check(check_conf.conf)
    assert rc != 0, out
    errs = re.findall(re.escape(check_conf.conf) + r":(\d+):\d+: (.+)", out)
    assert errs, "no 'file:line:column: message' in output:\n" + out
    hit = [(int(n), msg) for n, msg in errs if lo <= int(n) <= hi]
    assert hit, "no error reported on lines %d-%d (marker at %d):\n%s" % (lo, hi, idx + 1, out)
    for w in words:
        assert any(w in msg for _, msg in hit), (w, out)
    # a secret never appears in a diagnostic
    assert "integration-hs256-secret" not in out


def test_config_check_reports_every_error(check_conf):
    text = open(check_conf.conf).read()
    # two independent errors, both reported
    text = text.replace('secret      = "${BEARERD_TEST_SECRET}"', 'secret      = "short"', 1)
    text = text.replace("  upstream = api\n  auth     = required",
        "  upstream = nope\n  auth     = required", 1)
    with open(check_conf.conf, "w") as f:
        f.write(text)
    rc, out = run_check(check_conf.conf)
    assert rc != 0
    lines = set(int(n) for n in re.findall(re.escape(check_conf.conf) + r":(\d+):\d+: ", out))
    assert len(lines) >= 2, out


def test_config_check_missing_file(tmp_path):
    rc, out = run_check(str(tmp_path / "does-not-exist.conf"))
    assert rc != 0
    assert "does-not-exist.conf" in out


def test_refuses_to_start_on_bad_config(check_conf):
    text = open(check_conf.conf).read().replace("backlog = 256", "backlog = 256\nbogus = 1")
    with open(check_conf.conf, "w") as f:
        f.write(text)
    p = subprocess.run([BEARERD, "-c", check_conf.conf], capture_output=True, text=True,
        timeout=30, env=bearerd_env())
    assert p.returncode != 0
    assert re.search(re.escape(check_conf.conf) + r":\d+:\d+: ", p.stderr), p.stderr


# ------------------------------------------------------- admin, access log


def test_health_and_ready(bd, upstream):
    m = upstream.mark()
    for path in ("/healthz", "/readyz"):
        r = bd.admin(path)
        assert r.status == 200, (path, r.status)
    upstream.assert_not_reached(m)


def test_health_with_upstream_down(bearerd_factory):
    b = bearerd_factory(upstream_url="http://127.0.0.1:%d" % free_port())
    assert b.admin("/healthz").status == 200


def test_access_log_json_one_line_per_request(bd, tokens):
    tag = uuid.uuid4().hex
    tok = tokens.hs("u1")
    paths = ["/public/%s-a" % tag, "/api/u1/%s-b" % tag, "/api/u2/%s-c" % tag,
        "/nothing/%s-d" % tag]
    want = [200, 200, 403, 404]
    for p in paths:
        bd.get(p, token=tok)
    time.sleep(0.3)
    lines = [l for l in bd.stderr().splitlines() if tag in l]
    assert len(lines) == len(paths), lines
    docs = [json.loads(l) for l in lines]
    for p, st, d in zip(paths, want, docs):
        assert (d.get("method"), d.get("path"), d.get("status")) == ("GET", p, st), d
    for l in lines:
        assert tok not in l and tok.split(".")[2] not in l


# ----------------------------------------------------------- upstream errors


def test_upstream_down_502(bearerd_factory, tokens):
    b = bearerd_factory(upstream_url="http://127.0.0.1:%d" % free_port())
    r = b.get("/api/u1/tasks", token=tokens.hs("u1"))
    problem_ok(r, 502)
    problem_ok(b.get("/public/x"), 502)
    # auth still comes first
    problem_ok(b.get("/api/u1/tasks"), 401)


def test_upstream_slow_504_and_pool_not_poisoned(bearerd_factory, upstream, tokens):
    b = bearerd_factory(upstream_opts={"response_timeout": 500})
    tok = tokens.hs("u1")
    t0 = time.monotonic()
    r = b.get("/api/u1/slow?s=2", token=tok)
    took = time.monotonic() - t0
    problem_ok(r, 504)
    assert took < 1.8, took
    # the timed-out upstream connection must not be reused for the next request
    for i in range(3):
        r = b.get("/api/u1/tasks?i=%d" % i, token=tok)
        assert r.status == 200, r
        assert r.json()["echo"]["query"] == "i=%d" % i
    time.sleep(2)
    for i in range(3):
        r = b.get("/api/u1/tasks?j=%d" % i, token=tok)
        assert r.status == 200
        assert r.json()["echo"]["query"] == "j=%d" % i


# ---------------------------------------------------------------- signals


def _route(prefix):
    return ['route "/%s/**" {' % prefix, "  upstream = api", "  auth = none", "}"]


def test_sighup_under_load(bearerd_factory, tokens):
    b = bearerd_factory(workers=2)
    tok = tokens.hs("u1")
    stop = threading.Event()
    stats = {"ok": 0, "fail": []}
    lock = threading.Lock()

    def keepalive_loop():
        c = b.conn(timeout=10)
        while not stop.is_set():
            try:
                c.request("GET", "/api/u1/tasks", headers={"Cookie": "token=" + tok})
                r = c.getresponse()
                r.read()
                with lock:
                    if r.status == 200:
                        stats["ok"] += 1
                    else:
                        stats["fail"].append(r.status)
            except Exception as e:  # noqa: BLE001 - every failure counts
                with lock:
                    stats["fail"].append(repr(e))
                c.close()
                c = b.conn(timeout=10)
        c.close()

    def fresh_loop():
        while not stop.is_set():
            try:
                r = b.get("/public/load")
                with lock:
                    if r.status == 200:
                        stats["ok"] += 1
                    else:
                        stats["fail"].append(r.status)
            except Exception as e:  # noqa: BLE001
                with lock:
                    stats["fail"].append(repr(e))

    threads = [threading.Thread(target=keepalive_loop), threading.Thread(target=keepalive_loop),
        threading.Thread(target=fresh_loop)]
    for t in threads:
        t.start()
    try:
        assert b.get("/v1/x").status == 404
        for i in range(1, 4):
            b.write_config(workers=2, routes=_route("v%d" % i))
            b.signal(signal.SIGHUP)
            deadline = time.monotonic() + 5
            while b.get("/v%d/x" % i).status != 200:
                assert time.monotonic() < deadline, "reload %d not applied" % i
                time.sleep(0.05)
            if i > 1:
                assert b.get("/v%d/x" % (i - 1)).status == 404
            time.sleep(0.3)
        # a broken config is refused, the old one keeps serving
        good = open(b.conf).read()
        b.write_config(text=good.replace("backlog = 256", "backlog = 256\nbogus = 1") +
            '\nroute "/v9/**" { upstream = api\n auth = none }\n')
        b.signal(signal.SIGHUP)
        time.sleep(1.0)
        assert b.alive()
        assert b.get("/v3/x").status == 200
        assert b.get("/v9/x").status == 404
        assert re.search(re.escape(b.conf) + r":\d+:\d+: ", b.stderr()), b.stderr()[-2000:]
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(15)
    assert stats["fail"] == [], stats["fail"][:10]
    assert stats["ok"] > 50, stats


def test_sighup_keeps_open_connection(bearerd_factory, tokens):
    """A kept-alive client connection survives a reload."""
    b = bearerd_factory()
    c = b.conn()
    c.request("GET", "/public/a")
    r = c.getresponse()
    r.read()
    assert r.status == 200
    port = c.sock.getsockname()[1]
    b.write_config(routes=_route("v1"))
    b.signal(signal.SIGHUP)
    time.sleep(0.5)
    c.request("GET", "/public/b")
    r = c.getresponse()
    r.read()
    assert r.status == 200
    assert c.sock is not None and c.sock.getsockname()[1] == port
    c.close()


def test_sigterm_drains_in_flight(bearerd_factory, upstream, tokens):
    b = bearerd_factory(timeouts={"drain": 5000})
    t, out = in_flight(b, upstream, "/api/u1/slow?s=1.5", tokens.hs("u1"))
    t_sig = time.monotonic()
    b.signal(signal.SIGTERM)
    t.join(15)
    assert out.get("status") == 200, out
    assert json.loads(out["body"]) == {"slept": 1.5}
    b.wait_exit()
    took = time.monotonic() - t_sig
    b.check_clean_exit()
    assert took < 5, took


def test_sigterm_idle_exits_fast(bearerd_factory):
    b = bearerd_factory()
    # an idle keep-alive client must not hold the drain to its full length
    c = b.conn()
    c.request("GET", "/public/x")
    c.getresponse().read()
    t0 = time.monotonic()
    b.signal(signal.SIGTERM)
    b.wait_exit()
    took = time.monotonic() - t0
    c.close()
    b.check_clean_exit()
    assert took < 5, took


def _sigterm_at_listening(conf_path, env):
    """Starts bearerd, sends SIGTERM from the loop reading its stderr the
    moment the "listening on" line arrives (no sleep, no poll interval),
    and returns (exit status, stderr text), or None when the port was
    taken by someone else before bearerd bound it."""
    p = subprocess.Popen([BEARERD, "-c", conf_path], stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    seen = []
    try:
        for line in p.stderr:
            seen.append(line)
            if b"listening on " in line:
                p.send_signal(signal.SIGTERM)
                break
        # wait first: a bearerd that hangs instead of exiting keeps its
        # stderr open, so reading to the end would never return
        rc = p.wait(START_TIMEOUT)
        seen.append(p.stderr.read())
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stderr.close()
    err = b"".join(seen).decode(errors="replace")
    if "listening on " not in err and "in use" in err:
        return None
    return rc, err


def test_sigterm_at_readiness_exits_cleanly(tmp_path, upstream, keys):
    """A SIGTERM that arrives as soon as bearerd says it is listening
    drains and exits 0: the handlers are in place before readiness is
    announced, not left to the default action (death by signal)."""
    conf = tmp_path / "ready.conf"
    env = bearerd_env()
    done = tries = 0
    failures = []
    while done < 20:
        tries += 1
        assert tries <= 40, "ports kept being taken before bearerd bound them"
        conf.write_text(render_config(free_port(), upstream.url, keys.dir,
            admin_port=free_port(), workers=2))
        r = _sigterm_at_listening(str(conf), env)
        if r is None:
            continue  # a port race with another suite: not this test's subject
        rc, err = r
        done += 1
        found = [m for m in SANITIZER_MARKERS if m in err]
        if rc != 0 or found:
            failures.append("run %d: exit status %r%s\n%s" % (done, rc,
                ", sanitizer: " + ", ".join(found) if found else "",
                "\n".join(err.splitlines()[-20:])))
    assert not failures, "%d of 20 runs failed:\n%s" % (len(failures), "\n".join(failures))


def test_sighup_secret_rotation_drops_cached_tokens(bearerd_factory, upstream, tokens):
    """After a reload with a new secret, a token verified (and cached) under the
    old secret is refused: the verified-token cache does not outlive its keys."""
    b = bearerd_factory()
    tok = tokens.hs("u1")
    for _ in range(3):
        assert b.get("/api/u1/tasks", token=tok).status == 200
    text = open(b.conf).read().replace('"${BEARERD_TEST_SECRET}"', '"${BEARERD_TEST_MINT_SECRET}"')
    b.write_config(text=text)
    b.signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    new_tok = tokens.hs("u1", secret=__import__("conftest").MINT_SECRET)
    while b.get("/api/u1/tasks", token=new_tok).status != 200:
        assert time.monotonic() < deadline, "reload with the new secret not applied"
        time.sleep(0.05)
    m = upstream.mark()
    for _ in range(3):
        r = b.get("/api/u1/tasks", token=tok)
        assert r.status == 401, r.status
    upstream.assert_not_reached(m)


def test_stale_pooled_upstream_connection(bearerd_factory, tokens, tmp_path):
    """The upstream closes idle keep-alive connections after 1 s; bearerd must
    notice (or retry an idempotent request) instead of answering 502."""
    from conftest import Upstream
    short = Upstream(str(tmp_path), keep_alive=1, name="short")
    try:
        b = bearerd_factory(upstream_url=short.url)
        tok = tokens.hs("u1")
        for i in range(3):
            r = b.get("/api/u1/tasks?i=%d" % i, token=tok)
            assert r.status == 200, (i, r.status, r.body[:200])
            time.sleep(1.6)
    finally:
        short.stop()


def test_relative_file_paths_from_config_dir(check_conf, keys, tmp_path):
    """secret_file and pem_file are read relative to the config file's directory."""
    import shutil
    confdir = tmp_path / "etc"
    confdir.mkdir()
    (confdir / "hs.secret").write_text("integration-relative-secret-0123456789-abcdef\n")
    shutil.copy(keys.paths["rsa"], confdir / "rsa.pub.pem")
    text = open(check_conf.conf).read().replace(
        'secret      = "${BEARERD_TEST_SECRET}"', 'secret_file = "hs.secret"', 1)
    text = text.replace('route "/public/**"', 'issuer rsrel {\n  cookie = "r"\n'
        '  key k {\n    pem_file = "rsa.pub.pem"\n    alg = RS256\n  }\n}\nroute "/public/**"', 1)
    conf = confdir / "bearerd.conf"
    conf.write_text(text)
    rc, out = run_check(str(conf))
    assert rc == 0, out
    (confdir / "rsa.pub.pem").unlink()
    rc, out = run_check(str(conf))
    assert rc != 0
    assert re.search(re.escape(str(conf)) + r":\d+:\d+: .*rsa\.pub\.pem", out), out


def test_sigterm_drain_is_bounded(bearerd_factory, upstream, tokens):
    """A request longer than timeouts.drain does not hold the exit."""
    b = bearerd_factory(timeouts={"drain": 800})
    # (the connection closed before an answer is the expected end)
    t, out = in_flight(b, upstream, "/api/u1/slow?s=5", tokens.hs("u1"))
    t0 = time.monotonic()
    b.signal(signal.SIGTERM)
    b.wait_exit()
    took = time.monotonic() - t0
    t.join(15)
    b.check_clean_exit()
    assert 0.6 < took < 3.0, took
    assert out.get("status") != 200, out


def test_ipv6_listener(bearerd_factory, upstream, tokens):
    import socket
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    b = bearerd_factory(listen_host="[::1]")
    m = upstream.mark()
    r = b.get("/api/u1/tasks", token=tokens.hs("u1"))
    assert r.status == 200
    assert upstream.one(m)["raw_path"] == "/api/u1/tasks"
    import socket as so
    with pytest.raises(OSError):
        so.create_connection(("127.0.0.1", b.port), timeout=1).close()


def test_upstream_by_host_name(bearerd_factory, upstream, tokens):
    b = bearerd_factory(upstream_url="http://localhost:%d" % upstream.port)
    m = upstream.mark()
    assert b.get("/api/u1/tasks", token=tokens.hs("u1")).status == 200
    assert len(upstream.since(m)) == 1


def test_access_log_off(bearerd_factory):
    b = bearerd_factory(access_log=False)
    tag = uuid.uuid4().hex
    assert b.get("/public/" + tag).status == 200
    time.sleep(0.2)
    assert tag not in b.stderr()


def test_workers_zero_means_one_per_core(bearerd_factory, tokens):
    import os as _os
    b = bearerd_factory(workers=0)
    assert b.get("/api/u1/tasks", token=tokens.hs("u1")).status == 200
    # one event-loop thread per core, besides the main thread
    threads = len(_os.listdir("/proc/%d/task" % b.pid))
    assert threads >= _os.cpu_count() + 1, threads
    one = bearerd_factory(workers=1)
    assert len(_os.listdir("/proc/%d/task" % one.pid)) < threads or _os.cpu_count() == 1

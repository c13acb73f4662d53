# SPDX-License-Identifier: MIT
"""/metrics on the admin listener: every family, values that move, promtool clean."""

import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import MINT_SECRET  # noqa: F401  (the conftest's secrets)


def scrape(b):
    r = b.admin("/metrics")
    assert r.status == 200
    return r.body.decode()


def val(text, series):
    m = re.search(r"^%s (\S+)$" % re.escape(series), text, re.M)
    assert m, series
    return float(m.group(1))


FAMILIES = ("bearerd_build_info", "bearerd_start_time_seconds", "bearerd_open_connections",
    "bearerd_requests_total", "bearerd_request_duration_seconds", "bearerd_auth_total",
    "bearerd_refused_total", "bearerd_upstream_requests_total",
    "bearerd_upstream_errors_total", "bearerd_upstream_response_seconds",
    "bearerd_upstream_idle_connections", "bearerd_upstream_tls_handshakes_total",
    "bearerd_token_cache_hits_total",
    "bearerd_token_cache_misses_total", "bearerd_config_reloads_total",
    "bearerd_config_last_reload_success_timestamp_seconds")


def test_every_family_has_help_and_type(bd):
    text = scrape(bd)
    for f in FAMILIES:
        assert "# HELP %s " % f in text, f
        assert re.search(r"^# TYPE %s \w+$" % f, text, re.M), f


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_promtool_check_metrics(bd, tokens):
    bd.get("/api/u1/tasks", token=tokens.hs("u1"))
    r = subprocess.run(["promtool", "check", "metrics"], input=scrape(bd).encode(),
        capture_output=True, timeout=30)
    assert r.returncode == 0, (r.stdout, r.stderr)


def test_values_move(bd, tokens):
    t0 = scrape(bd)
    route = 'route="/api/{user_id}/**"'
    tok = tokens.hs("u1", nonce=os.urandom(8).hex())  # not cached yet
    assert bd.get("/api/u1/tasks", token=tok).status == 200
    assert bd.get("/api/u1/tasks", token=tok).status == 200   # cached
    assert bd.get("/api/u2/tasks", token=tok).status == 403
    assert bd.get("/api/u1/tasks").status == 401
    assert bd.get("/public/x").status == 200                  # auth = none
    assert bd.get("/nowhere").status == 404
    assert bd.get("/api/u1/%2e%2e/x", token=tok).status == 400
    t1 = scrape(bd)

    def d(series):
        return val(t1, series) - val(t0, series)

    assert d('bearerd_requests_total{%s,class="2xx"}' % route) == 2
    assert d('bearerd_requests_total{%s,class="4xx"}' % route) == 2
    assert d('bearerd_requests_total{route="/public/**",class="2xx"}') == 1
    # auth outcomes only where the route needs auth: /public is not counted
    assert d('bearerd_auth_total{outcome="ok"}') == 2
    assert d('bearerd_auth_total{outcome="forbidden"}') == 1
    assert d('bearerd_auth_total{outcome="no_token"}') == 1
    assert d('bearerd_refused_total{reason="route"}') == 1
    assert d('bearerd_refused_total{reason="path"}') == 1
    assert d('bearerd_upstream_requests_total{upstream="api"}') == 3
    assert d('bearerd_upstream_response_seconds_count{upstream="api"}') == 3
    assert d("bearerd_request_duration_seconds_count") >= 7
    assert d("bearerd_token_cache_hits_total") >= 1
    assert d("bearerd_token_cache_misses_total") >= 1
    assert val(t1, "bearerd_upstream_idle_connections{upstream=\"api\"}") >= 1
    assert 'bearerd_build_info{version="' in t1


def test_upstream_errors_by_cause(bearerd_factory):
    from conftest import free_port
    b = bearerd_factory(upstream_url="http://127.0.0.1:%d" % free_port())
    t0 = scrape(b)
    assert b.get("/public/x").status == 502
    t1 = scrape(b)
    series = 'bearerd_upstream_errors_total{upstream="api",cause="connect"}'
    assert val(t1, series) - val(t0, series) == 1


def test_reloads_counted(bearerd_factory):
    b = bearerd_factory()
    t0 = scrape(b)
    os.kill(b.pid, signal.SIGHUP)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        t1 = scrape(b)
        if val(t1, 'bearerd_config_reloads_total{result="success"}') > \
                val(t0, 'bearerd_config_reloads_total{result="success"}'):
            break
        time.sleep(0.1)
    assert val(t1, 'bearerd_config_reloads_total{result="success"}') == 1
    assert val(t1, "bearerd_config_last_reload_success_timestamp_seconds") >= \
        val(t0, "bearerd_config_last_reload_success_timestamp_seconds")
    b.write_config(text="this is not a config\n")
    os.kill(b.pid, signal.SIGHUP)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        t2 = scrape(b)
        if val(t2, 'bearerd_config_reloads_total{result="failure"}') == 1:
            break
        time.sleep(0.1)
    assert val(t2, 'bearerd_config_reloads_total{result="failure"}') == 1


def test_open_connections_gauge(bd):
    import socket
    before = val(scrape(bd), "bearerd_open_connections")
    socks = [socket.create_connection(("127.0.0.1", bd.port)) for _ in range(3)]
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            now = val(scrape(bd), "bearerd_open_connections")
            if now >= before + 3:
                break
            time.sleep(0.05)
        assert now >= before + 3
    finally:
        for s in socks:
            s.close()

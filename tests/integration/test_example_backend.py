# SPDX-License-Identifier: MIT
"""examples/backend (the tutorial HS256 FastAPI backend), unchanged, behind bearerd in mint mode."""

import json
import os
import subprocess

import httpx
import pytest

from conftest import (HS_SECRET, MINT_SECRET, PY, REPO, assert_401, free_port, problem_ok,
    stop_process, wait_port)


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    port = free_port()
    log = open(tmp_path_factory.mktemp("example") / "backend.log", "w+")
    env = dict(os.environ, BACKEND_JWT_SECRET=MINT_SECRET)
    p = subprocess.Popen([PY, "-m", "uvicorn", "app:app", "--app-dir",
        os.path.join(REPO, "examples", "backend"), "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning"], env=env, stdout=log, stderr=subprocess.STDOUT)
    if not wait_port(port, 15, p):
        log.seek(0)
        raise AssertionError("example backend did not start: " + log.read())
    yield "http://127.0.0.1:%d" % port
    stop_process(p)
    log.close()


@pytest.fixture(scope="module")
def front(backend, module_factory):
    """The default config, but the hs issuer mints for the backend."""
    b = module_factory(start=False, upstream_url=backend)
    text = open(b.conf).read().replace('  keep_claims = {"email", "role"}\n',
        '  keep_claims = {"email", "role"}\n  forward = mint\n  mint_alg = HS256\n'
        '  mint_secret = "${BEARERD_TEST_MINT_SECRET}"\n  mint_ttl = 60\n', 1)
    assert "forward = mint" in text
    b.write_config(text=text)
    return b.start()


def test_tutorial_backend_unchanged(front, backend, tokens):
    alice, bob = tokens.hs("alice"), tokens.hs("bob")
    r = front.get("/api/alice/tasks", token=alice)
    assert r.status == 200, r.body
    assert r.json() == {"user_id": "alice", "tasks": []}
    r = front.request("POST", "/api/alice/tasks", cookie="token=" + alice,
        body=json.dumps({"title": "one"}).encode(), headers=[("Content-Type", "application/json")])
    assert r.status == 201, r.body
    assert r.json()["title"] == "one"
    tasks = front.get("/api/alice/tasks", token=alice).json()["tasks"]
    assert [t["title"] for t in tasks] == ["one"]
    assert front.get("/api/bob/tasks", token=bob).json()["tasks"] == []
    problem_ok(front.get("/api/bob/tasks", token=alice), 403)
    assert_401(front.get("/api/alice/tasks"), missing=True)
    assert_401(front.get("/api/alice/tasks", token=tokens.expired("alice")))


def test_backend_refuses_the_cookie_token_directly(backend, tokens):
    """The backend itself checks the token: the cookie's token (other key) and
    a forged Authorization are refused without bearerd in front, and a valid
    backend token still cannot read another user's tasks."""
    r = httpx.get(backend + "/api/alice/tasks",
        headers={"Authorization": "Bearer " + tokens.hs("alice")})
    assert r.status_code == 401
    r = httpx.get(backend + "/api/alice/tasks")
    assert r.status_code == 401
    good = tokens.hs("alice", secret=MINT_SECRET)
    assert httpx.get(backend + "/api/alice/tasks",
        headers={"Authorization": "Bearer " + good}).status_code == 200
    assert httpx.get(backend + "/api/bob/tasks",
        headers={"Authorization": "Bearer " + good}).status_code == 403
    assert HS_SECRET != MINT_SECRET

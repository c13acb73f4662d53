# SPDX-License-Identifier: MIT
"""The compose example (deploy/compose) built and run for real with podman-compose.

Builds the three images on locally made Debian 12 base images
(deploy/base-images: no registry), brings the stack up with bearerd's port
published on 127.0.0.1, and through that port signs up two users with Better
Auth, reads and writes one's own tasks (the FastAPI backend verifies the
token bearerd mints), is refused the other's (403) and everything without a
cookie (401). Checks that only bearerd is published, that the image runs as
a non-root user with a working health check, that a stop drains and exits 0,
and that `down` leaves no container, network or volume behind.

Skipped, with the reason, only when podman or podman-compose is missing
(scripts/test installs them with `scripts/deps compose`). Times of each step
go to $BEARERD_COMPOSE_TIMES (JSON) when set.
"""

import json
import os
import re
import resource
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

import httpx
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
COMPOSE_DIR = os.path.join(REPO, "deploy", "compose")
WEB_DIR = os.path.join(REPO, "examples", "betterauth")

pytestmark = pytest.mark.skipif(
    shutil.which("podman") is None or shutil.which("podman-compose") is None,
    reason="no container engine: podman and podman-compose are not installed "
    "(scripts/deps compose installs them on Debian 12)")

PASSWORD = "correct horse battery staple"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def containers_conf(d):
    """The settings this kind of machine needs (runc, netavark, rlimits it can set)."""
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    if nproc == resource.RLIM_INFINITY or nproc > 32768:
        nproc = 32768
    if nofile == resource.RLIM_INFINITY:
        nofile = 1048576
    path = os.path.join(d, "containers.conf")
    with open(path, "w") as f:
        f.write('[containers]\ndefault_ulimits = ["nofile=%d:%d", "nproc=%d:%d"]\n'
            '[engine]\nruntime = "runc"\n[network]\nnetwork_backend = "netavark"\n'
            % (nofile, nofile, nproc, nproc))
    return path


class Stack:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="bearerd-compose.")
        self.project = "bearerdtest%s" % uuid.uuid4().hex[:8]
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.log = os.path.join(self.dir, "compose.log")
        self.times = {}
        self.env = dict(os.environ,
            CONTAINERS_CONF=containers_conf(self.dir),
            BUILDAH_FORMAT="docker",          # keeps HEALTHCHECK in the image
            BEARERD_BUILD_IMAGE="localhost/bearerd-build:bookworm",
            BEARERD_RUNTIME_IMAGE="localhost/bearerd-run:bookworm",
            PYTHON_IMAGE="localhost/bearerd-python:bookworm",
            NODE_IMAGE="localhost/bearerd-node:bookworm",
            BEARERD_TAG="test",
            BETTER_AUTH_SECRET=os.urandom(32).hex(),
            BACKEND_JWT_SECRET=os.urandom(32).hex(),
            BEARERD_PUBLISH="127.0.0.1:%d" % self.port,
            PUBLIC_URL=self.url,
            TRUSTED_ORIGINS=self.url)

    def run(self, *cmd, check=True, timeout=900, cwd=COMPOSE_DIR):
        """Runs a command with the stack's environment; output to the log (secrets are in it)."""
        with open(self.log, "a") as log:
            log.write("$ %s\n" % " ".join(cmd))
            log.flush()
            r = subprocess.run(cmd, cwd=cwd, env=self.env, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True, timeout=timeout)
            log.write(r.stdout)
        if check and r.returncode != 0:
            raise AssertionError("%s exited %d:\n%s" % (" ".join(cmd), r.returncode,
                r.stdout[-3000:]))
        return r

    def timed(self, name, *cmd, **kw):
        t = time.monotonic()
        r = self.run(*cmd, **kw)
        self.times[name] = round(time.monotonic() - t, 1)
        return r

    def compose(self, *args, **kw):
        return self.run("podman-compose", "-p", self.project, *args, **kw)

    def podman(self, *args, **kw):
        return self.run("podman", *args, **kw)

    def containers(self, all_=False):
        r = self.podman("ps", *(["-a"] if all_ else []), "--format", "json",
            "--filter", "label=io.podman.compose.project=" + self.project)
        return json.loads(r.stdout or "[]")

    def container(self, service):
        return "%s_%s_1" % (self.project, service)

    def down(self):
        self.compose("down", "-t", "2", check=False, timeout=120)
        # podman-compose 1.0.3 leaves the project's network behind
        self.podman("network", "rm", "-f", self.project + "_default", check=False)

    def wait_ready(self, timeout=120):
        """bearerd answers and reaches the web app (/ through it is 200)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                w = httpx.get(self.url + "/", timeout=2)
                if w.status_code == 200:
                    return
                last = w.status_code
            except httpx.HTTPError as e:
                last = repr(e)
            time.sleep(0.2)
        logs = self.compose("logs", check=False).stdout[-4000:]
        raise AssertionError("stack not ready (%s):\n%s" % (last, logs))


@pytest.fixture(scope="module")
def stack():
    assert os.path.isdir(os.path.join(WEB_DIR, "node_modules", "better-auth")), \
        "examples/betterauth has no node_modules: run npm ci there (scripts/test does)"
    s = Stack()
    t0 = time.monotonic()
    try:
        s.timed("base_images", os.path.join(REPO, "deploy", "base-images"), cwd=REPO,
            timeout=1800)
        r = s.timed("build", "podman-compose", "-p", s.project, "build", timeout=1800)
        # podman-compose 1.0.3 exits 0 when a build fails (and an older
        # image of the same name would then be used): read what it printed
        bad = [l for l in r.stdout.splitlines()
            if l.startswith("exit code: ") and l != "exit code: 0"]
        assert not bad, "an image build failed:\n" + r.stdout[-4000:]
        s.timed("up", "podman-compose", "-p", s.project, "up", "-d", timeout=300)
        t = time.monotonic()
        s.wait_ready()
        s.times["ready"] = round(time.monotonic() - t, 1)
        s.times["total_to_ready"] = round(time.monotonic() - t0, 1)
        yield s
    finally:
        t = time.monotonic()
        s.down()
        s.times["down"] = round(time.monotonic() - t, 1)
        out = os.environ.get("BEARERD_COMPOSE_TIMES")
        if out:
            with open(out, "w") as f:
                json.dump(s.times, f)
        shutil.rmtree(s.dir, ignore_errors=True)


class User:
    def __init__(self, stack, name):
        self.client = httpx.Client(base_url=stack.url, timeout=15,
            headers={"Origin": stack.url})
        email = "%s-%s@example.com" % (name, uuid.uuid4().hex[:8])
        r = self.client.post("/api/auth/sign-up/email",
            json={"email": email, "password": PASSWORD, "name": name})
        assert r.status_code == 200, (r.status_code, r.text[:300])
        self.id = r.json()["user"]["id"]
        names = {c.name for c in self.client.cookies.jar}
        # Better Auth's own session cookie, which bearerd exchanges
        assert "better-auth.session_token" in names, names

    def get(self, path):
        return self.client.get(path)


@pytest.fixture(scope="module")
def users(stack):
    a, b = User(stack, "alice"), User(stack, "bob")
    # the API may start after the web app (502), the issuer's keys may come
    # after bearerd (503): wait until bearerd gets through
    deadline = time.monotonic() + 60
    while a.get("/api/%s/tasks" % a.id).status_code in (502, 503) and \
            time.monotonic() < deadline:
        time.sleep(0.3)
    return a, b


def test_own_tasks_through_bearerd(users):
    a, b = users
    # Better Auth's own route gets its cookies (the pages ask it who is in)
    r = a.client.get("/api/auth/get-session")
    assert r.status_code == 200 and r.json()["user"]["id"] == a.id, r.text
    r = a.get("/api/%s/tasks" % a.id)
    assert r.status_code == 200, r.text
    # the backend answered after verifying the HS256 token bearerd minted
    assert r.json() == {"user_id": a.id, "tasks": []}
    r = a.client.post("/api/%s/tasks" % a.id, json={"title": "ship it"})
    assert r.status_code == 201, r.text
    assert a.get("/api/%s/tasks" % a.id).json()["tasks"] == [
        {"id": 1, "title": "ship it", "done": False}]
    # bob's list is his own
    assert b.get("/api/%s/tasks" % b.id).json() == {"user_id": b.id, "tasks": []}


def test_other_users_path_is_403(users):
    a, b = users
    for who, path in ((a, "/api/%s/tasks" % b.id), (b, "/api/%s/tasks" % a.id)):
        r = who.get(path)
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "forbidden"


def test_no_cookie_is_401(stack, users):
    a, _ = users
    r = httpx.get(stack.url + "/api/%s/tasks" % a.id, timeout=10)
    assert r.status_code == 401 and r.json()["code"] == "no_token"
    # a bearer token of one's own does not get in either
    r = httpx.get(stack.url + "/api/%s/tasks" % a.id, timeout=10,
        headers={"Authorization": "Bearer x.y.z"})
    assert r.status_code == 401


def test_backend_verifies_tokens_itself(stack, users):
    a, _ = users
    # from inside the network, bypassing bearerd: the API wants its own token
    code = ("fetch('http://api:8000/api/%s/tasks').then(r => { console.log(r.status); })"
        % a.id)
    r = stack.podman("exec", stack.container("web"), "node", "-e", code)
    assert r.stdout.strip().splitlines()[-1] == "401", r.stdout


def test_pages_served_through_bearerd(stack):
    for path in ("/", "/tasks", "/app.js"):
        r = httpx.get(stack.url + path, timeout=10)
        assert r.status_code == 200, (path, r.status_code)
    assert "Sign up" in httpx.get(stack.url + "/", timeout=10).text


def test_only_bearerd_is_published(stack):
    published = {}
    for c in stack.containers():
        service = c["Labels"]["com.docker.compose.service"]
        published[service] = [(p.get("host_ip"), p.get("host_port"), p.get("container_port"))
            for p in (c.get("Ports") or [])]
    assert set(published) == {"bearerd", "api", "web"}, published
    assert published["api"] == [] and published["web"] == [], published
    assert published["bearerd"] == [("127.0.0.1", stack.port, 8080)], published
    # and nothing answers on the API's or the web app's ports on the host
    for port in (8000, 3000):
        r = stack.podman("port", stack.container("api" if port == 8000 else "web"),
            check=False)
        assert r.stdout.strip() == "", r.stdout


def test_image_runs_as_non_root_with_a_health_check(stack):
    r = stack.podman("image", "inspect", "localhost/bearerd:test")
    img = json.loads(r.stdout)[0]
    assert img["Config"]["User"] == "bearerd:bearerd"
    hc = img.get("Healthcheck") or img["Config"].get("Healthcheck")  # podman, docker
    assert hc and "healthcheck" in " ".join(hc["Test"]), img
    r = stack.podman("exec", stack.container("bearerd"), "id", "-u")
    assert r.stdout.strip() == "10001"
    # the HEALTHCHECK command itself: ready -> healthy
    stack.podman("healthcheck", "run", stack.container("bearerd"))
    r = stack.podman("exec", stack.container("bearerd"), "bearerd", "--version")
    assert r.stdout.startswith("bearerd ")


def _workers_in_container(stack, *opts):
    r = stack.podman("run", "-d", "--network", "none", *opts,
        "-e", "BETTER_AUTH_SECRET=" + os.urandom(32).hex(),
        "-e", "BACKEND_JWT_SECRET=" + os.urandom(32).hex(), "localhost/bearerd:test")
    cid = r.stdout.strip().splitlines()[-1]
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            logs = stack.podman("logs", cid, check=False).stdout
            m = re.search(r"with (\d+) workers", logs)
            if m:
                return int(m.group(1))
            time.sleep(0.2)
        raise AssertionError("no listening line: " + logs)
    finally:
        stack.podman("rm", "-f", "-t", "2", cid, check=False)


def test_workers_follow_the_cpu_quota(stack):
    # workers = 0 in the image's config: one per CPU the container may use
    assert _workers_in_container(stack, "--cpus", "1") == 1
    assert _workers_in_container(stack, "--cpus", "1.5") == 1
    assert _workers_in_container(stack) == len(os.sched_getaffinity(0))


def test_stop_drains_and_exits_zero(stack):
    # last of the running checks: bearerd as PID 1 handles SIGTERM itself
    stack.podman("stop", "-t", "15", stack.container("bearerd"))
    r = stack.podman("inspect", "--format", "{{.State.ExitCode}}", stack.container("bearerd"))
    assert r.stdout.strip() == "0"
    logs = stack.podman("logs", stack.container("bearerd")).stdout
    assert "draining" in logs


def test_down_leaves_nothing(stack):
    stack.down()
    assert stack.containers(all_=True) == []
    nets = stack.podman("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert not [n for n in nets if n.startswith(stack.project)], nets
    vols = stack.podman("volume", "ls", "--format", "{{.Name}}").stdout.split()
    assert not [v for v in vols if v.startswith(stack.project)], vols
    with pytest.raises(httpx.HTTPError):
        httpx.get(stack.url + "/healthz", timeout=2)

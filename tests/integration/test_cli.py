# SPDX-License-Identifier: MIT
"""The command line: -h, --help, --version, bad usage, and workers = 0 under an affinity mask."""

import os
import re
import subprocess
import time

import pytest

from conftest import BEARERD, REPO, bearerd_env, free_port


def run(*args):
    return subprocess.run([BEARERD, *args], capture_output=True, text=True, timeout=20,
        env=bearerd_env())


def project_version():
    with open(os.path.join(REPO, "meson.build")) as f:
        return re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)


def test_version():
    r = run("--version")
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[0]
    assert first == "bearerd " + project_version()
    # the libraries it runs with, for bug reports
    assert "libevent 2." in r.stdout and "OpenSSL 3." in r.stdout
    assert r.stderr == ""


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help(flag):
    r = run(flag)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: bearerd")
    for opt in ("-c file", "-t", "-v", "--version", "SIGHUP", "SIGTERM", "bearerd.conf(5)"):
        assert opt in r.stdout, opt
    assert r.stderr == ""


@pytest.mark.parametrize("args", [[], ["-x"], ["--bogus"], ["-c"], ["-c", "a", "extra"]])
def test_bad_usage(args):
    r = run(*args)
    assert r.returncode == 2
    assert "usage: bearerd" in r.stderr
    assert r.stdout == ""


def _workers(tmp_path, cpus):
    port = free_port()
    conf = tmp_path / "w0.conf"
    conf.write_text('listen = "127.0.0.1:%d"\nworkers = 0\n'
        'upstream api { url = "http://127.0.0.1:9" }\n'
        'route "/**" { upstream = api; auth = none }\n' % port)
    err = tmp_path / "w0.stderr"
    with open(err, "wb") as e:
        p = subprocess.Popen([BEARERD, "-c", str(conf)], stdout=e, stderr=e,
            env=bearerd_env(), preexec_fn=lambda: os.sched_setaffinity(0, cpus))
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                m = re.search(r"with (\d+) workers", err.read_text())
                if m:
                    return int(m.group(1))
                assert p.poll() is None, err.read_text()
                time.sleep(0.05)
            raise AssertionError("no listening line: " + err.read_text())
        finally:
            p.terminate()
            assert p.wait(20) == 0, err.read_text()


def test_workers_zero_follows_affinity(tmp_path):
    mine = os.sched_getaffinity(0)
    assert _workers(tmp_path, {min(mine)}) == 1
    # unpinned: every CPU of the mask (no cgroup quota below it in the tests)
    assert 1 <= _workers(tmp_path, mine) <= len(mine)

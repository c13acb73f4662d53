# SPDX-License-Identifier: MIT
"""Every config in the repository and the README passes `bearerd -t`."""

import os
import re
import subprocess

import pytest

from conftest import BEARERD, bearerd_env

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
SECRET = "configs-test-secret-0123456789abcdefghij"


def env():
    e = bearerd_env()
    for v in ("BETTER_AUTH_SECRET", "BACKEND_JWT_SECRET", "AUTH_SECRET", "SECRET"):
        e[v] = SECRET + v
    return e


def repo_files():
    """Every *.conf the repository tracks, but for the refused test cases."""
    out = subprocess.run(["git", "-C", ROOT, "ls-files", "*.conf"], capture_output=True,
        text=True, check=True).stdout.split()
    return [os.path.join(ROOT, f) for f in out
        if not os.path.basename(f).startswith("bad_") and "/corpus/" not in f]


def readme_blocks():
    """Fenced blocks of README.md without a language that hold a config."""
    text = open(os.path.join(ROOT, "README.md")).read()
    blocks = re.findall(r"^```([a-z]*)\n(.*?)^```", text, re.S | re.M)
    return [b for lang, b in blocks if lang in ("", "conf") and re.search(r"^route ", b, re.M)]


def bench_configs(tmp):
    """The configs scripts/bench writes (its bearerd_conf heredoc)."""
    text = open(os.path.join(ROOT, "scripts", "bench")).read()
    body = re.search(r"bearerd_conf\(\) \{.*?cat <<CONF\n(.*?)^CONF$", text, re.S | re.M).group(1)
    pem = os.path.join(ROOT, "tests", "data", "conf", "ec.pub.pem")
    out = []
    for key in ('secret = "${SECRET}"', 'key ed { pem_file = "%s"; alg = ES256 }' % pem):
        out.append(body.replace("$1", "18080").replace("$P_UP", "18000").replace("$2", key))
    return out


def check(path):
    p = subprocess.run([BEARERD, "-t", "-c", path], capture_output=True, text=True,
        timeout=30, env=env())
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("path", repo_files(), ids=lambda p: os.path.relpath(p, ROOT))
def test_repo_config(path):
    check(path)


def test_readme_configs(tmp_path):
    blocks = readme_blocks()
    assert blocks, "no config block found in README.md"
    for i, b in enumerate(blocks):
        f = tmp_path / ("readme-%d.conf" % i)
        f.write_text(b)
        check(str(f))


def test_bench_configs(tmp_path):
    for i, b in enumerate(bench_configs(tmp_path)):
        f = tmp_path / ("bench-%d.conf" % i)
        f.write_text(b)
        check(str(f))

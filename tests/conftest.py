pytest_plugins = ["pytester"]

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FAKE_MATRIX = ROOT / "tests" / "fixtures" / "matrix-fake.yaml"
CLI = [sys.executable, "-m", "harness.cli"]


def run_cli(*args, timeout=600, env=None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**os.environ, **(env or {})}, **kw)


@pytest.fixture
def fake_matrix():
    return FAKE_MATRIX


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Tests never touch the user's dataset cache (environments are shared: they are expensive)."""
    cache = tmp_path_factory.mktemp("cache")
    envs = ROOT / ".cache" / "envs"
    envs.mkdir(parents=True, exist_ok=True)
    (cache / "envs").symlink_to(envs, target_is_directory=True)
    monkeypatch.setenv("ZC_CACHE", str(cache))
    return cache

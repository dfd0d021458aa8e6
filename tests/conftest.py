pytest_plugins = ["pytester"]

import os
import shutil
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


def write_findings(directory, implementation, findings) -> Path:
    """A findings directory with one file: findings/<implementation>.yaml."""
    import yaml

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{implementation}.yaml"
    path.write_text(yaml.safe_dump({"implementation": implementation, "findings": findings}, sort_keys=False))
    return directory


def finding(fid, title, outcomes, cells, **kw):
    return {"id": fid, "title": title, "severity": kw.pop("severity", "wrong-values"), "outcomes": outcomes,
            "upstream": kw.pop("upstream", "unreported"), "cells": cells, **kw}


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Tests never touch the user's dataset cache nor their reports/ (environments and the stamps of
    built adapters are shared: they are expensive, and the builds live in the source tree anyway).
    A run without --out lands in a temporary reports directory."""
    monkeypatch.setenv("ZC_REPORTS", str(tmp_path_factory.mktemp("reports")))
    cache = tmp_path_factory.mktemp("cache")
    for shared in ("envs", "builds", "locks"):
        d = ROOT / ".cache" / shared
        d.mkdir(parents=True, exist_ok=True)
        (cache / shared).symlink_to(d, target_is_directory=True)
    monkeypatch.setenv("ZC_CACHE", str(cache))
    return cache


def started_worker(iv):
    """A started adapter worker for a test module (a generator for fixtures). Skips only when
    the toolchain the adapter's build requires is absent; a failing build fails the test."""
    from harness.environments import setup
    from harness.workers import Worker

    build = iv.build
    missing = [tool for tool in (build.requires if build else []) if not shutil.which(tool)]
    if missing:
        pytest.skip(f"{iv.id}: {', '.join(missing)} not installed")
    from harness.environments import NotAvailable

    try:
        env = setup(iv, log=lambda *_: None)
    except NotAvailable as exc:
        if os.environ.get("CI"):
            raise  # CI installs every toolchain: a build that fails there is a failure
        pytest.skip(f"{iv.id} not available here: {exc}")
    w = Worker(env)
    w.start()
    yield w
    w.stop()


# A library that only reads -> the implementation that writes the datasets its tests read.
WRITTEN_BY = {"zarr-js-freeman": "zarr-js@0.6.3", "zarr-n5": "z5py@3.0.2"}


def write_case(worker, case, tmp_path, name="ds"):
    """Ask a worker to write a catalogue case into tmp_path/name: (response, target, references)."""
    from harness.reference import ReferenceStore

    refs = ReferenceStore(tmp_path / "ref")
    target = {"kind": "local", "path": str(tmp_path / name)}
    resp = worker.request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                           "target": target})
    return resp, target, refs

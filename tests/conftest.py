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
# A library that only writes -> the implementation that reads back what it writes in its tests.
READ_BY = {"acquire-zarr": "zarr-python@3.4.2", "kerchunk": "zarr-python@3.4.2", "virtualizarr": "zarr-python@3.4.2"}


def write_n5_gzip(root, data, block, version="2.5.0"):
    """A minimal gzip N5 int32 array at root/array (dimensions in N5's F order), laid out by hand as the
    N5 spec says, so that an N5 reader is tested on no writer of the matrix."""
    import json
    import struct
    import zlib

    root.mkdir(parents=True)
    (root / "attributes.json").write_text(json.dumps({"n5": version}))
    arr = root / "array"
    arr.mkdir()
    (arr / "attributes.json").write_text(json.dumps({
        "dimensions": list(data.shape[::-1]), "blockSize": list(block[::-1]), "dataType": "int32",
        "compression": {"type": "gzip", "level": -1, "useZlib": False}, "units": "m"}))
    grid = [-(-s // b) for s, b in zip(data.shape, block)]
    for i in range(grid[0]):
        for j in range(grid[1]):
            blk = data[i * block[0]:(i + 1) * block[0], j * block[1]:(j + 1) * block[1]]
            header = struct.pack(">HH", 0, 2) + struct.pack(">II", blk.shape[1], blk.shape[0])
            c = zlib.compressobj(wbits=31)
            body = c.compress(blk.astype(">i4").tobytes()) + c.flush()
            (arr / str(j)).mkdir(exist_ok=True)
            (arr / str(j) / str(i)).write_bytes(header + body)


def write_root_array_v2(root, case, refs, attributes=None):
    """The case as a v2 array at the dataset root (.zarray at the top, no group), one raw chunk;
    `attributes` (when given) as its .zattrs."""
    import json

    root.mkdir()
    meta = {"zarr_format": 2, "shape": list(case.shape), "chunks": list(case.shape), "dtype": "<i2",
            "compressor": None, "fill_value": case.fill_value, "order": "C", "filters": None}
    (root / ".zarray").write_text(json.dumps(meta))
    if attributes is not None:
        (root / ".zattrs").write_text(json.dumps(attributes))
    (root / ".".join("0" for _ in case.shape)).write_bytes(refs.ensure(case).read_bytes())


def write_case(worker, case, tmp_path, name="ds"):
    """Ask a worker to write a catalogue case into tmp_path/name: (response, target, references)."""
    from harness.reference import ReferenceStore

    refs = ReferenceStore(tmp_path / "ref")
    target = {"kind": "local", "path": str(tmp_path / name)}
    resp = worker.request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                           "target": target})
    return resp, target, refs

"""Each real adapter at the protocol level: hello with the real library version,
write then read back a small case, a request it cannot serve answered (not a crash),
and the one-shot CLI. Environments are built on first use (pinned lock files)."""

import json
import subprocess

import pytest

from harness.cases import catalogue
from harness.environments import setup
from harness.matrix import load_matrix
from harness.reference import ReferenceStore
from harness.workers import Worker

# A case each adapter's library can write, by backend.
ROUND_TRIP = {
    "zarr3": "v3/int16/shard-16x14",
    "zarrs": "v3/int16/shard-16x14",
    "zarr2": "v2/float64/zlib/fill-nan",
    "tensorstore": "v3/int32/transpose+zstd/edge",
    "z5py": "n5/int32/gzip/3d",
    "netcdf4": "v2/int16/zlib/edge",
}
IMPLS = [iv for iv in load_matrix().impl_versions() if iv.impl.adapter == "python"]


@pytest.fixture(scope="module", params=IMPLS, ids=lambda iv: iv.id)
def worker(request):
    env = setup(request.param, log=lambda *_: None)
    w = Worker(env)
    w.start()
    yield w
    w.stop()


pytestmark = pytest.mark.adapters


def test_hello_reports_the_real_version(worker):
    h = worker.hello
    assert h["protocol"] == 1 and "read" in h["verbs"]
    # The matrix pins the package version; the adapter must report what is installed.
    if worker.impl.name != "netcdf4-python":
        assert h["version"] == worker.impl.version
    else:
        assert h["version"].startswith(worker.impl.version.split(".post")[0])


def test_write_then_read_back(worker, tmp_path):
    case = catalogue()[ROUND_TRIP[worker.impl.spec.backend]]
    refs = ReferenceStore(tmp_path / "ref")
    target = {"kind": "local", "path": str(tmp_path / "ds")}
    w = worker.request({"op": "write", "case": case.to_json(), "data": str(refs.ensure(case)), "target": target})
    assert w["status"] == "ok", w
    r = worker.request({"op": "read", "format": case.format, "path": case.path, "target": target})
    assert r["status"] == "ok", r
    assert r["hash"] == refs.hash(case) and r["shape"] == list(case.shape) and r["dtype"] == case.dtype


def test_unservable_request_is_answered(worker, tmp_path):
    r = worker.request({"op": "read", "format": "zarr3", "path": "missing",
                        "target": {"kind": "local", "path": str(tmp_path / "nothing-here")}})
    assert r["status"] in ("error", "unsupported") and r["error"]
    r = worker.request({"op": "read", "format": "zarr2", "path": "a", "target": {"kind": "gopher"}})
    assert r["status"] in ("error", "unsupported")
    assert worker.alive()
    assert worker.request({"op": "nonsense"})["status"] == "error"


def test_one_shot_cli(worker, tmp_path):
    case = catalogue()[ROUND_TRIP[worker.impl.spec.backend]]
    refs = ReferenceStore(tmp_path / "ref")
    (tmp_path / "case.json").write_text(json.dumps(case.to_json()))
    target = json.dumps({"kind": "local", "path": str(tmp_path / "ds")})
    cmd = worker.environment.command
    w = subprocess.run([*cmd, "write", "--case-json", f"@{tmp_path / 'case.json'}", "--data", str(refs.ensure(case)),
                        "--target-json", target], capture_output=True, text=True, timeout=120)
    assert json.loads(w.stdout)["status"] == "ok", w.stdout + w.stderr
    r = subprocess.run([*cmd, "read", "--target-json", target, "--path", case.path, "--format", case.format],
                       capture_output=True, text=True, timeout=120)
    assert json.loads(r.stdout)["hash"] == refs.hash(case)

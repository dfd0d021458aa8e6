"""The JavaScript adapters (zarrita.js, zarr.js) at the protocol level: built with `npm ci`
from their committed package-lock.json, hello with the real library version, write then
read back a small case, requests they cannot serve answered (not a crash), exact JSON
integers, and the one-shot CLI. Skipped only when node or npm is not installed."""

import shutil

import pytest

from harness.cases import catalogue
from harness.matrix import load_matrix
from harness.reference import ReferenceStore

from conftest import started_worker

pytestmark = pytest.mark.adapters

# impl -> (a case its library writes and reads, a case it cannot write, a format it cannot read)
JS = {
    "zarrita-js": ("v3/int16/zstd/sparse", "v3/int16/shard-16x14", "n5"),
    "zarr-js": ("v2/int16/zlib/sparse", "v3/int16/zstd/edge", "zarr3"),
}
IMPLS = [iv for iv in load_matrix().impl_versions() if iv.name in JS]


@pytest.fixture(scope="module", params=IMPLS, ids=lambda iv: iv.id)
def worker(request):
    missing = [tool for tool in ("node", "npm") if not shutil.which(tool)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (the JavaScript adapters need Node.js and npm)")
    yield from started_worker(request.param)


def test_matrix_lists_both_adapters():
    assert {iv.name for iv in IMPLS} == set(JS)


def test_hello_reports_the_real_version(worker):
    h = worker.hello
    assert h["protocol"] == 1 and h["impl"] == worker.impl.name
    assert set(h["verbs"]) == {"read", "write"} and h["language"] == "typescript"
    assert h["version"] == worker.impl.version  # read from the installed package.json
    assert h["components"]["node"]


def test_write_then_read_back(worker, tmp_path):
    case = catalogue()[JS[worker.impl.name][0]]
    refs = ReferenceStore(tmp_path / "ref")
    target = {"kind": "local", "path": str(tmp_path / "ds")}
    w = worker.request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                        "target": target})
    assert w == {"id": "w", "status": "ok"}, w
    r = worker.request({"op": "read", "id": "r", "format": case.format, "path": case.path, "target": target,
                        "dump": str(tmp_path / "dump.bin")})
    assert r["status"] == "ok", r
    assert r["hash"] == refs.hash(case) and r["shape"] == list(case.shape) and r["dtype"] == case.dtype
    assert r["fill_value"] == case.fill_value
    assert (tmp_path / "dump.bin").read_bytes() == refs.canonical(case)
    # The missing chunks were left unwritten.
    if case.format == "zarr3":
        assert not (tmp_path / "ds" / case.path / "c" / "0" / "1").exists()
    else:
        assert not (tmp_path / "ds" / case.path / "0.1").exists()


def test_unservable_requests_are_answered(worker, tmp_path):
    _, cannot_write, cannot_read = JS[worker.impl.name]
    case = catalogue()[cannot_write]
    refs = ReferenceStore(tmp_path / "ref")
    w = worker.request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                        "target": {"kind": "local", "path": str(tmp_path / "ds")}})
    assert w["status"] == "unsupported" and w["error"], w
    r = worker.request({"op": "read", "id": "r", "format": cannot_read, "path": "a",
                        "target": {"kind": "local", "path": str(tmp_path)}})
    assert r["status"] == "unsupported" and r["error"], r
    r = worker.request({"op": "read", "id": "r2", "format": "zarr2", "path": "missing",
                        "target": {"kind": "local", "path": str(tmp_path / "nothing-here")}})
    assert r["status"] == "error" and r["error"], r
    r = worker.request({"op": "read", "id": "r3", "format": "zarr2", "path": "a", "target": {"kind": "gopher"}})
    assert r["status"] == "unsupported", r
    assert worker.request({"op": "nonsense", "id": 7}) == {"id": 7, "status": "error",
                                                           "error": 'BadRequest: unknown op "nonsense"'}
    assert worker.alive()


def test_integers_beyond_2_53_are_not_rounded_by_the_adapter(worker, tmp_path):
    """The adapter hands the library the exact value; both libraries serialize metadata with
    JSON.stringify, which refuses BigInt, so the write is answered unsupported, not rounded."""
    case = catalogue()["v2/float32/zlib/nested-groups" if worker.impl.name == "zarr-js"
                       else "v3/int64/zstd/fill-i64big"]
    refs = ReferenceStore(tmp_path / "ref")
    w = worker.request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                        "target": {"kind": "local", "path": str(tmp_path / "ds")}})
    assert w["status"] == "unsupported" and "BigInt" in w["error"], w

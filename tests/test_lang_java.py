"""The Java adapters (zarr-java, JZarr) at the protocol level: built with Maven from their
committed pom.xml (every version pinned), hello with the real library version, write then
read back a small case, requests they cannot serve answered (not a crash), exact JSON
integers beyond 2^53 and -0.0, and the one-shot CLI. Skipped only when java or mvn is not
installed (JZarr also when Debian's libblosc1 is absent and cannot be installed here)."""

import json
import shutil

import pytest

from harness.cases import catalogue
from harness.matrix import load_matrix

from _native import skip_without_toolchain

from conftest import started_worker, write_case

pytestmark = pytest.mark.adapters

# impl -> (a case it writes and reads back, a case it cannot write, a format it cannot read,
#          a case with an exact fill value it writes and reads back)
JAVA = {
    "zarr-java": ("v3/int32/transpose+zstd/edge", "v3/complex64/zstd/edge", "n5", "v3/uint64/zstd/fill-u64max"),
    "jzarr": ("v2/int16/zlib/sparse", "v2/int16/zlib/edge-F", "zarr3", "v2/int64/zlib/fill-i64big"),
}
IMPLS = [iv for iv in load_matrix().impl_versions() if iv.name in JAVA]


@pytest.fixture(scope="module", params=IMPLS, ids=lambda iv: iv.id)
def worker(request):
    missing = [tool for tool in ("java", "mvn") if not shutil.which(tool)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (the Java adapters are built with Maven and run on a JDK)")
    if request.param.name == "jzarr":
        skip_without_toolchain(["java", "mvn"], ["libblosc1"])
    yield from started_worker(request.param)




def test_matrix_lists_both_adapters():
    assert {iv.name for iv in IMPLS} == set(JAVA)


def test_hello_reports_the_real_version(worker):
    h = worker.hello
    assert h["protocol"] == 1 and h["impl"] == worker.impl.name
    assert set(h["verbs"]) == {"read", "write"} and h["language"] == "java"
    assert h["version"] == worker.impl.version  # read from the library jar's Maven metadata
    assert h["components"]["java"] and h["components"]["jackson-databind"]


def test_write_then_read_back(worker, tmp_path):
    case = catalogue()[JAVA[worker.impl.name][0]]
    w, target, refs = write_case(worker, case, tmp_path)
    assert w == {"id": "w", "status": "ok"}, w
    r = worker.request({"op": "read", "id": "r", "format": case.format, "path": case.path, "target": target,
                        "dump": str(tmp_path / "dump.bin")})
    assert r["status"] == "ok", r
    assert r["hash"] == refs.hash(case) and r["shape"] == list(case.shape) and r["dtype"] == case.dtype
    assert r["fill_value"] == case.fill_value and r["attributes"] == case.attributes
    assert (tmp_path / "dump.bin").read_bytes() == refs.canonical(case)
    # The missing chunks were left unwritten.
    for idx in case.missing_chunks:
        key = "c/" + "/".join(map(str, idx)) if case.format == "zarr3" else ".".join(map(str, idx))
        assert not (tmp_path / "ds" / case.path / key).exists()


def test_exact_fill_values(worker, tmp_path):
    """Integers beyond 2^53 reach the library and come back exactly (Java longs, BigInteger)."""
    case = catalogue()[JAVA[worker.impl.name][3]]
    w, target, refs = write_case(worker, case, tmp_path)
    assert w["status"] == "ok", w
    r = worker.request({"op": "read", "id": "r", "format": case.format, "path": case.path, "target": target})
    assert r["status"] == "ok" and r["fill_value"] == case.fill_value, r
    assert r["hash"] == refs.hash(case)


def test_negative_zero_fill_value_survives(worker, tmp_path):
    fmt = "v3/float32/zstd" if worker.impl.name == "zarr-java" else "v2/float32/zlib"
    case = catalogue()[f"{fmt}/fill-negzero"]
    w, target, refs = write_case(worker, case, tmp_path)
    assert w["status"] == "ok", w
    meta = (tmp_path / "ds" / case.path / ("zarr.json" if case.format == "zarr3" else ".zarray")).read_text()
    assert json.loads(meta)["fill_value"] == -0.0 and '-0.0' in meta


def test_unservable_requests_are_answered(worker, tmp_path):
    _, cannot_write, cannot_read, _ = JAVA[worker.impl.name]
    w, _, _ = write_case(worker, catalogue()[cannot_write], tmp_path)
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
                                                           "error": "BadRequest: unknown op 'nonsense'"}
    assert worker.request({"op": "write", "id": 8})["error"] == "BadRequest: missing case, data, target"
    assert worker.alive()


ROOT_CASES = {"zarr-java": ["v2/int16/zlib/root", "v3/int16/zstd/root"], "jzarr": ["v2/int16/zlib/root"]}


@pytest.mark.parametrize("n", [0, 1])
def test_root_array(worker, tmp_path, n):
    """A root array (path "") is written as the dataset root itself, with no group metadata
    beside it, and read back from the root (both adapters used to write a root group first)."""
    cases = ROOT_CASES[worker.impl.name]
    if n >= len(cases):
        pytest.skip("no such root case for this implementation")
    case = catalogue()[cases[n]]
    w, target, refs = write_case(worker, case, tmp_path)
    assert w["status"] == "ok", w
    root = tmp_path / "ds"
    if case.format == "zarr3":
        assert json.loads((root / "zarr.json").read_text())["node_type"] == "array"
    else:
        assert (root / ".zarray").is_file() and not (root / ".zgroup").exists()
    r = worker.request({"op": "read", "id": "r", "format": case.format, "path": "", "target": target})
    assert r["status"] == "ok", r
    assert r["hash"] == refs.hash(case) and r["attributes"] == case.attributes


def test_zarr_java_writes_natively_to_s3(worker, tmp_path):
    """The native write mode: zarr-java writes through its own S3Store (the adapter used to answer
    unsupported), and the array reads back from S3. A case whose chunks tile the array exactly:
    zarr-java 0.0.9 cannot write partial chunks to S3 (finding zarr-java-writer-s3-partial-chunks)."""
    if worker.impl.name != "zarr-java":
        pytest.skip("JZarr has no S3 store")
    from harness.matrix import StoreSpec
    from harness.reference import ReferenceStore
    from harness.stores import MotoS3Store

    store = MotoS3Store("s3-moto", StoreSpec(kind="s3-moto"))
    try:
        store.start(tmp_path)
        target = store.target(tmp_path / "unused", "native/exact", "signed")
        case = catalogue()["v2/int32/blosc-lz4-shuffle/exact"]
        refs = ReferenceStore(tmp_path / "ref")
        w = worker.request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                            "target": target})
        assert w["status"] == "ok", w
        r = worker.request({"op": "read", "id": "r", "format": case.format, "path": case.path, "target": target})
        assert r["status"] == "ok" and r["hash"] == refs.hash(case), r
    finally:
        store.stop()

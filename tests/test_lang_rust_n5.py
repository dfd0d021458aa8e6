"""The n5 crate's (rust-n5) command adapter at the protocol level: built with cargo from
readers/rust-n5 over the Rust adapters' shared protocol crate (readers/rust-protocol), hello with
the n5 version pinned in its Cargo.lock, N5 cases written then read back (every compression the
crate has, root arrays, nested groups, missing chunks) with the metadata the case asks for, an N5
array made here by hand read in the C-order view, regions (protocol 2) read through the crate's
bounding boxes (only the blocks they touch, steps taken from the box, malformed regions refused), what it cannot serve answered unsupported or
error (not a crash), and the reproducer template on the adapter's dependencies. Skips only when
the Rust toolchain (cargo) is absent."""

import json
import re
import shutil
import struct

import numpy as np
import pytest

from harness.cases import catalogue
from harness.dataset_check import check_dataset
from harness.environments import ROOT, setup
from harness.matrix import load_matrix
from harness.reference import ReferenceStore, reference_array
from harness.workers import Worker
import zc_canonical as canonical
from conftest import write_n5_gzip

pytestmark = [
    pytest.mark.adapters,
    pytest.mark.skipif(shutil.which("cargo") is None, reason="the Rust toolchain (cargo) is not on PATH"),
]

ADAPTER_DIR = ROOT / "readers" / "rust-n5"
ROUND_TRIP = ["n5/int32/gzip/3d", "n5/uint8/bzip2/edge", "n5/int64/xz/edge", "n5/float64/lz4/edge",
              "n5/uint64/raw/edge", "n5/int32/gzip/1d", "n5/int32/gzip/bigchunk", "n5/int16/gzip/root",
              "n5/float32/gzip/nested-groups", "n5/int16/gzip/sparse", "n5/int16/gzip/all-missing"]


def locked_version(crate: str) -> str:
    lock = (ADAPTER_DIR / "Cargo.lock").read_text()
    m = re.search(rf'\[\[package\]\]\nname = "{re.escape(crate)}"\nversion = "([^"]+)"', lock)
    assert m, f"{crate} not in Cargo.lock"
    return m.group(1)


@pytest.fixture(scope="module")
def worker():
    (iv,) = load_matrix().resolve_impls(["rust-n5"], "reader")
    w = Worker(setup(iv, log=lambda *_: None))
    w.start()
    yield w
    w.stop()


def test_hello_reports_the_locked_n5_version(worker):
    h = worker.hello
    assert h["impl"] == "rust-n5" and h["language"] == "rust" and h["protocol"] == 2
    assert set(h["verbs"]) == {"read", "write"}
    assert h["version"] == locked_version("n5") == worker.impl.version
    assert h["components"]["flate2"] == locked_version("flate2") and h["components"]["xz2"] == locked_version("xz2")
    assert h["components"]["n5_format"] == "2.1.3"  # the N5 format version the crate implements


def _write(worker, case, tmp_path):
    refs = ReferenceStore(tmp_path / "ref")
    target = {"kind": "local", "path": str(tmp_path / "ds")}
    w = worker.request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                        "target": target})
    return w, target, refs


@pytest.mark.parametrize("case_id", ROUND_TRIP)
def test_write_then_read_back(worker, tmp_path, case_id):
    case = catalogue()[case_id]
    w, target, refs = _write(worker, case, tmp_path)
    assert w == {"id": "w", "status": "ok"}, w
    assert check_dataset(case, tmp_path / "ds") == []  # N5's reversed dimensions, compression, attributes
    dump = tmp_path / "dump.bin"
    r = worker.request({"op": "read", "id": "r", "format": "n5", "path": case.path, "target": target,
                        "dump": str(dump)})
    assert r["status"] == "ok", r
    assert r["hash"] == refs.hash(case) and r["shape"] == list(case.shape) and r["dtype"] == case.dtype
    assert r["fill_value"] is None  # N5 has no fill value
    assert r["attributes"] == case.attributes
    assert dump.read_bytes() == refs.canonical(case)


def test_missing_chunks_are_not_written(worker, tmp_path):
    case = catalogue()["n5/int16/gzip/sparse"]
    w, _, _ = _write(worker, case, tmp_path)
    assert w["status"] == "ok", w
    array = tmp_path / "ds" / "array"
    for i, j in case.missing_chunks:
        assert not (array / str(j) / str(i)).exists()  # N5's block path: grid position reversed
    written = [(i, j) for i in range(5) for j in range(5) if (i, j) not in case.missing_chunks]
    assert all((array / str(j) / str(i)).is_file() for i, j in written)


def test_n5_read_in_c_order_view(worker, tmp_path):
    data = np.arange(5 * 7, dtype="<i4").reshape(5, 7)
    write_n5_gzip(tmp_path / "n5", data, (2, 3))
    r = worker.request({"op": "read", "id": "r", "format": "n5", "path": "array",
                        "target": {"kind": "local", "path": str(tmp_path / "n5")}})
    assert r["status"] == "ok", r
    assert r["shape"] == [5, 7] and r["dtype"] == "int32"
    assert r["hash"] == canonical.canonical_hash(data)
    assert r["attributes"] == {"units": "m"}


@pytest.mark.parametrize("case_id, region", [
    ("n5/int32/gzip/3d", [[1, 6, 1], [2, 7, 3], [0, 8, 3]]),  # steps on two axes, a step at the edge
    ("n5/int32/gzip/1d", [[3, 50, 7]]),  # into the partial last block
    ("n5/int16/gzip/sparse", [[5, 30, 3], [2, 25, 4]]),  # missing blocks in the box read as zeros
    ("n5/float64/lz4/edge", [[19, 20, 1], [29, 30, 5]]),  # the one element at the far corner
])
def test_a_region_is_read(worker, tmp_path, case_id, region):
    """A region (protocol 2), given in the C-order view: the selected elements, their shape and dump."""
    case = catalogue()[case_id]
    w, target, refs = _write(worker, case, tmp_path)
    assert w["status"] == "ok", w
    dump = tmp_path / "dump.bin"
    r = worker.request({"op": "read", "id": "r", "format": "n5", "path": case.path, "target": target,
                        "region": region, "dump": str(dump)})
    assert r["status"] == "ok", r
    want = reference_array(case)[tuple(slice(*s) for s in region)]
    assert r["shape"] == list(want.shape) and r["dtype"] == case.dtype and r["fill_value"] is None
    assert r["hash"] == canonical.canonical_hash(want, case.dtype)
    assert dump.read_bytes() == canonical.canonical_bytes(want, case.dtype)
    assert r["attributes"] == case.attributes


def test_a_region_reads_only_the_blocks_it_touches(worker, tmp_path):
    """The bounding box of a region is what the crate reads: a corrupt block outside it does not
    matter (a whole read fails on it), and the region's own blocks are read."""
    data = np.arange(5 * 7, dtype="<i4").reshape(5, 7)
    write_n5_gzip(tmp_path / "n5", data, (2, 3))
    (tmp_path / "n5" / "array" / "2" / "2").write_bytes(b"not a block")  # rows 4:5, columns 6:7
    target = {"kind": "local", "path": str(tmp_path / "n5")}
    r = worker.request({"op": "read", "id": "r", "format": "n5", "path": "array", "target": target,
                        "region": [[1, 4, 1], [2, 7, 2]]})
    assert r["status"] == "ok", r
    assert r["shape"] == [3, 3] and r["hash"] == canonical.canonical_hash(data[1:4, 2:7:2])
    r = worker.request({"op": "read", "id": "w", "format": "n5", "path": "array", "target": target})
    assert r["status"] == "error", r


def test_malformed_regions_are_bad_requests(worker, tmp_path):
    data = np.arange(5 * 7, dtype="<i4").reshape(5, 7)
    write_n5_gzip(tmp_path / "n5", data, (2, 3))
    target = {"kind": "local", "path": str(tmp_path / "n5")}
    for region in ([[0, 5, 1]], [[0, 5, 1], [0, 8, 1]], [[0, 5, 1], [3, 3, 1]], [[0, 5, 0], [0, 7, 1]],
                   [[0, 5], [0, 7]], "0:5", [[-1, 5, 1], [0, 7, 1]], [[0, 5, 1], [0, 7, 1], [0, 1, 1]]):
        r = worker.request({"op": "read", "id": "b", "format": "n5", "path": "array", "target": target,
                            "region": region})
        assert r["status"] == "error" and r["error"].startswith("BadRequest: "), (region, r)
    r = worker.request({"op": "read", "id": "n", "format": "n5", "path": "array", "target": target,
                        "region": None})
    assert r["status"] == "ok" and r["hash"] == canonical.canonical_hash(data), r
    assert worker.alive()


def test_one_shot_region(worker, tmp_path):
    """The one-shot read verb takes --region-json (the same code path)."""
    import subprocess

    data = np.arange(5 * 7, dtype="<i4").reshape(5, 7)
    write_n5_gzip(tmp_path / "n5", data, (2, 3))
    target = json.dumps({"kind": "local", "path": str(tmp_path / "n5")})
    env = worker.environment
    cmd = [*env.command, "read", "--target-json", target, "--path", "array", "--format", "n5"]
    out = subprocess.run([*cmd, "--region-json", "[[0,5,2],[1,6,4]]"], capture_output=True, text=True,
                         env=env.env, check=True)
    r = json.loads(out.stdout)
    assert r["shape"] == [3, 2] and r["hash"] == canonical.canonical_hash(data[0:5:2, 1:6:4]), r
    out = subprocess.run([*cmd, "--region-json", "[[0,9,1],[0,7,1]]"], capture_output=True, text=True, env=env.env)
    assert out.returncode == 1 and "BadRequest" in json.loads(out.stdout)["error"]


def test_a_container_of_a_newer_major_version_is_refused(worker, tmp_path):
    """The crate implements N5 2.1.3 and opens only containers of major version 2 or lower: a
    root marked "n5": "4.0.0" (as n5-java 3 writes) is refused with its own text (a finding)."""
    write_n5_gzip(tmp_path / "n5", np.zeros((2, 2), "<i4"), (2, 2), version="4.0.0")
    r = worker.request({"op": "read", "id": "r", "format": "n5", "path": "array",
                        "target": {"kind": "local", "path": str(tmp_path / "n5")}})
    assert r["status"] == "error" and "Incompatible version" in r["error"], r


def _xxh32(data: bytes, seed: int) -> int:
    """XXH32, the checksum of lz4-java's block stream."""
    p1, p2, p3, p4, p5, m = 2654435761, 2246822519, 3266489917, 668265263, 374761393, 0xFFFFFFFF

    def rotl(x, r):
        return ((x << r) | (x >> (32 - r))) & m

    def lane(i):
        return int.from_bytes(data[i:i + 4], "little")

    n, i = len(data), 0
    if n >= 16:
        v = [(seed + p1 + p2) & m, (seed + p2) & m, seed, (seed - p1) & m]
        while i + 16 <= n:
            v = [rotl((v[k] + lane(i + 4 * k) * p2) & m, 13) * p1 & m for k in range(4)]
            i += 16
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & m
    else:
        h = (seed + p5) & m
    h = (h + n) & m
    while i + 4 <= n:
        h = rotl((h + lane(i) * p3) & m, 17) * p4 & m
        i += 4
    for b in data[i:]:
        h = rotl((h + b * p5) & m, 11) * p1 & m
    h ^= h >> 15
    h = h * p2 & m
    h ^= h >> 13
    h = h * p3 & m
    return h ^ (h >> 16)


def _lz4_java_block_stream(raw: bytes) -> bytes:
    """What n5-java's Lz4Compression writes (lz4-java's LZ4BlockOutputStream, 64 KiB blocks): here one
    block stored uncompressed (method RAW, which LZ4BlockInputStream reads as any other), then the end
    mark."""
    token = 0x10 | 6  # COMPRESSION_METHOD_RAW | level of a 64 KiB block size
    check = _xxh32(raw, 0x9747B28C) & 0x0FFFFFFF
    head = b"LZ4Block" + bytes([token]) + struct.pack("<iii", len(raw), len(raw), check)
    return head + raw + b"LZ4Block" + bytes([token]) + struct.pack("<iii", 0, 0, 0)


def test_lz4_is_the_lz4_frame_format_not_n5s(worker, tmp_path):
    """N5's lz4 (n5-java's Lz4Compression) is lz4-java's block stream ("LZ4Block" blocks); the crate
    encodes and decodes the LZ4 frame format instead, so it fails on n5-java's blocks (a finding) and
    writes blocks only it reads."""
    root = tmp_path / "n5"
    (root / "array" / "0").mkdir(parents=True)
    (root / "attributes.json").write_text(json.dumps({"n5": "2.5.0"}))
    (root / "array" / "attributes.json").write_text(json.dumps({
        "dimensions": [3, 2], "blockSize": [3, 2], "dataType": "int16", "compression": {"type": "lz4", "blockSize": 65536}}))
    data = np.arange(6, dtype=">i2")
    header = struct.pack(">HHII", 0, 2, 3, 2)
    (root / "array" / "0" / "0").write_bytes(header + _lz4_java_block_stream(data.tobytes()))
    r = worker.request({"op": "read", "id": "r", "format": "n5", "path": "array",
                        "target": {"kind": "local", "path": str(root)}})
    assert r["status"] == "error" and "ERROR_frameType_unknown" in r["error"], r
    case = catalogue()["n5/float64/lz4/edge"]
    w, _, _ = _write(worker, case, tmp_path)
    assert w["status"] == "ok", w
    block = (tmp_path / "ds" / "array" / "0" / "0").read_bytes()
    assert block[12:16] == bytes.fromhex("04224d18")  # after the 2-d block header (12 bytes): the LZ4 frame magic


def test_unservable_requests_are_answered(worker, tmp_path):
    refs = ReferenceStore(tmp_path / "ref")
    target = {"kind": "local", "path": str(tmp_path / "ds")}
    for case_id, why in (("v3/int16/zstd/edge", "N5 only"), ("v2/int16/zlib/edge", "N5 only"),
                         ("n5/uint32/blosc/edge", "unknown variant `blosc`"),
                         ("n5/int8/zstd/edge", "unknown variant `zstd`")):
        case = catalogue()[case_id]
        w = worker.request({"op": "write", "id": "u", "case": case.to_json(), "data": str(refs.ensure(case)),
                            "target": target})
        assert w["status"] == "unsupported" and why in w["error"], w
    for fmt in ("zarr2", "zarr3"):
        r = worker.request({"op": "read", "id": "z", "format": fmt, "path": "a", "target": target})
        assert r["status"] == "unsupported" and "N5 only" in r["error"], r
    s3 = {"kind": "s3", "bucket": "b", "key": "k", "endpoint": "http://127.0.0.1:9", "anonymous": True}
    r = worker.request({"op": "read", "id": "s", "format": "n5", "path": "a", "target": s3})
    assert r["status"] == "unsupported" and "N5Filesystem" in r["error"], r
    r = worker.request({"op": "read", "id": "m", "format": "n5", "path": "missing",
                        "target": {"kind": "local", "path": str(tmp_path / "nothing-here")}})
    assert r["status"] == "error" and r["error"], r
    r = worker.request({"op": "read", "id": "g", "format": "n5", "path": "a", "target": {"kind": "gopher"}})
    assert r["status"] == "unsupported" and "gopher" in r["error"]
    assert worker.request({"op": "nonsense", "id": 1}) == {
        "id": 1, "status": "error", "error": "BadRequest: unknown op \"nonsense\""}
    assert worker.alive()


def test_reproducer_template_builds_on_the_adapters_dependencies():
    """The reproducer's Cargo project has the adapter's dependencies with the same features (so
    that cargo reuses the adapter's build in the shared target directory), less the adapter's
    protocol crate, and its lock file."""
    import tomllib

    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    repro = ADAPTER_DIR / "repro"
    env = Environment(loader=FileSystemLoader(str(repro)), undefined=StrictUndefined)
    reader = {"id": "rust-n5@x", "version": locked_version("n5"), "components": {}}
    deps = tomllib.loads(env.get_template("Cargo.toml.j2").render(reader=reader, finding=None))["dependencies"]
    adapter = tomllib.loads((ADAPTER_DIR / "Cargo.toml").read_text())["dependencies"]
    assert adapter.pop("zc-protocol") == {"path": "../rust-protocol"}
    assert deps == adapter
    assert (repro / "Cargo.lock").resolve() == (ADAPTER_DIR / "Cargo.lock").resolve()
    spec = load_matrix().implementations["rust-n5"].repro
    assert spec.template == "readers/rust-n5/repro" and "--offline" in spec.run

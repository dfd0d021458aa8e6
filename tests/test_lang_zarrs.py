"""The zarrs (Rust) command adapter at the protocol level: built with cargo from
readers/zarrs-rs, hello with the zarrs version pinned in its Cargo.lock, write
then read back small cases (v3 sharded, v2, strings), N5 read through zarrs_n5,
regions (protocol 2) read as array subsets (only the chunks and inner chunks they
touch, steps taken from the bounding box, N5's axes reversed, malformed regions
refused), requests it cannot serve answered as unsupported/error (not a crash),
and the one-shot CLI. Skips only when the Rust toolchain (cargo) is absent."""

import json
import re
import shutil

import numpy as np
import pytest

from harness.cases import catalogue
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

ADAPTER_DIR = ROOT / "readers" / "zarrs-rs"
ROUND_TRIP = ["v3/int16/shard-16x14", "v2/float64/zlib/fill-nan", "v3/string/zstd/edge", "v2/U5/zlib/edge"]


def locked_version(crate: str) -> str:
    lock = (ADAPTER_DIR / "Cargo.lock").read_text()
    m = re.search(rf'\[\[package\]\]\nname = "{re.escape(crate)}"\nversion = "([^"]+)"', lock)
    assert m, f"{crate} not in Cargo.lock"
    return m.group(1)


@pytest.fixture(scope="module")
def env():
    (iv,) = load_matrix().resolve_impls(["zarrs"], "reader")
    return setup(iv, log=lambda *_: None)


@pytest.fixture(scope="module")
def worker(env):
    w = Worker(env)
    w.start()
    yield w
    w.stop()


def test_hello_reports_the_locked_zarrs_version(worker):
    h = worker.hello
    assert h["impl"] == "zarrs" and h["language"] == "rust" and h["protocol"] == 2
    assert set(h["verbs"]) == {"read", "write"}
    assert h["version"] == locked_version("zarrs") == worker.impl.version
    assert h["components"]["zarrs_object_store"] == locked_version("zarrs_object_store")
    assert h["components"]["zarrs_n5"] == locked_version("zarrs_n5")


@pytest.mark.parametrize("case_id", ROUND_TRIP)
def test_write_then_read_back(worker, tmp_path, case_id):
    case = catalogue()[case_id]
    refs = ReferenceStore(tmp_path / "ref")
    target = {"kind": "local", "path": str(tmp_path / "ds")}
    w = worker.request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                        "target": target})
    assert w == {"id": "w", "status": "ok"}, w
    dump = tmp_path / "dump.bin"
    r = worker.request({"op": "read", "id": "r", "format": case.format, "path": case.path, "target": target,
                        "dump": str(dump)})
    assert r["status"] == "ok", r
    assert r["hash"] == refs.hash(case) and r["shape"] == list(case.shape) and r["dtype"] == case.dtype
    assert canonical.fill_equal(r["fill_value"], case.fill_value, case.dtype)
    assert r["attributes"] == case.attributes
    assert dump.read_bytes() == refs.canonical(case)


def test_missing_chunks_are_not_written(worker, tmp_path):
    case = catalogue()["v3/int16/zstd/sparse"]
    refs = ReferenceStore(tmp_path / "ref")
    ds = tmp_path / "ds"
    w = worker.request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                        "target": {"kind": "local", "path": str(ds)}})
    assert w["status"] == "ok", w
    for i, j in case.missing_chunks:
        assert not (ds / "array" / "c" / str(i) / str(j)).exists()


def test_n5_read_in_c_order_view(worker, tmp_path):
    data = np.arange(5 * 7, dtype="<i4").reshape(5, 7)
    write_n5_gzip(tmp_path / "n5", data, (2, 3))
    r = worker.request({"op": "read", "id": "r", "format": "n5", "path": "array",
                        "target": {"kind": "local", "path": str(tmp_path / "n5")}})
    assert r["status"] == "ok", r
    assert r["shape"] == [5, 7] and r["dtype"] == "int32"
    assert r["hash"] == canonical.canonical_hash(data)
    assert r["attributes"] == {"units": "m"}


def _write(worker, case, tmp_path):
    refs = ReferenceStore(tmp_path / "ref")
    target = {"kind": "local", "path": str(tmp_path / "ds")}
    w = worker.request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                        "target": target})
    assert w == {"id": "w", "status": "ok"}, w
    return target


@pytest.mark.parametrize("case_id, region", [
    ("v3/int16/shard-16x14", [[3, 30, 1], [5, 28, 4]]),  # across shards and inner chunks, a step to the edge
    ("v2/float64/zlib/fill-nan", [[0, 20, 3], [6, 29, 5]]),
    ("v3/string/zstd/edge", [[7, 20, 2], [12, 30, 3]]),  # variable-length elements
    ("v2/U5/zlib/edge", [[1, 2, 1], [0, 30, 29]]),
    ("v3/int16/zstd/sparse", [[5, 40, 3], [2, 25, 4]]),  # missing chunks in the box: the fill value
    ("v3/int16/shard-1d", [[9, 100, 11]]),
])
def test_a_region_is_read(worker, tmp_path, case_id, region):
    """A region (protocol 2): the selected elements, their shape and dump; the array's fill value."""
    case = catalogue()[case_id]
    target = _write(worker, case, tmp_path)
    dump = tmp_path / "dump.bin"
    r = worker.request({"op": "read", "id": "r", "format": case.format, "path": case.path, "target": target,
                        "region": region, "dump": str(dump)})
    assert r["status"] == "ok", r
    want = reference_array(case)[tuple(slice(*a) for a in region)]
    assert r["shape"] == list(want.shape) and r["dtype"] == case.dtype
    assert r["hash"] == canonical.canonical_hash(want, case.dtype)
    assert dump.read_bytes() == canonical.canonical_bytes(want, case.dtype)
    assert canonical.fill_equal(r["fill_value"], case.fill_value, case.dtype)
    assert r["attributes"] == case.attributes


def test_a_region_decodes_only_the_inner_chunks_it_touches(worker, tmp_path):
    """zarrs reads a region's inner chunks of a shard alone: an inner chunk made garbage outside the
    region does not matter, and a region over it fails."""
    import struct

    case = catalogue()["v3/int16/shard-16x14"]  # shards 16x14 of inner chunks 8x7, the index at the end
    target = _write(worker, case, tmp_path)
    shard = tmp_path / "ds" / "array" / "c" / "1" / "1"
    raw = bytearray(shard.read_bytes())
    index = raw[-(4 * 16 + 4):-4]
    offset, nbytes = struct.unpack_from("<QQ", index, 3 * 16)  # inner chunk (1, 1) of the shard
    raw[offset:offset + nbytes] = b"\xff" * nbytes
    shard.write_bytes(bytes(raw))
    region = [[17, 24, 1], [14, 21, 2]]  # inside inner chunk (0, 0) of shard (1, 1)
    r = worker.request({"op": "read", "id": "r", "format": "zarr3", "path": case.path, "target": target,
                        "region": region})
    assert r["status"] == "ok", r
    assert r["hash"] == canonical.canonical_hash(reference_array(case)[17:24, 14:21:2], case.dtype)
    r = worker.request({"op": "read", "id": "r", "format": "zarr3", "path": case.path, "target": target,
                        "region": [[20, 30, 1], [15, 28, 3]]})
    assert r["status"] == "error", r


def test_n5_region_in_c_order_view(worker, tmp_path):
    """An N5 region is given in the reversed (C-order) view: the adapter reverses it for zarrs_n5, whose
    order is N5's own, and zarrs reads only the blocks it touches (a corrupt block outside does not
    matter). A region that covers part of a block fails (a finding): zarrs decodes a part of a chunk
    through a partial decoder that fetches the chunk with get_partial_many, which zarrs_n5's N5Store
    refuses (its supports_get_partial is false), while whole blocks are fetched with get."""
    data = np.arange(5 * 7, dtype="<i4").reshape(5, 7)
    write_n5_gzip(tmp_path / "n5", data, (2, 3))
    (tmp_path / "n5" / "array" / "2" / "2").write_bytes(b"not a block")  # rows 4:5, columns 6:7
    target = {"kind": "local", "path": str(tmp_path / "n5")}
    r = worker.request({"op": "read", "id": "r", "format": "n5", "path": "array", "target": target,
                        "region": [[0, 4, 1], [0, 6, 4]]})  # whole blocks
    assert r["status"] == "ok", r
    assert r["shape"] == [4, 2] and r["hash"] == canonical.canonical_hash(data[0:4, 0:6:4])
    r = worker.request({"op": "read", "id": "r", "format": "n5", "path": "array", "target": target,
                        "region": [[1, 4, 1], [0, 6, 4]]})  # part of the blocks of rows 0:2
    assert r == {"id": "r", "status": "error", "error": "ArrayError: get_partial_many not supported"}, r
    r = worker.request({"op": "read", "id": "b", "format": "n5", "path": "array", "target": target,
                        "region": [[0, 5, 1], [0, 8, 1]]})  # beyond the C-order view's 7 columns
    assert r["status"] == "error" and r["error"].startswith("BadRequest: "), r


def test_malformed_regions_are_bad_requests(worker, tmp_path):
    case = catalogue()["v2/int16/zlib/edge"]
    target = _write(worker, case, tmp_path)
    for region in ([[0, 20, 1]], [[0, 20, 1], [0, 31, 1]], [[0, 20, 1], [3, 3, 1]], [[0, 20, 0], [0, 30, 1]],
                   [[0, 20], [0, 30]], "0:20", [[-1, 20, 1], [0, 30, 1]], [[0, 20, 1], [0, 30, 1], [0, 1, 1]],
                   [[0, 20, 1], [0, 30.5, 1]]):
        r = worker.request({"op": "read", "id": "b", "format": "zarr2", "path": case.path, "target": target,
                            "region": region})
        assert r["status"] == "error" and r["error"].startswith("BadRequest: "), (region, r)
    r = worker.request({"op": "read", "id": "n", "format": "zarr2", "path": case.path, "target": target,
                        "region": None})
    assert r["status"] == "ok" and r["shape"] == [20, 30], r
    assert worker.alive()


def test_one_shot_region(worker, tmp_path):
    """The one-shot read verb takes --region-json (the same code path)."""
    import subprocess

    case = catalogue()["v3/int16/zstd/edge"]
    target = _write(worker, case, tmp_path)
    env = worker.environment
    cmd = [*env.command, "read", "--target-json", json.dumps(target), "--path", case.path, "--format", "zarr3"]
    out = subprocess.run([*cmd, "--region-json", "[[2,19,4],[0,30,7]]"], capture_output=True, text=True,
                         env=env.env, check=True)
    r = json.loads(out.stdout)
    want = reference_array(case)[2:19:4, 0:30:7]
    assert r["shape"] == list(want.shape) and r["hash"] == canonical.canonical_hash(want, case.dtype), r
    out = subprocess.run([*cmd, "--region-json", "[[0,21,1],[0,30,1]]"], capture_output=True, text=True, env=env.env)
    assert out.returncode == 1 and "BadRequest" in json.loads(out.stdout)["error"]


def test_unservable_requests_are_answered(worker, tmp_path):
    target = {"kind": "local", "path": str(tmp_path / "ds")}
    refs = ReferenceStore(tmp_path / "ref")
    for case_id in ("v3/S6/zstd/edge", "n5/int16/raw/edge", "v2/int32/filter-delta+zlib/edge"):
        case = catalogue()[case_id]
        w = worker.request({"op": "write", "id": "u", "case": case.to_json(), "data": str(refs.ensure(case)),
                            "target": target})
        assert w["status"] == "unsupported" and w["error"], w
    r = worker.request({"op": "read", "id": "m", "format": "zarr3", "path": "missing",
                        "target": {"kind": "local", "path": str(tmp_path / "nothing-here")}})
    assert r["status"] in ("error", "unsupported") and r["error"]
    r = worker.request({"op": "read", "id": "g", "format": "zarr2", "path": "a", "target": {"kind": "gopher"}})
    assert r["status"] == "unsupported"
    assert worker.request({"op": "nonsense", "id": 1}) == {
        "id": 1, "status": "error", "error": "BadRequest: unknown op \"nonsense\""}
    assert worker.alive()


@pytest.mark.parametrize("case_id", ["v2/int16/zlib/root", "v3/int16/zstd/root"])
def test_root_array_is_the_dataset(worker, tmp_path, case_id):
    """A case at path "" is an array at the dataset root: no group metadata beside it
    (a .zgroup next to the .zarray makes the root ambiguous), and it reads back at ""."""
    case = catalogue()[case_id]
    assert case.path == ""
    refs = ReferenceStore(tmp_path / "ref")
    ds = tmp_path / "ds"
    target = {"kind": "local", "path": str(ds)}
    w = worker.request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                        "target": target})
    assert w == {"id": "w", "status": "ok"}, w
    if case.format == "zarr2":
        assert (ds / ".zarray").is_file() and not (ds / ".zgroup").exists()
    else:
        assert json.loads((ds / "zarr.json").read_text())["node_type"] == "array"
    r = worker.request({"op": "read", "id": "r", "format": case.format, "path": "", "target": target})
    assert r["status"] == "ok", r
    assert r["hash"] == refs.hash(case) and r["attributes"] == case.attributes


def test_n5_root_array(worker, tmp_path):
    data = np.arange(5 * 7, dtype="<i4").reshape(5, 7)
    write_n5_gzip(tmp_path / "n5", data, (2, 3))
    root = tmp_path / "n5" / "array"  # the array directory alone is an N5 root array
    attrs = json.loads((root / "attributes.json").read_text())
    (root / "attributes.json").write_text(json.dumps({**attrs, "n5": "2.5.0"}))
    r = worker.request({"op": "read", "id": "r", "format": "n5", "path": "",
                        "target": {"kind": "local", "path": str(root)}})
    assert r["status"] == "ok", r
    assert r["shape"] == [5, 7] and r["hash"] == canonical.canonical_hash(data)
    assert r["attributes"] == {"units": "m"}


def test_reproducer_template_builds_on_the_adapters_dependencies():
    """The reproducer's Cargo project has the adapter's dependencies with the same features
    (so cargo reuses the adapter's build in the shared target directory) and its lock file."""
    import tomllib

    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    repro = ADAPTER_DIR / "repro"
    env = Environment(loader=FileSystemLoader(str(repro)), undefined=StrictUndefined)
    reader = {"id": "zarrs@x", "version": locked_version("zarrs"),
              "components": {c: locked_version(c) for c in ("zarrs_n5", "zarrs_object_store")}}
    text = env.get_template("Cargo.toml.j2").render(reader=reader, finding=None, format="zarr3")
    deps = tomllib.loads(text)["dependencies"]
    adapter = tomllib.loads((ADAPTER_DIR / "Cargo.toml").read_text())["dependencies"]
    # The adapter's protocol crate (a path dependency, not in a bundle) brings the rest of them.
    protocol = adapter.pop("zc-protocol")
    assert protocol == {"path": "../rust-protocol"}
    shared = tomllib.loads((ADAPTER_DIR / protocol["path"] / "Cargo.toml").read_text())["dependencies"]
    assert {k: v for k, v in deps.items() if k != "num-complex"} == {**shared, **adapter}
    assert (repro / "Cargo.lock").resolve() == (ADAPTER_DIR / "Cargo.lock").resolve()
    spec = load_matrix().implementations["zarrs"].repro
    assert spec.template == "readers/zarrs-rs/repro" and "--offline" in spec.run


def test_native_write_to_s3_then_read_back(worker, tmp_path):
    """The native write mode: zarrs writes straight into S3 through zarrs_object_store (and
    leaves the case's missing chunks out); the same S3 target reads back the reference."""
    from harness.matrix import StoreSpec
    from harness.stores import MotoS3Store

    store = MotoS3Store("s3-moto", StoreSpec(kind="s3-moto", access=["signed"]))
    store.start(tmp_path)
    try:
        refs = ReferenceStore(tmp_path / "ref")
        for case_id in ("v2/int16/zlib/sparse", "v3/int16/zstd/root"):
            case = catalogue()[case_id]
            key = "native/" + case_id.replace("/", "_")
            target = store.target(tmp_path, key, "signed")
            w = worker.request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                                "target": target})
            assert w == {"id": "w", "status": "ok"}, w
            r = worker.request({"op": "read", "id": "r", "format": case.format, "path": case.path, "target": target})
            assert r["status"] == "ok" and r["hash"] == refs.hash(case), r
            keys = {o["Key"] for o in store.client().list_objects_v2(Bucket=store.bucket("signed", key),
                                                                    Prefix=key + "/")["Contents"]}
            for i, j in case.missing_chunks:
                assert f"{key}/{case.path}/{i}.{j}" not in keys
    finally:
        store.stop()

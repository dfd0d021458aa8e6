"""The zarrs (Rust) command adapter at the protocol level: built with cargo from
readers/zarrs-rs, hello with the zarrs version pinned in its Cargo.lock, write
then read back small cases (v3 sharded, v2, strings), N5 read through zarrs_n5,
requests it cannot serve answered as unsupported/error (not a crash), and the
one-shot CLI. Skips only when the Rust toolchain (cargo) is absent."""

import json
import re
import shutil

import numpy as np
import pytest

from harness.cases import catalogue
from harness.environments import ROOT, setup
from harness.matrix import load_matrix
from harness.reference import ReferenceStore
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
    assert h["impl"] == "zarrs" and h["language"] == "rust" and h["protocol"] == 1
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

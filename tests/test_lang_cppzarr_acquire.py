"""The C++ libraries of the Python adapter, cpp-zarr and acquire-zarr, on what the contract test does
not cover: what each writes as zarr-python reads it, the fill value and attributes cpp-zarr's adapter
takes from the metadata (the library has no API for them), cpp-zarr's -0.0 finding shown on the library
alone, and acquire-zarr's refusals (a writer only, of sharded Zarr v3)."""

import json
import subprocess
import textwrap

import numpy as np
import pytest

from harness.cases import catalogue
from harness.environments import setup
from harness.matrix import load_matrix
from harness.reference import reference_array
from conftest import started_worker, write_case

pytestmark = pytest.mark.adapters


def _iv(name):
    (iv,) = load_matrix().resolve_impls([name], "writer")
    return iv


@pytest.fixture(scope="module")
def cpp_zarr():
    yield from started_worker(_iv("cpp-zarr"))


@pytest.fixture(scope="module")
def acquire_zarr():
    yield from started_worker(_iv("acquire-zarr"))


@pytest.fixture(scope="module")
def zarr_python():
    yield from started_worker(_iv("zarr-python@3.4.2"))


def _read(worker, case, target, tmp_path):
    return worker.request({"op": "read", "format": case.format, "path": case.path, "target": target,
                           "dump": str(tmp_path / f"{worker.impl.name}.bin")})


@pytest.mark.parametrize("case_id", ["v2/int16/raw/edge", "v3/float32/shard-blosc/3d"])
def test_what_cpp_zarr_writes_zarr_python_reads(cpp_zarr, zarr_python, tmp_path, case_id):
    case = catalogue()[case_id]
    w, target, refs = write_case(cpp_zarr, case, tmp_path)
    assert w["status"] == "ok", w
    r = _read(zarr_python, case, target, tmp_path)
    assert r["status"] == "ok", r
    assert (r["hash"], r["shape"], r["dtype"]) == (refs.hash(case), list(case.shape), case.dtype)


@pytest.mark.parametrize("case_id", ["v2/int16/zlib/root", "v3/int16/zstd/root", "v3/bool/zstd/fill-true"])
def test_cpp_zarr_reports_the_fill_value_and_attributes_its_metadata_records(cpp_zarr, zarr_python, tmp_path,
                                                                              case_id):
    """read_zarr gives the data only: the adapter's fill value and attributes are those of the metadata
    (a v2 array's .zattrs, a v3 array's zarr.json)."""
    case = catalogue()[case_id]
    w, target, refs = write_case(zarr_python, case, tmp_path)
    assert w["status"] == "ok", w
    r = _read(cpp_zarr, case, target, tmp_path)
    assert r["status"] == "ok", r
    assert (r["hash"], r["attributes"], r["fill_value"]) == (refs.hash(case), case.attributes, case.fill_value)


def test_cpp_zarr_reads_missing_chunks_of_a_negative_zero_fill_as_positive_zero(zarr_python, tmp_path):
    """The finding cpp-zarr-negzero-fill-lost, on the library alone (no adapter): the elements of the
    missing chunks have no sign bit, where zarr-python's have it."""
    case = catalogue()["v2/float32/zlib/fill-negzero"]
    assert case.missing_chunks and str(case.fill_value) in ("-0.0", "-0")
    w, target, refs = write_case(zarr_python, case, tmp_path)
    assert w["status"] == "ok", w
    script = textwrap.dedent("""
        import sys, numpy as np, cppzarr
        print(int(np.signbit(cppzarr.read_zarr(sys.argv[1])).sum()))
    """)
    python = setup(_iv("cpp-zarr"), log=lambda *a: None).command[0]
    proc = subprocess.run([python, "-c", script, str(tmp_path / "ds" / case.path)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    own, expected = int(proc.stdout), int(np.signbit(reference_array(case)).sum())
    assert own < expected, (own, expected)


def test_cpp_zarr_answers_remote_stores_unsupported(cpp_zarr):
    r = cpp_zarr.request({"op": "read", "format": "zarr3", "path": "array",
                          "target": {"kind": "s3", "bucket": "b", "prefix": "p", "endpoint": "http://127.0.0.1:1"}})
    assert r["status"] == "unsupported" and "local file system only" in r["error"], r


def test_acquire_zarr_is_a_writer_only(acquire_zarr, tmp_path):
    assert acquire_zarr.hello["verbs"] == ["write"]
    r = acquire_zarr.request({"op": "read", "format": "zarr3", "path": "array",
                              "target": {"kind": "local", "path": str(tmp_path)}})
    assert r["status"] == "unsupported" and r["error"], r


def test_what_acquire_zarr_writes_is_sharded_and_zarr_python_reads_it(acquire_zarr, zarr_python, tmp_path):
    case = catalogue()["v3/float32/shard-blosc/3d"]
    w, target, refs = write_case(acquire_zarr, case, tmp_path)
    assert w["status"] == "ok", w
    meta = json.loads((tmp_path / "ds" / case.path / "zarr.json").read_text())
    (codec,) = meta["codecs"]
    assert codec["name"] == "sharding_indexed"
    assert codec["configuration"]["chunk_shape"] == case.codecs[0]["configuration"]["chunk_shape"]
    r = _read(zarr_python, case, target, tmp_path)
    assert r["status"] == "ok", r
    assert (r["hash"], r["shape"], r["dtype"]) == (refs.hash(case), list(case.shape), case.dtype)


@pytest.mark.parametrize("case_id, says", [
    ("v3/int16/zstd/sparse", "streams every chunk"),
    ("v2/int16/zlib/edge", "writes Zarr v3 only"),
])
def test_acquire_zarr_refuses_what_its_api_cannot_express(acquire_zarr, tmp_path, case_id, says):
    w, _, _ = write_case(acquire_zarr, catalogue()[case_id], tmp_path)
    assert w["status"] == "unsupported" and says in w["error"], w


@pytest.mark.parametrize("reader", ["gdal@3.12.2", "gdal@3.6.2"])
def test_a_lone_array_of_cpp_zarr_is_read_by_gdal_through_its_own_directory(cpp_zarr, tmp_path, reader):
    """cpp-zarr writes the array alone, no group above it: GDAL cannot open the dataset root, and its
    adapters open the array's own directory, as GDAL's users do (the root group's only array)."""
    case = catalogue()["v2/int16/raw/edge"]
    w, target, refs = write_case(cpp_zarr, case, tmp_path)
    assert w["status"] == "ok", w
    assert not (tmp_path / "ds" / ".zgroup").exists() and (tmp_path / "ds" / case.path / ".zarray").exists()
    gen = started_worker(_iv(reader))
    try:
        r = _read(next(gen), case, target, tmp_path)
    finally:
        gen.close()
    assert r["status"] == "ok", r
    assert (r["hash"], r["shape"]) == (refs.hash(case), list(case.shape))

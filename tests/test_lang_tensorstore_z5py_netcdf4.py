"""The tensorstore, z5py and netCDF4-python backends of the Python adapter on what the
contract test does not cover: arrays at the dataset root (case.path ""), written and read
the way each library's users do. tensorstore writes a root array with no group metadata
beside it; z5py opens one as File(...)[""] and cannot create one; netCDF (whose root is
always a group) cannot write one and says so instead of failing on the empty path."""

import json

import pytest

from harness.cases import catalogue
from harness.matrix import load_matrix
from conftest import started_worker, write_case

pytestmark = pytest.mark.adapters

ROOT_CASES = ["v2/int16/zlib/root", "v3/int16/zstd/root", "n5/int16/gzip/root"]


def _worker(name):
    (iv,) = load_matrix().resolve_impls([name], "reader")
    yield from started_worker(iv)


@pytest.fixture(scope="module")
def tensorstore():
    yield from _worker("tensorstore")


@pytest.fixture(scope="module")
def z5py():
    yield from _worker("z5py")


@pytest.fixture(scope="module")
def netcdf4():
    yield from _worker("netcdf4-python")


@pytest.mark.parametrize("cid", ROOT_CASES)
def test_tensorstore_writes_a_root_array_without_a_root_group(tensorstore, tmp_path, cid):
    case = catalogue()[cid]
    w, target, refs = write_case(tensorstore, case, tmp_path)
    assert w["status"] == "ok", w
    root = tmp_path / "ds"
    if case.format == "zarr2":
        assert not (root / ".zgroup").exists()  # a group beside the array makes the root ambiguous
        assert json.loads((root / ".zarray").read_text())["shape"] == list(case.shape)
        assert json.loads((root / ".zattrs").read_text()) == case.attributes
    elif case.format == "zarr3":
        meta = json.loads((root / "zarr.json").read_text())
        assert meta["node_type"] == "array" and meta["attributes"] == case.attributes
    else:
        meta = json.loads((root / "attributes.json").read_text())
        assert meta["dimensions"] == list(case.shape)[::-1]
        assert {k: meta[k] for k in case.attributes} == case.attributes
    if case.format != "n5":  # tensorstore refuses the N5 attribute "units" that is not a list (a finding)
        r = tensorstore.request({"op": "read", "format": case.format, "path": "", "target": target})
        assert r["status"] == "ok" and r["hash"] == refs.hash(case), r


def test_z5py_reads_a_root_array_as_file_root_item(tensorstore, z5py, tmp_path):
    case = catalogue()["v3/int16/zstd/root"]
    w, target, refs = write_case(tensorstore, case, tmp_path)
    assert w["status"] == "ok", w
    r = z5py.request({"op": "read", "format": "zarr3", "path": "", "target": target})
    assert r["status"] == "ok" and r["hash"] == refs.hash(case) and r["attributes"] == case.attributes, r


@pytest.mark.parametrize("cid", ROOT_CASES)
def test_z5py_cannot_write_a_root_array(z5py, tmp_path, cid):
    w, _, _ = write_case(z5py, catalogue()[cid], tmp_path)
    assert w["status"] == "unsupported" and "container root" in w["error"], w


def test_netcdf4_root_array(tensorstore, netcdf4, tmp_path):
    case = catalogue()["v2/int16/zlib/root"]
    w, _, _ = write_case(netcdf4, case, tmp_path, name="nc")
    assert w["status"] == "unsupported" and "root" in w["error"], w
    w, target, _ = write_case(tensorstore, case, tmp_path)
    assert w["status"] == "ok", w
    r = netcdf4.request({"op": "read", "format": "zarr2", "path": "", "target": target})
    # NCZarr opens the root as the root group: the answer says so, not an IndexError on the path.
    assert r["status"] == "error" and "root as a group" in r["error"], r


def test_tensorstore_writes_natively_into_s3(tmp_path):
    """The native write mode: tensorstore writes into S3 through its own s3 kvstore (it answered
    "this adapter writes to local stores only" although tensorstore writes S3)."""
    from conftest import run_cli
    from harness.results import load_jsonl

    out = tmp_path / "run"
    cases = "v3/int16/zstd/nested-groups,v2/int16/zlib/sparse"
    run_cli("run", "--cases", cases, "--writers", "tensorstore", "--readers", "tensorstore", "--stores", "s3-moto",
            "--write-mode", "native", "--out", out, "--no-findings", "--quiet")
    native = [w for w in load_jsonl(out / "writes.jsonl") if w.get("write_mode") == "native"]
    assert native and all(w["status"] == "ok" for w in native), native
    reads = [r for r in load_jsonl(out / "results.jsonl") if r["store"] == "s3-moto+native-write"]
    assert reads and all(r["outcome"] == "pass" for r in reads), reads

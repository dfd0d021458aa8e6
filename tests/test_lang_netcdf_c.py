"""The netcdf-c adapter (C, Debian's libnetcdf-dev, NCZarr) at the protocol level: built with
make after scripts/ensure-debian-packages.sh, hello with the library's own version
(nc_inq_libvers), write then read back, missing chunks left out, the dimension separator
"/" written through a child process's .rc file, regions read with nc_get_vars (protocol 2),
requests it cannot serve answered (not a crash), and the one-shot CLI. Skipped only when make/cc or the Debian packages cannot be had."""

import dataclasses
import json

import pytest

from harness.cases import catalogue
from harness.matrix import load_matrix
from harness.reference import ReferenceStore

from _native import pkg_version, skip_without_toolchain

from conftest import started_worker, write_case, write_root_array_v2

pytestmark = pytest.mark.adapters

PACKAGES = ["libnetcdf-dev", "libjson-c-dev", "libssl-dev", "pkg-config"]
IMPLS = [iv for iv in load_matrix().impl_versions() if iv.name == "netcdf-c"]


@pytest.fixture(scope="module", params=IMPLS, ids=lambda iv: iv.id)
def worker(request):
    skip_without_toolchain(["make", "cc"], PACKAGES)
    yield from started_worker(request.param)


def raw(case_id: str):
    """A catalogue case without a compressor: Debian's netcdf-c has no NCZarr codec plugins."""
    return dataclasses.replace(catalogue()[case_id], compressor=None)




def test_matrix_lists_the_adapter():
    assert len(IMPLS) == 1


def test_hello_reports_the_library_version(worker):
    h = worker.hello
    assert h["protocol"] == 2 and h["impl"] == "netcdf-c" and h["language"] == "c"
    assert set(h["verbs"]) == {"read", "write"}
    assert h["version"] == pkg_version("netcdf")  # nc_inq_libvers() of the installed library
    assert h["components"]["libvers"].startswith(h["version"])
    assert h["components"]["nczarr-s3"] in ("yes", "no")


@pytest.mark.parametrize("case_id", ["v2/int16/raw/edge", "v2/int16/zlib/sparse", "v2/float32/zlib/edge-slash"])
def test_write_then_read_back(worker, tmp_path, case_id):
    case = raw(case_id)
    w, target, refs = write_case(worker, case, tmp_path)
    assert w == {"id": "w", "status": "ok"}, w
    r = worker.request({"op": "read", "id": "r", "format": "zarr2", "path": case.path, "target": target,
                        "dump": str(tmp_path / "dump.bin")})
    assert r["status"] == "ok", r
    assert r["hash"] == refs.hash(case) and r["shape"] == list(case.shape) and r["dtype"] == case.dtype, r
    assert r["fill_value"] == case.fill_value
    assert (tmp_path / "dump.bin").read_bytes() == refs.canonical(case)
    zarray = json.loads((tmp_path / "ds" / case.path / ".zarray").read_text())
    assert zarray["compressor"] is None and zarray["chunks"] == list(case.chunks)
    assert zarray.get("dimension_separator", ".") == case.dimension_separator
    sep = case.dimension_separator
    for idx in case.missing_chunks:  # left unwritten
        assert not (tmp_path / "ds" / case.path / sep.join(map(str, idx))).exists()


@pytest.mark.parametrize("case_id, region", [
    ("v2/int16/raw/edge", [[3, 17, 5], [14, 25, 20]]),  # one element per chunk it touches, steps past chunks
    ("v2/int16/zlib/sparse", [[5, 38, 3], [2, 29, 5]]),  # missing chunks inside the region
    ("v2/int16/raw/1d-C-slash", [[49, 50, 3]]),  # the last element, a step beyond the edge
])
def test_reads_a_region(worker, tmp_path, case_id, region):
    """A region is read with nc_get_vars (start, count, stride): the selection's shape, hash and dump;
    chunks the region does not touch are not read (garbage there changes nothing)."""
    import itertools

    from zc_canonical import canonical_bytes, canonical_hash

    from harness.reference import reference_array, region_slices

    case = raw(case_id)
    w, target, _ = write_case(worker, case, tmp_path)
    assert w["status"] == "ok", w
    arr = tmp_path / "ds" / case.path
    touched = set(itertools.product(*[{i // c for i in range(s, e, st)} for (s, e, st), c in zip(region, case.chunks)]))
    for idx in itertools.product(*[range(-(-n // c)) for n, c in zip(case.shape, case.chunks)]):
        chunk = arr / case.dimension_separator.join(map(str, idx))
        if idx not in touched and chunk.exists():
            chunk.write_bytes(b"garbage")
    r = worker.request({"op": "read", "id": "r", "format": "zarr2", "path": case.path, "target": target,
                        "region": region, "dump": str(tmp_path / "dump.bin")})
    want = reference_array(case)[region_slices(region)]
    assert r["status"] == "ok" and r["shape"] == list(want.shape) and r["dtype"] == case.dtype, r
    assert r["hash"] == canonical_hash(want, case.dtype)
    assert (tmp_path / "dump.bin").read_bytes() == canonical_bytes(want, case.dtype)


def test_attributes_round_trip(worker, tmp_path):
    case = dataclasses.replace(raw("v2/int16/raw/edge"), attributes={
        "units": "K", "big": 9007199254740993, "u64": 18446744073709551610, "neg": -1.5e-300,
        "nested": {"a": [1, 2.5, "x", None, True]}, "ints": [1, 2, 3]})
    w, target, _ = write_case(worker, case, tmp_path)
    assert w["status"] == "ok", w
    r = worker.request({"op": "read", "id": "r", "format": "zarr2", "path": case.path, "target": target})
    attrs = {k: v for k, v in r["attributes"].items() if not k.startswith("_")}
    assert attrs == case.attributes


def test_unservable_requests_are_answered(worker, tmp_path):
    refs = ReferenceStore(tmp_path / "ref")
    for cid in ("v3/int16/zstd/edge", "n5/int16/raw/edge", "v2/bool/zlib/edge", "v2/int32/blosc-lz4-shuffle/0d"):
        case = catalogue()[cid]
        w = worker.request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                            "target": {"kind": "local", "path": str(tmp_path / "ds")}})
        assert w["status"] == "unsupported" and w["error"], (cid, w)
    # A boolean attribute has no netCDF type.
    case = dataclasses.replace(raw("v2/int16/raw/edge"), attributes={"flag": True})
    w, _, _ = write_case(worker, case, tmp_path, "ds-bool")
    assert w["status"] == "unsupported" and "boolean" in w["error"], w
    for fmt in ("zarr3", "n5"):
        r = worker.request({"op": "read", "id": "r", "format": fmt, "path": "a",
                            "target": {"kind": "local", "path": str(tmp_path)}})
        assert r["status"] == "unsupported" and r["error"], r
    r = worker.request({"op": "read", "id": "r2", "format": "zarr2", "path": "missing",
                        "target": {"kind": "local", "path": str(tmp_path / "nothing-here")}})
    assert r["status"] == "error" and r["error"].startswith("NetCDFError: "), r
    r = worker.request({"op": "read", "id": "r3", "format": "zarr2", "path": "a", "target": {"kind": "gopher"}})
    assert r["status"] == "unsupported", r
    if worker.hello["components"]["nczarr-s3"] == "no":
        r = worker.request({"op": "read", "id": "r4", "format": "zarr2", "path": "a", "target": {
            "kind": "s3", "bucket": "b", "key": "k", "endpoint": "http://127.0.0.1:1", "anonymous": True}})
        assert r["status"] == "unsupported" and "S3" in r["error"], r
    assert worker.request({"op": "nonsense", "id": 7}) == {"id": 7, "status": "error",
                                                           "error": "BadRequest: unknown op nonsense"}
    assert worker.alive()


def test_root_array_answered_with_what_the_library_presents(worker, tmp_path):
    """An array at the dataset root: netcdf-c 4.9.0 opens it as an empty root group, which the
    adapter reports (unsupported, with the number of variables it found) instead of refusing
    without opening it; writing one is unsupported (netCDF variables live in groups)."""
    case = raw("v2/int16/zlib/root")
    refs = ReferenceStore(tmp_path / "ref")
    root = tmp_path / "rootarray"
    write_root_array_v2(root, case, refs)
    r = worker.request({"op": "read", "id": "r", "format": "zarr2", "path": "", "target": {"kind": "local", "path": str(root)}})
    if r["status"] == "ok":  # a netcdf-c that presents the root array as the root group's variable
        assert r["hash"] == refs.hash(case), r
    else:
        assert r["status"] == "unsupported" and "0 variables" in r["error"], r
    w = worker.request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                        "target": {"kind": "local", "path": str(tmp_path / "ds")}})
    assert w["status"] == "unsupported" and "root" in w["error"], w
    assert worker.alive()

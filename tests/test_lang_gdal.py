"""The GDAL adapters at the protocol level. The C++ adapter (Debian's libgdal-dev, the
multidimensional Zarr driver): built with make after scripts/ensure-debian-packages.sh, hello
with GDALVersionInfo("RELEASE_NAME"), write then read back (compressors, filters, F order,
separator, fixed-length strings, missing chunks left out), regions read with GDALMDArray::Read's
start, count and step (protocol 2), requests it cannot serve answered (not a crash), and the
one-shot CLI. Skipped only when make/c++ or the Debian packages cannot
be had. The Python backend over the libgdal bundled in rasterio's wheel (the C API through
ctypes): hello with that library's own version, v2 and v3 written and read back, regions, and the
same answers as the C++ adapter where the two GDAL versions behave alike."""

import itertools
import json

import pytest

from harness.cases import catalogue
from harness.matrix import ROOT, load_matrix
from harness.reference import ReferenceStore

from _native import pkg_version, skip_without_toolchain

from conftest import started_worker, write_case, write_root_array_v2

pytestmark = pytest.mark.adapters

PACKAGES = ["libgdal-dev", "nlohmann-json3-dev", "libssl-dev", "pkg-config"]
IMPLS = [iv for iv in load_matrix().impl_versions() if iv.name == "gdal"]
CPP = [iv for iv in IMPLS if iv.adapter == "command"]
BUNDLED = [iv for iv in IMPLS if iv.adapter == "python"]


@pytest.fixture(scope="module", params=CPP, ids=lambda iv: iv.id)
def worker(request):
    skip_without_toolchain(["make", "c++"], PACKAGES)
    yield from started_worker(request.param)


@pytest.fixture(scope="module", params=BUNDLED, ids=lambda iv: iv.id)
def bundled(request):
    yield from started_worker(request.param)


def test_matrix_lists_the_adapters():
    assert len(CPP) == 1 and len(BUNDLED) == 1


def test_hello_reports_the_library_version(worker):
    h = worker.hello
    assert h["protocol"] == 2 and h["impl"] == "gdal" and h["language"] == "c++"
    assert set(h["verbs"]) == {"read", "write"}
    assert h["version"] == pkg_version("gdal")  # GDALVersionInfo("RELEASE_NAME") of the installed library
    assert h["components"]["gdal"].startswith("GDAL ")


@pytest.mark.parametrize("case_id", ["v2/int16/zlib/sparse", "v2/int16/zlib/edge-F", "v2/float32/zlib/edge-slash",
                                     "v2/S6/zlib/edge", "v2/int32/filter-delta+zlib/edge", "v2/float64/zlib/fill-nan",
                                     "v2/uint32/lz4/edge", "v2/int32/blosc-lz4-shuffle/0d"])
def test_write_then_read_back(worker, tmp_path, case_id):
    case = catalogue()[case_id]
    w, target, refs = write_case(worker, case, tmp_path)
    assert w == {"id": "w", "status": "ok"}, w
    r = worker.request({"op": "read", "id": "r", "format": "zarr2", "path": case.path, "target": target,
                        "dump": str(tmp_path / "dump.bin")})
    assert r["status"] == "ok", r
    assert r["hash"] == refs.hash(case) and r["shape"] == list(case.shape) and r["dtype"] == case.dtype, r
    assert (tmp_path / "dump.bin").read_bytes() == refs.canonical(case)
    zarray = json.loads((tmp_path / "ds" / case.path / ".zarray").read_text())
    assert zarray["order"] == case.order and zarray["chunks"] == list(case.chunks)
    assert zarray["compressor"]["id"] == case.compressor["id"]
    assert zarray.get("dimension_separator", ".") == case.dimension_separator
    for idx in case.missing_chunks:  # left unwritten
        assert not (tmp_path / "ds" / case.path / case.dimension_separator.join(map(str, idx))).exists()


# A region per case: strided, across chunk boundaries, at the array's edge.
REGIONS = [("v2/int16/zlib/edge", [[3, 17, 5], [14, 25, 20]]),  # one element per chunk it touches
           ("v2/int16/zlib/sparse", [[5, 38, 3], [2, 29, 5]]),  # missing chunks inside the region
           ("v2/S6/zlib/edge", [[0, 20, 3], [1, 30, 4]]),
           ("v2/float32/gzip/1d-C-dot", [[49, 50, 3]]),  # the last element, a step beyond the edge
           ("v2/int16/zlib/edge-F", [[1, 19, 2], [0, 30, 7]])]


def read_region(worker, case, target, region, tmp_path):
    """Reads a region after replacing the v2 chunks it does not touch by garbage (which must change
    nothing: only the chunks of the region are read), and checks shape, hash and dump."""
    from zc_canonical import canonical_bytes, canonical_hash

    from harness.reference import reference_array, region_slices

    if case.format == "zarr2":
        arr = tmp_path / "ds" / case.path
        touched = set(itertools.product(*[{i // c for i in range(s, e, st)}
                                          for (s, e, st), c in zip(region, case.chunks)]))
        for idx in itertools.product(*[range(-(-n // c)) for n, c in zip(case.shape, case.chunks)]):
            chunk = arr / case.dimension_separator.join(map(str, idx))
            if idx not in touched and chunk.exists():
                chunk.write_bytes(b"garbage")
    r = worker.request({"op": "read", "id": "r", "format": case.format, "path": case.path, "target": target,
                        "region": region, "dump": str(tmp_path / "dump.bin")})
    want = reference_array(case)[region_slices(region)]
    assert r["status"] == "ok" and r["shape"] == list(want.shape) and r["dtype"] == case.dtype, r
    assert r["hash"] == canonical_hash(want, case.dtype)
    assert (tmp_path / "dump.bin").read_bytes() == canonical_bytes(want, case.dtype)
    return r


@pytest.mark.parametrize("case_id, region", REGIONS)
def test_reads_a_region(worker, tmp_path, case_id, region):
    case = catalogue()[case_id]
    w, target, _ = write_case(worker, case, tmp_path)
    assert w["status"] == "ok", w
    read_region(worker, case, target, region, tmp_path)


def test_groups_and_attributes(worker, tmp_path):
    case = catalogue()["v2/float32/zlib/nested-groups"]
    w, target, _ = write_case(worker, case, tmp_path)
    assert w["status"] == "ok", w
    r = worker.request({"op": "read", "id": "r", "format": "zarr2", "path": case.path, "target": target})
    assert r["status"] == "ok", r
    want = dict(case.attributes)
    # GDAL 3.6 stores 64-bit integer attributes through a double (9007199254740993 -> 9007199254740992.0).
    assert r["attributes"].pop("big_int") == float(want.pop("big_int"))
    assert r["attributes"] == want
    root = json.loads((tmp_path / "ds" / ".zattrs").read_text())
    assert root == case.groups[""]


def test_unservable_requests_are_answered(worker, tmp_path):
    refs = ReferenceStore(tmp_path / "ref")
    for cid in ("n5/int16/raw/edge", "v2/bool/zlib/edge", "v2/string/zlib/edge", "v2/int64/bz2/edge",
                "v2/int16/filter-crc32+zlib/edge", "v3/int16/zstd/edge"):
        case = catalogue()[cid]
        w = worker.request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                            "target": {"kind": "local", "path": str(tmp_path / "ds")}})
        assert w["status"] == "unsupported" and w["error"], (cid, w)
    r = worker.request({"op": "read", "id": "r", "format": "n5", "path": "a",
                        "target": {"kind": "local", "path": str(tmp_path)}})
    assert r["status"] == "unsupported" and "N5" in r["error"], r
    r = worker.request({"op": "read", "id": "r2", "format": "zarr2", "path": "missing",
                        "target": {"kind": "local", "path": str(tmp_path / "nothing-here")}})
    assert r["status"] == "error" and r["error"], r
    r = worker.request({"op": "read", "id": "r3", "format": "zarr2", "path": "a", "target": {"kind": "gopher"}})
    assert r["status"] == "unsupported", r
    assert worker.request({"op": "nonsense", "id": 7}) == {"id": 7, "status": "error",
                                                           "error": 'BadRequest: unknown op "nonsense"'}
    assert worker.alive()


def test_root_array_is_read_under_the_name_gdal_gives_it(worker, tmp_path):
    """An array at the dataset root (.zarray at the top, no group): GDAL presents it as the root
    group's only array, named after the dataset's directory; the adapter opens it by that name."""
    np = pytest.importorskip("numpy")
    case = catalogue()["v2/int16/zlib/root"]
    refs = ReferenceStore(tmp_path / "ref")
    root = tmp_path / "rootarray"
    write_root_array_v2(root, case, refs, case.attributes)
    r = worker.request({"op": "read", "id": "r", "format": "zarr2", "path": "", "target": {"kind": "local", "path": str(root)}})
    assert r["status"] == "ok", r
    assert (r["hash"], r["shape"], r["attributes"]) == (refs.hash(case), list(case.shape), case.attributes)
    w = worker.request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                        "target": {"kind": "local", "path": str(tmp_path / "ds")}})
    assert w["status"] == "unsupported" and "root" in w["error"], w


# --- the Python backend over rasterio's bundled libgdal ----------------------------------------------

def test_bundled_hello_reports_the_bundled_library(bundled):
    h = bundled.hello
    assert h["impl"] == "gdal" and h["language"] == "python" and set(h["verbs"]) == {"read", "write"}
    # GDALVersionInfo("RELEASE_NAME") of the bundled library, which auditwheel names after its version
    assert h["version"] == bundled.impl.version and h["components"]["libgdal"].endswith("." + h["version"])
    assert h["components"]["gdal"].startswith(f"GDAL {h['version']} ")
    lock = (ROOT / "readers" / "python" / "locks" / f"gdal-{bundled.impl.version}.txt").read_text()
    assert f"rasterio=={h['components']['rasterio']}\n" in lock
    assert "zstd" in h["components"]["zarr-compressors"].split(",")


@pytest.mark.parametrize("case_id", ["v2/int16/zlib/sparse", "v2/int16/zlib/edge-F", "v2/float32/zlib/edge-slash",
                                     "v2/S6/zlib/edge", "v2/int32/filter-delta+zlib/edge", "v2/float64/zlib/fill-nan",
                                     "v2/int32/blosc-lz4-shuffle/0d", "v2/int8/zlib/edge", "v2/float16/zlib/edge",
                                     "v3/int16/zstd/sparse", "v3/int32/transpose+zstd/edge", "v3/float32/gzip/edge",
                                     "v3/float64/blosc-zstd-bitshuffle/edge", "v3/float64/zstd/fill-nan"])
def test_bundled_write_then_read_back(bundled, tmp_path, case_id):
    case = catalogue()[case_id]
    w, target, refs = write_case(bundled, case, tmp_path)
    assert w == {"id": "w", "status": "ok"}, w
    r = bundled.request({"op": "read", "id": "r", "format": case.format, "path": case.path, "target": target,
                         "dump": str(tmp_path / "dump.bin")})
    assert r["status"] == "ok", r
    assert (r["hash"], r["shape"], r["dtype"]) == (refs.hash(case), list(case.shape), case.dtype), r
    assert (tmp_path / "dump.bin").read_bytes() == refs.canonical(case)
    meta_file = ".zarray" if case.format == "zarr2" else "zarr.json"
    meta = json.loads((tmp_path / "ds" / case.path / meta_file).read_text())
    if case.format == "zarr2":
        assert meta["order"] == case.order and meta["chunks"] == list(case.chunks)
        for idx in case.missing_chunks:  # left unwritten
            assert not (tmp_path / "ds" / case.path / case.dimension_separator.join(map(str, idx))).exists()
    else:
        names = [c["name"] for c in meta["codecs"]]
        assert names == [c["name"] for c in case.codecs], meta["codecs"]
        assert meta["chunk_grid"]["configuration"]["chunk_shape"] == list(case.chunks)


@pytest.mark.parametrize("case_id, region", [*REGIONS, ("v3/int16/zstd/edge", [[19, 20, 3], [0, 30, 13]]),
                                             ("v3/int32/transpose+zstd/edge", [[0, 20, 3], [1, 30, 4]])])
def test_bundled_reads_a_region(bundled, tmp_path, case_id, region):
    case = catalogue()[case_id]
    w, target, _ = write_case(bundled, case, tmp_path)
    assert w["status"] == "ok", w
    read_region(bundled, case, target, region, tmp_path)
    r = bundled.request({"op": "read", "id": "r", "format": case.format, "path": case.path, "target": target,
                         "region": [[0, 1, 1]] * (len(case.shape) + 1)})
    assert r["status"] == "error" and r["error"].startswith("BadRequest: "), r


def test_bundled_unservable_requests_are_answered(bundled, tmp_path):
    refs = ReferenceStore(tmp_path / "ref")
    for cid in ("n5/int16/raw/edge", "v2/bool/zlib/edge", "v2/string/zlib/edge", "v2/int64/bz2/edge",
                "v2/int16/filter-crc32+zlib/edge", "v3/int16/shard-16x14", "v2/int16/zlib/root"):
        case = catalogue()[cid]
        w = bundled.request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                             "target": {"kind": "local", "path": str(tmp_path / "ds")}})
        assert w["status"] == "unsupported" and w["error"], (cid, w)
    r = bundled.request({"op": "read", "id": "r", "format": "zarr2", "path": "missing",
                         "target": {"kind": "local", "path": str(tmp_path / "nothing-here")}})
    assert r["status"] == "error" and r["error"].startswith("CPLE_"), r
    assert bundled.alive()


@pytest.mark.parametrize("case_id, region", [("v2/int16/zlib/sparse", None), ("v2/S6/zlib/edge", None),
                                             ("v2/float64/zlib/fill-nan", None), ("v2/float32/zlib/nested-groups", None),
                                             ("v2/int16/zlib/sparse", [[5, 38, 3], [2, 29, 5]])])
def test_both_adapters_read_alike(worker, bundled, tmp_path, case_id, region):
    """A dataset the C++ adapter wrote is read by both adapters: where GDAL 3.6 and GDAL 3.12 behave
    alike, the answers are the same (paths, units and CF attributes, fill values, strings), so that the
    columns of the two versions differ only where GDAL does."""
    case = catalogue()[case_id]
    w, target, _ = write_case(worker, case, tmp_path)
    assert w["status"] == "ok", w
    req = {"op": "read", "id": "r", "format": case.format, "path": case.path, "target": target, "region": region}
    a, b = worker.request(req), bundled.request(req)
    assert a["status"] == "ok", a
    for r in (a, b):
        r.pop("elapsed_ms", None)
        # GDAL 3.6 reads integer attributes beyond 2^53 through a double (a finding of its own)
        r.get("attributes", {}).pop("big_int", None)
    assert a == b


def test_bundled_root_array_is_read_under_the_name_gdal_gives_it(bundled, tmp_path):
    case = catalogue()["v2/int16/zlib/root"]
    refs = ReferenceStore(tmp_path / "ref")
    root = tmp_path / "rootarray"
    write_root_array_v2(root, case, refs, {**case.attributes, "units": "K", "scale_factor": 0.5})
    r = bundled.request({"op": "read", "id": "r", "format": "zarr2", "path": "",
                         "target": {"kind": "local", "path": str(root)}})
    assert r["status"] == "ok", r
    assert (r["hash"], r["shape"]) == (refs.hash(case), list(case.shape))
    # GDAL presents units and scale_factor through GetUnit() and GetScale(): reported as attributes
    assert r["attributes"] == {**case.attributes, "units": "K", "scale_factor": 0.5}

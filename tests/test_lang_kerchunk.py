"""The kerchunk writer (readers/python/zc_adapter/backends/kerchunk.py): netCDF4 and HDF5 files and the
references kerchunk makes into them, checked like any written dataset, published by a kerchunk store and
read back by zarr-python through fsspec's reference file system with the reference data's hash."""

import pytest

from harness.cases import catalogue
from harness.dataset_check import check_dataset
from harness.matrix import StoreSpec, load_matrix
from harness.reference import ReferenceStore
from harness.stores import KerchunkStore
from harness.verify import user_attributes
from conftest import started_worker

pytestmark = pytest.mark.adapters

MATRIX = load_matrix()
CASES = ["v2/int16/netcdf4-zlib-shuffle/chunked", "v2/float32/netcdf4-zlib/sparse", "v2/float64/hdf5-zlib-shuffle/big-endian",
         "v2/uint8/hdf5-raw/contiguous"]


def _worker(iv_id):
    return started_worker(next(iv for iv in MATRIX.impl_versions() if iv.id == iv_id))


@pytest.fixture(scope="module", params=["kerchunk@0.2.10", "virtualizarr@2.8.0"])
def written(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kerchunk")
    refs = ReferenceStore(tmp / "ref")
    gen = _worker(request.param)
    w = next(gen)
    out = {}
    for cid in CASES:
        case = catalogue()[cid]
        r = w.request({"op": "write", "id": cid, "case": case.to_json(), "data": str(refs.ensure(case)),
                       "target": {"kind": "local", "path": str(tmp / cid)}})
        assert r["status"] == "ok", r
        out[cid] = tmp / cid
    plain = catalogue()["v2/int16/zlib/edge"]
    r = w.request({"op": "write", "id": "plain", "case": plain.to_json(), "data": str(refs.ensure(plain)),
                   "target": {"kind": "local", "path": str(tmp / "plain")}})
    gen.close()
    assert r["status"] == "unsupported" and "netCDF4 and HDF5" in r["error"], r
    return tmp, refs, out


def test_written_sources_check_against_their_cases(written):
    _, _, out = written
    for cid, path in out.items():
        faults = check_dataset(catalogue()[cid], path)
        # VirtualiZarr keeps netCDF's _FillValue as an attribute (virtualizarr-netcdf-fillvalue-attribute).
        assert all("'_FillValue' written beside" in f for f in faults) and (not faults or "netcdf4" in cid), (cid, faults)
        assert sorted(p.name for p in path.iterdir())[0] == "kerchunk-refs.json"


@pytest.mark.parametrize("remote", ["local", "http"])
def test_zarr_python_reads_the_published_references(written, remote):
    tmp, refs, out = written
    store = KerchunkStore(f"refs-{remote}", StoreSpec(kind="kerchunk", remote=remote))
    store.start(tmp)
    gen = _worker("zarr-python@3.4.2")
    r = next(gen)
    try:
        for cid, path in out.items():
            case = catalogue()[cid]
            key = f"datasets/kerchunk/{cid}"
            store.publish(path, key, "kerchunk-v1")
            res = r.request({"op": "read", "id": cid, "target": store.target(path, key, "kerchunk-v1"),
                             "path": case.path, "format": case.format})
            assert res["status"] == "ok", res
            assert res["hash"] == refs.hash(case), cid
            got = {k: v for k, v in user_attributes(res["attributes"]).items() if k != "_FillValue"}
            assert got == case.attributes == {"units": "K", "scale": 2.5}
            assert res["attributes"]["_ARRAY_DIMENSIONS"]  # kerchunk names the dimensions
    finally:
        gen.close()
        store.stop()

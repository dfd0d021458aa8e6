"""The zarr-python (3.4, 3.1, 2.18, Debian's 2.13) and zarrs-python backends beyond the shared contract: root
arrays (path "") written and read without a group above them, in every format each writes; the
zarrs pipeline really in use (no silent fall back to zarr-python's codecs)."""

import json

import pytest

from harness.cases import catalogue
from harness.matrix import load_matrix
from conftest import started_worker, write_case

pytestmark = pytest.mark.adapters

IMPLS = [iv for iv in load_matrix().impl_versions() if iv.name in ("zarr-python", "zarrs-python")]
ROOT_CASES = {"zarr2": "v2/int16/zlib/root", "zarr3": "v3/int16/zstd/root", "n5": "n5/int16/gzip/root"}
# What each writes: zarr-python 2 has zarr v2 and N5, zarr-python 3 and zarrs-python zarr v2 and v3.
FORMATS = {"zarr2": ("zarr2", "n5")}
METADATA = {"zarr2": ".zarray", "zarr3": "zarr.json", "n5": "attributes.json"}


@pytest.fixture(scope="module", params=IMPLS, ids=lambda iv: iv.id)
def worker(request):
    yield from started_worker(request.param)


def formats(worker):
    return FORMATS.get(worker.impl.spec.backend, ("zarr2", "zarr3"))


def test_root_arrays_are_written_at_the_root_and_read_back(worker, tmp_path):
    for fmt in formats(worker):
        case = catalogue()[ROOT_CASES[fmt]]
        assert case.path == "" and "root-array" in case.features
        w, target, refs = write_case(worker, case, tmp_path, name=fmt)
        assert w["status"] == "ok", w
        root = tmp_path / fmt
        # The array is the root: its metadata there, and no group document beside or above it.
        assert (root / METADATA[fmt]).is_file()
        assert not (root / ".zgroup").exists()
        if fmt == "zarr3":
            assert json.loads((root / "zarr.json").read_text())["node_type"] == "array"
        r = worker.request({"op": "read", "format": fmt, "path": "", "target": target})
        assert r["status"] == "ok", r
        assert (r["hash"], r["shape"], r["attributes"]) == (refs.hash(case), list(case.shape), case.attributes)


def test_zarrs_pipeline_is_the_one_used(tmp_path):
    """The zarrs backend reads through zarrs, not through zarr-python's pipeline: an array zarrs
    cannot decode (a v2 delta filter) is answered unsupported, which zarr-python would have read."""
    (iv,) = [iv for iv in IMPLS if iv.name == "zarrs-python"]
    gen = started_worker(iv)
    w = next(gen)
    try:
        (zp,) = [iv for iv in IMPLS if iv.id == "zarr-python@3.1.6"]
        writer_gen = started_worker(zp)
        writer = next(writer_gen)
        try:
            case = catalogue()["v2/int32/filter-delta+zlib/edge"]
            resp, target, _ = write_case(writer, case, tmp_path)
            assert resp["status"] == "ok", resp
        finally:
            next(writer_gen, None)  # stops the worker
        r = w.request({"op": "read", "format": "zarr2", "path": case.path, "target": target})
        assert r["status"] == "unsupported" and "delta" in r["error"], r
    finally:
        next(gen, None)


def test_s3_endpoint_for_an_s3fs_without_endpoint_url(monkeypatch):
    """Debian 12's zarr 2.13 runs with s3fs 2022.11, whose S3FileSystem takes the endpoint only in
    client_kwargs (an endpoint_url argument goes on to the aiobotocore session, which raises
    "AioSession.__init__() got an unexpected keyword argument 'endpoint_url'")."""
    import sys
    import types

    from zc_adapter.backends.zarr2 import fsspec_s3_options

    target = {"kind": "s3", "endpoint": "http://127.0.0.1:9", "bucket": "b", "key": "k",
              "access_key_id": "a", "secret_access_key": "s"}

    class Old:
        def __init__(self, *args, anon=False, key=None, secret=None, client_kwargs=None, config_kwargs=None, **kw):
            pass

    class New(Old):
        def __init__(self, *args, endpoint_url=None, **kw):
            pass

    for cls, top in ((Old, False), (New, True)):
        monkeypatch.setitem(sys.modules, "s3fs", types.SimpleNamespace(S3FileSystem=cls))
        opts = fsspec_s3_options(target)
        assert ("endpoint_url" in opts) is top
        assert (opts["client_kwargs"].get("endpoint_url") == "http://127.0.0.1:9") is not top
        assert opts["client_kwargs"]["region_name"] == "us-east-1"

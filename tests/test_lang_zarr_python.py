"""The zarr-python (3.4, 3.1, 2.18, Debian's 2.13) and zarrs-python backends beyond the shared contract: root
arrays (path "") written and read without a group above them, in every format each writes; the
zarrs pipeline really in use (no silent fall back to zarr-python's codecs); zarr-python 3.4.2 over obstore
reaching every remote store through zarr.storage.ObjectStore, writing natively into S3."""

import json
import math

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


OBSTORE = "zarr-python@3.4.2-obstore"


def _iv(iv_id):
    return next(iv for iv in load_matrix().impl_versions() if iv.id == iv_id)


def test_obstore_code_path_reaches_every_remote_store_through_objectstore(tmp_path):
    """zarr-python 3.4.2 over obstore: its handshake names obstore; S3, GCS, Azure and HTTP targets become
    zarr.storage.ObjectStore over obstore's own store of that kind; no fsspec in the environment to fall
    back on."""
    import subprocess

    gen = started_worker(_iv(OBSTORE))
    w = next(gen)
    try:
        comps = w.hello["components"]
        assert w.hello["version"] == "3.4.2" and comps["obstore"] and not {"fsspec", "s3fs", "gcsfs", "adlfs"} & set(comps)
        python = w.environment.command[0]
    finally:
        next(gen, None)
    targets = {
        "s3": {"kind": "s3", "bucket": "b", "key": "k/ds", "endpoint": "http://127.0.0.1:9", "anonymous": True},
        "gcs": {"kind": "gcs", "bucket": "b", "prefix": "k/ds", "endpoint": "http://127.0.0.1:9", "token": "t"},
        "azure": {"kind": "azure", "endpoint": "http://127.0.0.1:9/acct", "account": "acct", "key": "a2V5",
                  "container": "c", "prefix": "k/ds"},
        "http": {"kind": "http", "url": "http://127.0.0.1:9/k/ds"},
    }
    code = ("import json, sys\nfrom zc_adapter.backends.zarr3_obstore import Zarr3ObstoreBackend\n"
            "b = Zarr3ObstoreBackend()\n"
            "for kind, t in json.loads(sys.argv[1]).items():\n"
            "    s = b.store(t, read_only=True)\n"
            "    print(kind, type(s).__module__, type(s).__name__, type(s.store).__module__, type(s.store).__name__)\n"
            "try:\n    import fsspec\nexcept ImportError:\n    print('no fsspec')\n")
    out = subprocess.run([python, "-c", code, json.dumps(targets)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)
    for kind, cls in {"s3": "S3Store", "gcs": "GCSStore", "azure": "AzureStore", "http": "HTTPStore"}.items():
        module, name, inner_module, inner = lines[kind].split()
        assert (name, inner) == ("ObjectStore", cls) and module.startswith("zarr.storage") and inner_module.startswith("obstore")
    assert "no fsspec" in out.stdout


def _s3(kind, tmp_path, modes):
    from harness.matrix import StoreSpec
    from harness.stores import MinioS3Store, MotoS3Store, minio_binary

    if kind == "s3-minio":
        if minio_binary(load_matrix().minio_version) is None:
            pytest.skip("MinIO is not installed (scripts/install-minio.sh)")
        store = MinioS3Store(kind, StoreSpec(kind=kind, access=modes))
        store.minio_version = load_matrix().minio_version
    else:
        store = MotoS3Store(kind, StoreSpec(kind=kind, access=modes))
    store.start(tmp_path)
    return store


@pytest.fixture
def workers():
    gens = {iv_id: started_worker(_iv(iv_id)) for iv_id in (OBSTORE, "zarr-python@3.4.2")}
    yield {iv_id: next(g) for iv_id, g in gens.items()}
    for g in gens.values():
        next(g, None)


SPARSE = "v3/int16/zstd/sparse"


def test_obstore_writes_natively_into_s3(workers, tmp_path):
    """Native writes (--write-mode native) through ObjectStore(S3Store) land in the bucket, the chunks the
    case leaves out unwritten, and both of zarr-python's S3 paths (obstore, s3fs) read them back."""
    from harness.reference import ReferenceStore

    case = catalogue()[SPARSE]
    refs = ReferenceStore(tmp_path / "ref")
    moto = _s3("s3-moto", tmp_path, ["signed"])
    try:
        key = "native/obstore/" + SPARSE
        target = moto.target(None, key, "signed")
        w = workers[OBSTORE].request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                                      "target": target})
        assert w["status"] == "ok", w
        stored = {o["Key"] for o in moto.client().list_objects_v2(Bucket=target["bucket"], Prefix=key)["Contents"]}
        assert f"{key}/zarr.json" in stored and f"{key}/{case.path}/zarr.json" in stored
        chunks = [k for k in stored if not k.endswith("zarr.json")]
        assert len(chunks) == math.prod(case.chunk_grid) - len(case.missing_chunks), sorted(stored)
        for reader in workers.values():
            r = reader.request({"op": "read", "id": "r", "format": case.format, "path": case.path, "target": target})
            assert r["status"] == "ok" and r["hash"] == refs.hash(case), r
    finally:
        moto.stop()


def test_obstore_reads_sparse_arrays_from_a_bucket_it_may_not_list(workers, tmp_path):
    """On MinIO, in a bucket that grants GetObject without ListBucket, the obstore path reads a sparse array
    (a GET of a missing chunk answers 404), where the s3fs path asks for a listing and fails (finding
    zarr-python-3-s3-missing-key-without-list)."""
    case = catalogue()[SPARSE]
    minio = _s3("s3-minio", tmp_path, ["anonymous-nolist"])
    try:
        w, _, refs = write_case(workers["zarr-python@3.4.2"], case, tmp_path)
        assert w["status"] == "ok", w
        minio.publish(tmp_path / "ds", "datasets/sparse", "anonymous-nolist")
        target = minio.target(None, "datasets/sparse", "anonymous-nolist")
        r = workers[OBSTORE].request({"op": "read", "id": "r", "format": case.format, "path": case.path, "target": target})
        assert r["status"] == "ok" and r["hash"] == refs.hash(case), r
        r = workers["zarr-python@3.4.2"].request({"op": "read", "id": "r", "format": case.format, "path": case.path,
                                                  "target": target})
        assert r["status"] == "error" and "PermissionError" in r["error"], r
    finally:
        minio.stop()

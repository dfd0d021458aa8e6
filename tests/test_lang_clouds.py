"""The adapters that read the gcs and azure targets (docs/protocol.md), each against the emulators
(fake-gcs-server, Azurite) in every access mode they serve: one v2 dataset, published once, read by
every such adapter and checked by hash; the adapters whose library has no client for a cloud say
`unsupported` with the reason."""

import pytest

from harness.cases import catalogue
from harness.matrix import StoreSpec, load_matrix
from harness.reference import ReferenceStore
from harness.stores import AzureStore, GcsStore, azurite_script, tool_binary
from conftest import started_worker

pytestmark = pytest.mark.adapters

MATRIX = load_matrix()
CASE = catalogue()["v2/int16/zlib/edge"]
KEY = "datasets/test/v2/int16/zlib/edge"
# A sharded array: its shard index is read with a Range request (a suffix range, unless the reader avoids it).
SHARD_CASE = catalogue()["v3/int16/shard-1d"]
SHARD_KEY = "datasets/test/v3/int16/shard-1d"
GCS_MODES, AZURE_MODES = ["signed", "anonymous"], ["signed", "anonymous", "anonymous-nolist"]
# Reader -> {(cloud, access): the status it must answer}; every cell not named must read right.
ALL_GCS = {("gcs", m) for m in GCS_MODES}
ALL_AZURE = {("azure", m) for m in AZURE_MODES}
READERS = {
    "zarr-python@3.4.2": {},
    "zarr-python@3.4.2-obstore": {},
    "zarr-python@3.1.6": {},
    "zarr-python@2.18.7": {},
    "zarrs-python@0.2.3": {},
    "tensorstore@0.1.86": dict.fromkeys(ALL_AZURE, "unsupported"),  # tensorstore-no-azure-kvstore
    "zarrs@0.23.14": {},
    "gdal@3.6.2": dict.fromkeys(ALL_AZURE, "error"),  # gdal-vsiaz-zarr-directory-not-found
    "gdal@3.12.2": dict.fromkeys(ALL_AZURE, "error"),  # the same, in GDAL 3.12.2 too
    "zarrita-js@0.7.5": {},
    "zarr-js@0.6.3": {},
    "zarr-js-freeman@3.3.0": {},
    "zarr-java@0.0.9": {("azure", "signed"): "unsupported"},  # zarr-java-no-azure-store
    "z5py@3.0.2": dict.fromkeys(ALL_GCS | ALL_AZURE, "unsupported"),
}

@pytest.fixture(scope="module")
def published(tmp_path_factory):
    if tool_binary("fake-gcs-server", MATRIX.fake_gcs_version) is None or azurite_script() is None:
        pytest.skip("the emulators are not installed (scripts/install-fake-gcs.sh, scripts/install-azurite.sh)")
    tmp = tmp_path_factory.mktemp("clouds")
    writer = next(iv for iv in MATRIX.impl_versions() if iv.id == "zarr-python@3.1.6")
    gen = started_worker(writer)
    w = next(gen)
    refs = ReferenceStore(tmp / "ref")
    ds = tmp / "ds"
    r = w.request({"op": "write", "id": "w", "case": CASE.to_json(), "data": str(refs.ensure(CASE)),
                   "target": {"kind": "local", "path": str(ds)}})
    shard = w.request({"op": "write", "id": "w2", "case": SHARD_CASE.to_json(), "data": str(refs.ensure(SHARD_CASE)),
                       "target": {"kind": "local", "path": str(tmp / "shard")}})
    gen.close()
    assert r["status"] == "ok", r
    assert shard["status"] == "ok", shard
    gcs = GcsStore("gcs", StoreSpec(kind="gcs", access=GCS_MODES))
    gcs.fake_gcs_version = MATRIX.fake_gcs_version
    azure = AzureStore("azure", StoreSpec(kind="azure", access=AZURE_MODES))
    try:
        for store, modes in ((gcs, GCS_MODES), (azure, AZURE_MODES)):
            store.start(tmp)
            for mode in modes:
                store.publish(ds, KEY, mode)
                store.publish(tmp / "shard", SHARD_KEY, mode)
        yield {"gcs": (gcs, GCS_MODES), "azure": (azure, AZURE_MODES)}, ds, refs.hash(CASE)
    finally:
        gcs.stop()
        azure.stop()


@pytest.fixture(scope="module", params=list(READERS))
def reader(request):
    iv = next(iv for iv in MATRIX.impl_versions() if iv.id == request.param)
    yield from started_worker(iv)


def test_reads_the_clouds_it_supports_and_says_why_not_for_the_others(reader, published):
    stores, ds, want = published
    for cloud, (store, modes) in stores.items():
        for mode in modes:
            r = reader.request({"op": "read", "id": "r", "format": CASE.format, "path": CASE.path,
                                "target": store.target(ds, KEY, mode)})
            status = READERS[reader.impl.id].get((cloud, mode), "ok")
            if status != "ok":
                assert r["status"] == status and r["error"], (cloud, mode, r)
            else:
                assert r["status"] == "ok", (cloud, mode, r)
                assert (r["hash"], r["shape"], r["dtype"]) == (want, list(CASE.shape), CASE.dtype), (cloud, mode)


def test_zarr_js_freeman_reads_shard_indexes_on_azure_without_a_suffix_range(published):
    """Azure Blob's Range header has no suffix form, and Node's fetch refuses what Azurite answers to
    one; the adapter sets zarr-js's own option for such servers (useSuffixRequest: false), so the
    shard index is read and the read fails only where zarr-js's v3 decoding does
    (zarr-js-freeman-v3-first-codec), not on the request ("error evaluating fetching function")."""
    stores, ds, _ = published
    iv = next(iv for iv in MATRIX.impl_versions() if iv.id == "zarr-js-freeman@3.3.0")
    gen = started_worker(iv)
    worker = next(gen)
    try:
        store, modes = stores["azure"]
        for mode in modes:
            r = worker.request({"op": "read", "id": "r", "format": "zarr3", "path": SHARD_CASE.path,
                                "target": store.target(ds.parent / "shard", SHARD_KEY, mode)})
            assert r["status"] == "error" and "ReferenceError: compressor is not defined" in r["error"], (mode, r)
    finally:
        gen.close()

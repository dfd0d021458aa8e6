"""Kerchunk reference stores (harness/kerchunk.py, stores.KerchunkStore): a dataset packed into one file and
described by a reference file in each JSON format must give back every object's bytes; the store serves
them from local disk and over HTTP and stops its server; the matrix refuses reference stores that make no
sense; the plan reads every case through the version 1 file and the store-sensitive ones through the others."""

import json
import urllib.request

import pytest

from harness.cases import catalogue, store_sensitive
from harness.kerchunk import INLINE_BELOW, PACKED, REFERENCE_FILES, Ref, kerchunk_json, pack, resolve
from harness.matrix import ConfigError, StoreSpec, load_matrix
from harness.plan import access_applies
from harness.stores import KerchunkStore


def _dataset(root):
    files = {
        ".zgroup": b'{"zarr_format": 2}',
        "array/.zarray": json.dumps({"zarr_format": 2, "shape": [4]}).encode(),
        "array/0": bytes(range(200)),  # packed
        "array/1": b"\x01\x02\x03",  # inline in version 1
        "array/2": b"",  # empty
        "array/.zattrs": "{\"name\": \"\u00e9t\u00e9\"}".encode(),
        "bad/.zarray": b"\xff\xfe not json",  # metadata that is not UTF-8 (a damaged dataset)
        "text/0": b"base64:looks like it",  # a chunk whose bytes start like an inline base64 value
    }
    for rel, body in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(body)
    return files


def _reader(blob_path):
    blob = blob_path.read_bytes()
    return lambda url, offset, length: blob[offset:] if length is None else blob[offset:offset + length]


@pytest.mark.parametrize("access", list(REFERENCE_FILES))
def test_every_object_resolves_to_its_bytes(tmp_path, access):
    files = _dataset(tmp_path / "ds")
    refs = pack(tmp_path / "ds", tmp_path / "out")
    version = 0 if access == "kerchunk-v0" else 1
    doc = kerchunk_json(refs, "URL", version, templates=access == "kerchunk-v1-templates")
    doc = json.loads(json.dumps(doc))  # what a reader parses
    for rel, body in files.items():
        assert resolve(doc, rel, _reader(tmp_path / "out" / PACKED)) == body, rel
    assert resolve(doc, "array/9", _reader(tmp_path / "out" / PACKED)) is None


def test_formats_differ_as_the_spec_says(tmp_path):
    _dataset(tmp_path / "ds")
    refs = pack(tmp_path / "ds", tmp_path / "out")
    v1 = kerchunk_json(refs, "http://h/p/chunks.bin", 1)
    assert v1["version"] == 1 and "templates" not in v1
    assert v1["refs"]["array/0"] == ["http://h/p/chunks.bin", refs["array/0"].offset, 200]
    assert v1["refs"]["array/1"].startswith("base64:")  # fewer than INLINE_BELOW bytes
    assert v1["refs"][".zgroup"] == '{"zarr_format": 2}'  # metadata inline as text
    assert v1["refs"]["bad/.zarray"].startswith("base64:")
    t = kerchunk_json(refs, "http://h/p/chunks.bin", 1, templates=True)
    assert t["templates"] == {"u": "http://h/p/chunks.bin"} and t["refs"]["array/0"][0] == "{{u}}"
    v0 = kerchunk_json(refs, "http://h/p/chunks.bin", 0)
    assert "version" not in v0 and "refs" not in v0
    assert v0["array/1"] == ["http://h/p/chunks.bin", refs["array/1"].offset, 3]  # no base64 chunks in v0
    assert v0["array/2"] == ""
    with pytest.raises(ValueError):
        kerchunk_json(refs, "u", 0, templates=True)
    # Only the non-metadata objects are packed, in key order, without gaps.
    packed = sorted((r.offset, r.length) for r in refs.values() if not r.metadata)
    assert sum(n for _, n in packed) == (tmp_path / "out" / PACKED).stat().st_size
    assert all(isinstance(r, Ref) for r in refs.values()) and INLINE_BELOW > 3


@pytest.mark.parametrize("remote", ["local", "http"])
def test_store_publishes_and_answers_what_it_published(tmp_path, remote):
    files = _dataset(tmp_path / "ds")
    store = KerchunkStore(f"refs-{remote}", StoreSpec(kind="kerchunk", remote=remote))
    store.start(tmp_path)
    try:
        for access in store.access_modes:
            store.publish(tmp_path / "ds", "datasets/w/c", access)
        for access in store.access_modes:
            t = store.target(tmp_path / "ds", "datasets/w/c", access)
            assert t["kind"] == "kerchunk" and t["remote"]["kind"] == remote
            assert t["refs"].endswith(REFERENCE_FILES[access])
            for rel, body in files.items():
                assert store.fetch("datasets/w/c", rel, access) == (200, body), (access, rel)
            assert store.fetch("datasets/w/c", "array/9", access)[0] == 404
        if remote == "http":
            t = store.target(tmp_path / "ds", "datasets/w/c", "kerchunk-v1")
            assert t["refs"].startswith("http://127.0.0.1:")
            with urllib.request.urlopen(t["refs"]) as r:
                doc = json.load(r)
            url = doc["refs"]["array/0"][0]
            req = urllib.request.Request(url, headers={"Range": f"bytes={doc['refs']['array/0'][1]}-"
                                                               f"{doc['refs']['array/0'][1] + 199}"})
            with urllib.request.urlopen(req) as r:
                assert r.read() == files["array/0"]
            proc = store.remote.server.proc
    finally:
        store.stop()
    if remote == "http":
        assert proc.poll() is not None  # the HTTP server it started is gone
    assert not store.root.exists()


def test_matrix_refuses_reference_stores_that_make_no_sense(tmp_path):
    ok = StoreSpec(kind="kerchunk", remote="s3-moto")
    assert ok.access == ["kerchunk-v1", "kerchunk-v1-templates", "kerchunk-v0"]
    for bad in ({"kind": "kerchunk"}, {"kind": "kerchunk", "remote": "local", "access": ["signed"]},
                {"kind": "s3-moto", "access": ["kerchunk-v1"]}, {"kind": "local", "remote": "http"}):
        with pytest.raises(ValueError):
            StoreSpec(**bad)
    m = tmp_path / "matrix.yaml"
    m.write_text("schema: 1\nimplementations: {}\nprofiles: {}\nstores:\n  refs: {kind: kerchunk, access: [signed]}\n")
    with pytest.raises(ConfigError, match="access mode 'signed' is not one of a kerchunk store's"):
        load_matrix(m)


def test_version_1_reads_every_case_the_others_the_store_sensitive_ones():
    cases = list(catalogue().values())
    assert all(access_applies(c, "kerchunk-v1") for c in cases)
    for access in ("kerchunk-v1-templates", "kerchunk-v0"):
        assert ([c.id for c in cases if access_applies(c, access)]
                == [c.id for c in cases if store_sensitive(c) and not c.source])
    # References kerchunk made into a netCDF4 or HDF5 file are read as kerchunk wrote them, nowhere else.
    sources = [c for c in cases if c.source]
    assert len(sources) >= 7 and not any(access_applies(c, a) for c in sources for a in ("signed", "kerchunk-v0"))
    stores = load_matrix().stores
    assert {s for s, spec in stores.items() if spec.kind == "kerchunk"} >= {"refs-local", "refs-http", "refs-s3"}


def test_presigned_mode_hands_out_urls_only(tmp_path):
    """MinIO's presigned mode: the reader's STORE holds no credentials, the reference file and every object
    are read through their presigned URLs alone, and a URL without its signature is refused."""
    import urllib.error

    from harness.stores import MinioS3Store, minio_binary

    version = load_matrix().minio_version
    if minio_binary(version) is None:
        pytest.skip("MinIO is not installed (scripts/install-minio.sh)")
    files = _dataset(tmp_path / "ds")
    store = MinioS3Store("s3-minio", StoreSpec(kind="s3-minio", access=["signed", "presigned"]))
    store.minio_version = version
    store.start(tmp_path)
    try:
        assert store.access_modes == ["signed", "presigned"], store.unavailable_modes
        sem = store.semantics["presigned"]
        assert (sem["existing"], sem["presigned"], sem["tampered"]) == (403, 200, 403)
        store.publish(tmp_path / "ds", "datasets/w/c", "presigned")
        t = store.target(tmp_path / "ds", "datasets/w/c", "presigned")
        assert t["remote"] == {"kind": "http"} and "secret" not in json.dumps(t) and store.secret_key not in json.dumps(t)
        with urllib.request.urlopen(t["refs"]) as r:
            doc = json.load(r)
        assert sorted(doc["refs"]) == sorted(files)
        for rel, body in files.items():
            (url,) = doc["refs"][rel]
            with urllib.request.urlopen(url) as r:
                assert r.read() == body, rel
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(doc["refs"]["array/0"][0].split("?")[0])
        assert err.value.code == 403
    finally:
        store.stop()


def test_source_cases_are_read_only_through_kerchunk_stores_from_source_writers():
    from harness.plan import Selection, make_plan

    source = "v2/int16/netcdf4-zlib-shuffle/chunked"
    plan = make_plan(Selection(profile="references", cases=(source, "v2/int16/zlib/edge")))
    cells = [c for c in plan.cells if c.case.id == source]
    assert cells and {c.writer.name for c in cells} == {"kerchunk", "virtualizarr"}
    assert {c.store for c in cells} == {"refs-local", "refs-http", "refs-s3"}
    assert {c.access for c in cells} == {"kerchunk-v1"}
    # they write nothing else; the other writers' datasets are everywhere as before.
    plain = [c for c in plan.cells if c.case.id == "v2/int16/zlib/edge"]
    assert not {"kerchunk", "virtualizarr"} & {c.writer.name for c in plain} and "local" in {c.store for c in plain}


def test_source_datasets_are_published_as_kerchunk_wrote_them(tmp_path):
    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "source.nc").write_bytes(b"\x89HDF" + bytes(range(100)))
    refs = {"version": 1, "refs": {".zgroup": '{"zarr_format":2}', "array/0.0": ["source.nc", 4, 10],
                                   "array/0.1": ["source.nc", 14, 20]}}
    (ds / "kerchunk-refs.json").write_text(json.dumps(refs))
    store = KerchunkStore("refs-local", StoreSpec(kind="kerchunk", remote="local"))
    store.start(tmp_path)
    try:
        store.publish(ds, "datasets/k/c", "kerchunk-v1")
        t = store.target(ds, "datasets/k/c", "kerchunk-v1")
        doc = json.loads(open(t["refs"]).read())
        assert doc["refs"][".zgroup"] == '{"zarr_format":2}'
        url, offset, length = doc["refs"]["array/0.1"]
        assert url == str(store.root / "datasets/k/c" / "source.nc") and (offset, length) == (14, 20)
        with open(url, "rb") as f:
            f.seek(offset)
            assert f.read(length) == bytes(range(10, 30))
    finally:
        store.stop()


def test_store_files_are_seen_by_containers_at_their_own_paths(tmp_path):
    """A kerchunk store's references name absolute paths: a container must see the store's files where the
    host does (read-only), or every local reference would be a harness error charged to the reader."""
    from harness.launchers import AdapterDirs, PathMap

    files = tmp_path / "store-files"
    dirs = AdapterDirs(datasets=tmp_path / "d", reference=tmp_path / "r", staging=tmp_path / "s",
                       scratch=tmp_path / "x", store_files=files)
    mount = next(m for m in dirs.mounts() if m.host == files)
    assert mount.inside == str(files) and not mount.writable
    inner = str(files / "zc-refs-1" / "datasets" / "refs.json")
    assert PathMap(dirs.mounts()).inside(inner) == inner

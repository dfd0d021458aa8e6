"""The case catalogue and its generated documentation."""

from collections import Counter

from harness.cases import ALL_DTYPES, N5_DTYPES, V2_COMPRESSORS, V3_COMPRESSORS, N5_COMPRESSIONS, catalogue, select
from harness.reference import reference_array
from zc_canonical import canonical_bytes, from_canonical_bytes, numpy_dtype, raw_bytes
from conftest import run_cli


def test_tiers_nest():
    smoke, default, full = (set(c.id for c in select(None, t)) for t in ("smoke", "default", "full"))
    assert smoke < default < full


def test_every_dtype_and_codec_is_covered():
    cases = catalogue().values()
    by_fmt = {f: [c for c in cases if c.format == f] for f in ("zarr2", "zarr3", "n5")}
    assert {c.dtype for c in by_fmt["zarr2"]} >= set(ALL_DTYPES)
    assert {c.dtype for c in by_fmt["zarr3"]} >= set(ALL_DTYPES)
    assert {c.dtype for c in by_fmt["n5"]} >= set(N5_DTYPES)
    assert {str(c.compressor) for c in by_fmt["zarr2"]} >= {str(v) for v in V2_COMPRESSORS.values()}
    assert {c.compression["type"] for c in by_fmt["n5"]} == set(N5_COMPRESSIONS)
    names = Counter(codec["name"] for c in by_fmt["zarr3"] for codec in c.codecs)
    for n in ("bytes", "transpose", "gzip", "zstd", "blosc", "crc32c", "sharding_indexed", "vlen-utf8"):
        assert names[n], n
    assert len(V3_COMPRESSORS) > 4


def test_reference_data_round_trips_and_is_deterministic():
    for case in catalogue().values():
        a = reference_array(case)
        raw = raw_bytes(a, case.dtype)
        assert raw_bytes(reference_array(case), case.dtype) == raw
        b = from_canonical_bytes(raw, case.dtype, case.shape)  # what writers decode
        assert raw_bytes(b, case.dtype) == raw
        assert canonical_bytes(b, case.dtype) == canonical_bytes(a, case.dtype)


def test_reference_data_holds_the_bug_catchers():
    import numpy as np

    f = reference_array(catalogue()["v3/float64/zstd/edge"])
    assert np.isnan(f).any() and np.isinf(f).any() and (np.signbit(f) & (f == 0)).any()
    assert (np.abs(f[np.isfinite(f) & (f != 0)]) < np.finfo(np.float64).tiny).any()  # subnormals
    i = reference_array(catalogue()["v2/int64/zlib/edge"])
    assert (i == 2**53 + 1).any() and (i < 0).any()
    s = reference_array(catalogue()["v2/string/zlib/edge"])
    assert any(any(ord(ch) > 0xFFFF for ch in x) for x in s.ravel())


def test_reference_data_for_writers_keep_nan_payloads(tmp_path):
    """Writers get raw element bytes: the float and complex arrays hold NaNs that are not canonical
    (payload, signalling, negative; in either complex part), which only the canonical bytes, and so
    the expected hash, replace by the canonical quiet NaN."""
    import hashlib

    import numpy as np

    from harness.reference import ReferenceStore

    refs = ReferenceStore(tmp_path)
    qnan = {2: 0x7E00, 4: 0x7FC00000, 8: 0x7FF8000000000000}
    for case in catalogue().values():
        if case.dtype[:5] not in ("float", "compl") or len(case.shape) == 0 or case.region:
            continue  # (a region case's canonical bytes are of its region: tested in test_protocol.py)
        width = np.dtype(numpy_dtype(case.dtype)).itemsize // (2 if case.dtype.startswith("complex") else 1)
        raw = refs.ensure(case).read_bytes()
        canon = refs.canonical(case)
        assert refs.hash(case) == "sha256:" + hashlib.sha256(canon).hexdigest()
        words = np.frombuffer(raw, f"<u{width}")
        floats = np.frombuffer(raw, f"<f{width}")
        odd = np.isnan(floats) & (words != qnan[width])
        assert odd.sum() >= 3, case.id  # a payload, a signalling and a negative NaN at least
        assert (np.frombuffer(canon, f"<u{width}")[odd] == qnan[width]).all()
        assert (np.frombuffer(canon, f"<u{width}")[~odd] == words[~odd]).all(), case.id
        if case.dtype.startswith("complex"):
            assert odd[0::2].any() and odd[1::2].any(), f"{case.id}: NaN payloads in both parts"


def test_the_reference_data_version_is_part_of_the_digest(monkeypatch):
    import harness.cases as cases

    case = catalogue()["v3/int16/zstd/edge"]
    before = case.digest
    monkeypatch.setattr(cases, "REFERENCE_DATA_VERSION", cases.REFERENCE_DATA_VERSION + 1)
    assert case.digest != before


def test_missing_chunks_hold_the_fill_value():
    case = catalogue()["v3/int16/zstd/sparse"]
    a = reference_array(case)
    for i, j in case.missing_chunks:
        assert (a[i * 8:(i + 1) * 8, j * 7:(j + 1) * 7] == 42).all()


def test_cases_doc_is_generated_and_current():
    proc = run_cli("docs", "--check")
    assert proc.returncode == 0, proc.stderr


def test_recording_a_run_with_merge_adds_only_what_the_recording_lacks(tmp_path, monkeypatch):
    """`docs --record RUN --merge`: a run of one new implementation adds its handshake, reads, writes
    and the finding counts of its own cells; what was recorded of the others stays, never counted twice."""
    import json

    from harness import docs

    monkeypatch.setattr(docs, "DOCS", tmp_path / "docs")

    def run(name, readers, writers):
        d = tmp_path / name
        d.mkdir()
        hellos = {iv: {"impl": iv.split("@")[0], "version": iv.split("@")[1], "components": {"libgdal": "/x/y"}}
                  for iv in {*readers, *writers}}
        (d / "run.json").write_text(json.dumps({"implementations": hellos}))
        recs = [{"writer": w, "case": "v2/bool/zlib/edge", "store": "local", "access": "signed", "reader": r,
                 "write_mode": "local", "format": "zarr2", "dtype": "bool", "outcome": "mismatch",
                 "message": "dtype uint8 instead of bool", "diagnosis": "", "label": ""}
                for r in readers for w in writers]
        (d / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
        (d / "writes.jsonl").write_text("".join(json.dumps({"writer": w, "case": "v2/bool/zlib/edge", "format": "zarr2",
                                                            "status": "ok", "faults": []}) + "\n" for w in writers))
        return d

    docs.record(run("all", ["gdal@3.6.2"], ["zarr-python@3.4.2"]))
    first = json.loads((tmp_path / "docs" / "data" / "handshakes.json").read_text())
    assert first["findings"] == {"gdal-v2-bool-as-uint8": 1}
    first["findings"]["a-finding-since-renamed"] = 5
    (tmp_path / "docs" / "data" / "handshakes.json").write_text(json.dumps(first))
    docs.record(run("new", ["gdal@3.12.2", "gdal@3.6.2"], ["zarr-python@3.4.2"]), merge=True)
    merged = json.loads((tmp_path / "docs" / "data" / "handshakes.json").read_text())
    assert set(merged["implementations"]) == {"gdal@3.6.2", "gdal@3.12.2", "zarr-python@3.4.2"}
    assert merged["implementations"]["gdal@3.12.2"]["components"] == {}  # machine paths left out
    assert merged["reads"]["gdal@3.6.2"] == first["reads"]["gdal@3.6.2"]
    assert merged["reads"]["gdal@3.12.2"] == {"zarr2 local": {"mismatch": 1}}
    # the 3.6.2 cell of the new run is not counted again; a finding that no longer exists is dropped
    assert merged["findings"] == {"gdal-v2-bool-as-uint8": 2}

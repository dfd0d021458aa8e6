"""The case catalogue and its generated documentation."""

from collections import Counter

from harness.cases import ALL_DTYPES, N5_DTYPES, V2_COMPRESSORS, V3_COMPRESSORS, N5_COMPRESSIONS, catalogue, select
from harness.reference import reference_array
from zc_canonical import canonical_bytes, from_canonical_bytes
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
        raw = canonical_bytes(a, case.dtype)
        assert canonical_bytes(reference_array(case), case.dtype) == raw
        b = from_canonical_bytes(raw, case.dtype, case.shape)
        assert canonical_bytes(b, case.dtype) == raw


def test_reference_data_holds_the_bug_catchers():
    import numpy as np

    f = reference_array(catalogue()["v3/float64/zstd/edge"])
    assert np.isnan(f).any() and np.isinf(f).any() and (np.signbit(f) & (f == 0)).any()
    assert (np.abs(f[np.isfinite(f) & (f != 0)]) < np.finfo(np.float64).tiny).any()  # subnormals
    i = reference_array(catalogue()["v2/int64/zlib/edge"])
    assert (i == 2**53 + 1).any() and (i < 0).any()
    s = reference_array(catalogue()["v2/string/zlib/edge"])
    assert any(any(ord(ch) > 0xFFFF for ch in x) for x in s.ravel())


def test_missing_chunks_hold_the_fill_value():
    case = catalogue()["v3/int16/zstd/sparse"]
    a = reference_array(case)
    for i, j in case.missing_chunks:
        assert (a[i * 8:(i + 1) * 8, j * 7:(j + 1) * 7] == 42).all()


def test_cases_doc_is_generated_and_current():
    proc = run_cli("docs", "--check")
    assert proc.returncode == 0, proc.stderr

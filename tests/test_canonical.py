"""The canonical form, tested in every language on the committed vectors
(canonical/vectors/vectors.json, schema in canonical/README.md).

Python's zc_canonical runs here directly, on the in-memory forms the Python adapters hand it
(C- and F-ordered, big-endian, object and StringDType string arrays; numpy and plain Python
fill values). Every other language's canonical code is run by that language's own test on
the same file: js-protocol with `node --test`, java-protocol's Canonical with a test main
class on each Java adapter's jar, the zarrs adapter with `cargo test`, netcdf-c's zc_common
and gdal's zc_canonical with a test program their Makefiles build. Each reports one line per
vector; a vector of a dtype the language's adapters have must pass, not be skipped.
A language is skipped (with the reason) only when its toolchain is absent; under CI a
failing build is a failure.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import zc_canonical as canonical

ROOT = Path(__file__).resolve().parent.parent
VECTORS_FILE = ROOT / "canonical" / "vectors" / "vectors.json"
VECTORS = json.loads(VECTORS_FILE.read_text())
ARRAYS = VECTORS["arrays"]
FILLS = VECTORS["fill_values"]
FLOAT_WIDTH = {"float16": 2, "float32": 4, "float64": 8, "complex64": 4, "complex128": 8}


# --- the vectors file itself -------------------------------------------------------------------

def test_vectors_file_follows_its_schema():
    assert VECTORS["schema_version"] == 1 and VECTORS["protocol"] == 1
    assert len({v["name"] for v in ARRAYS}) == len(ARRAYS) and len({v["name"] for v in FILLS}) == len(FILLS)
    for v in ARRAYS:
        assert set(v) == {"name", "dtype", "shape", "input", "canonical", "hash", "note"}, v["name"]
        assert canonical.is_valid_dtype(v["dtype"]), v["name"]
        text = v["dtype"] == "string" or v["dtype"].startswith("U")
        assert set(v["input"]) == ({"values"} if text else {"hex"}), v["name"]
        raw = bytes.fromhex(v["canonical"])
        assert v["hash"] == "sha256:" + hashlib.sha256(raw).hexdigest(), v["name"]
    for v in FILLS:
        keys = {"name", "dtype", "json", "decoded", "note"}
        assert set(v) == (keys | {"canonical_json", "decode_only"} if v.get("decode_only") else keys | {"value"}), v
        assert canonical.is_valid_dtype(v["dtype"]), v["name"]


def test_vectors_file_is_what_its_generator_makes():
    """The committed file and canonical/python/make_vectors.py do not drift apart (the tests
    read the file; this only compares)."""
    proc = subprocess.run([sys.executable, str(ROOT / "canonical" / "python" / "make_vectors.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_vectors_cover_every_dtype_and_form():
    dtypes = {v["dtype"] for v in ARRAYS}
    for name in canonical.NUMERIC_DTYPES:
        assert name in dtypes, name
    assert any(d.startswith("S") for d in dtypes) and any(d.startswith("U") for d in dtypes) and "string" in dtypes
    assert {(v["dtype"], len(v["shape"])) for v in ARRAYS} >= {("float64", 0), ("complex64", 0), ("string", 0),
                                                              ("float32", 5), ("int32", 3)}
    for width, dt in ((2, "float16"), (4, "float32"), (8, "float64")):
        raws = [bytes.fromhex(v["input"]["hex"]) for v in ARRAYS if v["dtype"] in (dt, f"complex{16 * width}")]
        words = {int.from_bytes(r[i:i + width], "little") for r in raws for i in range(0, len(r), width)}
        mant = {2: 10, 4: 23, 8: 52}[width]
        quiet = 1 << (mant - 1)
        nans = {w for w in words if (w >> mant) & ((1 << (8 * width - 1 - mant)) - 1) == (1 << (8 * width - 1 - mant)) - 1
                and w & ((1 << mant) - 1)}
        assert any(w & quiet and w & (quiet - 1) for w in nans), f"{dt}: a quiet NaN with a payload"
        assert any(not w & quiet for w in nans), f"{dt}: a signalling NaN"
        assert any(w >> (8 * width - 1) for w in nans), f"{dt}: a negative NaN"
    forms = {json.dumps(v["json"]) for v in FILLS}
    assert {'"NaN"', '"Infinity"', '"-Infinity"', "-0.0", "null", "true", "18446744073709551615"} <= forms
    assert any(v["dtype"].startswith("complex") and "NaN" in v["json"] for v in FILLS if v["json"])
    assert any(v["dtype"].startswith("S") for v in FILLS) and any(v["dtype"].startswith("U") for v in FILLS)


# --- Python (zc_canonical) ----------------------------------------------------------------------

def python_arrays(v) -> list[tuple[str, np.ndarray]]:
    """The vector's array in the forms Python adapters hand to canonical_bytes."""
    dtype, shape = v["dtype"], tuple(v["shape"])
    if dtype == "string":
        obj = np.empty(len(v["input"]["values"]), dtype=object)
        obj[:] = v["input"]["values"]
        forms = [("object", obj.reshape(shape)), ("StringDType", np.array(v["input"]["values"], dtype="T").reshape(shape))]
    elif dtype.startswith("U"):
        forms = [("U", np.array(v["input"]["values"], dtype=canonical.numpy_dtype(dtype)).reshape(shape))]
    else:
        arr = np.frombuffer(bytes.fromhex(v["input"]["hex"]), dtype=canonical.numpy_dtype(dtype)).reshape(shape)
        forms = [("C order", arr)]
        if arr.dtype.itemsize > 1 and arr.dtype.kind in "iufc":
            forms.append(("big-endian", arr.astype(arr.dtype.newbyteorder(">"))))
    if len(shape) >= 2:
        forms += [(f"{name}, F order", np.asfortranarray(a)) for name, a in forms]
    return forms


@pytest.mark.parametrize("v", ARRAYS, ids=[v["name"] for v in ARRAYS])
def test_python_canonical_bytes(v):
    for form, arr in python_arrays(v):
        got = canonical.canonical_bytes(arr, v["dtype"])
        assert got.hex() == v["canonical"], form
        assert canonical.canonical_hash(arr, v["dtype"]) == v["hash"], form
        if form == "C order" or form in ("object", "U"):
            # the dtype name the adapters report, and reading the canonical bytes back
            if v["dtype"] != "string":
                assert canonical.dtype_name(arr.dtype) == v["dtype"]
            back = canonical.from_canonical_bytes(got, v["dtype"], v["shape"])
            assert canonical.canonical_bytes(back, v["dtype"]) == got


@pytest.mark.parametrize("v", [v for v in ARRAYS if "hex" in v["input"]], ids=lambda v: v["name"])
def test_python_reference_data_keep_nan_payloads(v):
    """Reference data are raw element bytes: decoding them (what writers do) and encoding them
    keep every NaN payload; only the canonical bytes replace NaNs."""
    raw = bytes.fromhex(v["input"]["hex"])
    arr = canonical.from_canonical_bytes(raw, v["dtype"], v["shape"])
    assert canonical.raw_bytes(arr, v["dtype"]) == raw


def python_fills(dtype: str, value) -> list:
    """A fill value as the Python libraries report it: numpy scalars and plain Python values."""
    if value is None:
        return [None]
    if "text" in value:
        return [value["text"]]
    raw = bytes.fromhex(value["hex"])
    if dtype.startswith("S"):
        return [np.frombuffer(raw, dtype=f"S{len(raw)}")[0], raw, raw.rstrip(b"\0")]
    x = np.frombuffer(raw, dtype=canonical.numpy_dtype(dtype))[0]
    return [x, np.asarray(x), x.item()]


def same_json(got, want, floats: bool) -> bool:
    """Equal as protocol JSON: floats by value with the sign of zero, integers exactly."""
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(same_json(g, w, floats) for g, w in zip(got, want))
    if want is None or isinstance(want, (bool, str)) or isinstance(got, (bool, str)) or got is None:
        return type(got) is type(want) and got == want
    if floats:
        return isinstance(got, (int, float)) and float(got) == float(want) and \
            math.copysign(1, float(got)) == math.copysign(1, float(want))
    return isinstance(got, int) and got == want


def decoded_matches(got, decoded, dtype: str) -> bool:
    if decoded is None:
        return got is None
    if "text" in decoded:
        return got == decoded["text"]
    want = bytes.fromhex(decoded["hex"])
    if dtype.startswith("S"):
        return bytes(got).ljust(len(want), b"\0") == want
    got_raw = np.asarray(got, dtype=canonical.numpy_dtype(dtype)).tobytes()
    if dtype in FLOAT_WIDTH:
        w = FLOAT_WIDTH[dtype]
        parts = [(got_raw[i:i + w], want[i:i + w]) for i in range(0, len(want), w)]
        fdt = np.dtype(f"<f{w}")
        return all((np.isnan(np.frombuffer(g, fdt)[0]) and np.isnan(np.frombuffer(e, fdt)[0])) or g == e
                   for g, e in parts)
    return got_raw == want


@pytest.mark.parametrize("v", FILLS, ids=[v["name"] for v in FILLS])
def test_python_fill_values(v):
    dtype, floats = v["dtype"], v["dtype"] in FLOAT_WIDTH
    # A decode-only spelling: the value it decodes to is written as canonical_json.
    value, want = (v["decoded"], v["canonical_json"]) if v.get("decode_only") else (v["value"], v["json"])
    for x in python_fills(dtype, value):
        got = canonical.fill_to_json(x, dtype)
        text = json.dumps(got, allow_nan=False)  # as the Python adapters write responses
        assert same_json(json.loads(text), want, floats), f"fill_to_json({x!r}) wrote {text}"
    assert decoded_matches(canonical.fill_from_json(v["json"], dtype), v["decoded"], dtype)
    assert canonical.fill_equal(v["json"], want, dtype)  # the harness's comparison agrees


def test_fill_equal_tells_apart_what_differs():
    assert not canonical.fill_equal(-0.0, 0.0, "float64") and not canonical.fill_equal(["NaN", 0.0], ["NaN", -0.0], "complex64")
    assert canonical.fill_equal("AAAAAAAA", "", "S6") and not canonical.fill_equal("YWI=", "YQ==", "S6")
    assert not canonical.fill_equal(2**53 + 1, 2**53, "int64") and not canonical.fill_equal(None, 0, "int16")

"""The canonical form, tested in every language on the committed vectors
(canonical/vectors/vectors.json, schema in canonical/README.md).

Python's zc_canonical runs here directly, on the in-memory forms the Python adapters hand it
(C- and F-ordered, big-endian, object and StringDType string arrays; numpy and plain Python
fill values). Every other language's canonical code is run by that language's own test on
the same file: js-protocol with `node --test`, java-protocol's Canonical with a test main
class on each Java adapter's jar, the Rust protocol crate and both Rust adapters (zarrs, the n5
crate) with `cargo test`, netcdf-c's zc_common
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


@pytest.mark.parametrize("v", [v for v in ARRAYS if v["dtype"] in FLOAT_WIDTH], ids=lambda v: v["name"])
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


# --- every other language, by its own test -----------------------------------------------------

def _has_nul(v) -> bool:
    """A string or S<n> element a C string (char*) cannot hold: a NUL before other bytes."""
    def holds(b: bytes) -> bool:
        return b.rstrip(b"\0").find(b"\0") < 0

    def bytes_of(x) -> list[bytes]:
        if x is None:
            return []
        if "text" in x:
            return [x["text"].encode("utf-8")]
        if "values" in x:
            return [s.encode("utf-8") + (b"x" if s.endswith("\0") else b"") for s in x["values"]]
        raw = bytes.fromhex(x["hex"])
        n = int(v["dtype"][1:]) if v["dtype"].startswith("S") else len(raw)
        return [raw[i:i + n] for i in range(0, len(raw), n)] if raw else []

    if not (v["dtype"] == "string" or v["dtype"].startswith("S")):
        return False
    return not all(holds(b) for b in bytes_of(v.get("input") or v.get("value") or v.get("decoded")))


NUMERIC = set(canonical.NUMERIC_DTYPES)
FIXED_TEXT = re.compile(r"^[SU]\d+$")
C_DTYPES = {"int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "string"}
GDAL_DTYPES = C_DTYPES - {"int8"} | {"complex64", "complex128"}  # GDAL 3.6: no Int8, Float16 or boolean
N5_DTYPES = {"int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"}

# Which vectors each language must pass (the rest it skips, with the reason it reports).
MUST_PASS = {
    "javascript": lambda kind, v: True,
    "rust": lambda kind, v: True,
    # The n5 crate's forms: N5's data types only, and no fill value (N5 has none; reads answer null).
    "rust-n5": lambda kind, v: kind == "array" and v["dtype"] in N5_DTYPES,
    "java": lambda kind, v: v["dtype"] in NUMERIC and (kind == "array" or not (
        v["dtype"].startswith("complex") or v["dtype"] == "float16")),
    "c": lambda kind, v: (v["dtype"] in C_DTYPES or v["dtype"].startswith("S")) and not _has_nul(v),
    "c++": lambda kind, v: (v["dtype"] in GDAL_DTYPES or v["dtype"].startswith("S")
                            or (kind == "fill" and v["dtype"].startswith("U"))) and not _has_nul(v),
}


def check_report(language: str, report: Path, proc: subprocess.CompletedProcess | None = None) -> None:
    lines = report.read_text(encoding="utf-8").splitlines() if report.exists() else []
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    for ln in lines:
        m = re.match(r"^(ok|skip|FAIL) (array|fill) (\S+)(?:: (.*))?$", ln)
        assert m, f"{language}: bad report line {ln!r}"
        seen[(m.group(2), m.group(3))] = (m.group(1), m.group(4) or "")
    failed = [f"{k[0]} {k[1]}: {why}" for k, (st, why) in seen.items() if st == "FAIL"]
    tail = "" if proc is None else "\n" + (proc.stdout + proc.stderr)[-3000:]
    assert not failed, f"{language}: {len(failed)} vectors failed:\n" + "\n".join(failed) + tail
    every = [("array", v) for v in ARRAYS] + [("fill", v) for v in FILLS]
    missing = [f"{kind} {v['name']}" for kind, v in every if (kind, v["name"]) not in seen]
    assert not missing, f"{language}: vectors not run: {missing}" + tail
    skipped = [f"{kind} {v['name']}: {seen[(kind, v['name'])][1]}" for kind, v in every
               if MUST_PASS[language](kind, v) and seen[(kind, v["name"])][0] != "ok"]
    assert not skipped, f"{language}: vectors of its dtypes skipped:\n" + "\n".join(skipped)
    if proc is not None:
        assert proc.returncode == 0, f"{language}: exit status {proc.returncode}" + tail


def run(cmd: list[str], cwd: Path, report: Path, timeout: float = 900, env: dict | None = None):
    env = {**os.environ, "ZC_VECTORS": str(VECTORS_FILE), "ZC_VECTORS_REPORT": str(report), **(env or {})}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def built(impl: str):
    """The adapter of `impl`, set up as a run would (its build reused when unchanged). Skips
    when its build tools are absent; a failing build skips here and fails under CI."""
    from harness.environments import NotAvailable, setup
    from harness.matrix import load_matrix

    # the versions of the implementation built from this adapter (GDAL 3.12.2 has a Python backend of its own)
    iv = next(iv for iv in load_matrix().resolve_impls([impl], "reader") if iv.adapter == "command")
    build = iv.build
    missing = [tool for tool in (build.requires if build else []) if not shutil.which(tool)]
    if missing:
        pytest.skip(f"{iv.id}: {', '.join(missing)} not installed")
    try:
        return setup(iv, log=lambda *_: None)
    except NotAvailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"{iv.id} not available here: {exc}")


def test_javascript(tmp_path):
    if not shutil.which("node"):
        pytest.skip("node not installed")
    report = tmp_path / "report.txt"
    proc = run(["node", "--test", "canonical.test.mjs"], ROOT / "readers" / "js-protocol", report)
    check_report("javascript", report, proc)


@pytest.fixture(scope="module")
def java_test_classes(tmp_path_factory):
    """CanonicalVectors compiled once (against zarr-java's jar: the protocol classes are the same
    source in both Java adapters)."""
    if not (shutil.which("javac") and shutil.which("java")):
        pytest.skip("a JDK (javac, java) is not installed")
    jar = next(Path(p) for p in built("zarr-java").command if p.endswith(".jar"))
    classes = tmp_path_factory.mktemp("java-classes")
    src = ROOT / "readers" / "java-protocol" / "src" / "test" / "java" / "zc" / "CanonicalVectors.java"
    javac = subprocess.run(["javac", "-d", str(classes), "-cp", str(jar), str(src)], capture_output=True, text=True)
    assert javac.returncode == 0, javac.stderr
    return classes


@pytest.mark.adapters  # builds the adapter when its build is not current
@pytest.mark.parametrize("impl", ["zarr-java", "jzarr"])
def test_java(impl, java_test_classes, tmp_path):
    """java-protocol's Canonical as each Java adapter's jar has it (with that adapter's Jackson)."""
    jar = next(Path(p) for p in built(impl).command if p.endswith(".jar"))
    classes = java_test_classes
    report = tmp_path / "report.txt"
    proc = run(["java", "-cp", f"{jar}{os.pathsep}{classes}", "zc.CanonicalVectors", str(VECTORS_FILE), str(report)],
               ROOT, report)
    check_report("java", report, proc)


@pytest.mark.adapters  # builds the adapter when its build is not current
@pytest.mark.parametrize("impl, adapter, package, language", [
    ("zarrs", "zarrs-rs", None, "rust"),  # zarrs' forms (ArrayBytes, FillValue) through the adapter
    ("rust-n5", "rust-n5", None, "rust-n5"),  # the n5 crate's element vectors through the adapter
    ("rust-n5", "rust-n5", "zc-protocol", "rust"),  # the shared crate on its own forms (bytes, offsets)
])
def test_rust(impl, adapter, package, language, tmp_path):
    """The Rust canonical code (`cargo test`, with the adapter's lock file, in its target directory)."""
    from harness.environments import tools_root

    env = built(impl)  # the release build whose dependencies the test reuses
    del env
    report = tmp_path / "report.txt"
    proc = run(["cargo", "test", "--release", "--locked", "--quiet", "--target-dir",
                str(tools_root() / "cargo-target" / adapter), *(["-p", package] if package else [])],
               ROOT / "readers" / adapter, report)
    check_report(language, report, proc)


@pytest.mark.adapters  # builds the adapter when its build is not current
@pytest.mark.parametrize("impl, language", [("netcdf-c", "c"), ("gdal", "c++")])
def test_native(impl, language, tmp_path):
    """netcdf-c's zc_common.c and gdal's zc_canonical.cpp, by a test program their Makefiles build."""
    built(impl)  # the Debian packages its build needs
    report = tmp_path / "report.txt"
    proc = run(["make", "-s", "test", f"VECTORS={VECTORS_FILE}", f"REPORT={report}"], ROOT / "readers" / impl, report)
    check_report(language, report, proc)

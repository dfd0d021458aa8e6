"""Canonical bytes, dtype names and fill-value JSON of protocol v1.

This module is the single Python definition of the canonical form: the
harness imports it to hash reference data, the Python adapters to hash what
their library returned. It needs numpy only.

Element bytes (docs/protocol.md): C order, little-endian; bool as one byte
0/1; fixed-length bytes ``S<n>`` as n NUL-padded bytes; fixed-length unicode
``U<n>`` as n UTF-32LE code units; variable-length UTF-8 ``string`` as, per
element, a 4-byte little-endian length then the bytes. Reference data handed
to writers are element bytes as they are (NaN payloads kept); the canonical
bytes, which are hashed, also replace every NaN (float and complex parts) by
the canonical quiet NaN of its width.

canonical/vectors/vectors.json holds the test vectors every language's
canonical code is tested on (canonical/README.md).
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct

import numpy as np

NUMERIC_DTYPES = {
    "bool": "|b1",
    "int8": "|i1",
    "int16": "<i2",
    "int32": "<i4",
    "int64": "<i8",
    "uint8": "|u1",
    "uint16": "<u2",
    "uint32": "<u4",
    "uint64": "<u8",
    "float16": "<f2",
    "float32": "<f4",
    "float64": "<f8",
    "complex64": "<c8",
    "complex128": "<c16",
}
_FIXED = re.compile(r"^([SU])([1-9][0-9]*)$")

# Canonical quiet NaN bit patterns, by float width in bytes.
_QNAN = {2: np.uint16(0x7E00), 4: np.uint32(0x7FC00000), 8: np.uint64(0x7FF8000000000000)}
_UINT = {2: np.uint16, 4: np.uint32, 8: np.uint64}


class DtypeError(ValueError):
    pass


def is_valid_dtype(name: str) -> bool:
    return name in NUMERIC_DTYPES or name == "string" or bool(_FIXED.match(name))


def numpy_dtype(name: str) -> np.dtype:
    """The numpy dtype used in memory for a canonical dtype name."""
    if name in NUMERIC_DTYPES:
        return np.dtype(NUMERIC_DTYPES[name])
    if name == "string":
        return np.dtype(object)
    m = _FIXED.match(name)
    if m:
        return np.dtype(f"{'<U' if m.group(1) == 'U' else '|S'}{m.group(2)}")
    raise DtypeError(f"unknown dtype {name!r}")


def dtype_name(dt: np.dtype, sample: np.ndarray | None = None) -> str:
    """The canonical name of a numpy dtype (byte order is not part of the name)."""
    dt = np.dtype(dt)
    if dt.kind == "b":
        return "bool"
    if dt.kind in "iu":
        return f"{'u' if dt.kind == 'u' else ''}int{dt.itemsize * 8}"
    if dt.kind == "f":
        return f"float{dt.itemsize * 8}"
    if dt.kind == "c":
        return f"complex{dt.itemsize * 8}"
    if dt.kind == "S":
        return f"S{dt.itemsize}"
    if dt.kind == "U":
        return f"U{dt.itemsize // 4}"
    if dt.kind in "OT":  # object arrays of str, numpy 2 StringDType
        return "string"
    raise DtypeError(f"no canonical name for numpy dtype {dt}")


def _canonical_nan(flat: np.ndarray) -> np.ndarray:
    """Replace NaNs of a little-endian float array by the canonical quiet NaN."""
    width = flat.dtype.itemsize
    bits = flat.view(_UINT[width]).copy()
    bits[np.isnan(flat)] = _QNAN[width]
    return bits


def raw_bytes(arr: np.ndarray, dtype: str | None = None) -> bytes:
    """The element bytes of an array with NaN payloads as they are: the form of reference data."""
    return _element_bytes(arr, dtype, canonical_nan=False)


def canonical_bytes(arr: np.ndarray, dtype: str | None = None) -> bytes:
    """The canonical bytes of an array (see module docstring)."""
    return _element_bytes(arr, dtype, canonical_nan=True)


def _element_bytes(arr: np.ndarray, dtype: str | None, canonical_nan: bool) -> bytes:
    arr = np.asarray(arr)
    name = dtype or dtype_name(arr.dtype)
    if name == "string":
        out = bytearray()
        for item in arr.ravel(order="C").tolist():
            if isinstance(item, bytes):
                raw = item
            else:
                raw = str(item).encode("utf-8")
            out += struct.pack("<I", len(raw))
            out += raw
        return bytes(out)
    target = numpy_dtype(name)
    a = np.ascontiguousarray(arr.astype(target, copy=False))
    if target.kind == "b":
        # a bool array read as stored may hold other bytes than 0/1 for True
        return (a.view(np.uint8) != 0).astype(np.uint8).tobytes()
    if not canonical_nan:
        return a.tobytes()
    if target.kind == "f":
        return _canonical_nan(a.ravel()).tobytes()
    if target.kind == "c":
        parts = a.ravel().view(np.dtype(f"<f{target.itemsize // 2}"))
        return _canonical_nan(parts).tobytes()
    return a.tobytes()


def canonical_hash(arr: np.ndarray, dtype: str | None = None) -> str:
    return "sha256:" + hashlib.sha256(canonical_bytes(arr, dtype)).hexdigest()


def from_canonical_bytes(buf: bytes, dtype: str, shape: list[int] | tuple[int, ...]) -> np.ndarray:
    """Decode element bytes (reference data, or canonical bytes) into an array of the in-memory
    numpy dtype; NaN payloads are kept as they are."""
    shape = tuple(shape)
    if dtype == "string":
        items, pos = [], 0
        while pos < len(buf):
            (n,) = struct.unpack_from("<I", buf, pos)
            items.append(buf[pos + 4 : pos + 4 + n].decode("utf-8"))
            pos += 4 + n
        out = np.empty(len(items), dtype=object)
        out[:] = items
        return out.reshape(shape)
    return np.frombuffer(buf, dtype=numpy_dtype(dtype)).reshape(shape).copy()


# --- fill values -----------------------------------------------------------

def float_to_json(x: float):
    """A float as JSON: a number, or the names Zarr's metadata gives NaN and the infinities."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return float(x)


def fill_to_json(value, dtype: str):
    """The protocol's JSON form of a fill value of a canonical dtype."""
    if value is None:
        return None
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if dtype == "bool":
        return bool(value)
    if dtype.startswith(("int", "uint")):
        return int(value)
    if dtype.startswith("float"):
        return float_to_json(float(value))
    if dtype.startswith("complex"):
        c = complex(value)
        return [float_to_json(c.real), float_to_json(c.imag)]
    if dtype.startswith("S"):
        # Text a library reports for a byte string stands for its UTF-8 bytes, as in every
        # other language's canonical code (docs/protocol.md, "Fill values in JSON").
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw.rstrip(b"\0")).decode("ascii")
    return str(value)  # U<n> and string


def _float_from_json(v) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(v, v) if isinstance(v, str) else float(v)


def fill_from_json(value, dtype: str):
    """A Python/numpy scalar for a JSON fill value (inverse of fill_to_json)."""
    if value is None:
        return None
    if dtype.startswith("float"):
        return numpy_dtype(dtype).type(_float_from_json(value))
    if dtype.startswith("complex"):
        return numpy_dtype(dtype).type(complex(_float_from_json(value[0]), _float_from_json(value[1])))
    if dtype.startswith("S"):
        return base64.b64decode(value)
    if dtype == "bool":
        return bool(value)
    if dtype.startswith(("int", "uint")):
        return numpy_dtype(dtype).type(int(value))
    return value


def fill_equal(a, b, dtype: str) -> bool:
    """Compare two JSON fill values of one dtype: NaN equals NaN, -0.0 differs from 0.0."""
    if a is None or b is None:
        return a is b
    try:
        x, y = fill_from_json(a, dtype), fill_from_json(b, dtype)
    except (TypeError, ValueError, IndexError, OverflowError):
        return False
    if dtype.startswith(("float", "complex")):
        xs = [complex(x).real, complex(x).imag]
        ys = [complex(y).real, complex(y).imag]
        return all(
            (math.isnan(p) and math.isnan(q)) or (p == q and math.copysign(1, p) == math.copysign(1, q))
            for p, q in zip(xs, ys)
        )
    if dtype.startswith("S"):
        return bytes(x).rstrip(b"\0") == bytes(y).rstrip(b"\0")
    return x == y

"""Reference data: the array each case must contain, made deterministically.

The values are chosen to catch real bugs rather than to look random: extreme
and negative integers, int64 beyond 2^53 (lost by readers that go through
doubles), -0.0, subnormals, +-Inf and NaN, multi-byte and astral UTF-8, and
no symmetry (a transposed or byte-swapped read never hashes equal).
Chunks a case lists as missing hold the fill value.

Writers get the raw element bytes (docs/protocol.md), and the float and complex
arrays hold NaNs that are not canonical (quiet with a payload, signalling,
negative, in either complex part), so every reader's NaN canonicalisation runs;
the expected hash is over the canonical bytes, in which each of them is the
canonical quiet NaN. A change to the data made here bumps
cases.REFERENCE_DATA_VERSION, so that cached datasets are written anew.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from pathlib import Path

import numpy as np

from zc_canonical import canonical_bytes, canonical_hash, fill_from_json, numpy_dtype, raw_bytes

from .cases import Case

WORDS = ["", "a", "zarr", "température", "数据", "🧊", "naïve café", "Ωμέγα", "x" * 13, "tab\tand\nnewline"]


def _rng(case: Case) -> np.random.Generator:
    seed = int.from_bytes(hashlib.sha256(case.id.encode()).digest()[:8], "little")
    return np.random.default_rng(seed)


class Bits(int):
    """A float given by its bit pattern, so that a NaN keeps its payload and sign (assigning a
    float would quiet a signalling NaN or drop the payload on the way)."""


# NaNs that are not canonical, by float width: quiet with a payload, signalling, negative
# quiet, negative signalling with a payload.
NAN_BITS = {
    2: [0x7E2A, 0x7C01, 0xFE00, 0xFD55],
    4: [0x7FC0BEEF, 0x7F800001, 0xFFC00000, 0xFFA5A5A5],
    8: [0x7FF80000DEADBEEF, 0x7FF0000000000001, 0xFFF8000000000000, 0xFFF5A5A5A5A5A5A5],
}


def _specials(dtype: str) -> list:
    dt = numpy_dtype(dtype)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        vals = [info.min, info.max, 0, 1, info.max - 1]
        if dt.kind == "i":
            vals += [-1, info.min + 1]
        if dt.itemsize == 8:
            vals += [2**53 + 1, 2**62 + 3] + ([-(2**53) - 1] if dt.kind == "i" else [2**64 - 3])
        return vals
    if dt.kind == "f":
        fi = np.finfo(dt)
        return [np.nan, np.inf, -np.inf, -0.0, 0.0, fi.smallest_subnormal, -fi.smallest_subnormal, fi.max, fi.min,
                fi.tiny, *map(Bits, NAN_BITS[dt.itemsize])]
    if dt.kind == "c":
        q, s, nq, ns = map(Bits, NAN_BITS[dt.itemsize // 2])
        return [complex(np.nan, 1), complex(1, np.inf), complex(-0.0, -0.0), complex(-np.inf, np.nan),
                complex(3.5, -2.25), (q, 2.5), (-1.0, s), (nq, ns), (ns, -0.0)]
    return []


def _put(flat: np.ndarray, pos: int, val) -> None:
    """flat[pos] = val, where a float (or a complex part) may be given as Bits."""
    if isinstance(val, tuple):  # (real, imaginary) of a complex element
        parts = flat.view(f"<f{flat.dtype.itemsize // 2}")
        for k, part in enumerate(val):
            _put(parts, 2 * pos + k, part)
    elif isinstance(val, Bits):
        flat.view(f"<u{flat.dtype.itemsize}")[pos] = int(val)
    else:
        flat[pos] = val


def reference_array(case: Case) -> np.ndarray:
    rng = _rng(case)
    dt = numpy_dtype(case.dtype)
    shape = case.shape
    n = int(np.prod(shape)) if shape else 1
    if case.dtype == "bool":
        flat = rng.integers(0, 2, n).astype(bool)
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        flat = rng.integers(info.min, info.max, n, dtype=dt, endpoint=True)
    elif dt.kind == "f":
        flat = (rng.standard_normal(n) * 1000).astype(dt)
    elif dt.kind == "c":
        flat = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(dt) * 100
    elif case.dtype == "string":
        flat = np.empty(n, dtype=object)
        flat[:] = [WORDS[i] for i in rng.integers(0, len(WORDS), n)]
    elif dt.kind == "U":
        width = dt.itemsize // 4
        flat = np.array([w[:width].rstrip("\0") or "Z" for w in (WORDS[i] for i in rng.integers(0, len(WORDS), n))], dtype=dt)
    else:  # S<n>: bytes without trailing NULs (those are padding by definition)
        width = dt.itemsize
        raw = rng.integers(1, 256, (n, width), dtype=np.uint8)
        flat = raw.view(f"S{width}").reshape(n).astype(dt)
    specials = _specials(case.dtype)
    if specials and n >= 4:  # a 0-d array keeps its random value, never the fill
        # Spread the special values so they land in first, interior and edge chunks.
        positions = np.linspace(0, n - 1, num=min(len(specials), n)).astype(int)
        for pos, val in zip(positions, specials):
            _put(flat, int(pos), val)
    arr = flat.reshape(shape)
    _blank_missing_chunks(case, arr)
    return arr


def region_slices(region) -> tuple[slice, ...]:
    """A protocol region ([start, stop, step] per axis) as numpy slices."""
    return tuple(slice(start, stop, step) for start, stop, step in region)


def expected_array(case: Case) -> np.ndarray:
    """What a reader must return: the reference array, or the case's region of it (a partial read)."""
    arr = reference_array(case)
    return arr[region_slices(case.region)] if case.region else arr


def _blank_missing_chunks(case: Case, arr: np.ndarray) -> None:
    if not case.missing_chunks:
        return
    fill = fill_from_json(case.fill_value, case.dtype)
    for idx in case.missing_chunks:
        region = tuple(slice(i * c, (i + 1) * c) for i, c in zip(idx, case.chunks))
        arr[region] = fill


def chunk_regions(case: Case):
    """Index tuples of every chunk of the case's chunk grid."""
    return itertools.product(*(range(g) for g in case.chunk_grid))


class ReferenceStore:
    """Reference data files (the raw element bytes writers get: NaN payloads as they are) and
    the expected hashes (of the canonical bytes), cached on disk by case digest."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, case: Case) -> Path:
        return self.root / f"{case.id}.{case.digest}.bin"

    def ensure(self, case: Case) -> Path:
        p = self.path(case)
        if not p.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp = p.with_name(f"{p.name}.{uuid.uuid4().hex}.tmp")  # writers of one case may race
            tmp.write_bytes(raw_bytes(reference_array(case), case.dtype))
            tmp.replace(p)
        return p

    def canonical(self, case: Case) -> bytes:
        """The canonical bytes of what a reader must return (the case's region, if any): what its dump must hold."""
        return canonical_bytes(expected_array(case), case.dtype)

    def hash(self, case: Case) -> str:
        return canonical_hash(expected_array(case), case.dtype)

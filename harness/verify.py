"""Verification: a read result against the case's reference, and mismatch diagnosis.

A cell passes only when shape, dtype, data hash, fill value and attributes all
match. A mismatch is diagnosed from a dump of the reader's canonical bytes:
transposed, byte-swapped, all fill value, edge chunks only, signed zeros lost,
N elements differ, first differing index.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from zc_canonical import fill_equal, fill_from_json, from_canonical_bytes, numpy_dtype

from .cases import Case
from .dataset_check import RESERVED_ATTRIBUTE


def user_attributes(attrs: dict) -> dict:
    return {k: v for k, v in (attrs or {}).items() if not k.startswith(RESERVED_ATTRIBUTE)}


@dataclass
class Verdict:
    ok: bool
    problems: list[str]

    @property
    def message(self) -> str:
        return "; ".join(self.problems)


def expected_fill(case: Case):
    return case.read_fill_value


def _attribute_detail(want, got) -> str:
    """The first differing value, for a mismatch diagnosis (e.g. a big integer read as a double)."""
    for k in sorted(set(want) & set(got)):
        if want[k] != got[k]:
            return f"attribute {k!r}: read {json.dumps(got[k], ensure_ascii=False)[:80]}, expected {json.dumps(want[k], ensure_ascii=False)[:80]}"
    return ""


def check(case: Case, expected_hash: str, resp: dict) -> Verdict:
    problems = []
    if list(resp.get("shape", [])) != list(case.read_shape):
        problems.append(f"shape {resp.get('shape')} instead of {list(case.read_shape)}"
                        + (" (the region's)" if case.region else ""))
    if resp.get("dtype") != case.dtype:
        problems.append(f"dtype {resp.get('dtype')} instead of {case.dtype}")
    if resp.get("hash") != expected_hash:
        problems.append("data differ from the reference")
    fill = resp.get("fill_value")
    want_fill = case.read_fill_value
    # N5 has no fill value in its metadata, nor has a v2 array with `fill_value: null`: readers use 0 (or say
    # none), and the data alone carry the verdict.
    if not (case.format == "n5" and fill in (None, 0)) and want_fill is not None:
        if not fill_equal(fill, want_fill, case.dtype):
            problems.append(f"fill value {fill!r} instead of {want_fill!r}")
    got, want = user_attributes(resp.get("attributes") or {}), case.attributes or {}
    if got != want:
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        changed = sorted(k for k in set(want) & set(got) if want[k] != got[k])
        parts = [f"{label} {keys}" for label, keys in (("missing", missing), ("unexpected", extra), ("changed", changed)) if keys]
        problems.append("attributes differ: " + ", ".join(parts))
        detail = _attribute_detail(want, got)
        if detail:
            problems.append(detail)
    return Verdict(not problems, problems)


def _equal(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    if a.dtype.kind == "c":
        return _equal(a.real, b.real) and _equal(a.imag, b.imag)
    if a.dtype.kind == "f":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def diagnose(case: Case, reference: np.ndarray, dump: bytes, resp: dict) -> str:
    """Explain how the reader's data differ from the reference."""
    shape = tuple(resp.get("shape") or ())
    dtype = resp.get("dtype") or case.dtype
    try:
        got = from_canonical_bytes(dump, dtype, shape)
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        return f"the dump cannot be decoded as {dtype}{list(shape)}: {exc}"
    notes = []
    if dtype != case.dtype:
        notes.append(f"read as {dtype}")
        try:
            narrowed = got.astype(numpy_dtype(case.dtype))
            # Compare in the case's type only when nothing is lost on the way (no wrap-around).
            lossless = got.dtype == object or _equal(narrowed.astype(got.dtype), got)
        except (TypeError, ValueError, OverflowError):
            return "; ".join(notes + ["values not comparable"])
        if not lossless:
            return "; ".join(notes + [f"values that {case.dtype} cannot hold"])
        got = narrowed
    if case.region and got.shape == case.shape:
        return "; ".join(notes + [f"the whole array read (shape {list(shape)}), not the region {case.region_json}"])
    if got.shape != reference.shape:
        if got.size == reference.size:
            if reference.ndim >= 2 and got.shape == reference.shape[::-1] and _equal(got, reference.T):
                return "transposed (axes reversed)"
            if _equal(got.reshape(reference.shape), reference):
                return f"shape {list(shape)} but the elements in C order are right"
            if reference.ndim >= 2 and _equal(got.reshape(reference.shape[::-1]).T, reference):
                return f"shape {list(shape)}: the data are the reference in F order"
        return "; ".join(notes + [f"shape {list(shape)} instead of {list(reference.shape)}"])
    if reference.ndim >= 2 and reference.shape == reference.shape[::-1] and _equal(got, reference.T):
        return "transposed"
    if reference.ndim >= 2 and _equal(got.reshape(-1), reference.reshape(-1, order="F")):
        return "C/F order confused: the elements are the reference in F order"
    if reference.dtype.kind in "iufc" and reference.dtype.itemsize > 1:
        if _equal(got, reference.byteswap()):
            return "byte-swapped"
    fill = fill_from_json(case.fill_value, case.dtype)
    differ = _differ(got, reference)
    n = int(differ.sum())
    if n == 0:
        if reference.dtype.kind in "fc" and not np.array_equal(np.signbit(got.real), np.signbit(reference.real)):
            return "; ".join(notes + ["signed zeros lost (-0.0 read as 0.0 or the reverse)"])
        if dtype != case.dtype:
            # GDAL 3.6 reading int8 as int16, say: nothing is lost but the type.
            return f"values right, read as {dtype}"
        return "values equal but bytes differ (NaN payload or encoding)"
    first = tuple(int(i) for i in np.argwhere(differ)[0]) if got.ndim else ()
    parts = notes[:]
    try:
        if fill is not None and np.all(got == fill):
            parts.append("all elements are the fill value")
    except (TypeError, ValueError):
        pass
    if got.ndim and n < got.size and not case.region and _edge_only(differ, case):
        parts.append("only edge chunks differ")
    if got.ndim and fill is not None and not case.missing_chunks:
        try:
            if np.all(got[differ] == fill):
                parts.append("differing elements hold the fill value (chunks read as missing?)")
        except (TypeError, ValueError):
            pass
    parts.append(f"{n} of {got.size} elements differ, first at index {list(first)}"
                 + _values_at(got, reference, first))
    return "; ".join(parts)


def _differ(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    if ref.dtype.kind == "c":  # part by part: NaN+0j and NaN+1.5j differ
        return _differ(got.real, ref.real) | _differ(got.imag, ref.imag)
    if ref.dtype.kind == "f":
        same = (got == ref) | (np.isnan(got) & np.isnan(ref))
        return ~same
    if ref.dtype == object:
        return np.array([a != b for a, b in zip(got.ravel(), ref.ravel())], dtype=bool).reshape(ref.shape)
    return got != ref


def _edge_only(differ: np.ndarray, case: Case) -> bool:
    """True when every differing element lies in a partial (edge) chunk."""
    edge = np.zeros(differ.shape, dtype=bool)
    for axis, (s, c) in enumerate(zip(case.shape, case.chunks)):
        if s % c:
            idx = [slice(None)] * differ.ndim
            idx[axis] = slice(s - s % c, s)
            edge[tuple(idx)] = True
    return bool(edge.any() and not (differ & ~edge).any())


def _values_at(got, ref, idx) -> str:
    try:
        return f" (read {got[idx]!r}, expected {ref[idx]!r})"
    except (IndexError, TypeError):
        return ""

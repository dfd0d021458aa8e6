"""What an array's own metadata document records, for libraries with no API for it (z5py's fill value,
cpp-zarr's fill value and attributes): read by the adapter, as recorded, with no conversion."""

from __future__ import annotations

import json
import os

META_NAMES = {"zarr2": ".zarray", "zarr3": "zarr.json"}


def load_metadata(array_dir: str, fmt: str) -> dict:
    """The array's .zarray or zarr.json; the JSON literal -0 is negative zero (as fill values compare)."""
    with open(os.path.join(array_dir, META_NAMES[fmt]), encoding="utf-8") as fh:
        return json.load(fh, parse_int=lambda t: -0.0 if t == "-0" else int(t))


def recorded_fill(meta: dict):
    """The fill value as recorded (a float for an integer array stays a float): the names of NaN and the
    infinities as floats, nothing else converted to the dtype."""
    fv = meta.get("fill_value")
    if isinstance(fv, list) and len(fv) == 2:  # a complex number as [real, imaginary]
        return complex(_named_float(fv[0]), _named_float(fv[1]))
    return _named_float(fv)


def _named_float(fv):
    if isinstance(fv, str):
        return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}.get(fv, fv)
    return fv


def recorded_attributes(array_dir: str, fmt: str, meta: dict) -> dict:
    """The user attributes: zarr.json's "attributes", or a zarr v2 array's .zattrs (none: {})."""
    if fmt == "zarr3":
        return dict(meta.get("attributes") or {})
    path = os.path.join(array_dir, ".zattrs")
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)

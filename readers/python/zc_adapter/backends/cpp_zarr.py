"""cpp-zarr (C++, OpenMP and c-blosc) through its pybind11 bindings: Zarr v2 and v3 arrays on local disk.

Used as its README shows: `cppzarr.read_zarr(path)` and
`cppzarr.write_zarr(path, data, cname=, clevel=, order=, chunks=, dimension_separator=, zarr_format=,
shards=)`. Its API is one array at a path: no groups, no attributes, no fill value.

* Stores: a local directory only (read_zarr checks for .zarray / zarr.json with os.path); every remote
  store is `unsupported`.
* Reads: the data comes from read_zarr. cpp-zarr has no API for the fill value or the attributes: the
  adapter reports the ones recorded in the array's .zarray/.zattrs or zarr.json (as for z5py).
* Writes: `cname` is the whole encoding: "none" (no compressor), "gzip" (numcodecs gzip / the v3 gzip
  codec, with clevel), or a blosc compressor (blosclz, lz4, lz4hc, zlib, zstd) with shuffle 1 (v3:
  "shuffle", typesize the item size) and blocksize 0. v3: chunk keys default "/"; shards= gives one
  sharding_indexed codec with index_codecs [bytes(little), crc32c] at the end. What it cannot express
  (other compressors and codecs, filters, attributes, groups, fill values other than 0, dimension
  names, string dtypes) answers `unsupported`.
* The array is written alone, with no group above it (no .zgroup or zarr.json at the dataset root):
  readers that open a hierarchy from its root open such an array by its own directory (GDAL, z5py).
* Missing chunks: write_zarr leaves out chunks that are all 0, its fill value; the reference data holds
  the fill value in the missing chunks, so they are not written (the protocol allows a writer to skip
  chunks equal to the fill value).
"""

from __future__ import annotations

import os
import re
from importlib import metadata

import numpy as np

import zc_canonical as canonical
from ..metadata import load_metadata, recorded_attributes, recorded_fill
from ..protocol import Backend, ReadResult, Unsupported, bounding_box, check_region

BLOSC_CNAMES = ("blosclz", "lz4", "lz4hc", "zlib", "zstd")
LITTLE_BYTES = ({"name": "bytes", "configuration": {"endian": "little"}}, {"name": "bytes"})
INDEX_CODECS = [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}]
REMOTE = ("s3", "http", "gcs", "azure")
_NOT_SUPPORTED = re.compile(r"\bnot supported\b")


def local_root(target: dict, lib: str) -> str:
    kind = target.get("kind")
    if kind in REMOTE:
        raise Unsupported(f"{lib} reads and writes the local file system only: no {kind} store")
    if kind != "local":
        raise Unsupported(f"store kind {kind!r} is not known to this adapter")
    return target["path"]


def is_zero_fill(value, dtype: str) -> bool:
    """The case's fill value is the one cpp-zarr (and acquire-zarr) write: 0 (false, +0.0, 0+0j)."""
    fill = canonical.fill_from_json(value, dtype)
    if fill is None:
        return False
    if dtype.startswith(("float", "complex")):
        return canonical.fill_equal(canonical.fill_to_json(fill, dtype), canonical.fill_to_json(0, dtype), dtype)
    return not fill


class CppZarrBackend(Backend):
    impl = "cpp-zarr"

    def __init__(self):
        import cppzarr

        self.cppzarr = cppzarr

    def version(self) -> str:
        return metadata.version("cpp-zarr")

    def versions(self) -> dict:
        return {"numpy": np.__version__}

    # --- write ------------------------------------------------------------------

    @staticmethod
    def _v2_cname(comp) -> tuple[str, int]:
        if comp is None:
            return "none", 1
        cid = comp.get("id")
        if cid == "gzip":
            return "gzip", comp.get("level", 1)
        if cid == "blosc":
            if comp.get("cname") not in BLOSC_CNAMES:
                raise Unsupported(f"cpp-zarr has no blosc compressor {comp.get('cname')!r}")
            if comp.get("shuffle", 1) != 1 or comp.get("blocksize", 0) != 0:
                raise Unsupported("cpp-zarr writes blosc with shuffle 1 (byte shuffle) and blocksize 0 only")
            return comp["cname"], comp.get("clevel", 5)
        raise Unsupported(f"cpp-zarr has no zarr v2 compressor {cid!r} (its cname: none, gzip or a blosc "
                          f"compressor: {', '.join(BLOSC_CNAMES)})")

    @staticmethod
    def _v3_cname(codecs: list, itemsize: int) -> tuple[str, int]:
        if "transpose" in [c.get("name") for c in codecs]:
            raise Unsupported("cpp-zarr writes no transpose codec")
        if not codecs or codecs[0] not in LITTLE_BYTES:
            raise Unsupported("cpp-zarr writes the bytes codec little-endian, first, only")
        rest = codecs[1:]
        if not rest:
            return "none", 1
        if len(rest) > 1:
            raise Unsupported("cpp-zarr writes at most one bytes-to-bytes codec")
        name, cfg = rest[0].get("name"), rest[0].get("configuration", {})
        if name == "gzip":
            return "gzip", cfg.get("level", 1)
        if name == "blosc":
            if cfg.get("cname") not in BLOSC_CNAMES:
                raise Unsupported(f"cpp-zarr has no blosc compressor {cfg.get('cname')!r}")
            if (cfg.get("shuffle"), cfg.get("typesize", itemsize), cfg.get("blocksize", 0)) != ("shuffle", itemsize, 0):
                raise Unsupported("cpp-zarr writes blosc with shuffle 'shuffle', typesize the item size and "
                                  "blocksize 0 only")
            return cfg["cname"], cfg.get("clevel", 5)
        raise Unsupported(f"cpp-zarr has no zarr v3 codec {name!r} (gzip or blosc only)")

    def write(self, case: dict, data: np.ndarray, target: dict) -> None:
        root = local_root(target, "cpp-zarr")
        fmt, dtype = case["format"], case["dtype"]
        if fmt not in ("zarr2", "zarr3"):
            raise Unsupported(f"cpp-zarr writes Zarr v2 and v3 only, not {fmt!r}")
        if dtype.startswith(("S", "U")) or dtype == "string":
            raise Unsupported(f"cpp-zarr writes numeric and bool arrays only, not {dtype}")
        if case.get("attributes") or any(case.get("groups") or {}):
            raise Unsupported("cpp-zarr writes one array: no groups and no attributes (write_zarr has no option "
                              "for them)")
        if not is_zero_fill(case.get("fill_value"), dtype):
            raise Unsupported(f"cpp-zarr writes the fill value 0 only (write_zarr has no fill value option), "
                              f"not {case.get('fill_value')!r}")
        kwargs = {"chunks": list(case["chunks"])}
        if fmt == "zarr2":
            if case.get("filters"):
                raise Unsupported("cpp-zarr writes no zarr v2 filters")
            cname, clevel = self._v2_cname(case.get("compressor"))
            kwargs.update(zarr_format=2, order=case.get("order", "C"),
                          dimension_separator=case.get("dimension_separator", "."))
        else:
            if case.get("dimension_names"):
                raise Unsupported("cpp-zarr writes no dimension_names")
            cke = case.get("chunk_key_encoding") or {"name": "default"}
            if cke.get("name") != "default" or (cke.get("configuration") or {}).get("separator", "/") != "/":
                raise Unsupported("cpp-zarr writes chunk_key_encoding default with '/' only")
            codecs = list(case["codecs"])
            if codecs and codecs[0].get("name") == "sharding_indexed":
                cfg = codecs[0].get("configuration", {})
                if len(codecs) > 1 or cfg.get("index_codecs") != INDEX_CODECS or cfg.get("index_location", "end") != "end":
                    raise Unsupported("cpp-zarr writes one sharding_indexed codec with index_codecs "
                                      "[bytes(little), crc32c] at the end only")
                kwargs.update(shards=list(case["chunks"]), chunks=list(cfg["chunk_shape"]))
                codecs = list(cfg.get("codecs", []))
                if "sharding_indexed" in [c.get("name") for c in codecs]:
                    raise Unsupported("cpp-zarr writes one level of sharding only")
            cname, clevel = self._v3_cname(codecs, canonical.numpy_dtype(dtype).itemsize)
            kwargs.update(zarr_format=3, order="C", dimension_separator="/")
        path = os.path.join(root, case["path"]) if case["path"] else root
        src = np.array(data, dtype=canonical.numpy_dtype(dtype).newbyteorder("="), order="C")  # (keeps a 0-d array 0-d)
        self.cppzarr.write_zarr(path, src, cname=cname, clevel=clevel, **kwargs)

    # --- read -------------------------------------------------------------------

    def read(self, target: dict, path: str, fmt: str | None, region=None) -> ReadResult:
        root = local_root(target, "cpp-zarr")
        if fmt not in ("zarr2", "zarr3"):
            raise Unsupported(f"cpp-zarr reads Zarr v2 and v3 only (.zarray or zarr.json), not {fmt!r}")
        array_dir = os.path.join(root, path) if path else root
        try:
            if region is None:
                arr = self.cppzarr.read_zarr(array_dir)
            else:
                # read_zarr(start_coords, end_coords) reads a box: the box, then every step-th element.
                check_region(region, load_metadata(array_dir, fmt)["shape"])
                box, steps = bounding_box(region)
                arr = np.asarray(self.cppzarr.read_zarr(array_dir, [s.start for s in box], [s.stop for s in box]))[steps]
        except RuntimeError as exc:
            # cpp-zarr's own refusals: 'its data type "|S6" is not supported', 'it has filters, which are not
            # supported'.
            if _NOT_SUPPORTED.search(str(exc)):
                raise Unsupported(f"cpp-zarr: {exc}") from exc
            raise
        meta = load_metadata(array_dir, fmt)
        return ReadResult(np.asarray(arr), recorded_fill(meta), recorded_attributes(array_dir, fmt, meta))


BACKEND = CppZarrBackend

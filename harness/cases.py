"""The case catalogue: language-neutral dataset specifications.

A case says what a dataset must contain and how it must be encoded (format,
dtype, shape, chunking, codecs, fill value, missing chunks, attributes). The
reference data it must hold comes from harness.reference. Writers receive the
case as JSON (Case.writer_json); readers never see it, only the format to open.

Axes multiply (format x dtype x codec x order x separator x layout), so the
catalogue is built from families rather than the full cross product:

* every dtype once per format, with one common codec;
* every codec once per format, with a dtype whose item size matters to it;
* structure: 0-d to 5-d, partial edge chunks, chunks larger than the array,
  F order, separators and chunk key encodings, sharding variants;
* fill values, sparse arrays (missing chunks), nested groups, attributes;
* in the `full` tier, a pairwise (all-pairs) design over the v2 and v3 axes,
  so every pair of values of two axes appears in at least one case;
* datasets damaged on purpose (`corrupt-*`): what a writer wrote, then damaged
  by the harness (harness/alter.py): a truncated chunk, a valid stream of the
  wrong decoded size, a crc32c that does not match, a truncated shard index or
  one pointing outside its shard, metadata that is not JSON, an unknown codec,
  an unknown field a reader must understand. A reader must fail; it passes only
  when it also reads the intact copy right (a control read), and one that
  returns data is a mismatch diagnosed "accepted corrupt data". Five of them
  (a truncated chunk, a crc32c mismatch, a shard offset out of range, metadata
  that is not JSON, an unknown codec) are in `default`, the rest in `full`;
* datasets as other tools leave them, which the writers here do not emit, made
  the same way from what they wrote and read like any other case: an extension
  field with `must_understand: false`, a chunk_key_encoding without its
  configuration, consolidated metadata; v2 blosc `shuffle: -1` or with a
  `typesize` key, zlib as a filter with a null compressor (kerchunk), `fill_value:
  null`, big-endian dtypes; v3 `numcodecs.*` codecs (VirtualiZarr, Icechunk) and
  blosc without shuffling nor `typesize` (`as-found:*` features, all in `full`);
* chunks within a binary file (`source:*` features): netCDF4 files written by
  netCDF4-python and HDF5 files by h5py (chunked and contiguous, deflate and
  shuffle, big-endian, fill values, unallocated chunks), described by the
  references kerchunk and VirtualiZarr make into them; written by those two
  writers only, read through the kerchunk stores only (two in `smoke`, the rest
  in `default`);
* partial reads (`region` features): a case of another family read only in a
  region, `[start, stop, step]` per axis (protocol 2): across chunk and shard
  boundaries, inside one inner chunk, strided, over missing chunks, at the edge,
  in F order and through transpose and sharding, inside netCDF4 and HDF5 files;
  verified by the canonical hash of the region. Writers write the whole array;
  readers must select it through their library's own API (two in `smoke`, a
  first of each kind in `default`, the rest in `full`);
* cases made from an upstream bug report link it in the table below.

Tiers nest: smoke is in default, default is in full. docs/cases.md is
generated from this module (`zarr-conformance docs`).
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from allpairspy import AllPairs

from zc_canonical import numpy_dtype

# The version of the reference data harness/reference.py makes: part of every case's digest,
# so a change of the data (2: non-canonical NaN payloads in float and complex arrays) makes
# cached datasets be written anew. Bump it with every change of reference.py's output.
REFERENCE_DATA_VERSION = 2
# The version of what harness/alter.py does to a dataset: part of the digest of every case with
# alterations. Bump it with every change of an alteration's effect (2, 3: consolidated metadata dropped).
ALTERATIONS_VERSION = 3

FORMATS = ("zarr2", "zarr3", "n5")
# The files a case's dataset can be references into (kerchunk writes them: `_sources`).
SOURCE_KINDS = ("netcdf4", "hdf5")
TIERS = ("smoke", "default", "full")
FORMAT_PREFIX = {"zarr2": "v2", "zarr3": "v3", "n5": "n5"}

INT_DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
FLOAT_DTYPES = ["float16", "float32", "float64"]
COMPLEX_DTYPES = ["complex64", "complex128"]
NUMERIC_DTYPES = ["bool", *INT_DTYPES, *FLOAT_DTYPES, *COMPLEX_DTYPES]
TEXT_DTYPES = ["S6", "U5", "string"]
ALL_DTYPES = NUMERIC_DTYPES + TEXT_DTYPES
N5_DTYPES = [*INT_DTYPES, "float32", "float64"]

# Attributes that catch JSON handling bugs: unicode, nesting, an int beyond 2^53.
RICH_ATTRIBUTES = {
    "title": "température ✓ 数据 🧊",
    "nested": {"list": [1, 2.5, "x", None, True], "deep": {"a": {"b": []}}},
    "big_int": 9007199254740993,
    "negative": -1.5e-300,
    "empty": {},
}


@dataclass(frozen=True)
class Layout:
    name: str
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    note: str


LAYOUTS = {
    "edge": Layout("edge", (20, 30), (8, 13), "2-d, partial edge chunks"),
    "exact": Layout("exact", (16, 14), (8, 7), "2-d, chunks divide the shape"),
    "bigchunk": Layout("bigchunk", (5, 6), (10, 10), "one chunk larger than the array"),
    "0d": Layout("0d", (), (), "0-d (scalar) array"),
    "1d": Layout("1d", (50,), (16,), "1-d, partial last chunk"),
    "3d": Layout("3d", (6, 7, 8), (4, 3, 5), "3-d, partial edge chunks"),
    "5d": Layout("5d", (3, 4, 2, 5, 3), (2, 3, 2, 2, 2), "5-d, partial edge chunks"),
}


@dataclass(frozen=True)
class Case:
    id: str
    format: str
    dtype: str
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    fill_value: Any
    tier: str
    description: str
    features: tuple[str, ...] = ()
    path: str = "array"
    attributes: dict = field(default_factory=dict, hash=False, compare=False)
    groups: dict = field(default_factory=dict, hash=False, compare=False)
    missing_chunks: tuple[tuple[int, ...], ...] = ()
    # zarr2
    order: str = "C"
    dimension_separator: str = "."
    compressor: dict | None = field(default=None, hash=False, compare=False)
    filters: tuple | None = field(default=None, hash=False, compare=False)
    # zarr3
    codecs: tuple = field(default=(), hash=False, compare=False)
    chunk_key_encoding: dict | None = field(default=None, hash=False, compare=False)
    dimension_names: tuple | None = None
    # n5
    compression: dict | None = field(default=None, hash=False, compare=False)
    # What the harness does to the written dataset before publishing it (harness/alter.py), and what a
    # reader must then do: return the data ("data") or fail ("refusal": the dataset is corrupt).
    alterations: tuple = field(default=(), hash=False, compare=False)
    expect: str = "data"
    upstream: str = ""  # the upstream issue a case was made from (linked in docs/cases.md)
    # A dataset that is references into a file of another format: {"kind": netcdf4|hdf5, "chunked",
    # "deflate", "shuffle", "endian"}; read only through the kerchunk stores.
    source: dict | None = field(default=None, hash=False, compare=False)
    # A partial read (protocol 2): [start, stop, step] per axis; readers read only that region and it is
    # verified by the hash of the selection. Writers write the whole array (not in writer_json).
    region: tuple | None = None

    def to_json(self) -> dict:
        """The case as it is recorded: what writers receive, with the alterations the harness applies."""
        out = self.writer_json()
        if self.alterations:
            out.update(alterations=list(self.alterations), expect=self.expect)
        if self.region:
            out["region"] = self.region_json
        return out

    def writer_json(self) -> dict:
        """The case as writers receive it (only the fields of its format; never the alterations)."""
        out: dict[str, Any] = {
            "id": self.id,
            "format": self.format,
            "path": self.path,
            "dtype": self.dtype,
            "shape": list(self.shape),
            "chunks": list(self.chunks),
            "fill_value": self.fill_value,
            "attributes": self.attributes,
            "groups": self.groups,
            "missing_chunks": [list(c) for c in self.missing_chunks],
            "features": list(self.features),
        }
        if self.format == "zarr2":
            out.update(order=self.order, dimension_separator=self.dimension_separator,
                       compressor=self.compressor, filters=list(self.filters) if self.filters else None)
        elif self.format == "zarr3":
            out.update(codecs=list(self.codecs), chunk_key_encoding=self.chunk_key_encoding,
                       dimension_names=list(self.dimension_names) if self.dimension_names else None)
        else:
            out.update(compression=self.compression)
        if self.source:
            out["source"] = self.source
        return out

    @property
    def digest(self) -> str:
        """Changes whenever the case's definition or the reference data change (invalidates cached
        datasets)."""
        key = {"case": self.to_json(), "reference_data": REFERENCE_DATA_VERSION}
        if self.alterations:
            key["alterations"] = ALTERATIONS_VERSION
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def read_fill_value(self):
        """The fill value a reader must report: the case's, unless an alteration set another in the metadata."""
        for alt in self.alterations:
            if alt["kind"] == "metadata" and "fill_value" in (alt.get("set") or {}):
                return alt["set"]["fill_value"]
        return self.fill_value

    @property
    def region_json(self) -> list[list[int]] | None:
        """The region as the protocol's read request names it."""
        return [list(r) for r in self.region] if self.region else None

    @property
    def region_chunks(self) -> list[tuple[int, ...]]:
        """The chunk (or shard) indices the region touches."""
        per_axis = [sorted({i // c for i in range(start, stop, step)})
                    for (start, stop, step), c in zip(self.region or (), self.chunks)]
        return list(itertools.product(*per_axis))

    @property
    def read_shape(self) -> tuple[int, ...]:
        """The shape a reader must report: the region's when the case reads one."""
        if not self.region:
            return self.shape
        return tuple(len(range(start, stop, step)) for start, stop, step in self.region)

    @property
    def chunk_grid(self) -> tuple[int, ...]:
        return tuple(-(-s // c) for s, c in zip(self.shape, self.chunks))


# --- codec spellings ---------------------------------------------------------

def itemsize(dtype: str) -> int:
    return 1 if dtype == "string" else numpy_dtype(dtype).itemsize


V2_COMPRESSORS: dict[str, dict | None] = {
    "raw": None,
    "zlib": {"id": "zlib", "level": 1},
    "gzip": {"id": "gzip", "level": 1},
    "bz2": {"id": "bz2", "level": 1},
    "lzma": {"id": "lzma", "format": 1, "check": -1, "preset": None, "filters": None},
    "lz4": {"id": "lz4", "acceleration": 1},
    "zstd": {"id": "zstd", "level": 1},
}
BLOSC_CNAMES = ["lz4", "lz4hc", "zstd", "zlib", "blosclz"]
BLOSC_SHUFFLES = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}
for _c in BLOSC_CNAMES:
    for _s, _n in BLOSC_SHUFFLES.items():
        V2_COMPRESSORS[f"blosc-{_c}-{_s}"] = {"id": "blosc", "cname": _c, "clevel": 5, "shuffle": _n, "blocksize": 0}

N5_COMPRESSIONS = {
    "raw": {"type": "raw"},
    "gzip": {"type": "gzip", "level": -1, "useZlib": False},
    "bzip2": {"type": "bzip2", "blockSize": 9},
    "xz": {"type": "xz", "preset": 6},
    "lz4": {"type": "lz4", "blockSize": 65536},
    "blosc": {"type": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0, "nthreads": 1},
    "zstd": {"type": "zstd", "level": 3},
}


def v3_bytes(dtype: str, endian: str = "little") -> dict:
    if dtype == "string":
        return {"name": "vlen-utf8"}
    if itemsize(dtype) == 1 or dtype.startswith("S"):
        return {"name": "bytes"}
    return {"name": "bytes", "configuration": {"endian": endian}}


def v3_compressor(name: str, dtype: str) -> list[dict]:
    if name == "raw":
        return []
    if name == "gzip":
        return [{"name": "gzip", "configuration": {"level": 1}}]
    if name == "zstd":
        return [{"name": "zstd", "configuration": {"level": 1, "checksum": False}}]
    if name == "crc32c":
        return [{"name": "crc32c"}]
    if name.startswith("blosc-"):
        _, cname, shuffle = name.split("-")
        return [{"name": "blosc", "configuration": {"cname": cname, "clevel": 5, "shuffle": shuffle,
                                                     "typesize": itemsize(dtype), "blocksize": 0}}]
    raise KeyError(name)


V3_COMPRESSORS = ["raw", "gzip", "zstd", "crc32c"] + [f"blosc-{c}-{s}" for c in BLOSC_CNAMES for s in BLOSC_SHUFFLES]
INDEX_CODECS = [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}]


def sharding(inner_chunks, codecs, index_location="end", index_codecs=INDEX_CODECS) -> dict:
    return {"name": "sharding_indexed", "configuration": {
        "chunk_shape": list(inner_chunks), "codecs": list(codecs),
        "index_codecs": list(index_codecs), "index_location": index_location}}


def default_fill(dtype: str):
    if dtype == "bool":
        return False
    if dtype.startswith("complex"):
        return [0.0, 0.0]
    if dtype.startswith("float"):
        return 0.0
    if dtype.startswith("S"):
        return base64.b64encode(b"\0" * int(dtype[1:])).decode()  # n NUL bytes, as writers pad it
    if dtype.startswith("U") or dtype == "string":
        return ""
    return 0


def dtype_features(dtype: str) -> tuple[str, ...]:
    return (f"dtype:{dtype}",)


# --- the catalogue -------------------------------------------------------------

class _Builder:
    def __init__(self):
        self.cases: dict[str, Case] = {}

    def add(self, **kw) -> None:
        case = Case(**kw)
        if case.id in self.cases:
            raise ValueError(f"duplicate case id {case.id}")
        if case.format == "zarr3" and not case.chunk_key_encoding:
            case = _replace(case, chunk_key_encoding={"name": "default", "configuration": {"separator": "/"}})
        self.cases[case.id] = case


def _replace(case: Case, **kw) -> Case:
    from dataclasses import replace
    return replace(case, **kw)


def _v2_filters(dtype: str):
    return [{"id": "vlen-utf8"}] if dtype == "string" else None


def _zarr2(b: _Builder) -> None:
    lay = LAYOUTS["edge"]
    smoke_dtypes = {"int16", "float64", "string"}
    for dt in ALL_DTYPES:
        b.add(id=f"v2/{dt}/zlib/edge", format="zarr2", dtype=dt, shape=lay.shape, chunks=lay.chunks,
              fill_value=default_fill(dt), tier="smoke" if dt in smoke_dtypes else "default",
              description=f"every dtype: {dt}, zlib, {lay.note}", features=dtype_features(dt) + ("codec:zlib",),
              compressor=V2_COMPRESSORS["zlib"], filters=_v2_filters(dt))
    # Every compressor once; the dtype rotates so blosc's shuffle meets several item sizes.
    rotation = ["int16", "float32", "uint8", "int64", "float64", "uint32", "complex64"]
    for i, (name, comp) in enumerate(V2_COMPRESSORS.items()):
        if name == "zlib":
            continue
        dt = rotation[i % len(rotation)]
        tier = "smoke" if name in ("raw", "blosc-lz4-shuffle") else "default"
        # Every blosc compressor with shuffle, and each shuffle with lz4 and zstd; the rest in full.
        if name.startswith("blosc-") and not (name.endswith("-shuffle") or name.split("-")[1] in ("lz4", "zstd")):
            tier = "full"
        b.add(id=f"v2/{dt}/{name}/edge", format="zarr2", dtype=dt, shape=lay.shape, chunks=lay.chunks,
              fill_value=default_fill(dt), tier=tier,
              description=f"compressor {name}", features=dtype_features(dt) + (f"codec:{name.split('-')[0]}",),
              compressor=comp)
    # Filters readers meet in the numcodecs registry (lossless ones: the data must survive).
    filters = {
        "delta": ("int32", [{"id": "delta", "dtype": "<i4"}]),
        "delta-uint8": ("uint8", [{"id": "delta", "dtype": "|u1"}]),
        "shuffle": ("float64", [{"id": "shuffle", "elementsize": 8}]),
        "packbits": ("bool", [{"id": "packbits"}]),
        "crc32": ("int16", [{"id": "crc32"}]),
        "adler32": ("int16", [{"id": "adler32"}]),
        "fletcher32": ("int16", [{"id": "fletcher32"}]),
        "delta-shuffle": ("int64", [{"id": "delta", "dtype": "<i8"}, {"id": "shuffle", "elementsize": 8}]),
    }
    for name, (dt, flt) in filters.items():
        b.add(id=f"v2/{dt}/filter-{name}+zlib/edge", format="zarr2", dtype=dt, shape=lay.shape,
              chunks=lay.chunks, fill_value=default_fill(dt), tier="default",
              description=f"filter chain {name} then zlib", features=dtype_features(dt) +
              tuple(f"filter:{f['id']}" for f in flt), compressor=V2_COMPRESSORS["zlib"], filters=flt)
    # Structure.
    for lname in ("exact", "bigchunk", "0d", "1d", "3d", "5d"):
        l2 = LAYOUTS[lname]
        b.add(id=f"v2/int32/blosc-lz4-shuffle/{lname}", format="zarr2", dtype="int32", shape=l2.shape,
              chunks=l2.chunks, fill_value=0, tier="smoke" if lname == "3d" else "default",
              description=f"layout: {l2.note}", features=("dtype:int32", "codec:blosc", f"layout:{lname}"),
              compressor=V2_COMPRESSORS["blosc-lz4-shuffle"])
    for order in ("F",):
        for lname in ("edge", "3d"):
            l2 = LAYOUTS[lname]
            b.add(id=f"v2/int16/zlib/{lname}-F", format="zarr2", dtype="int16", shape=l2.shape, chunks=l2.chunks,
                  fill_value=0, tier="smoke" if lname == "edge" else "default", order=order,
                  description=f"F (column-major) chunk order, {l2.note}",
                  features=("dtype:int16", "codec:zlib", "order:F"), compressor=V2_COMPRESSORS["zlib"])
    # F order through filters and variable-length strings. (zarr-python#4116 and numcodecs#850 scrambled such
    # chunks when the data handed to the writer was F-contiguous; the writers here get C-ordered data, so these
    # cases check the format, not that bug.)
    f_filtered = [
        ("string", "zlib", _v2_filters("string"), "edge", "default"),
        ("int32", "filter-delta+zlib", [{"id": "delta", "dtype": "<i4"}], "edge", "default"),
        ("bool", "filter-packbits+zlib", [{"id": "packbits"}], "exact", "full"),
        ("float64", "filter-shuffle+zlib", [{"id": "shuffle", "elementsize": 8}], "3d", "full"),
        ("U5", "zlib", None, "edge", "full"),
        ("S6", "zlib", None, "edge", "full"),
    ]
    for dt, label, flt, lname, tier in f_filtered:
        l2 = LAYOUTS[lname]
        b.add(id=f"v2/{dt}/{label}/{lname}-F", format="zarr2", dtype=dt, shape=l2.shape, chunks=l2.chunks,
              fill_value=default_fill(dt), tier=tier, order="F",
              description=f"F (column-major) chunk order through {'filters ' + '+'.join(f['id'] for f in flt) if flt else 'a fixed-length string dtype'}, {l2.note}",
              features=dtype_features(dt) + ("codec:zlib", "order:F") + tuple(f"filter:{f['id']}" for f in flt or ()),
              compressor=V2_COMPRESSORS["zlib"], filters=flt)
    for lname in ("edge", "3d"):
        l2 = LAYOUTS[lname]
        b.add(id=f"v2/float32/zlib/{lname}-slash", format="zarr2", dtype="float32", shape=l2.shape,
              chunks=l2.chunks, fill_value=0.0, tier="smoke" if lname == "edge" else "default",
              dimension_separator="/", description=f"dimension_separator '/', {l2.note}",
              features=("dtype:float32", "codec:zlib", "separator:/"), compressor=V2_COMPRESSORS["zlib"])
    _fills(b, "zarr2", "v2", compressor=V2_COMPRESSORS["zlib"])
    _sparse_and_groups(b, "zarr2", "v2", compressor=V2_COMPRESSORS["zlib"])
    _escaping(b, "zarr2", "v2", compressor=V2_COMPRESSORS["zlib"])
    _root_array(b, "zarr2", "v2", compressor=V2_COMPRESSORS["zlib"])
    # Full tier: all pairs of compressor x item size x order x separator x layout.
    by_size = {1: "uint8", 2: "int16", 4: "float32", 8: "int64", 16: "complex128"}
    axes = [list(V2_COMPRESSORS), list(by_size), ["C", "F"], [".", "/"], ["edge", "1d", "3d", "bigchunk"]]
    for comp, size, order, sep, lname in AllPairs(axes):
        dt = by_size[size]
        l2 = LAYOUTS[lname]
        if lname == "1d" and order == "F":
            order = "C"  # F order is meaningless in 1-d; the pair is covered by other rows
        cid = f"v2/{dt}/{comp}/{lname}-{order}-{'slash' if sep == '/' else 'dot'}"
        if cid in b.cases:
            continue
        b.add(id=cid, format="zarr2", dtype=dt, shape=l2.shape, chunks=l2.chunks, fill_value=default_fill(dt),
              tier="full", description=f"pairwise: {comp}, {l2.note}, order {order}, separator '{sep}'",
              features=(f"dtype:{dt}", f"codec:{comp.split('-')[0]}", f"order:{order}", f"separator:{sep}"),
              compressor=V2_COMPRESSORS[comp], order=order, dimension_separator=sep)


def _fills(b: _Builder, fmt: str, prefix: str, **enc) -> None:
    fills = [
        ("float64", "NaN", "nan"), ("float32", "Infinity", "inf"), ("float64", "-Infinity", "neginf"),
        ("float32", -0.0, "negzero"), ("int16", -7, "neg7"), ("uint64", 18446744073709551610, "u64max"),
        ("int64", -9007199254740993, "i64big"), ("complex128", ["NaN", 1.5], "cnan"), ("bool", True, "true"),
        ("float16", "NaN", "nan"),
    ]
    for dt, fv, label in fills:
        e = dict(enc)
        if fmt == "zarr3":
            e = {"codecs": (v3_bytes(dt), *v3_compressor("zstd", dt))}
        b.add(id=f"{prefix}/{dt}/{'zlib' if fmt == 'zarr2' else 'zstd'}/fill-{label}", format=fmt, dtype=dt,
              shape=(20, 30), chunks=(8, 7), fill_value=fv, missing_chunks=((0, 1), (2, 4)),
              tier="smoke" if label == "nan" and dt == "float64" else "default",
              description=f"fill value {json.dumps(fv)}; two chunks missing (must read as fill)",
              features=(f"dtype:{dt}", f"fill:{label}", "missing-chunks"), **e)


def _sparse_and_groups(b: _Builder, fmt: str, prefix: str, **enc) -> None:
    codec = {"zarr2": "zlib", "zarr3": "zstd", "n5": "gzip"}[fmt]
    if fmt == "zarr3":
        enc = {"codecs": (v3_bytes("int16"), *v3_compressor("zstd", "int16"))}
    fv = 0 if fmt == "n5" else 42
    b.add(id=f"{prefix}/int16/{codec}/sparse", format=fmt, dtype="int16", shape=(40, 30), chunks=(8, 7),
          fill_value=fv, missing_chunks=tuple((i, j) for i in range(5) for j in range(5) if (i + j) % 2),
          tier="smoke" if fmt != "n5" else "default",
          description="sparse: half the chunks missing, must read as the fill value",
          features=("dtype:int16", "missing-chunks"), **enc)
    b.add(id=f"{prefix}/int16/{codec}/all-missing", format=fmt, dtype="int16", shape=(20, 30), chunks=(8, 7),
          fill_value=fv, missing_chunks=tuple((i, j) for i in range(3) for j in range(5)), tier="default",
          description="no chunk written at all: the whole array is the fill value",
          features=("dtype:int16", "missing-chunks"), **enc)
    b.add(id=f"{prefix}/float32/{codec}/nested-groups", format=fmt, dtype="float32", shape=(20, 30),
          chunks=(8, 7), fill_value=0.0, path="level1/level2/array", tier="smoke" if fmt == "zarr3" else "default",
          groups={"": {"role": "root ✓"}, "level1": {"depth": 1}, "level1/level2": {"depth": 2, "tags": ["a", "b"]}},
          attributes=RICH_ATTRIBUTES,
          description="array inside nested groups, unicode and nested JSON attributes",
          features=("dtype:float32", "groups", "attributes"),
          **({"codecs": (v3_bytes("float32"), *v3_compressor("zstd", "float32"))} if fmt == "zarr3" else enc))


def _root_array(b: _Builder, fmt: str, prefix: str, **enc) -> None:
    """The array is the dataset root, with no group above it: the most common layout in real data."""
    codec = {"zarr2": "zlib", "zarr3": "zstd", "n5": "gzip"}[fmt]
    b.add(id=f"{prefix}/int16/{codec}/root", format=fmt, dtype="int16", shape=(20, 30), chunks=(8, 7), fill_value=0,
          path="", groups={}, attributes={"units": "K", "scale": 0.5}, tier="smoke",
          description="the array is the dataset root (no group above it), with attributes",
          features=("dtype:int16", f"codec:{codec}", "root-array", "attributes"), **enc)


def _escaping(b: _Builder, fmt: str, prefix: str, **enc) -> None:
    b.add(id=f"{prefix}/int16/key-escaping", format=fmt, dtype="int16", shape=(20, 30), chunks=(8, 7), fill_value=0,
          path="group with space/arr+ay.ü", groups={"group with space": {}}, tier="default",
          description="node names that need escaping in URLs and S3 keys (space, '+', non-ASCII)",
          features=("dtype:int16", "key-escaping"), **enc)


def _zarr3(b: _Builder) -> None:
    lay = LAYOUTS["edge"]
    smoke_dtypes = {"int16", "float64"}
    for dt in ALL_DTYPES:
        ext = dt in ("S6", "U5")
        b.add(id=f"v3/{dt}/zstd/edge", format="zarr3", dtype=dt, shape=lay.shape, chunks=lay.chunks,
              fill_value=default_fill(dt), tier="smoke" if dt in smoke_dtypes else ("full" if ext else "default"),
              description=f"every dtype: {dt}, bytes + zstd" + (" (data type extension)" if ext or dt == "string" else ""),
              features=dtype_features(dt) + ("codec:zstd",), codecs=(v3_bytes(dt), *v3_compressor("zstd", dt)))
    rotation = ["int16", "float32", "uint8", "int64", "float64", "uint32", "complex64", "int32"]
    for i, comp in enumerate(V3_COMPRESSORS):
        if comp == "zstd":
            continue
        dt = rotation[i % len(rotation)]
        tier = "smoke" if comp in ("blosc-zstd-bitshuffle", "raw") else "default"
        if comp.startswith("blosc-") and comp.split("-")[1] in ("lz4hc", "zlib", "blosclz"):
            tier = "full"
        b.add(id=f"v3/{dt}/{comp}/edge", format="zarr3", dtype=dt, shape=lay.shape, chunks=lay.chunks,
              fill_value=default_fill(dt), tier=tier, description=f"codec {comp}",
              features=dtype_features(dt) + (f"codec:{comp.split('-')[0]}",),
              codecs=(v3_bytes(dt), *v3_compressor(comp, dt)))
    b.add(id="v3/int32/zstd-checksum/edge", format="zarr3", dtype="int32", shape=lay.shape, chunks=lay.chunks,
          fill_value=0, tier="full", description="zstd with `checksum: true` (a content checksum in every frame)",
          features=("dtype:int32", "codec:zstd", "codec:zstd-checksum"),
          codecs=(v3_bytes("int32"), {"name": "zstd", "configuration": {"level": 3, "checksum": True}}))
    for dt in ("int16", "float64", "complex64", "uint32"):
        b.add(id=f"v3/{dt}/bytes-big+gzip/edge", format="zarr3", dtype=dt, shape=lay.shape, chunks=lay.chunks,
              fill_value=default_fill(dt), tier="smoke" if dt == "int16" else "default",
              description="big-endian bytes codec", features=(f"dtype:{dt}", "endian:big", "codec:gzip"),
              codecs=(v3_bytes(dt, "big"), *v3_compressor("gzip", dt)))
    for lname, order in (("edge", (1, 0)), ("3d", (2, 0, 1))):
        l3 = LAYOUTS[lname]
        b.add(id=f"v3/int32/transpose+zstd/{lname}", format="zarr3", dtype="int32", shape=l3.shape,
              chunks=l3.chunks, fill_value=0, tier="smoke" if lname == "edge" else "default",
              description=f"transpose codec order {list(order)}, {l3.note}",
              features=("dtype:int32", "codec:transpose"),
              codecs=({"name": "transpose", "configuration": {"order": list(order)}}, v3_bytes("int32"),
                      *v3_compressor("zstd", "int32")))
    b.add(id="v3/float64/transpose+bytes-big+crc32c/3d", format="zarr3", dtype="float64", shape=(6, 7, 8),
          chunks=(4, 3, 5), fill_value=0.0, tier="default", description="transpose, big-endian bytes and crc32c",
          features=("dtype:float64", "codec:transpose", "endian:big", "codec:crc32c"),
          codecs=({"name": "transpose", "configuration": {"order": [1, 2, 0]}}, v3_bytes("float64", "big"),
                  {"name": "crc32c"}))
    # Sharding.
    inner = (v3_bytes("int16"), *v3_compressor("zstd", "int16"))
    shard_cases = [
        ("shard-16x14", (32, 28), (16, 14), sharding((8, 7), inner), "smoke", (), "shards of 2x2 inner chunks, index at end"),
        ("shard-index-start", (32, 28), (16, 14), sharding((8, 7), inner, "start"), "default", (), "index at the start of the shard"),
        ("shard-partial", (40, 30), (16, 14), sharding((8, 7), inner), "default", (), "partial shards at the array edge"),
        ("shard-sparse", (32, 28), (16, 14), sharding((8, 7), inner), "default", ((0, 1),),
         "one whole shard missing and inner chunks of fill value left out"),
        ("shard-nested", (32, 32), (16, 16), sharding((8, 8), [sharding((4, 4), inner)]), "default", (),
         "nested sharding: shards of shards"),
        ("shard-transpose", (32, 28), (16, 14), sharding((8, 7), [{"name": "transpose", "configuration": {"order": [1, 0]}}, *inner]),
         "default", (), "transpose inside the shard"),
        ("shard-1d", (100,), (40,), sharding((10,), inner), "default", (), "1-d shards with a partial last shard"),
        ("shard-index-nocrc", (32, 28), (16, 14), sharding((8, 7), inner, index_codecs=INDEX_CODECS[:1]), "default", (),
         "an index without the crc32c codec (the spec does not require it)"),
        ("shard-index-big", (32, 28), (16, 14), sharding((8, 7), inner, index_codecs=(
            {"name": "bytes", "configuration": {"endian": "big"}}, {"name": "crc32c"})), "full", (),
         "a big-endian index"),
    ]
    for label, shape, chunks, codec, tier, missing, note in shard_cases:
        b.add(id=f"v3/int16/{label}", format="zarr3", dtype="int16", shape=shape, chunks=chunks, fill_value=0,
              tier=tier, description=f"sharding_indexed: {note}", missing_chunks=missing,
              features=("dtype:int16", "sharding") + (("sharding:nested",) if "nested" in label else ()),
              codecs=(codec,))
    b.add(id="v3/int16/shard-0d", format="zarr3", dtype="int16", shape=(), chunks=(), fill_value=0, tier="full",
          description="sharding_indexed: a 0-d (scalar) array in one shard", features=("dtype:int16", "sharding", "layout:0d"),
          codecs=(sharding((), inner),))
    b.add(id="v3/int16/shard-transpose-3d", format="zarr3", dtype="int16", shape=(8, 12, 10), chunks=(4, 6, 10),
          fill_value=0, tier="full", upstream="https://github.com/manzt/zarrita.js/issues/427",
          description="sharding_indexed: a 3-d transpose (order [2, 0, 1]) inside the shard",
          features=("dtype:int16", "sharding", "codec:transpose", "layout:3d"),
          codecs=(sharding((2, 3, 5), [{"name": "transpose", "configuration": {"order": [2, 0, 1]}}, *inner]),))
    b.add(id="v3/int16/transpose+shard", format="zarr3", dtype="int16", shape=(32, 28), chunks=(16, 14), fill_value=0,
          tier="full", upstream="https://github.com/zarr-developers/zarr-python/issues/2050",
          description="sharding_indexed: a transpose codec outside (before) the sharding codec; the inner chunks "
          "divide the chunk as the transpose leaves it ([14, 16]), not the array's chunk shape",
          features=("dtype:int16", "sharding", "codec:transpose"),
          codecs=({"name": "transpose", "configuration": {"order": [1, 0]}}, sharding((7, 8), inner)))
    b.add(id="v3/float32/shard-blosc/3d", format="zarr3", dtype="float32", shape=(12, 14, 10), chunks=(6, 7, 10),
          fill_value=0.0, tier="default", description="3-d shards with blosc inner chunks",
          features=("dtype:float32", "sharding", "codec:blosc"),
          codecs=(sharding((3, 7, 5), (v3_bytes("float32"), *v3_compressor("blosc-lz4-shuffle", "float32"))),))
    # Chunk key encodings.
    for name, sep in (("default", "."), ("v2", "."), ("v2", "/")):
        b.add(id=f"v3/int16/zstd/keys-{name}-{'dot' if sep == '.' else 'slash'}", format="zarr3", dtype="int16",
              shape=lay.shape, chunks=lay.chunks, fill_value=0, tier="default",
              description=f"chunk_key_encoding {name} with separator '{sep}'",
              features=("dtype:int16", f"chunk-keys:{name}{sep}"), codecs=(v3_bytes("int16"), *v3_compressor("zstd", "int16")),
              chunk_key_encoding={"name": name, "configuration": {"separator": sep}})
    for lname in ("exact", "bigchunk", "0d", "1d", "3d", "5d"):
        l3 = LAYOUTS[lname]
        b.add(id=f"v3/uint16/zstd/{lname}", format="zarr3", dtype="uint16", shape=l3.shape, chunks=l3.chunks,
              fill_value=0, tier="smoke" if lname == "0d" else "default", description=f"layout: {l3.note}",
              features=("dtype:uint16", f"layout:{lname}"), codecs=(v3_bytes("uint16"), *v3_compressor("zstd", "uint16")))
    b.add(id="v3/float64/zstd/dimension-names", format="zarr3", dtype="float64", shape=(6, 7, 8), chunks=(4, 3, 5),
          fill_value=0.0, tier="default", dimension_names=("time", "y", None), attributes={"units": "K"},
          description="dimension_names, one of them null", features=("dtype:float64", "dimension-names"),
          codecs=(v3_bytes("float64"), *v3_compressor("zstd", "float64")))
    _fills(b, "zarr3", "v3")
    _sparse_and_groups(b, "zarr3", "v3")
    _escaping(b, "zarr3", "v3", codecs=(v3_bytes("int16"), *v3_compressor("zstd", "int16")))
    _root_array(b, "zarr3", "v3", codecs=(v3_bytes("int16"), *v3_compressor("zstd", "int16")))
    # Full tier: all pairs of compressor x item size x endian x transpose x layout.
    by_size = {1: "uint8", 2: "int16", 4: "float32", 8: "int64", 16: "complex128"}
    axes = [V3_COMPRESSORS, list(by_size), ["little", "big"], [False, True], ["edge", "3d", "bigchunk"]]
    for comp, size, endian, transpose, lname in AllPairs(axes):
        dt = by_size[size]
        l3 = LAYOUTS[lname]
        pre = ({"name": "transpose", "configuration": {"order": list(range(len(l3.shape)))[::-1]}},) if transpose else ()
        cid = f"v3/{dt}/{'transpose+' if transpose else ''}bytes-{endian}+{comp}/{lname}"
        if cid in b.cases or (size == 1 and endian == "big"):
            continue
        b.add(id=cid, format="zarr3", dtype=dt, shape=l3.shape, chunks=l3.chunks, fill_value=default_fill(dt),
              tier="full", description=f"pairwise: {comp}, {endian}-endian, transpose {transpose}, {l3.note}",
              features=(f"dtype:{dt}", f"codec:{comp.split('-')[0]}", f"endian:{endian}") + (("codec:transpose",) if transpose else ()),
              codecs=(*pre, v3_bytes(dt, endian), *v3_compressor(comp, dt)))


def _n5(b: _Builder) -> None:
    lay = LAYOUTS["edge"]
    rotation = ["int16", "float32", "uint8", "int64", "float64", "uint32", "int8"]
    for i, (name, comp) in enumerate(N5_COMPRESSIONS.items()):
        dt = rotation[i % len(rotation)]
        b.add(id=f"n5/{dt}/{name}/edge", format="n5", dtype=dt, shape=lay.shape, chunks=lay.chunks, fill_value=0,
              tier="smoke" if name in ("raw", "gzip") else "default", description=f"N5 compression {name}",
              features=(f"dtype:{dt}", f"codec:{name}"), compression=comp)
    for dt in N5_DTYPES:
        if f"n5/{dt}/raw/edge" in b.cases:
            continue
        b.add(id=f"n5/{dt}/raw/edge", format="n5", dtype=dt, shape=lay.shape, chunks=lay.chunks, fill_value=0,
              tier="default", description=f"every N5 dtype: {dt}", features=(f"dtype:{dt}",),
              compression=N5_COMPRESSIONS["raw"])
    for lname in ("1d", "3d", "bigchunk"):
        l5 = LAYOUTS[lname]
        b.add(id=f"n5/int32/gzip/{lname}", format="n5", dtype="int32", shape=l5.shape, chunks=l5.chunks,
              fill_value=0, tier="smoke" if lname == "3d" else "default",
              description=f"layout: {l5.note} (N5 stores dimensions reversed)",
              features=("dtype:int32", f"layout:{lname}"), compression=N5_COMPRESSIONS["gzip"])
    _sparse_and_groups(b, "n5", "n5", compression=N5_COMPRESSIONS["gzip"])
    _root_array(b, "n5", "n5", compression=N5_COMPRESSIONS["gzip"])


# --- datasets damaged on purpose, and metadata found in the wild (harness/alter.py) ----------------

NOT_JSON = '{"zarr_format": 3, "node_type": "array", "shape": [20, 30], '  # cut off mid-document
UNKNOWN_CODEC = "zc-no-such-codec"
DEFAULT_CORRUPT = {"v2/int16/zlib/corrupt-truncated", "v3/int16/crc32c/corrupt-checksum",
                   "v3/int16/shard-noindexcrc/corrupt-index-out-of-range", "v3/int16/zstd/corrupt-metadata-not-json",
                   "v2/int16/zlib/corrupt-unknown-codec"}


def _corrupt(b: _Builder) -> None:
    """A reader must fail on each of these; one that returns data accepted corrupt data."""
    lay = LAYOUTS["edge"]
    v3_inner = (v3_bytes("int16"), *v3_compressor("zstd", "int16"))
    bases = {
        "v2/zlib": dict(format="zarr2", compressor=V2_COMPRESSORS["zlib"]),
        "v2/raw": dict(format="zarr2", compressor=None),
        "v3/zstd": dict(format="zarr3", codecs=v3_inner),
        "v3/gzip": dict(format="zarr3", codecs=(v3_bytes("int16"), *v3_compressor("gzip", "int16"))),
        "v3/raw": dict(format="zarr3", codecs=(v3_bytes("int16"),)),
        "v3/crc32c": dict(format="zarr3", codecs=(v3_bytes("int16"), {"name": "crc32c"})),
        "v3/shard": dict(format="zarr3", codecs=(sharding((8, 7), v3_inner),)),
        "v3/shard-noindexcrc": dict(format="zarr3", codecs=(sharding((8, 7), v3_inner, index_codecs=INDEX_CODECS[:1]),)),
        "n5/gzip": dict(format="n5", compression=N5_COMPRESSIONS["gzip"]),
    }
    unknown_v3 = {"append": {"codecs": {"name": UNKNOWN_CODEC, "configuration": {}}}}
    damages = [
        ("v2/zlib", "truncated", "a chunk cut to half its bytes", [{"kind": "truncate", "chunk": [1, 1]}]),
        ("v2/raw", "truncated", "an uncompressed chunk cut to half its bytes (its decoded size is wrong)",
         [{"kind": "truncate", "chunk": [1, 1]}]),
        ("v2/zlib", "short-chunk", "a valid zlib stream that decodes to half a chunk",
         [{"kind": "reencode-short", "chunk": [1, 1], "codec": "zlib"}]),
        ("v2/zlib", "metadata-not-json", ".zarray is not JSON", [{"kind": "metadata-text", "text": NOT_JSON}]),
        ("v2/zlib", "unknown-codec", f"an unknown compressor id {UNKNOWN_CODEC!r}",
         [{"kind": "metadata", "set": {"compressor": {"id": UNKNOWN_CODEC}}}]),
        ("v3/zstd", "truncated", "a chunk cut to half its bytes", [{"kind": "truncate", "chunk": [1, 1]}]),
        ("v3/raw", "truncated", "an uncompressed chunk cut to half its bytes (its decoded size is wrong)",
         [{"kind": "truncate", "chunk": [1, 1]}]),
        ("v3/gzip", "short-chunk", "a valid gzip stream that decodes to half a chunk",
         [{"kind": "reencode-short", "chunk": [1, 1], "codec": "gzip"}]),
        ("v3/crc32c", "checksum", "one byte of a chunk inverted: its crc32c no longer matches",
         [{"kind": "flip", "chunk": [1, 1], "at": 0.5}]),
        ("v3/shard", "index-truncated", "a shard without the last 4 bytes of its index (the index checksum)",
         [{"kind": "truncate", "chunk": [0, 0], "drop": 4}]),
        ("v3/shard", "index-checksum", "one byte of a shard index inverted: its crc32c no longer matches",
         [{"kind": "flip", "chunk": [0, 0], "at": -1}]),
        ("v3/shard-noindexcrc", "index-out-of-range", "a shard index (no checksum) whose first offset points "
         "past the end of the shard", [{"kind": "shard-offset", "chunk": [0, 0], "entry": 0, "offset": 2 ** 40}]),
        ("v3/zstd", "metadata-not-json", "zarr.json is not JSON", [{"kind": "metadata-text", "text": NOT_JSON}]),
        ("v3/zstd", "unknown-codec", f"an unknown bytes-to-bytes codec {UNKNOWN_CODEC!r} at the end of the chain",
         [{"kind": "metadata", **unknown_v3}]),
        ("v3/zstd", "must-understand", "an unknown extension field without `must_understand: false`",
         [{"kind": "metadata", "set": {"zc_extension": {"name": "zc_extension", "configuration": {}}}}]),
        ("v2/zlib", "bitflip", "one byte of a zlib stream inverted (its Adler-32 no longer matches)",
         [{"kind": "flip", "chunk": [1, 1], "at": 0.5}]),
        ("v3/gzip", "bitflip", "one byte of a gzip stream inverted (its CRC-32 no longer matches)",
         [{"kind": "flip", "chunk": [1, 1], "at": 0.5}]),
        ("v3/gzip", "truncated", "a gzip chunk cut to half its bytes", [{"kind": "truncate", "chunk": [1, 1]}]),
        ("v2/zlib", "unknown-dtype", "a dtype no implementation knows (`<x4`)",
         [{"kind": "metadata", "set": {"dtype": "<x4"}}]),
        ("v3/zstd", "unknown-dtype", "a data_type no implementation knows",
         [{"kind": "metadata", "set": {"data_type": "zc_no_such_type"}}]),
        ("v3/zstd", "unknown-chunk-grid", "a chunk_grid no implementation knows",
         [{"kind": "metadata", "set": {"chunk_grid.name": "zc_no_such_grid"}}]),
        ("v3/zstd", "unknown-chunk-keys", "a chunk_key_encoding no implementation knows",
         [{"kind": "metadata", "set": {"chunk_key_encoding.name": "zc_no_such_encoding"}}]),
        ("n5/gzip", "truncated", "a block cut to half its bytes", [{"kind": "truncate", "chunk": [1, 1]}]),
        ("n5/gzip", "metadata-not-json", "attributes.json is not JSON", [{"kind": "metadata-text", "text": NOT_JSON}]),
    ]
    for base, label, note, alts in damages:
        enc = dict(bases[base])
        fmt = enc.pop("format")
        sharded = base.startswith("v3/shard")
        shape, chunks = ((32, 28), (16, 14)) if sharded else (lay.shape, lay.chunks)
        codec = base.split("/")[1]
        cid = f"{FORMAT_PREFIX[fmt]}/int16/{codec}/corrupt-{label}"
        b.add(id=cid, format=fmt, dtype="int16", shape=shape, chunks=chunks, fill_value=0,
              tier="default" if cid in DEFAULT_CORRUPT else "full", description=f"corrupt (must be refused): {note}",
              features=("dtype:int16", f"corrupt:{label}") + (("sharding",) if sharded else ())
              + ((f"codec:{codec}",) if codec not in ("raw", "shard", "shard-noindexcrc") else ()),
              alterations=tuple(alts), expect="refusal", **enc)


def _found_in_the_wild(b: _Builder) -> None:
    """Metadata that writers here do not emit but readers meet: edits they must accept."""
    lay = LAYOUTS["edge"]
    v3_enc = {"codecs": (v3_bytes("int16"), *v3_compressor("zstd", "int16"))}
    b.add(id="v3/int16/zstd/extension-ignorable", format="zarr3", dtype="int16", shape=lay.shape, chunks=lay.chunks,
          fill_value=0, tier="default", description="an unknown extension field with `must_understand: false` "
          "(readers must ignore it)", features=("dtype:int16", "codec:zstd", "metadata:must-understand-false"),
          alterations=({"kind": "metadata", "set": {"zc_extension": {"name": "zc_extension", "must_understand": False,
                                                                     "configuration": {"note": "ignore me"}}}},),
          **v3_enc)
    b.add(id="v3/int16/zstd/keys-default-noconfig", format="zarr3", dtype="int16", shape=lay.shape,
          chunks=lay.chunks, fill_value=0, tier="full", chunk_key_encoding={"name": "default", "configuration":
                                                                             {"separator": "/"}},
          description="chunk_key_encoding `default` without its configuration (the separator defaults to '/')",
          upstream="https://github.com/zarr-developers/zarr-python/issues/2029",
          features=("dtype:int16", "codec:zstd", "chunk-keys:default-noconfig"),
          alterations=({"kind": "metadata", "delete": ["chunk_key_encoding.configuration"]},), **v3_enc)
    b.add(id="v3/int16/zstd/keys-v2-noconfig", format="zarr3", dtype="int16", shape=lay.shape,
          chunks=lay.chunks, fill_value=0, tier="full", chunk_key_encoding={"name": "v2", "configuration":
                                                                             {"separator": "."}},
          description="chunk_key_encoding `v2` without its configuration (the separator defaults to '.')",
          features=("dtype:int16", "codec:zstd", "chunk-keys:v2-noconfig"),
          alterations=({"kind": "metadata", "delete": ["chunk_key_encoding.configuration"]},), **v3_enc)
    # Zarr v2 as other tools write it: the chunks are what zarr-python writes, the metadata spelled otherwise.
    v2_as_found = [
        ("int16", "blosc-lz4-shuffle", "autoshuffle", "blosc `shuffle: -1` (AUTOSHUFFLE: the chunk header says which)",
         {"set": {"compressor.shuffle": -1}}, "https://github.com/zarr-developers/zarr-java/pull/102"),
        ("float32", "blosc-lz4-shuffle", "typesize-key", "blosc with a `typesize` key (numcodecs 0.16 and later)",
         {"set": {"compressor.typesize": 4}}, ""),
        ("int16", "zlib", "zlib-filter", "zlib as a filter and a null compressor (as kerchunk writes it)",
         {"set": {"compressor": None, "filters": [{"id": "zlib", "level": 1}]}}, ""),
        ("int16", "zstd", "fill-null", "`fill_value: null` (every chunk present)", {"set": {"fill_value": None}},
         "https://github.com/serapeum-org/pyramids/issues/560"),
    ]
    for dt, comp, label, note, edit, upstream in v2_as_found:
        b.add(id=f"v2/{dt}/{comp}/{label}", format="zarr2", dtype=dt, shape=lay.shape, chunks=lay.chunks,
              fill_value=default_fill(dt), tier="full", description=f"as found: {note}", upstream=upstream,
              features=(f"dtype:{dt}", f"codec:{comp.split('-')[0]}", f"as-found:{label}"),
              compressor=V2_COMPRESSORS[comp], alterations=({"kind": "metadata", **edit},))
    for dt in ("int32", "float64"):
        b.add(id=f"v2/{dt}/raw/big-endian", format="zarr2", dtype=dt, shape=lay.shape, chunks=lay.chunks,
              fill_value=default_fill(dt), tier="full", description=f"as found: a big-endian dtype (>{dt[0]}"
              f"{itemsize(dt)}), uncompressed", features=(f"dtype:{dt}", "endian:big", "as-found:big-endian"),
              compressor=None, alterations=({"kind": "byteswap"},))
    # Zarr v3 as VirtualiZarr and Icechunk write it for netCDF4/HDF5 data: numcodecs.* codecs.
    for label, codecs, upstream in (
            ("numcodecs.zlib", [{"name": "numcodecs.zlib", "configuration": {"level": 1}}], ""),
            ("numcodecs.shuffle+numcodecs.zlib", [{"name": "numcodecs.shuffle", "configuration": {"elementsize": 2}},
                                                  {"name": "numcodecs.zlib", "configuration": {"level": 4}}],
             "https://github.com/OSGeo/gdal/issues/14917")):
        b.add(id=f"v3/int16/{label}/edge", format="zarr3", dtype="int16", shape=lay.shape, chunks=lay.chunks,
              fill_value=0, tier="full", upstream=upstream,
              description=f"as found: bytes then {' then '.join(c['name'] for c in codecs)} (VirtualiZarr, Icechunk)",
              features=("dtype:int16", *(f"codec:{c['name']}" for c in codecs), "as-found:numcodecs"),
              codecs=(v3_bytes("int16"),), alterations=({"kind": "reencode", "codecs": codecs},))
    # Without shuffling typesize may be left out (the v3 blosc codec requires it only to shuffle).
    b.add(id="v3/int16/blosc-lz4-noshuffle/no-typesize", format="zarr3", dtype="int16", shape=lay.shape,
          chunks=lay.chunks, fill_value=0, tier="full",
          description="as found: blosc without shuffling and without `typesize`",
          features=("dtype:int16", "codec:blosc", "as-found:no-typesize"),
          codecs=(v3_bytes("int16"), *v3_compressor("blosc-lz4-noshuffle", "int16")),
          alterations=({"kind": "metadata", "delete": ["codecs.1.configuration.typesize"]},))
    groups = {"": {"role": "root"}, "level1": {"depth": 1}}
    b.add(id="v2/float32/zlib/consolidated", format="zarr2", dtype="float32", shape=lay.shape, chunks=lay.chunks,
          fill_value=0.0, path="level1/array", groups=groups, attributes={"units": "K"}, tier="full",
          description="consolidated metadata (.zmetadata at the root, as zarr.consolidate_metadata writes it)",
          features=("dtype:float32", "codec:zlib", "consolidated", "groups", "attributes"),
          compressor=V2_COMPRESSORS["zlib"],
          alterations=({"kind": "consolidate"},))
    b.add(id="v3/float32/zstd/consolidated", format="zarr3", dtype="float32", shape=lay.shape, chunks=lay.chunks,
          fill_value=0.0, path="level1/array", groups=groups, attributes={"units": "K"}, tier="full",
          description="consolidated metadata (`consolidated_metadata` in the root zarr.json, as zarr-python 3 "
          "writes it)", features=("dtype:float32", "codec:zstd", "consolidated", "groups", "attributes"),
          codecs=(v3_bytes("float32"), *v3_compressor("zstd", "float32")), alterations=({"kind": "consolidate"},))


def _sources(b: _Builder) -> None:
    """netCDF4 and HDF5 files described by kerchunk references (chunks within a binary file): chunked and
    contiguous, gzip and shuffle, big-endian, fill values and unallocated chunks. The v2 metadata is what
    kerchunk writes for them (shuffle and zlib as filters, no compressor); the netCDF dimensions are named
    (kerchunk's `_ARRAY_DIMENSIONS`, a convention, not compared: harness/verify.py)."""
    lay = LAYOUTS["edge"]
    rows = [
        # kind, dtype, label, tier, chunked, deflate, shuffle, endian, fill, missing
        ("netcdf4", "int16", "chunked", "smoke", True, 1, True, "little", -1, ()),
        ("netcdf4", "float32", "sparse", "default", True, 1, False, "little", -9999.0, ((1, 1), (2, 0))),
        ("netcdf4", "float64", "contiguous", "default", False, None, False, "little", 0.0, ()),
        ("netcdf4", "int32", "big-endian", "default", True, 4, True, "big", -2147483647, ()),
        ("hdf5", "float64", "big-endian", "smoke", True, 1, True, "big", -9999.0, ()),
        ("hdf5", "uint8", "contiguous", "default", False, None, False, "little", 0, ()),
        ("hdf5", "int16", "sparse", "default", True, 1, False, "little", -1, ((0, 1), (2, 2))),
    ]
    for kind, dt, label, tier, chunked, deflate, shuffle, endian, fill, missing in rows:
        enc = "-".join(["zlib" if deflate else "raw", *(["shuffle"] if shuffle else [])])
        filters = [*([{"id": "shuffle", "elementsize": itemsize(dt)}] if shuffle else []),
                   *([{"id": "zlib", "level": deflate}] if deflate else [])]
        b.add(id=f"v2/{dt}/{kind}-{enc}/{label}", format="zarr2", dtype=dt, shape=lay.shape,
              chunks=lay.chunks if chunked else lay.shape, fill_value=fill, tier=tier, missing_chunks=missing,
              description=f"kerchunk references into {'a' if kind == 'netcdf4' else 'an'} {'netCDF4 file (netCDF4-python)' if kind == 'netcdf4' else 'HDF5 file (h5py)'}: "
              f"{'chunked' if chunked else 'contiguous'}, {enc.replace('-', ' and ').replace('zlib', 'deflate')}, {endian}-endian"
              f"{', unallocated chunks' if missing else ''}",
              features=(f"dtype:{dt}", f"source:{kind}", *(["codec:zlib"] if deflate else []),
                        *(["codec:shuffle"] if shuffle else []), *(["endian:big"] if endian == "big" else []),
                        *(["missing-chunks"] if missing else []), "attributes"),
              attributes={"units": "K", "scale": 2.5},
              compressor=None, filters=tuple(filters) or None,
              source={"kind": kind, "chunked": chunked, "deflate": deflate, "shuffle": shuffle, "endian": endian,
                      **({"dimensions": ["y", "x"]} if kind == "netcdf4" else {})})


# Partial reads (protocol 2): a case of another family read only in a region ([start, stop, step] per axis),
# so that readers select chunks, and inner chunks of shards through range requests, instead of reading all.
# (base case, label, region, tier, what the region is)
REGIONS = [
    ("v2/int16/zlib/edge", "interior", ((3, 17, 1), (5, 29, 1)), "smoke", "across chunk boundaries"),
    ("v2/int16/zlib/edge", "strided", ((1, 20, 3), (0, 30, 7)), "default", "strided, up to the partial edge chunks"),
    ("v2/int16/zlib/edge", "one-chunk", ((8, 16, 1), (13, 26, 1)), "full", "exactly one chunk"),
    ("v2/int16/zlib/edge", "element", ((9, 10, 1), (14, 15, 1)), "full", "a single element"),
    ("v2/int16/zlib/edge", "edge-corner", ((17, 20, 1), (27, 30, 1)), "full", "inside the partial corner chunk"),
    ("v2/int16/zlib/edge-F", "strided", ((2, 19, 2), (1, 30, 4)), "full", "strided, of an F-order array"),
    ("v2/int16/zlib/sparse", "over-missing", ((5, 27, 1), (3, 25, 2)), "default", "over present and missing chunks"),
    ("v2/int32/blosc-lz4-shuffle/3d", "strided", ((1, 6, 2), (0, 7, 3), (2, 8, 1)), "default", "a strided 3-d box"),
    ("v2/int32/blosc-lz4-shuffle/1d", "strided", ((5, 45, 3),), "full", "strided across the 1-d chunks"),
    ("v2/int32/blosc-lz4-shuffle/5d", "strided", ((0, 3, 2), (1, 4, 1), (0, 2, 1), (1, 5, 3), (0, 3, 2)), "full",
     "a strided 5-d box"),
    ("v2/int32/blosc-lz4-shuffle/bigchunk", "interior", ((1, 4, 1), (2, 6, 1)), "full", "inside the one chunk larger than the array"),
    ("v2/float32/zlib/edge-slash", "interior", ((3, 17, 1), (5, 29, 1)), "full", "across chunks of '/'-separated keys"),
    ("v2/string/zlib/edge", "strided", ((1, 20, 3), (2, 30, 5)), "full", "strided, of variable-length strings"),
    ("v2/float64/zlib/fill-nan", "over-missing", ((0, 20, 2), (0, 30, 3)), "full", "strided over missing chunks (NaN fill)"),
    ("v3/int16/zstd/edge", "interior", ((3, 17, 1), (5, 29, 1)), "full", "across chunk boundaries"),
    ("v3/int16/zstd/edge", "strided", ((1, 20, 3), (0, 30, 7)), "full", "strided, up to the partial edge chunks"),
    ("v3/int16/zstd/sparse", "over-missing", ((5, 27, 1), (3, 25, 2)), "default", "over present and missing chunks"),
    ("v3/int32/transpose+zstd/edge", "strided", ((2, 19, 2), (1, 30, 4)), "full", "strided, through the transpose codec"),
    ("v3/int32/transpose+zstd/3d", "strided", ((1, 6, 2), (0, 7, 3), (2, 8, 1)), "full", "a strided 3-d box through the transpose codec"),
    ("v3/uint16/zstd/5d", "strided", ((0, 3, 2), (1, 4, 1), (0, 2, 1), (1, 5, 3), (0, 3, 2)), "full", "a strided 5-d box"),
    ("v3/int16/bytes-big+gzip/edge", "interior", ((3, 17, 1), (5, 29, 1)), "full", "across big-endian chunks"),
    ("v3/string/zstd/edge", "strided", ((1, 20, 3), (2, 30, 5)), "full", "strided, of variable-length strings"),
    ("v3/int16/shard-16x14", "across-shards", ((10, 25, 1), (5, 20, 1)), "smoke", "across shard and inner-chunk boundaries"),
    ("v3/int16/shard-16x14", "inner-chunk", ((1, 6, 1), (1, 6, 1)), "default", "inside one inner chunk of one shard"),
    ("v3/int16/shard-16x14", "strided", ((0, 32, 5), (3, 28, 4)), "default", "strided across every shard"),
    ("v3/int16/shard-16x14", "one-inner-chunk", ((8, 16, 1), (7, 14, 1)), "full", "exactly one inner chunk"),
    ("v3/int16/shard-16x14", "element", ((17, 18, 1), (20, 21, 1)), "full", "a single element"),
    ("v3/int16/shard-partial", "edge", ((30, 40, 1), (20, 30, 1)), "full", "in the partial shards at the array edge"),
    ("v3/int16/shard-sparse", "over-missing", ((4, 30, 1), (10, 26, 3)), "default", "over a missing shard and present ones"),
    ("v3/int16/shard-1d", "strided", ((15, 85, 4),), "full", "strided across 1-d shards"),
    ("v3/int16/shard-nested", "interior", ((3, 29, 1), (6, 23, 1)), "full", "across shards of shards"),
    ("v3/int16/shard-index-start", "interior", ((10, 25, 1), (5, 20, 1)), "full", "across shards with the index at the start"),
    ("v3/int16/shard-transpose", "strided", ((1, 31, 3), (2, 27, 2)), "full", "strided, through a transpose inside the shard"),
    ("v3/float32/shard-blosc/3d", "strided", ((2, 11, 2), (3, 12, 1), (0, 10, 3)), "default", "a strided 3-d box across shards"),
    ("n5/int16/raw/edge", "interior", ((3, 17, 1), (5, 29, 1)), "full", "across block boundaries"),
    ("n5/int16/raw/edge", "strided", ((1, 20, 3), (0, 30, 7)), "full", "strided, up to the partial edge blocks"),
    ("n5/int32/gzip/3d", "strided", ((1, 6, 2), (0, 7, 3), (2, 8, 1)), "default", "a strided 3-d box"),
    ("n5/int16/gzip/sparse", "over-missing", ((5, 27, 1), (3, 25, 2)), "full", "over present and missing blocks"),
    ("n5/int32/gzip/1d", "strided", ((5, 45, 3),), "full", "strided across the 1-d blocks"),
    ("v2/int16/netcdf4-zlib-shuffle/chunked", "interior", ((3, 17, 1), (5, 29, 1)), "default",
     "across chunks inside the netCDF4 file"),
    ("v2/float64/netcdf4-raw/contiguous", "strided", ((2, 19, 2), (1, 30, 4)), "full",
     "strided, of a contiguous variable inside the netCDF4 file"),
    ("v2/float64/hdf5-zlib-shuffle/big-endian", "strided", ((1, 20, 3), (0, 30, 7)), "full",
     "strided across big-endian chunks inside the HDF5 file"),
]


# Every dtype, and the codecs, of each format once in a strided region (full tier): element sizes and codecs
# meet the partial-read paths (a gather of 16-byte complex or 20-byte U5 items, a partial decode).
_STRIDED = ((1, 20, 3), (0, 30, 7))
REGIONS += [(f"v2/{dt}/zlib/edge", "strided", _STRIDED, "full", f"strided, of {dt}")
            for dt in ALL_DTYPES if dt not in ("int16", "string")]
REGIONS += [(f"v3/{dt}/zstd/edge", "strided", _STRIDED, "full", f"strided, of {dt}")
            for dt in ALL_DTYPES if dt != "int16"]
REGIONS += [(f"n5/{dt}/raw/edge", "strided", _STRIDED, "full", f"strided, of {dt}")
            for dt in N5_DTYPES if dt != "int16"]
REGIONS += [(cid, "strided", _STRIDED, "full", "strided, through " + cid.split("/")[2])
            for cid in ("v3/int64/crc32c/edge", "v3/float32/gzip/edge", "v3/uint32/blosc-lz4-shuffle/edge",
                        "v3/float64/blosc-zstd-bitshuffle/edge", "v2/int16/raw/edge", "v2/float32/blosc-lz4-shuffle/edge",
                        "v2/complex64/zstd/edge", "v2/uint32/lz4/edge")]


def _regions(b: _Builder) -> None:
    for base_id, label, region, tier, note in REGIONS:
        base = b.cases[base_id]
        assert len(region) == len(base.shape) and all(0 <= a < z <= n for (a, z, _), n in zip(region, base.shape)), base_id
        strided = any(step > 1 for _, _, step in region)
        b.cases[f"{base_id}-region-{label}"] = _replace(
            base, id=f"{base_id}-region-{label}", tier=tier, region=region, upstream="",
            description=f"{base.description}; read a region {[list(r) for r in region]}: {note}",
            features=base.features + ("region",) + (("region:strided",) if strided else ()))


STORE_FEATURES = ("missing-chunks", "sharding", "separator:/", "key-escaping")


def store_sensitive(case: Case) -> bool:
    """Cases read under every access mode, not only `signed`: the ones stores get wrong
    (sparse arrays, shards through range requests, '/' separators, keys needing escaping)."""
    return any(f.startswith(STORE_FEATURES) for f in case.features)


# Upstream reports that a case of a family above shows (between which writer and reader the run says).
UPSTREAM_OF_CASE = {
    "v2/string/zlib/edge": "https://github.com/zarr-developers/zarr-python/issues/3132",
    "v3/U5/zstd/edge": "https://github.com/casangi/xradio/issues/587",
    "v2/int16/zlib/edge-region-interior": "https://github.com/zarr-developers/zarr-java/issues/47",
}


@cache
def catalogue() -> dict[str, Case]:
    b = _Builder()
    _zarr2(b)
    _zarr3(b)
    _n5(b)
    _corrupt(b)
    _found_in_the_wild(b)
    _sources(b)
    _regions(b)
    for cid, url in UPSTREAM_OF_CASE.items():
        b.cases[cid] = _replace(b.cases[cid], upstream=url)
    return dict(sorted(b.cases.items()))


def select(patterns: list[str] | None = None, tier: str = "full") -> list[Case]:
    """Cases of a tier (and the tiers below it) whose id matches any glob."""
    allowed = TIERS[: TIERS.index(tier) + 1]
    out = []
    for case in catalogue().values():
        if case.tier not in allowed:
            continue
        if patterns and not any(fnmatch.fnmatchcase(case.id, p) for p in patterns):
            continue
        out.append(case)
    return out

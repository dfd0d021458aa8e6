"""acquire-zarr (C++), a streaming Zarr v3 writer for microscopy, through its pybind11 bindings: write only.

A writer-only adapter would belong under generators/ (generators/README.md), but a Python library's
adapter is a backend of the shared package here, run in its own pinned environment like every other
Python backend; so it stays here, with `verbs = ("write",)`: its hello says so and every read answers
`unsupported` (the plan never makes it a reader: `verbs: [write]` in matrix.yaml).

Used as its README shows: `StreamSettings(store_path=, arrays=[ArraySettings(output_key=, dimensions=,
data_type=, compression=)])`, `ZarrStream(settings)`, `append(frames)`, `write_custom_metadata(attrs,
array_key=)`, `close()`. What that API fixes:
* every array is sharded: one sharding_indexed codec (index_codecs [bytes(little), crc32c] at the end),
  with the case's shard shape a whole number of its inner chunks per dimension (shard_size_chunks);
  a case without sharding answers `unsupported`;
* inner codecs: bytes(little), then nothing or blosc (lz4 or zstd, byte shuffle or none) with typesize
  the item size and blocksize 0;
* dimension names are required (every Dimension has a name): written as the case's, else d0, d1...;
* the fill value is 0; data types (u)int8..64, float32, float64; the chunk keys default "/";
* every chunk is written (a streamed frame lands in its chunk): a case with missing chunks answers
  `unsupported`; groups with attributes too (intermediate groups are made without attributes).
"""

from __future__ import annotations

import os
from importlib import metadata

import numpy as np

import zc_canonical as canonical
from .cpp_zarr import INDEX_CODECS, LITTLE_BYTES, is_zero_fill, local_root
from ..protocol import Backend, Unsupported

BLOSC_CODECS = {"lz4": "BLOSC_LZ4", "zstd": "BLOSC_ZSTD"}
BLOSC_SHUFFLE = {"noshuffle": 0, "shuffle": 1}


class AcquireZarrBackend(Backend):
    impl = "acquire-zarr"
    verbs = ("write",)

    def __init__(self):
        import acquire_zarr

        self.az = acquire_zarr
        acquire_zarr.set_log_level(acquire_zarr.LogLevel.ERROR)

    def version(self) -> str:
        return metadata.version("acquire-zarr")

    def versions(self) -> dict:
        return {"numpy": np.__version__}

    def _compression(self, codecs: list, itemsize: int):
        if not codecs or codecs[0] not in LITTLE_BYTES:
            raise Unsupported("acquire-zarr writes the bytes codec little-endian, first, only")
        rest = codecs[1:]
        if not rest:
            return None
        cfg = rest[0].get("configuration", {})
        if len(rest) > 1 or rest[0].get("name") != "blosc":
            raise Unsupported(f"acquire-zarr compresses with blosc (lz4 or zstd) only, not "
                              f"{[c.get('name') for c in rest]}")
        if cfg.get("cname") not in BLOSC_CODECS or cfg.get("shuffle") not in BLOSC_SHUFFLE:
            raise Unsupported(f"acquire-zarr's blosc has the lz4 and zstd compressors with byte shuffle or none, "
                              f"not {cfg.get('cname')!r} with {cfg.get('shuffle')!r}")
        if cfg.get("typesize", itemsize) != itemsize or cfg.get("blocksize", 0) != 0:
            raise Unsupported("acquire-zarr writes blosc with typesize the item size and blocksize 0 only")
        return self.az.CompressionSettings(compressor=self.az.Compressor.BLOSC1,
                                           codec=getattr(self.az.CompressionCodec, BLOSC_CODECS[cfg["cname"]]),
                                           level=cfg.get("clevel", 5), shuffle=BLOSC_SHUFFLE[cfg["shuffle"]])

    def write(self, case: dict, data: np.ndarray, target: dict) -> None:
        root = local_root(target, "acquire-zarr")
        fmt, dtype = case["format"], case["dtype"]
        if fmt != "zarr3":
            raise Unsupported(f"acquire-zarr writes Zarr v3 only, not {fmt!r}")
        known = [m.lower() for m in self.az.DataType.__members__]
        if dtype not in known:
            raise Unsupported(f"acquire-zarr has no {dtype} data type (its data types: {', '.join(known)})")
        if any(attrs for attrs in (case.get("groups") or {}).values()):
            raise Unsupported("acquire-zarr writes no group attributes (intermediate groups are made empty)")
        if case.get("missing_chunks"):
            raise Unsupported("acquire-zarr streams every chunk: it cannot leave chunks unwritten")
        if not is_zero_fill(case.get("fill_value"), dtype):
            raise Unsupported(f"acquire-zarr writes the fill value 0 only, not {case.get('fill_value')!r}")
        cke = case.get("chunk_key_encoding") or {"name": "default"}
        if cke.get("name") != "default" or (cke.get("configuration") or {}).get("separator", "/") != "/":
            raise Unsupported("acquire-zarr writes chunk_key_encoding default with '/' only")
        codecs = list(case["codecs"])
        if len(codecs) != 1 or codecs[0].get("name") != "sharding_indexed":
            raise Unsupported("acquire-zarr writes every array sharded (one sharding_indexed codec); the case "
                              "has no sharding")
        cfg = codecs[0].get("configuration", {})
        if cfg.get("index_codecs") != INDEX_CODECS or cfg.get("index_location", "end") != "end":
            raise Unsupported("acquire-zarr writes shard indexes [bytes(little), crc32c] at the end only")
        inner, shard = list(cfg["chunk_shape"]), list(case["chunks"])
        if any(s % c for s, c in zip(shard, inner)):
            raise Unsupported("acquire-zarr's shards are a whole number of chunks per dimension")
        compression = self._compression(list(cfg.get("codecs", [])), canonical.numpy_dtype(dtype).itemsize)
        names = case.get("dimension_names") or [None] * len(case["shape"])
        if any(n is None for n in names) and case.get("dimension_names"):
            raise Unsupported("acquire-zarr names every dimension (a Dimension's name is required)")
        dims = [self.az.Dimension(name=n or f"d{i}", kind=self.az.DimensionType.SPACE, array_size_px=size,
                                  chunk_size_px=c, shard_size_chunks=s // c)
                for i, (n, size, c, s) in enumerate(zip(names, case["shape"], inner, shard))]
        npdt = canonical.numpy_dtype(dtype).newbyteorder("=")
        settings = self.az.StreamSettings(
            store_path=os.path.abspath(root),
            arrays=[self.az.ArraySettings(output_key=case["path"], dimensions=dims,
                                          data_type=getattr(self.az.DataType, dtype.upper()),
                                          compression=compression)])
        stream = self.az.ZarrStream(settings)
        try:
            stream.append(np.array(data, dtype=npdt, order="C"))
            if case.get("attributes"):
                stream.write_custom_metadata(case["attributes"], array_key=case["path"])
        finally:
            stream.close()


BACKEND = AcquireZarrBackend

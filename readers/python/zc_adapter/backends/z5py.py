"""z5py (z5, C++) through its Python bindings: zarr v2, zarr v3 (with sharding) and N5.

z5py 3.0.2 writes zarr v2, zarr v3 and N5 containers on local disk. What it
cannot express answers `unsupported`:
* data types other than (u)int8..64, float32, float64 (z5py's Dataset._dtype_dict);
* zarr v2: order "F" (no order option), filters (none), chunks larger than the
  array (create_dataset clamps chunks to the shape), compressors outside
  z5py's zarr list (lz4, lzma), and numcodecs "gzip": z5py's "gzip" for zarr
  v2 writes zlib streams recorded as {"id": "zlib"} (verified), so a gzip
  compressor cannot be written;
* zarr v3: codec chains other than [bytes(little), optional gzip/zstd/blosc],
  optionally inside one sharding_indexed codec with index_codecs
  [bytes(little), crc32c] at the end (z5py's fixed layout); chunk key
  encodings other than default "/" and v2 "."; dimension_names;
* N5: gzip with useZlib true, chunks larger than the array.

A new container is created through a subclass of z5py.File whose format
inference answers with the requested format: z5py.File infers "N5" for a new
path without a .zarr/.zr extension and then refuses use_zarr_format=True
("N5 file cannot be opened in zarr format"), so a zarr container at an
arbitrary path cannot otherwise be created.

z5py exposes no fill value through its API (neither Dataset nor its handles);
the fill value reported for zarr arrays is read from the array's own metadata
document (.zarray / zarr.json) by this adapter. Data and attributes come from
z5py.

S3: z5py's S3 support (z5py.S3File) exists only when z5 is built with it; the
check is made at run time (hasattr(z5py._z5py, "S3File")). HTTP: none.
"""

from __future__ import annotations

import os
import re

import numpy as np

import zc_canonical as canonical
from ..chunks import chunk_regions
from ..metadata import load_metadata, recorded_fill
from ..protocol import Backend, ReadResult, Unsupported, bounding_box, check_region




_UNSUPPORTED_ERRORS = re.compile(r"unsupported|not supported|only supports|does not support", re.I)
BLOSC_V3_SHUFFLE = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}
LITTLE_BYTES = ({"name": "bytes", "configuration": {"endian": "little"}}, {"name": "bytes"})
INDEX_CODECS = [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}]


class Z5pyBackend(Backend):
    impl = "z5py"

    def __init__(self):
        import z5py

        self.z5py = z5py

        class _NewFile(z5py.File):
            requested_zarr = True

            @classmethod
            def infer_format(cls, path):
                found = z5py.File.infer_format(path)
                return cls.requested_zarr if not os.path.exists(path) else found

        self._NewFile = _NewFile

    def version(self) -> str:
        return self.z5py.__version__

    def versions(self) -> dict:
        from z5py import _z5py

        codecs = _z5py.get_available_codecs()
        backends = _z5py.get_available_backends()
        return {"numpy": np.__version__,
                "codecs": ",".join(sorted(k for k, v in codecs.items() if v)),
                "backends": ",".join(sorted(k for k, v in backends.items() if v))}

    # --- write ------------------------------------------------------------------

    def _check_dtype(self, dtype: str) -> np.dtype:
        known = self.z5py.Dataset._dtype_dict
        try:
            npdt = canonical.numpy_dtype(dtype)
        except canonical.DtypeError:
            npdt = None
        if npdt is None or npdt.newbyteorder("=") not in known:
            raise Unsupported(f"z5py has no {dtype} data type (its data types: {', '.join(sorted(known.values()))})")
        return npdt

    def _v2_compression(self, comp):
        if comp is None:
            return "raw", {}
        cid = comp.get("id")
        if cid == "gzip":
            raise Unsupported("z5py's 'gzip' compression for zarr v2 writes zlib-format chunks recorded as "
                              "{'id': 'zlib'}; numcodecs gzip cannot be written")
        if cid == "zlib":
            name, opts = "zlib", {"level": comp.get("level", 1)}
        elif cid == "bz2":
            name, opts = "bzip2", {"level": comp.get("level", 1)}
        elif cid == "zstd":
            name, opts = "zstd", {"level": comp.get("level", 1)}
        elif cid == "blosc":
            name, opts = "blosc", {"codec": comp.get("cname", "lz4"), "clevel": comp.get("clevel", 5),
                                   "shuffle": comp.get("shuffle", 1), "blocksize": comp.get("blocksize", 0)}
        else:
            name, opts = cid, {}
        if name not in self.z5py.Dataset.compressors_zarr:
            raise Unsupported(f"z5py has no zarr v2 compressor {cid!r} (available for zarr: "
                              f"{', '.join(self.z5py.Dataset.compressors_zarr)})")
        return name, opts

    def _n5_compression(self, comp):
        ctype = comp.get("type")
        if ctype == "raw":
            name, opts = "raw", {}
        elif ctype == "gzip":
            if comp.get("useZlib"):
                raise Unsupported("z5py's N5 gzip compression has no useZlib option")
            name, opts = "gzip", {"level": comp.get("level", -1)}
        elif ctype == "bzip2":
            name, opts = "bzip2", {"level": comp.get("blockSize", 9)}
        elif ctype == "xz":
            name, opts = "xz", {"level": comp.get("preset", 6)}
        elif ctype == "lz4":
            name, opts = "lz4", {"level": comp.get("blockSize", 65536)}
        elif ctype == "zstd":
            name, opts = "zstd", {"level": comp.get("level", 3)}
        elif ctype == "blosc":
            name, opts = "blosc", {"codec": comp.get("cname", "lz4"), "clevel": comp.get("clevel", 5),
                                   "shuffle": comp.get("shuffle", 1), "blocksize": comp.get("blocksize", 0),
                                   "nthreads": comp.get("nthreads", 1)}
        else:
            name, opts = ctype, {}
        if name not in self.z5py.Dataset.compressors_n5:
            raise Unsupported(f"z5py has no N5 compression {ctype!r} (available: "
                              f"{', '.join(self.z5py.Dataset.compressors_n5)})")
        return name, opts

    def _v3_layout(self, case: dict, npdt: np.dtype):
        """z5py's create_dataset arguments for the case's v3 codec chain, or Unsupported."""
        codecs = list(case["codecs"])
        shards = None
        chunks = list(case["chunks"])
        if len(codecs) == 1 and codecs[0].get("name") == "sharding_indexed":
            cfg = codecs[0].get("configuration", {})
            if cfg.get("index_codecs") != INDEX_CODECS:
                raise Unsupported("z5py writes shard indexes only with index_codecs [bytes(little), crc32c]")
            if cfg.get("index_location", "end") != "end":
                raise Unsupported("z5py writes shard indexes only at the end of the shard (index_location 'end')")
            shards, chunks = chunks, list(cfg["chunk_shape"])
            codecs = list(cfg.get("codecs", []))
        names = [c.get("name") for c in codecs]
        if "sharding_indexed" in names:
            raise Unsupported("z5py writes one level of sharding only (no nested sharding_indexed)")
        if "transpose" in names:
            raise Unsupported("z5py has no transpose codec")
        if not codecs or codecs[0] not in LITTLE_BYTES:
            raise Unsupported("z5py writes the bytes codec little-endian only (no big-endian)")
        rest = codecs[1:]
        if any(c.get("name") == "crc32c" for c in rest):
            raise Unsupported("z5py has no crc32c codec for chunks (it is used only in shard indexes)")
        if len(rest) > 1:
            raise Unsupported("z5py writes at most one bytes-to-bytes codec")
        if not rest:
            return "raw", {}, chunks, shards
        comp = rest[0]
        cfg = comp.get("configuration", {})
        if comp["name"] == "gzip":
            return "gzip", {"level": cfg.get("level", 1)}, chunks, shards
        if comp["name"] == "zstd":
            if cfg.get("checksum"):
                raise Unsupported("z5py writes the zstd codec without checksum only")
            return "zstd", {"level": cfg.get("level", 1)}, chunks, shards
        if comp["name"] == "blosc":
            if cfg.get("typesize", npdt.itemsize) != npdt.itemsize:
                raise Unsupported("z5py writes blosc typesize equal to the item size only")
            return "blosc", {"codec": cfg.get("cname", "lz4"), "level": cfg.get("clevel", 5),
                             "shuffle": BLOSC_V3_SHUFFLE[cfg.get("shuffle", "noshuffle")],
                             "blocksize": cfg.get("blocksize", 0)}, chunks, shards
        raise Unsupported(f"z5py has no zarr v3 codec {comp['name']!r}")

    def write(self, case: dict, data: np.ndarray, target: dict) -> None:
        if target.get("kind") != "local":
            raise Unsupported("this adapter writes to local stores only")
        fmt = case["format"]
        root = target["path"]
        npdt = self._check_dtype(case["dtype"])
        shape = tuple(case["shape"])
        chunks = tuple(case["chunks"])
        kwargs = {}
        if fmt == "zarr2":
            if case.get("order", "C") != "C":
                raise Unsupported("z5py writes zarr v2 arrays in C order only (no order option)")
            if case.get("filters"):
                raise Unsupported("z5py has no zarr v2 filters")
            compression, copts = self._v2_compression(case.get("compressor"))
            file_kw = {"use_zarr_format": True, "dimension_separator": case.get("dimension_separator", ".")}
            ds_chunks, shards = chunks, None
        elif fmt == "zarr3":
            if case.get("dimension_names"):
                raise Unsupported("z5py has no dimension_names option for zarr v3")
            cke = case.get("chunk_key_encoding") or {"name": "default", "configuration": {"separator": "/"}}
            sep = cke.get("configuration", {}).get("separator", "/" if cke["name"] == "default" else ".")
            if (cke["name"], sep) == ("default", "/"):
                kwargs["chunk_key_encoding"] = "default"
            elif (cke["name"], sep) == ("v2", "."):
                kwargs["chunk_key_encoding"] = "v2"
            else:
                raise Unsupported("z5py writes chunk_key_encoding default with '/' or v2 with '.' only")
            compression, copts, ds_chunks, shards = self._v3_layout(case, npdt)
            file_kw = {"use_zarr_format": True, "zarr_format": 3}
            if shards is not None:
                kwargs["shards"] = tuple(shards)
            ds_chunks = tuple(ds_chunks)
        elif fmt == "n5":
            compression, copts = self._n5_compression(case["compression"])
            file_kw = {"use_zarr_format": False}
            ds_chunks, shards = chunks, None
        else:
            raise Unsupported(f"unknown format {fmt!r}")
        if any(c > s for c, s in zip(chunks, shape)):
            raise Unsupported("z5py clamps chunks to the array shape (create_dataset: chunk = min(chunk, shape)); "
                              "chunks larger than the array cannot be written")
        fill = canonical.fill_from_json(case["fill_value"], case["dtype"])
        if not case["path"]:
            raise Unsupported("z5py cannot write an array at the container root: z5py.File creates the root as a "
                              "group (.zgroup, a group zarr.json or N5's root attributes.json) and "
                              "create_dataset('') answers 'Dataset  is already existing.'")

        self._NewFile.requested_zarr = fmt != "n5"
        f = self._NewFile(root, mode="a", **file_kw)
        groups = dict(case.get("groups") or {})
        if groups.get(""):
            f.attrs.update(groups[""])
        for gpath in sorted((g for g in groups if g), key=lambda p: (p.count("/"), p)):
            g = f
            for part in gpath.split("/"):
                g = g.require_group(part)
            if groups[gpath]:
                g.attrs.update(groups[gpath])
        try:
            ds = f.create_dataset(case["path"], shape=shape, chunks=ds_chunks, dtype=npdt.newbyteorder("="),
                                  compression=compression, fillvalue=fill if fmt != "n5" else 0, **kwargs, **copts)
        except ValueError as exc:
            if "not supported" in str(exc):
                raise Unsupported(f"z5py: {exc}") from exc
            raise
        src = np.ascontiguousarray(data, dtype=npdt.newbyteorder("="))
        missing = case.get("missing_chunks") or []
        if missing:
            for region in chunk_regions(shape, chunks, missing):
                ds[region] = src[region]
        else:
            ds[...] = src
        if case.get("attributes"):
            ds.attrs.update(case["attributes"])

    # --- read -------------------------------------------------------------------

    def read(self, target: dict, path: str, fmt: str | None, region=None) -> ReadResult:
        if fmt not in ("zarr2", "zarr3", "n5"):
            raise Unsupported(f"unknown format {fmt!r}")
        kind = target.get("kind")
        if kind == "local":
            root = target["path"]
            if fmt != "n5" and path and not any(os.path.exists(os.path.join(root, m)) for m in (".zgroup", "zarr.json")):
                # The dataset root is no group: the array was written alone (cpp-zarr writes no group above
                # it). z5py's users open such an array as a root array: File(<its directory>)[""].
                root, path = os.path.join(root, path), ""
            f = self.z5py.File(root, mode="r", use_zarr_format=fmt != "n5")
        elif kind == "s3":
            from z5py import _z5py

            if not hasattr(_z5py, "S3File"):
                raise Unsupported("z5py in this wheel was built without S3 support (z5py._z5py has no S3File; "
                                  f"available backends: {_z5py.get_available_backends()})")
            f = self.z5py.S3File(target["bucket"], target.get("key", ""), mode="r",
                                 use_zarr_format=fmt != "n5", zarr_format=3 if fmt == "zarr3" else 2,
                                 endpoint_url=target.get("endpoint"), region=target.get("region") or "us-east-1",
                                 anon=bool(target.get("anonymous")),
                                 access_key=None if target.get("anonymous") else target.get("access_key_id"),
                                 secret_key=None if target.get("anonymous") else target.get("secret_access_key"))
        elif kind == "http":
            raise Unsupported("z5py has no HTTP store")
        elif kind == "gcs":
            from z5py import _z5py

            raise Unsupported("z5py in this wheel was built without GCS support (z5 has a GCS backend; available "
                              f"backends: {_z5py.get_available_backends()})")
        elif kind == "azure":
            raise Unsupported("z5 has no Azure Blob backend (its backends are filesystem, S3 and GCS)")
        else:
            raise Unsupported(f"store kind {kind!r} is not known to this adapter")
        try:
            parts = [p for p in path.split("/") if p]
            # A root array (path "") is opened the way z5py users do: File(...)[""], the
            # container root as a child of itself (z5py's File is always its root group).
            node = f[""] if not parts else f
            for part in parts:
                node = node[part]
            if not isinstance(node, self.z5py.Dataset):
                raise TypeError(f"z5py opens {path or 'the container root'!r} as a {type(node).__name__}, "
                                "not a Dataset")
            if region is None:
                arr = node[...]
            else:
                # z5py selects boxes only (steps other than 1 are not supported): the box, then every step-th element.
                check_region(region, node.shape)
                box, steps = bounding_box(region)
                arr = node[box][steps]
        except (RuntimeError, ValueError) as exc:
            # z5's own errors that say the feature is unsupported ("Z5 only supports C order",
            # "unsupported zarr v3 codec: transpose", "Z5 does not support filters", ...).
            if _UNSUPPORTED_ERRORS.search(str(exc)):
                raise Unsupported(f"z5py: {exc}") from exc
            raise
        attrs = dict(node.attrs)
        fill = None
        if fmt != "n5" and kind == "local":
            # z5py has no fill-value API: the value recorded in the array's metadata document.
            fill = recorded_fill(load_metadata(os.path.join(root, path), fmt))
        return ReadResult(array=arr, fill_value=fill, attributes=attrs)


BACKEND = Z5pyBackend

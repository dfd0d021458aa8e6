"""zarr-python 2 (2.18, and Debian 12's 2.13): the zarr v2 format, and N5 through zarr.n5.N5Store / N5FSStore.

Writing: zarr v2 arrays with numcodecs codecs built from the case's configs
(`numcodecs.get_codec`), filters, order and dimension_separator, into a
DirectoryStore; N5 through N5Store, which turns the zarr metadata into N5
attributes.json (dimensions and blockSize reversed, `compression` derived from
the numcodecs compressor by zarr.n5.compressor_config_to_n5). Chunks listed as
missing are left out by writing region by region (zarr 2 stores every chunk
written, `write_empty_chunks` is on by default).

Reading: DirectoryStore / N5Store for local datasets, FSStore / N5FSStore
(fsspec, s3fs) for S3 and HTTP, and over fsspec's reference file system
(`reference://`) for kerchunk references. zarr v3 is not read: the experimental v3 API
of zarr-python 2 follows an obsolete draft of the spec, not the final zarr.json
format.

2.13 and 2.18 share these APIs; where s3fs differs (Debian 12 packages no s3fs:
its environment has s3fs 2022.11, the release of Debian's fsspec, which takes
the endpoint only in client_kwargs) the store options follow the installed s3fs.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np

import zc_canonical as canonical
from ..chunks import write_present_chunks
from ..protocol import Backend, ReadResult, Unsupported, check_region
from .zarr3 import (Zarr3Backend, azure_storage_options, component_versions, gcs_storage_options,
                    reference_options, s3_storage_options, target_url)

NO_V3 = ("zarr-python {} does not implement zarr v3 (its experimental v3 API follows an obsolete draft "
         "of the spec, not the final zarr.json format)")


def fsspec_s3_options(target: dict) -> dict:
    """s3_storage_options, with the endpoint in client_kwargs for an s3fs whose S3FileSystem has no
    endpoint_url argument (before 2023.x: it passes unknown arguments on to the aiobotocore session)."""
    import inspect

    import s3fs

    opts = s3_storage_options(target)
    if "endpoint_url" not in inspect.signature(s3fs.S3FileSystem.__init__).parameters:
        opts["client_kwargs"] = {**opts["client_kwargs"], "endpoint_url": opts.pop("endpoint_url")}
    return opts


class Zarr2Backend(Backend):
    impl = "zarr-python"

    def __init__(self):
        import zarr

        self.zarr = zarr

    def version(self) -> str:
        return self.zarr.__version__

    def versions(self) -> dict:
        return component_versions(("numcodecs", "numpy", "fsspec", "s3fs", "gcsfs", "adlfs"))

    # --- stores -------------------------------------------------------------------

    def store(self, target: dict, fmt: str, write: bool = False):
        from zarr.n5 import N5FSStore, N5Store
        from zarr.storage import DirectoryStore, FSStore

        kind = target.get("kind")
        n5 = fmt == "n5"
        if kind == "local":
            return N5Store(target["path"]) if n5 else DirectoryStore(target["path"])
        if kind == "kerchunk" and not write:  # fsspec's reference file system (kerchunk)
            return (N5FSStore if n5 else FSStore)("reference://", mode="r", **reference_options(target, fsspec_s3_options))
        if write and kind != "s3":
            raise Unsupported(f"this adapter writes to local and S3 stores, not {kind}")
        if kind == "s3":
            opts = fsspec_s3_options(target)
        elif kind == "http":
            opts = {}
        elif kind in ("gcs", "azure") and importlib.util.find_spec("gcsfs" if kind == "gcs" else "adlfs") is None:
            fs = "gcsfs" if kind == "gcs" else "adlfs"
            raise Unsupported(f"zarr-python 2 reaches {kind} through fsspec's {fs}, which this environment does not "
                              f"have (Debian packages no {fs})")
        elif kind == "gcs":  # gcsfs
            os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")  # see zarr3.Zarr3Backend.store
            opts = gcs_storage_options(target)
        elif kind == "azure":  # adlfs
            opts = azure_storage_options(target)
        else:
            raise Unsupported(f"store kind {kind!r} is not known to this adapter")
        cls = N5FSStore if n5 else FSStore
        return cls(target_url(target), mode="w" if write else "r", **opts)

    # --- write --------------------------------------------------------------------

    def write(self, case: dict, data: np.ndarray, target: dict) -> None:
        zarr = self.zarr
        fmt = case["format"]
        if fmt == "zarr3":
            raise Unsupported(NO_V3.format(self.zarr.__version__))
        store = self.store(target, fmt, write=True)

        # The root group, every listed group and every ancestor of the array; nothing for a
        # root array (path ""), which is the dataset root itself.
        groups = Zarr3Backend.groups_to_write(case)
        if groups:
            root = zarr.open_group(store=store, mode="w")
            root.attrs.update(groups[0][1])
            for gpath, attrs in groups[1:]:
                g = root.require_group(gpath)
                if attrs:
                    g.attrs.update(attrs)

        dtype = case["dtype"]
        np_dtype = canonical.numpy_dtype(dtype)  # object for "string": the vlen-utf8 filter is in the case
        kw = {}
        if fmt == "zarr2":
            import numcodecs

            comp = case.get("compressor")
            if comp and not case["shape"]:
                raise Unsupported("zarr-python 2 writes 0-d arrays without a compressor (zarr.storage."
                                  "_init_array_metadata drops it: 'no point in compressing a 0-dimensional array')")
            kw = dict(compressor=numcodecs.get_codec(dict(comp)) if comp else None,
                      filters=[numcodecs.get_codec(dict(f)) for f in case["filters"]] if case.get("filters") else None,
                      order=case.get("order") or "C", dimension_separator=case.get("dimension_separator") or ".")
        else:
            kw = dict(compressor=self.n5_compressor(case.get("compression") or {"type": "raw"}))
        arr = zarr.create(shape=tuple(case["shape"]), chunks=tuple(case["chunks"]), dtype=np_dtype, store=store,
                          path=case["path"], fill_value=canonical.fill_from_json(case["fill_value"], dtype),
                          write_empty_chunks=True, **kw)
        if case.get("attributes"):
            arr.attrs.update(case["attributes"])
        self.write_data(arr, case, data)

    @staticmethod
    def n5_compressor(comp: dict):
        """The numcodecs compressor that zarr.n5 turns into exactly this N5 compression."""
        import numcodecs

        kind = comp.get("type")
        if kind == "raw":
            return None
        if kind == "gzip":
            cls = numcodecs.Zlib if comp.get("useZlib") else numcodecs.GZip
            return cls(level=comp.get("level", -1))
        if kind == "bzip2":
            return numcodecs.BZ2(level=comp.get("blockSize", 9))
        if kind == "xz":
            return numcodecs.LZMA(format=1, check=-1, preset=comp.get("preset", 6), filters=None)
        if kind == "blosc":
            # zarr.n5 writes cname, clevel, shuffle and blocksize; "nthreads" (a runtime setting of the
            # N5 Java codec, not part of the data) is not written.
            return numcodecs.Blosc(cname=comp["cname"], clevel=comp["clevel"], shuffle=comp["shuffle"],
                                   blocksize=comp.get("blocksize", 0))
        if kind == "zstd":
            # zarr.n5 passes numcodecs' config through: {"type": "zstd", "level": L, "checksum": false}.
            return numcodecs.Zstd(level=comp.get("level", 3))
        if kind == "lz4":
            raise Unsupported("zarr.n5 has no N5 lz4 compression (N5's lz4 is the LZ4 block-stream format; "
                              "numcodecs LZ4 would be written as a different 'lz4' config)")
        raise Unsupported(f"zarr.n5 has no N5 compression {kind!r}")

    write_data = staticmethod(write_present_chunks)

    # --- read ---------------------------------------------------------------------

    def read(self, target: dict, path: str, fmt: str | None, region=None) -> ReadResult:
        if fmt == "zarr3":
            raise Unsupported(NO_V3.format(self.zarr.__version__))
        store = self.store(target, fmt or "zarr2")
        arr = self.zarr.open_array(store=store, path=path, mode="r")
        check_region(region, arr.shape)
        data = arr[region if region is not None else ...]
        # N5Store already drops the N5 keywords (n5, dataType, dimensions, blockSize, compression)
        # from the attributes; nothing else is library bookkeeping.
        return ReadResult(np.asarray(data), arr.fill_value, dict(arr.attrs.asdict()))


BACKEND = Zarr2Backend

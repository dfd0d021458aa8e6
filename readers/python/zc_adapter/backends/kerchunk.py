"""kerchunk: Zarr v2 references to the chunks of netCDF4 and HDF5 files (a writer only).

A case with a `source` (harness/cases.py `_sources`) is written as its source file (zc_adapter.sources:
netCDF4-python or h5py), which kerchunk's SingleHdf5ToZarr describes as references (version 1, nothing
inlined) whose URL is the file's name. The dataset is the directory of the file and kerchunk-refs.json.
Every other case is unsupported: kerchunk writes no Zarr of its own.
"""

from __future__ import annotations

from importlib import metadata

import numpy as np

from ..protocol import Backend
from ..sources import write_refs, write_source


class KerchunkBackend(Backend):
    impl = "kerchunk"
    verbs = ("write",)

    def version(self) -> str:
        return metadata.version("kerchunk")

    def versions(self) -> dict:
        return {name: metadata.version(name) for name in ("h5py", "netCDF4", "zarr", "numcodecs", "fsspec")}

    def write(self, case: dict, data: np.ndarray, target: dict) -> None:
        path, name = write_source(case, data, target, "kerchunk")
        from kerchunk.hdf import SingleHdf5ToZarr

        with open(path, "rb") as f:
            write_refs(path.parent, SingleHdf5ToZarr(f, name, inline_threshold=0).translate())


BACKEND = KerchunkBackend

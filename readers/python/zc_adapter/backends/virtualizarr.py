"""VirtualiZarr: kerchunk references to the chunks of netCDF4 and HDF5 files (a writer only).

A case with a `source` is written as its source file (zc_adapter.sources), opened as a virtual dataset
with VirtualiZarr's HDFParser (the file read through obstore's LocalStore, as its docs show) and written
as kerchunk JSON references (`vds.vz.to_kerchunk(format="dict")`). VirtualiZarr names the file by its
absolute path; the references are written naming it by its name alone, so that the harness can publish
the file elsewhere (as a data provider moving the files would rewrite them). Every other case is
unsupported: VirtualiZarr writes no Zarr of its own here.
"""

from __future__ import annotations

from importlib import metadata

import numpy as np

from ..protocol import Backend
from ..sources import write_refs, write_source


class VirtualiZarrBackend(Backend):
    impl = "virtualizarr"
    verbs = ("write",)

    def version(self) -> str:
        return metadata.version("virtualizarr")

    def versions(self) -> dict:
        return {name: metadata.version(name) for name in ("h5py", "netCDF4", "zarr", "numcodecs", "obstore", "xarray")}

    def write(self, case: dict, data: np.ndarray, target: dict) -> None:
        path, name = write_source(case, data, target, "VirtualiZarr")
        from obstore.store import LocalStore
        from virtualizarr import open_virtual_dataset
        from virtualizarr.parsers import HDFParser

        try:
            from obspec_utils.registry import ObjectStoreRegistry
        except ImportError:  # before VirtualiZarr moved it
            from virtualizarr.registry import ObjectStoreRegistry

        url = path.resolve().as_uri()
        registry = ObjectStoreRegistry({"file:///": LocalStore("/")})
        with open_virtual_dataset(url, parser=HDFParser(), registry=registry) as vds:
            refs = vds.vz.to_kerchunk(format="dict")
        where = {url, str(path.resolve())}
        for key, value in refs["refs"].items():
            if isinstance(value, list) and value and value[0] in where:
                refs["refs"][key] = [name, *value[1:]]
        write_refs(path.parent, refs)


BACKEND = VirtualiZarrBackend

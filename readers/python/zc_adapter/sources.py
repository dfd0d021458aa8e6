"""Source files for the reference writers (backends kerchunk and virtualizarr): a case with a `source` is
written as a netCDF4 file by netCDF4-python or an HDF5 file by h5py, which a reference maker then
describes as Zarr. The file is filled chunk by chunk, so that the chunks the case lists as missing are
never allocated; the values are written as they are (no masking or scaling by netCDF4-python)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .chunks import chunk_regions
from .protocol import Unsupported

# Beside the source file in the dataset directory: the references, naming the file by its name alone, which
# the harness replaces with where it publishes the file (harness/stores.py KerchunkStore).
REFS = "kerchunk-refs.json"
SOURCE_FILES = {"netcdf4": "source.nc", "hdf5": "source.h5"}


def write_source(case: dict, data: np.ndarray, target: dict, maker: str) -> tuple[Path, str]:
    """Write the case's source file into the target directory: (its path, its name)."""
    source = case.get("source")
    if not source:
        raise Unsupported(f"{maker} writes references to netCDF4 and HDF5 files, not Zarr datasets")
    if target.get("kind") != "local":
        raise Unsupported(f"this adapter writes to local stores only, not store kind {target.get('kind')!r}")
    if "/" in case["path"] or case.get("groups"):
        raise Unsupported("the source files written here hold one variable at their root")
    if source["kind"] not in SOURCE_FILES:
        raise Unsupported(f"source kind {source['kind']!r} is not known to this adapter")
    root = Path(target["path"])
    root.mkdir(parents=True, exist_ok=True)
    name = SOURCE_FILES[source["kind"]]
    dtype = np.dtype(data.dtype).newbyteorder(">" if source.get("endian") == "big" else "<")
    chunks = tuple(case["chunks"]) if source.get("chunked", True) else None
    regions = list(chunk_regions(case["shape"], case["chunks"], case.get("missing_chunks") or ()))
    write = _netcdf4 if source["kind"] == "netcdf4" else _hdf5
    write(root / name, case, data, dtype, chunks, regions, source)
    return root / name, name


def write_refs(root: Path, refs: dict) -> None:
    (root / REFS).write_text(json.dumps(refs))


def _netcdf4(path, case, data, dtype, chunks, regions, source) -> None:
    import netCDF4

    dims = source.get("dimensions") or [f"dim{i}" for i in range(len(case["shape"]))]
    with netCDF4.Dataset(path, "w", format="NETCDF4") as ds:
        for dim, size in zip(dims, case["shape"]):
            ds.createDimension(dim, size)
        kw = {"zlib": bool(source.get("deflate")), "shuffle": bool(source.get("shuffle")),
              "endian": "big" if source.get("endian") == "big" else "little", "fill_value": case["fill_value"]}
        if source.get("deflate"):
            kw["complevel"] = source["deflate"]
        if chunks:
            kw["chunksizes"] = chunks
        else:
            kw["contiguous"] = True
        var = ds.createVariable(case["path"], dtype.newbyteorder("="), dims, **kw)
        var.set_auto_maskandscale(False)
        var.setncatts(case["attributes"])
        for region in regions:
            var[region] = data[region]


def _hdf5(path, case, data, dtype, chunks, regions, source) -> None:
    import h5py

    kw = {"fillvalue": case["fill_value"]}
    if chunks:
        kw["chunks"] = chunks
        if source.get("deflate"):
            kw.update(compression="gzip", compression_opts=source["deflate"])
        if source.get("shuffle"):
            kw["shuffle"] = True
    with h5py.File(path, "w") as f:
        ds = f.create_dataset(case["path"], shape=tuple(case["shape"]), dtype=dtype, **kw)
        for region in regions:
            ds[region] = data[region]
        for k, v in case["attributes"].items():
            ds.attrs[k] = v

"""netCDF4-python over the netcdf-c library bundled in its wheel: NCZarr, pure Zarr v2.

Datasets are opened with NCZarr URLs in pure-Zarr mode, `file://<root>#mode=zarr,file`
(S3: `<endpoint>/<bucket>/<key>#mode=zarr,s3`). The bundled netcdf-c (4.10.1)
implements Zarr v2 only: zarr v3 and N5 answer `unsupported` (a "v3" mode flag
is silently ignored and produces Zarr v2, verified). Its S3 storage driver is
checked at run time: opening an S3 URL fails with NC_ENOTBUILT ("Attempt to use
feature that was not turned on when netCDF was built") in this wheel, which the
adapter reports as `unsupported`.

Writing (netCDF needs named dimensions): each array gets its own dimensions
dim0, dim1, ... in its group; netcdf-c then also writes the xarray attribute
_ARRAY_DIMENSIONS for root-group variables. Mapping of the case's encoding:
* dtypes: (u)int8..64, float32, float64; S<n> as an NC_STRING variable with the
  per-variable `_nczarr_maxstrlen` = n (written as "|S<n>"). No bool, float16,
  complex (netCDF4-python's complex is a compound type, NCZarr has no
  compound types), U<n> or variable-length strings (NCZarr writes NC_STRING as
  fixed "|S<n>", never vlen-utf8);
* compressors: zlib, bz2, zstd and blosc (lz4, lz4hc, zlib, zstd, blosclz as
  netCDF4-python's blosc_lz), level from the case; the filter plugins ship in
  the wheel (netCDF4/plugins, HDF5_PLUGIN_PATH set by netCDF4 on import).
  gzip, lzma and lz4 have no NCZarr codec;
* filters: "shuffle" through netCDF's shuffle, which NCZarr records as
  {"id": "shuffle", "elementsize": 0} (netCDF's "use the type size"); fletcher32
  is always applied after compression by netCDF (written as the compressor), so
  the case's fletcher32-before-zlib chain cannot be written; no delta, packbits,
  crc32, adler32;
* order: NCZarr writes C order only;
* 0-d: NCZarr records a scalar variable as a Zarr array of shape [1];
* dimension_separator "/": netcdf-c takes it only from the .rc key
  ZARR.DIMENSION_SEPARATOR, read once when the library initialises. Such a
  write runs in a child Python process whose NCRCENV_RC names an .rc file
  with ZARR.DIMENSION_SEPARATOR=/ (verified to write dimension_separator "/");
* fill value: createVariable(fill_value=...). netcdf-c also copies it into the
  array's .zattrs as a "_FillValue" attribute; the adapter deletes that
  attribute (delncattr), which leaves fill_value in .zarray (verified);
* attributes: numbers as int64/uint64/float64 attributes, strings as text
  (a string that itself parses as JSON is passed JSON-quoted, since netcdf-c
  parses text attributes as JSON), and lists, dicts, booleans and null as JSON
  text, which netcdf-c stores as that JSON (its documented convention).

Reading: the variable is read with auto mask/scale and chartostring off.
Attributes are all of the variable's netCDF attributes (netCDF4-python lists
_FillValue only when it is present in .zattrs; _ARRAY_DIMENSIONS is consumed
by netcdf-c). netcdf-c returns a JSON object or array that is not a vector of
atomic values as text (its JSON attribute convention); such text is decoded
back to JSON. The fill value is Variable.get_fill_value() (None when netcdf-c
says the variable is not pre-filled, i.e. fill_value null). Strings:
netCDF4-python decodes NC_STRING values as UTF-8; with `_nczarr_maxstrlen` n
known they are reported as S<n> (their UTF-8 bytes), otherwise as `string`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

import zc_canonical as canonical
from ..chunks import chunk_regions
from ..protocol import Backend, ReadResult, Unsupported, check_region

NC_ENOTBUILT = -128

NC_TYPES = {"int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2", "int32": "i4", "uint32": "u4",
            "int64": "i8", "uint64": "u8", "float32": "f4", "float64": "f8"}
BLOSC_NAMES = {"lz4": "blosc_lz4", "lz4hc": "blosc_lz4hc", "zlib": "blosc_zlib", "zstd": "blosc_zstd",
               "blosclz": "blosc_lz"}
NO_V3 = "netcdf-c 4.10.1 (NCZarr) reads and writes Zarr v2 only"
NO_N5 = "netCDF does not read or write N5"




def _attr_value(value):
    """A case attribute value as netCDF4-python is given it (see module docstring)."""
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return np.int64(value) if -(2**63) <= value < 2**63 else np.uint64(value)
    if isinstance(value, float):
        return np.float64(value)
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return value
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"attribute value of type {type(value).__name__}")


def _attr_from_nc(value):
    """A netCDF4-python attribute value as JSON."""
    if isinstance(value, np.ndarray):
        return [_attr_from_nc(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str):
        s = value.strip()
        if s[:1] in "[{":
            try:
                decoded = json.loads(s)
            except ValueError:
                return value
            if isinstance(decoded, (dict, list)):
                return decoded
        return value
    return value


class NetCDF4Backend(Backend):
    impl = "netcdf4-python"

    def __init__(self):
        import netCDF4

        self.nc = netCDF4

    def version(self) -> str:
        return self.nc.__version__

    def versions(self) -> dict:
        nc = self.nc
        return {"netcdf-c": nc.__netcdf4libversion__, "hdf5": nc.__hdf5libversion__, "numpy": np.__version__,
                "nczarr-s3": "yes" if self._s3_built() else "no",
                "filters": ",".join(k for k in ("zstandard", "bzip2", "blosc", "szip")
                                    if getattr(nc, f"__has_{k}_support__", 0)),
                "hdf5_plugin_path": os.environ.get("HDF5_PLUGIN_PATH", "")}

    def _s3_built(self) -> bool:
        """Whether netcdf-c has its S3 storage driver: NC_ENOTBUILT on an S3 URL says no.
        The probe URL names a closed loopback port, so nothing is contacted."""
        try:
            self.nc.Dataset("http://127.0.0.1:1/zc-probe/x#mode=zarr,s3", "r").close()
        except OSError as exc:
            return exc.errno != NC_ENOTBUILT
        return True

    # --- write ------------------------------------------------------------------

    def _compression(self, case: dict) -> dict:
        kw = {"shuffle": False}
        filters = case.get("filters") or []
        for flt in filters:
            fid = flt.get("id")
            if fid == "shuffle":
                kw["shuffle"] = True
            elif fid == "fletcher32":
                raise Unsupported("netCDF applies fletcher32 after the compressor (NCZarr records it as the "
                                  "compressor, the compressor among the filters); a fletcher32 filter before "
                                  "the compressor cannot be written")
            else:
                raise Unsupported(f"netCDF/NCZarr has no {fid!r} filter")
        comp = case.get("compressor")
        if comp is None:
            kw["compression"] = None
            if kw["shuffle"]:
                raise Unsupported("netCDF writes shuffle only together with a compressor")
            return kw
        cid = comp.get("id")
        if cid == "zlib":
            kw.update(compression="zlib", complevel=comp.get("level", 1))
        elif cid == "bz2":
            if not self.nc.__has_bzip2_support__:
                raise Unsupported("this netCDF4 build has no bzip2 filter")
            kw.update(compression="bzip2", complevel=comp.get("level", 1))
        elif cid == "zstd":
            if not self.nc.__has_zstandard_support__:
                raise Unsupported("this netCDF4 build has no zstd filter")
            kw.update(compression="zstd", complevel=comp.get("level", 1))
        elif cid == "blosc":
            if not self.nc.__has_blosc_support__:
                raise Unsupported("this netCDF4 build has no blosc filter")
            cname = comp.get("cname", "lz4")
            if cname not in BLOSC_NAMES:
                raise Unsupported(f"netCDF4-python has no blosc compressor {cname!r}")
            if comp.get("blocksize", 0) != 0:
                raise Unsupported("netCDF writes blosc with blocksize 0 only")
            kw.update(compression=BLOSC_NAMES[cname], complevel=comp.get("clevel", 5),
                      blosc_shuffle=comp.get("shuffle", 1))
        else:
            raise Unsupported(f"netCDF/NCZarr has no {cid!r} compressor (it writes zlib, bz2, zstd, blosc)")
        return kw

    def write(self, case: dict, data: np.ndarray, target: dict) -> None:
        if target.get("kind") != "local":
            raise Unsupported("this adapter writes to local stores only")
        fmt = case["format"]
        if fmt == "zarr3":
            raise Unsupported(NO_V3)
        if fmt != "zarr2":
            raise Unsupported(NO_N5)
        self._validate(case)
        if case.get("dimension_separator", ".") == "/":
            return self._write_in_child(case, data, target, "/")
        self._write_here(case, data, target)

    def _validate(self, case: dict) -> None:
        dtype = case["dtype"]
        if not case["path"]:
            raise Unsupported("netCDF cannot write an array at the dataset root: the root of a netCDF dataset is "
                              "its root group, and every variable is named inside a group")
        if dtype == "bool":
            raise Unsupported("netCDF has no boolean type (NCZarr writes no '|b1' arrays)")
        if dtype == "float16":
            raise Unsupported("netCDF has no 16-bit float type")
        if dtype.startswith("complex"):
            raise Unsupported("NCZarr has no complex type (netCDF4-python's complex is a compound type, "
                              "and NCZarr supports no user-defined types)")
        if dtype.startswith("U"):
            raise Unsupported("NCZarr writes strings as fixed-length bytes '|S<n>' only, never '<U<n>'")
        if dtype == "string":
            raise Unsupported("NCZarr has no variable-length string encoding (vlen-utf8): NC_STRING is "
                              "written as fixed-length '|S<n>'")
        if case.get("order", "C") != "C":
            raise Unsupported("NCZarr writes order C only")
        if not case["shape"]:
            raise Unsupported("NCZarr records a netCDF scalar variable as a Zarr array of shape [1], not []")
        if any(c > n for c, n in zip(case["chunks"], case["shape"])):
            raise Unsupported("netCDF4-python refuses chunk sizes larger than the dimension "
                              "(createVariable: 'chunksize cannot exceed dimension size')")
        self._compression(case)

    def _write_here(self, case: dict, data: np.ndarray, target: dict) -> None:
        nc = self.nc
        dtype = case["dtype"]
        root = os.path.abspath(target["path"])
        os.makedirs(os.path.dirname(root), exist_ok=True)
        ds = nc.Dataset(f"file://{root}#mode=zarr,file", "w", format="NETCDF4")
        try:
            groups = dict(case.get("groups") or {})
            for k, v in (groups.get("") or {}).items():
                ds.setncattr(k, _attr_value(v))
            for gpath in sorted((g for g in groups if g), key=lambda p: (p.count("/"), p)):
                g = ds
                for part in gpath.split("/"):
                    g = g.groups[part] if part in g.groups else g.createGroup(part)
                for k, v in (groups[gpath] or {}).items():
                    g.setncattr(k, _attr_value(v))
            parts = case["path"].split("/")
            grp = ds
            for part in parts[:-1]:
                grp = grp.groups[part] if part in grp.groups else grp.createGroup(part)
            dims = []
            for i, n in enumerate(case["shape"]):
                grp.createDimension(f"dim{i}", n)
                dims.append(f"dim{i}")
            fill = canonical.fill_from_json(case["fill_value"], dtype)
            if dtype.startswith("S"):
                vtype = str
                fill_arg = None if not fill else bytes(fill).rstrip(b"\0").decode("utf-8")
            else:
                vtype = NC_TYPES[dtype]
                fill_arg = False if fill is None else fill
            var = grp.createVariable(parts[-1], vtype, tuple(dims), chunksizes=tuple(case["chunks"]),
                                     fill_value=fill_arg, **self._compression(case))
            if dtype.startswith("S"):
                var.setncattr("_nczarr_maxstrlen", np.int32(canonical.numpy_dtype(dtype).itemsize))
            if "_FillValue" in var.ncattrs():
                # netcdf-c copies the fill value into .zattrs as "_FillValue"; .zarray keeps it.
                var.delncattr("_FillValue")
            for k, v in (case.get("attributes") or {}).items():
                var.setncattr(k, _attr_value(v))
            src = data
            if dtype.startswith("S"):
                src = np.empty(data.size, dtype=object)
                src[:] = [bytes(x) for x in data.ravel()]
                src = src.reshape(data.shape)
            missing = case.get("missing_chunks") or []
            if missing:
                for region in chunk_regions(case["shape"], case["chunks"], missing):
                    var[region] = src[region]
            else:
                var[...] = src
        finally:
            ds.close()

    def _write_in_child(self, case: dict, data: np.ndarray, target: dict, sep: str) -> None:
        with tempfile.TemporaryDirectory(prefix="zc-nc-") as tmp:
            rc = os.path.join(tmp, "ncrc")
            with open(rc, "w") as f:
                f.write(f"ZARR.DIMENSION_SEPARATOR={sep}\n")
            npy = os.path.join(tmp, "data.npy")
            np.save(npy, data, allow_pickle=False)
            job = os.path.join(tmp, "job.json")
            result = os.path.join(tmp, "result.json")
            with open(job, "w") as f:
                json.dump({"case": case, "data": npy, "target": target, "result": result}, f)
            env = dict(os.environ, NCRCENV_RC=rc)
            proc = subprocess.run([sys.executable, "-c", "from zc_adapter.backends.netcdf4 import _child_main; "
                                   f"_child_main({job!r})"], env=env, stdout=sys.stderr, stderr=sys.stderr)
            if not os.path.exists(result):
                raise RuntimeError(f"netCDF write in a child process (for dimension_separator {sep!r}) "
                                   f"exited with status {proc.returncode} and no result")
            with open(result) as f:
                res = json.load(f)
        if res["status"] == "unsupported":
            raise Unsupported(res["error"])
        if res["status"] == "error":
            raise type(res["type"], (Exception,), {})(res["error"])

    # --- read -------------------------------------------------------------------

    def _open(self, url: str, kind: str):
        try:
            return self.nc.Dataset(url, "r")
        except OSError as exc:
            if exc.errno == NC_ENOTBUILT:
                what = "" if kind == "s3" else " (NCZarr reaches remote stores only through its S3 driver)"
                raise Unsupported(f"netcdf-c in this wheel was built without S3 support{what}: {exc}") from exc
            raise

    def read(self, target: dict, path: str, fmt: str | None, region=None) -> ReadResult:
        if fmt == "zarr3":
            raise Unsupported(NO_V3)
        if fmt != "zarr2":
            raise Unsupported(NO_N5)
        kind = target.get("kind")
        saved_env = {}
        if kind == "local":
            url = f"file://{os.path.abspath(target['path'])}#mode=zarr,file"
        elif kind == "s3":
            ep = (target.get("endpoint") or f"https://s3.{target.get('region') or 'us-east-1'}.amazonaws.com")
            url = f"{ep.rstrip('/')}/{target['bucket']}/{target.get('key', '').strip('/')}#mode=zarr,s3"
            # netcdf-c's S3 code takes credentials from the AWS environment variables.
            creds = {"AWS_REGION": target.get("region") or "us-east-1"}
            if not target.get("anonymous"):
                creds.update(AWS_ACCESS_KEY_ID=target["access_key_id"],
                             AWS_SECRET_ACCESS_KEY=target["secret_access_key"])
            for k, v in creds.items():
                saved_env[k] = os.environ.get(k)
                os.environ[k] = v
        elif kind == "http":
            # NCZarr reaches remote stores only through its S3 storage driver.
            url = f"{target['url'].rstrip('/')}#mode=zarr,s3"
        else:
            raise Unsupported(f"store kind {kind!r} is not known to this adapter")
        try:
            ds = self._open(url, kind)
        finally:
            for k, v in saved_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        try:
            grp = ds
            parts = [p for p in path.split("/") if p]
            if not parts:
                # A root array: netCDF opens the dataset root as its root group, and a Zarr array
                # there is no variable of it (NCZarr lists none).
                raise KeyError(f"netCDF opens the dataset root as a group, with no variable for the array there "
                               f"(variables: {list(ds.variables)}, attributes: {ds.ncattrs()})")
            for part in parts[:-1]:
                if part not in grp.groups:
                    raise KeyError(f"netCDF lists no group {part!r} in {grp.path!r} (groups: {list(grp.groups)})")
                grp = grp.groups[part]
            name = parts[-1]
            if name not in grp.variables:
                raise KeyError(f"netCDF lists no variable {name!r} in group {grp.path!r} "
                               f"(variables: {list(grp.variables)})")
            var = grp.variables[name]
            var.set_auto_maskandscale(False)
            var.set_auto_chartostring(False)
            check_region(region, var.shape)
            arr = np.asarray(var[region if region is not None else ...])  # a strided hyperslab (nc_get_vars)
            fill = var.get_fill_value()
            attrs = {k: _attr_from_nc(var.getncattr(k)) for k in var.ncattrs()}
            dtype = None
            if var.dtype is str:
                n = attrs.get("_nczarr_maxstrlen")
                if isinstance(n, int) and n > 0:
                    dtype = f"S{n}"
                    flat = [s.encode("utf-8") for s in arr.ravel().tolist()]
                    arr = np.array(flat, dtype=dtype).reshape(arr.shape) if flat else np.empty(arr.shape, dtype)
                    if isinstance(fill, str):
                        fill = fill.encode("utf-8")
                else:
                    dtype = "string"
            return ReadResult(array=arr, fill_value=fill, attributes=attrs, dtype=dtype)
        finally:
            ds.close()


def _child_main(job_path: str) -> None:
    """Run one write in this (child) process; the result goes to a JSON file, never stdout."""
    with open(job_path) as f:
        job = json.load(f)
    try:
        backend = NetCDF4Backend()
        data = np.load(job["data"], allow_pickle=False)
        backend._write_here(job["case"], data, job["target"])
        res = {"status": "ok"}
    except Unsupported as exc:
        res = {"status": "unsupported", "error": str(exc)}
    except Exception as exc:  # the library's error, re-raised by the parent with the same type name
        import traceback

        traceback.print_exc(file=sys.stderr)
        res = {"status": "error", "type": type(exc).__name__, "error": str(exc)}
    with open(job["result"], "w") as f:
        json.dump(res, f)


BACKEND = NetCDF4Backend

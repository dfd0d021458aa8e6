"""GDAL's multidimensional Zarr driver through its C API (ctypes), on the libgdal bundled in rasterio's wheel.

The same library as readers/gdal (the C++ adapter over Debian's libgdal), at another
version: rasterio's manylinux wheel carries a libgdal of its own (rasterio.libs/libgdal-*.so)
with the Zarr driver. rasterio has no Python API for GDAL's multidimensional model and the
PyPI `gdal` bindings need a system libgdal of their own version, so this backend calls the C
API of the bundled library directly, the functions the C++ adapter's calls are made of, and
reads and writes exactly as that adapter does (readers/gdal/zc_gdal.cpp), so that where the
two columns differ, GDAL's versions differ:

Reading: GDALOpenEx(root, GDAL_OF_MULTIDIM_RASTER | GDAL_OF_VERBOSE_ERROR, {"Zarr"}), the
root group's GDALGroupOpenMDArrayFromFullname("/<path>"), GDALMDArrayRead of the whole array
in the array's own GDAL data type; a region is GDALMDArrayRead's own selection (start, count
and step per axis), which reads only the chunks it touches. An array at the dataset root (path
"") is the root group's only array, under the name GDAL gives it; so is an array written alone, below a dataset root that
is no group (no .zgroup or zarr.json), opened by its own directory. Stores: local paths, S3 through /vsis3/<bucket>/<key>
with the AWS_* configuration options set per request as thread-local configuration options
(AWS_S3_ENDPOINT host:port, AWS_VIRTUAL_HOSTING=FALSE, AWS_HTTPS, AWS_REGION, the keys or
AWS_NO_SIGN_REQUEST=YES), GCS through /vsigs/ (unsigned, at the emulator's endpoint), Azure
through /vsiaz/ (a connection string, or the account and AZURE_NO_SIGN_REQUEST), HTTP through
/vsicurl/<url>, kerchunk JSON references through /vsikerchunk_json_ref/{<reference file>} (a remote reference file by its
/vsicurl/ or /vsis3/ name); the /vsicurl/ caches are cleared before each remote read. The dtype reported
is the one GDAL presents (no boolean: |b1 as Byte); strings are S<n> when GDAL knows their
maximum length and `string` when it does not. Attributes: JSON-subtype strings decoded as
JSON, numeric attributes in their own type; "units", "scale_factor" and "add_offset", which
GDAL presents through GDALMDArrayGetUnit/GetScale/GetOffset instead of as attributes, are
reported from those. The fill value is GDALMDArrayGetRawNoDataValue (none: null).

Writing: GDALCreateMultiDimensional with FORMAT=ZARR_V2 or ZARR_V3, groups with
GDALGroupCreateGroup, one dimension per axis in the array's group (dim0, dim1, ..., or the
case's v3 dimension names, which GDAL writes as dimension_names), and GDALGroupCreateMDArray
with the driver's array creation options: BLOCKSIZE, CHUNK_MEMORY_LAYOUT (C/F), DIM_SEPARATOR,
COMPRESS (what the driver lists in its COMPRESSORS metadata) with their level options,
FILTER=DELTA with DELTA_DTYPE (v2), STRING_FORMAT. The fill value is GDALMDArraySetRawNoDataValue. What the driver cannot write answers
`unsupported`. GDAL errors (CPLError) are collected per request; a failure reports the last
one as "CPLE_<class>: message".
"""

from __future__ import annotations

import ctypes as C
import glob
import json
import os
import struct
import sys

import numpy as np

import zc_canonical as canonical
from ..protocol import Backend, ReadResult, Unsupported, check_region

GDAL_OF_MULTIDIM_RASTER = 0x10
GDAL_OF_VERBOSE_ERROR = 0x40
GEDTC_NUMERIC, GEDTC_STRING, GEDTC_COMPOUND = 0, 1, 2
GEDTST_NONE, GEDTST_JSON = 0, 1
CE_FAILURE = 3

# As readers/gdal/zc_gdal.cpp names them (CPLE_AWSError and later: CPLE_Error).
CPLE_NAMES = {1: "CPLE_AppDefined", 2: "CPLE_OutOfMemory", 3: "CPLE_FileIO", 4: "CPLE_OpenFailed",
              5: "CPLE_IllegalArg", 6: "CPLE_NotSupported", 7: "CPLE_AssertionFailed", 8: "CPLE_NoWriteAccess",
              9: "CPLE_UserInterrupt", 10: "CPLE_ObjectNull", 11: "CPLE_HttpResponse",
              12: "CPLE_AWSBucketNotFound", 13: "CPLE_AWSObjectNotFound", 14: "CPLE_AWSAccessDenied",
              15: "CPLE_AWSInvalidCredentials", 16: "CPLE_AWSSignatureDoesNotMatch"}

# Canonical dtype -> GDAL data type name (GDALGetDataTypeByName); those the library lacks are left out.
GDAL_TYPES = {"uint8": "Byte", "int8": "Int8", "int16": "Int16", "uint16": "UInt16", "int32": "Int32",
              "uint32": "UInt32", "int64": "Int64", "uint64": "UInt64", "float16": "Float16",
              "float32": "Float32", "float64": "Float64", "complex64": "CFloat32", "complex128": "CFloat64"}
# GDAL's complex integer types (attributes only): numpy has none, read as pairs.
COMPLEX_INT = {"CInt16": "<i2", "CInt32": "<i4"}

_ERROR_CLASSES: dict[str, type] = {}


class BadRequest(Exception):
    """A request this adapter cannot make sense of (answered "BadRequest: ...")."""


class GDALError(Exception):
    """An error GDAL reported; the class is named after GDAL's error number (CPLE_AppDefined...)."""


def gdal_error(name: str, message: str) -> GDALError:
    cls = _ERROR_CLASSES.get(name)
    if cls is None:
        cls = _ERROR_CLASSES[name] = type(name, (GDALError,), {})
    return cls(message)


def find_libgdal() -> str:
    """The libgdal of rasterio's wheel (auditwheel puts it in rasterio.libs beside the package)."""
    import rasterio

    site = os.path.dirname(os.path.dirname(os.path.abspath(rasterio.__file__)))
    found = sorted(glob.glob(os.path.join(site, "rasterio.libs", "libgdal-*.so*")))
    if not found:
        raise Unsupported(f"rasterio {rasterio.__version__} has no bundled libgdal in {site}/rasterio.libs")
    return found[0]


P = C.c_void_p
CSL = C.POINTER(C.c_char_p)
ERROR_HANDLER = C.CFUNCTYPE(None, C.c_int, C.c_int, C.c_char_p)

# name: (restype, argtypes)
PROTOTYPES = {
    "GDALAllRegister": (None, []),
    "GDALVersionInfo": (C.c_char_p, [C.c_char_p]),
    "GDALGetDataTypeByName": (C.c_int, [C.c_char_p]),
    "GDALGetDataTypeName": (C.c_char_p, [C.c_int]),
    "GDALGetDataTypeSizeBytes": (C.c_int, [C.c_int]),
    "GDALGetDriverByName": (P, [C.c_char_p]),
    "GDALGetMetadataItem": (C.c_char_p, [P, C.c_char_p, C.c_char_p]),
    "CPLSetErrorHandler": (P, [ERROR_HANDLER]),
    "CPLGetThreadLocalConfigOption": (C.c_char_p, [C.c_char_p, C.c_char_p]),
    "CPLSetThreadLocalConfigOption": (None, [C.c_char_p, C.c_char_p]),
    "CSLDestroy": (None, [CSL]),
    "CSLCount": (C.c_int, [CSL]),
    "VSIFree": (None, [P]),
    "VSICurlClearCache": (None, []),
    "VSIStatL": (C.c_int, [C.c_char_p, C.c_void_p]),
    "GDALOpenEx": (P, [C.c_char_p, C.c_uint, CSL, CSL, CSL]),
    "GDALClose": (C.c_int, [P]),
    "GDALCreateMultiDimensional": (P, [P, C.c_char_p, CSL, CSL]),
    "GDALDatasetGetRootGroup": (P, [P]),
    "GDALGroupRelease": (None, [P]),
    "GDALGroupGetMDArrayNames": (CSL, [P, CSL]),
    "GDALGroupGetGroupNames": (CSL, [P, CSL]),
    "GDALGroupOpenMDArrayFromFullname": (P, [P, C.c_char_p, CSL]),
    "GDALGroupCreateGroup": (P, [P, C.c_char_p, CSL]),
    "GDALGroupCreateDimension": (P, [P, C.c_char_p, C.c_char_p, C.c_char_p, C.c_uint64, CSL]),
    "GDALGroupCreateMDArray": (P, [P, C.c_char_p, C.c_size_t, C.POINTER(P), P, CSL]),
    "GDALGroupCreateAttribute": (P, [P, C.c_char_p, C.c_size_t, C.POINTER(C.c_uint64), P, CSL]),
    "GDALDimensionRelease": (None, [P]),
    "GDALDimensionGetSize": (C.c_uint64, [P]),
    "GDALReleaseDimensions": (None, [C.POINTER(P), C.c_size_t]),
    "GDALMDArrayRelease": (None, [P]),
    "GDALMDArrayGetDimensions": (C.POINTER(P), [P, C.POINTER(C.c_size_t)]),
    "GDALMDArrayGetDataType": (P, [P]),
    "GDALMDArrayRead": (C.c_int, [P, C.POINTER(C.c_uint64), C.POINTER(C.c_size_t), C.POINTER(C.c_int64),
                                  C.POINTER(C.c_ssize_t), P, P, P, C.c_size_t]),
    "GDALMDArrayWrite": (C.c_int, [P, C.POINTER(C.c_uint64), C.POINTER(C.c_size_t), C.POINTER(C.c_int64),
                                   C.POINTER(C.c_ssize_t), P, P, P, C.c_size_t]),
    "GDALMDArrayGetRawNoDataValue": (P, [P]),
    "GDALMDArraySetRawNoDataValue": (C.c_int, [P, P]),
    "GDALMDArrayGetAttributes": (C.POINTER(P), [P, C.POINTER(C.c_size_t), CSL]),
    "GDALMDArrayCreateAttribute": (P, [P, C.c_char_p, C.c_size_t, C.POINTER(C.c_uint64), P, CSL]),
    "GDALMDArrayGetUnit": (C.c_char_p, [P]),
    "GDALMDArrayGetScale": (C.c_double, [P, C.POINTER(C.c_int)]),
    "GDALMDArrayGetOffset": (C.c_double, [P, C.POINTER(C.c_int)]),
    "GDALReleaseAttributes": (None, [C.POINTER(P), C.c_size_t]),
    "GDALAttributeRelease": (None, [P]),
    "GDALAttributeGetName": (C.c_char_p, [P]),
    "GDALAttributeGetDataType": (P, [P]),
    "GDALAttributeGetDimensionCount": (C.c_size_t, [P]),
    "GDALAttributeGetTotalElementsCount": (C.c_uint64, [P]),
    "GDALAttributeReadAsString": (C.c_char_p, [P]),
    "GDALAttributeReadAsStringArray": (CSL, [P]),
    "GDALAttributeReadAsRaw": (C.POINTER(C.c_ubyte), [P, C.POINTER(C.c_size_t)]),
    "GDALAttributeFreeRawResult": (None, [P, C.POINTER(C.c_ubyte), C.c_size_t]),
    "GDALAttributeWriteRaw": (C.c_int, [P, P, C.c_size_t]),
    "GDALAttributeWriteString": (C.c_int, [P, C.c_char_p]),
    "GDALAttributeWriteStringArray": (C.c_int, [P, CSL]),
    "GDALAttributeWriteInt": (C.c_int, [P, C.c_int]),
    "GDALAttributeWriteDouble": (C.c_int, [P, C.c_double]),
    "GDALAttributeWriteDoubleArray": (C.c_int, [P, C.POINTER(C.c_double), C.c_size_t]),
    "GDALExtendedDataTypeCreate": (P, [C.c_int]),
    "GDALExtendedDataTypeCreateString": (P, [C.c_size_t]),
    "GDALExtendedDataTypeCreateStringEx": (P, [C.c_size_t, C.c_int]),
    "GDALExtendedDataTypeRelease": (None, [P]),
    "GDALExtendedDataTypeGetClass": (C.c_int, [P]),
    "GDALExtendedDataTypeGetNumericDataType": (C.c_int, [P]),
    "GDALExtendedDataTypeGetMaxStringLength": (C.c_size_t, [P]),
    "GDALExtendedDataTypeGetSubType": (C.c_int, [P]),
}


def load_gdal(path: str):
    lib = C.CDLL(path)
    for name, (res, args) in PROTOTYPES.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


def b(s: str | None) -> bytes | None:
    return None if s is None else s.encode("utf-8")


def csl(items) -> "C.Array":
    """A NULL-terminated char** of the items ("KEY=VALUE" options, names)."""
    items = [b(i) for i in items]
    return (C.c_char_p * (len(items) + 1))(*items, None)


def options(d: dict) -> "C.Array":
    return csl(f"{k}={v}" for k, v in d.items())


def from_csl(lib, ptr, free=True) -> list[str]:
    if not ptr:
        return []
    out = []
    i = 0
    while ptr[i] is not None:
        out.append(ptr[i].decode("utf-8", "replace"))
        i += 1
    if free:
        lib.CSLDestroy(ptr)
    return out


def u64s(values) -> "C.Array":
    values = list(values)
    return (C.c_uint64 * max(1, len(values)))(*values)


def sizes(values) -> "C.Array":
    values = list(values)
    return (C.c_size_t * max(1, len(values)))(*values)


class Errors:
    """CPLErrors of one request (each also printed to stderr, as the C++ adapter does)."""

    def __init__(self):
        self.errors: list[tuple[int, str]] = []
        self.active = False

    def __call__(self, cls, num, msg):
        text = (msg or b"").decode("utf-8", "replace")
        print(f"GDAL {'error' if cls >= CE_FAILURE else 'warning'} {num}: {text}", file=sys.stderr, flush=True)
        if cls >= CE_FAILURE and self.active:
            self.errors.append((num, text))

    def fail(self, what: str):
        """The failure of `what`: GDAL's own error text when it gave one."""
        if self.errors:
            num, text = self.errors[-1]
            return gdal_error(CPLE_NAMES.get(num, "CPLE_Error"), text)
        return gdal_error("GDALError", f"{what} failed (GDAL gave no error message)")


class ScopedOptions:
    """Thread-local GDAL configuration options for one request, restored afterwards."""

    def __init__(self, lib):
        self.lib, self.saved = lib, []

    def set(self, key: str, value: str | None) -> None:
        old = self.lib.CPLGetThreadLocalConfigOption(b(key), None)
        self.saved.append((key, old))
        self.lib.CPLSetThreadLocalConfigOption(b(key), b(value))

    def restore(self) -> None:
        for key, old in reversed(self.saved):
            self.lib.CPLSetThreadLocalConfigOption(b(key), old)
        self.saved.clear()


def _strip(s: str) -> str:
    return s.strip("/")


class GDALBackend(Backend):
    impl = "gdal"

    def __init__(self):
        import rasterio

        self.rasterio = rasterio
        self.libpath = find_libgdal()
        self.lib = lib = load_gdal(self.libpath)
        lib.GDALAllRegister()
        self.errors = Errors()
        self._handler = ERROR_HANDLER(self.errors)  # kept alive: GDAL holds the pointer
        lib.CPLSetErrorHandler(self._handler)
        # canonical dtype <-> GDAL data type number, for the types this libgdal has
        self.gdt: dict[str, int] = {}
        for name, gname in GDAL_TYPES.items():
            g = lib.GDALGetDataTypeByName(b(gname))
            if g and lib.GDALGetDataTypeName(g) == b(gname):
                self.gdt[name] = g
        self.by_gdt = {g: name for name, g in self.gdt.items()}

    # --- handshake --------------------------------------------------------------------------

    def version(self) -> str:
        return self.lib.GDALVersionInfo(b"RELEASE_NAME").decode()

    def versions(self) -> dict:
        drv = self.lib.GDALGetDriverByName(b"Zarr")
        comps = self.lib.GDALGetMetadataItem(drv, b"COMPRESSORS", None) if drv else None
        return {"gdal": self.lib.GDALVersionInfo(b"--version").decode(), "rasterio": self.rasterio.__version__,
                "libgdal": os.path.basename(self.libpath), "numpy": np.__version__,
                "zarr-compressors": comps.decode() if comps else ""}

    # --- requests ----------------------------------------------------------------------------

    def _begin(self) -> None:
        self.errors.errors = []
        self.errors.active = True

    def _end(self) -> None:
        self.errors.active = False

    def gdal_path(self, target: dict, opts: ScopedOptions) -> str:
        lib = self.lib
        kind = target.get("kind")
        if kind == "local":
            if not target.get("path"):
                raise BadRequest("target.path missing")
            return target["path"]
        if kind == "s3":
            ep = target.get("endpoint") or ""
            region = target.get("region") if isinstance(target.get("region"), str) else "us-east-1"
            if ep:
                https = ep.startswith("https://")
                host = ep.split("://", 1)[1] if "://" in ep else ep
                opts.set("AWS_S3_ENDPOINT", host.rstrip("/"))
                opts.set("AWS_HTTPS", "YES" if https else "NO")
                opts.set("AWS_VIRTUAL_HOSTING", "FALSE")
            opts.set("AWS_REGION", region)
            opts.set("AWS_DEFAULT_REGION", region)
            if target.get("anonymous"):
                opts.set("AWS_NO_SIGN_REQUEST", "YES")
                opts.set("AWS_ACCESS_KEY_ID", None)
                opts.set("AWS_SECRET_ACCESS_KEY", None)
            else:
                opts.set("AWS_NO_SIGN_REQUEST", "NO")
                opts.set("AWS_ACCESS_KEY_ID", target.get("access_key_id", ""))
                opts.set("AWS_SECRET_ACCESS_KEY", target.get("secret_access_key", ""))
            opts.set("AWS_SESSION_TOKEN", None)
            key = _strip(target.get("key", ""))
            lib.VSICurlClearCache()
            return f"/vsis3/{target.get('bucket', '')}" + (f"/{key}" if key else "")
        if kind == "gcs":
            # As the C++ adapter: unsigned in every access mode (GDAL takes no static bearer token; the
            # emulator checks no credentials); GS_NO_SIGN_REQUEST also skips the GCE metadata server.
            ep = (target.get("endpoint") or "").rstrip("/")
            opts.set("CPL_GS_ENDPOINT", ep + "/")
            opts.set("GS_NO_SIGN_REQUEST", "YES")
            for k in ("GS_ACCESS_KEY_ID", "GS_SECRET_ACCESS_KEY", "GS_OAUTH2_REFRESH_TOKEN", "GS_OAUTH2_PRIVATE_KEY",
                      "GS_OAUTH2_PRIVATE_KEY_FILE", "GS_OAUTH2_CLIENT_EMAIL"):
                opts.set(k, None)
            prefix = _strip(target.get("prefix", ""))
            lib.VSICurlClearCache()
            return f"/vsigs/{target.get('bucket', '')}" + (f"/{prefix}" if prefix else "")
        if kind == "azure":
            ep = (target.get("endpoint") or "").rstrip("/")
            account = target.get("account", "")
            for k in ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_ACCESS_KEY",
                      "AZURE_STORAGE_SAS_TOKEN", "AZURE_SAS", "AZURE_STORAGE_ACCESS_TOKEN"):
                opts.set(k, None)
            if target.get("anonymous"):
                opts.set("AZURE_STORAGE_ACCOUNT", account)
                opts.set("AZURE_NO_SIGN_REQUEST", "YES")
                opts.set("CPL_AZURE_ENDPOINT", ep)
                opts.set("CPL_AZURE_USE_HTTPS", "YES" if ep.startswith("https://") else "NO")
            else:
                opts.set("AZURE_STORAGE_CONNECTION_STRING",
                         f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={target.get('key', '')};"
                         f"BlobEndpoint={ep}")
                opts.set("AZURE_NO_SIGN_REQUEST", "NO")
            prefix = _strip(target.get("prefix", ""))
            lib.VSICurlClearCache()
            return f"/vsiaz/{target.get('container', '')}" + (f"/{prefix}" if prefix else "")
        if kind == "http":
            lib.VSICurlClearCache()
            return "/vsicurl/" + (target.get("url") or "").rstrip("/")
        if kind == "kerchunk":
            # GDAL 3.11+ reads kerchunk JSON references; the URLs inside map to /vsicurl/ and /vsis3/ (with
            # the S3 options of the store the referenced files are in). A local reference file is opened as
            # /vsikerchunk_json_ref/{file}; a remote one by its own /vsicurl/ or /vsis3/ name, which the
            # Zarr driver recognises as references (GDAL's own tests open remote files so; the braces form
            # refuses a /vsicurl/ name inside as "Invalid /vsikerchunk_json_ref/ syntax").
            remote, refs = target.get("remote") or {}, target.get("refs") or ""
            rkind = remote.get("kind")
            if rkind == "local":
                return "/vsikerchunk_json_ref/{" + refs + "}"
            if rkind == "http":
                lib.VSICurlClearCache()
                return "/vsicurl/" + refs
            if rkind == "s3" and refs.startswith("s3://"):
                self.gdal_path(remote, opts)
                return "/vsis3/" + refs[len("s3://"):]
            raise Unsupported(f"references to files in a store of kind {rkind!r} are not known to this adapter")
        raise Unsupported(f"store kind '{kind}' is not known to this adapter")

    # --- read --------------------------------------------------------------------------------

    def read(self, target: dict, path: str, fmt: str | None, region: tuple[slice, ...] | None = None) -> ReadResult:
        if fmt == "n5":
            raise Unsupported("GDAL has no N5 driver")
        if fmt not in ("zarr2", "zarr3"):
            raise Unsupported(f"format '{fmt}' is not Zarr")
        opts = ScopedOptions(self.lib)
        self._begin()
        try:
            root = self.gdal_path(target, opts)
            return self._read(root, path, region)
        finally:
            opts.restore()
            self._end()

    def _exists(self, path: str) -> bool:
        return self.lib.VSIStatL(b(path), C.create_string_buffer(256)) == 0  # (a VSIStatBufL fits in 256 bytes)

    def _read(self, root: str, path: str, region: tuple[slice, ...] | None) -> ReadResult:
        lib, errors = self.lib, self.errors
        full = "/" + path
        while len(full) > 1 and full.endswith("/"):
            full = full[:-1]
        ds = lib.GDALOpenEx(b(root), GDAL_OF_MULTIDIM_RASTER | GDAL_OF_VERBOSE_ERROR, csl(["Zarr"]), None, None)
        if not ds and full != "/" and not self._exists(root + "/.zgroup") and not self._exists(root + "/zarr.json"):
            # The dataset root is no group: the array was written alone (cpp-zarr writes no group above
            # it). GDAL's users open such an array by its own directory, where GDAL presents it as the root
            # group's only array.
            errors.errors.clear()
            root, full = root + full, "/"
            ds = lib.GDALOpenEx(b(root), GDAL_OF_MULTIDIM_RASTER | GDAL_OF_VERBOSE_ERROR, csl(["Zarr"]), None, None)
        if not ds:
            raise errors.fail(f"GDALDataset::Open({root})")
        rg = arr = None
        try:
            rg = lib.GDALDatasetGetRootGroup(ds)
            if not rg:
                raise errors.fail("GDALDatasetGetRootGroup")
            if full == "/":
                # An array at the dataset root: GDAL presents it as the only array of its root group,
                # under a name of its own (the last part of the dataset's path), as its users open it.
                names = from_csl(lib, lib.GDALGroupGetMDArrayNames(rg, None))
                if len(names) == 1 and not from_csl(lib, lib.GDALGroupGetGroupNames(rg, None)):
                    full = "/" + names[0]
            arr = lib.GDALGroupOpenMDArrayFromFullname(rg, b(full), None)
            if not arr:
                if not errors.errors:
                    arrays = ", ".join(from_csl(lib, lib.GDALGroupGetMDArrayNames(rg, None)))
                    groups = ", ".join(from_csl(lib, lib.GDALGroupGetGroupNames(rg, None)))
                    raise gdal_error("GDALError", f"OpenMDArrayFromFullname({full}) found no array; GDAL "
                                     f"{self.version()}'s Zarr driver opened the dataset with root arrays "
                                     f"[{arrays}] and groups [{groups}]")
                raise errors.fail(f"OpenMDArrayFromFullname({full})")
            return self._read_array(arr, region)
        finally:
            if arr:
                lib.GDALMDArrayRelease(arr)
            if rg:
                lib.GDALGroupRelease(rg)
            lib.GDALClose(ds)

    def _shape(self, arr) -> list[int]:
        lib = self.lib
        n = C.c_size_t(0)
        dims = lib.GDALMDArrayGetDimensions(arr, C.byref(n))
        shape = [int(lib.GDALDimensionGetSize(dims[i])) for i in range(n.value)]
        lib.GDALReleaseDimensions(dims, n)
        return shape

    def _read_array(self, arr, region: tuple[slice, ...] | None) -> ReadResult:
        lib, errors = self.lib, self.errors
        shape = self._shape(arr)
        check_region(region, shape)
        if region is None:
            start, count, step = u64s([0] * len(shape)), sizes(shape), None
        else:
            # only the region: GDALMDArrayRead's start, count and step per axis
            shape = [len(range(s.start, s.stop, s.step)) for s in region]
            start, count = u64s(s.start for s in region), sizes(shape)
            # (a step beyond int64 selects the same single element as the largest int64 step)
            step = (C.c_int64 * max(1, len(region)))(*(min(s.step, 2**63 - 1) for s in region))
        nelem = int(np.prod(shape)) if shape else 1
        dt = lib.GDALMDArrayGetDataType(arr)
        try:
            cls = lib.GDALExtendedDataTypeGetClass(dt)
            if cls == GEDTC_NUMERIC:
                g = lib.GDALExtendedDataTypeGetNumericDataType(dt)
                name = self.by_gdt.get(g)
                if name is None:
                    raise Unsupported(f"GDAL data type {lib.GDALGetDataTypeName(g).decode()} has no canonical dtype")
                data = np.zeros(shape, dtype=canonical.numpy_dtype(name))
                if nelem and not lib.GDALMDArrayRead(arr, start, count, step, None, dt, data.ctypes.data,
                                                     data.ctypes.data, data.nbytes):
                    raise errors.fail("GDALMDArrayRead")
                raw = lib.GDALMDArrayGetRawNoDataValue(arr)
                fill = None
                if raw:
                    fill = np.frombuffer(C.string_at(raw, data.dtype.itemsize), dtype=data.dtype)[0]
                result = ReadResult(array=data, fill_value=fill, dtype=name)
            elif cls == GEDTC_STRING:
                maxlen = int(lib.GDALExtendedDataTypeGetMaxStringLength(dt))
                sdt = lib.GDALExtendedDataTypeCreateString(0)
                ptrs = (C.c_void_p * max(1, nelem))()
                try:
                    ok = not nelem or lib.GDALMDArrayRead(arr, start, count, step, None, sdt, ptrs, ptrs,
                                                          C.sizeof(ptrs))
                finally:
                    lib.GDALExtendedDataTypeRelease(sdt)
                vals = []
                for i in range(nelem):
                    vals.append(C.string_at(ptrs[i]) if ptrs[i] else b"")
                    if ptrs[i]:
                        lib.VSIFree(ptrs[i])
                if not ok:
                    raise errors.fail("GDALMDArrayRead")
                raw = lib.GDALMDArrayGetRawNoDataValue(arr)
                fill = None
                if raw:
                    p = C.cast(raw, C.POINTER(C.c_char_p))[0]
                    fill = p or b""
                if maxlen > 0:
                    # S<n>: the bytes, cut or NUL-padded to n (as the C++ adapter's canonical_strings)
                    name = f"S{maxlen}"
                    a = np.array([v[:maxlen] for v in vals], dtype=f"S{maxlen}").reshape(shape)
                    result = ReadResult(array=a, fill_value=None if fill is None else fill.rstrip(b"\0"),
                                        dtype=name)
                else:
                    a = np.empty(nelem, dtype=object)
                    a[:] = vals  # the UTF-8 bytes as GDAL gave them, hashed as they are
                    result = ReadResult(array=a.reshape(shape), dtype="string",
                                        fill_value=None if fill is None else fill.decode("utf-8", "replace"))
            else:
                raise Unsupported("the array has a compound data type")
        finally:
            lib.GDALExtendedDataTypeRelease(dt)
        result.attributes = self._attributes(arr)
        # GDAL takes "units", "scale_factor" and "add_offset" out of the attribute list and presents them
        # through GetUnit(), GetScale() and GetOffset(): they are the array's attributes as its users see them.
        attrs = result.attributes
        unit = lib.GDALMDArrayGetUnit(arr)
        if unit and "units" not in attrs:
            attrs["units"] = unit.decode("utf-8", "replace")
        has = C.c_int(0)
        v = lib.GDALMDArrayGetScale(arr, C.byref(has))
        if has.value and "scale_factor" not in attrs:
            attrs["scale_factor"] = canonical.float_to_json(v)
        has = C.c_int(0)
        v = lib.GDALMDArrayGetOffset(arr, C.byref(has))
        if has.value and "add_offset" not in attrs:
            attrs["add_offset"] = canonical.float_to_json(v)
        return result

    def _number(self, g: int, raw: bytes):
        gname = self.lib.GDALGetDataTypeName(g).decode()
        name = self.by_gdt.get(g)
        if name is not None:
            v = np.frombuffer(raw, dtype=canonical.numpy_dtype(name))[0]
            return canonical.fill_to_json(v, name)
        if gname in COMPLEX_INT:
            return [int(x) for x in np.frombuffer(raw, dtype=COMPLEX_INT[gname])]
        return None

    def _attributes(self, arr) -> dict:
        lib = self.lib
        n = C.c_size_t(0)
        attrs = lib.GDALMDArrayGetAttributes(arr, C.byref(n), None)
        out = {}
        try:
            for i in range(n.value):
                a = attrs[i]
                out[lib.GDALAttributeGetName(a).decode("utf-8", "replace")] = self._attribute(a)
        finally:
            if attrs:
                lib.GDALReleaseAttributes(attrs, n)
        return out

    def _attribute(self, a):
        lib = self.lib
        dt = lib.GDALAttributeGetDataType(a)
        try:
            cls = lib.GDALExtendedDataTypeGetClass(dt)
            ndims = lib.GDALAttributeGetDimensionCount(a)
            name = lib.GDALAttributeGetName(a).decode("utf-8", "replace")
            if cls == GEDTC_STRING:
                if ndims == 0:
                    s = lib.GDALAttributeReadAsString(a)
                    if s is None:
                        return None
                    s = s.decode("utf-8", "replace")
                    if lib.GDALExtendedDataTypeGetSubType(dt) == GEDTST_JSON:
                        try:
                            return json.loads(s)
                        except ValueError:
                            pass
                    return s
                return from_csl(lib, lib.GDALAttributeReadAsStringArray(a))
            if cls == GEDTC_NUMERIC:
                g = lib.GDALExtendedDataTypeGetNumericDataType(dt)
                size = lib.GDALGetDataTypeSizeBytes(g)
                nbytes = C.c_size_t(0)
                raw = lib.GDALAttributeReadAsRaw(a, C.byref(nbytes))
                if not raw:
                    raise self.errors.fail(f"reading attribute {name}")
                try:
                    buf = C.string_at(raw, nbytes.value)
                finally:
                    lib.GDALAttributeFreeRawResult(a, raw, nbytes)
                n = int(lib.GDALAttributeGetTotalElementsCount(a))
                if ndims == 0:
                    return self._number(g, buf[:size])
                return [self._number(g, buf[i * size:(i + 1) * size]) for i in range(n)]
            raise Unsupported(f"attribute {name} has a compound data type")
        finally:
            lib.GDALExtendedDataTypeRelease(dt)

    # --- write -------------------------------------------------------------------------------

    def write(self, case: dict, data: np.ndarray, target: dict) -> None:
        if target.get("kind") != "local":
            raise Unsupported("this adapter writes to local stores only")
        fmt = case.get("format")
        if fmt == "n5":
            raise Unsupported("GDAL has no N5 driver")
        if fmt not in ("zarr2", "zarr3"):
            raise BadRequest(f"unknown format {fmt}")
        if len(case["shape"]) != len(case["chunks"]):
            raise BadRequest("shape and chunks differ in length")
        if not case.get("path", "array"):
            raise Unsupported("GDAL's Zarr driver creates a dataset as a group (.zgroup) with its arrays below it "
                              "(Create() puts the array in a group and names it after the file, ARRAY_NAME); it has "
                              "no way to write an array at the dataset root")
        plan = self._plan(case)
        drv = self.lib.GDALGetDriverByName(b"Zarr")
        if not drv:
            raise Unsupported("this GDAL has no Zarr driver")
        self._begin()
        try:
            self._write(drv, case, data, target["path"], plan)
        finally:
            self._end()

    def _plan(self, case: dict) -> dict:
        """The GDAL data type and array creation options for a case, or Unsupported."""
        dt = case["dtype"]
        fmt = case["format"]
        version = self.version()
        plan: dict = {"options": {}, "strlen": 0, "unicode": False, "gdt": None}
        o = plan["options"]
        if dt == "bool":
            raise Unsupported("GDAL has no boolean data type (its Zarr driver writes Byte as '|u1')")
        if dt == "string":
            raise Unsupported("GDAL's Zarr driver writes strings as fixed-length '|S<n>' or '<U<n>' only, no "
                              "variable-length (vlen-utf8) strings")
        if dt[0] in "SU" and dt[1:].isdigit():
            if fmt == "zarr3":
                raise Unsupported("Zarr v3 has no fixed-length string data type GDAL could write")
            plan["strlen"] = int(dt[1:])
            plan["unicode"] = dt[0] == "U"
            o["STRING_FORMAT"] = "UNICODE" if plan["unicode"] else "STRING"
        else:
            if dt not in GDAL_TYPES:
                raise BadRequest(f"unknown dtype {dt}")
            if dt not in self.gdt:
                raise Unsupported(f"GDAL {version} has no {GDAL_TYPES[dt]} data type")
            plan["gdt"] = self.gdt[dt]
        if case["chunks"]:
            o["BLOCKSIZE"] = ",".join(str(c) for c in case["chunks"])
        if fmt == "zarr2":
            self._plan_v2(case, o)
        else:
            self._plan_v3(case, o)
        return plan

    def _compressors(self) -> set[str]:
        drv = self.lib.GDALGetDriverByName(b"Zarr")
        comps = self.lib.GDALGetMetadataItem(drv, b"COMPRESSORS", None)
        return set((comps or b"").decode().split(","))

    def _compressor(self, comp: dict, o: dict) -> None:
        """COMPRESS and its level options for a numcodecs-style compressor (v2) or v3 codec."""
        cid = comp.get("id") or comp.get("name")
        cfg = comp.get("configuration", comp)
        have = self._compressors()
        if cid not in have and cid in ("zlib", "gzip", "zstd", "lz4", "lzma", "blosc", "bz2"):
            raise Unsupported(f"GDAL {self.version()}'s Zarr driver has no '{cid}' compressor (its COMPRESSORS: "
                              f"{', '.join(sorted(have))})")

        def level(key, default):
            v = cfg.get(key)
            return str(v) if isinstance(v, int) and not isinstance(v, bool) else str(default)

        if cid == "zlib":
            o.update(COMPRESS="ZLIB", ZLIB_LEVEL=level("level", 6))
        elif cid == "gzip":
            o.update(COMPRESS="GZIP", GZIP_LEVEL=level("level", 6))
        elif cid == "zstd":
            o.update(COMPRESS="ZSTD", ZSTD_LEVEL=level("level", 13))
            if cfg.get("checksum"):
                o["ZSTD_CHECKSUM"] = "YES"
        elif cid == "lz4":
            o.update(COMPRESS="LZ4", LZ4_ACCELERATION=level("acceleration", 1))
        elif cid == "lzma":
            if cfg.get("filters") is not None:
                raise Unsupported("GDAL's LZMA codec takes a preset, not an LZMA filter chain")
            if "format" in cfg and cfg["format"] != 1:
                raise Unsupported("GDAL's LZMA codec writes the xz container (format 1) only")
            o["COMPRESS"] = "LZMA"
            if isinstance(cfg.get("preset"), int):
                o["LZMA_PRESET"] = str(cfg["preset"])
        elif cid == "blosc":
            o.update(COMPRESS="BLOSC", BLOSC_CNAME=cfg.get("cname", "lz4"), BLOSC_CLEVEL=level("clevel", 5))
            shuffle = cfg.get("shuffle", 1)
            names = {0: "NONE", 1: "BYTE", 2: "BIT", "noshuffle": "NONE", "shuffle": "BYTE", "bitshuffle": "BIT"}
            if shuffle not in names:
                raise Unsupported(f"GDAL's blosc codec has no shuffle mode {shuffle}")
            o["BLOSC_SHUFFLE"] = names[shuffle]
            o["BLOSC_BLOCKSIZE"] = level("blocksize", 0)
        else:
            raise Unsupported(f"GDAL's Zarr driver has no '{cid}' compressor (it writes "
                              f"{', '.join(sorted(have))})")

    def _plan_v2(self, case: dict, o: dict) -> None:
        o["CHUNK_MEMORY_LAYOUT"] = case.get("order", "C")
        if isinstance(case.get("dimension_separator"), str):
            o["DIM_SEPARATOR"] = case["dimension_separator"]
        filters = case.get("filters") or []
        if filters:
            if len(filters) > 1:
                raise Unsupported(f"GDAL's Zarr driver writes at most one filter (FILTER=DELTA), not a chain "
                                  f"of {len(filters)}")
            f = filters[0]
            if f.get("id") != "delta":
                raise Unsupported(f"GDAL's Zarr driver writes only the delta filter, not '{f.get('id')}'")
            o["FILTER"] = "DELTA"
            if "dtype" in f:
                o["DELTA_DTYPE"] = f["dtype"]
            if "astype" in f and f["astype"] != f.get("dtype"):
                raise Unsupported("GDAL's delta filter has no astype distinct from dtype")
        comp = case.get("compressor")
        if comp is None:
            o["COMPRESS"] = "NONE"
        else:
            self._compressor(comp, o)

    def _plan_v3(self, case: dict, o: dict) -> None:
        """A v3 codec chain GDAL's creation options can express: [transpose (F order)], bytes
        (little-endian), at most one compressor; the default chunk key encoding (its separator)."""
        codecs = list(case.get("codecs") or [])
        cke = case.get("chunk_key_encoding") or {"name": "default"}
        if cke.get("name") != "default":
            raise Unsupported(f"GDAL's Zarr driver writes the default chunk key encoding, not '{cke.get('name')}'")
        o["DIM_SEPARATOR"] = (cke.get("configuration") or {}).get("separator", "/")
        names = case.get("dimension_names")
        if names and any(not isinstance(n, str) or not n for n in names):
            raise Unsupported(f"GDAL names every dimension (it writes dimension_names from them), so it cannot "
                              f"write the unnamed dimensions of {names}")
        order = "C"
        if codecs and codecs[0].get("name") == "transpose":
            perm = (codecs[0].get("configuration") or {}).get("order")
            n = len(case["shape"])
            if perm != list(range(n))[::-1]:
                raise Unsupported(f"GDAL writes a transpose codec only as F order (CHUNK_MEMORY_LAYOUT=F), not "
                                  f"the order {perm}")
            order = "F"
            codecs.pop(0)
        o["CHUNK_MEMORY_LAYOUT"] = order
        if not codecs or codecs[0].get("name") != "bytes":
            raise Unsupported(f"GDAL writes a v3 chain [transpose] + bytes + [one compressor], not "
                              f"{[c.get('name') for c in case.get('codecs') or []]}")
        endian = (codecs[0].get("configuration") or {}).get("endian", "little")
        if endian != "little":
            raise Unsupported("GDAL's Zarr driver writes the bytes codec little-endian only")
        codecs.pop(0)
        if len(codecs) > 1:
            raise Unsupported(f"GDAL writes at most one compressor after bytes, not "
                              f"{[c.get('name') for c in codecs]}")
        if not codecs:
            o["COMPRESS"] = "NONE"
        elif codecs[0].get("name") in ("gzip", "zstd", "blosc"):
            self._compressor(codecs[0], o)
        else:
            raise Unsupported(f"GDAL's Zarr driver writes no v3 codec '{codecs[0].get('name')}' (it writes gzip, "
                              "zstd, blosc)")

    def _put_attribute(self, owner, create, name: str, v) -> None:
        lib = self.lib

        def make(dims, dt):
            try:
                a = create(owner, b(name), len(dims), u64s(dims), dt, None)
            finally:
                lib.GDALExtendedDataTypeRelease(dt)
            if not a:
                raise self.errors.fail(f"CreateAttribute({name})")
            return a

        def num(gname):
            return lib.GDALExtendedDataTypeCreate(lib.GDALGetDataTypeByName(b(gname)))

        is_int = isinstance(v, int) and not isinstance(v, bool)
        if isinstance(v, str):
            a = make([], lib.GDALExtendedDataTypeCreateString(0))
            ok = lib.GDALAttributeWriteString(a, b(v))
        elif is_int and v > 2**63 - 1:
            a = make([], num("UInt64"))
            raw = struct.pack("<Q", v)
            ok = lib.GDALAttributeWriteRaw(a, raw, len(raw))
        elif is_int and -(2**31) <= v <= 2**31 - 1:
            a = make([], num("Int32"))
            ok = lib.GDALAttributeWriteInt(a, v)
        elif is_int:
            a = make([], num("Int64"))
            raw = struct.pack("<q", v)
            ok = lib.GDALAttributeWriteRaw(a, raw, len(raw))
        elif isinstance(v, float):
            a = make([], num("Float64"))
            ok = lib.GDALAttributeWriteDouble(a, v)
        elif isinstance(v, list) and v and (all(isinstance(e, (int, float)) and not isinstance(e, bool) for e in v)
                                            or all(isinstance(e, str) for e in v)):
            if isinstance(v[0], str):
                a = make([len(v)], lib.GDALExtendedDataTypeCreateString(0))
                ok = lib.GDALAttributeWriteStringArray(a, csl(v))
            elif all(isinstance(e, int) and e <= 2**63 - 1 for e in v):
                a = make([len(v)], num("Int64"))
                raw = struct.pack(f"<{len(v)}q", *v)
                ok = lib.GDALAttributeWriteRaw(a, raw, len(raw))
            else:
                a = make([len(v)], num("Float64"))
                ok = lib.GDALAttributeWriteDoubleArray(a, (C.c_double * len(v))(*map(float, v)), len(v))
        else:
            a = make([], lib.GDALExtendedDataTypeCreateStringEx(0, GEDTST_JSON))
            ok = lib.GDALAttributeWriteString(a, b(json.dumps(v, ensure_ascii=False)))
        lib.GDALAttributeRelease(a)
        if not ok:
            raise self.errors.fail(f"writing attribute {name}")

    def _put_attributes(self, owner, create, attrs) -> None:
        if attrs is None:
            return
        if not isinstance(attrs, dict):
            raise BadRequest("attributes must be a JSON object")
        for k, v in attrs.items():
            self._put_attribute(owner, create, k, v)

    def _fill_raw(self, fill, case: dict, plan: dict):
        """The raw nodata value for GDALMDArraySetRawNoDataValue (kept alive by the caller), or None."""
        if fill is None:
            return None
        dtype = case["dtype"]
        if plan["gdt"] is None:
            # a char* to the text (S<n>: its bytes without trailing NULs; U<n>: the text)
            text = fill.encode("utf-8") if plan["unicode"] else canonical.fill_from_json(fill, dtype)
            text = bytes(text).rstrip(b"\0")
            buf = C.c_char_p(text)
            return (buf, C.pointer(buf))
        value = canonical.fill_from_json(fill, dtype)
        raw = np.array(value, dtype=canonical.numpy_dtype(dtype)).tobytes()
        return C.create_string_buffer(raw, len(raw))

    def _write(self, drv, case: dict, data: np.ndarray, root: str, plan: dict) -> None:
        lib, errors = self.lib, self.errors
        fmt = "ZARR_V3" if case["format"] == "zarr3" else "ZARR_V2"
        ds = lib.GDALCreateMultiDimensional(drv, b(root), None, options({"FORMAT": fmt}))
        if not ds:
            raise errors.fail(f"CreateMultiDimensional({root})")
        handles = []  # released before the dataset is closed
        try:
            rg = lib.GDALDatasetGetRootGroup(ds)
            if not rg:
                raise errors.fail("GetRootGroup")
            handles.append((lib.GDALGroupRelease, rg))
            groups = {"": rg}

            def ensure(gpath: str):
                cur, g = "", rg
                for part in (p for p in gpath.split("/") if p):
                    cur = f"{cur}/{part}" if cur else part
                    if cur not in groups:
                        child = lib.GDALGroupCreateGroup(g, b(part), None)
                        if not child:
                            raise errors.fail(f"CreateGroup({cur})")
                        handles.append((lib.GDALGroupRelease, child))
                        groups[cur] = child
                    g = groups[cur]
                return g

            gattrs = case.get("groups") or {}
            for gpath in sorted(gattrs, key=lambda p: (p.count("/"), p)):
                self._put_attributes(ensure(gpath), lib.GDALGroupCreateAttribute, gattrs[gpath])
            path = case.get("path", "array")
            parent, _, name = path.rpartition("/")
            grp = ensure(parent)
            shape = list(case["shape"])
            # v3 dimension names as the case gives them (GDAL writes dimension_names from its dimensions)
            dim_names = case.get("dimension_names") or [f"dim{i}" for i in range(len(shape))]
            dims = (C.c_void_p * max(1, len(shape)))()
            for i, n in enumerate(shape):
                d = lib.GDALGroupCreateDimension(grp, b(dim_names[i]), b"", b"", n, None)
                if not d:
                    raise errors.fail("CreateDimension")
                handles.append((lib.GDALDimensionRelease, d))
                dims[i] = d
            if plan["gdt"] is not None:
                dt = lib.GDALExtendedDataTypeCreate(plan["gdt"])
            else:
                dt = lib.GDALExtendedDataTypeCreateString(plan["strlen"])
            handles.append((lib.GDALExtendedDataTypeRelease, dt))
            arr = lib.GDALGroupCreateMDArray(grp, b(name), len(shape), dims, dt, options(plan["options"]))
            if not arr:
                raise errors.fail(f"CreateMDArray({path})")
            handles.append((lib.GDALMDArrayRelease, arr))
            fill = self._fill_raw(case.get("fill_value"), case, plan)
            if fill is not None:
                ptr = fill[1] if isinstance(fill, tuple) else fill
                if not lib.GDALMDArraySetRawNoDataValue(arr, C.cast(ptr, C.c_void_p)):
                    raise errors.fail("SetRawNoDataValue")
            self._put_attributes(arr, lib.GDALMDArrayCreateAttribute, case.get("attributes") or {})
            self._write_data(arr, case, data, plan, handles)
        finally:
            for release, h in reversed(handles):
                release(h)
            # Closing flushes the chunk cache and writes the metadata; failures show as CPLErrors.
            lib.GDALClose(ds)
        if errors.errors:
            raise errors.fail("closing the dataset")

    def _write_data(self, arr, case: dict, data: np.ndarray, plan: dict, handles: list) -> None:
        lib, errors = self.lib, self.errors
        shape = list(case["shape"])
        chunks = list(case["chunks"])
        nd = len(shape)
        nelem = int(np.prod(shape)) if shape else 1
        if plan["gdt"] is not None:
            src = np.ascontiguousarray(data.astype(data.dtype.newbyteorder("<"), copy=False))
            item = src.dtype.itemsize
            mem_dt = lib.GDALMDArrayGetDataType(arr)
            keep = src
            base = src.ctypes.data
        else:
            # one char* per element: U<n> as UTF-8, S<n> without trailing NULs
            flat = data.ravel()
            texts = [(str(x).encode("utf-8") if plan["unicode"] else bytes(x).rstrip(b"\0")) for x in flat]
            keep = (C.c_char_p * max(1, nelem))(*texts)
            item = C.sizeof(C.c_char_p)
            mem_dt = lib.GDALExtendedDataTypeCreateString(0)
            base = C.addressof(keep)
        handles.append((lib.GDALExtendedDataTypeRelease, mem_dt))
        total = nelem * item
        missing = {tuple(m) for m in case.get("missing_chunks") or []}
        if not missing:
            if nelem and not lib.GDALMDArrayWrite(arr, u64s([0] * nd), sizes(shape), None, None, mem_dt, base,
                                                  base, total):
                raise errors.fail("GDALMDArrayWrite")
            return
        # chunk by chunk, leaving the missing ones out; strides address the whole buffer
        stride = [1] * nd
        for d in range(nd - 1, 0, -1):
            stride[d - 1] = stride[d] * shape[d]
        grid = [(s + c - 1) // c if c else 0 for s, c in zip(shape, chunks)]
        if any(g == 0 for g in grid):
            return
        strides = (C.c_ssize_t * max(1, nd))(*stride)
        for idx in np.ndindex(*grid):
            if tuple(idx) in missing:
                continue
            start = [i * c for i, c in zip(idx, chunks)]
            count = [min(c, s - st) for c, s, st in zip(chunks, shape, start)]
            off = sum(st * sd for st, sd in zip(start, stride))
            if not lib.GDALMDArrayWrite(arr, u64s(start), sizes(count), None, strides, mem_dt, base + off * item,
                                        base, total):
                raise errors.fail("GDALMDArrayWrite")
        del keep


BACKEND = GDALBackend

"""tensorstore (C++) through its Python bindings: zarr v2 ("zarr" driver), zarr v3
("zarr3" driver) and N5 ("n5" driver).

tensorstore opens arrays only; it has no notion of groups or user attributes
for zarr v2 and N5. The adapter therefore writes group metadata
(.zgroup/.zattrs, group zarr.json, N5 attributes.json) and v2/N5 array
attributes as JSON objects through tensorstore's own key-value store API
(`ts.KvStore`), and reads v2/N5 attributes back the same way. zarr v3 array
attributes and dimension_names are part of tensorstore's zarr3 metadata.

Writing (into a local directory, or in the native write mode into S3 through
tensorstore's own s3 kvstore): the array metadata is handed to the driver as JSON exactly as the case
gives it (dtype, chunks, order, dimension_separator, compressor, filters; v3
codecs verbatim, chunk_key_encoding, dimension_names; N5 compression).
Missing chunks are left out by writing chunk by chunk (tensorstore also does not
store chunks equal to the fill value, verified). Where tensorstore's own error
says a feature is unsupported (a zarr dtype, a compressor that "is not
registered", filters) the request, write or read, answers `unsupported` with
that error text.

Conventions worth knowing when reading results:
* zarr v2 "|S<n>" is exposed by tensorstore as dtype "char" with an extra
  trailing dimension of n bytes, and its NumPy conversion of "char" arrays is
  broken (dtype S0, no data; see google/tensorstore#43). Data are written from,
  and read into, an "S1" buffer through `ts.array` (a tensorstore view of a
  NumPy buffer); the n bytes of the last dimension are then viewed as one S<n>
  element. The fill value of such arrays is taken from the metadata JSON.
* N5: tensorstore exposes the dimensions in the order stored in
  attributes.json (N5 order, fastest-varying first), the reverse of the C-order
  view of zarr-python/z5py that the case shapes use. Writes go through
  tensorstore's own dimension-reversed view (`.T`) so the on-disk layout is the
  case's. Reads use the same reversed view: protocol v1 compares N5 arrays in
  the C-order convention (docs/protocol.md, "N5 axis order"), so this is the
  documented translation of a convention, not a fix-up of data.
"""

from __future__ import annotations

import base64
import importlib.metadata
import json
import os
import re
import tempfile

import numpy as np

import zc_canonical as canonical
from ..chunks import chunk_regions
from ..protocol import Backend, ReadResult, Unsupported, check_region

# Read N5 through tensorstore's reversed (C-order) view, as the protocol asks.
N5_C_ORDER_VIEW = True

# Error texts of tensorstore that themselves say a feature is not supported.
_UNSUPPORTED_ERRORS = re.compile(
    r"Unsupported zarr dtype|is not registered|filters are not supported|"
    r"is not one of the supported data types|not supported", re.I)

# N5 attributes.json members that are the array's own metadata, not user attributes (and the
# container's version "n5", in the root's attributes.json: a root array's own).
N5_ARRAY_KEYS = ("dimensions", "blockSize", "dataType", "compression", "n5")




def _join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


class TensorstoreBackend(Backend):
    impl = "tensorstore"

    def __init__(self):
        import tensorstore

        self.ts = tensorstore

    def version(self) -> str:
        # tensorstore has no __version__; the installed distribution's metadata is read at run time.
        return importlib.metadata.version("tensorstore")

    def versions(self) -> dict:
        out = {"numpy": np.__version__}
        try:
            out["ml_dtypes"] = importlib.metadata.version("ml_dtypes")
        except importlib.metadata.PackageNotFoundError:
            pass
        return out

    # --- stores -----------------------------------------------------------------

    def kvstore_spec(self, target: dict, path: str, creds: list) -> dict:
        kind = target.get("kind")
        if kind == "local":
            return {"driver": "file", "path": os.path.join(target["path"], path).rstrip("/") + "/"}
        if kind == "http":
            return {"driver": "http", "base_url": "/".join(x for x in (target["url"].rstrip("/"), _join(path)) if x) + "/"}
        if kind == "s3":
            if target.get("anonymous"):
                cred = {"type": "anonymous"}
            else:
                # tensorstore has no credential type taking explicit keys; a credentials
                # file read by its "profile" provider holds them (nothing global is changed).
                f = tempfile.NamedTemporaryFile("w", prefix="zc-ts-aws-", suffix=".ini", delete=False)
                f.write("[zc]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                        % (target["access_key_id"], target["secret_access_key"]))
                f.close()
                creds.append(f.name)
                cred = {"type": "profile", "profile": "zc", "credentials_file": f.name, "config_file": os.devnull}
            spec = {"driver": "s3", "bucket": target["bucket"], "path": _join(target.get("key", ""), path) + "/",
                    "aws_credentials": cred}
            if target.get("endpoint"):
                spec["endpoint"] = target["endpoint"]
            if target.get("region"):
                spec["aws_region"] = target["region"]
            return spec
        if kind == "gcs":
            # The gcs driver has no endpoint in its spec: TENSORSTORE_GCS_HTTP_URL names it (read at
            # each open). Its credentials come only from the environment (Google application default
            # credentials, looked up once per process); the adapter sets none, so its requests are
            # unsigned in every access mode, which the emulator accepts (it checks no credentials).
            os.environ["TENSORSTORE_GCS_HTTP_URL"] = target["endpoint"].rstrip("/")
            # Without credentials tensorstore would ask a GCE metadata server next: point that lookup
            # at a closed loopback port, so that no request leaves the machine.
            os.environ.setdefault("GCE_METADATA_ROOT", "127.0.0.1:9")
            return {"driver": "gcs", "bucket": target["bucket"], "path": _join(target.get("prefix", ""), path) + "/"}
        raise Unsupported(f"store kind {kind!r} is not known to this adapter")

    def _open(self, spec: dict, **kw):
        try:
            return self.ts.open(spec, **kw).result()
        except ValueError as exc:
            if _UNSUPPORTED_ERRORS.search(str(exc)):
                raise Unsupported(f"tensorstore: {exc}") from exc
            raise

    def _put_json(self, root: dict, key: str, obj) -> None:
        """Write a JSON document at key below the dataset root (a kvstore spec)."""
        kv = self.ts.KvStore.open(root).result()
        kv.write(key, json.dumps(obj, ensure_ascii=False, allow_nan=False).encode("utf-8")).result()

    @staticmethod
    def _get_json(kv, key: str):
        r = kv.read(key).result()
        if r.state != "value":
            return None
        return json.loads(bytes(r.value).decode("utf-8"))

    # --- write ------------------------------------------------------------------

    def write(self, case: dict, data: np.ndarray, target: dict) -> None:
        # A local directory, or (native write mode) an S3 store through tensorstore's own s3 kvstore.
        if target.get("kind") not in ("local", "s3"):
            raise Unsupported(f"tensorstore writes no {target.get('kind')!r} store (no HTTP writes)")
        creds: list[str] = []
        try:
            if target["kind"] == "local":
                os.makedirs(target["path"], exist_ok=True)
            self._write(case, data, self.kvstore_spec(target, "", creds), self.kvstore_spec(target, case["path"], creds))
        finally:
            for f in creds:
                try:
                    os.unlink(f)
                except OSError:
                    pass

    def _write(self, case: dict, data: np.ndarray, root: dict, kvspec: dict) -> None:
        fmt = case["format"]
        dtype = case["dtype"]
        shape, chunks = list(case["shape"]), list(case["chunks"])
        attrs = case.get("attributes") or {}
        missing = case.get("missing_chunks") or []

        if fmt == "zarr2":
            fill = case["fill_value"]
            m = re.match(r"^S([0-9]+)$", dtype)
            if m and fill is not None:
                # tensorstore wants exactly n base64-encoded bytes for an S<n> fill value;
                # the case's base64 leaves out trailing NULs, which are padding.
                raw = base64.b64decode(fill).ljust(int(m.group(1)), b"\0")
                fill = base64.b64encode(raw).decode("ascii")
            meta = {"zarr_format": 2, "shape": shape, "chunks": chunks,
                    "dtype": canonical.numpy_dtype(dtype).str, "fill_value": fill,
                    "order": case.get("order", "C"), "compressor": case.get("compressor"),
                    "filters": case.get("filters"),
                    "dimension_separator": case.get("dimension_separator", ".")}
            t = self._open({"driver": "zarr", "kvstore": kvspec, "metadata": meta}, create=True)
            view = t
        elif fmt == "zarr3":
            if dtype not in canonical.NUMERIC_DTYPES:
                raise Unsupported(
                    f"tensorstore's zarr3 driver has no data type for {dtype!r}: its data types are bool, "
                    "(u)int2/4/8/16/32/64, float4/8 variants, float16, bfloat16, float32, float64, complex64, "
                    "complex128 and r<N> raw bits (no fixed-length bytes, fixed-length UTF-32 or string)")
            meta = {"zarr_format": 3, "node_type": "array", "shape": shape, "data_type": dtype,
                    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": chunks}},
                    "chunk_key_encoding": case.get("chunk_key_encoding")
                    or {"name": "default", "configuration": {"separator": "/"}},
                    "fill_value": case["fill_value"], "codecs": list(case["codecs"])}
            if attrs:
                meta["attributes"] = attrs
            if case.get("dimension_names"):
                meta["dimension_names"] = list(case["dimension_names"])
            t = self._open({"driver": "zarr3", "kvstore": kvspec, "metadata": meta}, create=True)
            view = t
        elif fmt == "n5":
            comp = dict(case["compression"])
            # n5-blosc's "nthreads" is a run-time thread count, not part of the encoding;
            # tensorstore rejects it ("Object includes extra members"), so it is left out.
            if comp.get("type") == "blosc":
                comp.pop("nthreads", None)
            meta = {"dimensions": shape[::-1], "blockSize": chunks[::-1], "dataType": dtype,
                    "compression": comp}
            t = self._open({"driver": "n5", "kvstore": kvspec, "metadata": meta}, create=True)
            view = t.T  # tensorstore's dimension-reversed view: the case's (C-order) shape
        else:
            raise Unsupported(f"unknown format {fmt!r}")

        if t.dtype == self.ts.char:
            # S<n>: tensorstore's "char" array with a trailing dimension of n bytes.
            n = canonical.numpy_dtype(dtype).itemsize
            src = np.ascontiguousarray(data).view("S1").reshape(tuple(shape) + (n,))
        else:
            src = data
        if missing:
            for region in chunk_regions(shape, chunks, missing):
                view[region].write(src[region]).result()
        else:
            view.write(src).result()

        self._write_groups(case, root, fmt)
        if attrs and fmt == "zarr2":
            self._put_json(root, _join(case["path"], ".zattrs"), attrs)
        elif attrs and fmt == "n5":
            kv = self.ts.KvStore.open(kvspec).result()
            meta = self._get_json(kv, "attributes.json") or {}
            meta.update(attrs)
            kv.write("attributes.json", json.dumps(meta, ensure_ascii=False).encode("utf-8")).result()

    def _write_groups(self, case: dict, root: dict, fmt: str) -> None:
        groups = dict(case.get("groups") or {})
        if not case["path"]:
            # A root array: the array is the dataset root and no group metadata goes there
            # (a root group document would overwrite, or sit beside, the array's own).
            groups.pop("", None)
        else:
            groups.setdefault("", {})
        parts = case["path"].split("/")[:-1]
        for i in range(1, len(parts) + 1):
            groups.setdefault("/".join(parts[:i]), {})
        for gpath, gattrs in groups.items():
            gattrs = gattrs or {}
            if fmt == "zarr2":
                self._put_json(root, _join(gpath, ".zgroup"), {"zarr_format": 2})
                if gattrs:
                    self._put_json(root, _join(gpath, ".zattrs"), gattrs)
            elif fmt == "zarr3":
                meta = {"zarr_format": 3, "node_type": "group"}
                if gattrs:
                    meta["attributes"] = gattrs
                self._put_json(root, _join(gpath, "zarr.json"), meta)
            else:
                meta = dict(gattrs)
                if gpath == "":
                    meta["n5"] = "2.0.0"
                self._put_json(root, _join(gpath, "attributes.json"), meta)

    # --- read -------------------------------------------------------------------

    def read(self, target: dict, path: str, fmt: str | None, region=None) -> ReadResult:
        driver = {"zarr2": "zarr", "zarr3": "zarr3", "n5": "n5"}.get(fmt)
        if driver is None:
            raise Unsupported(f"unknown format {fmt!r}")
        creds: list[str] = []
        try:
            kvspec = self.kvstore_spec(target, path, creds)
            t = self._open({"driver": driver, "kvstore": kvspec})
            fill = None
            dtype_name = None
            if t.dtype == self.ts.char:
                n = t.shape[-1]  # S<n> is char with one more (last) dimension of n
                if region is not None:
                    check_region(region, t.shape[:-1])
                    t = t[(*region, slice(None))].translate_to[0]  # strided: only the chunks it touches are read
                out = np.zeros(t.shape, "S1")
                self.ts.array(out).write(t).result()
                arr = out.view(f"S{n}").reshape(t.shape[:-1])
                fv = t.spec().to_json().get("metadata", {}).get("fill_value")
                fill = None if fv is None else base64.b64decode(fv)
                dtype_name = f"S{n}"
            else:
                if driver == "n5" and N5_C_ORDER_VIEW:
                    t = t.T
                if region is not None:
                    check_region(region, t.shape)
                    t = t[region].translate_to[0]
                arr = t.read().result()
                fill = t.fill_value
            if driver == "zarr3":
                attrs = t.spec().to_json().get("metadata", {}).get("attributes") or {}
            else:
                kv = self.ts.KvStore.open(kvspec).result()
                if driver == "zarr":
                    attrs = self._get_json(kv, ".zattrs") or {}
                else:
                    meta = self._get_json(kv, "attributes.json") or {}
                    attrs = {k: v for k, v in meta.items() if k not in N5_ARRAY_KEYS}
            return ReadResult(array=arr, fill_value=fill, attributes=attrs, dtype=dtype_name)
        finally:
            for f in creds:
                try:
                    os.unlink(f)
                except OSError:
                    pass


BACKEND = TensorstoreBackend

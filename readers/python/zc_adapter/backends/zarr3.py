"""zarr-python 3.x (3.1 and later): writes and reads zarr v2 and v3; no N5.

The same module serves zarr-python 3.1.6 and 3.4.2; data types come from
`zarr.dtype` (data type extensions, among them the fixed-length
`null_terminated_bytes` and `fixed_length_utf32` for numpy S<n> and U<n>).

Writing: `zarr.create_array` with the case's v3 codec chain
split by codec kind, as codec dicts: array->array codecs become `filters`, the
array->bytes codec (`bytes`, `vlen-utf8`, or a whole `sharding_indexed`
codec with its nested chain, index codecs and index location) the
`serializer`, bytes->bytes codecs the `compressors`; the chunk grid is the
case's `chunks` (for sharding: the shard shape). v2 cases use numcodecs codecs
from the configs (`numcodecs.get_codec`). Chunks listed as missing are left out
by writing region by region (with `write_empty_chunks` on, every other chunk is
stored even when it equals the fill value).

Reading: LocalStore, FsspecStore (s3fs, HTTP, gcsfs, adlfs), and FsspecStore over fsspec's
reference file system for kerchunk references (`kerchunk` STOREs).
"""

from __future__ import annotations

import json
import os
from importlib import metadata

import numpy as np

import zc_canonical as canonical
from ..chunks import write_present_chunks
from ..protocol import Backend, ReadResult, Unsupported, bounding_box, check_region

# Component packages whose versions are worth recording, when installed.
COMPONENTS = ("numcodecs", "numpy", "fsspec", "s3fs", "gcsfs", "adlfs", "google-crc32c", "crc32c", "donfig")


def component_versions(names=COMPONENTS) -> dict:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def s3_storage_options(target: dict) -> dict:
    """fsspec/s3fs options for a protocol S3 STORE (path-style, loopback endpoint)."""
    opts = {
        "endpoint_url": target["endpoint"],
        "client_kwargs": {"region_name": target.get("region") or "us-east-1"},
        "config_kwargs": {"s3": {"addressing_style": "path"}},
    }
    if target.get("anonymous"):
        opts["anon"] = True
    else:
        opts["key"] = target["access_key_id"]
        opts["secret"] = target["secret_access_key"]
    return opts


def gcs_storage_options(target: dict) -> dict:
    """fsspec/gcsfs options for a protocol GCS STORE: the emulator's endpoint, a bearer token or none."""
    if target.get("anonymous") or not target.get("token"):
        token = "anon"
    else:
        from google.oauth2.credentials import Credentials

        token = Credentials(target["token"])
    return {"endpoint_url": target["endpoint"], "token": token, "project": target.get("project")}


def azure_connection_string(target: dict) -> str:
    """An Azure Storage connection string for a protocol Azure STORE (without the key when anonymous)."""
    cs = f"DefaultEndpointsProtocol=http;AccountName={target['account']};BlobEndpoint={target['endpoint']};"
    if not target.get("anonymous"):
        cs += f"AccountKey={target['key']};"
    return cs


def azure_storage_options(target: dict) -> dict:
    """fsspec/adlfs options for a protocol Azure STORE: a connection string naming the emulator's endpoint."""
    opts = {"account_name": target["account"], "connection_string": azure_connection_string(target)}
    if target.get("anonymous"):
        opts["anon"] = True
    return opts


def reference_options(target: dict, s3_options=s3_storage_options) -> dict:
    """fsspec's reference file system for a protocol kerchunk STORE: the reference file (`fo`), and the
    protocol and options of the store the referenced files are in (also those of the reference file,
    which is beside them)."""
    remote = target.get("remote") or {}
    kind = remote.get("kind")
    if kind == "local":
        protocol, opts = "file", {}
    elif kind == "http":
        protocol, opts = "http", {}
    elif kind == "s3":
        protocol, opts = "s3", s3_options(remote)
    else:
        raise Unsupported(f"references to files in a store of kind {kind!r} are not known to this adapter")
    return {"fo": target["refs"], "remote_protocol": protocol, "remote_options": opts, "target_options": opts}


def _bucket_url(scheme: str, bucket: str, prefix: str) -> str:
    prefix = prefix.strip("/")
    return f"{scheme}://{bucket}/{prefix}" if prefix else f"{scheme}://{bucket}"


def target_url(target: dict) -> str:
    kind = target.get("kind")
    if kind == "gcs":
        return _bucket_url("gs", target["bucket"], target.get("prefix", ""))
    if kind == "azure":
        return _bucket_url("abfs", target["container"], target.get("prefix", ""))
    if kind == "s3":
        key = target.get("key", "").strip("/")
        return f"s3://{target['bucket']}/{key}" if key else f"s3://{target['bucket']}"
    if kind == "http":
        return target["url"].rstrip("/")
    raise Unsupported(f"store kind {kind!r} is not known to this adapter")


class Zarr3Backend(Backend):
    impl = "zarr-python"

    def __init__(self):
        import zarr

        self.zarr = zarr

    def version(self) -> str:
        return self.zarr.__version__

    def versions(self) -> dict:
        return component_versions()

    # --- stores -----------------------------------------------------------------

    def store(self, target: dict, read_only: bool):
        from zarr.storage import FsspecStore, LocalStore

        kind = target.get("kind")
        if kind == "local":
            return LocalStore(target["path"], read_only=read_only)
        if kind == "s3":
            return FsspecStore.from_url(target_url(target), storage_options=s3_storage_options(target),
                                        read_only=read_only)
        if kind == "http":
            return FsspecStore.from_url(target_url(target), read_only=read_only)
        if kind == "gcs":  # gcsfs, as zarr-python's users reach Google Cloud Storage
            # gcsfs 2026.3+ asks each bucket's storage layout over gRPC (Storage Control API) before
            # every operation; an endpoint other than Google's cannot answer it (fake-gcs-server#2069)
            # and each lookup retries for about 60 s. gcsfs's own switch turns it off (read at import).
            os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
            return FsspecStore.from_url(target_url(target), storage_options=gcs_storage_options(target),
                                        read_only=read_only)
        if kind == "azure":  # adlfs
            return FsspecStore.from_url(target_url(target), storage_options=azure_storage_options(target),
                                        read_only=read_only)
        if kind == "kerchunk":  # fsspec's reference file system (kerchunk), as zarr-python's docs show
            import fsspec

            opts = reference_options(target)
            # FsspecStore needs an async file system, which cannot load the reference file while it is
            # made (no event loop runs yet): the file is read first, synchronously, as a dict.
            with fsspec.open(opts.pop("fo"), "rb", **opts.pop("target_options")) as f:
                refs = json.load(f)
            if opts["remote_protocol"] != "file":
                opts["remote_options"] = {**opts["remote_options"], "asynchronous": True}
            fs = fsspec.filesystem("reference", fo=refs, asynchronous=True, **opts)
            return FsspecStore(fs, read_only=True, path="")
        raise Unsupported(f"store kind {kind!r} is not known to this adapter")

    def check_array(self, arr) -> None:
        """Hook: called on every array opened or created, before its chunks are touched."""

    # --- write ------------------------------------------------------------------

    def write(self, case: dict, data: np.ndarray, target: dict) -> None:
        zarr = self.zarr
        fmt = case["format"]
        if fmt == "n5":
            raise Unsupported("zarr-python 3 has no N5 support (zarr.n5 was removed in 3.0)")
        if target.get("kind") not in ("local", "s3"):
            raise Unsupported(f"this adapter writes to local and S3 stores, not {target.get('kind')}")
        zarr_format = 2 if fmt == "zarr2" else 3
        store = self.store(target, read_only=False)

        # Groups: the root, every listed group and every ancestor of the array. A root array
        # (path "") is the dataset root itself: no group is written.
        for gpath, attrs in self.groups_to_write(case):
            zarr.create_group(store, path=gpath or None, zarr_format=zarr_format, overwrite=not gpath,
                              attributes=attrs)

        kw = self.array_kwargs(case)
        arr = zarr.create_array(store, name=case["path"], shape=tuple(case["shape"]), chunks=tuple(case["chunks"]),
                                fill_value=canonical.fill_from_json(case["fill_value"], case["dtype"]),
                                attributes=case.get("attributes") or {}, zarr_format=zarr_format,
                                config={"write_empty_chunks": True}, **kw)
        self.check_array(arr)
        self.write_data(arr, case, data)

    @staticmethod
    def groups_to_write(case: dict) -> list[tuple[str, dict]]:
        """(path, attributes) of the groups above the array, the root first; none for a root array."""
        groups = dict(case.get("groups") or {})
        if not case["path"]:
            if any(groups.values()):
                raise ValueError("a root array (path '') cannot have groups with attributes: "
                                 f"{sorted(groups)}")
            return []
        parts = case["path"].split("/")[:-1]
        for i in range(1, len(parts) + 1):
            groups.setdefault("/".join(parts[:i]), {})
        root = groups.pop("", None) or {}
        return [("", root)] + [(g, groups[g] or {}) for g in sorted(groups, key=lambda p: (p.count("/"), p))]

    def array_kwargs(self, case: dict) -> dict:
        """dtype and encoding arguments of zarr.create_array for the case."""
        dtype = case["dtype"]
        np_dtype = str if dtype == "string" else canonical.numpy_dtype(dtype)
        if case["format"] == "zarr2":
            import numcodecs

            comp = case.get("compressor")
            return dict(
                dtype=np_dtype,
                compressors=numcodecs.get_codec(dict(comp)) if comp else None,
                filters=[numcodecs.get_codec(dict(f)) for f in case["filters"]] if case.get("filters") else None,
                order=case.get("order") or "C",
                chunk_key_encoding={"name": "v2", "separator": case.get("dimension_separator") or "."},
            )
        filters, serializer, compressors = self.split_codecs(case["codecs"])
        return dict(dtype=np_dtype, filters=filters, serializer=serializer, compressors=compressors,
                    chunk_key_encoding=case.get("chunk_key_encoding"),
                    dimension_names=case.get("dimension_names"))

    @staticmethod
    def split_codecs(codecs: list[dict]):
        """Split a v3 codec chain into (filters, serializer, compressors) by codec kind."""
        from zarr.abc.codec import ArrayArrayCodec, ArrayBytesCodec, BytesBytesCodec
        from zarr.registry import get_codec_class

        filters, serializer, compressors = [], None, []
        for codec in codecs:
            cls = get_codec_class(codec["name"])
            if issubclass(cls, ArrayArrayCodec) and serializer is None:
                filters.append(codec)
            elif issubclass(cls, ArrayBytesCodec) and serializer is None:
                serializer = codec
            elif issubclass(cls, BytesBytesCodec) and serializer is not None:
                compressors.append(codec)
            else:
                raise ValueError(f"codec {codec['name']!r} out of place in the chain {[c['name'] for c in codecs]}")
        if serializer is None:
            raise ValueError(f"no array->bytes codec in the chain {[c['name'] for c in codecs]}")
        return filters, serializer, compressors

    write_data = staticmethod(write_present_chunks)

    # --- read -------------------------------------------------------------------

    strided_selection = True  # arr[start:stop:step]; else the box, then every step-th element

    def read(self, target: dict, path: str, fmt: str | None, region=None) -> ReadResult:
        if fmt == "n5":
            raise Unsupported("zarr-python 3 has no N5 support (zarr.n5 was removed in 3.0)")
        zarr_format = {"zarr2": 2, "zarr3": 3}.get(fmt)
        store = self.store(target, read_only=True)
        arr = self.zarr.open_array(store=store, path=path, mode="r", zarr_format=zarr_format)
        self.check_array(arr)
        check_region(region, arr.shape)
        if region is not None and not self.strided_selection:
            box, steps = bounding_box(region)
            data = np.asarray(arr[box])[steps]
        else:
            data = arr[region if region is not None else tuple(slice(0, s) for s in arr.shape)]
        # zarr-python keeps no bookkeeping keys in attributes: all are returned.
        return ReadResult(np.asarray(data), arr.fill_value, dict(arr.attrs.asdict()))


BACKEND = Zarr3Backend

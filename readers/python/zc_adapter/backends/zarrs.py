"""zarrs-python: the zarrs (Rust) codec pipeline inside zarr-python 3.1.

zarr-python still writes and parses the metadata, builds the hierarchy and
does the indexing; zarrs encodes and decodes the chunks (and does the chunk
I/O for the stores it supports). The pipeline runs in strict mode
(`codec_pipeline.strict`), so an array, data type or store zarrs cannot handle
raises instead of silently falling back to zarr-python's own pipeline, which
would make this column a copy of zarr-python's. zarrs-python's own
"unsupported" exceptions (UnsupportedDataTypeError, UnsupportedMetadataError,
FillValueNoneError: their names say the feature is unsupported) are reported
as `unsupported`; everything else propagates.

Stores: zarrs does its own chunk I/O and supports zarr-python's LocalStore,
ObjectStore (obstore) and FsspecStore over HTTP. For any other store (an
s3fs FsspecStore, say) zarr-python catches zarrs' NotImplementedError and
silently uses its own pipeline, whatever `strict` says; so S3 is read through
zarr.storage.ObjectStore(obstore.store.S3Store), and every array opened is
checked to really have the zarrs pipeline. GCS and Azure Blob likewise go
through obstore's GCSStore and AzureStore, pointed at the target's endpoint.
"""

from __future__ import annotations

import json

from ..protocol import Unsupported
from .zarr3 import COMPONENTS, Zarr3Backend, component_versions
from .zarr3_obstore import obstore_azure, obstore_s3

# zarrs-python's exception classes that mean "zarrs cannot do this".
UNSUPPORTED_ERRORS = ("UnsupportedDataTypeError", "UnsupportedMetadataError", "FillValueNoneError")


def _unsupported(exc: BaseException) -> Unsupported | None:
    if type(exc).__name__ not in UNSUPPORTED_ERRORS:
        return None
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        detail = f": {type(cause).__name__}: {cause}"
    elif str(exc):
        detail = f": {exc}"
    elif type(exc).__name__ == "UnsupportedDataTypeError":
        # Raised without a message by ZarrsCodecPipeline for numpy kinds V, S, U, M, m, O, T.
        detail = (": the zarrs pipeline does not handle this data type (structured, fixed-length or "
                  "variable-length strings, datetimes)")
    else:
        detail = ""
    return Unsupported(f"zarrs-python {type(exc).__name__}{detail}")


class ZarrsBackend(Zarr3Backend):
    impl = "zarrs-python"

    def __init__(self):
        super().__init__()
        import zarrs

        self.zarrs = zarrs
        self.zarr.config.set({"codec_pipeline.path": "zarrs.ZarrsCodecPipeline", "codec_pipeline.strict": True})

    def version(self) -> str:
        return self.zarrs.__version__

    def versions(self) -> dict:
        return {"zarr-python": self.zarr.__version__, **component_versions((*COMPONENTS, "obstore"))}

    def store(self, target: dict, read_only: bool):
        kind = target.get("kind")
        if kind == "gcs":
            return self._gcs(target, read_only)
        if kind == "azure":
            return self._azure(target, read_only)
        if kind != "s3":
            return super().store(target, read_only)
        from zarr.storage import ObjectStore

        return ObjectStore(obstore_s3(target), read_only=read_only)

    def _gcs(self, target: dict, read_only: bool):
        from obstore.store import GCSStore
        from zarr.storage import ObjectStore

        # zarrs rebuilds the store in its own object_store, which takes no base_url key: the endpoint
        # goes in a service-account key with gcs_base_url and disable_oauth, object_store's documented
        # way to an emulator (an empty key, no token exchange).
        key = {"gcs_base_url": target["endpoint"], "disable_oauth": True, "client_email": "", "private_key": "",
               "private_key_id": ""}
        # Its object_store takes no bearer_token key either, so requests carry no token in any mode
        # (the emulator checks none); anonymous targets skip signing altogether.
        config = {"service_account_key": json.dumps(key)}
        if target.get("anonymous"):
            config["skip_signature"] = True
        gcs = GCSStore(target["bucket"], prefix=target.get("prefix", "").strip("/") or None, config=config,
                       client_options={"allow_http": True})
        return ObjectStore(gcs, read_only=read_only)

    def _azure(self, target: dict, read_only: bool):
        from zarr.storage import ObjectStore

        return ObjectStore(obstore_azure(target), read_only=read_only)

    def check_array(self, arr) -> None:
        pipeline = arr.async_array.codec_pipeline
        if not isinstance(pipeline, self.zarrs.ZarrsCodecPipeline):
            raise Unsupported(f"zarrs-python does not support the store {type(arr.store).__name__}: zarr-python "
                              f"fell back to its own {type(pipeline).__name__}")

    def write(self, case, data, target):
        try:
            return super().write(case, data, target)
        except Exception as exc:
            unsupported = _unsupported(exc)
            if unsupported is None:
                raise
            raise unsupported from exc

    # The zarrs pipeline decodes contiguous selections only: a step raises "DiscontiguousArrayError: Step size
    # greater than 1 is not supported" in strict mode. The box is read through it, then every step-th element.
    strided_selection = False

    def read(self, target, path, fmt, region=None):
        try:
            return super().read(target, path, fmt, region)
        except Exception as exc:
            unsupported = _unsupported(exc)
            if unsupported is None:
                raise
            raise unsupported from exc


BACKEND = ZarrsBackend

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
"""

from __future__ import annotations

from .zarr3 import Zarr3Backend, component_versions
from ..protocol import Unsupported

# zarrs-python's exception classes that mean "zarrs cannot do this".
UNSUPPORTED_ERRORS = ("UnsupportedDataTypeError", "UnsupportedMetadataError", "FillValueNoneError")


def _unsupported(exc: BaseException) -> Unsupported | None:
    if type(exc).__name__ not in UNSUPPORTED_ERRORS:
        return None
    cause = exc.__cause__ or exc.__context__
    detail = f": {type(cause).__name__}: {cause}" if cause is not None else (f": {exc}" if str(exc) else "")
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
        return {"zarr-python": self.zarr.__version__, **component_versions()}

    def write(self, case, data, target):
        try:
            return super().write(case, data, target)
        except Exception as exc:
            unsupported = _unsupported(exc)
            if unsupported is None:
                raise
            raise unsupported from exc

    def read(self, target, path, fmt):
        try:
            return super().read(target, path, fmt)
        except Exception as exc:
            unsupported = _unsupported(exc)
            if unsupported is None:
                raise
            raise unsupported from exc


BACKEND = ZarrsBackend

"""zarr-n5 (zarr-python-n5): N5 read through zarr-python 3.

zarr-n5 presents N5 hierarchies to zarr-python 3 as Zarr v3: its
`N5WrapperStore` wraps any zarr store (LocalStore, FsspecStore over s3fs,
gcsfs, adlfs, HTTP) and answers a request for `zarr.json` with Zarr v3
metadata converted from the node's `attributes.json`; array chunks are decoded
by its `n5_default` codec (the zarr-extensions codec: the N5 block header, a
full transpose and big-endian bytes, then the N5 compression as a zarr
bytes-to-bytes codec). The store is wrapped in `ImplicitGroupWrapperStore`
(groups without attributes.json exist, as in N5), as the package's README and
its own tests do, and the array opened with `zarr.open_array`.

* Axis order: the converted array has N5's own dimensions (`dimensions` of
  attributes.json, fastest-varying first) as its shape, the view tensorstore,
  zarrs_n5 (the same author's Rust crate, on the same codec specification) and
  the Java N5 libraries present. The package's tests compare it with arrays
  tensorstore wrote in that view. Protocol v1 compares N5 arrays in the
  reversed (C-order) view (docs/protocol.md, "N5 axis order"), so reads answer
  the array's transpose: the documented translation of a convention, never a
  fix-up of data.
* Attributes: the conversion adds the node's whole N5 metadata document as the
  attribute `_n5` (documented in the README); it is the package's bookkeeping,
  not a user attribute, and is left out.
* Compression: raw, gzip, zstd and blosc; N5's lz4, xz and bzip2 have no zarr
  codec and the package says so (`ValueError: unsupported codec with type
  xz`), answered `unsupported` with that text.
* Writing: none (the handshake lists the verb read only, and writes answer
  `unsupported`): `N5WrapperStore.supports_writes` is False and the codec's
  encoder is not implemented (commented out in 0.3.1).
"""

from __future__ import annotations

import re
from importlib import metadata

import numpy as np

from ..protocol import ReadResult, Unsupported, check_region
from .zarr3 import Zarr3Backend, component_versions

# zarr-n5's own text for an N5 compression it has no zarr codec for.
_UNSUPPORTED_CODEC = re.compile(r"unsupported codec with type")


class ZarrN5Backend(Zarr3Backend):
    impl = "zarr-n5"
    verbs = ("read",)

    def __init__(self):
        super().__init__()
        import zarr_n5

        self.zarr_n5 = zarr_n5

    def version(self) -> str:
        # zarr_n5 has no __version__: the installed distribution's.
        return metadata.version("zarr-n5")

    def versions(self) -> dict:
        return {"zarr": self.zarr.__version__, **component_versions()}

    def read(self, target: dict, path: str, fmt: str | None, region=None) -> ReadResult:
        store = self.store(target, read_only=True)  # an unknown store kind is unsupported first
        if fmt != "n5":
            raise Unsupported(f"zarr-n5 reads N5 only, not {fmt!r} (zarr v2 and v3 are zarr-python's own)")
        from zarr_n5 import ImplicitGroupWrapperStore, N5WrapperStore

        n5 = ImplicitGroupWrapperStore(N5WrapperStore(store))
        try:
            arr = self.zarr.open_array(store=n5, path=path, mode="r", zarr_format=3)
        except ValueError as exc:
            if _UNSUPPORTED_CODEC.search(str(exc)):
                raise Unsupported(f"zarr-n5: {exc}") from exc
            raise
        # N5's own axis order: the protocol's (reversed) region is reversed back.
        check_region(region, arr.shape[::-1])
        data = np.asarray(arr[tuple(reversed(region)) if region is not None else tuple(slice(0, s) for s in arr.shape)])
        attrs = dict(arr.attrs.asdict())
        attrs.pop("_n5", None)
        # N5's own axis order -> the protocol's reversed (C-order) view.
        return ReadResult(data.T, arr.fill_value, attrs)


BACKEND = ZarrN5Backend

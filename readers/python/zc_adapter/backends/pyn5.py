"""pyn5 (rust-n5 through PyO3): N5 on the local file system, read and written.

pyn5 1.1.1 has wheels for CPython 3.8 only (its environment is Python 3.8 with
numpy 1.24, the newest numpy for 3.8); this backend, like the shared adapter
code, keeps to Python 3.8.

It is used through its h5py-like API, the one its documentation shows:
`pyn5.File(root, mode)`, `require_group`, `create_dataset(name, shape, dtype,
chunks, compression, compression_opts)`, `dataset[...]`, `attrs`. That API
presents N5 arrays in the reversed (C-order) view of zarr-python and z5py
(shape = `dimensions` reversed; `Dataset.__getitem__` reverses the request and
transposes what rust-n5 returns), which is the view protocol v1 compares: no
translation here.

* Stores: rust-n5's N5Filesystem only; every remote store is `unsupported`.
* Compression: rust-n5 is built into the wheel with its bzip and gzip features
  only, so raw, gzip and bzip2 (pyn5's CompressionType); reading another one
  fails in rust-n5's metadata parser ("unknown variant `xz`, expected one of
  `raw`, `bzip2`, `gzip`"), and create_dataset refuses to write one ("Unknown
  compression type 'xz'"): both answered `unsupported` with the library's text.
  Writing: raw (passed as compression "raw": with no compression pyn5 writes
  gzip), gzip with its level (no useZlib option), bzip2 with its blockSize.
* Data types: (u)int8..64, float32, float64 (pyn5's Dataset classes).
* The container root: `pyn5.File` is always a group; an array at the root
  (path "") is neither opened nor created through it.
* Fill value: none in N5; pyn5's `Dataset.fillvalue` is 0.
"""

from __future__ import annotations

import re
from importlib import metadata

import numpy as np

from ..chunks import write_present_chunks
from ..protocol import Backend, ReadResult, Unsupported, bounding_box, check_region

# rust-n5's (serde's) text for a compression type the wheel was built without.
_UNKNOWN_COMPRESSION = re.compile(r"unknown variant `[^`]*`, expected one of")
COMPRESSION_OPTS = {"raw": None, "gzip": "level", "bzip2": "blockSize"}


class Pyn5Backend(Backend):
    impl = "pyn5"

    def __init__(self):
        import pyn5

        self.pyn5 = pyn5

    def version(self) -> str:
        return self.pyn5.__version__

    def versions(self) -> dict:
        out = {"numpy": np.__version__}
        try:
            out["h5py-like"] = metadata.version("h5py-like")
        except metadata.PackageNotFoundError:
            pass
        return out

    @staticmethod
    def _local_root(target: dict) -> str:
        kind = target.get("kind")
        if kind in ("s3", "http", "gcs", "azure"):
            raise Unsupported(f"pyn5 reads and writes the local file system only (rust-n5's N5Filesystem): "
                              f"no {kind} store")
        if kind != "local":
            raise Unsupported(f"store kind {kind!r} is not known to this adapter")
        return target["path"]

    # --- write ------------------------------------------------------------------

    def write(self, case: dict, data: np.ndarray, target: dict) -> None:
        root = self._local_root(target)
        fmt = case["format"]
        if fmt != "n5":
            raise Unsupported(f"pyn5 writes N5 only, not {fmt!r}")
        known = {str(k): k for k in self.pyn5.dataset.dataset_types}
        if case["dtype"] not in known:
            raise Unsupported(f"pyn5 has no {case['dtype']} data type (its data types: {', '.join(sorted(known))})")
        comp = case.get("compression") or {"type": "raw"}
        ctype = comp.get("type")
        if ctype == "gzip" and comp.get("useZlib"):
            raise Unsupported("pyn5's gzip compression has no useZlib option")
        opt = COMPRESSION_OPTS.get(ctype)
        opts = comp.get(opt) if opt else None

        f = self.pyn5.File(root, mode="a")
        groups = dict(case.get("groups") or {})
        if groups.get(""):
            f.attrs.update(groups[""])
        for gpath in sorted((g for g in groups if g), key=lambda p: (p.count("/"), p)):
            g = f.require_group(gpath)
            if groups[gpath]:
                g.attrs.update(groups[gpath])
        parent, _, name = case["path"].rpartition("/")
        where = f.require_group(parent) if parent else f
        try:
            ds = where.create_dataset(name, shape=tuple(case["shape"]), dtype=known[case["dtype"]],
                                      chunks=tuple(case["chunks"]), compression=ctype, compression_opts=opts)
        except ValueError as exc:
            # pyn5's own refusal of a compression it lacks: "Unknown compression type 'xz': use one of [...]".
            if str(exc).startswith("Unknown compression type"):
                raise Unsupported(f"pyn5: {exc}") from exc
            raise
        except TypeError as exc:
            if not name:  # File is always a group: create_dataset('') has no name to create
                raise Unsupported(f"pyn5 cannot create an array at the container root (pyn5.File is a group): "
                                  f"{type(exc).__name__}: {exc}") from exc
            raise
        write_present_chunks(ds, case, np.ascontiguousarray(data, dtype=known[case["dtype"]]))
        if case.get("attributes"):
            ds.attrs.update(case["attributes"])

    # --- read -------------------------------------------------------------------

    def read(self, target: dict, path: str, fmt: str | None, region=None) -> ReadResult:
        root = self._local_root(target)
        if fmt != "n5":
            raise Unsupported(f"pyn5 reads N5 only, not {fmt!r}")
        f = self.pyn5.File(root, mode="r")
        try:
            # A root array (path ""): the root as a child of itself, File(...)[""], as z5py's users open it;
            # pyn5's File is always a group and fails there.
            node = f[path or ""]
            if not isinstance(node, self.pyn5.Dataset):
                raise TypeError(f"pyn5 opens {path or 'the container root'!r} as a {type(node).__name__}, "
                                "not a Dataset")
            if region is None:
                arr = node[...]
            else:
                # pyn5 reads boxes (read_ndarray(offset, shape)): the box, then every step-th element.
                check_region(region, node.shape)
                box, steps = bounding_box(region)
                arr = np.asarray(node[box])[steps]
        except OSError as exc:
            if _UNKNOWN_COMPRESSION.search(str(exc)):
                raise Unsupported(f"pyn5: {exc}") from exc
            raise
        return ReadResult(np.asarray(arr), node.fillvalue, dict(node.attrs))


BACKEND = Pyn5Backend

"""Alter: what the harness does to a dataset after its writer wrote it, before it is cached and published.

Some cases are about datasets no writer emits on purpose: damaged ones (a truncated chunk,
a checksum that does not match, a shard index pointing outside its shard, metadata that is
not JSON, an unknown codec), which a reader must refuse, and metadata found in the wild that
writers here do not produce (an extension field a reader must ignore, a chunk_key_encoding
without configuration, consolidated metadata). Such a case names its base dataset as usual,
and a list of alterations; every writer of the base writes it, and the alterations are applied
to what it wrote (its metadata has been checked against the case before, harness/dataset_check.py).

An alteration is a dict with a `kind`:

- `truncate`: {"chunk": [i, j], "keep": 0.5}: the chunk (or shard) object cut to that fraction
  of its bytes (or `"drop": n`: its last n bytes cut);
- `flip`: {"chunk": [...], "at": 0.5}: one byte inverted at that fraction of the object
  (`"at": -1`, the last byte);
- `reencode-short`: {"chunk": [...], "codec": "zlib"|"gzip"}: the chunk decoded, cut to half of
  its bytes and encoded again, a valid stream of the wrong decoded size;
- `shard-offset`: {"chunk": [...], "entry": 0, "offset": 2**40}: the offset of one entry of a
  shard index at the end of the shard (16 bytes an entry, no checksum) set out of range;
- `metadata-text`: {"text": "..."}: the array's metadata file replaced by this text;
- `metadata`: {"set": {"a.b": v}, "delete": ["a.c"], "append": {"codecs": v}}: the array's
  metadata document edited at dotted paths (digits index lists);
  these and the two below drop the consolidated metadata a writer may have written, which still
  holds the old document;
- `consolidate`: the metadata of every node written into the root as consolidated metadata the
  way zarr-python writes it (v2: `.zmetadata`; v3: `consolidated_metadata` in the root zarr.json);
- `byteswap`: an uncompressed v2 array made big-endian (every chunk's items swapped, dtype `>`);
- `reencode`: {"codecs": [...]}: the chunks of a v3 array written with `bytes` alone encoded by
  these bytes-to-bytes codecs (`numcodecs.shuffle`, `numcodecs.zlib`, `numcodecs.gzip`: what
  VirtualiZarr and Icechunk write for HDF5 data), which are appended to its chain.
"""

from __future__ import annotations

import gzip
import json
import struct
import zlib
from pathlib import Path
from typing import Any

from .dataset_check import chunk_key

METADATA_FILE = {"zarr2": ".zarray", "zarr3": "zarr.json", "n5": "attributes.json"}


class AlterationError(Exception):
    """An alteration that cannot be applied to what the writer wrote (the chunk it names is absent...)."""


def array_dir(case, root: Path) -> Path:
    return root / case.path if case.path else root


def _chunk_paths(case, root: Path, indices):
    """The paths of these chunks (or shards) as the writer named them (v2: by its dimension_separator)."""
    array = array_dir(case, root)
    meta = _load(array / METADATA_FILE[case.format]) if case.format == "zarr2" else None
    return [array / chunk_key(case, tuple(idx), meta) for idx in indices]


def _object(case, root: Path, alt: dict) -> Path:
    (p,) = _chunk_paths(case, root, [alt["chunk"]])
    if not p.is_file():
        raise AlterationError(f"{alt['kind']}: the writer wrote no object {p.relative_to(root).as_posix()}")
    return p


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise AlterationError(f"{path.name} cannot be read as JSON: {exc}") from None


def _dump(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False))


def _walk(doc: Any, dotted: str) -> tuple[Any, str | int]:
    """The container holding the last segment of a dotted path, and that segment."""
    parts = dotted.split(".")
    node = doc
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    last = parts[-1]
    return node, int(last) if isinstance(node, list) else last


def edit_json(doc: Any, set_: dict | None = None, delete: list | None = None, append: dict | None = None) -> Any:
    for dotted, value in (set_ or {}).items():
        node, key = _walk(doc, dotted)
        node[key] = value
    for dotted in delete or []:  # what is already absent (a writer that leaves it out) is as wanted
        node, key = _walk(doc, dotted)
        if isinstance(node, dict):
            node.pop(key, None)
        elif -len(node) <= key < len(node):
            del node[key]
    for dotted, value in (append or {}).items():
        node, key = _walk(doc, dotted)
        if not isinstance(node.get(key), list):
            raise AlterationError(f"metadata: {dotted} is not a list")
        node[key].append(value)
    return doc


def _truncate(case, root, alt):
    p = _object(case, root, alt)
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) - alt["drop"]] if "drop" in alt else raw[: int(len(raw) * alt.get("keep", 0.5))])


def _flip(case, root, alt):
    p = _object(case, root, alt)
    raw = bytearray(p.read_bytes())
    at = alt.get("at", 0.5)
    i = len(raw) - 1 if at == -1 else int(len(raw) * at)
    raw[i] ^= 0xFF
    p.write_bytes(bytes(raw))


def _reencode_short(case, root, alt):
    p = _object(case, root, alt)
    codec = alt["codec"]
    decode, encode = {"zlib": (zlib.decompress, zlib.compress), "gzip": (gzip.decompress, gzip.compress)}[codec]
    try:
        plain = decode(p.read_bytes())
    except (OSError, zlib.error) as exc:
        raise AlterationError(f"reencode-short: the chunk is not a {codec} stream: {exc}") from None
    p.write_bytes(encode(plain[: len(plain) // 2]))


def _shard_offset(case, root, alt):
    p = _object(case, root, alt)
    raw = bytearray(p.read_bytes())
    n_inner = 1
    inner = case.codecs[0]["configuration"]["chunk_shape"]
    for s, c in zip(case.chunks, inner):
        n_inner *= -(-s // c)
    at = len(raw) - 16 * n_inner + 16 * alt.get("entry", 0)
    if at < 0:
        raise AlterationError("shard-offset: the shard is shorter than its index")
    raw[at:at + 8] = struct.pack("<Q", alt.get("offset", 2 ** 40))
    p.write_bytes(bytes(raw))


def _drop_consolidated(case, root: Path) -> None:
    """A writer's consolidated metadata would still hold the array's metadata as it was written (GDAL writes
    .zmetadata): readers that prefer it would never meet the edited document."""
    if case.format == "zarr2":
        (root / ".zmetadata").unlink(missing_ok=True)
    elif case.format == "zarr3" and (root / "zarr.json").is_file() and case.path:
        doc = _load(root / "zarr.json")
        if doc.pop("consolidated_metadata", None) is not None:
            _dump(root / "zarr.json", doc)


def _metadata_text(case, root, alt):
    _drop_consolidated(case, root)
    (array_dir(case, root) / METADATA_FILE[case.format]).write_text(alt["text"])


def _metadata(case, root, alt):
    _drop_consolidated(case, root)
    p = array_dir(case, root) / METADATA_FILE[case.format]
    _dump(p, edit_json(_load(p), alt.get("set"), alt.get("delete"), alt.get("append")))


def _consolidate(case, root, alt):
    if case.format == "zarr2":
        meta = {}
        for p in sorted(root.rglob(".z*")):
            if p.name in (".zarray", ".zgroup", ".zattrs") and p.is_file():
                meta[p.relative_to(root).as_posix()] = _load(p)
        _dump(root / ".zmetadata", {"zarr_consolidated_format": 1, "metadata": meta})
        return
    if case.format != "zarr3":
        raise AlterationError("consolidate: N5 has no consolidated metadata")
    group = root / "zarr.json"
    doc = _load(group)
    if doc.get("node_type") != "group":
        raise AlterationError("consolidate: the dataset root is not a group")
    nodes = {p.parent.relative_to(root).as_posix(): _load(p) for p in sorted(root.rglob("zarr.json")) if p != group}
    doc["consolidated_metadata"] = {"kind": "inline", "must_understand": False, "metadata": nodes}
    _dump(group, doc)


def _chunks(case, root: Path) -> list[Path]:
    """Every chunk object the writer wrote (missing chunks are absent)."""
    from itertools import product

    return [p for p in _chunk_paths(case, root, product(*(range(n) for n in case.chunk_grid))) if p.is_file()]


def _byteswap(case, root, alt):
    """A v2 array stored big-endian: every (uncompressed) chunk's items byte-swapped, the dtype made '>'."""
    meta_path = array_dir(case, root) / ".zarray"
    meta = _load(meta_path)
    if case.format != "zarr2" or meta.get("compressor") or meta.get("filters"):
        raise AlterationError("byteswap: only an uncompressed zarr v2 array without filters")
    _drop_consolidated(case, root)
    size = int(meta["dtype"][2:])
    for p in _chunks(case, root):
        raw = p.read_bytes()
        p.write_bytes(b"".join(raw[i:i + size][::-1] for i in range(0, len(raw), size)))
    meta["dtype"] = ">" + meta["dtype"][1:]
    _dump(meta_path, meta)


def _shuffle(raw: bytes, elementsize: int) -> bytes:
    """numcodecs' Shuffle: the i-th byte of every element, then the next."""
    n = len(raw) // elementsize
    return b"".join(raw[i:n * elementsize:elementsize] for i in range(elementsize)) + raw[n * elementsize:]


ENCODERS = {
    "numcodecs.shuffle": lambda raw, c: _shuffle(raw, c["elementsize"]),
    "numcodecs.zlib": lambda raw, c: zlib.compress(raw, c.get("level", 1)),
    "numcodecs.gzip": lambda raw, c: gzip.compress(raw, c.get("level", 1), mtime=0),
}


def _reencode(case, root, alt):
    """Chunks of a v3 array written with the bytes codec alone, encoded further by the given bytes-to-bytes
    codecs (those VirtualiZarr and Icechunk write for HDF5 and netCDF4 data), which join the chain."""
    meta_path = array_dir(case, root) / "zarr.json"
    meta = _load(meta_path)
    if case.format != "zarr3" or [c.get("name") for c in meta.get("codecs", [])] != ["bytes"]:
        raise AlterationError("reencode: only a zarr v3 array written with the bytes codec alone")
    _drop_consolidated(case, root)
    for p in _chunks(case, root):
        raw = p.read_bytes()
        for codec in alt["codecs"]:
            raw = ENCODERS[codec["name"]](raw, codec.get("configuration", {}))
        p.write_bytes(raw)
    meta["codecs"] += alt["codecs"]
    _dump(meta_path, meta)


KINDS = {"truncate": _truncate, "flip": _flip, "reencode-short": _reencode_short, "shard-offset": _shard_offset,
         "metadata-text": _metadata_text, "metadata": _metadata, "consolidate": _consolidate,
         "byteswap": _byteswap, "reencode": _reencode}


def alter(case, root: Path) -> None:
    """Apply the case's alterations, in order, to the dataset at root."""
    for alt in case.alterations:
        kind = alt.get("kind")
        if kind not in KINDS:
            raise AlterationError(f"unknown alteration {kind!r}; known: {', '.join(KINDS)}")
        try:
            KINDS[kind](case, root, alt)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise AlterationError(f"{kind}: cannot be applied: {exc!r}") from None

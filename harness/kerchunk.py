"""Kerchunk references: a dataset described by a reference file instead of by its own objects.

fsspec's reference file system (https://fsspec.github.io/kerchunk/spec.html) maps every key of a
Zarr hierarchy to inline data or to a byte range of some other file: this is how archives of netCDF
and HDF5 are read as Zarr without a copy. The kerchunk stores publish each dataset so: its chunk
objects are concatenated into one file (`chunks.bin`, "a binary file with chunks inside"), and a
reference file maps every key to its bytes there, or holds it inline.

The JSON formats of the spec are written, each an access mode of the store:

* `kerchunk-v1`, version 1 as kerchunk writes it: `{"version": 1, "refs": {...}}`; metadata documents
  inline as JSON text, objects of fewer than `INLINE_BELOW` bytes inline as `base64:...` (kerchunk's
  `inline_threshold`), every other one `[URL, offset, length]`;
* `kerchunk-v1-templates`, the same with the URL in a template (`"templates": {"u": URL}`, references
  `["{{u}}", offset, length]`), as combined references shorten repeated URLs;
* `kerchunk-v0`, version 0: a flat `{key: value}`: metadata inline, every object `[URL, offset,
  length]` (version 0 has no templates; an empty object is the empty string; metadata that is not
  UTF-8, which only a damaged dataset has, is base64 as fsspec reads it in both versions).

Readers get the reference file's location, and the store STORE object of the place where the packed
file is (its protocol and credentials): docs/protocol.md, kind `kerchunk`.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

PACKED = "chunks.bin"
# The references a source writer makes into its own file (readers/python/zc_adapter/backends/kerchunk.py).
SOURCE_REFS = "kerchunk-refs.json"
INLINE_BELOW = 64
# access mode -> (file name, format version, URLs in a template)
REFERENCE_FORMATS = {"kerchunk-v1": ("refs.json", 1, False), "kerchunk-v1-templates": ("refs-templates.json", 1, True),
           "kerchunk-v0": ("refs-v0.json", 0, False)}
REFERENCE_FILES = {mode: f[0] for mode, f in REFERENCE_FORMATS.items()}


@dataclass(frozen=True)
class Ref:
    """Where the bytes of one key are: inline (`data`), or `length` bytes at `offset` of the packed file."""

    data: bytes | None = None
    offset: int = 0
    length: int = 0
    metadata: bool = False


def is_metadata(rel: str) -> bool:
    from .stores import METADATA_FILES

    return rel.rsplit("/", 1)[-1] in METADATA_FILES


def pack(dataset: Path, out: Path) -> dict[str, Ref]:
    """Every object of the dataset: metadata kept inline, every other object appended to out/chunks.bin.
    Objects are packed in key order, so the same dataset always packs to the same bytes."""
    out.mkdir(parents=True, exist_ok=True)
    refs: dict[str, Ref] = {}
    offset = 0
    with open(out / PACKED, "wb") as blob:
        for p in sorted((p for p in dataset.rglob("*") if p.is_file()), key=lambda p: p.relative_to(dataset).as_posix()):
            rel = p.relative_to(dataset).as_posix()
            body = p.read_bytes()
            if is_metadata(rel):
                refs[rel] = Ref(data=body, metadata=True)
                continue
            blob.write(body)
            refs[rel] = Ref(data=body if len(body) < INLINE_BELOW else None, offset=offset, length=len(body))
            offset += len(body)
    return refs


def _text_or_base64(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(data).decode()
    # A text starting with the base64 prefix would be taken for base64 itself.
    return text if not text.startswith("base64:") else "base64:" + base64.b64encode(data).decode()


def kerchunk_json(refs: dict[str, Ref], url: str, version: int, templates: bool = False) -> dict:
    """The reference file of a packed dataset whose chunks.bin is at `url`."""
    if version not in (0, 1) or (templates and version == 0):
        raise ValueError(f"kerchunk reference version {version}{' with templates' if templates else ''} is not written")
    where = "{{u}}" if templates else url
    out = {}
    for key, r in refs.items():
        if r.metadata:
            out[key] = _text_or_base64(r.data)
        elif version == 1 and r.data is not None:
            out[key] = "base64:" + base64.b64encode(r.data).decode()
        elif r.length == 0:
            out[key] = ""
        else:
            out[key] = [where, r.offset, r.length]
    if version == 0:
        return out
    return {"version": 1, **({"templates": {"u": url}} if templates else {}), "refs": out}


def resolve(doc: dict, key: str, read_range) -> bytes | None:
    """The bytes a reference file gives for key (None: no such key), reading ranges with
    read_range(url, offset, length): what a reader of the reference file system gets."""
    version = doc.get("version", 0) if isinstance(doc.get("version", 0), int) else 0
    refs = doc["refs"] if version == 1 else doc
    templates = doc.get("templates", {}) if version == 1 else {}
    if key not in refs:
        return None
    v = refs[key]
    if isinstance(v, str):
        return base64.b64decode(v[7:]) if v.startswith("base64:") else v.encode()
    url = v[0]
    for name, value in templates.items():
        url = url.replace("{{%s}}" % name, value)
    if len(v) == 1:
        return read_range(url, 0, None)
    return read_range(url, v[1], v[2])


def write_reference_file(refs: dict[str, Ref], url: str, access: str, out: Path) -> Path:
    name, version, templates = REFERENCE_FORMATS[access]
    path = out / name
    path.write_text(json.dumps(kerchunk_json(refs, url, version, templates), separators=(",", ":")))
    return path


def presigned_refs(urls: dict[str, str]) -> dict:
    """A version 1 reference file that maps each key to a whole object at its own URL (`[URL]`): how a
    reader that gets no credentials reads a private dataset through presigned URLs."""
    return {"version": 1, "refs": {key: [url] for key, url in sorted(urls.items())}}


def relocated(doc: dict, urls: dict[str, str]) -> dict:
    """A reference file whose references name the files in `urls` by their new URLs (version 0 or 1)."""
    refs = doc["refs"] if doc.get("version") == 1 else doc
    moved = {k: [urls.get(v[0], v[0]), *v[1:]] if isinstance(v, list) else v for k, v in refs.items()}
    return {**doc, "refs": moved} if doc.get("version") == 1 else moved

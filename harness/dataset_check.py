"""Check what a writer wrote against its case, before any reader is charged with it.

Readers are judged against the case. When a writer's metadata already departs
from the case (a -0.0 fill written as 0, a 64-bit integer fill written through
a double, F order claimed over C-order data, blosc's shuffle as a string, an
attribute beyond 2^53 as a float, a chunk written that the case lists as
missing), every reader would fail the dataset and the fault is the writer's.
The generate stage runs this check after every write: a dataset with
problems is `faulty`, a writer finding explains it, and the reader cells of
that dataset are labelled as reading a faulty dataset.

Only what changes how a dataset decodes or what a reader reports is checked:
compression levels and other encoder-only settings are the writer's choice.
JSON is parsed keeping its types (1 and 1.0 differ, -0 is negative zero).

The module needs nothing but the standard library (a case is read by its
attributes), so that a reproducer of a writer's fault ships it as it is.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .cases import Case

V2_DTYPES = {"bool": ["|b1"], "string": ["|O"]}
# Attribute keys that are conventions of a format or library, not user attributes: xarray/NCZarr
# dimension names and netcdf-c's bookkeeping (readers may report them; never compared).
RESERVED_ATTRIBUTE = ("_ARRAY_DIMENSIONS", "_nczarr", "_NCZARR", "_NCProperties")
# v3 data type names for the case's dtype names (the fixed-length ones are extensions).
V3_DTYPES = {"S": ["fixed_length_bytes", "bytes", "r*"], "U": ["fixed_length_utf32", "fixed_length_ucs4", "string"],
             "string": ["string"]}
# Configuration keys that change how data decodes (the rest is the encoder's business).
# Decoding keys a writer may leave out because their default is what the case asks for.
DEFAULTS = {("lzma", "format"): 1, ("lzma", "filters"): None, ("gzip", "useZlib"): False,
            ("sharding_indexed", "index_location"): "end", ("bytes", "endian"): None}
DECODING_KEYS = {
    "blosc": ("shuffle", "typesize"),
    "lzma": ("format", "filters"),
    "delta": ("dtype", "astype"),
    "shuffle": ("elementsize",),
    "bytes": ("endian",),
    "transpose": ("order",),
    "sharding_indexed": ("chunk_shape", "index_location"),
    "gzip": ("useZlib",),
}
N5_TYPES = {"raw", "gzip", "bzip2", "xz", "lz4", "blosc", "zstd"}


class _Bare(Exception):
    pass


def load_json(path: Path) -> Any:
    """JSON with its number types kept; NaN/Infinity as bare tokens are refused (not JSON)."""
    def constant(name):
        raise _Bare(name)

    def integer(text):
        return -0.0 if text == "-0" else int(text)

    return json.loads(path.read_text(encoding="utf-8"), parse_int=integer, parse_constant=constant)


def same_json(a, b) -> bool:
    """Equal as JSON values with their types: 1 differs from 1.0 and from "1", -0.0 from 0.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    return a == b


def _show(v) -> str:
    return json.dumps(v, ensure_ascii=False)[:80]


_FLOAT_WORDS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _as_float(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, str):
        return _FLOAT_WORDS.get(v)
    return float(v) if isinstance(v, (int, float)) else None


def fill_equal(written, want, dtype: str) -> bool:
    """The written JSON fill value means the case's: exact integers, NaN equals NaN, -0.0 differs
    from 0.0, complex part by part, S<n> as its bytes without trailing NULs."""
    import base64

    if written is None or want is None:
        return written is want
    if dtype == "bool":
        return written is want or (isinstance(written, bool) and written == want)
    if dtype.startswith(("int", "uint")):
        if isinstance(written, bool):
            return False
        if isinstance(written, float):
            return written.is_integer() and int(written) == want
        return isinstance(written, int) and written == want
    if dtype.startswith("float"):
        x, y = _as_float(written), _as_float(want)
        return x is not None and same_json(x, y)
    if dtype.startswith("complex"):
        return (isinstance(written, list) and len(written) == 2
                and all(fill_equal(a, b, "float64") for a, b in zip(written, want)))
    if dtype.startswith("S"):
        try:
            return base64.b64decode(written).rstrip(b"\0") == base64.b64decode(want).rstrip(b"\0")
        except (TypeError, ValueError):
            return False
    return written == want


def _fill_problems(written, case: "Case") -> list[str]:
    want = case.fill_value
    if fill_equal(written, want, case.dtype) or _same_fill_spelling(written, want, case.dtype):
        return []
    through = " (an integer through a double)" if case.dtype.startswith(("int", "uint")) and isinstance(written, float) else ""
    return [f"fill_value written as {_show(written)} (the case: {_show(want)}){through}"]


def _same_fill_spelling(written, want, dtype: str) -> bool:
    """Spellings the specs leave open that mean the case's value."""
    if dtype.startswith("complex") and isinstance(written, (int, float)) and not isinstance(written, bool):
        # a real scalar for a complex fill: its imaginary part is 0
        return fill_equal([written, 0.0], want, dtype)
    # The empty string is how v2 writers spell a fill of n NUL bytes or an empty text.
    return (dtype.startswith(("S", "U")) or dtype == "string") and written in ("", None) and want in ("", None)


def _attribute_problems(written: dict, case_attrs: dict, where: str) -> list[str]:
    out = []
    for k, v in case_attrs.items():
        if k not in written:
            out.append(f"attribute {k!r} missing from {where}")
        elif not same_json(written[k], v):
            out.append(f"attribute {k!r} written as {_show(written[k])} (the case: {_show(v)})")
    return out


def _codec_problems(written: list, wanted: list, label: str, name_key: str) -> list[str]:
    """Codec chains compared by name and decoding parameters (value and JSON type)."""
    if len(written) != len(wanted):
        return [f"{label} written as {[c.get(name_key) for c in written]} (the case: {[c.get(name_key) for c in wanted]})"]
    out = []
    for got, want in zip(written, wanted):
        gname, wname = got.get(name_key), want.get(name_key)
        if gname != wname and not (str(gname).endswith("." + str(wname))):  # numcodecs.zlib is zlib
            out.append(f"{label}: {gname!r} written where the case has {wname!r}")
            continue
        gconf = got.get("configuration", got) if name_key == "name" else got
        wconf = want.get("configuration", want) if name_key == "name" else want
        for key in DECODING_KEYS.get(wname, ()):
            if key not in wconf:
                continue
            if key == "chunk_shape":
                if list(gconf.get(key) or []) != list(wconf[key]):
                    out.append(f"{wname} {key} written as {_show(gconf.get(key))} (the case: {_show(wconf[key])})")
                continue
            if key not in gconf:
                if (wname, key) in DEFAULTS and (DEFAULTS[wname, key] is None or same_json(DEFAULTS[wname, key], wconf[key])):
                    continue  # left out, and the default is the case's value
                if wname == "blosc" and key == "typesize" and wconf.get("shuffle") in (0, "noshuffle"):
                    continue  # only shuffling needs the item size
                if wname == "blosc" and key == "typesize" and name_key == "id":
                    continue  # numcodecs' blosc has no typesize: the item size comes from the data
                out.append(f"{wname} {key} missing (the case: {_show(wconf[key])})")
            elif not same_json(gconf[key], wconf[key]):
                out.append(f"{wname} {key} written as {_show(gconf[key])} (the case: {_show(wconf[key])})")
        if wname == "sharding_indexed":
            out += _codec_problems(gconf.get("codecs") or [], wconf.get("codecs") or [], "sharding codecs", "name")
            out += _codec_problems(gconf.get("index_codecs") or [], wconf.get("index_codecs") or [],
                                   "sharding index_codecs", "name")
    return out


def chunk_key(case: "Case", idx: tuple[int, ...], written_meta: dict | None = None) -> str:
    """The object key of a chunk (or shard) of the case, relative to the array."""
    if case.format == "n5":
        return "/".join(str(i) for i in reversed(idx)) or "0"
    if case.format == "zarr2":
        sep = (written_meta or {}).get("dimension_separator") or case.dimension_separator
        return sep.join(str(i) for i in idx) or "0"
    enc = case.chunk_key_encoding or {"name": "default"}
    sep = (enc.get("configuration") or {}).get("separator", "/" if enc["name"] == "default" else ".")
    body = sep.join(str(i) for i in idx)
    if enc["name"] == "default":
        return "c" + (sep + body if idx else "")
    return body or "0"


def _missing_written(case: "Case", array: Path, meta: dict | None = None) -> list[str]:
    present = [chunk_key(case, idx, meta) for idx in case.missing_chunks if (array / chunk_key(case, idx, meta)).is_file()]
    return [f"chunk {k} written although the case lists it as missing" for k in present]


def _read(path: Path, problems: list[str]) -> Any:
    try:
        return load_json(path)
    except FileNotFoundError:
        problems.append(f"{path.name} not written")
    except _Bare as exc:
        problems.append(f"{path.name} is not JSON: a bare {exc} token")
    except (ValueError, UnicodeDecodeError) as exc:
        problems.append(f"{path.name} is not JSON: {exc}")
    return None


def _check_zarr2(case: "Case", array: Path) -> list[str]:
    problems: list[str] = []
    meta = _read(array / ".zarray", problems)
    if not isinstance(meta, dict):
        return problems
    if list(meta.get("shape") or []) != list(case.shape):
        problems.append(f"shape written as {meta.get('shape')} (the case: {list(case.shape)})")
    if list(meta.get("chunks") or []) != list(case.chunks):
        problems.append(f"chunks written as {meta.get('chunks')} (the case: {list(case.chunks)})")
    dt = meta.get("dtype")
    allowed = V2_DTYPES.get(case.dtype)
    if allowed is None:
        body = _v2_typestr(case.dtype)
        # Byte order is the writer's choice; for one-byte types any order mark means the same.
        no_order = body in ("i1", "u1") or case.dtype.startswith("S")
        allowed = [f"<{body}", f">{body}"] + ([f"|{body}"] if no_order else [])
    if dt not in allowed:
        problems.append(f"dtype written as {_show(dt)} (the case: {case.dtype}, i.e. {' or '.join(allowed)})")
    if meta.get("order", "C") != case.order:
        problems.append(f"order written as {_show(meta.get('order'))} (the case: {case.order})")
    sep = meta.get("dimension_separator", ".")
    if sep != case.dimension_separator:
        problems.append(f"dimension_separator written as {_show(meta.get('dimension_separator'))} (the case: {case.dimension_separator!r})")
    problems += _fill_problems(meta.get("fill_value"), case)
    comp, want = meta.get("compressor"), case.compressor
    if (comp is None) != (want is None):
        problems.append(f"compressor written as {_show(comp)} (the case: {_show(want)})")
    elif comp is not None:
        problems += _codec_problems([comp], [want], "compressor", "id")
    problems += _codec_problems(meta.get("filters") or [], list(case.filters or []), "filters", "id")
    attrs = (array / ".zattrs")
    if case.attributes:
        written = _read(attrs, problems)
        if isinstance(written, dict):
            problems += _attribute_problems(written, case.attributes, ".zattrs")
    problems += _missing_written(case, array, meta)
    return problems


def _v2_typestr(dtype: str) -> str:
    """numpy's type string without its byte order: int16 -> i2, complex64 -> c8, S6 -> S6, U5 -> U5."""
    if dtype[0] in "SU" and dtype[1:].isdigit():
        return dtype
    for prefix, kind in (("uint", "u"), ("int", "i"), ("float", "f"), ("complex", "c")):
        if dtype.startswith(prefix):
            return f"{kind}{int(dtype[len(prefix):]) // 8}"
    raise ValueError(f"no v2 type string for {dtype}")


def _v3_dtype_ok(written, dtype: str) -> bool:
    if isinstance(written, dict):
        written = written.get("name")
    if dtype in ("string",):
        return written in V3_DTYPES["string"]
    if dtype[0] in "SU" and dtype[1:].isdigit():
        return written in V3_DTYPES[dtype[0]]
    return written == dtype


def _check_zarr3(case: "Case", array: Path) -> list[str]:
    problems: list[str] = []
    meta = _read(array / "zarr.json", problems)
    if not isinstance(meta, dict):
        return problems
    if list(meta.get("shape") or []) != list(case.shape):
        problems.append(f"shape written as {meta.get('shape')} (the case: {list(case.shape)})")
    grid = (meta.get("chunk_grid") or {}).get("configuration", {}).get("chunk_shape")
    if list(grid or []) != list(case.chunks):
        problems.append(f"chunk_shape written as {_show(grid)} (the case: {list(case.chunks)})")
    if not _v3_dtype_ok(meta.get("data_type"), case.dtype):
        problems.append(f"data_type written as {_show(meta.get('data_type'))} (the case: {case.dtype})")
    problems += _fill_problems(meta.get("fill_value"), case)
    problems += _codec_problems(meta.get("codecs") or [], list(case.codecs), "codecs", "name")
    enc, want = meta.get("chunk_key_encoding") or {}, case.chunk_key_encoding or {}
    wsep = (want.get("configuration") or {}).get("separator")
    gsep = (enc.get("configuration") or {}).get("separator", "/" if enc.get("name") == "default" else ".")
    if enc.get("name") != want.get("name") or (wsep and gsep != wsep):
        problems.append(f"chunk_key_encoding written as {_show(enc)} (the case: {_show(want)})")
    if case.dimension_names and list(meta.get("dimension_names") or []) != list(case.dimension_names):
        problems.append(f"dimension_names written as {_show(meta.get('dimension_names'))} (the case: {list(case.dimension_names)})")
    problems += _attribute_problems(meta.get("attributes") or {}, case.attributes or {}, "zarr.json attributes")
    problems += _missing_written(case, array)
    return problems


def _check_n5(case: "Case", array: Path) -> list[str]:
    problems: list[str] = []
    meta = _read(array / "attributes.json", problems)
    if not isinstance(meta, dict):
        return problems
    # N5 lists dimensions fastest-varying first: the reverse of the case's C-order view.
    if list(meta.get("dimensions") or [])[::-1] != list(case.shape):
        problems.append(f"dimensions written as {meta.get('dimensions')} (the case, reversed: {list(case.shape)[::-1]})")
    if list(meta.get("blockSize") or [])[::-1] != list(case.chunks):
        problems.append(f"blockSize written as {meta.get('blockSize')} (the case, reversed: {list(case.chunks)[::-1]})")
    if meta.get("dataType") != case.dtype:
        problems.append(f"dataType written as {_show(meta.get('dataType'))} (the case: {case.dtype})")
    comp, want = meta.get("compression") or {"type": "raw"}, case.compression or {"type": "raw"}
    if comp.get("type") != want.get("type"):
        problems.append(f"compression written as {_show(comp.get('type'))} (the case: {want.get('type')})")
    else:
        problems += _codec_problems([comp], [want], "compression", "type")
    problems += _attribute_problems(meta, case.attributes or {}, "attributes.json")
    problems += _missing_written(case, array)
    return problems


def _check_groups(case: "Case", root: Path) -> list[str]:
    problems: list[str] = []
    for gpath, attrs in (case.groups or {}).items():
        gdir = root / gpath if gpath else root
        if not attrs:
            continue
        if case.format == "zarr2":
            written = _read(gdir / ".zattrs", problems)
        elif case.format == "zarr3":
            meta = _read(gdir / "zarr.json", problems)
            written = (meta or {}).get("attributes") if isinstance(meta, dict) else None
        else:
            written = _read(gdir / "attributes.json", problems)
        if isinstance(written, dict):
            problems += _attribute_problems(written, attrs, f"group {gpath or '/'!s}")
    return problems


CHECKS = {"zarr2": _check_zarr2, "zarr3": _check_zarr3, "n5": _check_n5}


def check_dataset(case: "Case", root: Path) -> list[str]:
    """What the dataset at root gets wrong about its case (empty: nothing)."""
    if getattr(case, "source", None):
        return _check_source(case, root)
    array = root / case.path if case.path else root
    return CHECKS[case.format](case, array) + _check_groups(case, root)


def _check_source(case: "Case", root: Path) -> list[str]:
    """A dataset of references into a source file (kerchunk-refs.json beside the file): the references
    parse, name files that are there, and describe the case's array (its .zarray checked like a
    written one's, from a copy of the inline metadata)."""
    import tempfile

    refs_path = root / "kerchunk-refs.json"
    if not refs_path.exists():
        return ["no kerchunk-refs.json beside the source file"]
    try:
        doc = json.loads(refs_path.read_text())
        refs = doc["refs"] if doc.get("version") == 1 else doc
    except (ValueError, KeyError, AttributeError) as exc:
        return [f"kerchunk-refs.json does not parse as references: {exc}"]
    problems = [f"reference {key} names {v[0]!r}, which is not beside it" for key, v in refs.items()
                if isinstance(v, list) and not (root / v[0]).is_file()][:3]
    with tempfile.TemporaryDirectory() as tmp:
        for key, v in refs.items():
            if isinstance(v, str) and key.rsplit("/", 1)[-1] in (".zarray", ".zattrs", ".zgroup"):
                p = Path(tmp) / key
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(v)
        array = Path(tmp) / case.path
        # Chunks are byte ranges of the source here, so only the metadata is checked.
        problems += [p for p in CHECKS[case.format](case, array) if "chunk" not in p]
        # A reference maker turns the source's own attributes into Zarr attributes: one it adds (a netCDF
        # _FillValue, say) is reported by every reader, so it is the maker's, not theirs.
        attrs = _read(array / ".zattrs", problems) if (array / ".zattrs").exists() else {}
        attrs = attrs if isinstance(attrs, dict) else {}
        extra = sorted(k for k in attrs if k not in (case.attributes or {}) and not k.startswith(RESERVED_ATTRIBUTE))
        problems += [f"attribute {k!r} written beside the case's (as {_show(attrs[k])})" for k in extra]
    return problems

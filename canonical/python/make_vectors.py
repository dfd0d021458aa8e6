"""Writes canonical/vectors/vectors.json, the committed test vectors of the canonical form.

    python canonical/python/make_vectors.py          # rewrite the file
    python canonical/python/make_vectors.py --check  # exit 1 if the file is not what this makes

The expected canonical bytes, hashes and fill-value JSON are worked out here from
docs/protocol.md with the standard library alone (struct, base64, hashlib), not with
zc_canonical: the vectors are a second, independent statement of the form, which
zc_canonical and every other language's canonical code are tested against. Tests read
the committed file and never run this script. The schema is in canonical/README.md.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import struct
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "vectors" / "vectors.json"
SCHEMA_VERSION = 1

# Element width in bytes and struct code of the numeric dtypes.
NUMERIC = {
    "bool": (1, "?"), "int8": (1, "b"), "uint8": (1, "B"), "int16": (2, "h"), "uint16": (2, "H"),
    "int32": (4, "i"), "uint32": (4, "I"), "int64": (8, "q"), "uint64": (8, "Q"),
    "float16": (2, "e"), "float32": (4, "f"), "float64": (8, "d"),
}
FLOAT_WIDTH = {"float16": 2, "float32": 4, "float64": 8, "complex64": 4, "complex128": 8}
QNAN = {2: 0x7E00, 4: 0x7FC00000, 8: 0x7FF8000000000000}
EXP = {2: (10, 5), 4: (23, 8), 8: (52, 11)}  # mantissa bits, exponent bits
UINT = {2: "H", 4: "I", 8: "Q"}


# --- building blocks ----------------------------------------------------------------------

def is_nan_bits(bits: int, width: int) -> bool:
    mant, exp = EXP[width]
    return (bits >> mant) & ((1 << exp) - 1) == (1 << exp) - 1 and bits & ((1 << mant) - 1) != 0


def fbits(x: float, width: int) -> int:
    """The bits of x in a float of `width` bytes (x must be exact in that width)."""
    code = {2: "e", 4: "f", 8: "d"}[width]
    bits = struct.unpack(f"<{UINT[width]}", struct.pack(f"<{code}", x))[0]
    assert struct.unpack(f"<{code}", struct.pack(f"<{UINT[width]}", bits))[0] == x or math.isnan(x)
    return bits


def bits_float(bits: int, width: int) -> float:
    code = {2: "e", 4: "f", 8: "d"}[width]
    return struct.unpack(f"<{code}", struct.pack(f"<{UINT[width]}", bits))[0]


def bits_hex(bits: int, width: int) -> str:
    return bits.to_bytes(width, "little").hex()


def element_bytes(dtype: str, value) -> bytes:
    """Raw little-endian bytes of one element; floats and complex parts given as bit patterns."""
    if dtype in FLOAT_WIDTH:
        width = FLOAT_WIDTH[dtype]
        parts = value if dtype.startswith("complex") else [value]
        return b"".join(p.to_bytes(width, "little") for p in parts)
    if dtype in NUMERIC:
        return struct.pack("<" + NUMERIC[dtype][1], value)
    if dtype.startswith("S"):
        n = int(dtype[1:])
        assert len(value) == n, (dtype, value)
        return value
    raise KeyError(dtype)


def canonical_fixed(dtype: str, raw: bytes) -> bytes:
    """docs/protocol.md: C order, little-endian; every NaN the canonical quiet NaN of its width."""
    if dtype not in FLOAT_WIDTH:
        return raw
    width = FLOAT_WIDTH[dtype]
    out = bytearray()
    for i in range(0, len(raw), width):
        bits = int.from_bytes(raw[i:i + width], "little")
        out += (QNAN[width] if is_nan_bits(bits, width) else bits).to_bytes(width, "little")
    return bytes(out)


def canonical_text(dtype: str, values: list[str]) -> bytes:
    if dtype == "string":  # per element: 4-byte little-endian UTF-8 length, then the bytes
        return b"".join(struct.pack("<I", len(v.encode("utf-8"))) + v.encode("utf-8") for v in values)
    n = int(dtype[1:])  # U<n>: n UTF-32LE code units, NUL-padded
    out = b""
    for v in values:
        assert len(v) <= n and not v.endswith("\0"), (dtype, v)
        out += v.encode("utf-32-le").ljust(4 * n, b"\0")
    return out


def size(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


ARRAYS: list[dict] = []


def array(name: str, dtype: str, shape: list[int], elements: list, note: str) -> None:
    assert size(shape) == len(elements), name
    if dtype in ("string",) or dtype.startswith("U"):
        inp = {"values": elements}
        canon = canonical_text(dtype, elements)
    else:
        raw = b"".join(element_bytes(dtype, e) for e in elements)
        inp = {"hex": raw.hex()}
        canon = canonical_fixed(dtype, raw)
    ARRAYS.append({"name": name, "dtype": dtype, "shape": shape, "input": inp, "canonical": canon.hex(),
                   "hash": "sha256:" + hashlib.sha256(canon).hexdigest(), "note": note})


def raw_array(name: str, dtype: str, shape: list[int], raw: bytes, canon: bytes, note: str) -> dict:
    """A vector whose input bytes are not what element_bytes makes (bool bytes other than 0/1)."""
    return {"name": name, "dtype": dtype, "shape": shape, "input": {"hex": raw.hex()}, "canonical": canon.hex(),
            "hash": "sha256:" + hashlib.sha256(canon).hexdigest(), "note": note}


FILLS: list[dict] = []


def float_json(bits: int, width: int):
    if is_nan_bits(bits, width):
        return "NaN"
    x = bits_float(bits, width)
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x  # the exact value, as a double (every float16/float32 is one)


def fill(name: str, dtype: str, value, note: str, decoded=None) -> None:
    """A fill value as a library holds it -> its protocol JSON -> what that JSON decodes to."""
    if value is None:
        FILLS.append({"name": name, "dtype": dtype, "value": None, "json": None, "decoded": None, "note": note})
        return
    if dtype in FLOAT_WIDTH:
        width = FLOAT_WIDTH[dtype]
        parts = value if dtype.startswith("complex") else [value]
        js = [float_json(p, width) for p in parts]
        js = js if dtype.startswith("complex") else js[0]
        dec = [QNAN[width] if is_nan_bits(p, width) else p for p in parts]  # a NaN decodes to a NaN
        v = {"hex": b"".join(p.to_bytes(width, "little") for p in parts).hex()}
        d = {"hex": b"".join(p.to_bytes(width, "little") for p in dec).hex()}
    elif dtype == "bool":
        js, v = bool(value), {"hex": element_bytes(dtype, value).hex()}
        d = v
    elif dtype in NUMERIC:
        js, v = int(value), {"hex": element_bytes(dtype, value).hex()}
        d = v
    elif dtype.startswith("S"):
        n = int(dtype[1:])
        if isinstance(value, str):  # text a library reports: its UTF-8 bytes
            raw = value.encode("utf-8")
            v = {"text": value}
        else:
            raw = value
            v = {"hex": value.hex()}
        assert len(raw) <= n
        js = base64.b64encode(raw.rstrip(b"\0")).decode("ascii")
        d = {"hex": raw.ljust(n, b"\0").hex()}
    else:  # U<n>, string
        js, v, d = value, {"text": value}, {"text": value}
    FILLS.append({"name": name, "dtype": dtype, "value": v, "json": js,
                  "decoded": decoded if decoded is not None else d, "note": note})


def fill_decode_only(name: str, dtype: str, js, decoded: dict, canonical_json, note: str) -> None:
    """A JSON spelling readers do not write but writers must accept (the case catalogue uses some)."""
    FILLS.append({"name": name, "dtype": dtype, "json": js, "decoded": decoded, "canonical_json": canonical_json,
                  "decode_only": True, "note": note})


# --- the vectors ------------------------------------------------------------------------------

# NaNs that are not canonical, by width: quiet with a payload, signalling, negative.
NANS = {
    2: [0x7E00, 0x7E01, 0x7FFF, 0x7C01, 0x7D00, 0xFE00, 0xFC01, 0xFFFF],
    4: [0x7FC00000, 0x7FC00001, 0x7FFFFFFF, 0x7F800001, 0x7FA00000, 0xFFC00000, 0xFF800001, 0xFFFFFFFF],
    8: [0x7FF8000000000000, 0x7FF8000000000001, 0x7FFFFFFFFFFFFFFF, 0x7FF0000000000001,
        0x7FF4000000000000, 0xFFF8000000000000, 0xFFF0000000000001, 0xFFFFFFFFFFFFFFFF],
}
NAN_NOTE = ("canonical quiet NaN, quiet NaN with payload 1, all-ones quiet NaN, signalling NaN (payload 1), "
            "signalling NaN (high payload bit), negative quiet NaN, negative signalling NaN, negative all-ones NaN")


def specials(width: int) -> list[int]:
    mant, exp = EXP[width]
    sign = 1 << (8 * width - 1)
    inf = ((1 << exp) - 1) << mant
    max_ = inf - 1
    tiny = 1 << mant  # smallest normal
    return [0, sign, inf, sign | inf, 1, sign | 1, (1 << mant) - 1, tiny, max_, sign | max_, fbits(1.5, width),
            fbits(-2.0, width)]


SPECIALS_NOTE = ("+0.0, -0.0, +inf, -inf, smallest subnormal, its negative, largest subnormal, smallest normal, "
                 "largest finite, its negative, 1.5, -2.0: all kept bit for bit")


def build() -> None:
    # bool
    array("bool/2d", "bool", [2, 3], [True, False, True, True, False, False], "one byte 0 or 1 per element")
    array("bool/0d", "bool", [], [True], "a 0-d array")
    ARRAYS.append(raw_array("bool/nonzero-bytes", "bool", [4], bytes([0, 1, 2, 0xFF]), bytes([0, 1, 1, 1]),
                            "bytes a library may hold for True (a chunk read as it is stored): canonical 1"))

    # integers: extremes, both signs, beyond 2^53
    for dt in ("int8", "int16", "int32", "int64"):
        bits = 8 * NUMERIC[dt][0]
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        vals = [lo, hi, 0, -1, 1, lo + 1]
        array(f"{dt}/extremes", dt, [2, 3], vals, "min, max, 0, -1, 1, min+1")
    for dt in ("uint8", "uint16", "uint32", "uint64"):
        hi = (1 << (8 * NUMERIC[dt][0])) - 1
        array(f"{dt}/extremes", dt, [2, 3], [0, hi, 1, hi - 1, hi // 2, hi // 2 + 1],
              "0, max, 1, max-1, and the two values around the sign bit")
    array("int64/beyond-2^53", "int64", [5],
          [2**53 + 1, -(2**53) - 1, 2**62 + 3, -(2**63) + 5, 2**63 - 7],
          "integers a double cannot hold (2^53+1 and others)")
    array("uint64/beyond-2^53", "uint64", [5], [2**53 + 1, 2**63, 2**63 + 1, 2**64 - 3, 18446744073709551610],
          "integers a double or a signed 64-bit integer cannot hold")
    array("int16/0d", "int16", [], [-12345], "a 0-d array")
    array("int32/3d", "int32", [2, 3, 4], [(i * 7919) % 65536 - 32768 for i in range(24)], "3-d, C order")
    array("uint16/empty", "uint16", [2, 0], [], "no elements: canonical bytes are empty")

    # floats: every NaN payload, signed zeros, subnormals, infinities
    for dt, width in (("float16", 2), ("float32", 4), ("float64", 8)):
        array(f"{dt}/specials", dt, [12], specials(width), SPECIALS_NOTE)
        nans = NANS[width]
        one = fbits(1.0, width)
        array(f"{dt}/nan-payloads", dt, [3, 3], nans + [one], NAN_NOTE + "; then 1.0 (kept)")
        array(f"{dt}/0d-signalling-nan", dt, [], [nans[3]], "a 0-d signalling NaN")
        array(f"{dt}/5d", dt, [1, 2, 1, 3, 2],
              [fbits(x, width) for x in (0.5, -0.5, 2.0, -0.0, 0.25, 3.0, -4.0, 8.0, 0.125, -16.0)] +
              [nans[1], nans[6]], "5-d, C order, two non-canonical NaNs at the end")
    array("float32/empty", "float32", [0], [], "no elements: canonical bytes are empty")

    # complex: NaNs in either part
    for dt, width in (("complex64", 4), ("complex128", 8)):
        nans, one, two = NANS[width], fbits(1.0, width), fbits(-2.5, width)
        sign, inf = 1 << (8 * width - 1), ((1 << EXP[width][1]) - 1) << EXP[width][0]
        array(f"{dt}/nan-parts", dt, [2, 4], [
            [nans[1], one],      # quiet NaN with payload, real part
            [one, nans[3]],      # signalling NaN, imaginary part
            [nans[5], nans[6]],  # negative NaNs in both parts
            [nans[0], nans[0]],  # canonical NaN in both parts (kept)
            [sign, inf],         # -0.0 + inf i
            [1, sign | 1],       # subnormals of both signs
            [two, sign],         # -2.5 - 0.0 i
            [nans[7], two],      # negative all-ones NaN, real part
        ], "each part canonicalised as a float of its width: NaN payloads in either part, -0.0, inf, subnormals")
        array(f"{dt}/0d", dt, [], [[nans[4], sign]], "a 0-d array: signalling NaN real part, -0.0 imaginary part")

    # S<n>: bytes, high bytes, embedded and trailing NULs
    array("S4/high-bytes-and-padding", "S4", [2, 3], [
        b"\xff\xfe\x80\x01", b"z\x00\x00\x00", b"ab\x00\x00", b"\x00\x00\x00\x00", b"abcd", b"\xc3\xa9\xe2\x82",
    ], "n bytes per element as they are: high bytes, trailing NULs (padding), all NULs, no padding, "
       "UTF-8 cut in the middle of a character")
    array("S4/embedded-nuls", "S4", [3], [b"a\x00b\x00", b"\x00abc", b"\x00\x00\x00\xff"],
          "NULs before other bytes are kept (not representable in a C string)")
    array("S1/0d", "S1", [], [b"\xff"], "a 0-d array of one high byte")
    array("S6/text", "S6", [3], [b"zarr\x00\x00", b"abcdef", b"caf\xc3\xa9\x00"], "ASCII and UTF-8 text, NUL-padded")

    # U<n>: code points as UTF-32LE, astral and combining characters
    array("U3/astral-and-combining", "U3", [2, 3], [
        "\U0001F9CA", "e\u0301", "\u6570\u636e", "", "a\U0001F600b", "\U0010FFFF",
    ], "one UTF-32 code unit per code point: astral (non-BMP) characters, a combining accent (not normalised), "
       "CJK, the empty string, the last code point")
    array("U3/embedded-nul", "U3", [2], ["a\0b", "\0z"], "embedded and leading NUL code points are kept")
    array("U1/0d", "U1", [], ["\u00e9"], "a 0-d array")

    # string: variable-length UTF-8
    array("string/mixed", "string", [2, 4], [
        "", "a", "\U0001F9CA", "e\u0301", "na\u00efve caf\u00e9", "\u6570\u636e", "\U0010FFFF", "tab\tand\nnewline",
    ], "4-byte little-endian UTF-8 length then the bytes: empty, astral, combining, CJK, control characters")
    array("string/embedded-nul", "string", [2], ["a\0b", "\0"],
          "an embedded NUL is part of the string (not representable in a C string)")
    array("string/0d", "string", [], ["\u6570\u636e \U0001F9CA"], "a 0-d array")
    array("string/all-empty", "string", [3], ["", "", ""], "only empty strings: 4 zero bytes each")

    # --- fill values ---------------------------------------------------------------------
    fill("bool/true", "bool", True, "JSON true")
    fill("bool/false", "bool", False, "JSON false")
    for dt in ("int8", "int16", "int32", "int64"):
        bits = 8 * NUMERIC[dt][0]
        fill(f"{dt}/min", dt, -(1 << (bits - 1)), "the most negative value, exact")
        fill(f"{dt}/max", dt, (1 << (bits - 1)) - 1, "the largest value, exact")
    for dt in ("uint8", "uint16", "uint32", "uint64"):
        fill(f"{dt}/max", dt, (1 << (8 * NUMERIC[dt][0])) - 1, "the largest value, exact (beyond the signed range)")
    fill("int16/neg7", "int16", -7, "a small negative integer")
    fill("int64/beyond-2^53", "int64", -(2**53) - 1, "a JSON integer a double cannot hold")
    fill("uint64/beyond-2^53", "uint64", 2**53 + 1, "a JSON integer a double cannot hold")
    fill("uint64/near-max", "uint64", 18446744073709551610, "a JSON integer beyond the signed 64-bit range")
    for dt, width in (("float16", 2), ("float32", 4), ("float64", 8)):
        nans = NANS[width]
        fill(f"{dt}/nan", dt, nans[0], "the canonical quiet NaN: the string \"NaN\"")
        fill(f"{dt}/nan-payload", dt, nans[1], "a quiet NaN with a payload: \"NaN\" (JSON has no payload)")
        fill(f"{dt}/nan-signalling", dt, nans[3], "a signalling NaN: \"NaN\"")
        fill(f"{dt}/nan-negative", dt, nans[5], "a negative NaN: \"NaN\"")
        sp = specials(width)
        fill(f"{dt}/infinity", dt, sp[2], "the string \"Infinity\"")
        fill(f"{dt}/-infinity", dt, sp[3], "the string \"-Infinity\"")
        fill(f"{dt}/-0.0", dt, sp[1], "-0.0, a number whose sign is kept")
        fill(f"{dt}/0.0", dt, sp[0], "0.0")
        fill(f"{dt}/subnormal", dt, sp[4], "the smallest subnormal, exactly")
        fill(f"{dt}/max", dt, sp[8], "the largest finite value, exactly")
        fill(f"{dt}/1.5", dt, fbits(1.5, width), "1.5")
    fill("float32/0.1", "float32", 0x3DCCCCCD, "float32(0.1) as the double it is exactly; decodes to the same float32")
    fill("float64/0.1", "float64", fbits(0.1, 8), "0.1: the shortest JSON spelling that round-trips")
    for dt, width in (("complex64", 4), ("complex128", 8)):
        nans, sp = NANS[width], specials(width)
        fill(f"{dt}/nan-real", dt, [nans[1], fbits(1.5, width)], "[\"NaN\", 1.5] from a NaN with a payload")
        fill(f"{dt}/nan-both", dt, [nans[3], nans[5]], "signalling and negative NaN parts: [\"NaN\", \"NaN\"]")
        fill(f"{dt}/-0.0-and-infinity", dt, [sp[1], sp[2]], "[-0.0, \"Infinity\"]")
        fill(f"{dt}/zero", dt, [0, 0], "[0.0, 0.0]")
        fill(f"{dt}/-infinity-and-subnormal", dt, [sp[3], sp[4]], "[\"-Infinity\", smallest subnormal]")
    fill("S6/nul-padded", "S6", b"ab\0\0\0\0", "base64 of the bytes without the trailing NULs: \"YWI=\"")
    fill("S6/all-nul", "S6", b"\0" * 6, "all NULs: base64 of no bytes, \"\"")
    fill("S6/full", "S6", b"abcdef", "no padding")
    fill("S4/high-bytes", "S4", b"\xff\x80\x7f\x00", "high bytes are kept")
    fill("S4/embedded-nul", "S4", b"\xff\x00\x80\x00", "an embedded NUL is kept (not representable in a C string)")
    fill("S4/text", "S4", "\u00e9t", "a library that reports text: its UTF-8 bytes (not Latin-1)")
    fill("U3/astral", "U3", "\U0001F9CA", "a JSON string")
    fill("U3/combining", "U3", "e\u0301", "a JSON string, not normalised")
    fill("U5/empty", "U5", "", "the empty string")
    fill("string/empty", "string", "", "the empty string")
    fill("string/mixed", "string", "\u6570\u636e \U0001F9CA e\u0301", "CJK, astral and combining characters")
    fill("string/embedded-nul", "string", "a\0b", "an embedded NUL is part of the string")
    fill("float64/null", "float64", None, "no fill value (zarr v2 fill_value null): JSON null")
    fill("int16/null", "int16", None, "no fill value: JSON null")
    fill("S6/null", "S6", None, "no fill value: JSON null")
    fill("string/null", "string", None, "no fill value: JSON null")

    fill_decode_only("S6/nul-padded-spelling", "S6", "AAAAAAAA", {"hex": "00" * 6}, "",
                     "base64 of n NUL bytes (the case catalogue's spelling, as zarr v2 writers pad it): "
                     "decodes to n NULs, which readers report as \"\"")
    fill_decode_only("S6/partly-padded-spelling", "S6", "YWIAAA==", {"hex": "616200000000"}, "YWI=",
                     "trailing NULs inside the base64 are padding too")
    fill_decode_only("float64/integer-spelling", "float64", 1, {"hex": bits_hex(fbits(1.0, 8), 8)}, 1.0,
                     "an integer JSON number for a float dtype decodes to that float")
    fill_decode_only("float32/double-spelling", "float32", 0.1, {"hex": bits_hex(0x3DCCCCCD, 4)},
                     0.10000000149011612, "a double that is not a float32 rounds to the nearest float32")
    fill_decode_only("complex128/integer-parts", "complex128", [0, -1],
                     {"hex": bits_hex(0, 8) + bits_hex(fbits(-1.0, 8), 8)}, [0.0, -1.0],
                     "integer JSON numbers as complex parts")


def document() -> dict:
    build()
    assert len({v["name"] for v in ARRAYS}) == len(ARRAYS) and len({v["name"] for v in FILLS}) == len(FILLS)
    return {
        "schema_version": SCHEMA_VERSION,
        "protocol": 1,
        "description": "Test vectors of the canonical bytes, hashes and fill-value JSON of protocol v1 "
                       "(docs/protocol.md). Schema: canonical/README.md. Generated by "
                       "canonical/python/make_vectors.py; committed, never regenerated by tests.",
        "arrays": ARRAYS,
        "fill_values": FILLS,
    }


def render(doc: dict) -> str:
    # ASCII only (non-ASCII as \u escapes, astral characters as surrogate pairs): every JSON
    # parser reads it the same. One vector per line, so that a diff shows vectors.
    def dumps(v):
        return json.dumps(v, ensure_ascii=True)

    head = {k: v for k, v in doc.items() if k not in ("arrays", "fill_values")}
    lines = ["{"] + [f" {dumps(k)}: {dumps(v)}," for k, v in head.items()]
    for key in ("arrays", "fill_values"):
        items = [f"  {dumps(v)}" for v in doc[key]]
        lines += [f" {dumps(key)}: [", ",\n".join(items), " ]" + ("," if key == "arrays" else "")]
    return "\n".join(lines + ["}"]) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed file instead of writing it")
    args = ap.parse_args(argv)
    text = render(document())
    if args.check:
        if OUT.read_text() != text:
            print(f"{OUT} is not what make_vectors.py makes", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT} ({len(ARRAYS)} arrays, {len(FILLS)} fill values)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

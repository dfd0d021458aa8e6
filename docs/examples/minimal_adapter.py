"""A minimal, self-contained protocol-v1 adapter: zarr-python 3 as a reader.

This is the example of docs/adding-an-implementation.md, written from scratch
against docs/protocol.md (it does not use the project's zc_adapter package), so
that an implementer in any language can see everything an adapter does. It
reads numeric arrays from local directories and answers `unsupported` for the
rest. tests/test_docs_example.py runs it in the matrix against real datasets.

    python minimal_adapter.py            # the persistent JSON-lines loop
    python minimal_adapter.py hello      # one-shot, for debugging
    python minimal_adapter.py read --target-json '{"kind":"local","path":"/data/ds"}' --path array --format zarr3
"""

import argparse
import hashlib
import json
import math
import sys

import numpy as np
import zarr

QNAN = {2: 0x7E00, 4: 0x7FC00000, 8: 0x7FF8000000000000}


class Unsupported(Exception):
    pass


def canonical_bytes(a: np.ndarray) -> bytes:
    """C order, little-endian, one byte per bool, every NaN the canonical quiet NaN."""
    if a.dtype.kind not in "biufc":
        raise Unsupported(f"this example hashes numeric arrays only, not {a.dtype}")
    a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
    if a.dtype.kind in "fc":
        parts = a.reshape(-1).view(f"<f{a.dtype.itemsize // (2 if a.dtype.kind == 'c' else 1)}")
        bits = parts.view(f"<u{parts.dtype.itemsize}").copy()
        bits[np.isnan(parts)] = QNAN[parts.dtype.itemsize]
        return bits.tobytes()
    return a.tobytes()


def dtype_name(dt: np.dtype) -> str:
    kind = {"b": "bool", "i": "int", "u": "uint", "f": "float", "c": "complex"}[dt.kind]
    return kind if kind == "bool" else f"{kind}{dt.itemsize * 8}"


def fill_json(v, dt: np.dtype):
    if v is None:
        return None
    if dt.kind == "b":
        return bool(v)
    if dt.kind in "iu":
        return int(v)

    def f(x):
        return "NaN" if math.isnan(x) else ("Infinity" if x == math.inf else "-Infinity" if x == -math.inf else float(x))

    return [f(complex(v).real), f(complex(v).imag)] if dt.kind == "c" else f(float(v))


def read(req: dict) -> dict:
    target = req["target"]
    if target.get("kind") != "local":
        raise Unsupported(f"this example reads local directories only, not {target.get('kind')}")
    if req.get("format") not in ("zarr2", "zarr3"):
        raise Unsupported(f"zarr-python 3 does not read {req.get('format')}")
    arr = zarr.open_array(store=target["path"], path=req["path"], mode="r",
                          zarr_format=2 if req["format"] == "zarr2" else 3)
    data = np.asarray(arr[...])
    raw = canonical_bytes(data)
    if req.get("dump"):
        with open(req["dump"], "wb") as f:
            f.write(raw)
    return {"status": "ok", "shape": list(data.shape), "dtype": dtype_name(data.dtype),
            "hash": "sha256:" + hashlib.sha256(raw).hexdigest(),
            "fill_value": fill_json(arr.fill_value, data.dtype), "attributes": dict(arr.attrs)}


def handle(req: dict) -> dict:
    op, rid = req.get("op"), req.get("id")
    if op == "hello":
        return {"ok": True, "impl": "zarr-python", "version": zarr.__version__, "language": "python",
                "verbs": ["read"], "protocol": 1}
    try:
        if op == "read":
            return {"id": rid, **read(req)}
        if op == "write":
            raise Unsupported("this example only reads")
        return {"id": rid, "status": "error", "error": f"BadRequest: unknown op {op!r}"}
    except Unsupported as exc:
        return {"id": rid, "status": "unsupported", "error": str(exc)}
    except Exception as exc:  # the library's own error, verbatim
        return {"id": rid, "status": "error", "error": f"{type(exc).__name__}: {exc}"}


def serve() -> int:
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
        except ValueError as exc:
            resp = {"id": None, "status": "error", "error": f"BadRequest: {exc}"}
        else:
            if req.get("op") == "bye":
                return 0
            resp = handle(req)
        print(json.dumps(resp), flush=True)  # one line per response, nothing else on stdout
    return 0


def main() -> int:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd")
    sub.add_parser("hello")
    r = sub.add_parser("read")
    r.add_argument("--target-json", required=True)
    r.add_argument("--path", default="")
    r.add_argument("--format", default="zarr3")
    r.add_argument("--dump")
    args = p.parse_args()
    if args.cmd is None:
        return serve()
    req = {"op": "hello"} if args.cmd == "hello" else {
        "op": "read", "id": "cli", "target": json.loads(args.target_json), "path": args.path,
        "format": args.format, "dump": args.dump}
    print(json.dumps(handle(req), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

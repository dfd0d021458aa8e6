"""Protocols 1 and 2 (regions) for Python adapters: a persistent JSON-lines loop and a one-shot CLI.

A backend (one per library, see backends/) only knows its library: how to
write a case and how to read an array. Everything the protocol fixes, such as
decoding reference data, hashing, dumps, errors as "Type: message", lives here,
so every Python adapter answers in exactly the same way.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import zc_canonical as canonical

PROTOCOL = 2  # 2: reads of a region (docs/protocol.md)

BACKENDS = {
    "zarr3": "zc_adapter.backends.zarr3",
    "zarr2": "zc_adapter.backends.zarr2",
    "tensorstore": "zc_adapter.backends.tensorstore",
    "z5py": "zc_adapter.backends.z5py",
    "netcdf4": "zc_adapter.backends.netcdf4",
    "zarrs": "zc_adapter.backends.zarrs",
    "zarr3-obstore": "zc_adapter.backends.zarr3_obstore",
    "gdal": "zc_adapter.backends.gdal",
    "zarr-n5": "zc_adapter.backends.zarr_n5",
    "pyn5": "zc_adapter.backends.pyn5",
    "cpp-zarr": "zc_adapter.backends.cpp_zarr",
    "acquire-zarr": "zc_adapter.backends.acquire_zarr",
    "kerchunk": "zc_adapter.backends.kerchunk",
    "virtualizarr": "zc_adapter.backends.virtualizarr",
}


class Unsupported(Exception):
    """The library (or this adapter's use of it) lacks the feature a request needs."""


@dataclass
class ReadResult:
    array: np.ndarray
    fill_value: Any = None  # a Python/numpy scalar, or None when the format has none
    attributes: dict = field(default_factory=dict)
    dtype: str | None = None  # canonical name; derived from array.dtype when None


class Backend:
    """What a library backend provides. Subclasses set `impl` and override."""

    impl = "?"
    language = "python"
    verbs = ("read", "write")

    def version(self) -> str:
        raise NotImplementedError

    def versions(self) -> dict:
        """Other component versions worth recording (codec libraries...)."""
        return {}

    def write(self, case: dict, data: np.ndarray, target: dict) -> None:
        raise Unsupported("this adapter does not write")

    def read(self, target: dict, path: str, fmt: str | None, region: tuple[slice, ...] | None = None) -> ReadResult:
        """The array at path, or only its region (one slice with a step per axis, in the protocol's view)
        read through the library's own selection, so that it fetches only the chunks the region touches."""
        raise Unsupported("this adapter does not read")


def load_backend(name: str) -> Backend:
    if name not in BACKENDS:
        raise SystemExit(f"unknown backend {name!r}; known: {', '.join(sorted(BACKENDS))}")
    return importlib.import_module(BACKENDS[name]).BACKEND()


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


class BadRequest(Exception):
    pass


def parse_region(region) -> tuple[slice, ...] | None:
    """A request's region ([start, stop, step] per axis) as slices; None for the whole array."""
    if region is None:
        return None
    ok = isinstance(region, list) and all(
        isinstance(r, list) and len(r) == 3 and all(isinstance(v, int) and not isinstance(v, bool) for v in r)
        and 0 <= r[0] < r[1] and r[2] >= 1 for r in region)
    if not ok:
        raise BadRequest(f"a region is a list of [start, stop, step] with 0 <= start < stop and step >= 1: {region!r}")
    return tuple(slice(start, stop, step) for start, stop, step in region)


def check_region(region: tuple[slice, ...] | None, shape) -> None:
    """A region must have one slice per axis, inside the shape (an adapter calls it once the array is open)."""
    if region is None:
        return
    if len(region) != len(shape) or any(s.stop > n for s, n in zip(region, shape)):
        raise BadRequest(f"region {[[s.start, s.stop, s.step] for s in region]} does not fit shape {list(shape)}")


def bounding_box(region: tuple[slice, ...]) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
    """For a library without strided selection: the region's box (step 1) to read, and the steps to take
    from what it returns."""
    return tuple(slice(s.start, s.stop) for s in region), tuple(slice(None, None, s.step) for s in region)


class Adapter:
    def __init__(self, backend: Backend):
        self.backend = backend

    def hello(self, req: dict) -> dict:
        return {
            "ok": True,
            "impl": self.backend.impl,
            "version": self.backend.version(),
            "language": self.backend.language,
            "verbs": list(self.backend.verbs),
            "protocol": PROTOCOL,
            "components": self.backend.versions(),
        }

    def write(self, req: dict) -> dict:
        case = req["case"]
        with open(req["data"], "rb") as f:
            data = canonical.from_canonical_bytes(f.read(), case["dtype"], case["shape"])
        self.backend.write(case, data, req["target"])
        return {"status": "ok"}

    def read(self, req: dict) -> dict:
        t0 = time.perf_counter()
        region = parse_region(req.get("region"))
        result = self.backend.read(req["target"], req.get("path", ""), req.get("format"), region)
        elapsed = (time.perf_counter() - t0) * 1000
        arr = np.asarray(result.array)
        dtype = result.dtype or canonical.dtype_name(arr.dtype)
        raw = canonical.canonical_bytes(arr, dtype)
        if req.get("dump"):
            with open(req["dump"], "wb") as f:
                f.write(raw)
        return {
            "status": "ok",
            "shape": list(arr.shape),
            "dtype": dtype,
            "hash": "sha256:" + hashlib.sha256(raw).hexdigest(),
            "fill_value": canonical.fill_to_json(result.fill_value, dtype),
            "attributes": result.attributes or {},
            "elapsed_ms": round(elapsed, 3),
        }

    def handle(self, req: dict) -> dict:
        op = req.get("op")
        rid = req.get("id")
        try:
            if op == "hello":
                return self.hello(req)
            if op not in ("read", "write"):
                return {"id": rid, "status": "error", "error": f"BadRequest: unknown op {op!r}"}
            if op not in self.backend.verbs:
                return {"id": rid, "status": "unsupported", "error": f"this adapter does not {op}"}
            missing = [k for k in (("case", "data", "target") if op == "write" else ("target",)) if k not in req]
            if missing:
                return {"id": rid, "status": "error", "error": f"BadRequest: missing {', '.join(missing)}"}
            resp = self.write(req) if op == "write" else self.read(req)
        except Unsupported as exc:
            return {"id": rid, "status": "unsupported", "error": str(exc)}
        except BadRequest as exc:
            return {"id": rid, "status": "error", "error": f"BadRequest: {exc}"}
        except Exception as exc:  # the library's own error, reported verbatim
            traceback.print_exc(file=sys.stderr)
            return {"id": rid, "status": "error", "error": error_text(exc)}
        resp["id"] = rid
        return resp

    def serve(self, stdin=None, stdout=None) -> int:
        stdin = stdin or sys.stdin
        stdout = stdout or sys.stdout
        for line in stdin:
            line = line.strip()
            if not line:
                continue
            try:
                req = json.loads(line)
                if not isinstance(req, dict):
                    raise ValueError("a request is a JSON object")
            except ValueError as exc:
                resp = {"id": None, "status": "error", "error": f"BadRequest: {exc}"}
            else:
                if req.get("op") == "bye":
                    return 0
                resp = self.handle(req)
            stdout.write(json.dumps(resp, allow_nan=False) + "\n")
            stdout.flush()
        return 0


def add_verbs(parser: argparse.ArgumentParser) -> None:
    """The one-shot verbs (docs/protocol.md "One-shot use") on an adapter's command line."""
    sub = parser.add_subparsers(dest="cmd")
    sub.add_parser("serve", help="persistent JSON-lines loop on stdin/stdout (the default)")
    sub.add_parser("hello", help="print the handshake")
    r = sub.add_parser("read", help="read one array and print the response")
    r.add_argument("--target-json", required=True)
    r.add_argument("--path", default="")
    r.add_argument("--format", default=None)
    r.add_argument("--dump", default=None)
    r.add_argument("--region-json", default=None, help="read only this region: [[start, stop, step], ...] per axis")
    w = sub.add_parser("write", help="write one case and print the response")
    w.add_argument("--case-json", required=True, help="the case as JSON, or @file")
    w.add_argument("--data", required=True)
    w.add_argument("--target-json", required=True)


def run_verb(adapter: Adapter, args: argparse.Namespace) -> int:
    """Serve, or run one request from the command line and print its response."""
    # Protocol output only on stdout: libraries that print go to stderr.
    real_stdout, sys.stdout = sys.stdout, sys.stderr
    if args.cmd in (None, "serve"):
        return adapter.serve(stdout=real_stdout)

    def arg_json(text: str):
        if text.startswith("@"):
            with open(text[1:]) as f:
                return json.load(f)
        return json.loads(text)

    if args.cmd == "hello":
        resp = adapter.handle({"op": "hello", "protocol": PROTOCOL})
    elif args.cmd == "read":
        resp = adapter.handle({"op": "read", "id": "cli", "target": arg_json(args.target_json),
                               "path": args.path, "format": args.format, "dump": args.dump,
                               "region": json.loads(args.region_json) if args.region_json else None})
    else:
        resp = adapter.handle({"op": "write", "id": "cli", "case": arg_json(args.case_json),
                               "data": args.data, "target": arg_json(args.target_json)})
    real_stdout.write(json.dumps(resp, indent=2) + "\n")
    return 0 if resp.get("ok") or resp.get("status") in ("ok",) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zc_adapter", description="Zarr conformance adapter (protocols 1 and 2)")
    parser.add_argument("--backend", required=True, choices=sorted(BACKENDS))
    add_verbs(parser)
    args = parser.parse_args(argv)
    return run_verb(Adapter(load_backend(args.backend)), args)

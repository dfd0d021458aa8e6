"""The docker runner against the local runner, side by side in one run.

Reads the same cells with `--runner local` and `--runner docker` (warm images:
build them first with `zarr-conformance images build`), alternating the two
for --rounds rounds so that both see the same machine, and prints for each the
cells per second of the read phase, the time to start the adapters, and the
ratio docker/local of the read time (the target is at most 1.5). Datasets are
written once (by the first round) and reused from the cache by every later one.

    python bench/docker_vs_local.py [--readers zarr-python@3.1.6,zarrs@0.23.14] [--cases 'v2/*/zlib/edge']
                                    [--stores local,s3-moto] [--rounds 2] [--jobs 2]

With --compare RUN_DIR RUN_DIR it compares two finished runs (say one with
each runner) cell for cell instead: outcome, message (paths, ports and random
ids aside), diagnosis, every write's status, and the handshakes; it prints the
differences and exits 1 when there are any.

    python bench/docker_vs_local.py --compare reports/docker reports/local
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import json  # noqa: E402
import re  # noqa: E402

from harness.plan import Selection  # noqa: E402
from harness.run import RunOptions, Session  # noqa: E402

READERS = "zarr-python@3.1.6,zarrita-js@0.7.5,zarrs@0.23.14,zarr-java@0.0.9,netcdf-c@4.9.0,gdal@3.6.2"
CASES = "v2/*/zlib/edge,v3/*/zstd/edge,v3/*/shard-*"


_PATHS = re.compile(r"(/zc/(datasets|staging|scratch|reference)|/\S*?/(datasets|\.staging|zc-scratch-\w+|reference))"
                    r"(/[^\s'\"),:]*)?")


def normalise(text: str) -> str:
    """A message without what differs between two runs by construction: paths, ports, request ids, timings."""
    text = _PATHS.sub("<path>", text or "")
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)
    text = re.sub(r"/tmp/zc-[\w.-]+", "<tmpfile>", text)  # an adapter's temporary files (credentials)
    text = re.sub(r"(Request ID|RequestId|request id)[:=]\s*[\w+/=-]+", r"\1: <id>", text)
    text = re.sub(r"\b\d+(\.\d+)?\s?(ns|µs|us|ms|s)\b", "<time>", text)  # how long a request took
    # Garbage decoded as a size: a reader that reads the wrong bytes of several shards at once names
    # whichever failed first (zarrita.js and index_location "start"), so the number differs run to run.
    text = re.sub(r"\b\d[\d_]{12,}\b", "<number>", text)
    return re.sub(r"\b[0-9a-f]{12,}\b", "<hex>", text)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


def _same_nondeterministic(a, b) -> bool:
    """A reader that returns different data on every read (netcdf-c's raw compressed bytes) gets a
    diagnosis that depends on which reads differed: the same outcome and message is the same verdict."""
    return bool(a and b and a[:2] == b[:2] and "nondeterministic" in a[2] + b[2])


def _handshake(hello: dict) -> dict:
    """A handshake without the paths some adapters report among their components (where a plugin
    directory is: inside the container or on the host)."""
    comps = {k: ("<path>" if isinstance(v, str) and v.startswith("/") else v)
             for k, v in (hello.get("components") or {}).items()}
    return {**hello, "components": comps}


def compare(a: Path, b: Path) -> list[str]:
    """The differences between two runs, cell for cell (empty: the same verdicts)."""
    out = []
    for name in ("results.jsonl", "writes.jsonl"):
        key = (lambda r: (r["writer"], r["case"], r["store"], r["access"], r["reader"])) if name == "results.jsonl" \
            else (lambda r: (r["writer"], r["case"], r.get("store") or ""))
        val = (lambda r: (r["outcome"], normalise(r["message"]), r.get("diagnosis") or "")) \
            if name == "results.jsonl" else (lambda r: (r["status"], normalise(r["message"])))
        ra = {key(r): val(r) for r in _jsonl(a / name)}
        rb = {key(r): val(r) for r in _jsonl(b / name)}
        for k in sorted(set(ra) | set(rb)):
            if ra.get(k) != rb.get(k) and not _same_nondeterministic(ra.get(k), rb.get(k)):
                out.append(f"{name[:-6]} {'/'.join(k)}: {ra.get(k, 'absent')} | {rb.get(k, 'absent')}")
    ha = json.loads((a / "run.json").read_text()).get("implementations", {})
    hb = json.loads((b / "run.json").read_text()).get("implementations", {})
    for impl in sorted(set(ha) & set(hb)):
        if _handshake(ha[impl]) != _handshake(hb[impl]):
            out.append(f"handshake {impl}: {json.dumps(ha[impl])} | {json.dumps(hb[impl])}")
    return out


def one_run(runner: str, sel: Selection, jobs: int, out: Path) -> dict:
    session = Session(RunOptions(selection=sel, jobs=jobs, out=str(out), quiet=True, runner=runner))
    try:
        session.prepare()
        refused = {i: why for i, why in session.adapters.not_available.items()}
        session.read_all()
    finally:
        session.close()
    info = session.finish()
    cells = sum(info["counts"].values())
    skipped = info["counts"].get("skipped", 0)
    return {"runner": runner, "cells": cells, "skipped": skipped, "read_s": session.timings.get("read", 0.0),
            "start_s": session.timings.get("start_adapters", 0.0), "refused": refused, "counts": info["counts"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--readers", default=READERS)
    ap.add_argument("--writer", default="zarr-python@3.1.6")
    ap.add_argument("--cases", default=CASES)
    ap.add_argument("--stores", default="local,s3-moto")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--compare", nargs=2, metavar="RUN_DIR", help="compare two finished runs cell for cell")
    args = ap.parse_args()
    if args.compare:
        a, b = map(Path, args.compare)
        diffs = compare(a, b)
        for line in diffs:
            print(line)
        n = len(_jsonl(a / "results.jsonl"))
        print(f"{n} cells: " + (f"{len(diffs)} differences" if diffs else "identical, handshakes included"))
        return 1 if diffs else 0

    sel = Selection(readers=tuple(args.readers.split(",")), writers=(args.writer,),
                    cases=tuple(args.cases.split(",")), stores=tuple(args.stores.split(",")))
    tmp = Path(tempfile.mkdtemp(prefix="zc-bench-docker-"))
    results: dict[str, list[dict]] = {"local": [], "docker": []}
    # A first local round writes the datasets (not timed against docker: writing is not reading).
    warm = one_run("local", sel, args.jobs, tmp / "warm-up")
    print(f"warm-up (local): {warm['cells']} cells, datasets written and cached", flush=True)
    for n in range(args.rounds):
        for runner in ("docker", "local") if n % 2 else ("local", "docker"):
            r = one_run(runner, sel, args.jobs, tmp / f"{runner}-{n}")
            results[runner].append(r)
            print(f"round {n + 1} {runner:6s}: {r['cells']} cells in {r['read_s']:.1f} s "
                  f"({r['cells'] / max(r['read_s'], 1e-9):.1f} cells/s), adapters started in {r['start_s']:.1f} s",
                  flush=True)
    docker_refused = results["docker"][0]["refused"]
    if docker_refused:
        print("not available in containers (build their images first):", file=sys.stderr)
        for impl, why in docker_refused.items():
            print(f"  {impl}: {why}", file=sys.stderr)
        return 1
    if results["docker"][0]["counts"] != results["local"][0]["counts"]:
        print(f"outcomes differ: docker {results['docker'][0]['counts']} local {results['local'][0]['counts']}",
              file=sys.stderr)

    def med(runner, key):
        return statistics.median(r[key] for r in results[runner])

    cells = results["local"][0]["cells"]
    local_s, docker_s = med("local", "read_s"), med("docker", "read_s")
    print(f"\nreaders: {args.readers}; stores: {args.stores}; {cells} cells, {args.jobs} jobs, "
          f"median of {args.rounds} rounds")
    print(f"local runner:   {cells / local_s:8.1f} cells/s (read {local_s:.1f} s, start {med('local', 'start_s'):.1f} s)")
    print(f"docker runner:  {cells / docker_s:8.1f} cells/s (read {docker_s:.1f} s, start {med('docker', 'start_s'):.1f} s)")
    ratio = docker_s / local_s
    print(f"ratio docker/local (read time): {ratio:.2f} (target <= 1.5)")
    total = (docker_s + med("docker", "start_s")) / (local_s + med("local", "start_s"))
    print(f"ratio docker/local (start + read): {total:.2f}")
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())

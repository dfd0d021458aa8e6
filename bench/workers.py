"""Persistent workers against one process per cell, side by side in one run.

Runs the same read cells twice against one implementation: once through the
harness's persistent workers, once starting a fresh adapter process per cell
(as harnesses that shell out per cell do). Prints cells per second of each,
their ratio, and the harness's own overhead per cell: the time a cell takes
in the harness minus the time the adapter spent reading (its elapsed_ms).

    python bench/workers.py [--reader zarr-python@3.1.6] [--cases 'v2/*'] [--limit 60]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.plan import Selection  # noqa: E402
from harness.read import read_cell  # noqa: E402
from harness.run import RunOptions, Session  # noqa: E402
from harness.workers import WorkerPool  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reader", default="zarr-python@3.1.6")
    ap.add_argument("--writer", default=None, help="default: the reader")
    ap.add_argument("--cases", default="v2/*,v3/*")
    ap.add_argument("--limit", type=int, default=60, help="cells per mode")
    ap.add_argument("--matrix", default=None)
    args = ap.parse_args()

    out = Path(tempfile.mkdtemp(prefix="zc-bench-"))
    sel = Selection(matrix=args.matrix, writers=(args.writer or args.reader,), readers=(args.reader,),
                    cases=tuple(args.cases.split(",")), stores=("local",))
    session = Session(RunOptions(selection=sel, jobs=1, out=str(out), quiet=True))
    try:
        session.prepare()
        ready = (session.runtime(c)[0] for c in session.plan.cells)
        cells = [c for c in ready if c is not None and c.dataset.ok][: args.limit]
        if not cells:
            print("no cells: the writer wrote none of these cases", file=sys.stderr)
            return 1
        hashes = {c.dataset.case.id: session.expected_hash(c.dataset.case) for c in cells}
        reader_id = cells[0].reader.id
        # Warm up: first imports, file system cache.
        for c in cells[:3]:
            read_cell(session.adapters.pool, c, hashes[c.dataset.case.id])

        t0 = time.perf_counter()
        harness_ms, adapter_ms = [], []
        for c in cells:
            s = time.perf_counter()
            o = read_cell(session.adapters.pool, c, hashes[c.dataset.case.id])
            harness_ms.append((time.perf_counter() - s) * 1000)
            adapter_ms.append(o.reader_elapsed_ms or 0.0)
        persistent_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        for c in cells:
            pool = WorkerPool({reader_id: session.adapters.pool.environments[reader_id]})
            try:
                read_cell(pool, c, hashes[c.dataset.case.id])
            finally:
                pool.close()
        per_cell_s = time.perf_counter() - t0
    finally:
        session.close()

    n = len(cells)
    overhead = [h - a for h, a in zip(harness_ms, adapter_ms)]
    print(f"implementation: {reader_id}, {n} cells, local store, 1 job")
    print(f"persistent workers:        {n / persistent_s:8.1f} cells/s")
    print(f"one process per cell:      {n / per_cell_s:8.1f} cells/s")
    print(f"speed-up (persistent/per-cell): {per_cell_s / persistent_s:.1f}x")
    print(f"harness overhead per cell: median {statistics.median(overhead):.2f} ms, "
          f"mean {statistics.mean(overhead):.2f} ms (cell time in the harness minus the adapter's read time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

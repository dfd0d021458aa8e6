"""What a read cell costs on moto, two ways of running it side by side in one run:

* `--compare buckets`: the datasets of a run in one bucket per access mode (shards = 1) against
  spread over the store's buckets as the harness runs it (harness/stores.py S3Store.shards). moto
  answers a list request by scanning every key of the bucket; readers list on missing chunks and
  to find out what a key prefix is.
* `--compare server`: moto's application on werkzeug's development server (a new connection and
  thread for every request, `Connection: close`) against cheroot as the harness runs it (persistent
  connections, a pool of threads; harness/servers/moto_server.py).

Starts two moto stores of the harness; writes a few cases once with zarr-python (local disk),
publishes them to both, together with as many other objects as a run holds (--keys, the datasets
of the default profile: about 2,800 datasets, 40,000 objects), then reads every case with each
reader from both stores in alternating rounds and prints the mean time of a read and the ratio.

    python bench/s3_cell_cost.py [--compare buckets|server] [--readers zarr-python@3.4.2,gdal@3.12.2]
                                 [--keys 40000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.cases import catalogue  # noqa: E402
from harness.environments import setup  # noqa: E402
from harness.matrix import StoreSpec, load_matrix  # noqa: E402
from harness.stores import MotoS3Store  # noqa: E402
from harness.workers import Worker  # noqa: E402
from harness.reference import ReferenceStore  # noqa: E402

# Cases with every chunk, with missing chunks, sharded: the read patterns of the default tier.
CASES = ["v2/int16/zlib/edge", "v2/float64/zlib/fill-nan", "v3/int16/zstd/sparse", "v3/int16/shard-16x14",
         "v3/float32/shard-blosc/3d"]


def started(name: str, role: str) -> Worker:
    (iv,) = load_matrix().resolve_impls([name], role)
    w = Worker(setup(iv, log=lambda *a: None))
    w.start()
    return w


def moto(workdir: Path, shards: int = MotoS3Store.shards, http_server: str = MotoS3Store.http_server) -> MotoS3Store:
    store = MotoS3Store("s3-moto", StoreSpec(kind="s3-moto", access=["signed"]))
    store.shards = shards
    store.http_server = http_server
    store.start(workdir)
    return store


def variants(compare: str, workdir: Path) -> dict[str, MotoS3Store]:
    """The two stores compared, the harness's way second (the ratio is second / first)."""
    if compare == "buckets":
        return {"one bucket": moto(workdir, shards=1), f"{MotoS3Store.shards} buckets (harness)": moto(workdir)}
    return {"werkzeug": moto(workdir, http_server="werkzeug"), "cheroot (harness)": moto(workdir)}


def fill(store: MotoS3Store, keys: int) -> None:
    """Other datasets' objects: 15 small objects a dataset, spread as the store spreads datasets."""
    client = store.client()

    def put(i: int) -> None:
        key = f"datasets/other@{i // 15}/case"
        client.put_object(Bucket=store.bucket("signed", key), Key=f"{key}/c/{i % 15}", Body=b"x" * 64)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(keys)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--compare", choices=("buckets", "server"), default="buckets")
    ap.add_argument("--readers", default="zarr-python@3.4.2,gdal@3.12.2,zarrs-python")
    ap.add_argument("--keys", type=int, default=40_000, help="other objects in the store (a default run: ~40,000)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="zc-bench-"))
    refs = ReferenceStore(work / "ref")
    writer = started("zarr-python@3.4.2", "writer")
    cases = [catalogue()[c] for c in CASES]
    datasets = {}
    for case in cases:
        d = datasets[case.id] = work / "ds" / case.id.replace("/", "_")
        r = writer.request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                            "target": {"kind": "local", "path": str(d)}})
        assert r["status"] == "ok", r
    writer.stop()
    stores = variants(args.compare, work)
    try:
        for label, store in stores.items():
            print(f"publishing to {label}: {len(cases)} datasets and {args.keys:,} other objects", flush=True)
            for case in cases:
                store.publish(datasets[case.id], f"datasets/zarr-python@3.4.2/{case.id}", "signed")
            fill(store, args.keys)
        ratios = []
        for name in args.readers.split(","):
            reader = started(name, "reader")

            def read(store: MotoS3Store, case) -> float:
                key = f"datasets/zarr-python@3.4.2/{case.id}"
                t0 = time.perf_counter()
                reader.request({"op": "read", "format": case.format, "path": case.path,
                                "target": store.target(datasets[case.id], key, "signed")})
                return time.perf_counter() - t0

            for store in stores.values():  # a client's first request sets up its session: not timed
                read(store, cases[0])
            times: dict[str, list[float]] = {label: [] for label in stores}
            for _ in range(args.rounds):
                for label, store in stores.items():
                    times[label] += [read(store, case) for case in cases]
            reader.stop()
            (first, harness) = (statistics.mean(v) for v in times.values())
            ratios.append(harness / first)
            print(f"{name:22s} " + "   ".join(f"{label}: {1000 * statistics.mean(v):6.1f} ms a read"
                                              for label, v in times.items()) + f"   ratio {harness / first:.2f}")
        print(f"read time, {' / '.join(reversed(stores))}: {statistics.mean(ratios):.2f} (mean of the readers)")
    finally:
        for store in stores.values():
            store.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

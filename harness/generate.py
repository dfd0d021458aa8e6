"""Generate: every writer writes every case into the dataset cache.

Datasets are cached by (writer, writer version, adapter stamp, case digest):
a cached dataset, or a cached refusal, is reused across runs; a change of the
case definition, the lock file or the adapter code writes it anew.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from .cases import Case
from .environments import cache_root
from .matrix import ImplVersion
from .reference import ReferenceStore
from .workers import WorkerError, WorkerPool


@dataclass
class Dataset:
    writer: ImplVersion
    case: Case
    path: Path  # the dataset root (a directory)
    status: str  # ok | error | unsupported | timeout | crash
    message: str = ""
    cached: bool = False
    duration_ms: float = 0.0
    store: str | None = None  # set when the writer wrote straight into this store (native write mode)
    key: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class DatasetCache:
    def __init__(self, root: Path | None = None):
        self.root = Path(root or cache_root() / "datasets")

    def location(self, writer: ImplVersion, stamp: str, case: Case) -> Path:
        return self.root / writer.id / stamp / case.id / case.digest

    def load(self, writer: ImplVersion, stamp: str, case: Case) -> Dataset | None:
        loc = self.location(writer, stamp, case)
        status = loc / "status.json"
        if not status.exists():
            return None
        info = json.loads(status.read_text())
        return Dataset(writer, case, loc / "dataset", info["status"], info.get("message", ""), cached=True)

    def save(self, ds: Dataset, stamp: str, staged: Path | None) -> Dataset:
        """Move a written dataset into the cache atomically (concurrent runs may race)."""
        loc = self.location(ds.writer, stamp, ds.case)
        entry = staged.parent if staged is not None else self.root / ".staging" / uuid.uuid4().hex
        entry.mkdir(parents=True, exist_ok=True)
        if staged is not None and staged.exists() and not ds.ok:
            shutil.rmtree(staged, ignore_errors=True)
        (entry / "case.json").write_text(json.dumps(ds.case.to_json(), indent=1, ensure_ascii=False))
        (entry / "status.json").write_text(json.dumps({"status": ds.status, "message": ds.message}))
        loc.parent.mkdir(parents=True, exist_ok=True)
        if loc.exists():
            shutil.rmtree(loc, ignore_errors=True)  # a stale entry without status.json
        try:
            entry.rename(loc)
        except OSError:  # another run cached it first: use theirs
            shutil.rmtree(entry, ignore_errors=True)
            return self.load(ds.writer, stamp, ds.case) or ds
        ds.path = loc / "dataset"
        return ds


def write_dataset(pool: WorkerPool, cache: DatasetCache, refs: ReferenceStore,
                  writer: ImplVersion, stamp: str, case: Case) -> Dataset:
    hit = cache.load(writer, stamp, case)
    if hit is not None:
        return hit
    staging = cache.root / ".staging" / uuid.uuid4().hex
    staging.mkdir(parents=True)
    root = staging / "dataset"
    req = {"op": "write", "case": case.to_json(), "data": str(refs.ensure(case)),
           "target": {"kind": "local", "path": str(root)}}
    t0 = time.perf_counter()
    try:
        resp = pool.call(writer.id, req)
        status, message = resp["status"], resp.get("error", "")
    except WorkerError as exc:
        status, message = exc.outcome, str(exc)
    ds = Dataset(writer, case, root, status, message, duration_ms=(time.perf_counter() - t0) * 1000)
    if status == "ok" and not root.exists():
        ds.status, ds.message = "error", "the writer answered ok but wrote nothing"
    if status in ("timeout", "crash"):  # maybe transient: not cached, tried again next run
        ds.path = Path()
        shutil.rmtree(staging, ignore_errors=True)
    else:
        ds = cache.save(ds, stamp, root)
    return ds

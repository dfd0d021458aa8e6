"""Generate: every writer writes every case into the dataset cache, and what it wrote is checked.

Datasets are cached by (writer, writer version, adapter stamp, case digest):
a cached dataset, or a cached refusal (`unsupported`), is reused across runs; a
change of the case definition, the lock file or the adapter code writes it anew.
Errors, crashes and timeouts are not cached: they may come from the machine (an
adapter's build replaced under it, a full disk) rather than the writer, and a
cached one would stick until the writer changes.

After a write the dataset's metadata is checked against the case
(harness/dataset_check.py). A dataset with problems is `faulty`: its readers
still read it, and their cells are labelled as reading a faulty dataset.
Then the case's alterations, if any, are applied (harness/alter.py: damage a
reader must refuse, metadata found in the wild), and the altered dataset is cached.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .alter import AlterationError, alter
from .cases import Case
from .dataset_check import check_dataset
from .environments import cache_root
from .matrix import ImplVersion
from .reference import ReferenceStore
from .workers import WorkerError, WorkerPool

CACHED_STATUSES = ("ok", "unsupported")
# Bump when dataset_check changes what it finds (cached verdicts are redone) or what a cached dataset must
# be (2: readable by every user; 3: references into source files are checked, attributes added too).
CHECK_VERSION = 3


@dataclass
class Dataset:
    writer: ImplVersion
    case: Case
    path: Path  # the dataset root (a directory)
    status: str  # ok | error | unsupported | timeout | crash | skipped (the writer is not available)
    message: str = ""
    cached: bool = False
    duration_ms: float = 0.0
    store: str | None = None  # set when the writer wrote straight into this store (native write mode)
    key: str | None = None
    faults: list[str] = field(default_factory=list)  # what the dataset gets wrong about its case
    pristine: Path | None = None  # an altered dataset as its writer wrote it, for control reads

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def write_outcome(self) -> str:
        return "faulty" if self.ok and self.faults else self.status


class DatasetCache:
    def __init__(self, root: Path | None = None):
        self.root = Path(root or cache_root() / "datasets")

    @property
    def staging(self) -> Path:
        """Where writers write before a dataset moves into the cache (the only place they may write)."""
        return self.root / ".staging"

    def location(self, writer: ImplVersion, stamp: str, case: Case) -> Path:
        return self.root / writer.id / stamp / case.id / case.digest

    def load(self, writer: ImplVersion, stamp: str, case: Case) -> Dataset | None:
        loc = self.location(writer, stamp, case)
        status = loc / "status.json"
        if not status.exists():
            return None
        info = json.loads(status.read_text())
        if info["status"] not in CACHED_STATUSES:  # written by an older harness: try again
            return None
        ds = Dataset(writer, case, loc / "dataset", info["status"], info.get("message", ""), cached=True,
                     pristine=_pristine(loc))
        if ds.ok:
            if case.alterations and (info.get("check_version") != CHECK_VERSION or ds.pristine is None):
                return None  # checked before it was altered (and kept intact for control reads): write it anew
            if info.get("check_version") == CHECK_VERSION:
                ds.faults = info.get("faults", [])
            else:
                readable_by_all(ds.path)
                ds.faults = check_dataset(case, ds.path)
                status.write_text(json.dumps({**info, "faults": ds.faults, "check_version": CHECK_VERSION}))
        return ds

    def save(self, ds: Dataset, stamp: str, staged: Path | None) -> Dataset:
        """Move a written dataset into the cache atomically (concurrent runs may race)."""
        if ds.ok and staged is not None and staged.exists():
            readable_by_all(staged)
        loc = self.location(ds.writer, stamp, ds.case)
        entry = staged.parent if staged is not None else self.staging / uuid.uuid4().hex
        entry.mkdir(parents=True, exist_ok=True)
        if staged is not None and staged.exists() and not ds.ok:
            shutil.rmtree(staged, ignore_errors=True)
        (entry / "case.json").write_text(json.dumps(ds.case.to_json(), indent=1, ensure_ascii=False))
        (entry / "status.json").write_text(json.dumps({"status": ds.status, "message": ds.message,
                                                       "faults": ds.faults, "check_version": CHECK_VERSION}))
        loc.parent.mkdir(parents=True, exist_ok=True)
        if loc.exists():
            shutil.rmtree(loc, ignore_errors=True)  # a stale entry without status.json
        try:
            entry.rename(loc)
        except OSError:  # another run cached it first: use theirs
            shutil.rmtree(entry, ignore_errors=True)
            return self.load(ds.writer, stamp, ds.case) or ds
        ds.path = loc / "dataset"
        ds.pristine = _pristine(loc)
        return ds


def _pristine(loc: Path) -> Path | None:
    """The intact copy of an altered dataset in its cache entry, if one was kept."""
    return loc / "pristine" if (loc / "pristine").is_dir() else None


def readable_by_all(root: Path) -> None:
    """Readers may run as another user than the writer (each adapter in its container runs as its own
    user): libraries that create files 0600 or 0640 (netCDF does) would make a dataset unreadable."""
    for d, _, files in os.walk(root):
        os.chmod(d, os.stat(d).st_mode | 0o555)
        for f in files:
            p = os.path.join(d, f)
            if not os.path.islink(p):
                os.chmod(p, os.stat(p).st_mode | 0o444)


def write_dataset(pool: WorkerPool, cache: DatasetCache, refs: ReferenceStore,
                  writer: ImplVersion, stamp: str, case: Case) -> Dataset:
    hit = cache.load(writer, stamp, case)
    if hit is not None:
        return hit
    staging = cache.staging / uuid.uuid4().hex
    staging.mkdir(parents=True)
    root = staging / "dataset"
    req = {"op": "write", "case": case.writer_json(), "data": str(refs.ensure(case)),
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
    if ds.ok:
        ds.faults = check_dataset(case, root)
        try:
            if case.alterations:
                shutil.copytree(root, staging / "pristine", symlinks=True)
            alter(case, root)
        except AlterationError as exc:
            ds.status, ds.message = "error", f"the harness could not alter what the writer wrote: {exc}"
    if ds.status not in CACHED_STATUSES:  # maybe transient: not cached, tried again next run
        ds.path = Path()
        shutil.rmtree(staging, ignore_errors=True)
    else:
        ds = cache.save(ds, stamp, root)
    return ds


class Datasets:
    """The datasets of a run: each (writer, case) written or found in the cache once, also when
    several cells (or pytest items) ask for it at the same time. Every write lands in writes.jsonl.
    A writer starts only for a dataset the cache does not have."""

    def __init__(self, adapters, cache: DatasetCache, refs: ReferenceStore, on_write):
        self.adapters, self.pool, self.cache, self.refs, self.on_write = adapters, adapters.pool, cache, refs, on_write
        self._lock = threading.Lock()
        self._locks: dict[tuple, threading.Lock] = {}
        self._datasets: dict[tuple, Dataset] = {}

    def _once(self, key: tuple, make) -> Dataset:
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._datasets:
                ds = make()
                self.on_write(ds)
                self._datasets[key] = ds
            return self._datasets[key]

    def _unavailable(self, w: ImplVersion, c: Case) -> Dataset | None:
        if self.adapters.ensure(w):
            return None
        return Dataset(w, c, Path(), "skipped", f"writer {w.id} not available: {self.adapters.not_available[w.id]}")

    def ensure(self, w: ImplVersion, c: Case) -> Dataset:
        def make():
            stamp = self.adapters.stamp(w)
            return (self.cache.load(w, stamp, c) or self._unavailable(w, c)
                    or write_dataset(self.pool, self.cache, self.refs, w, stamp, c))

        return self._once((w.id, c.id), make)

    def ensure_native(self, w: ImplVersion, c: Case, store) -> Dataset:
        """Writer w writes case c straight into the S3 store through its own S3 support."""
        from .stores import s3_key

        def make():
            missing = self._unavailable(w, c)
            if missing:
                return missing
            key = s3_key("native", w.id, c.id)
            req = {"op": "write", "case": c.writer_json(), "data": str(self.refs.ensure(c)),
                   "target": store.target(None, key, "signed")}
            t0 = time.perf_counter()
            try:
                resp = self.pool.call(w.id, req)
                status, message = resp["status"], resp.get("error", "")
            except WorkerError as exc:
                status, message = exc.outcome, str(exc)
            return Dataset(w, c, Path(), status, message, duration_ms=(time.perf_counter() - t0) * 1000,
                           store=store.name, key=key)

        return self._once((w.id, c.id, store.name), make)

    def get(self, w: ImplVersion, c: Case, store: str | None = None) -> Dataset | None:
        return self._datasets.get((w.id, c.id, store) if store else (w.id, c.id))

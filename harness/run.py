"""A run: the pipeline matrix -> cases -> generate -> publish -> read -> verify -> results -> report.

`Session` holds what a run needs (environments, workers, stores, datasets) so
that both the CLI and the pytest plugin drive the same code: `prepare()` sets
up, generates and publishes; `run_cell()` reads and judges one cell;
`finish()` writes the artifacts. Stores and workers are always stopped, also
on Ctrl-C.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .cases import Case, select, store_sensitive
from .environments import NotAvailable, adapter_stamp, setup
from .expectations import Expectations
from .generate import Dataset, DatasetCache, write_dataset
from .matrix import ROOT, ConfigError, ImplVersion, Matrix, did_you_mean, load_matrix, matrix_digest
from .progress import Progress
from .read import Cell, Outcome, read_cell
from .reference import ReferenceStore
from .results import ResultsLog, cell_key, latest_records, load_jsonl, write_junit, write_summary
from .stores import Store, StoreUnavailable, first_chunk_key, make_store, s3_key
from .workers import WorkerError, WorkerPool


@dataclass
class RunOptions:
    matrix: str | None = None
    profile: str | None = None
    writers: list[str] | None = None
    readers: list[str] | None = None
    cases: list[str] | None = None
    stores: list[str] | None = None
    jobs: int = max(1, os.cpu_count() or 1)
    out: str | None = None
    expectations: str | None = None
    resume: bool = False
    quiet: bool = False
    write_mode: str = "local"  # "native": writers also write straight into each S3 store


@dataclass
class Plan:
    matrix: Matrix
    profile: str
    cases: list[Case]
    writers: list[ImplVersion]
    readers: list[ImplVersion]
    stores: list[str]
    access: list[str] | None = None


def make_plan(opts: RunOptions) -> Plan:
    m = load_matrix(opts.matrix)
    pname = opts.profile or m.default_profile
    if pname not in m.profiles:
        raise ConfigError(f"unknown profile {pname!r}" + did_you_mean(pname, m.profiles)
                          + f"; profiles: {', '.join(m.profiles)}")
    prof = m.profiles[pname]
    patterns = opts.cases or prof.cases
    cases = select(patterns, prof.tier if not opts.cases else "full")
    if not cases:
        from .cases import catalogue

        hint = did_you_mean(patterns[0], catalogue()) if patterns else ""
        raise ConfigError(f"no case matches {patterns}{hint}; see `zarr-conformance list cases`")
    stores = opts.stores or prof.stores or list(m.stores)
    for s in stores:
        if s not in m.stores:
            raise ConfigError(f"unknown store {s!r}" + did_you_mean(s, m.stores) + f"; stores: {', '.join(m.stores)}")
    writers = m.resolve_impls(opts.writers or prof.writers, "writer")
    readers = m.resolve_impls(opts.readers or prof.readers, "reader")
    # A profile's access restriction goes with its own store list: stores named on the
    # command line are read in every access mode they define.
    access = None if opts.stores else prof.access
    return Plan(m, pname, cases, writers, readers, stores, access)


def default_out() -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return ROOT / "reports" / stamp


class Session:
    def __init__(self, opts: RunOptions, log=None):
        self.opts = opts
        self.plan = make_plan(opts)
        self.expectations = Expectations.load(opts.expectations)
        self.out = Path(opts.out) if opts.out else default_out()
        self.progress = Progress(quiet=opts.quiet)
        self.log = log or self.progress.log
        self.not_available: dict[str, str] = dict(self.plan.matrix.unavailable())
        self.hellos: dict[str, dict] = {}
        self.stamps: dict[str, str] = {}
        self.stores: dict[str, Store] = {}
        self.store_info: dict[str, dict] = {}
        self.pool: WorkerPool | None = None
        self.datasets: list[Dataset] = []
        self.native_datasets: list[Dataset] = []
        self.timings: dict[str, float] = {}
        self.started = dt.datetime.now(dt.timezone.utc)
        self.results: ResultsLog | None = None
        self.refs = ReferenceStore(DatasetCache().root.parent / "reference")
        self._ref_hash: dict[str, str] = {}
        self._done: set = set()
        self.cache = DatasetCache()
        self.writes_log: ResultsLog | None = None
        self._lock = threading.Lock()
        self._ds_locks: dict[tuple, threading.Lock] = {}
        self._datasets: dict[tuple, Dataset] = {}
        self._published: set = set()
        self._denied: dict[tuple, str | None] = {}
        self.stopping = False

    # --- preparation -----------------------------------------------------------
    def impls(self) -> list[ImplVersion]:
        seen = {}
        for iv in self.plan.writers + self.plan.readers:
            seen.setdefault(iv.id, iv)
        return list(seen.values())

    def _timed(self, name: str, t0: float) -> None:
        self.timings[name] = round(time.perf_counter() - t0, 3)

    def start(self) -> None:
        """Set up environments, start one worker per implementation and the stores."""
        self.out.mkdir(parents=True, exist_ok=True)
        self._link_latest()
        if self.opts.resume:
            self._done = {cell_key(r) for r in load_jsonl(self.out / "results.jsonl")}
            self.log(f"resuming: {len(self._done)} cells already in {self.out / 'results.jsonl'}")
        elif (self.out / "results.jsonl").exists():
            (self.out / "results.jsonl").unlink()
        self.results = ResultsLog(self.out / "results.jsonl")
        self.writes_log = ResultsLog(self.out / "writes.jsonl")
        t0 = time.perf_counter()
        envs = {}
        for iv in self.impls():
            try:
                envs[iv.id] = setup(iv, log=self.log)
                self.stamps[iv.id] = adapter_stamp(iv)
            except NotAvailable as exc:
                self.not_available[iv.id] = str(exc)
                self.log(f"[yellow]not available[/]: {iv.id}: {exc}")
        self._timed("setup", t0)
        self.pool = WorkerPool(envs, self.out / "logs")
        t0 = time.perf_counter()
        self._hello_all(envs)
        self._timed("start_workers", t0)
        t0 = time.perf_counter()
        for name in self.plan.stores:
            spec = self.plan.matrix.stores[name]
            if self.plan.access:
                spec = spec.model_copy(update={"access": [a for a in spec.access if a in self.plan.access]})
            store = make_store(name, spec, self.plan.matrix.minio_version)
            try:
                store.start(Path(tempfile.gettempdir()))
            except Exception as exc:  # an endpoint that cannot start: say so, go on without it
                why = str(exc) if isinstance(exc, StoreUnavailable) else f"{type(exc).__name__}: {exc}"
                self.not_available[f"store:{name}"] = why
                self.log(f"[yellow]store {name} not available[/]: {why}")
                store.stop()
                continue
            self.stores[name] = store
            self._record_store(store)
            for mode, why in store.unavailable_modes.items():
                self.log(f"[yellow]{name} cannot produce access mode {mode}[/]: {why}")
        self._timed("start_stores", t0)

    def _record_store(self, store: Store) -> None:
        self.store_info[store.name] = {"kind": store.kind, "version": store.version(), "access": store.access_modes,
                                       "semantics": store.semantics, "unavailable_modes": store.unavailable_modes}

    def prepare(self) -> None:
        self.start()
        self.generate()
        self.publish()
        if self.opts.write_mode == "native":
            self.generate_native()

    def _link_latest(self) -> None:
        latest = ROOT / "reports" / "latest"
        if self.out.parent == latest.parent:
            try:
                if latest.is_symlink() or latest.exists():
                    latest.unlink()
                latest.symlink_to(self.out.name)
            except OSError:
                pass

    def _hello_all(self, envs) -> None:
        def hello(impl_id):
            w = self.pool.acquire(impl_id)
            self.pool.release(w)
            return w.hello

        with ThreadPoolExecutor(max(1, self.opts.jobs)) as ex:
            futs = {ex.submit(hello, i): i for i in envs}
            for fut in as_completed(futs):
                impl_id = futs[fut]
                try:
                    self.hellos[impl_id] = fut.result()
                except (WorkerError, OSError) as exc:
                    self.not_available[impl_id] = f"adapter does not start: {exc}"
                    self.log(f"[yellow]not available[/]: {impl_id}: {exc}")

    def available(self, ivs: list[ImplVersion]) -> list[ImplVersion]:
        return [iv for iv in ivs if iv.id in self.hellos]

    def version_of(self, iv: ImplVersion) -> str:
        return self.hellos.get(iv.id, {}).get("version", iv.version)

    # --- generate & publish --------------------------------------------------------
    def ensure_dataset(self, w: ImplVersion, c: Case) -> Dataset:
        """The dataset of writer w for case c: from the cache, or written now (once)."""
        key = (w.id, c.id)
        with self._lock:
            lock = self._ds_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._datasets:
                ds = write_dataset(self.pool, self.cache, self.refs, w, self.stamps[w.id], c)
                self.writes_log.append({"writer": w.id, "writer_version": self.version_of(w), "case": c.id,
                                        "format": c.format, "status": ds.status, "message": ds.message,
                                        "cached": ds.cached, "duration_ms": round(ds.duration_ms, 2)})
                self._datasets[key] = ds
            return self._datasets[key]

    def generate(self) -> None:
        t0 = time.perf_counter()
        jobs = [(w, c) for w in self.available(self.plan.writers) for c in self.plan.cases]
        bar = self.progress.phase("generate", len(jobs))

        def one(w, c):
            ds = self.ensure_dataset(w, c)
            bar.advance(ds.status if not ds.cached else f"{ds.status} (cached)")
            return ds

        try:
            self.datasets = self._parallel(one, jobs)
        finally:
            bar.done()
        self._timed("generate", t0)

    def ensure_native(self, w: ImplVersion, c: Case, store: Store) -> Dataset:
        """Writer w writes case c straight into the S3 store through its own S3 support."""
        key = s3_key("native", w.id, c.id)
        target = store.target(None, key, "signed")
        t0 = time.perf_counter()
        req = {"op": "write", "case": c.to_json(), "data": str(self.refs.ensure(c)), "target": target}
        try:
            resp = self.pool.call(w.id, req)
            status, message = resp["status"], resp.get("error", "")
        except WorkerError as exc:
            status, message = exc.outcome, str(exc)
        ds = Dataset(w, c, Path(), status, message, duration_ms=(time.perf_counter() - t0) * 1000,
                     store=store.name, key=key)
        self.writes_log.append({"writer": w.id, "writer_version": self.version_of(w), "case": c.id, "format": c.format,
                                "store": store.name, "write_mode": "native", "status": ds.status,
                                "message": ds.message, "cached": False, "duration_ms": round(ds.duration_ms, 2)})
        return ds

    def generate_native(self) -> None:
        t0 = time.perf_counter()
        s3 = [s for s in self.stores.values() if s.kind.startswith("s3-")]
        jobs = [(w, c, s) for s in s3 for w in self.available(self.plan.writers) for c in self.plan.cases]
        bar = self.progress.phase("write natively into S3", len(jobs))

        def one(w, c, s):
            ds = self.ensure_native(w, c, s)
            bar.advance(ds.status)
            return ds

        try:
            self.native_datasets = self._parallel(one, jobs)
        finally:
            bar.done()
        self._timed("generate_native", t0)

    def dataset_key(self, ds: Dataset) -> str:
        if ds.key:
            return ds.key
        return s3_key("datasets", ds.writer.id, ds.case.id)

    def access_applies(self, ds: Dataset, access: str) -> bool:
        """Every case is read signed; the other access modes read the store-sensitive cases."""
        if access == "signed":
            return True
        if not store_sensitive(ds.case):
            return False
        return access != "forbidden-chunk" or self.denied_key(ds) is not None

    def denied_key(self, ds: Dataset) -> str | None:
        """The chunk denied in forbidden-chunk; found once per dataset (it walks the dataset's files)."""
        key = (ds.writer.id, ds.case.id)
        if key not in self._denied:
            self._denied[key] = first_chunk_key(ds.path, ds.case.path) if ds.ok else None
        return self._denied[key]

    def ensure_published(self, ds: Dataset, store: Store, access: str) -> None:
        if store.kind == "local" or not ds.ok or not self.access_applies(ds, access):
            return
        key = (ds.writer.id, ds.case.id, store.name, access)
        with self._lock:
            lock = self._ds_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._published:
                deny = self.denied_key(ds) if access == "forbidden-chunk" else None
                store.publish(ds.path, self.dataset_key(ds), access, deny)
                self._published.add(key)

    def publish(self) -> None:
        t0 = time.perf_counter()
        ok = [d for d in self.datasets if d.ok]
        for name, store in self.stores.items():
            if store.kind == "local":
                continue
            jobs = [(d, a) for a in store.access_modes for d in ok if self.access_applies(d, a)]
            bar = self.progress.phase(f"publish {name}", len(jobs))
            try:
                with ThreadPoolExecutor(4) as ex:
                    for _ in ex.map(lambda job: self.ensure_published(job[0], store, job[1]), jobs):
                        bar.advance("ok")
                store.finish_publishing()
                self._record_store(store)
            finally:
                bar.done()
        self._timed("publish", t0)

    # --- cells -----------------------------------------------------------------------
    def cells(self) -> list[Cell]:
        out = []
        readers = self.available(self.plan.readers)
        for ds in self.datasets + self.native_datasets:
            if ds.status == "unsupported":
                continue  # a declared gap of the writer: listed in writes.jsonl and the report
            for name, store in self.stores.items():
                if ds.store and ds.store != name:
                    continue
                for access in (["signed"] if ds.store else store.access_modes):
                    if not self.access_applies(ds, access):
                        continue
                    for r in readers:
                        out.append(Cell(ds, store, access, r, self.dataset_key(ds)))
        return out

    def expected_hash(self, case: Case) -> str:
        if case.id not in self._ref_hash:
            self._ref_hash[case.id] = self.refs.hash(case)
        return self._ref_hash[case.id]

    def _parallel(self, fn, jobs: list[tuple]) -> list:
        """fn(*job) for every job on --jobs threads, in order. On Ctrl-C the queued jobs are
        dropped at once (not run to the end) and the in-flight ones are discarded."""
        ex = ThreadPoolExecutor(max(1, self.opts.jobs))
        try:
            futs = [ex.submit(fn, *job) for job in jobs]
            return [f.result() for f in futs]
        except BaseException:
            self.stopping = True
            ex.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            ex.shutdown(wait=False)

    def run_cell(self, cell: Cell) -> dict | None:
        outcome: Outcome = read_cell(self.pool, cell, self.expected_hash(cell.dataset.case))
        if self.stopping:
            return None  # interrupted: the workers were killed under this cell, its outcome means nothing
        ident = cell.ident()
        expected, unexpected, entry = self.expectations.judge(ident, outcome.outcome)
        rec = {
            **ident,
            "write_mode": "native" if cell.dataset.store else "local",
            "writer_version": self.version_of(cell.dataset.writer),
            "reader_version": self.version_of(cell.reader),
            "format": cell.dataset.case.format,
            "outcome": outcome.outcome,
            "expected": expected,
            "unexpected": unexpected,
            "message": outcome.message,
            "diagnosis": outcome.diagnosis,
            "reason": entry.reason if entry else "",
            "link": entry.link if entry else "",
            "duration_ms": round(outcome.duration_ms, 2),
            "reader_elapsed_ms": outcome.reader_elapsed_ms,
        }
        self.results.append(rec)
        return rec

    def run_all(self) -> None:
        t0 = time.perf_counter()
        todo = [c for c in self.cells() if tuple(c.ident()[k] for k in ("writer", "case", "store", "access", "reader")) not in self._done]
        # Interleave readers so that every implementation's workers stay busy.
        todo.sort(key=lambda c: (c.dataset.case.id, c.dataset.writer.id, c.store.name))
        bar = self.progress.phase("read", len(todo))

        def one(cell):
            rec = self.run_cell(cell)
            if rec is not None:
                bar.advance(rec["outcome"], unexpected=rec["unexpected"])

        try:
            self._parallel(one, [(c,) for c in todo])
        finally:
            bar.done()
            self._timed("read", t0)

    # --- artifacts -----------------------------------------------------------------
    def run_info(self) -> dict:
        return {
            "harness": {"name": "zarr-conformance", "version": __version__},
            "started": self.started.isoformat(timespec="seconds"),
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "command": sys.argv,
            "profile": self.plan.profile,
            "matrix": {"path": str(self.opts.matrix or "matrix.yaml"), "sha256_16": matrix_digest(self.opts.matrix)},
            "expectations": str(self.opts.expectations or ""),
            "jobs": self.opts.jobs,
            "write_mode": self.opts.write_mode,
            "cases": [c.id for c in self.plan.cases],
            "writers": [w.id for w in self.plan.writers],
            "readers": [r.id for r in self.plan.readers],
            "implementations": self.hellos,
            "worker_starts": dict(self.pool.starts) if self.pool else {},
            "not_available": self.not_available,
            "stores": self.store_info,
            "platform": {"os": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
            "timings_s": self.timings,
        }

    def finish(self) -> dict:
        for log in (self.results, self.writes_log):
            if log:
                log.close()
        self.results = self.writes_log = None
        info = self.run_info()
        records = latest_records(load_jsonl(self.out / "results.jsonl"))
        info["counts"] = {o: sum(1 for r in records if r["outcome"] == o) for o in
                          sorted({r["outcome"] for r in records})}
        info["unexpected"] = sum(1 for r in records if r.get("unexpected"))
        (self.out / "run.json").write_text(json.dumps(info, indent=2, ensure_ascii=False))
        write_junit(records, self.out / "junit.xml")
        write_summary(records, info, self.out / "summary.md")
        from .report import write_report

        write_report(self.out)
        return info

    def close(self) -> None:
        if self.pool:
            self.pool.close()
        for s in self.stores.values():
            s.stop()
        self.stores = {}


def run(opts: RunOptions) -> int:
    """The CLI's `run`: exit 0 when every outcome is as expected, 1 otherwise."""
    session = Session(opts)
    info = None
    try:
        session.prepare()
        session.run_all()
    except KeyboardInterrupt:
        session.log("[red]interrupted[/]: results so far are kept; continue with --resume --out " + str(session.out))
        raise
    finally:
        session.close()
        info = session.finish()
    session.progress.final(info, session.out)
    return 1 if info["unexpected"] else 0

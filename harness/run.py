"""A run: the pipeline matrix -> cases -> generate -> publish -> read -> verify -> results -> report.

`Session` puts the stages together for one plan (harness/plan.py): the
adapters (harness/adapters.py), the endpoints (StoreSet), the datasets
(harness/generate.py), publishing (harness/publish.py) and the run directory
(harness/artifacts.py). The CLI reads every cell of the plan in parallel; the
pytest plugin asks for one cell at a time through the same `read()`. Adapters
and endpoints are always stopped, also on Ctrl-C.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .adapters import Adapters
from .artifacts import RunDir, render
from .cases import Case
from .findings import Findings
from .generate import Dataset, DatasetCache, Datasets
from .judge import judge_cell, judge_write
from .launchers import AdapterDirs, make_launcher
from .matrix import matrix_digest
from .plan import Plan, PlannedCell, Selection, make_plan
from .progress import Progress
from .publish import Publisher, dataset_key
from .read import Cell, Outcome, read_with_retries
from .reference import ReferenceStore
from .store_check import StoreCheck
from .stores import StoreSet

RETRIES = 2  # an unexpected outcome is read this many more times: flaky or not


@dataclass
class RunOptions:
    selection: Selection
    jobs: int = max(1, os.cpu_count() or 1)
    out: str | None = None
    findings: str | None = None
    resume: bool = False
    quiet: bool = False
    runner: str = "local"
    runner_options: dict | None = None


class Session:
    def __init__(self, opts: RunOptions, log=None, plan: Plan | None = None):
        self.opts = opts
        self.plan = plan or make_plan(opts.selection)
        self.findings = Findings.load(opts.findings, set(self.plan.matrix.implementations))
        self.run_dir = RunDir(opts.out, opts.resume)
        self.progress = Progress(quiet=opts.quiet)
        self.log = log or self.progress.log
        self.cache = DatasetCache()
        self.refs = ReferenceStore(self.cache.root.parent / "reference")
        self.scratch = Path(tempfile.mkdtemp(prefix="zc-scratch-"))
        # What the stores serve from files (a kerchunk store's reference files and the paths inside them)
        # is read by adapters at the host's own paths: in a container too (AdapterDirs.store_files).
        self.store_files = Path(tempfile.mkdtemp(prefix="zc-store-files-"))
        dirs = AdapterDirs(datasets=self.cache.root, reference=self.refs.root, staging=self.cache.staging,
                           scratch=self.scratch, store_files=self.store_files)
        for d in (dirs.datasets, dirs.reference, dirs.staging):
            d.mkdir(parents=True, exist_ok=True)
        options = dict(opts.runner_options or {})
        if opts.runner == "docker":
            # Containers get the host's network only when they must reach an endpoint (on its loopback).
            options.setdefault("network", "host" if self.needs_network() else "none")
        self.launcher = make_launcher(opts.runner, dirs, **options)
        self.adapters = Adapters(self.plan.impls(), self.launcher, self.run_dir.path / "logs", self.log, opts.jobs)
        self.stores = StoreSet(self.plan.stores, self.plan.matrix.stores, self.plan.matrix.minio_version, self.log,
                               fake_gcs_version=self.plan.matrix.fake_gcs_version)
        self.publisher = Publisher(self.stores)
        self.store_check = StoreCheck(self.publisher)
        self.datasets: Datasets | None = None
        self.timings: dict[str, float] = {}
        self.started = dt.datetime.now(dt.timezone.utc)
        self._ref_hash: dict[str, str] = {}
        self._hash_lock = threading.Lock()
        self.stopping = False

    def needs_network(self) -> bool:
        """Whether an adapter talks to an endpoint in this run (any store but local disk, or native writes)."""
        kinds = {self.plan.matrix.stores[s].kind for s in self.plan.stores}
        return bool(kinds - {"local"}) or bool(self.plan.native_stores())

    @property
    def out(self) -> Path:
        return self.run_dir.path

    @property
    def not_available(self) -> dict[str, str]:
        return {**self.plan.matrix.unavailable(), **self.adapters.not_available, **self.stores.not_available}

    def _timed(self, name: str, t0: float) -> None:
        self.timings[name] = round(self.timings.get(name, 0) + time.perf_counter() - t0, 3)

    # --- start ---------------------------------------------------------------------
    def start(self) -> None:
        """Open the run directory, set up and start the adapters, start the endpoints."""
        self.run_dir.open(self.log)
        t0 = time.perf_counter()
        self.adapters.start(self.plan.readers)
        self._timed("start_adapters", t0)
        self.datasets = Datasets(self.adapters, self.cache, self.refs, self._log_write)
        t0 = time.perf_counter()
        self.stores.start(self.store_files)
        self._timed("start_stores", t0)

    def _log_write(self, ds: Dataset) -> None:
        rec = {"writer": ds.writer.id, "writer_version": self.adapters.version_of(ds.writer), "case": ds.case.id,
               "format": ds.case.format, "status": ds.write_outcome,
               "message": ds.message or "; ".join(ds.faults), "faults": ds.faults,
               "cached": ds.cached, "duration_ms": round(ds.duration_ms, 2)}
        if ds.ok and not ds.store:  # where it sits in the dataset cache (for reproducers)
            rec["dataset"] = ds.path.relative_to(self.cache.root).as_posix()
        if ds.store:
            rec.update(store=ds.store, write_mode="native")
        rec.update(judge_write(rec, self.findings).fields())
        self.run_dir.writes.append(rec)

    # --- generate & publish -----------------------------------------------------------
    def generate(self) -> list[Dataset]:
        """Every write of the plan, in parallel (cached datasets are found, not written)."""
        t0 = time.perf_counter()
        jobs = self.plan.writes()
        native = [(w, c, self.stores.stores[s]) for w, c, s in self.plan.native_writes() if s in self.stores.stores]
        bar = self.progress.phase("generate", len(jobs) + len(native))
        # Writers start as they are needed, several at a time.

        def one(w, c, store=None):
            ds = self.datasets.ensure_native(w, c, store) if store else self.datasets.ensure(w, c)
            bar.advance(ds.write_outcome if not ds.cached else f"{ds.write_outcome} (cached)")
            return ds

        try:
            return self._parallel(one, jobs + native)
        finally:
            bar.done()
            self._timed("generate", t0)

    def prepare(self) -> None:
        self.start()
        datasets = self.generate()
        t0 = time.perf_counter()
        self.publisher.publish_all(datasets, self.progress)
        self._timed("publish", t0)

    # --- read one cell ----------------------------------------------------------------------
    def expected_hash(self, case: Case) -> str:
        with self._hash_lock:
            if case.id not in self._ref_hash:
                self._ref_hash[case.id] = self.refs.hash(case)
            return self._ref_hash[case.id]

    def _skip_reason(self, cell: PlannedCell) -> str | None:
        """Why a cell cannot be read (its writer's availability shows in its dataset)."""
        if not self.adapters.ensure(cell.reader):
            return f"reader {cell.reader.id} not available: {self.adapters.not_available.get(cell.reader.id)}"
        return self.stores.why_not(cell.store, cell.access)

    def runtime(self, cell: PlannedCell) -> tuple[Cell | None, Dataset | None, str | None]:
        """The cell ready to read (its dataset written and published), or why it cannot be read."""
        why = self._skip_reason(cell)
        if why is not None:
            return None, None, why
        store = self.stores.stores[cell.store]
        ds = self.datasets.ensure_native(cell.writer, cell.case, store) if cell.native else \
            self.datasets.ensure(cell.writer, cell.case)
        if ds.status == "unsupported":
            return None, ds, f"writer {cell.writer.id} does not write this: {ds.message}"
        if ds.status == "skipped":
            return None, ds, ds.message
        self.publisher.ensure(ds, store, cell.access)
        return Cell(ds, store, cell.access, cell.reader, dataset_key(ds)), ds, None

    def read(self, cell: PlannedCell) -> dict | None:
        """Read and judge one planned cell, append its record, return it (None when interrupted)."""
        runtime, ds, why = self.runtime(cell)
        store_fault = store_repaired = ""
        if runtime is None:
            outcome = Outcome("skipped", why)
        else:
            facts = {**cell.ident(), "format": cell.case.format, "write_mode": "native" if cell.native else "local",
                     "writer_version": self.adapters.version_of(cell.writer),
                     "reader_version": self.adapters.version_of(cell.reader)}

            def unexpected(o: Outcome) -> bool:
                rec = {**facts, "outcome": o.outcome, "message": o.message, "diagnosis": o.diagnosis,
                       "dataset_fault": "; ".join(ds.faults)}
                return judge_cell(rec, self.findings).unexpected

            def read_it() -> Outcome:
                return read_with_retries(self.adapters.pool, runtime, self.expected_hash(cell.case),
                                         retry_if=unexpected, retries=RETRIES)

            outcome = read_it()
            # An outcome nobody predicted on a remote store: first make sure the store serves the dataset
            # as published (harness/store_check.py), so that a store's fault is not charged to the reader.
            if outcome.outcome != "pass" and unexpected(outcome) and self.store_check.applies(runtime.store, ds):
                verdict = self.store_check.check(ds, runtime.store, cell.access)
                if verdict.repaired:
                    outcome, store_repaired = read_it(), verdict.repaired
                store_fault = verdict.fault
        if self.stopping:
            return None  # interrupted: the workers were killed under this cell, its outcome means nothing
        rec = {
            **cell.ident(),
            "write_mode": "native" if cell.native else "local",
            "writer_version": self.adapters.version_of(cell.writer),
            "reader_version": self.adapters.version_of(cell.reader),
            "format": cell.case.format,
            "outcome": outcome.outcome,
            "attempts": outcome.attempts,
            "message": outcome.message,
            "diagnosis": outcome.diagnosis,
            "dataset_fault": "; ".join(ds.faults) if ds is not None else "",
            "duration_ms": round(outcome.duration_ms, 2),
            "reader_elapsed_ms": outcome.reader_elapsed_ms,
        }
        if store_fault or store_repaired:
            rec.update(store_fault=store_fault, store_repaired=store_repaired)
        rec.update(judge_cell(rec, self.findings).fields())
        self.run_dir.results.append(rec)
        return rec

    # --- read them all ---------------------------------------------------------------------
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

    def read_all(self) -> None:
        t0 = time.perf_counter()
        todo = [c for c in self.plan.cells if c.key not in self.run_dir.done]
        # Interleave readers so that every implementation's workers stay busy.
        todo.sort(key=lambda c: (c.case.id, c.writer.id, c.store_column, c.access))
        bar = self.progress.phase("read", len(todo))

        def one(cell):
            rec = self.read(cell)
            if rec is not None:
                bar.advance(rec["outcome"], unexpected=rec["unexpected"])

        try:
            self._parallel(one, [(c,) for c in todo])
        finally:
            bar.done()
            self._timed("read", t0)

    # --- finish ----------------------------------------------------------------------------------
    def run_info(self) -> dict:
        sel = self.opts.selection
        return {
            "harness": {"name": "zarr-conformance", "version": __version__},
            "started": self.started.isoformat(timespec="seconds"),
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "command": sys.argv,
            "profile": self.plan.profile,
            "matrix": {"path": str(Path(sel.matrix).resolve()) if sel.matrix else "matrix.yaml",
                       "sha256_16": matrix_digest(sel.matrix)},
            "findings": {"path": str(self.opts.findings or "")},
            "runner": self.launcher.name,
            "jobs": self.opts.jobs,
            "write_mode": sel.write_mode,
            "cells_planned": len(self.plan.cells),
            "cases": [c.id for c in self.plan.cases],
            "writers": [w.id for w in self.plan.writers],
            "readers": [r.id for r in self.plan.readers],
            "implementations": {iv.id: self.adapters.hello_of(iv) for iv in self.plan.impls()
                                if self.adapters.hello_of(iv)},
            "worker_starts": dict(self.adapters.pool.starts) if self.adapters.pool else {},
            "not_available": self.not_available,
            # Of those, the ones this run meant to use and could not set up or start (not the matrix's
            # declared-unavailable ones): a build that broke is not a missing toolchain to shrug at.
            "failed_to_start": {**self.adapters.not_available, **self.stores.not_available},
            "stores": self.stores.info,
            "platform": {"os": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
            "timings_s": self.timings,
        }

    def close(self) -> None:
        """Stop adapters and endpoints (idempotent; safe after a failed start)."""
        self.adapters.close()
        self.stores.stop()
        import shutil

        shutil.rmtree(self.scratch, ignore_errors=True)
        shutil.rmtree(self.store_files, ignore_errors=True)

    def finish(self) -> dict:
        self.run_dir.close()
        from .artifacts import load_run

        records, writes, _ = load_run(self.out)
        return render(self.out, records, writes, self.run_info(), self.findings)


def run(opts: RunOptions) -> int:
    """The CLI's `run`: exit 0 when every outcome is as expected, 1 otherwise."""
    session = Session(opts)
    try:
        session.prepare()
        session.read_all()
    except KeyboardInterrupt:
        session.log("[red]interrupted[/]: results so far are kept; continue with --resume --out " + str(session.out))
        raise
    finally:
        with interrupts_deferred():
            session.close()
            info = session.finish()
            session.progress.final(info, session.out)
    return 1 if info["unexpected"] or info["unexpected_writes"] else 0


@contextmanager
def interrupts_deferred():
    """Let the stopping of workers and servers and the writing of the report finish before a Ctrl-C (or
    SIGTERM) that arrives meanwhile takes effect: an interrupted stop would leave an emulator or an adapter
    behind, and the thread pool's exit would then wait for it for ever. A second signal stops at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def later(signum, frame):
        if pending:
            raise KeyboardInterrupt
        pending.append(signum)

    before = {sig: signal.signal(sig, later) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    if pending:
        raise KeyboardInterrupt

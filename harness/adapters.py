"""The adapters of a run: environments set up, workers started through a launcher, handshakes kept.

Readers are set up and started when the run starts (in parallel). A writer is
set up and started only when a dataset it must write is not in the cache, so
a run over cached datasets needs no writer's toolchain; its version then comes
from the handshake remembered with its cached datasets. An implementation that
cannot be set up or whose adapter does not start is "not available" with the
reason; its cells are recorded as skipped and the run goes on.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .environments import NotAvailable, adapter_stamp, cache_root, setup
from .launchers import Launcher
from .matrix import ImplVersion
from .workers import WorkerError, WorkerPool


class Adapters:
    def __init__(self, impls: list[ImplVersion], launcher: Launcher, log_dir: Path, log=print, jobs: int = 1):
        self.impls, self.launcher, self.log_dir, self.log, self.jobs = impls, launcher, log_dir, log, jobs
        self.not_available: dict[str, str] = {}
        self.hellos: dict[str, dict] = {}  # of the adapters started in this run
        self.pool = WorkerPool({}, log_dir, launcher)
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._stamps: dict[str, str] = {}

    def start(self, eager: list[ImplVersion]) -> None:
        """Set up and start these now (the readers), in parallel."""
        with ThreadPoolExecutor(max(1, self.jobs)) as ex:
            list(ex.map(self.ensure, eager))

    def ensure(self, iv: ImplVersion) -> bool:
        """Set up and start iv once (thread-safe); False when it is not available here."""
        with self._lock:
            lock = self._locks.setdefault(iv.id, threading.Lock())
        with lock:
            if iv.id in self.hellos:
                return True
            if iv.id in self.not_available:
                return False
            try:
                env = setup(iv, log=self.log)
                envs, refused = self.launcher.prepare({iv.id: env}, log=self.log)
                if iv.id in refused:
                    raise NotAvailable(refused[iv.id])
                self.pool.environments[iv.id] = envs[iv.id]
                w = self.pool.acquire(iv.id)
                self.pool.release(w)
            except NotAvailable as exc:
                return self._unavailable(iv.id, str(exc))
            except (WorkerError, OSError) as exc:
                return self._unavailable(iv.id, f"adapter does not start: {exc}")
            self.hellos[iv.id] = w.hello
            self._remember(iv, w.hello)
            return True

    def _unavailable(self, impl_id: str, why: str) -> bool:
        self.not_available[impl_id] = why
        self.log(f"[yellow]not available[/]: {impl_id}: {why}")
        return False

    def stamp(self, iv: ImplVersion) -> str:
        """The writer's code identity (cached datasets are reused only while it holds); needs no build."""
        if iv.id not in self._stamps:
            self._stamps[iv.id] = adapter_stamp(iv)
        return self._stamps[iv.id]

    def _hello_file(self, iv: ImplVersion) -> Path:
        return cache_root() / "hellos" / iv.id / f"{self.stamp(iv)}.json"

    def _remember(self, iv: ImplVersion, hello: dict) -> None:
        path = self._hello_file(iv)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(hello))

    def hello_of(self, iv: ImplVersion) -> dict:
        """The handshake of this run, else the one remembered for the same adapter code."""
        if iv.id in self.hellos:
            return self.hellos[iv.id]
        try:
            return json.loads(self._hello_file(iv).read_text())
        except (OSError, ValueError):
            return {}

    def version_of(self, iv: ImplVersion) -> str:
        """The version the library reports (the handshake), else the matrix's."""
        return self.hello_of(iv).get("version", iv.version)

    def close(self) -> None:
        self.pool.close()

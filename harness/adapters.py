"""The adapters of a run: environments set up, workers started through a launcher, handshakes kept.

An implementation that cannot be set up or whose adapter does not start is
"not available" with the reason; its cells are recorded as skipped and the
run goes on.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from .environments import NotAvailable, adapter_stamp, setup
from .launchers import Launcher
from .matrix import ImplVersion
from .workers import WorkerError, WorkerPool


class Adapters:
    def __init__(self, impls: list[ImplVersion], launcher: Launcher, log_dir: Path, log=print, jobs: int = 1):
        self.impls, self.launcher, self.log_dir, self.log, self.jobs = impls, launcher, log_dir, log, jobs
        self.not_available: dict[str, str] = {}
        self.hellos: dict[str, dict] = {}
        self.stamps: dict[str, str] = {}
        self.pool: WorkerPool | None = None

    def start(self) -> None:
        envs = {}
        for iv in self.impls:
            try:
                envs[iv.id] = setup(iv, log=self.log)
                self.stamps[iv.id] = adapter_stamp(iv)
            except NotAvailable as exc:
                self._unavailable(iv.id, str(exc))
        # The docker launcher needs an image per environment: one it cannot have is not available.
        envs, refused = self.launcher.prepare(envs, log=self.log)
        for impl_id, why in refused.items():
            self._unavailable(impl_id, why)
        self.pool = WorkerPool(envs, self.log_dir, self.launcher)
        self._hello_all(list(envs))

    def _unavailable(self, impl_id: str, why: str) -> None:
        self.not_available[impl_id] = why
        self.log(f"[yellow]not available[/]: {impl_id}: {why}")

    def _hello_all(self, impl_ids: list[str]) -> None:
        def hello(impl_id):
            w = self.pool.acquire(impl_id)
            self.pool.release(w)
            return w.hello

        with ThreadPoolExecutor(max(1, self.jobs)) as ex:
            futs = {ex.submit(hello, i): i for i in impl_ids}
            for fut in as_completed(futs):
                impl_id = futs[fut]
                try:
                    self.hellos[impl_id] = fut.result()
                except (WorkerError, OSError) as exc:
                    self._unavailable(impl_id, f"adapter does not start: {exc}")

    def available(self, iv: ImplVersion) -> bool:
        return iv.id in self.hellos

    def version_of(self, iv: ImplVersion) -> str:
        """The version the library reports (the handshake), else the matrix's."""
        return self.hellos.get(iv.id, {}).get("version", iv.version)

    def close(self) -> None:
        if self.pool:
            self.pool.close()

"""Persistent adapter workers speaking protocol 1 or 2, and a pool of them.

A worker is one adapter process, started by a launcher (harness/launchers.py:
a host process or a container). Requests go out one at a time, with their
paths in the adapter's view; a reader thread turns stdout lines into a queue
so that every wait has a timeout. A worker that times out, dies or breaks the
protocol is killed (through its launcher: the whole process group, or the
container) and replaced; only the request in flight is affected.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path

from .environments import Environment
from .launchers import AdapterProcess, Launcher, LocalLauncher, PathNotVisible

# The newest protocol the harness speaks (docs/protocol.md), and every one it still accepts: 2 adds regions.
PROTOCOL = 2
PROTOCOLS = (1, 2)
HELLO_TIMEOUT = 120.0  # first start may import heavy libraries or start a JVM


class WorkerError(Exception):
    outcome = "crash"


class WorkerTimeout(WorkerError):
    outcome = "timeout"


class WorkerCrash(WorkerError):
    outcome = "crash"


class NotSpoken(WorkerError):
    """The request needs a newer protocol than the adapter speaks (a region of a protocol-1 adapter)."""
    outcome = "skipped"


class HarnessError(Exception):
    """The harness could not make a request (a bug of ours): it stops the run, it is never a verdict."""


_EOF = object()
_ids = itertools.count(1)


class Worker:
    def __init__(self, environment: Environment, log_dir: Path | None = None, launcher: Launcher | None = None):
        self.environment = environment
        self.impl = environment.impl
        self.log_dir = log_dir
        self.launcher = launcher or LocalLauncher()
        self.proc: AdapterProcess | None = None
        self.hello: dict = {}
        self._lines: queue.Queue = queue.Queue()
        self._stderr_path: Path | None = None
        self.requests = 0

    # --- life cycle ----------------------------------------------------------
    def start(self) -> dict:
        stderr = subprocess.DEVNULL
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self._stderr_path = self.log_dir / f"{self.impl.id}.{os.getpid()}.{next(_ids)}.stderr.log"
            stderr = open(self._stderr_path, "wb")
        self.proc = self.launcher.spawn(self.environment, stderr)
        if stderr is not subprocess.DEVNULL:
            stderr.close()
        threading.Thread(target=self._pump, args=(self.proc.stdout, self._lines), daemon=True).start()
        resp = self._exchange({"op": "hello", "protocol": PROTOCOL}, HELLO_TIMEOUT)
        if not resp.get("ok") or resp.get("protocol") not in PROTOCOLS:
            self.kill()
            raise WorkerCrash(f"bad hello from {self.impl.id}: {json.dumps(resp)[:300]}")
        self.hello = resp
        return resp

    @staticmethod
    def _pump(stream, lines: queue.Queue) -> None:
        try:
            for line in iter(stream.readline, b""):
                lines.put(line)
        except (OSError, ValueError):
            pass
        lines.put(_EOF)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.proc:
            self.proc.kill()
        if self.proc:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def stop(self) -> None:
        """Polite shutdown: bye, then kill whatever is left."""
        if self.alive():
            try:
                self.proc.stdin.write(b'{"op":"bye"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()

    # --- requests ------------------------------------------------------------
    def stderr_tail(self, n: int = 6) -> str:
        if not self._stderr_path or not self._stderr_path.exists():
            return ""
        lines = self._stderr_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(lines[-n:])

    def _exchange(self, req: dict, timeout: float) -> dict:
        try:
            self.proc.stdin.write((json.dumps(req) + "\n").encode())
            self.proc.stdin.flush()
        except OSError as exc:
            self.kill()
            raise WorkerCrash(f"adapter {self.impl.id} is gone ({exc.strerror}); stderr: {self.stderr_tail()}") from None
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                raise WorkerTimeout(f"no answer within {timeout:g} s (worker killed)") from None
            if line is _EOF:
                code = self.proc.wait(timeout=10)
                raise WorkerCrash(f"adapter exited with status {code}; stderr: {self.stderr_tail()}")
            line = line.strip()
            if not line:
                continue
            try:
                resp = json.loads(line)
            except ValueError:
                self.kill()
                raise WorkerCrash(f"protocol violation, not JSON on stdout: {line[:200]!r}") from None
            if not isinstance(resp, dict):
                self.kill()
                raise WorkerCrash(f"protocol violation, not a JSON object: {line[:200]!r}")
            if "id" in req and resp.get("id") != req["id"]:
                self.kill()
                raise WorkerCrash(f"protocol violation: answer for id {resp.get('id')!r}, expected {req['id']!r}")
            return resp

    @property
    def protocol(self) -> int:
        return self.hello.get("protocol", 1)

    def request(self, req: dict, timeout: float | None = None) -> dict:
        if req.get("region") and self.protocol < 2:
            raise NotSpoken(f"the adapter speaks protocol {self.protocol}: it reads no regions")
        req = {**req, "id": req.get("id") or f"r{next(_ids)}"}
        try:
            req = self.launcher.paths.request(req)
        except PathNotVisible as exc:  # the harness's own mistake: never charged to the adapter
            raise HarnessError(str(exc)) from None
        self.requests += 1
        resp = self._exchange(req, timeout or self.impl.timeout)
        if resp.get("status") not in ("ok", "error", "unsupported"):
            self.kill()
            raise WorkerCrash(f"protocol violation: unknown status {resp.get('status')!r}")
        return resp


class WorkerPool:
    """Idle workers per implementation; a new one starts when none is idle."""

    def __init__(self, environments: dict[str, Environment], log_dir: Path | None = None,
                 launcher: Launcher | None = None):
        self.environments = environments
        self.log_dir = log_dir
        self.launcher = launcher or LocalLauncher()
        self._idle: dict[str, list[Worker]] = defaultdict(list)
        self._all: list[Worker] = []
        self._lock = threading.Lock()
        self.hellos: dict[str, dict] = {}
        self.starts: dict[str, int] = defaultdict(int)

    @property
    def scratch(self) -> Path | None:
        """A directory every adapter may write to (dumps), or None for the system's temporary directory."""
        dirs = getattr(self.launcher, "dirs", None)
        return dirs.scratch if dirs else None

    def acquire(self, impl_id: str) -> Worker:
        with self._lock:
            while self._idle[impl_id]:
                w = self._idle[impl_id].pop()
                if w.alive():
                    return w
        w = Worker(self.environments[impl_id], self.log_dir, self.launcher)
        with self._lock:
            self._all.append(w)
            self.starts[impl_id] += 1
        self.hellos[impl_id] = w.start()
        return w

    def release(self, w: Worker) -> None:
        if w.alive():
            with self._lock:
                self._idle[w.impl.id].append(w)

    def call(self, impl_id: str, req: dict) -> dict:
        """One request on some worker of impl_id; WorkerError if it timed out or crashed."""
        w = self.acquire(impl_id)
        try:
            return w.request(req)
        finally:
            self.release(w)

    def close(self) -> None:
        with self._lock:
            workers, self._all = self._all, []
            self._idle.clear()
        threads = [threading.Thread(target=w.stop) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.launcher.close()
